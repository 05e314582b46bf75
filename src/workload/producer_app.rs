//! A producing application: it calls `send()` on an embedded [`Producer`] and records what it
//! observed in the history. Three send modes show why Kafka's clients are asynchronous:
//!
//! - `sync`: `producer.send(record).get()` — each send waits for its acknowledgement before
//!   the next; one record per round trip (plus `linger.ms`): slow.
//! - `async`: callbacks; sends are pipelined, batches fill up, up to
//!   `max.in.flight.requests.per.connection` requests travel at once: fast.
//! - `fire-and-forget`: results are ignored; failures go unnoticed.
//!
//! The shape: `count` records and/or `rate` records per simulated second, between start and
//! stop times; keys none, uniform over N, skewed (Zipf-like), or fixed; every value unique
//! (`producer index << 40 | sequence`) so the checker can follow it. The application keeps
//! nothing on disk: a crash loses the sends it had in memory, whose outcome is then unknown.

use std::collections::BTreeSet;
use std::sync::Arc;

use rand::Rng as _;

use super::event::NodeEvent;
use super::history::{HistoryOp, NullValue};
use crate::kafka::clients::producer::metrics::SenderMetrics;
use crate::kafka::clients::producer::{Completion, Producer, ProducerTimer};
use crate::kafka::config::Acks;
use crate::kafka::config::ProducerConfig;
use crate::kafka::types::Topic;
use crate::kafka::{ErrorCode, Msg};
use crate::sim::{Context, Mapped, NodeId, Peer, Time, TimerId};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SendMode {
    Sync,
    Async,
    FireAndForget,
}

/// Which keys records carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyDistribution {
    None,
    /// `key-0` .. `key-{n-1}`, equally likely.
    Uniform(u32),
    /// `key-k` with weight 1/(k+1): a few hot keys (Zipf-like, integer maths).
    Skewed(u32),
    Fixed(Arc<str>),
}

pub use super::rate::SendRate;

#[derive(Clone, Debug)]
pub struct ProducerAppConfig {
    /// Distinguishes producers in values: value = index << 40 | sequence.
    pub index: u32,
    pub topic: Topic,
    pub bootstrap: Vec<NodeId>,
    pub client: ProducerConfig,
    pub mode: SendMode,
    pub count: Option<u64>,
    pub rate: Option<SendRate>,
    pub start: Time,
    pub stop: Option<Time>,
    pub keys: KeyDistribution,
    pub value_bytes: u32,
    /// The share of sends that carry a null value (a tombstone): (numerator, denominator).
    pub tombstones: (u64, u64),
    /// Async modes without a rate keep at most this many sends unfinished.
    pub async_window: u64,
    /// With a `transactional.id`: how sends are grouped into transactions.
    pub txn: Option<super::producer_txn::TxnPlan>,
}

