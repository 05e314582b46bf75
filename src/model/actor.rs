//! How the world's node type (`Actor`) shows itself to the workbench: node kinds and roles,
//! links, and — per kind of node — partitions, producers and consumer groups.
//!
//! Plugging in a node kind: add its arm to `kind_and_role`, and fill the matching
//! `partitions` / `producers` / `groups` function below from what the variant exposes.
//! Widgets need no change.

use super::{
    default_marker, AnomalyView, GroupRow, GroupView, LinkView, MarkerKind, NodeKind, NodeStatus,
    NodeView, Observe, PartitionView, ProducerView, ReplicaLogView, RpcClientView, Snapshot,
};
use crate::kafka::broker::partition::Role;
use crate::kafka::{BrokerId, KafkaEvent, TopicPartition};
use crate::sim::{NodeId, Status, TraceKind, TraceRecord, World};
use crate::workload::actor::{Actor, ActorEvent};
use std::collections::BTreeMap;

impl Observe for Actor {
    fn snapshot(world: &World<Actor>) -> Snapshot {
        Snapshot {
            time: world.now(),
            event: world.events(),
            nodes: nodes(world),
            links: links(world),
            partitions: partitions(world),
            producers: producers(world),
            groups: groups(world),
            rpc_clients: rpc_clients(world),
        }
    }

    fn marker(
        rec: &TraceRecord<ActorEvent>,
        name: &dyn Fn(NodeId) -> String,
    ) -> Option<(MarkerKind, String)> {
        let TraceKind::Emit { node, event } = &rec.kind else {
            return default_marker(rec, name);
        };
        let ActorEvent::Kafka(e) = event else {
            return None;
        };
        kafka_marker(e).map(|(k, l)| (k, format!("{}: {l}", name(*node))))
    }

    fn gauges(world: &World<Actor>) -> Vec<(&'static str, u64)> {
        let mut replies = 0;
        for id in world.node_ids() {
            if let Actor::PingClient(c) = world.node(id) {
                replies += c.replies;
            }
        }
        vec![("replies_total", replies)]
    }

    /// The history checker's findings on the run as it ended (without the drain phase
    /// `kafkasim check` adds, so `lost-write` is judged on the logs as they are).
    fn anomalies(final_world: &World<Actor>) -> Vec<AnomalyView> {
        let history = crate::check::History::from_world(final_world);
        let logs = crate::runner::final_logs(final_world);
        crate::check::analyze(&history, logs.as_ref())
            .into_iter()
            .map(|a| {
                let event = a.events.first().copied().unwrap_or(0);
                let time = final_world
                    .kept()
                    .iter()
                    .find(|r| r.event >= event)
                    .map_or(final_world.now(), |r| r.time);
                AnomalyView {
                    kind: a.kind.as_str().to_string(),
                    description: a.description,
                    event,
                    time,
                }
            })
            .collect()
    }
}

/// Markers for Kafka's own events: elections, truncations, rebalances, fencing.
fn kafka_marker(e: &KafkaEvent) -> Option<(MarkerKind, String)> {
    Some(match e {
        KafkaEvent::LeaderElected {
            tp,
            leader,
            leader_epoch,
            unclean,
            ..
        } => (
            MarkerKind::LeaderChange,
            format!(
                "{tp} leader broker-{leader} epoch {leader_epoch}{}",
                if *unclean { " (unclean)" } else { "" }
            ),
        ),
        KafkaEvent::PartitionOffline { tp, .. } => {
            (MarkerKind::LeaderChange, format!("{tp} offline"))
        }
        KafkaEvent::Truncated { tp, removed, .. } if *removed > 0 => (
            MarkerKind::Truncation,
            format!("{tp} truncated {removed} records"),
        ),
        KafkaEvent::RebalanceStarted { group, .. } => {
            (MarkerKind::Rebalance, format!("{group} rebalance"))
        }
        KafkaEvent::BrokerFenced { broker } => {
            (MarkerKind::Fault, format!("broker-{broker} fenced"))
        }
        _ => return None,
    })
}

