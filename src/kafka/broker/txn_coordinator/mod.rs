//! The transaction coordinator (Kafka's `TransactionCoordinator` and
//! `TransactionStateManager`), as a pure state machine independent of the broker hosting it.
//!
//! Every `transactional.id` belongs to one partition of the internal `__transaction_state`
//! topic, `abs(hashCode(id)) % transaction.state.log.num.partitions`; the leader of that
//! partition is its coordinator. Each state change of a transaction is **written to that
//! partition first** (acks=all, `transaction.state.log.min.isr`) and only then takes effect,
//! so a new leader rebuilds every transaction from the log (`on_become_leader`) and finishes
//! the commits and aborts its predecessor had started.
//!
//! A transaction's life (`TransactionMetadata.scala`):
//!
//! 1. **InitProducerId**: a new id gets a producer id and epoch 0; a known one gets its epoch
//!    bumped, which fences the previous incarnation. If that incarnation left a transaction
//!    open, it is aborted first (PrepareAbort with the bumped epoch) and the caller gets
//!    CONCURRENT_TRANSACTIONS until the abort is complete.
//! 2. **AddPartitionsToTxn** / **AddOffsetsToTxn**: Empty/Complete* → **Ongoing**; the
//!    partitions (and the group's `__consumer_offsets` partition) are persisted.
//! 3. **EndTxn**: Ongoing → **PrepareCommit** / **PrepareAbort** — once written, this is the
//!    commit point: the client is answered, and WriteTxnMarkers go to the leader of every
//!    partition (`markers.rs`). When all are written: **CompleteCommit** / **CompleteAbort**.
//! 4. **Timeout**: every `transaction.abort.timed.out.transaction.cleanup.interval.ms`, a
//!    transaction open longer than its `transaction.timeout.ms` is fenced
//!    (**PrepareEpochFence**: the epoch is bumped) and aborted; the producer, still on the
//!    old epoch, gets PRODUCER_FENCED from here and INVALID_PRODUCER_EPOCH from leaders.
//!
//! A request whose producer epoch is not the current one gets PRODUCER_FENCED; one that
//! arrives while a state write or a commit/abort is in progress gets
//! CONCURRENT_TRANSACTIONS (retriable).
//!
//! **KIP-890 part 2** (an EndTxn v5+, from a client speaking transaction version 2): the
//! epoch is bumped in PrepareCommit/PrepareAbort, so the markers carry the new epoch and
//! fence every late batch of the finished transaction; the response hands the client the
//! new epoch (a new producer id at epoch 0 when the epoch would overflow). A v4 EndTxn works
//! as before. AddPartitionsToTxn *verify-only* (part 1) answers a partition leader whether a
//! partition is in the ongoing transaction (`broker/txn_verification.rs`).
//!
//! Simplifications: no `transactional.id.expiration.ms`. A state record's fields are kept as text in the record
//! key (Kafka's is a binary `TransactionLogValue`).

pub mod host;
pub mod markers;
mod state;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::kafka::broker::group_coordinator::offsets_partition_for;
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::protocol::*;
use crate::kafka::record::Record;
use crate::kafka::types::{ProducerEpoch, ProducerId, TopicPartition, TxnState};
use crate::sim::{Duration, Peer, Time};
pub use state::{decode_state, encode_state};

/// The internal topic the coordinator writes to.
pub const TRANSACTION_STATE: &str = "__transaction_state";

/// Broker-side transaction settings (`TransactionStateManagerConfig`, `TransactionLogConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnCoordinatorConfig {
    pub num_partitions: u32,
    pub max_timeout_ms: u64,
    pub abort_timed_out_interval_ms: u64,
    pub offsets_topic_num_partitions: u32,
}

impl Default for TxnCoordinatorConfig {
    fn default() -> Self {
        TxnCoordinatorConfig {
            num_partitions: 50,
            max_timeout_ms: 900_000,
            abort_timed_out_interval_ms: 10_000,
            offsets_topic_num_partitions: 50,
        }
    }
}

/// The `__transaction_state` partition of `transactional_id` (`partitionFor`).
pub fn txn_partition_for(transactional_id: &str, num_partitions: u32) -> u32 {
    offsets_partition_for(transactional_id, num_partitions)
}

