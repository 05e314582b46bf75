//! Why a connection closed. The kernel records only *that* a node saw its connection to a
//! peer close (`Disconnected`); the cause is one of the kernel's few ways of closing one,
//! each visible earlier in the trace, one link latency before the close is seen:
//!
//! - the peer's process died (`kill`, or `restart` of a running process): its OS closes its
//!   sockets (a power loss closes nothing: peers find out by their own timeouts);
//! - a message reached a process that was not running: the connection is refused, at both
//!   ends (a `Drop` with reason `node-down` or `stale-incarnation` between the two);
//! - a `reset` fault between the two;
//! - the network healed after a cut that lost messages on the connection (a TCP stream
//!   cannot have holes, so the connection breaks);
//! - otherwise the peer closed it itself — a client that gave up waiting for a reply (its
//!   timeout timer fired) closes the connection, and the other end sees that.
//!
//! [`Closes`] watches the records in run order and files a cause for each `Disconnected`.
//! A kernel cause counts when it happened at most a few link latencies before (the largest
//! latency seen so far, doubled, plus a millisecond).

use std::collections::BTreeMap;

use crate::sim::{DropReason, NodeId, Time, TraceKind, TraceRecord};

/// What closed a connection, and when.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CloseCause {
    /// The peer's process died (`verb` is `kill` or `restart`).
    PeerDied { at: Time, verb: &'static str },
    /// A message between the two reached a process that was not running.
    Refused { at: Time },
    /// A `reset` fault between the two.
    Reset { at: Time },
    /// The network healed after a cut that lost messages on this connection.
    Healed { at: Time },
    /// The peer closed it; `timer` is the timer it was handling (a request timeout).
    ClosedByPeer { timer: Option<&'static str> },
}

impl CloseCause {
    /// The plain-language reason, completing "`node` saw its connection to `peer` close: …".
    pub fn explain(&self, node: &str, peer: &str) -> String {
        match *self {
            CloseCause::PeerDied { at, verb } => format!(
                "{peer}'s process died ({verb} at {at}); its OS closed the socket"
            ),
            CloseCause::Refused { at } => format!(
                "connection refused: a message between {node} and {peer} reached a process that was not running (at {at})"
            ),
            CloseCause::Reset { at } => format!("the connection was reset (fault at {at})"),
            CloseCause::Healed { at } => format!(
                "the network cut lost messages on it and a TCP stream cannot have holes, so it broke when the network healed (at {at})"
            ),
            CloseCause::ClosedByPeer { timer: Some(t) } => format!(
                "{peer} closed it: its {t} timer had fired (it gave up waiting for a reply)"
            ),
            CloseCause::ClosedByPeer { timer: None } => format!("{peer} closed it"),
        }
    }
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    (a.min(b), a.max(b))
}

/// Causes of every connection close of a run, filed as the run is read.
#[derive(Clone, Debug, Default)]
pub struct Closes {
    causes: BTreeMap<u64, CloseCause>,
    died: BTreeMap<NodeId, (Time, &'static str)>,
    refused: BTreeMap<(NodeId, NodeId), Time>,
    reset: BTreeMap<(NodeId, NodeId), Time>,
    healed: Option<Time>,
    /// The last timer each node handled.
    timer: BTreeMap<NodeId, (Time, &'static str)>,
    latency_us_max: u64,
}

impl Closes {
    /// Watches one record (in run order).
    pub fn observe<E>(&mut self, rec: &TraceRecord<E>) {
        let t = rec.time;
        match &rec.kind {
            TraceKind::Deliver { sent, .. } => {
                self.latency_us_max = self.latency_us_max.max(t.since(*sent).as_us());
            }
            TraceKind::Drop {
                from,
                to,
                reason: DropReason::NodeDown | DropReason::StaleIncarnation,
                ..
            } => {
                self.refused.insert(pair(*from, *to), t);
            }
            TraceKind::Timer { node, timer } => {
                self.timer.insert(*node, (t, timer));
            }
            TraceKind::Fault(f) => match (f.verb, f.nodes.as_slice()) {
                (v @ ("kill" | "restart"), [n]) => {
                    self.died.insert(*n, (t, v));
                }
                ("reset", [a, b]) => {
                    self.reset.insert(pair(*a, *b), t);
                }
                ("heal", _) => self.healed = Some(t),
                _ => {}
            },
            TraceKind::Disconnected { node, peer } => {
                let cause = self.cause(*node, *peer, t);
                self.causes.insert(rec.event, cause);
            }
            _ => {}
        }
    }

    fn cause(&self, node: NodeId, peer: NodeId, t: Time) -> CloseCause {
        let window = self.latency_us_max * 2 + 1_000;
        let recent = |at: Time| t.since(at).as_us() <= window;
        let mut best: Option<(Time, CloseCause)> = None;
        let mut offer = |at: Time, c: CloseCause| {
            if recent(at) && best.is_none_or(|(b, _)| at >= b) {
                best = Some((at, c));
            }
        };
        if let Some(&(at, verb)) = self.died.get(&peer) {
            offer(at, CloseCause::PeerDied { at, verb });
        }
        if let Some(&at) = self.healed.as_ref() {
            offer(at, CloseCause::Healed { at });
        }
        if let Some(&at) = self.refused.get(&pair(node, peer)) {
            offer(at, CloseCause::Refused { at });
        }
        if let Some(&at) = self.reset.get(&pair(node, peer)) {
            offer(at, CloseCause::Reset { at });
        }
        best.map(|b| b.1)
            .unwrap_or_else(|| CloseCause::ClosedByPeer {
                timer: self
                    .timer
                    .get(&peer)
                    .filter(|(at, _)| recent(*at))
                    .map(|(_, name)| *name),
            })
    }

    /// The cause of the close seen at event `event`, if that event was one.
    pub fn cause_at(&self, event: u64) -> Option<&CloseCause> {
        self.causes.get(&event)
    }
}
