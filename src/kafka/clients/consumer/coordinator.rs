//! The consumer's side of the classic group protocol (`ConsumerCoordinator`,
//! `AbstractCoordinator`): find the coordinator, join (a new member joins twice: the first
//! JoinGroup only fetches its member id), sync (the leader runs the assignor for everyone),
//! heartbeat, commit, leave.
//!
//! Eager assignors (range, roundrobin, sticky) revoke *every* partition before rejoining, so
//! the whole group stops consuming during a rebalance. Cooperative-sticky keeps its
//! partitions while rejoining; after SyncGroup it revokes only those no longer assigned and
//! rejoins at once, so a second, quick rebalance hands them to their new owner.
//!
//! A member whose application stops calling poll() for `max.poll.interval.ms` leaves the
//! group from the heartbeat thread (LeaveGroup), and rejoins only once poll() is called
//! again; meanwhile its partitions go to others and its commits fail.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::assignor;
use super::{CommitError, CommitException, Consumer, ConsumerEvent, ConsumerTimer, Pending};
use crate::kafka::config::{AssignmentStrategy, EffectiveConsumerConfig};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::types::{Generation, LeaderEpoch, Offset, Topic, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Time, VecMap};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MemberState {
    Unjoined,
    Joining,
    Syncing,
    Stable,
}

#[derive(Clone, Debug)]
struct PendingCommit {
    offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
    sync: bool,
    /// commitSync gives up after `default.api.timeout.ms`.
    deadline: Time,
    /// Waiting for a coordinator or a backoff before (re)sending.
    retry_at: Option<Time>,
}

/// Group membership state of one consumer.
#[derive(Clone, Debug)]
pub struct GroupMembership {
    pub group_id: Option<Arc<str>>,
    instance_id: Option<Arc<str>>,
    strategies: Vec<AssignmentStrategy>,
    pub coordinator: Option<NodeId>,
    pub member_id: Arc<str>,
    pub generation: Generation,
    pub protocol: Option<AssignmentStrategy>,
    pub state: MemberState,
    rejoin_needed: bool,
    rejoin_reason: String,
    find_in_flight: bool,
    heartbeat_in_flight: bool,
    next_heartbeat: Time,
    backoff_until: Time,
    /// The last assignment (sticky assignors' "user data").
    previous_assignment: Vec<TopicPartition>,
    /// As group leader: the partition count of every subscribed topic the assignment was
    /// computed from (`None` for a topic the metadata did not know yet). Kafka's leader
    /// rejoins when its metadata no longer matches (`assignmentSnapshot`).
    assignment_snapshot: Option<BTreeMap<Arc<str>, Option<u32>>>,
    commits: VecMap<u64, PendingCommit>,
    next_commit_id: u64,
}

impl GroupMembership {
    pub fn new(c: &EffectiveConsumerConfig) -> Self {
        GroupMembership {
            group_id: c.group_id.clone(),
            instance_id: c.group_instance_id.clone(),
            strategies: c.partition_assignment_strategy.clone(),
            coordinator: None,
            member_id: Arc::from(""),
            generation: Generation::NONE,
            protocol: None,
            state: MemberState::Unjoined,
            rejoin_needed: false,
            rejoin_reason: String::new(),
            find_in_flight: false,
            heartbeat_in_flight: false,
            next_heartbeat: Time::ZERO,
            backoff_until: Time::ZERO,
            previous_assignment: Vec::new(),
            assignment_snapshot: None,
            commits: VecMap::new(),
            next_commit_id: 0,
        }
    }

    pub fn request_rejoin(&mut self, reason: &str) {
        self.rejoin_needed = true;
        self.rejoin_reason = reason.to_string();
    }

    /// Whether the member holds a generation (heartbeats flow, poll interval is watched).
    pub fn is_member(&self) -> bool {
        matches!(self.state, MemberState::Stable | MemberState::Syncing)
    }

