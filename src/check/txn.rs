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
use crate::workload::kept::Piece;
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
    /// The values of those transactions, acknowledged or not (a batch that failed for the
    /// producer may still reach a log late: a hanging transaction).
    pub aborted_values: BTreeSet<u64>,
}

#[derive(Default)]
struct OpenTxn {
    values: Vec<u64>,
    positions: Vec<(TopicPartition, Offset)>,
}

/// Reads every transaction's fate out of the history. A `txn-end` with no `txn-begin`
/// open on its node frames its transaction by the values it carries: a real client's
/// transaction, whose records went out on other connections than its EndTxn
/// (`workload/external.rs`); their positions are their `send-ok`s on any node.
pub fn txn_fates(history: &History) -> TxnFates {
    let mut b = FatesBuilder::default();
    for piece in history.pieces() {
        b.add_piece(&piece);
    }
    // Positions of the framed transactions' values only (a second pass, bounded by them).
    let wanted: BTreeSet<u64> = b.framed.iter().flat_map(|f| f.2.iter().copied()).collect();
    let mut acked: BTreeMap<u64, (TopicPartition, Offset)> = BTreeMap::new();
    if !wanted.is_empty() {
        for e in history.ops() {
            if let HistoryOp::SendOk { value, tp, offset } = &e.op {
                if wanted.contains(value) {
                    acked.insert(*value, (tp.clone(), *offset));
                }
            }
        }
    }
    b.finish(|v| acked.get(&v).cloned())
}

/// [`txn_fates`] one entry at a time (the index reads the history in one pass).
#[derive(Default)]
pub struct FatesBuilder {
    open: BTreeMap<u32, OpenTxn>,
    f: TxnFates,
    committed: BTreeSet<u64>,
    /// Positions of committed transactions' records: a transaction ended twice (a real
    /// client's EndTxn retried after its connection closed) counts as committed.
    committed_at: BTreeSet<(TopicPartition, Offset)>,
    /// Transactions that ended without a begin on their node, framed by their values:
    /// (committed, aborted, values); their positions are looked up at the end.
    framed: Vec<(bool, bool, Vec<u64>)>,
}

impl FatesBuilder {
    fn left(&mut self, t: OpenTxn) {
        self.f.hidden_values.extend(t.values);
        self.f.uncommitted_positions.extend(t.positions);
    }

    /// The fate of one transaction that ended.
    fn ended(&mut self, t: OpenTxn, committed: bool, aborted: bool) {
        if committed {
            self.committed_at.extend(t.positions.iter().cloned());
            self.committed.extend(t.values);
        } else {
            if aborted {
                self.f.aborted_positions.extend(t.positions.iter().cloned());
                self.f.aborted_values.extend(t.values.iter().copied());
            }
            self.left(t);
        }
    }

    /// [`FatesBuilder::add`] for a run: sends matter only inside a transaction.
    pub fn add_piece(&mut self, piece: &Piece<'_>) {
        match piece {
            Piece::Invoke { .. } | Piece::SendOk { .. } if self.open.is_empty() => {}
            Piece::Processed { .. } | Piece::Poll { .. } | Piece::Event(_) => {}
            Piece::Op { at, op } => self.add_at(at.node, op),
            _ => {
                for e in super::history::expand(piece) {
                    self.add(&e);
                }
            }
        }
    }

    pub fn add(&mut self, e: &Op) {
        self.add_at(e.node, &e.op)
    }

    fn add_at(&mut self, node: u32, op: &HistoryOp) {
        match op {
            HistoryOp::TxnBegin => {
                if let Some(t) = self.open.insert(node, OpenTxn::default()) {
                    self.left(t); // a new incarnation: the old one never ended
                }
            }
            HistoryOp::SendInvoke { value, .. } if !self.open.is_empty() => {
                if let Some(t) = self.open.get_mut(&node) {
                    t.values.push(*value);
                }
            }
            HistoryOp::SendOk { value, tp, offset } if !self.open.is_empty() => {
                let open = self.open.get_mut(&node);
                if let Some(t) = open.filter(|t| t.values.contains(value)) {
                    t.positions.push((tp.clone(), *offset));
                }
            }
            HistoryOp::TxnEnd {
                committed: c,
                error,
                values,
            } => {
                let (committed, aborted) = (*c && error.is_ok(), !*c && error.is_ok());
                match self.open.remove(&node) {
                    Some(t) => self.ended(t, committed, aborted),
                    None if !values.is_empty() => {
                        self.framed.push((committed, aborted, values.to_vec()))
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    /// The fates, once every entry was added; `acked` gives a value's acknowledged
    /// position (for the transactions framed by their values).
    pub fn finish(mut self, acked: impl Fn(u64) -> Option<(TopicPartition, Offset)>) -> TxnFates {
        for (_, t) in std::mem::take(&mut self.open) {
            self.left(t);
        }
        for (committed, aborted, values) in std::mem::take(&mut self.framed) {
            let positions = values.iter().filter_map(|v| acked(*v)).collect();
            self.ended(OpenTxn { values, positions }, committed, aborted);
        }
        let committed = &self.committed;
        self.f.hidden_values.retain(|v| !committed.contains(v));
        self.f.aborted_values.retain(|v| !committed.contains(v));
        let committed_at = &self.committed_at;
        self.f
            .uncommitted_positions
            .retain(|p| !committed_at.contains(p));
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
            let aborted = ix.txn.aborted_positions.contains(&(tp.clone(), *offset))
                || ix.txn.aborted_values.contains(v);
            if !aborted {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{ErrorCode, Topic};

    fn send(h: &mut History, node: &str, v: u64, offset: i64) {
        h.push(
            node,
            HistoryOp::SendInvoke {
                value: v,
                topic: Topic::new("orders"),
                key: None,
                tombstone: Default::default(),
            },
        );
        h.push(
            node,
            HistoryOp::SendOk {
                value: v,
                tp: TopicPartition::new("orders", 0),
                offset: Offset(offset),
            },
        );
    }

    fn end(committed: bool, error: ErrorCode, values: &[u64]) -> HistoryOp {
        HistoryOp::TxnEnd {
            committed,
            error,
            values: values.into(),
        }
    }

    /// A real client's transactions: records sent from external-2, EndTxn answered on
    /// external-3. The aborted one's values are hidden and its positions aborted; the
    /// committed one's are not; an unanswered EndTxn retried with success counts as its
    /// retry says.
    #[test]
    fn a_txn_end_without_a_begin_frames_its_values() {
        let mut h = History::default();
        send(&mut h, "external-2", 1, 0);
        send(&mut h, "external-2", 2, 1);
        h.push("external-3", end(true, ErrorCode::None, &[1, 2]));
        send(&mut h, "external-2", 3, 3);
        h.push("external-3", end(false, ErrorCode::None, &[3]));
        send(&mut h, "external-2", 4, 5);
        h.push("external-3", end(true, ErrorCode::NetworkException, &[4]));
        h.push("external-4", end(true, ErrorCode::None, &[4]));
        let f = txn_fates(&h);
        assert_eq!(f.hidden_values.iter().copied().collect::<Vec<_>>(), [3]);
        let tp = TopicPartition::new("orders", 0);
        assert_eq!(
            f.aborted_positions.iter().cloned().collect::<Vec<_>>(),
            [(tp.clone(), Offset(3))]
        );
        assert_eq!(
            f.uncommitted_positions.iter().cloned().collect::<Vec<_>>(),
            [(tp, Offset(3))]
        );
    }
}
