//! The trace: every kernel event (start, deliver, drop, timer, fault) and every semantic event
//! a node emits, numbered by the kernel event they belong to. Plain-language explanations are
//! rendered on demand from the structured record, never stored as text.
//!
//! **Trace hash.** Each record is fed, field by field through its derived `Hash`, into one
//! running 64-bit hasher: for every 64-bit word `w`, `h = (rotl(h, 5) ^ w) * 0x517cc1b727220a95`
//! (the FxHash step), with integers widened to 64 bits little-endian and byte strings packed
//! into little-endian words, so the value does not depend on the platform's pointer width.
//! The hash is printed as 16 hex digits. Same scenario + seed ⇒ same hash.

use serde::Serialize;
use std::hash::{Hash, Hasher};

use super::node::NodeId;
use super::time::Time;

/// Why a message did not arrive.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The link is cut (partition, isolation, one-way cut).
    Partitioned,
    /// The receiver is down.
    NodeDown,
    /// The receiver crashed and restarted since the message was sent.
    StaleIncarnation,
    /// A reply on a connection that was closed or reset.
    ConnectionClosed,
    /// A lossy datagram link lost it.
    Lost,
}

/// A fault as it fired (serialized with the same fields as before it was boxed).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FaultRecord {
    pub verb: &'static str,
    pub nodes: Vec<NodeId>,
    /// For power loss: disk entries lost. For unclog: messages released.
    pub count: u64,
    /// The target could not be resolved (e.g. no leader at that moment).
    pub unresolved: Option<String>,
}

/// What happened, kernel side or node side.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum TraceKind<E> {
    Start {
        node: NodeId,
        incarnation: u32,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: &'static str,
        sent: Time,
    },
    Drop {
        from: NodeId,
        to: NodeId,
        msg: &'static str,
        sent: Time,
        reason: DropReason,
    },
    /// A message reached a clogged link and is held there.
    Held {
        from: NodeId,
        to: NodeId,
        msg: &'static str,
    },
    Timer {
        node: NodeId,
        timer: &'static str,
    },
    /// `node` learned that its connection to `peer` was closed (why: [`super::closes`]).
    Disconnected {
        node: NodeId,
        peer: NodeId,
    },
    /// Boxed: faults are rare and their record is the largest; every other record (the
    /// kept client history above all) stays at 64 bytes.
    Fault(Box<FaultRecord>),
    Emit {
        node: NodeId,
        event: E,
    },
}

/// One trace record.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TraceRecord<E> {
    /// Number of the kernel event this record belongs to (1-based).
    pub event: u64,
    pub time: Time,
    #[serde(flatten)]
    pub kind: TraceKind<E>,
}

/// The running trace hasher (see the module docs).
#[derive(Clone, Debug)]
pub struct TraceHasher(u64);

const K: u64 = 0x517c_c1b7_2722_0a95;

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
    }
}

impl Hasher for TraceHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(w));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_u16(&mut self, i: u16) {
        self.add(i as u64);
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.add(i as i64 as u64);
    }
    fn write_i16(&mut self, i: i16) {
        self.add(i as i64 as u64);
    }
    fn write_i32(&mut self, i: i32) {
        self.add(i as i64 as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.add(i as i64 as u64);
    }
}

/// How much of the trace a run keeps.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum TraceMode {
    /// Keep every record (for the UI, `--trace`, the checker).
    #[default]
    Full,
    /// Only hash records (benchmarks, exploration): nothing is stored.
    HashOnly,
    /// Neither hash nor store; nodes are told not to build events at all.
    Off,
}

/// The trace of a run.
#[derive(Clone, Debug)]
pub struct Trace<E> {
    pub mode: TraceMode,
    records: Vec<TraceRecord<E>>,
    hasher: TraceHasher,
    count: u64,
}