/// One transactional id's state (Kafka's `TransactionMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMeta {
    pub producer_id: ProducerId,
    pub producer_epoch: ProducerEpoch,
    /// The epoch before the last bump of an EndTxn v5+ (`lastProducerEpoch`): a retried
    /// EndTxn still carries it.
    pub last_epoch: ProducerEpoch,
    /// A producer id allocated because the epoch would overflow (`nextProducerId`); it
    /// replaces the current one once the markers are written.
    pub next_producer_id: ProducerId,
    /// The transaction version of the client's last EndTxn (`clientTransactionVersion`).
    pub tv: TransactionVersion,
    pub timeout_ms: u64,
    pub state: TxnState,
    pub partitions: BTreeSet<TopicPartition>,
    /// When the open transaction started (the timeout counts from it).
    pub start: Time,
}

/// What a state write in flight will do once it is replicated (Kafka's `pendingState`).
#[derive(Clone, Debug)]
struct PendingWrite {
    transactional_id: Arc<str>,
    new: TxnMeta,
    /// The client waiting for this write, and what it is answered on success.
    reply: Option<(Peer, Msg)>,
}

/// Identifies a state write waiting for its append to `__transaction_state`.
pub type WriteId = u64;

/// What the hosting broker must do.
#[derive(Clone, Debug)]
pub enum TxnAction {
    Respond {
        to: Peer,
        msg: Msg,
    },
    /// Append `record` to `__transaction_state-{partition}` (acks=all), then call
    /// `on_append_complete(write, error)`.
    Append {
        partition: u32,
        record: Record,
        write: WriteId,
    },
    /// Write COMMIT (or ABORT) markers for the producer to these partitions, then call
    /// `on_markers_written(transactional_id)`.
    WriteMarkers {
        transactional_id: Arc<str>,
        producer_id: ProducerId,
        producer_epoch: ProducerEpoch,
        committed: bool,
        partitions: Vec<TopicPartition>,
    },
    SetTimer {
        after: Duration,
    },
    Emit(KafkaEvent),
}

type Actions = Vec<TxnAction>;

/// Every transactional id whose `__transaction_state` partition this broker leads.
#[derive(Clone, Debug, Default)]
pub struct TxnCoordinator {
    pub config: TxnCoordinatorConfig,
    owned: BTreeSet<u32>,
    txns: BTreeMap<Arc<str>, TxnMeta>,
    /// Ids with a state write in flight (at most one each).
    pending: BTreeMap<WriteId, PendingWrite>,
    writing: BTreeSet<Arc<str>>,
    next_write: WriteId,
    /// The cleanup timer is armed.
    timer_armed: bool,
}

impl TxnCoordinator {
    pub fn new(config: TxnCoordinatorConfig) -> Self {
        TxnCoordinator {
            config,
            ..Default::default()
        }
    }

    /// The transactions this coordinator hosts (for the workbench and tests).
    pub fn transactions(&self) -> impl Iterator<Item = (&str, &TxnMeta)> {
        self.txns.iter().map(|(k, v)| (&**k, v))
    }

    /// Whether `id` has state here (an InitProducerId for it needs no new producer id).
    pub fn knows(&self, id: &str) -> bool {
        self.txns.contains_key(id)
    }

    fn hosts(&self, id: &str) -> bool {
        self.owned
            .contains(&txn_partition_for(id, self.config.num_partitions))
    }

    /// Checks a request naming (id, pid, epoch) against the stored state (Kafka's
    /// `TransactionCoordinator` preconditions, in its order).
    fn check(
        &self,
        id: &str,
        pid: ProducerId,
        epoch: ProducerEpoch,
    ) -> Result<&TxnMeta, ErrorCode> {
        if !self.hosts(id) {
            return Err(ErrorCode::NotCoordinator);
        }
        let m = self
            .txns
            .get(id)
            .ok_or(ErrorCode::InvalidProducerIdMapping)?;
        if m.producer_id != pid {
            return Err(ErrorCode::InvalidProducerIdMapping);
        }
        if epoch != m.producer_epoch {
            return Err(ErrorCode::ProducerFenced);
        }
        if self.writing.contains(id) {
            return Err(ErrorCode::ConcurrentTransactions);
        }
        Ok(m)
    }

