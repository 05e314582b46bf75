//! The consumer client (`KafkaConsumer`), sans-IO: a component an application node embeds.
//!
//! The application calls [`Consumer::poll`]; it never blocks. It returns at most
//! `max.poll.records` records already fetched, and does the bookkeeping Kafka's `poll()`
//! does: it proves the application alive (`max.poll.interval.ms`), commits offsets when
//! auto-commit is due, and starts a rebalance the group asked for. Everything else runs in
//! the background, on messages and timers, as Kafka's network and heartbeat threads do:
//!
//! - the [`coordinator`] part finds the group coordinator, joins the group (the leader runs
//!   the [`assignor`]), heartbeats every `heartbeat.interval.ms`, commits offsets, and
//!   leaves the group when the application stopped polling for `max.poll.interval.ms`;
//! - the [`fetcher`] part finds a starting position for each assigned partition (the
//!   committed offset via OffsetFetch, else `auto.offset.reset` via ListOffsets) and
//!   long-polls partition leaders with Fetch (`fetch.min.bytes`, `fetch.max.wait.ms`),
//!   refreshing metadata on NOT_LEADER_OR_FOLLOWER and FENCED_LEADER_EPOCH and resetting the
//!   position on OFFSET_OUT_OF_RANGE.
//!
//! Outcomes the application reacts to (assignment changes, commit results, errors) are
//! drained as [`ConsumerEvent`]s — Kafka's rebalance listener and commit callbacks.

pub mod assignor;
pub mod coordinator;
pub mod fetcher;
pub mod isolation;
pub mod validation;

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use coordinator::GroupMembership;

use crate::kafka::clients::metadata::ClientMetadata;
use crate::kafka::clients::network::{response_correlation, InFlightRequest, NetworkClient};
use crate::kafka::config::EffectiveConsumerConfig;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::fetch_session::FetchSessionHandler;
use crate::kafka::partition_map::OrderedPartitionMap;
use crate::kafka::protocol::{CorrelationId, Msg};
use crate::kafka::types::{Generation, LeaderEpoch, Offset, Topic, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Peer, Time, VecMap, Wakeup};

/// The consumer's only timer: "wake up and look at deadlines".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerTimer {
    Wakeup,
}

/// A record returned by `poll()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerRecord {
    pub tp: TopicPartition,
    pub offset: Offset,
    pub key: Option<Arc<str>>,
    pub value: u64,
    pub leader_epoch: LeaderEpoch,
}

/// What the application learns besides records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerEvent {
    /// `onPartitionsAssigned` (the partitions added in this generation).
    Assigned {
        generation: Generation,
        member_id: Arc<str>,
        partitions: Vec<TopicPartition>,
        /// The complete assignment after the change.
        assignment: Vec<TopicPartition>,
    },
    /// `onPartitionsRevoked`.
    Revoked { partitions: Vec<TopicPartition> },
    /// `onPartitionsLost`: the member was kicked out, another member may own them already.
    Lost { partitions: Vec<TopicPartition> },
    /// A commit finished (`commitSync` returned or `commitAsync`'s callback ran).
    CommitCompleted {
        id: u64,
        offsets: Vec<(TopicPartition, Offset)>,
        result: Result<(), CommitError>,
    },
    /// A partition has no valid position and `auto.offset.reset=none`.
    NoOffsetForPartition { tp: TopicPartition },
    /// `LogTruncationException` (with `auto.offset.reset=none`): validation found the log
    /// diverged below the position; the partition is no longer fetched.
    LogTruncation {
        tp: TopicPartition,
        position: Offset,
        /// The first offset known to diverge (None: the leader has no such epoch).
        diverging_offset: Option<Offset>,
    },
}

/// The exception a failed commit surfaces as (`commitSync` throws it, `commitAsync` hands it
/// to the callback) — Kafka's `ConsumerCoordinator.sendOffsetCommitRequest` and its
/// `OffsetCommitResponseHandler`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitException {
    /// `CommitFailedException`: the member's generation is gone (it was kicked out of the
    /// group); not retriable — the next poll() rejoins and its partitions are lost.
    CommitFailed,
    /// `RebalanceInProgressException`: the group is rebalancing; poll() completes the
    /// rebalance, after which the application may commit again.
    RebalanceInProgress,
    /// Any other error (a retriable one after `commitSync` ran out of time, or
    /// `commitAsync`'s single attempt failing).
    Other,
}