impl ProducerAppConfig {
    pub fn new(index: u32, topic: &str, bootstrap: Vec<NodeId>) -> Self {
        ProducerAppConfig {
            index,
            topic: Topic::new(topic),
            bootstrap,
            client: ProducerConfig::default(),
            mode: SendMode::Async,
            count: None,
            rate: None,
            start: Time::ZERO,
            stop: None,
            keys: KeyDistribution::None,
            value_bytes: 100,
            tombstones: (0, 1),
            async_window: 10_000,
            txn: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProducerAppTimer {
    Client(ProducerTimer),
    /// The rate allows the next send.
    NextSend,
}

impl From<ProducerTimer> for ProducerAppTimer {
    fn from(t: ProducerTimer) -> Self {
        ProducerAppTimer::Client(t)
    }
}

/// Counters a test or a report reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerStats {
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    pub indeterminate: u64,
    pub last_ack: Option<Time>,
    /// Transactions that ended (committed, aborted or failed).
    pub transactions: u64,
    /// The producer was fenced (PRODUCER_FENCED) and closed.
    pub fenced: bool,
}

#[derive(Clone, Debug)]
pub struct ProducerApp {
    pub config: ProducerAppConfig,
    pub(super) producer: Option<Producer>,
    seq: u64,
    outstanding: BTreeSet<u64>,
    next_send_timer: Option<TimerId>,
    crashed: bool,
    pub stats: ProducerStats,
    /// Completions being reported (kept to reuse its memory).
    done: Vec<Completion>,
    /// Sender metrics of the producers of earlier incarnations (before a restart).
    earlier: SenderMetrics,
    /// The transactional loop (`producer_txn.rs`).
    pub(super) txn_phase: super::producer_txn::TxnPhase,
    /// Values sent in the open transaction.
    pub(super) txn_values: Vec<u64>,
}

pub(super) type ClientCx<'a, C> = Mapped<'a, C, Msg, ProducerTimer, crate::kafka::KafkaEvent>;

impl ProducerApp {
    pub fn new(config: ProducerAppConfig) -> Self {
        ProducerApp {
            config,
            producer: None,
            seq: 0,
            outstanding: BTreeSet::new(),
            next_send_timer: None,
            crashed: false,
            stats: ProducerStats::default(),
            done: Vec::new(),
            earlier: SenderMetrics::default(),
            txn_phase: Default::default(),
            txn_values: Vec::new(),
        }
    }

    /// The embedded producer client (the workbench shows its transaction state).
    pub fn producer(&self) -> Option<&Producer> {
        self.producer.as_ref()
    }

    /// Kafka's sender metrics over the whole run, every incarnation of the producer
    /// together (a restarted application's own metrics would start again from zero).
    pub fn sender_metrics(&self) -> SenderMetrics {
        let now = self
            .producer
            .as_ref()
            .map(|p| p.metrics())
            .unwrap_or_default();
        self.earlier.plus(now)
    }

    pub fn on_start<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        // A bad configuration is Kafka's ConfigException: the application never starts.
        let bootstrap = &self.config.bootstrap;
        if let Some(old) = &self.producer {
            self.earlier = self.earlier.plus(old.metrics());
        }
        self.producer = (self.config.client.effective().ok())
            .map(|config| Producer::new(&config, bootstrap.clone()));
        self.pump(cx);
    }

    pub fn on_message<C>(&mut self, cx: &mut C, _from: Peer, msg: Msg)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if self.crashed {
            return;
        }
        // The response is handled first and the sender loop runs once after it: inside the
        // application's next send() if it sends now (KafkaProducer's application thread
        // appends while the woken sender thread starts its pass), else right after.
        let handled = self
            .producer
            .as_mut()
            .is_some_and(|p| p.receive(&mut ClientCx::new(cx), &msg));
        let sent = self.stats.sent;
        self.pump(cx);
        if handled && self.stats.sent == sent {
            if let Some(p) = self.producer.as_mut() {
                p.run_sender(&mut ClientCx::new(cx));
            }
            self.pump(cx); // what that pass completed, and sends it made room for
        }
    }

