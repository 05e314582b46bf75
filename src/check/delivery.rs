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
/// the session of its value's last `send()` before it. Flat lists, sorted once: a run's
/// history has millions of sends.
///
/// Returns the anomalies and every invoked value once, ascending (for the index, which
/// would otherwise read the history once more to find them).
pub fn nonmonotonic_sends_and_invoked(history: &History) -> (Vec<Anomaly>, Vec<u64>) {
    let names = history.names();
    let (mut invokes, oks) = sends_and_acks(history);
    invokes.sort_unstable();
    let mut hint = 0usize;
    // The last invoke of `value` before history position `i`: the invoke after the one
    // found last, when it is the value's first and only one before `i` (invokes and acks
    // mostly come in value order), else a binary search.
    let mut last_invoke = |value: u64, i: u32| {
        let next = hint + usize::from(invokes.get(hint).is_some_and(|x| x.0 != value));
        let first = |j: usize| j == 0 || invokes[j - 1].0 != value;
        let only = |j: usize| invokes.get(j + 1).is_none_or(|x| x.0 != value || x.1 >= i);
        let j = match invokes.get(next) {
            Some(x) if x.0 == value && x.1 < i && first(next) && only(next) => next,
            _ => {
                let upto = invokes.partition_point(|&(v, at, ..)| (v, at) < (value, i));
                upto.checked_sub(1).filter(|&j| invokes[j].0 == value)?
            }
        };
        hint = j;
        Some(invokes[j])
    };
    // Nodes ranked by name: sessions are reported in name order.
    let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
    by_name.sort_by_key(|&n| &names[n as usize]);
    let mut rank = vec![0u32; names.len()];
    for (r, &n) in by_name.iter().enumerate() {
        rank[n as usize] = r as u32;
    }
    // Each ack becomes (node rank, session, invoke position, value, partition, offset,
    // ack event), in place: at the peak of a long run's check every byte per record counts.
    let mut acks = oks;
    for a in acks.iter_mut() {
        let (order, node, session) = match last_invoke(a.3, a.0) {
            Some((_, at, node, session)) => (at, node, session),
            None => (a.0, a.1, a.2),
        };
        (a.0, a.1, a.2) = (rank[node as usize], session, order);
    }
    let mut invoked: Vec<u64> = invokes.iter().map(|x| x.0).collect();
    drop(invokes);
    invoked.dedup();
    acks.sort_by_key(|a| (a.0, a.1, a.2));
    let mut out = Vec::new();
    for group in acks.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let list: Vec<_> = group
            .iter()
            .map(|a| (a.2 as usize, a.3, &a.4, a.5, a.6))
            .collect();
        out.extend(backwards(
            &names[by_name[group[0].0 as usize] as usize],
            &list,
        ));
    }
    (out, invoked)
}

/// (value, history position, node, session) of every invoke.
type Invoke = (u64, u32, u32, u32);
/// (history position, node, session, value, partition, offset, event) of every ack with
/// an offset.
type Ack = (u32, u32, u32, u64, TopicPartition, Offset, u64);

/// Every invoke and every acknowledgement with an offset, in history order, each with its
/// node's session (crashes so far).
fn sends_and_acks(history: &History) -> (Vec<Invoke>, Vec<Ack>) {
    let mut sessions: Vec<u32> = vec![0; history.names().len()];
    let mut invokes: Vec<Invoke> = Vec::new();
    let mut oks: Vec<Ack> = Vec::new();
    for (i, e) in history.ops().enumerate() {
        let (i, n) = (i as u32, e.node as usize);
        match e.op {
            HistoryOp::SendInvoke { value, .. } => invokes.push((value, i, n as u32, sessions[n])),
            HistoryOp::SendOk { value, tp, offset } if offset >= Offset::ZERO => {
                oks.push((i, n as u32, sessions[n], value, tp, offset, e.event))
            }
            HistoryOp::Crashed => sessions[n] += 1,
            _ => {}
        }
    }
    (invokes, oks)
}

fn backwards(node: &str, acks: &[(usize, u64, &TopicPartition, Offset, u64)]) -> Vec<Anomaly> {
    let mut last: BTreeMap<&TopicPartition, (u64, Offset, u64)> = BTreeMap::new();
    let mut out = Vec::new();
    for &(_, v, tp, offset, event) in acks {
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
        last.insert(tp, (v, offset, event));
    }
    out
}
