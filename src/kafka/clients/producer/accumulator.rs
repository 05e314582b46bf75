//! The record accumulator (`RecordAccumulator`): `send()` does not send. It appends the record
//! to the last open batch of its partition, and a batch leaves only when it is *ready*: full
//! (`batch.size` bytes), or older than `linger.ms`, or a retry whose backoff has elapsed.
//! Waiting a few milliseconds lets many records share one request, which is where Kafka's
//! throughput comes from; `linger.ms = 5` (Kafka 4.0) trades 5 ms of latency for it.
//!
//! All batches share `buffer.memory`. Each new batch reserves `batch.size` bytes (or the
//! record's size if larger), as Kafka's buffer pool does; when the pool is exhausted, `send()`
//! blocks the application for up to `max.block.ms` — back-pressure from a slow cluster to
//! the producing application.
//!
//! The sender visits only partitions that have queued batches: `non_empty` is kept as
//! batches are created, taken out for sending, re-queued and completed, so a pass over a
//! producer writing to 10,000 partitions costs the handful with batches, not 10,000 (Kafka's
//! `RecordAccumulator.ready` likewise looks only at partitions with a deque of batches).

use std::collections::VecDeque;

use crate::kafka::partition_map::PartitionMap;
use crate::kafka::record::Record;
use crate::kafka::types::{ProducerEpoch, ProducerId, Sequence, TopicPartition};
use crate::sim::{Duration, Time, VecMap};

/// Identifies a batch for its whole life (accumulator → request → retry → completion).
pub type BatchId = u64;

/// A batch being built or delivered (`ProducerBatch`).
#[derive(Clone, Debug)]
pub struct ProducerBatch {
    pub id: BatchId,
    pub tp: TopicPartition,
    pub records: Vec<Record>,
    pub size_bytes: usize,
    /// Bytes reserved from `buffer.memory`.
    pub reserved: u64,
    /// When the first record was appended (delivery.timeout.ms counts from here).
    pub created: Time,
    /// Produce attempts so far.
    pub attempts: u32,
    /// Not before this time (retry backoff).
    pub retry_at: Time,
    /// Whether a request carrying it was ever sent (its outcome may then be unknown).
    pub sent_once: bool,
    pub in_flight: bool,
    /// An attempt ended without knowing whether the broker appended it (lost connection,
    /// REQUEST_TIMED_OUT, NOT_ENOUGH_REPLICAS_AFTER_APPEND, ...).
    pub ambiguous: bool,
    /// Idempotence: set at the first drain, kept across retries.
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub base_sequence: Option<Sequence>,
}

impl ProducerBatch {
    pub fn is_retry(&self) -> bool {
        self.attempts > 0
    }
}

/// Per-partition queues of batches sharing one memory pool.
#[derive(Clone, Debug)]
pub struct RecordAccumulator {
    batch_size: usize,
    linger: Duration,
    buffer_memory: u64,
    used: u64,
    next_id: BatchId,
    /// Each partition's queue, found in O(1) (a sorted map of 1,000 partitions cost ten
    /// comparisons per lookup, and the sender looks up a queue several times per send).
    /// Queues are never removed, only emptied; nothing iterates them (`non_empty` does).
    queues: PartitionMap<VecDeque<BatchId>>,
    /// The partitions whose queue is not empty, in partition order (the index the sender's
    /// passes iterate instead of every queue): a sorted vector, as few partitions have
    /// queued batches at once, and it allocates nothing as it fills and empties.
    non_empty: Vec<TopicPartition>,
    batches: VecMap<BatchId, ProducerBatch>,
}

/// Approximate bytes a record adds to a batch (as in `RecordBatch::size_bytes`).
pub fn record_bytes(r: &Record) -> usize {
    10 + r.value_bytes as usize + r.key.as_ref().map_or(0, |k| k.len())
}

const BATCH_HEADER_BYTES: usize = 61;

