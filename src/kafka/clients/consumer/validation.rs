//! Position validation after a leader change (KIP-320; Kafka's `SubscriptionState`
//! AWAIT_VALIDATION state and `OffsetFetcher.validatePositionsIfNeeded`).
//!
//! A consumer's position is an offset *and* the leader epoch of the last record it consumed.
//! When its metadata shows a new leader (or a new leader epoch) for a partition, the log it
//! read may no longer be the log that leads: an unclean election, for one, hands the
//! partition to a replica that never had the last records, and new records take their
//! offsets. So before fetching again the consumer asks the new leader, with
//! OffsetsForLeaderEpoch, where the epoch of its last record ends in the leader's log:
//!
//! - at or past the position: nothing diverged, fetching resumes from the position;
//! - before it: the log was truncated. With `auto.offset.reset` = earliest or latest the
//!   consumer seeks to that end offset, the first offset known to diverge ("Truncation
//!   detected … resetting offset to the first offset known to diverge"), so it neither
//!   re-reads from the start nor skips what the new leader wrote there; with `none` the
//!   application gets `LogTruncationException` from poll();
//! - unknown (the leader has no such epoch): the position is reset by `auto.offset.reset`
//!   (or `LogTruncationException` with `none`).
//!
//! While a partition awaits validation it is not fetched. A position without an epoch (set
//! by ListOffsets, or a committed offset stored without one) has nothing to validate.

use std::collections::BTreeMap;

use super::{Consumer, ConsumerEvent, ConsumerTimer, Pending};
use crate::kafka::config::AutoOffsetReset;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::types::{LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Time};

impl Consumer {
    /// Every position whose partition's leader or leader epoch changed (in the metadata)
    /// since it was last validated, and that has an epoch, awaits validation
    /// (`maybeValidatePositionForCurrentLeader`). Runs before each round of fetches, over
    /// this consumer's own partitions only.
    pub(super) fn positions_need_validation(&mut self) {
        // Its outcome changes only with the metadata or with positions appearing or
        // vanishing (`leaders_checked` is reset there): no pass over every partition then.
        let version = self.metadata.version();
        if self.leaders_checked == Some(version) {
            return;
        }
        self.leaders_checked = Some(version);
        self.all_positioned = self.partitions.values().all(|p| p.position.is_some());
        for (tp, p) in self.partitions.iter_mut() {
            let Some(leader) = self.metadata.partition(tp).and_then(|i| {
                let node = self.metadata.node_of(i.leader?)?;
                Some((node, i.leader_epoch))
            }) else {
                continue;
            };
            if p.position.is_none() || p.current_leader == Some(leader) {
                continue;
            }
            // A position first meets the leader it came from: nothing to check then.
            let changed = p.current_leader.is_some();
            p.current_leader = Some(leader);
            if changed && p.last_epoch.is_some() {
                p.awaiting_validation = true;
                self.any_awaiting = true;
            }
        }
    }

    /// Sends OffsetsForLeaderEpoch, one request per leader, for the partitions awaiting
    /// validation (`validatePositionsIfNeeded`).
    pub(super) fn validate_positions<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        if !self.any_awaiting {
            return;
        }
        let mut by_leader: BTreeMap<NodeId, Vec<(TopicPartition, LeaderEpoch, LeaderEpoch)>> =
            BTreeMap::new();
        self.any_awaiting = self.partitions.values().any(|p| p.awaiting_validation);
        for (tp, p) in &self.partitions {
            if !p.awaiting_validation || p.validating || now < p.backoff_until {
                continue;
            }
            let (Some(epoch), Some((node, current))) = (p.last_epoch, p.current_leader) else {
                continue;
            };
            by_leader
                .entry(node)
                .or_default()
                .push((tp.clone(), current, epoch));
        }
        let timeout = Duration::from_ms(self.config.request_timeout_ms);
        for (node, partitions) in by_leader {
            let tps: Vec<TopicPartition> = partitions.iter().map(|p| p.0.clone()).collect();
            for tp in &tps {
                self.partitions.get_mut(tp).expect("assigned").validating = true;
            }
            self.request(
                cx,
                node,
                timeout,
                Pending::OffsetsForLeaderEpoch(tps),
                |correlation_id| {
                    Msg::OffsetsForLeaderEpochRequest(OffsetsForLeaderEpochRequest {
                        correlation_id,
                        replica_id: None,
                        partitions,
                    })
                },
            );
        }
    }

    /// `maybeCompleteValidation` for each partition of the response.
    pub(super) fn on_offsets_for_leader_epoch_response<C>(
        &mut self,
        cx: &mut C,
        r: &OffsetsForLeaderEpochResponse,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let backoff = cx.now() + Duration::from_ms(self.config.retry_backoff_ms);
        for res in &r.partitions {
            let Some(p) = self.partitions.get_mut(&res.tp) else {
                continue;
            };
            p.validating = false;
            if !p.awaiting_validation {
                continue; // the position moved meanwhile (a reset, a new assignment)
            }
            if !res.error.is_ok() {
                // FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH / NOT_LEADER_OR_FOLLOWER: our
                // view of the leader is stale or ahead; refresh it and try again.
                p.backoff_until = backoff;
                self.backoff_max = self.backoff_max.max(backoff);
                self.metadata.request_update();
                continue;
            }
            let position = p.position.expect("validated positions exist");
            let unknown =
                res.end_offset == Offset::UNKNOWN || res.leader_epoch == LeaderEpoch::NONE;
            if !unknown && res.end_offset >= position {
                p.awaiting_validation = false; // completeValidation
                continue;
            }
            let divergence = (!unknown).then_some((res.end_offset, res.leader_epoch));
            self.truncation_detected(cx, res.tp.clone(), position, divergence);
        }
    }

    /// The log diverged below the position: seek to the divergence point, reset, or (with
    /// `auto.offset.reset=none`) hand the application a `LogTruncationException`.
    fn truncation_detected<C>(
        &mut self,
        cx: &mut C,
        tp: TopicPartition,
        position: Offset,
        divergence: Option<(Offset, LeaderEpoch)>,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let policy = self.config.auto_offset_reset != AutoOffsetReset::None;
        self.leaders_checked = None; // the position moves or vanishes
        let p = self.partitions.get_mut(&tp).expect("assigned");
        p.awaiting_validation = false;
        cx.emit(KafkaEvent::LogTruncationDetected {
            tp: tp.clone(),
            position,
            diverging_offset: divergence.map(|d| d.0),
            reset: policy,
        });
        match (policy, divergence) {
            (true, Some((offset, epoch))) => {
                // seekValidated: the new position is the first offset known to diverge.
                p.position = Some(offset);
                p.last_epoch = Some(epoch);
                p.buffered.clear();
            }
            (true, None) => {
                p.position = None;
                p.last_epoch = None;
                p.buffered.clear();
                p.reset = true;
                p.reset_reason = Some(ErrorCode::OffsetOutOfRange);
            }
            (false, divergence) => {
                p.failed = true;
                self.events.push(ConsumerEvent::LogTruncation {
                    tp,
                    position,
                    diverging_offset: divergence.map(|d| d.0),
                });
            }
        }
    }
}