fn nodes(world: &World<Actor>) -> Vec<NodeView> {
    world
        .node_ids()
        .map(|id| {
            let (kind, role) = kind_and_role(world, id);
            let fenced = world.node(id).as_broker().is_some_and(|b| {
                controller(world)
                    .and_then(|c| c.image.brokers.get(&b.id))
                    .is_some_and(|i| i.fenced)
            });
            let status = match world.status(id) {
                Status::Up if fenced => NodeStatus::Fenced,
                Status::Up => NodeStatus::Up,
                Status::Paused => NodeStatus::Paused,
                Status::Down => NodeStatus::Killed,
            };
            NodeView {
                id,
                name: world.name(id).to_string(),
                kind,
                status,
                role,
            }
        })
        .collect()
}

/// Kind and short role text of a node. New node kinds add their arm here.
fn kind_and_role(world: &World<Actor>, id: NodeId) -> (NodeKind, String) {
    match world.node(id) {
        Actor::PingServer(s) => (NodeKind::Ping, format!("server, served {}", s.served)),
        Actor::PingClient(c) => (
            NodeKind::Ping,
            format!("client, {}/{} replies", c.replies, c.config.requests),
        ),
        Actor::Broker(b) => (NodeKind::Broker, broker_role(world, b)),
        Actor::Controller(c) => {
            let live = c.image.brokers.values().filter(|b| !b.fenced).count();
            let offline = c
                .image
                .partitions
                .values()
                .filter(|p| p.leader.is_none())
                .count();
            (
                NodeKind::Controller,
                format!("active controller; {live} unfenced brokers, {offline} offline partitions"),
            )
        }
        Actor::ScriptedProducer(p) => (
            NodeKind::Producer,
            format!("scripted producer, {} acked batches", p.acked),
        ),
        Actor::Producer(p) => (
            NodeKind::Producer,
            format!(
                "producer, {} sent, {} acked, {} failed, {} unknown",
                p.stats.sent, p.stats.acked, p.stats.failed, p.stats.indeterminate
            ),
        ),
        Actor::Consumer(c) => (NodeKind::Consumer, consumer_role(c)),
        Actor::RpcCaller(c) => (
            NodeKind::Rpc,
            format!("rpc caller, {} ok, {} failed", c.stats.ok, c.stats.failed),
        ),
        Actor::RpcCallee(c) => (NodeKind::Rpc, format!("rpc callee, served {}", c.served)),
    }
}

fn consumer_role(app: &crate::workload::consumer_app::ConsumerApp) -> String {
    let Some(c) = app.consumer() else {
        return "consumer (not started)".to_string();
    };
    let parts: Vec<String> = c.assignment().iter().map(|tp| tp.to_string()).collect();
    format!(
        "consumer gen {}, owns [{}], processed {}",
        c.generation().0,
        parts.join(", "),
        app.stats.processed
    )
}

fn broker_role(world: &World<Actor>, b: &crate::kafka::broker::Broker) -> String {
    let leads = b
        .partitions
        .values()
        .filter(|p| matches!(p.role, Role::Leader(_)) && !is_internal(&p.tp))
        .count();
    let follows = b
        .partitions
        .values()
        .filter(|p| matches!(p.role, Role::Follower { .. }) && !is_internal(&p.tp))
        .count();
    let fenced = controller(world)
        .and_then(|c| c.image.brokers.get(&b.id))
        .is_some_and(|i| i.fenced);
    format!(
        "broker {}{}: leads {leads}, follows {follows}",
        b.id,
        if fenced { " (FENCED)" } else { "" }
    )
}

fn is_internal(tp: &TopicPartition) -> bool {
    tp.topic.starts_with("__")
}

fn controller(world: &World<Actor>) -> Option<&crate::kafka::controller::Controller> {
    world.node(world.find("controller")?).as_controller()
}

/// Records each (broker node, partition) truncated away so far, from the kept events.
fn truncated(world: &World<Actor>) -> BTreeMap<(NodeId, TopicPartition), u64> {
    let mut out = BTreeMap::new();
    for rec in world.kept() {
        if let TraceKind::Emit {
            node,
            event: ActorEvent::Kafka(e),
        } = &rec.kind
        {
            if let KafkaEvent::Truncated { tp, removed, .. } = &**e {
                *out.entry((*node, tp.clone())).or_insert(0) += removed;
            }
        }
    }
    out
}

