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

pub mod figures;
pub mod observe;
pub mod series;
pub mod story;

use crate::sim::{DropReason, Node, NodeId, Time, TraceKind, TraceRecord, World};
use series::Series;

/// What kind of process a node is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Broker,
    Controller,
    Producer,
    Consumer,
    Ping,
    Rpc,
    /// A real client's connection through the gateway (`kafkasim serve`).
    External,
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
            NodeKind::External => "external",
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
    pub broker: u32,
    /// The broker's process is down (killed or lost power): what is shown is its log as
    /// its disk holds it (`hw` is then unknown: it lived in the process's memory).
    pub down: bool,
    pub log_start: u64,
    /// High watermark as this replica knows it (`None` while its broker is down).
    pub hw: Option<u64>,
    /// Last stable offset (read_committed readers stop here), when an open transaction
    /// holds it below the high watermark; `None` when it equals the HW.
    pub lso: Option<u64>,
    /// Open transactions in this replica's log, and aborted ones so far.
    pub open_txns: u32,
    pub aborted_txns: u32,
    /// Log end offset.
    pub leo: u64,
    /// Records this replica truncated away so far (lost from its log).
    pub truncated_records: u64,
    /// Segment files of the log (the last is the active segment).
    pub segments: u32,
    /// Segments the log cleaner has rewritten (compaction); the others are dirty.
    pub cleaned_segments: u32,
}

/// One partition, in the columns of `kafka-topics --describe` plus the leader epoch.
/// Brokers are named by id, as `kafka-topics` does (`Replicas: 1,2,3`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    pub topic: String,
    pub partition: u32,
    pub leader: Option<u32>,
    pub leader_epoch: u64,
    pub replicas: Vec<u32>,
    pub isr: Vec<u32>,
    pub offline: bool,
    pub logs: Vec<ReplicaLogView>,
}

impl PartitionView {
    /// Fewer in-sync replicas than replicas (Kafka: `UnderReplicatedPartitions`).
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }
}

/// Broker ids as `kafka-topics --describe` lists them: `1,2,3`.
pub fn id_list(ids: &[u32]) -> String {
    ids.iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// One producer application, from its client history up to the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerView {
    pub name: String,
    /// `sync`, `async`, `fire-and-forget`.
    pub send_mode: String,
    pub acks: String,
    /// `send()` calls so far.
    pub sent: u64,
    /// Sends without an outcome yet.
    pub in_flight: u64,
    /// Records acknowledged so far.
    pub acked: u64,
    /// Error counts by Kafka error name.
    pub errors: Vec<(String, u64)>,
    /// Per-record latency, `send()` → acknowledgement, over the records acknowledged so far.
    pub latency_p50_us: Option<u64>,
    pub latency_p99_us: Option<u64>,
    /// Kafka's `record-send-total`: records the sender put into Produce requests (retries
    /// count again), over every incarnation of the producer.
    pub record_send_total: u64,
    /// Kafka's `request-latency-avg` / `-max`: Produce request sent → response, over the
    /// requests answered so far (µs).
    pub request_latency_avg_us: Option<u64>,
    pub request_latency_max_us: Option<u64>,
    /// A transactional producer: its `transactional.id`, client state and epoch, and the
    /// coordinator's view of its transaction (broker, state, partitions).
    pub transaction: Option<String>,
}

/// One consumer application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerView {
    pub name: String,
    pub group: String,
    /// Records `poll()` returned so far.
    pub consumed: u64,
    /// The largest lag over its partitions as the client sees it (high watermark − its
    /// position): Kafka's consumer metric `records-lag-max`. `None` when it owns nothing.
    pub records_lag_max: Option<u64>,
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

