//! Building a Kafka cluster in a world, and reading it back (leaders, logs, history). `build_cluster` adds a node named `controller` and nodes `broker-1`..`broker-N`
//! (broker ids 1..N); the scenario layer calls it with what a scenario file describes.

use crate::kafka::broker::Broker;
use crate::kafka::config::BrokerConfig;
use crate::kafka::controller::{Controller, TopicSpec};
use crate::kafka::{Acks, BrokerId, Offset, TopicPartition};
use crate::sim::{Duration, LinkModel, NodeId, Status, Time, TraceKind, TraceMode, World};
use crate::workload::scripted_client::{ScriptedProducer, ScriptedProducerConfig, SendSchedule};

use super::event::NodeEvent;
use super::history::HistoryOp;
use super::node::SimNode;

/// What cluster to build.
#[derive(Clone, Debug, Default)]
pub struct ClusterSpec {
    pub brokers: u32,
    pub broker_config: BrokerConfig,
    pub topics: Vec<TopicSpec>,
    /// Model of every link (latency, transport).
    pub link: LinkModel,
    /// The OS's periodic writeback of dirty pages (None: never, only explicit flushes).
    pub writeback: Option<Duration>,
    /// Brokers with settings of their own (`[[broker]]`), by broker id.
    pub own: Vec<OwnBroker>,
}

/// One broker's own settings: its whole config, and its machine's writeback if it differs
/// from the cluster's (`Some(None)`: the OS never writes back on that machine).
#[derive(Clone, Debug)]
pub struct OwnBroker {
    pub id: u32,
    pub config: BrokerConfig,
    pub writeback: Option<Option<Duration>>,
}

/// `__transaction_state`, as the transaction coordinator needs it (Kafka creates it on the
/// first FindCoordinator(TRANSACTION); kafkasim creates it with the cluster when a scenario
/// has a transactional producer, so runs without one keep their topics and traces).
/// Its min.insync.replicas is `transaction.state.log.min.isr`, capped like the RF.
pub fn transaction_state_topic(config: &BrokerConfig, brokers: u32) -> TopicSpec {
    let rf = config
        .transaction_state_log_replication_factor
        .min(brokers.max(1));
    let min_isr = config.transaction_state_log_min_isr.min(rf);
    TopicSpec {
        name: crate::kafka::broker::txn_coordinator::TRANSACTION_STATE.to_string(),
        partitions: config.transaction_state_log_num_partitions,
        replication_factor: rf,
        config: crate::kafka::config::TopicConfig::default()
            .with("min.insync.replicas", min_isr as i64),
    }
}

/// Node ids of the cluster.
#[derive(Clone, Debug)]
pub struct ClusterIds {
    pub controller: NodeId,
    /// `brokers[i]` is broker id i+1.
    pub brokers: Vec<NodeId>,
}

/// Adds the controller and the brokers to `world`, all starting at time 0.
pub fn build_cluster(world: &mut World<SimNode>, spec: &ClusterSpec) -> ClusterIds {
    world.set_link_model(spec.link.clone());
    if let Some(every) = spec.writeback {
        world.set_writeback(every);
    }
    let ids: Vec<BrokerId> = (1..=spec.brokers).map(BrokerId).collect();
    let controller = Controller::new(spec.broker_config.clone(), ids.clone(), spec.topics.clone());
    let controller = world.add_node(
        "controller",
        SimNode::Controller(Box::new(controller)),
        Time::ZERO,
    );
    let brokers = ids
        .iter()
        .map(|&id| {
            let own = spec.own.iter().find(|o| o.id == id.0);
            let config = own.map_or(&spec.broker_config, |o| &o.config);
            let b = Broker::new(id, controller, config.clone());
            let node = world.add_node(
                &format!("broker-{}", id.0),
                SimNode::Broker(Box::new(b)),
                Time::ZERO,
            );
            if let Some(every) = own.and_then(|o| o.writeback) {
                world.set_writeback_of(node, every);
            }
            node
        })
        .collect();
    ClusterIds {
        controller,
        brokers,
    }
}

/// A topic spec with default topic config.
pub fn topic(name: &str, partitions: u32, replication_factor: u32) -> TopicSpec {
    TopicSpec {
        name: name.to_string(),
        partitions,
        replication_factor,
        config: Default::default(),
    }
}

// ------------------------------------------------------------ reading the world

/// The broker at `node`, if the node is a broker and its process is not down.
pub fn broker(world: &World<SimNode>, node: NodeId) -> Option<&Broker> {
    (world.status(node) != Status::Down)
        .then(|| world.node(node).as_broker())
        .flatten()
}

pub fn controller(world: &World<SimNode>) -> Option<&Controller> {
    world.node(world.find("controller")?).as_controller()
}

/// The node leading `tp` in the controller's view.
pub fn leader_node(world: &World<SimNode>, tp: &TopicPartition) -> Option<NodeId> {
    let c = controller(world)?;
    c.image.node_of(c.image.partitions.get(tp)?.leader?)
}

