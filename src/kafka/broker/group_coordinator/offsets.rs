//! Offset commits: an OffsetCommit is checked against the member and its generation (a
//! zombie of an old generation gets ILLEGAL_GENERATION), written as a record to the group's
//! `__consumer_offsets` partition, and acknowledged only once that append is replicated (the
//! hosting broker reports the outcome). OffsetFetch answers from the offsets the coordinator
//! loaded when it became leader of that partition plus those committed since.

use std::sync::Arc;

use super::join::member_check;
use super::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::types::LeaderEpoch;
use crate::sim::{Duration, Peer, Time};

impl GroupCoordinator {
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
        let (records, commit) =
            self.stage_commit(now, from, req.correlation_id, &req.group_id, req.offsets);
        let offsets_partition =
            offsets_partition_for(&req.group_id, self.config.offsets_topic_num_partitions);
        vec![GroupAction::Append {
            offsets_partition,
            records,
            commit,
        }]
    }

    /// The `__consumer_offsets` records of a commit (one per partition, keyed by group and
    /// partition) and the commit's number, remembered until its append completes — for
    /// OffsetCommit and TxnOffsetCommit alike.
    pub(super) fn stage_commit(
        &mut self,
        now: Time,
        to: Peer,
        correlation_id: CorrelationId,
        group: &Arc<str>,
        offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
    ) -> (Vec<Record>, CommitId) {
        let records = offsets
            .iter()
            .map(|(tp, offset, _)| Record {
                key: Some(Arc::from(offset_record_key(group, tp))),
                value: (*offset + 1).max(Offset::ZERO).0 as u64,
                value_bytes: 8,
                timestamp_us: now.as_us(),
                tombstone: false,
            })
            .collect();
        self.next_commit += 1;
        let commit = self.next_commit;
        let pending = PendingCommit {
            group: group.clone(),
            to,
            correlation_id,
            offsets,
        };
        self.pending_commits.insert(commit, pending);
        (records, commit)
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
        if let Some(pid) = self.txn_commits.remove(&commit) {
            return self.on_txn_append_complete(commit, pid, error);
        }
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

    /// OffsetFetch: the committed offsets, -1 where there is none. With `require_stable`
    /// (KIP-447) a partition with a transactional offset commit still pending answers
    /// UNSTABLE_OFFSET_COMMIT (`OffsetMetadataManager.fetchOffsets`: the consumer retries
    /// until the transaction's marker decides), so a new owner of the partition does not
    /// start from an offset a committing transaction is about to move.
    pub fn on_offset_fetch(&mut self, _now: Time, from: Peer, req: OffsetFetchRequest) -> Actions {
        let unstable = req.require_stable
            && req
                .partitions
                .iter()
                .any(|tp| self.has_pending_txn_offsets(&req.group_id, tp));
        let (error, offsets) = if !self.hosts(&req.group_id) {
            (ErrorCode::NotCoordinator, Vec::new())
        } else if unstable {
            (ErrorCode::UnstableOffsetCommit, Vec::new())
        } else {
            let g = self.groups.get(&req.group_id);
            let offsets = req
                .partitions
                .iter()
                .map(|tp| {
                    let (o, e) = g
                        .and_then(|g| g.offsets.get(tp).copied())
                        .unwrap_or((Offset::UNKNOWN, LeaderEpoch::NONE));
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
            Msg::TxnOffsetCommitRequest(r) => self.on_txn_offset_commit(now, from, *r),
            _ => return None,
        })
    }
}