/// Why a commit failed: the exception and the OffsetCommit error behind it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CommitError {
    pub exception: CommitException,
    /// The error code from the coordinator (or the connection); `None` when the client
    /// refused the commit itself, without sending it: it is not part of an active group.
    pub error: Option<ErrorCode>,
}

impl CommitError {
    pub(crate) fn from_code(error: ErrorCode) -> Self {
        CommitError {
            exception: CommitException::Other,
            error: Some(error),
        }
    }
}

impl std::fmt::Display for CommitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.exception {
            CommitException::CommitFailed => "CommitFailedException",
            CommitException::RebalanceInProgress => "RebalanceInProgressException",
            CommitException::Other => "",
        };
        match (name, self.error) {
            ("", Some(e)) => write!(f, "{e}"),
            ("", None) => write!(f, "error"),
            (n, Some(e)) => write!(f, "{n} ({e})"),
            (n, None) => write!(f, "{n} (not part of an active group)"),
        }
    }
}

/// What a request in flight was for.
#[derive(Clone, Debug)]
pub(crate) enum Pending {
    Metadata,
    FindCoordinator,
    JoinGroup,
    SyncGroup,
    /// The generation the heartbeat was sent in (its errors only count while it is current).
    Heartbeat {
        generation: Generation,
    },
    LeaveGroup,
    OffsetFetch(Vec<TopicPartition>),
    ListOffsets(Vec<TopicPartition>),
    Fetch(Vec<TopicPartition>),
    OffsetCommit {
        id: u64,
        generation: Generation,
    },
    OffsetsForLeaderEpoch(Vec<TopicPartition>),
}

/// A request in flight, with what it was for.
pub(crate) type InFlight = InFlightRequest<Pending>;

/// Fetch state of one assigned partition.
#[derive(Clone, Debug, Default)]
pub(crate) struct PartitionState {
    /// Next offset to hand to the application; None until OffsetFetch/ListOffsets decide.
    position: Option<Offset>,
    /// Epoch of the last record returned (sent with commits).
    last_epoch: Option<LeaderEpoch>,
    /// A position lookup is underway.
    resolving: bool,
    /// Needs an `auto.offset.reset` (no committed offset, or out of range).
    reset: bool,
    /// Why: NONE (no committed offset) or OFFSET_OUT_OF_RANGE.
    reset_reason: Option<ErrorCode>,
    /// Fetched and not yet returned by poll.
    buffered: VecDeque<ConsumerRecord>,
    high_watermark: Offset,
    /// No fetch before this time (after an error).
    backoff_until: Time,
    /// `auto.offset.reset=none` failed; nothing more is fetched.
    failed: bool,
    /// The leader (node, epoch) the position was last checked against (KIP-320).
    current_leader: Option<(NodeId, LeaderEpoch)>,
    /// The leader changed: no fetching until OffsetsForLeaderEpoch validates the position.
    awaiting_validation: bool,
    /// An OffsetsForLeaderEpoch for it is in flight.
    validating: bool,
}

