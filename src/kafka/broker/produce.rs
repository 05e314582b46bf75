//! The leader's side of Produce. A batch is checked (leader and epoch, the idempotent
//! producer's sequence), then, for `acks=all`, the ISR is checked against
//! `min.insync.replicas` (NOT_ENOUGH_REPLICAS: nothing is written), the batch is appended
//! and stamped with its offsets, and the request waits in the produce purgatory
//! (`purgatory.rs`) until the high watermark covers it. `acks=1` answers after the local
//! append, `acks=0` never answers. InitProducerId (non-transactional) hands out producer ids.

use super::*;
use crate::kafka::broker::log::{stamp, SequenceCheck};
use crate::kafka::broker::purgatory::{PendingPart, Waiter};
use crate::kafka::config::{Acks, CleanupPolicy};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::Batch;
use crate::kafka::types::{LeaderEpoch, Offset, ProducerEpoch, ProducerId, TopicPartition};
use crate::sim::{Duration, Peer};

impl Broker {
    pub(super) fn on_produce(&mut self, cx: &mut BrokerCx<'_>, from: Peer, req: ProduceRequest) {
        // A transactional batch may first need the coordinator's word (KIP-890).
        if let Some(req) = self.maybe_verify(cx, from, req) {
            self.append_produce(cx, from, req, Vec::new());
        }
    }

    /// Appends a Produce's batches, except those refused before the append (`refused`).
    pub(super) fn append_produce(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: ProduceRequest,
        refused: Vec<(TopicPartition, ErrorCode)>,
    ) {
        let mut parts = Vec::with_capacity(req.partitions.len());
        for (tp, batch) in req.partitions {
            let pre = refused.iter().find(|(t, _)| *t == tp).map(|(_, e)| *e);
            let outcome = if let Some(e) = pre {
                Err(e)
            } else if (-1..=1).contains(&req.acks) {
                self.append_to_leader(cx, &tp, batch, req.acks)
            } else {
                Err(ErrorCode::InvalidRequiredAcks)
            };
            parts.push(self.pending_part(cx, &tp, outcome, req.acks));
        }
        if req.acks == 0 {
            return; // acks=0: Kafka sends no response at all
        }
        let waiter = Waiter::Client {
            peer: from,
            correlation_id: req.correlation_id,
        };
        let deadline = cx.now() + Duration::from_ms(req.timeout_ms);
        self.settle_or_park(
            cx,
            DelayedProduce {
                waiter,
                deadline,
                parts,
            },
        );
    }

    fn pending_part(
        &self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        outcome: Result<(Offset, Offset), ErrorCode>,
        acks: i16,
    ) -> PendingPart {
        let (error, base_offset, required) = match outcome {
            Ok((base, required)) => (
                ErrorCode::None,
                base,
                (acks == Acks::All.as_i16()).then_some(required),
            ),
            Err(e) => {
                cx.emit(KafkaEvent::ProduceRejected {
                    tp: tp.clone(),
                    error: e,
                });
                (e, Offset::UNKNOWN, None)
            }
        };
        let current_leader = if error == ErrorCode::NotLeaderOrFollower {
            self.leader_hint(tp)
        } else {
            None
        };
        let log_start_offset = self
            .partitions
            .get(tp)
            .map_or(Offset::UNKNOWN, |p| p.log.log_start_offset());
        let resp = PartitionProduceResponse {
            tp: tp.clone(),
            error,
            base_offset,
            log_start_offset,
            current_leader,
        };
        PendingPart { resp, required }
    }

