//! The node type a kafkasim world runs: every kind of simulated process — brokers, the
//! controller, producer and consumer applications, the RPC pair, the demo ping nodes — in one
//! enum, [`SimNode`] (static dispatch, so the world stays `Clone` and the hot loop stays
//! fast), with the messages that cross the network ([`NodeMsg`]) and every timer kind
//! ([`NodeTimer`]); the events nodes emit are in `event.rs`. Each variant's code is written
//! against the kernel's `Context` with its own narrow message/timer/event types; this file
//! adapts them with `Mapped` and `From` conversions.

use super::consumer_app::{ConsumerApp, ConsumerAppTimer};
use super::event::NodeEvent;
use super::external::{ExternalClient, Noted};
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
pub enum NodeMsg {
    Kafka(Msg),
    Ping(PingMsg),
    Rpc(RpcMsg),
    /// Only as an outside input (`External::Send`) to an external node: a real client's
    /// request with what the gateway knows about it for the client history
    /// (`workload/external.rs`); the node sends the Kafka message alone.
    Noted(Box<Noted>),
}

/// Every timer kind.
#[derive(Clone, Debug)]
pub enum NodeTimer {
    Ping(PingTimer),
    Producer(ProducerAppTimer),
    Consumer(ConsumerAppTimer),
    Rpc(RpcTimer),
    Broker(BrokerTimer),
    Controller(ControllerTimer),
    Scripted(ScriptedTimer),
}

impl From<Msg> for NodeMsg {
    fn from(m: Msg) -> Self {
        NodeMsg::Kafka(m)
    }
}
impl From<PingMsg> for NodeMsg {
    fn from(m: PingMsg) -> Self {
        NodeMsg::Ping(m)
    }
}
impl From<RpcMsg> for NodeMsg {
    fn from(m: RpcMsg) -> Self {
        NodeMsg::Rpc(m)
    }
}
impl From<ProducerAppTimer> for NodeTimer {
    fn from(t: ProducerAppTimer) -> Self {
        NodeTimer::Producer(t)
    }
}
impl From<ConsumerAppTimer> for NodeTimer {
    fn from(t: ConsumerAppTimer) -> Self {
        NodeTimer::Consumer(t)
    }
}
impl From<RpcTimer> for NodeTimer {
    fn from(t: RpcTimer) -> Self {
        NodeTimer::Rpc(t)
    }
}
impl From<PingTimer> for NodeTimer {
    fn from(t: PingTimer) -> Self {
        NodeTimer::Ping(t)
    }
}
impl From<BrokerTimer> for NodeTimer {
    fn from(t: BrokerTimer) -> Self {
        NodeTimer::Broker(t)
    }
}
impl From<ControllerTimer> for NodeTimer {
    fn from(t: ControllerTimer) -> Self {
        NodeTimer::Controller(t)
    }
}
impl From<ScriptedTimer> for NodeTimer {
    fn from(t: ScriptedTimer) -> Self {
        NodeTimer::Scripted(t)
    }
}

/// A simulated process.
#[derive(Clone, Debug)]
pub enum SimNode {
    PingServer(PingServer),
    PingClient(PingClient),
    Producer(ProducerApp),
    Consumer(ConsumerApp),
    RpcCaller(RpcCaller),
    RpcCallee(RpcCallee),
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    ScriptedProducer(Box<ScriptedProducer>),
    /// The simulated end of a real client's connection (`kafkasim serve`).
    External(Box<ExternalClient>),
}

type PingCx<'a, C> = Mapped<'a, C, PingMsg, PingTimer, PingEvent>;
type ProducerCx<'a, C> = Mapped<'a, C, Msg, ProducerAppTimer, NodeEvent>;
type ConsumerCx<'a, C> = Mapped<'a, C, Msg, ConsumerAppTimer, NodeEvent>;
type RpcCx<'a, C> = Mapped<'a, C, RpcMsg, RpcTimer, RpcEvent>;
type BrokerMapped<'a, C> = Mapped<'a, C, Msg, BrokerTimer, KafkaEvent>;
type ControllerMapped<'a, C> = Mapped<'a, C, Msg, ControllerTimer, KafkaEvent>;
type ScriptedMapped<'a, C> = Mapped<'a, C, Msg, ScriptedTimer, HistoryOp>;
type ExternalMapped<'a, C> = Mapped<'a, C, Msg, NodeTimer, HistoryOp>;

