//! What a consumer's `isolation.level` lets a fetch read (Kafka's `FetchIsolation`):
//!
//! * `read_uncommitted` (the default): everything below the **high watermark**, including
//!   records of transactions still open and of transactions that will abort;
//! * `read_committed`: only below the **last stable offset** (`txn_index.rs`), and the
//!   response lists the **aborted transactions** overlapping the returned batches, so the
//!   consumer can drop their records (`FetchResponse.abortedTransactions`). Control records
//!   are returned too, and skipped by the consumer.
//!
//! Followers always read up to the log end. The fetch path (`fetch.rs`) asks here; this file
//! keeps the transactional rules in one place.

use super::log::PartitionLog;
use crate::kafka::config::IsolationLevel;
use crate::kafka::protocol::{AbortedTransaction, FetchRequest};
use crate::kafka::record::Batch;
use crate::kafka::types::Offset;

/// Where a fetch of `log` stops: the LEO for a follower, else the HW or the LSO.
pub fn fetch_upper_bound(req: &FetchRequest, log: &PartitionLog) -> Offset {
    if req.replica_id.is_some() {
        return log.log_end_offset();
    }
    consumer_upper_bound(req.isolation_level, log)
}

/// The highest offset (exclusive) a consumer of `level` may read, and what
/// ListOffsets(latest) answers it (`UnifiedLog.fetchOffsetSnapshot`).
pub fn consumer_upper_bound(level: IsolationLevel, log: &PartitionLog) -> Offset {
    match level {
        IsolationLevel::ReadUncommitted => log.high_watermark(),
        IsolationLevel::ReadCommitted => log.last_stable_offset(),
    }
}

/// The aborted transactions a read_committed consumer needs to filter `batches` read from
/// `from` (empty for read_uncommitted and for followers).
pub fn aborted_for(
    req: &FetchRequest,
    log: &PartitionLog,
    from: Offset,
    batches: &[Batch],
) -> Vec<AbortedTransaction> {
    if req.replica_id.is_some() || req.isolation_level != IsolationLevel::ReadCommitted {
        return Vec::new();
    }
    let Some(last) = batches.last() else {
        return Vec::new();
    };
    log.txn_index().aborted_between(from, last.next_offset())
}
