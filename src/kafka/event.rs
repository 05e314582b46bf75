//! Semantic events the Kafka nodes emit into the trace: what a learner wants to see happen
//! (an append, a high-watermark advance, an ISR change, an election, a truncation, a produce
//! acknowledged, a rebalance, a commit). The checker counts some of them and the UI puts
//! markers on the timeline for others. Each has a one-line explanation.

use serde::Serialize;

use super::clients::consumer::CommitError;
use super::errors::ErrorCode;
use super::types::{
    BrokerId, Generation, LeaderEpoch, Offset, ProducerEpoch, ProducerId, TopicPartition, TxnState,
};

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum KafkaEvent {
    // ---- controller
    BrokerRegistered {
        broker: BrokerId,
        broker_epoch: i64,
    },
    BrokerFenced {
        broker: BrokerId,
    },
    BrokerUnfenced {
        broker: BrokerId,
    },
    LeaderElected {
        tp: TopicPartition,
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
        isr: Vec<BrokerId>,
        unclean: bool,
        /// A preferred leader election (`auto.leader.rebalance.enable`): leadership goes back
        /// to the first replica of the assignment.
        preferred: bool,
    },
    PartitionOffline {
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
    },
    IsrChanged {
        tp: TopicPartition,
        isr: Vec<BrokerId>,
        partition_epoch: i32,
    },
    // ---- broker / replication
    BecameLeader {
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
        leo: Offset,
    },
    BecameFollower {
        tp: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
    },
    Appended {
        tp: TopicPartition,
        base_offset: Offset,
        records: u32,
        leader_epoch: LeaderEpoch,
        first_value: u64,
    },
    Replicated {
        tp: TopicPartition,
        base_offset: Offset,
        records: u32,
    },
    HighWatermark {
        tp: TopicPartition,
        hw: Offset,
    },
    Truncated {
        tp: TopicPartition,
        from_leo: Offset,
        to: Offset,
        /// Number of records removed.
        removed: u64,
        reason: TruncationReason,
    },
    ProduceRejected {
        tp: TopicPartition,
        error: ErrorCode,
    },
    LogRecovered {
        tp: TopicPartition,
        leo: Offset,
        hw: Offset,
    },
    IsrShrinkRequested {
        tp: TopicPartition,
        new_isr: Vec<BrokerId>,
    },
    IsrExpandRequested {
        tp: TopicPartition,
        new_isr: Vec<BrokerId>,
    },
    // ---- clients
    ProduceAcked {
        tp: TopicPartition,
        base_offset: Offset,
        records: u32,
    },
    ProduceFailed {
        tp: TopicPartition,
        error: ErrorCode,
        records: u32,
        will_retry: bool,
    },
    RebalanceStarted {
        group: String,
        generation: Generation,
        reason: String,
    },
    RebalanceCompleted {
        group: String,
        generation: Generation,
        members: u32,
    },
    PartitionsAssigned {
        group: String,
        generation: Generation,
        partitions: Vec<TopicPartition>,
    },
    PartitionsRevoked {
        group: String,
        partitions: Vec<TopicPartition>,
    },
    OffsetCommitted {
        group: String,
        tp: TopicPartition,
        offset: Offset,
    },
    CommitFailed {
        group: String,
        error: CommitError,
    },
    OffsetReset {
        tp: TopicPartition,
        offset: Offset,
        reason: ErrorCode,
    },
    /// `send()` refused a record larger than `max.request.size` (or `buffer.memory`):
    /// RecordTooLargeException, never sent.
    RecordTooLarge {
        topic: String,
        size: u64,
        max_request_size: u32,
    },
    /// A partition forgot idempotent producers idle for `producer.id.expiration.ms`.
    ProducerIdsExpired {
        tp: TopicPartition,
        producers: usize,
    },
    // ---- retention (broker/retention.rs) and the consumer's view of it
    /// Retention deleted the oldest `segments` of a replica's log.
    SegmentsDeleted {
        tp: TopicPartition,
        segments: u32,
        records: u64,
        log_start_offset: Offset,
        reason: DeletionReason,
    },
    /// A follower moved its log start offset up to its leader's.
    LogStartOffsetIncremented {
        tp: TopicPartition,
        log_start_offset: Offset,
    },
    /// A consumer's fetch position is below the leader's log start offset: the records in
    /// between were deleted by retention before it read them.
    FetchPositionOutOfRange {
        tp: TopicPartition,
        position: Offset,
        log_start_offset: Offset,
        auto_offset_reset: String,
    },
    // Controller events added later stay at the end: a variant's index is part of the
    // trace hash, so inserting one in the middle would change every run's hash.
    /// A new incarnation tried to register while the old one's session is still valid.
    DuplicateBrokerRegistration {
        broker: BrokerId,
    },
    /// `onPartitionsLost`: a kicked-out member gives up partitions without committing.
    PartitionsLost {
        group: String,
        partitions: Vec<TopicPartition>,
    },
    /// KIP-320 validation found the consumer's log diverged below its position.
    LogTruncationDetected {
        tp: TopicPartition,
        position: Offset,
        /// The first offset known to diverge (None: the leader has no such epoch).
        diverging_offset: Option<Offset>,
        /// `auto.offset.reset` applies (seek / reset); false: LogTruncationException.
        reset: bool,
    },
    // ---- fetch sessions (KIP-227, broker/fetch_session.rs)
    /// A full fetch opened a session (`session_id` 0: the cache had no slot for it).
    FetchSessionOpened {
        session_id: i32,
        partitions: u32,
        /// The follower's broker id; `None` for a consumer.
        replica: Option<BrokerId>,
        sessions: u32,
        slots: u32,
    },
    /// An incremental fetch named a session the cache does not hold, or the wrong epoch.
    FetchSessionError {
        session_id: i32,
        epoch: i32,
        error: ErrorCode,
    },
    // ---- transactions (broker/txn_coordinator/, broker/txn_markers.rs, the producer)
    /// The transaction coordinator moved a transactional id to a new state (written to
    /// `__transaction_state`).
    TxnTransition {
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        from: TxnState,
        to: TxnState,
        partitions: u32,
    },
    /// A partition leader appended a COMMIT or ABORT control record (WriteTxnMarkers).
    TxnMarkerAppended {
        tp: TopicPartition,
        producer_id: ProducerId,
        committed: bool,
        offset: Offset,
    },
    /// A partition leader got the coordinator's answer about a transactional batch
    /// (KIP-890: verified, or with `added`, the partition added to the transaction).
    TxnPartitionVerified {
        tp: TopicPartition,
        producer_id: ProducerId,
        added: bool,
        /// What the producer is told (NONE: the batch is appended).
        error: ErrorCode,
    },
    /// The coordinator aborts a transaction open longer than `transaction.timeout.ms`.
    TxnTimedOut {
        transactional_id: String,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
    },
    /// A coordinator took over a `__transaction_state` partition and read its state back.
    TxnStateLoaded {
        partition: u32,
        transactions: u32,
        /// Transactions in PrepareCommit/PrepareAbort whose markers it sends again.
        completing: u32,
    },
    /// A transactional producer's request came back fenced: a newer epoch of its
    /// transactional id exists (fatal, the producer must be closed).
    ProducerFenced {
        transactional_id: String,
        error: ErrorCode,
    },
    /// A transactional producer finished a transaction (`commitTransaction` /
    /// `abortTransaction` returned).
    TxnEnded {
        transactional_id: String,
        committed: bool,
        error: ErrorCode,
    },
    /// The log cleaner compacted a replica's log (broker/cleaner.rs).
    LogCleaned {
        tp: TopicPartition,
        segments: u32,
        /// Records removed, tombstones included.
        records_removed: u64,
        /// Tombstones removed (past `delete.retention.ms` in a cleaned segment).
        tombstones_removed: u64,
        /// The new first dirty offset.
        cleaned_upto: Offset,
    },
}

