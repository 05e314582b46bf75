//! A partition log: the record batches of one partition on one broker, and the offsets that
//! describe them.
//!
//! * The **log end offset (LEO)** is the offset the next appended record will get.
//! * The **high watermark (HW)** is the offset below which records are known to be on every
//!   in-sync replica; consumers only read below it. The leader computes it; a follower learns
//!   it from fetch responses. It is checkpointed to disk only every
//!   `replica.high.watermark.checkpoint.interval.ms`, so after a crash a broker restarts with
//!   a *stale* HW — the root of the KIP-101 scenarios.
//! * The **leader-epoch cache** maps each leader epoch to the first offset written in it. A
//!   new leader adds (its epoch, its LEO) as soon as it is elected (KAFKA-7415). Followers use
//!   it to find where their log diverges from the leader's (KIP-101, KIP-279).
//! * **Producer state**: per idempotent producer, the last five batches' sequence ranges, so
//!   a retried batch is recognised as a duplicate instead of being appended twice.
//!
//! * **Transactions** (`txn_index.rs`): the open transactions and the aborted-transactions
//!   index, from which the **last stable offset** (LSO ≤ HW) follows.
//!
//! * The **log start offset** is the first offset a reader may fetch. Retention deletes whole
//!   segments from the front and moves it to the first remaining segment's base offset; a
//!   follower also moves it up to its leader's (sent in every fetch response).
//!
//! Batches are stored as entries of one disk file per segment (`segment.rs`). Like Kafka,
//! nothing is fsynced per write by default: `flush.messages` / `flush.ms` force flushes when
//! set, and a rolled segment is flushed when it is closed. Truncation works at batch
//! boundaries (a batch is the unit of replication).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::segment::{self, RollConfig, Segment};
use super::txn_index::TxnIndex;
use crate::kafka::record::{Batch, RecordBatch};
use crate::kafka::types::{
    LeaderEpoch, Offset, ProducerEpoch, ProducerId, Sequence, TopicPartition,
};
use crate::sim::{Disk, Time, VecMap};

/// How many batches per producer the broker remembers (`NUM_BATCHES_TO_RETAIN`).
pub const PRODUCER_BATCHES_RETAINED: usize = 5;

/// The epoch cache as persisted in the `leader-epoch-checkpoint` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpochCheckpoint(pub Vec<(LeaderEpoch, Offset)>);

/// The `replication-offset-checkpoint` file: every partition's high watermark.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HwCheckpoint(pub BTreeMap<TopicPartition, Offset>);

/// The broker-wide high-watermark checkpoint file.
pub const HW_CHECKPOINT_FILE: &str = "replication-offset-checkpoint";

/// What the sequence check says about an incoming idempotent batch.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    Append,
    /// Already in the log at this base offset: answer with it, do not append.
    Duplicate {
        base_offset: Offset,
    },
    OutOfOrder,
    InvalidEpoch,
}

#[derive(Clone, Debug, Default)]
struct ProducerStateEntry {
    epoch: ProducerEpoch,
    /// The coordinator epoch of the last marker (`ProducerStateEntry.coordinatorEpoch`).
    coordinator_epoch: LeaderEpoch,
    /// Largest record timestamp of its last batch, µs (`lastTimestamp`: expiry counts from it).
    last_timestamp_us: u64,
    /// (first sequence, last sequence, base offset) of the most recent batches.
    batches: VecDeque<(Sequence, Sequence, Offset)>,
}

/// One partition's log on one broker.
#[derive(Clone, Debug)]
pub struct PartitionLog {
    pub tp: TopicPartition,
    epoch_file: String,
    /// The segments, oldest first; the last is the active segment. Never empty.
    pub(super) segments: Vec<Segment>,
    /// Index of the first segment that may hold unflushed writes.
    first_unflushed: usize,
    /// When the active segment rolls (the topic's `segment.bytes` / `segment.ms`).
    pub roll: RollConfig,
    pub(super) batches: Vec<Batch>,
    /// `next_offset()` of each batch, kept beside `batches` so a lookup binary-searches a
    /// flat array instead of chasing one pointer per step (a log of a million one-record
    /// batches made every fetch miss the cache twenty times).
    pub(super) ends: Vec<Offset>,
    pub(super) log_start_offset: Offset,
    leo: Offset,
    hw: Offset,
    epochs: Vec<(LeaderEpoch, Offset)>,
    producers: VecMap<ProducerId, ProducerStateEntry>,
    /// Open transactions and aborted ones (the LSO and the aborted-transactions index).
    txns: TxnIndex,
    /// Records appended since the last flush.
    unflushed_messages: u64,
    last_flush: Time,
    /// Bumped at each truncation (the invariant checker re-verifies the log then).
    pub truncations: u64,
}

