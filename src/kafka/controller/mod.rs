//! The KRaft controller (one node here): the single writer of the cluster metadata.
//!
//! Brokers **register** (getting a broker epoch) and then **heartbeat** every
//! `broker.heartbeat.interval.ms`. A broker is *unfenced* once its metadata has caught up;
//! a broker silent for `broker.session.timeout.ms` is **fenced**: it is removed from every
//! ISR (unless it is the last member — an ISR is never empty) and loses every leadership.
//!
//! **Leader election** picks the first replica, in assignment order, that is in the ISR and
//! unfenced, and bumps the leader epoch. With no such replica the partition goes *offline*
//! (no leader) — unless `unclean.leader.election.enable` lets any live replica lead, at the
//! price of losing what it lacks. Leaders ask for ISR changes with **AlterPartition**; the
//! partition epoch fences stale requests.
//!
//! Every decision is a record appended to the metadata log (flushed to the controller's
//! disk, so a restarted controller recovers) and pushed to the brokers, which apply it to
//! their own image. Simplifications are listed in docs/replication.md.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

mod balance;

use crate::kafka::config::{BrokerConfig, EffectiveTopicConfig, TopicConfig};
use crate::kafka::errors::ErrorCode;
use crate::kafka::event::KafkaEvent;
use crate::kafka::metadata::{partition_record, MetadataImage, PartitionImage};
use crate::kafka::protocol::*;
use crate::kafka::types::{BrokerId, LeaderEpoch, Topic, TopicPartition};
use crate::kafka::types::{NO_BROKER_EPOCH, NO_PARTITION_EPOCH};
use crate::sim::{Context, Duration, NodeId, Peer, Time, Wakeup};

/// The controller's disk file holding the metadata log.
pub const METADATA_LOG: &str = "__cluster_metadata";
/// Kafka's internal topic for consumer group offsets.
pub const CONSUMER_OFFSETS: &str = "__consumer_offsets";

/// A topic the controller creates at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    pub config: TopicConfig,
}

#[derive(Clone, Debug)]
pub enum ControllerTimer {
    /// The earliest session deadline of an unfenced broker came (Kafka's deferred event
    /// `maybeFenceReplicas`): fence every broker whose session expired.
    MaybeFenceStaleBrokers,
    /// `leader.imbalance.check.interval.seconds` after leadership left a preferred replica
    /// (Kafka's `maybeBalancePartitionLeaders`): see `balance.rs`.
    MaybeBalancePartitionLeaders,
}

#[derive(Clone, Debug)]
struct Session {
    last_heartbeat: Time,
    /// Metadata offset pushed to this broker so far.
    sent_offset: u64,
}

/// The controller node. Its blueprint is the configuration; everything else is rebuilt
/// from the metadata log on its disk.
#[derive(Clone, Debug)]
pub struct Controller {
    pub config: BrokerConfig,
    /// Broker ids expected at start: topics are created once they are all unfenced.
    pub expected_brokers: Vec<BrokerId>,
    pub topics: Vec<TopicSpec>,
    pub image: MetadataImage,
    log: Vec<MetadataRecord>,
    sessions: BTreeMap<BrokerId, Session>,
    /// Armed at the earliest session deadline (`last_heartbeat + broker.session.timeout.ms`).
    fence_timer: Wakeup,
    /// Partitions whose leader is not their first replica (Kafka's `imbalancedPartitions`).
    imbalanced: BTreeSet<TopicPartition>,
    /// A preferred-leader check is scheduled (Kafka's `ImbalanceSchedule.SCHEDULED`).
    balance_armed: bool,
    /// The last check hit its bound: the next one comes at once.
    balance_immediately: bool,
}

type Cx<'a> = dyn Context<Msg = Msg, Timer = ControllerTimer, Event = KafkaEvent> + 'a;

impl Controller {
    pub fn new(
        config: BrokerConfig,
        expected_brokers: Vec<BrokerId>,
        topics: Vec<TopicSpec>,
    ) -> Self {
        Controller {
            config,
            expected_brokers,
            topics,
            image: MetadataImage::default(),
            log: Vec::new(),
            sessions: BTreeMap::new(),
            fence_timer: Wakeup::default(),
            imbalanced: BTreeSet::new(),
            balance_armed: false,
            balance_immediately: false,
        }
    }

