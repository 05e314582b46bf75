//! Staying in a group: SyncGroup hands each member its assignment (the group becomes
//! Stable), heartbeats keep a member's session alive (`session.timeout.ms`) and tell it to
//! rejoin during a rebalance (REBALANCE_IN_PROGRESS), LeaveGroup removes a member at once,
//! and the coordinator's timers expire silent members and finish rebalances whose members
//! did not all rejoin in time.

use std::sync::Arc;

use super::join::{join_error_to, member_check, rebalance_started, session_timer};
use super::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::types::{Generation, TopicPartition};
use crate::sim::{Duration, Peer, Time};

impl GroupCoordinator {
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
