//! The world's node type: every kind of simulated process in one enum (static dispatch, so
//! the world stays `Clone` and the hot loop stays fast). Each variant's code is written
//! against the kernel's `Context` with its own narrow message/timer/event types; this file
//! adapts them with `Mapped` and `From` conversions.

use serde::Serialize;

use super::consumer_app::{ConsumerApp, ConsumerAppTimer};
use super::history::HistoryOp;
use super::ping::{PingClient, PingEvent, PingMsg, PingServer, PingTimer};
use super::producer_app::{ProducerApp, ProducerAppTimer};
use super::rpc::{RpcCallee, RpcCaller, RpcEvent, RpcMsg, RpcTimer};
use crate::kafka::broker::{Broker, BrokerTimer};
use crate::kafka::controller::{Controller, ControllerTimer};
use crate::kafka::{KafkaEvent, Msg, TopicPartition};
use crate::sim::{Directory, Mapped, Node, NodeContext, NodeId, Peer};
use crate::workload::scripted_client::{ScriptedProducer, ScriptedTimer};

/// Every message that crosses the simulated network.
#[derive(Clone, Debug)]
pub enum ActorMsg {
    Kafka(Msg),
    Ping(PingMsg),
    Rpc(RpcMsg),
}

/// Every timer kind.
#[derive(Clone, Debug)]
pub enum ActorTimer {
    Ping(PingTimer),
    Producer(ProducerAppTimer),
    Consumer(ConsumerAppTimer),
    Rpc(RpcTimer),
    Broker(BrokerTimer),
    Controller(ControllerTimer),
    Scripted(ScriptedTimer),
}

/// Every event a node can emit into the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum ActorEvent {
    /// Boxed: Kafka events are the largest and, when the trace is off, only the rare ones
    /// are made at all; the history, kept by the million, stays small.
    Kafka(Box<KafkaEvent>),
    Ping(PingEvent),
    History(HistoryOp),
    Rpc(RpcEvent),
}

impl From<Msg> for ActorMsg {
    fn from(m: Msg) -> Self {
        ActorMsg::Kafka(m)
    }
}
impl From<PingMsg> for ActorMsg {
    fn from(m: PingMsg) -> Self {
        ActorMsg::Ping(m)
    }
}
impl From<RpcMsg> for ActorMsg {
    fn from(m: RpcMsg) -> Self {
        ActorMsg::Rpc(m)
    }
}
impl From<ProducerAppTimer> for ActorTimer {
    fn from(t: ProducerAppTimer) -> Self {
        ActorTimer::Producer(t)
    }
}
impl From<ConsumerAppTimer> for ActorTimer {
    fn from(t: ConsumerAppTimer) -> Self {
        ActorTimer::Consumer(t)
    }
}
impl From<RpcTimer> for ActorTimer {
    fn from(t: RpcTimer) -> Self {
        ActorTimer::Rpc(t)
    }
}
impl From<RpcEvent> for ActorEvent {
    fn from(e: RpcEvent) -> Self {
        ActorEvent::Rpc(e)
    }
}
impl From<PingTimer> for ActorTimer {
    fn from(t: PingTimer) -> Self {
        ActorTimer::Ping(t)
    }
}
impl From<BrokerTimer> for ActorTimer {
    fn from(t: BrokerTimer) -> Self {
        ActorTimer::Broker(t)
    }
}
impl From<ControllerTimer> for ActorTimer {
    fn from(t: ControllerTimer) -> Self {
        ActorTimer::Controller(t)
    }
}
impl From<ScriptedTimer> for ActorTimer {
    fn from(t: ScriptedTimer) -> Self {
        ActorTimer::Scripted(t)
    }
}
impl From<KafkaEvent> for ActorEvent {
    fn from(e: KafkaEvent) -> Self {
        ActorEvent::Kafka(Box::new(e))
    }
}
impl From<PingEvent> for ActorEvent {
    fn from(e: PingEvent) -> Self {
        ActorEvent::Ping(e)
    }
}
impl From<HistoryOp> for ActorEvent {
    fn from(e: HistoryOp) -> Self {
        ActorEvent::History(e)
    }
}

/// A simulated process.
#[derive(Clone, Debug)]
pub enum Actor {
    PingServer(PingServer),
    PingClient(PingClient),
    Producer(ProducerApp),
    Consumer(ConsumerApp),
    RpcCaller(RpcCaller),
    RpcCallee(RpcCallee),
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    ScriptedProducer(Box<ScriptedProducer>),
}

type PingCx<'a, C> = Mapped<'a, C, PingMsg, PingTimer, PingEvent>;
type ProducerCx<'a, C> = Mapped<'a, C, Msg, ProducerAppTimer, ActorEvent>;
type ConsumerCx<'a, C> = Mapped<'a, C, Msg, ConsumerAppTimer, ActorEvent>;
type RpcCx<'a, C> = Mapped<'a, C, RpcMsg, RpcTimer, RpcEvent>;
type BrokerMapped<'a, C> = Mapped<'a, C, Msg, BrokerTimer, KafkaEvent>;
type ControllerMapped<'a, C> = Mapped<'a, C, Msg, ControllerTimer, KafkaEvent>;
type ScriptedMapped<'a, C> = Mapped<'a, C, Msg, ScriptedTimer, HistoryOp>;

