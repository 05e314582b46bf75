//! The transactional APIs over the wire (KIP-98, Kafka's `TransactionManager` on the client
//! side, `TransactionCoordinator` and `GroupCoordinator.handleTxnCommitOffsets` on the
//! broker side). A real transactional producer talks to the simulated cluster in five
//! requests besides its Produces:
//!
//! 1. FindCoordinator with key type 1 (TRANSACTION) and its `transactional.id` → the leader
//!    of that id's `__transaction_state` partition (translated in `translate.rs`);
//! 2. InitProducerId with the id and `transaction.timeout.ms` → a producer id and a bumped
//!    epoch (also `translate.rs`);
//! 3. AddPartitionsToTxn (v0–3: one transaction per request) before the first record of a
//!    partition, and AddOffsetsToTxn + TxnOffsetCommit for `sendOffsetsToTransaction`;
//! 4. its Produces, flagged transactional, carrying the transactional id;
//! 5. EndTxn (commit or abort), after which the coordinator writes the COMMIT or ABORT
//!    markers the read_committed consumers see as control records (`records.rs`).
//!
//! Each request becomes the simulation's struct of the same name (`kafka/protocol.rs`), and
//! each response is encoded at the client's version. The simulation answers
//! AddPartitionsToTxn with one error for the whole request; Kafka answers per partition,
//! so every partition the client named gets that code. Clients before v2 of
//! AddPartitionsToTxn / AddOffsetsToTxn / EndTxn do not know PRODUCER_FENCED: Kafka gives
//! them INVALID_PRODUCER_EPOCH instead (`Errors.PRODUCER_FENCED`'s downgrade in
//! `KafkaApis`), and so does the gateway.
//!
//! The client history: the gateway remembers the value ids of every transactional Produce by
//! transactional id ([`TxnValues`]); an EndTxn takes them, and the external node that sends
//! it records the transaction's end with those values when the answer comes
//! (`workload/external.rs`), so `check --tape` judges a real producer's transactions. A
//! transaction a client never ended (it restarted: a new InitProducerId for its id) ends
//! there, its fate unknown (`TxnEnd` with PRODUCER_FENCED: the coordinator fences and
//! aborts it, the client was never told).

use kafka_protocol::messages as kp;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::translate::{Ctx, Handled};
use crate::kafka::protocol::*;
use crate::kafka::{ErrorCode, Generation, LeaderEpoch, Offset, ProducerEpoch, ProducerId};
use crate::kafka::{TopicPartition, TopicPartition as Tp};

/// The value ids a real transactional producer sent in its current transaction, by
/// transactional id, in the order the gateway saw them. An EndTxn marks the transaction
/// ended but keeps its values: a client whose EndTxn went unanswered (its connection
/// closed) sends it again, and that retry ends the same transaction. The next
/// transactional Produce of the id starts a new one.
#[derive(Clone, Debug, Default)]
pub struct TxnValues {
    current: BTreeMap<Arc<str>, (Vec<u64>, bool)>,
}

impl TxnValues {
    /// A transactional Produce from `id` carried these values.
    pub fn sent(&mut self, id: &Arc<str>, values: impl IntoIterator<Item = u64>) {
        let (list, ended) = self.current.entry(id.clone()).or_default();
        if std::mem::take(ended) {
            list.clear();
        }
        list.extend(values);
    }

    /// The values of `id`'s transaction, which an EndTxn now ends.
    pub fn end(&mut self, id: &Arc<str>) -> Box<[u64]> {
        let (list, ended) = self.current.entry(id.clone()).or_default();
        *ended = true;
        list.clone().into()
    }

    /// An InitProducerId for `id`: a transaction still open is the old incarnation's,
    /// which the coordinator fences and aborts; its values, if any, are handed over.
    pub fn restart(&mut self, id: &Arc<str>) -> Option<Box<[u64]>> {
        let (list, ended) = self.current.remove(id)?;
        (!ended && !list.is_empty()).then(|| list.into())
    }
}

/// InitProducerId: with a transactional id, a transaction the previous incarnation left
/// open ends here for the history, its fate unknown to the client (it never ended it).
pub fn init_producer_id(
    r: kp::InitProducerIdRequest,
    corr: CorrelationId,
    txns: &mut TxnValues,
) -> Handled {
    let id = r.transactional_id.map(|id| s(&id.0));
    let ctx = Ctx {
        txn_values: id.as_ref().and_then(|id| txns.restart(id)),
        ..Ctx::default()
    };
    let msg = Msg::InitProducerIdRequest(InitProducerIdRequest {
        correlation_id: corr,
        transactional_id: id,
        transaction_timeout_ms: r.transaction_timeout_ms.max(0) as u64,
    });
    forward(msg, ctx)
}

