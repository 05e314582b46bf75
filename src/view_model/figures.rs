//! The figures the workbench shows, and where each comes from — so every label says what it
//! counts:
//!
//! - over the whole run, per chart bucket ([`tally`], [`gauges`]): records acknowledged and
//!   consumed (records, not wire messages), `send()` → acknowledgement latency per record,
//!   ISR shrinks, RPC calls ok / failed / attempts timed out, consumer lag, under-replicated
//!   and offline partitions;
//! - at the cursor ([`ClientTally`]): the same client figures, exactly, read from the
//!   client history the kernel keeps (what `kafkasim run` counts), brought up to the cursor
//!   incrementally as the cursor moves forward.
//!
//! It also gives each node event the names the event log's filter finds it by: Kafka's name
//! for the kind (`HighWatermark`, `LeaderElected`, `IsrChanged`…) and its partition.

use std::collections::BTreeMap;

use super::series::{self, Series};
use super::Term;
use crate::kafka::clients::producer::metrics::SenderMetrics;
use crate::kafka::{ErrorCode, KafkaEvent, TopicPartition};
use crate::sim::{NodeId, Time, TraceKind, TraceRecord, World};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
use crate::workload::node::SimNode;
use crate::workload::ping::PingEvent;
use crate::workload::rpc::RpcEvent;

/// What [`tally`] remembers while it reads a run: each partition's ISR size, so an ISR
/// change can be told apart as a shrink (the rule `kafkasim run`'s `isr-shrinks` uses).
#[derive(Default)]
pub struct TallyState {
    isr: BTreeMap<TopicPartition, usize>,
}

/// Adds one trace record to the figures over time.
pub fn tally(rec: &TraceRecord<NodeEvent>, st: &mut TallyState, s: &mut Series) {
    let t = rec.time;
    match &rec.kind {
        TraceKind::Deliver { msg, .. } => {
            s.count(series::DELIVERED, t, 1);
            if *msg == "Pong" {
                s.count(series::PING_REPLIES, t, 1);
            }
        }
        TraceKind::Drop { .. } => s.count(series::DROPPED, t, 1),
        TraceKind::Timer { timer, .. } if *timer == "call-timeout" => {
            s.count(series::RPC_TIMEOUTS, t, 1)
        }
        TraceKind::Emit { event, .. } => match event {
            NodeEvent::History(op) => history(op, t, s),
            NodeEvent::Rpc(RpcEvent::CallOk { .. }) => s.count(series::RPC_OK, t, 1),
            NodeEvent::Rpc(RpcEvent::CallFailed { .. }) => s.count(series::RPC_FAILED, t, 1),
            NodeEvent::Kafka(e) if isr_shrink(e, &mut st.isr) => s.count(series::ISR_SHRINKS, t, 1),
            NodeEvent::Kafka(e) if failed_produce(e) => s.count(series::FAILED_PRODUCE, t, 1),
            _ => {}
        },
        _ => {}
    }
}

fn history(op: &HistoryOp, t: Time, s: &mut Series) {
    match op {
        HistoryOp::SendInvoke { value, .. } => {
            s.count(series::SENT, t, 1);
            s.start(*value, t);
        }
        HistoryOp::SendOk { value, .. } => {
            s.count(series::ACKED, t, 1);
            s.stop(series::PRODUCE_LATENCY, *value, t);
        }
        HistoryOp::SendFail { value, .. } | HistoryOp::SendIndeterminate { value, .. } => {
            s.count(series::SEND_ERRORS, t, 1);
            s.forget(*value);
        }
        HistoryOp::Poll { records, .. } => s.count(series::CONSUMED, t, records.len() as u64),
        _ => {}
    }
}

/// Whether a leader's rejection of a produce append counts in Kafka's
/// `FailedProduceRequestsPerSec` (`ReplicaManager.appendToLocalLog` leaves out the errors
/// it calls known: a client with stale metadata, a too-large or corrupt batch, storage).
fn failed_produce(e: &KafkaEvent) -> bool {
    let KafkaEvent::ProduceRejected { error, .. } = e else {
        return false;
    };
    !matches!(
        error,
        ErrorCode::UnknownTopicOrPartition
            | ErrorCode::NotLeaderOrFollower
            | ErrorCode::MessageTooLarge
            | ErrorCode::CorruptMessage
    )
}

