//! Real record batches ↔ the simulation's batches. The simulation does not carry payloads:
//! a simulated record is a unique `value` id plus a size (`kafka/record.rs`), which is what
//! lets the checker follow each record end to end. A real client's record has bytes — key,
//! value, headers, a timestamp. The gateway keeps them in a side table, [`RecordTable`],
//! under a fresh value id ([`EXTERNAL_VALUE_BASE`] and up, far above the scenario
//! producers' `index << 40 | seq`), and puts only the id and the size into the simulated
//! batch. On the way out (a Fetch response) each simulated record is turned back into its
//! real bytes; a record some scenario producer wrote has no real bytes, so the consumer
//! sees its value id in decimal as the value and its simulated key.
//!
//! The batch header a real producer chose — producer id, epoch, base sequence (the
//! idempotent producer's identity, KIP-98) and the transactional flag — is kept on the
//! simulated batch, so the simulated broker's duplicate and sequence checks apply to real
//! clients. A control batch (a transaction's COMMIT or ABORT marker, which the simulation
//! keeps as a one-record batch keyed `COMMIT`/`ABORT`) goes out as a real control batch:
//! the control attribute set, and one record whose key is Kafka's `ControlRecordType`
//! (version 0, type 0 = ABORT, 1 = COMMIT) and whose value is an `EndTransactionMarker`
//! (version 0, coordinator epoch), as `EndTransactionMarker` in Kafka's `common.record`
//! writes them — so a real read_committed consumer sees where each transaction ends and
//! drops the aborted ones. Compressed batches (gzip, snappy, lz4, zstd — whatever
//! `compression.type` the client set) are decompressed, each bounded to 64 MiB of output so
//! a hostile "zip bomb" only closes its own connection, with a log line; the simulated batch
//! keeps the size it had on the wire, so size limits see the compressed bytes, as Kafka's do.
//! Fetch responses go out uncompressed (every client accepts that).

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as RealRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::kafka::record::{Batch, Record, RecordBatch};
use crate::kafka::{ProducerEpoch, ProducerId, Sequence};

/// Value ids the gateway hands out start here.
pub const EXTERNAL_VALUE_BASE: u64 = 1 << 60;

/// What the simulation does not carry of a real record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealBytes {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(StrBytes, Option<Bytes>)>,
    pub timestamp_ms: i64,
}

/// Real record bytes by simulated value id.
#[derive(Clone, Debug, Default)]
pub struct RecordTable {
    next: u64,
    by_value: BTreeMap<u64, RealBytes>,
}

impl RecordTable {
    /// Files `real` under a fresh value id and returns the id.
    pub fn file(&mut self, real: RealBytes) -> u64 {
        let id = EXTERNAL_VALUE_BASE + self.next;
        self.next += 1;
        self.by_value.insert(id, real);
        id
    }

    pub fn get(&self, value: u64) -> Option<&RealBytes> {
        self.by_value.get(&value)
    }

    pub fn len(&self) -> usize {
        self.by_value.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_value.is_empty()
    }
}

/// Decodes the records field of one partition of a Produce request into one simulated
/// batch, filing every record's bytes in `table`. `now_us` stamps the simulated records
/// (simulated time, not the client's wall clock, so time-based retention stays simulated).
pub fn decode_produce(
    records: &Bytes,
    table: &mut RecordTable,
    now_us: u64,
) -> Result<Batch, String> {
    let mut buf = records.clone();
    let sets = RecordBatchDecoder::decode_all(&mut buf).map_err(|e| format!("{e:#}"))?;
    let mut real: Vec<RealRecord> = Vec::new();
    let compressed = sets.iter().any(|s| s.compression != Compression::None);
    for set in sets {
        real.extend(set.records);
    }
    let Some(first) = real.first().cloned() else {
        return Err("no records".to_string());
    };
    let mut sim = Vec::with_capacity(real.len());
    for r in real {
        let value_bytes = r.value.as_ref().map_or(0, |v| v.len())
            + r.headers
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, |v| v.len()))
                .sum::<usize>();
        let key = r
            .key
            .as_ref()
            .map(|k| Arc::<str>::from(String::from_utf8_lossy(k).as_ref()));
        let tombstone = r.value.is_none();
        let value = table.file(RealBytes {
            key: r.key,
            value: r.value,
            headers: r.headers.into_iter().collect(),
            timestamp_ms: r.timestamp,
        });
        sim.push(Record {
            key,
            value,
            value_bytes: value_bytes.min(u32::MAX as usize) as u32,
            timestamp_us: now_us,
            tombstone,
        });
    }
    let mut batch = RecordBatch::new(sim);
    batch.producer_id = ProducerId(first.producer_id);
    batch.producer_epoch = ProducerEpoch(first.producer_epoch);
    batch.base_sequence = Sequence(first.sequence);
    batch.is_transactional = first.transactional;
    if compressed {
        batch = batch.with_wire_bytes(records.len().min(u32::MAX as usize) as u32);
    }
    Ok(Arc::new(batch))
}