fn s(v: &kafka_protocol::protocol::StrBytes) -> Arc<str> {
    Arc::from(v.as_str())
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    Tp::new(topic, partition.max(0) as u32)
}

fn forward(msg: Msg, ctx: Ctx) -> Handled {
    Handled::Forward {
        msg,
        reply: true,
        ctx,
    }
}

/// AddPartitionsToTxn v0–3: one transaction, its partitions by topic.
pub fn add_partitions(r: kp::AddPartitionsToTxnRequest, corr: CorrelationId) -> Handled {
    let partitions: Vec<TopicPartition> = r
        .v3_and_below_topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|&p| tp(t.name.0.as_str(), p)))
        .collect();
    let ctx = Ctx {
        partitions: partitions.clone(),
        ..Ctx::default()
    };
    let msg = Msg::AddPartitionsToTxnRequest(AddPartitionsToTxnRequest {
        correlation_id: corr,
        transactional_id: s(&r.v3_and_below_transactional_id.0),
        producer_id: ProducerId(r.v3_and_below_producer_id.0),
        producer_epoch: ProducerEpoch(r.v3_and_below_producer_epoch),
        partitions,
        verify_only: false,
    });
    forward(msg, ctx)
}

pub fn add_offsets(r: kp::AddOffsetsToTxnRequest, corr: CorrelationId) -> Handled {
    let msg = Msg::AddOffsetsToTxnRequest(AddOffsetsToTxnRequest {
        correlation_id: corr,
        transactional_id: s(&r.transactional_id.0),
        producer_id: ProducerId(r.producer_id.0),
        producer_epoch: ProducerEpoch(r.producer_epoch),
        group_id: s(&r.group_id.0),
    });
    forward(msg, Ctx::default())
}

/// EndTxn: the transaction's values (sent so far under this transactional id) ride along
/// to the external node, which records the outcome in the client history.
pub fn end_txn(r: kp::EndTxnRequest, corr: CorrelationId, txns: &mut TxnValues) -> Handled {
    let id = s(&r.transactional_id.0);
    let ctx = Ctx {
        txn_values: Some(txns.end(&id)),
        ..Ctx::default()
    };
    let msg = Msg::EndTxnRequest(EndTxnRequest {
        correlation_id: corr,
        transactional_id: id,
        producer_id: ProducerId(r.producer_id.0),
        producer_epoch: ProducerEpoch(r.producer_epoch),
        committed: r.committed,
        // EndTxn ≤ v4 is advertised: real clients speak transaction version 1.
        transaction_version: TransactionVersion::TV_1,
    });
    forward(msg, ctx)
}

/// TxnOffsetCommit: before v3 there is no member id or generation (Kafka checks none
/// then: generation -1 and an empty member id, `GroupCoordinator`'s "unknown member").
pub fn txn_offset_commit(r: kp::TxnOffsetCommitRequest, corr: CorrelationId) -> Handled {
    let offsets = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    tp(t.name.0.as_str(), p.partition_index),
                    Offset(p.committed_offset),
                    LeaderEpoch(p.committed_leader_epoch),
                )
            })
        })
        .collect();
    let msg = Msg::txn_offset_commit(TxnOffsetCommitRequest {
        correlation_id: corr,
        transactional_id: s(&r.transactional_id.0),
        group_id: s(&r.group_id.0),
        producer_id: ProducerId(r.producer_id.0),
        producer_epoch: ProducerEpoch(r.producer_epoch),
        generation_id: Generation(r.generation_id),
        member_id: s(&r.member_id),
        offsets,
        transaction_version: TransactionVersion::TV_1,
    });
    forward(msg, Ctx::default())
}

/// The error a client of this version understands: PRODUCER_FENCED (v2+) is
/// INVALID_PRODUCER_EPOCH before.
fn for_version(e: ErrorCode, v: i16) -> i16 {
    if e == ErrorCode::ProducerFenced && v < 2 {
        ErrorCode::InvalidProducerEpoch.code()
    } else {
        e.code()
    }
}

fn topic_name(s: &str) -> kp::TopicName {
    kp::TopicName(kafka_protocol::protocol::StrBytes::from_string(
        s.to_string(),
    ))
}

