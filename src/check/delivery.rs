//! Producer-side and log-side anomalies: what happened to each acknowledged value between
//! `send()` and the final log. A value is unique per send, so every position it was seen
//! at (by any poll or by the final drain read) tells its story: nowhere (`lost-write`), twice
//! (`duplicate`), or sharing an offset with another value (`inconsistent-offsets`).
//!
//! Negative cases matter as much: an indeterminate send that is absent is not lost (the
//! client never claimed success), and a failed send that shows up anyway is not an anomaly
//! of its own (Kafka documents that a failed produce may still have been appended).

use std::collections::BTreeMap;

use super::anomaly::{Anomaly, AnomalyKind, DuplicateCause, RecordRef};
use super::history::History;
use super::index::Index;
use crate::kafka::{Offset, TopicPartition};
use crate::workload::history::HistoryOp;
use crate::workload::kept::Piece;

/// Acknowledged values absent from every final log (only when final logs exist). A value
/// acknowledged below the final log's log start offset was deleted by retention, and one
/// the log cleaner removed (superseded by a later record of its key): not lost.
pub fn lost_writes(ix: &Index) -> Vec<Anomaly> {
    ix.acked()
        .filter(|(v, ..)| !ix.is_stored(*v))
        .filter(|(_, tp, offset, ..)| !ix.deleted_by_retention(tp, *offset))
        .filter(|(v, tp, offset, ..)| !ix.compacted.contains(&((*tp).clone(), *offset, *v)))
        .map(|(v, tp, offset, event, node)| {
            let d = format!(
                "value {v} was acknowledged to {node} at {tp} offset {offset} but is not in the final log"
            );
            Anomaly::new(AnomalyKind::LostWrite, d)
                .record(RecordRef::new(tp, offset, v))
                .event(event)
                .node(node)
                .finish()
        })
        .collect()
}

/// Acknowledged values (present in the final log when it is known) that no poll returned,
/// though a group committed past them. Unread values at or above every commit are not yet
/// reached: `consume::lost_processing` reports them as `not-converged`, not here.
pub fn unseen(ix: &Index, logs_known: bool) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (v, tp, offset, event, node) in ix.acked() {
        if ix.read(v).is_some() {
            continue;
        }
        let deleted = ix.deleted_by_retention(tp, offset);
        let stored = ix.stored(v);
        let (tp, offset) = match stored.first() {
            Some((stp, so)) => (stp, *so),
            None if logs_known && !deleted => continue, // lost, reported as lost-write
            None => (tp, offset),
        };
        // A record retention deleted before anyone read it is missed for good, whatever
        // the group committed; otherwise unread records no group moved past are not yet
        // reached (not-converged, reported elsewhere).
        if !deleted && !ix.committed_past(tp, offset) {
            continue;
        }
        let d = if deleted && stored.is_empty() {
            format!("value {v} ({tp} offset {offset}) was acknowledged, and deleted by retention before any consumer read it")
        } else {
            format!(
                "value {v} ({tp} offset {offset}) was acknowledged but no consumer ever read it"
            )
        };
        let a = Anomaly::new(AnomalyKind::Unseen, d)
            .record(RecordRef::new(tp, offset, v))
            .event(event)
            .node(node);
        out.push(a.finish());
    }
    out
}

/// Values seen at more than one (partition, offset), each with its [`DuplicateCause`].
pub fn duplicates(ix: &Index) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (v, positions) in ix.multi_positions() {
        let places: Vec<String> = positions
            .iter()
            .map(|(tp, o)| format!("{tp}@{o}"))
            .collect();
        let cause = duplicate_cause(ix, v);
        let why = match cause {
            DuplicateCause::Restart => {
                "the application sent it again after a restart, under a new producer id"
            }
            DuplicateCause::Retry => {
                "one send() stored twice: the producer resent a batch the broker already had"
            }
        };
        let d = format!(
            "value {v} is stored at {} offsets: {} ({why})",
            positions.len(),
            places.join(", ")
        );
        let mut a = Anomaly::new(AnomalyKind::Duplicate, d);
        a.cause = Some(cause.as_str());
        for (tp, o) in &positions {
            a = a.record(RecordRef::new(tp, *o, v));
            a.events.extend(seen_events(ix, tp, *o, v));
        }
        out.push(a.finish());
    }
    out
}

/// Why `v` is stored twice: sent more than once by the application (after a restart), or
/// one send resent by the producer client.
fn duplicate_cause(ix: &Index, v: u64) -> DuplicateCause {
    if ix.val(v).is_some_and(|r| r.invokes > 1) {
        DuplicateCause::Restart
    } else {
        DuplicateCause::Retry
    }
}