fn links(world: &World<Actor>) -> Vec<LinkView> {
    let net = world.network();
    let mut out = Vec::new();
    for from in world.node_ids() {
        for to in world.node_ids() {
            if from == to {
                continue;
            }
            let (in_flight, cut, clogged) = (
                net.in_flight(from, to),
                net.is_cut(from, to),
                net.is_clogged(from, to),
            );
            if in_flight > 0 || cut || clogged {
                out.push(LinkView {
                    from,
                    to,
                    in_flight,
                    cut,
                    clogged,
                });
            }
        }
    }
    out
}

/// Partitions as the controller sees them (leader, ISR, epoch), with each replica's log as
/// that replica's broker holds it. Internal topics (`__consumer_offsets`) are left out.
pub fn partitions(world: &World<Actor>) -> Vec<PartitionView> {
    let Some(c) = controller(world) else {
        return Vec::new();
    };
    let truncated = truncated(world);
    let broker_name = |id: BrokerId| format!("broker-{id}");
    c.image
        .partitions
        .iter()
        .filter(|(tp, _)| !is_internal(tp))
        .map(|(tp, p)| {
            let logs = p
                .replicas
                .iter()
                .map(|&b| replica_log(world, c, tp, b, &truncated))
                .collect();
            PartitionView {
                topic: tp.topic.to_string(),
                partition: tp.partition,
                leader: p.leader.map(broker_name),
                leader_epoch: p.leader_epoch.0.max(0) as u64,
                replicas: p.replicas.iter().map(|&b| broker_name(b)).collect(),
                isr: p.isr.iter().map(|&b| broker_name(b)).collect(),
                offline: p.leader.is_none(),
                logs,
            }
        })
        .collect()
}

fn replica_log(
    world: &World<Actor>,
    c: &crate::kafka::controller::Controller,
    tp: &TopicPartition,
    broker: BrokerId,
    truncated: &BTreeMap<(NodeId, TopicPartition), u64>,
) -> ReplicaLogView {
    let node = c
        .image
        .node_of(broker)
        .or_else(|| world.find(&format!("broker-{broker}")));
    let part = node
        .filter(|&n| world.status(n) != Status::Down)
        .and_then(|n| world.node(n).as_broker())
        .and_then(|b| b.partitions.get(tp));
    let cut = node
        .and_then(|n| truncated.get(&(n, tp.clone())))
        .copied()
        .unwrap_or(0);
    let off = |o: i64| o.max(0) as u64;
    let down = node.is_some_and(|n| world.status(n) == Status::Down);
    ReplicaLogView {
        broker: if down {
            format!("broker-{broker} (down)")
        } else {
            format!("broker-{broker}")
        },
        log_start: part.map_or(0, |p| off(p.log.log_start_offset())),
        hw: part.map_or(0, |p| off(p.log.high_watermark())),
        leo: part.map_or(0, |p| off(p.log.log_end_offset())),
        truncated_records: cut,
    }
}

/// Producer applications, with latency and errors read from their history up to now.
pub fn producers(world: &World<Actor>) -> Vec<ProducerView> {
    world
        .node_ids()
        .filter_map(|id| match world.node(id) {
            Actor::Producer(p) => Some(producer_view(world, id, p)),
            _ => None,
        })
        .collect()
}

fn producer_view(
    world: &World<Actor>,
    id: NodeId,
    p: &crate::workload::producer_app::ProducerApp,
) -> ProducerView {
    use crate::workload::history::HistoryOp;
    use crate::workload::producer_app::SendMode;
    let mut invoked = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for rec in world.kept() {
        let TraceKind::Emit {
            node,
            event: ActorEvent::History(op),
        } = &rec.kind
        else {
            continue;
        };
        if *node != id {
            continue;
        }
        match op {
            HistoryOp::SendInvoke { value, .. } => {
                invoked.insert(*value, rec.time);
            }
            HistoryOp::SendOk { value, .. } => {
                if let Some(t) = invoked.remove(value) {
                    latencies.push(rec.time.since(t).as_us());
                }
            }
            HistoryOp::SendFail { error, .. } => {
                *errors.entry(error.name().to_string()).or_insert(0) += 1;
            }
            HistoryOp::SendIndeterminate { .. } => {
                *errors.entry("unknown outcome".to_string()).or_insert(0) += 1;
            }
            _ => {}
        }
    }
    latencies.sort_unstable();
    let pct =
        |q: usize| (!latencies.is_empty()).then(|| latencies[(latencies.len() - 1) * q / 100]);
    let s = &p.stats;
    ProducerView {
        name: world.name(id).to_string(),
        send_mode: match p.config.mode {
            SendMode::Sync => "sync",
            SendMode::Async => "async",
            SendMode::FireAndForget => "fire-and-forget",
        }
        .to_string(),
        acks: p.config.client.acks.to_string(),
        in_flight: s.sent.saturating_sub(s.acked + s.failed + s.indeterminate),
        acked: s.acked,
        errors: errors.into_iter().collect(),
        latency_p50_us: pct(50),
        latency_p99_us: pct(99),
    }
}

