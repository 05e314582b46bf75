//! JoinGroup: how a group forms a generation. A new member gets MEMBER_ID_REQUIRED and an
//! id first (KIP-394); a static member (`group.instance.id`, KIP-345) keeps its id across
//! restarts. Each join moves the group to PreparingRebalance; the join completes when every
//! known member rejoined (or the rebalance timeout dropped the missing ones, or, for an
//! empty group, after `group.initial.rebalance.delay.ms`): the generation is bumped and
//! persisted, a protocol all members support is chosen, and the leader receives every
//! member's subscription to compute the assignment.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::types::Generation;
use crate::sim::{Duration, Peer, Time};

impl GroupCoordinator {
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
    // Long by design: the three cases of KIP-345 (new static member, known one rejoining
    // while stable, known one during a rebalance) read best side by side.
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
                self.prepare_rebalance(group, "member joined", out);
                // Kafka's `prepareRebalance` watches the join in the purgatory with
                // `tryCompleteElseWatch`: if every member has already joined (a lone member
                // rejoining after its JoinGroup answer was lost) the join completes now,
                // not at the rebalance timeout.
                self.maybe_complete_join(now, group, out);
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
    pub(super) fn prepare_rebalance(&mut self, group: &Arc<str>, reason: &str, out: &mut Actions) {
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

    pub(super) fn maybe_complete_join(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
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
                tombstone: false,
            }],
            commit: self.next_commit,
        });
    }

    /// End of the join phase: drop members that did not rejoin, bump the generation, pick
    /// the protocol and the leader, answer every JoinGroup.
    pub(super) fn complete_join(&mut self, now: Time, group: &Arc<str>, out: &mut Actions) {
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
            generation_id: Generation::NONE,
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
            generation: Generation::NONE,
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

pub(super) fn rebalance_started(g: &Group, reason: &str) -> GroupAction {
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

pub(super) fn session_timer(
    group: &Arc<str>,
    member: Arc<str>,
    nonce: u64,
    after: Duration,
) -> GroupAction {
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
pub(super) fn member_check(
    g: Option<&Group>,
    member: &str,
    generation: Generation,
) -> Option<ErrorCode> {
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

pub(super) fn join_error_to(
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
            generation_id: Generation::NONE,
            protocol_name: None,
            leader: Arc::from(""),
            member_id,
            members: Vec::new(),
        })),
    }
}