    /// The coordinator stopped answering or moved: find it again.
    pub fn coordinator_lost(&mut self, now: Time) {
        self.coordinator = None;
        self.find_in_flight = false;
        self.heartbeat_in_flight = false;
        if matches!(self.state, MemberState::Joining | MemberState::Syncing) {
            self.state = MemberState::Unjoined;
            self.rejoin_needed = true;
        }
        self.backoff_until = now + Duration::from_ms(100);
    }

    /// Every time the membership wants to act (the caller ignores those already past:
    /// a single minimum could hide a future deadline behind a past one).
    pub fn deadlines(&self) -> impl Iterator<Item = Time> + '_ {
        let heartbeat = self.is_member().then_some(self.next_heartbeat);
        std::iter::once(self.backoff_until)
            .chain(heartbeat)
            .chain(self.commits.values().filter_map(|c| c.retry_at))
    }

    /// Forget the generation (ILLEGAL_GENERATION) and possibly the member id (UNKNOWN_MEMBER_ID).
    fn reset_generation(&mut self, forget_member_id: bool, reason: &str) {
        self.generation = Generation::NONE;
        if forget_member_id {
            self.member_id = Arc::from("");
        }
        self.state = MemberState::Unjoined;
        self.heartbeat_in_flight = false;
        self.request_rejoin(reason);
    }

    fn cooperative(&self) -> bool {
        self.protocol.is_some_and(|p| p.is_cooperative())
            || (self.protocol.is_none() && self.strategies.iter().all(|s| s.is_cooperative()))
    }
}

impl Consumer {
    fn request_timeout(&self) -> Duration {
        Duration::from_ms(self.config.request_timeout_ms)
    }

