//! Indexes over a history and the final logs, built once and shared by the anomaly checks:
//! where each value was sent, acknowledged, stored, read and processed.

use std::collections::{BTreeMap, BTreeSet};

use super::history::History;
use super::FinalLogs;
use crate::kafka::{Offset, TopicPartition};
use crate::workload::history::HistoryOp;

/// How a send ended, with the event it ended in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok {
        tp: TopicPartition,
        offset: Offset,
        event: u64,
    },
    Fail,
    Indeterminate,
}

/// One `send()` of a unique value.
#[derive(Clone, Debug)]
pub struct Send {
    pub node: String,
    pub outcome: Option<Outcome>,
}

/// Where values were seen. Event 0 stands for the final drain read.
#[derive(Default, Debug)]
pub struct Index {
    pub sends: BTreeMap<u64, Send>,
    /// Values in the final logs, with their positions.
    pub stored: BTreeMap<u64, Vec<(TopicPartition, Offset)>>,
    /// Per (partition, offset): each value seen there and the events that saw it.
    pub at: BTreeMap<(TopicPartition, Offset), BTreeMap<u64, Vec<u64>>>,
    /// Values returned by polls, with the first poll event.
    pub read: BTreeMap<u64, u64>,
    /// Every offset known to hold a record, per partition (logs, polls, acknowledgements).
    pub known: BTreeMap<TopicPartition, BTreeSet<Offset>>,
    /// Per record: the (event, node) of every time it was processed.
    pub processed: BTreeMap<(TopicPartition, Offset, u64), Vec<(u64, String)>>,
}

impl Index {
    pub fn build(history: &History, logs: Option<&FinalLogs>) -> Index {
        let mut ix = Index::default();
        for e in &history.entries {
            ix.add(e.event, &e.node, &e.op);
        }
        if let Some(logs) = logs {
            for (tp, records) in &logs.partitions {
                for &(offset, value) in records {
                    ix.stored
                        .entry(value)
                        .or_default()
                        .push((tp.clone(), offset));
                    ix.saw(tp, offset, value, 0);
                }
            }
        }
        ix
    }

    fn add(&mut self, event: u64, node: &str, op: &HistoryOp) {
        match op {
            HistoryOp::SendInvoke { value, .. } => {
                let send = Send {
                    node: node.to_string(),
                    outcome: None,
                };
                self.sends.insert(*value, send);
            }
            HistoryOp::SendOk { value, tp, offset } => {
                if *offset >= 0 {
                    self.known.entry(tp.clone()).or_default().insert(*offset);
                }
                let outcome = Outcome::Ok {
                    tp: tp.clone(),
                    offset: *offset,
                    event,
                };
                self.end_send(*value, node, outcome);
            }
            HistoryOp::SendFail { value, .. } => self.end_send(*value, node, Outcome::Fail),
            HistoryOp::SendIndeterminate { value, .. } => {
                self.end_send(*value, node, Outcome::Indeterminate)
            }
            HistoryOp::Poll { records, .. } => {
                for (tp, offset, value) in records {
                    self.saw(tp, *offset, *value, event);
                    self.read.entry(*value).or_insert(event);
                }
            }
            HistoryOp::Processed { tp, offset, value } => {
                let key = (tp.clone(), *offset, *value);
                self.processed
                    .entry(key)
                    .or_default()
                    .push((event, node.to_string()));
            }
            HistoryOp::Assigned { .. }
            | HistoryOp::CommitOk { .. }
            | HistoryOp::CommitFail { .. }
            | HistoryOp::Crashed => {}
        }
    }

    /// Records the outcome; an outcome without an invoke (a hand-written history, or a
    /// client that reports only outcomes) creates the send.
    fn end_send(&mut self, value: u64, node: &str, outcome: Outcome) {
        let send = self.sends.entry(value).or_insert_with(|| Send {
            node: node.to_string(),
            outcome: None,
        });
        // A definite success wins over an earlier indeterminate report.
        if !matches!(send.outcome, Some(Outcome::Ok { .. })) {
            send.outcome = Some(outcome);
        }
    }

    fn saw(&mut self, tp: &TopicPartition, offset: Offset, value: u64, event: u64) {
        self.known.entry(tp.clone()).or_default().insert(offset);
        self.at
            .entry((tp.clone(), offset))
            .or_default()
            .entry(value)
            .or_default()
            .push(event);
    }

    /// Acknowledged sends: (value, partition, offset, ack event, producer node).
    pub fn acked(&self) -> impl Iterator<Item = (u64, &TopicPartition, Offset, u64, &str)> {
        self.sends.iter().filter_map(|(v, s)| match &s.outcome {
            Some(Outcome::Ok { tp, offset, event }) => Some((*v, tp, *offset, *event, &*s.node)),
            _ => None,
        })
    }

    /// Every (partition, offset) a value was seen at, by any reader or the final log.
    pub fn positions(&self) -> BTreeMap<u64, BTreeSet<(TopicPartition, Offset)>> {
        let mut p: BTreeMap<u64, BTreeSet<(TopicPartition, Offset)>> = BTreeMap::new();
        for ((tp, offset), values) in &self.at {
            for v in values.keys() {
                p.entry(*v).or_default().insert((tp.clone(), *offset));
            }
        }
        p
    }
}