/// A request/response client without Kafka: the ping demo, or the synchronous RPC caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcClientView {
    pub name: String,
    pub server: String,
    /// Requests answered.
    pub ok: u64,
    /// Calls given up after their retries (the RPC caller; ping never gives up).
    pub failed: Option<u64>,
    /// Attempts that got no answer in time (each is retried or fails the call).
    pub timeouts: u64,
    /// Requests the client wants in all (ping), if bounded.
    pub wanted: Option<u64>,
    /// Mean time from the first attempt to the answer, over answered requests.
    pub mean_latency_us: Option<u64>,
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
    pub consumers: Vec<ConsumerView>,
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

    /// Every kind, in the order the legend explains them.
    pub const ALL: [MarkerKind; 6] = [
        MarkerKind::Note,
        MarkerKind::Fault,
        MarkerKind::LeaderChange,
        MarkerKind::Truncation,
        MarkerKind::Rebalance,
        MarkerKind::Anomaly,
    ];

    /// The legend's word for the kind.
    pub fn legend(self) -> &'static str {
        match self {
            MarkerKind::Fault => "fault",
            MarkerKind::LeaderChange => "election",
            MarkerKind::Anomaly => "anomaly",
            MarkerKind::Note => "note",
            MarkerKind::Rebalance => "rebalance",
            MarkerKind::Truncation => "truncation",
        }
    }

    /// Which kind wins a timeline cell several kinds share (lower wins): the rare events
    /// that explain a run (notes, truncations, elections) before the frequent ones.
    pub fn priority(self) -> u8 {
        match self {
            MarkerKind::Note => 0,
            MarkerKind::Truncation => 1,
            MarkerKind::LeaderChange => 2,
            MarkerKind::Fault => 3,
            MarkerKind::Anomaly => 4,
            MarkerKind::Rebalance => 5,
        }
    }
}

/// Markers of one kind at nearly the same time, folded into one: consecutive markers of
/// the kind (for anomalies: of one anomaly kind) each at most the fold gap after the
/// previous one. `first..=last` index the
/// replay's markers (sorted by event); `count` markers of `kind` lie between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarkerGroup {
    pub kind: MarkerKind,
    pub first: usize,
    pub last: usize,
    pub count: usize,
    pub start: Time,
    pub end: Time,
    /// Event of the first and of the last marker.
    pub first_event: u64,
    pub last_event: u64,
}

impl MarkerGroup {
    /// The indexes of the group's markers in `markers`.
    pub fn members<'a>(&'a self, markers: &'a [Marker]) -> impl Iterator<Item = usize> + 'a {
        (self.first..=self.last).filter(move |&i| markers[i].kind == self.kind)
    }
}

/// The fold gap for a run ending at `end`: 1/200 of the run, at least 50 ms (a timeline
/// cell is wider than that at any width a terminal has, so nothing folded could be told
/// apart on screen anyway).
pub fn fold_gap(end: Time) -> Time {
    Time((end.as_us() / 200).max(50_000))
}

/// What must be equal for two markers of a kind to fold: an anomaly's own kind (the label
/// up to its first `:`, e.g. `lost-write`), so different findings never share a count.
fn fold_key(m: &Marker) -> &str {
    match m.kind {
        MarkerKind::Anomaly => m.label.split(':').next().unwrap_or(""),
        _ => "",
    }
}

/// Folds `markers` (sorted by event) into groups, sorted by their first event. Notes are
/// never folded: each note is its own group.
pub fn fold_markers(markers: &[Marker], gap: Time) -> Vec<MarkerGroup> {
    let mut open: Vec<MarkerGroup> = Vec::new();
    let mut done: Vec<MarkerGroup> = Vec::new();
    for (i, m) in markers.iter().enumerate() {
        let slot = open
            .iter()
            .position(|g| g.kind == m.kind && fold_key(&markers[g.first]) == fold_key(m));
        let fits = slot.is_some_and(|s| {
            m.kind != MarkerKind::Note
                && m.time.as_us().saturating_sub(open[s].end.as_us()) <= gap.as_us()
        });
        match slot {
            Some(s) if fits => {
                let g = &mut open[s];
                (g.last, g.count, g.end, g.last_event) = (i, g.count + 1, m.time, m.event);
            }
            _ => {
                if let Some(s) = slot {
                    done.push(open.remove(s));
                }
                open.push(MarkerGroup {
                    kind: m.kind,
                    first: i,
                    last: i,
                    count: 1,
                    start: m.time,
                    end: m.time,
                    first_event: m.event,
                    last_event: m.event,
                });
            }
        }
    }
    done.extend(open);
    done.sort_by_key(|g| (g.first_event, g.kind.priority()));
    done
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
    /// The event at which it arose (Enter in the anomalies view jumps there). It may lie
    /// after the run, in the drain phase `kafkasim check` adds.
    pub event: u64,
    pub time: Time,
    /// The records it is about: (topic, partition, offset, value).
    pub records: Vec<(String, u32, i64, u64)>,
    /// Every event where it arose (sorted), the first being `event`.
    pub events: Vec<u64>,
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

    /// State [`Observe::tally`] keeps while it reads a run (e.g. each partition's ISR size,
    /// so an ISR change can be told apart as a shrink).
    type Tally: Default;

    /// What one trace record adds to the figures over time (counts, latency samples).
    fn tally(_rec: &TraceRecord<Self::Event>, _state: &mut Self::Tally, _series: &mut Series) {}

    /// Gauges read from the world at the start of each chart bucket: (series name, value).
    fn gauges(_world: &World<Self>) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// The names of a node-emitted event the event log's filter finds it by (Kafka's own
    /// name for the event kind first, e.g. `HighWatermark`, and the partition it concerns).
    fn event_terms(_event: &Self::Event, _push: &mut dyn FnMut(Term)) {}

    /// Checker findings for the finished run (empty until a checker is plugged in). The
    /// workbench uses `kafkasim check`'s own analysis instead (see `tui::side`).
    fn anomalies(_final_world: &World<Self>) -> Vec<AnomalyView> {
        Vec::new()
    }
}