    /// Starts a state write: `new` takes effect once the append succeeds.
    fn write(&mut self, id: Arc<str>, new: TxnMeta, reply: Option<(Peer, Msg)>) -> TxnAction {
        self.next_write += 1;
        let write = self.next_write;
        let record = encode_state(&id, &new);
        self.writing.insert(id.clone());
        self.pending.insert(
            write,
            PendingWrite {
                transactional_id: id.clone(),
                new,
                reply,
            },
        );
        TxnAction::Append {
            partition: txn_partition_for(&id, self.config.num_partitions),
            record,
            write,
        }
    }

    /// Any transactional request; `None` if `msg` is not one.
    pub fn on_request(
        &mut self,
        now: Time,
        from: Peer,
        msg: Msg,
        new_pid: &mut dyn FnMut() -> ProducerId,
    ) -> Option<Actions> {
        let mut out = match msg {
            Msg::InitProducerIdRequest(r) => self.on_init_producer_id(now, from, r, new_pid),
            Msg::AddPartitionsToTxnRequest(r) if r.verify_only => {
                self.on_verify_partitions(from, r)
            }
            Msg::AddPartitionsToTxnRequest(r) => {
                let (id, pid, epoch, cid) = (
                    r.transactional_id,
                    r.producer_id,
                    r.producer_epoch,
                    r.correlation_id,
                );
                self.on_add_partitions(now, from, id, pid, epoch, r.partitions, cid, false)
            }
            Msg::AddOffsetsToTxnRequest(r) => {
                let p =
                    offsets_partition_for(&r.group_id, self.config.offsets_topic_num_partitions);
                let tp = TopicPartition::new(crate::kafka::controller::CONSUMER_OFFSETS, p);
                let (id, pid, epoch, cid) = (
                    r.transactional_id,
                    r.producer_id,
                    r.producer_epoch,
                    r.correlation_id,
                );
                self.on_add_partitions(now, from, id, pid, epoch, vec![tp], cid, true)
            }
            Msg::EndTxnRequest(r) => self.on_end_txn(from, r, new_pid),
            _ => return None,
        };
        out.extend(self.arm_timer());
        Some(out)
    }

    fn arm_timer(&mut self) -> Option<TxnAction> {
        if self.timer_armed || self.owned.is_empty() {
            return None;
        }
        self.timer_armed = true;
        Some(TxnAction::SetTimer {
            after: Duration::from_ms(self.config.abort_timed_out_interval_ms),
        })
    }

    fn on_init_producer_id(
        &mut self,
        now: Time,
        from: Peer,
        r: InitProducerIdRequest,
        new_pid: &mut dyn FnMut() -> ProducerId,
    ) -> Actions {
        let id: Arc<str> = r.transactional_id.clone().expect("transactional");
        let reply = |error, pid, epoch| {
            Msg::InitProducerIdResponse(InitProducerIdResponse {
                correlation_id: r.correlation_id,
                error,
                producer_id: pid,
                producer_epoch: epoch,
            })
        };
        let fail = |e| {
            vec![TxnAction::Respond {
                to: from,
                msg: reply(e, ProducerId::NONE, ProducerEpoch::NONE),
            }]
        };
        if !self.hosts(&id) {
            return fail(ErrorCode::NotCoordinator);
        }
        if r.transaction_timeout_ms > self.config.max_timeout_ms {
            return fail(ErrorCode::InvalidTransactionTimeout);
        }
        if self.writing.contains(&id) {
            return fail(ErrorCode::ConcurrentTransactions);
        }
        let Some(m) = self.txns.get(&id).cloned() else {
            let new = TxnMeta {
                producer_id: new_pid(),
                producer_epoch: ProducerEpoch(0),
                last_epoch: ProducerEpoch::NONE,
                next_producer_id: ProducerId::NONE,
                tv: TransactionVersion::default(),
                timeout_ms: r.transaction_timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                start: now,
            };
            let msg = reply(ErrorCode::None, new.producer_id, new.producer_epoch);
            return vec![self.write(id, new, Some((from, msg)))];
        };
        match m.state {
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence => {
                fail(ErrorCode::ConcurrentTransactions)
            }
            TxnState::Ongoing => {
                // The previous incarnation's transaction is aborted under a bumped epoch
                // (`prepareFenceProducerEpoch`); the new one retries until it is complete.
                let mut out = fail(ErrorCode::ConcurrentTransactions);
                out.extend(self.fence_and_abort(&id, &m));
                out
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let new = TxnMeta {
                    producer_epoch: ProducerEpoch(m.producer_epoch.0 + 1),
                    last_epoch: m.producer_epoch,
                    timeout_ms: r.transaction_timeout_ms,
                    state: TxnState::Empty,
                    partitions: BTreeSet::new(),
                    start: now,
                    ..m
                };
                let msg = reply(ErrorCode::None, new.producer_id, new.producer_epoch);
                vec![self.write(id, new, Some((from, msg)))]
            }
        }
    }