impl RecordAccumulator {
    pub fn new(batch_size: u32, linger_ms: u64, buffer_memory: u64) -> Self {
        RecordAccumulator {
            batch_size: batch_size as usize,
            linger: Duration::from_ms(linger_ms),
            buffer_memory,
            used: 0,
            next_id: 0,
            queues: PartitionMap::new(),
            non_empty: Vec::new(),
            batches: VecMap::new(),
        }
    }

    /// Keeps `non_empty` true for `tp` after its queue changed.
    fn reindex(&mut self, tp: &TopicPartition) {
        let queued = self.queues.get(tp).is_some_and(|q| !q.is_empty());
        match (self.non_empty.binary_search(tp), queued) {
            (Err(i), true) => self.non_empty.insert(i, tp.clone()),
            (Ok(i), false) => {
                self.non_empty.remove(i);
            }
            _ => {}
        }
    }

    /// Appends to the open batch of `tp`, or opens one. `false` when `buffer.memory` has no
    /// room for a new batch (the caller blocks, as `send()` would).
    pub fn try_append(&mut self, tp: &TopicPartition, record: Record, now: Time) -> bool {
        let size = record_bytes(&record);
        let batch_size = self.batch_size;
        if let Some(b) = self.open_batch(tp) {
            if b.size_bytes + size <= batch_size {
                b.size_bytes += size;
                b.records.push(record);
                return true;
            }
        }
        let reserve = self.batch_size.max(size + BATCH_HEADER_BYTES) as u64;
        if self.used + reserve > self.buffer_memory {
            return false;
        }
        self.used += reserve;
        self.next_id += 1;
        let batch = ProducerBatch {
            id: self.next_id,
            tp: tp.clone(),
            records: vec![record],
            size_bytes: BATCH_HEADER_BYTES + size,
            reserved: reserve,
            created: now,
            attempts: 0,
            retry_at: now,
            sent_once: false,
            in_flight: false,
            ambiguous: false,
            producer_id: ProducerId::NONE,
            producer_epoch: ProducerEpoch::NONE,
            base_sequence: None,
        };
        self.queues
            .get_or_insert_with(tp, VecDeque::new)
            .push_back(batch.id);
        self.batches.insert(batch.id, batch);
        self.reindex(tp);
        true
    }

    /// The last batch of `tp` if it can still take records (never a sent one).
    fn open_batch(&mut self, tp: &TopicPartition) -> Option<&mut ProducerBatch> {
        let id = *self.queues.get(tp)?.back()?;
        let b = self.batches.get_mut(&id)?;
        (!b.sent_once && !b.in_flight).then_some(b)
    }

    /// Whether the head batch of `tp` may be sent at `now`: full, lingered long enough, or a
    /// retry past its backoff.
    pub fn head_ready(&self, tp: &TopicPartition, now: Time) -> Option<&ProducerBatch> {
        let q = self.queues.get(tp)?;
        let b = self.batches.get(q.front()?)?;
        if b.in_flight {
            return None;
        }
        let full = q.len() > 1 || b.size_bytes >= self.batch_size;
        let ready = if b.is_retry() {
            now >= b.retry_at
        } else {
            full || now >= b.created + self.linger
        };
        ready.then_some(b)
    }

    /// When the earliest batch not yet ready at `now` becomes ready (for the wake-up timer;
    /// batches already ready wait for a connection slot or a leader, not for time).
    pub fn next_ready_time(&self, now: Time) -> Option<Time> {
        self.non_empty
            .iter()
            .filter_map(|tp| self.batches.get(self.queues.get(tp)?.front()?))
            .filter(|b| !b.in_flight)
            .map(|b| {
                if b.is_retry() {
                    b.retry_at
                } else {
                    b.created + self.linger
                }
            })
            .filter(|&t| t > now)
            .min()
    }

    /// Partitions with queued batches, in order.
    pub fn partitions(&self) -> impl Iterator<Item = &TopicPartition> {
        self.non_empty.iter()
    }

    /// Takes batch `id` — the head of its partition's queue — out for sending.
    pub fn pop_batch(&mut self, id: BatchId) {
        let Some(b) = self.batches.get_mut(&id) else {
            return;
        };
        b.in_flight = true;
        b.sent_once = true;
        let tp = b.tp.clone();
        if let Some(q) = self.queues.get_mut(&tp) {
            if q.front() == Some(&id) {
                q.pop_front();
            }
        }
        self.reindex(&tp);
    }