    /// Drives the membership: coordinator lookup, (re)join, heartbeats, commit retries.
    pub(super) fn service_group<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let Some(group_id) = self.group.group_id.clone() else {
            return;
        };
        if self.subscription.is_empty() || now < self.group.backoff_until {
            return;
        }
        let Some(coordinator) = self.group.coordinator else {
            self.find_coordinator(cx, group_id);
            return;
        };
        // Kafka (re)joins only from inside poll(): a stalled application does not rejoin.
        let joinable = matches!(
            self.group.state,
            MemberState::Unjoined | MemberState::Stable
        );
        if self.group.rejoin_needed && joinable && self.waiting_in_poll {
            self.join_group(cx, coordinator, group_id.clone());
        }
        if self.group.is_member()
            && !self.group.heartbeat_in_flight
            && now >= self.group.next_heartbeat
        {
            self.heartbeat(cx, coordinator, group_id);
        }
        self.retry_commits(cx, now);
    }

    /// As a stable leader whose assignment came from metadata that has since changed (a
    /// topic it did not know yet, or more partitions): rebalance so the new partitions get
    /// an owner. Checked when metadata arrives and when the member becomes stable.
    pub(super) fn rejoin_if_metadata_changed(&mut self) {
        if self.group.state == MemberState::Stable && self.assignment_outdated() {
            self.group.assignment_snapshot = None;
            self.group
                .request_rejoin("cached metadata has changed since the assignment");
        }
    }

    fn assignment_outdated(&self) -> bool {
        self.group.assignment_snapshot.as_ref().is_some_and(|snap| {
            snap.iter().any(|(t, n)| {
                self.metadata
                    .partition_count(t)
                    .is_some_and(|now| Some(now) != *n)
            })
        })
    }

    fn find_coordinator<C>(&mut self, cx: &mut C, key: Arc<str>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        if self.group.find_in_flight {
            return;
        }
        // FindCoordinator goes to the least-loaded node (NetworkClient.leastLoadedNode).
        let nodes = self.metadata.nodes();
        let Some(node) = self.net.least_loaded_node(&nodes, cx.now(), |_| 0) else {
            return;
        };
        self.group.find_in_flight = true;
        let timeout = self.request_timeout();
        self.request(
            cx,
            node,
            timeout,
            Pending::FindCoordinator,
            |correlation_id| {
                Msg::FindCoordinatorRequest(FindCoordinatorRequest {
                    correlation_id,
                    key,
                    key_type: CoordinatorType::Group,
                })
            },
        );
    }

    /// Sends JoinGroup after Kafka's `onJoinPrepare`: a member whose generation was reset
    /// (kicked out) declares its partitions lost; an eager one revokes every partition.
    fn join_group<C>(&mut self, cx: &mut C, coordinator: NodeId, group_id: Arc<str>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let lost = self.group.generation == Generation::NONE || self.group.member_id.is_empty();
        if !self.partitions.is_empty() && (lost || !self.group.cooperative()) {
            if self.config.enable_auto_commit {
                // Kafka commits before revoking; a kicked-out member's commit fails here.
                self.commit_async(cx);
            }
            if !lost && self.revoke_commit {
                // The application's `onPartitionsRevoked` commits what it processed.
                self.commit_sync(cx);
            }
            let partitions = self.assignment();
            self.partitions.clear();
            self.leaders_checked = None;
            self.fetch_plan = None;
            if lost {
                self.lost(cx, partitions);
            } else {
                self.revoked(cx, partitions);
            }
        }
        let owned = if self.group.cooperative() {
            self.assignment()
        } else {
            self.group.previous_assignment.clone()
        };
        let protocols = self
            .group
            .strategies
            .iter()
            .map(|s| {
                let sub = Subscription {
                    topics: self.subscription.clone(),
                    owned_partitions: owned.clone(),
                    generation: self.group.generation,
                };
                (Arc::from(s.name()), sub)
            })
            .collect();
        let req = JoinGroupRequest {
            correlation_id: 0,
            group_id,
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            member_id: self.group.member_id.clone(),
            group_instance_id: self.group.instance_id.clone(),
            protocols,
        };
        self.group.state = MemberState::Joining;
        self.group.rejoin_needed = false;
        // JoinGroup waits on the broker for the whole rebalance: Kafka allows it that long.
        let timeout = Duration::from_ms(self.config.max_poll_interval_ms + 5_000);
        self.request(
            cx,
            coordinator,
            timeout,
            Pending::JoinGroup,
            |correlation_id| {
                Msg::JoinGroupRequest(Box::new(JoinGroupRequest {
                    correlation_id,
                    ..req
                }))
            },
        );
    }

    fn heartbeat<C>(&mut self, cx: &mut C, coordinator: NodeId, group_id: Arc<str>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        self.group.heartbeat_in_flight = true;
        self.group.next_heartbeat = cx.now() + Duration::from_ms(self.config.heartbeat_interval_ms);
        let (generation_id, member_id) = (self.group.generation, self.group.member_id.clone());
        let timeout = self.request_timeout();
        self.request(
            cx,
            coordinator,
            timeout,
            Pending::Heartbeat {
                generation: generation_id,
            },
            |correlation_id| {
                Msg::HeartbeatRequest(HeartbeatRequest {
                    correlation_id,
                    group_id,
                    generation_id,
                    member_id,
                })
            },
        );
    }

    /// The heartbeat thread's poll-timeout check: leave the group if the application has not
    /// called poll() within `max.poll.interval.ms`.
    pub(super) fn check_poll_interval<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let limit = self.last_poll + Duration::from_ms(self.config.max_poll_interval_ms);
        if self.waiting_in_poll || now < limit || !self.group.is_member() {
            return;
        }
        if let (Some(coordinator), Some(group_id), None) = (
            self.group.coordinator,
            self.group.group_id.clone(),
            self.group.instance_id.as_ref(),
        ) {
            let member_id = self.group.member_id.clone();
            let timeout = self.request_timeout();
            self.request(
                cx,
                coordinator,
                timeout,
                Pending::LeaveGroup,
                |correlation_id| {
                    Msg::LeaveGroupRequest(LeaveGroupRequest {
                        correlation_id,
                        group_id,
                        member_id,
                    })
                },
            );
        }
        // The assignment stays until the next poll() rejoins (`onJoinPrepare` then calls
        // `onPartitionsLost`): meanwhile a commit fails with CommitFailedException.
        self.group.reset_generation(
            true,
            "consumer poll timeout has expired (max.poll.interval.ms)",
        );
    }

    pub(super) fn on_group_response<C>(
        &mut self,
        cx: &mut C,
        node: NodeId,
        what: Pending,
        msg: &Msg,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        match (what, msg) {
            (Pending::FindCoordinator, Msg::FindCoordinatorResponse(r)) => {
                self.group.find_in_flight = false;
                match (r.error, r.coordinator) {
                    (ErrorCode::None, Some((_, node))) => self.group.coordinator = Some(node),
                    _ => {
                        self.group.backoff_until =
                            now + Duration::from_ms(self.config.retry_backoff_ms)
                    }
                }
            }
            (Pending::JoinGroup, Msg::JoinGroupResponse(r)) => self.on_join_response(cx, node, r),
            (Pending::SyncGroup, Msg::SyncGroupResponse(r)) => self.on_sync_response(cx, r),
            (Pending::Heartbeat { generation }, Msg::HeartbeatResponse(r)) => {
                self.group.heartbeat_in_flight = false;
                if self.generation_unchanged(generation) {
                    self.on_group_error(cx, r.error, "heartbeat");
                }
            }
            _ => {}
        }
    }

    /// Whether a group response to a request sent in `sent` still concerns this member
    /// (Kafka's `generationUnchanged()`): not if the member has since reset its generation
    /// or is already rejoining — then the error is old news, and acting on it would reset
    /// a JoinGroup in flight and send a second one.
    fn generation_unchanged(&self, sent: Generation) -> bool {
        sent == self.group.generation && self.group.state != MemberState::Joining
    }

    /// Reactions shared by Heartbeat, SyncGroup and JoinGroup errors.
    fn on_group_error<C>(&mut self, cx: &mut C, error: ErrorCode, during: &str)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        match error {
            ErrorCode::None => {}
            ErrorCode::RebalanceInProgress => {
                // A stable member keeps consuming until poll() rejoins; a syncing one restarts.
                if self.group.state == MemberState::Syncing {
                    self.group.state = MemberState::Unjoined;
                }
                self.group
                    .request_rejoin(&format!("{during}: group is rebalancing"));
            }
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId => {
                let forget = error == ErrorCode::UnknownMemberId;
                // As Kafka's `resetStateAndRejoin`: the partitions stay assigned until the
                // next poll() rejoins and declares them lost (`onJoinPrepare`).
                self.group
                    .reset_generation(forget, &format!("{during}: {error}"));
            }
            ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress => self.group.coordinator_lost(now),
            _ => {
                self.group.state = MemberState::Unjoined;
                self.group.request_rejoin(&format!("{during}: {error}"));
                self.group.backoff_until = now + Duration::from_ms(self.config.retry_backoff_ms);
            }
        }
    }
}

