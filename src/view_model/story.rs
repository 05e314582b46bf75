//! The causal story of an anomaly: a short list of the moments that explain it (for a lost
//! write: the append, the acknowledgement with the high watermark below the record, the
//! faults that cut or killed the leader, the election of a replica without the record, the
//! truncation that removed it). The workbench assembles it from the trace and the client
//! history (`tui::story`); this file holds the plain data it is drawn from and the few
//! readings of a world's state it needs (a replica's high watermark and LEO at a moment,
//! the peers a node was cut from), so the TUI never reaches into broker internals.

use crate::kafka::broker::partition::Role;
use crate::kafka::TopicPartition;
use crate::sim::{NodeId, Status, Time, World};
use crate::workload::node::SimNode;

/// What a step of a story is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// The application called `send()`.
    Sent,
    /// A broker appended the record to its log.
    Appended,
    /// The producer got the acknowledgement.
    Acked,
    /// A fault (or the controller fencing a broker).
    Fault,
    /// A produce attempt failed and was retried.
    Retried,
    /// The controller elected a leader.
    Elected,
    /// A replica cut its log.
    Truncated,
    /// A broker recovered its log from disk after a crash.
    Recovered,
    /// A consumer's poll returned the record.
    Polled,
    /// An offset commit passed the record.
    Committed,
    /// A client process crashed.
    Crashed,
    /// The anomaly arose here (kinds without a story of their own).
    Arose,
    /// Something the trace does not tell.
    Unknown,
}

/// One moment of a story. `event` is where Enter jumps (`None`: not in the trace, or
/// after the run in the drain phase, which the replay does not hold).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub event: Option<u64>,
    pub time: Option<Time>,
    pub text: String,
}

/// The story of one anomaly, steps in time order; `loss` indexes the step where the
/// record was lost, when there is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Story {
    pub steps: Vec<Step>,
    pub loss: Option<usize>,
}

/// One replica of a partition as a broker node holds it at a moment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ReplicaState {
    pub broker: u32,
    /// The broker believes it leads the partition.
    pub leader: bool,
    /// `None` while the broker's process is down.
    pub hw: Option<u64>,
    pub leo: Option<u64>,
}

/// The broker id of a node, if it is a broker.
pub fn broker_id(world: &World<SimNode>, node: NodeId) -> Option<u32> {
    world.node(node).as_broker().map(|b| b.id.0)
}

/// How broker node `node` holds `tp` in `world` (its memory: high watermark, LEO, role).
pub fn replica_state(
    world: &World<SimNode>,
    node: NodeId,
    tp: &TopicPartition,
) -> Option<ReplicaState> {
    let b = world.node(node).as_broker()?;
    let up = world.status(node) != Status::Down;
    let p = b.partitions.get(tp).filter(|_| up);
    Some(ReplicaState {
        broker: b.id.0,
        leader: p.is_some_and(|p| matches!(p.role, Role::Leader(_))),
        hw: p.map(|p| p.log.high_watermark().0.max(0) as u64),
        leo: p.map(|p| p.log.log_end_offset().0.max(0) as u64),
    })
}

/// The nodes `node` can neither reach nor hear from in `world` (links cut both ways),
/// and those cut one way.
pub fn cut_peers(world: &World<SimNode>, node: NodeId) -> Vec<NodeId> {
    let net = world.network();
    world
        .node_ids()
        .filter(|&o| o != node && (net.is_cut(node, o) || net.is_cut(o, node)))
        .collect()
}
