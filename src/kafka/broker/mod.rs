//! A Kafka broker: it hosts partition replicas, leads some of them and follows the others.
//!
//! Life cycle: on start it recovers every partition log found on its disk (with the
//! checkpointed, possibly stale, high watermarks), registers with the controller, heartbeats,
//! and applies the metadata records the controller pushes. Each partition record that names
//! this broker makes it the **leader** (it adds its new epoch to the epoch cache and serves
//! produce and fetch requests) or a **follower** (it fetches from the leader, see
//! `replication/`).
//!
//! As leader it answers Produce with `acks` 0, 1 or all. With acks=all it first checks the
//! ISR against `min.insync.replicas` (NOT_ENOUGH_REPLICAS, nothing written), appends, and
//! parks the request in the *produce purgatory* until the high watermark covers the batch
//! (or REQUEST_TIMED_OUT after the request's timeout). Fetch requests that find too little
//! data wait in the *fetch purgatory* (long poll). Both purgatories share one timer.
//!
//! The files of this folder follow one record: `produce.rs` (the leader appends) →
//! `log.rs` and `partition.rs` (the log, its LEO and high watermark) → `replication/`
//! (followers fetch; the HW moves; the ISR shrinks and expands) → `purgatory.rs` (the
//! produce is answered) → `fetch.rs` (consumers read below the HW). `metadata.rs` applies
//! the controller's records (become leader or follower); `group_coordinator/` hosts the
//! consumer groups whose leader partition of `__consumer_offsets` lives here.

use std::collections::BTreeMap;

pub mod cleaner;
pub mod fetch;
pub mod fetch_session;
pub mod group_coordinator;
pub mod isolation;
pub mod log;
pub mod metadata;
pub mod partition;
pub mod produce;
pub mod purgatory;
pub mod replication;
pub mod retention;
pub mod segment;
pub mod txn_coordinator;
pub mod txn_index;
pub mod txn_markers;
pub mod txn_verification;

use crate::kafka::config::{BrokerConfig, EffectiveTopicConfig};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::metadata::MetadataImage;
use crate::kafka::partition_map::PartitionMap;
use crate::kafka::protocol::*;
use crate::kafka::types::NO_BROKER_EPOCH;
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Peer, VecMap, Wakeup};
use fetch_session::FetchSessionCache;
use group_coordinator::{CommitId, GroupCoordinator, GroupTimer};
use log::{HwCheckpoint, PartitionLog, HW_CHECKPOINT_FILE};
use partition::Partition;
use purgatory::{DelayedFetch, DelayedProduce};
use replication::follower::ReplicaFetcher;

/// The broker's context: Kafka messages, broker timers, Kafka events.
pub type BrokerCx<'a> = dyn Context<Msg = Msg, Timer = BrokerTimer, Event = KafkaEvent> + 'a;

const PRODUCER_ID_FILE: &str = "producer-id-block";

#[derive(Clone, Debug)]
pub enum BrokerTimer {
    /// Send a heartbeat (or retry registration).
    Heartbeat,
    /// Write the high watermarks to `replication-offset-checkpoint`.
    HwCheckpoint,
    /// Look for followers that fell out of sync (every `replica.lag.time.max.ms` / 2).
    IsrExpiration,
    /// Apply `flush.ms` / `log.flush.interval.ms`.
    FlushCheck,
    /// Delete the segments retention no longer keeps (`log.retention.check.interval.ms`).
    RetentionCheck,
    /// Forget idle idempotent producers (`producer.id.expiration.check.interval.ms`).
    ProducerExpiration,
    /// Expire delayed produce and fetch requests.
    Purgatory,
    /// A fetch to `leader` got no response in time.
    FetchTimeout {
        leader: BrokerId,
        correlation_id: u32,
    },
    /// Back-off after a failed fetch is over.
    FetchBackoff { leader: BrokerId },
    /// Back-off after a refused registration is over (Kafka's `BrokerLifecycleManager`).
    RegistrationRetry,
    /// A timer of the hosted group coordinator (see `group_coordinator/host.rs`).
    Group(GroupTimer),
    /// The transaction coordinator's cleanup tick
    /// (`transaction.abort.timed.out.transaction.cleanup.interval.ms`).
    TxnCleanup,
    /// Resend transaction markers that failed or got no leader.
    TxnMarkerRetry,
    /// A transactional Produce's verification got no answer from the coordinator in time
    /// (`txn_verification.rs`).
    TxnVerification { correlation_id: CorrelationId },
    /// Run the log cleaner over the compacted logs (`log.cleaner.backoff.ms`).
    CleanerBackoff,
}

