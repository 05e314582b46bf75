//! The partition leader asks the transaction coordinator before it appends a transactional
//! batch (KIP-890, Kafka's `AddPartitionsToTxnManager` and
//! `ReplicaManager.appendRecords` with its `postVerificationCallback`).
//!
//! The problem it solves, a **hanging transaction**: a transactional Produce is delayed in
//! the network; the producer gives up on it, aborts, and the coordinator writes the ABORT
//! markers. Then the old Produce arrives. Without a check the leader appends it, which
//! opens a transaction in the partition that no coordinator knows about: no marker will
//! ever close it, and the last stable offset stays there — every read_committed reader of
//! the partition stops at it, or a later marker of the same producer "commits" the stray
//! records.
//!
//! The check: a transactional batch whose producer has no transaction open in the
//! partition at this epoch (`has_ongoing_transaction`) is held while the leader sends
//! AddPartitionsToTxn to the id's coordinator:
//!
//! * **verify-only** (transaction version 1, `transaction.partition.verification.enable`,
//!   KIP-890 part 1): the coordinator answers whether the partition is in the ongoing
//!   transaction of this producer id and epoch; if not (TRANSACTION_ABORTABLE) the batch
//!   is refused with **INVALID_TXN_STATE**, nothing written;
//! * **add** (transaction version 2, Produce v12+, KIP-890 part 2): the client sends no
//!   AddPartitionsToTxn of its own; the leader's request adds the partition.
//!
//! A coordinator's PRODUCER_FENCED reaches the producer as INVALID_PRODUCER_EPOCH, and a
//! coordinator that cannot answer yet (CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, no
//! answer) as NOT_ENOUGH_REPLICAS, which every client retries without a metadata refresh.
//! With version 2 a CONCURRENT_TRANSACTIONS (the previous transaction's markers are still
//! being written) is retried by the leader itself every `add.partitions.to.txn.retry.
//! backoff.ms` (20 ms) for up to `add.partitions.to.txn.retry.backoff.max.ms` (100 ms,
//! Kafka 4.0's `AddPartitionsToTxnConfig` defaults, fixed in kafkasim) before the producer
//! is told.
//! A marker for the producer written to the partition while the question is out voids the
//! answer (Kafka's `VerificationGuard`): the batch is refused, as it would start a new
//! transaction behind the coordinator's back.

use std::collections::BTreeMap;

use super::{Broker, BrokerCx, BrokerTimer};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::types::{ProducerEpoch, ProducerId, TopicPartition};
use crate::sim::{Duration, NodeId, Peer, Time, TimerId};

/// A Produce held while the coordinator is asked.
/// Kafka 4.0's `add.partitions.to.txn.retry.backoff.ms` and `….max.ms` defaults.
const ADD_RETRY_BACKOFF: Duration = Duration::from_ms(20);
const ADD_RETRY_MAX: Duration = Duration::from_ms(100);

/// What waits for the coordinator's answer.
#[derive(Clone, Debug)]
enum Held {
    Produce(ProduceRequest),
    /// A TxnOffsetCommit v5+: its `__consumer_offsets` partition is being added.
    TxnOffsetCommit(TxnOffsetCommitRequest),
}

#[derive(Clone, Debug)]
struct Verifying {
    from: Peer,
    held: Held,
    ask: AddPartitionsToTxnRequest,
    first_sent: Time,
    /// Waiting out the retry back-off (the timer resends instead of timing out).
    resend: bool,
    timeout: Duration,
    node: NodeId,
    /// The partitions asked about, with the guard each got.
    partitions: Vec<(TopicPartition, ProducerId, u64)>,
    timer: TimerId,
}

/// The leader's verifications in progress.
#[derive(Clone, Debug, Default)]
pub struct TxnVerifications {
    next_guard: u64,
    pending: BTreeMap<CorrelationId, Verifying>,
    /// (partition, producer id, epoch) → the guard of its verification in progress.
    guards: BTreeMap<(TopicPartition, ProducerId, ProducerEpoch), u64>,
}