/// Encodes simulated batches as real record batches (magic 2, uncompressed), control
/// batches as real control records.
pub fn encode_fetch(batches: &[Batch], table: &RecordTable) -> Bytes {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    for b in batches.iter().filter(|b| !b.is_empty()) {
        let real: Vec<RealRecord> = match b.marker_type() {
            Some(committed) => vec![control_record(b, committed)],
            None => b
                .records
                .iter()
                .enumerate()
                .map(|(i, r)| to_real(b, i, r, table))
                .collect(),
        };
        // Encoding an uncompressed batch of valid records cannot fail; if it ever did, the
        // partition's data would be cut short here rather than the gateway stopping.
        if RecordBatchEncoder::encode(&mut buf, real.iter(), &options).is_err() {
            break;
        }
    }
    buf.freeze()
}

/// A transaction marker as Kafka writes it: key = `ControlRecordType` (version 0, type:
/// ABORT 0, COMMIT 1), value = `EndTransactionMarker` (version 0, coordinator epoch 0 —
/// the simulated leaders do not check it, docs/transactions.md).
fn control_record(b: &RecordBatch, committed: bool) -> RealRecord {
    let key = [0u8, 0, 0, u8::from(committed)];
    let value = [0u8, 0, 0, 0, 0, 0];
    let timestamp = b
        .records
        .first()
        .map_or(0, |r| (r.timestamp_us / 1_000) as i64);
    RealRecord {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: b.partition_leader_epoch.0,
        producer_id: b.producer_id.0,
        producer_epoch: b.producer_epoch.0,
        timestamp_type: TimestampType::Creation,
        offset: b.base_offset.0,
        sequence: -1,
        timestamp,
        key: Some(Bytes::copy_from_slice(&key)),
        value: Some(Bytes::copy_from_slice(&value)),
        headers: IndexMap::new(),
    }
}

