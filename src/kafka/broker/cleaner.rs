//! The log cleaner (Kafka's `LogCleaner`, `LogCleanerManager`, `Cleaner.cleanSegments`):
//! compaction keeps, in the closed segments below the first uncleanable offset, only the
//! latest record of each key.
//!
//! **Scheduling.** Every `log.cleaner.backoff.ms` (15 s) each broker looks at every log it
//! hosts — leader or follower: each replica compacts its own copy, as in Kafka — whose topic
//! has `cleanup.policy` `compact` (or `compact,delete`). A log is *cleanable* from its
//! *first dirty offset* (the end of the cleaned segments) up to its *first uncleanable
//! offset*: the active segment's base, never past the high watermark, and never into a
//! segment holding a record newer than `min.compaction.lag.ms` (rounded down to a segment
//! boundary: only whole segments are cleaned). It is cleaned when its *dirty ratio* —
//! dirty bytes / (cleaned bytes + dirty bytes) — is at least `min.cleanable.dirty.ratio`
//! (`LogCleanerManager.grabFilthiestCompactedLog`). Simplification: Kafka's single cleaner
//! thread cleans the filthiest log, then looks again at once; kafkasim cleans every
//! cleanable log in one pass, then waits the backoff.
//!
//! **One pass.** Build the *offset map* — for each key, the offset of its last record —
//! over the dirty part, then rewrite every closed segment from the log start up to the
//! first uncleanable offset keeping a record only if no later record has its key. A
//! rewritten segment is *cleaned*; its file is replaced whole and flushed, as Kafka swaps
//! in a `.cleaned` file. Offsets are kept: a compacted log has gaps, and a reader asking for
//! a removed offset gets the next record (a follower appends across the gap). Kept records
//! that were contiguous in a batch stay one batch.
//!
//! **Tombstones** (records with a null value) delete their key: they supersede the key's
//! earlier records like any record, and are themselves removed once they have sat in a
//! cleaned segment for `delete.retention.ms` (KIP-534's delete horizon, set when the
//! segment is first cleaned; kafkasim keeps it per segment). A consumer that reads the log
//! from the start within that time sees the deletion.
//!
//! The cleaner checkpoint (`cleaner-offset-checkpoint`) is not kept: a restarted broker's
//! segments are all dirty again and are cleaned again (same result, more work).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::log::PartitionLog;
use super::{Broker, BrokerCx};
use crate::kafka::config::{CleanupPolicy, EffectiveTopicConfig, Ratio};
use crate::kafka::event::KafkaEvent;
use crate::kafka::record::{Batch, Record, RecordBatch};
use crate::kafka::types::{Offset, Sequence};
use crate::sim::{Disk, Time};

impl Broker {
    /// The cleaner's pass: compacts every hosted log of a compacted topic that is dirty
    /// enough, and says so (`LogCleaned`).
    pub(super) fn on_cleaner_backoff(&mut self, cx: &mut BrokerCx<'_>) {
        let now = cx.now();
        for (tp, p) in self.partitions.iter_mut() {
            if p.config.cleanup_policy == CleanupPolicy::Delete {
                continue;
            }
            let Some(range) = cleanable(&p.log, &p.config, now) else {
                continue;
            };
            if !range.dirty_enough(p.config.min_cleanable_dirty_ratio) {
                continue;
            }
            let stats = clean_at(
                &mut p.log,
                cx.disk(),
                &range,
                now,
                p.config.delete_retention_ms,
            );
            cx.emit(KafkaEvent::LogCleaned {
                tp: tp.clone(),
                segments: stats.segments,
                records_removed: stats.records_removed,
                tombstones_removed: stats.tombstones_removed,
                cleaned_upto: stats.cleaned_upto,
            });
        }
    }
}

/// The part of a log one pass may clean (`LogToClean`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Cleanable {
    /// Where the dirty part starts (the end of the cleaned segments).
    pub first_dirty: Offset,
    /// The first uncleanable offset, at a segment boundary.
    pub upto: Offset,
    pub clean_bytes: u64,
    pub dirty_bytes: u64,
}

impl Cleanable {
    /// `cleanableRatio >= min.cleanable.dirty.ratio`, in integers.
    pub fn dirty_enough(&self, min: Ratio) -> bool {
        let total = self.clean_bytes + self.dirty_bytes;
        self.dirty_bytes > 0
            && self.dirty_bytes as u128 * Ratio::ONE as u128 >= min.0 as u128 * total as u128
    }
}

