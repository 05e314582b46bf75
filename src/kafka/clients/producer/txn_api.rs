//! The transactional calls of `KafkaProducer` (`initTransactions`, `beginTransaction`,
//! `sendOffsetsToTransaction`, `commitTransaction`, `abortTransaction`) and the glue that
//! lets the sender loop drive the [`TransactionManager`](super::transaction) — its requests
//! go out with the producer's correlation ids, its responses come back through `receive`.
//! `commitTransaction` and `abortTransaction` return later, as a [`TxnResult`].

use std::sync::Arc;

use super::transaction::{TxnClientState, TxnEffect, TxnResult};
use super::{Idempotence, Producer, ProducerTimer};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::Msg;
use crate::kafka::types::{Generation, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Context, Duration, Time};

impl Producer {
    /// `initTransactions()`: FindCoordinator, then InitProducerId (fencing older epochs).
    pub fn init_transactions(&mut self) -> Result<(), ErrorCode> {
        self.txn.as_mut().ok_or(ErrorCode::InvalidTxnState)?.init()
    }

    /// `beginTransaction()`: local only.
    pub fn begin_transaction(&mut self) -> Result<(), ErrorCode> {
        self.txn.as_mut().ok_or(ErrorCode::InvalidTxnState)?.begin()
    }

    /// `commitTransaction()`: returns later as a [`TxnResult`].
    pub fn commit_transaction(&mut self) -> Result<(), ErrorCode> {
        self.txn
            .as_mut()
            .ok_or(ErrorCode::InvalidTxnState)?
            .commit()
    }

    /// `abortTransaction()`: returns later as a [`TxnResult`].
    pub fn abort_transaction(&mut self) -> Result<(), ErrorCode> {
        self.txn.as_mut().ok_or(ErrorCode::InvalidTxnState)?.abort()
    }

    /// `sendOffsetsToTransaction(offsets, consumer.groupMetadata())`: `offsets` are the
    /// next offsets to read.
    pub fn send_offsets_to_transaction(
        &mut self,
        group: Arc<str>,
        offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
        generation: Generation,
        member: Arc<str>,
    ) -> Result<(), ErrorCode> {
        let tm = self.txn.as_mut().ok_or(ErrorCode::InvalidTxnState)?;
        tm.send_offsets(group, offsets, generation, member)
    }

    /// Numbers this producer's requests from `base` (produce and metadata) and `base + 2^29`
    /// (coordinator requests), apart from another client's in the same application.
    pub fn start_correlations_at(&mut self, base: crate::kafka::protocol::CorrelationId) {
        self.net.start_correlations_at(base);
        self.next_txn_correlation = base + (1 << 29);
    }

    /// The transaction state, `None` for a non-transactional producer.
    pub fn txn_state(&self) -> Option<TxnClientState> {
        self.txn.as_ref().map(|t| t.state)
    }

    /// The transaction manager (the workbench shows it).
    pub fn transaction_manager(&self) -> Option<&super::transaction::TransactionManager> {
        self.txn.as_deref()
    }

    /// Commits and aborts that returned since the last call.
    pub fn take_txn_results(&mut self) -> Vec<TxnResult> {
        std::mem::take(&mut self.txn_results)
    }

    /// A coordinator's response for the transaction manager.
    pub(super) fn receive_txn<C>(&mut self, cx: &mut C, msg: &Msg) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let backoff = Duration::from_ms(self.config.retry_backoff_ms);
        let now = cx.now();
        let Some(effect) = self
            .txn
            .as_mut()
            .and_then(|t| t.on_response(now, backoff, msg))
        else {
            return false;
        };
        self.apply_txn_effect(cx, effect);
        true
    }

    pub(super) fn apply_txn_effect<C>(&mut self, cx: &mut C, effect: TxnEffect)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let id = self
            .txn
            .as_ref()
            .map(|t| t.transactional_id.to_string())
            .unwrap_or_default();
        match effect {
            TxnEffect::None => {}
            TxnEffect::NewProducerId(pid, epoch) => {
                if let Some(idem) = self.idempotence.as_mut() {
                    *idem = Idempotence {
                        producer_id: Some((pid, epoch)),
                        ..Default::default()
                    };
                }
            }
            TxnEffect::Fenced(error) => cx.emit(KafkaEvent::ProducerFenced {
                transactional_id: id.clone(),
                error,
            }),
        }
        let results = self
            .txn
            .as_mut()
            .map(|t| t.take_results())
            .unwrap_or_default();
        for r in results {
            cx.emit(KafkaEvent::TxnEnded {
                transactional_id: id.clone(),
                committed: r.committed,
                error: r.error,
            });
            self.txn_results.push(r);
        }
    }

    /// Kafka's `Sender.maybeAbortBatches`: while a transaction is aborted after an
    /// abortable error, its batches not yet sent fail with that error instead of being
    /// sent to be aborted (those in flight are waited for).
    pub(super) fn maybe_abort_batches<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let Some(error) = self.txn.as_ref().and_then(|t| t.abort_undrained_with()) else {
            return;
        };
        let undrained: Vec<u64> = (self.accumulator.all())
            .filter(|b| !b.in_flight && !b.sent_once)
            .map(|b| b.id)
            .collect();
        for id in undrained {
            self.fail_batch(cx, id, error);
        }
    }

    /// The sender's transactional step: the next coordinator request, if one is due.
    pub(super) fn poll_transaction<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        if self.txn.is_none() {
            return;
        }
        let idle = self.outstanding == 0 && self.blocked.is_empty();
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        let nodes = self.metadata.nodes();
        let (net, metadata, tm) = (
            &mut self.net,
            &self.metadata,
            self.txn.as_mut().expect("checked"),
        );
        let mut pick = || net.least_loaded_node(&nodes, now, |n| metadata.in_flight_to(n));
        let mut next = self.next_txn_correlation;
        let mut cid = || {
            next += 1;
            next
        };
        let req = tm.poll(now, idle, timeout, &mut cid, &mut pick);
        self.next_txn_correlation = next;
        if let Some((node, msg)) = req {
            cx.send(node, msg);
        }
    }
}