/// A handle on an internal append, checked when the high watermark moves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppendToken(pub u64);

/// A leadership change, for components hosted on the broker (group coordinator).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadershipChange {
    Became {
        tp: TopicPartition,
        leader_epoch: LeaderEpoch,
    },
    Resigned {
        tp: TopicPartition,
    },
}

/// Where a log read stops.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadLimit {
    HighWatermark,
    LogEnd,
}

/// A broker node. Built with [`Broker::new`]; everything but the configuration is rebuilt
/// from disk and from the controller after a crash.
#[derive(Clone, Debug)]
pub struct Broker {
    pub id: BrokerId,
    pub controller: NodeId,
    pub config: BrokerConfig,
    pub broker_epoch: i64,
    incarnation: u64,
    /// Registrations refused in a row (DUPLICATE_BROKER_REGISTRATION), for the backoff.
    registration_failures: u32,
    /// A `RegistrationRetry` timer is armed: the heartbeat tick does not register meanwhile.
    registration_retry_armed: bool,
    /// The log cleaner's timer runs: armed when the broker first hosts a compacted topic's
    /// partition (a cluster without one runs no cleaner passes; nothing would change).
    pub(super) cleaner_armed: bool,
    pub metadata: MetadataImage,
    pub partitions: PartitionMap<Partition>,
    pub(crate) fetchers: VecMap<BrokerId, ReplicaFetcher>,
    delayed_produces: Vec<DelayedProduce>,
    delayed_fetches: Vec<DelayedFetch>,
    /// Incremental fetch sessions (KIP-227, `fetch_session.rs`).
    pub(crate) fetch_sessions: FetchSessionCache,
    purgatory_timer: Wakeup,
    pub(crate) next_correlation: u32,
    next_token: u64,
    completed_appends: Vec<(AppendToken, Result<Offset, ErrorCode>)>,
    leadership_changes: Vec<LeadershipChange>,
    producer_id_counter: u64,
    /// The group coordinator this broker hosts (see `group_coordinator/host.rs`).
    pub groups: GroupCoordinator,
    /// Offset commits waiting for their append to `__consumer_offsets`.
    pub(crate) group_appends: BTreeMap<AppendToken, CommitId>,
    /// The transaction coordinator this broker hosts (see `txn_coordinator/host.rs`).
    pub txns: txn_coordinator::TxnCoordinator,
    pub(crate) txn: txn_coordinator::host::TxnHostState,
    /// Transactional Produce requests held while the coordinator is asked (KIP-890).
    pub(crate) txn_verifications: txn_verification::TxnVerifications,
}

impl Broker {
    pub fn new(id: BrokerId, controller: NodeId, config: BrokerConfig) -> Self {
        Broker {
            id,
            controller,
            broker_epoch: NO_BROKER_EPOCH,
            incarnation: 0,
            registration_failures: 0,
            registration_retry_armed: false,
            cleaner_armed: false,
            metadata: MetadataImage::default(),
            partitions: PartitionMap::new(),
            fetchers: VecMap::new(),
            delayed_produces: Vec::new(),
            delayed_fetches: Vec::new(),
            fetch_sessions: FetchSessionCache::default(),
            purgatory_timer: Wakeup::default(),
            next_correlation: 0,
            next_token: 0,
            completed_appends: Vec::new(),
            leadership_changes: Vec::new(),
            producer_id_counter: 0,
            groups: group_coordinator::host::coordinator_for(&config),
            group_appends: BTreeMap::new(),
            txns: txn_coordinator::host::coordinator_for(&config),
            txn: Default::default(),
            txn_verifications: Default::default(),
            config,
        }
    }

