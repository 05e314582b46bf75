//! The history as the checker reads it: every client operation (`HistoryOp`) with the number
//! of the kernel event it happened in, its simulated time and the name of the client node
//! that observed it. Event numbers are what the UI jumps to when it shows an anomaly.
//!
//! A history is plain data. It is taken from a finished world's kept records
//! ([`History::from_world`]: the world's packed store, `workload/kept.rs`, shared, not
//! copied — its sealed chunks are `Arc`s) or written by hand in tests ([`History::push`]),
//! and read as [`Entry`] values decoded on the way ([`History::entries`]), one pass per
//! reader.

use std::sync::Arc;

use crate::sim::kept::KeptStore;
use crate::sim::{NodeId, Time, TraceKind, TraceRecord, World};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
use crate::workload::kept::{HistoryStore, Piece};
use crate::workload::node::SimNode;

/// One observed operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The kernel event number (1-based) the operation was recorded in.
    pub event: u64,
    pub time: Time,
    /// The client node that observed it (`checkout`, `billing-1`, …); one shared name
    /// per node.
    pub node: Arc<str>,
    pub op: HistoryOp,
}

/// One observed operation as the checker's passes read it: the node as its index in
/// [`History::names`] (no name to share per operation).
#[derive(Clone, Debug)]
pub struct Op {
    pub event: u64,
    pub time: Time,
    pub node: u32,
    pub op: HistoryOp,
}

impl Op {
    /// One decoded operation of a [`Piece`].
    pub fn of(at: crate::workload::kept::At, op: HistoryOp) -> Op {
        Op {
            event: at.event,
            time: at.time,
            node: at.node,
            op,
        }
    }
}

/// Every operation of `piece`, decoded (for a pass that needs them one by one).
pub fn expand(piece: &Piece<'_>) -> impl Iterator<Item = Op> {
    piece.expand().into_iter().map(|(at, op)| Op::of(at, op))
}

/// The client history of one run, in trace order.
#[derive(Clone, Debug, Default)]
pub struct History {
    kept: HistoryStore,
    /// Node names by node id.
    names: Vec<Arc<str>>,
    /// How many history operations `kept` holds (it may hold other records too).
    ops: usize,
}

impl PartialEq for History {
    fn eq(&self, other: &History) -> bool {
        self.entries().eq(other.entries())
    }
}

impl Eq for History {}

impl History {
    /// The history ops kept in a world's trace (kept in every trace mode).
    pub fn from_world(world: &World<SimNode>) -> History {
        let names: Vec<Arc<str>> = world
            .node_ids()
            .map(|id| Arc::from(world.name(id)))
            .collect();
        let kept = world.kept().clone();
        let ops = kept.history_ops();
        History { kept, names, ops }
    }

    /// Appends an operation; event numbers are assigned 1, 2, 3… (hand-written histories).
    pub fn push(&mut self, node: &str, op: HistoryOp) -> &mut Self {
        let event = self.kept.len() as u64 + 1;
        self.push_in(event, node, op)
    }

    /// Appends an operation of kernel event `event` (not below the last one's): operations
    /// of one node in one event pack into runs as a run's do (hand-written histories).
    pub fn push_in(&mut self, event: u64, node: &str, op: HistoryOp) -> &mut Self {
        let id = match self.names.iter().position(|n| &**n == node) {
            Some(i) => i,
            None => {
                self.names.push(Arc::from(node));
                self.names.len() - 1
            }
        };
        self.kept.push(TraceRecord {
            event,
            time: Time(event),
            kind: TraceKind::Emit {
                node: NodeId(id as u32),
                event: NodeEvent::History(op),
            },
        });
        self.ops += 1;
        self
    }

    /// The operations in order, decoded from the packed store.
    pub fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.ops().map(|o| Entry {
            event: o.event,
            time: o.time,
            node: self.names[o.node as usize].clone(),
            op: o.op,
        })
    }

    /// The operations in order, each naming its node by index (the checker's passes).
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.kept.iter().filter_map(|r| match r.kind {
            TraceKind::Emit {
                node,
                event: NodeEvent::History(op),
            } => Some(Op {
                event: r.event,
                time: r.time,
                node: node.0,
                op,
            }),
            _ => None,
        })
    }

    /// The operations in runs, read without decoding each (the checker's hot passes; see
    /// [`Piece`]).
    pub fn pieces(&self) -> impl Iterator<Item = Piece<'_>> + '_ {
        let pieces = self.kept.pieces();
        pieces.filter(|p| !matches!(p, Piece::Event(_)))
    }

    /// Node names by index ([`Op::node`]).
    pub fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    pub fn len(&self) -> usize {
        self.ops
    }

    pub fn is_empty(&self) -> bool {
        self.ops == 0
    }

    /// Whether any consumer operation was recorded (unseen and lost-processing only make
    /// sense when a consumer group exists).
    pub fn has_consumers(&self) -> bool {
        self.ops().any(|e| {
            matches!(
                e.op,
                HistoryOp::Poll { .. } | HistoryOp::Assigned { .. } | HistoryOp::Processed { .. }
            )
        })
    }
}
