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
        .filter(|(v, ..)| !ix.stored.contains_key(v))
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
        if ix.read.contains_key(&v) {
            continue;
        }
        let deleted = ix.deleted_by_retention(tp, offset);
        let (tp, offset) = match ix.stored.get(&v).and_then(|p| p.first()) {
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
        let d = if deleted && !ix.stored.contains_key(&v) {
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
    if ix.invokes.get(&v).is_some_and(|n| *n > 1) {
        DuplicateCause::Restart
    } else {
        DuplicateCause::Retry
    }
}

/// Offsets at which different readers saw different values.
pub fn inconsistent_offsets(ix: &Index) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for ((tp, offset), values) in &ix.at {
        if values.len() < 2 {
            continue;
        }
        let vs: Vec<String> = values.keys().map(|v| v.to_string()).collect();
        let d = format!(
            "{tp} offset {offset} held different values for different readers: {}",
            vs.join(", ")
        );
        let mut a = Anomaly::new(AnomalyKind::InconsistentOffsets, d);
        for (v, events) in values {
            a = a.record(RecordRef::new(tp, *offset, *v));
            a.events.extend(events.iter().filter(|e| **e > 0));
        }
        out.push(a.finish());
    }
    out
}

fn seen_events(ix: &Index, tp: &TopicPartition, offset: Offset, v: u64) -> Vec<u64> {
    let key = (tp.clone(), offset);
    let events = ix.at.get(&key).and_then(|m| m.get(&v));
    events.map_or(Vec::new(), |e| {
        e.iter().copied().filter(|e| *e > 0).collect()
    })
}

/// For each producer session (a node between crashes), acknowledged offsets in one
/// partition must grow in the order the values were sent.
pub fn nonmonotonic_sends(history: &History) -> Vec<Anomaly> {
    // (node, session) -> value -> invoke order; acks collected per (node, session).
    let mut session: BTreeMap<&str, u64> = BTreeMap::new();
    let mut order: BTreeMap<u64, (&str, u64, usize)> = BTreeMap::new();
    type Ack<'a> = (usize, u64, &'a TopicPartition, Offset, u64);
    let mut acks: BTreeMap<(&str, u64), Vec<Ack>> = BTreeMap::new();
    for (i, e) in history.entries.iter().enumerate() {
        let s = *session.entry(&e.node).or_insert(0);
        match &e.op {
            HistoryOp::SendInvoke { value, .. } => {
                order.insert(*value, (&e.node, s, i));
            }
            HistoryOp::SendOk { value, tp, offset } if *offset >= Offset::ZERO => {
                let (node, s, i) = order.get(value).copied().unwrap_or((&e.node, s, i));
                acks.entry((node, s))
                    .or_default()
                    .push((i, *value, tp, *offset, e.event));
            }
            HistoryOp::Crashed => *session.entry(&e.node).or_insert(0) += 1,
            _ => {}
        }
    }
    let mut out = Vec::new();
    for ((node, _), mut list) in acks {
        list.sort_by_key(|a| a.0);
        out.extend(backwards(node, &list));
    }
    out
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