    pub(crate) fn correlation(&mut self) -> CorrelationId {
        self.next_correlation = self.next_correlation.wrapping_add(1);
        self.next_correlation
    }

    // ------------------------------------------------------------ start and recovery

    pub fn on_start(&mut self, cx: &mut BrokerCx<'_>) {
        self.incarnation = rand::Rng::gen(cx.rng());
        self.fetch_sessions.start_ids_at(self.incarnation);
        self.recover_logs(cx);
        self.producer_id_counter = cx
            .disk()
            .last::<u64>(PRODUCER_ID_FILE)
            .copied()
            .unwrap_or(0);
        self.send_registration(cx);
        cx.set_timer(
            Duration::from_ms(self.config.broker_heartbeat_interval_ms),
            BrokerTimer::Heartbeat,
        );
        let hw_every = Duration::from_ms(self.config.replica_high_watermark_checkpoint_interval_ms);
        cx.set_timer(hw_every, BrokerTimer::HwCheckpoint);
        cx.set_timer(self.isr_check_interval(), BrokerTimer::IsrExpiration);
        cx.set_timer(Duration::from_ms(1_000), BrokerTimer::FlushCheck);
        cx.set_timer(self.retention_check_interval(), BrokerTimer::RetentionCheck);
        cx.set_timer(
            self.producer_expiration_interval(),
            BrokerTimer::ProducerExpiration,
        );
    }

    fn producer_expiration_interval(&self) -> Duration {
        Duration::from_ms(self.config.producer_id_expiration_check_interval_ms)
    }

    fn retention_check_interval(&self) -> Duration {
        Duration::from_ms(self.config.log_retention_check_interval_ms)
    }

    pub(super) fn cleaner_backoff(&self) -> Duration {
        Duration::from_ms(self.config.log_cleaner_backoff_ms)
    }

    fn isr_check_interval(&self) -> Duration {
        Duration::from_ms((self.config.replica_lag_time_max_ms / 2).max(1))
    }

    /// Rebuilds every partition log on disk. Roles come later, from the controller.
    fn recover_logs(&mut self, cx: &mut BrokerCx<'_>) {
        let hws = cx
            .disk()
            .last::<HwCheckpoint>(HW_CHECKPOINT_FILE)
            .cloned()
            .unwrap_or_default();
        let mut tps: Vec<TopicPartition> = cx
            .disk()
            .file_names()
            .filter_map(|n| segment::parse_file_name(n).map(|(tp, _)| tp))
            .collect();
        tps.dedup(); // a partition's segment files are adjacent in name order
        for tp in tps {
            let log = PartitionLog::open(tp.clone(), cx.disk(), hws.0.get(&tp).copied());
            if cx.tracing() {
                let (leo, hw) = (log.log_end_offset(), log.high_watermark());
                cx.emit(KafkaEvent::LogRecovered {
                    tp: tp.clone(),
                    leo,
                    hw,
                });
            }
            let config = EffectiveTopicConfig::resolve(&Default::default(), &self.config);
            self.partitions.insert(tp, Partition::new(log, config));
        }
    }

    fn send_registration(&mut self, cx: &mut BrokerCx<'_>) {
        let req = BrokerRegistrationRequest {
            correlation_id: self.correlation(),
            broker_id: self.id,
            incarnation: self.incarnation,
            previous_clean_shutdown: false,
        };
        cx.send(self.controller, Msg::BrokerRegistrationRequest(req));
    }

    fn send_heartbeat(&mut self, cx: &mut BrokerCx<'_>) {
        if self.broker_epoch < 0 {
            if !self.registration_retry_armed {
                self.send_registration(cx);
            }
            return;
        }
        let req = BrokerHeartbeatRequest {
            correlation_id: self.correlation(),
            broker_id: self.id,
            broker_epoch: self.broker_epoch,
            current_metadata_offset: self.metadata.next_offset,
            want_fence: false,
            want_shutdown: false,
        };
        cx.send(self.controller, Msg::BrokerHeartbeatRequest(req));
    }