/// Whether `e` shrinks a partition's ISR; remembers ISR sizes from elections and changes.
pub fn isr_shrink(e: &KafkaEvent, isr: &mut BTreeMap<TopicPartition, usize>) -> bool {
    match e {
        KafkaEvent::LeaderElected { tp, isr: now, .. } => {
            isr.insert(tp.clone(), now.len());
            false
        }
        KafkaEvent::IsrChanged { tp, isr: now, .. } => {
            let before = isr.insert(tp.clone(), now.len());
            before.is_some_and(|b| now.len() < b)
        }
        _ => false,
    }
}

/// Gauges at one moment: consumer lag (summed over groups and partitions), partitions
/// whose ISR is smaller than their replica set, partitions without a leader.
pub fn gauges(world: &World<SimNode>) -> Vec<(&'static str, u64)> {
    let parts = super::observe::partitions(world);
    let mut out = Vec::new();
    if !parts.is_empty() {
        let urp = parts
            .iter()
            .filter(|p| p.isr.len() < p.replicas.len())
            .count();
        let offline = parts.iter().filter(|p| p.offline).count();
        out.push((series::UNDER_REPLICATED, urp as u64));
        out.push((series::OFFLINE, offline as u64));
    }
    let groups = super::observe::groups(world);
    if !groups.is_empty() {
        let lag = groups
            .iter()
            .flat_map(|g| &g.rows)
            .map(|r| {
                r.log_end_offset
                    .saturating_sub(r.current_offset.unwrap_or(0))
            })
            .sum();
        out.push((series::LAG, lag));
    }
    let mut sender = None::<SenderMetrics>;
    for id in world.node_ids() {
        if let SimNode::Producer(p) = world.node(id) {
            sender = Some(sender.unwrap_or_default().plus(p.sender_metrics()));
        }
    }
    if let Some(m) = sender {
        out.push((series::RECORD_SEND_TOTAL, m.record_send_total));
        out.push((series::REQUEST_LATENCY_TOTAL, m.request_latency_total_us));
        out.push((series::PRODUCE_RESPONSES, m.responses));
    }
    out
}

/// The names the event log's filter finds a node event by.
pub fn event_terms(event: &NodeEvent, push: &mut dyn FnMut(Term)) {
    let name = match event {
        NodeEvent::Kafka(e) => {
            if let Some(tp) = kafka_tp(e) {
                push(Term::Partition(tp.topic.as_str(), tp.partition));
            }
            kafka_name(e)
        }
        NodeEvent::Ping(e) => match e {
            PingEvent::Recovered { .. } => "Recovered",
            PingEvent::Timeout { .. } => "Timeout",
            PingEvent::Done { .. } => "Done",
        },
        NodeEvent::Rpc(e) => match e {
            RpcEvent::CallOk { .. } => "CallOk",
            RpcEvent::CallFailed { .. } => "CallFailed",
            RpcEvent::CallDelayed { .. } => "CallDelayed",
        },
        NodeEvent::History(op) => {
            push(Term::Name("history"));
            match op {
                HistoryOp::SendInvoke { .. } => "SendInvoke",
                HistoryOp::SendOk { tp, .. } => {
                    push(Term::Partition(tp.topic.as_str(), tp.partition));
                    "SendOk"
                }
                HistoryOp::SendFail { .. } => "SendFail",
                HistoryOp::SendIndeterminate { .. } => "SendIndeterminate",
                HistoryOp::Poll { .. } => "Poll",
                HistoryOp::Assigned { .. } => "Assigned",
                HistoryOp::Processed { .. } => "Processed",
                HistoryOp::CommitOk { .. } => "CommitOk",
                HistoryOp::CommitFail { .. } => "CommitFail",
                HistoryOp::Crashed => "Crashed",
                HistoryOp::TxnEnd { .. } => "TxnEnd",
                HistoryOp::ReadCommitted => "ReadCommitted",
                HistoryOp::TxnBegin => "TxnBegin",
            }
        }
    };
    push(Term::Name(name));
}

