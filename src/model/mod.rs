//! The read-only view model: plain data the terminal workbench draws from. Widgets never
//! see a broker, a client or the world; they see a [`Snapshot`] taken at the replay cursor,
//! a list of [`Marker`]s for the whole run, and the checker's [`AnomalyView`]s.
//!
//! The world's node type fills the snapshot by implementing [`Observe`]. Adding a kind of
//! node (a broker, a producer app) means filling the matching fields of the snapshot in its
//! `Observe` impl (`model/actor.rs`); no widget changes.
//!
//! Architecture invariant: nothing here mutates the world, and the view model owns its data
//! (no borrows into the world), so a frame can be drawn from it after the world moved on.

pub mod actor;

use crate::sim::{Node, NodeId, Time, TraceKind, TraceRecord, World};

/// What kind of process a node is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Broker,
    Controller,
    Producer,
    Consumer,
    Ping,
    Rpc,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Broker => "broker",
            NodeKind::Controller => "controller",
            NodeKind::Producer => "producer",
            NodeKind::Consumer => "consumer",
            NodeKind::Ping => "ping",
            NodeKind::Rpc => "rpc",
        }
    }
}

/// Whether a node runs, as a learner names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    Up,
    /// Crashed (kill or power loss), not restarted yet.
    Killed,
    /// Stalled (GC pause, SIGSTOP).
    Paused,
    /// Running but fenced off by the cluster (a zombie: its epoch is stale).
    Fenced,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Up => "up",
            NodeStatus::Killed => "killed",
            NodeStatus::Paused => "paused",
            NodeStatus::Fenced => "fenced",
        }
    }
}

/// One node of the world.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    pub id: NodeId,
    pub name: String,
    pub kind: NodeKind,
    pub status: NodeStatus,
    /// Short role text: `controller`, `leader of orders-0`, `served 120`, …
    pub role: String,
}

/// One directed link that is worth showing (something in flight, cut or clogged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkView {
    pub from: NodeId,
    pub to: NodeId,
    pub in_flight: u32,
    pub cut: bool,
    pub clogged: bool,
}

/// One replica's log as the partitions view draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaLogView {
    pub broker: String,
    pub log_start: u64,
    /// High watermark as this replica knows it.
    pub hw: u64,
    /// Log end offset.
    pub leo: u64,
    /// Records this replica truncated away so far (lost from its log).
    pub truncated_records: u64,
}

/// One partition, in the columns of `kafka-topics --describe` plus the leader epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    pub topic: String,
    pub partition: u32,
    pub leader: Option<String>,
    pub leader_epoch: u64,
    pub replicas: Vec<String>,
    pub isr: Vec<String>,
    pub offline: bool,
    pub logs: Vec<ReplicaLogView>,
}

/// One producer application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerView {
    pub name: String,
    /// `sync`, `async`, `fire-and-forget`.
    pub send_mode: String,
    pub acks: String,
    pub in_flight: u64,
    pub acked: u64,
    /// Error counts by Kafka error name.
    pub errors: Vec<(String, u64)>,
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
}

/// One row of `kafka-consumer-groups --describe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRow {
    pub topic: String,
    pub partition: u32,
    pub current_offset: Option<u64>,
    pub log_end_offset: u64,
    pub lag: Option<u64>,
    pub consumer_id: Option<String>,
}

/// One consumer group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupView {
    pub group: String,
    /// `Stable`, `PreparingRebalance`, `CompletingRebalance`, `Empty`, `Dead`.
    pub state: String,
    pub generation: u64,
    pub rows: Vec<GroupRow>,
}

/// A request/response client without Kafka (the ping demo, the sync-RPC baseline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcClientView {
    pub name: String,
    pub server: String,
    pub replies: u64,
    pub timeouts: u64,
    pub wanted: u64,
    pub mean_rtt_us: Option<u64>,
}

/// Everything the views draw about one moment of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub time: Time,
    pub event: u64,
    pub nodes: Vec<NodeView>,
    pub links: Vec<LinkView>,
    pub partitions: Vec<PartitionView>,
    pub producers: Vec<ProducerView>,
    pub groups: Vec<GroupView>,
    pub rpc_clients: Vec<RpcClientView>,
}

