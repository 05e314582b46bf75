//! A Kafka broker: it hosts partition replicas, leads some of them and follows the others.
//!
//! Life cycle: on start it recovers every partition log found on its disk (with the
//! checkpointed, possibly stale, high watermarks), registers with the controller, heartbeats,
//! and applies the metadata records the controller pushes. Each partition record that names
//! this broker makes it the **leader** (it adds its new epoch to the epoch cache and serves
//! produce and fetch requests) or a **follower** (it fetches from the leader, see
//! `replication.rs`).
//!
//! As leader it answers Produce with `acks` 0, 1 or all. With acks=all it first checks the
//! ISR against `min.insync.replicas` (NOT_ENOUGH_REPLICAS, nothing written), appends, and
//! parks the request in the *produce purgatory* until the high watermark covers the batch
//! (or REQUEST_TIMED_OUT after the request's timeout). Fetch requests that find too little
//! data wait in the *fetch purgatory* (long poll). Both purgatories share one timer.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::config::{BrokerConfig, EffectiveTopicConfig, Truncation};
use super::errors::ErrorCode;
use super::event::{KafkaEvent, TruncationReason};
use super::group_coordinator::{CommitId, GroupCoordinator, GroupTimer};
use super::log::{stamp, HwCheckpoint, PartitionLog, SequenceCheck, HW_CHECKPOINT_FILE};
use super::metadata::{MetadataImage, PartitionImage};
use super::partition::{Partition, PendingIsr, Role};
use super::protocol::*;
use super::record::{Batch, Record, RecordBatch};
use super::replication::Fetcher;
use super::types::{BrokerId, LeaderEpoch, Offset, ProducerId, Topic, TopicPartition};
use crate::sim::{Context, Duration, NodeId, Peer, Time, VecMap, Wakeup};

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
    /// Expire delayed produce and fetch requests.
    Purgatory,
    /// A fetch to `leader` got no response in time.
    FetchTimeout {
        leader: BrokerId,
        correlation_id: u32,
    },
    /// Back-off after a failed fetch is over.
    FetchBackoff { leader: BrokerId },
    /// A timer of the hosted group coordinator (see `broker_groups.rs`).
    Group(GroupTimer),
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

#[derive(Clone, Debug)]
pub(crate) enum Waiter {
    Client {
        peer: Peer,
        correlation_id: CorrelationId,
    },
    Internal(AppendToken),
}

#[derive(Clone, Debug)]
pub(crate) struct PendingPart {
    resp: PartitionProduceResponse,
    /// HW the batch needs (its last offset + 1); `None` once settled.
    required: Option<Offset>,
}

#[derive(Clone, Debug)]
pub(crate) struct DelayedProduce {
    waiter: Waiter,
    deadline: Time,
    parts: Vec<PendingPart>,
}

