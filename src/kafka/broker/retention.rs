//! Retention (Kafka's `LogManager.cleanupLogs` → `UnifiedLog.deleteOldSegments`): every
//! `log.retention.check.interval.ms` each broker visits the partitions *it* hosts — leader
//! or follower, each replica decides for itself — and deletes whole segments from the start
//! of each log whose topic has `cleanup.policy` `delete` (or `compact,delete`):
//!
//! * **by time**: a segment whose largest record timestamp is more than `retention.ms` old;
//! * **by size**: the oldest segments while the log is larger than `retention.bytes`, as
//!   long as it stays at least that large without them;
//! * **below the log start offset** (any policy): a segment that ends at or below it (a
//!   follower's log start follows its leader's).
//!
//! Deletion stops at the first segment that may not go, and never removes a segment that
//! reaches past the high watermark (so the log start offset never passes it). Deleting the
//! active segment first rolls a new, empty one. The log start offset then moves to the first
//! remaining segment's base offset: a consumer whose position is below it gets
//! OFFSET_OUT_OF_RANGE at its next fetch, and `auto.offset.reset` decides where it goes.
//!
//! The timer visits only this broker's partitions, once per interval: its cost grows with
//! the partitions hosted, not with the events of the run.

use super::log::PartitionLog;
use super::{Broker, BrokerCx};
use crate::kafka::config::{CleanupPolicy, EffectiveTopicConfig};
use crate::kafka::event::{DeletionReason, KafkaEvent};
use crate::sim::Time;

impl Broker {
    /// The retention check: deletes what each hosted log's retention no longer keeps, by
    /// each rule in Kafka's order (log start offset, size, time).
    pub(super) fn on_retention_check(&mut self, cx: &mut BrokerCx<'_>) {
        let now = cx.now();
        for (tp, p) in self.partitions.iter_mut() {
            for reason in DeletionReason::ORDER {
                let n = deletable_segments(&p.log, &p.config, now, reason);
                if n == 0 {
                    continue;
                }
                // A new log start offset is news for the fetch sessions holding `tp`.
                self.fetch_sessions.touch(tp);
                let records = p.log.delete_oldest_segments(cx.disk(), n, now);
                // Always emitted (a counter of `check` and `explore`), rare by nature.
                cx.emit(KafkaEvent::SegmentsDeleted {
                    tp: tp.clone(),
                    segments: n as u32,
                    records,
                    log_start_offset: p.log.log_start_offset(),
                    reason,
                });
            }
        }
    }
}

