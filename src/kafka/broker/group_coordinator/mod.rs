//! The group coordinator of the classic consumer-group protocol (`GroupCoordinator`,
//! `ClassicGroup`), as a pure state machine, independent of the broker that hosts it.
//!
//! Every group lives on one broker: the leader of partition
//! `abs(hashCode(group.id)) % offsets.topic.num.partitions` of `__consumer_offsets`. Members
//! find it with FindCoordinator, then:
//!
//! 1. **JoinGroup**. A new member first gets MEMBER_ID_REQUIRED and an id (KIP-394), and joins
//!    again with it. The group moves Empty/Stable → **PreparingRebalance** and waits until
//!    every known member has rejoined, or the rebalance timeout (`max.poll.interval.ms`)
//!    drops the missing ones; an empty group waits `group.initial.rebalance.delay.ms` so a
//!    fleet starting together forms one generation, not ten. Then the **generation** is
//!    bumped, an assignor every member supports is chosen, and the **leader** (the first
//!    joiner) receives all subscriptions → **CompletingRebalance**.
//! 2. **SyncGroup**. The leader sends everyone's assignment; each member gets its own →
//!    **Stable**.
//! 3. **Heartbeat** every `heartbeat.interval.ms`: a member silent for `session.timeout.ms` is
//!    removed and the others rebalance. Replies REBALANCE_IN_PROGRESS tell a member to
//!    rejoin; ILLEGAL_GENERATION and UNKNOWN_MEMBER_ID that it has been left behind.
//! 4. **OffsetCommit / OffsetFetch**: commits are checked against the member and generation (a
//!    zombie from an old generation is refused) and persisted as records of the group's
//!    `__consumer_offsets` partition before they are acknowledged.
//!
//! Inputs: `(now, request)` from `on_*` handlers, timer ticks, and the outcome of appends.
//! Outputs: a list of [`GroupAction`]s for the hosting broker to carry out. Timers are never
//! cancelled: each carries a nonce and a stale one is ignored.
//!
//! Simplifications: only offsets and the generation are persisted (members rebuild the
//! group by rejoining after a coordinator move); no "pending sync" timeout; no offset
//! retention.

pub mod host;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::types::{Generation, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Duration, Peer, Time};

/// Broker-side group settings (`GroupCoordinatorConfig.java`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupCoordinatorConfig {
    pub group_min_session_timeout_ms: u64,
    pub group_max_session_timeout_ms: u64,
    pub group_initial_rebalance_delay_ms: u64,
    pub offsets_topic_num_partitions: u32,
}

impl Default for GroupCoordinatorConfig {
    fn default() -> Self {
        GroupCoordinatorConfig {
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            offsets_topic_num_partitions: 50,
        }
    }
}

