//! The built-in partitioner (`BuiltInPartitioner`, `KafkaProducer.partition`).
//!
//! A record with a key goes to `(murmur2(key bytes) & 0x7fffffff) % partitions`, counting
//! every partition of the topic, available or not: the same key always lands in the same
//! partition, which is what gives Kafka its per-key ordering — until the partition count
//! changes. A record without a key is "sticky" (KIP-480, refined by KIP-794): the producer
//! keeps sending to one partition, so batches fill up and latency drops, and moves on to
//! another randomly chosen partition once `batch.size` bytes went to the current one, so
//! over time every partition receives the same amount of data.
//!
//! Simplification: KIP-794's adaptive weighting by broker queue length is not modelled; the
//! next sticky partition is drawn uniformly among partitions that currently have a leader.

use rand::Rng as _;

use crate::kafka::types::Topic;
use crate::sim::{Rng, VecMap};

/// Kafka's murmur2 (`org.apache.kafka.common.utils.Utils.murmur2`): 32-bit wrapping
/// arithmetic, little-endian 4-byte chunks, seed 0x9747b28c.
pub fn murmur2(data: &[u8]) -> i32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let seed: u32 = 0x9747_b28c;
    let mut h: u32 = seed ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    // Java's switch falls through: 3 bytes xor all three, 2 bytes two, 1 byte one.
    if tail.len() >= 3 {
        h ^= (tail[2] as u32) << 16;
    }
    if tail.len() >= 2 {
        h ^= (tail[1] as u32) << 8;
    }
    if !tail.is_empty() {
        h ^= tail[0] as u32;
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// `Utils.toPositive(murmur2(key)) % numPartitions`.
pub fn partition_for_key(key: &str, num_partitions: u32) -> u32 {
    ((murmur2(key.as_bytes()) as u32) & 0x7fff_ffff) % num_partitions.max(1)
}

/// Sticky state of one topic.
#[derive(Clone, Debug, Default)]
struct Sticky {
    partition: Option<u32>,
    produced_bytes: u64,
}

/// The partitioner's memory: one sticky partition per topic.
#[derive(Clone, Debug, Default)]
pub struct Partitioner {
    batch_size: u64,
    /// `partitioner.ignore.keys` (KIP-794): keyed records are spread like unkeyed ones.
    ignore_keys: bool,
    sticky: VecMap<Topic, Sticky>,
}

impl Partitioner {
    pub fn new(batch_size: u32) -> Self {
        Partitioner {
            batch_size: batch_size.max(1) as u64,
            ignore_keys: false,
            sticky: VecMap::new(),
        }
    }

    /// With `partitioner.ignore.keys = true` a key no longer picks the partition: keyed
    /// records go to the sticky partition too (KIP-794's `BuiltInPartitioner`).
    pub fn ignoring_keys(mut self, ignore: bool) -> Self {
        self.ignore_keys = ignore;
        self
    }

    /// Picks the partition of a record. `available` lists partitions with a leader (the
    /// sticky choice avoids leaderless ones; a key never does).
    pub fn partition(
        &mut self,
        topic: Topic,
        key: Option<&str>,
        num_partitions: u32,
        available: &[u32],
        rng: &mut Rng,
    ) -> u32 {
        if let Some(key) = key.filter(|_| !self.ignore_keys) {
            return partition_for_key(key, num_partitions);
        }
        let s = self.sticky.entry(topic).or_default();
        match s.partition {
            Some(p) if p < num_partitions => p,
            _ => {
                let p = pick(available, num_partitions, None, rng);
                s.partition = Some(p);
                s.produced_bytes = 0;
                p
            }
        }
    }

    /// Counts bytes appended to the sticky partition and switches once `batch.size` bytes
    /// went to it (KIP-794: "strictly uniform").
    pub fn on_append(
        &mut self,
        topic: Topic,
        partition: u32,
        bytes: u64,
        num_partitions: u32,
        available: &[u32],
        rng: &mut Rng,
    ) {
        let Some(s) = self.sticky.get_mut(&topic) else {
            return;
        };
        if s.partition != Some(partition) {
            return; // a keyed record: not part of the sticky accounting
        }
        s.produced_bytes += bytes;
        if s.produced_bytes >= self.batch_size {
            s.partition = Some(pick(available, num_partitions, Some(partition), rng));
            s.produced_bytes = 0;
        }
    }
}

/// A random partition among `available` (all if none), avoiding `previous` when possible.
fn pick(available: &[u32], num_partitions: u32, previous: Option<u32>, rng: &mut Rng) -> u32 {
    if available.is_empty() {
        pick_among(0..num_partitions.max(1), previous, rng)
    } else {
        pick_among(available.iter().copied(), previous, rng)
    }
}

/// One draw among `candidates` other than `previous` (among all of them if `previous` is
/// the only one), without collecting them: counted, then the drawn one found again — the
/// same draw and the same partition as indexing a filtered copy, minus a 1,000-entry vector
/// per switch of the sticky partition.
fn pick_among(
    candidates: impl Iterator<Item = u32> + Clone,
    previous: Option<u32>,
    rng: &mut Rng,
) -> u32 {
    let mut others = candidates.clone().filter(|&p| Some(p) != previous);
    let n = others.clone().count();
    let drawn = if n == 0 {
        let all = candidates.clone().count();
        candidates.clone().nth(rng.gen_range(0..all))
    } else {
        others.nth(rng.gen_range(0..n))
    };
    drawn.expect("drawn below the count")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::rng::derive;

    #[test]
    fn murmur2_matches_kafka_test_vectors() {
        // Proves murmur2 against the expected values of Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            (b"abc", 479470107),
        ];
        for (input, expected) in cases {
            assert_eq!(
                murmur2(input),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn same_key_same_partition() {
        // Proves a keyed record ignores stickiness and availability.
        let mut p = Partitioner::new(100);
        let mut rng = derive(1, 1);
        let t = Topic::new("orders");
        let a = p.partition(t, Some("user-7"), 6, &[0], &mut rng);
        let b = p.partition(t, Some("user-7"), 6, &[1, 2], &mut rng);
        assert_eq!(a, b);
        assert_eq!(a, partition_for_key("user-7", 6));
    }

    #[test]
    fn ignoring_keys_makes_a_keyed_record_sticky() {
        // Proves partitioner.ignore.keys: the same key goes wherever the sticky partition
        // is, and moves on with it after batch.size bytes.
        let mut p = Partitioner::new(100).ignoring_keys(true);
        let mut rng = derive(3, 1);
        let t = Topic::new("orders");
        let all = [0, 1, 2, 3, 4, 5];
        let first = p.partition(t, Some("user-7"), 6, &all, &mut rng);
        p.on_append(t, first, 100, 6, &all, &mut rng);
        let next = p.partition(t, Some("user-7"), 6, &all, &mut rng);
        assert_ne!(first, next, "the key no longer pins a partition");
    }

    #[test]
    fn sticky_switches_after_batch_size_bytes() {
        // Proves null-key records stick to one partition until batch.size bytes went there.
        let mut p = Partitioner::new(100);
        let mut rng = derive(2, 1);
        let t = Topic::new("orders");
        let avail = [0, 1, 2, 3];
        let first = p.partition(t, None, 4, &avail, &mut rng);
        for _ in 0..3 {
            assert_eq!(p.partition(t, None, 4, &avail, &mut rng), first);
            p.on_append(t, first, 30, 4, &avail, &mut rng);
        }
        assert_eq!(p.partition(t, None, 4, &avail, &mut rng), first);
        p.on_append(t, first, 30, 4, &avail, &mut rng); // 120 bytes ≥ batch.size
        assert_ne!(p.partition(t, None, 4, &avail, &mut rng), first);
    }
}