impl Actor {
    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            Actor::Broker(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            Actor::Controller(c) => Some(c),
            _ => None,
        }
    }
    pub fn as_scripted_producer(&self) -> Option<&ScriptedProducer> {
        match self {
            Actor::ScriptedProducer(p) => Some(p),
            _ => None,
        }
    }
}

/// Resolves `leader(orders-0)` / `follower(orders-0)` from the controller's current view:
/// the follower is the first replica, in assignment order, that is not the leader, is
/// unfenced and whose process is not down.
fn resolve_partition_role(world: &dyn Directory<Actor>, role: &str) -> Option<NodeId> {
    let (kind, rest) = role.split_once('(')?;
    let tp = TopicPartition::parse(rest.strip_suffix(')')?)?;
    let c = world.node(world.find("controller")?).as_controller()?;
    let p = c.image.partitions.get(&tp)?;
    match kind.trim() {
        "leader" => c.image.node_of(p.leader?),
        "follower" => p
            .replicas
            .iter()
            .filter(|&&r| Some(r) != p.leader && c.image.is_live(r))
            .filter_map(|&r| c.image.node_of(r))
            .find(|&n| !world.is_down(n)),
        _ => None,
    }
}

impl Node for Actor {
    type Msg = ActorMsg;
    type Timer = ActorTimer;
    type Event = ActorEvent;

    fn on_start(&mut self, cx: &mut impl NodeContext<Self>) {
        match self {
            Actor::PingServer(_) | Actor::RpcCallee(_) => {}
            Actor::PingClient(c) => c.on_start(&mut PingCx::new(cx)),
            Actor::Producer(p) => p.on_start(&mut ProducerCx::new(cx)),
            Actor::Consumer(c) => c.on_start(&mut ConsumerCx::new(cx)),
            Actor::RpcCaller(c) => c.on_start(&mut RpcCx::new(cx)),
            Actor::Broker(b) => b.on_start(&mut BrokerMapped::new(cx)),
            Actor::Controller(c) => c.on_start(&mut ControllerMapped::new(cx)),
            Actor::ScriptedProducer(p) => p.on_start(&mut ScriptedMapped::new(cx)),
        }
    }

    fn on_message(&mut self, cx: &mut impl NodeContext<Self>, from: Peer, msg: ActorMsg) {
        match (self, msg) {
            (Actor::PingServer(s), ActorMsg::Ping(m)) => {
                s.on_message(&mut PingCx::new(cx), from, m)
            }
            (Actor::PingClient(c), ActorMsg::Ping(m)) => {
                c.on_message(&mut PingCx::new(cx), from, m)
            }
            (Actor::Producer(p), ActorMsg::Kafka(m)) => {
                p.on_message(&mut ProducerCx::new(cx), from, m)
            }
            (Actor::Consumer(c), ActorMsg::Kafka(m)) => {
                c.on_message(&mut ConsumerCx::new(cx), from, m)
            }
            (Actor::RpcCaller(c), ActorMsg::Rpc(m)) => c.on_message(&mut RpcCx::new(cx), from, m),
            (Actor::RpcCallee(c), ActorMsg::Rpc(m)) => c.on_message(&mut RpcCx::new(cx), from, m),
            (Actor::Broker(b), ActorMsg::Kafka(m)) => {
                b.on_message(&mut BrokerMapped::new(cx), from, m)
            }
            (Actor::Controller(c), ActorMsg::Kafka(m)) => {
                c.on_message(&mut ControllerMapped::new(cx), from, m)
            }
            (Actor::ScriptedProducer(p), ActorMsg::Kafka(m)) => {
                p.on_message(&mut ScriptedMapped::new(cx), from, m)
            }
            _ => {} // a message this kind of node does not speak: ignored, as a closed port
        }
    }

    fn on_timer(&mut self, cx: &mut impl NodeContext<Self>, timer: ActorTimer) {
        match (self, timer) {
            (Actor::PingClient(c), ActorTimer::Ping(t)) => c.on_timer(&mut PingCx::new(cx), t),
            (Actor::Broker(b), ActorTimer::Broker(t)) => b.on_timer(&mut BrokerMapped::new(cx), t),
            (Actor::Controller(c), ActorTimer::Controller(t)) => {
                c.on_timer(&mut ControllerMapped::new(cx), t)
            }
            (Actor::ScriptedProducer(p), ActorTimer::Scripted(t)) => {
                p.on_timer(&mut ScriptedMapped::new(cx), t)
            }
            (Actor::Producer(p), ActorTimer::Producer(t)) => {
                p.on_timer(&mut ProducerCx::new(cx), t)
            }
            (Actor::Consumer(c), ActorTimer::Consumer(t)) => {
                c.on_timer(&mut ConsumerCx::new(cx), t)
            }
            (Actor::RpcCaller(c), ActorTimer::Rpc(t)) => c.on_timer(&mut RpcCx::new(cx), t),
            (Actor::RpcCallee(c), ActorTimer::Rpc(t)) => c.on_timer(&mut RpcCx::new(cx), t),
            _ => {}
        }
    }

