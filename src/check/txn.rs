//! Transactional anomalies, for consumers reading with `isolation.level = read_committed`
//! (the consumer applications say so in the history, `HistoryOp::ReadCommitted`; the
//! names follow Jepsen's Kafka analyses):
//!
//! * `aborted-read`: a read_committed reader returned a record of a transaction whose
//!   producer saw `abortTransaction()` succeed;
//! * `torn-transaction`: read_committed readers returned some records of a committed
//!   transaction but not others, although they read past those others — within one
//!   partition, or across the transaction's partitions (a reader that never got as far as a
//!   partition is not torn there, only behind).
//!
//! `lost-write` of a committed transaction is the ordinary `lost-write` (its records were
//! acknowledged); records of transactions that did not commit are kept out of `lost-write`,
//! `unseen`, `poll-skip` and `lost-processing` (`Index::txn_hidden`): a read_committed
//! reader must not return them, and nobody promised they would stay.

use std::collections::{BTreeMap, BTreeSet};

use super::anomaly::{Anomaly, AnomalyKind, RecordRef};
use super::history::History;
use super::index::{Index, Outcome};
use crate::kafka::{Offset, TopicPartition};
use crate::workload::history::HistoryOp;

/// Values of transactions not known to have committed: aborted ones, ones that ended with
/// an error, and ones still open when their producer's history stops (it crashed, or the
/// run ended) — `beginTransaction()` … `TxnEnd` frames each transaction's sends.
pub fn uncommitted_values(history: &History) -> BTreeSet<u64> {
    let mut open: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut hidden = BTreeSet::new();
    for e in &history.entries {
        match &e.op {
            HistoryOp::TxnBegin => {
                if let Some(left) = open.insert(&e.node, Vec::new()) {
                    hidden.extend(left); // a new incarnation: the old one never ended
                }
            }
            HistoryOp::SendInvoke { value, .. } => {
                if let Some(vals) = open.get_mut(&*e.node) {
                    vals.push(*value);
                }
            }
            HistoryOp::TxnEnd {
                committed,
                error,
                values,
            } => {
                open.remove(&*e.node);
                if !(*committed && error.is_ok()) {
                    hidden.extend(values.iter().copied());
                }
            }
            _ => {}
        }
    }
    hidden.extend(open.into_values().flatten());
    hidden
}

/// Values a read_committed reader returned: value → (first event, reader).
fn committed_reads<'a>(history: &'a History, ix: &Index) -> BTreeMap<u64, (u64, &'a str)> {
    let mut out = BTreeMap::new();
    for e in &history.entries {
        let HistoryOp::Poll { records, .. } = &e.op else {
            continue;
        };
        if !ix.read_committed.contains(&e.node) {
            continue;
        }
        for (_, _, v) in records.iter() {
            out.entry(*v).or_insert((e.event, &*e.node));
        }
    }
    out
}

/// Per partition, the highest offset a read_committed reader returned.
fn reach(history: &History, ix: &Index) -> BTreeMap<TopicPartition, Offset> {
    let mut out: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    for e in &history.entries {
        let HistoryOp::Poll { records, .. } = &e.op else {
            continue;
        };
        if !ix.read_committed.contains(&e.node) {
            continue;
        }
        for (tp, o, _) in records.iter() {
            let r = out.entry(tp.clone()).or_insert(*o);
            *r = (*r).max(*o);
        }
    }
    out
}

/// Records of definitely aborted transactions that a read_committed reader returned.
pub fn aborted_reads(history: &History, ix: &Index) -> Vec<Anomaly> {
    let reads = committed_reads(history, ix);
    let mut out = Vec::new();
    for e in &history.entries {
        let HistoryOp::TxnEnd {
            committed: false,
            error,
            values,
        } = &e.op
        else {
            continue;
        };
        if !error.is_ok() {
            continue; // unknown fate: it may have committed
        }
        for v in values.iter() {
            let Some(&(event, reader)) = reads.get(v) else {
                continue;
            };
            let (tp, offset) = acked_at(ix, *v);
            let d = format!(
                "{reader} (read_committed) returned value {v} ({tp} offset {offset}) of a transaction {} aborted",
                e.node
            );
            let a = Anomaly::new(AnomalyKind::AbortedRead, d)
                .record(RecordRef::new(&tp, offset, *v))
                .event(e.event)
                .event(event)
                .node(reader)
                .node(&e.node);
            out.push(a.finish());
        }
    }
    out
}

fn acked_at(ix: &Index, v: u64) -> (TopicPartition, Offset) {
    match ix.sends.get(&v).and_then(|s| s.outcome.as_ref()) {
        Some(Outcome::Ok { tp, offset, .. }) => (tp.clone(), *offset),
        _ => (TopicPartition::new("?", 0), Offset::UNKNOWN),
    }
}

/// Committed transactions read in part by read_committed readers.
pub fn torn_transactions(history: &History, ix: &Index) -> Vec<Anomaly> {
    if ix.read_committed.is_empty() {
        return Vec::new();
    }
    let reads = committed_reads(history, ix);
    let reach = reach(history, ix);
    let mut out = Vec::new();
    for e in &history.entries {
        let HistoryOp::TxnEnd {
            committed: true,
            error,
            values,
        } = &e.op
        else {
            continue;
        };
        if !error.is_ok() || !values.iter().any(|v| reads.contains_key(v)) {
            continue;
        }
        // The transaction's records a reader went past without returning them.
        let missed: BTreeSet<(TopicPartition, Offset, u64)> = values
            .iter()
            .filter(|v| !reads.contains_key(v))
            .map(|v| (acked_at(ix, *v), *v))
            .filter(|((tp, o), _)| reach.get(tp).is_some_and(|r| r > o))
            .map(|((tp, o), v)| (tp, o, v))
            .collect();
        if missed.is_empty() {
            continue;
        }
        let seen = values.iter().filter(|v| reads.contains_key(v)).count();
        let d = format!(
            "read_committed readers returned {seen} of the {} records of a transaction {} committed, and read past {} of the others without returning them",
            values.len(),
            e.node,
            missed.len()
        );
        let mut a = Anomaly::new(AnomalyKind::TornTransaction, d).event(e.event).node(&e.node);
        for (tp, o, v) in &missed {
            a = a.record(RecordRef::new(tp, *o, *v));
        }
        out.push(a.finish());
    }
    out
}
