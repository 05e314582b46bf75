//! The history as the checker reads it: every client operation (`HistoryOp`) with the number
//! of the kernel event it happened in, its simulated time and the name of the client node
//! that observed it. Event numbers are what the UI jumps to when it shows an anomaly.
//!
//! A history is plain data. It is built from a finished world's kept trace records
//! ([`History::from_world`]) or written by hand in tests ([`History::push`]).

use std::sync::Arc;

use crate::sim::{Time, TraceKind, World};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
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

/// The client history of one run, in trace order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub entries: Vec<Entry>,
}

impl History {
    /// The history ops kept in a world's trace (kept in every trace mode).
    pub fn from_world(world: &World<SimNode>) -> History {
        let mut h = History::default();
        let names: Vec<Arc<str>> = world
            .node_ids()
            .map(|id| Arc::from(world.name(id)))
            .collect();
        for rec in world.kept() {
            if let TraceKind::Emit {
                node,
                event: NodeEvent::History(op),
            } = &rec.kind
            {
                h.entries.push(Entry {
                    event: rec.event,
                    time: rec.time,
                    node: names[node.index()].clone(),
                    op: op.clone(),
                });
            }
        }
        h
    }

    /// Appends an operation; event numbers are assigned 1, 2, 3… (hand-written histories).
    pub fn push(&mut self, node: &str, op: HistoryOp) -> &mut Self {
        let event = self.entries.len() as u64 + 1;
        self.entries.push(Entry {
            event,
            time: Time(event),
            node: Arc::from(node),
            op,
        });
        self
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether any consumer operation was recorded (unseen and lost-processing only make
    /// sense when a consumer group exists).
    pub fn has_consumers(&self) -> bool {
        self.entries.iter().any(|e| {
            matches!(
                e.op,
                HistoryOp::Poll { .. } | HistoryOp::Assigned { .. } | HistoryOp::Processed { .. }
            )
        })
    }
}