    /// PrepareEpochFence → PrepareAbort with epoch + 1: a timed-out transaction, or one a
    /// new incarnation finds open.
    fn fence_and_abort(&mut self, id: &Arc<str>, m: &TxnMeta) -> Actions {
        let bumped = ProducerEpoch(m.producer_epoch.0 + 1);
        let mut out = vec![TxnAction::Emit(transition(
            id,
            m,
            TxnState::PrepareEpochFence,
            bumped,
        ))];
        let new = TxnMeta {
            producer_epoch: bumped,
            last_epoch: ProducerEpoch::NONE,
            state: TxnState::PrepareAbort,
            ..m.clone()
        };
        out.push(self.write(id.clone(), new, None));
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn on_add_partitions(
        &mut self,
        now: Time,
        from: Peer,
        id: Arc<str>,
        pid: ProducerId,
        epoch: ProducerEpoch,
        partitions: Vec<TopicPartition>,
        correlation_id: CorrelationId,
        offsets: bool,
    ) -> Actions {
        let reply = |error| {
            if offsets {
                Msg::AddOffsetsToTxnResponse(AddOffsetsToTxnResponse {
                    correlation_id,
                    error,
                })
            } else {
                Msg::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
                    correlation_id,
                    error,
                    partition_errors: Vec::new(),
                })
            }
        };
        let m = match self.check(&id, pid, epoch) {
            Ok(m) => m.clone(),
            Err(e) => {
                return vec![TxnAction::Respond {
                    to: from,
                    msg: reply(e),
                }]
            }
        };
        if matches!(
            m.state,
            TxnState::PrepareCommit | TxnState::PrepareAbort | TxnState::PrepareEpochFence
        ) {
            return vec![TxnAction::Respond {
                to: from,
                msg: reply(ErrorCode::ConcurrentTransactions),
            }];
        }
        let open = m.state == TxnState::Ongoing;
        if open && partitions.iter().all(|tp| m.partitions.contains(tp)) {
            return vec![TxnAction::Respond {
                to: from,
                msg: reply(ErrorCode::None),
            }];
        }
        let mut new = m.clone();
        if !open {
            new.partitions.clear();
            new.start = now;
        }
        new.state = TxnState::Ongoing;
        new.partitions.extend(partitions);
        vec![self.write(id, new, Some((from, reply(ErrorCode::None))))]
    }

    /// Whether an EndTxn needs a fresh producer id: a v5+ EndTxn whose epoch bump would
    /// overflow (`isProducerEpochExhausted`). The host allocates it before the call.
    pub fn end_txn_needs_pid(&self, r: &EndTxnRequest) -> bool {
        r.transaction_version.supports_epoch_bump()
            && self
                .txns
                .get(&r.transactional_id)
                .is_some_and(|m| m.state == TxnState::Ongoing && m.producer_epoch.0 >= i16::MAX - 1)
    }

    /// Kafka's `endTransaction`, both protocols. With transaction version 2 (EndTxn v5+)
    /// the epoch is bumped in PrepareCommit/PrepareAbort, so the markers carry the new
    /// epoch and fence every batch of the old one; a retried EndTxn is recognised by
    /// carrying the epoch just before the bump.
    fn on_end_txn(
        &mut self,
        from: Peer,
        r: EndTxnRequest,
        new_pid: &mut dyn FnMut() -> ProducerId,
    ) -> Actions {
        let reply = |error, pid, epoch| {
            Msg::EndTxnResponse(EndTxnResponse {
                correlation_id: r.correlation_id,
                error,
                producer_id: pid,
                producer_epoch: epoch,
            })
        };
        let respond = |e| {
            vec![TxnAction::Respond {
                to: from,
                msg: reply(e, ProducerId::NONE, ProducerEpoch::NONE),
            }]
        };
        if !self.hosts(&r.transactional_id) {
            return respond(ErrorCode::NotCoordinator);
        }
        let Some(m) = self.txns.get(&r.transactional_id).cloned() else {
            return respond(ErrorCode::InvalidProducerIdMapping);
        };
        if let Err(e) = end_txn_epoch_check(&m, r.producer_id, r.producer_epoch) {
            return respond(e);
        }
        if self.writing.contains(&r.transactional_id) {
            return respond(ErrorCode::ConcurrentTransactions);
        }
        let target = if r.committed {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        let tv = r.transaction_version;
        match (m.state, r.committed) {
            (TxnState::Ongoing, _) => {
                let new = prepare_abort_or_commit(&m, target, tv, &mut *new_pid);
                // The client learns the epoch (and id) its next transaction uses.
                let (pid, epoch) = if !tv.supports_epoch_bump() {
                    (ProducerId::NONE, ProducerEpoch::NONE)
                } else if new.next_producer_id != ProducerId::NONE {
                    (new.next_producer_id, ProducerEpoch(0))
                } else {
                    (new.producer_id, new.producer_epoch)
                };
                let ok = reply(ErrorCode::None, pid, epoch);
                vec![self.write(r.transactional_id.clone(), new, Some((from, ok)))]
            }
            // A retry of an EndTxn that already went through: answered with the current
            // producer id and epoch.
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => {
                let (pid, epoch) = if tv.supports_epoch_bump() {
                    (m.producer_id, m.producer_epoch)
                } else {
                    (ProducerId::NONE, ProducerEpoch::NONE)
                };
                vec![TxnAction::Respond {
                    to: from,
                    msg: reply(ErrorCode::None, pid, epoch),
                }]
            }
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                respond(ErrorCode::ConcurrentTransactions)
            }
            _ => respond(ErrorCode::InvalidTxnState),
        }
    }

    /// AddPartitionsToTxn v4+ with `verifyOnly` from a partition leader (KIP-890 part 1,
    /// `handleVerifyPartitionsInTransaction`): each partition is NONE if it is in the
    /// ongoing transaction of this producer id and epoch, TRANSACTION_ABORTABLE if not.
    fn on_verify_partitions(&mut self, from: Peer, r: AddPartitionsToTxnRequest) -> Actions {
        let all = |e: ErrorCode| r.partitions.iter().map(|tp| (tp.clone(), e)).collect();
        let partition_errors = match self.txns.get(&r.transactional_id) {
            _ if !self.hosts(&r.transactional_id) => all(ErrorCode::NotCoordinator),
            None => all(ErrorCode::InvalidProducerIdMapping),
            Some(m) if m.producer_id != r.producer_id => all(ErrorCode::InvalidProducerIdMapping),
            Some(m) if m.producer_epoch != r.producer_epoch => all(ErrorCode::ProducerFenced),
            Some(m) if matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort) => {
                all(ErrorCode::ConcurrentTransactions)
            }
            Some(m) => r
                .partitions
                .iter()
                .map(|tp| {
                    let ok = m.state == TxnState::Ongoing && m.partitions.contains(tp);
                    let e = if ok {
                        ErrorCode::None
                    } else {
                        ErrorCode::TransactionAbortable
                    };
                    (tp.clone(), e)
                })
                .collect(),
        };
        vec![TxnAction::Respond {
            to: from,
            msg: Msg::AddPartitionsToTxnResponse(AddPartitionsToTxnResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::None,
                partition_errors,
            }),
        }]
    }

    /// The append of state write `write` finished.
    pub fn on_append_complete(&mut self, write: WriteId, error: ErrorCode) -> Actions {
        let Some(p) = self.pending.remove(&write) else {
            return Vec::new();
        };
        self.writing.remove(&p.transactional_id);
        let mut out = Actions::new();
        if !error.is_ok() {
            // Kafka maps append failures to coordinator errors the client retries.
            let e = match error {
                ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
                _ => ErrorCode::CoordinatorNotAvailable,
            };
            if let Some((to, msg)) = p.reply {
                out.push(TxnAction::Respond {
                    to,
                    msg: with_error(msg, e),
                });
            }
            return out; // an internal transition is retried by the cleanup timer
        }
        if !self.hosts(&p.transactional_id) {
            return out;
        }
        let id = p.transactional_id.clone();
        let old = self.txns.get(&id).cloned();
        out.push(TxnAction::Emit(transition_from(&id, old.as_ref(), &p.new)));
        self.txns.insert(id.clone(), p.new.clone());
        if let Some((to, msg)) = p.reply {
            out.push(TxnAction::Respond { to, msg });
        }
        out.extend(self.markers_for(&id, &p.new));
        out
    }

    /// The markers a transaction in PrepareCommit/PrepareAbort still needs.
    fn markers_for(&self, id: &Arc<str>, m: &TxnMeta) -> Option<TxnAction> {
        let committed = match m.state {
            TxnState::PrepareCommit => true,
            TxnState::PrepareAbort => false,
            _ => return None,
        };
        Some(TxnAction::WriteMarkers {
            transactional_id: id.clone(),
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            committed,
            partitions: m.partitions.iter().cloned().collect(),
        })
    }

    /// Every marker of the transaction is written: CompleteCommit / CompleteAbort.
    pub fn on_markers_written(&mut self, id: &str) -> Actions {
        let Some((id, m)) = self
            .txns
            .get_key_value(id)
            .map(|(k, v)| (k.clone(), v.clone()))
        else {
            return Vec::new();
        };
        let state = match m.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return Vec::new(),
        };
        if self.writing.contains(&id) {
            return Vec::new();
        }
        vec![self.write(id, prepare_complete(&m, state), None)]
    }

    /// The cleanup tick: abort transactions open longer than their timeout (Kafka's
    /// `abortTimedOutTransactions`), and retry completing ones whose write failed.
    pub fn on_timer(&mut self, now: Time) -> (Actions, Vec<Arc<str>>) {
        self.timer_armed = false;
        let mut out = Actions::new();
        let mut retry_markers = Vec::new();
        let ids: Vec<(Arc<str>, TxnMeta)> = self
            .txns
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (id, m) in ids {
            if self.writing.contains(&id) {
                continue;
            }
            match m.state {
                TxnState::Ongoing if now >= m.start + Duration::from_ms(m.timeout_ms) => {
                    out.push(TxnAction::Emit(KafkaEvent::TxnTimedOut {
                        transactional_id: id.to_string(),
                        producer_id: m.producer_id,
                        producer_epoch: m.producer_epoch,
                    }));
                    out.extend(self.fence_and_abort(&id, &m));
                }
                TxnState::PrepareCommit | TxnState::PrepareAbort => retry_markers.push(id),
                _ => {}
            }
        }
        out.extend(self.arm_timer());
        (out, retry_markers)
    }

    /// The markers to resend for `id` (a retry after a failure or a coordinator move).
    pub fn pending_markers(&self, id: &str) -> Option<TxnAction> {
        let (k, m) = self.txns.get_key_value(id)?;
        self.markers_for(k, m)
    }

    /// This broker became leader of `__transaction_state-{partition}`: the transactions are
    /// read back from its records (the last record of each id wins) and the commits and
    /// aborts in progress are finished.
    pub fn on_become_leader(&mut self, partition: u32, records: &[Record]) -> Actions {
        self.owned.insert(partition);
        let mut loaded = BTreeMap::new();
        for r in records {
            if let Some((id, m)) = decode_state(r) {
                loaded.insert(id, m);
            }
        }
        let mut out = Actions::new();
        let completing = loaded
            .values()
            .filter(|m| matches!(m.state, TxnState::PrepareCommit | TxnState::PrepareAbort))
            .count() as u32;
        out.push(TxnAction::Emit(KafkaEvent::TxnStateLoaded {
            partition,
            transactions: loaded.len() as u32,
            completing,
        }));
        for (id, m) in loaded {
            let id: Arc<str> = Arc::from(id.as_str());
            out.extend(self.markers_for(&id, &m));
            self.txns.insert(id, m);
        }
        out.extend(self.arm_timer());
        out
    }

    /// This broker lost leadership of `__transaction_state-{partition}`.
    pub fn on_resign(&mut self, partition: u32) -> Vec<Arc<str>> {
        self.owned.remove(&partition);
        let n = self.config.num_partitions;
        let gone: Vec<Arc<str>> = self
            .txns
            .keys()
            .filter(|id| txn_partition_for(id, n) == partition)
            .cloned()
            .collect();
        for id in &gone {
            self.txns.remove(id);
        }
        gone
    }
}

