//! Records and record batches. A batch is what a producer sends, what a leader appends and
//! what a follower copies: Kafka replicates batches, not single records. A stored batch is
//! immutable and shared behind an `Arc`, so copying it to a follower, a consumer or a
//! checkpoint of the world copies a pointer, not the payload.
//!
//! Payloads are not simulated byte for byte: each record carries a unique `value` id (so the
//! checker can follow it end to end) and a `value_bytes` size used for batching and fetch
//! limits.
//!
//! **Compression** (`compression.type`) is a size, not an algorithm: a compressed batch's
//! records take a fixed share of their uncompressed bytes, per codec (see
//! [`compression_ratio`]); the 61-byte batch header is never compressed, as in Kafka's
//! RecordBatch v2. The same batch is what travels and what is stored, so the ratio applies
//! on the wire and on disk alike (and to `segment.bytes`, `retention.bytes`, fetch limits).

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::config::CompressionType;
use super::types::{LeaderEpoch, Offset, ProducerEpoch, ProducerId, Sequence};

/// The share of their uncompressed size a batch's records take under `codec`, in per mille.
/// A simplification: real ratios depend on the data; these are typical figures for
/// repetitive JSON-like payloads (zstd best, snappy and lz4 fast and lighter, gzip between).
pub fn compression_ratio(codec: CompressionType) -> u32 {
    match codec {
        CompressionType::None => 1_000,
        CompressionType::Gzip => 400,
        CompressionType::Snappy => 600,
        CompressionType::Lz4 => 550,
        CompressionType::Zstd => 350,
    }
}

/// One record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The key, if any (partitioning hashes its UTF-8 bytes with murmur2).
    pub key: Option<Arc<str>>,
    /// A unique id standing for the payload; a control record holds its coordinator epoch.
    pub value: u64,
    /// Simulated payload size in bytes.
    pub value_bytes: u32,
    /// Create time, simulated microseconds.
    pub timestamp_us: u64,
    /// A *tombstone*: Kafka's record with a null value (`value_bytes` is then 0). In a
    /// compacted topic it deletes its key: the cleaner drops the key's earlier records, and
    /// the tombstone itself `delete.retention.ms` after it reached a cleaned segment.
    /// (`value` still carries the unique id the checker follows.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tombstone: bool,
}

/// Hashed field by field as before tombstones existed, the flag only when set: a run
/// without tombstones keeps its trace hash.
impl std::hash::Hash for Record {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.key.hash(h);
        self.value.hash(h);
        self.value_bytes.hash(h);
        self.timestamp_us.hash(h);
        if self.tombstone {
            true.hash(h);
        }
    }
}

/// The records of a batch, read as a slice. A batch of one record (what a producer sending
/// one record at a time makes) holds it inline: no second allocation per batch.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Records {
    One(Record),
    Many(Box<[Record]>),
}

impl std::ops::Deref for Records {
    type Target = [Record];
    fn deref(&self) -> &[Record] {
        match self {
            Records::One(r) => std::slice::from_ref(r),
            Records::Many(rs) => rs,
        }
    }
}

impl From<&[Record]> for Records {
    fn from(rs: &[Record]) -> Records {
        match rs {
            [one] => Records::One(one.clone()),
            _ => Records::Many(rs.into()),
        }
    }
}

impl From<Vec<Record>> for Records {
    fn from(mut v: Vec<Record>) -> Records {
        if v.len() == 1 {
            Records::One(v.pop().expect("one record"))
        } else {
            Records::Many(v.into_boxed_slice())
        }
    }
}

impl<'a> IntoIterator for &'a Records {
    type Item = &'a Record;
    type IntoIter = std::slice::Iter<'a, Record>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Records {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Records, D::Error> {
        Vec::<Record>::deserialize(d).map(Records::from)
    }
}

/// A record batch (Kafka's RecordBatch v2 header fields that matter here).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordBatch {
    /// Offset of the first record; assigned by the leader on append.
    pub base_offset: Offset,
    /// Epoch of the leader that appended it (`partitionLeaderEpoch`).
    pub partition_leader_epoch: LeaderEpoch,
    /// Idempotence: producer id, epoch and the first record's sequence (-1 when not idempotent).
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    pub base_sequence: Sequence,
    /// Part of a transaction / a control batch (commit/abort marker).
    pub is_transactional: bool,
    pub is_control: bool,
    pub records: Records,
    /// Size on the wire, computed once when the batch is built (batches are immutable once
    /// shared; reads and fetch limits ask for it constantly).
    wire_bytes: u32,
}