    /// The metadata log so far.
    pub fn metadata_log(&self) -> &[MetadataRecord] {
        &self.log
    }

    pub fn on_start(&mut self, cx: &mut Cx<'_>) {
        let records: Vec<MetadataRecord> = cx
            .disk()
            .read::<MetadataRecord>(METADATA_LOG)
            .cloned()
            .collect();
        for r in records {
            self.image.apply(&r);
            self.track_preferred_leader(&r);
            self.log.push(r);
        }
        // A new controller gives every registered broker a fresh session, as Kafka does.
        let now = cx.now();
        let sent_offset = self.log.len() as u64;
        for &b in self.image.brokers.keys() {
            let s = Session {
                last_heartbeat: now,
                sent_offset,
            };
            self.sessions.insert(b, s);
        }
        self.arm_fence_timer(cx);
        self.maybe_schedule_balance(cx);
    }

    fn session_timeout(&self) -> Duration {
        Duration::from_ms(self.config.broker_session_timeout_ms)
    }

    pub fn on_message(&mut self, cx: &mut Cx<'_>, from: Peer, msg: Msg) {
        match msg {
            Msg::BrokerRegistrationRequest(r) => self.on_broker_registration(cx, from, r),
            Msg::BrokerHeartbeatRequest(r) => self.on_broker_heartbeat(cx, from, r),
            Msg::AlterPartitionRequest(r) => self.on_alter_partition(cx, from, r),
            _ => {}
        }
    }

    pub fn on_timer(&mut self, cx: &mut Cx<'_>, timer: ControllerTimer) {
        match timer {
            ControllerTimer::MaybeFenceStaleBrokers => {
                self.fence_timer.fired(cx.now());
                self.on_maybe_fence_stale_brokers_timeout(cx);
                self.arm_fence_timer(cx);
            }
            ControllerTimer::MaybeBalancePartitionLeaders => {
                self.on_maybe_balance_partition_leaders_timeout(cx);
            }
        }
    }

    // ---- committing records

    /// Appends records to the metadata log (durably), applies them, and pushes them.
    fn commit(&mut self, cx: &mut Cx<'_>, records: Vec<MetadataRecord>) {
        if records.is_empty() {
            return;
        }
        for r in records {
            cx.disk().append(METADATA_LOG, r.clone());
            self.image.apply(&r);
            self.track_preferred_leader(&r);
            self.log.push(r);
        }
        cx.disk().flush(METADATA_LOG);
        self.push_all(cx);
        self.maybe_schedule_balance(cx);
    }

    fn push_all(&mut self, cx: &mut Cx<'_>) {
        let brokers: Vec<BrokerId> = self.sessions.keys().copied().collect();
        for b in brokers {
            self.push_to(cx, b);
        }
    }

    /// Sends broker `b` the records it has not been sent yet.
    fn push_to(&mut self, cx: &mut Cx<'_>, b: BrokerId) {
        let (Some(s), Some(node)) = (self.sessions.get_mut(&b), self.image.node_of(b)) else {
            return;
        };
        let end = self.log.len() as u64;
        if s.sent_offset >= end {
            return;
        }
        let update = MetadataUpdate {
            base_offset: s.sent_offset,
            records: self.log[s.sent_offset as usize..].to_vec(),
        };
        s.sent_offset = end;
        cx.send(node, Msg::MetadataUpdate(update));
    }

    // ---- broker lifecycle