impl<E: Hash> Trace<E> {
    pub fn new(mode: TraceMode) -> Self {
        Trace {
            mode,
            records: Vec::new(),
            hasher: TraceHasher::default(),
            count: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, rec: TraceRecord<E>) {
        if self.mode == TraceMode::Off {
            return;
        }
        rec.hash(&mut self.hasher);
        self.count += 1;
        if self.mode == TraceMode::Full {
            self.records.push(rec);
        }
    }

    /// The hash of everything recorded so far, as 16 hex digits.
    pub fn hash_hex(&self) -> String {
        format!("{:016x}", self.hasher.finish())
    }

    pub fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    /// Takes the records kept so far out of the trace (the hash and count are unaffected).
    /// The replay controller drains them as it goes so a world clone never copies them.
    pub fn take_records(&mut self) -> Vec<TraceRecord<E>> {
        std::mem::take(&mut self.records)
    }

    /// Records kept (empty in `HashOnly` mode).
    pub fn records(&self) -> &[TraceRecord<E>] {
        &self.records
    }

    /// Number of records seen, kept or not.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Renders the plain-language line for a record. `name` maps node ids to names; `explain`
/// renders node-emitted events.
pub fn explain<E>(
    rec: &TraceRecord<E>,
    name: &dyn Fn(NodeId) -> String,
    explain_event: &dyn Fn(&E) -> String,
) -> String {
    match &rec.kind {
        TraceKind::Start { node, incarnation } if *incarnation == 0 => {
            format!("{} started", name(*node))
        }
        TraceKind::Start { node, incarnation } => format!(
            "{} restarted (incarnation {incarnation}) and rebuilt its state from disk",
            name(*node)
        ),
        TraceKind::Deliver {
            from,
            to,
            msg,
            sent,
        } => format!(
            "{} received {msg} from {} (sent at {sent}, {} on the wire)",
            name(*to),
            name(*from),
            rec.time.since(*sent)
        ),
        TraceKind::Drop {
            from,
            to,
            msg,
            reason,
            ..
        } => {
            let why = match reason {
                DropReason::Partitioned => "the network between them is cut",
                DropReason::NodeDown => "the receiver is down",
                DropReason::StaleIncarnation => "the receiver restarted since it was sent",
                DropReason::ConnectionClosed => "it was a reply on a connection closed since",
                DropReason::Lost => "the lossy link lost it",
            };
            format!(
                "{msg} from {} to {} was dropped: {why}",
                name(*from),
                name(*to)
            )
        }
        TraceKind::Held { from, to, msg } => format!(
            "{msg} from {} to {} is held: the link is clogged",
            name(*from),
            name(*to)
        ),
        TraceKind::Timer { node, timer } => format!("{}: timer {timer} fired", name(*node)),
        TraceKind::Disconnected { node, peer } => format!(
            "{} saw its connection to {} close",
            name(*node),
            name(*peer)
        ),
        TraceKind::Fault(f) => {
            explain_fault(f.verb, &f.nodes, f.count, f.unresolved.as_deref(), name)
        }
        TraceKind::Emit { node, event } => format!("{}: {}", name(*node), explain_event(event)),
    }
}

fn explain_fault(
    verb: &str,
    nodes: &[NodeId],
    count: u64,
    unresolved: Option<&str>,
    name: &dyn Fn(NodeId) -> String,
) -> String {
    if let Some(target) = unresolved {
        return format!("fault {verb} skipped: `{target}` names no node at this moment");
    }
    let who = nodes
        .iter()
        .map(|n| name(*n))
        .collect::<Vec<_>>()
        .join(", ");
    match verb {
        "kill" => format!(
            "FAULT {who} was killed (process crash): its memory is gone, unflushed writes survive in the OS page cache"
        ),
        "power-loss" => format!(
            "FAULT {who} lost power: {count} unflushed disk entries are gone"
        ),
        "restart" => format!("FAULT {who} is restarting"),
        "pause" => format!("FAULT {who} is paused (like a long GC pause): it handles nothing"),
        "resume" => format!("FAULT {who} resumed and handles what queued up meanwhile"),
        "isolate" => format!("FAULT {who} is cut off from every other node"),
        "partition" => format!("FAULT network partition: links between groups are cut ({who})"),
        "cut" => format!("FAULT one-way cut: messages from {who} (first to second) are dropped"),
        "heal" => "FAULT the network is healed: every link works again".to_string(),
        "clog" => format!("FAULT the link {who} is clogged: messages wait"),
        "unclog" => format!("FAULT the link {who} is unclogged: {count} held messages released"),
        "reset" => format!("FAULT the connection between {who} was reset"),
        other => format!("FAULT {other} on {who}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_content_and_order() {
        // Proves the trace hash changes when a record changes or records swap.
        let rec = |e: u64, t: u64| TraceRecord::<u8> {
            event: e,
            time: Time(t),
            kind: TraceKind::Timer {
                node: NodeId(1),
                timer: "tick",
            },
        };
        let mut a = Trace::new(TraceMode::HashOnly);
        a.record(rec(1, 10));
        a.record(rec(2, 20));
        let mut b = Trace::new(TraceMode::Full);
        b.record(rec(1, 10));
        b.record(rec(2, 20));
        assert_eq!(a.hash_hex(), b.hash_hex());
        let mut c = Trace::new(TraceMode::HashOnly);
        c.record(rec(2, 20));
        c.record(rec(1, 10));
        assert_ne!(a.hash_hex(), c.hash_hex());
        assert_eq!(b.records().len(), 2);
        assert!(a.records().is_empty());
    }
}