fn to_real(b: &RecordBatch, i: usize, r: &Record, table: &RecordTable) -> RealRecord {
    let sequence = if b.base_sequence == Sequence::NONE {
        -1
    } else {
        b.base_sequence.plus(i as i64).0
    };
    let (key, value, headers, timestamp) = match table.get(r.value) {
        Some(real) => (
            real.key.clone(),
            real.value.clone(),
            real.headers.iter().cloned().collect::<IndexMap<_, _>>(),
            real.timestamp_ms,
        ),
        None => (
            r.key.as_ref().map(|k| Bytes::from(k.to_string())),
            Some(Bytes::from(r.value.to_string())),
            IndexMap::new(),
            (r.timestamp_us / 1_000) as i64,
        ),
    };
    RealRecord {
        transactional: b.is_transactional,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: b.partition_leader_epoch.0,
        producer_id: b.producer_id.0,
        producer_epoch: b.producer_epoch.0,
        timestamp_type: TimestampType::Creation,
        offset: (b.base_offset + i as i64).0,
        sequence,
        timestamp,
        key,
        value,
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::Offset;

    fn real(key: &str, value: &str, offset: i64) -> RealRecord {
        let mut headers = IndexMap::new();
        headers.insert(
            StrBytes::from_static_str("h"),
            Some(Bytes::from_static(b"1")),
        );
        RealRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: 7,
            producer_epoch: 0,
            timestamp_type: TimestampType::Creation,
            offset,
            sequence: offset as i32,
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::from(key.to_string())),
            value: Some(Bytes::from(value.to_string())),
            headers,
        }
    }

    /// Keys, values, headers and the idempotent identity survive produce → fetch.
    #[test]
    fn a_real_batch_round_trips_through_the_simulation() {
        let mut buf = BytesMut::new();
        let opts = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        let recs = [real("k1", "hello", 0), real("k2", "world", 1)];
        RecordBatchEncoder::encode(&mut buf, recs.iter(), &opts).unwrap();
        let mut table = RecordTable::default();
        let batch = decode_produce(&buf.freeze(), &mut table, 5_000).unwrap();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.producer_id, ProducerId(7));
        assert_eq!(batch.base_sequence, Sequence(0));
        assert_eq!(batch.records[0].value, EXTERNAL_VALUE_BASE);
        assert_eq!(batch.records[1].key.as_deref(), Some("k2"));
        assert_eq!(batch.records[0].value_bytes, 5 + 2);
        // The leader assigns offsets 10 and 11.
        let mut stored = (*batch).clone();
        stored.base_offset = Offset(10);
        let out = encode_fetch(&[Arc::new(stored)], &table);
        let sets = RecordBatchDecoder::decode_all(&mut out.clone()).unwrap();
        let back = &sets[0].records;
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].offset, 11);
        assert_eq!(back[1].value.as_deref(), Some(&b"world"[..]));
        assert_eq!(back[0].key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(back[0].headers.len(), 1);
        assert_eq!(back[0].timestamp, 1_700_000_000_000);
    }

    /// A COMMIT marker goes out as a real control batch: control and transactional set,
    /// key = version 0, type 1 (COMMIT); an ABORT marker's type is 0.
    #[test]
    fn markers_are_real_control_records() {
        let mut commit = RecordBatch::control(ProducerId(4), ProducerEpoch(2), true, 9_000);
        commit.base_offset = Offset(12);
        let mut abort = RecordBatch::control(ProducerId(4), ProducerEpoch(2), false, 9_000);
        abort.base_offset = Offset(20);
        let out = encode_fetch(
            &[Arc::new(commit), Arc::new(abort)],
            &RecordTable::default(),
        );
        let sets = RecordBatchDecoder::decode_all(&mut out.clone()).unwrap();
        assert_eq!(sets.len(), 2);
        let c = &sets[0].records[0];
        assert!(c.control && c.transactional);
        assert_eq!((c.offset, c.producer_id, c.producer_epoch), (12, 4, 2));
        assert_eq!(c.key.as_deref(), Some(&[0u8, 0, 0, 1][..]));
        assert_eq!(sets[1].records[0].key.as_deref(), Some(&[0u8, 0, 0, 0][..]));
        assert_eq!(sets[1].records[0].offset, 20);
    }

    /// A simulated producer's record reads back as its value id in decimal.
    #[test]
    fn a_simulated_record_reads_as_its_value_id() {
        let mut b = RecordBatch::new(vec![Record {
            key: Some("a".into()),
            value: 42,
            value_bytes: 100,
            timestamp_us: 3_000,
            tombstone: false,
        }]);
        b.base_offset = Offset(3);
        let out = encode_fetch(&[Arc::new(b)], &RecordTable::default());
        let sets = RecordBatchDecoder::decode_all(&mut out.clone()).unwrap();
        assert_eq!(sets[0].records[0].value.as_deref(), Some(&b"42"[..]));
        assert_eq!(sets[0].records[0].offset, 3);
    }

    /// A batch compressed with each of Kafka's codecs decodes to its records, and keeps the
    /// compressed size it had on the wire.
    #[test]
    fn compressed_batches_of_every_codec_decode() {
        let value = "x".repeat(1_000);
        for codec in [
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut buf = BytesMut::new();
            let opts = RecordEncodeOptions {
                version: 2,
                compression: codec,
            };
            let recs = [real("k1", &value, 0), real("k2", "world", 1)];
            RecordBatchEncoder::encode(&mut buf, recs.iter(), &opts).unwrap();
            let wire = buf.len();
            let mut table = RecordTable::default();
            let batch = decode_produce(&buf.freeze(), &mut table, 5_000).unwrap();
            assert_eq!(batch.len(), 2, "{codec:?}");
            assert_eq!(batch.records[0].value_bytes, 1_000 + 2, "{codec:?}");
            assert_eq!(batch.size_bytes(), wire, "{codec:?}");
            assert!(wire < 500, "{codec:?} compressed 1,000 x's to {wire} bytes");
            let out = encode_fetch(&[batch], &table);
            let sets = RecordBatchDecoder::decode_all(&mut out.clone()).unwrap();
            assert_eq!(sets[0].records[0].value.as_deref(), Some(value.as_bytes()));
        }
    }

    /// A "zip bomb" — a small gzip batch that expands past the 64 MiB bound — is refused
    /// with an error (the gateway closes that connection with a log line), never exhausting
    /// memory.
    #[test]
    fn a_batch_that_decompresses_past_the_bound_is_refused() {
        let huge = "0".repeat(kafka_protocol::compression::MAX_DECOMPRESSED_BYTES + 1);
        let mut buf = BytesMut::new();
        let opts = RecordEncodeOptions {
            version: 2,
            compression: Compression::Gzip,
        };
        let recs = [real("k", &huge, 0)];
        RecordBatchEncoder::encode(&mut buf, recs.iter(), &opts).unwrap();
        assert!(
            buf.len() < 1 << 20,
            "the bomb is small: {} bytes",
            buf.len()
        );
        let mut table = RecordTable::default();
        let err = decode_produce(&buf.freeze(), &mut table, 0).unwrap_err();
        assert!(err.contains("more than"), "{err}");
        assert!(table.is_empty());
    }
}
