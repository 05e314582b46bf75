//! The leader's half of replication: every follower fetch reports the follower's log end
//! offset (its fetch offset); the leader keeps it per follower, moves the high watermark to
//! the smallest LEO of the ISR, and completes what waited for it (delayed produces, parked
//! fetches). A follower that has not caught up for `replica.lag.time.max.ms` is proposed for
//! removal from the ISR, one that has caught up is proposed for re-entry — both through an
//! AlterPartition request to the controller, which alone decides the ISR.

use crate::kafka::broker::partition::{PendingIsr, Role};
use crate::kafka::broker::*;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::Duration;

impl Broker {
    /// Recomputes the leader HW of `tp` and completes whatever waited for it.
    pub(crate) fn maybe_advance_hw(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        let Some(part) = self.partitions.get_mut(tp) else {
            return;
        };
        if let Some(hw) = part.maybe_increment_hw(self.id) {
            self.on_hw_advanced(cx, tp, hw);
        }
    }

    pub(crate) fn on_hw_advanced(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        hw: Offset,
    ) {
        if cx.tracing() {
            cx.emit(KafkaEvent::HighWatermark { tp: tp.clone(), hw });
        }
        self.check_delayed_produces(cx, tp);
        self.wake_fetches(cx, tp);
    }

    pub(in crate::kafka::broker) fn on_isr_updated(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
    ) {
        if let Some(Role::Leader(s)) = self.partitions.get_mut(tp).map(|p| &mut p.role) {
            s.pending_isr = None;
        }
        self.maybe_advance_hw(cx, tp);
        self.check_delayed_produces(cx, tp);
    }

    pub(in crate::kafka::broker) fn on_isr_expiration_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        let now = cx.now();
        let lag = Duration::from_ms(self.config.replica_lag_time_max_ms);
        let retry_after = Duration::from_ms(self.config.broker_session_timeout_ms);
        let mut shrinks = Vec::new();
        for (tp, part) in self.partitions.iter_mut() {
            if let Role::Leader(s) = &mut part.role {
                // An unanswered AlterPartition (controller down) is given up and retried.
                if s.pending_isr
                    .as_ref()
                    .is_some_and(|p| now.since(p.sent) > retry_after)
                {
                    s.pending_isr = None;
                }
            }
            let pending = part.leader_state().is_some_and(|s| s.pending_isr.is_some());
            let out = part.out_of_sync(self.id, now, lag);
            if !pending && !out.is_empty() {
                let new_isr: Vec<BrokerId> = part
                    .isr
                    .iter()
                    .copied()
                    .filter(|b| !out.contains(b))
                    .collect();
                shrinks.push((tp.clone(), new_isr));
            }
        }
        for (tp, new_isr) in shrinks {
            cx.emit(KafkaEvent::IsrShrinkRequested {
                tp: tp.clone(),
                new_isr: new_isr.clone(),
            });
            self.propose_isr(cx, &tp, new_isr);
        }
    }

    pub(crate) fn maybe_expand_isr(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        follower: BrokerId,
    ) {
        let Some(part) = self.partitions.get(tp) else {
            return;
        };
        let pending = part.leader_state().is_some_and(|s| s.pending_isr.is_some());
        if pending || !part.can_join_isr(follower) || !self.metadata.is_live(follower) {
            return;
        }
        let mut new_isr = part.isr.clone();
        new_isr.push(follower);
        cx.emit(KafkaEvent::IsrExpandRequested {
            tp: tp.clone(),
            new_isr: new_isr.clone(),
        });
        self.propose_isr(cx, tp, new_isr);
    }

    fn propose_isr(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, new_isr: Vec<BrokerId>) {
        let now = cx.now();
        let correlation_id = self.correlation();
        let part = self.partitions.get_mut(tp).expect("leader");
        let item = AlterPartitionItem {
            tp: tp.clone(),
            leader_epoch: part.leader_epoch,
            new_isr: new_isr.clone(),
            partition_epoch: part.partition_epoch,
        };
        if let Role::Leader(s) = &mut part.role {
            s.pending_isr = Some(PendingIsr { new_isr, sent: now });
        }
        let req = AlterPartitionRequest {
            correlation_id,
            broker_id: self.id,
            broker_epoch: self.broker_epoch,
            partitions: vec![item],
        };
        cx.send(self.controller, Msg::AlterPartitionRequest(req));
    }

    pub(in crate::kafka::broker) fn on_alter_partition_response(
        &mut self,
        cx: &mut BrokerCx<'_>,
        resp: AlterPartitionResponse,
    ) {
        for r in resp.partitions {
            let Some(part) = self.partitions.get_mut(&r.tp) else {
                continue;
            };
            if !part.is_leader() || r.leader_epoch != part.leader_epoch {
                continue;
            }
            if r.error.is_ok() && r.partition_epoch > part.partition_epoch {
                part.isr = r.isr;
                part.partition_epoch = r.partition_epoch;
            }
            // On error the metadata push brings the truth; the next check retries.
            self.on_isr_updated(cx, &r.tp);
        }
    }

    /// A follower's fetch tells the leader the follower's LEO: update ISR and HW.
    pub(in crate::kafka::broker) fn record_replica_fetch(
        &mut self,
        cx: &mut BrokerCx<'_>,
        replica: BrokerId,
        fp: &FetchPartition,
    ) {
        let Ok(part) = self.leader_partition(&fp.tp, fp.current_leader_epoch) else {
            return;
        };
        if fp.fetch_offset > part.log.log_end_offset() || !part.replicas.contains(&replica) {
            return;
        }
        if fp.last_fetched_epoch != LeaderEpoch::NONE {
            let (e, end) = part.log.end_offset_for_epoch(fp.last_fetched_epoch);
            if e < fp.last_fetched_epoch || end < fp.fetch_offset {
                return; // diverging: its offset says nothing about our log
            }
        }
        let now = cx.now();
        let part = self.partitions.get_mut(&fp.tp).expect("leader");
        part.record_follower_fetch(replica, fp.fetch_offset, now);
        self.maybe_expand_isr(cx, &fp.tp, replica);
        self.maybe_advance_hw(cx, &fp.tp);
    }
}