/// Offsets at which different readers saw different values.
pub fn inconsistent_offsets(ix: &Index) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for (tp, offset) in ix.conflicts() {
        let values = ix.values_at(tp, *offset);
        let vs: Vec<String> = values.iter().map(|(v, _)| v.to_string()).collect();
        let d = format!(
            "{tp} offset {offset} held different values for different readers: {}",
            vs.join(", ")
        );
        let mut a = Anomaly::new(AnomalyKind::InconsistentOffsets, d);
        for (v, events) in &values {
            a = a.record(RecordRef::new(tp, *offset, *v));
            a.events.extend(events.iter().filter(|e| **e > 0));
        }
        out.push(a.finish());
    }
    out
}

fn seen_events(ix: &Index, tp: &TopicPartition, offset: Offset, v: u64) -> Vec<u64> {
    let values = ix.values_at(tp, offset);
    let events = values.into_iter().find(|(w, _)| *w == v);
    events.map_or(Vec::new(), |(_, e)| {
        e.into_iter().filter(|e| *e > 0).collect()
    })
}

/// For each producer session (a node between crashes), acknowledged offsets in one
/// partition must grow in the order the values were sent. An acknowledgement belongs to
/// the session of its value's last `send()` before it. Read in runs (`Piece`s): an ack run
/// within one invoke run is one entry, its offsets and send order growing together, so
/// only where two entries meet can order break. Sorted once: a long run's history has
/// millions of sends but few runs.
///
/// Returns the anomalies and every invoked value once, ascending, in runs of consecutive
/// values (for the index, which would otherwise read the history once more to find them).
pub fn nonmonotonic_sends_and_invoked(history: &History) -> (Vec<Anomaly>, Vec<(u64, u32)>) {
    let names = history.names();
    let (mut invokes, mut acks) = sends_and_acks(history);
    invokes.sort_unstable_by_key(|r| (r.value, r.pos));
    let invoked = super::index::union(invokes.iter().map(|r| (r.value, r.count)).collect());
    if invokes
        .windows(2)
        .any(|w| w[0].value + w[0].count as u64 > w[1].value)
    {
        // A value sent twice (after a restart): its acknowledgement belongs to the send
        // before it, found value by value.
        invokes = invokes.iter().flat_map(|r| r.split()).collect();
        invokes.sort_unstable_by_key(|r| (r.value, r.pos));
        acks = acks.iter().flat_map(|a| a.split()).collect();
    }
    // Nodes ranked by name: sessions are reported in name order.
    let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
    by_name.sort_by_key(|&n| &names[n as usize]);
    let mut rank = vec![0u32; names.len()];
    for (r, &n) in by_name.iter().enumerate() {
        rank[n as usize] = r as u32;
    }
    let mut sent = Vec::with_capacity(acks.len());
    for a in &acks {
        split_by_send(a, &invokes, &rank, &mut sent);
    }
    drop(acks);
    drop(invokes);
    let key = |s: &Sent| (s.rank, s.session, s.ipos, s.apos);
    sent.sort_unstable_by_key(key);
    let same = |a: &Sent, b: &Sent| (a.rank, a.session) == (b.rank, b.session);
    if sent
        .windows(2)
        .any(|w| same(&w[0], &w[1]) && w[0].ipos + w[0].count > w[1].ipos)
    {
        // Two acknowledgements of one send: compared one by one.
        sent = sent.iter().flat_map(|s| s.split()).collect();
        sent.sort_unstable_by_key(key);
    }
    let mut out = Vec::new();
    for group in sent.chunk_by(|a, b| same(a, b)) {
        out.extend(backwards(
            &names[by_name[group[0].rank as usize] as usize],
            group,
        ));
    }
    (out, invoked)
}

/// Invokes of values `value..value + count` at history positions `pos..` by `node` in its
/// `session` (crashes so far).
#[derive(Clone, Copy)]
struct InvokeRun {
    value: u64,
    pos: u32,
    count: u32,
    node: u32,
    session: u32,
}

impl InvokeRun {
    fn split(&self) -> impl Iterator<Item = InvokeRun> + '_ {
        (0..self.count).map(|k| InvokeRun {
            value: self.value + k as u64,
            pos: self.pos + k,
            count: 1,
            ..*self
        })
    }
}

/// Acknowledgements of values `value..` at offsets `offset..` (≥ 0) of `tp` in `event`,
/// at history positions `pos..`, to `node` in its `session`.
#[derive(Clone)]
struct AckRun {
    pos: u32,
    node: u32,
    session: u32,
    count: u32,
    value: u64,
    offset: Offset,
    event: u64,
    tp: TopicPartition,
}