impl RecordBatch {
    /// A batch as a producer builds it, before the leader assigns offsets.
    pub fn new(records: impl Into<Records>) -> Self {
        let records: Records = records.into();
        let wire_bytes = Self::compute_size(&records) as u32;
        RecordBatch {
            wire_bytes,
            base_offset: Offset::ZERO,
            partition_leader_epoch: LeaderEpoch::NONE,
            producer_id: ProducerId::NONE,
            producer_epoch: ProducerEpoch::NONE,
            base_sequence: Sequence::NONE,
            is_transactional: false,
            is_control: false,
            records,
        }
    }

    /// The batch as it came from a real client (the gateway): the size it had on the wire,
    /// compressed by the client's own codec.
    pub fn with_wire_bytes(mut self, bytes: u32) -> Self {
        self.wire_bytes = bytes;
        self
    }

    /// The batch compressed with `codec`: its records take [`compression_ratio`] of their
    /// size (rounded up), its header does not shrink.
    pub fn compressed(mut self, codec: CompressionType) -> Self {
        let records = self.wire_bytes as u64 - 61;
        let ratio = compression_ratio(codec) as u64;
        self.wire_bytes = 61 + (records * ratio).div_ceil(1_000) as u32;
        self
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Offset of the last record.
    pub fn last_offset(&self) -> Offset {
        self.base_offset + self.records.len() as i64 - 1
    }

    /// Offset after the last record (the LEO once this batch is the tail of a log).
    pub fn next_offset(&self) -> Offset {
        self.base_offset + self.records.len() as i64
    }

    /// Sequence of the last record.
    pub fn last_sequence(&self) -> Sequence {
        if self.base_sequence == Sequence::NONE {
            Sequence::NONE
        } else {
            self.base_sequence.plus(self.records.len() as i64 - 1)
        }
    }

    /// Approximate size on the wire: a 61-byte batch header plus per-record overhead.
    pub fn size_bytes(&self) -> usize {
        self.wire_bytes as usize
    }

    fn compute_size(records: &[Record]) -> usize {
        61 + records
            .iter()
            .map(|r| 10 + r.value_bytes as usize + r.key.as_ref().map_or(0, |k| k.len()))
            .sum::<usize>()
    }
}

/// The control record type of a transaction marker, kept in the control record's key as
/// Kafka keeps its `ControlRecordType` there (kafkasim keys are text).
pub const COMMIT_MARKER_KEY: &str = "COMMIT";
pub const ABORT_MARKER_KEY: &str = "ABORT";

impl RecordBatch {
    /// A control batch: the COMMIT (or ABORT) marker of `producer_id`'s transaction, one
    /// control record, flagged transactional and control (what WriteTxnMarkers appends).
    pub fn control(
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        committed: bool,
        timestamp_us: u64,
    ) -> RecordBatch {
        let key = if committed {
            COMMIT_MARKER_KEY
        } else {
            ABORT_MARKER_KEY
        };
        let mut b = RecordBatch::new(vec![Record {
            key: Some(Arc::from(key)),
            value: 0,
            value_bytes: 6,
            timestamp_us,
            tombstone: false,
        }]);
        b.producer_id = producer_id;
        b.producer_epoch = producer_epoch;
        b.is_transactional = true;
        b.is_control = true;
        b
    }

    /// The marker written by a coordinator whose `__transaction_state` partition had
    /// leader epoch `epoch` (Kafka's `EndTransactionMarker.coordinatorEpoch`, carried here
    /// in the control record's value).
    pub fn with_coordinator_epoch(mut self, epoch: LeaderEpoch) -> RecordBatch {
        if let Some(r) = self.records.first().cloned() {
            let r = Record {
                value: epoch.0.max(0) as u64,
                ..r
            };
            self.records = vec![r].into();
        }
        self
    }

    /// A marker's coordinator epoch; `None` for data.
    pub fn coordinator_epoch(&self) -> Option<LeaderEpoch> {
        self.is_control
            .then(|| LeaderEpoch(self.records.first().map_or(0, |r| r.value as i32)))
    }

    /// Whether this is a COMMIT (`Some(true)`) or ABORT (`Some(false)`) marker.
    pub fn marker_type(&self) -> Option<bool> {
        if !self.is_control {
            return None;
        }
        Some(self.records.first().and_then(|r| r.key.as_deref()) == Some(COMMIT_MARKER_KEY))
    }
}

/// A shared, immutable batch.
pub type Batch = Arc<RecordBatch>;