/// AddPartitionsToTxn v0–3's answer: the request's one error for every partition named.
pub fn add_partitions_response(
    r: &AddPartitionsToTxnResponse,
    v: i16,
    ctx: &Ctx,
) -> kp::AddPartitionsToTxnResponse {
    use kp::add_partitions_to_txn_response::{
        AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
    };
    let code = for_version(r.error, v);
    let mut topics: Vec<AddPartitionsToTxnTopicResult> = Vec::new();
    for p in &ctx.partitions {
        let result = AddPartitionsToTxnPartitionResult::default()
            .with_partition_index(p.partition as i32)
            .with_partition_error_code(code);
        let name = p.topic.as_str();
        match topics.iter_mut().find(|t| t.name.0.as_str() == name) {
            Some(t) => t.results_by_partition.push(result),
            None => topics.push(
                AddPartitionsToTxnTopicResult::default()
                    .with_name(topic_name(name))
                    .with_results_by_partition(vec![result]),
            ),
        }
    }
    kp::AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics)
}

pub fn add_offsets_response(r: &AddOffsetsToTxnResponse, v: i16) -> kp::AddOffsetsToTxnResponse {
    kp::AddOffsetsToTxnResponse::default().with_error_code(for_version(r.error, v))
}

pub fn end_txn_response(r: &EndTxnResponse, v: i16) -> kp::EndTxnResponse {
    kp::EndTxnResponse::default().with_error_code(for_version(r.error, v))
}

pub fn txn_offset_commit_response(r: &TxnOffsetCommitResponse) -> kp::TxnOffsetCommitResponse {
    use kp::txn_offset_commit_response::{
        TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
    };
    let mut topics: Vec<TxnOffsetCommitResponseTopic> = Vec::new();
    for (p, e) in &r.partitions {
        let result = TxnOffsetCommitResponsePartition::default()
            .with_partition_index(p.partition as i32)
            .with_error_code(e.code());
        let name = p.topic.as_str();
        match topics.iter_mut().find(|t| t.name.0.as_str() == name) {
            Some(t) => t.partitions.push(result),
            None => topics.push(
                TxnOffsetCommitResponseTopic::default()
                    .with_name(topic_name(name))
                    .with_partitions(vec![result]),
            ),
        }
    }
    kp::TxnOffsetCommitResponse::default().with_topics(topics)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction's values go to the EndTxn that ends it (and to its retry); the next
    /// Produce starts a new transaction.
    #[test]
    fn end_hands_over_the_transactions_values() {
        let mut t = TxnValues::default();
        let id: Arc<str> = Arc::from("tx-1");
        let other: Arc<str> = Arc::from("other");
        t.sent(&id, [5, 6]);
        t.sent(&other, [9]);
        t.sent(&id, [7]);
        assert_eq!(&*t.end(&id), &[5, 6, 7]);
        assert_eq!(&*t.end(&id), &[5, 6, 7], "a retried EndTxn");
        t.sent(&id, [8]);
        assert_eq!(&*t.end(&id), &[8]);
        assert_eq!(&*t.end(&other), &[9]);
        // A restart hands over only a transaction left open.
        assert_eq!(t.restart(&id), None);
        t.sent(&id, [10]);
        assert_eq!(t.restart(&id).as_deref(), Some(&[10][..]));
        assert_eq!(t.restart(&id), None);
    }

    /// One simulated error answers every partition of an AddPartitionsToTxn, grouped by
    /// topic; a v1 client gets INVALID_PRODUCER_EPOCH for PRODUCER_FENCED.
    #[test]
    fn add_partitions_answers_each_partition() {
        let ctx = Ctx {
            partitions: vec![Tp::new("a", 0), Tp::new("b", 2), Tp::new("a", 1)],
            ..Ctx::default()
        };
        let r = AddPartitionsToTxnResponse {
            correlation_id: 1,
            error: ErrorCode::ProducerFenced,
            partition_errors: Vec::new(),
        };
        let out = add_partitions_response(&r, 3, &ctx);
        let topics = &out.results_by_topic_v3_and_below;
        assert_eq!(topics.len(), 2);
        assert_eq!(topics[0].results_by_partition.len(), 2);
        assert_eq!(topics[0].results_by_partition[1].partition_index, 1);
        assert_eq!(topics[1].results_by_partition[0].partition_error_code, 90);
        let old = add_partitions_response(&r, 1, &ctx);
        assert_eq!(
            old.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
            47
        );
    }
}
