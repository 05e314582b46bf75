//! A minimal scripted producer for replication tests (the real producer, with batching,
//! idempotence and delivery timeouts, is `kafka/clients/producer/`). It sends one Produce request per
//! batch of fresh unique values to the partition's leader, at given times or at a fixed
//! rate, keeps up to `max_in_flight` requests outstanding, and on a retriable error or a
//! request timeout refreshes its metadata and sends the batch again (so, without
//! idempotence, a retry after a lost response can duplicate).
//!
//! Every send and every outcome is recorded as a history operation, so a test can ask which
//! acknowledged values are missing from the final log.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::kafka::config::Acks;
use crate::kafka::protocol::*;
use crate::kafka::record::{Record, RecordBatch};
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Peer, Time, TimerId};
use crate::workload::history::HistoryOp;

/// When the producer sends.
#[derive(Clone, Debug)]
pub enum SendSchedule {
    /// One batch at each of these times.
    At(Vec<Time>),
    /// `count` batches, one every `every`, from `start`.
    Rate {
        start: Time,
        every: Duration,
        count: u64,
    },
}

#[derive(Clone, Debug)]
pub struct ScriptedProducerConfig {
    pub tp: TopicPartition,
    pub acks: Acks,
    pub bootstrap: Vec<NodeId>,
    pub schedule: SendSchedule,
    /// Values are `first_value`, `first_value + 1`, ... (unique across producers).
    pub first_value: u64,
    pub records_per_batch: u32,
    pub value_bytes: u32,
    pub request_timeout_ms: u64,
    pub retry_backoff_ms: u64,
    pub max_in_flight: usize,
    /// Record history operations (off for benchmarks: the history is kept in memory).
    pub record_history: bool,
}

impl ScriptedProducerConfig {
    pub fn new(
        tp: TopicPartition,
        acks: Acks,
        bootstrap: Vec<NodeId>,
        schedule: SendSchedule,
    ) -> Self {
        ScriptedProducerConfig {
            tp,
            acks,
            bootstrap,
            schedule,
            first_value: 1,
            records_per_batch: 1,
            value_bytes: 100,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            max_in_flight: 1,
            record_history: true,
        }
    }
}

#[derive(Clone, Debug)]
pub enum ScriptedTimer {
    /// The next scheduled send (index into `At`, or the rate's next tick).
    Send,
    /// Back-off before sending again / asking metadata again.
    Retry,
    RequestTimeout {
        correlation_id: CorrelationId,
    },
}

#[derive(Clone, Debug)]
struct InFlight {
    correlation_id: CorrelationId,
    values: Vec<u64>,
    timer: TimerId,
}

/// The scripted producer node.
#[derive(Clone, Debug)]
pub struct ScriptedProducer {
    pub config: ScriptedProducerConfig,
    leader: Option<(BrokerId, NodeId, LeaderEpoch)>,
    queue: VecDeque<Vec<u64>>,
    in_flight: Vec<InFlight>,
    next_value: u64,
    sends_done: u64,
    next_correlation: u32,
    metadata_in_flight: bool,
    retry_armed: bool,
    bootstrap_index: usize,
    /// Acknowledged batches (for quick checks; the history has the details).
    pub acked: u64,
}

type Cx<'a> = dyn Context<Msg = Msg, Timer = ScriptedTimer, Event = HistoryOp> + 'a;

impl ScriptedProducer {
    pub fn new(config: ScriptedProducerConfig) -> Self {
        let next_value = config.first_value;
        ScriptedProducer {
            config,
            leader: None,
            queue: VecDeque::new(),
            in_flight: Vec::new(),
            next_value,
            sends_done: 0,
            next_correlation: 0,
            metadata_in_flight: false,
            retry_armed: false,
            bootstrap_index: 0,
            acked: 0,
        }
    }

    pub fn on_start(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now();
        match &self.config.schedule {
            SendSchedule::At(times) => {
                for t in times.iter().filter(|t| **t >= now) {
                    cx.set_timer(t.since(now), ScriptedTimer::Send);
                }
            }
            SendSchedule::Rate { start, count, .. } if *count > 0 => {
                cx.set_timer(start.since(now), ScriptedTimer::Send);
            }
            SendSchedule::Rate { .. } => {}
        }
        self.refresh_metadata(cx);
    }

    fn history(&self, cx: &mut Cx<'_>, op: HistoryOp) {
        if self.config.record_history {
            cx.emit(op);
        }
    }

    fn correlation(&mut self) -> CorrelationId {
        self.next_correlation += 1;
        self.next_correlation
    }

    fn refresh_metadata(&mut self, cx: &mut Cx<'_>) {
        if self.metadata_in_flight || self.config.bootstrap.is_empty() {
            return;
        }
        self.metadata_in_flight = true;
        let node = self.config.bootstrap[self.bootstrap_index % self.config.bootstrap.len()];
        self.bootstrap_index += 1;
        let correlation_id = self.correlation();
        let req = MetadataRequest {
            correlation_id,
            topics: Some(vec![Arc::from(self.config.tp.topic.as_str())]),
        };
        cx.send(node, Msg::MetadataRequest(req));
        // A metadata request to a dead broker is retried by the Retry timer.
        self.arm_retry(cx);
    }

    fn arm_retry(&mut self, cx: &mut Cx<'_>) {
        if !self.retry_armed {
            self.retry_armed = true;
            cx.set_timer(
                Duration::from_ms(self.config.retry_backoff_ms.max(1)),
                ScriptedTimer::Retry,
            );
        }
    }

