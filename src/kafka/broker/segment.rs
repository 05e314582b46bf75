//! Log segments: a partition log is a sequence of segment files, each named by the offset of
//! its first record (`orders-0/00000000000000000000.log`, as Kafka lays them out). Only the
//! last one, the **active segment**, is appended to. It is *rolled* — closed, flushed, and
//! followed by a new empty active segment — when the next batch would take it past
//! `segment.bytes`, or when its first record is older than `segment.ms` (Kafka's
//! `LogSegment.shouldRoll`; kafkasim has no roll jitter and no index files).
//!
//! Segments are the unit of deletion: retention (`retention.rs`) removes whole segments from
//! the start of the log, never part of one, and never the active segment unless the whole
//! log is below the high watermark; the cleaner (`cleaner.rs`) rewrites closed segments
//! only. A segment the cleaner has rewritten is *cleaned*; the others are *dirty*.
//!
//! In memory a log keeps its batches in one flat array (lookups binary-search it); a segment
//! only records where its batches start in that array, its size, and the timestamps
//! retention and rolling need.

use crate::kafka::record::Batch;
use crate::kafka::types::{Offset, TopicPartition};
use crate::sim::disk::FileId;
use crate::sim::Disk;

/// When a log rolls its active segment (`segment.bytes`, `segment.ms`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RollConfig {
    pub segment_bytes: u64,
    pub segment_ms: u64,
}

impl Default for RollConfig {
    /// Kafka's defaults: 1 GiB, 7 days.
    fn default() -> Self {
        RollConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3_600_000,
        }
    }
}

/// One segment of a partition log.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Offset of its first record (the file's name).
    pub base_offset: Offset,
    /// Index in the log's batch array of this segment's first batch.
    pub(super) first: usize,
    /// Bytes of its batches.
    pub bytes: u64,
    /// Timestamp of its first record (`segment.ms` counts from it), µs.
    pub first_timestamp_us: Option<u64>,
    /// Largest record timestamp in it (`retention.ms` compares against it), µs.
    pub max_timestamp_us: Option<u64>,
    /// Rewritten by the log cleaner (compaction) at least once.
    pub cleaned: bool,
    /// When the cleaner first rewrote it, µs: its tombstones go `delete.retention.ms` later.
    pub cleaned_at_us: Option<u64>,
    pub(super) file: String,
    /// Taken when the file is first written (a fresh log creates no file until its first
    /// append, as before segments existed).
    pub(super) file_id: Option<FileId>,
}

impl Segment {
    /// A new, empty segment starting at `base`.
    pub fn new(tp: &TopicPartition, base: Offset) -> Self {
        Segment {
            base_offset: base,
            first: 0,
            bytes: 0,
            first_timestamp_us: None,
            max_timestamp_us: None,
            cleaned: false,
            cleaned_at_us: None,
            file: file_name(tp, base),
            file_id: None,
        }
    }

    /// Accounts for `b`, appended at its end.
    pub(super) fn add(&mut self, b: &Batch) {
        self.bytes += b.size_bytes() as u64;
        let max = b.records.iter().map(|r| r.timestamp_us).max();
        if self.first_timestamp_us.is_none() {
            self.first_timestamp_us = b.records.first().map(|r| r.timestamp_us);
        }
        self.max_timestamp_us = self.max_timestamp_us.max(max);
    }

    /// Recomputes size and timestamps from `batches` (after a truncation or a cleaning).
    pub(super) fn recount(&mut self, batches: &[Batch]) {
        self.bytes = 0;
        self.first_timestamp_us = None;
        self.max_timestamp_us = None;
        for b in batches {
            self.add(b);
        }
    }

    /// Appends `b` to this segment's file.
    pub(super) fn write(&mut self, disk: &mut Disk, b: Batch) {
        let id = *self.file_id.get_or_insert_with(|| disk.file_id(&self.file));
        disk.append_to(id, b);
    }

    /// Creates the (empty) file now: a rolled segment exists on disk even before its
    /// first append, so a restart finds where the log continues.
    pub(super) fn create(&mut self, disk: &mut Disk) {
        self.file_id = Some(disk.file_id(&self.file));
    }
}

/// `orders-0/00000000000000000042.log`.
pub fn file_name(tp: &TopicPartition, base: Offset) -> String {
    format!("{tp}/{:020}.log", base.0)
}

/// The partition and base offset of a segment file name, if `name` is one.
pub fn parse_file_name(name: &str) -> Option<(TopicPartition, Offset)> {
    let (dir, file) = name.split_once('/')?;
    let base = file.strip_suffix(".log")?.parse::<i64>().ok()?;
    Some((TopicPartition::parse(dir)?, Offset(base)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_round_trip_and_sort_by_offset() {
        // Proves segment files sort by base offset and parse back to their partition.
        let tp = TopicPartition::new("orders", 3);
        let (a, b) = (file_name(&tp, Offset(9)), file_name(&tp, Offset(10)));
        assert_eq!(a, "orders-3/00000000000000000009.log");
        assert!(a < b);
        assert_eq!(parse_file_name(&b), Some((tp, Offset(10))));
        assert_eq!(parse_file_name("orders-3.leader-epoch-checkpoint"), None);
    }
}
