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
use super::history::{History, Op};
use super::index::Index;
use crate::kafka::{Offset, TopicPartition};
use crate::workload::history::HistoryOp;
use std::sync::Arc;

/// What became of the records of transactional producers, from the history: each
/// transaction is framed by `txn-begin` … `txn-end` on its producer's node, and its records
/// are the sends in between (their positions: the `send-ok`s in between).
#[derive(Clone, Debug, Default)]
pub struct TxnFates {
    /// Values no committed transaction wrote (aborted, ended unknown, or left open when the
    /// producer's history stops: it crashed, or the run ended). A value an application
    /// wrote again in a later, committed transaction (a pipeline after an abort) is not here.
    pub hidden_values: BTreeSet<u64>,
    /// Positions written by transactions not known to have committed.
    pub uncommitted_positions: BTreeSet<(TopicPartition, Offset)>,
    /// Of those, the positions of transactions whose `abortTransaction()` succeeded.
    pub aborted_positions: BTreeSet<(TopicPartition, Offset)>,
}

#[derive(Default)]
struct OpenTxn {
    values: Vec<u64>,
    positions: Vec<(TopicPartition, Offset)>,
}

/// Reads every transaction's fate out of the history.
pub fn txn_fates(history: &History) -> TxnFates {
    let mut b = FatesBuilder::default();
    for e in history.ops() {
        b.add(&e);
    }
    b.finish()
}

/// [`txn_fates`] one entry at a time (the index reads the history in one pass).
#[derive(Default)]
pub struct FatesBuilder {
    open: BTreeMap<u32, OpenTxn>,
    f: TxnFates,
    committed: BTreeSet<u64>,
}

impl FatesBuilder {
    fn left(&mut self, t: OpenTxn) {
        self.f.hidden_values.extend(t.values);
        self.f.uncommitted_positions.extend(t.positions);
    }

    pub fn add(&mut self, e: &Op) {
        match &e.op {
            HistoryOp::TxnBegin => {
                if let Some(t) = self.open.insert(e.node, OpenTxn::default()) {
                    self.left(t); // a new incarnation: the old one never ended
                }
            }
            HistoryOp::SendInvoke { value, .. } if !self.open.is_empty() => {
                if let Some(t) = self.open.get_mut(&e.node) {
                    t.values.push(*value);
                }
            }
            HistoryOp::SendOk { value, tp, offset } if !self.open.is_empty() => {
                let open = self.open.get_mut(&e.node);
                if let Some(t) = open.filter(|t| t.values.contains(value)) {
                    t.positions.push((tp.clone(), *offset));
                }
            }
            HistoryOp::TxnEnd {
                committed: c,
                error,
                ..
            } => {
                let Some(t) = self.open.remove(&e.node) else {
                    return;
                };
                if *c && error.is_ok() {
                    self.committed.extend(t.values);
                } else {
                    if !*c && error.is_ok() {
                        self.f.aborted_positions.extend(t.positions.iter().cloned());
                    }
                    self.left(t);
                }
            }
            _ => {}
        }
    }

    pub fn finish(mut self) -> TxnFates {
        for (_, t) in std::mem::take(&mut self.open) {
            self.left(t);
        }
        let committed = &self.committed;
        self.f.hidden_values.retain(|v| !committed.contains(v));
        self.f
    }
}

/// Values a read_committed reader returned: value → (first event, reader).
fn committed_reads(history: &History, ix: &Index) -> BTreeMap<u64, (u64, Arc<str>)> {
    let mut out = BTreeMap::new();
    for e in history.entries() {
        let HistoryOp::Poll { records, .. } = &e.op else {
            continue;
        };
        if !ix.read_committed.contains(&e.node) {
            continue;
        }
        for (_, _, v) in records.iter() {
            out.entry(*v).or_insert((e.event, e.node.clone()));
        }
    }
    out
}

/// Per partition, the highest offset a read_committed reader returned.
fn reach(history: &History, ix: &Index) -> BTreeMap<TopicPartition, Offset> {
    let mut out: BTreeMap<TopicPartition, Offset> = BTreeMap::new();
    for e in history.entries() {
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
    let mut out = Vec::new();
    if ix.read_committed.is_empty() || ix.txn.aborted_positions.is_empty() {
        return out;
    }
    for e in history.entries() {
        let HistoryOp::Poll { records, .. } = &e.op else {
            continue;
        };
        if !ix.read_committed.contains(&e.node) {
            continue;
        }
        for (tp, offset, v) in records.iter() {
            if !ix.txn.aborted_positions.contains(&(tp.clone(), *offset)) {
                continue;
            }
            let d = format!(
                "{} (read_committed) returned value {v} ({tp} offset {offset}), written by a transaction that was aborted",
                e.node
            );
            let a = Anomaly::new(AnomalyKind::AbortedRead, d)
                .record(RecordRef::new(tp, *offset, *v))
                .event(e.event)
                .node(&e.node);
            out.push(a.finish());
        }
    }
    out
}

fn acked_at(ix: &Index, v: u64) -> (TopicPartition, Offset) {
    ix.acked_at(v)
        .unwrap_or_else(|| (TopicPartition::new("?", 0), Offset::UNKNOWN))
}

/// Committed transactions read in part by read_committed readers.
pub fn torn_transactions(history: &History, ix: &Index) -> Vec<Anomaly> {
    if ix.read_committed.is_empty() {
        return Vec::new();
    }
    let reads = committed_reads(history, ix);
    let reach = reach(history, ix);
    let mut out = Vec::new();
    for e in history.entries() {
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
        let mut a = Anomaly::new(AnomalyKind::TornTransaction, d)
            .event(e.event)
            .node(&e.node);
        for (tp, o, v) in &missed {
            a = a.record(RecordRef::new(tp, *o, *v));
        }
        out.push(a.finish());
    }
    out
}
