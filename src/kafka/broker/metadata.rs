//! How a broker follows the controller's metadata log: each pushed delta is applied to the
//! broker's [`MetadataImage`], and every partition record that names this broker makes it
//! the leader of that partition (a new leader epoch, a fresh leader state) or a follower
//! (it truncates as its truncation mode says and starts fetching from the new leader, see
//! `replication/follower.rs`). A broker also answers Metadata requests from this image, so a
//! client learns leaders only as fast as the brokers learn them.

use std::sync::Arc;

use super::*;
use crate::kafka::broker::partition::Role;
use crate::kafka::config::{CleanupPolicy, EffectiveTopicConfig, TruncationMode};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::{KafkaEvent, TruncationReason};
use crate::kafka::metadata::PartitionImage;
use crate::kafka::protocol::*;
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, Topic, TopicPartition};
use crate::sim::Peer;

impl Broker {
    pub(super) fn on_metadata_update(&mut self, cx: &mut BrokerCx<'_>, u: MetadataUpdate) {
        let next = self.metadata.next_offset;
        if u.base_offset > next {
            // A gap: we missed records. The heartbeat tells the controller where we are.
            self.send_heartbeat(cx);
            return;
        }
        let skip = (next - u.base_offset) as usize;
        // Changed partitions in first-change order, each once (a set beside the list: a
        // topic's creation names thousands).
        let mut changed = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for rec in u.records.iter().skip(skip) {
            if let Some(tp) = self.metadata.apply(rec) {
                if seen.insert(tp.clone()) {
                    changed.push(tp);
                }
            }
        }
        // Reconcile against the final image only: replaying a history must not replay
        // every intermediate leadership.
        for tp in changed {
            if let Some(p) = self.metadata.partitions.get(&tp).cloned() {
                self.reconcile(cx, &tp, &p);
            }
        }
    }

    fn reconcile(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, p: &PartitionImage) {
        // Fetch sessions holding `tp` look at it again (a new leader epoch, or an error).
        self.fetch_sessions.touch(tp);
        if !p.replicas.contains(&self.id) {
            return;
        }
        self.ensure_partition(cx, tp);
        let part = self.partitions.get_mut(tp).expect("ensured");
        if p.leader_epoch < part.leader_epoch
            || (p.leader_epoch == part.leader_epoch && p.partition_epoch <= part.partition_epoch)
        {
            return; // stale or already applied (e.g. through an AlterPartition response)
        }
        let new_epoch = p.leader_epoch != part.leader_epoch || matches!(part.role, Role::None);
        part.replicas.clone_from(&p.replicas);
        part.isr.clone_from(&p.isr);
        part.partition_epoch = p.partition_epoch;
        if p.leader == Some(self.id) {
            if new_epoch || !part.is_leader() {
                self.make_leader(cx, tp, p.leader_epoch);
            } else {
                self.on_isr_updated(cx, tp);
            }
        } else if new_epoch || part.is_leader() {
            self.make_follower(cx, tp, p.leader, p.leader_epoch);
        }
    }

    fn ensure_partition(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        let config =
            EffectiveTopicConfig::resolve(&self.metadata.topic_config(&tp.topic), &self.config);
        if config.cleanup_policy != CleanupPolicy::Delete && !self.cleaner_armed {
            self.cleaner_armed = true;
            cx.set_timer(self.cleaner_backoff(), BrokerTimer::CleanerBackoff);
        }
        match self.partitions.get_mut(tp) {
            Some(p) => p.set_config(config),
            None => {
                let log = PartitionLog::open(tp.clone(), cx.disk(), None);
                self.partitions
                    .insert(tp.clone(), Partition::new(log, config));
            }
        }
    }

    fn make_leader(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, epoch: LeaderEpoch) {
        self.stop_fetching(tp);
        let now = cx.now();
        let part = self.partitions.get_mut(tp).expect("exists");
        part.leader_epoch = epoch;
        let leo = part.log.log_end_offset();
        part.log.assign_epoch(cx.disk(), epoch, leo); // KAFKA-7415
        part.become_leader(self.id, now);
        cx.emit(KafkaEvent::BecameLeader {
            tp: tp.clone(),
            leader_epoch: epoch,
            leo,
        });
        self.leadership_changes.push(LeadershipChange::Became {
            tp: tp.clone(),
            leader_epoch: epoch,
        });
        self.maybe_advance_hw(cx, tp);
    }

