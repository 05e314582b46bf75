//! How the world's node type (`Actor`) shows itself to the workbench: node kinds and roles,
//! links, and — per kind of node — partitions, producers and consumer groups.
//!
//! Plugging in a node kind: add its arm to `kind_and_role`, and fill the matching
//! `partitions` / `producers` / `groups` function below from what the variant exposes.
//! Widgets need no change.

use super::{
    default_marker, AnomalyView, GroupView, LinkView, MarkerKind, NodeKind, NodeStatus, NodeView,
    Observe, PartitionView, ProducerView, RpcClientView, Snapshot,
};
use crate::kafka::KafkaEvent;
use crate::sim::{NodeId, Status, TraceKind, TraceRecord, World};
use crate::workload::actor::{Actor, ActorEvent};

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

    fn anomalies(_final_world: &World<Actor>) -> Vec<AnomalyView> {
        // The history checker plugs in here (check/ turns world.kept() into findings).
        Vec::new()
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
            let status = match world.status(id) {
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
    }
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

/// Partitions as the brokers see them. Kafka brokers plug in here: one `PartitionView` per
/// partition (from the controller's metadata) with a `ReplicaLogView` per replica.
pub fn partitions(_world: &World<Actor>) -> Vec<PartitionView> {
    Vec::new()
}

/// Producer applications. Producer apps plug in here.
pub fn producers(_world: &World<Actor>) -> Vec<ProducerView> {
    Vec::new()
}

/// Consumer groups (`kafka-consumer-groups --describe`). Group coordinators plug in here.
pub fn groups(_world: &World<Actor>) -> Vec<GroupView> {
    Vec::new()
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