    pub fn on_timer(&mut self, cx: &mut Cx<'_>, timer: ScriptedTimer) {
        match timer {
            ScriptedTimer::Send => {
                self.sends_done += 1;
                let values: Vec<u64> = (0..self.config.records_per_batch as u64)
                    .map(|i| self.next_value + i)
                    .collect();
                self.next_value += values.len() as u64;
                for &value in &values {
                    self.history(
                        cx,
                        HistoryOp::SendInvoke {
                            value,
                            topic: self.config.tp.topic,
                            key: None,
                            tombstone: Default::default(),
                        },
                    );
                }
                self.queue.push_back(values);
                if let SendSchedule::Rate { every, count, .. } = self.config.schedule {
                    if self.sends_done < count {
                        cx.set_timer(every, ScriptedTimer::Send);
                    }
                }
                self.pump(cx);
            }
            ScriptedTimer::Retry => {
                self.retry_armed = false;
                self.metadata_in_flight = false;
                if self.leader.is_none() {
                    self.refresh_metadata(cx);
                } else {
                    self.pump(cx);
                }
            }
            ScriptedTimer::RequestTimeout { correlation_id } => {
                self.on_request_timeout(cx, correlation_id)
            }
        }
    }

    /// Sends queued batches while the leader is known and the in-flight limit allows.
    fn pump(&mut self, cx: &mut Cx<'_>) {
        let Some((_, node, _)) = self.leader else {
            return;
        };
        while self.in_flight.len() < self.config.max_in_flight.max(1) {
            let Some(values) = self.queue.pop_front() else {
                return;
            };
            self.send_batch(cx, node, values);
        }
    }

    fn send_batch(&mut self, cx: &mut Cx<'_>, node: NodeId, values: Vec<u64>) {
        let now_us = cx.now().as_us();
        let records: Vec<Record> = values
            .iter()
            .map(|&value| Record {
                key: None,
                value,
                value_bytes: self.config.value_bytes,
                timestamp_us: now_us,
                tombstone: false,
            })
            .collect();
        let batch = Arc::new(RecordBatch::new(records));
        let correlation_id = self.correlation();
        let req = ProduceRequest {
            correlation_id,
            acks: self.config.acks.as_i16(),
            timeout_ms: self.config.request_timeout_ms,
            transactional_id: None,
            transaction_version: TransactionVersion::TV_1,
            partitions: vec![(self.config.tp.clone(), batch)],
        };
        cx.send(node, Msg::ProduceRequest(req));
        if self.config.acks == Acks::Zero {
            for value in values {
                self.history(
                    cx,
                    HistoryOp::SendOk {
                        value,
                        tp: self.config.tp.clone(),
                        offset: Offset::UNKNOWN,
                    },
                );
            }
            return;
        }
        let timer = cx.set_timer(
            Duration::from_ms(self.config.request_timeout_ms),
            ScriptedTimer::RequestTimeout { correlation_id },
        );
        self.in_flight.push(InFlight {
            correlation_id,
            values,
            timer,
        });
    }

    fn on_request_timeout(&mut self, cx: &mut Cx<'_>, correlation_id: CorrelationId) {
        let Some(i) = self
            .in_flight
            .iter()
            .position(|f| f.correlation_id == correlation_id)
        else {
            return;
        };
        let f = self.in_flight.remove(i);
        if let Some((_, node, _)) = self.leader.take() {
            cx.close_connection(node);
        }
        self.queue.push_front(f.values);
        self.arm_retry(cx);
    }

    pub fn on_message(&mut self, cx: &mut Cx<'_>, _from: Peer, msg: Msg) {
        match msg {
            Msg::MetadataResponse(r) => self.on_metadata_response(cx, r),
            Msg::ProduceResponse(r) => self.on_produce_response(cx, r),
            _ => {}
        }
    }

    fn on_metadata_response(&mut self, cx: &mut Cx<'_>, r: MetadataResponse) {
        self.metadata_in_flight = false;
        let tp = &self.config.tp;
        let p = r
            .topics
            .iter()
            .filter(|t| *t.name == *tp.topic)
            .flat_map(|t| t.partitions.iter())
            .find(|p| p.partition == tp.partition);
        self.leader = p.and_then(|p| {
            let l = p.leader?;
            let node = r.brokers.iter().find(|(b, _)| *b == l)?.1;
            Some((l, node, p.leader_epoch))
        });
        if self.leader.is_none() {
            self.arm_retry(cx);
        }
        self.pump(cx);
    }

    fn on_produce_response(&mut self, cx: &mut Cx<'_>, r: ProduceResponse) {
        let Some(i) = self
            .in_flight
            .iter()
            .position(|f| f.correlation_id == r.correlation_id)
        else {
            return;
        };
        let f = self.in_flight.remove(i);
        cx.cancel_timer(f.timer);
        let Some(pr) = r.partitions.into_iter().next() else {
            return;
        };
        if pr.error.is_ok() {
            self.acked += 1;
            for (k, &value) in f.values.iter().enumerate() {
                self.history(
                    cx,
                    HistoryOp::SendOk {
                        value,
                        tp: pr.tp.clone(),
                        offset: pr.base_offset + k as i64,
                    },
                );
            }
        } else if pr.error.is_retriable() {
            // Back off, then refresh metadata and send again.
            self.queue.push_front(f.values);
            self.leader = None;
            self.arm_retry(cx);
            return;
        } else {
            for &value in &f.values {
                self.history(
                    cx,
                    HistoryOp::SendFail {
                        value,
                        error: pr.error,
                    },
                );
            }
        }
        self.pump(cx);
    }
}