    fn on_disconnect(&mut self, cx: &mut impl NodeContext<Self>, peer: NodeId) {
        match self {
            Actor::Producer(p) => p.on_disconnect(&mut ProducerCx::new(cx), peer),
            Actor::Consumer(c) => c.on_disconnect(&mut ConsumerCx::new(cx), peer),
            Actor::Broker(b) => b.on_disconnect(&mut BrokerMapped::new(cx), peer),
            _ => {}
        }
    }

    fn on_signal(&mut self, cx: &mut impl NodeContext<Self>, signal: &str) {
        match self {
            Actor::Producer(p) => p.on_signal(&mut ProducerCx::new(cx), signal),
            Actor::Consumer(c) => c.on_signal(&mut ConsumerCx::new(cx), signal),
            _ => {}
        }
    }

    fn msg_label(msg: &ActorMsg) -> &'static str {
        match msg {
            ActorMsg::Kafka(m) => m.label(),
            ActorMsg::Ping(PingMsg::Ping { .. }) => "Ping",
            ActorMsg::Ping(PingMsg::Pong { .. }) => "Pong",
            ActorMsg::Rpc(RpcMsg::Call { .. }) => "RpcCall",
            ActorMsg::Rpc(RpcMsg::Reply { .. }) => "RpcReply",
        }
    }

    fn timer_label(timer: &ActorTimer) -> &'static str {
        match timer {
            ActorTimer::Ping(_) => "request-timeout",
            ActorTimer::Producer(ProducerAppTimer::Client(_)) => "producer-sender",
            ActorTimer::Producer(ProducerAppTimer::NextSend) => "next-send",
            ActorTimer::Consumer(ConsumerAppTimer::Client(_)) => "consumer-client",
            ActorTimer::Consumer(ConsumerAppTimer::ProcessDone) => "record-processed",
            ActorTimer::Rpc(RpcTimer::NextCall) => "next-call",
            ActorTimer::Rpc(RpcTimer::Timeout { .. }) => "call-timeout",
            ActorTimer::Rpc(RpcTimer::Processed { .. }) => "call-processed",
            ActorTimer::Broker(t) => match t {
                BrokerTimer::Heartbeat => "broker-heartbeat",
                BrokerTimer::HwCheckpoint => "high-watermark-checkpoint",
                BrokerTimer::IsrExpiration => "isr-expiration",
                BrokerTimer::FlushCheck => "log-flush",
                BrokerTimer::Purgatory => "purgatory-expiration",
                BrokerTimer::FetchTimeout { .. } => "replica-fetch-timeout",
                BrokerTimer::FetchBackoff { .. } => "replica-fetch-backoff",
                BrokerTimer::Group(_) => "group-coordinator",
            },
            ActorTimer::Controller(ControllerTimer::SessionCheck) => "broker-session-check",
            ActorTimer::Scripted(t) => match t {
                ScriptedTimer::Send => "send",
                ScriptedTimer::Retry => "retry-backoff",
                ScriptedTimer::RequestTimeout { .. } => "request-timeout",
            },
        }
    }

    fn msg_bytes(msg: &ActorMsg) -> usize {
        match msg {
            ActorMsg::Kafka(m) => m.size_bytes(),
            ActorMsg::Ping(PingMsg::Ping { payload, .. } | PingMsg::Pong { payload, .. }) => {
                *payload as usize
            }
            ActorMsg::Rpc(_) => 64,
        }
    }

    fn explain(event: &ActorEvent) -> String {
        match event {
            ActorEvent::Kafka(e) => e.explain(),
            ActorEvent::Ping(e) => e.explain(),
            ActorEvent::History(op) => format!("history: {op:?}"),
            ActorEvent::Rpc(e) => e.explain(),
        }
    }

    /// Kept whatever the trace mode: the client history, and the rare events summaries
    /// count (elections, truncations, rebalances, timeouts).
    fn keep(event: &ActorEvent) -> bool {
        match event {
            ActorEvent::History(_) | ActorEvent::Ping(_) | ActorEvent::Rpc(_) => true,
            ActorEvent::Kafka(e) => !matches!(
                **e,
                KafkaEvent::Appended { .. }
                    | KafkaEvent::Replicated { .. }
                    | KafkaEvent::HighWatermark { .. }
                    | KafkaEvent::ProduceAcked { .. }
                    | KafkaEvent::OffsetCommitted { .. }
            ),
        }
    }

    fn resolve_role(world: &dyn Directory<Self>, role: &str) -> Option<NodeId> {
        resolve_partition_role(world, role)
    }
}