    pub fn pop_head(&mut self, tp: &TopicPartition) -> Option<BatchId> {
        let id = self.queues.get_mut(tp)?.pop_front()?;
        if let Some(b) = self.batches.get_mut(&id) {
            b.in_flight = true;
            b.sent_once = true;
        }
        self.reindex(tp);
        Some(id)
    }

    /// Puts a failed batch back for a retry: at the front, or with idempotence in sequence
    /// order among the retries (so the broker sees sequences in order again).
    pub fn reenqueue(&mut self, id: BatchId, retry_at: Time) {
        let Some(b) = self.batches.get_mut(&id) else {
            return;
        };
        b.in_flight = false;
        b.retry_at = retry_at;
        let seq = b.base_sequence;
        let tp = b.tp.clone();
        let q = self.queues.get_or_insert_with(&tp, VecDeque::new);
        let pos = match seq {
            Some(s) => q
                .iter()
                .position(|other| {
                    let o = &self.batches[other];
                    !o.is_retry() || o.base_sequence.is_none_or(|os| os > s)
                })
                .unwrap_or(q.len()),
            None => 0,
        };
        q.insert(pos, id);
        self.reindex(&tp);
    }

    /// Puts back a retry that lost its sequence (it was not appended and is numbered again
    /// after an epoch bump): behind every numbered batch, among the unnumbered ones in
    /// creation order, so records keep the order they were sent in.
    pub fn requeue_unnumbered(&mut self, id: BatchId, retry_at: Time) {
        let Some(b) = self.batches.get_mut(&id) else {
            return;
        };
        b.in_flight = false;
        b.retry_at = retry_at;
        let tp = b.tp.clone();
        let q = self.queues.get_or_insert_with(&tp, VecDeque::new);
        let pos = q
            .iter()
            .position(|other| {
                let o = &self.batches[other];
                o.base_sequence.is_none() && *other > id
            })
            .unwrap_or(q.len());
        q.insert(pos, id);
        self.reindex(&tp);
    }

    pub fn get(&self, id: BatchId) -> Option<&ProducerBatch> {
        self.batches.get(&id)
    }

    pub fn get_mut(&mut self, id: BatchId) -> Option<&mut ProducerBatch> {
        self.batches.get_mut(&id)
    }

    /// Forgets a completed batch and returns its memory to the pool.
    pub fn complete(&mut self, id: BatchId) -> Option<ProducerBatch> {
        let b = self.batches.remove(&id)?;
        self.used -= b.reserved;
        if let Some(q) = self.queues.get_mut(&b.tp) {
            q.retain(|x| *x != id);
        }
        self.reindex(&b.tp);
        Some(b)
    }

    /// All batches (queued and in flight), oldest first (ids grow with creation time).
    pub fn all(&self) -> impl Iterator<Item = &ProducerBatch> {
        self.batches.values()
    }

    pub fn queued_batches(&self, tp: &TopicPartition) -> Vec<BatchId> {
        self.queues
            .get(tp)
            .map_or(Vec::new(), |q| q.iter().copied().collect())
    }

    pub fn memory_used(&self) -> u64 {
        self.used
    }

    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::types;

    fn rec(v: u64, bytes: u32) -> Record {
        Record {
            key: None,
            value: v,
            value_bytes: bytes,
            timestamp_us: 0,
            tombstone: false,
        }
    }

    #[test]
    fn batches_fill_then_linger() {
        // Proves records share a batch until batch.size, a full batch is ready at once and a
        // partial one only after linger.ms.
        let tp = TopicPartition::new("t", 0);
        let mut acc = RecordAccumulator::new(300, 5, 1 << 20);
        for v in 0..2 {
            assert!(acc.try_append(&tp, rec(v, 90), Time(0)));
        }
        assert!(
            acc.head_ready(&tp, Time(1_000)).is_none(),
            "not full, still lingering"
        );
        assert!(
            acc.head_ready(&tp, Time(5_000)).is_some(),
            "linger.ms elapsed"
        );
        assert_eq!(acc.next_ready_time(Time(0)), Some(Time(5_000)));
        acc.try_append(&tp, rec(2, 90), Time(0));
        assert_eq!(
            acc.queued_batches(&tp).len(),
            2,
            "the third record opened a new batch"
        );
        assert_eq!(
            acc.head_ready(&tp, Time(0)).unwrap().records.len(),
            2,
            "full: ready now"
        );
    }