impl TxnVerifications {
    /// A marker for `producer_id` was written to `tp`: answers in flight are void.
    pub fn on_marker(&mut self, tp: &TopicPartition, producer_id: ProducerId) {
        self.guards
            .retain(|(t, p, _), _| !(t == tp && *p == producer_id));
    }
}

/// How the leader passes a coordinator's answer on to the producer
/// (`AddPartitionsToTxnManager` and `ReplicaManager.postVerificationCallback`).
fn produce_error(coordinator: ErrorCode) -> ErrorCode {
    match coordinator {
        ErrorCode::TransactionAbortable => ErrorCode::InvalidTxnState,
        ErrorCode::ProducerFenced => ErrorCode::InvalidProducerEpoch,
        ErrorCode::ConcurrentTransactions
        | ErrorCode::NetworkException
        | ErrorCode::CoordinatorLoadInProgress
        | ErrorCode::CoordinatorNotAvailable
        | ErrorCode::NotCoordinator => ErrorCode::NotEnoughReplicas,
        e => e,
    }
}

impl Broker {
    /// The cluster's `transaction.version` feature level.
    pub(crate) fn transaction_version(&self) -> TransactionVersion {
        TransactionVersion(self.config.transaction_version as u8)
    }

    /// Starts the verification a Produce needs; gives the request back if it needs none.
    pub(super) fn maybe_verify(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: ProduceRequest,
    ) -> Option<ProduceRequest> {
        let Some(id) = req.transactional_id.clone() else {
            return Some(req);
        };
        let add = req.transaction_version.supports_epoch_bump();
        if !add && !self.config.transaction_partition_verification_enable {
            return Some(req);
        }
        let mut todo = Vec::new();
        let (mut pid, mut epoch) = (ProducerId::NONE, ProducerEpoch::NONE);
        for (tp, b) in &req.partitions {
            let Some(p) = self.partitions.get(tp).filter(|p| p.is_leader()) else {
                continue; // the append answers NOT_LEADER_OR_FOLLOWER
            };
            if !b.is_transactional || b.is_control {
                continue;
            }
            if !p
                .log
                .has_ongoing_transaction(b.producer_id, b.producer_epoch)
            {
                todo.push(tp.clone());
                (pid, epoch) = (b.producer_id, b.producer_epoch);
            }
        }
        if todo.is_empty() {
            return Some(req);
        }
        let Some(node) = self.txn_coordinator_node(&id) else {
            let errors = todo
                .into_iter()
                .map(|tp| (tp, produce_error(ErrorCode::CoordinatorNotAvailable)))
                .collect();
            self.append_produce(cx, from, req, errors);
            return None;
        };
        let v = &mut self.txn_verifications;
        let mut partitions = Vec::with_capacity(todo.len());
        for tp in &todo {
            // One guard per producer and partition, shared by every request waiting.
            let guard = *v.guards.entry((tp.clone(), pid, epoch)).or_insert_with(|| {
                v.next_guard += 1;
                v.next_guard
            });
            partitions.push((tp.clone(), pid, guard));
        }
        let ask = AddPartitionsToTxnRequest {
            correlation_id: self.correlation(),
            transactional_id: id,
            producer_id: pid,
            producer_epoch: epoch,
            partitions: todo,
            verify_only: !add,
        };
        let timeout = Duration::from_ms(req.timeout_ms.max(1));
        self.ask_coordinator(cx, from, Held::Produce(req), ask, node, partitions, timeout);
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn ask_coordinator(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        held: Held,
        ask: AddPartitionsToTxnRequest,
        node: NodeId,
        partitions: Vec<(TopicPartition, ProducerId, u64)>,
        timeout: Duration,
    ) {
        let correlation_id = ask.correlation_id;
        cx.send(node, Msg::AddPartitionsToTxnRequest(ask.clone()));
        let timer = cx.set_timer(timeout, BrokerTimer::TxnVerification { correlation_id });
        let v = Verifying {
            from,
            held,
            ask,
            first_sent: cx.now(),
            resend: false,
            node,
            partitions,
            timer,
            timeout,
        };
        self.txn_verifications.pending.insert(correlation_id, v);
    }

    /// TxnOffsetCommit v5+ (transaction version 2): the group's `__consumer_offsets`
    /// partition is added to the transaction first (Kafka 4.0's group coordinator does
    /// this through the same `AddPartitionsToTxnManager`).
    pub(crate) fn on_txn_offset_commit(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        r: TxnOffsetCommitRequest,
    ) {
        if !r.transaction_version.supports_epoch_bump() {
            return self.on_group_request(cx, from, Msg::txn_offset_commit(r));
        }
        let p = crate::kafka::broker::group_coordinator::offsets_partition_for(
            &r.group_id,
            self.config.offsets_topic_num_partitions,
        );
        let tp = TopicPartition::new(crate::kafka::controller::CONSUMER_OFFSETS, p);
        let Some(node) = self.txn_coordinator_node(&r.transactional_id) else {
            return self.answer_txn_offset_commit(cx, from, &r, ErrorCode::CoordinatorNotAvailable);
        };
        let ask = AddPartitionsToTxnRequest {
            correlation_id: self.correlation(),
            transactional_id: r.transactional_id.clone(),
            producer_id: r.producer_id,
            producer_epoch: r.producer_epoch,
            partitions: vec![tp.clone()],
            verify_only: false,
        };
        let partitions = vec![(tp, r.producer_id, 0)];
        let timeout = Duration::from_ms(30_000);
        self.ask_coordinator(
            cx,
            from,
            Held::TxnOffsetCommit(r),
            ask,
            node,
            partitions,
            timeout,
        );
    }

    fn answer_txn_offset_commit(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        r: &TxnOffsetCommitRequest,
        error: ErrorCode,
    ) {
        let partitions = r
            .offsets
            .iter()
            .map(|(tp, _, _)| (tp.clone(), error))
            .collect();
        let resp = TxnOffsetCommitResponse {
            correlation_id: r.correlation_id,
            partitions,
        };
        cx.reply(from, Msg::TxnOffsetCommitResponse(resp));
    }

    /// The node of the coordinator of `transactional_id`: the leader of its
    /// `__transaction_state` partition in this broker's metadata image.
    fn txn_coordinator_node(&self, transactional_id: &str) -> Option<NodeId> {
        let tp = self.txn_state_partition(transactional_id);
        let leader = self.metadata.partitions.get(&tp).and_then(|p| p.leader)?;
        self.metadata.node_of(leader)
    }

    /// The coordinator answered: the held Produce goes on, its refused partitions failed.
    pub(crate) fn on_verification_response(
        &mut self,
        cx: &mut BrokerCx<'_>,
        r: AddPartitionsToTxnResponse,
    ) {
        let Some(v) = self.txn_verifications.pending.remove(&r.correlation_id) else {
            return;
        };
        cx.cancel_timer(v.timer);
        let add = !v.ask.verify_only;
        let retry = add && r.error == ErrorCode::ConcurrentTransactions;
        if retry && cx.now() < v.first_sent + ADD_RETRY_MAX {
            let mut v = v;
            v.resend = true;
            let correlation_id = r.correlation_id;
            v.timer = cx.set_timer(
                ADD_RETRY_BACKOFF,
                BrokerTimer::TxnVerification { correlation_id },
            );
            self.txn_verifications.pending.insert(correlation_id, v);
            return;
        }
        let answer = |tp: &TopicPartition| {
            r.partition_errors
                .iter()
                .find(|(t, _)| t == tp)
                .map_or(r.error, |(_, e)| *e)
        };
        let verdicts = v
            .partitions
            .iter()
            .map(|(tp, pid, guard)| (tp.clone(), *pid, *guard, answer(tp)))
            .collect();
        self.finish_verification(cx, v, verdicts);
    }

    /// No answer in time, or the connection to the coordinator closed.
    pub(crate) fn on_verification_timeout(&mut self, cx: &mut BrokerCx<'_>, cid: CorrelationId) {
        if let Some(v) = self
            .txn_verifications
            .pending
            .get_mut(&cid)
            .filter(|v| v.resend)
        {
            v.resend = false;
            cx.send(v.node, Msg::AddPartitionsToTxnRequest(v.ask.clone()));
            let after = v.timeout;
            v.timer = cx.set_timer(
                after,
                BrokerTimer::TxnVerification {
                    correlation_id: cid,
                },
            );
            return;
        }
        if let Some(v) = self.txn_verifications.pending.remove(&cid) {
            let verdicts = (v.partitions.iter())
                .map(|(tp, pid, g)| (tp.clone(), *pid, *g, ErrorCode::NetworkException))
                .collect();
            self.finish_verification(cx, v, verdicts);
        }
    }

    pub(crate) fn on_verification_disconnect(&mut self, cx: &mut BrokerCx<'_>, node: NodeId) {
        let lost: Vec<CorrelationId> = (self.txn_verifications.pending.iter())
            .filter(|(_, v)| v.node == node)
            .map(|(c, _)| *c)
            .collect();
        for cid in lost {
            if let Some(v) = self.txn_verifications.pending.get(&cid) {
                cx.cancel_timer(v.timer);
            }
            self.on_verification_timeout(cx, cid);
        }
    }

    fn finish_verification(
        &mut self,
        cx: &mut BrokerCx<'_>,
        v: Verifying,
        verdicts: Vec<(TopicPartition, ProducerId, u64, ErrorCode)>,
    ) {
        let req = match v.held {
            Held::Produce(req) => req,
            Held::TxnOffsetCommit(r) => {
                let answer = verdicts.first().map_or(ErrorCode::None, |x| x.3);
                // `GroupCoordinatorService`: errors a client retries by finding the
                // coordinator again; PRODUCER_FENCED and the rest as they are.
                let error = match produce_error(answer) {
                    ErrorCode::NotEnoughReplicas => ErrorCode::CoordinatorNotAvailable,
                    ErrorCode::InvalidProducerEpoch => ErrorCode::ProducerFenced,
                    e => e,
                };
                if error.is_ok() {
                    return self.on_group_request(cx, v.from, Msg::txn_offset_commit(r));
                }
                return self.answer_txn_offset_commit(cx, v.from, &r, error);
            }
        };
        let mut errors = Vec::new();
        for (tp, pid, guard, answer) in verdicts {
            let epoch = (req.partitions.iter())
                .find(|(t, _)| *t == tp)
                .map_or(ProducerEpoch::NONE, |(_, b)| b.producer_epoch);
            // The guard lives until the producer's next marker here (Kafka's
            // `VerificationStateEntry`), so every request that shares it may append.
            let key = (tp.clone(), pid, epoch);
            let guarded = self.txn_verifications.guards.get(&key) == Some(&guard);
            let open = (self.partitions.get(&tp))
                .is_some_and(|p| p.log.has_ongoing_transaction(pid, epoch));
            let error = match produce_error(answer) {
                // A marker came in meanwhile: the transaction asked about is over.
                ErrorCode::None if !guarded && !open => ErrorCode::InvalidTxnState,
                e => e,
            };
            cx.emit(KafkaEvent::TxnPartitionVerified {
                tp: tp.clone(),
                producer_id: pid,
                added: req.transaction_version.supports_epoch_bump(),
                error,
            });
            if !error.is_ok() {
                errors.push((tp, error));
            }
        }
        self.append_produce(cx, v.from, req, errors);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinator_answers_reach_the_producer_as_kafka_translates_them() {
        // Proves the AddPartitionsToTxnManager / postVerificationCallback translation.
        assert_eq!(
            produce_error(ErrorCode::TransactionAbortable),
            ErrorCode::InvalidTxnState
        );
        assert_eq!(
            produce_error(ErrorCode::ProducerFenced),
            ErrorCode::InvalidProducerEpoch
        );
        for e in [
            ErrorCode::ConcurrentTransactions,
            ErrorCode::NotCoordinator,
            ErrorCode::NetworkException,
        ] {
            assert_eq!(produce_error(e), ErrorCode::NotEnoughReplicas);
        }
        assert_eq!(produce_error(ErrorCode::None), ErrorCode::None);
    }
}
