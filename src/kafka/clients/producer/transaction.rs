//! The transactional producer's side of transactions (Kafka's `TransactionManager`, the
//! transactional part), driven by the sender loop like everything else in the producer.
//!
//! States (Kafka's `TransactionManager.State`): **Uninitialized** → `initTransactions()` →
//! **Initializing** (FindCoordinator(TRANSACTION), then InitProducerId with the
//! `transactional.id` and `transaction.timeout.ms`: the coordinator bumps the epoch, fencing
//! older incarnations, and aborts what they left open — CONCURRENT_TRANSACTIONS until then)
//! → **Ready** → `beginTransaction()` (local only) → **InTransaction**. The first record for
//! a partition queues an **AddPartitionsToTxn**; that partition's batches are sent only once
//! the coordinator has added it. `sendOffsetsToTransaction` sends **AddOffsetsToTxn**, then
//! **TxnOffsetCommit** to the group coordinator with the consumer's generation and member id
//! (KIP-447). `commitTransaction()` → **Committing**: once every record is acknowledged,
//! **EndTxn(commit)**; `abortTransaction()` → **Aborting**, EndTxn(abort) once nothing is in
//! flight. Back to **Ready**.
//!
//! One request to a coordinator at a time, in that order of priority. Errors:
//! PRODUCER_FENCED (and INVALID_PRODUCER_EPOCH / INVALID_TXN_STATE from a coordinator) are
//! **fatal** (the producer must be closed); a failed batch or a refused offset commit is
//! **abortable**: commit fails, the application must abort, and the producer then takes a
//! new epoch (InitProducerId again, KIP-360) so its sequences start clean. NOT_COORDINATOR,
//! COORDINATOR_NOT_AVAILABLE, CONCURRENT_TRANSACTIONS and timeouts are retried after
//! `retry.backoff.ms`.
//!
//! **Transaction version 2** (KIP-890 part 2, Kafka 4.0's default): the producer learns
//! the cluster's finalized `transaction.version` from the ApiVersions handshake with its
//! coordinator (`maybeUpdateTransactionV2Enabled`). With 2 it sends no AddPartitionsToTxn:
//! a partition is in the transaction as soon as a record goes to it, and its leader adds
//! it (`broker/txn_verification.rs`). Its EndTxn (v5+) makes the coordinator bump the
//! epoch; the response carries the new epoch — or a new producer id at epoch 0 when the
//! epoch would overflow — and the producer adopts it with fresh sequence numbers
//! (Kafka 4.0's `EndTxnHandler`), so every batch of the finished transaction is fenced by
//! its markers. `sendOffsetsToTransaction` sends no AddOffsetsToTxn either: TxnOffsetCommit
//! v5 goes straight to the group coordinator, whose broker adds the group's
//! `__consumer_offsets` partition to the transaction.
//!
//! After an abortable error, the batches not yet sent fail at once with that error
//! (`Sender.maybeAbortBatches`, `RecordAccumulator.abortUndrainedBatches`); batches in
//! flight are waited for before EndTxn(abort). Simplification: a plain
//! `abortTransaction()` without an error waits for its queued batches to be sent and
//! acknowledged (the markers then abort them) — Kafka fails them with the client-side
//! TransactionAbortedException, which has no protocol error code to record here.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::*;
use crate::kafka::types::{
    Generation, LeaderEpoch, Offset, ProducerEpoch, ProducerId, TopicPartition,
};
use crate::sim::{Duration, NodeId, Time};

/// Kafka's `TransactionManager.State`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TxnClientState {
    Uninitialized,
    Initializing,
    Ready,
    InTransaction,
    Committing,
    Aborting,
    /// A transaction must be aborted (a batch failed, an offset commit was refused).
    AbortableError(ErrorCode),
    /// The producer is fenced or broken: it must be closed.
    FatalError(ErrorCode),
}

