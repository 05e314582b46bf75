//! Kafka's identifiers and small value types, as newtypes so they cannot be mixed up.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;

/// A position in a partition log (Kafka's signed 64-bit offset). Arithmetic is only what a
/// log needs: an offset plus a count is an offset, the distance between two offsets is a
/// count (`i64`). Kafka's wire value -1 ("no offset": an error response, `acks=0`, nothing
/// committed) is the named [`Offset::UNKNOWN`].
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Offset(pub i64);

impl Offset {
    pub const ZERO: Offset = Offset(0);
    /// Kafka's -1: no offset is known (an error response, `acks=0`, nothing committed).
    pub const UNKNOWN: Offset = Offset(-1);

    /// Whether this is a real position (not [`Offset::UNKNOWN`]).
    pub fn is_known(self) -> bool {
        self.0 >= 0
    }

    /// The offset after this one.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::ops::Add<i64> for Offset {
    type Output = Offset;
    fn add(self, n: i64) -> Offset {
        Offset(self.0 + n)
    }
}

impl std::ops::AddAssign<i64> for Offset {
    fn add_assign(&mut self, n: i64) {
        self.0 += n;
    }
}

impl std::ops::Sub<i64> for Offset {
    type Output = Offset;
    fn sub(self, n: i64) -> Offset {
        Offset(self.0 - n)
    }
}

/// The number of records between two offsets.
impl std::ops::Sub for Offset {
    type Output = i64;
    fn sub(self, o: Offset) -> i64 {
        self.0 - o.0
    }
}

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
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ProducerEpoch(pub i16);

impl ProducerEpoch {
    /// Kafka's -1: the batch carries no producer epoch (not idempotent).
    pub const NONE: ProducerEpoch = ProducerEpoch(-1);
}

/// A transaction's state at its coordinator (Kafka's `TransactionState`,
/// `TransactionMetadata.scala`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TxnState {
    /// Initialised (InitProducerId), no transaction open.
    Empty,
    /// Partitions were added: a transaction is open.
    Ongoing,
    /// EndTxn(commit) was written to `__transaction_state`: the commit point.
    PrepareCommit,
    /// EndTxn(abort), or a timeout or a new incarnation aborting it.
    PrepareAbort,
    /// Every COMMIT marker is written.
    CompleteCommit,
    /// Every ABORT marker is written.
    CompleteAbort,
    /// The coordinator fences the producer (timeout) before aborting with a bumped epoch.
    PrepareEpochFence,
}

impl TxnState {
    /// Kafka's name of the state.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// Parses [`name`](Self::name).
    pub fn parse(s: &str) -> Option<TxnState> {
        [
            TxnState::Empty,
            TxnState::Ongoing,
            TxnState::PrepareCommit,
            TxnState::PrepareAbort,
            TxnState::CompleteCommit,
            TxnState::CompleteAbort,
            TxnState::PrepareEpochFence,
        ]
        .into_iter()
        .find(|t| t.name() == s)
    }
}

impl fmt::Display for TxnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ProducerEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A per-partition record sequence number of an idempotent producer. Sequences wrap to 0
/// after `i32::MAX` (Kafka's `DefaultRecordBatch.incrementSequence`).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Sequence(pub i32);

impl Sequence {
    /// Kafka's -1: the batch carries no sequence (not idempotent).
    pub const NONE: Sequence = Sequence(-1);

    /// The sequence `n` records later, wrapping after `i32::MAX`.
    pub fn plus(self, n: i64) -> Sequence {
        Sequence(((self.0 as i64 + n).rem_euclid(i32::MAX as i64 + 1)) as i32)
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A consumer group generation's "none yet" (Kafka's -1), and a broker or partition epoch
/// not yet assigned.
impl Generation {
    pub const NONE: Generation = Generation(-1);
}

/// A broker epoch the controller has not assigned yet (Kafka's -1).
pub const NO_BROKER_EPOCH: i64 = -1;

/// A partition epoch not known yet (Kafka's -1).
pub const NO_PARTITION_EPOCH: i32 = -1;

/// A topic name, interned: every `Topic` with the same name holds the same pointer (to a
/// leaked `&'static str`), so copying one is free (no reference count) and equality is a
/// pointer compare. Names are interned once per process and never freed — there are only as
/// many as topics ever named.
/// Ordered and hashed by the name's bytes, so maps keyed by topic iterate in name order,
/// whatever the addresses (determinism does not depend on where a name was allocated).
#[derive(Copy, Clone)]
pub struct Topic(&'static &'static str); // a thin pointer: 8 bytes, like an id

impl Topic {
    pub fn new(name: &str) -> Topic {
        use std::collections::BTreeMap;
        use std::sync::Mutex;
        static NAMES: Mutex<BTreeMap<&'static str, &'static &'static str>> =
            Mutex::new(BTreeMap::new());
        let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = names.get(name) {
            return Topic(n);
        }
        let text: &'static str = Box::leak(name.to_owned().into_boxed_str());
        let n: &'static &'static str = Box::leak(Box::new(text));
        names.insert(text, n);
        Topic(n)
    }

    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

impl std::ops::Deref for Topic {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl std::borrow::Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl PartialEq for Topic {
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        std::ptr::eq(self.0, o.0) // interned: one pointer per name
    }
}

impl Eq for Topic {}

impl PartialEq<str> for Topic {
    fn eq(&self, o: &str) -> bool {
        *self.0 == o
    }
}

impl PartialEq<&str> for Topic {
    fn eq(&self, o: &&str) -> bool {
        *self.0 == *o
    }
}

impl std::hash::Hash for Topic {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (*self.0).hash(h);
    }
}

impl Ord for Topic {
    #[inline]
    fn cmp(&self, o: &Self) -> Ordering {
        if std::ptr::eq(self.0, o.0) {
            Ordering::Equal
        } else {
            cmp_names(self.0, o.0)
        }
    }
}

impl PartialOrd for Topic {
    #[inline]
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(*self.0, f)
    }
}

impl From<&str> for Topic {
    fn from(s: &str) -> Topic {
        Topic::new(s)
    }
}

impl From<&String> for Topic {
    fn from(s: &String) -> Topic {
        Topic::new(s)
    }
}

impl From<String> for Topic {
    fn from(s: String) -> Topic {
        Topic::new(&s)
    }
}

impl Serialize for Topic {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Topic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Topic, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Topic::new(&s))
    }
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

/// A topic and a partition number: `orders-0`. Ordered by topic name (bytewise) then
/// partition, as the derived order on a `String` name would be; copying and comparing one
/// touches no string (see [`Topic`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: Topic,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: &str, partition: u32) -> Self {
        TopicPartition {
            topic: Topic::new(topic),
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
        // Proves the topic order (pointer shortcut, inline byte compare) agrees with
        // comparing (name, partition) as plain values, for names interned from separate
        // strings (equal names must become one pointer).
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
        let mut keys = Vec::new();
        for n in names {
            for p in 0..3 {
                keys.push(TopicPartition::new(n, p));
                keys.push(TopicPartition {
                    topic: Topic::from(n.to_string()),
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