impl SimNode {
    /// An event of this node begins: a broker forgets which partitions the last one
    /// handed out for change (`PartitionMap::touched`, what the invariant checker re-reads).
    fn begin_event(&mut self) {
        if let SimNode::Broker(b) = self {
            b.partitions.clear_touched();
        }
    }

    pub fn as_broker(&self) -> Option<&Broker> {
        match self {
            SimNode::Broker(b) => Some(b),
            _ => None,
        }
    }
    pub fn as_controller(&self) -> Option<&Controller> {
        match self {
            SimNode::Controller(c) => Some(c),
            _ => None,
        }
    }
    pub fn as_scripted_producer(&self) -> Option<&ScriptedProducer> {
        match self {
            SimNode::ScriptedProducer(p) => Some(p),
            _ => None,
        }
    }
}

/// Resolves `leader(orders-0)` / `follower(orders-0)` from the controller's current view:
/// the follower is the first replica, in assignment order, that is not the leader, is
/// unfenced and whose process is not down. `follower(orders-0, 2)` is the 2nd replica, in
/// assignment order, that is not the leader, whatever its state.
fn resolve_partition_role(world: &dyn Directory<SimNode>, role: &str) -> Option<NodeId> {
    let (kind, rest) = role.split_once('(')?;
    let arg = rest.strip_suffix(')')?;
    if let Some((tp, index)) = arg.split_once(',') {
        let tp = TopicPartition::parse(tp.trim())?;
        let index = index.trim().parse::<usize>().ok()?.checked_sub(1)?;
        let c = world.node(world.find("controller")?).as_controller()?;
        let p = c.image.partitions.get(&tp)?;
        let r = p
            .replicas
            .iter()
            .filter(|&&r| Some(r) != p.leader)
            .nth(index)?;
        return c.image.node_of(*r);
    }
    let tp = TopicPartition::parse(arg)?;
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

impl Node for SimNode {
    type Msg = NodeMsg;
    type Timer = NodeTimer;
    type Event = NodeEvent;
    type Kept = super::kept::HistoryStore;

    fn on_start(&mut self, cx: &mut impl NodeContext<Self>) {
        self.begin_event();
        match self {
            SimNode::PingServer(_) | SimNode::RpcCallee(_) | SimNode::External(_) => {}
            SimNode::PingClient(c) => c.on_start(&mut PingCx::new(cx)),
            SimNode::Producer(p) => p.on_start(&mut ProducerCx::new(cx)),
            SimNode::Consumer(c) => c.on_start(&mut ConsumerCx::new(cx)),
            SimNode::RpcCaller(c) => c.on_start(&mut RpcCx::new(cx)),
            SimNode::Broker(b) => b.on_start(&mut BrokerMapped::new(cx)),
            SimNode::Controller(c) => c.on_start(&mut ControllerMapped::new(cx)),
            SimNode::ScriptedProducer(p) => p.on_start(&mut ScriptedMapped::new(cx)),
        }
    }

    fn on_message(&mut self, cx: &mut impl NodeContext<Self>, from: Peer, msg: NodeMsg) {
        self.begin_event();
        match (self, msg) {
            (SimNode::PingServer(s), NodeMsg::Ping(m)) => {
                s.on_message(&mut PingCx::new(cx), from, m)
            }
            (SimNode::PingClient(c), NodeMsg::Ping(m)) => {
                c.on_message(&mut PingCx::new(cx), from, m)
            }
            (SimNode::Producer(p), NodeMsg::Kafka(m)) => {
                p.on_message(&mut ProducerCx::new(cx), from, m)
            }
            (SimNode::Consumer(c), NodeMsg::Kafka(m)) => {
                c.on_message(&mut ConsumerCx::new(cx), from, m)
            }
            (SimNode::RpcCaller(c), NodeMsg::Rpc(m)) => c.on_message(&mut RpcCx::new(cx), from, m),
            (SimNode::RpcCallee(c), NodeMsg::Rpc(m)) => c.on_message(&mut RpcCx::new(cx), from, m),
            (SimNode::Broker(b), NodeMsg::Kafka(m)) => {
                b.on_message(&mut BrokerMapped::new(cx), from, m)
            }
            (SimNode::Controller(c), NodeMsg::Kafka(m)) => {
                c.on_message(&mut ControllerMapped::new(cx), from, m)
            }
            (SimNode::ScriptedProducer(p), NodeMsg::Kafka(m)) => {
                p.on_message(&mut ScriptedMapped::new(cx), from, m)
            }
            (SimNode::External(e), NodeMsg::Kafka(m)) => {
                e.on_message(&mut ExternalMapped::new(cx), m)
            }
            _ => {} // a message this kind of node does not speak: ignored, as a closed port
        }
    }

    fn on_timer(&mut self, cx: &mut impl NodeContext<Self>, timer: NodeTimer) {
        self.begin_event();
        match (self, timer) {
            (SimNode::PingClient(c), NodeTimer::Ping(t)) => c.on_timer(&mut PingCx::new(cx), t),
            (SimNode::Broker(b), NodeTimer::Broker(t)) => b.on_timer(&mut BrokerMapped::new(cx), t),
            (SimNode::Controller(c), NodeTimer::Controller(t)) => {
                c.on_timer(&mut ControllerMapped::new(cx), t)
            }
            (SimNode::ScriptedProducer(p), NodeTimer::Scripted(t)) => {
                p.on_timer(&mut ScriptedMapped::new(cx), t)
            }
            (SimNode::Producer(p), NodeTimer::Producer(t)) => {
                p.on_timer(&mut ProducerCx::new(cx), t)
            }
            (SimNode::Consumer(c), NodeTimer::Consumer(t)) => {
                c.on_timer(&mut ConsumerCx::new(cx), t)
            }
            (SimNode::RpcCaller(c), NodeTimer::Rpc(t)) => c.on_timer(&mut RpcCx::new(cx), t),
            (SimNode::RpcCallee(c), NodeTimer::Rpc(t)) => c.on_timer(&mut RpcCx::new(cx), t),
            _ => {}
        }
    }

    fn on_disconnect(&mut self, cx: &mut impl NodeContext<Self>, peer: NodeId) {
        self.begin_event();
        match self {
            SimNode::Producer(p) => p.on_disconnect(&mut ProducerCx::new(cx), peer),
            SimNode::Consumer(c) => c.on_disconnect(&mut ConsumerCx::new(cx), peer),
            SimNode::Broker(b) => b.on_disconnect(&mut BrokerMapped::new(cx), peer),
            SimNode::External(e) => e.on_disconnect(&mut ExternalMapped::new(cx), peer),
            _ => {}
        }
    }

    fn on_signal(&mut self, cx: &mut impl NodeContext<Self>, signal: &str) {
        self.begin_event();
        match self {
            SimNode::Producer(p) => p.on_signal(&mut ProducerCx::new(cx), signal),
            SimNode::Consumer(c) => c.on_signal(&mut ConsumerCx::new(cx), signal),
            _ => {}
        }
    }

    fn on_outside(&mut self, cx: &mut impl NodeContext<Self>, to: NodeId, msg: NodeMsg) {
        match (self, msg) {
            (SimNode::External(e), NodeMsg::Kafka(m)) => {
                e.on_outside(&mut ExternalMapped::new(cx), to, m)
            }
            (SimNode::External(e), NodeMsg::Noted(n)) => {
                e.on_outside_noted(&mut ExternalMapped::new(cx), to, *n)
            }
            (_, NodeMsg::Noted(n)) => cx.send(to, NodeMsg::Kafka(n.msg)),
            (_, msg) => cx.send(to, msg),
        }
    }

    fn msg_label(msg: &NodeMsg) -> &'static str {
        match msg {
            NodeMsg::Kafka(m) => m.label(),
            NodeMsg::Noted(n) => n.msg.label(),
            NodeMsg::Ping(PingMsg::Ping { .. }) => "Ping",
            NodeMsg::Ping(PingMsg::Pong { .. }) => "Pong",
            NodeMsg::Rpc(RpcMsg::Call { .. }) => "RpcCall",
            NodeMsg::Rpc(RpcMsg::Reply { .. }) => "RpcReply",
        }
    }

    fn timer_label(timer: &NodeTimer) -> &'static str {
        match timer {
            NodeTimer::Ping(_) => "request-timeout",
            NodeTimer::Producer(ProducerAppTimer::Client(_)) => "producer-sender",
            NodeTimer::Producer(ProducerAppTimer::NextSend) => "next-send",
            NodeTimer::Consumer(ConsumerAppTimer::Client(_)) => "consumer-client",
            NodeTimer::Consumer(ConsumerAppTimer::ProcessDone) => "record-processed",
            NodeTimer::Consumer(ConsumerAppTimer::Producer(_)) => "pipeline-producer",
            NodeTimer::Rpc(RpcTimer::NextCall) => "next-call",
            NodeTimer::Rpc(RpcTimer::Timeout { .. }) => "call-timeout",
            NodeTimer::Rpc(RpcTimer::Processed { .. }) => "call-processed",
            NodeTimer::Broker(t) => match t {
                BrokerTimer::Heartbeat => "broker-heartbeat",
                BrokerTimer::HwCheckpoint => "high-watermark-checkpoint",
                BrokerTimer::IsrExpiration => "isr-expiration",
                BrokerTimer::FlushCheck => "log-flush",
                BrokerTimer::RetentionCheck => "log-retention",
                BrokerTimer::ProducerExpiration => "producer-id-expiration",
                BrokerTimer::Purgatory => "purgatory-expiration",
                BrokerTimer::FetchTimeout { .. } => "replica-fetch-timeout",
                BrokerTimer::FetchBackoff { .. } => "replica-fetch-backoff",
                BrokerTimer::RegistrationRetry => "broker-registration-retry",
                BrokerTimer::Group(_) => "group-coordinator",
                BrokerTimer::TxnCleanup => "abort-timed-out-transactions",
                BrokerTimer::TxnMarkerRetry => "txn-marker-retry",
                BrokerTimer::TxnVerification { .. } => "txn-verification-timeout",
                BrokerTimer::CleanerBackoff => "log-cleaner",
            },
            NodeTimer::Controller(ControllerTimer::MaybeFenceStaleBrokers) => {
                "maybe-fence-stale-brokers"
            }
            NodeTimer::Controller(ControllerTimer::MaybeBalancePartitionLeaders) => {
                "maybe-balance-partition-leaders"
            }
            NodeTimer::Scripted(t) => match t {
                ScriptedTimer::Send => "send",
                ScriptedTimer::Retry => "retry-backoff",
                ScriptedTimer::RequestTimeout { .. } => "request-timeout",
            },
        }
    }

    fn msg_bytes(msg: &NodeMsg) -> usize {
        match msg {
            NodeMsg::Kafka(m) => m.size_bytes(),
            NodeMsg::Noted(n) => n.msg.size_bytes(),
            NodeMsg::Ping(PingMsg::Ping { payload, .. } | PingMsg::Pong { payload, .. }) => {
                *payload as usize
            }
            NodeMsg::Rpc(_) => 64,
        }
    }

    fn explain(event: &NodeEvent) -> String {
        match event {
            NodeEvent::Kafka(e) => e.explain(),
            NodeEvent::Ping(e) => e.explain(),
            NodeEvent::History(op) => format!("history: {op:?}"),
            NodeEvent::Rpc(e) => e.explain(),
        }
    }

    /// Kept whatever the trace mode: the client history, and the rare events summaries
    /// count (elections, truncations, rebalances, timeouts).
    fn keep(event: &NodeEvent) -> bool {
        match event {
            NodeEvent::History(_) | NodeEvent::Ping(_) | NodeEvent::Rpc(_) => true,
            NodeEvent::Kafka(e) => !matches!(
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