/// Java's `String.hashCode` (UTF-16 code units, wrapping 32-bit arithmetic).
pub fn java_string_hashcode(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The `__consumer_offsets` partition that hosts `group` (Kafka's `Utils.abs` maps
/// `i32::MIN` to 0).
pub fn offsets_partition_for(group: &str, num_partitions: u32) -> u32 {
    let h = java_string_hashcode(group);
    let abs = if h == i32::MIN { 0 } else { h.abs() };
    abs as u32 % num_partitions.max(1)
}

/// The name of the internal topic.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// The key of an offset record: `offset:{group}:{topic}-{partition}`.
pub fn offset_record_key(group: &str, tp: &TopicPartition) -> String {
    format!("offset:{group}:{tp}")
}

/// Identifies an offset commit waiting for its append.
pub type CommitId = u64;

/// What the hosting broker must do.
#[derive(Clone, Debug)]
pub enum GroupAction {
    /// Send this response on the connection the request came on.
    Respond { to: Peer, msg: Msg },
    /// Call `on_timer(timer)` after `after`.
    SetTimer { after: Duration, timer: GroupTimer },
    /// Append these records to partition `offsets_partition` of `__consumer_offsets` (acks=all)
    /// and then call `on_append_complete(commit, error)`.
    Append {
        offsets_partition: u32,
        records: Vec<Record>,
        commit: CommitId,
    },
    /// Record a semantic event in the trace.
    Emit(KafkaEvent),
}

/// A coordinator timer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupTimer {
    pub group: Arc<str>,
    pub kind: GroupTimerKind,
    pub nonce: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupTimerKind {
    /// The join phase ends: initial delay of an empty group, or the rebalance timeout.
    JoinDeadline,
    /// Check whether this member's session expired.
    Session { member: Arc<str> },
}

/// Classic group states.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

#[derive(Clone, Debug)]
struct Member {
    id: Arc<str>,
    instance_id: Option<Arc<str>>,
    session_timeout_ms: u64,
    rebalance_timeout_ms: u64,
    protocols: Vec<(Arc<str>, Subscription)>,
    join_order: u64,
    awaiting_join: Option<(Peer, CorrelationId)>,
    awaiting_sync: Option<(Peer, CorrelationId)>,
    assignment: Vec<TopicPartition>,
    session_deadline: Time,
    /// Only the session timer carrying this nonce counts; older ones are stale.
    session_nonce: u64,
}

#[derive(Clone, Debug)]
struct Group {
    id: Arc<str>,
    state: GroupState,
    generation: Generation,
    protocol: Option<Arc<str>>,
    leader: Option<Arc<str>>,
    members: BTreeMap<Arc<str>, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pending: BTreeSet<Arc<str>>,
    offsets: BTreeMap<TopicPartition, (Offset, LeaderEpoch)>,
    join_nonce: u64,
    /// When an empty group's initial delay ends at the latest.
    initial_delay_cap: Option<Time>,
}

#[derive(Clone, Debug)]
struct PendingCommit {
    group: Arc<str>,
    to: Peer,
    correlation_id: CorrelationId,
    offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
}

/// All groups hosted by one broker.
#[derive(Clone, Debug, Default)]
pub struct GroupCoordinator {
    pub config: GroupCoordinatorConfig,
    /// `__consumer_offsets` partitions this broker leads (and has loaded).
    owned: BTreeSet<u32>,
    groups: BTreeMap<Arc<str>, Group>,
    pending_commits: BTreeMap<CommitId, PendingCommit>,
    next_commit: CommitId,
    next_member: u64,
    next_nonce: u64,
}

type Actions = Vec<GroupAction>;

impl GroupCoordinator {
    pub fn new(config: GroupCoordinatorConfig) -> Self {
        GroupCoordinator {
            config,
            ..Default::default()
        }
    }

    /// The state of a group, if this coordinator hosts it.
    pub fn group_state(&self, group: &str) -> Option<(GroupState, Generation, usize)> {
        let g = self.groups.get(group)?;
        Some((g.state, g.generation, g.members.len()))
    }

    /// The committed offset of `tp` in `group`.
    pub fn committed(&self, group: &str, tp: &TopicPartition) -> Option<Offset> {
        self.groups.get(group)?.offsets.get(tp).map(|o| o.0)
    }

    /// The broker became leader of an offsets partition: rebuild offsets from its records,
    /// later records winning (what compaction would keep).
    pub fn on_become_leader(&mut self, offsets_partition: u32, records: &[Record]) {
        self.owned.insert(offsets_partition);
        for r in records {
            if let Some(group) = r.key.as_deref().and_then(|k| k.strip_prefix("group:")) {
                // The group continues from its last generation: a zombie of an older one
                // cannot pass the generation checks on the new coordinator.
                let g = self.group_mut(group);
                g.generation = g.generation.max(Generation(r.value as i32 - 1));
                continue;
            }
            let Some((group, tp)) = r.key.as_deref().and_then(parse_offset_key) else {
                continue;
            };
            let g = self.group_mut(&group);
            g.offsets
                .insert(tp, (r.value as Offset - 1, LeaderEpoch::NONE));
        }
    }

    /// The broker lost leadership of an offsets partition: its groups move elsewhere and
    /// their members will get NOT_COORDINATOR and look the coordinator up again.
    pub fn on_resign(&mut self, offsets_partition: u32) {
        self.owned.remove(&offsets_partition);
        let n = self.config.offsets_topic_num_partitions;
        self.groups
            .retain(|id, _| offsets_partition_for(id, n) != offsets_partition);
    }

    fn hosts(&self, group: &str) -> bool {
        let p = offsets_partition_for(group, self.config.offsets_topic_num_partitions);
        self.owned.contains(&p)
    }

    fn group_mut(&mut self, id: &str) -> &mut Group {
        self.groups.entry(Arc::from(id)).or_insert_with(|| Group {
            id: Arc::from(id),
            state: GroupState::Empty,
            generation: Generation(0),
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeSet::new(),
            offsets: BTreeMap::new(),
            join_nonce: 0,
            initial_delay_cap: None,
        })
    }

    fn nonce(&mut self) -> u64 {
        self.next_nonce += 1;
        self.next_nonce
    }

    // ------------------------------------------------------------------ JoinGroup

    pub fn on_join_group(&mut self, now: Time, from: Peer, req: JoinGroupRequest) -> Actions {
        let mut out = Actions::new();
        let error = if !self.hosts(&req.group_id) {
            Some(ErrorCode::NotCoordinator)
        } else if req.session_timeout_ms < self.config.group_min_session_timeout_ms
            || req.session_timeout_ms > self.config.group_max_session_timeout_ms
        {
            Some(ErrorCode::InvalidSessionTimeout)
        } else {
            None
        };
        if let Some(e) = error {
            out.push(join_error(from, &req, e, req.member_id.clone()));
            return out;
        }
        if req.member_id.is_empty() {
            self.next_member += 1;
            let id: Arc<str> = Arc::from(format!("member-{}-{}", from.node.0, self.next_member));
            if req.group_instance_id.is_some() {
                return self.on_static_join(now, from, req, id);
            }
            self.group_mut(&req.group_id).pending.insert(id.clone());
            out.push(join_error(from, &req, ErrorCode::MemberIdRequired, id));
            return out;
        }
        let g = self.group_mut(&req.group_id);
        let known = g.members.contains_key(&req.member_id) || g.pending.remove(&req.member_id);
        if !known {
            let id = req.member_id.clone();
            out.push(join_error(from, &req, ErrorCode::UnknownMemberId, id));
            return out;
        }
        self.add_or_update_member(now, from, &req);
        self.after_join(now, &req.group_id, &mut out);
        out
    }

    /// Static membership (KIP-345): a member with `group.instance.id` skips MEMBER_ID_REQUIRED.
    /// If its instance id is already in the group (a restart within the session timeout), the
    /// new incarnation takes the old member's place and assignment: no rebalance when the
    /// group is stable. The old incarnation, if still waiting, is fenced.
    fn on_static_join(
        &mut self,
        now: Time,
        from: Peer,
        req: JoinGroupRequest,
        new_id: Arc<str>,
    ) -> Actions {
        let mut out = Actions::new();
        let instance = req.group_instance_id.clone();
        let g = self.group_mut(&req.group_id);
        let old = g
            .members
            .values()
            .find(|m| m.instance_id == instance)
            .map(|m| m.id.clone());
        let req = JoinGroupRequest {
            member_id: new_id.clone(),
            ..req
        };
        let Some(old_id) = old else {
            self.add_or_update_member(now, from, &req);
            self.after_join(now, &req.group_id, &mut out);
            return out;
        };
        let mut m = g.members.remove(&old_id).expect("found");
        if let Some((peer, cid)) = m.awaiting_join.take() {
            out.push(join_error_to(
                peer,
                cid,
                ErrorCode::FencedInstanceId,
                old_id.clone(),
            ));
        }
        if let Some((peer, correlation_id)) = m.awaiting_sync.take() {
            let error = ErrorCode::FencedInstanceId;
            let msg = Msg::SyncGroupResponse(SyncGroupResponse {
                correlation_id,
                error,
                assignment: Vec::new(),
            });
            out.push(GroupAction::Respond { to: peer, msg });
        }
        m.id = new_id.clone();
        if g.leader.as_ref() == Some(&old_id) {
            g.leader = Some(new_id.clone());
        }
        g.members.insert(new_id.clone(), m);
        if g.state != GroupState::Stable {
            self.add_or_update_member(now, from, &req);
            self.after_join(now, &req.group_id, &mut out);
            return out;
        }
        self.add_or_update_member(now, from, &req);
        let nonce = self.nonce();
        let g = self.groups.get_mut(&req.group_id).expect("group exists");
        let m = g.members.get_mut(&new_id).expect("inserted");
        m.awaiting_join = None;
        m.session_nonce = nonce;
        let after = Duration::from_ms(m.session_timeout_ms);
        let is_leader = g.leader.as_ref() == Some(&new_id);
        let members = if is_leader {
            g.members
                .values()
                .map(|m| join_member(m, &g.protocol))
                .collect()
        } else {
            Vec::new()
        };
        out.push(GroupAction::Respond {
            to: from,
            msg: Msg::JoinGroupResponse(Box::new(JoinGroupResponse {
                correlation_id: req.correlation_id,
                error: ErrorCode::None,
                generation_id: g.generation,
                protocol_name: g.protocol.clone(),
                leader: g.leader.clone().unwrap_or_else(|| Arc::from("")),
                member_id: new_id.clone(),
                members,
            })),
        });
        out.push(session_timer(&req.group_id, new_id, nonce, after));
        out
    }

    fn add_or_update_member(&mut self, now: Time, from: Peer, req: &JoinGroupRequest) {
        let order = self.nonce();
        let g = self.group_mut(&req.group_id);
        let m = g
            .members
            .entry(req.member_id.clone())
            .or_insert_with(|| Member {
                id: req.member_id.clone(),
                instance_id: req.group_instance_id.clone(),
                session_timeout_ms: req.session_timeout_ms,
                rebalance_timeout_ms: req.rebalance_timeout_ms,
                protocols: Vec::new(),
                join_order: order,
                awaiting_join: None,
                awaiting_sync: None,
                assignment: Vec::new(),
                session_deadline: now,
                session_nonce: 0,
            });
        m.protocols = req.protocols.clone();
        m.session_timeout_ms = req.session_timeout_ms;
        m.rebalance_timeout_ms = req.rebalance_timeout_ms;
        m.awaiting_join = Some((from, req.correlation_id));
        m.session_deadline = now + Duration::from_ms(req.session_timeout_ms);
        if g.leader.is_none() {
            g.leader = Some(req.member_id.clone());
        }
    }

    /// Moves the group after a (re)join: start a rebalance, or finish the join phase if
    /// everybody is in.
    fn after_join(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
        let state = self.groups[group].state;
        match state {
            GroupState::Empty => self.start_initial_delay(now, group, out),
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(group, "member joined", out)
            }
            GroupState::PreparingRebalance => {
                if self.groups[group].initial_delay_cap.is_some() {
                    self.extend_initial_delay(now, group, out);
                } else {
                    self.maybe_complete_join(now, group, out);
                }
            }
        }
    }

    /// An empty group waits `group.initial.rebalance.delay.ms` for more members.
    fn start_initial_delay(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
        let delay = self.config.group_initial_rebalance_delay_ms;
        let nonce = self.nonce();
        let g = self.groups.get_mut(group).expect("group exists");
        let cap = g
            .members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(delay);
        g.state = GroupState::PreparingRebalance;
        g.initial_delay_cap = Some(now + Duration::from_ms(cap));
        g.join_nonce = nonce;
        out.push(rebalance_started(g, "first member joined an empty group"));
        out.push(join_timer(group, nonce, Duration::from_ms(delay)));
    }

    /// Each new joiner during the initial delay pushes it back, up to the rebalance timeout.
    fn extend_initial_delay(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
        let delay = Duration::from_ms(self.config.group_initial_rebalance_delay_ms);
        let nonce = self.nonce();
        let g = self.groups.get_mut(group).expect("group exists");
        let cap = g.initial_delay_cap.expect("in initial delay");
        let after = if now + delay > cap { cap - now } else { delay };
        g.join_nonce = nonce;
        out.push(join_timer(group, nonce, after));
    }

    /// Stable/CompletingRebalance → PreparingRebalance: members waiting in SyncGroup are told
    /// to rejoin, and the join phase is bounded by the largest rebalance timeout.
    fn prepare_rebalance(&mut self, group: &Arc<str>, reason: &str, out: &mut Actions) {
        let nonce = self.nonce();
        let g = self.groups.get_mut(group).expect("group exists");
        for m in g.members.values_mut() {
            if let Some((peer, cid)) = m.awaiting_sync.take() {
                out.push(GroupAction::Respond {
                    to: peer,
                    msg: Msg::SyncGroupResponse(SyncGroupResponse {
                        correlation_id: cid,
                        error: ErrorCode::RebalanceInProgress,
                        assignment: Vec::new(),
                    }),
                });
            }
        }
        g.state = GroupState::PreparingRebalance;
        g.join_nonce = nonce;
        let timeout = g.members.values().map(|m| m.rebalance_timeout_ms).max();
        out.push(rebalance_started(g, reason));
        out.push(join_timer(
            group,
            nonce,
            Duration::from_ms(timeout.unwrap_or(0)),
        ));
    }

    fn maybe_complete_join(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
        let g = &self.groups[group];
        let all_in = g.members.values().all(|m| m.awaiting_join.is_some());
        if all_in && g.initial_delay_cap.is_none() {
            self.complete_join(now, group, out);
        }
    }

    /// Records the new generation in the group's `__consumer_offsets` partition (key
    /// `group:{group}`, value generation + 1); nobody waits for this append.
    fn persist_generation(
        &mut self,
        now: Time,
        group: &Arc<str>,
        generation: Generation,
        out: &mut Actions,
    ) {
        self.next_commit += 1;
        out.push(GroupAction::Append {
            offsets_partition: offsets_partition_for(
                group,
                self.config.offsets_topic_num_partitions,
            ),
            records: vec![Record {
                key: Some(Arc::from(format!("group:{group}"))),
                value: (generation.0 + 1).max(0) as u64,
                value_bytes: 8,
                timestamp_us: now.as_us(),
            }],
            commit: self.next_commit,
        });
    }

    /// End of the join phase: drop members that did not rejoin, bump the generation, pick
    /// the protocol and the leader, answer every JoinGroup.
    fn complete_join(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
        let g = self.groups.get_mut(group).expect("group exists");
        g.initial_delay_cap = None;
        g.members.retain(|_, m| m.awaiting_join.is_some());
        g.generation = Generation(g.generation.0 + 1);
        let generation = g.generation;
        self.persist_generation(now, group, generation, out);
        let g = self.groups.get_mut(group).expect("group exists");
        if g.members.is_empty() {
            g.state = GroupState::Empty;
            g.leader = None;
            g.protocol = None;
            return;
        }
        if !g.leader.as_ref().is_some_and(|l| g.members.contains_key(l)) {
            g.leader = g
                .members
                .values()
                .min_by_key(|m| m.join_order)
                .map(|m| m.id.clone());
        }
        g.protocol = select_protocol(g);
        g.state = GroupState::CompletingRebalance;
        let leader = g.leader.clone().expect("a member leads");
        let everyone: Vec<JoinGroupMember> = g
            .members
            .values()
            .map(|m| join_member(m, &g.protocol))
            .collect();
        let mut sessions = Vec::new();
        for m in g.members.values_mut() {
            let (peer, cid) = m.awaiting_join.take().expect("all joined");
            m.session_deadline = now + Duration::from_ms(m.session_timeout_ms);
            sessions.push((m.id.clone(), m.session_timeout_ms));
            let members = if m.id == leader {
                everyone.clone()
            } else {
                Vec::new()
            };
            out.push(GroupAction::Respond {
                to: peer,
                msg: Msg::JoinGroupResponse(Box::new(JoinGroupResponse {
                    correlation_id: cid,
                    error: ErrorCode::None,
                    generation_id: g.generation,
                    protocol_name: g.protocol.clone(),
                    leader: leader.clone(),
                    member_id: m.id.clone(),
                    members,
                })),
            });
        }
        for (member, ms) in sessions {
            let nonce = self.nonce();
            if let Some(m) = self
                .groups
                .get_mut(group)
                .and_then(|g| g.members.get_mut(&member))
            {
                m.session_nonce = nonce;
            }
            out.push(session_timer(group, member, nonce, Duration::from_ms(ms)));
        }
    }
}

fn parse_offset_key(key: &str) -> Option<(String, TopicPartition)> {
    let rest = key.strip_prefix("offset:")?;
    let (group, tp) = rest.split_once(':')?;
    Some((group.to_string(), TopicPartition::parse(tp)?))
}

fn join_error(
    from: Peer,
    req: &JoinGroupRequest,
    error: ErrorCode,
    member_id: Arc<str>,
) -> GroupAction {
    GroupAction::Respond {
        to: from,
        msg: Msg::JoinGroupResponse(Box::new(JoinGroupResponse {
            correlation_id: req.correlation_id,
            error,
            generation_id: Generation(-1),
            protocol_name: None,
            leader: Arc::from(""),
            member_id,
            members: Vec::new(),
        })),
    }
}

fn join_member(m: &Member, protocol: &Option<Arc<str>>) -> JoinGroupMember {
    let subscription = m
        .protocols
        .iter()
        .find(|(name, _)| Some(name) == protocol.as_ref())
        .or(m.protocols.first())
        .map(|(_, s)| s.clone())
        .unwrap_or(Subscription {
            topics: Vec::new(),
            owned_partitions: Vec::new(),
            generation: Generation(-1),
        });
    JoinGroupMember {
        member_id: m.id.clone(),
        group_instance_id: m.instance_id.clone(),
        subscription,
    }
}

/// Kafka's `selectProtocol`: among protocols every member supports, each member votes for
/// the one it prefers most; the most votes wins (ties: the earliest in name order).
fn select_protocol(g: &Group) -> Option<Arc<str>> {
    let mut candidates: Option<BTreeSet<Arc<str>>> = None;
    for m in g.members.values() {
        let mine: BTreeSet<Arc<str>> = m.protocols.iter().map(|(n, _)| n.clone()).collect();
        candidates = Some(match candidates {
            None => mine,
            Some(c) => c.intersection(&mine).cloned().collect(),
        });
    }
    let candidates = candidates?;
    let mut votes: BTreeMap<Arc<str>, u32> = BTreeMap::new();
    for m in g.members.values() {
        if let Some((n, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
            *votes.entry(n.clone()).or_default() += 1;
        }
    }
    votes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(n, _)| n)
}

fn rebalance_started(g: &Group, reason: &str) -> GroupAction {
    GroupAction::Emit(KafkaEvent::RebalanceStarted {
        group: g.id.to_string(),
        generation: g.generation,
        reason: reason.to_string(),
    })
}

fn join_timer(group: &Arc<str>, nonce: u64, after: Duration) -> GroupAction {
    GroupAction::SetTimer {
        after,
        timer: GroupTimer {
            group: group.clone(),
            kind: GroupTimerKind::JoinDeadline,
            nonce,
        },
    }
}

fn session_timer(group: &Arc<str>, member: Arc<str>, nonce: u64, after: Duration) -> GroupAction {
    GroupAction::SetTimer {
        after,
        timer: GroupTimer {
            group: group.clone(),
            kind: GroupTimerKind::Session { member },
            nonce,
        },
    }
}

/// Why a member-scoped request is refused, if it is (shared by SyncGroup, Heartbeat and
/// OffsetCommit: Kafka's generation checks).
fn member_check(g: Option<&Group>, member: &str, generation: Generation) -> Option<ErrorCode> {
    let Some(g) = g else {
        return Some(ErrorCode::UnknownMemberId);
    };
    if !g.members.contains_key(member) {
        Some(ErrorCode::UnknownMemberId)
    } else if generation != g.generation {
        Some(ErrorCode::IllegalGeneration)
    } else {
        None
    }
}

impl GroupCoordinator {
    // ------------------------------------------------------------------ SyncGroup

    pub fn on_sync_group(&mut self, now: Time, from: Peer, req: SyncGroupRequest) -> Actions {
        let mut out = Actions::new();
        let reply = |error, assignment| GroupAction::Respond {
            to: from,
            msg: Msg::SyncGroupResponse(SyncGroupResponse {
                correlation_id: req.correlation_id,
                error,
                assignment,
            }),
        };
        if !self.hosts(&req.group_id) {
            out.push(reply(ErrorCode::NotCoordinator, Vec::new()));
            return out;
        }
        let g = self.groups.get_mut(&req.group_id);
        if let Some(e) = member_check(g.as_deref(), &req.member_id, req.generation_id) {
            out.push(reply(e, Vec::new()));
            return out;
        }
        let g = g.expect("checked");
        let m = g.members.get_mut(&req.member_id).expect("checked");
        m.session_deadline = now + Duration::from_ms(m.session_timeout_ms);
        match g.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                out.push(reply(ErrorCode::RebalanceInProgress, Vec::new()))
            }
            GroupState::Stable => out.push(reply(ErrorCode::None, m.assignment.clone())),
            GroupState::CompletingRebalance => {
                m.awaiting_sync = Some((from, req.correlation_id));
                if g.leader.as_ref() == Some(&req.member_id) {
                    complete_sync(g, &req.assignments, &mut out);
                }
            }
        }
        out
    }

    // ------------------------------------------------------------------ Heartbeat

    pub fn on_heartbeat(&mut self, now: Time, from: Peer, req: HeartbeatRequest) -> Actions {
        let error = if !self.hosts(&req.group_id) {
            ErrorCode::NotCoordinator
        } else {
            let g = self.groups.get_mut(&req.group_id);
            match member_check(g.as_deref(), &req.member_id, req.generation_id) {
                Some(e) => e,
                None => {
                    let g = g.expect("checked");
                    let m = g.members.get_mut(&req.member_id).expect("checked");
                    m.session_deadline = now + Duration::from_ms(m.session_timeout_ms);
                    match g.state {
                        GroupState::PreparingRebalance => ErrorCode::RebalanceInProgress,
                        GroupState::Empty => ErrorCode::UnknownMemberId,
                        _ => ErrorCode::None,
                    }
                }
            }
        };
        vec![GroupAction::Respond {
            to: from,
            msg: Msg::HeartbeatResponse(HeartbeatResponse {
                correlation_id: req.correlation_id,
                error,
            }),
        }]
    }

    // ------------------------------------------------------------------ LeaveGroup

    pub fn on_leave_group(&mut self, now: Time, from: Peer, req: LeaveGroupRequest) -> Actions {
        let mut out = Actions::new();
        let known = self
            .groups
            .get(&req.group_id)
            .is_some_and(|g| g.members.contains_key(&req.member_id));
        let error = if !self.hosts(&req.group_id) {
            ErrorCode::NotCoordinator
        } else if !known {
            ErrorCode::UnknownMemberId
        } else {
            ErrorCode::None
        };
        out.push(GroupAction::Respond {
            to: from,
            msg: Msg::LeaveGroupResponse(LeaveGroupResponse {
                correlation_id: req.correlation_id,
                error,
            }),
        });
        if error.is_ok() {
            self.remove_member(
                now,
                &req.group_id,
                &req.member_id,
                "member left the group (LeaveGroup)",
                &mut out,
            );
        }
        out
    }

    /// A member is gone (left or expired): the others rebalance.
    fn remove_member(
        &mut self,
        now: Time,
        group: &Arc<str>,
        member: &str,
        reason: &str,
        out: &mut Actions,
    ) {
        let g = self.groups.get_mut(group).expect("group exists");
        if let Some(m) = g.members.remove(member) {
            if let Some((peer, cid)) = m.awaiting_join {
                out.push(join_error_to(
                    peer,
                    cid,
                    ErrorCode::UnknownMemberId,
                    m.id.clone(),
                ));
            }
        }
        if g.leader.as_deref() == Some(member) {
            g.leader = g
                .members
                .values()
                .min_by_key(|m| m.join_order)
                .map(|m| m.id.clone());
        }
        let state = g.state;
        if g.members.is_empty() && state != GroupState::PreparingRebalance {
            g.state = GroupState::Empty;
            g.generation = Generation(g.generation.0 + 1);
            g.protocol = None;
            out.push(rebalance_started(g, reason));
            return;
        }
        match state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(group, reason, out)
            }
            GroupState::PreparingRebalance => self.maybe_complete_join(now, group, out),
            GroupState::Empty => {}
        }
    }

    // ------------------------------------------------------------------ Timers

    pub fn on_timer(&mut self, now: Time, timer: GroupTimer) -> Actions {
        let mut out = Actions::new();
        let Some(g) = self.groups.get(&timer.group) else {
            return out;
        };
        match timer.kind {
            GroupTimerKind::JoinDeadline => {
                if g.join_nonce == timer.nonce && g.state == GroupState::PreparingRebalance {
                    self.complete_join(now, &timer.group, &mut out);
                }
            }
            GroupTimerKind::Session { member } => {
                let Some(m) = g.members.get(&member) else {
                    return out;
                };
                if m.session_nonce != timer.nonce {
                    return out;
                }
                // A member parked in JoinGroup/SyncGroup is alive: it is waiting on us, and
                // its session is checked again one session timeout from now.
                let waiting = m.awaiting_join.is_some() || m.awaiting_sync.is_some();
                if now < m.session_deadline || waiting {
                    let left = if waiting {
                        Duration::from_ms(m.session_timeout_ms)
                    } else {
                        m.session_deadline - now
                    };
                    let nonce = self.nonce();
                    let m = self
                        .groups
                        .get_mut(&timer.group)
                        .and_then(|g| g.members.get_mut(&member))
                        .expect("member");
                    m.session_nonce = nonce;
                    out.push(session_timer(&timer.group, member, nonce, left));
                } else {
                    let reason =
                        format!("member {member} expired: no heartbeat within session.timeout.ms");
                    self.remove_member(now, &timer.group, &member, &reason, &mut out);
                }
            }
        }
        out
    }
}