/// A name the event log's filter finds a record by.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// A fixed name: a record kind, a message, a timer, an event kind, a fault verb.
    Name(&'static str),
    /// A topic partition, found as `orders-0` (the topic by its name too).
    Partition(&'static str, u32),
}

/// The names a trace record can be found by, besides the names of the nodes it involves:
/// its kind (`deliver`, `drop`, `timer`, `fault`, …), the message, timer or fault verb, a
/// drop's reason, and for a node event what [`Observe::event_terms`] gives.
pub fn record_terms<N: Observe>(rec: &TraceRecord<N::Event>, push: &mut dyn FnMut(Term)) {
    let names: [&'static str; 3] = match &rec.kind {
        TraceKind::Start { incarnation: 0, .. } => ["start", "", ""],
        TraceKind::Start { .. } => ["start", "restart", ""],
        TraceKind::Deliver { msg, .. } => ["deliver", msg, ""],
        TraceKind::Drop { msg, reason, .. } => ["drop", msg, drop_reason(*reason)],
        TraceKind::Held { msg, .. } => ["held", msg, ""],
        TraceKind::Timer { timer, .. } => ["timer", timer, ""],
        TraceKind::Disconnected { .. } => ["disconnect", "", ""],
        TraceKind::Fault(f) => ["fault", f.verb, ""],
        TraceKind::Emit { event, .. } => {
            N::event_terms(event, push);
            ["emit", "", ""]
        }
    };
    for n in names.into_iter().filter(|n| !n.is_empty()) {
        push(Term::Name(n));
    }
}

/// A drop reason as the filter knows it.
pub fn drop_reason(r: DropReason) -> &'static str {
    match r {
        DropReason::Partitioned => "partitioned",
        DropReason::NodeDown => "node-down",
        DropReason::StaleIncarnation => "stale-incarnation",
        DropReason::ConnectionClosed => "connection-closed",
        DropReason::Lost => "lost",
    }
}

/// The nodes a trace record involves (the receiver first for messages).
pub fn record_nodes<E>(rec: &TraceRecord<E>) -> Vec<NodeId> {
    let mut out = Vec::new();
    record_nodes_into(rec, &mut out);
    out
}

/// The same, into `out` (cleared first): the replay's pass reuses one buffer.
pub fn record_nodes_into<E>(rec: &TraceRecord<E>, out: &mut Vec<NodeId>) {
    out.clear();
    match &rec.kind {
        TraceKind::Start { node, .. }
        | TraceKind::Timer { node, .. }
        | TraceKind::Emit { node, .. } => out.push(*node),
        TraceKind::Deliver { from, to, .. }
        | TraceKind::Drop { from, to, .. }
        | TraceKind::Held { from, to, .. } => out.extend([*to, *from]),
        TraceKind::Disconnected { node, peer } => out.extend([*node, *peer]),
        TraceKind::Fault(f) => out.extend_from_slice(&f.nodes),
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