    pub fn on_timer<C>(&mut self, cx: &mut C, timer: ProducerAppTimer)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if self.crashed {
            return;
        }
        match timer {
            ProducerAppTimer::Client(t) => {
                if let Some(p) = self.producer.as_mut() {
                    p.on_timer(&mut ClientCx::new(cx), t);
                }
            }
            ProducerAppTimer::NextSend => self.next_send_timer = None,
        }
        self.pump(cx);
    }

    /// A broker closed its connection: the producer fails the requests on it and retries.
    pub fn on_disconnect<C>(&mut self, cx: &mut C, peer: NodeId)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if self.crashed {
            return;
        }
        if let Some(p) = self.producer.as_mut() {
            p.on_disconnect(&mut ClientCx::new(cx), peer);
        }
        self.pump(cx);
    }

    /// `crash`: the process dies with sends in memory; their fate is unknown.
    pub fn on_signal<C>(&mut self, cx: &mut C, signal: &str)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if signal != "crash" || self.crashed {
            return;
        }
        self.crashed = true;
        self.txn_crashed(cx);
        for value in std::mem::take(&mut self.outstanding) {
            self.stats.indeterminate += 1;
            let reason = "producer crashed with the send in flight".to_string();
            cx.emit(HistoryOp::SendIndeterminate { value, reason }.into());
        }
        cx.emit(HistoryOp::Crashed.into());
    }

    /// Reports completions, then sends as many records as mode, rate and back-pressure allow.
    fn pump<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if self.producer.is_none() {
            return;
        }
        self.report_completions(cx);
        while self.txn_step(cx) && self.may_send(cx.now()) {
            self.send_one(cx);
            self.report_completions(cx);
        }
        self.txn_step(cx);
        self.arm_next_send(cx);
    }

    /// Runs the callbacks of the sends the producer completed since the last call.
    fn report_completions<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        let mut done = std::mem::take(&mut self.done);
        if let Some(p) = self.producer.as_mut() {
            p.take_completions_into(&mut done);
        }
        for c in done.drain(..) {
            self.record(cx, c);
        }
        self.done = done;
    }

    pub(super) fn finished(&self, now: Time) -> bool {
        self.config.count.is_some_and(|n| self.seq >= n)
            || self.config.stop.is_some_and(|s| now >= s)
    }

    /// When the rate allows send number `seq`.
    fn due(&self) -> Time {
        match self.config.rate {
            Some(r) => r.due(self.config.start, self.seq),
            None => self.config.start,
        }
    }

    fn may_send(&self, now: Time) -> bool {
        let Some(p) = self.producer.as_ref() else {
            return false;
        };
        if self.finished(now) || now < self.due() || p.is_blocked() {
            return false;
        }
        match self.config.mode {
            SendMode::Sync => p.outstanding() == 0,
            SendMode::Async | SendMode::FireAndForget => {
                self.config.rate.is_some() || (p.outstanding() as u64) < self.config.async_window
            }
        }
    }

    fn arm_next_send<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        let due = self.due();
        if self.next_send_timer.is_some() || self.finished(due) || due <= cx.now() {
            return;
        }
        self.next_send_timer = Some(cx.set_timer(due - cx.now(), ProducerAppTimer::NextSend));
    }

    fn send_one<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        let value = ((self.config.index as u64) << 40) | self.seq;
        self.seq += 1;
        let key = self.pick_key(cx);
        let topic = self.config.topic;
        // Drawn only when tombstones are asked for: other runs keep their random sequence.
        let (num, den) = self.config.tombstones;
        let tombstone = num > 0 && cx.rng().gen_range(0..den.max(1)) < num;
        cx.emit(
            HistoryOp::SendInvoke {
                value,
                topic,
                key: key.clone(),
                tombstone: NullValue(tombstone),
            }
            .into(),
        );
        self.stats.sent += 1;
        if self.config.txn.is_some() {
            self.txn_values.push(value);
        }
        if self.config.mode != SendMode::FireAndForget {
            self.outstanding.insert(value);
        }
        let p = self.producer.as_mut().expect("started");
        if tombstone {
            p.send_tombstone(&mut ClientCx::new(cx), topic, key, value);
        } else {
            let bytes = self.config.value_bytes;
            p.send(&mut ClientCx::new(cx), topic, key, value, bytes);
        }
    }

    fn pick_key<C>(&self, cx: &mut C) -> Option<Arc<str>>
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        match &self.config.keys {
            KeyDistribution::None => None,
            KeyDistribution::Fixed(k) => Some(k.clone()),
            KeyDistribution::Uniform(n) => {
                let k = cx.rng().gen_range(0..(*n).max(1));
                Some(Arc::from(format!("key-{k}")))
            }
            KeyDistribution::Skewed(n) => Some(Arc::from(format!("key-{}", zipf(cx, *n)))),
        }
    }

    /// Turns a completion into history (callbacks; fire-and-forget ignores them).
    fn record<C>(&mut self, cx: &mut C, c: Completion)
    where
        C: Context<Msg = Msg, Timer = ProducerAppTimer, Event = NodeEvent>,
    {
        if !self.outstanding.remove(&c.value) {
            return; // fire-and-forget, or reported at a crash already
        }
        let acks0 = self
            .producer
            .as_ref()
            .is_some_and(|p| p.config.acks == Acks::Zero);
        let op = match c.result {
            Ok(_) if acks0 => {
                self.stats.indeterminate += 1;
                HistoryOp::SendIndeterminate {
                    value: c.value,
                    reason: "acks=0: no acknowledgement".into(),
                }
            }
            Ok((tp, offset)) => {
                self.stats.acked += 1;
                self.stats.last_ack = Some(cx.now());
                HistoryOp::SendOk {
                    value: c.value,
                    tp,
                    offset,
                }
            }
            Err(e) if c.maybe_persisted => {
                self.stats.indeterminate += 1;
                HistoryOp::SendIndeterminate {
                    value: c.value,
                    reason: indeterminate_reason(e),
                }
            }
            Err(error) => {
                self.stats.failed += 1;
                HistoryOp::SendFail {
                    value: c.value,
                    error,
                }
            }
        };
        cx.emit(op.into());
    }
}