impl PartitionLog {
    /// Opens the log of `tp`, rebuilding it from whatever the disk holds (recovery): its
    /// segment files in offset order. The log starts at the first segment's base offset
    /// (kafkasim keeps no `log-start-offset-checkpoint`: a follower's log start inside a
    /// segment falls back to that segment's base after a restart).
    pub fn open(tp: TopicPartition, disk: &Disk, hw_checkpoint: Option<Offset>) -> Self {
        let epoch_file = format!("{tp}.leader-epoch-checkpoint");
        let prefix = format!("{tp}/");
        let files: Vec<(String, Offset)> = disk
            .file_names_with_prefix(&prefix)
            .filter_map(|n| segment::parse_file_name(n).map(|(_, base)| (n.to_string(), base)))
            .collect();
        let mut segments = Vec::new();
        let mut batches: Vec<Batch> = Vec::new();
        for (name, base) in files {
            let mut seg = Segment::new(&tp, base);
            seg.first = batches.len();
            // Entries are the very `Arc`s appended: recovery shares them, it copies nothing.
            for b in disk
                .entries(&name)
                .iter()
                .filter_map(|e| e.clone().downcast::<RecordBatch>().ok())
            {
                if batches
                    .last()
                    .is_some_and(|l| b.base_offset < l.next_offset())
                {
                    break; // overlaps what precedes it: not a valid continuation
                }
                seg.add(&b);
                batches.push(b);
            }
            segments.push(seg);
        }
        if segments.is_empty() {
            segments.push(Segment::new(&tp, Offset::ZERO));
        }
        let log_start_offset = segments[0].base_offset;
        let leo = batches
            .last()
            .map_or(segments.last().expect("one").base_offset, |b| {
                b.next_offset()
            })
            .max(log_start_offset);
        let ends = batches.iter().map(|b| b.next_offset()).collect();
        let mut log = PartitionLog {
            tp,
            epoch_file,
            first_unflushed: 0,
            roll: RollConfig::default(),
            segments,
            batches,
            ends,
            log_start_offset,
            leo,
            hw: Offset::ZERO,
            epochs: Vec::new(),
            producers: VecMap::new(),
            txns: TxnIndex::default(),
            unflushed_messages: 0,
            last_flush: Time::ZERO,
            truncations: 0,
        };
        log.hw = hw_checkpoint
            .unwrap_or(Offset::ZERO)
            .clamp(log.log_start_offset, leo);
        log.recover_epochs(disk);
        log.rebuild_producer_state();
        log
    }

    /// The name of the first segment file of a fresh log of `tp`.
    pub fn file_name(tp: &TopicPartition) -> String {
        segment::file_name(tp, Offset::ZERO)
    }

    /// The checkpointed epochs that are still consistent with the recovered batches, then
    /// the epochs of batches written after the last checkpointed entry.
    fn recover_epochs(&mut self, disk: &Disk) {
        let saved = disk
            .last::<EpochCheckpoint>(&self.epoch_file)
            .map(|c| c.0.clone())
            .unwrap_or_default();
        // Like Kafka's `truncateFromEnd(LEO)`: an epoch starting at or past the recovered LEO
        // describes records that are gone (a leader re-adds its entry when re-elected).
        self.epochs = saved.into_iter().filter(|&(_, s)| s < self.leo).collect();
        for b in &self.batches {
            let latest = self.epochs.last().map_or(LeaderEpoch::NONE, |e| e.0);
            if b.partition_leader_epoch > latest {
                self.epochs.push((b.partition_leader_epoch, b.base_offset));
            }
        }
    }

    fn rebuild_producer_state(&mut self) {
        self.producers.clear();
        for i in 0..self.batches.len() {
            let b = self.batches[i].clone();
            self.update_producer_state(&b);
        }
        self.txns = TxnIndex::rebuild(self.batches.iter().map(|b| &**b));
    }

    /// The last stable offset: the first offset of the earliest open transaction, or the
    /// high watermark (`UnifiedLog.lastStableOffset`).
    pub fn last_stable_offset(&self) -> Offset {
        self.txns.last_stable_offset(self.hw)
    }

    /// The transaction bookkeeping (open transactions, aborted ones).
    pub fn txn_index(&self) -> &TxnIndex {
        &self.txns
    }

    /// `ProducerAppendInfo.appendEndTxnMarker`'s coordinator check: a marker from a
    /// coordinator epoch older than the last marker's for this producer comes from a
    /// coordinator that lost its `__transaction_state` partition since
    /// (TRANSACTION_COORDINATOR_FENCED).
    pub fn marker_is_fenced(
        &self,
        producer_id: ProducerId,
        coordinator_epoch: LeaderEpoch,
    ) -> bool {
        self.producers
            .get(&producer_id)
            .is_some_and(|e| coordinator_epoch < e.coordinator_epoch)
    }

