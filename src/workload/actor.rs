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
use crate::kafka::{KafkaEvent, Msg};
use crate::sim::{Cx, Mapped, Node, Peer};

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
}

/// Every event a node can emit into the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum ActorEvent {
    Kafka(KafkaEvent),
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
impl From<KafkaEvent> for ActorEvent {
    fn from(e: KafkaEvent) -> Self {
        ActorEvent::Kafka(e)
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
}

type PingCx<'a, 'b> = Mapped<'a, Cx<'b, Actor>, PingMsg, PingTimer, PingEvent>;
type ProducerCx<'a, 'b> = Mapped<'a, Cx<'b, Actor>, Msg, ProducerAppTimer, ActorEvent>;
type ConsumerCx<'a, 'b> = Mapped<'a, Cx<'b, Actor>, Msg, ConsumerAppTimer, ActorEvent>;
type RpcCx<'a, 'b> = Mapped<'a, Cx<'b, Actor>, RpcMsg, RpcTimer, RpcEvent>;

impl Node for Actor {
    type Msg = ActorMsg;
    type Timer = ActorTimer;
    type Event = ActorEvent;

    fn on_start(&mut self, cx: &mut Cx<'_, Self>) {
        match self {
            Actor::PingServer(_) | Actor::RpcCallee(_) => {}
            Actor::PingClient(c) => c.on_start(&mut PingCx::new(cx)),
            Actor::Producer(p) => p.on_start(&mut ProducerCx::new(cx)),
            Actor::Consumer(c) => c.on_start(&mut ConsumerCx::new(cx)),
            Actor::RpcCaller(c) => c.on_start(&mut RpcCx::new(cx)),
        }
    }

    fn on_message(&mut self, cx: &mut Cx<'_, Self>, from: Peer, msg: ActorMsg) {
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
            _ => {} // a message this kind of node does not speak: ignored, as a closed port
        }
    }

    fn on_timer(&mut self, cx: &mut Cx<'_, Self>, timer: ActorTimer) {
        match (self, timer) {
            (Actor::PingClient(c), ActorTimer::Ping(t)) => c.on_timer(&mut PingCx::new(cx), t),
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

    fn on_signal(&mut self, cx: &mut Cx<'_, Self>, signal: &str) {
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

    fn keep(event: &ActorEvent) -> bool {
        matches!(event, ActorEvent::History(_) | ActorEvent::Rpc(_))
    }
}