/// The first dirty offset: the base of the first segment not yet cleaned (the cleaned
/// segments are always a prefix of the log).
pub fn first_dirty_offset(log: &PartitionLog) -> Offset {
    let segs = log.segments();
    let i = segs.iter().take_while(|s| s.cleaned).count();
    segs.get(i)
        .map_or(log.log_end_offset(), |s| s.base_offset)
        .max(log.log_start_offset())
}

/// What a pass at `now` may clean, or `None` when no closed dirty segment is cleanable.
pub fn cleanable(
    log: &PartitionLog,
    config: &EffectiveTopicConfig,
    now: Time,
) -> Option<Cleanable> {
    let raw = first_uncleanable_offset(log);
    let lag_horizon =
        now.as_us() as i64 - config.min_compaction_lag_ms.saturating_mul(1_000) as i64;
    let segs = log.segments();
    let first_dirty = first_dirty_offset(log);
    let (mut clean_bytes, mut dirty_bytes, mut upto) = (0, 0, first_dirty);
    for (i, s) in segs.iter().enumerate() {
        let end = segs
            .get(i + 1)
            .map_or(log.log_end_offset(), |n| n.base_offset);
        if i + 1 == segs.len() || end > raw {
            break;
        }
        if s.base_offset < first_dirty {
            clean_bytes += s.bytes;
            continue;
        }
        // `min.compaction.lag.ms`: a segment with a record newer than the lag stays dirty,
        // and so does everything after it.
        if config.min_compaction_lag_ms > 0
            && s.max_timestamp_us.is_some_and(|t| t as i64 > lag_horizon)
        {
            break;
        }
        dirty_bytes += s.bytes;
        upto = end;
    }
    (upto > first_dirty).then_some(Cleanable {
        first_dirty,
        upto,
        clean_bytes,
        dirty_bytes,
    })
}

/// What one cleaning pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments: u32,
    /// Records removed, tombstones included.
    pub records_removed: u64,
    /// Tombstones removed after `delete.retention.ms` in a cleaned segment.
    pub tombstones_removed: u64,
    /// The new first dirty offset (the cleaner's checkpoint).
    pub cleaned_upto: Offset,
}

/// The first offset the cleaner may not touch: the active segment's base, at most the HW.
pub fn first_uncleanable_offset(log: &PartitionLog) -> Offset {
    let active = log
        .segments()
        .last()
        .expect("an active segment")
        .base_offset;
    active.min(log.high_watermark())
}

/// Compacts `log` from its log start up to the first uncleanable offset, with the offset
/// map built over `[first_dirty, first uncleanable)` (the core, without the lag, the ratio
/// or tombstone expiry).
pub fn clean(log: &mut PartitionLog, disk: &mut Disk, first_dirty: Offset) -> CleanStats {
    let upto = first_uncleanable_offset(log);
    let range = Cleanable {
        first_dirty,
        upto,
        clean_bytes: 0,
        dirty_bytes: 0,
    };
    clean_at(log, disk, &range, Time::ZERO, u64::MAX)
}

