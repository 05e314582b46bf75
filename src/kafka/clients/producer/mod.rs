//! The producer client (`KafkaProducer`), sans-IO: a component an application node embeds.
//!
//! `send()` never talks to the network. It picks a partition (the [`partitioner`]), appends
//! to that partition's batch in the [`accumulator`], and returns. The [`sender`] — in Kafka a
//! background I/O thread, here code run on every message and timer — fetches metadata,
//! drains ready batches into one Produce request per leader broker (at most
//! `max.in.flight.requests.per.connection` unanswered per connection), retries retriable
//! errors with exponential backoff, closes a connection whose request got no answer within
//! `request.timeout.ms` (a late answer on it is then lost, and the retry may duplicate the
//! batch), and gives up on a batch after `delivery.timeout.ms`. With `enable.idempotence`
//! it first obtains a producer id (InitProducerId) and numbers each partition's records, so
//! the leader can drop duplicates and refuse gaps.
//!
//! Results come back as data: the application drains [`Completion`]s — Kafka's callbacks.

pub mod accumulator;
pub mod metrics;
pub mod partitioner;
pub mod sender;
mod sequences;
pub mod transaction;
mod txn_api;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use accumulator::{BatchId, RecordAccumulator};
use partitioner::Partitioner;

use crate::kafka::clients::metadata::ClientMetadata;
use crate::kafka::clients::network::{response_correlation, NetworkClient};
use crate::kafka::config::EffectiveProducerConfig;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::{CorrelationId, Msg};
use crate::kafka::record::Record;
use crate::kafka::types::Topic;
use crate::kafka::types::{Offset, ProducerEpoch, ProducerId, Sequence, TopicPartition};
use crate::sim::{Context, NodeId, Peer, Time, VecMap, Wakeup};

/// The producer's only timer: "wake up and look at deadlines" (Kafka's Sender poll timeout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerTimer {
    Wakeup,
}

/// The outcome of one `send()`, as Kafka hands it to the callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    pub value: u64,
    /// Ok: where the record was written (offset -1 with acks=0). Err: the exception's code
    /// (REQUEST_TIMED_OUT stands for Kafka's client-side `TimeoutException`).
    pub result: Result<(TopicPartition, Offset), ErrorCode>,
    /// The record may be in the log despite an error, or is unconfirmed (acks=0): a request
    /// carrying it was sent.
    pub maybe_persisted: bool,
}

/// A `send()` that could not enter the accumulator yet (no metadata, or no buffer memory):
/// in Kafka the calling thread is blocked for up to `max.block.ms`.
#[derive(Clone, Debug)]
struct BlockedSend {
    topic: Topic,
    record: Record,
    deadline: Time,
}

/// Idempotent-producer state (`TransactionManager`, non-transactional part).
#[derive(Clone, Debug, Default)]
struct Idempotence {
    producer_id: Option<(ProducerId, ProducerEpoch)>,
    /// InitProducerId in flight: (correlation, node, sent).
    init_in_flight: Option<(CorrelationId, NodeId, Time)>,
    next_sequence: VecMap<TopicPartition, Sequence>,
    last_acked: VecMap<TopicPartition, Sequence>,
    /// Sequences drained and not yet completed, per partition.
    in_flight: VecMap<TopicPartition, BTreeSet<Sequence>>,
    /// Partitions where a sent batch expired: the next sequence after it ([`sequences`]).
    unresolved: VecMap<TopicPartition, Sequence>,
    /// A hole in some partition's sequence: bump the epoch once nothing is in flight.
    bump_required: bool,
    /// Epoch bumps so far (tests).
    epoch_bumps: u32,
}