    /// Whether `producer_id` has a transaction open here at `epoch`
    /// (`ProducerStateManager` / `UnifiedLog.hasOngoingTransaction`): its next batches need
    /// no verification by the transaction coordinator.
    pub fn has_ongoing_transaction(&self, producer_id: ProducerId, epoch: ProducerEpoch) -> bool {
        self.txns.open().any(|(p, _)| p == producer_id)
            && self
                .producers
                .get(&producer_id)
                .is_some_and(|e| e.epoch == epoch)
    }

    // ---- reading

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }
    pub fn log_end_offset(&self) -> Offset {
        self.leo
    }
    pub fn high_watermark(&self) -> Offset {
        self.hw
    }
    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }
    /// The leader-epoch cache: (epoch, start offset), ascending.
    pub fn epochs(&self) -> &[(LeaderEpoch, Offset)] {
        &self.epochs
    }
    pub fn latest_epoch(&self) -> LeaderEpoch {
        self.epochs.last().map_or(LeaderEpoch::NONE, |e| e.0)
    }
    /// First offset of `epoch` in this log (for the ISR expansion rule).
    pub fn epoch_start_offset(&self, epoch: LeaderEpoch) -> Option<Offset> {
        self.epochs.iter().find(|e| e.0 == epoch).map(|e| e.1)
    }

    /// Index of the batch holding `offset` (or of the first batch after it).
    fn index_of(&self, offset: Offset) -> usize {
        // Readers (followers, consumers) mostly ask for the tail: look there first.
        let n = self.ends.len();
        if n == 0 || self.ends[n - 1] <= offset {
            return n;
        }
        if n == 1 || self.ends[n - 2] <= offset {
            return n - 1;
        }
        self.ends[..n - 1].partition_point(|&end| end <= offset)
    }

    /// The batch holding `offset`, if any.
    pub fn batch_at(&self, offset: Offset) -> Option<&Batch> {
        self.batches
            .get(self.index_of(offset))
            .filter(|b| b.base_offset <= offset)
    }

    /// Batches from `offset` up to (not including) `upto`, at most `max_bytes` (but always
    /// the first batch, so a large batch cannot block a reader forever). `upto` is the HW
    /// for consumers and the LEO for followers.
    pub fn read(&self, offset: Offset, max_bytes: u32, upto: Offset) -> Vec<Batch> {
        self.read_limited(offset, max_bytes, upto, true)
    }

    /// [`read`](Self::read), where `min_one = false` makes `max_bytes` a hard limit (KIP-74:
    /// only the first partition of a fetch response that has data may exceed the limits).
    pub fn read_limited(
        &self,
        offset: Offset,
        max_bytes: u32,
        upto: Offset,
        min_one: bool,
    ) -> Vec<Batch> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for b in &self.batches[self.index_of(offset)..] {
            if b.next_offset() > upto {
                break;
            }
            let size = b.size_bytes();
            if (!out.is_empty() || !min_one) && bytes + size > max_bytes as usize {
                break;
            }
            bytes += size;
            out.push(b.clone());
        }
        out
    }

    /// The bytes [`read`](Self::read) would return with the same arguments, without
    /// building the list.
    pub fn read_bytes(&self, offset: Offset, max_bytes: u32, upto: Offset, min_one: bool) -> usize {
        let mut bytes = 0usize;
        let mut any = !min_one;
        for b in &self.batches[self.index_of(offset)..] {
            if b.next_offset() > upto {
                break;
            }
            let size = b.size_bytes();
            if any && bytes + size > max_bytes as usize {
                break;
            }
            bytes += size;
            any = true;
        }
        bytes
    }

    /// Bytes available from `offset` below `upto` (for `fetch.min.bytes`), capped at `cap`.
    pub fn bytes_available(&self, offset: Offset, upto: Offset, cap: usize) -> usize {
        let mut bytes = 0;
        for b in &self.batches[self.index_of(offset)..] {
            if b.next_offset() > upto || bytes >= cap {
                break;
            }
            bytes += b.size_bytes();
        }
        bytes
    }

    /// KIP-279: the largest epoch ≤ `requested` this log knows, and where it ends (the start
    /// of the next epoch, or the LEO for the latest). `(NONE, -1)` when nothing is known.
    pub fn end_offset_for_epoch(&self, requested: LeaderEpoch) -> (LeaderEpoch, Offset) {
        if requested == LeaderEpoch::NONE || self.epochs.is_empty() {
            return (LeaderEpoch::NONE, Offset::UNKNOWN);
        }
        if requested == self.latest_epoch() {
            return (requested, self.leo);
        }
        let higher = self.epochs.partition_point(|e| e.0 <= requested);
        let Some(&(_, next_start)) = self.epochs.get(higher) else {
            return (LeaderEpoch::NONE, Offset::UNKNOWN);
        };
        match higher.checked_sub(1) {
            Some(floor) => (self.epochs[floor].0, next_start),
            None => (requested, next_start),
        }
    }

    // ---- idempotence

    /// Checks an incoming batch's producer id, epoch and sequence against the cache.
    pub fn check_sequence(&self, b: &RecordBatch) -> SequenceCheck {
        if b.is_control {
            // A transaction marker carries no sequence; only its epoch is checked
            // (`ProducerAppendInfo.appendEndTxnMarker` → `checkProducerEpoch`).
            let current = self.producers.get(&b.producer_id).map(|e| e.epoch);
            return match current {
                Some(e) if b.producer_epoch < e => SequenceCheck::InvalidEpoch,
                _ => SequenceCheck::Append,
            };
        }
        if b.producer_id == ProducerId::NONE || b.base_sequence == Sequence::NONE {
            return SequenceCheck::Append;
        }
        let Some(entry) = self.producers.get(&b.producer_id) else {
            return SequenceCheck::Append;
        };
        if b.producer_epoch < entry.epoch {
            return SequenceCheck::InvalidEpoch;
        }
        if b.producer_epoch > entry.epoch {
            return if b.base_sequence == Sequence(0) {
                SequenceCheck::Append
            } else {
                SequenceCheck::OutOfOrder
            };
        }
        let (first, last) = (b.base_sequence, b.last_sequence());
        if let Some(&(_, _, base)) = entry
            .batches
            .iter()
            .find(|(f, l, _)| *f == first && *l == last)
        {
            return SequenceCheck::Duplicate { base_offset: base };
        }
        match entry.batches.back() {
            Some(&(_, prev_last, _)) if first != prev_last.plus(1) => SequenceCheck::OutOfOrder,
            // `ProducerAppendInfo.checkSequence`: "the epoch was bumped by a control
            // record, so we expect the sequence number to be reset".
            None if first != Sequence(0) => SequenceCheck::OutOfOrder,
            _ => SequenceCheck::Append,
        }
    }

    fn update_producer_state(&mut self, b: &Batch) {
        if b.is_control && b.producer_id != ProducerId::NONE {
            // A marker moves the producer's epoch up (a coordinator that bumped it to abort
            // fences the old session here too) and ends its transaction.
            let entry = self.producers.entry(b.producer_id).or_default();
            if b.producer_epoch > entry.epoch {
                entry.epoch = b.producer_epoch;
                entry.batches.clear();
            }
            if let Some(c) = b.coordinator_epoch() {
                entry.coordinator_epoch = entry.coordinator_epoch.max(c);
            }
            return;
        }
        if b.producer_id == ProducerId::NONE || b.base_sequence == Sequence::NONE {
            return;
        }
        let entry = self.producers.entry(b.producer_id).or_default();
        if b.producer_epoch != entry.epoch {
            entry.epoch = b.producer_epoch;
            entry.batches.clear();
        }
        let max = b.records.iter().map(|r| r.timestamp_us).max().unwrap_or(0);
        entry.last_timestamp_us = entry.last_timestamp_us.max(max);
        entry
            .batches
            .push_back((b.base_sequence, b.last_sequence(), b.base_offset));
        if entry.batches.len() > PRODUCER_BATCHES_RETAINED {
            entry.batches.pop_front();
        }
    }

    /// Kafka's `ProducerStateManager.removeExpiredProducers`: forgets every idempotent
    /// producer whose last batch is at least `expiration_ms` old. A forgotten producer's
    /// next batch is accepted whatever its sequence (`checkSequence`: "no current producer
    /// epoch ... accept writes with any sequence number"), so a retry of a batch written
    /// before the expiry is no longer recognised as a duplicate. Returns how many went.
    pub fn remove_expired_producers(&mut self, now: Time, expiration_ms: u64) -> usize {
        let before = self.producers.len();
        let horizon = expiration_ms.saturating_mul(1_000);
        self.producers
            .retain(|_, e| now.as_us().saturating_sub(e.last_timestamp_us) < horizon);
        before - self.producers.len()
    }

    // ---- writing

    /// What every replica asserts of a batch before appending it, on both sides of
    /// replication: the leader right after stamping a produced batch, a follower on each
    /// fetched one. The batch is not empty, continues this log at its LEO (a follower's may
    /// start past it, across the offset gap of a compacted leader log), its offsets
    /// are contiguous, and it was written in an epoch no later than `leader_epoch` (the epoch
    /// this replica knows for the partition's leader: a leader cannot hand out batches of
    /// an epoch it has not reached).
    pub fn assert_appendable(&self, batch: &RecordBatch, leader_epoch: LeaderEpoch) {
        assert!(
            !batch.is_empty(),
            "{}: empty batches are never stored",
            self.tp
        );
        assert!(
            batch.base_offset >= self.leo,
            "{}: a batch must continue the log at or past its LEO",
            self.tp
        );
        assert_eq!(
            batch.next_offset(),
            batch.base_offset + batch.len() as i64,
            "{}: a batch's offsets are contiguous",
            self.tp
        );
        assert!(
            batch.partition_leader_epoch <= leader_epoch,
            "{}: batch of epoch {} on a replica that knows leader epoch {}",
            self.tp,
            batch.partition_leader_epoch,
            leader_epoch
        );
    }

    /// Appends a batch whose offsets are already assigned (by this leader, or by the leader
    /// a follower copies from); callers check it with [`assert_appendable`](Self::assert_appendable)
    /// first. The active segment rolls first if the batch would take it past `segment.bytes`
    /// or its first record is older than `segment.ms`. Whether the batch is flushed is the
    /// caller's `maybe_flush`.
    pub fn append(&mut self, disk: &mut Disk, batch: Batch, now: Time) {
        assert!(
            batch.base_offset >= self.leo,
            "{}: append must continue the log (a compacted leader's gap may come first)",
            self.tp
        );
        if self.should_roll(&batch, now) {
            self.roll(disk, now);
        }
        if batch.partition_leader_epoch > self.latest_epoch() {
            self.assign_epoch(disk, batch.partition_leader_epoch, batch.base_offset);
        }
        self.leo = batch.next_offset();
        self.unflushed_messages += batch.len() as u64;
        self.update_producer_state(&batch);
        self.txns.on_append(&batch);
        let active = self.segments.last_mut().expect("an active segment");
        active.add(&batch);
        active.write(disk, batch.clone());
        self.ends.push(batch.next_offset());
        self.batches.push(batch);
    }

    /// Kafka's `LogSegment.shouldRoll`: a non-empty active segment rolls when the batch would
    /// take it past `segment.bytes`, or when its first record is more than `segment.ms` old.
    fn should_roll(&self, batch: &Batch, now: Time) -> bool {
        let active = self.segments.last().expect("an active segment");
        if active.bytes == 0 {
            return false;
        }
        let full = active.bytes + batch.size_bytes() as u64 > self.roll.segment_bytes;
        let waited = active
            .first_timestamp_us
            .is_some_and(|t| now.as_us().saturating_sub(t) > self.roll.segment_ms * 1_000);
        full || waited
    }

    /// Closes the active segment (flushed, as Kafka schedules on a roll) and starts a new
    /// one at the log end offset.
    fn roll(&mut self, disk: &mut Disk, now: Time) {
        self.flush(disk, now);
        let mut seg = Segment::new(&self.tp, self.leo);
        seg.first = self.batches.len();
        seg.create(disk);
        self.segments.push(seg);
        self.first_unflushed = self.segments.len() - 1;
    }

    /// The segments, oldest first (the last is the active one).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The batches of segment `i`.
    pub fn segment_batches(&self, i: usize) -> &[Batch] {
        let end = self
            .segments
            .get(i + 1)
            .map_or(self.batches.len(), |s| s.first);
        &self.batches[self.segments[i].first..end]
    }

    /// Bytes of all segments (what `retention.bytes` limits).
    pub fn size_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Records that `epoch` starts at `start` (a new leader does this at election with its
    /// LEO, KAFKA-7415; a follower when it copies the first batch of an epoch). The
    /// checkpoint file is rewritten and fsynced, as Kafka does for checkpoint files.
    pub fn assign_epoch(&mut self, disk: &mut Disk, epoch: LeaderEpoch, start: Offset) {
        if epoch <= self.latest_epoch() {
            return;
        }
        self.epochs.push((epoch, start));
        self.write_epoch_checkpoint(disk);
    }

    fn write_epoch_checkpoint(&self, disk: &mut Disk) {
        disk.overwrite(&self.epoch_file, EpochCheckpoint(self.epochs.clone()));
        disk.flush(&self.epoch_file);
    }

    /// Cuts the log back to `offset` (rounded down to a batch boundary). Returns the number
    /// of records removed. Segments starting past the new end are deleted; the one holding
    /// it is cut (Kafka's `UnifiedLog.truncateTo`).
    pub fn truncate_to(&mut self, disk: &mut Disk, offset: Offset) -> u64 {
        if offset >= self.leo {
            return 0;
        }
        let keep = self.index_of(offset.max(self.log_start_offset));
        let new_leo = self.batches.get(keep).map_or(self.leo, |b| b.base_offset);
        let removed = self.leo - new_leo;
        self.batches.truncate(keep);
        self.ends.truncate(keep);
        while self.segments.len() > 1 && self.segments.last().expect("one").first >= keep {
            let seg = self.segments.pop().expect("one");
            if seg.base_offset <= new_leo {
                self.segments.push(seg); // the (now empty) segment the log continues in
                break;
            }
            disk.delete(&seg.file);
        }
        let last = self.segments.len() - 1;
        let first = self.segments[last].first;
        disk.truncate(&self.segments[last].file, keep - first);
        self.segments[last].recount(&self.batches[first..]);
        self.first_unflushed = self.first_unflushed.min(last);
        self.leo = new_leo;
        self.hw = self.hw.min(self.leo);
        let before = self.epochs.len();
        self.epochs.retain(|&(_, s)| s < self.leo);
        if self.epochs.len() != before {
            self.write_epoch_checkpoint(disk);
        }
        self.truncations += 1;
        self.rebuild_producer_state();
        removed as u64
    }

    /// Kafka's `truncateFullyAndStartAt`: deletes every segment and starts an empty log at
    /// `offset` (a follower whose log ends below its leader's log start). Returns the
    /// records removed.
    pub fn truncate_fully_and_start_at(&mut self, disk: &mut Disk, offset: Offset) -> u64 {
        let removed = self.batches.iter().map(|b| b.len() as u64).sum();
        for seg in self.segments.drain(..) {
            disk.delete(&seg.file);
        }
        let mut seg = Segment::new(&self.tp, offset);
        seg.create(disk);
        self.segments.push(seg);
        self.first_unflushed = 0;
        self.batches.clear();
        self.ends.clear();
        self.log_start_offset = offset;
        self.leo = offset;
        self.hw = offset;
        self.epochs.clear();
        self.write_epoch_checkpoint(disk);
        self.producers.clear();
        self.txns = TxnIndex::default();
        self.unflushed_messages = 0;
        self.truncations += 1;
        removed
    }

    /// Deletes the oldest `n` segments (retention): the log start offset moves to the first
    /// remaining one. Deleting every segment first rolls a new, empty active segment at the
    /// LEO (Kafka's `deleteSegments`). Returns the records deleted.
    pub fn delete_oldest_segments(&mut self, disk: &mut Disk, n: usize, now: Time) -> u64 {
        if n == 0 {
            return 0;
        }
        if n >= self.segments.len() {
            self.roll(disk, now);
        }
        let cut = self.segments[n].first;
        let deleted = self.batches[..cut].iter().map(|b| b.len() as u64).sum();
        for seg in self.segments.drain(..n) {
            disk.delete(&seg.file);
        }
        self.batches.drain(..cut);
        self.ends.drain(..cut);
        for seg in &mut self.segments {
            seg.first -= cut;
        }
        self.first_unflushed = self.first_unflushed.saturating_sub(n);
        let base = self.segments[0].base_offset;
        self.increment_log_start_offset(disk, base);
        deleted
    }

    /// Moves the log start offset up to `offset` (never back, never past the HW): retention
    /// deleted what was below, or a follower learned its leader's (Kafka's
    /// `maybeIncrementLogStartOffset`). The epoch cache forgets epochs that ended before
    /// it (`truncateFromStart`). Returns whether it moved.
    pub fn increment_log_start_offset(&mut self, disk: &mut Disk, offset: Offset) -> bool {
        let offset = offset.min(self.hw.max(self.log_start_offset));
        if offset <= self.log_start_offset {
            return false;
        }
        self.log_start_offset = offset;
        let below = self.epochs.partition_point(|&(_, s)| s <= offset);
        if below > 0 && !(below == 1 && self.epochs[0].1 == offset) {
            let (epoch, _) = self.epochs[below - 1];
            self.epochs.drain(..below);
            self.epochs.insert(0, (epoch, offset));
            self.write_epoch_checkpoint(disk);
        }
        true
    }

    /// Sets the high watermark (clamped to the LEO). Returns whether it changed.
    pub fn set_high_watermark(&mut self, hw: Offset) -> bool {
        let hw = hw.clamp(self.log_start_offset, self.leo);
        let changed = hw != self.hw;
        self.hw = hw;
        changed
    }

    /// Flushes the log if `flush.messages` records are unflushed or `flush.ms` has passed
    /// since the last flush.
    pub fn maybe_flush(&mut self, disk: &mut Disk, now: Time, messages: u64, ms: Option<u64>) {
        if self.unflushed_messages == 0 {
            return;
        }
        let by_count = self.unflushed_messages >= messages;
        let by_time = ms.is_some_and(|ms| now.since(self.last_flush).as_ms() >= ms);
        if by_count || by_time {
            self.flush(disk, now);
        }
    }

    pub fn flush(&mut self, disk: &mut Disk, now: Time) {
        for seg in &self.segments[self.first_unflushed..] {
            disk.flush(&seg.file);
        }
        self.first_unflushed = self.segments.len() - 1;
        self.unflushed_messages = 0;
        self.last_flush = now;
    }
}