impl TxnClientState {
    /// Kafka's state name.
    pub fn name(self) -> &'static str {
        match self {
            TxnClientState::Uninitialized => "UNINITIALIZED",
            TxnClientState::Initializing => "INITIALIZING",
            TxnClientState::Ready => "READY",
            TxnClientState::InTransaction => "IN_TRANSACTION",
            TxnClientState::Committing => "COMMITTING_TRANSACTION",
            TxnClientState::Aborting => "ABORTING_TRANSACTION",
            TxnClientState::AbortableError(_) => "ABORTABLE_ERROR",
            TxnClientState::FatalError(_) => "FATAL_ERROR",
        }
    }
}

/// How `commitTransaction()` / `abortTransaction()` returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TxnResult {
    pub committed: bool,
    pub error: ErrorCode,
}

/// Offsets waiting to be committed in the transaction.
#[derive(Clone, Debug)]
struct PendingOffsets {
    group: Arc<str>,
    offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
    generation: Generation,
    member: Arc<str>,
    /// AddOffsetsToTxn done: TxnOffsetCommit next.
    added: bool,
    group_coordinator: Option<NodeId>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Pending {
    FindTxnCoordinator,
    /// The coordinator connection's handshake, which tells the `transaction.version`.
    ApiVersions,
    FindGroupCoordinator,
    InitProducerId,
    AddPartitions,
    AddOffsets,
    TxnOffsetCommit,
    EndTxn,
}

/// The transactional state of one producer.
#[derive(Clone, Debug)]
pub struct TransactionManager {
    pub transactional_id: Arc<str>,
    pub timeout_ms: u64,
    pub state: TxnClientState,
    coordinator: Option<NodeId>,
    /// (correlation id, node, sent at, what).
    in_flight: Option<(CorrelationId, NodeId, Time, Pending)>,
    backoff_until: Time,
    /// Partitions the coordinator has added to the open transaction.
    added: BTreeSet<TopicPartition>,
    /// Partitions with records that still need AddPartitionsToTxn.
    to_add: BTreeSet<TopicPartition>,
    adding: Vec<TopicPartition>,
    offsets: Option<PendingOffsets>,
    /// The open transaction saw an abortable error: take a new epoch after the abort.
    needs_epoch_bump: bool,
    results: Vec<TxnResult>,
    /// The error that made the open transaction abortable (Kafka's `lastError`).
    last_error: Option<ErrorCode>,
    /// The cluster's finalized `transaction.version`, once the handshake told it.
    pub version: Option<TransactionVersion>,
    /// A partition or the offsets joined the open transaction (Kafka's
    /// `transactionStarted`): without that, commit and abort send no EndTxn.
    started: bool,
    /// Epochs obtained so far (a test reads them).
    pub epoch: ProducerEpoch,
    pub producer_id: ProducerId,
}

/// What the producer must do after a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnEffect {
    None,
    /// A new producer id / epoch: reset the idempotence state to it.
    NewProducerId(ProducerId, ProducerEpoch),
    /// The producer became fatal (fenced): a trace event.
    Fenced(ErrorCode),
}

impl TransactionManager {
    pub fn new(transactional_id: Arc<str>, timeout_ms: u64) -> Self {
        TransactionManager {
            transactional_id,
            timeout_ms,
            state: TxnClientState::Uninitialized,
            coordinator: None,
            in_flight: None,
            backoff_until: Time::ZERO,
            added: BTreeSet::new(),
            to_add: BTreeSet::new(),
            adding: Vec::new(),
            offsets: None,
            needs_epoch_bump: false,
            results: Vec::new(),
            version: None,
            started: false,
            last_error: None,
            epoch: ProducerEpoch::NONE,
            producer_id: ProducerId::NONE,
        }
    }

    // ---- the application's calls

    pub fn init(&mut self) -> Result<(), ErrorCode> {
        match self.state {
            TxnClientState::Uninitialized => {
                self.state = TxnClientState::Initializing;
                Ok(())
            }
            TxnClientState::FatalError(e) => Err(e),
            _ => Ok(()),
        }
    }