/// The consumer component.
#[derive(Clone, Debug)]
pub struct Consumer {
    pub config: EffectiveConsumerConfig,
    metadata: ClientMetadata,
    subscription: Vec<Arc<str>>,
    pub(crate) group: GroupMembership,
    /// Sorted, with O(1) lookups: fetch responses, lag and the fetch pass look partitions
    /// up one by one (a binary search over 333 of them cost ~180 instructions each).
    partitions: OrderedPartitionMap<PartitionState>,
    /// Requests in flight and the correlation ids (Kafka's `NetworkClient`).
    net: NetworkClient<Pending>,
    events: Vec<ConsumerEvent>,
    last_poll: Time,
    /// The application is blocked inside poll() waiting for records (not processing).
    waiting_in_poll: bool,
    next_auto_commit: Time,
    wakeup: Wakeup,
    /// Rotates which partition poll() drains first.
    drain_cursor: usize,
    /// The application's rebalance listener commits (`commitSync`) in `onPartitionsRevoked`.
    revoke_commit: bool,
    /// The largest lag seen so far (high watermark − position, in records, over the assigned
    /// partitions): `records-lag-max` over the whole run.
    max_lag_seen: u64,
    /// One incremental fetch session per broker (KIP-227, `kafka/fetch_session.rs`).
    fetch_sessions: VecMap<NodeId, FetchSessionHandler>,
    /// The metadata version of the last pass of `positions_need_validation` after which no
    /// position appeared or vanished and no partition came or went; `None`: run it again.
    leaders_checked: Option<u64>,
    /// At that pass every partition had a position (valid while `leaders_checked` is set):
    /// `resolve_positions` has nothing to resolve.
    all_positioned: bool,
    /// Some partition may await validation (set by that pass, refreshed by the validation
    /// pass): `validate_positions` has something to look at.
    any_awaiting: bool,
    /// This consumer's partitions grouped by leader node, in node and partition order, for
    /// the metadata version they were grouped at (`send_fetches` looks only at the
    /// partitions of leaders without a fetch in flight). Dropped when the assignment changes.
    fetch_plan: Option<(u64, FetchPlan)>,
    /// The partitions that may hold fetched records, in key order: every partition with a
    /// non-empty `buffered` is here (a fetch response adds it), and poll() prunes the ones
    /// it emptied, so poll() looks at these few instead of every assigned partition.
    buffered_hint: Vec<TopicPartition>,
    /// No partition's `backoff_until` is later than this (each setter raises it): once it
    /// is past, the wake-up need not look at every partition's backoff.
    backoff_max: Time,
}

/// Partitions grouped by the node of their leader, nodes and partitions in order.
type FetchPlan = Vec<(NodeId, Vec<TopicPartition>)>;

impl Consumer {
    /// The configuration is already validated ([`ConsumerConfig::effective`](crate::kafka::config::ConsumerConfig::effective)).
    pub fn new(config: EffectiveConsumerConfig, bootstrap: Vec<NodeId>) -> Self {
        let metadata = ClientMetadata::new(
            bootstrap,
            300_000,
            config.retry_backoff_ms,
            config.request_timeout_ms,
        );
        Consumer {
            group: GroupMembership::new(&config),
            metadata,
            subscription: Vec::new(),
            partitions: OrderedPartitionMap::new(),
            net: NetworkClient::default(),
            events: Vec::new(),
            last_poll: Time::ZERO,
            waiting_in_poll: true,
            next_auto_commit: Time::ZERO,
            wakeup: Wakeup::default(),
            drain_cursor: 0,
            revoke_commit: false,
            max_lag_seen: 0,
            fetch_sessions: VecMap::new(),
            leaders_checked: None,
            all_positioned: false,
            any_awaiting: true,
            fetch_plan: None,
            buffered_hint: Vec::new(),
            backoff_max: Time::ZERO,
            config,
        }
    }

