//! The sender (Kafka's `Sender` thread), run after every message and timer of the producer:
//!
//! 1. refresh metadata when asked to or when it is older than `metadata.max.age.ms`;
//! 2. with idempotence, obtain a producer id before anything is sent;
//! 3. close connections whose oldest request outlived `request.timeout.ms` — every request
//!    on them fails with NETWORK_EXCEPTION and its batches are retried;
//! 4. expire batches older than `delivery.timeout.ms`;
//! 5. let blocked `send()` calls into the accumulator, or fail them after `max.block.ms`;
//! 6. drain ready batches, one per partition, into one Produce request per leader, while
//!    that connection has fewer than `max.in.flight.requests.per.connection` unanswered and
//!    is not in its reconnect backoff (Kafka's `NetworkClient.ready`);
//! 7. arm one wake-up timer for the earliest deadline.
//!
//! Ordering with idempotence: a batch that carries a sequence is only (re)sent when it is
//! the lowest unacknowledged sequence of its partition, so retries reach the broker in order
//! and later batches queue behind them. Without idempotence a retry simply goes when its
//! backoff ends — and can land after a batch sent later (the classic reordering).
//!
//! Connections: kafkasim has no connection set-up, so a request sent to a dead broker is
//! lost with the refused connection (the client is told at once). For acks ≥ 1 that costs a
//! retry, as a connection dropping after the send would. For acks=0 it would lose the batch
//! silently where Kafka loses nothing — Kafka sends nothing before the new connection's
//! ApiVersions handshake is answered — so an acks=0 producer reconnecting to a node opens
//! the connection with an ApiVersions request and holds its batches until it is answered.

use rand::Rng as _;

use super::{BlockedSend, Idempotence, Producer, ProducerTimer};
use crate::kafka::config::Acks;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::RecordBatch;
use crate::kafka::types::{Offset, ProducerId, Sequence, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Time};