    pub fn begin(&mut self) -> Result<(), ErrorCode> {
        match self.state {
            TxnClientState::Ready => {
                self.state = TxnClientState::InTransaction;
                Ok(())
            }
            TxnClientState::FatalError(e) => Err(e),
            _ => Err(ErrorCode::InvalidTxnState),
        }
    }

    pub fn commit(&mut self) -> Result<(), ErrorCode> {
        match self.state {
            TxnClientState::InTransaction if self.is_empty() => {
                // Nothing was sent: no request at all (`TransactionManager` skips EndTxn).
                self.state = TxnClientState::Ready;
                let r = TxnResult {
                    committed: true,
                    error: ErrorCode::None,
                };
                self.results.push(r);
                Ok(())
            }
            TxnClientState::InTransaction => {
                self.state = TxnClientState::Committing;
                Ok(())
            }
            TxnClientState::AbortableError(e) | TxnClientState::FatalError(e) => Err(e),
            _ => Err(ErrorCode::InvalidTxnState),
        }
    }

    /// No partition and no offsets joined the transaction yet.
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.to_add.is_empty()
            && self.adding.is_empty()
            && self.offsets.is_none()
    }

    pub fn abort(&mut self) -> Result<(), ErrorCode> {
        match self.state {
            TxnClientState::InTransaction | TxnClientState::AbortableError(_) => {
                self.state = TxnClientState::Aborting;
                self.offsets = None;
                Ok(())
            }
            TxnClientState::FatalError(e) => Err(e),
            _ => Err(ErrorCode::InvalidTxnState),
        }
    }

    pub fn send_offsets(
        &mut self,
        group: Arc<str>,
        offsets: Vec<(TopicPartition, Offset, LeaderEpoch)>,
        generation: Generation,
        member: Arc<str>,
    ) -> Result<(), ErrorCode> {
        if self.state != TxnClientState::InTransaction {
            return Err(ErrorCode::InvalidTxnState);
        }
        // Version 2 sends no AddOffsetsToTxn: the group coordinator adds the partition.
        let v2 = self.is_v2();
        self.started |= v2;
        self.offsets = Some(PendingOffsets {
            group,
            offsets,
            generation,
            member,
            added: v2,
            group_coordinator: None,
        });
        Ok(())
    }

    pub fn take_results(&mut self) -> Vec<TxnResult> {
        std::mem::take(&mut self.results)
    }

    // ---- what the sender asks

    /// The error batches not yet sent fail with when the transaction is being aborted
    /// after an abortable error (`Sender.maybeAbortBatches` with `lastError`); `None`
    /// otherwise.
    pub fn abort_undrained_with(&self) -> Option<ErrorCode> {
        match self.state {
            TxnClientState::AbortableError(e) => Some(e),
            TxnClientState::Aborting => self.last_error,
            _ => None,
        }
    }

    /// Whether the producer speaks transaction version 2 (KIP-890 part 2).
    pub fn is_v2(&self) -> bool {
        self.version.is_some_and(|v| v.supports_epoch_bump())
    }

    /// The transaction version its requests carry.
    pub fn request_version(&self) -> TransactionVersion {
        if self.is_v2() {
            TransactionVersion::TV_2
        } else {
            TransactionVersion::TV_1
        }
    }

    /// A record was appended for `tp`: its partition must be in the transaction (with
    /// version 2 it is at once: its leader adds it, `maybeAddPartition`).
    pub fn on_append(&mut self, tp: &TopicPartition) {
        if self.is_v2() {
            self.added.insert(tp.clone());
            self.started = true;
        } else if !self.added.contains(tp) && !self.adding.contains(tp) {
            self.to_add.insert(tp.clone());
        }
    }

    /// Whether batches of `tp` may be sent (the coordinator added the partition).
    pub fn may_send(&self, tp: &TopicPartition) -> bool {
        self.added.contains(tp)
    }

    /// A batch failed for good: the transaction is doomed (or the producer fenced).
    pub fn on_batch_failed(&mut self, error: ErrorCode) -> TxnEffect {
        if error == ErrorCode::ProducerFenced {
            return self.fatal(error);
        }
        if self.state == TxnClientState::Committing {
            self.results.push(TxnResult {
                committed: true,
                error,
            });
        }
        if matches!(
            self.state,
            TxnClientState::InTransaction | TxnClientState::Committing
        ) {
            self.state = TxnClientState::AbortableError(error);
            self.last_error = Some(error);
        }
        self.needs_epoch_bump = true;
        TxnEffect::None
    }

    fn fatal(&mut self, error: ErrorCode) -> TxnEffect {
        if matches!(self.state, TxnClientState::FatalError(_)) {
            return TxnEffect::None;
        }
        let was_ending = matches!(
            self.state,
            TxnClientState::Committing | TxnClientState::Aborting
        );
        if was_ending {
            let committed = self.state == TxnClientState::Committing;
            self.results.push(TxnResult { committed, error });
        }
        self.state = TxnClientState::FatalError(error);
        TxnEffect::Fenced(error)
    }

    /// The next request to a coordinator, if one is due. `idle` says every record of the
    /// transaction is acknowledged (nothing queued or in flight). `pick` chooses a node for
    /// FindCoordinator.
    pub fn poll(
        &mut self,
        now: Time,
        idle: bool,
        request_timeout: Duration,
        cid: &mut dyn FnMut() -> CorrelationId,
        pick: &mut dyn FnMut() -> Option<NodeId>,
    ) -> Option<(NodeId, Msg)> {
        if let Some((_, node, sent, _)) = self.in_flight {
            if now < sent + request_timeout {
                return None;
            }
            self.lost(node);
        }
        if now < self.backoff_until {
            return None;
        }
        self.maybe_skip_end_txn(idle);
        let next = self.next_request(idle)?;
        let (node, msg) = self.build(next, cid, pick)?;
        let c = crate::kafka::clients::network::request_correlation(&msg).expect("a request");
        self.in_flight = Some((c, node, now, next));
        Some((node, msg))
    }

    /// The connection to `node` is gone: a request on it is retried, the coordinator found
    /// again.
    pub fn lost(&mut self, node: NodeId) {
        if self.in_flight.is_some_and(|f| f.1 == node) {
            let (_, _, _, what) = self.in_flight.take().expect("checked");
            self.undo(what);
        }
        if self.coordinator == Some(node) {
            self.coordinator = None;
        }
        if let Some(o) = self.offsets.as_mut() {
            if o.group_coordinator == Some(node) {
                o.group_coordinator = None;
            }
        }
    }

    /// Kafka's `nextRequest`: "Not sending EndTxn for completed transaction since no
    /// partitions or offsets were successfully added" — the transaction ends locally.
    fn maybe_skip_end_txn(&mut self, idle: bool) {
        let ending = matches!(
            self.state,
            TxnClientState::Committing | TxnClientState::Aborting
        );
        let nothing = !self.started && self.to_add.is_empty() && self.adding.is_empty();
        if ending && idle && nothing && self.offsets.is_none() && self.coordinator.is_some() {
            let committed = self.state == TxnClientState::Committing;
            self.complete_transaction(committed);
        }
    }

    /// `completeTransaction`: back to Ready, or to Initializing for a new epoch.
    fn complete_transaction(&mut self, committed: bool) {
        self.results.push(TxnResult {
            committed,
            error: ErrorCode::None,
        });
        self.added.clear();
        self.to_add.clear();
        self.started = false;
        self.last_error = None;
        self.state = if self.needs_epoch_bump {
            TxnClientState::Initializing
        } else {
            TxnClientState::Ready
        };
    }

    fn undo(&mut self, what: Pending) {
        if what == Pending::AddPartitions {
            self.to_add.extend(self.adding.drain(..));
        }
    }

    fn next_request(&self, idle: bool) -> Option<Pending> {
        use TxnClientState::*;
        match self.state {
            Uninitialized | Ready | FatalError(_) => None,
            Initializing if self.coordinator.is_none() => Some(Pending::FindTxnCoordinator),
            Initializing if self.version.is_none() => Some(Pending::ApiVersions),
            Initializing => Some(Pending::InitProducerId),
            InTransaction | Committing | Aborting | AbortableError(_) => {
                if self.coordinator.is_none() {
                    return Some(Pending::FindTxnCoordinator);
                }
                if !self.to_add.is_empty() && !matches!(self.state, AbortableError(_)) {
                    return Some(Pending::AddPartitions);
                }
                if let Some(o) = self.offsets.as_ref().filter(|_| self.state != Aborting) {
                    return Some(match (o.added, o.group_coordinator) {
                        (false, _) => Pending::AddOffsets,
                        (true, None) => Pending::FindGroupCoordinator,
                        (true, Some(_)) => Pending::TxnOffsetCommit,
                    });
                }
                let ending = matches!(self.state, Committing | Aborting);
                (ending && idle).then_some(Pending::EndTxn)
            }
        }
    }

    fn build(
        &mut self,
        what: Pending,
        cid: &mut dyn FnMut() -> CorrelationId,
        pick: &mut dyn FnMut() -> Option<NodeId>,
    ) -> Option<(NodeId, Msg)> {
        let id = self.transactional_id.clone();
        let (pid, epoch) = (self.producer_id, self.epoch);
        let coordinator = self.coordinator;
        Some(match what {
            Pending::FindTxnCoordinator | Pending::FindGroupCoordinator => {
                let (key, key_type) = match what {
                    Pending::FindTxnCoordinator => (id, CoordinatorType::Transaction),
                    _ => (self.offsets.as_ref()?.group.clone(), CoordinatorType::Group),
                };
                let node = pick()?;
                let r = FindCoordinatorRequest {
                    correlation_id: cid(),
                    key,
                    key_type,
                };
                (node, Msg::FindCoordinatorRequest(r))
            }
            Pending::ApiVersions => {
                let r = ApiVersionsRequest {
                    correlation_id: cid(),
                };
                (coordinator?, Msg::ApiVersionsRequest(r))
            }
            Pending::InitProducerId => {
                let r = InitProducerIdRequest {
                    correlation_id: cid(),
                    transactional_id: Some(id),
                    transaction_timeout_ms: self.timeout_ms,
                };
                (coordinator?, Msg::InitProducerIdRequest(r))
            }
            Pending::AddPartitions => {
                self.adding = std::mem::take(&mut self.to_add).into_iter().collect();
                let r = AddPartitionsToTxnRequest {
                    correlation_id: cid(),
                    transactional_id: id,
                    producer_id: pid,
                    producer_epoch: epoch,
                    partitions: self.adding.clone(),
                    verify_only: false,
                };
                (coordinator?, Msg::AddPartitionsToTxnRequest(r))
            }
            Pending::AddOffsets => {
                let group_id = self.offsets.as_ref()?.group.clone();
                let r = AddOffsetsToTxnRequest {
                    correlation_id: cid(),
                    transactional_id: id,
                    producer_id: pid,
                    producer_epoch: epoch,
                    group_id,
                };
                (coordinator?, Msg::AddOffsetsToTxnRequest(r))
            }
            Pending::TxnOffsetCommit => {
                let o = self.offsets.as_ref()?;
                let r = TxnOffsetCommitRequest {
                    correlation_id: cid(),
                    transactional_id: id,
                    group_id: o.group.clone(),
                    producer_id: pid,
                    producer_epoch: epoch,
                    generation_id: o.generation,
                    member_id: o.member.clone(),
                    offsets: o.offsets.clone(),
                    transaction_version: self.request_version(),
                };
                (o.group_coordinator?, Msg::txn_offset_commit(r))
            }
            Pending::EndTxn => {
                let r = EndTxnRequest {
                    correlation_id: cid(),
                    transactional_id: id,
                    producer_id: pid,
                    producer_epoch: epoch,
                    committed: self.state == TxnClientState::Committing,
                    transaction_version: self.request_version(),
                };
                (coordinator?, Msg::EndTxnRequest(r))
            }
        })
    }

    /// Handles a coordinator's response; `None` if it is not ours.
    pub fn on_response(&mut self, now: Time, backoff: Duration, msg: &Msg) -> Option<TxnEffect> {
        let cid = crate::kafka::clients::network::response_correlation(msg)?;
        let (c, _, _, what) = self.in_flight?;
        if c != cid {
            return None;
        }
        self.in_flight = None;
        let error = response_error(msg);
        if retriable(error) {
            self.undo(what);
            if matches!(
                error,
                ErrorCode::NotCoordinator
                    | ErrorCode::CoordinatorNotAvailable
                    | ErrorCode::CoordinatorLoadInProgress
            ) {
                match what {
                    Pending::TxnOffsetCommit | Pending::FindGroupCoordinator => {
                        if let Some(o) = self.offsets.as_mut() {
                            o.group_coordinator = None;
                        }
                    }
                    _ => self.coordinator = None,
                }
            }
            // Kafka retries an AddPartitionsToTxn that met the previous transaction still
            // completing sooner (`ADD_PARTITIONS_RETRY_BACKOFF_MS`, 20 ms).
            let quick =
                what == Pending::AddPartitions && error == ErrorCode::ConcurrentTransactions;
            self.backoff_until = now
                + if quick {
                    Duration::from_ms(20).min(backoff)
                } else {
                    backoff
                };
            return Some(TxnEffect::None);
        }
        Some(self.on_success_or_error(what, error, msg))
    }

    fn on_success_or_error(&mut self, what: Pending, error: ErrorCode, msg: &Msg) -> TxnEffect {
        if matches!(
            error,
            ErrorCode::ProducerFenced
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::InvalidTxnState
                | ErrorCode::InvalidProducerIdMapping
                | ErrorCode::InvalidTransactionTimeout
        ) {
            return self.fatal(error);
        }
        if !error.is_ok() {
            // Abortable: the application must abort this transaction.
            self.undo(what);
            if what == Pending::TxnOffsetCommit || what == Pending::AddOffsets {
                self.offsets = None;
            }
            if matches!(
                self.state,
                TxnClientState::InTransaction | TxnClientState::Committing
            ) {
                if self.state == TxnClientState::Committing {
                    self.results.push(TxnResult {
                        committed: true,
                        error,
                    });
                }
                self.state = TxnClientState::AbortableError(error);
                self.last_error = Some(error);
                self.needs_epoch_bump = true;
            }
            return TxnEffect::None;
        }
        match (what, msg) {
            (Pending::FindTxnCoordinator, Msg::FindCoordinatorResponse(r)) => {
                self.coordinator = r.coordinator.map(|c| c.1);
            }
            (Pending::FindGroupCoordinator, Msg::FindCoordinatorResponse(r)) => {
                if let Some(o) = self.offsets.as_mut() {
                    o.group_coordinator = r.coordinator.map(|c| c.1);
                }
            }
            (Pending::ApiVersions, Msg::ApiVersionsResponse(r)) => {
                self.version = Some(r.finalized_transaction_version);
            }
            (Pending::InitProducerId, Msg::InitProducerIdResponse(r)) => {
                self.producer_id = r.producer_id;
                self.epoch = r.producer_epoch;
                self.state = TxnClientState::Ready;
                self.needs_epoch_bump = false;
                return TxnEffect::NewProducerId(r.producer_id, r.producer_epoch);
            }
            (Pending::AddPartitions, _) => {
                self.added.extend(self.adding.drain(..));
                self.started = true;
            }
            (Pending::AddOffsets, _) => {
                if let Some(o) = self.offsets.as_mut() {
                    o.added = true;
                }
                self.started = true;
            }
            (Pending::TxnOffsetCommit, _) => self.offsets = None,
            (Pending::EndTxn, Msg::EndTxnResponse(r)) => {
                let committed = self.state == TxnClientState::Committing;
                self.complete_transaction(committed);
                // EndTxn v5+: the bumped epoch (or a new id) for the next transaction.
                if r.producer_id != ProducerId::NONE && self.state == TxnClientState::Ready {
                    self.producer_id = r.producer_id;
                    self.epoch = r.producer_epoch;
                    return TxnEffect::NewProducerId(r.producer_id, r.producer_epoch);
                }
            }
            _ => {}
        }
        TxnEffect::None
    }

    /// Whether the producer is waiting on nothing of the transaction's own (for the
    /// wake-up timer): the deadline of the request in flight or of the back-off.
    pub fn next_deadline(&self, request_timeout: Duration) -> Option<Time> {
        match self.in_flight {
            Some((_, _, sent, _)) => Some(sent + request_timeout),
            None => Some(self.backoff_until),
        }
    }
}