    /// Kafka's `ClusterControlManager.registerBroker`: the same incarnation again is an
    /// amendment (a retried request: same broker epoch); a new incarnation while the old
    /// one's session is still valid is refused with DUPLICATE_BROKER_REGISTRATION (the old
    /// process may still be alive: two brokers must not share an id); otherwise a new broker
    /// epoch is registered, the broker starts fenced, and whatever the old incarnation still
    /// led moves away.
    fn on_broker_registration(
        &mut self,
        cx: &mut Cx<'_>,
        from: Peer,
        req: BrokerRegistrationRequest,
    ) {
        let id = req.broker_id;
        if let Some(b) = self.image.brokers.get(&id) {
            if b.incarnation == req.incarnation {
                let epoch = b.broker_epoch;
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.last_heartbeat = cx.now();
                }
                self.reply_registration(cx, from, req.correlation_id, ErrorCode::None, epoch);
                return;
            }
            if self.has_valid_session(cx.now(), id) {
                cx.emit(KafkaEvent::DuplicateBrokerRegistration { broker: id });
                let error = ErrorCode::DuplicateBrokerRegistration;
                self.reply_registration(cx, from, req.correlation_id, error, NO_BROKER_EPOCH);
                return;
            }
        }
        let broker_epoch = self.log.len() as i64;
        let mut records = vec![MetadataRecord::RegisterBroker {
            broker_id: id,
            node: from.node,
            broker_epoch,
            incarnation: req.incarnation,
        }];
        let session = Session {
            last_heartbeat: cx.now(),
            sent_offset: 0,
        };
        self.sessions.insert(id, session);
        if self.image.brokers.contains_key(&id) {
            // A new incarnation: the old process is gone, its leaderships move away now.
            let mut image = self.image.clone();
            image.apply(&records[0]);
            records.extend(self.move_leadership_away(cx, &mut image, id));
        }
        cx.emit(KafkaEvent::BrokerRegistered {
            broker: id,
            broker_epoch,
        });
        self.commit(cx, records);
        self.push_to(cx, id);
        self.reply_registration(cx, from, req.correlation_id, ErrorCode::None, broker_epoch);
    }

    /// Kafka's `BrokerHeartbeatManager.hasValidSession`: unfenced and heard from within
    /// `broker.session.timeout.ms` (at the deadline itself the session has expired, as in
    /// [`Self::on_maybe_fence_stale_brokers_timeout`]).
    fn has_valid_session(&self, now: Time, id: BrokerId) -> bool {
        self.image.is_live(id)
            && self
                .sessions
                .get(&id)
                .is_some_and(|s| now < s.last_heartbeat + self.session_timeout())
    }

    fn reply_registration(
        &self,
        cx: &mut Cx<'_>,
        from: Peer,
        correlation_id: CorrelationId,
        error: ErrorCode,
        broker_epoch: i64,
    ) {
        let resp = BrokerRegistrationResponse {
            correlation_id,
            error,
            broker_epoch,
        };
        cx.reply(from, Msg::BrokerRegistrationResponse(resp));
    }

    fn on_broker_heartbeat(&mut self, cx: &mut Cx<'_>, from: Peer, req: BrokerHeartbeatRequest) {
        let id = req.broker_id;
        let error = match self.image.brokers.get(&id) {
            None => ErrorCode::BrokerIdNotRegistered,
            Some(b) if b.broker_epoch != req.broker_epoch => ErrorCode::StaleBrokerEpoch,
            Some(_) => ErrorCode::None,
        };
        if error != ErrorCode::None || !self.sessions.contains_key(&id) {
            let resp = BrokerHeartbeatResponse {
                correlation_id: req.correlation_id,
                error,
                is_caught_up: false,
                is_fenced: true,
                should_shut_down: false,
            };
            cx.reply(from, Msg::BrokerHeartbeatResponse(resp));
            return;
        }
        let deadline = cx.now() + self.session_timeout();
        let s = self.sessions.get_mut(&id).expect("checked");
        s.last_heartbeat = cx.now();
        // The broker missed records (a gap, or a push lost while it was unreachable).
        s.sent_offset = s.sent_offset.min(req.current_metadata_offset);
        let caught_up = req.current_metadata_offset > req.broker_epoch as u64;
        if caught_up && self.image.brokers[&id].fenced {
            self.unfence(cx, id);
        }
        if self.image.is_live(id) {
            // Later than any armed deadline: it only arms a timer when none is armed.
            self.fence_timer
                .arm(cx, deadline, ControllerTimer::MaybeFenceStaleBrokers);
        }
        self.push_to(cx, id);
        let resp = BrokerHeartbeatResponse {
            correlation_id: req.correlation_id,
            error,
            is_caught_up: caught_up,
            is_fenced: self.image.brokers[&id].fenced,
            should_shut_down: false,
        };
        cx.reply(from, Msg::BrokerHeartbeatResponse(resp));
    }

    fn unfence(&mut self, cx: &mut Cx<'_>, id: BrokerId) {
        let mut records = vec![MetadataRecord::UnfenceBroker { broker_id: id }];
        let mut image = self.image.clone();
        image.apply(&records[0]);
        cx.emit(KafkaEvent::BrokerUnfenced { broker: id });
        if self.image.topics.is_empty() && self.expected_brokers.iter().all(|&b| image.is_live(b)) {
            records.extend(self.create_topics(cx, &image));
        } else {
            records.extend(self.elect_leaderless(cx, &mut image));
        }
        self.commit(cx, records);
    }

    /// Kafka's `BrokerHeartbeatManager`: an unfenced broker's session expires
    /// `broker.session.timeout.ms` after the controller last heard from it, and
    /// `QuorumController` runs the fencing as a deferred event at exactly that deadline
    /// (`nextCheckTimeNs`, `findOneStaleBroker`). Kafka's validity check is
    /// `lastContactNs + sessionTimeoutNs >= now`, so the broker is fenced the first nanosecond
    /// after the deadline; with a microsecond clock that is the deadline itself.
    fn on_maybe_fence_stale_brokers_timeout(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now();
        let timeout = self.session_timeout();
        let expired: Vec<BrokerId> = self
            .sessions
            .iter()
            .filter(|(b, s)| self.image.is_live(**b) && now.since(s.last_heartbeat) >= timeout)
            .map(|(b, _)| *b)
            .collect();
        for b in expired {
            self.fence(cx, b);
        }
    }

    /// Arms the fencing timer at the earliest session deadline of an unfenced broker. Its
    /// cost grows with the brokers, not the partitions; it runs once per deadline.
    fn arm_fence_timer(&mut self, cx: &mut Cx<'_>) {
        let timeout = self.session_timeout();
        let next = self
            .sessions
            .iter()
            .filter(|(b, _)| self.image.is_live(**b))
            .map(|(_, s)| s.last_heartbeat + timeout)
            .min();
        if let Some(at) = next {
            let at = at.max(cx.now());
            self.fence_timer
                .arm(cx, at, ControllerTimer::MaybeFenceStaleBrokers);
        }
    }

    /// Fences `b`: out of every ISR (unless last member), and out of every leadership.
    fn fence(&mut self, cx: &mut Cx<'_>, b: BrokerId) {
        let mut records = vec![MetadataRecord::FenceBroker { broker_id: b }];
        let mut image = self.image.clone();
        image.apply(&records[0]);
        cx.emit(KafkaEvent::BrokerFenced { broker: b });
        let tps: Vec<TopicPartition> = image.partitions.keys().cloned().collect();
        for tp in tps {
            let p = image.partitions[&tp].clone();
            if !p.isr.contains(&b) && p.leader != Some(b) {
                continue;
            }
            let mut next = p.clone();
            if next.isr.len() > 1 {
                next.isr.retain(|&x| x != b);
            }
            if p.leader == Some(b) {
                next = self.elect(cx, &image, &tp, next);
            } else {
                next.partition_epoch += 1;
                cx.emit(KafkaEvent::IsrChanged {
                    tp: tp.clone(),
                    isr: next.isr.clone(),
                    partition_epoch: next.partition_epoch,
                });
            }
            let rec = partition_record(&tp, &next);
            image.apply(&rec);
            records.push(rec);
        }
        self.commit(cx, records);
    }

    /// Re-elects every partition `b` leads, with `b` not eligible (it is fenced in `image`).
    fn move_leadership_away(
        &self,
        cx: &mut Cx<'_>,
        image: &mut MetadataImage,
        b: BrokerId,
    ) -> Vec<MetadataRecord> {
        let led: Vec<TopicPartition> = image
            .partitions
            .iter()
            .filter(|(_, p)| p.leader == Some(b))
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut records = Vec::new();
        for tp in led {
            let p = image.partitions[&tp].clone();
            let next = self.elect(cx, image, &tp, p);
            let rec = partition_record(&tp, &next);
            image.apply(&rec);
            records.push(rec);
        }
        records
    }

    /// Elects a leader for every partition that has none (after a broker came back).
    fn elect_leaderless(&self, cx: &mut Cx<'_>, image: &mut MetadataImage) -> Vec<MetadataRecord> {
        let leaderless: Vec<TopicPartition> = image
            .partitions
            .iter()
            .filter(|(_, p)| p.leader.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut records = Vec::new();
        for tp in leaderless {
            let p = image.partitions[&tp].clone();
            let next = self.elect(cx, image, &tp, p);
            if next.leader.is_some() {
                let rec = partition_record(&tp, &next);
                image.apply(&rec);
                records.push(rec);
            }
        }
        records
    }

    /// Kafka's election: the first replica in assignment order that is in the ISR and
    /// unfenced; else, if allowed, the first unfenced replica (unclean); else no leader.
    fn elect(
        &self,
        cx: &mut Cx<'_>,
        image: &MetadataImage,
        tp: &TopicPartition,
        mut p: PartitionImage,
    ) -> PartitionImage {
        let clean = p
            .replicas
            .iter()
            .copied()
            .find(|r| p.isr.contains(r) && image.is_live(*r));
        let cfg = EffectiveTopicConfig::resolve(&image.topic_config(&tp.topic), &self.config);
        let unclean = match clean {
            Some(_) => None,
            None if cfg.unclean_leader_election_enable => {
                p.replicas.iter().copied().find(|r| image.is_live(*r))
            }
            None => None,
        };
        let leader = clean.or(unclean);
        if let Some(u) = unclean {
            p.isr = vec![u];
        }
        p.partition_epoch += 1;
        if leader != p.leader {
            p.leader_epoch = p.leader_epoch.next();
        }
        p.leader = leader;
        match leader {
            Some(l) => cx.emit(KafkaEvent::LeaderElected {
                tp: tp.clone(),
                leader: l,
                leader_epoch: p.leader_epoch,
                isr: p.isr.clone(),
                unclean: unclean.is_some(),
                preferred: false,
            }),
            None => cx.emit(KafkaEvent::PartitionOffline {
                tp: tp.clone(),
                leader_epoch: p.leader_epoch,
            }),
        }
        p
    }

    // ---- topics

    fn create_topics(&self, cx: &mut Cx<'_>, image: &MetadataImage) -> Vec<MetadataRecord> {
        let brokers: Vec<BrokerId> = image.brokers.keys().copied().collect();
        let mut specs = self.topics.clone();
        specs.push(TopicSpec {
            name: CONSUMER_OFFSETS.to_string(),
            partitions: self.config.offsets_topic_num_partitions,
            replication_factor: self
                .config
                .offsets_topic_replication_factor
                .min(brokers.len() as u32),
            config: TopicConfig::default(),
        });
        let mut records = Vec::new();
        for spec in specs {
            let name: Arc<str> = Arc::from(spec.name.as_str());
            records.push(MetadataRecord::Topic {
                name: name.clone(),
                partitions: spec.partitions,
                config: spec.config.clone(),
            });
            let assignment =
                assign_replicas(cx, &brokers, spec.partitions, spec.replication_factor);
            for (i, replicas) in assignment.into_iter().enumerate() {
                let tp = TopicPartition {
                    topic: Topic::new(&name),
                    partition: i as u32,
                };
                let p = PartitionImage {
                    leader: replicas.first().copied(),
                    isr: replicas.clone(),
                    replicas,
                    leader_epoch: LeaderEpoch(0),
                    partition_epoch: 0,
                };
                if let Some(l) = p.leader {
                    cx.emit(KafkaEvent::LeaderElected {
                        tp: tp.clone(),
                        leader: l,
                        leader_epoch: p.leader_epoch,
                        isr: p.isr.clone(),
                        unclean: false,
                        preferred: false,
                    });
                }
                records.push(partition_record(&tp, &p));
            }
        }
        records
    }

    // ---- ISR changes

    fn on_alter_partition(&mut self, cx: &mut Cx<'_>, from: Peer, req: AlterPartitionRequest) {
        let stale = self
            .image
            .brokers
            .get(&req.broker_id)
            .is_none_or(|b| b.broker_epoch != req.broker_epoch);
        let mut results = Vec::new();
        let mut records = Vec::new();
        for item in req.partitions {
            let outcome = if stale {
                Err(ErrorCode::StaleBrokerEpoch)
            } else {
                self.check_alter(req.broker_id, &item)
            };
            let result = match outcome {
                Ok(mut next) => {
                    next.isr = item.new_isr.clone();
                    next.partition_epoch += 1;
                    cx.emit(KafkaEvent::IsrChanged {
                        tp: item.tp.clone(),
                        isr: next.isr.clone(),
                        partition_epoch: next.partition_epoch,
                    });
                    records.push(partition_record(&item.tp, &next));
                    alter_result(&item.tp, ErrorCode::None, Some(&next))
                }
                Err(e) => alter_result(&item.tp, e, self.image.partitions.get(&item.tp)),
            };
            results.push(result);
        }
        let resp = AlterPartitionResponse {
            correlation_id: req.correlation_id,
            error: ErrorCode::None,
            partitions: results,
        };
        self.commit(cx, records);
        cx.reply(from, Msg::AlterPartitionResponse(resp));
    }

    fn check_alter(
        &self,
        broker: BrokerId,
        item: &AlterPartitionItem,
    ) -> Result<PartitionImage, ErrorCode> {
        let p = self
            .image
            .partitions
            .get(&item.tp)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?;
        if p.leader != Some(broker) {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if item.leader_epoch != p.leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if item.partition_epoch != p.partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let valid =
            item.new_isr.contains(&broker) && item.new_isr.iter().all(|b| p.replicas.contains(b));
        if !valid {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        if item
            .new_isr
            .iter()
            .any(|b| !p.isr.contains(b) && !self.image.is_live(*b))
        {
            return Err(ErrorCode::IneligibleReplica);
        }
        Ok(p.clone())
    }
}

fn alter_result(
    tp: &TopicPartition,
    error: ErrorCode,
    p: Option<&PartitionImage>,
) -> AlterPartitionResult {
    AlterPartitionResult {
        tp: tp.clone(),
        error,
        leader: p.and_then(|p| p.leader),
        leader_epoch: p.map_or(LeaderEpoch::NONE, |p| p.leader_epoch),
        isr: p.map(|p| p.isr.clone()).unwrap_or_default(),
        partition_epoch: p.map_or(NO_PARTITION_EPOCH, |p| p.partition_epoch),
    }
}

/// Kafka's rack-unaware replica assignment: a random first broker and a random shift, the
/// shift growing every time the partitions wrap around the brokers, so replicas spread.
pub fn assign_replicas<C: Context + ?Sized>(
    cx: &mut C,
    brokers: &[BrokerId],
    partitions: u32,
    rf: u32,
) -> Vec<Vec<BrokerId>> {
    let n = brokers.len();
    assert!(
        n > 0 && (rf as usize) <= n,
        "replication factor {rf} needs {rf} brokers, have {n}"
    );
    let start = crate::sim::rng::between(cx.rng(), 0, n as u64 - 1) as usize;
    let mut shift = crate::sim::rng::between(cx.rng(), 0, n as u64 - 1) as usize;
    let mut out = Vec::new();
    for p in 0..partitions as usize {
        if p > 0 && p % n == 0 {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![brokers[first]];
        for j in 0..rf as usize - 1 {
            let idx = if n > 1 {
                (first + 1 + (shift + j) % (n - 1)) % n
            } else {
                first
            };
            replicas.push(brokers[idx]);
        }
        out.push(replicas);
    }
    out
}

/// For role targets: the node leading `tp` in the controller's view.
pub fn leader_node(c: &Controller, tp: &TopicPartition) -> Option<NodeId> {
    let l = c.image.partitions.get(tp)?.leader?;
    c.image.node_of(l)
}
