//! How the world's node type (`SimNode`) shows itself to the workbench: node kinds and roles,
//! links, and — per kind of node — partitions, producers and consumer groups.
//!
//! Plugging in a node kind: add its arm to `kind_and_role`, and fill the matching
//! `partitions` / `producers` / `groups` function below from what the variant exposes.
//! Widgets need no change.

use super::figures::{self, ClientTally, TallyState};
use super::series::Series;
use super::{
    default_marker, ConsumerView, GroupRow, GroupView, LinkView, MarkerKind, NodeKind, NodeStatus,
    NodeView, Observe, PartitionView, ProducerView, ReplicaLogView, RpcClientView, Snapshot, Term,
};
use crate::kafka::broker::partition::Role;
use crate::kafka::{BrokerId, KafkaEvent, Offset, TopicPartition};
use crate::sim::{NodeId, Status, TraceKind, TraceRecord, World};
use crate::workload::event::NodeEvent;
use crate::workload::node::SimNode;
use std::collections::BTreeMap;

impl Observe for SimNode {
    type Tally = TallyState;

    fn snapshot(world: &World<SimNode>) -> Snapshot {
        snapshot(world, &mut ClientTally::default())
    }

    fn marker(
        rec: &TraceRecord<NodeEvent>,
        name: &dyn Fn(NodeId) -> String,
    ) -> Option<(MarkerKind, String)> {
        let TraceKind::Emit { node, event } = &rec.kind else {
            return default_marker(rec, name);
        };
        let NodeEvent::Kafka(e) = event else {
            return None;
        };
        kafka_marker(e).map(|(k, l)| (k, format!("{}: {l}", name(*node))))
    }

    fn tally(rec: &TraceRecord<NodeEvent>, state: &mut TallyState, series: &mut Series) {
        figures::tally(rec, state, series);
    }

    fn gauges(world: &World<SimNode>) -> Vec<(&'static str, u64)> {
        figures::gauges(world)
    }

    fn event_terms(event: &NodeEvent, push: &mut dyn FnMut(Term)) {
        figures::event_terms(event, push);
    }
}