/// Why retention deleted segments (Kafka's `LogDeletionReason`s).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionReason {
    /// Below the log start offset (a follower following its leader's).
    LogStartOffset,
    /// The log is larger than `retention.bytes`.
    RetentionBytes,
    /// The segment's newest record is older than `retention.ms`.
    RetentionMs,
}

impl DeletionReason {
    /// The order Kafka's `deleteOldSegments` applies the rules in.
    pub const ORDER: [DeletionReason; 3] = [
        DeletionReason::LogStartOffset,
        DeletionReason::RetentionBytes,
        DeletionReason::RetentionMs,
    ];
}

/// Why a replica cut its log.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruncationReason {
    /// Leader-epoch based (KIP-101/KIP-279): removed what diverges from the leader.
    LeaderEpoch,
    /// Pre-0.11 behaviour (the `replication.truncation = "high-watermark"` switch).
    HighWatermark,
    /// The follower's fetch offset was outside the leader's log (OFFSET_OUT_OF_RANGE): cut
    /// to the leader's LEO (the pre-0.11 path; also a log start beyond ours).
    OutOfRange,
    /// The follower's log ends below the leader's log start offset: it deletes its whole
    /// log and starts again at the leader's log start (Kafka's `truncateFullyAndStartAt`).
    BelowLogStart,
}

