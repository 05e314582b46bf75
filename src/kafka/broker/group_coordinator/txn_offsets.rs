//! Offsets committed inside a transaction (TxnOffsetCommit, the second half of
//! `sendOffsetsToTransaction`; Kafka's `GroupMetadataManager.storeOffsets` with a producer
//! id and `pendingTransactionalOffsetCommits`).
//!
//! The request is checked like an OffsetCommit — member and **generation** (KIP-447: a
//! zombie from an older generation gets ILLEGAL_GENERATION, so it cannot commit offsets for
//! partitions the group gave to someone else) — and written to the group's
//! `__consumer_offsets` partition as a **transactional** batch of the producer. The offsets
//! stay *pending*: OffsetFetch does not see them until the transaction's COMMIT marker
//! reaches that partition (`on_txn_marker`); an ABORT marker drops them. A coordinator that
//! takes over the partition replays the log the same way (`replay_offsets_log`): committed
//! transactional offsets count, aborted ones do not, open ones are pending again.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::join::member_check;
use super::*;
use crate::kafka::broker::txn_index::marker_type;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::record::Batch;
use crate::kafka::types::ProducerId;

/// An offset waiting for its transaction's marker: (group, partition, offset).
pub(super) type PendingTxnOffset = (Arc<str>, TopicPartition, Offset);

impl GroupCoordinator {
    /// TxnOffsetCommit: validated, then written as part of the producer's transaction.
    pub fn on_txn_offset_commit(
        &mut self,
        now: Time,
        from: Peer,
        req: TxnOffsetCommitRequest,
    ) -> Actions {
        let error = self.txn_commit_check(&req);
        if let Some(e) = error {
            let partitions = req
                .offsets
                .iter()
                .map(|(tp, _, _)| (tp.clone(), e))
                .collect();
            return vec![GroupAction::Respond {
                to: from,
                msg: Msg::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
                    correlation_id: req.correlation_id,
                    partitions,
                }),
            }];
        }
        let (records, commit) =
            self.stage_commit(now, from, req.correlation_id, &req.group_id, req.offsets);
        self.txn_commits.insert(commit, req.producer_id);
        let offsets_partition =
            offsets_partition_for(&req.group_id, self.config.offsets_topic_num_partitions);
        vec![GroupAction::AppendTxn {
            offsets_partition,
            records,
            producer_id: req.producer_id,
            producer_epoch: req.producer_epoch,
            commit,
        }]
    }

    /// `hasPendingTransactionalOffsets`: an open transaction committed offsets of `tp`
    /// for `group` (appended, waiting for its marker).
    pub fn has_pending_txn_offsets(&self, group: &str, tp: &TopicPartition) -> bool {
        self.txn_offsets
            .values()
            .flatten()
            .any(|(g, t, _)| &**g == group && t == tp)
    }

    fn txn_commit_check(&mut self, req: &TxnOffsetCommitRequest) -> Option<ErrorCode> {
        if !self.hosts(&req.group_id) {
            return Some(ErrorCode::NotCoordinator);
        }
        // Without group metadata (generation -1, no member) Kafka skips the check.
        if req.generation_id.0 < 0 && req.member_id.is_empty() {
            return None;
        }
        let g = self.group_mut(&req.group_id);
        member_check(Some(g), &req.member_id, req.generation_id)
    }

    /// The transactional append of `commit` finished: the offsets are pending until the
    /// marker; the producer gets its TxnOffsetCommit answer.
    pub(super) fn on_txn_append_complete(
        &mut self,
        commit: CommitId,
        pid: ProducerId,
        error: ErrorCode,
    ) -> Actions {
        let Some(p) = self.pending_commits.remove(&commit) else {
            return Vec::new();
        };
        let error = match error {
            ErrorCode::None => ErrorCode::None,
            ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
            _ => ErrorCode::CoordinatorNotAvailable,
        };
        if error.is_ok() {
            let pending = self.txn_offsets.entry(pid).or_default();
            for (tp, offset, _) in &p.offsets {
                pending.push((p.group.clone(), tp.clone(), *offset));
            }
        }
        let partitions = p
            .offsets
            .iter()
            .map(|(tp, _, _)| (tp.clone(), error))
            .collect();
        vec![GroupAction::Respond {
            to: p.to,
            msg: Msg::TxnOffsetCommitResponse(TxnOffsetCommitResponse {
                correlation_id: p.correlation_id,
                partitions,
            }),
        }]
    }

    /// A COMMIT (or ABORT) marker of `pid` reached `__consumer_offsets-{partition}`: its
    /// pending offsets of the groups there become committed (or are dropped).
    pub fn on_txn_marker(&mut self, partition: u32, pid: ProducerId, committed: bool) -> Actions {
        let n = self.config.offsets_topic_num_partitions;
        let Some(all) = self.txn_offsets.remove(&pid) else {
            return Vec::new();
        };
        let (here, elsewhere): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|(g, _, _)| offsets_partition_for(g, n) == partition);
        if !elsewhere.is_empty() {
            self.txn_offsets.insert(pid, elsewhere);
        }
        let mut out = Actions::new();
        if !committed {
            return out;
        }
        for (group, tp, offset) in here {
            let g = self.group_mut(&group);
            g.offsets.insert(tp.clone(), (offset, LeaderEpoch::NONE));
            out.push(GroupAction::Emit(KafkaEvent::OffsetCommitted {
                group: group.to_string(),
                tp,
                offset,
            }));
        }
        out
    }

    /// Offsets of transactions still open when this coordinator loaded the partition.
    pub fn load_txn_offsets(&mut self, open: BTreeMap<ProducerId, Vec<Record>>) {
        for (pid, records) in open {
            let pending = self.txn_offsets.entry(pid).or_default();
            for r in records {
                if let Some((group, tp)) = r.key.as_deref().and_then(parse_offset_key) {
                    pending.push((Arc::from(group.as_str()), tp, Offset(r.value as i64 - 1)));
                }
            }
        }
    }
}

/// Replays an offsets partition: the records that count, in log order (non-transactional
/// ones where they are, a transaction's at its COMMIT marker), and the records of
/// transactions still open, per producer.
pub fn replay_offsets_log(batches: &[Batch]) -> (Vec<Record>, BTreeMap<ProducerId, Vec<Record>>) {
    let mut out = Vec::new();
    let mut open: BTreeMap<ProducerId, Vec<Record>> = BTreeMap::new();
    for b in batches {
        match (b.is_transactional, marker_type(b)) {
            (false, _) => out.extend(b.records.iter().cloned()),
            (true, None) => open
                .entry(b.producer_id)
                .or_default()
                .extend(b.records.iter().cloned()),
            (true, Some(committed)) => {
                let records = open.remove(&b.producer_id).unwrap_or_default();
                if committed {
                    out.extend(records);
                }
            }
        }
    }
    (out, open)
}