/// The leader's SyncGroup: store every member's assignment, answer those waiting → Stable.
fn complete_sync(
    g: &mut Group,
    assignments: &[(Arc<str>, Vec<TopicPartition>)],
    out: &mut Actions,
) {
    for m in g.members.values_mut() {
        m.assignment = assignments
            .iter()
            .find(|(id, _)| *id == m.id)
            .map(|(_, a)| a.clone())
            .unwrap_or_default();
    }
    g.state = GroupState::Stable;
    for m in g.members.values_mut() {
        if let Some((peer, cid)) = m.awaiting_sync.take() {
            out.push(GroupAction::Respond {
                to: peer,
                msg: Msg::SyncGroupResponse(SyncGroupResponse {
                    correlation_id: cid,
                    error: ErrorCode::None,
                    assignment: m.assignment.clone(),
                }),
            });
        }
    }
    out.push(GroupAction::Emit(KafkaEvent::RebalanceCompleted {
        group: g.id.to_string(),
        generation: g.generation,
        members: g.members.len() as u32,
    }));
}

fn join_error_to(
    peer: Peer,
    cid: CorrelationId,
    error: ErrorCode,
    member_id: Arc<str>,
) -> GroupAction {
    GroupAction::Respond {
        to: peer,
        msg: Msg::JoinGroupResponse(Box::new(JoinGroupResponse {
            correlation_id: cid,
            error,
            generation_id: Generation(-1),
            protocol_name: None,
            leader: Arc::from(""),
            member_id,
            members: Vec::new(),
        })),
    }
}

