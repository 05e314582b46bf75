//! Hosting the group coordinator on a broker. The [`GroupCoordinator`] is a pure state
//! machine; this file is the glue that gives it a home:
//!
//! - FindCoordinator is answered from the broker's metadata image: the coordinator of a group
//!   is the leader of its `__consumer_offsets` partition.
//! - Group requests go to the coordinator; its actions become replies, broker timers,
//!   trace events and *internal appends* to `__consumer_offsets` (acks=all), whose outcome
//!   later completes the OffsetCommit.
//! - When this broker becomes leader of an offsets partition, the coordinator loads the
//!   offsets stored in it; when it loses leadership, the groups move away with it and their
//!   members get NOT_COORDINATOR and look again.

use crate::kafka::broker::group_coordinator::{
    offsets_partition_for, CommitId, GroupAction, GroupCoordinator, GroupCoordinatorConfig,
    GroupTimer,
};
use crate::kafka::broker::purgatory::{DelayedProduce, PendingPart, Waiter};
use crate::kafka::broker::{
    AppendToken, Broker, BrokerCx, BrokerTimer, LeadershipChange, ReadLimit,
};
use crate::kafka::config::Acks;
use crate::kafka::config::BrokerConfig;
use crate::kafka::controller::CONSUMER_OFFSETS;
use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::record::{Batch, RecordBatch};
use crate::kafka::types::{LeaderEpoch, Offset};
use crate::kafka::types::{Topic, TopicPartition};
use crate::sim::Duration;
use std::sync::Arc;

/// How long an offset commit may wait for its append (`offsets.commit.timeout.ms`).
const OFFSETS_COMMIT_TIMEOUT_MS: u64 = 5_000;

/// The coordinator settings a broker configuration implies.
pub fn coordinator_for(config: &BrokerConfig) -> GroupCoordinator {
    GroupCoordinator::new(GroupCoordinatorConfig {
        group_min_session_timeout_ms: config.group_min_session_timeout_ms,
        group_max_session_timeout_ms: config.group_max_session_timeout_ms,
        group_initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
        offsets_topic_num_partitions: config.offsets_topic_num_partitions,
    })
}

impl Broker {
    /// FindCoordinator: the leader of the group's `__consumer_offsets` partition.
    pub(crate) fn on_find_coordinator(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: crate::sim::Peer,
        r: FindCoordinatorRequest,
    ) {
        let tp = match r.key_type {
            CoordinatorType::Group => {
                let p = offsets_partition_for(&r.key, self.config.offsets_topic_num_partitions);
                TopicPartition::new(CONSUMER_OFFSETS, p)
            }
            CoordinatorType::Transaction => self.txn_state_partition(&r.key),
        };
        let leader = self
            .metadata
            .partitions
            .get(&tp)
            .and_then(|p| p.leader)
            .and_then(|b| Some((b, self.metadata.node_of(b)?)));
        let error = match leader {
            Some(_) => ErrorCode::None,
            None => ErrorCode::CoordinatorNotAvailable,
        };
        let resp = FindCoordinatorResponse {
            correlation_id: r.correlation_id,
            error,
            coordinator: leader,
        };
        cx.reply(from, Msg::FindCoordinatorResponse(resp));
    }

    /// A JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit or OffsetFetch.
    pub(crate) fn on_group_request(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: crate::sim::Peer,
        msg: Msg,
    ) {
        let now = cx.now();
        if let Some(actions) = self.groups.on_request(now, from, msg) {
            self.apply_group_actions(cx, actions);
        }
    }

    pub(crate) fn on_group_timer(&mut self, cx: &mut BrokerCx<'_>, t: GroupTimer) {
        let actions = self.groups.on_timer(cx.now(), t);
        self.apply_group_actions(cx, actions);
    }

    /// Feeds the coordinator what happened in the broker since the last call: leadership of
    /// offsets partitions gained or lost, offset appends settled.
    pub(crate) fn drive_groups(&mut self, cx: &mut BrokerCx<'_>) {
        if !self.has_group_work() {
            return; // the common case, after every message: nothing to hand over
        }
        for _ in 0..1_000 {
            let changes = self.take_leadership_changes();
            let appends = self.take_completed_appends();
            if changes.is_empty() && appends.is_empty() {
                return;
            }
            for change in changes {
                self.on_txn_leadership_change(cx, &change);
                self.on_leadership_change(change);
            }
            for (token, outcome) in appends {
                let Some(commit) = self.group_appends.remove(&token) else {
                    self.on_txn_append_done(cx, token, outcome);
                    continue;
                };
                let error = outcome.err().unwrap_or(ErrorCode::None);
                let actions = self.groups.on_append_complete(commit, error);
                self.apply_group_actions(cx, actions);
            }
        }
    }

    fn on_leadership_change(&mut self, change: LeadershipChange) {
        match change {
            LeadershipChange::Became { tp, .. } if &*tp.topic == CONSUMER_OFFSETS => {
                let batches = self
                    .read_log(&tp, Offset::ZERO, u32::MAX, ReadLimit::LogEnd)
                    .unwrap_or_default();
                let (records, open) = super::txn_offsets::replay_offsets_log(&batches);
                self.groups.on_become_leader(tp.partition, &records);
                self.groups.load_txn_offsets(open);
            }
            LeadershipChange::Resigned { tp } if &*tp.topic == CONSUMER_OFFSETS => {
                self.groups.on_resign(tp.partition);
            }
            _ => {}
        }
    }