    #[test]
    fn buffer_memory_blocks_new_batches() {
        // Proves each batch reserves batch.size from buffer.memory and completion frees it.
        let mut acc = RecordAccumulator::new(1_000, 0, 2_500);
        let (a, b, c) = (
            TopicPartition::new("t", 0),
            TopicPartition::new("t", 1),
            TopicPartition::new("t", 2),
        );
        assert!(acc.try_append(&a, rec(0, 10), Time(0)));
        assert!(acc.try_append(&b, rec(1, 10), Time(0)));
        assert!(
            !acc.try_append(&c, rec(2, 10), Time(0)),
            "a third 1000-byte batch does not fit"
        );
        assert!(
            acc.try_append(&a, rec(3, 10), Time(0)),
            "an open batch still takes records"
        );
        let id = acc.pop_head(&a).unwrap();
        acc.complete(id);
        assert!(acc.try_append(&c, rec(2, 10), Time(0)));
    }

    #[test]
    fn the_sender_visits_only_partitions_with_queued_batches() {
        // Proves the non-empty index follows appends, sends, re-queues and completions, so
        // `partitions()` names exactly the partitions with queued batches, in order.
        let mut acc = RecordAccumulator::new(1_000, 5, 1 << 20);
        let tps: Vec<_> = (0..1_000).map(|p| TopicPartition::new("t", p)).collect();
        for tp in [&tps[700], &tps[3], &tps[42]] {
            assert!(acc.try_append(tp, rec(0, 10), Time(0)));
        }
        let listed = |acc: &RecordAccumulator| -> Vec<u32> {
            acc.partitions().map(|tp| tp.partition).collect()
        };
        assert_eq!(listed(&acc), vec![3, 42, 700]);
        let id = acc.pop_head(&tps[42]).unwrap();
        assert_eq!(listed(&acc), vec![3, 700], "sent: nothing queued for 42");
        acc.get_mut(id).unwrap().attempts = 1;
        acc.reenqueue(id, Time(100));
        assert_eq!(listed(&acc), vec![3, 42, 700], "a retry is queued again");
        assert_eq!(
            acc.next_ready_time(Time(0)),
            Some(Time(100)),
            "its backoff ends first"
        );
        let id = acc.pop_head(&tps[42]).unwrap();
        acc.complete(id);
        let head = acc.queued_batches(&tps[3])[0];
        acc.pop_batch(head);
        assert_eq!(listed(&acc), vec![700]);
        assert_eq!(acc.next_ready_time(Time(0)), Some(Time(5_000)));
    }

    #[test]
    fn retries_go_back_in_sequence_order() {
        // Proves idempotent retries are re-queued by sequence, ahead of new batches.
        let tp = TopicPartition::new("t", 0);
        let mut acc = RecordAccumulator::new(100, 0, 1 << 20);
        let mut ids = Vec::new();
        for v in 0..3 {
            acc.try_append(&tp, rec(v, 80), Time(0));
            let id = acc.pop_head(&tp).unwrap();
            acc.get_mut(id).unwrap().base_sequence = Some(types::Sequence(v as i32));
            acc.get_mut(id).unwrap().attempts = 1;
            ids.push(id);
        }
        acc.try_append(&tp, rec(9, 80), Time(0));
        acc.reenqueue(ids[2], Time(10));
        acc.reenqueue(ids[0], Time(10));
        acc.reenqueue(ids[1], Time(10));
        let q = acc.queued_batches(&tp);
        assert_eq!(&q[..3], &ids[..]);
        assert_eq!(q.len(), 4);
    }
}