/// One pass over `range` at `now`: a tombstone in a segment cleaned at least
/// `delete_retention_ms` ago goes too.
pub fn clean_at(
    log: &mut PartitionLog,
    disk: &mut Disk,
    range: &Cleanable,
    now: Time,
    delete_retention_ms: u64,
) -> CleanStats {
    let (first_dirty, upto) = (range.first_dirty, range.upto);
    let mut stats = CleanStats {
        cleaned_upto: upto.max(first_dirty),
        ..CleanStats::default()
    };
    let mut latest: BTreeMap<Arc<str>, Offset> = BTreeMap::new();
    for b in &log.batches[log.segments[0].first..] {
        if b.base_offset >= upto {
            break;
        }
        for (i, r) in b.records.iter().enumerate() {
            let o = b.base_offset + i as i64;
            if let Some(k) = r.key.as_ref().filter(|_| o >= first_dirty && o < upto) {
                latest.insert(k.clone(), o);
            }
        }
    }
    let closed = (0..log.segments.len())
        .take_while(|&i| {
            let end = log
                .segments
                .get(i + 1)
                .map_or(log.log_end_offset(), |s| s.base_offset);
            i + 1 < log.segments.len() && end <= upto
        })
        .count();
    let horizon_us = delete_retention_ms.saturating_mul(1_000);
    let mut rebuilt: Vec<Batch> = Vec::with_capacity(log.batches.len());
    let mut firsts = Vec::with_capacity(log.segments.len());
    for i in 0..log.segments.len() {
        firsts.push(rebuilt.len());
        let batches = log.segment_batches(i).to_vec();
        if i >= closed {
            rebuilt.extend(batches);
            continue;
        }
        let drop_tombstones = log.segments[i]
            .cleaned_at_us
            .is_some_and(|t| now.as_us().saturating_sub(t) >= horizon_us);
        let count = |bs: &[Batch]| -> (u64, u64) {
            let n = bs.iter().map(|b| b.len() as u64).sum();
            let t = bs
                .iter()
                .flat_map(|b| b.records.iter())
                .filter(|r| r.tombstone)
                .count();
            (n, t as u64)
        };
        let (before, tomb_before) = count(&batches);
        let kept: Vec<Batch> = batches
            .iter()
            .flat_map(|b| compact(b, &latest, drop_tombstones))
            .collect();
        let (after, tomb_after) = count(&kept);
        stats.records_removed += before - after;
        if drop_tombstones {
            stats.tombstones_removed += tomb_before - tomb_after;
        }
        stats.segments += 1;
        let seg = &mut log.segments[i];
        disk.truncate(&seg.file, 0);
        for b in &kept {
            seg.write(disk, b.clone());
        }
        disk.flush(&seg.file);
        // An emptied segment keeps its largest timestamp: Kafka gives the cleaned file the
        // original's last-modified time, which `largestTimestamp` falls back to, so
        // `retention.ms` (`compact,delete`) still ages it out.
        let before = seg.max_timestamp_us;
        seg.recount(&kept);
        seg.max_timestamp_us = seg.max_timestamp_us.or(before);
        seg.cleaned = true;
        seg.cleaned_at_us.get_or_insert(now.as_us());
        rebuilt.extend(kept);
    }
    for (seg, first) in log.segments.iter_mut().zip(firsts) {
        seg.first = first;
    }
    log.ends = rebuilt.iter().map(|b| b.next_offset()).collect();
    log.batches = rebuilt;
    stats
}

/// The records of `b` that no later record of the same key supersedes, as batches of
/// contiguous offsets (each keeps the original batch's epoch, producer and sequences);
/// `drop_tombstones`: the batch's tombstones are past `delete.retention.ms` and go too.
fn compact(b: &Batch, latest: &BTreeMap<Arc<str>, Offset>, drop_tombstones: bool) -> Vec<Batch> {
    let keep = |i: usize, r: &Record| {
        let o = b.base_offset + i as i64;
        if r.tombstone && drop_tombstones {
            return false;
        }
        r.key
            .as_ref()
            .and_then(|k| latest.get(k))
            .is_none_or(|&last| o >= last)
    };
    if b.records.iter().enumerate().all(|(i, r)| keep(i, r)) {
        return vec![b.clone()];
    }
    let mut out = Vec::new();
    let mut run: Vec<Record> = Vec::new();
    let mut run_start = 0usize;
    for (i, r) in b.records.iter().enumerate() {
        if keep(i, r) {
            if run.is_empty() {
                run_start = i;
            }
            run.push(r.clone());
            continue;
        }
        if !run.is_empty() {
            out.push(piece(b, run_start, std::mem::take(&mut run)));
        }
    }
    if !run.is_empty() {
        out.push(piece(b, run_start, run));
    }
    out
}

