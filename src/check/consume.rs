//! Consumer-side anomalies. Within one *assignment* (from an `Assigned` event until the next
//! one, a crash, or a poll of another generation) a consumer must read each partition's
//! offsets in increasing order without jumping over records: a jump over an offset known to
//! hold a record is a `poll-skip`, going back (or reading an offset again) is a
//! `nonmonotonic-poll`. Re-reading after a rebalance is *not* an anomaly: the new owner
//! starts at the last committed offset, which is how Kafka gives at-least-once delivery.
//!
//! Processing is judged per record: every record of the final log must be processed by some
//! member (`lost-processing`, the at-most-once risk of committing before processing), and
//! processing one record twice is `reprocessed` (the at-least-once price after crashes and
//! rebalances).

use std::collections::{BTreeMap, BTreeSet};

use super::anomaly::{Anomaly, AnomalyKind, RecordRef};
use super::history::History;
use super::index::Index;
use crate::kafka::{Offset, TopicPartition};
use crate::workload::history::HistoryOp;
use crate::workload::kept::Piece;

/// One consumer's position within its current assignment.
#[derive(Default)]
struct Reader {
    generation: Option<i32>,
    /// Per partition: last offset read, its value and event.
    last: BTreeMap<TopicPartition, (Offset, u64, u64)>,
}

