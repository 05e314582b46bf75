//! Anomalies: what the checker reports. Names are Jepsen's (`lost-write`, `duplicate`,
//! `poll-skip`, …) plus two about consumer-side processing (`lost-processing`,
//! `reprocessed`) and one about liveness (`not-converged`). Each anomaly names the records
//! involved (partition, offset, value) and the event numbers where it arose, so the UI can
//! jump there; `description` is one plain-language sentence for learners.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use crate::kafka::{Offset, TopicPartition};

/// The kinds of anomaly, in the order reports list them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    /// Acknowledged, never present in the final log.
    LostWrite,
    /// Acknowledged and present, never returned by any poll.
    Unseen,
    /// One sent value stored at two offsets.
    Duplicate,
    /// Two values at one offset of one partition, as seen by different readers.
    InconsistentOffsets,
    /// A consumer's reads jumped over records within one assignment.
    PollSkip,
    /// A consumer's reads went back (or repeated) within one assignment.
    NonmonotonicPoll,
    /// A producer's acknowledged offsets went back within a partition.
    NonmonotonicSend,
    /// A read_committed consumer saw a record of an aborted transaction.
    AbortedRead,
    /// read_committed consumers saw part of a committed transaction but not the rest,
    /// though they read past it (within a partition or across its partitions).
    TornTransaction,
    /// A record in the log that no member ever processed.
    LostProcessing,
    /// A record processed more than once.
    Reprocessed,
    /// After the faults stopped, the system did not recover within the liveness phase.
    NotConverged,
}

impl AnomalyKind {
    pub const ALL: &'static [AnomalyKind] = &[
        AnomalyKind::LostWrite,
        AnomalyKind::Unseen,
        AnomalyKind::Duplicate,
        AnomalyKind::InconsistentOffsets,
        AnomalyKind::PollSkip,
        AnomalyKind::NonmonotonicPoll,
        AnomalyKind::NonmonotonicSend,
        AnomalyKind::AbortedRead,
        AnomalyKind::TornTransaction,
        AnomalyKind::LostProcessing,
        AnomalyKind::Reprocessed,
        AnomalyKind::NotConverged,
    ];

    /// The name used in `[expect]`, reports and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            AnomalyKind::LostWrite => "lost-write",
            AnomalyKind::Unseen => "unseen",
            AnomalyKind::Duplicate => "duplicate",
            AnomalyKind::InconsistentOffsets => "inconsistent-offsets",
            AnomalyKind::PollSkip => "poll-skip",
            AnomalyKind::NonmonotonicPoll => "nonmonotonic-poll",
            AnomalyKind::NonmonotonicSend => "nonmonotonic-send",
            AnomalyKind::AbortedRead => "aborted-read",
            AnomalyKind::TornTransaction => "torn-transaction",
            AnomalyKind::LostProcessing => "lost-processing",
            AnomalyKind::Reprocessed => "reprocessed",
            AnomalyKind::NotConverged => "not-converged",
        }
    }

    pub fn parse(text: &str) -> Option<AnomalyKind> {
        AnomalyKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == text)
    }

    /// Safety anomalies say something bad happened; `not-converged` says something good
    /// did not (a liveness failure).
    pub fn is_safety(&self) -> bool {
        *self != AnomalyKind::NotConverged
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A record an anomaly is about: where it was (or was acknowledged) and its value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct RecordRef {
    pub tp: TopicPartition,
    pub offset: Offset,
    pub value: u64,
}

impl RecordRef {
    pub fn new(tp: &TopicPartition, offset: Offset, value: u64) -> Self {
        RecordRef {
            tp: tp.clone(),
            offset,
            value,
        }
    }
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}={}", self.tp, self.offset, self.value)
    }
}

/// One anomaly found in a history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// One plain-language sentence.
    pub description: String,
    pub records: Vec<RecordRef>,
    /// Kernel event numbers where the anomaly arose (sorted, deduplicated).
    pub events: Vec<u64>,
    /// Client nodes involved.
    pub nodes: Vec<String>,
    /// Why it happened, when the checker can tell (a `duplicate`'s [`DuplicateCause`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
}

/// Why a value is stored twice.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DuplicateCause {
    /// The application called `send()` with the value again after it restarted: a new
    /// producer (a new producer id), so no broker can tell the copies apart — Kafka
    /// duplicates too; only a transactional or application-level dedup avoids it.
    Restart,
    /// One `send()` stored twice: the producer resent a batch the broker already had. Kafka
    /// does this without idempotence; an idempotent producer must not.
    Retry,
}

impl DuplicateCause {
    pub const ALL: &'static [DuplicateCause] = &[DuplicateCause::Restart, DuplicateCause::Retry];

    /// The name used in reports and as the counter suffix (`duplicate-restart`).
    pub fn as_str(&self) -> &'static str {
        match self {
            DuplicateCause::Restart => "restart",
            DuplicateCause::Retry => "retry",
        }
    }

    /// The counter of duplicates with this cause.
    pub fn counter(&self) -> &'static str {
        match self {
            DuplicateCause::Restart => "duplicate-restart",
            DuplicateCause::Retry => "duplicate-retry",
        }
    }
}

impl Anomaly {
    pub fn new(kind: AnomalyKind, description: String) -> Self {
        Anomaly {
            kind,
            description,
            records: Vec::new(),
            events: Vec::new(),
            nodes: Vec::new(),
            cause: None,
        }
    }

    pub fn record(mut self, r: RecordRef) -> Self {
        self.records.push(r);
        self
    }

    pub fn event(mut self, e: u64) -> Self {
        self.events.push(e);
        self
    }

    pub fn node(mut self, n: &str) -> Self {
        if !self.nodes.iter().any(|x| x == n) {
            self.nodes.push(n.to_string());
        }
        self
    }

    /// Sorts and deduplicates records and events (stable output for reports and tests).
    pub fn finish(mut self) -> Self {
        self.records.sort();
        self.records.dedup();
        self.events.sort_unstable();
        self.events.dedup();
        self
    }
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.description)?;
        if !self.events.is_empty() {
            let ev: Vec<String> = self.events.iter().map(|e| format!("#{e}")).collect();
            write!(f, " (events {})", ev.join(", "))?;
        }
        Ok(())
    }
}

/// Counts by kind; every kind is present (zero when none was found).
pub fn counts(anomalies: &[Anomaly]) -> BTreeMap<AnomalyKind, u64> {
    let mut c: BTreeMap<AnomalyKind, u64> = AnomalyKind::ALL.iter().map(|k| (*k, 0)).collect();
    for a in anomalies {
        *c.entry(a.kind).or_insert(0) += 1;
    }
    c
}

/// Duplicates by cause: each [`DuplicateCause`]'s counter (`duplicate-restart`,
/// `duplicate-retry`) with its count (zero when none).
pub fn duplicate_causes(anomalies: &[Anomaly]) -> BTreeMap<&'static str, u64> {
    let mut c: BTreeMap<&'static str, u64> = DuplicateCause::ALL
        .iter()
        .map(|k| (k.counter(), 0))
        .collect();
    for a in anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::Duplicate)
    {
        let cause = DuplicateCause::ALL
            .iter()
            .find(|k| Some(k.as_str()) == a.cause);
        if let Some(k) = cause {
            *c.entry(k.counter()).or_insert(0) += 1;
        }
    }
    c
}