/// Record values of `tp` on the broker at `node` (its whole log, up to the LEO).
pub fn log_values(world: &World<SimNode>, node: NodeId, tp: &TopicPartition) -> Vec<u64> {
    let Some(b) = world.node(node).as_broker() else {
        return Vec::new();
    };
    b.partitions.get(tp).map_or_else(Vec::new, |p| {
        p.log
            .batches()
            .iter()
            .flat_map(|b| b.records.iter().map(|r| r.value))
            .collect()
    })
}

/// The values of `tp` below the current leader's high watermark (what consumers can read).
pub fn values_below_high_watermark(
    world: &World<SimNode>,
    tp: &TopicPartition,
) -> Option<Vec<u64>> {
    let node = leader_node(world, tp)?;
    let p = broker(world, node)?.partitions.get(tp)?;
    let hw = p.log.high_watermark();
    Some(
        p.log
            .read(Offset::ZERO, u32::MAX, hw)
            .iter()
            .flat_map(|b| b.records.iter().map(|r| r.value))
            .collect(),
    )
}

/// The client history, in order.
pub fn history(world: &World<SimNode>) -> Vec<HistoryOp> {
    world
        .kept()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Emit {
                event: NodeEvent::History(op),
                ..
            } => Some(op.clone()),
            _ => None,
        })
        .collect()
}

/// Values acknowledged with a real offset (acks ≥ 1), with that offset.
pub fn acked_values(world: &World<SimNode>) -> Vec<(u64, Offset)> {
    history(world)
        .into_iter()
        .filter_map(|op| match op {
            HistoryOp::SendOk { value, offset, .. } if offset >= Offset::ZERO => {
                Some((value, offset))
            }
            _ => None,
        })
        .collect()
}

/// Acknowledged values missing from `tp`'s current leader log (all of them if offline).
pub fn lost_acked(world: &World<SimNode>, tp: &TopicPartition) -> Vec<u64> {
    let present = leader_node(world, tp)
        .map(|n| log_values(world, n, tp))
        .unwrap_or_default();
    acked_values(world)
        .into_iter()
        .map(|(v, _)| v)
        .filter(|v| !present.contains(v))
        .collect()
}

/// Semantic Kafka events emitted so far (needs a `Full` trace).
pub fn kafka_events(world: &World<SimNode>) -> Vec<(Time, NodeId, crate::kafka::KafkaEvent)> {
    world
        .trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Emit {
                node,
                event: NodeEvent::Kafka(e),
            } => Some((r.time, *node, (**e).clone())),
            _ => None,
        })
        .collect()
}

/// Adds a scripted producer node named `name`.
pub fn add_scripted_producer(
    world: &mut World<SimNode>,
    name: &str,
    config: ScriptedProducerConfig,
) -> NodeId {
    world.add_node(
        name,
        SimNode::ScriptedProducer(Box::new(ScriptedProducer::new(config))),
        Time::ZERO,
    )
}

// ------------------------------------------------------------ benchmark

/// The replication benchmark: 3 brokers, one partition with RF=3, acks=all; `records`
/// records produced to the leader (100 per batch, up to 5 requests in flight) and
/// replicated. Returns (kernel events, simulated time, to the next whole second after the
/// last acknowledgement). Panics if the workload stalls.
pub fn replication_benchmark(records: u64) -> (u64, Time) {
    let mut world: World<SimNode> = World::new(1, TraceMode::Off);
    let spec = ClusterSpec {
        brokers: 3,
        topics: vec![topic("bench", 1, 3)],
        ..Default::default()
    };
    let ids = build_cluster(&mut world, &spec);
    let tp = TopicPartition::new("bench", 0);
    let per_batch = 100u32;
    let batches = records.div_ceil(per_batch as u64);
    let schedule = SendSchedule::Rate {
        start: Time(1_000_000),
        every: Duration::from_us(1),
        count: batches,
    };
    let mut cfg = ScriptedProducerConfig::new(tp, Acks::All, ids.brokers.clone(), schedule);
    cfg.records_per_batch = per_batch;
    cfg.max_in_flight = 5;
    cfg.record_history = false;
    let p = add_scripted_producer(&mut world, "producer-1", cfg);
    let mut limit = Time(2_000_000);
    loop {
        world.run_until(limit, u64::MAX);
        let acked = world.node(p).as_scripted_producer().map_or(0, |p| p.acked);
        if acked >= batches {
            break;
        }
        assert!(
            limit < Time(batches * 1_000_000 + 60_000_000),
            "benchmark stalled at {acked}/{batches} batches"
        );
        limit += Duration::from_secs(1);
    }
    (world.events(), world.now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_state_topic_follows_its_broker_settings() {
        // Proves transaction.state.log.replication.factor and .min.isr shape the topic the
        // cluster creates (capped at the brokers there are), and the partition count.
        let config = crate::kafka::config::BrokerConfig::default()
            .with("transaction.state.log.replication.factor", 3i64)
            .with("transaction.state.log.min.isr", 2i64)
            .with("transaction.state.log.num.partitions", 5i64);
        let t = transaction_state_topic(&config, 3);
        assert_eq!((t.partitions, t.replication_factor), (5, 3));
        assert_eq!(t.config.min_insync_replicas, Some(2));
        let small = transaction_state_topic(&config, 1);
        assert_eq!(small.replication_factor, 1);
        assert_eq!(small.config.min_insync_replicas, Some(1));
    }
}