    fn make_follower(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        leader: Option<BrokerId>,
        epoch: LeaderEpoch,
    ) {
        let part = self.partitions.get_mut(tp).expect("exists");
        let was_leader = part.is_leader();
        part.leader_epoch = epoch;
        part.role = Role::Follower { leader };
        if was_leader {
            self.leadership_changes
                .push(LeadershipChange::Resigned { tp: tp.clone() });
        }
        self.fail_delayed_produces(cx, tp, ErrorCode::NotLeaderOrFollower);
        cx.emit(KafkaEvent::BecameFollower {
            tp: tp.clone(),
            leader,
            leader_epoch: epoch,
        });
        if self.config.replication_truncation == TruncationMode::HighWatermark {
            let part = self.partitions.get_mut(tp).expect("exists");
            let hw = part.log.high_watermark();
            self.truncate(cx, tp, hw, TruncationReason::HighWatermark);
        }
        self.stop_fetching(tp);
        if let Some(l) = leader {
            self.start_fetching(cx, tp, l);
        }
    }

    /// Truncates the log of `tp` to `offset`, with a trace event saying why.
    pub(crate) fn truncate(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        offset: Offset,
        reason: TruncationReason,
    ) {
        let part = self.partitions.get_mut(tp).expect("exists");
        let from_leo = part.log.log_end_offset();
        let removed = part.log.truncate_to(cx.disk(), offset);
        if removed > 0 {
            let to = part.log.log_end_offset();
            cx.emit(KafkaEvent::Truncated {
                tp: tp.clone(),
                from_leo,
                to,
                removed,
                reason,
            });
        }
    }

    pub(super) fn on_metadata_request(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: MetadataRequest,
    ) {
        let image = &self.metadata;
        let brokers = image
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, b)| (*id, b.node))
            .collect();
        let names: Vec<Arc<str>> = match req.topics {
            Some(t) => t,
            None => image.topics.keys().cloned().collect(),
        };
        let topics = names
            .into_iter()
            .map(|name| self.topic_metadata(name))
            .collect();
        let resp = MetadataResponse {
            correlation_id: req.correlation_id,
            brokers,
            controller_id: None,
            topics,
        };
        cx.reply(from, Msg::MetadataResponse(resp));
    }

    fn topic_metadata(&self, name: Arc<str>) -> TopicMetadata {
        let image = &self.metadata;
        let Some(t) = image.topics.get(&name) else {
            return TopicMetadata {
                name,
                error: ErrorCode::UnknownTopicOrPartition,
                partitions: vec![],
            };
        };
        let partitions = (0..t.partitions)
            .filter_map(|i| {
                let tp = TopicPartition {
                    topic: Topic::new(&name),
                    partition: i,
                };
                let p = image.partitions.get(&tp)?;
                let error = if p.leader.is_some() {
                    ErrorCode::None
                } else {
                    ErrorCode::LeaderNotAvailable
                };
                let offline = p
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| !image.is_live(*r))
                    .collect();
                Some(PartitionMetadata {
                    partition: i,
                    error,
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    offline_replicas: offline,
                })
            })
            .collect();
        TopicMetadata {
            name,
            error: ErrorCode::None,
            partitions,
        }
    }

    /// Where `tp`'s leader is, per this broker's (possibly stale) image (KIP-951 hint).
    pub(super) fn leader_hint(&self, tp: &TopicPartition) -> Option<(BrokerId, LeaderEpoch)> {
        let p = self.metadata.partitions.get(tp)?;
        p.leader.map(|l| (l, p.leader_epoch))
    }

    /// The partition if this broker leads it, else the error a client should see.
    pub(super) fn leader_partition(
        &self,
        tp: &TopicPartition,
        current_epoch: LeaderEpoch,
    ) -> Result<&Partition, ErrorCode> {
        let Some(part) = self.partitions.get(tp) else {
            return Err(if self.metadata.partitions.contains_key(tp) {
                ErrorCode::NotLeaderOrFollower
            } else {
                ErrorCode::UnknownTopicOrPartition
            });
        };
        if current_epoch != LeaderEpoch::NONE {
            if current_epoch < part.leader_epoch {
                return Err(ErrorCode::FencedLeaderEpoch);
            }
            if current_epoch > part.leader_epoch {
                return Err(ErrorCode::UnknownLeaderEpoch);
            }
        }
        if !part.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        Ok(part)
    }
}
