//! Kafka's identifiers and small value types, as newtypes so they cannot be mixed up.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A position in a partition log. Kafka uses a signed 64-bit integer; -1 means "none".
pub type Offset = i64;

/// A broker's id (`node.id`). Scenario brokers are `broker-1`..`broker-N` with ids 1..N.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct BrokerId(pub u32);

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A partition's leader epoch: bumped by the controller at every leader change.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct LeaderEpoch(pub i32);

impl LeaderEpoch {
    /// "No epoch known" (Kafka's -1).
    pub const NONE: LeaderEpoch = LeaderEpoch(-1);
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
}

impl fmt::Display for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A consumer group generation (bumped at every completed rebalance).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Generation(pub i32);

/// An idempotent producer's id (PID). -1 = none.
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct ProducerId(pub i64);

impl ProducerId {
    pub const NONE: ProducerId = ProducerId(-1);
}

/// A producer's epoch (bumped to fence older sessions of the same PID).
pub type ProducerEpoch = i16;

/// A per-partition record sequence number of an idempotent producer.
pub type Sequence = i32;

/// A topic and a partition number: `orders-0`.
///
/// Ordered by topic name (bytewise) then partition, as the derived order would be. Topic
/// names are shared `Arc`s that flow from the controller through metadata to every client,
/// so two keys of one topic usually hold the same pointer: comparing them then skips the
/// string (ordered maps keyed by partition compare keys on every lookup).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: u32,
}

/// Bytewise comparison of short names without a call into `memcmp`.
#[inline]
fn cmp_names(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

impl PartialEq for TopicPartition {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        self.partition == o.partition
            && (Arc::ptr_eq(&self.topic, &o.topic) || self.topic == o.topic)
    }
}

impl Eq for TopicPartition {}

impl std::hash::Hash for TopicPartition {
    // The same as a derived hash: the name's bytes, then the partition (equal keys hash
    // equally whether or not they share the Arc).
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (*self.topic).hash(h);
        self.partition.hash(h);
    }
}

impl Ord for TopicPartition {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        if !Arc::ptr_eq(&self.topic, &o.topic) {
            let by_name = cmp_names(&self.topic, &o.topic);
            if by_name != Ordering::Equal {
                return by_name;
            }
        }
        self.partition.cmp(&o.partition)
    }
}

impl PartialOrd for TopicPartition {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl TopicPartition {
    pub fn new(topic: &str, partition: u32) -> Self {
        TopicPartition {
            topic: Arc::from(topic),
            partition,
        }
    }

    /// Parses `orders-0` (the partition number after the last dash).
    pub fn parse(s: &str) -> Option<Self> {
        let (topic, p) = s.rsplit_once('-')?;
        let partition = p.parse().ok()?;
        (!topic.is_empty()).then(|| TopicPartition::new(topic, partition))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// `acks` as sent in a Produce request: 0, 1 or -1 (all).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl Acks {
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        })
    }
}

/// `isolation.level`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IsolationLevel {
    #[default]
    ReadUncommitted,
    ReadCommitted,
}

impl From<super::config::Acks> for Acks {
    fn from(a: super::config::Acks) -> Self {
        match a {
            super::config::Acks::All => Acks::All,
            super::config::Acks::One => Acks::Leader,
            super::config::Acks::Zero => Acks::None,
        }
    }
}

impl From<super::config::IsolationLevel> for IsolationLevel {
    fn from(i: super::config::IsolationLevel) -> Self {
        match i {
            super::config::IsolationLevel::ReadUncommitted => IsolationLevel::ReadUncommitted,
            super::config::IsolationLevel::ReadCommitted => IsolationLevel::ReadCommitted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_partition_round_trips() {
        // Proves `orders-0` style names parse back, even with dashes in the topic.
        let tp = TopicPartition::parse("my-orders-12").unwrap();
        assert_eq!(&*tp.topic, "my-orders");
        assert_eq!(tp.partition, 12);
        assert_eq!(tp.to_string(), "my-orders-12");
        assert!(TopicPartition::parse("orders").is_none());
    }

    #[test]
    fn topic_partition_order_is_the_order_of_name_then_partition() {
        // Proves the hand-written order (pointer shortcut, inline byte compare) agrees with
        // comparing (name, partition) as plain values, shared Arcs or not.
        let names = [
            "",
            "a",
            "ab",
            "b",
            "bench",
            "bench2",
            "__consumer_offsets",
            "é",
        ];
        let shared: Vec<Arc<str>> = names.iter().map(|n| Arc::from(*n)).collect();
        let mut keys = Vec::new();
        for (i, n) in names.iter().enumerate() {
            for p in 0..3 {
                keys.push(TopicPartition::new(n, p));
                keys.push(TopicPartition {
                    topic: shared[i].clone(),
                    partition: p,
                });
            }
        }
        for a in &keys {
            for b in &keys {
                let plain = (&*a.topic, a.partition).cmp(&(&*b.topic, b.partition));
                assert_eq!(a.cmp(b), plain, "{a} vs {b}");
                assert_eq!(a == b, plain == Ordering::Equal, "{a} vs {b}");
            }
        }
    }
}
