//! Indexes over a history and the final logs, built once and shared by the anomaly checks:
//! where each value was sent, acknowledged, stored, read and processed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
    pub node: Arc<str>,
    pub outcome: Option<Outcome>,
    pub key: Option<Arc<str>>,
    pub tombstone: bool,
}

/// One processing of a record: (event, node).
pub type Processing = (u64, Arc<str>);

/// Where values were seen. Event 0 stands for the final drain read.
#[derive(Default, Debug)]
pub struct Index {
    pub sends: BTreeMap<u64, Send>,
    /// How many times the application called `send()` with each value (more than once: it
    /// sent it again after a restart).
    pub invokes: BTreeMap<u64, u32>,
    /// Values in the final logs, with their positions.
    pub stored: BTreeMap<u64, Vec<(TopicPartition, Offset)>>,
    /// Per (partition, offset): each value seen there and the events that saw it.
    pub at: BTreeMap<(TopicPartition, Offset), BTreeMap<u64, Vec<u64>>>,
    /// Values returned by polls, with the first poll event.
    pub read: BTreeMap<u64, u64>,
    /// Offsets acknowledged to producers. With the keys of `at` (logs, polls) these are
    /// every offset known to hold a record (see [`Index::known_between`]).
    pub acked_at: BTreeSet<(TopicPartition, Offset)>,
    /// Per record: the (event, node) of every time it was processed.
    pub processed: BTreeMap<(TopicPartition, Offset, u64), Vec<Processing>>,
    /// Per partition: the highest offset any group committed (the next offset to read) and
    /// the commit's event. Records below it were declared done by their group.
    pub committed: BTreeMap<TopicPartition, (Offset, u64)>,
    /// Per partition, the final log's log start offset (below it retention deleted).
    pub log_start: BTreeMap<TopicPartition, Offset>,
    /// Values of transactions not known to have committed (aborted, or ended unknown):
    /// a read_committed reader must not (or need not) see them, so they are never lost,
    /// unseen or skipped (`txn.rs`).
    pub txn_hidden: BTreeSet<u64>,
    /// Every transaction's fate (`txn.rs`).
    pub txn: super::txn::TxnFates,
    /// Consumer nodes running with `isolation.level = read_committed`.
    pub read_committed: BTreeSet<Arc<str>>,
    /// Acknowledged (partition, offset, value)s the log cleaner removed (see
    /// [`FinalLogs::compaction`]).
    pub compacted: BTreeSet<(TopicPartition, Offset, u64)>,
}

impl Index {
    pub fn build(history: &History, logs: Option<&FinalLogs>) -> Index {
        let mut ix = Index::default();
        for e in &history.entries {
            ix.add(e.event, &e.node, &e.op);
        }
        ix.txn = super::txn::txn_fates(history);
        ix.txn_hidden = ix.txn.hidden_values.clone();
        for pos in &ix.txn.uncommitted_positions {
            ix.acked_at.remove(pos);
        }
        if let Some(logs) = logs {
            ix.log_start.clone_from(&logs.log_start);
            for (tp, records) in &logs.partitions {
                for &(offset, value) in records {
                    ix.stored
                        .entry(value)
                        .or_default()
                        .push((tp.clone(), offset));
                    ix.saw(tp, offset, value, 0);
                }
            }
            ix.processed_by_outputs();
            ix.compacted = ix.removed_by_compaction(logs);
        }
        ix
    }

    /// A consume-transform-produce pipeline has processed an input when its output (the
    /// input's value with [`OUTPUT_BIT`] set) is in the final logs, committed — whether or
    /// not the application lived to see its commit return.
    ///
    /// [`OUTPUT_BIT`]: crate::workload::consumer_txn::OUTPUT_BIT
    fn processed_by_outputs(&mut self) {
        use crate::workload::consumer_txn::OUTPUT_BIT;
        let inputs: Vec<u64> = self
            .stored
            .keys()
            .filter(|w| *w & OUTPUT_BIT != 0)
            .map(|w| w & !OUTPUT_BIT)
            .collect();
        let done: BTreeSet<u64> = self.processed.keys().map(|(_, _, v)| *v).collect();
        let output: Arc<str> = Arc::from("output");
        for v in inputs.into_iter().filter(|v| !done.contains(v)) {
            for (tp, offset) in self.stored.get(&v).cloned().unwrap_or_default() {
                let key = (tp, offset, v);
                self.processed
                    .entry(key)
                    .or_default()
                    .push((0, output.clone()));
            }
        }
    }