/// Consumer groups in the columns of `kafka-consumer-groups --describe`: the committed
/// offset (CURRENT-OFFSET) from the group's coordinator, the log end offset as consumers
/// see it (the leader's high watermark), the lag between them, and the member owning each
/// partition.
pub fn groups(world: &World<Actor>) -> Vec<GroupView> {
    let mut members: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for id in world.node_ids() {
        if let Actor::Consumer(c) = world.node(id) {
            let g = c.config.client.group_id.clone().unwrap_or_default();
            members.entry(g.to_string()).or_default().push(id);
        }
    }
    members
        .into_iter()
        .map(|(group, ids)| group_view(world, &group, &ids))
        .collect()
}

fn group_view(world: &World<Actor>, group: &str, ids: &[NodeId]) -> GroupView {
    let coordinator = world
        .node_ids()
        .filter(|&n| world.status(n) != Status::Down)
        .filter_map(|n| world.node(n).as_broker())
        .find(|b| b.groups.group_state(group).is_some())
        .map(|b| &b.groups);
    let (state, generation) = coordinator
        .and_then(|g| g.group_state(group))
        .map_or(("Unknown".to_string(), 0), |(s, g, _)| {
            (format!("{s:?}"), g.0.max(0) as u64)
        });
    let mut topics: Vec<String> = Vec::new();
    let mut owner: BTreeMap<TopicPartition, String> = BTreeMap::new();
    for &id in ids {
        let Actor::Consumer(c) = world.node(id) else {
            continue;
        };
        topics.extend(c.config.topics.iter().map(|t| t.to_string()));
        if world.status(id) == Status::Down {
            continue;
        }
        for tp in c.consumer().map(|k| k.assignment()).unwrap_or_default() {
            owner.insert(tp, world.name(id).to_string());
        }
    }
    topics.sort();
    topics.dedup();
    let rows = partitions(world)
        .into_iter()
        .filter(|p| topics.contains(&p.topic))
        .map(|p| {
            let tp = TopicPartition::new(&p.topic, p.partition);
            let current = coordinator.and_then(|g| g.committed(group, &tp));
            let leo = p
                .leader
                .as_ref()
                .and_then(|l| p.logs.iter().find(|r| &r.broker == l))
                .map_or(0, |r| r.hw);
            GroupRow {
                topic: p.topic.clone(),
                partition: p.partition,
                current_offset: current.map(|o| o.max(0) as u64),
                log_end_offset: leo,
                lag: current.map(|o| leo.saturating_sub(o.max(0) as u64)),
                consumer_id: owner.get(&tp).cloned(),
            }
        })
        .collect();
    GroupView {
        group: group.to_string(),
        state,
        generation,
        rows,
    }
}

/// Request/response clients without Kafka: the ping demo (and the RPC baseline later).
pub fn rpc_clients(world: &World<Actor>) -> Vec<RpcClientView> {
    world
        .node_ids()
        .filter_map(|id| match world.node(id) {
            Actor::PingClient(c) => Some(RpcClientView {
                name: world.name(id).to_string(),
                server: world.name(c.config.server).to_string(),
                replies: c.replies,
                timeouts: c.timeouts,
                wanted: c.config.requests,
                mean_rtt_us: c.rtt_us_total.checked_div(c.replies),
            }),
            _ => None,
        })
        .collect()
}
