//! A tiny fake [`Context`] for unit tests of sans-IO components: it records what the
//! component asked for (sends, timers, closed connections, events) and lets the test move
//! time and fire due timers by hand.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::kafka::broker::group_coordinator::*;
use crate::kafka::errors::ErrorCode;
use crate::kafka::protocol::*;
use crate::kafka::record::{Record, RecordBatch};
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::rng::derive;
use crate::sim::{Context, Disk, Duration, NodeId, Peer, Rng, Time, TimerId};

pub struct FakeCx<M, T, E> {
    pub now: Time,
    pub me: NodeId,
    pub sent: Vec<(NodeId, M)>,
    pub timers: Vec<(TimerId, Time, T)>,
    pub closed: Vec<NodeId>,
    pub events: Vec<E>,
    rng: Rng,
    disk: Disk,
    next_timer: u64,
}

impl<M, T: Clone, E> FakeCx<M, T, E> {
    pub fn new(seed: u64) -> Self {
        FakeCx {
            now: Time::ZERO,
            me: NodeId(100),
            sent: Vec::new(),
            timers: Vec::new(),
            closed: Vec::new(),
            events: Vec::new(),
            rng: derive(seed, 9),
            disk: Disk::new(),
            next_timer: 0,
        }
    }

    pub fn take_sent(&mut self) -> Vec<(NodeId, M)> {
        std::mem::take(&mut self.sent)
    }

    /// Removes and returns the timers due at or before `now`, earliest first.
    pub fn due(&mut self) -> Vec<T> {
        self.timers.sort_by_key(|t| (t.1, t.0));
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.timers.drain(..).partition(|t| t.1 <= now);
        self.timers = later;
        due.into_iter().map(|t| t.2).collect()
    }