    /// The acknowledged records the cleaner removed: absent from a compacted final log,
    /// below its first dirty offset, their offset not reused (no later acknowledgement of
    /// another value at it, no other value there in the final log: a truncation reuses
    /// offsets, compaction never does), and superseded — a later record
    /// of the key is in the log, or a tombstone of the key at or after it was removed too.
    fn removed_by_compaction(&self, logs: &FinalLogs) -> BTreeSet<(TopicPartition, Offset, u64)> {
        // An offset acknowledged for two values was reused: a truncation removed the
        // earlier one (a loss), and only the last acknowledged may have been compacted. A
        // value other than `v` in the final log at the offset rules compaction out too.
        let mut last_acked: BTreeMap<(&TopicPartition, Offset), (u64, u64)> = BTreeMap::new();
        for (v, tp, o, event, _) in self.acked() {
            let e = last_acked.entry((tp, o)).or_insert((event, v));
            if event > e.0 {
                *e = (event, v);
            }
        }
        let reused = |v: u64, tp: &TopicPartition, o: Offset| {
            last_acked.get(&(tp, o)).is_some_and(|&(_, last)| last != v)
                || self
                    .at
                    .get(&(tp.clone(), o))
                    .is_some_and(|vs| vs.iter().any(|(&other, e)| other != v && e.contains(&0)))
        };
        let mut tombstones: BTreeMap<(&TopicPartition, &Arc<str>), Offset> = BTreeMap::new();
        for (v, tp, o, ..) in self.acked() {
            let s = &self.sends[&v];
            if let (true, Some(k)) = (s.tombstone, &s.key) {
                if !self.stored.contains_key(&v) {
                    let t = tombstones.entry((tp, k)).or_insert(o);
                    *t = (*t).max(o);
                }
            }
        }
        let mut out = BTreeSet::new();
        for (v, tp, o, ..) in self.acked() {
            let (Some(c), Some(k)) = (logs.compaction.get(tp), &self.sends[&v].key) else {
                continue;
            };
            if self.stored.contains_key(&v)
                || o < Offset::ZERO
                || o >= c.cleaned_upto
                || reused(v, tp, o)
            {
                continue;
            }
            let superseded = c.latest.get(k).is_some_and(|&l| l > o);
            let deleted = tombstones
                .get(&(tp, k))
                .is_some_and(|&t| t >= o && t < c.cleaned_upto);
            if superseded || deleted {
                out.insert((tp.clone(), o, v));
            }
        }
        out
    }