    /// `subscribe(topics)`: group management decides the partitions.
    pub fn subscribe<C>(&mut self, cx: &mut C, topics: &[&str])
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        self.subscription = topics.iter().map(|t| Arc::from(*t)).collect();
        for t in &self.subscription {
            self.metadata.add_topic(Topic::new(t));
        }
        self.group.request_rejoin("subscription changed");
        self.next_auto_commit = cx.now() + Duration::from_ms(self.config.auto_commit_interval_ms);
        self.service(cx);
    }

    /// Installs a rebalance listener whose `onPartitionsRevoked` commits the consumed
    /// positions with `commitSync` — the place to commit before an eager rebalance moves the
    /// partitions (not in `onPartitionsLost`: another member may own them already).
    pub fn commit_on_revoke(&mut self, on: bool) {
        self.revoke_commit = on;
    }

    /// The current assignment.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.partitions.keys().cloned().collect()
    }

    pub fn generation(&self) -> Generation {
        self.group.generation
    }

    /// The group membership state (coordinator, member id, generation, join state).
    pub fn membership(&self) -> &coordinator::GroupMembership {
        &self.group
    }

    pub fn member_id(&self) -> Arc<str> {
        self.group.member_id.clone()
    }

    /// Next offset poll() will return for `tp`.
    pub fn position(&self, tp: &TopicPartition) -> Option<Offset> {
        self.partitions.get(tp).and_then(|p| p.position)
    }

    /// Lag of `tp` as the client sees it: high watermark − position.
    pub fn lag(&self, tp: &TopicPartition) -> Option<i64> {
        let p = self.partitions.get(tp)?;
        Some((p.high_watermark - p.position?).max(0))
    }

    /// The largest lag this consumer has seen, at any time, on any partition it owned: the
    /// high watermark a fetch reported minus its position then (Kafka's `records-lag-max`,
    /// over the whole run instead of a metrics window). Lag grows only when a response
    /// raises the high watermark or moves the position back, so it is updated there.
    pub fn max_lag_seen(&self) -> u64 {
        self.max_lag_seen
    }

    fn note_lag(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            if let Some(lag) = self.lag(tp) {
                self.max_lag_seen = self.max_lag_seen.max(lag as u64);
            }
        }
    }

    /// Whether poll() would return records now.
    pub fn has_records(&self) -> bool {
        self.buffered_hint.iter().any(|tp| {
            self.partitions
                .get(tp)
                .is_some_and(|p| !p.buffered.is_empty())
        })
    }

    /// Takes the events since the last call.
    pub fn take_events(&mut self) -> Vec<ConsumerEvent> {
        std::mem::take(&mut self.events)
    }

    /// `KafkaConsumer.poll()`, without blocking: returns up to `max.poll.records` fetched
    /// records (possibly none), after the duties Kafka performs inside poll().
    pub fn poll<C>(&mut self, cx: &mut C) -> Vec<ConsumerRecord>
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        self.last_poll = now;
        // The application is inside poll() now: what poll() does (rejoining the group
        // included) happens in this call, not at some later wake-up that nothing may arm.
        self.waiting_in_poll = true;
        if self.config.enable_auto_commit && now >= self.next_auto_commit {
            self.next_auto_commit = now + Duration::from_ms(self.config.auto_commit_interval_ms);
            self.commit_async(cx);
        }
        // As KafkaConsumer.poll(): the coordinator's duties first (a rejoin happens here),
        // then buffered records are collected, then fetches go out for every partition
        // without buffered data (those this poll emptied included: pipelining).
        self.service_background(cx);
        let records = self.drain_records();
        self.waiting_in_poll = records.is_empty();
        self.service_fetches(cx);
        records
    }

    /// Takes up to `max.poll.records` buffered records, one partition after another.
    fn drain_records(&mut self) -> Vec<ConsumerRecord> {
        let max = self.config.max_poll_records as usize;
        let mut out = Vec::new();
        let n = self.partitions.len();
        if n == 0 {
            return out;
        }
        if self.buffered_hint.is_empty() {
            self.drain_cursor = self.drain_cursor.wrapping_add(1);
            return out; // nothing fetched is waiting
        }
        // Partitions in order, starting at the cursor's and wrapping around; only those that
        // may hold records (`buffered_hint`, in the same key order) are looked at.
        let start = self.drain_cursor % n;
        let first = self.partitions.key_at(start).expect("start < len");
        let split = self.buffered_hint.partition_point(|tp| tp < first);
        let (before, after) = self.buffered_hint.split_at(split);
        let mut revived = false;
        for tp in after.iter().chain(before) {
            if out.len() >= max {
                break;
            }
            let Some(p) = self.partitions.get_mut(tp) else {
                continue; // revoked since it was fetched
            };
            while out.len() < max {
                let Some(r) = p.buffered.pop_front() else {
                    break;
                };
                revived |= p.position.is_none();
                p.position = Some(r.offset + 1);
                p.last_epoch = Some(r.leader_epoch);
                out.push(r);
            }
        }
        let partitions = &self.partitions;
        self.buffered_hint
            .retain(|tp| partitions.get(tp).is_some_and(|p| !p.buffered.is_empty()));
        if revived {
            self.leaders_checked = None;
        }
        self.drain_cursor = self.drain_cursor.wrapping_add(1);
        out
    }

    /// The application thread is busy elsewhere (stuck, or processing without polling):
    /// from now on only poll() proves it alive.
    pub fn mark_busy(&mut self) {
        self.waiting_in_poll = false;
    }

    /// The application finished a batch of records and is about to call poll() again (or is
    /// blocked in it): used for the `max.poll.interval.ms` check.
    pub fn is_waiting_in_poll(&self) -> bool {
        self.waiting_in_poll
    }

    /// Handles a message; returns false if it is not for the consumer.
    pub fn on_message<C>(&mut self, cx: &mut C, _from: Peer, msg: &Msg) -> bool
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let Some(cid) = response_correlation(msg) else {
            return false;
        };
        let Some(req) = self.net.complete(cid) else {
            return false; // late or unknown: its request was abandoned
        };
        self.on_response(cx, req, msg);
        self.service(cx);
        true
    }

    /// Handles a message without running the consumer's loop: for an application blocked
    /// in poll(), whose poll() (called next) does that — KafkaConsumer does its network
    /// I/O inside poll(). Returns false if the message is not for the consumer.
    pub fn receive<C>(&mut self, cx: &mut C, msg: &Msg) -> bool
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let Some(cid) = response_correlation(msg) else {
            return false;
        };
        let Some(req) = self.net.complete(cid) else {
            return false;
        };
        self.on_response(cx, req, msg);
        true
    }

    pub fn on_timer<C>(&mut self, cx: &mut C, _timer: ConsumerTimer)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        self.wakeup.fired(cx.now());
        self.service(cx);
    }

    fn on_response<C>(&mut self, cx: &mut C, req: InFlight, msg: &Msg)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        match (req.what, msg) {
            (Pending::Metadata, Msg::MetadataResponse(r)) => {
                self.metadata.on_response(cx.now(), r);
                self.rejoin_if_metadata_changed();
            }
            (Pending::Fetch(tps), Msg::FetchResponse(r)) => {
                self.on_fetch_response(cx, req.node, r);
                self.note_lag(&tps);
            }
            (Pending::ListOffsets(tps), Msg::ListOffsetsResponse(r)) => {
                self.on_list_offsets_response(cx, r);
                self.note_lag(&tps);
            }
            (Pending::OffsetFetch(tps), Msg::OffsetFetchResponse(r)) => {
                self.on_offset_fetch_response(cx, tps.clone(), r);
                self.note_lag(&tps);
            }
            (Pending::OffsetsForLeaderEpoch(tps), Msg::OffsetsForLeaderEpochResponse(r)) => {
                self.on_offsets_for_leader_epoch_response(cx, r);
                self.note_lag(&tps);
            }
            (Pending::OffsetCommit { id, generation }, Msg::OffsetCommitResponse(r)) => {
                self.on_commit_response(cx, id, generation, r)
            }
            (what, msg) => self.on_group_response(cx, req.node, what, msg),
        }
    }

    /// Everything the background threads do: time-outs, metadata, group, positions,
    /// fetches, and the next wake-up.
    fn service<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        self.service_background(cx);
        self.service_fetches(cx);
    }

    /// Time-outs, metadata, the `max.poll.interval.ms` check and the group.
    fn service_background<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        self.check_timeouts(cx, now);
        let cid = self.net.peek_correlation();
        let net = &mut self.net;
        let pick = |nodes: &[NodeId]| net.least_loaded_node(nodes, now, |_| 0);
        if let Some((node, req)) = self.metadata.poll(now, cid, pick) {
            self.net.next_correlation();
            let timeout = Duration::from_ms(self.config.request_timeout_ms);
            self.net.track(cid, node, now, timeout, Pending::Metadata);
            cx.send(node, Msg::MetadataRequest(req));
        }
        self.check_poll_interval(cx, now);
        self.service_group(cx, now);
    }

    /// Positions, fetches, and the next wake-up.
    fn service_fetches<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        self.resolve_positions(cx, now);
        self.positions_need_validation();
        self.validate_positions(cx, now);
        self.send_fetches(cx, now);
        self.arm_wakeup(cx);
    }

    /// Sends `msg` (built with a fresh correlation id) and remembers what it was for.
    fn request<C>(
        &mut self,
        cx: &mut C,
        node: NodeId,
        timeout: Duration,
        what: Pending,
        build: impl FnOnce(CorrelationId) -> Msg,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let cid = self.net.next_correlation();
        self.net.track(cid, node, cx.now(), timeout, what);
        cx.send(node, build(cid));
    }

    /// Abandons requests that outlived their timeout: the connection is closed (a late answer
    /// is lost) and each request is handled as failed with NETWORK_EXCEPTION.
    fn check_timeouts<C>(&mut self, cx: &mut C, now: Time)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        for node in self.net.timed_out_nodes(now) {
            self.disconnect(cx, node, true);
        }
    }

    /// Fails every request on the connection to `node` (NETWORK_EXCEPTION); `close` when we
    /// give up on it ourselves (a timeout), not when we were told it closed.
    fn disconnect<C>(&mut self, cx: &mut C, node: NodeId, close: bool)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        if close {
            cx.close_connection(node);
        }
        self.net.on_closed(node, cx.now());
        self.metadata.on_disconnect(node, cx.now());
        for req in self.net.take_requests_to(node) {
            self.on_request_failed(cx, req);
        }
    }

    /// The connection to `node` closed (its process died, or it closed it): fail its
    /// requests now rather than after their timeout, and retry what needs retrying — the
    /// consumer's own loop runs here, since the application may not call poll() soon.
    pub fn on_disconnect<C>(&mut self, cx: &mut C, node: NodeId)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        self.disconnect(cx, node, false);
        self.service(cx);
    }

    fn on_request_failed<C>(&mut self, cx: &mut C, req: InFlight)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        if matches!(req.what, Pending::Fetch(_)) {
            if let Some(h) = self.fetch_sessions.get_mut(&req.node) {
                h.handle_error(); // the next fetch to that broker is full
            }
        }
        match req.what {
            Pending::Metadata => {}
            Pending::Fetch(tps)
            | Pending::ListOffsets(tps)
            | Pending::OffsetFetch(tps)
            | Pending::OffsetsForLeaderEpoch(tps) => {
                for tp in tps {
                    if let Some(p) = self.partitions.get_mut(&tp) {
                        p.resolving = false;
                        p.validating = false;
                        p.backoff_until = now + Duration::from_ms(self.config.retry_backoff_ms);
                        self.backoff_max = self.backoff_max.max(p.backoff_until);
                    }
                }
                self.metadata.request_update();
            }
            Pending::OffsetCommit { id, .. } => {
                self.commit_failed(cx, id, CommitError::from_code(ErrorCode::NetworkException))
            }
            _ => self.group.coordinator_lost(now),
        }
    }

    /// Arms the single wake-up timer for the earliest future deadline.
    fn arm_wakeup<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerTimer, Event = KafkaEvent>,
    {
        let now = cx.now();
        let poll_deadline = (!self.waiting_in_poll && self.group.is_member())
            .then(|| self.last_poll + Duration::from_ms(self.config.max_poll_interval_ms));
        let Some(at) = self
            .metadata
            .next_deadline()
            .into_iter()
            .chain(self.group.deadlines())
            .chain(self.net.deadlines())
            .chain(self.partition_backoffs(now))
            .chain(poll_deadline)
            .filter(|&t| t > now)
            .min()
        else {
            return;
        };
        self.wakeup.arm(cx, at, ConsumerTimer::Wakeup);
    }

    /// The partitions' backoff deadlines, when one may still be ahead of `now`.
    fn partition_backoffs(&self, now: Time) -> impl Iterator<Item = Time> + '_ {
        let ahead = self.backoff_max > now;
        ahead
            .then(|| self.partitions.values().map(|p| p.backoff_until))
            .into_iter()
            .flatten()
    }
}

#[cfg(test)]
mod tests;