impl Producer {
    /// One pass of the sender loop.
    pub(super) fn poll<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        self.check_request_timeouts(cx, now);
        let cid = self.net.peek_correlation();
        let init = self.init_in_flight_node();
        let net = &mut self.net;
        let pick =
            |nodes: &[NodeId]| net.least_loaded_node(nodes, now, |n| usize::from(init == Some(n)));
        if let Some((node, req)) = self.metadata.poll(now, cid, pick) {
            self.net.next_correlation();
            cx.send(node, Msg::MetadataRequest(req));
        }
        self.maybe_init_producer_id(cx, now);
        self.poll_transaction(cx, now);
        self.maybe_abort_batches(cx);
        self.expire_batches(cx, now);
        self.settle_sequences();
        self.unblock_sends(cx, now);
        if self.ready_to_produce() {
            self.drain_and_send(cx, now);
        }
        self.arm_wakeup(cx);
    }

    fn ready_to_produce(&self) -> bool {
        self.idempotence
            .as_ref()
            .is_none_or(|i| i.producer_id.is_some())
    }

    fn maybe_init_producer_id<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        // A transactional producer gets its id from its coordinator (`transaction.rs`).
        let needs = self.txn.is_none()
            && self
                .idempotence
                .as_ref()
                .is_some_and(|i| i.producer_id.is_none() && i.init_in_flight.is_none());
        if !needs {
            return;
        }
        // InitProducerId goes to the least-loaded node (NetworkClient.leastLoadedNode).
        let nodes = self.metadata.nodes();
        let metadata = &self.metadata;
        let extra = |n| metadata.in_flight_to(n);
        let Some(node) = self.net.least_loaded_node(&nodes, now, extra) else {
            return;
        };
        let correlation_id = self.net.next_correlation();
        let idem = self.idempotence.as_mut().expect("checked");
        idem.init_in_flight = Some((correlation_id, node, now));
        cx.send(
            node,
            Msg::InitProducerIdRequest(InitProducerIdRequest {
                correlation_id,
                transactional_id: None,
                transaction_timeout_ms: 60_000,
            }),
        );
    }

    pub(super) fn on_init_producer_id_response<C>(
        &mut self,
        _cx: &mut C,
        r: &InitProducerIdResponse,
    ) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let Some(idem) = self.idempotence.as_mut() else {
            return false;
        };
        if idem.init_in_flight.map(|f| f.0) != Some(r.correlation_id) {
            return false;
        }
        idem.init_in_flight = None;
        if r.error.is_ok() {
            idem.producer_id = Some((r.producer_id, r.producer_epoch));
        } else {
            self.metadata.request_update(); // retried at the next poll, on another node
        }
        true
    }

    /// Settles unresolved sequences and bumps the epoch when due ([`super::sequences`];
    /// Kafka's `maybeResolveSequences` and `bumpIdempotentEpochAndResetIdIfNeeded`).
    fn settle_sequences(&mut self) {
        let Some(idem) = self.idempotence.as_mut() else {
            return;
        };
        idem.resolve_sequences();
        if self.txn.is_some() {
            // A transactional producer takes its new epoch from the coordinator after the
            // abort its error forces (`transaction.rs`), never locally.
            idem.bump_required = false;
            return;
        }
        if idem.bump_epoch_if_needed() {
            self.reset_producer_id();
        }
    }

    /// Forgets the producer id and every sequence: a new id is fetched (only when the epoch
    /// is exhausted, or the broker forgot us). Queued batches are renumbered at drain.
    fn reset_producer_id(&mut self) {
        if let Some(idem) = self.idempotence.as_mut() {
            *idem = Idempotence::default();
        }
        let queued: Vec<u64> = self
            .accumulator
            .partitions()
            .flat_map(|tp| self.accumulator.queued_batches(tp))
            .collect();
        for id in queued {
            if let Some(b) = self.accumulator.get_mut(id) {
                b.base_sequence = None;
            }
        }
    }

    /// Closes connections with a request older than `request.timeout.ms`.
    fn check_request_timeouts<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        let mut expired = self.net.timed_out_nodes(now);
        if let Some(node) = self.metadata.check_timeout(now) {
            expired.push(node);
        }
        if let Some(idem) = self.idempotence.as_mut() {
            if let Some((_, node, sent)) = idem.init_in_flight {
                if now >= sent + timeout {
                    idem.init_in_flight = None;
                    expired.push(node);
                }
            }
        }
        expired.sort();
        expired.dedup();
        for node in expired {
            self.disconnect(cx, node, now, true);
        }
    }

    /// The connection to `node` is gone (we close it after a timeout: `close`; or we were
    /// told it closed): requests on it will never be answered, their batches fail with
    /// NETWORK_EXCEPTION (retriable) — though the broker may have them.
    pub(super) fn disconnect<C>(&mut self, cx: &mut C, node: NodeId, now: Time, close: bool)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        if close {
            cx.close_connection(node);
        }
        self.net.on_closed(node, now);
        self.metadata.on_disconnect(node, now);
        self.init_producer_id_lost(node);
        if let Some(tm) = self.txn.as_mut() {
            tm.lost(node);
        }
        for req in self.net.take_requests_to(node) {
            for id in req.what {
                self.on_batch_error(cx, id, ErrorCode::NetworkException, now);
            }
        }
    }

    /// Fails every batch older than `delivery.timeout.ms`, queued or in flight.
    fn expire_batches<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let limit = Duration::from_ms(self.config.delivery_timeout_ms);
        // Batch ids grow with creation time, so the expired ones are a prefix.
        let expired: Vec<_> = self
            .accumulator
            .all()
            .take_while(|b| now >= b.created + limit)
            .map(|b| (b.id, b.in_flight, numbered(b)))
            .collect();
        for (id, was_in_flight, numbered) in expired {
            if was_in_flight {
                for r in self.net.requests_mut() {
                    r.what.retain(|b| *b != id); // a late response must not complete it twice
                }
            }
            self.fail_batch(cx, id, ErrorCode::RequestTimedOut);
            // It was sent under its sequence, so the broker may or may not have it: the
            // sequence is unresolved (no renumbering, no bump until it settles).
            if let (Some(idem), Some((tp, last))) = (self.idempotence.as_mut(), numbered) {
                idem.mark_unresolved(&tp, last);
            }
        }
    }

    /// Lets blocked sends into the accumulator, in order, as metadata and memory allow.
    fn unblock_sends<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        while let Some(s) = self.blocked.front() {
            if now >= s.deadline {
                let s = self.blocked.pop_front().expect("front");
                self.complete(s.record.value, Err(ErrorCode::RequestTimedOut), false);
                continue;
            }
            let Some(n) = self.metadata.partition_count(&s.topic) else {
                return;
            };
            if !self.append(cx, n) {
                return;
            }
        }
    }

    /// Appends the first blocked send; false if the buffer is full.
    fn append<C>(&mut self, cx: &mut C, partitions: u32) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let BlockedSend { topic, record, .. } =
            self.blocked.front().expect("caller checked").clone();
        let available = self.metadata.available(&topic);
        let p = self.partitioner.partition(
            topic,
            record.key.as_deref(),
            partitions,
            available,
            cx.rng(),
        );
        let tp = TopicPartition {
            topic,
            partition: p,
        };
        let bytes = super::accumulator::record_bytes(&record) as u64;
        if !self.accumulator.try_append(&tp, record, cx.now()) {
            return false;
        }
        if let Some(tm) = self.txn.as_mut() {
            tm.on_append(&tp);
        }
        self.blocked.pop_front();
        self.partitioner
            .on_append(topic, p, bytes, partitions, available, cx.rng());
        true
    }
}

