//! A real consumer's reads and commits in the client history, as the gateway sees them
//! (the consumer half of an external node, `external.rs`).
//!
//! The gateway cannot see a real application's `poll()` or what it processed; it sees the
//! Fetch responses it delivers and the OffsetCommit answers. So, for a real client:
//!
//! * a **poll** (`HistoryOp::Poll`) is *the records one Fetch response delivered on this
//!   connection*, per partition from the offset the request asked for (a batch that starts
//!   earlier is cut, as the client cuts it), without control records, and — for a
//!   read_committed fetch — without the records of the aborted transactions the response
//!   lists (Kafka's `CompletedFetch` drops them; `clients/consumer/isolation.rs` does the
//!   same walk). What the client buffers, hands to the application or processes is not
//!   known; no `Processed` is recorded.
//! * the **member** of such a poll is the connection (`external-N`): a Fetch names no group
//!   member. Its **generation** counts the times the client moved its position by itself: a
//!   Fetch whose offset is not where the previous answer left the partition (a rebalance
//!   handed it a committed offset, a seek, a reset) starts a new reading for the checker's
//!   poll-order checks, as a new assignment does for a simulated consumer.
//! * a connection's first read_committed Fetch records `ReadCommitted`, so `aborted-read`
//!   judges it.
//! * a **commit** is an OffsetCommit's answer: `CommitOk` with the partitions the
//!   coordinator accepted, `CommitFail` with the first error otherwise.
//!
//! With these, `check --tape` finds, for example, a real group that committed past records
//! no Fetch ever delivered to anyone (`unseen`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::kafka::clients::consumer::isolation::visible_batches;
use crate::kafka::clients::consumer::CommitError;
use crate::kafka::config::IsolationLevel;
use crate::kafka::protocol::OffsetCommitResponse;
use crate::kafka::protocol::{FetchRequest, FetchResponse, OffsetCommitRequest};
use crate::kafka::{ErrorCode, Offset, TopicPartition};
use crate::workload::history::HistoryOp;

/// What one connection's consumer traffic has told the history so far.
#[derive(Clone, Debug, Default)]
pub struct Reads {
    /// Fetches awaiting their answer: read_committed, and each partition's fetch offset.
    fetches: BTreeMap<u32, (bool, Vec<(TopicPartition, Offset)>)>,
    /// OffsetCommits awaiting their answer: the offsets sent.
    commits: BTreeMap<u32, Vec<(TopicPartition, Offset)>>,
    /// Per partition, where the last answer left the client's position.
    position: BTreeMap<TopicPartition, Offset>,
    /// Readings so far (the polls' generation).
    reading: i32,
    read_committed_said: bool,
}

impl Reads {
    /// A Fetch goes out: remember its offsets; a position the client moved itself starts a
    /// new reading.
    pub fn fetch_sent(&mut self, r: &FetchRequest, emit: &mut impl FnMut(HistoryOp)) {
        let committed = r.isolation_level == IsolationLevel::ReadCommitted;
        if committed && !self.read_committed_said {
            self.read_committed_said = true;
            emit(HistoryOp::ReadCommitted);
        }
        let moved = r.partitions.iter().any(|p| {
            self.position
                .get(&p.tp)
                .is_some_and(|&o| o != p.fetch_offset)
        });
        if moved {
            self.reading += 1;
        }
        let offsets = r
            .partitions
            .iter()
            .map(|p| (p.tp.clone(), p.fetch_offset))
            .collect();
        self.fetches.insert(r.correlation_id, (committed, offsets));
    }

    /// A Fetch is answered: the records it delivers are a poll.
    pub fn fetch_answered(
        &mut self,
        member: &Arc<str>,
        r: &FetchResponse,
        emit: &mut impl FnMut(HistoryOp),
    ) {
        let Some((committed, offsets)) = self.fetches.remove(&r.correlation_id) else {
            return;
        };
        let mut records = Vec::new();
        for p in r.partitions.iter().filter(|p| p.error == ErrorCode::None) {
            let Some(&(_, from)) = offsets.iter().find(|(tp, _)| *tp == p.tp) else {
                continue;
            };
            for b in visible_batches(&p.batches, &p.aborted_transactions, committed) {
                for (i, rec) in b.records.iter().enumerate() {
                    let offset = b.base_offset + i as i64;
                    if offset >= from {
                        records.push((p.tp.clone(), offset, rec.value));
                    }
                }
            }
            // The client's next fetch starts after the last batch, markers included.
            if let Some(last) = p.batches.last() {
                let next = last.next_offset().max(from);
                self.position.insert(p.tp.clone(), next);
            } else {
                self.position.insert(p.tp.clone(), from);
            }
        }
        if !records.is_empty() {
            emit(HistoryOp::Poll {
                member: member.clone(),
                generation: self.reading,
                records: records.into(),
            });
        }
    }

    pub fn commit_sent(&mut self, r: &OffsetCommitRequest) {
        let offsets = r
            .offsets
            .iter()
            .map(|(tp, o, _)| (tp.clone(), *o))
            .collect();
        self.commits.insert(r.correlation_id, offsets);
    }

    pub fn commit_answered(&mut self, r: &OffsetCommitResponse, emit: &mut impl FnMut(HistoryOp)) {
        let Some(sent) = self.commits.remove(&r.correlation_id) else {
            return;
        };
        let failed = r.partitions.iter().find(|(_, e)| *e != ErrorCode::None);
        if let Some(&(_, error)) = failed {
            emit(HistoryOp::CommitFail {
                error: CommitError::from_code(error),
            });
            return;
        }
        let offsets: Vec<(TopicPartition, Offset)> = sent
            .into_iter()
            .filter(|(tp, _)| r.partitions.iter().any(|(p, _)| p == tp))
            .collect();
        if !offsets.is_empty() {
            emit(HistoryOp::CommitOk { offsets });
        }
    }

