//! The history checker: from what clients observed to named anomalies.
//!
//! Clients record every operation Jepsen-style (`send` invoked / ok / failed /
//! indeterminate, `poll` returned records, processing done, commits). Every sent value is
//! unique, so the checker can follow each one. After the run a *drain phase* heals every
//! fault and reads every partition to its end: the final logs. Comparing the two gives the
//! anomalies of [`AnomalyKind`]: acknowledged writes missing from the final log
//! (`lost-write`), values at two offsets (`duplicate`), consumers jumping or going back
//! (`poll-skip`, `nonmonotonic-poll`), records never or twice processed, and so on.
//!
//! Everything here is a pure function of data ([`History`], [`FinalLogs`]), so each anomaly
//! is unit-tested with a few hand-written operations; `runner::check_scenario` wires it to a
//! run, its drain phase and the scenario's `[expect]`. The live invariant checker
//! ([`invariants`]) watches a running world's replication state after every event.
//! Definitions and examples: docs/checking.md.

pub mod anomaly;
mod consume;
mod delivery;
pub mod expect;
pub mod history;
mod index;
pub mod invariants;
mod txn;
pub use txn::txn_fates;
#[cfg(test)]
mod tests;

pub use anomaly::{counts, duplicate_causes, Anomaly, AnomalyKind, DuplicateCause, RecordRef};
pub use expect::{evaluate, ExpectLine};
pub use history::{Entry, History};

use std::collections::BTreeMap;

use crate::kafka::{Offset, TopicPartition};

/// What the drain phase read: per partition, the ordered (offset, value) records of its
/// final log (the leader's log up to its log end once faults are healed and replicas caught
/// up). Filled from the partition leaders' state after the drain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FinalLogs {
    pub partitions: BTreeMap<TopicPartition, LogRecords>,
    /// Per partition, the log start offset of the log read (absent: 0). Retention deletes
    /// only whole segments from the start of a log, so an acknowledged record below it was
    /// deleted by design, not lost (docs/checking.md).
    pub log_start: BTreeMap<TopicPartition, Offset>,
    /// Per partition of a compacted topic, what its log cleaner did (absent: not compacted).
    pub compaction: BTreeMap<TopicPartition, Compaction>,
}

/// One partition's final log: its (offset, value) records, kept as runs of consecutive
/// records (values `value..` at offsets `offset..`). A batch's records are consecutive
/// sends of one producer, so a million-record log is a few thousand runs, not a million
/// pairs — the drain's copy of every log costs next to nothing, and the checker reads a
/// run in one step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogRecords {
    runs: Vec<LogRun>,
    len: usize,
}

/// `count` records: values `value..value + count` at offsets `offset..offset + count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogRun {
    pub offset: Offset,
    pub value: u64,
    pub count: u32,
}

impl LogRecords {
    /// Appends a record (offsets ascending), extending the last run when it continues it.
    pub fn push(&mut self, offset: Offset, value: u64) {
        self.len += 1;
        if let Some(last) = self.runs.last_mut() {
            let n = last.count as u64;
            if offset.0 == last.offset.0 + n as i64
                && value == last.value.wrapping_add(n)
                && last.count < u32::MAX
            {
                last.count += 1;
                return;
            }
        }
        self.runs.push(LogRun {
            offset,
            value,
            count: 1,
        });
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The runs, in offset order.
    pub fn runs(&self) -> &[LogRun] {
        &self.runs
    }

    /// The records one by one, in offset order.
    pub fn iter(&self) -> impl Iterator<Item = (Offset, u64)> + '_ {
        self.runs.iter().flat_map(|r| {
            (0..r.count).map(move |k| {
                (
                    Offset(r.offset.0 + k as i64),
                    r.value.wrapping_add(k as u64),
                )
            })
        })
    }
}