/// poll-skip and nonmonotonic-poll, for every consumer node. A poll's records come in runs
/// of consecutive offsets: only a run's first record can go back or skip, the rest follow
/// it offset by offset.
pub fn poll_order(history: &History, ix: &Index) -> Vec<Anomaly> {
    let mut readers: BTreeMap<u32, Reader> = BTreeMap::new();
    let mut out = Vec::new();
    for piece in history.pieces() {
        match &piece {
            Piece::Op {
                at,
                op: HistoryOp::Assigned { generation, .. },
            } => {
                readers.insert(
                    at.node,
                    Reader {
                        generation: Some(*generation),
                        ..Reader::default()
                    },
                );
            }
            Piece::Op {
                at,
                op: HistoryOp::Crashed,
            } => {
                readers.insert(at.node, Reader::default());
            }
            Piece::Poll {
                at,
                generation,
                records,
                ..
            } => {
                let r = readers.entry(at.node).or_default();
                if r.generation.is_some_and(|g| g != *generation) {
                    *r = Reader::default();
                }
                r.generation = Some(*generation);
                let node = &history.names()[at.node as usize];
                for run in records {
                    let read = (&run.tp, run.offset, run.value, at.event);
                    out.extend(step(r, node, read, ix));
                    if run.count > 1 {
                        let n = run.count - 1;
                        let last = (run.offset_at(n), run.value + n as u64, at.event);
                        r.last.insert(run.tp.clone(), last);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn step(
    r: &mut Reader,
    node: &str,
    (tp, offset, value, event): (&TopicPartition, Offset, u64, u64),
    ix: &Index,
) -> Option<Anomaly> {
    let prev = r.last.insert(tp.clone(), (offset, value, event));
    let (po, pv, pe) = prev?;
    let a = if offset <= po {
        let d =
            format!("{node} read {tp} offset {po} and then offset {offset} in the same assignment");
        Anomaly::new(AnomalyKind::NonmonotonicPoll, d)
    } else {
        let skipped = skipped(ix, tp, po, offset);
        if skipped.is_empty() {
            return None;
        }
        let d =
            format!(
            "{node} read {tp} offset {po} and then offset {offset}, skipping {} record(s) at {}",
            skipped.len(),
            skipped.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ")
        );
        let mut a = Anomaly::new(AnomalyKind::PollSkip, d);
        for o in skipped {
            if let Some(v) = value_at(ix, tp, o) {
                a = a.record(RecordRef::new(tp, o, v));
            }
        }
        a
    };
    let a = a
        .record(RecordRef::new(tp, po, pv))
        .record(RecordRef::new(tp, offset, value))
        .event(pe)
        .event(event)
        .node(node);
    Some(a.finish())
}

fn skipped(ix: &Index, tp: &TopicPartition, from: Offset, to: Offset) -> Vec<Offset> {
    let mut offsets = ix.known_between(tp, from, to);
    // Records of transactions that did not commit are not skipped by a read_committed
    // reader: it must not return them (`txn.rs`).
    offsets.retain(|o| {
        let pos = (tp.clone(), *o);
        !ix.txn.uncommitted_positions.contains(&pos)
            && value_at(ix, tp, *o).is_none_or(|v| !ix.txn_hidden.contains(&v))
    });
    offsets
}

fn value_at(ix: &Index, tp: &TopicPartition, offset: Offset) -> Option<u64> {
    ix.value_at(tp, offset)
}

/// Records that must be processed, in (partition, offset, value) order: the final log when
/// known (read in place), else every acknowledged send.
fn must_process(
    ix: &Index,
    logs_known: bool,
) -> Box<dyn Iterator<Item = (TopicPartition, Offset, u64)> + '_> {
    if logs_known {
        let stored = ix.final_records();
        let stored = stored.filter(|(_, _, v)| !ix.txn_hidden.contains(v));
        Box::new(stored.map(|(tp, o, v)| (tp.clone(), o, v)))
    } else {
        let acked = ix.acked().map(|(v, tp, o, ..)| (tp.clone(), o, v));
        Box::new(acked.collect::<BTreeSet<_>>().into_iter())
    }
}

/// Records never processed by any member, split by whether the group has moved past them.
/// A record below some group's committed offset was declared done without being processed:
/// `lost-processing` (a safety violation). A record at or above every commit has simply not
/// been reached yet when the drain ended: the group did not converge, reported as one
/// `not-converged` per partition — never as loss, so the two verdicts cannot contradict
/// each other. A value processed at another offset (a duplicate copy) counts as processed:
/// the side effect happened.
pub fn lost_processing(ix: &Index, logs_known: bool) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let mut pending: BTreeMap<TopicPartition, Vec<(Offset, u64)>> = BTreeMap::new();
    for (tp, offset, v) in must_process(ix, logs_known) {
        if ix.val(v).is_some_and(|r| r.processed) {
            continue;
        }
        if !ix.committed_past(&tp, offset) {
            pending.entry(tp).or_default().push((offset, v));
            continue;
        }
        let d = format!("value {v} ({tp} offset {offset}) was never processed by any member");
        let mut a =
            Anomaly::new(AnomalyKind::LostProcessing, d).record(RecordRef::new(&tp, offset, v));
        if let Some(read) = ix.read(v) {
            a = a.event(read);
        }
        out.push(a.finish());
    }
    out.extend(pending.iter().map(|(tp, recs)| not_reached(ix, tp, recs)));
    out
}

/// The `not-converged` anomaly of a partition whose unprocessed records lie at or above
/// every committed offset; it names every such record (the report's `unprocessed` count).
fn not_reached(ix: &Index, tp: &TopicPartition, recs: &[(Offset, u64)]) -> Anomaly {
    let first = recs[0].0;
    let committed = match ix.committed.get(tp) {
        Some((c, _)) => format!("its highest committed offset is {c}"),
        None => "no offset was ever committed for it".to_string(),
    };
    let d = format!(
        "{} record(s) of {tp} from offset {first} were not processed by the end of the drain and no group had moved past them ({committed}): consumption did not catch up",
        recs.len()
    );
    let mut a = Anomaly::new(AnomalyKind::NotConverged, d);
    a.records = recs
        .iter()
        .map(|&(o, v)| RecordRef::new(tp, o, v))
        .collect();
    if let Some((_, e)) = ix.committed.get(tp) {
        a = a.event(*e);
    }
    a.finish()
}

/// Records processed more than once.
pub fn reprocessed(ix: &Index) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for ((tp, offset, v), times) in &ix.reprocessings() {
        let who: Vec<&str> = times.iter().map(|(_, n)| &**n).collect();
        let d = format!(
            "value {v} ({tp} offset {offset}) was processed {} times, by {}",
            times.len(),
            who.join(", ")
        );
        let mut a =
            Anomaly::new(AnomalyKind::Reprocessed, d).record(RecordRef::new(tp, *offset, *v));
        for (event, node) in times {
            a = a.event(*event).node(node);
        }
        out.push(a.finish());
    }
    out
}