fn response_error(msg: &Msg) -> ErrorCode {
    match msg {
        Msg::FindCoordinatorResponse(r) if r.coordinator.is_none() && r.error.is_ok() => {
            ErrorCode::CoordinatorNotAvailable
        }
        Msg::FindCoordinatorResponse(r) => r.error,
        Msg::InitProducerIdResponse(r) => r.error,
        Msg::ApiVersionsResponse(_) => ErrorCode::None,
        Msg::AddPartitionsToTxnResponse(r) => r.error,
        Msg::AddOffsetsToTxnResponse(r) => r.error,
        Msg::EndTxnResponse(r) => r.error,
        Msg::TxnOffsetCommitResponse(r) => r
            .partitions
            .iter()
            .map(|p| p.1)
            .find(|e| !e.is_ok())
            .unwrap_or(ErrorCode::None),
        _ => ErrorCode::UnknownServerError,
    }
}

/// Errors a transactional request is simply retried after.
fn retriable(e: ErrorCode) -> bool {
    matches!(
        e,
        ErrorCode::NotCoordinator
            | ErrorCode::CoordinatorNotAvailable
            | ErrorCode::CoordinatorLoadInProgress
            | ErrorCode::ConcurrentTransactions
            | ErrorCode::RequestTimedOut
            | ErrorCode::NetworkException
            | ErrorCode::NotEnoughReplicas
            | ErrorCode::NotEnoughReplicasAfterAppend
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_transaction() -> TransactionManager {
        let mut tm = TransactionManager::new(Arc::from("checkout"), 60_000);
        tm.state = TxnClientState::InTransaction;
        tm.coordinator = Some(NodeId(1));
        tm
    }

    #[test]
    fn after_an_abortable_error_unsent_batches_fail_with_it() {
        // Proves `maybeAbortBatches`' trigger: a failed batch makes the transaction
        // abortable and its unsent batches fail with that error, before and after
        // abortTransaction(); a plain abort (no error) fails nothing, and a finished
        // transaction forgets the error.
        let mut tm = in_transaction();
        assert_eq!(tm.abort_undrained_with(), None);
        tm.on_batch_failed(ErrorCode::RequestTimedOut);
        assert_eq!(tm.abort_undrained_with(), Some(ErrorCode::RequestTimedOut));
        tm.abort().unwrap();
        assert_eq!(tm.abort_undrained_with(), Some(ErrorCode::RequestTimedOut));
        tm.complete_transaction(false);
        assert_eq!(tm.abort_undrained_with(), None);
        let mut plain = in_transaction();
        plain.abort().unwrap();
        assert_eq!(plain.abort_undrained_with(), None);
    }

    #[test]
    fn a_transaction_nothing_joined_ends_without_end_txn() {
        // Proves Kafka's "Not sending EndTxn for completed transaction since no partitions
        // or offsets were successfully added": an abort with nothing added ends locally.
        let mut tm = in_transaction();
        tm.abort().unwrap();
        let (mut cid, mut pick) = (|| 7, || Some(NodeId(1)));
        let sent = tm.poll(
            Time::ZERO,
            true,
            Duration::from_ms(30_000),
            &mut cid,
            &mut pick,
        );
        assert!(sent.is_none(), "{sent:?}");
        assert_eq!(tm.state, TxnClientState::Ready);
        let r = tm.take_results();
        assert_eq!(
            r,
            vec![TxnResult {
                committed: false,
                error: ErrorCode::None
            }]
        );
    }
}