impl KafkaEvent {
    /// One plain-language line for learners.
    pub fn explain(&self) -> String {
        use KafkaEvent::*;
        match self {
            BrokerRegistered { broker, broker_epoch } => format!("broker {broker} registered with the controller (broker epoch {broker_epoch})"),
            BrokerFenced { broker } => format!("fenced broker {broker}: no heartbeat within broker.session.timeout.ms; it leaves every ISR and loses leadership"),
            BrokerUnfenced { broker } => format!("unfenced broker {broker}: it caught up with the metadata log"),
            DuplicateBrokerRegistration { broker } => format!("refused the registration of a new broker {broker} process with DUPLICATE_BROKER_REGISTRATION: the old process's session is still valid (broker.session.timeout.ms); it retries with backoff"),
            LeaderElected { tp, leader, leader_epoch, isr, preferred: true, .. } => format!("preferred leader election: broker {leader}, the first replica, leads {tp} again (leader epoch {leader_epoch}, ISR {}; auto.leader.rebalance.enable)", ids(isr)),
            LeaderElected { tp, leader, leader_epoch, isr, unclean: false, .. } => format!("elected broker {leader} leader of {tp} (leader epoch {leader_epoch}, ISR {})", ids(isr)),
            LeaderElected { tp, leader, leader_epoch, .. } => format!("UNCLEAN election: broker {leader}, not in the ISR, leads {tp} (epoch {leader_epoch}); records it lacks are lost"),
            PartitionOffline { tp, .. } => format!("{tp} is OFFLINE: no ISR member is alive and unclean election is disabled"),
            IsrChanged { tp, isr, .. } => format!("ISR of {tp} is now {}", ids(isr)),
            BecameLeader { tp, leader_epoch, leo } => format!("became leader of {tp} in epoch {leader_epoch} with LEO {leo}"),
            BecameFollower { tp, leader: Some(l), leader_epoch } => format!("became follower of {tp}, fetching from broker {l} (epoch {leader_epoch})"),
            BecameFollower { tp, leader_epoch, .. } => format!("{tp} has no leader in epoch {leader_epoch}"),
            Appended { tp, base_offset, records, leader_epoch, .. } => format!("leader appended {records} record(s) to {tp} at offset {base_offset} (epoch {leader_epoch}), not yet replicated"),
            Replicated { tp, base_offset, records } => format!("follower copied {records} record(s) of {tp} at offset {base_offset}"),
            HighWatermark { tp, hw } => format!("high watermark of {tp} advanced to {hw}: records below it are on every in-sync replica and visible to consumers"),
            Truncated { tp, from_leo, to, removed, reason } => format!("TRUNCATED {tp} from LEO {from_leo} to {to}: {removed} record(s) removed ({})", match reason {
                TruncationReason::LeaderEpoch => "they diverge from the new leader's log (leader-epoch check)",
                TruncationReason::HighWatermark => "truncate to own high watermark: the pre-KIP-101 behaviour",
                TruncationReason::OutOfRange => "the fetch offset was out of the leader's range: the log is cut to where the leader's ends",
                TruncationReason::BelowLogStart => "the log ended below the leader's log start offset: deleted whole, it restarts at the leader's log start",
            }),
            ProduceRejected { tp, error } => format!("produce to {tp} rejected with {error}"),
            LogRecovered { tp, leo, hw } => format!("recovered {tp} from disk: LEO {leo}, checkpointed high watermark {hw}"),
            IsrShrinkRequested { tp, new_isr } => format!("leader asks the controller to shrink the ISR of {tp} to {} (follower lagging more than replica.lag.time.max.ms)", ids(new_isr)),
            IsrExpandRequested { tp, new_isr } => format!("leader asks the controller to expand the ISR of {tp} to {} (follower caught up)", ids(new_isr)),
            ProduceAcked { tp, base_offset, records } => format!("producer got an acknowledgement: {records} record(s) at {tp} offset {base_offset}"),
            ProduceFailed { tp, error, records, will_retry: true } => format!("produce of {records} record(s) to {tp} failed with {error}; will retry"),
            ProduceFailed { tp, error, records, .. } => format!("produce of {records} record(s) to {tp} FAILED with {error}; reported to the application"),
            RebalanceStarted { group, generation, reason } => format!("group {group} is rebalancing after generation {}: {reason}", generation.0),
            RebalanceCompleted { group, generation, members } => format!("group {group} is stable in generation {} with {members} member(s)", generation.0),
            PartitionsAssigned { group, generation, partitions } => format!("assigned {} in group {group} generation {}", tps(partitions), generation.0),
            PartitionsRevoked { group, partitions } => format!("revoked {} in group {group}", tps(partitions)),
            LogTruncationDetected { tp, position, diverging_offset: Some(d), reset: true } => format!("consumer detected log truncation on {tp} at position {position}: seeks to {d}, the first offset known to diverge (KIP-320)"),
            LogTruncationDetected { tp, position, diverging_offset: None, reset: true } => format!("consumer detected log truncation on {tp} at position {position}: the leader has no such epoch, auto.offset.reset applies"),
            LogTruncationDetected { tp, position, reset: false, .. } => format!("consumer detected log truncation on {tp} at position {position}: LogTruncationException (auto.offset.reset=none)"),
            LogCleaned { tp, segments, records_removed, tombstones_removed, cleaned_upto } => format!("log cleaner compacted {segments} segment(s) of {tp}: {records_removed} record(s) superseded by a later record of the same key removed ({tombstones_removed} of them tombstones past delete.retention.ms); cleaned up to offset {cleaned_upto}"),
            PartitionsLost { group, partitions } => format!("lost {} in group {group}: its generation was reset (kicked out), nothing committed", tps(partitions)),
            OffsetCommitted { group, tp, offset } => format!("group {group} committed offset {offset} for {tp}"),
            CommitFailed { group, error } => format!("offset commit of group {group} failed with {error}"),
            OffsetReset { tp, offset, reason } => format!("position of {tp} reset to {offset} after {reason} (auto.offset.reset)"),
            RecordTooLarge { topic, size, max_request_size } => format!("send() to {topic} failed with RecordTooLargeException (MESSAGE_TOO_LARGE): the record is {size} bytes serialized, more than max.request.size = {max_request_size} (or buffer.memory); it is never sent"),
            ProducerIdsExpired { tp, producers } => format!("{tp} forgot {producers} idempotent producer(s) idle longer than producer.id.expiration.ms: their next batch is accepted with any sequence, so a retry of an earlier batch is no longer recognised as a duplicate"),
            SegmentsDeleted { tp, segments, records, log_start_offset, reason } => format!("retention deleted {segments} segment(s) of {tp} ({records} record(s), {}): the log now starts at offset {log_start_offset}", match reason {
                DeletionReason::LogStartOffset => "below the log start offset",
                DeletionReason::RetentionBytes => "the log is larger than retention.bytes",
                DeletionReason::RetentionMs => "older than retention.ms",
            }),
            LogStartOffsetIncremented { tp, log_start_offset } => format!("follower moved the log start offset of {tp} to its leader's, {log_start_offset}"),
            FetchSessionOpened { session_id: 0, partitions, slots, .. } => format!("full fetch of {partitions} partition(s) answered without a session: all {slots} slots of max.incremental.fetch.session.cache.slots are taken, so every fetch from this fetcher names every partition (KIP-227)"),
            FetchSessionOpened { session_id, partitions, replica, sessions, slots } => format!("opened fetch session {session_id} for {} with {partitions} partition(s) ({sessions} of {slots} slots): its next fetches are incremental, naming only partitions whose fetch offset changed, and are answered with only partitions that have news (KIP-227)", match replica { Some(b) => format!("follower broker {b}"), None => "a consumer".to_string() }),
            FetchSessionError { session_id, epoch, error } => format!("incremental fetch for session {session_id} (epoch {epoch}) refused with {error}: {}; the fetcher falls back to a full fetch, which opens a new session", if *error == ErrorCode::FetchSessionIdNotFound { "this broker holds no such session (it restarted, or evicted it)" } else { "the epoch is not the session's next, a request was lost or repeated" }),
            TxnTransition { transactional_id, producer_id, producer_epoch, from, to: TxnState::PrepareEpochFence, .. } => format!("transaction coordinator: {transactional_id} (producer id {}) {from} → PrepareEpochFence: the producer's epoch is bumped to {producer_epoch} (in memory) before its open transaction is aborted, so the old session is fenced", producer_id.0),
            TxnTransition { transactional_id, producer_id, producer_epoch, from, to, partitions } => format!("transaction coordinator: {transactional_id} (producer id {}, epoch {producer_epoch}) {from} → {to} with {partitions} partition(s), written to __transaction_state{}", producer_id.0, match to {
                TxnState::PrepareCommit => ": the commit point; COMMIT markers go to every partition next (WriteTxnMarkers)",
                TxnState::PrepareAbort => ": ABORT markers go to every partition next (WriteTxnMarkers)",
                TxnState::PrepareEpochFence => ": the producer is fenced before its transaction is aborted",
                _ => "",
            }),
            TxnMarkerAppended { tp, producer_id, committed, offset } => format!("leader appended a {} control record for producer {} to {tp} at offset {offset}: it takes an offset, no consumer ever receives it{}", if *committed { "COMMIT" } else { "ABORT" }, producer_id.0, if *committed { "; read_committed readers may now read the transaction" } else { "; read_committed readers drop the transaction's records" }),
            TxnPartitionVerified { tp, producer_id, added, error: ErrorCode::None } => format!("leader of {tp}: the transaction coordinator {} for producer {}, so its batch is appended (KIP-890)", if *added { "added the partition to the ongoing transaction" } else { "confirmed the partition is in the ongoing transaction" }, producer_id.0),
            TxnPartitionVerified { tp, producer_id, error, .. } => format!("leader of {tp}: the transaction coordinator did not confirm an ongoing transaction of producer {} here, so its batch is refused with {error}{} (KIP-890)", producer_id.0, if *error == ErrorCode::InvalidTxnState { ": appending it would open a transaction no coordinator knows, a hanging transaction" } else { "" }),
            TxnTimedOut { transactional_id, producer_id, producer_epoch } => format!("transaction coordinator: the transaction of {transactional_id} (producer id {}, epoch {producer_epoch}) is open longer than transaction.timeout.ms; it is aborted and the epoch bumped, fencing that producer", producer_id.0),
            TxnStateLoaded { partition, transactions, completing } => format!("transaction coordinator loaded __transaction_state-{partition}: {transactions} transactional id(s), {completing} commit/abort(s) to finish by resending markers"),
            ProducerFenced { transactional_id, error } => format!("producer {transactional_id} is FENCED ({error}): a newer producer with the same transactional.id exists; ProducerFencedException is fatal, the producer must be closed"),
            TxnEnded { transactional_id, committed: true, error: ErrorCode::None } => format!("{transactional_id}: commitTransaction() returned: the transaction is committed"),
            TxnEnded { transactional_id, committed: false, error: ErrorCode::None } => format!("{transactional_id}: abortTransaction() returned: the transaction is aborted"),
            TxnEnded { transactional_id, committed, error } => format!("{transactional_id}: {}Transaction() failed with {error}", if *committed { "commit" } else { "abort" }),
            FetchPositionOutOfRange { tp, position, log_start_offset, auto_offset_reset } => format!("OFFSET_OUT_OF_RANGE: position {position} of {tp} is below the log start offset {log_start_offset}; records {position}..{} were deleted by retention before this consumer read them; auto.offset.reset = {auto_offset_reset} decides", *log_start_offset - 1),
        }
    }
}

fn ids(list: &[BrokerId]) -> String {
    let inner: Vec<String> = list.iter().map(|b| b.to_string()).collect();
    format!("[{}]", inner.join(", "))
}

fn tps(list: &[TopicPartition]) -> String {
    if list.is_empty() {
        return "no partitions".to_string();
    }
    list.iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