/// A batch with offsets assigned by a leader: `batch` stamped with `base_offset` and the
/// leader's epoch. The batch of a Produce request is usually held by nothing else, and is
/// then stamped in place; a shared one (a duplicated datagram) is copied first.
pub fn stamp(mut batch: Batch, base_offset: Offset, epoch: LeaderEpoch) -> Batch {
    let b = Arc::make_mut(&mut batch);
    b.base_offset = base_offset;
    b.partition_leader_epoch = epoch;
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::Record;
    use crate::sim::rng;

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 0)
    }

    fn batch(base: Offset, epoch: i32, values: &[u64]) -> Batch {
        let records: Vec<Record> = values
            .iter()
            .map(|&value| Record {
                key: None,
                value,
                value_bytes: 10,
                timestamp_us: 0,
                tombstone: false,
            })
            .collect();
        stamp(
            Arc::new(RecordBatch::new(records)),
            base,
            LeaderEpoch(epoch),
        )
    }

    fn log_with(disk: &mut Disk, spec: &[(i32, &[u64])]) -> PartitionLog {
        let mut log = PartitionLog::open(tp(), disk, None);
        for (epoch, values) in spec {
            let b = batch(log.log_end_offset(), *epoch, values);
            log.append(disk, b, Time::ZERO);
        }
        log
    }

    #[test]
    fn a_marker_from_an_older_coordinator_epoch_is_fenced() {
        // Proves the leader's coordinator-epoch check on WriteTxnMarkers: after a marker
        // from coordinator epoch 3, one from epoch 2 is fenced, 3 and 4 are not; a
        // producer with no marker yet accepts any.
        let mut disk = Disk::new();
        let mut log = PartitionLog::open(tp(), &disk, None);
        let pid = ProducerId(9);
        assert!(!log.marker_is_fenced(pid, LeaderEpoch(0)));
        let m = RecordBatch::control(pid, ProducerEpoch(0), true, 0)
            .with_coordinator_epoch(LeaderEpoch(3));
        assert_eq!(m.coordinator_epoch(), Some(LeaderEpoch(3)));
        let m = stamp(Arc::new(m), log.log_end_offset(), LeaderEpoch(0));
        log.append(&mut disk, m, Time::ZERO);
        assert!(log.marker_is_fenced(pid, LeaderEpoch(2)));
        assert!(!log.marker_is_fenced(pid, LeaderEpoch(3)));
        assert!(!log.marker_is_fenced(pid, LeaderEpoch(4)));
    }

    #[test]
    fn read_bytes_counts_exactly_what_read_returns() {
        // Proves the broker's "can this fetch be answered now" shortcut sees the same bytes
        // a real read would return, for every offset, size limit and upper bound.
        let mut disk = Disk::new();
        let log = log_with(
            &mut disk,
            &[(0, &[1, 2]), (0, &[3]), (1, &[4, 5, 6]), (1, &[7])],
        );
        for offset in 0..=log.log_end_offset().0 {
            for max_bytes in [0, 1, 70, 100, 150, 1_000] {
                for upto in 0..=log.log_end_offset().0 {
                    let read: usize = log
                        .read(Offset(offset), max_bytes, Offset(upto))
                        .iter()
                        .map(|b| b.size_bytes())
                        .sum();
                    assert_eq!(
                        log.read_bytes(Offset(offset), max_bytes, Offset(upto), true),
                        read
                    );
                    let hard: usize = log
                        .read_limited(Offset(offset), max_bytes, Offset(upto), false)
                        .iter()
                        .map(|b| b.size_bytes())
                        .sum();
                    assert_eq!(
                        log.read_bytes(Offset(offset), max_bytes, Offset(upto), false),
                        hard
                    );
                    assert!(hard <= max_bytes as usize);
                }
            }
        }
    }

    #[test]
    fn append_read_and_epoch_cache() {
        // Proves offsets, reads bounded by HW/LEO and bytes, and the epoch cache.
        let mut disk = Disk::new();
        let log = log_with(&mut disk, &[(0, &[1, 2]), (0, &[3]), (2, &[4, 5])]);
        assert_eq!(log.log_end_offset(), Offset(5));
        assert_eq!(
            log.epochs(),
            &[(LeaderEpoch(0), Offset(0)), (LeaderEpoch(2), Offset(3))]
        );
        assert_eq!(log.read(Offset::ZERO, u32::MAX, Offset(3)).len(), 2);
        assert_eq!(log.read(Offset(2), u32::MAX, Offset(5)).len(), 2);
        assert_eq!(
            log.read(Offset::ZERO, 1, Offset(5)).len(),
            1,
            "always at least one batch"
        );
        assert_eq!(log.batch_at(Offset(4)).unwrap().base_offset, Offset(3));
        assert_eq!(
            log.end_offset_for_epoch(LeaderEpoch(0)),
            (LeaderEpoch(0), Offset(3))
        );
        assert_eq!(
            log.end_offset_for_epoch(LeaderEpoch(1)),
            (LeaderEpoch(0), Offset(3))
        );
        assert_eq!(
            log.end_offset_for_epoch(LeaderEpoch(2)),
            (LeaderEpoch(2), Offset(5))
        );
    }

    #[test]
    fn truncation_cuts_batches_and_epochs() {
        // Proves truncation removes whole batches, fixes LEO/HW and the epoch cache.
        let mut disk = Disk::new();
        let mut log = log_with(&mut disk, &[(0, &[1, 2]), (1, &[3]), (2, &[4])]);
        log.set_high_watermark(Offset(4));
        assert_eq!(log.truncate_to(&mut disk, Offset(3)), 1);
        assert_eq!(log.log_end_offset(), Offset(3));
        assert_eq!(log.high_watermark(), Offset(3));
        assert_eq!(log.latest_epoch(), LeaderEpoch(1));
        assert_eq!(
            log.truncate_to(&mut disk, Offset(1)),
            3,
            "rounded down to the batch start"
        );
        assert_eq!(log.log_end_offset(), Offset::ZERO);
    }

    #[test]
    fn recovery_after_power_loss_keeps_flushed_prefix_and_stale_hw() {
        // Proves recovery rebuilds LEO/epochs from disk and clamps a checkpointed HW.
        let mut disk = Disk::new();
        let mut log = log_with(&mut disk, &[(0, &[1])]);
        log.flush(&mut disk, Time::ZERO);
        log.append(&mut disk, batch(Offset(1), 1, &[2]), Time::ZERO);
        disk.power_loss(false, &mut rng::derive(1, 1));
        let log = PartitionLog::open(tp(), &disk, Some(Offset(2)));
        assert_eq!(log.log_end_offset(), Offset(1));
        assert_eq!(log.high_watermark(), Offset(1));
        assert_eq!(
            log.latest_epoch(),
            LeaderEpoch(0),
            "epoch 1 started past the LEO"
        );
    }

    #[test]
    fn idempotent_duplicates_and_gaps() {
        // Proves the five-batch cache: duplicate → original offset, gap → out of order.
        let mut disk = Disk::new();
        let mut log = PartitionLog::open(tp(), &disk, None);
        let mk = |seq: i32, epoch: i16| {
            let mut b = RecordBatch::new(vec![Record {
                key: None,
                value: seq as u64,
                value_bytes: 1,
                timestamp_us: 0,
                tombstone: false,
            }]);
            b.producer_id = ProducerId(7);
            b.producer_epoch = ProducerEpoch(epoch);
            b.base_sequence = Sequence(seq);
            b
        };
        for seq in 0..3 {
            let b = mk(seq, 0);
            assert_eq!(log.check_sequence(&b), SequenceCheck::Append);
            let stamped = stamp(Arc::new(b.clone()), log.log_end_offset(), LeaderEpoch(0));
            log.append(&mut disk, stamped, Time::ZERO);
        }
        assert_eq!(
            log.check_sequence(&mk(1, 0)),
            SequenceCheck::Duplicate {
                base_offset: Offset(1)
            }
        );
        assert_eq!(log.check_sequence(&mk(5, 0)), SequenceCheck::OutOfOrder);
        assert_eq!(log.check_sequence(&mk(3, 0)), SequenceCheck::Append);
        assert_eq!(log.check_sequence(&mk(0, 1)), SequenceCheck::Append);
        let mut old = mk(3, 0);
        old.producer_epoch = ProducerEpoch::NONE;
        assert_eq!(log.check_sequence(&old), SequenceCheck::InvalidEpoch);
        let reopened = PartitionLog::open(tp(), &disk, None);
        assert_eq!(
            reopened.check_sequence(&mk(2, 0)),
            SequenceCheck::Duplicate {
                base_offset: Offset(2)
            }
        );
    }
}