/// The kind of a Kafka event by its name (the names are Kafka's own vocabulary).
pub fn kafka_name(e: &KafkaEvent) -> &'static str {
    use KafkaEvent::*;
    match e {
        BrokerRegistered { .. } => "BrokerRegistered",
        BrokerFenced { .. } => "BrokerFenced",
        BrokerUnfenced { .. } => "BrokerUnfenced",
        DuplicateBrokerRegistration { .. } => "DuplicateBrokerRegistration",
        LeaderElected { .. } => "LeaderElected",
        PartitionOffline { .. } => "PartitionOffline",
        IsrChanged { .. } => "IsrChanged",
        BecameLeader { .. } => "BecameLeader",
        BecameFollower { .. } => "BecameFollower",
        Appended { .. } => "Appended",
        Replicated { .. } => "Replicated",
        HighWatermark { .. } => "HighWatermark",
        Truncated { .. } => "Truncated",
        ProduceRejected { .. } => "ProduceRejected",
        LogRecovered { .. } => "LogRecovered",
        IsrShrinkRequested { .. } => "IsrShrinkRequested",
        IsrExpandRequested { .. } => "IsrExpandRequested",
        ProduceAcked { .. } => "ProduceAcked",
        ProduceFailed { .. } => "ProduceFailed",
        RebalanceStarted { .. } => "RebalanceStarted",
        RebalanceCompleted { .. } => "RebalanceCompleted",
        PartitionsAssigned { .. } => "PartitionsAssigned",
        PartitionsRevoked { .. } => "PartitionsRevoked",
        PartitionsLost { .. } => "PartitionsLost",
        LogTruncationDetected { .. } => "LogTruncationDetected",
        OffsetCommitted { .. } => "OffsetCommitted",
        CommitFailed { .. } => "CommitFailed",
        OffsetReset { .. } => "OffsetReset",
        SegmentsDeleted { .. } => "SegmentsDeleted",
        RecordTooLarge { .. } => "RecordTooLarge",
        ProducerIdsExpired { .. } => "ProducerIdsExpired",
        LogStartOffsetIncremented { .. } => "LogStartOffsetIncremented",
        FetchPositionOutOfRange { .. } => "FetchPositionOutOfRange",
        FetchSessionOpened { .. } => "FetchSessionOpened",
        FetchSessionError { .. } => "FetchSessionError",
        TxnTransition { .. } => "TxnTransition",
        TxnMarkerAppended { .. } => "TxnMarkerAppended",
        TxnTimedOut { .. } => "TxnTimedOut",
        TxnPartitionVerified { .. } => "TxnPartitionVerified",
        TxnStateLoaded { .. } => "TxnStateLoaded",
        ProducerFenced { .. } => "ProducerFenced",
        TxnEnded { .. } => "TxnEnded",
        LogCleaned { .. } => "LogCleaned",
    }
}

fn kafka_tp(e: &KafkaEvent) -> Option<&TopicPartition> {
    use KafkaEvent::*;
    match e {
        LeaderElected { tp, .. }
        | PartitionOffline { tp, .. }
        | IsrChanged { tp, .. }
        | BecameLeader { tp, .. }
        | BecameFollower { tp, .. }
        | Appended { tp, .. }
        | Replicated { tp, .. }
        | HighWatermark { tp, .. }
        | Truncated { tp, .. }
        | ProduceRejected { tp, .. }
        | LogRecovered { tp, .. }
        | IsrShrinkRequested { tp, .. }
        | IsrExpandRequested { tp, .. }
        | ProduceAcked { tp, .. }
        | ProduceFailed { tp, .. }
        | OffsetCommitted { tp, .. }
        | OffsetReset { tp, .. }
        | SegmentsDeleted { tp, .. }
        | LogStartOffsetIncremented { tp, .. }
        | FetchPositionOutOfRange { tp, .. }
        | TxnMarkerAppended { tp, .. }
        | TxnPartitionVerified { tp, .. }
        | LogCleaned { tp, .. } => Some(tp),
        _ => None,
    }
}

/// One producer application's figures at the cursor, from its history.
#[derive(Clone, Debug, Default)]
pub struct ProducerTally {
    /// `send()` calls.
    pub sent: u64,
    /// Records acknowledged.
    pub acked: u64,
    /// Failed sends by Kafka error name, and sends with an unknown outcome.
    pub errors: BTreeMap<String, u64>,
    /// `send()` → acknowledgement of each acknowledged record, µs, in ack order.
    pub latencies_us: Vec<u64>,
    invoked: BTreeMap<u64, Time>,
    /// (count of latencies, p50, p99) last computed.
    quantiles: Option<(usize, u64, u64)>,
}