    /// Kafka's `BrokerLifecycleManager.scheduleNextCommunicationAfterFailure`: the next
    /// attempt waits `ExponentialBackoff(100 ms, ×2, broker.session.timeout.ms)` — 100, 200,
    /// 400 … ms, at most the session timeout (Kafka adds ±2 % jitter; kafkasim does not).
    fn on_registration_refused(&mut self, cx: &mut BrokerCx<'_>) {
        let exp = self.registration_failures.min(32);
        let backoff_ms = 100u64.saturating_mul(1u64 << exp);
        let backoff_ms = backoff_ms.min(self.config.broker_session_timeout_ms);
        self.registration_failures += 1;
        if !self.registration_retry_armed {
            self.registration_retry_armed = true;
            cx.set_timer(
                Duration::from_ms(backoff_ms),
                BrokerTimer::RegistrationRetry,
            );
        }
    }

    // ------------------------------------------------------------ dispatch

    pub fn on_message(&mut self, cx: &mut BrokerCx<'_>, from: Peer, msg: Msg) {
        match msg {
            Msg::ProduceRequest(r) => self.on_produce(cx, from, r),
            Msg::FetchRequest(r) => self.on_fetch(cx, from, *r),
            Msg::FetchResponse(r) => self.on_fetch_response(cx, from, r),
            Msg::ListOffsetsRequest(r) => self.on_list_offsets(cx, from, r),
            Msg::OffsetsForLeaderEpochRequest(r) => self.on_offsets_for_leader_epoch(cx, from, r),
            Msg::MetadataRequest(r) => self.on_metadata_request(cx, from, r),
            Msg::InitProducerIdRequest(r) if r.transactional_id.is_some() => {
                self.on_txn_request(cx, from, Msg::InitProducerIdRequest(r))
            }
            Msg::InitProducerIdRequest(r) => self.on_init_producer_id(cx, from, r),
            Msg::ApiVersionsRequest(r) => {
                let correlation_id = r.correlation_id;
                cx.reply(
                    from,
                    Msg::ApiVersionsResponse(ApiVersionsResponse {
                        correlation_id,
                        finalized_transaction_version: self.transaction_version(),
                    }),
                );
            }
            m @ (Msg::AddPartitionsToTxnRequest(_)
            | Msg::AddOffsetsToTxnRequest(_)
            | Msg::EndTxnRequest(_)) => self.on_txn_request(cx, from, m),
            Msg::WriteTxnMarkersRequest(r) => self.on_write_txn_markers(cx, from, r),
            Msg::WriteTxnMarkersResponse(r) => self.on_write_txn_markers_response(cx, r),
            Msg::AddPartitionsToTxnResponse(r) => self.on_verification_response(cx, r),
            Msg::TxnOffsetCommitRequest(r) => self.on_txn_offset_commit(cx, from, *r),
            Msg::MetadataUpdate(u) => self.on_metadata_update(cx, u),
            Msg::BrokerRegistrationResponse(r) if r.error.is_ok() => {
                self.registration_failures = 0;
                self.broker_epoch = r.broker_epoch;
                self.send_heartbeat(cx); // reports caught-up metadata at once
            }
            Msg::BrokerRegistrationResponse(_) => self.on_registration_refused(cx),
            Msg::BrokerHeartbeatResponse(r) => {
                if matches!(
                    r.error,
                    ErrorCode::StaleBrokerEpoch | ErrorCode::BrokerIdNotRegistered
                ) {
                    self.broker_epoch = NO_BROKER_EPOCH;
                    self.send_registration(cx);
                }
            }
            Msg::AlterPartitionResponse(r) => self.on_alter_partition_response(cx, r),
            Msg::FindCoordinatorRequest(r) => self.on_find_coordinator(cx, from, r),
            m @ (Msg::JoinGroupRequest(_)
            | Msg::SyncGroupRequest(_)
            | Msg::HeartbeatRequest(_)
            | Msg::LeaveGroupRequest(_)
            | Msg::OffsetCommitRequest(_)
            | Msg::OffsetFetchRequest(_)) => self.on_group_request(cx, from, m),
            _ => {}
        }
        self.drive_groups(cx);
    }

