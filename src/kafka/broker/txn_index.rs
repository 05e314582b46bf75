//! A partition's transaction bookkeeping: the transactional half of Kafka's
//! `ProducerStateManager` plus the segment's transaction index (`TransactionIndex`).
//!
//! A transactional producer's first batch in a partition *opens* its transaction there, at
//! that batch's base offset. The transaction stays open until the coordinator's
//! WriteTxnMarkers makes the leader append a **control batch** (one COMMIT or ABORT control
//! record, which takes an offset like any record). Two offsets follow from that:
//!
//! * the **last stable offset (LSO)** = the first offset of the earliest transaction still
//!   open, or the high watermark if none is (`UnifiedLog.lastStableOffset`; never above the
//!   HW). A `read_committed` consumer reads only below it, so one hanging transaction holds
//!   back every read_committed reader of the partition, including records of other
//!   producers written after it;
//! * the **aborted-transactions index**: per aborted transaction (producer id, first offset,
//!   offset of its ABORT marker). A read_committed Fetch returns the entries overlapping the
//!   range it returns and the consumer drops those producers' records from those offsets on
//!   until the marker.
//!
//! Everything here is derived from the batches of the log, so recovery, truncation and a
//! follower copying the leader's batches rebuild the same state by replaying them (Kafka
//! rebuilds from the producer-state snapshot plus the log after it; kafkasim replays the
//! whole log: the same result, cheaper to simulate than to model snapshot files).

use std::collections::BTreeMap;

use crate::kafka::protocol::AbortedTransaction;
use crate::kafka::record::RecordBatch;
use crate::kafka::types::{Offset, ProducerId};

/// Whether a control batch is a COMMIT (true) or ABORT (false) marker; `None` for data.
pub fn marker_type(b: &RecordBatch) -> Option<bool> {
    b.marker_type()
}

/// One aborted transaction of this partition (Kafka's `AbortedTxn`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: ProducerId,
    pub first_offset: Offset,
    /// Offset of the ABORT marker that closed it.
    pub last_offset: Offset,
}

/// Open transactions and the aborted-transactions index of one partition log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxnIndex {
    /// Producer id → first offset of its open transaction in this partition.
    open: BTreeMap<ProducerId, Offset>,
    /// Aborted transactions, in marker order (so sorted by `last_offset`).
    aborted: Vec<AbortedTxn>,
}

impl TxnIndex {
    /// Updates the index for a batch just appended (leader or follower alike).
    pub fn on_append(&mut self, b: &RecordBatch) {
        if !b.is_transactional || b.producer_id == ProducerId::NONE {
            return;
        }
        match marker_type(b) {
            None => {
                self.open.entry(b.producer_id).or_insert(b.base_offset);
            }
            Some(committed) => {
                // A marker without data in this partition closes nothing (Kafka emits no
                // CompletedTxn for an empty transaction).
                let Some(first) = self.open.remove(&b.producer_id) else {
                    return;
                };
                if !committed {
                    self.aborted.push(AbortedTxn {
                        producer_id: b.producer_id,
                        first_offset: first,
                        last_offset: b.base_offset,
                    });
                }
            }
        }
    }

    /// Rebuilds from the batches of a log (recovery, truncation).
    pub fn rebuild<'a>(batches: impl IntoIterator<Item = &'a RecordBatch>) -> TxnIndex {
        let mut idx = TxnIndex::default();
        for b in batches {
            idx.on_append(b);
        }
        idx
    }

    /// The first offset of the earliest open transaction (`firstUnstableOffset`).
    pub fn first_unstable_offset(&self) -> Option<Offset> {
        self.open.values().min().copied()
    }

    /// The last stable offset of a log whose high watermark is `hw`.
    pub fn last_stable_offset(&self, hw: Offset) -> Offset {
        self.first_unstable_offset().map_or(hw, |f| f.min(hw))
    }

    /// Open transactions: (producer id, first offset).
    pub fn open(&self) -> impl Iterator<Item = (ProducerId, Offset)> + '_ {
        self.open.iter().map(|(p, o)| (*p, *o))
    }

    /// Every aborted transaction, in marker order.
    pub fn aborted(&self) -> &[AbortedTxn] {
        &self.aborted
    }

    /// Whether `b` is a data batch of a transaction that was aborted.
    pub fn is_aborted(&self, b: &RecordBatch) -> bool {
        if !b.is_transactional || b.is_control {
            return false;
        }
        let o = b.base_offset;
        let start = self.aborted.partition_point(|a| a.last_offset < o);
        self.aborted[start..]
            .iter()
            .any(|a| a.producer_id == b.producer_id && a.first_offset <= o)
    }

    /// Kafka's `collectAbortedTransactions(fetchOffset, upperBoundOffset)`: the aborted
    /// transactions whose range overlaps `[from, to)`.
    pub fn aborted_between(&self, from: Offset, to: Offset) -> Vec<AbortedTransaction> {
        let start = self.aborted.partition_point(|a| a.last_offset < from);
        self.aborted[start..]
            .iter()
            .filter(|a| a.first_offset < to)
            .map(|a| AbortedTransaction {
                producer_id: a.producer_id,
                first_offset: a.first_offset,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::record::Record;
    use crate::kafka::types::ProducerEpoch;

    fn data(pid: i64, base: i64, n: usize) -> RecordBatch {
        let recs: Vec<Record> = (0..n)
            .map(|i| Record {
                key: None,
                value: (base as u64) * 100 + i as u64,
                value_bytes: 1,
                timestamp_us: 0,
                tombstone: false,
            })
            .collect();
        let mut b = RecordBatch::new(recs);
        b.base_offset = Offset(base);
        b.producer_id = ProducerId(pid);
        b.producer_epoch = ProducerEpoch(0);
        b.is_transactional = true;
        b
    }

    fn marker(pid: i64, at: i64, committed: bool) -> RecordBatch {
        let mut b = RecordBatch::control(ProducerId(pid), ProducerEpoch(0), committed, 0);
        b.base_offset = Offset(at);
        b
    }

    #[test]
    fn lso_is_the_first_open_transaction_and_aborts_are_indexed() {
        // Proves: an open transaction holds the LSO at its first offset even after another
        // producer's commit; an abort lands in the index with its range; a commit does not.
        let mut idx = TxnIndex::default();
        idx.on_append(&data(1, 0, 2)); // pid 1 opens at 0
        idx.on_append(&data(2, 2, 1)); // pid 2 opens at 2
        assert_eq!(idx.last_stable_offset(Offset(3)), Offset(0));
        idx.on_append(&marker(2, 3, true));
        assert_eq!(
            idx.last_stable_offset(Offset(4)),
            Offset(0),
            "pid 1 still open"
        );
        idx.on_append(&marker(1, 4, false));
        assert_eq!(
            idx.last_stable_offset(Offset(5)),
            Offset(5),
            "nothing open: the HW"
        );
        assert_eq!(
            idx.aborted(),
            &[AbortedTxn {
                producer_id: ProducerId(1),
                first_offset: Offset(0),
                last_offset: Offset(4)
            }]
        );
        assert_eq!(idx.aborted_between(Offset(5), Offset(9)), vec![]);
        assert_eq!(idx.aborted_between(Offset(1), Offset(2)).len(), 1);
        let rebuilt = TxnIndex::rebuild(&[
            data(1, 0, 2),
            data(2, 2, 1),
            marker(2, 3, true),
            marker(1, 4, false),
        ]);
        assert_eq!(rebuilt, idx, "replaying the log rebuilds the same index");
    }
}
