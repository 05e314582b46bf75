//! The records of `__transaction_state`: one record per state change of a transactional id,
//! the latest winning when a new coordinator reads the partition back (what compaction of
//! the topic keeps). Kafka writes a binary `TransactionLogKey` / `TransactionLogValue`;
//! kafkasim records are a key and a value id, so the fields travel as text in the key:
//! `txn:{id}|{producer id}|{epoch}|{last epoch}|{next producer id}|{transaction
//! version}|{state}|{timeout ms}|{start µs}|{tp,tp,…}` — the fields of Kafka's
//! `TransactionLogValue` v1 (`lastProducerEpoch`, `nextProducerId` and
//! `clientTransactionVersion` are its KIP-890 part 2 additions).

use std::collections::BTreeSet;

use super::TxnMeta;
use crate::kafka::protocol::TransactionVersion;
use crate::kafka::record::Record;
use crate::kafka::types::{ProducerEpoch, ProducerId, TopicPartition, TxnState};
use crate::sim::Time;

/// The record that persists `m` for `id`.
pub fn encode_state(id: &str, m: &TxnMeta) -> Record {
    let tps: Vec<String> = m.partitions.iter().map(|tp| tp.to_string()).collect();
    let key = format!(
        "txn:{id}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        m.producer_id.0,
        m.producer_epoch.0,
        m.last_epoch.0,
        m.next_producer_id.0,
        m.tv.0,
        m.state.name(),
        m.timeout_ms,
        m.start.as_us(),
        tps.join(",")
    );
    let value_bytes = key.len() as u32;
    Record {
        key: Some(key.into()),
        value: 0,
        value_bytes,
        timestamp_us: m.start.as_us(),
        tombstone: false,
    }
}

/// Reads a state record back; `None` for anything else.
pub fn decode_state(r: &Record) -> Option<(String, TxnMeta)> {
    let rest = r.key.as_deref()?.strip_prefix("txn:")?;
    let mut f = rest.rsplitn(10, '|');
    let tps = f.next()?;
    let start: u64 = f.next()?.parse().ok()?;
    let timeout_ms: u64 = f.next()?.parse().ok()?;
    let state = TxnState::parse(f.next()?)?;
    let tv: u8 = f.next()?.parse().ok()?;
    let next_pid: i64 = f.next()?.parse().ok()?;
    let last_epoch: i16 = f.next()?.parse().ok()?;
    let epoch: i16 = f.next()?.parse().ok()?;
    let pid: i64 = f.next()?.parse().ok()?;
    let id = f.next()?.to_string();
    let partitions: BTreeSet<TopicPartition> = tps
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(TopicPartition::parse)
        .collect();
    Some((
        id,
        TxnMeta {
            producer_id: ProducerId(pid),
            producer_epoch: ProducerEpoch(epoch),
            last_epoch: ProducerEpoch(last_epoch),
            next_producer_id: ProducerId(next_pid),
            tv: TransactionVersion(tv),
            timeout_ms,
            state,
            partitions,
            start: Time(start),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_record_reads_back_as_written() {
        // Proves the text encoding round-trips every field, ids with '|' included.
        let m = TxnMeta {
            producer_id: ProducerId(7),
            producer_epoch: ProducerEpoch(3),
            last_epoch: ProducerEpoch(2),
            next_producer_id: ProducerId(9),
            tv: TransactionVersion::TV_2,
            timeout_ms: 60_000,
            state: TxnState::PrepareCommit,
            partitions: [TopicPartition::new("a", 0), TopicPartition::new("b-x", 2)]
                .into_iter()
                .collect(),
            start: Time(1_234),
        };
        let r = encode_state("app|1", &m);
        assert_eq!(decode_state(&r), Some(("app|1".to_string(), m)));
    }
}