/// How many segments from the start of `log` the rule `reason` deletes now (0 when the
/// topic's `cleanup.policy` does not delete, for the size and time rules).
pub fn deletable_segments(
    log: &PartitionLog,
    config: &EffectiveTopicConfig,
    now: Time,
    reason: DeletionReason,
) -> usize {
    let delete = config.cleanup_policy != CleanupPolicy::Compact;
    let segs = log.segments();
    // Kafka's `shouldDelete` bound: the segment's end (the next base, or the LEO) is at or
    // below the HW; an empty active segment is never deleted.
    let allowed = |i: usize| {
        let end = segs
            .get(i + 1)
            .map_or(log.log_end_offset(), |s| s.base_offset);
        let empty_last = i + 1 == segs.len() && segs[i].bytes == 0;
        end <= log.high_watermark() && !empty_last
    };
    let mut n = 0;
    match reason {
        DeletionReason::LogStartOffset => {
            let start = log.log_start_offset();
            while n < segs.len()
                && allowed(n)
                && segs
                    .get(n + 1)
                    .is_some_and(|next| next.base_offset <= start)
            {
                n += 1;
            }
        }
        DeletionReason::RetentionBytes if delete && config.retention_bytes >= 0 => {
            let mut excess = log.size_bytes() as i64 - config.retention_bytes;
            while n < segs.len() && allowed(n) && excess - segs[n].bytes as i64 >= 0 {
                excess -= segs[n].bytes as i64;
                n += 1;
            }
        }
        DeletionReason::RetentionMs if delete && config.retention_ms >= 0 => {
            let horizon = now.as_us() as i64 - config.retention_ms.saturating_mul(1_000);
            while n < segs.len()
                && allowed(n)
                && segs[n]
                    .max_timestamp_us
                    .is_some_and(|t| (t as i64) < horizon)
            {
                n += 1;
            }
        }
        _ => {}
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::broker::log::stamp;
    use crate::kafka::broker::segment::RollConfig;
    use crate::kafka::config::{BrokerConfig, TopicConfig};
    use crate::kafka::record::{Record, RecordBatch};
    use crate::kafka::types::{LeaderEpoch, Offset, TopicPartition};
    use crate::sim::Disk;
    use std::sync::Arc;

    fn tp() -> TopicPartition {
        TopicPartition::new("clicks", 0)
    }

    /// A log of `n` one-record batches (171 bytes each), one per second, in segments of
    /// `per_segment` batches; HW at the LEO.
    fn log(disk: &mut Disk, n: u64, per_segment: u64) -> PartitionLog {
        let mut log = PartitionLog::open(tp(), disk, None);
        log.roll = RollConfig {
            segment_bytes: 171 * per_segment,
            segment_ms: u64::MAX / 2_000,
        };
        for i in 0..n {
            let r = Record {
                key: None,
                value: i + 1,
                value_bytes: 100,
                timestamp_us: i * 1_000_000,
                tombstone: false,
            };
            let b = stamp(
                Arc::new(RecordBatch::new(vec![r])),
                log.log_end_offset(),
                LeaderEpoch(i as i32 / 4),
            );
            log.append(disk, b, Time(i * 1_000_000));
        }
        log.set_high_watermark(log.log_end_offset());
        log
    }

    fn config(pairs: &[(&str, i64)]) -> EffectiveTopicConfig {
        let mut t = TopicConfig::default();
        for (k, v) in pairs {
            t = t.with(k, *v);
        }
        EffectiveTopicConfig::resolve(&t, &BrokerConfig::default())
    }

    #[test]
    fn segments_roll_at_segment_bytes_and_recover_from_their_files() {
        // Proves a log rolls when the next batch would pass segment.bytes, names its files
        // by base offset, and a restart rebuilds the same segments and offsets.
        let mut disk = Disk::new();
        let log = log(&mut disk, 10, 3);
        let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset.0).collect();
        assert_eq!(bases, [0, 3, 6, 9]);
        assert_eq!(log.segment_batches(1).len(), 3);
        assert!(disk
            .file_names()
            .any(|n| n == "clicks-0/00000000000000000006.log"));
        let again = PartitionLog::open(tp(), &disk, Some(Offset(10)));
        let rebases: Vec<i64> = again.segments().iter().map(|s| s.base_offset.0).collect();
        assert_eq!(rebases, bases);
        assert_eq!(again.log_end_offset(), Offset(10));
    }

    #[test]
    fn segment_ms_rolls_an_old_active_segment() {
        // Proves segment.ms: the active segment rolls once its first record is older.
        let mut disk = Disk::new();
        let mut log = log(&mut disk, 1, 100);
        log.roll.segment_ms = 2_000;
        for (i, t) in [(1u64, 1), (2, 2), (3, 3)] {
            let r = Record {
                key: None,
                value: 10 + i,
                value_bytes: 100,
                timestamp_us: t * 1_000_000,
                tombstone: false,
            };
            let b = stamp(
                Arc::new(RecordBatch::new(vec![r])),
                log.log_end_offset(),
                LeaderEpoch(0),
            );
            log.append(&mut disk, b, Time(t * 1_000_000));
        }
        // 0 s, 1 s, 2 s stay (waited 2 s is not more than 2 s); 3 s rolls.
        let bases: Vec<i64> = log.segments().iter().map(|s| s.base_offset.0).collect();
        assert_eq!(bases, [0, 3]);
    }

    #[test]
    fn retention_ms_deletes_whole_old_segments_and_moves_the_log_start() {
        // Proves retention.ms deletes the segments whose newest record is older, whole, and
        // the log start moves to the first kept segment; with retention.ms = -1 nothing goes.
        let mut disk = Disk::new();
        let mut log = log(&mut disk, 10, 3); // segments [0..3) [3..6) [6..9) [9]
        let c = config(&[("retention.ms", 4_500)]);
        // At 10 s the horizon is 5.5 s: [0..3) (newest 2 s) and [3..6) (5 s) go.
        let n = deletable_segments(&log, &c, Time(10_000_000), DeletionReason::RetentionMs);
        assert_eq!(n, 2);
        assert_eq!(
            log.delete_oldest_segments(&mut disk, n, Time(10_000_000)),
            6
        );
        assert_eq!(log.log_start_offset(), Offset(6));
        assert_eq!(
            log.read(Offset(6), u32::MAX, Offset(10))[0].base_offset,
            Offset(6)
        );
        assert!(!disk
            .file_names()
            .any(|f| f == "clicks-0/00000000000000000000.log"));
        assert_eq!(
            log.epochs()[0],
            (LeaderEpoch(1), Offset(6)),
            "epoch cache from start"
        );
        let keep = config(&[("retention.ms", -1)]);
        let n = deletable_segments(&log, &keep, Time(99_000_000), DeletionReason::RetentionMs);
        assert_eq!(n, 0);
        let reopened = PartitionLog::open(tp(), &disk, Some(Offset(10)));
        assert_eq!(reopened.log_start_offset(), Offset(6));
    }

    #[test]
    fn retention_bytes_keeps_at_least_the_limit_and_never_passes_the_hw() {
        // Proves retention.bytes deletes the oldest segments only while the log stays at
        // least that large without them, no segment reaching past the HW is deleted, and
        // deleting everything rolls an empty active segment at the LEO.
        let mut disk = Disk::new();
        let mut l = log(&mut disk, 10, 3); // 1710 bytes: 513 + 513 + 513 + 171
        let c = config(&[("retention.bytes", 700)]);
        let n = deletable_segments(&l, &c, Time::ZERO, DeletionReason::RetentionBytes);
        assert_eq!(
            n, 1,
            "1710 - 513 = 1197 >= 700, minus another 513 would be < 700"
        );
        let all = config(&[("retention.ms", 0)]);
        let late = Time(99_000_000);
        l.set_high_watermark(Offset(5));
        assert_eq!(
            deletable_segments(&l, &all, late, DeletionReason::RetentionMs),
            1
        );
        l.set_high_watermark(Offset(10));
        let n = deletable_segments(&l, &all, late, DeletionReason::RetentionMs);
        assert_eq!(n, 4, "the active segment too, once the HW reaches the LEO");
        assert_eq!(l.delete_oldest_segments(&mut disk, n, late), 10);
        assert_eq!(l.log_start_offset(), Offset(10));
        assert_eq!(l.log_end_offset(), Offset(10));
        assert_eq!(l.segments().len(), 1);
        let reopened = PartitionLog::open(tp(), &disk, None);
        assert_eq!(
            (reopened.log_start_offset(), reopened.log_end_offset()),
            (Offset(10), Offset(10)),
            "the empty rolled segment's file says where the log continues"
        );
    }

    #[test]
    fn truncation_across_segments_and_truncate_fully() {
        // Proves truncate_to deletes the segments past the new end and cuts the one holding
        // it, and truncate_fully_and_start_at empties the log at a new start.
        let mut disk = Disk::new();
        let mut l = log(&mut disk, 10, 3);
        assert_eq!(l.truncate_to(&mut disk, Offset(4)), 6);
        let bases: Vec<i64> = l.segments().iter().map(|s| s.base_offset.0).collect();
        assert_eq!(bases, [0, 3]);
        assert_eq!(l.segments()[1].bytes, 171);
        assert_eq!(
            PartitionLog::open(tp(), &disk, None).log_end_offset(),
            Offset(4)
        );
        assert_eq!(l.truncate_fully_and_start_at(&mut disk, Offset(50)), 4);
        assert_eq!(
            (l.log_start_offset(), l.high_watermark(), l.log_end_offset()),
            (Offset(50), Offset(50), Offset(50))
        );
        let reopened = PartitionLog::open(tp(), &disk, None);
        assert_eq!(reopened.log_start_offset(), Offset(50));
    }

    #[test]
    fn a_log_start_inside_a_segment_deletes_the_segments_below_it() {
        // Proves a follower's log start (its leader's) may fall inside a segment: reads
        // below it are refused by the range check, the epoch cache starts there, and the
        // next check deletes only the segments that end at or below it.
        let mut disk = Disk::new();
        let mut l = log(&mut disk, 10, 3); // [0..3) [3..6) [6..9) [9]
        assert!(l.increment_log_start_offset(&mut disk, Offset(7)));
        assert!(
            !l.increment_log_start_offset(&mut disk, Offset(5)),
            "never back"
        );
        assert_eq!(l.epochs()[0], (LeaderEpoch(1), Offset(7)));
        let c = config(&[("retention.ms", -1)]);
        let n = deletable_segments(&l, &c, Time::ZERO, DeletionReason::LogStartOffset);
        assert_eq!(n, 2);
        l.delete_oldest_segments(&mut disk, n, Time::ZERO);
        assert_eq!(l.log_start_offset(), Offset(7), "stays inside [6..9)");
        assert_eq!(l.segments()[0].base_offset, Offset(6));
    }
}
