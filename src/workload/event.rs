//! The events nodes emit into the trace, in one enum: Kafka's semantic events (appends,
//! high-watermark moves, elections, rebalances, …), the client history the checker reads,
//! and the demo workloads' events. Each component emits its own type; `From` lifts it here.

use serde::Serialize;

use super::history::HistoryOp;
use super::ping::PingEvent;
use super::rpc::RpcEvent;
use crate::kafka::KafkaEvent;

/// Every event a node can emit into the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum NodeEvent {
    /// Boxed: Kafka events are the largest and, when the trace is off, only the rare ones
    /// are made at all; the history, kept by the million, stays small.
    Kafka(Box<KafkaEvent>),
    Ping(PingEvent),
    History(HistoryOp),
    Rpc(RpcEvent),
}

impl From<RpcEvent> for NodeEvent {
    fn from(e: RpcEvent) -> Self {
        NodeEvent::Rpc(e)
    }
}
impl From<KafkaEvent> for NodeEvent {
    fn from(e: KafkaEvent) -> Self {
        NodeEvent::Kafka(Box::new(e))
    }
}
impl From<PingEvent> for NodeEvent {
    fn from(e: PingEvent) -> Self {
        NodeEvent::Ping(e)
    }
}
impl From<HistoryOp> for NodeEvent {
    fn from(e: HistoryOp) -> Self {
        NodeEvent::History(e)
    }
}
