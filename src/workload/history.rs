//! The history: what the clients observed, recorded Jepsen-style, one operation at a time.
//! Each sent value is unique, so the checker can follow a record from the `send` that
//! invoked it to the offsets it was acknowledged at, to the polls that returned it and the
//! application code that processed it. History entries travel as trace events and the kernel
//! keeps them even when the rest of the trace is only hashed (see `Node::keep`).

use serde::Serialize;
use std::sync::Arc;

use crate::kafka::clients::consumer::CommitError;
use crate::kafka::{ErrorCode, Offset, Topic, TopicPartition};

/// Whether a send's value was null: a *tombstone*, which deletes its key from a compacted
/// topic. Hashed only when set, so a history without tombstones keeps its trace hash.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NullValue(pub bool);

impl NullValue {
    pub fn is_false(&self) -> bool {
        !self.0
    }
}

impl std::hash::Hash for NullValue {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        if self.0 {
            true.hash(h);
        }
    }
}

/// One observed client operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum HistoryOp {
    /// The application called `send(value)`.
    SendInvoke {
        value: u64,
        topic: Topic,
        key: Option<Arc<str>>,
        /// A tombstone (`tombstones` of the producer).
        #[serde(skip_serializing_if = "NullValue::is_false")]
        tombstone: NullValue,
    },
    /// The send was acknowledged at `offset` of `tp` (acks=0: offset is -1).
    SendOk {
        value: u64,
        tp: TopicPartition,
        offset: Offset,
    },
    /// The send definitely failed (the error was reported and nothing was retried).
    SendFail { value: u64, error: ErrorCode },
    /// The outcome is unknown (timed out, producer crashed, acks=0): it may or may not be
    /// in the log.
    SendIndeterminate { value: u64, reason: String },
    /// `poll()` returned these records (partition, offset, value), in order.
    Poll {
        member: Arc<str>,
        generation: i32,
        records: Box<[(TopicPartition, Offset, u64)]>,
    },
    /// The consumer's assignment changed (start of a new assignment for the poll checks).
    Assigned {
        member: Arc<str>,
        generation: i32,
        partitions: Box<[TopicPartition]>,
    },
    /// The application finished processing this record (its side effect happened).
    Processed {
        tp: TopicPartition,
        offset: Offset,
        value: u64,
    },
    /// An offset commit succeeded (next offsets to read).
    CommitOk {
        offsets: Vec<(TopicPartition, Offset)>,
    },
    /// An offset commit failed, with the exception the application saw
    /// (CommitFailedException, RebalanceInProgressException, or the error itself).
    CommitFail { error: CommitError },
    /// The application process crashed (its in-memory work is gone).
    Crashed,
    /// A transactional producer's `commitTransaction()` (`committed`) or
    /// `abortTransaction()` returned for the records it sent in that transaction; `error`
    /// NONE when it succeeded (otherwise the transaction's fate is unknown to the client).
    TxnEnd {
        committed: bool,
        error: ErrorCode,
        values: Box<[u64]>,
    },
    /// A transactional producer called `beginTransaction()`: its sends until the next
    /// `TxnEnd` belong to this transaction (if none comes, its fate is unknown).
    TxnBegin,
    /// A consumer starts with `isolation.level = read_committed` (the checker holds it to
    /// reading committed records only).
    ReadCommitted,
}