/// The producer component.
#[derive(Clone, Debug)]
pub struct Producer {
    pub config: EffectiveProducerConfig,
    metadata: ClientMetadata,
    partitioner: Partitioner,
    accumulator: RecordAccumulator,
    blocked: VecDeque<BlockedSend>,
    /// Produce requests in flight (with the batches each carries) and the correlation ids.
    net: NetworkClient<Vec<BatchId>>,
    idempotence: Option<Idempotence>,
    completions: Vec<Completion>,
    /// The drain's list of (leader, batch) picked, kept to reuse its memory.
    picked: Vec<(NodeId, u64)>,
    wakeup: Wakeup,
    /// Records accepted by `send()` and not yet completed.
    outstanding: usize,
    /// Kafka's sender metrics (`record-send-total`, `request-latency-avg`).
    metrics: metrics::SenderMetrics,
    /// When the earliest reconnect backoff holding back a ready batch ends.
    backoff_wake: Option<Time>,
    /// With `transactional.id`: the transaction state (`transaction.rs`).
    txn: Option<Box<transaction::TransactionManager>>,
    txn_results: Vec<transaction::TxnResult>,
    /// Correlation ids of coordinator requests: a range of their own (from 2^31), so they
    /// never collide with the produce and metadata requests' ids.
    next_txn_correlation: CorrelationId,
}

impl Producer {
    /// A producer bootstrapping from `bootstrap` (Kafka's `bootstrap.servers`).
    /// The configuration is already validated ([`ProducerConfig::effective`]).
    pub fn new(config: &EffectiveProducerConfig, bootstrap: Vec<NodeId>) -> Self {
        let c = config.clone();
        Producer {
            metadata: ClientMetadata::new(
                bootstrap,
                c.metadata_max_age_ms,
                c.retry_backoff_ms,
                c.request_timeout_ms,
            ),
            partitioner: Partitioner::new(c.batch_size).ignoring_keys(c.partitioner_ignore_keys),
            accumulator: RecordAccumulator::new(c.batch_size, c.linger_ms, c.buffer_memory),
            blocked: VecDeque::new(),
            net: NetworkClient::default(),
            idempotence: c.enable_idempotence.then(Idempotence::default),
            completions: Vec::new(),
            picked: Vec::new(),
            wakeup: Wakeup::default(),
            outstanding: 0,
            metrics: metrics::SenderMetrics::default(),
            backoff_wake: None,
            txn: c.transactional_id.clone().map(|id| {
                Box::new(transaction::TransactionManager::new(
                    id,
                    c.transaction_timeout_ms,
                ))
            }),
            txn_results: Vec::new(),
            next_txn_correlation: 1 << 31,
            config: c,
        }
    }