impl GroupCoordinator {
    // ------------------------------------------------------------------ Offsets

    /// OffsetCommit: validated against member and generation, then persisted; answered once
    /// the append completes (`on_append_complete`).
    pub fn on_offset_commit(&mut self, now: Time, from: Peer, req: OffsetCommitRequest) -> Actions {
        let error = self.commit_check(now, &req);
        if let Some(e) = error {
            let partitions = req
                .offsets
                .iter()
                .map(|(tp, _, _)| (tp.clone(), e))
                .collect();
            return vec![GroupAction::Respond {
                to: from,
                msg: Msg::OffsetCommitResponse(OffsetCommitResponse {
                    correlation_id: req.correlation_id,
                    partitions,
                }),
            }];
        }
        let records = req
            .offsets
            .iter()
            .map(|(tp, offset, _)| Record {
                key: Some(Arc::from(offset_record_key(&req.group_id, tp))),
                value: (*offset + 1).max(0) as u64,
                value_bytes: 8,
                timestamp_us: now.as_us(),
            })
            .collect();
        self.next_commit += 1;
        let commit = self.next_commit;
        self.pending_commits.insert(
            commit,
            PendingCommit {
                group: req.group_id.clone(),
                to: from,
                correlation_id: req.correlation_id,
                offsets: req.offsets,
            },
        );
        let offsets_partition =
            offsets_partition_for(&req.group_id, self.config.offsets_topic_num_partitions);
        vec![GroupAction::Append {
            offsets_partition,
            records,
            commit,
        }]
    }