/// A numbered batch's partition and last sequence.
fn numbered(b: &super::accumulator::ProducerBatch) -> Option<(TopicPartition, Sequence)> {
    let base = b.base_sequence?;
    Some((b.tp.clone(), base.plus(b.records.len() as i64 - 1)))
}

/// Errors after which the broker certainly did not append the batch.
fn definitely_not_appended(e: ErrorCode) -> bool {
    matches!(
        e,
        ErrorCode::NotLeaderOrFollower
            | ErrorCode::LeaderNotAvailable
            | ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::MessageTooLarge
            | ErrorCode::InvalidRecord
            | ErrorCode::CorruptMessage
            | ErrorCode::OutOfOrderSequenceNumber
            | ErrorCode::InvalidProducerEpoch
            | ErrorCode::UnknownProducerId
            | ErrorCode::InvalidRequiredAcks
            | ErrorCode::FencedLeaderEpoch
    )
}

impl Producer {
    /// Drains ready batches into one Produce request per leader.
    fn drain_and_send<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        // Pick the ready head batch of each partition whose leader can take a request
        // (partitions in order; a node already picked takes more batches in the same request).
        let max_in_flight = self.config.max_in_flight_requests_per_connection as usize;
        let mut picked = std::mem::take(&mut self.picked);
        picked.clear();
        let mut leader_unknown = false;
        let mut backoff_wake = None;
        let mut handshakes = Vec::new();
        for tp in self.accumulator.partitions() {
            let Some((node, _)) = self.metadata.leader(tp) else {
                leader_unknown = true;
                continue;
            };
            if let Some(until) = self.net.backoff_until(node, now) {
                // reconnect backoff: not ready; wake up when it ends
                backoff_wake = Some(backoff_wake.map_or(until, |w: Time| w.min(until)));
                continue;
            }
            if self.config.acks == Acks::Zero && self.net.needs_reconnect(node) {
                // not ready until the new connection's handshake is answered
                if !handshakes.contains(&node) {
                    handshakes.push(node);
                }
                continue;
            }
            if !picked.iter().any(|(n, _)| *n == node)
                && self.net.in_flight_to(node) >= max_in_flight
            {
                continue;
            }
            if self.txn.as_ref().is_some_and(|t| !t.may_send(tp)) {
                continue; // not yet added to the transaction (AddPartitionsToTxn)
            }
            let Some(b) = self.accumulator.head_ready(tp, now) else {
                continue;
            };
            let may_number = self.idempotence.as_ref().is_none_or(|i| i.may_number(tp));
            if b.base_sequence.is_none() && !may_number {
                continue; // a sequence is unresolved or an epoch bump pending
            }
            if self.sequence_allows(tp, b.base_sequence) {
                picked.push((node, b.id));
            }
        }
        if leader_unknown {
            self.metadata.request_update();
        }
        self.backoff_wake = backoff_wake;
        for node in handshakes {
            self.send_api_versions(cx, node, now);
        }
        if picked.is_empty() {
            self.picked = picked;
            return;
        }
        for &(_, id) in &picked {
            self.accumulator.pop_batch(id);
            self.assign_sequence(id);
        }
        // One request per node, nodes in id order, batches in partition order.
        picked.sort_by_key(|&(node, _)| node);
        let mut rest = &picked[..];
        while let Some(&(node, _)) = rest.first() {
            let n = rest.iter().take_while(|(m, _)| *m == node).count();
            let ids = rest[..n].iter().map(|&(_, id)| id).collect();
            self.send_produce(cx, node, ids, now);
            rest = &rest[n..];
        }
        self.picked = picked;
    }

    /// Opens a new connection to `node` the way Kafka's `NetworkClient` does: an ApiVersions
    /// request first, nothing else until it is answered (one at a time per node). Only the
    /// acks=0 producer waits for it (see the module notes): a Produce request on a connection
    /// the broker refuses is lost with the connection, and with acks=0 nobody would notice.
    fn send_api_versions<C>(&mut self, cx: &mut C, node: NodeId, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        if self.net.in_flight_to(node) > 0 {
            return; // the handshake is under way
        }
        let correlation_id = self.net.next_correlation();
        cx.send(
            node,
            Msg::ApiVersionsRequest(ApiVersionsRequest { correlation_id }),
        );
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        self.net
            .track(correlation_id, node, now, timeout, Vec::new());
    }

    /// Idempotence: a numbered batch goes only when it is the lowest unacknowledged one.
    fn sequence_allows(&self, tp: &TopicPartition, seq: Option<Sequence>) -> bool {
        let (Some(idem), Some(seq)) = (self.idempotence.as_ref(), seq) else {
            return true;
        };
        idem.in_flight
            .get(tp)
            .and_then(|s| s.first())
            .is_none_or(|&first| first == seq)
    }

    fn assign_sequence(&mut self, id: u64) {
        let Some(idem) = self.idempotence.as_mut() else {
            return;
        };
        let (pid, epoch) = idem.producer_id.expect("drain waits for a producer id");
        let b = self.accumulator.get_mut(id).expect("batch");
        if b.base_sequence.is_some() {
            return;
        }
        let next = idem
            .next_sequence
            .entry(b.tp.clone())
            .or_insert(Sequence(0));
        b.base_sequence = Some(*next);
        b.producer_id = pid;
        b.producer_epoch = epoch;
        idem.in_flight
            .entry(b.tp.clone())
            .or_default()
            .insert(*next);
        *next = next.plus(b.records.len() as i64);
    }

    fn send_produce<C>(&mut self, cx: &mut C, node: NodeId, ids: Vec<u64>, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let correlation_id = self.net.next_correlation();
        let mut records = 0;
        let partitions = ids
            .iter()
            .map(|id| {
                let b = self.accumulator.get(*id).expect("batch");
                records += b.records.len();
                let mut rb =
                    RecordBatch::new(&b.records[..]).compressed(self.config.compression_type);
                rb.producer_id = b.producer_id;
                rb.producer_epoch = b.producer_epoch;
                rb.base_sequence = b.base_sequence.unwrap_or(Sequence::NONE);
                rb.is_transactional = self.txn.is_some();
                (b.tp.clone(), std::sync::Arc::new(rb))
            })
            .collect();
        self.metrics.on_send(records);
        cx.send(
            node,
            Msg::ProduceRequest(ProduceRequest {
                correlation_id,
                acks: self.config.acks.as_i16(),
                timeout_ms: self.config.request_timeout_ms,
                transactional_id: self.config.transactional_id.clone(),
                transaction_version: (self.txn.as_ref())
                    .map_or(TransactionVersion::TV_1, |t| t.request_version()),
                partitions,
            }),
        );
        if self.config.acks == Acks::Zero {
            // acks=0: no response will come; "sent" is all the producer ever learns.
            for id in ids {
                self.succeed_batch(cx, id, Offset::UNKNOWN);
            }
            return;
        }
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        self.net.track(correlation_id, node, now, timeout, ids);
    }

    pub(super) fn on_produce_response<C>(&mut self, cx: &mut C, r: &ProduceResponse) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let Some(req) = self.net.complete(r.correlation_id) else {
            return false;
        };
        let now = cx.now();
        self.metrics.on_response(now - req.sent);
        for id in req.what {
            let Some(tp) = self.accumulator.get(id).map(|b| b.tp.clone()) else {
                continue;
            };
            let p = r.partitions.iter().find(|p| p.tp == tp);
            match p.map(|p| (p.error, p.base_offset)) {
                Some((ErrorCode::None, base)) => self.succeed_batch(cx, id, base),
                // Legacy brokers: a duplicate of an appended batch; success, offset unknown.
                Some((ErrorCode::DuplicateSequenceNumber, _)) => {
                    self.succeed_batch(cx, id, Offset::UNKNOWN)
                }
                Some((e, _)) => self.on_batch_error(cx, id, e, now),
                None => self.on_batch_error(cx, id, ErrorCode::UnknownServerError, now),
            }
        }
        true
    }

    fn succeed_batch<C>(&mut self, cx: &mut C, id: u64, base_offset: Offset)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let b = self.accumulator.complete(id).expect("batch");
        self.forget_sequence(&b.tp, b.producer_id, b.base_sequence, true, b.records.len());
        if cx.tracing() {
            cx.emit(KafkaEvent::ProduceAcked {
                tp: b.tp.clone(),
                base_offset,
                records: b.records.len() as u32,
            });
        }
        let unconfirmed = self.config.acks == Acks::Zero;
        for (i, r) in b.records.iter().enumerate() {
            let offset = if base_offset < Offset::ZERO {
                Offset::UNKNOWN
            } else {
                base_offset + i as i64
            };
            self.complete(r.value, Ok((b.tp.clone(), offset)), unconfirmed);
        }
    }

    /// Removes a finished batch's sequence from the in-flight set (only for the current id).
    fn forget_sequence(
        &mut self,
        tp: &TopicPartition,
        pid: ProducerId,
        seq: Option<Sequence>,
        acked: bool,
        len: usize,
    ) {
        let Some(idem) = self.idempotence.as_mut() else {
            return;
        };
        let (Some((current, _)), Some(seq)) = (idem.producer_id, seq) else {
            return;
        };
        if current != pid {
            return;
        }
        if let Some(set) = idem.in_flight.get_mut(tp) {
            set.remove(&seq);
        }
        if acked {
            idem.last_acked.insert(tp.clone(), seq.plus(len as i64 - 1));
        }
    }

    /// Decides between retry and failure for a batch that came back with `error`.
    fn on_batch_error<C>(&mut self, cx: &mut C, id: u64, error: ErrorCode, now: Time)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        if error.needs_metadata_refresh() {
            self.metadata.request_update();
        }
        let current = self
            .idempotence
            .as_ref()
            .and_then(|i| i.producer_id)
            .map(|p| p.0);
        let Some(b) = self.accumulator.get_mut(id) else {
            return;
        };
        b.ambiguous |= !definitely_not_appended(error);
        let expired = now >= b.created + Duration::from_ms(self.config.delivery_timeout_ms);
        let stale_pid = b.base_sequence.is_some() && Some(b.producer_id) != current;
        let (tp, seq) = (b.tp.clone(), b.base_sequence);
        let (retriable, unnumber) = self.sequence_error(&tp, seq, error);
        let b = self.accumulator.get_mut(id).expect("batch");
        if !(retriable && b.attempts < self.config.retries && !expired) {
            let (ambiguous, numbered) = (b.ambiguous, numbered(b));
            self.fail_batch(cx, id, error);
            if let (Some(idem), Some((tp, last))) = (self.idempotence.as_mut(), numbered) {
                if ambiguous {
                    idem.mark_unresolved(&tp, last); // it may be in the log: wait and see
                } else {
                    idem.bump_required = true; // a hole in the sequence
                }
            }
            return;
        }
        b.attempts += 1;
        let attempts = b.attempts;
        let renumber = stale_pid
            || self
                .idempotence
                .as_ref()
                .is_some_and(|i| i.producer_id.is_none());
        if renumber || unnumber {
            if let (Some(idem), Some(seq)) = (self.idempotence.as_mut(), seq) {
                if let Some(set) = idem.in_flight.get_mut(&tp) {
                    set.remove(&seq);
                }
            }
            let b = self.accumulator.get_mut(id).expect("batch");
            b.base_sequence = None; // not appended: numbered again after the bump
        }
        let backoff = self.backoff(cx, attempts);
        let records = self
            .accumulator
            .get(id)
            .map_or(0, |b| b.records.len() as u32);
        if unnumber {
            self.accumulator.requeue_unnumbered(id, now + backoff);
        } else {
            self.accumulator.reenqueue(id, now + backoff);
        }
        cx.emit(KafkaEvent::ProduceFailed {
            tp,
            error,
            records,
            will_retry: true,
        });
    }

    /// What a sequence error means for idempotence (`TransactionManager.canRetry`):
    /// (retriable, the batch was not appended and loses its sequence).
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for a batch that arrived "too early" (an earlier one
    /// failed and will be retried) is retried in order; for the next expected batch, or
    /// while a sequence is unresolved or a bump pending, it is a gap: bump the epoch and
    /// number the batch again. UNKNOWN_PRODUCER_ID: the broker has no state for us; bump.
    fn sequence_error(
        &mut self,
        tp: &TopicPartition,
        seq: Option<Sequence>,
        error: ErrorCode,
    ) -> (bool, bool) {
        let Some(idem) = self.idempotence.as_mut().filter(|_| seq.is_some()) else {
            let retriable = error != ErrorCode::OutOfOrderSequenceNumber && error.is_retriable();
            return (retriable, false);
        };
        match error {
            ErrorCode::OutOfOrderSequenceNumber => {
                let last = idem.last_acked.get(tp).copied().unwrap_or(Sequence::NONE);
                let next_expected = seq == Some(last.plus(1));
                let gap = next_expected || idem.bump_required || idem.unresolved.contains_key(tp);
                idem.bump_required |= gap;
                (true, gap)
            }
            ErrorCode::UnknownProducerId => {
                idem.bump_required = true;
                (true, true)
            }
            e => (e.is_retriable(), false),
        }
    }

    /// `retry.backoff.ms * 2^(attempts-1)`, capped at `retry.backoff.max.ms`, ±20 % jitter
    /// (KIP-580), integer maths only.
    fn backoff<C>(&self, cx: &mut C, attempts: u32) -> Duration
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let base = self.config.retry_backoff_ms.max(1);
        let exp = base.saturating_mul(1u64 << (attempts.saturating_sub(1)).min(20));
        let capped = exp.min(self.config.retry_backoff_max_ms);
        let jitter_pct = cx.rng().gen_range(80..=120u64);
        Duration::from_us(capped * 1_000 * jitter_pct / 100)
    }

    /// Reports a batch as failed to the application.
    pub(super) fn fail_batch<C>(&mut self, cx: &mut C, id: u64, error: ErrorCode)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let Some(b) = self.accumulator.complete(id) else {
            return;
        };
        self.forget_sequence(
            &b.tp,
            b.producer_id,
            b.base_sequence,
            false,
            b.records.len(),
        );
        cx.emit(KafkaEvent::ProduceFailed {
            tp: b.tp.clone(),
            error,
            records: b.records.len() as u32,
            will_retry: false,
        });
        if let Some(tm) = self.txn.as_mut() {
            let effect = tm.on_batch_failed(error);
            self.apply_txn_effect(cx, effect);
        }
        let maybe = b.ambiguous || (b.in_flight && !definitely_not_appended(error));
        for r in &b.records {
            self.complete(r.value, Err(error), maybe);
        }
        // The caller decides what the lost sequence means (`sequences.rs`): unresolved if
        // the batch may be in the log, a hole (epoch bump) if it is not.
    }

    /// Arms the single wake-up timer for the earliest future deadline.
    fn arm_wakeup<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        let delivery = Duration::from_ms(self.config.delivery_timeout_ms);
        let init = self
            .idempotence
            .as_ref()
            .and_then(|i| i.init_in_flight)
            .map(|(_, _, sent)| sent + timeout);
        // Past deadlines blocked on something else are handled when that something arrives.
        let Some(at) = self
            .accumulator
            .next_ready_time(now)
            .into_iter()
            .chain(self.metadata.next_deadline())
            .chain(self.net.deadlines())
            .chain(self.backoff_wake)
            .chain(self.accumulator.all().next().map(|b| b.created + delivery))
            .chain(self.blocked.front().map(|s| s.deadline))
            .chain(init)
            .chain(self.txn.as_ref().and_then(|t| t.next_deadline(timeout)))
            .filter(|&t| t > now)
            .min()
        else {
            return;
        };
        self.wakeup.arm(cx, at, ProducerTimer::Wakeup);
    }
}