impl Consumer {
    fn on_join_response<C>(&mut self, cx: &mut C, coordinator: NodeId, r: &JoinGroupResponse)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        match r.error {
            ErrorCode::None => {}
            ErrorCode::MemberIdRequired => {
                // KIP-394: the first join only hands out the member id; join again with it.
                self.group.member_id = r.member_id.clone();
                self.group.state = MemberState::Unjoined;
                self.group.request_rejoin("member id required");
                return;
            }
            e => {
                // A failed join still has to happen: whatever the error (a lost coordinator
                // included), the member rejoins once it can.
                self.group.state = MemberState::Unjoined;
                self.group.request_rejoin(&format!("join: {e}"));
                return self.on_group_error(cx, e, "join");
            }
        }
        self.group.member_id = r.member_id.clone();
        self.group.generation = r.generation_id;
        self.group.protocol = r
            .protocol_name
            .as_deref()
            .and_then(AssignmentStrategy::from_name);
        self.group.state = MemberState::Syncing;
        self.group.assignment_snapshot = None;
        let assignments = if r.leader == r.member_id {
            self.run_assignor(r)
        } else {
            Vec::new()
        };
        let req = SyncGroupRequest {
            correlation_id: 0,
            group_id: self.group.group_id.clone().expect("in a group"),
            generation_id: r.generation_id,
            member_id: r.member_id.clone(),
            assignments,
        };
        let timeout = self.request_timeout();
        self.request(
            cx,
            coordinator,
            timeout,
            Pending::SyncGroup,
            |correlation_id| {
                Msg::SyncGroupRequest(SyncGroupRequest {
                    correlation_id,
                    ..req
                })
            },
        );
    }

    /// The leader computes everyone's assignment with the chosen assignor.
    fn run_assignor(&mut self, r: &JoinGroupResponse) -> Vec<(Arc<str>, Vec<TopicPartition>)> {
        let strategy = self.group.protocol.unwrap_or(AssignmentStrategy::Range);
        let topics: BTreeSet<Arc<str>> = r
            .members
            .iter()
            .flat_map(|m| m.subscription.topics.iter().cloned())
            .collect();
        let mut counts = BTreeMap::new();
        let mut snapshot = BTreeMap::new();
        for t in topics {
            let n = self.metadata.partition_count(&t);
            snapshot.insert(t.clone(), n);
            match n {
                Some(n) => {
                    counts.insert(t, n);
                }
                None => self.metadata.add_topic(Topic::new(&t)),
            }
        }
        self.group.assignment_snapshot = Some(snapshot);
        assignor::assign(strategy, &counts, &r.members)
            .into_iter()
            .collect()
    }

    fn on_sync_response<C>(&mut self, cx: &mut C, r: &SyncGroupResponse)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        if !r.error.is_ok() {
            self.group.state = MemberState::Unjoined;
            self.group.request_rejoin(&format!("sync: {}", r.error));
            return self.on_group_error(cx, r.error, "sync");
        }
        self.apply_assignment(cx, &r.assignment);
    }

    /// Installs the new assignment; cooperative members revoke what they lost and rejoin.
    fn apply_assignment<C>(&mut self, cx: &mut C, assignment: &[TopicPartition])
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        let new: BTreeSet<TopicPartition> = assignment.iter().cloned().collect();
        let revoked: Vec<TopicPartition> = self
            .partitions
            .keys()
            .filter(|tp| !new.contains(*tp))
            .cloned()
            .collect();
        if !revoked.is_empty() {
            if self.config.enable_auto_commit {
                self.commit_async(cx);
            }
            for tp in &revoked {
                self.partitions.remove(tp);
            }
            self.leaders_checked = None;
            self.fetch_plan = None;
            self.revoked(cx, revoked);
            self.group
                .request_rejoin("revoked partitions must move to their new owner (cooperative)");
        }
        let added: Vec<TopicPartition> = new
            .iter()
            .filter(|tp| !self.partitions.contains_key(tp))
            .map(|tp| TopicPartition {
                topic: tp.topic,
                partition: tp.partition,
            })
            .collect();
        for tp in &added {
            self.partitions.insert(tp.clone(), Default::default());
        }
        self.leaders_checked = None;
        self.fetch_plan = None;
        self.group.state = MemberState::Stable;
        self.group.previous_assignment = new.iter().cloned().collect();
        self.group.next_heartbeat = now + Duration::from_ms(self.config.heartbeat_interval_ms);
        let group = self.group.group_id.as_deref().unwrap_or("").to_string();
        cx.emit(KafkaEvent::PartitionsAssigned {
            group,
            generation: self.group.generation,
            partitions: added.clone(),
        });
        self.events.push(ConsumerEvent::Assigned {
            generation: self.group.generation,
            member_id: self.group.member_id.clone(),
            partitions: added,
            assignment: new.into_iter().collect(),
        });
        self.rejoin_if_metadata_changed();
    }

    pub(super) fn revoked<C>(&mut self, cx: &mut C, partitions: Vec<TopicPartition>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let group = self.group.group_id.as_deref().unwrap_or("").to_string();
        cx.emit(KafkaEvent::PartitionsRevoked {
            group,
            partitions: partitions.clone(),
        });
        self.events.push(ConsumerEvent::Revoked { partitions });
    }

    /// `onPartitionsLost`: another member may own them already, so nothing is committed.
    fn lost<C>(&mut self, cx: &mut C, partitions: Vec<TopicPartition>)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let group = self.group.group_id.as_deref().unwrap_or("").to_string();
        cx.emit(KafkaEvent::PartitionsLost {
            group,
            partitions: partitions.clone(),
        });
        self.events.push(ConsumerEvent::Lost { partitions });
    }

    // ------------------------------------------------------------------ commits

    /// The positions of every assigned partition (`subscriptions.allConsumed()`).
    pub fn consumed_offsets(&self) -> Vec<(TopicPartition, Offset, LeaderEpoch)> {
        self.partitions
            .iter()
            .filter_map(|(tp, p)| {
                Some((
                    tp.clone(),
                    p.position?,
                    p.last_epoch.unwrap_or(LeaderEpoch::NONE),
                ))
            })
            .collect()
    }

    /// `commitSync()`: commits the consumed positions; retried until
    /// `default.api.timeout.ms`. The result arrives as `CommitCompleted { id, .. }`.
    pub fn commit_sync<C>(&mut self, cx: &mut C) -> u64
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let offsets = self.consumed_offsets();
        self.commit_offsets(cx, offsets, true)
    }

    /// `commitAsync()`: commits the consumed positions once, never retried (a retry could
    /// overwrite a newer commit).
    pub fn commit_async<C>(&mut self, cx: &mut C) -> u64
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let offsets = self.consumed_offsets();
        self.commit_offsets(cx, offsets, false)
    }

    /// Commits explicit offsets (`commitSync(Map)` / `commitAsync(Map)`).
    pub fn commit_offsets<C>(
        &mut self,
        cx: &mut C,
        offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
        sync: bool,
    ) -> u64
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        self.group.next_commit_id += 1;
        let id = self.group.next_commit_id;
        let now = cx.now();
        if offsets.is_empty() {
            self.events.push(ConsumerEvent::CommitCompleted {
                id,
                offsets: Vec::new(),
                result: Ok(()),
            });
            return id;
        }
        let deadline = now + Duration::from_ms(self.config.default_api_timeout_ms);
        self.group.commits.insert(
            id,
            PendingCommit {
                offsets,
                sync,
                deadline,
                retry_at: Some(now),
            },
        );
        self.retry_commits(cx, now);
        self.arm_wakeup(cx);
        id
    }

    /// Sends commits that wait for a coordinator or a backoff.
    fn retry_commits<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let due: Vec<u64> = self
            .group
            .commits
            .iter()
            .filter(|(_, c)| c.retry_at.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let (Some(coordinator), Some(group_id)) =
                (self.group.coordinator, self.group.group_id.clone())
            else {
                let c = &self.group.commits[&id];
                if !c.sync || now >= c.deadline {
                    let error = CommitError::from_code(ErrorCode::CoordinatorNotAvailable);
                    self.commit_failed(cx, id, error);
                }
                continue;
            };
            if let Some(exception) = self.not_in_active_generation() {
                let error = CommitError {
                    exception,
                    error: None,
                };
                self.commit_failed(cx, id, error);
                continue;
            }
            let c = self.group.commits.get_mut(&id).expect("listed");
            c.retry_at = None;
            let req = OffsetCommitRequest {
                correlation_id: 0,
                group_id,
                generation_id: self.group.generation,
                member_id: self.group.member_id.clone(),
                offsets: c.offsets.clone(),
            };
            let timeout = self.request_timeout();
            self.request(
                cx,
                coordinator,
                timeout,
                Pending::OffsetCommit {
                    id,
                    generation: self.group.generation,
                },
                |correlation_id| {
                    Msg::OffsetCommitRequest(OffsetCommitRequest {
                        correlation_id,
                        ..req
                    })
                },
            );
        }
    }

    /// Kafka's `sendOffsetCommitRequest` sends a subscribed member's commit only with a
    /// stable generation (`generationIfStable`); otherwise it fails the commit without
    /// sending: RebalanceInProgressException while a rebalance is under way,
    /// CommitFailedException when the member was kicked out.
    fn not_in_active_generation(&self) -> Option<CommitException> {
        match self.group.state {
            MemberState::Stable => None,
            _ if self.subscription.is_empty() => None,
            MemberState::Joining | MemberState::Syncing => {
                Some(CommitException::RebalanceInProgress)
            }
            MemberState::Unjoined => Some(CommitException::CommitFailed),
        }
    }

    pub(super) fn on_commit_response<C>(
        &mut self,
        cx: &mut C,
        id: u64,
        sent: Generation,
        r: &OffsetCommitResponse,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let error = r
            .partitions
            .iter()
            .map(|(_, e)| *e)
            .find(|e| !e.is_ok())
            .unwrap_or(ErrorCode::None);
        if error.is_ok() {
            let Some(c) = self.group.commits.remove(&id) else {
                return;
            };
            let offsets = c.offsets.into_iter().map(|(tp, o, _)| (tp, o)).collect();
            self.events.push(ConsumerEvent::CommitCompleted {
                id,
                offsets,
                result: Ok(()),
            });
            return;
        }
        let exception = match error {
            // Already rejoining with a newer generation: only a rebalance to finish.
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId
                if !self.generation_unchanged(sent) && self.group.state == MemberState::Joining =>
            {
                CommitException::RebalanceInProgress
            }
            // The group moved on without us: reset the generation and rejoin in poll().
            ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId => {
                CommitException::CommitFailed
            }
            // Rejoin, keeping the generation (the member may still be valid).
            ErrorCode::RebalanceInProgress => CommitException::RebalanceInProgress,
            _ => CommitException::Other,
        };
        if exception != CommitException::Other && self.generation_unchanged(sent) {
            self.on_group_error(cx, error, "commit");
        }
        let error = CommitError {
            exception,
            error: Some(error),
        };
        self.commit_failed(cx, id, error);
    }

    /// A commit attempt failed: retried (commitSync, retriable error, time left) or reported.
    pub(super) fn commit_failed<C>(&mut self, cx: &mut C, id: u64, error: CommitError)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        if matches!(
            error.error,
            Some(
                ErrorCode::NotCoordinator
                    | ErrorCode::CoordinatorNotAvailable
                    | ErrorCode::NetworkException
            )
        ) {
            self.group.coordinator_lost(now);
        }
        let Some(c) = self.group.commits.get_mut(&id) else {
            return;
        };
        let retriable = error.exception == CommitException::Other
            && error
                .error
                .is_some_and(|e| e.is_retriable() || e == ErrorCode::NetworkException);
        if c.sync && retriable && now < c.deadline {
            c.retry_at = Some(now + Duration::from_ms(self.config.retry_backoff_ms));
            return;
        }
        let c = self.group.commits.remove(&id).expect("present");
        let group = self.group.group_id.as_deref().unwrap_or("").to_string();
        cx.emit(KafkaEvent::CommitFailed { group, error });
        let offsets = c.offsets.into_iter().map(|(tp, o, _)| (tp, o)).collect();
        self.events.push(ConsumerEvent::CommitCompleted {
            id,
            offsets,
            result: Err(error),
        });
    }
}