    pub(crate) fn apply_group_actions(&mut self, cx: &mut BrokerCx<'_>, actions: Vec<GroupAction>) {
        for a in actions {
            match a {
                GroupAction::Respond { to, msg } => cx.reply(to, msg),
                GroupAction::SetTimer { after, timer } => {
                    cx.set_timer(after, BrokerTimer::Group(timer));
                }
                GroupAction::Emit(e) => cx.emit(e),
                GroupAction::Append {
                    offsets_partition,
                    records,
                    commit,
                } => {
                    let batch = Arc::new(RecordBatch::new(records));
                    self.append_offsets(cx, offsets_partition, batch, commit);
                }
                GroupAction::AppendTxn {
                    offsets_partition,
                    records,
                    producer_id,
                    producer_epoch,
                    commit,
                } => {
                    let mut b = RecordBatch::new(records);
                    b.producer_id = producer_id;
                    b.producer_epoch = producer_epoch;
                    b.is_transactional = true;
                    self.append_offsets(cx, offsets_partition, Arc::new(b), commit);
                }
            }
        }
    }

    /// Appends an offset commit's batch to `__consumer_offsets-{partition}`.
    fn append_offsets(
        &mut self,
        cx: &mut BrokerCx<'_>,
        partition: u32,
        batch: Batch,
        commit: CommitId,
    ) {
        let tp = TopicPartition {
            topic: Topic::new(CONSUMER_OFFSETS),
            partition,
        };
        let timeout = Duration::from_ms(OFFSETS_COMMIT_TIMEOUT_MS);
        match self.append_internal_batch(cx, &tp, batch, timeout) {
            Ok(token) => {
                self.group_appends.insert(token, commit);
            }
            Err(e) => {
                let more = self.groups.on_append_complete(commit, e);
                self.apply_group_actions(cx, more);
            }
        }
    }
}

/// The broker services the group coordinator uses: appends to `__consumer_offsets`, reads
/// of it, and the leadership changes that move groups between brokers.
impl Broker {
    /// Appends `records` to `tp`, which this broker must lead, as a Produce with acks=all
    /// would. The outcome arrives later through [`Broker::take_completed_appends`] under
    /// the returned token: `Ok(base offset)` once the high watermark covers the records, or
    /// an error (NOT_LEADER_OR_FOLLOWER if leadership is lost, REQUEST_TIMED_OUT after
    /// `timeout`, NOT_ENOUGH_REPLICAS[_AFTER_APPEND]). An immediate error is returned as is.
    pub fn append_internal(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        records: Vec<Record>,
        timeout: Duration,
    ) -> Result<AppendToken, ErrorCode> {
        let batch = Arc::new(RecordBatch::new(records));
        self.append_internal_batch(cx, tp, batch, timeout)
    }

    /// [`append_internal`](Self::append_internal) of a batch built by the caller (a
    /// transaction marker, transactional offsets).
    pub fn append_internal_batch(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        batch: Batch,
        timeout: Duration,
    ) -> Result<AppendToken, ErrorCode> {
        let (base, required) = self.append_to_leader(cx, tp, batch, Acks::All.as_i16())?;
        self.next_token += 1;
        let token = AppendToken(self.next_token);
        let resp = PartitionProduceResponse {
            tp: tp.clone(),
            error: ErrorCode::None,
            base_offset: base,
            log_start_offset: Offset::ZERO,
            current_leader: None,
        };
        let parts = vec![PendingPart {
            resp,
            required: Some(required),
        }];
        let deadline = cx.now() + timeout;
        self.settle_or_park(
            cx,
            DelayedProduce {
                waiter: Waiter::Internal(token),
                deadline,
                parts,
            },
        );
        Ok(token)
    }

    /// Outcomes of internal appends settled since the last call.
    pub fn take_completed_appends(&mut self) -> Vec<(AppendToken, Result<Offset, ErrorCode>)> {
        std::mem::take(&mut self.completed_appends)
    }

    /// Leaderships gained or lost since the last call.
    /// Whether leadership changes or completed appends wait for the group coordinator.
    pub(crate) fn has_group_work(&self) -> bool {
        !self.leadership_changes.is_empty() || !self.completed_appends.is_empty()
    }

    pub fn take_leadership_changes(&mut self) -> Vec<LeadershipChange> {
        std::mem::take(&mut self.leadership_changes)
    }

    /// Reads this broker's replica of `tp` from `offset` (up to the HW or the LEO).
    pub fn read_log(
        &self,
        tp: &TopicPartition,
        offset: Offset,
        max_bytes: u32,
        limit: ReadLimit,
    ) -> Result<Vec<Batch>, ErrorCode> {
        let part = self
            .partitions
            .get(tp)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let log = &part.log;
        if offset < log.log_start_offset() || offset > log.log_end_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        let upto = match limit {
            ReadLimit::HighWatermark => log.high_watermark(),
            ReadLimit::LogEnd => log.log_end_offset(),
        };
        Ok(log.read(offset, max_bytes, upto))
    }

    /// Whether this broker currently leads `tp`, and in which epoch.
    pub fn leader_epoch_of(&self, tp: &TopicPartition) -> Option<LeaderEpoch> {
        self.partitions
            .get(tp)
            .filter(|p| p.is_leader())
            .map(|p| p.leader_epoch)
    }
}