impl Snapshot {
    /// Name of a node, or its id when unknown.
    pub fn node_name(&self, id: NodeId) -> String {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .map_or_else(|| id.to_string(), |n| n.name.clone())
    }

    /// Groups of nodes that can talk to each other: one group when no link is cut. Nodes
    /// are in the same group when links both ways between them are intact (transitively).
    pub fn partition_groups(&self) -> Vec<Vec<NodeId>> {
        let n = self.nodes.len();
        let cut = |a: NodeId, b: NodeId| {
            self.links
                .iter()
                .any(|l| l.cut && ((l.from == a && l.to == b) || (l.from == b && l.to == a)))
        };
        let mut group: Vec<usize> = (0..n).collect();
        for i in 0..n {
            for j in 0..i {
                if !cut(self.nodes[i].id, self.nodes[j].id) {
                    let (gi, gj) = (group[i], group[j]);
                    for g in group.iter_mut() {
                        if *g == gi {
                            *g = gj;
                        }
                    }
                }
            }
        }
        let mut out: Vec<(usize, Vec<NodeId>)> = Vec::new();
        for (i, g) in group.iter().enumerate() {
            match out.iter_mut().find(|(k, _)| k == g) {
                Some((_, v)) => v.push(self.nodes[i].id),
                None => out.push((*g, vec![self.nodes[i].id])),
            }
        }
        out.into_iter().map(|(_, v)| v).collect()
    }
}

/// What a marker on the timeline stands for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkerKind {
    Fault,
    LeaderChange,
    Anomaly,
    Note,
    Rebalance,
    Truncation,
}

impl MarkerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Fault => "fault",
            MarkerKind::LeaderChange => "leader change",
            MarkerKind::Anomaly => "anomaly",
            MarkerKind::Note => "note",
            MarkerKind::Rebalance => "rebalance",
            MarkerKind::Truncation => "truncation",
        }
    }

    /// The one character drawn on the timeline.
    pub fn glyph(self) -> char {
        match self {
            MarkerKind::Fault => 'F',
            MarkerKind::LeaderChange => 'L',
            MarkerKind::Anomaly => '!',
            MarkerKind::Note => 'N',
            MarkerKind::Rebalance => 'R',
            MarkerKind::Truncation => 'T',
        }
    }
}

/// A notable moment of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    pub event: u64,
    pub time: Time,
    pub kind: MarkerKind,
    pub label: String,
}

/// One checker finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnomalyView {
    /// `lost-write`, `duplicate`, `reordered`, …
    pub kind: String,
    pub description: String,
    /// The event at which it arose (Enter in the anomalies view jumps there).
    pub event: u64,
    pub time: Time,
}

/// A teaching note of the scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteView {
    pub at: Time,
    pub text: String,
    pub pause: bool,
}

/// Implemented by a world's node type so the workbench can show it. Everything here reads
/// the world and returns owned data.
pub trait Observe: Node + Sized {
    /// What the views show at the world's current moment.
    fn snapshot(world: &World<Self>) -> Snapshot;

    /// The marker a trace record deserves, with its label, if any. Kernel faults are marked
    /// by default; node events (elections, truncations, rebalances) by the implementation.
    fn marker(
        rec: &TraceRecord<Self::Event>,
        name: &dyn Fn(NodeId) -> String,
    ) -> Option<(MarkerKind, String)> {
        default_marker(rec, name)
    }

    /// Gauges sampled along the run for the charts: (series name, value). Cumulative
    /// counters are named with a trailing `_total` and charted as rates.
    fn gauges(_world: &World<Self>) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Checker findings for the finished run (empty until a checker is plugged in).
    fn anomalies(_final_world: &World<Self>) -> Vec<AnomalyView> {
        Vec::new()
    }
}

/// Markers every world has: faults that hit something.
pub fn default_marker<E>(
    rec: &TraceRecord<E>,
    name: &dyn Fn(NodeId) -> String,
) -> Option<(MarkerKind, String)> {
    match &rec.kind {
        TraceKind::Fault(f) if f.unresolved.is_none() => {
            let who: Vec<String> = f.nodes.iter().map(|n| name(*n)).collect();
            Some((
                MarkerKind::Fault,
                format!("{} {}", f.verb, who.join(",")).trim().to_string(),
            ))
        }
        _ => None,
    }
}