    pub fn on_timer(&mut self, cx: &mut BrokerCx<'_>, timer: BrokerTimer) {
        match timer {
            BrokerTimer::Heartbeat => {
                self.send_heartbeat(cx);
                cx.set_timer(
                    Duration::from_ms(self.config.broker_heartbeat_interval_ms),
                    BrokerTimer::Heartbeat,
                );
            }
            BrokerTimer::HwCheckpoint => {
                self.checkpoint_high_watermarks(cx);
                let every =
                    Duration::from_ms(self.config.replica_high_watermark_checkpoint_interval_ms);
                cx.set_timer(every, BrokerTimer::HwCheckpoint);
            }
            BrokerTimer::IsrExpiration => {
                self.on_isr_expiration_timeout(cx);
                cx.set_timer(self.isr_check_interval(), BrokerTimer::IsrExpiration);
            }
            BrokerTimer::FlushCheck => {
                self.on_flush_check_timeout(cx);
                cx.set_timer(Duration::from_ms(1_000), BrokerTimer::FlushCheck);
            }
            BrokerTimer::ProducerExpiration => {
                self.expire_producers(cx);
                cx.set_timer(
                    self.producer_expiration_interval(),
                    BrokerTimer::ProducerExpiration,
                );
            }
            BrokerTimer::RetentionCheck => {
                self.on_retention_check(cx);
                cx.set_timer(self.retention_check_interval(), BrokerTimer::RetentionCheck);
            }
            BrokerTimer::CleanerBackoff => {
                self.on_cleaner_backoff(cx);
                cx.set_timer(self.cleaner_backoff(), BrokerTimer::CleanerBackoff);
            }
            BrokerTimer::Purgatory => self.on_purgatory_timeout(cx),
            BrokerTimer::RegistrationRetry => {
                self.registration_retry_armed = false;
                if self.broker_epoch < 0 {
                    self.send_registration(cx);
                }
            }
            BrokerTimer::FetchTimeout {
                leader,
                correlation_id,
            } => self.on_fetch_timeout(cx, leader, correlation_id),
            BrokerTimer::FetchBackoff { leader } => self.on_fetch_backoff_timeout(cx, leader),
            BrokerTimer::Group(t) => self.on_group_timer(cx, t),
            BrokerTimer::TxnCleanup => self.on_txn_cleanup_timeout(cx),
            BrokerTimer::TxnMarkerRetry => self.on_txn_marker_retry_timeout(cx),
            BrokerTimer::TxnVerification { correlation_id } => {
                self.on_verification_timeout(cx, correlation_id)
            }
        }
        self.drive_groups(cx);
    }

    fn checkpoint_high_watermarks(&mut self, cx: &mut BrokerCx<'_>) {
        let hws = self
            .partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.log.high_watermark()))
            .collect();
        cx.disk().overwrite(HW_CHECKPOINT_FILE, HwCheckpoint(hws));
        cx.disk().flush(HW_CHECKPOINT_FILE);
    }

    /// Kafka's periodic producer-expiration check, over the partitions this broker hosts.
    fn expire_producers(&mut self, cx: &mut BrokerCx<'_>) {
        let (now, ms) = (cx.now(), self.config.producer_id_expiration_ms);
        for (tp, p) in self.partitions.iter_mut() {
            let producers = p.log.remove_expired_producers(now, ms);
            if producers > 0 {
                let tp = tp.clone();
                cx.emit(KafkaEvent::ProducerIdsExpired { tp, producers });
            }
        }
    }

    fn on_flush_check_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        let now = cx.now();
        for p in self.partitions.values_mut() {
            if p.config.flush_ms.is_some() {
                p.log
                    .maybe_flush(cx.disk(), now, p.config.flush_messages, p.config.flush_ms);
            }
        }
    }
}