/// Kafka's `isValidEpoch` of `endTransaction` for a client request. Version 1: the epoch
/// must be the current one. Version 2 (the stored `clientTransactionVersion`): in
/// PrepareX/CompleteX a retry carries the epoch just before the bump (or, after an
/// overflow, the old producer id at `i16::MAX - 1`); anything else is fenced.
fn end_txn_epoch_check(
    m: &TxnMeta,
    pid: ProducerId,
    epoch: ProducerEpoch,
) -> Result<(), ErrorCode> {
    let v2 = m.tv.supports_epoch_bump();
    let retry_on_bump = v2 && m.producer_epoch.0 == epoch.0.wrapping_add(1);
    let retry_on_overflow = v2 && m.producer_epoch.0 == 0 && epoch.0 == i16::MAX - 1;
    let valid = match m.state {
        TxnState::PrepareCommit | TxnState::PrepareAbort if v2 => retry_on_bump,
        TxnState::CompleteCommit | TxnState::CompleteAbort if v2 => {
            retry_on_bump || retry_on_overflow
        }
        _ => epoch == m.producer_epoch,
    };
    if m.producer_id != pid && !retry_on_overflow {
        return Err(ErrorCode::InvalidProducerIdMapping);
    }
    if !valid {
        return Err(ErrorCode::ProducerFenced);
    }
    Ok(())
}