    fn commit_check(&mut self, now: Time, req: &OffsetCommitRequest) -> Option<ErrorCode> {
        if !self.hosts(&req.group_id) {
            return Some(ErrorCode::NotCoordinator);
        }
        let g = self.group_mut(&req.group_id);
        // A consumer without group management (assign()) commits with generation -1.
        if req.generation_id.0 < 0 && req.member_id.is_empty() && g.state == GroupState::Empty {
            return None;
        }
        if let Some(e) = member_check(Some(g), &req.member_id, req.generation_id) {
            return Some(e);
        }
        if g.state == GroupState::CompletingRebalance {
            return Some(ErrorCode::RebalanceInProgress);
        }
        // A commit proves the member alive, like a heartbeat.
        let m = g.members.get_mut(&req.member_id).expect("checked");
        m.session_deadline = now + Duration::from_ms(m.session_timeout_ms);
        None
    }

    /// The append of commit `commit` finished: on success the offsets become visible to
    /// OffsetFetch and the member gets its answer.
    pub fn on_append_complete(&mut self, commit: CommitId, error: ErrorCode) -> Actions {
        let Some(p) = self.pending_commits.remove(&commit) else {
            return Vec::new();
        };
        // Kafka maps append failures to coordinator errors the client retries.
        let error = match error {
            ErrorCode::None => ErrorCode::None,
            ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
            ErrorCode::RequestTimedOut => ErrorCode::RequestTimedOut,
            _ => ErrorCode::CoordinatorNotAvailable,
        };
        let mut out = Actions::new();
        if error.is_ok() {
            let g = self.group_mut(&p.group);
            for (tp, offset, epoch) in &p.offsets {
                g.offsets.insert(tp.clone(), (*offset, *epoch));
            }
            for (tp, offset, _) in &p.offsets {
                out.push(GroupAction::Emit(KafkaEvent::OffsetCommitted {
                    group: p.group.to_string(),
                    tp: tp.clone(),
                    offset: *offset,
                }));
            }
        }
        let partitions = p
            .offsets
            .iter()
            .map(|(tp, _, _)| (tp.clone(), error))
            .collect();
        out.push(GroupAction::Respond {
            to: p.to,
            msg: Msg::OffsetCommitResponse(OffsetCommitResponse {
                correlation_id: p.correlation_id,
                partitions,
            }),
        });
        out
    }