    /// Appends `batch` to the leader's log of `tp`. Returns (base offset, HW needed for
    /// acks=all). A duplicate of a cached idempotent batch returns its original offsets.
    pub(super) fn append_to_leader(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        batch: Batch,
        acks: i16,
    ) -> Result<(Offset, Offset), ErrorCode> {
        let part = self.leader_partition(tp, LeaderEpoch::NONE)?;
        if batch.is_empty() {
            return Err(ErrorCode::CorruptMessage);
        }
        if acks == Acks::All.as_i16() && part.isr.len() < part.effective_min_isr() {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        // `analyzeAndValidateRecords`: a batch over `max.message.bytes` (topic) /
        // `message.max.bytes` (broker) is refused with MESSAGE_TOO_LARGE, nothing written.
        if batch.size_bytes() > part.config.max_message_bytes as usize {
            return Err(ErrorCode::MessageTooLarge);
        }
        // `LogValidator.validateKey`: "Compacted topic cannot accept message without key":
        // a keyless record in a compacted topic fails the batch with INVALID_RECORD.
        if part.config.cleanup_policy != CleanupPolicy::Delete
            && batch.records.iter().any(|r| r.key.is_none())
        {
            return Err(ErrorCode::InvalidRecord);
        }
        let base = match part.log.check_sequence(&batch) {
            SequenceCheck::Duplicate { base_offset } => {
                return Ok((base_offset, base_offset + batch.len() as i64))
            }
            SequenceCheck::OutOfOrder => return Err(ErrorCode::OutOfOrderSequenceNumber),
            SequenceCheck::InvalidEpoch => return Err(ErrorCode::InvalidProducerEpoch),
            SequenceCheck::Append => part.log.log_end_offset(),
        };
        let part = self.partitions.get_mut(tp).expect("leader");
        let epoch = part.leader_epoch;
        let stamped = stamp(batch, base, epoch);
        part.log.assert_appendable(&stamped, epoch);
        let next = stamped.next_offset();
        if cx.tracing() {
            let first_value = stamped.records[0].value;
            cx.emit(KafkaEvent::Appended {
                tp: tp.clone(),
                base_offset: base,
                records: stamped.len() as u32,
                leader_epoch: epoch,
                first_value,
            });
        }
        let now = cx.now();
        part.log.append(cx.disk(), stamped, now);
        part.log.maybe_flush(
            cx.disk(),
            now,
            part.config.flush_messages,
            part.config.flush_ms,
        );
        self.maybe_advance_hw(cx, tp);
        self.wake_fetches(cx, tp);
        Ok((base, next))
    }

    /// Answers a produce now if nothing waits for replication, else parks it.
    pub(super) fn settle_or_park(&mut self, cx: &mut BrokerCx<'_>, mut d: DelayedProduce) {
        for part in &mut d.parts {
            if let Some(required) = part.required {
                if let Some(e) = self.check_replicated(&part.resp.tp, required) {
                    part.resp.error = e;
                    part.required = None;
                }
            }
        }
        if d.parts.iter().all(|p| p.required.is_none()) {
            self.complete_produce(cx, d);
        } else {
            self.delayed_produces.push(d);
            self.arm_purgatory(cx);
        }
    }

    /// Kafka's `checkEnoughReplicasReachOffset`: `Some(outcome)` once decided.
    fn check_replicated(&self, tp: &TopicPartition, required: Offset) -> Option<ErrorCode> {
        let Some(part) = self.partitions.get(tp).filter(|p| p.is_leader()) else {
            return Some(ErrorCode::NotLeaderOrFollower);
        };
        if part.log.high_watermark() < required {
            return None;
        }
        if part.isr.len() < part.effective_min_isr() {
            return Some(ErrorCode::NotEnoughReplicasAfterAppend);
        }
        Some(ErrorCode::None)
    }

    fn complete_produce(&mut self, cx: &mut BrokerCx<'_>, d: DelayedProduce) {
        match d.waiter {
            Waiter::Client {
                peer,
                correlation_id,
            } => {
                let partitions = d.parts.into_iter().map(|p| p.resp).collect();
                cx.reply(
                    peer,
                    Msg::ProduceResponse(ProduceResponse {
                        correlation_id,
                        partitions,
                    }),
                );
            }
            Waiter::Internal(token) => {
                let r = &d.parts[0].resp;
                let outcome = if r.error.is_ok() {
                    Ok(r.base_offset)
                } else {
                    Err(r.error)
                };
                self.completed_appends.push((token, outcome));
            }
        }
    }

    /// Re-checks parked produces that wait on `tp`.
    pub(super) fn check_delayed_produces(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        if self.delayed_produces.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.delayed_produces.len() {
            let mut settled = true;
            for pi in 0..self.delayed_produces[i].parts.len() {
                let part = &self.delayed_produces[i].parts[pi];
                if let (Some(required), true) = (part.required, &part.resp.tp == tp) {
                    if let Some(e) = self.check_replicated(tp, required) {
                        let part = &mut self.delayed_produces[i].parts[pi];
                        part.resp.error = e;
                        part.required = None;
                    }
                }
                settled &= self.delayed_produces[i].parts[pi].required.is_none();
            }
            if settled {
                let d = self.delayed_produces.remove(i);
                self.complete_produce(cx, d);
            } else {
                i += 1;
            }
        }
    }

    pub(super) fn fail_delayed_produces(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        error: ErrorCode,
    ) {
        for d in &mut self.delayed_produces {
            for part in &mut d.parts {
                if part.required.is_some() && &part.resp.tp == tp {
                    part.resp.error = error;
                    part.required = None;
                }
            }
        }
        self.flush_settled_produces(cx);
    }

    pub(super) fn flush_settled_produces(&mut self, cx: &mut BrokerCx<'_>) {
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_produces)
            .into_iter()
            .partition(|d| d.parts.iter().all(|p| p.required.is_none()));
        self.delayed_produces = waiting;
        for d in done {
            self.complete_produce(cx, d);
        }
    }

    /// A cluster-unique producer id: the broker id in the high bits, a counter persisted
    /// on disk in the low bits (kafkasim's stand-in for the controller's id blocks).
    pub(crate) fn allocate_producer_id(&mut self, cx: &mut BrokerCx<'_>) -> ProducerId {
        self.producer_id_counter += 1;
        cx.disk()
            .overwrite(PRODUCER_ID_FILE, self.producer_id_counter);
        cx.disk().flush(PRODUCER_ID_FILE);
        ProducerId(((self.id.0 as i64) << 40) | self.producer_id_counter as i64)
    }

    /// Non-transactional InitProducerId: a cluster-unique id (broker id in the high bits,
    /// a counter persisted on disk in the low bits) and epoch 0.
    pub(super) fn on_init_producer_id(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: InitProducerIdRequest,
    ) {
        let producer_id = self.allocate_producer_id(cx);
        let resp = InitProducerIdResponse {
            correlation_id: req.correlation_id,
            error: ErrorCode::None,
            producer_id,
            producer_epoch: ProducerEpoch(0),
        };
        cx.reply(from, Msg::InitProducerIdResponse(resp));
    }
}