/// `TransactionMetadata.prepareAbortOrCommit`: with an epoch-bumping client the epoch
/// goes up by one (the old one kept as `last_epoch`), and a new producer id is set aside
/// when it would overflow.
fn prepare_abort_or_commit(
    m: &TxnMeta,
    target: TxnState,
    tv: TransactionVersion,
    new_pid: &mut dyn FnMut() -> ProducerId,
) -> TxnMeta {
    let mut new = TxnMeta {
        state: target,
        tv,
        ..m.clone()
    };
    if tv.supports_epoch_bump() {
        if m.producer_epoch.0 >= i16::MAX - 1 {
            new.next_producer_id = new_pid();
        }
        new.last_epoch = m.producer_epoch;
        new.producer_epoch = ProducerEpoch(m.producer_epoch.0 + 1);
    }
    new
}

/// `TransactionMetadata.prepareComplete`: the partitions leave; after an overflow the
/// producer id set aside becomes the current one, at epoch 0.
fn prepare_complete(m: &TxnMeta, state: TxnState) -> TxnMeta {
    let mut new = TxnMeta {
        state,
        partitions: BTreeSet::new(),
        last_epoch: m.producer_epoch,
        next_producer_id: ProducerId::NONE,
        ..m.clone()
    };
    if m.tv.supports_epoch_bump() && m.next_producer_id != ProducerId::NONE {
        new.producer_id = m.next_producer_id;
        new.producer_epoch = ProducerEpoch(0);
    }
    new
}