    /// OffsetFetch: the committed offsets, -1 where there is none.
    pub fn on_offset_fetch(&mut self, _now: Time, from: Peer, req: OffsetFetchRequest) -> Actions {
        let (error, offsets) = if !self.hosts(&req.group_id) {
            (ErrorCode::NotCoordinator, Vec::new())
        } else {
            let g = self.groups.get(&req.group_id);
            let offsets = req
                .partitions
                .iter()
                .map(|tp| {
                    let (o, e) = g
                        .and_then(|g| g.offsets.get(tp).copied())
                        .unwrap_or((-1, LeaderEpoch::NONE));
                    (tp.clone(), o, e)
                })
                .collect();
            (ErrorCode::None, offsets)
        };
        vec![GroupAction::Respond {
            to: from,
            msg: Msg::OffsetFetchResponse(OffsetFetchResponse {
                correlation_id: req.correlation_id,
                error,
                offsets,
            }),
        }]
    }

    /// Dispatches any group request; `None` if `msg` is not one.
    pub fn on_request(&mut self, now: Time, from: Peer, msg: Msg) -> Option<Actions> {
        Some(match msg {
            Msg::JoinGroupRequest(r) => self.on_join_group(now, from, *r),
            Msg::SyncGroupRequest(r) => self.on_sync_group(now, from, r),
            Msg::HeartbeatRequest(r) => self.on_heartbeat(now, from, r),
            Msg::LeaveGroupRequest(r) => self.on_leave_group(now, from, r),
            Msg::OffsetCommitRequest(r) => self.on_offset_commit(now, from, r),
            Msg::OffsetFetchRequest(r) => self.on_offset_fetch(now, from, r),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::NodeId;

    const G: &str = "billing";

    fn peer(n: u32) -> Peer {
        Peer {
            node: NodeId(n),
            conn: 1,
        }
    }

    fn coordinator() -> GroupCoordinator {
        let mut c = GroupCoordinator::new(GroupCoordinatorConfig::default());
        c.on_become_leader(offsets_partition_for(G, 50), &[]);
        c
    }

    fn join_req(member: &str, cid: u32) -> JoinGroupRequest {
        JoinGroupRequest {
            correlation_id: cid,
            group_id: Arc::from(G),
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: 300_000,
            member_id: Arc::from(member),
            group_instance_id: None,
            protocols: vec![(
                Arc::from("range"),
                Subscription {
                    topics: vec![Arc::from("orders")],
                    owned_partitions: Vec::new(),
                    generation: Generation(-1),
                },
            )],
        }
    }

    fn responses(actions: &[GroupAction]) -> Vec<&Msg> {
        actions
            .iter()
            .filter_map(|a| match a {
                GroupAction::Respond { msg, .. } => Some(msg),
                _ => None,
            })
            .collect()
    }

    fn join_resp(a: &[GroupAction]) -> Vec<JoinGroupResponse> {
        responses(a)
            .into_iter()
            .filter_map(|m| match m {
                Msg::JoinGroupResponse(r) => Some((**r).clone()),
                _ => None,
            })
            .collect()
    }

    fn timers(a: &[GroupAction]) -> Vec<GroupTimer> {
        a.iter()
            .filter_map(|a| match a {
                GroupAction::SetTimer { timer, .. } => Some(timer.clone()),
                _ => None,
            })
            .collect()
    }

    /// Two members join an empty group; returns their ids and the timers armed for them.
    fn form_group(c: &mut GroupCoordinator) -> (Arc<str>, Arc<str>, Vec<GroupTimer>) {
        let t0 = Time::ZERO;
        let id1 = join_resp(&c.on_join_group(t0, peer(1), join_req("", 1)))[0]
            .member_id
            .clone();
        let id2 = join_resp(&c.on_join_group(t0, peer(2), join_req("", 1)))[0]
            .member_id
            .clone();
        let a = c.on_join_group(t0, peer(1), join_req(&id1, 2));
        assert!(join_resp(&a).is_empty(), "waits for the initial delay");
        c.on_join_group(t0, peer(2), join_req(&id2, 2));
        let deadline = timers(&a)[0].clone();
        // The second joiner pushed the delay back; its timer carries the newest nonce.
        let nonce = c.groups[G].join_nonce;
        let done = c.on_timer(Time(3_000_000), GroupTimer { nonce, ..deadline });
        let joins = join_resp(&done);
        assert_eq!(joins.len(), 2);
        assert!(joins.iter().all(|j| j.generation_id == Generation(1)));
        (id1, id2, timers(&done))
    }

    fn sync(
        c: &mut GroupCoordinator,
        n: u32,
        id: &Arc<str>,
        gen: i32,
        a: Vec<(Arc<str>, Vec<TopicPartition>)>,
    ) -> Actions {
        c.on_sync_group(
            Time(3_000_000),
            peer(n),
            SyncGroupRequest {
                correlation_id: 3,
                group_id: Arc::from(G),
                generation_id: Generation(gen),
                member_id: id.clone(),
                assignments: a,
            },
        )
    }

    fn heartbeat(c: &mut GroupCoordinator, at: Time, id: &Arc<str>, gen: i32) -> ErrorCode {
        let a = c.on_heartbeat(
            at,
            peer(1),
            HeartbeatRequest {
                correlation_id: 9,
                group_id: Arc::from(G),
                generation_id: Generation(gen),
                member_id: id.clone(),
            },
        );
        match responses(&a)[0] {
            Msg::HeartbeatResponse(r) => r.error,
            m => panic!("{m:?}"),
        }
    }

    #[test]
    fn java_hashcode_and_partition() {
        // Proves String.hashCode semantics ("abc" = 96354, "" = 0) and a non-negative partition.
        assert_eq!(java_string_hashcode("abc"), 96354);
        assert_eq!(java_string_hashcode(""), 0);
        assert_eq!(offsets_partition_for("abc", 50), 96354 % 50);
        assert!(offsets_partition_for("polygenelubricants", 50) < 50);
    }

    #[test]
    fn join_requires_member_id_then_forms_generation_one() {
        // Proves KIP-394's MEMBER_ID_REQUIRED round trip, the initial delay, the leader being
        // the first joiner, and SyncGroup handing out the leader's assignment.
        let mut c = coordinator();
        let first = c.on_join_group(Time::ZERO, peer(1), join_req("", 1));
        assert_eq!(join_resp(&first)[0].error, ErrorCode::MemberIdRequired);
        let mut c = coordinator();
        let (id1, id2, _) = form_group(&mut c);
        assert_eq!(c.groups[G].leader.as_ref(), Some(&id1));
        let follower = sync(&mut c, 2, &id2, 1, Vec::new());
        assert!(
            responses(&follower).is_empty(),
            "followers wait for the leader"
        );
        let plan = vec![
            (id1.clone(), vec![TopicPartition::new("orders", 0)]),
            (id2.clone(), vec![TopicPartition::new("orders", 1)]),
        ];
        let leader = sync(&mut c, 1, &id1, 1, plan);
        let syncs: Vec<_> = responses(&leader)
            .into_iter()
            .filter_map(|m| match m {
                Msg::SyncGroupResponse(r) => Some(r.assignment.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(syncs.len(), 2);
        assert_eq!(c.group_state(G).unwrap().0, GroupState::Stable);
    }

    #[test]
    fn session_expiry_triggers_rebalance() {
        // Proves a member that stops heartbeating is removed after session.timeout.ms and the
        // survivor is told REBALANCE_IN_PROGRESS, then rejoins into generation 2 alone.
        let mut c = coordinator();
        let (id1, id2, session_timers) = form_group(&mut c);
        sync(&mut c, 1, &id1, 1, vec![]);
        let t = Time(30_000_000);
        assert_eq!(heartbeat(&mut c, t, &id1, 1), ErrorCode::None);
        let expiry_of = |id: &Arc<str>| {
            session_timers
                .iter()
                .find(|x| matches!(&x.kind, GroupTimerKind::Session { member } if member == id))
                .unwrap()
                .clone()
        };
        // At 48 s member 2 (silent since 3 s) expires; member 1 heartbeated at 30 s and lives.
        let at = Time(48_000_000);
        let a1 = c.on_timer(at, expiry_of(&id1));
        assert_eq!(timers(&a1).len(), 1, "re-armed for the new deadline");
        c.on_timer(at, expiry_of(&id2));
        assert_eq!(
            c.group_state(G).unwrap(),
            (GroupState::PreparingRebalance, Generation(1), 1)
        );
        assert_eq!(
            heartbeat(&mut c, at, &id1, 1),
            ErrorCode::RebalanceInProgress
        );
        let a = c.on_join_group(at, peer(1), join_req(&id1, 5));
        let j = join_resp(&a);
        assert_eq!(j[0].generation_id, Generation(2));
        assert_eq!(j[0].members.len(), 1);
        assert_eq!(heartbeat(&mut c, at, &id1, 1), ErrorCode::IllegalGeneration);
        assert_eq!(heartbeat(&mut c, at, &id2, 2), ErrorCode::UnknownMemberId);
    }

    #[test]
    fn commits_are_checked_and_persisted() {
        // Proves OffsetCommit checks generation and member, is answered only after the append,
        // and the offsets survive a coordinator move through their records.
        let mut c = coordinator();
        let (id1, _id2, _) = form_group(&mut c);
        let commit = |gen: i32, member: &Arc<str>| OffsetCommitRequest {
            correlation_id: 7,
            group_id: Arc::from(G),
            generation_id: Generation(gen),
            member_id: member.clone(),
            offsets: vec![(TopicPartition::new("orders", 0), 42, LeaderEpoch(0))],
        };
        let during = c.on_offset_commit(Time(3_000_000), peer(1), commit(1, &id1));
        assert!(
            matches!(responses(&during)[0], Msg::OffsetCommitResponse(r) if r.partitions[0].1 == ErrorCode::RebalanceInProgress)
        );
        sync(&mut c, 1, &id1, 1, vec![]);
        let stale = c.on_offset_commit(Time(3_000_000), peer(1), commit(0, &id1));
        assert!(
            matches!(responses(&stale)[0], Msg::OffsetCommitResponse(r) if r.partitions[0].1 == ErrorCode::IllegalGeneration)
        );
        let ok = c.on_offset_commit(Time(3_000_000), peer(1), commit(1, &id1));
        let GroupAction::Append {
            records,
            commit: id,
            offsets_partition,
        } = &ok[0]
        else {
            panic!("{ok:?}")
        };
        assert_eq!(
            c.committed(G, &TopicPartition::new("orders", 0)),
            None,
            "not before the append"
        );
        let done = c.on_append_complete(*id, ErrorCode::None);
        assert!(responses(&done).len() == 1);
        assert_eq!(c.committed(G, &TopicPartition::new("orders", 0)), Some(42));
        let mut moved = GroupCoordinator::new(GroupCoordinatorConfig::default());
        let mut log = vec![Record {
            key: Some(Arc::from(format!("group:{G}"))),
            value: 2,
            value_bytes: 8,
            timestamp_us: 0,
        }];
        log.extend(records.iter().cloned());
        moved.on_become_leader(*offsets_partition, &log);
        assert_eq!(
            moved.committed(G, &TopicPartition::new("orders", 0)),
            Some(42)
        );
        let (_, generation, _) = moved.group_state(G).unwrap();
        assert_eq!(
            generation,
            Generation(1),
            "the generation survives the move"
        );
    }

    #[test]
    fn static_member_restart_keeps_assignment_without_rebalance() {
        // Proves KIP-345: a static member rejoining with its group.instance.id (and no member
        // id) gets a new member id, the same generation and its old assignment, while the
        // group stays Stable.
        let mut c = coordinator();
        let static_join = |instance: &str| JoinGroupRequest {
            group_instance_id: Some(Arc::from(instance)),
            ..join_req("", 1)
        };
        let a = c.on_join_group(Time::ZERO, peer(1), static_join("a"));
        assert!(
            join_resp(&a).is_empty(),
            "no MEMBER_ID_REQUIRED round trip for static members"
        );
        c.on_join_group(Time::ZERO, peer(2), static_join("b"));
        let nonce = c.groups[G].join_nonce;
        let t = GroupTimer {
            group: Arc::from(G),
            kind: GroupTimerKind::JoinDeadline,
            nonce,
        };
        let joins = join_resp(&c.on_timer(Time(3_000_000), t));
        let leader = joins
            .iter()
            .find(|j| !j.members.is_empty())
            .unwrap()
            .member_id
            .clone();
        let other = joins
            .iter()
            .find(|j| j.members.is_empty())
            .unwrap()
            .member_id
            .clone();
        let plan = vec![
            (leader.clone(), vec![TopicPartition::new("orders", 0)]),
            (other.clone(), vec![TopicPartition::new("orders", 1)]),
        ];
        sync(&mut c, 1, &leader, 1, plan);
        // "b" restarts: same instance id, empty member id.
        let again = join_resp(&c.on_join_group(Time(5_000_000), peer(3), static_join("b")));
        assert_eq!(again[0].error, ErrorCode::None);
        assert_eq!(again[0].generation_id, Generation(1));
        assert_ne!(again[0].member_id, other);
        assert_eq!(c.group_state(G).unwrap().0, GroupState::Stable);
        let s = sync(&mut c, 3, &again[0].member_id, 1, vec![]);
        assert!(
            matches!(responses(&s)[0], Msg::SyncGroupResponse(r) if r.assignment == vec![TopicPartition::new("orders", 1)])
        );
        assert_eq!(
            heartbeat(&mut c, Time(5_000_000), &other, 1),
            ErrorCode::UnknownMemberId,
            "old incarnation is gone"
        );
    }

    #[test]
    fn member_waiting_in_join_is_not_expired() {
        // Proves a member parked in JoinGroup (it cannot heartbeat) survives its session
        // timeout while the coordinator waits for the others, up to the rebalance timeout.
        let mut c = coordinator();
        let (id1, _id2, session_timers) = form_group(&mut c);
        sync(&mut c, 1, &id1, 1, vec![]);
        c.on_join_group(Time(5_000_000), peer(1), join_req(&id1, 9));
        let t1 = session_timers
            .iter()
            .find(|x| matches!(&x.kind, GroupTimerKind::Session { member } if *member == id1))
            .unwrap()
            .clone();
        let a = c.on_timer(Time(60_000_000), t1);
        assert_eq!(timers(&a).len(), 1, "re-armed, not expired");
        assert!(c.groups[G].members.contains_key(&id1));
    }

    #[test]
    fn invalid_session_timeout_and_not_coordinator() {
        // Proves session timeouts outside the broker bounds and foreign groups are refused.
        let mut c = coordinator();
        let mut req = join_req("", 1);
        req.session_timeout_ms = 1_000;
        assert_eq!(
            join_resp(&c.on_join_group(Time::ZERO, peer(1), req))[0].error,
            ErrorCode::InvalidSessionTimeout
        );
        let mut other = GroupCoordinator::new(GroupCoordinatorConfig::default());
        assert_eq!(
            join_resp(&other.on_join_group(Time::ZERO, peer(1), join_req("", 1)))[0].error,
            ErrorCode::NotCoordinator
        );
    }
}