impl AckRun {
    fn split(&self) -> impl Iterator<Item = AckRun> + '_ {
        (0..self.count).map(|k| AckRun {
            pos: self.pos + k,
            count: 1,
            value: self.value + k as u64,
            offset: self.offset + k as i64,
            ..self.clone()
        })
    }
}

/// Acknowledgements in send order: `count` of them, of values `value..` at offsets
/// `offset..`, sent at history positions `ipos..` in session `session` of the node ranked
/// `rank`, acknowledged at positions `apos..`.
#[derive(Clone)]
struct Sent {
    rank: u32,
    session: u32,
    ipos: u32,
    apos: u32,
    count: u32,
    value: u64,
    offset: Offset,
    event: u64,
    tp: TopicPartition,
}

impl Sent {
    fn split(&self) -> impl Iterator<Item = Sent> + '_ {
        (0..self.count).map(|k| Sent {
            ipos: self.ipos + k,
            apos: self.apos + k,
            count: 1,
            value: self.value + k as u64,
            offset: self.offset + k as i64,
            ..self.clone()
        })
    }
}

/// Splits ack run `a` where its values' sends change run: each part belongs to the last
/// send of its values before it (or, with none, to the acknowledgement itself).
fn split_by_send(a: &AckRun, invokes: &[InvokeRun], rank: &[u32], out: &mut Vec<Sent>) {
    let mut k = 0;
    while k < a.count {
        let (v, at) = (a.value + k as u64, a.pos + k);
        let j = invokes.partition_point(|r| (r.value, r.pos) < (v, at));
        let send = j.checked_sub(1).map(|j| invokes[j]).filter(|r| {
            r.value <= v && v < r.value + r.count as u64 && r.pos + ((v - r.value) as u32) < at
        });
        let (node, session, ipos, m) = match send {
            Some(r) => {
                let m = (r.value + r.count as u64 - v).min((a.count - k) as u64) as u32;
                (r.node, r.session, r.pos + (v - r.value) as u32, m)
            }
            None => (a.node, a.session, at, 1),
        };
        out.push(Sent {
            rank: rank[node as usize],
            session,
            ipos,
            apos: at,
            count: m,
            value: v,
            offset: a.offset + k as i64,
            event: a.event,
            tp: a.tp.clone(),
        });
        k += m;
    }
}

/// Every invoke and every acknowledgement with an offset, in history order, each with its
/// node's session (crashes so far), in runs.
fn sends_and_acks(history: &History) -> (Vec<InvokeRun>, Vec<AckRun>) {
    let mut sessions: Vec<u32> = vec![0; history.names().len()];
    let mut invokes = Vec::new();
    let mut acks = Vec::new();
    let mut pos = 0u32;
    for piece in history.pieces() {
        match &piece {
            Piece::Invoke {
                at, value, count, ..
            } => invokes.push(InvokeRun {
                value: *value,
                pos,
                count: *count,
                node: at.node,
                session: sessions[at.node as usize],
            }),
            Piece::SendOk {
                at,
                tp,
                value,
                offset,
                count,
            } if *offset >= Offset::ZERO => acks.push(AckRun {
                pos,
                node: at.node,
                session: sessions[at.node as usize],
                count: *count,
                value: *value,
                offset: *offset,
                event: at.event,
                tp: tp.clone(),
            }),
            Piece::Op {
                at,
                op: HistoryOp::Crashed,
            } => sessions[at.node as usize] += 1,
            _ => {}
        }
        pos += piece.ops() as u32;
    }
    (invokes, acks)
}

fn backwards(node: &str, sent: &[Sent]) -> Vec<Anomaly> {
    let mut last: BTreeMap<&TopicPartition, (u64, Offset, u64)> = BTreeMap::new();
    let mut out = Vec::new();
    for s in sent {
        let (v, tp, offset, event) = (s.value, &s.tp, s.offset, s.event);
        if let Some(&(pv, po, pe)) = last.get(tp) {
            if offset <= po {
                let d = format!(
                    "{node} sent {pv} before {v}, but {pv} was acknowledged at {tp} offset {po} and {v} at offset {offset}"
                );
                let a = Anomaly::new(AnomalyKind::NonmonotonicSend, d)
                    .record(RecordRef::new(tp, po, pv))
                    .record(RecordRef::new(tp, offset, v))
                    .event(pe)
                    .event(event)
                    .node(node);
                out.push(a.finish());
            }
        }
        // Within an entry offsets grow with the send order: its last is what comes next.
        let n = s.count as u64 - 1;
        last.insert(tp, (v + n, offset + n as i64, event));
    }
    out
}