/// What a fetch of one partition finds at the leader (see `Broker::classify_fetch`).
enum PartitionFetch<'a> {
    /// Not the leader (or a fenced/unknown epoch): the error to answer with.
    NotLeader(ErrorCode),
    /// The follower's log diverges from ours after this epoch's end.
    Diverging(&'a PartitionLog, EpochEndOffset),
    /// The fetch offset is outside the log.
    OutOfRange(&'a PartitionLog),
    /// Records may be read from the fetch offset up to `upto` (LEO or HW).
    Read { log: &'a PartitionLog, upto: Offset },
}

#[derive(Clone, Debug)]
pub(crate) struct DelayedFetch {
    peer: Peer,
    req: FetchRequest,
    deadline: Time,
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
    pub metadata: MetadataImage,
    pub partitions: VecMap<TopicPartition, Partition>,
    pub(crate) fetchers: VecMap<BrokerId, Fetcher>,
    delayed_produces: Vec<DelayedProduce>,
    delayed_fetches: Vec<DelayedFetch>,
    purgatory_timer: Wakeup,
    pub(crate) next_correlation: u32,
    next_token: u64,
    completed_appends: Vec<(AppendToken, Result<Offset, ErrorCode>)>,
    leadership_changes: Vec<LeadershipChange>,
    producer_id_counter: u64,
    /// The group coordinator this broker hosts (see `broker_groups.rs`).
    pub groups: GroupCoordinator,
    /// Offset commits waiting for their append to `__consumer_offsets`.
    pub(crate) group_appends: BTreeMap<AppendToken, CommitId>,
}

impl Broker {
    pub fn new(id: BrokerId, controller: NodeId, config: BrokerConfig) -> Self {
        Broker {
            id,
            controller,
            broker_epoch: -1,
            incarnation: 0,
            metadata: MetadataImage::default(),
            partitions: VecMap::new(),
            fetchers: VecMap::new(),
            delayed_produces: Vec::new(),
            delayed_fetches: Vec::new(),
            purgatory_timer: Wakeup::default(),
            next_correlation: 0,
            next_token: 0,
            completed_appends: Vec::new(),
            leadership_changes: Vec::new(),
            producer_id_counter: 0,
            groups: super::broker_groups::coordinator_for(&config),
            group_appends: BTreeMap::new(),
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
        let names: Vec<String> = cx
            .disk()
            .file_names()
            .filter(|n| n.ends_with(".log"))
            .map(str::to_string)
            .collect();
        for name in names {
            let Some(tp) = TopicPartition::parse(name.trim_end_matches(".log")) else {
                continue;
            };
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
            self.send_registration(cx);
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

    // ------------------------------------------------------------ dispatch

    pub fn on_message(&mut self, cx: &mut BrokerCx<'_>, from: Peer, msg: Msg) {
        match msg {
            Msg::ProduceRequest(r) => self.on_produce(cx, from, r),
            Msg::FetchRequest(r) => self.on_fetch(cx, from, r),
            Msg::FetchResponse(r) => self.on_fetch_response(cx, from, r),
            Msg::ListOffsetsRequest(r) => self.on_list_offsets(cx, from, r),
            Msg::OffsetsForLeaderEpochRequest(r) => self.on_offsets_for_leader_epoch(cx, from, r),
            Msg::MetadataRequest(r) => self.on_metadata_request(cx, from, r),
            Msg::InitProducerIdRequest(r) => self.on_init_producer_id(cx, from, r),
            Msg::MetadataUpdate(u) => self.on_metadata_update(cx, u),
            Msg::BrokerRegistrationResponse(r) if r.error.is_ok() => {
                self.broker_epoch = r.broker_epoch;
                self.send_heartbeat(cx); // reports caught-up metadata at once
            }
            Msg::BrokerHeartbeatResponse(r) => {
                if matches!(
                    r.error,
                    ErrorCode::StaleBrokerEpoch | ErrorCode::BrokerIdNotRegistered
                ) {
                    self.broker_epoch = -1;
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
            BrokerTimer::Purgatory => self.on_purgatory_timeout(cx),
            BrokerTimer::FetchTimeout {
                leader,
                correlation_id,
            } => self.on_fetch_timeout(cx, leader, correlation_id),
            BrokerTimer::FetchBackoff { leader } => self.on_fetch_backoff_timeout(cx, leader),
            BrokerTimer::Group(t) => self.on_group_timer(cx, t),
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

    fn on_flush_check_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        let now = cx.now();
        for p in self.partitions.values_mut() {
            if p.config.flush_ms.is_some() {
                p.log
                    .maybe_flush(cx.disk(), now, p.config.flush_messages, p.config.flush_ms);
            }
        }
    }

    // ------------------------------------------------------------ metadata

    fn on_metadata_update(&mut self, cx: &mut BrokerCx<'_>, u: MetadataUpdate) {
        let next = self.metadata.next_offset;
        if u.base_offset > next {
            // A gap: we missed records. The heartbeat tells the controller where we are.
            self.send_heartbeat(cx);
            return;
        }
        let skip = (next - u.base_offset) as usize;
        let mut changed = Vec::new();
        for rec in u.records.iter().skip(skip) {
            if let Some(tp) = self.metadata.apply(rec) {
                if !changed.contains(&tp) {
                    changed.push(tp);
                }
            }
        }
        // Reconcile against the final image only: replaying a history must not replay
        // every intermediate leadership.
        for tp in changed {
            if let Some(p) = self.metadata.partitions.get(&tp).cloned() {
                self.reconcile(cx, &tp, &p);
            }
        }
    }

    fn reconcile(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, p: &PartitionImage) {
        if !p.replicas.contains(&self.id) {
            return;
        }
        self.ensure_partition(cx, tp);
        let part = self.partitions.get_mut(tp).expect("ensured");
        if p.leader_epoch < part.leader_epoch
            || (p.leader_epoch == part.leader_epoch && p.partition_epoch <= part.partition_epoch)
        {
            return; // stale or already applied (e.g. through an AlterPartition response)
        }
        let new_epoch = p.leader_epoch != part.leader_epoch || matches!(part.role, Role::None);
        part.replicas.clone_from(&p.replicas);
        part.isr.clone_from(&p.isr);
        part.partition_epoch = p.partition_epoch;
        if p.leader == Some(self.id) {
            if new_epoch || !part.is_leader() {
                self.make_leader(cx, tp, p.leader_epoch);
            } else {
                self.on_isr_updated(cx, tp);
            }
        } else if new_epoch || part.is_leader() {
            self.make_follower(cx, tp, p.leader, p.leader_epoch);
        }
    }

    fn ensure_partition(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        let config =
            EffectiveTopicConfig::resolve(&self.metadata.topic_config(&tp.topic), &self.config);
        match self.partitions.get_mut(tp) {
            Some(p) => p.config = config,
            None => {
                let log = PartitionLog::open(tp.clone(), cx.disk(), None);
                self.partitions
                    .insert(tp.clone(), Partition::new(log, config));
            }
        }
    }

    fn make_leader(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, epoch: LeaderEpoch) {
        self.stop_fetching(tp);
        let now = cx.now();
        let part = self.partitions.get_mut(tp).expect("exists");
        part.leader_epoch = epoch;
        let leo = part.log.log_end_offset();
        part.log.assign_epoch(cx.disk(), epoch, leo); // KAFKA-7415
        part.become_leader(self.id, now);
        cx.emit(KafkaEvent::BecameLeader {
            tp: tp.clone(),
            leader_epoch: epoch,
            leo,
        });
        self.leadership_changes.push(LeadershipChange::Became {
            tp: tp.clone(),
            leader_epoch: epoch,
        });
        self.maybe_advance_hw(cx, tp);
    }

    fn make_follower(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        leader: Option<BrokerId>,
        epoch: LeaderEpoch,
    ) {
        let part = self.partitions.get_mut(tp).expect("exists");
        let was_leader = part.is_leader();
        part.leader_epoch = epoch;
        part.role = Role::Follower { leader };
        if was_leader {
            self.leadership_changes
                .push(LeadershipChange::Resigned { tp: tp.clone() });
        }
        self.fail_delayed_produces(cx, tp, ErrorCode::NotLeaderOrFollower);
        cx.emit(KafkaEvent::BecameFollower {
            tp: tp.clone(),
            leader,
            leader_epoch: epoch,
        });
        if self.config.replication_truncation == Truncation::HighWatermark {
            let part = self.partitions.get_mut(tp).expect("exists");
            let hw = part.log.high_watermark();
            self.truncate(cx, tp, hw, TruncationReason::HighWatermark);
        }
        self.stop_fetching(tp);
        if let Some(l) = leader {
            self.start_fetching(cx, tp, l);
        }
    }

    /// Truncates the log of `tp` to `offset`, with a trace event saying why.
    pub(crate) fn truncate(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        offset: Offset,
        reason: TruncationReason,
    ) {
        let part = self.partitions.get_mut(tp).expect("exists");
        let from_leo = part.log.log_end_offset();
        let removed = part.log.truncate_to(cx.disk(), offset);
        if removed > 0 {
            let to = part.log.log_end_offset();
            cx.emit(KafkaEvent::Truncated {
                tp: tp.clone(),
                from_leo,
                to,
                removed,
                reason,
            });
        }
    }

    fn on_metadata_request(&mut self, cx: &mut BrokerCx<'_>, from: Peer, req: MetadataRequest) {
        let image = &self.metadata;
        let brokers = image
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, b)| (*id, b.node))
            .collect();
        let names: Vec<Arc<str>> = match req.topics {
            Some(t) => t,
            None => image.topics.keys().cloned().collect(),
        };
        let topics = names
            .into_iter()
            .map(|name| self.topic_metadata(name))
            .collect();
        let resp = MetadataResponse {
            correlation_id: req.correlation_id,
            brokers,
            controller_id: None,
            topics,
        };
        cx.reply(from, Msg::MetadataResponse(resp));
    }

    fn topic_metadata(&self, name: Arc<str>) -> TopicMetadata {
        let image = &self.metadata;
        let Some(t) = image.topics.get(&name) else {
            return TopicMetadata {
                name,
                error: ErrorCode::UnknownTopicOrPartition,
                partitions: vec![],
            };
        };
        let partitions = (0..t.partitions)
            .filter_map(|i| {
                let tp = TopicPartition {
                    topic: Topic::new(&name),
                    partition: i,
                };
                let p = image.partitions.get(&tp)?;
                let error = if p.leader.is_some() {
                    ErrorCode::None
                } else {
                    ErrorCode::LeaderNotAvailable
                };
                let offline = p
                    .replicas
                    .iter()
                    .copied()
                    .filter(|r| !image.is_live(*r))
                    .collect();
                Some(PartitionMetadata {
                    partition: i,
                    error,
                    leader: p.leader,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replicas.clone(),
                    isr: p.isr.clone(),
                    offline_replicas: offline,
                })
            })
            .collect();
        TopicMetadata {
            name,
            error: ErrorCode::None,
            partitions,
        }
    }

    /// Where `tp`'s leader is, per this broker's (possibly stale) image (KIP-951 hint).
    fn leader_hint(&self, tp: &TopicPartition) -> Option<(BrokerId, LeaderEpoch)> {
        let p = self.metadata.partitions.get(tp)?;
        p.leader.map(|l| (l, p.leader_epoch))
    }

    /// The partition if this broker leads it, else the error a client should see.
    fn leader_partition(
        &self,
        tp: &TopicPartition,
        current_epoch: LeaderEpoch,
    ) -> Result<&Partition, ErrorCode> {
        let Some(part) = self.partitions.get(tp) else {
            return Err(if self.metadata.partitions.contains_key(tp) {
                ErrorCode::NotLeaderOrFollower
            } else {
                ErrorCode::UnknownTopicOrPartition
            });
        };
        if current_epoch != LeaderEpoch::NONE {
            if current_epoch < part.leader_epoch {
                return Err(ErrorCode::FencedLeaderEpoch);
            }
            if current_epoch > part.leader_epoch {
                return Err(ErrorCode::UnknownLeaderEpoch);
            }
        }
        if !part.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        Ok(part)
    }

    // ------------------------------------------------------------ produce

    fn on_produce(&mut self, cx: &mut BrokerCx<'_>, from: Peer, req: ProduceRequest) {
        let mut parts = Vec::with_capacity(req.partitions.len());
        for (tp, batch) in req.partitions {
            let outcome = if (-1..=1).contains(&req.acks) {
                self.append_to_leader(cx, &tp, batch, req.acks)
            } else {
                Err(ErrorCode::InvalidRequiredAcks)
            };
            parts.push(self.pending_part(cx, &tp, outcome, req.acks));
        }
        if req.acks == 0 {
            return; // acks=0: Kafka sends no response at all
        }
        let waiter = Waiter::Client {
            peer: from,
            correlation_id: req.correlation_id,
        };
        let deadline = cx.now() + Duration::from_ms(req.timeout_ms);
        self.settle_or_park(
            cx,
            DelayedProduce {
                waiter,
                deadline,
                parts,
            },
        );
    }

    fn pending_part(
        &self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        outcome: Result<(Offset, Offset), ErrorCode>,
        acks: i16,
    ) -> PendingPart {
        let (error, base_offset, required) = match outcome {
            Ok((base, required)) => (ErrorCode::None, base, (acks == -1).then_some(required)),
            Err(e) => {
                cx.emit(KafkaEvent::ProduceRejected {
                    tp: tp.clone(),
                    error: e,
                });
                (e, -1, None)
            }
        };
        let current_leader = if error == ErrorCode::NotLeaderOrFollower {
            self.leader_hint(tp)
        } else {
            None
        };
        let log_start_offset = self
            .partitions
            .get(tp)
            .map_or(-1, |p| p.log.log_start_offset());
        let resp = PartitionProduceResponse {
            tp: tp.clone(),
            error,
            base_offset,
            log_start_offset,
            current_leader,
        };
        PendingPart { resp, required }
    }

    /// Appends `batch` to the leader's log of `tp`. Returns (base offset, HW needed for
    /// acks=all). A duplicate of a cached idempotent batch returns its original offsets.
    fn append_to_leader(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        batch: Batch,
        acks: i16,
    ) -> Result<(Offset, Offset), ErrorCode> {
        let part = self.leader_partition(tp, LeaderEpoch::NONE)?;
        if batch.is_empty() {
            return Err(ErrorCode::CorruptMessage);
        }
        if acks == -1 && part.isr.len() < part.effective_min_isr() {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        let base = match part.log.check_sequence(&batch) {
            SequenceCheck::Duplicate { base_offset } => {
                return Ok((base_offset, base_offset + batch.len() as Offset))
            }
            SequenceCheck::OutOfOrder => return Err(ErrorCode::OutOfOrderSequenceNumber),
            SequenceCheck::InvalidEpoch => return Err(ErrorCode::InvalidProducerEpoch),
            SequenceCheck::Append => part.log.log_end_offset(),
        };
        let part = self.partitions.get_mut(tp).expect("leader");
        let epoch = part.leader_epoch;
        let stamped = stamp(batch, base, epoch);
        let next = stamped.next_offset();
        if cx.tracing() {
            let first_value = stamped.records[0].value;
            cx.emit(KafkaEvent::Appended {
                tp: tp.clone(),
                base_offset: base,
                records: stamped.len() as u32,
                leader_epoch: epoch,
                first_value,
            });
        }
        let now = cx.now();
        part.log.append(cx.disk(), stamped);
        part.log.maybe_flush(
            cx.disk(),
            now,
            part.config.flush_messages,
            part.config.flush_ms,
        );
        self.maybe_advance_hw(cx, tp);
        self.wake_fetches(cx, tp);
        Ok((base, next))
    }

    /// Answers a produce now if nothing waits for replication, else parks it.
    fn settle_or_park(&mut self, cx: &mut BrokerCx<'_>, mut d: DelayedProduce) {
        for part in &mut d.parts {
            if let Some(required) = part.required {
                if let Some(e) = self.check_replicated(&part.resp.tp, required) {
                    part.resp.error = e;
                    part.required = None;
                }
            }
        }
        if d.parts.iter().all(|p| p.required.is_none()) {
            self.complete_produce(cx, d);
        } else {
            self.delayed_produces.push(d);
            self.arm_purgatory(cx);
        }
    }

    /// Kafka's `checkEnoughReplicasReachOffset`: `Some(outcome)` once decided.
    fn check_replicated(&self, tp: &TopicPartition, required: Offset) -> Option<ErrorCode> {
        let Some(part) = self.partitions.get(tp).filter(|p| p.is_leader()) else {
            return Some(ErrorCode::NotLeaderOrFollower);
        };
        if part.log.high_watermark() < required {
            return None;
        }
        if part.isr.len() < part.effective_min_isr() {
            return Some(ErrorCode::NotEnoughReplicasAfterAppend);
        }
        Some(ErrorCode::None)
    }

    fn complete_produce(&mut self, cx: &mut BrokerCx<'_>, d: DelayedProduce) {
        match d.waiter {
            Waiter::Client {
                peer,
                correlation_id,
            } => {
                let partitions = d.parts.into_iter().map(|p| p.resp).collect();
                cx.reply(
                    peer,
                    Msg::ProduceResponse(ProduceResponse {
                        correlation_id,
                        partitions,
                    }),
                );
            }
            Waiter::Internal(token) => {
                let r = &d.parts[0].resp;
                let outcome = if r.error.is_ok() {
                    Ok(r.base_offset)
                } else {
                    Err(r.error)
                };
                self.completed_appends.push((token, outcome));
            }
        }
    }

    /// Re-checks parked produces that wait on `tp`.
    fn check_delayed_produces(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        if self.delayed_produces.is_empty() {
            return;
        }
        let mut i = 0;
        while i < self.delayed_produces.len() {
            let mut settled = true;
            for pi in 0..self.delayed_produces[i].parts.len() {
                let part = &self.delayed_produces[i].parts[pi];
                if let (Some(required), true) = (part.required, &part.resp.tp == tp) {
                    if let Some(e) = self.check_replicated(tp, required) {
                        let part = &mut self.delayed_produces[i].parts[pi];
                        part.resp.error = e;
                        part.required = None;
                    }
                }
                settled &= self.delayed_produces[i].parts[pi].required.is_none();
            }
            if settled {
                let d = self.delayed_produces.remove(i);
                self.complete_produce(cx, d);
            } else {
                i += 1;
            }
        }
    }

    fn fail_delayed_produces(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        error: ErrorCode,
    ) {
        for d in &mut self.delayed_produces {
            for part in &mut d.parts {
                if part.required.is_some() && &part.resp.tp == tp {
                    part.resp.error = error;
                    part.required = None;
                }
            }
        }
        self.flush_settled_produces(cx);
    }

    fn flush_settled_produces(&mut self, cx: &mut BrokerCx<'_>) {
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_produces)
            .into_iter()
            .partition(|d| d.parts.iter().all(|p| p.required.is_none()));
        self.delayed_produces = waiting;
        for d in done {
            self.complete_produce(cx, d);
        }
    }

    // ------------------------------------------------------------ high watermark and ISR

    /// Recomputes the leader HW of `tp` and completes whatever waited for it.
    pub(crate) fn maybe_advance_hw(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        let Some(part) = self.partitions.get_mut(tp) else {
            return;
        };
        if let Some(hw) = part.maybe_increment_hw(self.id) {
            self.on_hw_advanced(cx, tp, hw);
        }
    }

    pub(crate) fn on_hw_advanced(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        hw: Offset,
    ) {
        if cx.tracing() {
            cx.emit(KafkaEvent::HighWatermark { tp: tp.clone(), hw });
        }
        self.check_delayed_produces(cx, tp);
        self.wake_fetches(cx, tp);
    }

    fn on_isr_updated(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        if let Some(Role::Leader(s)) = self.partitions.get_mut(tp).map(|p| &mut p.role) {
            s.pending_isr = None;
        }
        self.maybe_advance_hw(cx, tp);
        self.check_delayed_produces(cx, tp);
    }

    fn on_isr_expiration_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        let now = cx.now();
        let lag = Duration::from_ms(self.config.replica_lag_time_max_ms);
        let retry_after = Duration::from_ms(self.config.broker_session_timeout_ms);
        let mut shrinks = Vec::new();
        for (tp, part) in &mut self.partitions {
            if let Role::Leader(s) = &mut part.role {
                // An unanswered AlterPartition (controller down) is given up and retried.
                if s.pending_isr
                    .as_ref()
                    .is_some_and(|p| now.since(p.sent) > retry_after)
                {
                    s.pending_isr = None;
                }
            }
            let pending = part.leader_state().is_some_and(|s| s.pending_isr.is_some());
            let out = part.out_of_sync(self.id, now, lag);
            if !pending && !out.is_empty() {
                let new_isr: Vec<BrokerId> = part
                    .isr
                    .iter()
                    .copied()
                    .filter(|b| !out.contains(b))
                    .collect();
                shrinks.push((tp.clone(), new_isr));
            }
        }
        for (tp, new_isr) in shrinks {
            cx.emit(KafkaEvent::IsrShrinkRequested {
                tp: tp.clone(),
                new_isr: new_isr.clone(),
            });
            self.propose_isr(cx, &tp, new_isr);
        }
    }

    pub(crate) fn maybe_expand_isr(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        follower: BrokerId,
    ) {
        let Some(part) = self.partitions.get(tp) else {
            return;
        };
        let pending = part.leader_state().is_some_and(|s| s.pending_isr.is_some());
        if pending || !part.can_join_isr(follower) || !self.metadata.is_live(follower) {
            return;
        }
        let mut new_isr = part.isr.clone();
        new_isr.push(follower);
        cx.emit(KafkaEvent::IsrExpandRequested {
            tp: tp.clone(),
            new_isr: new_isr.clone(),
        });
        self.propose_isr(cx, tp, new_isr);
    }

    fn propose_isr(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition, new_isr: Vec<BrokerId>) {
        let now = cx.now();
        let correlation_id = self.correlation();
        let part = self.partitions.get_mut(tp).expect("leader");
        let item = AlterPartitionItem {
            tp: tp.clone(),
            leader_epoch: part.leader_epoch,
            new_isr: new_isr.clone(),
            partition_epoch: part.partition_epoch,
        };
        if let Role::Leader(s) = &mut part.role {
            s.pending_isr = Some(PendingIsr { new_isr, sent: now });
        }
        let req = AlterPartitionRequest {
            correlation_id,
            broker_id: self.id,
            broker_epoch: self.broker_epoch,
            partitions: vec![item],
        };
        cx.send(self.controller, Msg::AlterPartitionRequest(req));
    }

    fn on_alter_partition_response(&mut self, cx: &mut BrokerCx<'_>, resp: AlterPartitionResponse) {
        for r in resp.partitions {
            let Some(part) = self.partitions.get_mut(&r.tp) else {
                continue;
            };
            if !part.is_leader() || r.leader_epoch != part.leader_epoch {
                continue;
            }
            if r.error.is_ok() && r.partition_epoch > part.partition_epoch {
                part.isr = r.isr;
                part.partition_epoch = r.partition_epoch;
            }
            // On error the metadata push brings the truth; the next check retries.
            self.on_isr_updated(cx, &r.tp);
        }
    }

    // ------------------------------------------------------------ fetch (leader side)

    fn on_fetch(&mut self, cx: &mut BrokerCx<'_>, from: Peer, req: FetchRequest) {
        if let Some(replica) = req.replica_id {
            for fp in &req.partitions {
                self.record_replica_fetch(cx, replica, fp);
            }
        }
        if req.max_wait_ms == 0 || self.fetch_answerable(&req) {
            let (resp, _, _) = self.build_fetch_response(&req);
            cx.reply(from, Msg::FetchResponse(resp));
        } else {
            let deadline = cx.now() + Duration::from_ms(req.max_wait_ms);
            self.delayed_fetches.push(DelayedFetch {
                peer: from,
                req,
                deadline,
            });
            self.arm_purgatory(cx);
        }
    }

    /// A follower's fetch tells the leader the follower's LEO: update ISR and HW.
    fn record_replica_fetch(
        &mut self,
        cx: &mut BrokerCx<'_>,
        replica: BrokerId,
        fp: &FetchPartition,
    ) {
        let Ok(part) = self.leader_partition(&fp.tp, fp.current_leader_epoch) else {
            return;
        };
        if fp.fetch_offset > part.log.log_end_offset() || !part.replicas.contains(&replica) {
            return;
        }
        if fp.last_fetched_epoch != LeaderEpoch::NONE {
            let (e, end) = part.log.end_offset_for_epoch(fp.last_fetched_epoch);
            if e < fp.last_fetched_epoch || end < fp.fetch_offset {
                return; // diverging: its offset says nothing about our log
            }
        }
        let now = cx.now();
        let part = self.partitions.get_mut(&fp.tp).expect("leader");
        part.record_follower_fetch(replica, fp.fetch_offset, now);
        self.maybe_expand_isr(cx, &fp.tp, replica);
        self.maybe_advance_hw(cx, &fp.tp);
    }

    /// The response to `req` as of now: (response, bytes of records, must answer now).
    fn build_fetch_response(&self, req: &FetchRequest) -> (FetchResponse, usize, bool) {
        let mut bytes = 0usize;
        let mut urgent = false;
        let mut partitions = Vec::with_capacity(req.partitions.len());
        for fp in &req.partitions {
            let budget = (req.max_bytes as usize)
                .saturating_sub(bytes)
                .min(fp.partition_max_bytes as usize) as u32;
            let r = self.fetch_partition(req, fp, budget);
            urgent |= !r.error.is_ok() || r.diverging_epoch.is_some();
            bytes += r.batches.iter().map(|b| b.size_bytes()).sum::<usize>();
            partitions.push(r);
        }
        (
            FetchResponse {
                correlation_id: req.correlation_id,
                error: ErrorCode::None,
                partitions,
            },
            bytes,
            urgent,
        )
    }

    /// Whether the response to `req` would be answered now (an error, a divergence, or at
    /// least `fetch.min.bytes`): what `build_fetch_response` decides, without building it.
    fn fetch_answerable(&self, req: &FetchRequest) -> bool {
        let mut bytes = 0usize;
        for fp in &req.partitions {
            let budget = (req.max_bytes as usize)
                .saturating_sub(bytes)
                .min(fp.partition_max_bytes as usize) as u32;
            match self.classify_fetch(req, fp) {
                PartitionFetch::Read { log, upto } => {
                    bytes += log.read_bytes(fp.fetch_offset, budget, upto)
                }
                _ => return true, // an error or a divergence is answered at once
            }
        }
        bytes >= req.min_bytes as usize
    }

    /// What fetching `fp` finds, decided once for both building a response and deciding
    /// whether one can wait.
    fn classify_fetch<'a>(&'a self, req: &FetchRequest, fp: &FetchPartition) -> PartitionFetch<'a> {
        let part = match self.leader_partition(&fp.tp, fp.current_leader_epoch) {
            Ok(p) => p,
            Err(e) => return PartitionFetch::NotLeader(e),
        };
        let log = &part.log;
        if req.replica_id.is_some() && fp.last_fetched_epoch != LeaderEpoch::NONE {
            let (epoch, end_offset) = log.end_offset_for_epoch(fp.last_fetched_epoch);
            if epoch < fp.last_fetched_epoch || end_offset < fp.fetch_offset {
                return PartitionFetch::Diverging(log, EpochEndOffset { epoch, end_offset });
            }
        }
        if fp.fetch_offset < log.log_start_offset() || fp.fetch_offset > log.log_end_offset() {
            return PartitionFetch::OutOfRange(log);
        }
        let upto = if req.replica_id.is_some() {
            log.log_end_offset()
        } else {
            log.high_watermark()
        };
        PartitionFetch::Read { log, upto }
    }

    fn fetch_partition(
        &self,
        req: &FetchRequest,
        fp: &FetchPartition,
        budget: u32,
    ) -> FetchPartitionResponse {
        let mut r = FetchPartitionResponse {
            tp: fp.tp.clone(),
            error: ErrorCode::None,
            high_watermark: -1,
            last_stable_offset: -1,
            log_start_offset: -1,
            diverging_epoch: None,
            current_leader: None,
            batches: Vec::new(),
        };
        let with_log = |r: &mut FetchPartitionResponse, log: &PartitionLog| {
            r.high_watermark = log.high_watermark();
            r.last_stable_offset = log.high_watermark();
            r.log_start_offset = log.log_start_offset();
        };
        match self.classify_fetch(req, fp) {
            PartitionFetch::NotLeader(e) => {
                r.error = e;
                r.current_leader = self.leader_hint(&fp.tp);
            }
            PartitionFetch::Diverging(log, d) => {
                with_log(&mut r, log);
                r.diverging_epoch = Some(d);
            }
            PartitionFetch::OutOfRange(log) => {
                with_log(&mut r, log);
                r.error = ErrorCode::OffsetOutOfRange;
                if req.replica_id.is_some() {
                    // Stands for the follower's ListOffsets(latest) round trip: where our
                    // log ends.
                    r.diverging_epoch = Some(EpochEndOffset {
                        epoch: LeaderEpoch::NONE,
                        end_offset: log.log_end_offset(),
                    });
                }
            }
            PartitionFetch::Read { log, upto } => {
                with_log(&mut r, log);
                r.batches = log.read(fp.fetch_offset, budget, upto);
            }
        }
        r
    }

    /// New data (or a new HW) on `tp`: answer parked fetches that now have enough.
    pub(crate) fn wake_fetches(&mut self, cx: &mut BrokerCx<'_>, tp: &TopicPartition) {
        let mut i = 0;
        while i < self.delayed_fetches.len() {
            let d = &self.delayed_fetches[i];
            if !self.may_answer_now(d, tp) {
                i += 1;
                continue;
            }
            let (resp, bytes, urgent) = self.build_fetch_response(&d.req);
            if urgent || bytes >= d.req.min_bytes as usize {
                let d = self.delayed_fetches.swap_remove(i);
                cx.reply(d.peer, Msg::FetchResponse(resp));
            } else {
                i += 1;
            }
        }
    }

    /// Whether a change to `tp` may let the parked fetch `d` answer: it asks for `tp`, and
    /// `tp` now has records for it (up to the LEO for a follower, the HW for a consumer) or
    /// is no longer in a state where waiting makes sense (leadership or epoch moved, offset
    /// out of range). A parked fetch had too little data when parked and is re-checked on
    /// every change of each of its partitions, so a `false` here never delays an answer.
    fn may_answer_now(&self, d: &DelayedFetch, tp: &TopicPartition) -> bool {
        let Some(fp) = d.req.partitions.iter().find(|p| &p.tp == tp) else {
            return false;
        };
        let Some(part) = self.partitions.get(tp) else {
            return true;
        };
        if !part.is_leader()
            || (fp.current_leader_epoch != LeaderEpoch::NONE
                && fp.current_leader_epoch != part.leader_epoch)
        {
            return true;
        }
        let log = &part.log;
        let upto = if d.req.replica_id.is_some() {
            log.log_end_offset()
        } else {
            log.high_watermark()
        };
        upto > fp.fetch_offset
            || fp.fetch_offset > log.log_end_offset()
            || fp.fetch_offset < log.log_start_offset()
    }

    // ------------------------------------------------------------ purgatory timer

    fn arm_purgatory(&mut self, cx: &mut BrokerCx<'_>) {
        let earliest = self
            .delayed_produces
            .iter()
            .map(|d| d.deadline)
            .chain(self.delayed_fetches.iter().map(|d| d.deadline))
            .min();
        let Some(at) = earliest else {
            return;
        };
        self.purgatory_timer.arm(cx, at, BrokerTimer::Purgatory);
    }

    fn on_purgatory_timeout(&mut self, cx: &mut BrokerCx<'_>) {
        self.purgatory_timer.fired(cx.now());
        let now = cx.now();
        let (due, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_fetches)
            .into_iter()
            .partition(|d| d.deadline <= now);
        self.delayed_fetches = rest;
        for d in due {
            let (resp, _, _) = self.build_fetch_response(&d.req);
            cx.reply(d.peer, Msg::FetchResponse(resp));
        }
        for d in &mut self.delayed_produces {
            if d.deadline <= now {
                for part in d.parts.iter_mut().filter(|p| p.required.is_some()) {
                    part.resp.error = ErrorCode::RequestTimedOut;
                    part.required = None;
                }
            }
        }
        self.flush_settled_produces(cx);
        self.arm_purgatory(cx);
    }

    // ------------------------------------------------------------ other APIs

    fn on_list_offsets(&mut self, cx: &mut BrokerCx<'_>, from: Peer, req: ListOffsetsRequest) {
        let partitions = req
            .partitions
            .iter()
            .map(|(tp, epoch, spec)| {
                let mut r = ListOffsetsPartition {
                    tp: tp.clone(),
                    error: ErrorCode::None,
                    offset: -1,
                    leader_epoch: LeaderEpoch::NONE,
                };
                match self.leader_partition(tp, *epoch) {
                    Err(e) => r.error = e,
                    Ok(p) => {
                        r.leader_epoch = p.leader_epoch;
                        let epoch_start = p.leader_state().map_or(0, |s| s.epoch_start_offset);
                        match spec {
                            OffsetSpec::Earliest => r.offset = p.log.log_start_offset(),
                            // KIP-207: a new leader whose HW has not reached its epoch start.
                            OffsetSpec::Latest if p.log.high_watermark() < epoch_start => {
                                r.error = ErrorCode::OffsetNotAvailable
                            }
                            OffsetSpec::Latest => r.offset = p.log.high_watermark(),
                        }
                    }
                }
                r
            })
            .collect();
        cx.reply(
            from,
            Msg::ListOffsetsResponse(ListOffsetsResponse {
                correlation_id: req.correlation_id,
                partitions,
            }),
        );
    }

    fn on_offsets_for_leader_epoch(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: OffsetsForLeaderEpochRequest,
    ) {
        let partitions = req
            .partitions
            .iter()
            .map(
                |(tp, current, asked)| match self.leader_partition(tp, *current) {
                    Err(error) => OffsetForLeaderEpochResult {
                        tp: tp.clone(),
                        error,
                        leader_epoch: LeaderEpoch::NONE,
                        end_offset: -1,
                    },
                    Ok(p) => {
                        let (leader_epoch, end_offset) = p.log.end_offset_for_epoch(*asked);
                        OffsetForLeaderEpochResult {
                            tp: tp.clone(),
                            error: ErrorCode::None,
                            leader_epoch,
                            end_offset,
                        }
                    }
                },
            )
            .collect();
        let resp = OffsetsForLeaderEpochResponse {
            correlation_id: req.correlation_id,
            partitions,
        };
        cx.reply(from, Msg::OffsetsForLeaderEpochResponse(resp));
    }

    /// Non-transactional InitProducerId: a cluster-unique id (broker id in the high bits,
    /// a counter persisted on disk in the low bits) and epoch 0.
    fn on_init_producer_id(
        &mut self,
        cx: &mut BrokerCx<'_>,
        from: Peer,
        req: InitProducerIdRequest,
    ) {
        self.producer_id_counter += 1;
        cx.disk()
            .overwrite(PRODUCER_ID_FILE, self.producer_id_counter);
        cx.disk().flush(PRODUCER_ID_FILE);
        let producer_id = ProducerId(((self.id.0 as i64) << 40) | self.producer_id_counter as i64);
        let resp = InitProducerIdResponse {
            correlation_id: req.correlation_id,
            error: ErrorCode::None,
            producer_id,
            producer_epoch: 0,
        };
        cx.reply(from, Msg::InitProducerIdResponse(resp));
    }

    // ------------------------------------------------------------ internal API (group coordinator)

    /// Appends `records` to `tp`, which this broker must lead, as a Produce with acks=all
    /// would. The outcome arrives later through [`Broker::take_completed_appends`] under
    /// the returned token: `Ok(base offset)` once the high watermark covers the records, or
    /// an error (NOT_LEADER_OR_FOLLOWER if leadership is lost, REQUEST_TIMED_OUT after
    /// `timeout`, NOT_ENOUGH_REPLICAS[_AFTER_APPEND]). An immediate error is returned as is.
    pub fn append_internal(
        &mut self,
        cx: &mut BrokerCx<'_>,
        tp: &TopicPartition,
        records: Vec<Record>,
        timeout: Duration,
    ) -> Result<AppendToken, ErrorCode> {
        let batch = Arc::new(RecordBatch::new(records));
        let (base, required) = self.append_to_leader(cx, tp, batch, -1)?;
        self.next_token += 1;
        let token = AppendToken(self.next_token);
        let resp = PartitionProduceResponse {
            tp: tp.clone(),
            error: ErrorCode::None,
            base_offset: base,
            log_start_offset: 0,
            current_leader: None,
        };
        let parts = vec![PendingPart {
            resp,
            required: Some(required),
        }];
        let deadline = cx.now() + timeout;
        self.settle_or_park(
            cx,
            DelayedProduce {
                waiter: Waiter::Internal(token),
                deadline,
                parts,
            },
        );
        Ok(token)
    }

    /// Outcomes of internal appends settled since the last call.
    pub fn take_completed_appends(&mut self) -> Vec<(AppendToken, Result<Offset, ErrorCode>)> {
        std::mem::take(&mut self.completed_appends)
    }

    /// Leaderships gained or lost since the last call.
    /// Whether leadership changes or completed appends wait for the group coordinator.
    pub(crate) fn has_group_work(&self) -> bool {
        !self.leadership_changes.is_empty() || !self.completed_appends.is_empty()
    }

    pub fn take_leadership_changes(&mut self) -> Vec<LeadershipChange> {
        std::mem::take(&mut self.leadership_changes)
    }

    /// Reads this broker's replica of `tp` from `offset` (up to the HW or the LEO).
    pub fn read_log(
        &self,
        tp: &TopicPartition,
        offset: Offset,
        max_bytes: u32,
        limit: ReadLimit,
    ) -> Result<Vec<Batch>, ErrorCode> {
        let part = self
            .partitions
            .get(tp)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        let log = &part.log;
        if offset < log.log_start_offset() || offset > log.log_end_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        let upto = match limit {
            ReadLimit::HighWatermark => log.high_watermark(),
            ReadLimit::LogEnd => log.log_end_offset(),
        };
        Ok(log.read(offset, max_bytes, upto))
    }

    /// Whether this broker currently leads `tp`, and in which epoch.
    pub fn leader_epoch_of(&self, tp: &TopicPartition) -> Option<LeaderEpoch> {
        self.partitions
            .get(tp)
            .filter(|p| p.is_leader())
            .map(|p| p.leader_epoch)
    }
}
