//! The log cleaner's core (Kafka's `Cleaner.cleanSegments`): compaction keeps, in the closed
//! segments below the first uncleanable offset, only the latest record of each key.
//!
//! One pass: build the *offset map* — for each key, the offset of its last record — over
//! the dirty part of the log (from the cleaner's checkpoint, the first dirty offset, up to
//! the first uncleanable offset: the active segment's base, never past the high
//! watermark), then rewrite every closed segment from the log start up to that offset
//! keeping a record only if no later record has its key. A rewritten segment is *cleaned*;
//! its file is replaced whole and flushed, as Kafka swaps in a `.cleaned` file. Offsets are
//! kept: a compacted log has gaps, and a reader asking for a removed offset gets the next
//! record. Kept records that were contiguous in a batch stay one batch.
//!
//! **Status: not scheduled yet.** `cleanup.policy = compact` is still refused by the
//! scenario format; what is missing is listed in docs/replication.md (the cleaner thread
//! and `min.cleanable.dirty.ratio` / `min.compaction.lag.ms`, tombstones and
//! `delete.retention.ms`, followers appending across offset gaps, the checker's rule for
//! superseded records). This file is the tested core those will call.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::log::PartitionLog;
use crate::kafka::record::{Batch, Record, RecordBatch};
use crate::kafka::types::{Offset, Sequence};
use crate::sim::Disk;

/// What one cleaning pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanStats {
    pub segments: u32,
    pub records_removed: u64,
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
/// map built over `[first_dirty, first uncleanable)`.
pub fn clean(log: &mut PartitionLog, disk: &mut Disk, first_dirty: Offset) -> CleanStats {
    let upto = first_uncleanable_offset(log);
    let mut stats = CleanStats {
        cleaned_upto: upto.max(first_dirty),
        ..CleanStats::default()
    };
    let mut latest: BTreeMap<Arc<str>, Offset> = BTreeMap::new();
    for b in &log.batches {
        for (i, r) in b.records.iter().enumerate() {
            let o = b.base_offset + i as i64;
            if let Some(k) = r.key.as_ref().filter(|_| o >= first_dirty && o < upto) {
                latest.insert(k.clone(), o);
            }
        }
    }
    if latest.is_empty() {
        return stats;
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
    let mut rebuilt: Vec<Batch> = Vec::with_capacity(log.batches.len());
    let mut firsts = Vec::with_capacity(log.segments.len());
    for i in 0..log.segments.len() {
        firsts.push(rebuilt.len());
        let batches = log.segment_batches(i).to_vec();
        if i >= closed {
            rebuilt.extend(batches);
            continue;
        }
        let before: u64 = batches.iter().map(|b| b.len() as u64).sum();
        let kept: Vec<Batch> = batches.iter().flat_map(|b| compact(b, &latest)).collect();
        let after: u64 = kept.iter().map(|b| b.len() as u64).sum();
        stats.records_removed += before - after;
        stats.segments += 1;
        let seg = &mut log.segments[i];
        disk.truncate(&seg.file, 0);
        for b in &kept {
            seg.write(disk, b.clone());
        }
        disk.flush(&seg.file);
        seg.recount(&kept);
        seg.cleaned = true;
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
/// contiguous offsets (each keeps the original batch's epoch, producer and sequences).
fn compact(b: &Batch, latest: &BTreeMap<Arc<str>, Offset>) -> Vec<Batch> {
    let keep = |i: usize, r: &Record| {
        let o = b.base_offset + i as i64;
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
        };
        let mut rb = RecordBatch::new(vec![r("a", 1), r("b", 2), r("a", 3), r("c", 4)]);
        rb.base_sequence = Sequence(10);
        let b = stamp(Arc::new(rb), Offset(100), LeaderEpoch(2));
        let latest: BTreeMap<Arc<str>, Offset> =
            [(Arc::from("a"), Offset(102)), (Arc::from("b"), Offset(101))].into();
        let parts = compact(&b, &latest);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].base_offset, Offset(101));
        assert_eq!(parts[0].len(), 3);
        assert_eq!(parts[0].base_sequence, Sequence(11));
        let latest: BTreeMap<Arc<str>, Offset> = [(Arc::from("b"), Offset(200))].into();
        let parts = compact(&b, &latest);
        let bases: Vec<i64> = parts.iter().map(|p| p.base_offset.0).collect();
        assert_eq!(bases, [100, 102]);
    }
}