    /// The earliest armed timer's time.
    pub fn next_timer(&self) -> Option<Time> {
        self.timers.iter().map(|t| t.1).min()
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

impl<M, T: Clone, E> Context for FakeCx<M, T, E> {
    type Msg = M;
    type Timer = T;
    type Event = E;
    fn now(&self) -> Time {
        self.now
    }
    fn me(&self) -> NodeId {
        self.me
    }
    fn send(&mut self, to: NodeId, msg: M) {
        self.sent.push((to, msg));
    }
    fn reply(&mut self, peer: Peer, msg: M) {
        self.sent.push((peer.node, msg));
    }
    fn set_timer(&mut self, after: Duration, timer: T) -> TimerId {
        self.next_timer += 1;
        self.timers
            .push((TimerId(self.next_timer), self.now + after, timer));
        TimerId(self.next_timer)
    }
    fn cancel_timer(&mut self, id: TimerId) {
        self.timers.retain(|t| t.0 != id);
    }
    fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
    fn disk(&mut self) -> &mut Disk {
        &mut self.disk
    }
    fn emit(&mut self, event: E) {
        self.events.push(event);
    }
    fn close_connection(&mut self, peer: NodeId) {
        self.closed.push(peer);
    }
}

/// The mini broker's node.
pub const BROKER: NodeId = NodeId(1);
/// The mini broker's only topic.
pub const TOPIC: &str = "orders";

/// A one-broker cluster for client tests: topic `orders`, the real group coordinator
/// (appends complete at once), an in-memory log per partition, long-polling fetches.
pub struct MiniBroker {
    pub coord: GroupCoordinator,
    pub logs: BTreeMap<TopicPartition, Vec<u64>>,
    pub timers: Vec<(Time, GroupTimer)>,
    /// Long-polling fetches: (deadline, who, request).
    pub fetches: Vec<(Time, Peer, FetchRequest)>,
    partitions: u32,
    /// One-shot errors the next fetch of a partition answers with.
    pub fetch_errors: BTreeMap<TopicPartition, ErrorCode>,
    /// Labels of every request received, in order.
    pub received: Vec<&'static str>,
}

impl MiniBroker {
    pub fn new(partitions: u32) -> Self {
        let mut coord = GroupCoordinator::new(GroupCoordinatorConfig::default());
        for p in 0..50 {
            coord.on_become_leader(p, &[]);
        }
        MiniBroker {
            coord,
            logs: BTreeMap::new(),
            timers: Vec::new(),
            fetches: Vec::new(),
            partitions,
            fetch_errors: BTreeMap::new(),
            received: Vec::new(),
        }
    }

    pub fn actions(&mut self, now: Time, actions: Vec<GroupAction>, out: &mut Vec<(Peer, Msg)>) {
        for a in actions {
            match a {
                GroupAction::Respond { to, msg } => out.push((to, msg)),
                GroupAction::SetTimer { after, timer } => self.timers.push((now + after, timer)),
                GroupAction::Append { commit, .. } | GroupAction::AppendTxn { commit, .. } => {
                    let more = self.coord.on_append_complete(commit, ErrorCode::None);
                    self.actions(now, more, out);
                }
                GroupAction::Emit(_) => {}
            }
        }
    }

    pub fn handle(&mut self, now: Time, from: Peer, msg: Msg, out: &mut Vec<(Peer, Msg)>) {
        self.received.push(msg.label());
        let msg = match self.coord.on_request(now, from, msg.clone()) {
            Some(actions) => return self.actions(now, actions, out),
            None => msg,
        };
        let reply = match msg {
            Msg::MetadataRequest(r) => Msg::MetadataResponse(self.metadata(r.correlation_id)),
            Msg::FindCoordinatorRequest(r) => {
                Msg::FindCoordinatorResponse(FindCoordinatorResponse {
                    correlation_id: r.correlation_id,
                    error: ErrorCode::None,
                    coordinator: Some((BrokerId(1), BROKER)),
                })
            }
            Msg::ListOffsetsRequest(r) => Msg::ListOffsetsResponse(ListOffsetsResponse {
                correlation_id: r.correlation_id,
                partitions: r
                    .partitions
                    .iter()
                    .map(|(tp, _, spec)| ListOffsetsPartition {
                        tp: tp.clone(),
                        error: ErrorCode::None,
                        offset: match spec {
                            OffsetSpec::Earliest => Offset::ZERO,
                            OffsetSpec::Latest => self
                                .logs
                                .get(tp)
                                .map_or(Offset::ZERO, |l| Offset(l.len() as i64)),
                        },
                        leader_epoch: LeaderEpoch(0),
                    })
                    .collect(),
            }),
            Msg::FetchRequest(r) => {
                self.fetches
                    .push((now + Duration::from_ms(r.max_wait_ms), from, *r));
                return;
            }
            _ => return,
        };
        out.push((from, reply));
    }

    fn metadata(&self, correlation_id: CorrelationId) -> MetadataResponse {
        MetadataResponse {
            correlation_id,
            brokers: vec![(BrokerId(1), BROKER)],
            controller_id: None,
            topics: vec![TopicMetadata {
                name: Arc::from(TOPIC),
                error: ErrorCode::None,
                partitions: (0..self.partitions)
                    .map(|p| PartitionMetadata {
                        partition: p,
                        error: ErrorCode::None,
                        leader: Some(BrokerId(1)),
                        leader_epoch: LeaderEpoch(0),
                        replicas: vec![BrokerId(1)],
                        isr: vec![BrokerId(1)],
                        offline_replicas: vec![],
                    })
                    .collect(),
            }],
        }
    }

    /// Answers fetches that have data or whose max wait passed.
    pub fn answer_fetches(&mut self, now: Time, out: &mut Vec<(Peer, Msg)>) {
        let pending = std::mem::take(&mut self.fetches);
        for (deadline, from, r) in pending {
            let parts: Vec<FetchPartitionResponse> =
                r.partitions.iter().map(|fp| self.read(fp)).collect();
            if now < deadline
                && parts
                    .iter()
                    .all(|p| p.batches.is_empty() && p.error.is_ok())
            {
                self.fetches.push((deadline, from, r));
                continue;
            }
            out.push((
                from,
                Msg::FetchResponse(FetchResponse {
                    correlation_id: r.correlation_id,
                    error: ErrorCode::None,
                    session_id: 0, // no session: the consumer keeps sending full fetches
                    partitions: parts,
                }),
            ));
        }
    }

    fn read(&mut self, fp: &FetchPartition) -> FetchPartitionResponse {
        if let Some(error) = self.fetch_errors.remove(&fp.tp) {
            return FetchPartitionResponse {
                tp: fp.tp.clone(),
                error,
                high_watermark: Offset::UNKNOWN,
                last_stable_offset: Offset::UNKNOWN,
                log_start_offset: Offset::UNKNOWN,
                diverging_epoch: None,
                current_leader: None,
                batches: Vec::new(),
                aborted_transactions: Vec::new(),
            };
        }
        let log = self.logs.get(&fp.tp).cloned().unwrap_or_default();
        let from = fp.fetch_offset.max(Offset::ZERO).0 as usize;
        let records: Vec<Record> = log
            .iter()
            .skip(from)
            .map(|&v| Record {
                key: None,
                value: v,
                value_bytes: 10,
                timestamp_us: 0,
                tombstone: false,
            })
            .collect();
        let mut batch = RecordBatch::new(records);
        batch.base_offset = Offset(from as i64);
        batch.partition_leader_epoch = LeaderEpoch(0);
        FetchPartitionResponse {
            tp: fp.tp.clone(),
            error: ErrorCode::None,
            high_watermark: Offset(log.len() as i64),
            last_stable_offset: Offset(log.len() as i64),
            log_start_offset: Offset::ZERO,
            diverging_epoch: None,
            current_leader: None,
            batches: if batch.is_empty() {
                vec![]
            } else {
                vec![Arc::new(batch)]
            },
            aborted_transactions: Vec::new(),
        }
    }
}
