//! Preferred leader election, as Kafka 4.x's KRaft controller runs it
//! (`auto.leader.rebalance.enable`, default true).
//!
//! The *preferred* replica of a partition is the first of its assignment; topic creation
//! spreads these over the brokers, so leadership is balanced while every partition is led by
//! its preferred replica. A failover breaks that: the survivors take the leaderships and keep
//! them when the failed broker comes back. The controller keeps the set of partitions whose
//! leader is not their preferred replica (`ReplicationControlManager.imbalancedPartitions`,
//! updated by every partition record). After each committed change, if that set is not empty
//! and no check is pending, it schedules one `leader.imbalance.check.interval.seconds` later
//! (`QuorumController.maybeScheduleNextBalancePartitionLeaders`). The check
//! (`maybeBalancePartitionLeaders`) elects the preferred replica of every imbalanced partition
//! where that replica is in the ISR and unfenced — a new leader epoch, the trace says
//! "preferred leader election" — at most 1,000 elections per check; if it hit that bound the
//! next check comes 10 ms later. A check's cost grows with the imbalanced partitions only.
//!
//! Kafka 4.x ignores `leader.imbalance.per.broker.percentage` (only the ZooKeeper controller,
//! removed in 4.0, read it): any imbalanced partition is moved back.

use super::{Controller, ControllerTimer, Cx};
use crate::kafka::event::KafkaEvent;
use crate::kafka::metadata::{partition_record, PartitionImage};
use crate::kafka::protocol::MetadataRecord;
use crate::kafka::types::TopicPartition;
use crate::sim::Duration;

/// Kafka's `ReplicationControlManager.MAX_ELECTIONS_PER_IMBALANCE`.
const MAX_ELECTIONS_PER_IMBALANCE: usize = 1_000;

/// Kafka's delay for a check rescheduled "immediately" (the event queue's fairness).
const IMMEDIATE_RECHECK: Duration = Duration::from_ms(10);

impl Controller {
    /// Keeps `imbalanced` in step with one applied record.
    pub(super) fn track_preferred_leader(&mut self, rec: &MetadataRecord) {
        let MetadataRecord::Partition {
            tp,
            replicas,
            leader,
            ..
        } = rec
        else {
            return;
        };
        if !replicas.is_empty() && *leader == replicas.first().copied() {
            self.imbalanced.remove(tp);
        } else {
            self.imbalanced.insert(tp.clone());
        }
    }

    /// After a committed change: schedules a check if leaderships are imbalanced.
    pub(super) fn maybe_schedule_balance(&mut self, cx: &mut Cx<'_>) {
        if !self.config.auto_leader_rebalance_enable
            || self.balance_armed
            || self.imbalanced.is_empty()
        {
            return;
        }
        let delay = if self.balance_immediately {
            IMMEDIATE_RECHECK
        } else {
            Duration::from_secs(self.config.leader_imbalance_check_interval_seconds)
        };
        self.balance_armed = true;
        cx.set_timer(delay, ControllerTimer::MaybeBalancePartitionLeaders);
    }

    pub(super) fn on_maybe_balance_partition_leaders_timeout(&mut self, cx: &mut Cx<'_>) {
        self.balance_armed = false;
        let tps: Vec<TopicPartition> = self.imbalanced.iter().cloned().collect();
        let mut records = Vec::new();
        for tp in tps {
            if records.len() >= MAX_ELECTIONS_PER_IMBALANCE {
                break;
            }
            let Some(p) = self.image.partitions.get(&tp) else {
                continue;
            };
            if let Some(next) = self.elect_preferred(cx, &tp, p.clone()) {
                records.push(partition_record(&tp, &next));
            }
        }
        self.balance_immediately = records.len() >= MAX_ELECTIONS_PER_IMBALANCE;
        if records.is_empty() {
            // Nothing could move (the preferred replicas are fenced or out of the ISR): look
            // again one interval later, as Kafka does while the set is not empty.
            self.maybe_schedule_balance(cx);
        } else {
            self.commit(cx, records);
        }
    }

    /// Kafka's `PartitionChangeBuilder` with `Election.PREFERRED`: the first replica leads
    /// if it is in the ISR and unfenced; otherwise nothing changes here (a partition without
    /// a leader gets one when a replica of its ISR is unfenced).
    fn elect_preferred(
        &self,
        cx: &mut Cx<'_>,
        tp: &TopicPartition,
        mut p: PartitionImage,
    ) -> Option<PartitionImage> {
        let preferred = *p.replicas.first()?;
        if p.leader == Some(preferred)
            || !p.isr.contains(&preferred)
            || !self.image.is_live(preferred)
        {
            return None;
        }
        p.leader = Some(preferred);
        p.leader_epoch = p.leader_epoch.next();
        p.partition_epoch += 1;
        cx.emit(KafkaEvent::LeaderElected {
            tp: tp.clone(),
            leader: preferred,
            leader_epoch: p.leader_epoch,
            isr: p.isr.clone(),
            unclean: false,
            preferred: true,
        });
        Some(p)
    }
}