fn indeterminate_reason(e: ErrorCode) -> String {
    match e {
        ErrorCode::RequestTimedOut => {
            "delivery.timeout.ms expired after the request was sent".into()
        }
        e => format!("{e} after a request that may have been appended"),
    }
}

/// Key index k in 0..n with weight proportional to 1/(k+1), in integer arithmetic.
fn zipf<C: Context>(cx: &mut C, n: u32) -> u32 {
    const SCALE: u64 = 1 << 20;
    let n = n.max(1);
    let total: u64 = (1..=n as u64).map(|k| SCALE / k).sum();
    let mut x = cx.rng().gen_range(0..total);
    for k in 1..=n as u64 {
        let w = SCALE / k;
        if x < w {
            return (k - 1) as u32;
        }
        x -= w;
    }
    n - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::protocol::*;
    use crate::kafka::testing::FakeCx;
    use crate::kafka::types::{BrokerId, LeaderEpoch, ProducerId};
    use crate::kafka::Offset;
    use crate::kafka::ProducerEpoch;
    use crate::sim::Duration;

    type Cx = FakeCx<Msg, ProducerAppTimer, NodeEvent>;

    /// A broker answering after `rtt`, appending everything to one partition.
    fn answer(req: Msg, log_end: &mut Offset) -> Option<Msg> {
        Some(match req {
            Msg::MetadataRequest(r) => Msg::MetadataResponse(MetadataResponse {
                correlation_id: r.correlation_id,
                brokers: vec![(BrokerId(1), NodeId(1))],
                controller_id: None,
                topics: vec![TopicMetadata {
                    name: Arc::from("orders"),
                    error: ErrorCode::None,
                    partitions: vec![PartitionMetadata {
                        partition: 0,
                        error: ErrorCode::None,
                        leader: Some(BrokerId(1)),
                        leader_epoch: LeaderEpoch(0),
                        replicas: vec![BrokerId(1)],
                        isr: vec![BrokerId(1)],
                        offline_replicas: vec![],
                    }],
                }],
            }),
            Msg::InitProducerIdRequest(r) => Msg::InitProducerIdResponse(InitProducerIdResponse {
                correlation_id: r.correlation_id,
                error: ErrorCode::None,
                producer_id: ProducerId(1),
                producer_epoch: ProducerEpoch(0),
            }),
            Msg::ProduceRequest(r) => Msg::ProduceResponse(ProduceResponse {
                correlation_id: r.correlation_id,
                partitions: r
                    .partitions
                    .iter()
                    .map(|(tp, b)| {
                        let base = *log_end;
                        *log_end += b.len() as i64;
                        PartitionProduceResponse {
                            tp: tp.clone(),
                            error: ErrorCode::None,
                            base_offset: base,
                            log_start_offset: Offset::ZERO,
                            current_leader: None,
                        }
                    })
                    .collect(),
            }),
            _ => return None,
        })
    }

    /// Runs a producer app for `secs` simulated seconds against a 2 ms round-trip broker.
    fn run(mode: SendMode, secs: u64) -> (ProducerStats, Vec<NodeEvent>) {
        let mut cfg = ProducerAppConfig::new(1, "orders", vec![NodeId(1)]);
        cfg.mode = mode;
        cfg.async_window = 2_000;
        let mut app = ProducerApp::new(cfg);
        let mut cx = Cx::new(3);
        let mut log_end = Offset::ZERO;
        let mut wire: Vec<(Time, Msg)> = Vec::new();
        let end = Time(secs * 1_000_000);
        app.on_start(&mut cx);
        loop {
            for (_, m) in cx.take_sent() {
                if let Some(reply) = answer(m, &mut log_end) {
                    wire.push((cx.now + Duration::from_ms(2), reply));
                }
            }
            let next = wire.iter().map(|w| w.0).chain(cx.next_timer()).min();
            let Some(at) = next.filter(|&t| t <= end) else {
                break;
            };
            cx.now = at;
            let (due, later): (Vec<_>, Vec<_>) = wire.drain(..).partition(|w| w.0 <= at);
            wire = later;
            for (_, m) in due {
                app.on_message(
                    &mut cx,
                    Peer {
                        node: NodeId(1),
                        conn: 1,
                    },
                    m,
                );
            }
            for t in cx.due() {
                app.on_timer(&mut cx, t);
            }
        }
        (app.stats.clone(), std::mem::take(&mut cx.events))
    }

    #[test]
    fn async_sends_outpace_sync_sends_twentyfold() {
        // Proves pipelined async sends acknowledge ≥ 20× more records than send().get() in the
        // same simulated second: sync pays linger.ms + a round trip per record.
        let (sync, _) = run(SendMode::Sync, 1);
        let (asynchronous, _) = run(SendMode::Async, 1);
        eprintln!(
            "sync acked {} / async acked {}",
            sync.acked, asynchronous.acked
        );
        assert!(sync.acked > 50, "{sync:?}");
        assert!(
            asynchronous.acked >= 20 * sync.acked,
            "sync {sync:?} async {asynchronous:?}"
        );
    }

    #[test]
    fn history_pairs_every_invoke_with_an_outcome() {
        // Proves each SendInvoke is followed by exactly one SendOk with a distinct offset, and
        // values are unique (index << 40 | seq).
        let (stats, events) = run(SendMode::Sync, 1);
        let invokes: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                NodeEvent::History(HistoryOp::SendInvoke { value, .. }) => Some(*value),
                _ => None,
            })
            .collect();
        let oks: Vec<(u64, Offset)> = events
            .iter()
            .filter_map(|e| match e {
                NodeEvent::History(HistoryOp::SendOk { value, offset, .. }) => {
                    Some((*value, *offset))
                }
                _ => None,
            })
            .collect();
        assert_eq!(invokes.len() as u64, stats.sent);
        assert_eq!(invokes[0], 1 << 40);
        assert!(
            oks.len() + 1 >= invokes.len(),
            "at most the last one is pending"
        );
        for (i, (v, o)) in oks.iter().enumerate() {
            assert_eq!(*v, invokes[i]);
            assert_eq!(*o, Offset(i as i64));
        }
    }

    #[test]
    fn skewed_keys_favour_the_first_keys() {
        // Proves the Zipf-like distribution picks key 0 about twice as often as key 1.
        let mut cx = Cx::new(5);
        let mut counts = [0u32; 4];
        for _ in 0..4_000 {
            counts[zipf(&mut cx, 4) as usize] += 1;
        }
        assert!(
            counts[0] > counts[1] * 3 / 2 && counts[1] > counts[3],
            "{counts:?}"
        );
    }
}