fn piece(b: &Batch, start: usize, records: Vec<Record>) -> Batch {
    let mut p = RecordBatch::new(records);
    p.base_offset = b.base_offset + start as i64;
    p.partition_leader_epoch = b.partition_leader_epoch;
    p.producer_id = b.producer_id;
    p.producer_epoch = b.producer_epoch;
    p.base_sequence = if b.base_sequence == Sequence::NONE {
        Sequence::NONE
    } else {
        b.base_sequence.plus(start as i64)
    };
    Arc::new(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::broker::log::stamp;
    use crate::kafka::broker::segment::RollConfig;
    use crate::kafka::types::{LeaderEpoch, TopicPartition};
    use crate::sim::Time;

    /// A log of one-record batches with `keys`, three per segment, HW at the LEO.
    fn log(disk: &mut Disk, keys: &[&str]) -> PartitionLog {
        let mut log = PartitionLog::open(TopicPartition::new("table", 0), disk, None);
        log.roll = RollConfig {
            segment_bytes: 3 * 72,
            segment_ms: u64::MAX / 2_000,
        };
        for (i, k) in keys.iter().enumerate() {
            let r = Record {
                key: Some(Arc::from(*k)),
                value: i as u64 + 1,
                value_bytes: 0,
                timestamp_us: 0,
                tombstone: false,
            };
            let b = stamp(
                Arc::new(RecordBatch::new(vec![r])),
                log.log_end_offset(),
                LeaderEpoch(0),
            );
            log.append(disk, b, Time::ZERO);
        }
        log.set_high_watermark(log.log_end_offset());
        log
    }

    fn contents(log: &PartitionLog) -> Vec<(i64, String)> {
        log.batches()
            .iter()
            .flat_map(|b| {
                b.records.iter().enumerate().map(move |(i, r)| {
                    (
                        (b.base_offset + i as i64).0,
                        r.key.as_deref().unwrap().to_string(),
                    )
                })
            })
            .collect()
    }

    #[test]
    fn keeps_the_latest_record_per_key_in_closed_segments_only() {
        // Proves compaction: in the closed segments only each key's latest record stays, at
        // its original offset; the active segment is never touched; the cleaned segments'
        // files hold what the log holds (a restart reads the compacted log).
        let mut disk = Disk::new();
        let mut l = log(&mut disk, &["a", "b", "a", "c", "b", "a", "d", "a"]);
        // segments: [a b a] [c b a] [d a] (active)
        let stats = clean(&mut l, &mut disk, Offset::ZERO);
        assert_eq!(stats.segments, 2);
        assert_eq!(stats.records_removed, 3, "a@0, b@1, a@2");
        assert_eq!(stats.cleaned_upto, Offset(6));
        let expected = vec![
            (3, "c".to_string()),
            (4, "b".to_string()),
            (5, "a".to_string()),
            (6, "d".to_string()),
            (7, "a".to_string()),
        ];
        assert_eq!(
            contents(&l),
            expected,
            "a@5 stays: the map stops at the active segment"
        );
        assert!(l.segments()[0].cleaned && !l.segments()[2].cleaned);
        assert_eq!(l.segments()[0].bytes, 0);
        assert_eq!(
            l.log_start_offset(),
            Offset::ZERO,
            "cleaning never moves the log start"
        );
        assert_eq!(
            l.read(Offset(1), u32::MAX, Offset(8))[0].base_offset,
            Offset(3)
        );
        let reopened = PartitionLog::open(TopicPartition::new("table", 0), &disk, Some(Offset(8)));
        assert_eq!(contents(&reopened), expected);
    }

    #[test]
    fn a_batch_keeps_its_contiguous_survivors_together() {
        // Proves a batch is split only where records were removed, with sequences kept.
        let r = |k: &str, v: u64| Record {
            key: Some(Arc::from(k)),
            value: v,
            value_bytes: 0,
            timestamp_us: 0,
            tombstone: false,
        };
        let mut rb = RecordBatch::new(vec![r("a", 1), r("b", 2), r("a", 3), r("c", 4)]);
        rb.base_sequence = Sequence(10);
        let b = stamp(Arc::new(rb), Offset(100), LeaderEpoch(2));
        let latest: BTreeMap<Arc<str>, Offset> =
            [(Arc::from("a"), Offset(102)), (Arc::from("b"), Offset(101))].into();
        let parts = compact(&b, &latest, false);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].base_offset, Offset(101));
        assert_eq!(parts[0].len(), 3);
        assert_eq!(parts[0].base_sequence, Sequence(11));
        let latest: BTreeMap<Arc<str>, Offset> = [(Arc::from("b"), Offset(200))].into();
        let parts = compact(&b, &latest, false);
        let bases: Vec<i64> = parts.iter().map(|p| p.base_offset.0).collect();
        assert_eq!(bases, [100, 102]);
    }

    fn compacted_config(
        pairs: &[(&str, crate::kafka::config::ConfigValue)],
    ) -> EffectiveTopicConfig {
        use crate::kafka::config::{BrokerConfig, TopicConfig};
        let mut t = TopicConfig::default();
        t.set("cleanup.policy", &"compact".into()).unwrap();
        for (k, v) in pairs {
            t.set(k, v).unwrap();
        }
        EffectiveTopicConfig::resolve(&t, &BrokerConfig::default())
    }

    #[test]
    fn the_dirty_ratio_and_the_compaction_lag_decide_what_is_cleanable() {
        // Proves `min.cleanable.dirty.ratio` (dirty / cleanable bytes) and
        // `min.compaction.lag.ms` (a segment with a newer record stays dirty) on real sizes.
        let mut disk = Disk::new();
        let mut l = log(&mut disk, &["a", "b", "a", "c", "b", "a", "d", "a"]);
        let cfg = compacted_config(&[]);
        let r = cleanable(&l, &cfg, Time::ZERO).unwrap();
        assert_eq!((r.first_dirty, r.upto), (Offset(0), Offset(6)));
        assert_eq!((r.clean_bytes, r.dirty_bytes), (0, 2 * 3 * 72));
        assert!(r.dirty_enough(cfg.min_cleanable_dirty_ratio));
        clean_at(&mut l, &mut disk, &r, Time::ZERO, cfg.delete_retention_ms);
        assert_eq!(first_dirty_offset(&l), Offset(6));
        assert_eq!(
            cleanable(&l, &cfg, Time::ZERO),
            None,
            "only the active segment is dirty"
        );
        // Two more closed segments: 2 × 216 dirty bytes against 144 clean ones.
        for k in ["e", "f", "g", "h"] {
            append_one(&mut l, &mut disk, k, false);
        }
        let r = cleanable(&l, &cfg, Time::ZERO).unwrap();
        assert_eq!((r.first_dirty, r.upto), (Offset(6), Offset(9)));
        assert_eq!((r.clean_bytes, r.dirty_bytes), (72 + 144, 216));
        assert!(r.dirty_enough(Ratio::parse_text("0.5").unwrap()));
        assert!(
            !r.dirty_enough(Ratio::parse_text("0.6").unwrap()),
            "216 / 432 = 0.5"
        );
        // Records written at time 0 are younger than a 10 s lag at 5 s: nothing cleanable.
        let lagged = compacted_config(&[("min.compaction.lag.ms", 10_000.into())]);
        assert_eq!(cleanable(&l, &lagged, Time(5_000_000)), None);
        assert!(cleanable(&l, &lagged, Time(10_000_001)).is_some());
    }

    fn append_one(l: &mut PartitionLog, disk: &mut Disk, k: &str, tombstone: bool) {
        let r = Record {
            key: Some(Arc::from(k)),
            value: 100 + l.log_end_offset().0 as u64,
            value_bytes: 0,
            timestamp_us: 0,
            tombstone,
        };
        let b = stamp(
            Arc::new(RecordBatch::new(vec![r])),
            l.log_end_offset(),
            LeaderEpoch(0),
        );
        l.append(disk, b, Time::ZERO);
        l.set_high_watermark(l.log_end_offset());
    }

    #[test]
    fn a_tombstone_deletes_its_key_and_goes_after_delete_retention_ms() {
        // Proves a tombstone supersedes its key's earlier records, stays in the cleaned
        // segment for `delete.retention.ms`, and is removed by the first pass after that.
        let mut disk = Disk::new();
        let mut l = log(&mut disk, &["a", "b"]);
        append_one(&mut l, &mut disk, "a", true); // segment [a b a†]
        for k in ["c", "d", "e"] {
            append_one(&mut l, &mut disk, k, false); // [c d e] then the active one
        }
        append_one(&mut l, &mut disk, "f", false);
        let range = |l: &PartitionLog| Cleanable {
            first_dirty: first_dirty_offset(l),
            upto: first_uncleanable_offset(l),
            clean_bytes: 0,
            dirty_bytes: 0,
        };
        let day = 86_400_000;
        let r = range(&l);
        let s = clean_at(&mut l, &mut disk, &r, Time(1_000_000), day);
        assert_eq!(
            (s.records_removed, s.tombstones_removed),
            (1, 0),
            "a@0 goes, a† stays"
        );
        assert!(contents(&l).contains(&(2, "a".to_string())));
        let r = range(&l);
        let s = clean_at(
            &mut l,
            &mut disk,
            &r,
            Time(1_000_000 + day * 1_000 - 1),
            day,
        );
        assert_eq!(
            s.tombstones_removed, 0,
            "not yet delete.retention.ms in a cleaned segment"
        );
        let r = range(&l);
        let s = clean_at(&mut l, &mut disk, &r, Time(1_000_000 + day * 1_000), day);
        assert_eq!((s.records_removed, s.tombstones_removed), (1, 1));
        let keys: Vec<i64> = contents(&l).iter().map(|c| c.0).collect();
        assert_eq!(keys, [1, 3, 4, 5, 6], "key a is gone entirely");
    }
}
