//! The world's node type: every kind of simulated process in one enum (static dispatch, so
//! the world stays `Clone` and the hot loop stays fast). Each variant's code is written
//! against the kernel's `Context` with its own narrow message/timer/event types; this file
//! adapts them with `Mapped` and `From` conversions.

use serde::Serialize;

use super::history::HistoryOp;
use super::ping::{PingClient, PingEvent, PingMsg, PingServer, PingTimer};
use crate::kafka::{KafkaEvent, Msg};
use crate::sim::{Cx, Mapped, Node, Peer};

/// Every message that crosses the simulated network.
#[derive(Clone, Debug)]
pub enum ActorMsg {
    Kafka(Msg),
    Ping(PingMsg),
}

/// Every timer kind.
#[derive(Clone, Debug)]
pub enum ActorTimer {
    Ping(PingTimer),
}

/// Every event a node can emit into the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum ActorEvent {
    Kafka(KafkaEvent),
    Ping(PingEvent),
    History(HistoryOp),
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
}

type PingCx<'a, 'b> = Mapped<'a, Cx<'b, Actor>, PingMsg, PingTimer, PingEvent>;

impl Node for Actor {
    type Msg = ActorMsg;
    type Timer = ActorTimer;
    type Event = ActorEvent;

    fn on_start(&mut self, cx: &mut Cx<'_, Self>) {
        match self {
            Actor::PingServer(_) => {}
            Actor::PingClient(c) => c.on_start(&mut PingCx::new(cx)),
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
            _ => {} // a message this kind of node does not speak: ignored, as a closed port
        }
    }

    #[allow(clippy::single_match)] // more node kinds arrive with their timers
    fn on_timer(&mut self, cx: &mut Cx<'_, Self>, timer: ActorTimer) {
        match (self, timer) {
            (Actor::PingClient(c), ActorTimer::Ping(t)) => c.on_timer(&mut PingCx::new(cx), t),
            _ => {}
        }
    }

    fn msg_label(msg: &ActorMsg) -> &'static str {
        match msg {
            ActorMsg::Kafka(m) => m.label(),
            ActorMsg::Ping(PingMsg::Ping { .. }) => "Ping",
            ActorMsg::Ping(PingMsg::Pong { .. }) => "Pong",
        }
    }

    fn timer_label(timer: &ActorTimer) -> &'static str {
        match timer {
            ActorTimer::Ping(_) => "request-timeout",
        }
    }

    fn msg_bytes(msg: &ActorMsg) -> usize {
        match msg {
            ActorMsg::Kafka(m) => m.size_bytes(),
            ActorMsg::Ping(PingMsg::Ping { payload, .. } | PingMsg::Pong { payload, .. }) => {
                *payload as usize
            }
        }
    }

    fn explain(event: &ActorEvent) -> String {
        match event {
            ActorEvent::Kafka(e) => e.explain(),
            ActorEvent::Ping(e) => e.explain(),
            ActorEvent::History(op) => format!("history: {op:?}"),
        }
    }

    /// Kept whatever the trace mode: the client history, and the rare events summaries
    /// count (elections, truncations, rebalances, timeouts).
    fn keep(event: &ActorEvent) -> bool {
        match event {
            ActorEvent::History(_) | ActorEvent::Ping(_) => true,
            ActorEvent::Kafka(e) => !matches!(
                e,
                KafkaEvent::Appended { .. }
                    | KafkaEvent::Replicated { .. }
                    | KafkaEvent::HighWatermark { .. }
                    | KafkaEvent::ProduceAcked { .. }
                    | KafkaEvent::OffsetCommitted { .. }
            ),
        }
    }
}