impl<'a> IntoIterator for &'a LogRecords {
    type Item = (Offset, u64);
    type IntoIter = Box<dyn Iterator<Item = (Offset, u64)> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<(Offset, u64)> for LogRecords {
    fn from_iter<I: IntoIterator<Item = (Offset, u64)>>(iter: I) -> Self {
        let mut out = LogRecords::default();
        for (o, v) in iter {
            out.push(o, v);
        }
        out
    }
}

/// Serialised as the list of its `[offset, value]` pairs (what the exports print).
impl serde::Serialize for LogRecords {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// The compaction facts of one final log: the checker excuses an acknowledged record the
/// cleaner removed, and only that (docs/checking.md).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compaction {
    /// The log's first dirty offset: the cleaner removed nothing at or above it.
    pub cleaned_upto: Offset,
    /// Each key's latest offset in the final log.
    pub latest: BTreeMap<std::sync::Arc<str>, Offset>,
}

impl FinalLogs {
    /// Adds one partition's records (tests and the drain).
    pub fn with(mut self, tp: TopicPartition, records: &[(Offset, u64)]) -> Self {
        let log = self.partitions.entry(tp).or_default();
        for &(o, v) in records {
            log.push(o, v);
        }
        self
    }

    /// Sets one partition's log start offset (tests and the drain).
    pub fn with_log_start(mut self, tp: TopicPartition, start: Offset) -> Self {
        self.log_start.insert(tp, start);
        self
    }

    /// Sets one partition's compaction facts (tests and the drain).
    pub fn with_compaction(mut self, tp: TopicPartition, c: Compaction) -> Self {
        self.compaction.insert(tp, c);
        self
    }

    /// Whether retention deleted `offset` of `tp` (it is below the log start offset).
    pub fn deleted_by_retention(&self, tp: &TopicPartition, offset: Offset) -> bool {
        self.log_start.get(tp).is_some_and(|&s| offset < s)
    }
}

/// How many acknowledged records the log cleaner removed (the `compacted` counter): a
/// later record of the same key is in the final log, or a tombstone of the key was itself
/// removed after `delete.retention.ms`. These are not lost writes.
pub fn compacted(history: &History, logs: Option<&FinalLogs>) -> u64 {
    index::Index::build(history, logs).compacted.len() as u64
}

/// Every anomaly of `history` given the final logs. Without final logs (a world with no
/// Kafka cluster, or a history checked on its own) log-based checks are skipped and the
/// acknowledged sends stand in for the log where needed.
pub fn analyze(history: &History, logs: Option<&FinalLogs>) -> Vec<Anomaly> {
    analyze_counted(history, logs).0
}

/// [`analyze`], and the history's counters counted on the way (`acked`, `produce-errors`,
/// `consumed`, `commit-failed`; absent when zero): one pass fewer for `check`.
pub fn analyze_counted(
    history: &History,
    logs: Option<&FinalLogs>,
) -> (Vec<Anomaly>, BTreeMap<&'static str, u64>) {
    // First, before the index exists: its lists are the only other large allocation.
    let (nonmonotonic, invoked) = delivery::nonmonotonic_sends_and_invoked(history);
    let ix = index::Index::build_with(history, logs, &invoked);
    let known = logs.is_some();
    let consumers = ix.has_consumers;
    let mut out = Vec::new();
    if known {
        out.extend(delivery::lost_writes(&ix));
    }
    if consumers {
        out.extend(delivery::unseen(&ix, known));
    }
    out.extend(delivery::duplicates(&ix));
    out.extend(delivery::inconsistent_offsets(&ix));
    out.extend(consume::poll_order(history, &ix));
    out.extend(nonmonotonic);
    // Processing is judged only where applications report it (simulated consumers:
    // `Assigned`, `Processed`); a real client's polls are deliveries, and what it
    // processed is unknown (`workload/external_reads.rs`).
    if ix.has_processing {
        out.extend(consume::lost_processing(&ix, known));
    }
    out.extend(consume::reprocessed(&ix));
    out.extend(txn::aborted_reads(history, &ix));
    out.extend(txn::torn_transactions(history, &ix));
    out.sort_by_key(|a| (a.kind, a.events.first().copied()));
    (out, ix.counts)
}