    fn add(&mut self, event: u64, node: &Arc<str>, op: &HistoryOp) {
        match op {
            HistoryOp::SendInvoke {
                value,
                key,
                tombstone,
                ..
            } => {
                let send = Send {
                    node: node.clone(),
                    outcome: None,
                    key: key.clone(),
                    tombstone: tombstone.0,
                };
                self.sends.insert(*value, send);
                *self.invokes.entry(*value).or_insert(0) += 1;
            }
            HistoryOp::SendOk { value, tp, offset } => {
                if *offset >= Offset::ZERO {
                    self.acked_at.insert((tp.clone(), *offset));
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
                    .push((event, node.clone()));
            }
            HistoryOp::CommitOk { offsets } => {
                for (tp, offset) in offsets {
                    let c = self.committed.entry(tp.clone()).or_insert((*offset, event));
                    if *offset > c.0 {
                        *c = (*offset, event);
                    }
                }
            }
            HistoryOp::ReadCommitted => {
                self.read_committed.insert(node.clone());
            }
            HistoryOp::Assigned { .. }
            | HistoryOp::CommitFail { .. }
            | HistoryOp::Crashed
            | HistoryOp::TxnBegin
            | HistoryOp::TxnEnd { .. } => {}
        }
    }

    /// Records the outcome; an outcome without an invoke (a hand-written history, or a
    /// client that reports only outcomes) creates the send.
    fn end_send(&mut self, value: u64, node: &Arc<str>, outcome: Outcome) {
        let send = self.sends.entry(value).or_insert_with(|| Send {
            node: node.clone(),
            outcome: None,
            key: None,
            tombstone: false,
        });
        // A definite success wins over an earlier indeterminate report.
        if !matches!(send.outcome, Some(Outcome::Ok { .. })) {
            send.outcome = Some(outcome);
        }
    }

    fn saw(&mut self, tp: &TopicPartition, offset: Offset, value: u64, event: u64) {
        self.at
            .entry((tp.clone(), offset))
            .or_default()
            .entry(value)
            .or_default()
            .push(event);
    }

    /// Offsets of `tp` strictly between `from` and `to` known to hold a record (a final
    /// log, a poll or an acknowledgement saw them), ascending.
    pub fn known_between(&self, tp: &TopicPartition, from: Offset, to: Offset) -> Vec<Offset> {
        if to <= from + 1 {
            return Vec::new();
        }
        let (lo, hi) = ((tp.clone(), from + 1), (tp.clone(), to));
        let mut out: Vec<Offset> = self
            .at
            .range(lo.clone()..hi.clone())
            .map(|((_, o), _)| *o)
            .chain(self.acked_at.range(lo..hi).map(|(_, o)| *o))
            .collect();
        out.sort_unstable();
        out.dedup();
        // A reader jumps over what the cleaner removed, as Kafka's consumers do.
        out.retain(|&o| {
            let (lo, hi) = ((tp.clone(), o, 0), (tp.clone(), o, u64::MAX));
            self.compacted.range(lo..=hi).next().is_none()
        });
        out
    }

    /// Has a group committed past `offset` of `tp` (declared the record done)?
    pub fn committed_past(&self, tp: &TopicPartition, offset: Offset) -> bool {
        self.committed.get(tp).is_some_and(|(c, _)| *c > offset)
    }

    /// Whether retention deleted `offset` of `tp`: it is below the final log's log start.
    pub fn deleted_by_retention(&self, tp: &TopicPartition, offset: Offset) -> bool {
        self.log_start.get(tp).is_some_and(|&s| offset < s)
    }

    /// Acknowledged sends: (value, partition, offset, ack event, producer node).
    pub fn acked(&self) -> impl Iterator<Item = (u64, &TopicPartition, Offset, u64, &str)> {
        let hidden = &self.txn_hidden;
        let sends = self.sends.iter().filter(move |(v, _)| !hidden.contains(v));
        sends.filter_map(|(v, s)| match &s.outcome {
            Some(Outcome::Ok { tp, offset, event }) => Some((*v, tp, *offset, *event, &*s.node)),
            _ => None,
        })
    }

    /// Values seen at more than one (partition, offset), by any reader or the final log,
    /// each with its positions in order (values in ascending order).
    pub fn multi_positions(&self) -> Vec<(u64, Vec<(TopicPartition, Offset)>)> {
        // One flat list sorted by value instead of a map of sets: most values sit at exactly
        // one position, and building a set for each was most of this check's cost.
        let mut seen: Vec<(u64, &TopicPartition, Offset)> = self
            .at
            .iter()
            .flat_map(|((tp, offset), values)| values.keys().map(move |v| (*v, tp, *offset)))
            .collect();
        seen.sort_unstable();
        let mut out = Vec::new();
        for group in seen.chunk_by(|a, b| a.0 == b.0) {
            if group.len() > 1 {
                let places = group.iter().map(|(_, tp, o)| ((*tp).clone(), *o)).collect();
                out.push((group[0].0, places));
            }
        }
        out
    }
}