fn transition(id: &str, m: &TxnMeta, to: TxnState, epoch: ProducerEpoch) -> KafkaEvent {
    KafkaEvent::TxnTransition {
        transactional_id: id.to_string(),
        producer_id: m.producer_id,
        producer_epoch: epoch,
        from: m.state,
        to,
        partitions: m.partitions.len() as u32,
    }
}

fn transition_from(id: &str, old: Option<&TxnMeta>, new: &TxnMeta) -> KafkaEvent {
    KafkaEvent::TxnTransition {
        transactional_id: id.to_string(),
        producer_id: new.producer_id,
        producer_epoch: new.producer_epoch,
        from: old.map_or(TxnState::Empty, |o| o.state),
        to: new.state,
        partitions: new.partitions.len() as u32,
    }
}

/// The same response with `error` instead of success.
fn with_error(msg: Msg, error: ErrorCode) -> Msg {
    match msg {
        Msg::InitProducerIdResponse(mut r) => {
            r.error = error;
            r.producer_id = ProducerId::NONE;
            r.producer_epoch = ProducerEpoch::NONE;
            Msg::InitProducerIdResponse(r)
        }
        Msg::AddPartitionsToTxnResponse(mut r) => {
            r.error = error;
            Msg::AddPartitionsToTxnResponse(r)
        }
        Msg::AddOffsetsToTxnResponse(mut r) => {
            r.error = error;
            Msg::AddOffsetsToTxnResponse(r)
        }
        Msg::EndTxnResponse(mut r) => {
            r.error = error;
            r.producer_id = ProducerId::NONE;
            r.producer_epoch = ProducerEpoch::NONE;
            Msg::EndTxnResponse(r)
        }
        other => other,
    }
}
