//! The consumer's side of `isolation.level` (Kafka's `CompletedFetch` with its
//! `abortedProducerIds` and `abortedTransactions`):
//!
//! * **control batches** (COMMIT/ABORT markers) are never returned to the application, at
//!   either level — they still take offsets, so a consumer's offsets have gaps;
//! * with `read_committed` the broker returns only records below the last stable offset
//!   and lists the aborted transactions overlapping them (producer id, first offset). The
//!   consumer walks the batches in offset order: from an aborted transaction's first offset
//!   on, that producer's transactional batches are dropped, until its ABORT marker.
//!
//! A fetch whose batches are all dropped or control still moves the position past them
//! (Kafka's `nextFetchOffset`), or the consumer would fetch the same markers forever.

use std::collections::BTreeSet;

use crate::kafka::protocol::AbortedTransaction;
use crate::kafka::record::Batch;
use crate::kafka::types::ProducerId;

/// The batches of a fetch the application may see, in order.
pub fn visible_batches<'a>(
    batches: &'a [Batch],
    aborted: &[AbortedTransaction],
    read_committed: bool,
) -> Vec<&'a Batch> {
    let mut pending: Vec<AbortedTransaction> = aborted.to_vec();
    pending.sort_by_key(|a| a.first_offset);
    let mut pending = pending.into_iter().peekable();
    let mut aborted_pids: BTreeSet<ProducerId> = BTreeSet::new();
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        if read_committed {
            while let Some(a) = pending.next_if(|a| a.first_offset <= b.last_offset()) {
                aborted_pids.insert(a.producer_id);
            }
        }
        if let Some(committed) = b.marker_type() {
            if !committed {
                aborted_pids.remove(&b.producer_id);
            }
            continue;
        }
        if read_committed && b.is_transactional && aborted_pids.contains(&b.producer_id) {
            continue;
        }
        out.push(b);
    }
    out
}

impl super::Consumer {
    /// Rewinds every assigned partition to the group's committed offset (what an
    /// exactly-once application does with `seek` after `abortTransaction()`): positions
    /// are forgotten and fetched again with OffsetFetch; buffered records are dropped.
    pub fn rewind_to_committed(&mut self) {
        for p in self.partitions.values_mut() {
            p.position = None;
            p.buffered.clear();
            p.resolving = false;
            p.awaiting_validation = false; // the position moved: nothing left to validate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::record::{Record, RecordBatch};
    use crate::kafka::types::{Offset, ProducerEpoch};
    use std::sync::Arc;

    fn data(pid: i64, base: i64, txn: bool) -> Batch {
        let mut b = RecordBatch::new(vec![Record {
            key: None,
            value: base as u64,
            value_bytes: 1,
            timestamp_us: 0,
            tombstone: false,
        }]);
        b.base_offset = Offset(base);
        b.producer_id = ProducerId(pid);
        b.is_transactional = txn;
        Arc::new(b)
    }

    fn mark(pid: i64, at: i64, committed: bool) -> Batch {
        let mut b = RecordBatch::control(ProducerId(pid), ProducerEpoch(0), committed, 0);
        b.base_offset = Offset(at);
        Arc::new(b)
    }

    #[test]
    fn read_committed_drops_aborted_records_and_every_level_drops_markers() {
        // Proves: pid 1's aborted records (offsets 0 and 2) are dropped for read_committed
        // and kept for read_uncommitted; pid 2's committed record and a non-transactional
        // one stay; no marker is ever returned.
        let batches = vec![
            data(1, 0, true),
            data(2, 1, true),
            data(1, 2, true),
            mark(1, 3, false),
            mark(2, 4, true),
            data(-1, 5, false),
        ];
        let aborted = [AbortedTransaction {
            producer_id: ProducerId(1),
            first_offset: Offset(0),
        }];
        let rc: Vec<i64> = visible_batches(&batches, &aborted, true)
            .iter()
            .map(|b| b.base_offset.0)
            .collect();
        assert_eq!(rc, vec![1, 5]);
        let ru: Vec<i64> = visible_batches(&batches, &[], false)
            .iter()
            .map(|b| b.base_offset.0)
            .collect();
        assert_eq!(ru, vec![0, 1, 2, 5]);
    }
}