    /// The connection closed: answers still due will not come (no history for them: the
    /// client never got them).
    pub fn closed(&mut self) {
        self.fetches.clear();
        self.commits.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::*;
    use crate::kafka::record::{Record, RecordBatch};
    use crate::kafka::{LeaderEpoch, ProducerEpoch, ProducerId};

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 0)
    }

    fn fetch(corr: u32, offset: i64, committed: bool) -> FetchRequest {
        FetchRequest {
            correlation_id: corr,
            replica_id: None,
            replica_epoch: -1,
            max_wait_ms: 500,
            min_bytes: 1,
            max_bytes: 1 << 20,
            isolation_level: if committed {
                IsolationLevel::ReadCommitted
            } else {
                IsolationLevel::ReadUncommitted
            },
            session: FetchMetadata::default(),
            partitions: vec![FetchPartition {
                tp: tp(),
                current_leader_epoch: LeaderEpoch(0),
                fetch_offset: Offset(offset),
                last_fetched_epoch: LeaderEpoch(0),
                log_start_offset: Offset(0),
                partition_max_bytes: 1 << 20,
            }],
        }
    }

    fn batch(base: i64, values: &[u64], pid: i64) -> crate::kafka::record::Batch {
        let records: Vec<Record> = values
            .iter()
            .map(|&value| Record {
                key: None,
                value,
                value_bytes: 1,
                timestamp_us: 0,
                tombstone: false,
            })
            .collect();
        let mut b = RecordBatch::new(records);
        b.base_offset = Offset(base);
        if pid >= 0 {
            b.producer_id = ProducerId(pid);
            b.is_transactional = true;
        }
        std::sync::Arc::new(b)
    }

    fn answer(corr: u32, batches: Vec<crate::kafka::record::Batch>) -> FetchResponse {
        FetchResponse {
            correlation_id: corr,
            error: ErrorCode::None,
            session_id: 0,
            partitions: vec![FetchPartitionResponse {
                tp: tp(),
                error: ErrorCode::None,
                high_watermark: Offset(100),
                last_stable_offset: Offset(100),
                log_start_offset: Offset(0),
                diverging_epoch: None,
                current_leader: None,
                aborted_transactions: vec![AbortedTransaction {
                    producer_id: ProducerId(7),
                    first_offset: Offset(4),
                }],
                batches,
            }],
        }
    }

    fn polls(ops: &[HistoryOp]) -> Vec<(i32, Vec<(i64, u64)>)> {
        ops.iter()
            .filter_map(|op| match op {
                HistoryOp::Poll {
                    generation,
                    records,
                    ..
                } => Some((
                    *generation,
                    records.iter().map(|(_, o, v)| (o.0, *v)).collect(),
                )),
                _ => None,
            })
            .collect()
    }

    /// A poll is what one answer delivers from the fetch offset on; read_committed drops
    /// the aborted transaction's records and the marker; a fetch from where the last
    /// answer left off continues the reading, a seek back starts a new one.
    #[test]
    fn a_fetch_answer_is_a_poll_from_the_fetch_offset() {
        let member: Arc<str> = Arc::from("external-2");
        let mut r = Reads::default();
        let mut ops = Vec::new();
        r.fetch_sent(&fetch(1, 2, true), &mut |op| ops.push(op));
        let mut abort = RecordBatch::control(ProducerId(7), ProducerEpoch(0), false, 0);
        abort.base_offset = Offset(6);
        let batches = vec![
            batch(0, &[10, 11, 12, 13], -1),
            batch(4, &[14, 15], 7),
            std::sync::Arc::new(abort),
        ];
        r.fetch_answered(&member, &answer(1, batches), &mut |op| ops.push(op));
        r.fetch_sent(&fetch(2, 7, true), &mut |op| ops.push(op));
        r.fetch_answered(&member, &answer(2, vec![batch(7, &[17], -1)]), &mut |op| {
            ops.push(op)
        });
        r.fetch_sent(&fetch(3, 0, true), &mut |op| ops.push(op));
        r.fetch_answered(&member, &answer(3, vec![batch(0, &[10], -1)]), &mut |op| {
            ops.push(op)
        });
        assert_eq!(ops[0], HistoryOp::ReadCommitted);
        assert_eq!(
            polls(&ops),
            [
                (0, vec![(2, 12), (3, 13)]),
                (0, vec![(7, 17)]),
                (1, vec![(0, 10)])
            ]
        );
    }

    /// An OffsetCommit's answer is a CommitOk of what was sent, or a CommitFail.
    #[test]
    fn commits_enter_the_history_with_their_outcome() {
        let mut r = Reads::default();
        let mut ops = Vec::new();
        let req = |corr| OffsetCommitRequest {
            correlation_id: corr,
            group_id: Arc::from("g"),
            generation_id: crate::kafka::Generation(1),
            member_id: Arc::from("m"),
            offsets: vec![(tp(), Offset(8), LeaderEpoch(0))],
        };
        r.commit_sent(&req(1));
        r.commit_sent(&req(2));
        let resp = |corr, error| OffsetCommitResponse {
            correlation_id: corr,
            partitions: vec![(tp(), error)],
        };
        r.commit_answered(&resp(1, ErrorCode::None), &mut |op| ops.push(op));
        r.commit_answered(&resp(2, ErrorCode::IllegalGeneration), &mut |op| {
            ops.push(op)
        });
        assert_eq!(
            ops[0],
            HistoryOp::CommitOk {
                offsets: vec![(tp(), Offset(8))]
            }
        );
        assert!(matches!(
            ops[1],
            HistoryOp::CommitFail { error } if error.error == Some(ErrorCode::IllegalGeneration)
        ));
    }
}