    /// `KafkaProducer.send(record, callback)`: accepted at once; the outcome arrives later
    /// as a [`Completion`].
    pub fn send<C>(
        &mut self,
        cx: &mut C,
        topic: impl Into<Topic>,
        key: Option<Arc<str>>,
        value: u64,
        value_bytes: u32,
    ) where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        self.send_record(cx, topic.into(), key, value, value_bytes, false);
    }

    /// `send(new ProducerRecord(topic, key, null))`: a tombstone, a record with a null
    /// value (no payload bytes; `value` is only the id the checker follows).
    pub fn send_tombstone<C>(
        &mut self,
        cx: &mut C,
        topic: impl Into<Topic>,
        key: Option<Arc<str>>,
        value: u64,
    ) where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        self.send_record(cx, topic.into(), key, value, 0, true);
    }

    fn send_record<C>(
        &mut self,
        cx: &mut C,
        topic: Topic,
        key: Option<Arc<str>>,
        value: u64,
        value_bytes: u32,
        tombstone: bool,
    ) where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        self.metadata.add_topic(topic);
        let now = cx.now();
        let record = Record {
            key,
            value,
            value_bytes,
            timestamp_us: now.as_us(),
            tombstone,
        };
        let deadline = now + crate::sim::Duration::from_ms(self.config.max_block_ms);
        self.outstanding += 1;
        // `KafkaProducer.ensureValidRecordSize`: a record whose batch (upper-bound estimate:
        // header + record, uncompressed) exceeds max.request.size or buffer.memory fails at
        // once with RecordTooLargeException (MESSAGE_TOO_LARGE), never sent.
        let size = 61 + accumulator::record_bytes(&record) as u64;
        if size > self.config.max_request_size as u64 || size > self.config.buffer_memory {
            cx.emit(KafkaEvent::RecordTooLarge {
                topic: topic.to_string(),
                size,
                max_request_size: self.config.max_request_size,
            });
            self.complete(value, Err(ErrorCode::MessageTooLarge), false);
            return;
        }
        self.blocked.push_back(BlockedSend {
            topic,
            record,
            deadline,
        });
        self.poll(cx);
    }

    /// Whether the application thread would be blocked inside `send()` right now (waiting
    /// for metadata or for buffer memory).
    pub fn is_blocked(&self) -> bool {
        !self.blocked.is_empty()
    }

    /// Kafka's sender metrics of this producer so far.
    pub fn metrics(&self) -> metrics::SenderMetrics {
        self.metrics
    }

    /// Records sent and not yet completed.
    pub fn outstanding(&self) -> usize {
        self.outstanding
    }

    /// Takes the completions reported since the last call (the callbacks to run).
    pub fn take_completions(&mut self) -> Vec<Completion> {
        std::mem::take(&mut self.completions)
    }

    /// Moves the completions reported since the last call into `out` (a buffer the caller
    /// reuses, so reporting a completion allocates nothing).
    pub fn take_completions_into(&mut self, out: &mut Vec<Completion>) {
        out.append(&mut self.completions);
    }

    /// Handles a message; returns false if it is not for the producer.
    pub fn on_message<C>(&mut self, cx: &mut C, _from: Peer, msg: &Msg) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let handled = self.receive(cx, msg);
        if handled {
            self.poll(cx);
        }
        handled
    }

    /// Handles a response without running the sender loop; the caller runs it next, through
    /// [`send`](Self::send) or [`run_sender`](Self::run_sender). Returns false if the message
    /// is not for the producer.
    pub fn receive<C>(&mut self, cx: &mut C, msg: &Msg) -> bool
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        self.note_answer(msg);
        if self.receive_txn(cx, msg) {
            return true;
        }
        match msg {
            Msg::MetadataResponse(r) => self.metadata.on_response(cx.now(), r),
            Msg::ProduceResponse(r) => self.on_produce_response(cx, r),
            Msg::InitProducerIdResponse(r) => self.on_init_producer_id_response(cx, r),
            // the new connection is established (note_answer); the sender may use it now
            Msg::ApiVersionsResponse(r) => self.net.complete(r.correlation_id).is_some(),
            _ => false,
        }
    }

    /// The node an InitProducerId is in flight to.
    fn init_in_flight_node(&self) -> Option<NodeId> {
        self.idempotence.as_ref()?.init_in_flight.map(|f| f.1)
    }

    /// The connection to `node` closed: an InitProducerId on it will never be answered, so
    /// it is retried at once, on the least-loaded node (not after `request.timeout.ms`).
    fn init_producer_id_lost(&mut self, node: NodeId) {
        if let Some(idem) = self.idempotence.as_mut() {
            if idem.init_in_flight.is_some_and(|f| f.1 == node) {
                idem.init_in_flight = None;
            }
        }
    }

    /// The node awaiting the response numbered `cid`: its connection is established.
    fn note_answer(&mut self, msg: &Msg) {
        let Some(cid) = response_correlation(msg) else {
            return;
        };
        let node = match msg {
            Msg::MetadataResponse(_) => self.metadata.in_flight_node(cid),
            Msg::InitProducerIdResponse(_) => self
                .idempotence
                .as_ref()
                .and_then(|i| i.init_in_flight)
                .filter(|f| f.0 == cid)
                .map(|f| f.1),
            _ => self.net.node_of(cid),
        };
        if let Some(node) = node {
            self.net.on_answer(node);
        }
    }

    /// One pass of the sender loop (Kafka's `Sender.runOnce`).
    pub fn run_sender<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        self.poll(cx);
    }

    /// The broker at `node` closed the connection (its process died): every request on it
    /// fails with NETWORK_EXCEPTION and is retried, as when the client times out — only
    /// without waiting for `request.timeout.ms`.
    pub fn on_disconnect<C>(&mut self, cx: &mut C, node: NodeId)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        self.disconnect(cx, node, now, false);
        self.poll(cx);
    }

    pub fn on_timer<C>(&mut self, cx: &mut C, _timer: ProducerTimer)
    where
        C: Context<Msg = Msg, Timer = ProducerTimer, Event = KafkaEvent>,
    {
        self.wakeup.fired(cx.now());
        self.poll(cx);
    }

    fn complete(
        &mut self,
        value: u64,
        result: Result<(TopicPartition, Offset), ErrorCode>,
        maybe_persisted: bool,
    ) {
        self.outstanding -= 1;
        self.completions.push(Completion {
            value,
            result,
            maybe_persisted,
        });
    }
}

#[cfg(test)]
mod tests;