/// What the views show at the world's current moment; client figures come from `tally`,
/// brought up to the world's cursor first.
pub fn snapshot(world: &World<SimNode>, tally: &mut ClientTally) -> Snapshot {
    tally.update(world);
    Snapshot {
        time: world.now(),
        event: world.events(),
        nodes: nodes(world),
        links: links(world),
        partitions: partitions_with(world, &tally.truncated),
        producers: producers(world, tally),
        consumers: consumers(world, tally),
        groups: groups(world),
        rpc_clients: rpc_clients(world, tally),
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

fn nodes(world: &World<SimNode>) -> Vec<NodeView> {
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
fn kind_and_role(world: &World<SimNode>, id: NodeId) -> (NodeKind, String) {
    match world.node(id) {
        SimNode::PingServer(s) => (NodeKind::Ping, format!("server, served {}", s.served)),
        SimNode::PingClient(c) => (
            NodeKind::Ping,
            format!("client, {}/{} replies", c.replies, c.config.requests),
        ),
        SimNode::Broker(b) => (NodeKind::Broker, broker_role(world, b)),
        SimNode::Controller(c) => {
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
        SimNode::ScriptedProducer(p) => (
            NodeKind::Producer,
            format!("scripted producer, {} acked batches", p.acked),
        ),
        SimNode::Producer(p) => (
            NodeKind::Producer,
            format!(
                "producer, {} sent, {} acked, {} failed, {} unknown",
                p.stats.sent, p.stats.acked, p.stats.failed, p.stats.indeterminate
            ),
        ),
        SimNode::Consumer(c) => (NodeKind::Consumer, consumer_role(c)),
        SimNode::RpcCaller(c) => (
            NodeKind::Rpc,
            format!("rpc caller, {} ok, {} failed", c.stats.ok, c.stats.failed),
        ),
        SimNode::RpcCallee(c) => (NodeKind::Rpc, format!("rpc callee, served {}", c.served)),
        SimNode::External(e) => {
            // Open once a request went out, until either side closes it (`sim/network.rs`).
            let open = world.network().connected_peers(id).contains(&e.broker);
            let state = match (e.has_sent(), open) {
                (false, _) => " (no request yet)",
                (true, true) => "",
                (true, false) => " (closed)",
            };
            let role = format!("real client connection to {}{state}", world.name(e.broker));
            (NodeKind::External, role)
        }
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

fn broker_role(world: &World<SimNode>, b: &crate::kafka::broker::Broker) -> String {
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

fn controller(world: &World<SimNode>) -> Option<&crate::kafka::controller::Controller> {
    world.node(world.find("controller")?).as_controller()
}

fn links(world: &World<SimNode>) -> Vec<LinkView> {
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
pub fn partitions(world: &World<SimNode>) -> Vec<PartitionView> {
    partitions_with(world, &BTreeMap::new())
}

/// The same, with the records each (broker node, partition) truncated away so far.
pub fn partitions_with(
    world: &World<SimNode>,
    truncated: &BTreeMap<(NodeId, TopicPartition), u64>,
) -> Vec<PartitionView> {
    let Some(c) = controller(world) else {
        return Vec::new();
    };
    c.image
        .partitions
        .iter()
        .filter(|(tp, _)| !is_internal(tp))
        .map(|(tp, p)| {
            let logs = p
                .replicas
                .iter()
                .map(|&b| replica_log(world, c, tp, b, truncated))
                .collect();
            PartitionView {
                topic: tp.topic.to_string(),
                partition: tp.partition,
                leader: p.leader.map(|b| b.0),
                leader_epoch: p.leader_epoch.0.max(0) as u64,
                replicas: p.replicas.iter().map(|b| b.0).collect(),
                isr: p.isr.iter().map(|b| b.0).collect(),
                offline: p.leader.is_none(),
                logs,
            }
        })
        .collect()
}

/// One replica's log: from its broker's memory while it runs; while it is down, from its
/// disk (what a restart would recover), without a high watermark.
fn replica_log(
    world: &World<SimNode>,
    c: &crate::kafka::controller::Controller,
    tp: &TopicPartition,
    broker: BrokerId,
    truncated: &BTreeMap<(NodeId, TopicPartition), u64>,
) -> ReplicaLogView {
    let node = c
        .image
        .node_of(broker)
        .or_else(|| world.find(&format!("broker-{broker}")));
    let off = |o: Offset| o.0.max(0) as u64;
    let cut = node
        .and_then(|n| truncated.get(&(n, tp.clone())))
        .copied()
        .unwrap_or(0);
    let mut view = ReplicaLogView {
        broker: broker.0,
        down: false,
        log_start: 0,
        hw: Some(0),
        lso: None,
        open_txns: 0,
        aborted_txns: 0,
        leo: 0,
        truncated_records: cut,
        segments: 1,
        cleaned_segments: 0,
    };
    let segs = |log: &crate::kafka::broker::log::PartitionLog| {
        let all = log.segments();
        (
            all.len() as u32,
            all.iter().filter(|s| s.cleaned).count() as u32,
        )
    };
    let Some(n) = node else {
        return view;
    };
    if world.status(n) == Status::Down {
        let log = crate::kafka::broker::log::PartitionLog::open(tp.clone(), world.disk(n), None);
        view.down = true;
        view.hw = None;
        view.log_start = off(log.log_start_offset());
        view.leo = off(log.log_end_offset());
        (view.segments, view.cleaned_segments) = segs(&log);
        return view;
    }
    if let Some(p) = world.node(n).as_broker().and_then(|b| b.partitions.get(tp)) {
        view.log_start = off(p.log.log_start_offset());
        view.hw = Some(off(p.log.high_watermark()));
        let lso = p.log.last_stable_offset();
        view.lso = (lso != p.log.high_watermark()).then(|| off(lso));
        view.open_txns = p.log.txn_index().open().count() as u32;
        view.aborted_txns = p.log.txn_index().aborted().len() as u32;
        view.leo = off(p.log.log_end_offset());
        (view.segments, view.cleaned_segments) = segs(&p.log);
    }
    view
}

/// Producer applications, with counts, errors and latency from their history up to now.
fn producers(world: &World<SimNode>, tally: &mut ClientTally) -> Vec<ProducerView> {
    use crate::workload::producer_app::SendMode;
    let mut out = Vec::new();
    for id in world.node_ids() {
        let SimNode::Producer(p) = world.node(id) else {
            continue;
        };
        let t = tally.producers.entry(id).or_default();
        let q = t.quantiles();
        let failed: u64 = t.errors.values().sum();
        let m = p.sender_metrics();
        out.push(ProducerView {
            name: world.name(id).to_string(),
            send_mode: match p.config.mode {
                SendMode::Sync => "sync",
                SendMode::Async => "async",
                SendMode::FireAndForget => "fire-and-forget",
            }
            .to_string(),
            acks: p.config.client.acks.to_string(),
            sent: t.sent,
            in_flight: t.sent.saturating_sub(t.acked + failed),
            acked: t.acked,
            errors: t.errors.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            latency_p50_us: q.map(|q| q.0),
            latency_p99_us: q.map(|q| q.1),
            record_send_total: m.record_send_total,
            request_latency_avg_us: m.request_latency_avg_us(),
            request_latency_max_us: (m.responses > 0).then_some(m.request_latency_max_us),
            transaction: p.producer().and_then(|k| transaction_text(world, k)),
        });
    }
    out
}

/// `checkout: IN_TRANSACTION, epoch 2 · coordinator broker 3: Ongoing, 2 partition(s)`.
fn transaction_text(
    world: &World<SimNode>,
    p: &crate::kafka::clients::producer::Producer,
) -> Option<String> {
    let tm = p.transaction_manager()?;
    let id = &*tm.transactional_id;
    let mut text = format!("{id}: {}, epoch {}", tm.state.name(), tm.epoch);
    for n in world.node_ids() {
        let Some(b) = world.node(n).as_broker() else {
            continue;
        };
        if let Some((_, m)) = b.txns.transactions().find(|(k, _)| *k == id) {
            let parts = m.partitions.len();
            text += &format!(
                " · coordinator broker {}: {}, {parts} partition(s)",
                b.id, m.state
            );
        }
    }
    Some(text)
}

/// Consumer applications: records consumed so far, and `records-lag-max`.
fn consumers(world: &World<SimNode>, tally: &ClientTally) -> Vec<ConsumerView> {
    let mut out = Vec::new();
    for id in world.node_ids() {
        let SimNode::Consumer(c) = world.node(id) else {
            continue;
        };
        let lag_max = c
            .consumer()
            .filter(|_| world.status(id) != Status::Down)
            .and_then(|k| {
                k.assignment()
                    .iter()
                    .filter_map(|tp| k.lag(tp))
                    .map(|l| l.max(0) as u64)
                    .max()
            });
        out.push(ConsumerView {
            name: world.name(id).to_string(),
            group: c
                .config
                .client
                .group_id
                .clone()
                .unwrap_or_default()
                .to_string(),
            consumed: tally.consumed.get(&id).copied().unwrap_or(0),
            records_lag_max: lag_max,
        });
    }
    out
}

/// Consumer groups in the columns of `kafka-consumer-groups --describe`: the committed
/// offset (CURRENT-OFFSET) from the group's coordinator, the log end offset as consumers
/// see it (the leader's high watermark), the lag between them, and the member owning each
/// partition.
pub fn groups(world: &World<SimNode>) -> Vec<GroupView> {
    let mut members: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
    for id in world.node_ids() {
        if let SimNode::Consumer(c) = world.node(id) {
            let g = c.config.client.group_id.clone().unwrap_or_default();
            members.entry(g.to_string()).or_default().push(id);
        }
    }
    if members.is_empty() {
        return Vec::new();
    }
    let parts = partitions(world);
    members
        .into_iter()
        .map(|(group, ids)| group_view(world, &group, &ids, &parts))
        .collect()
}

fn group_view(
    world: &World<SimNode>,
    group: &str,
    ids: &[NodeId],
    parts: &[PartitionView],
) -> GroupView {
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
        let SimNode::Consumer(c) = world.node(id) else {
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
    let rows = parts
        .iter()
        .filter(|p| topics.contains(&p.topic))
        .map(|p| {
            let tp = TopicPartition::new(&p.topic, p.partition);
            let current = coordinator.and_then(|g| g.committed(group, &tp));
            let leo = p
                .leader
                .and_then(|l| p.logs.iter().find(|r| r.broker == l))
                .and_then(|r| r.hw)
                .unwrap_or(0);
            GroupRow {
                topic: p.topic.clone(),
                partition: p.partition,
                current_offset: current.map(|o| o.max(Offset::ZERO).0 as u64),
                log_end_offset: leo,
                lag: current.map(|o| leo.saturating_sub(o.max(Offset::ZERO).0 as u64)),
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

/// Request/response clients without Kafka: the ping demo and the synchronous RPC caller.
fn rpc_clients(world: &World<SimNode>, tally: &ClientTally) -> Vec<RpcClientView> {
    world
        .node_ids()
        .filter_map(|id| match world.node(id) {
            SimNode::PingClient(c) => Some(RpcClientView {
                name: world.name(id).to_string(),
                server: world.name(c.config.server).to_string(),
                ok: c.replies,
                failed: None,
                timeouts: c.timeouts,
                wanted: Some(c.config.requests),
                mean_latency_us: c.rtt_us_total.checked_div(c.replies),
            }),
            SimNode::RpcCaller(c) => Some(RpcClientView {
                name: world.name(id).to_string(),
                server: world.name(c.config.callee).to_string(),
                ok: tally.rpc_ok.get(&id).copied().unwrap_or(0),
                failed: Some(tally.rpc_failed.get(&id).copied().unwrap_or(0)),
                timeouts: c.stats.timeouts,
                wanted: c.config.count,
                mean_latency_us: c.stats.latency_us_total.checked_div(c.stats.ok),
            }),
            _ => None,
        })
        .collect()
}