impl ProducerTally {
    /// p50 and p99 of the per-record latency so far (nearest rank).
    pub fn quantiles(&mut self) -> Option<(u64, u64)> {
        let n = self.latencies_us.len();
        if self.quantiles.is_none_or(|(k, _, _)| k != n) {
            let mut v = self.latencies_us.clone();
            let p50 = series::quantile(&mut v, 50)?;
            let p99 = series::quantile(&mut v, 99)?;
            self.quantiles = Some((n, p50, p99));
        }
        self.quantiles.map(|(_, a, b)| (a, b))
    }
}

/// Client figures at the cursor, from the client history the kernel keeps in every trace
/// mode: the same records `kafkasim run` counts. Kept up to date incrementally (the kept
/// history only grows as the cursor moves forward; a move back starts it over).
#[derive(Clone, Debug, Default)]
pub struct ClientTally {
    /// Kept records read so far.
    seen: usize,
    pub producers: BTreeMap<NodeId, ProducerTally>,
    /// Records returned by `poll()`, per consumer node.
    pub consumed: BTreeMap<NodeId, u64>,
    /// RPC calls answered / failed, per caller node.
    pub rpc_ok: BTreeMap<NodeId, u64>,
    pub rpc_failed: BTreeMap<NodeId, u64>,
    /// Records truncated away, per (broker node, partition).
    pub truncated: BTreeMap<(NodeId, TopicPartition), u64>,
    pub isr_shrinks: u64,
    isr: BTreeMap<TopicPartition, usize>,
}

impl ClientTally {
    /// Brings the tally to the world's cursor.
    pub fn update(&mut self, world: &World<SimNode>) {
        if world.kept().len() < self.seen {
            *self = ClientTally::default();
        }
        let from = self.seen;
        self.seen = world.kept().len();
        for rec in world.kept().iter_from(from) {
            if let TraceKind::Emit { node, event } = &rec.kind {
                self.add(*node, event, rec.time);
            }
        }
    }

    fn add(&mut self, node: NodeId, event: &NodeEvent, t: Time) {
        match event {
            NodeEvent::History(op) => self.history(node, op, t),
            NodeEvent::Rpc(RpcEvent::CallOk { .. }) => *self.rpc_ok.entry(node).or_default() += 1,
            NodeEvent::Rpc(RpcEvent::CallFailed { .. }) => {
                *self.rpc_failed.entry(node).or_default() += 1
            }
            NodeEvent::Kafka(e) => {
                if let KafkaEvent::Truncated { tp, removed, .. } = &**e {
                    *self.truncated.entry((node, tp.clone())).or_default() += removed;
                }
                if isr_shrink(e, &mut self.isr) {
                    self.isr_shrinks += 1;
                }
            }
            _ => {}
        }
    }

    fn history(&mut self, node: NodeId, op: &HistoryOp, t: Time) {
        let p = match op {
            HistoryOp::Poll { records, .. } => {
                *self.consumed.entry(node).or_default() += records.len() as u64;
                return;
            }
            HistoryOp::SendInvoke { .. }
            | HistoryOp::SendOk { .. }
            | HistoryOp::SendFail { .. }
            | HistoryOp::SendIndeterminate { .. } => self.producers.entry(node).or_default(),
            _ => return,
        };
        match op {
            HistoryOp::SendInvoke { value, .. } => {
                p.sent += 1;
                p.invoked.insert(*value, t);
            }
            HistoryOp::SendOk { value, .. } => {
                p.acked += 1;
                if let Some(t0) = p.invoked.remove(value) {
                    p.latencies_us.push(t.since(t0).as_us());
                }
            }
            HistoryOp::SendFail { value, error } => {
                p.invoked.remove(value);
                *p.errors.entry(error.name().to_string()).or_default() += 1;
            }
            HistoryOp::SendIndeterminate { value, .. } => {
                p.invoked.remove(value);
                *p.errors.entry("unknown outcome".to_string()).or_default() += 1;
            }
            _ => {}
        }
    }
}
