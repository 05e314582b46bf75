//! The kernel's demo workload: ping/echo, no Kafka. Clients send numbered requests with a
//! payload to a server, which echoes them. A client keeps up to `in_flight` requests
//! outstanding; with a `timeout`, a request unanswered in time closes the connection (late
//! replies are then dropped by the network) and is sent again. Each client records its
//! progress on disk, unflushed, so `kill` and `power-loss` behave differently on restart.
//!
//! It exercises everything the kernel offers — FIFO links, latency, partitions, clogs,
//! connection resets, crash and restart from disk — and is the reference kernel benchmark.

use serde::Serialize;

use crate::sim::{Context, Duration, Node, NodeContext, NodeId, Peer, Time, TimerId};

/// Messages of the ping workload.
#[derive(Clone, Debug)]
pub enum PingMsg {
    Ping { seq: u64, payload: u32 },
    Pong { seq: u64, payload: u32 },
}

#[derive(Clone, Debug)]
pub enum PingTimer {
    /// Request `seq` had no answer in time.
    RequestTimeout { seq: u64 },
}

/// What the ping nodes report in the trace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum PingEvent {
    /// A client restarted and resumed from the progress found on its disk.
    Recovered { replies: u64 },
    /// A request timed out; the connection is closed and the request sent again.
    Timeout { seq: u64 },
    /// A client received every reply it wanted.
    Done { replies: u64, timeouts: u64 },
}

impl PingEvent {
    pub fn explain(&self) -> String {
        match self {
            PingEvent::Recovered { replies } => {
                format!("recovered from disk: {replies} replies already received")
            }
            PingEvent::Timeout { seq } => {
                format!("request {seq} timed out: connection closed, request sent again")
            }
            PingEvent::Done { replies, timeouts } => {
                format!("done: {replies} replies, {timeouts} timeouts")
            }
        }
    }
}

/// Echoes every ping.
#[derive(Clone, Debug, Default)]
pub struct PingServer {
    pub served: u64,
}

impl PingServer {
    pub fn on_message<C: Context<Msg = PingMsg>>(&mut self, cx: &mut C, from: Peer, msg: PingMsg) {
        if let PingMsg::Ping { seq, payload } = msg {
            self.served += 1;
            cx.reply(from, PingMsg::Pong { seq, payload });
        }
    }
}

/// Configuration of a ping client.
#[derive(Clone, Debug)]
pub struct PingClientConfig {
    pub server: NodeId,
    pub requests: u64,
    pub in_flight: u32,
    pub payload_bytes: u32,
    pub timeout: Option<Duration>,
    /// Record progress on disk after every reply.
    pub persist: bool,
}

/// Sends `requests` pings, `in_flight` at a time.
#[derive(Clone, Debug)]
pub struct PingClient {
    pub config: PingClientConfig,
    /// Next sequence number to send.
    next_seq: u64,
    /// Outstanding requests: (seq, timeout timer).
    outstanding: Vec<(u64, Option<TimerId>)>,
    pub replies: u64,
    pub timeouts: u64,
    /// Sum of round-trip times, for the mean.
    pub rtt_us_total: u64,
    sent_at: Vec<(u64, Time)>,
    done: bool,
}

const PROGRESS: &str = "progress";

impl PingClient {
    pub fn new(config: PingClientConfig) -> Self {
        PingClient {
            config,
            next_seq: 0,
            outstanding: Vec::new(),
            replies: 0,
            timeouts: 0,
            rtt_us_total: 0,
            sent_at: Vec::new(),
            done: false,
        }
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    pub fn on_start<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = PingMsg, Timer = PingTimer, Event = PingEvent>,
    {
        if let Some(&replies) = cx.disk().last::<u64>(PROGRESS) {
            self.replies = replies;
            self.next_seq = replies;
            cx.emit(PingEvent::Recovered { replies });
        }
        self.fill(cx);
    }

    fn fill<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = PingMsg, Timer = PingTimer, Event = PingEvent>,
    {
        while (self.outstanding.len() as u32) < self.config.in_flight
            && self.next_seq < self.config.requests
        {
            let seq = self.next_seq;
            self.next_seq += 1;
            self.send(cx, seq);
        }
    }

    fn send<C>(&mut self, cx: &mut C, seq: u64)
    where
        C: Context<Msg = PingMsg, Timer = PingTimer, Event = PingEvent>,
    {
        let timer = self
            .config
            .timeout
            .map(|t| cx.set_timer(t, PingTimer::RequestTimeout { seq }));
        self.outstanding.push((seq, timer));
        self.sent_at.push((seq, cx.now()));
        let payload = self.config.payload_bytes;
        cx.send(self.config.server, PingMsg::Ping { seq, payload });
    }

    pub fn on_message<C>(&mut self, cx: &mut C, _from: Peer, msg: PingMsg)
    where
        C: Context<Msg = PingMsg, Timer = PingTimer, Event = PingEvent>,
    {
        let PingMsg::Pong { seq, .. } = msg else {
            return;
        };
        let Some(i) = self.outstanding.iter().position(|(s, _)| *s == seq) else {
            return; // a duplicate or a reply to a request already retried
        };
        let (_, timer) = self.outstanding.swap_remove(i);
        if let Some(t) = timer {
            cx.cancel_timer(t);
        }
        if let Some(j) = self.sent_at.iter().position(|(s, _)| *s == seq) {
            let (_, at) = self.sent_at.swap_remove(j);
            self.rtt_us_total += cx.now().since(at).as_us();
        }
        self.replies += 1;
        if self.config.persist {
            cx.disk().overwrite(PROGRESS, self.replies);
        }
        self.fill(cx);
        if self.outstanding.is_empty() && self.next_seq >= self.config.requests && !self.done {
            self.done = true;
            cx.emit(PingEvent::Done {
                replies: self.replies,
                timeouts: self.timeouts,
            });
        }
    }

    pub fn on_timer<C>(&mut self, cx: &mut C, timer: PingTimer)
    where
        C: Context<Msg = PingMsg, Timer = PingTimer, Event = PingEvent>,
    {
        let PingTimer::RequestTimeout { seq } = timer;
        let Some(i) = self.outstanding.iter().position(|(s, _)| *s == seq) else {
            return;
        };
        self.outstanding.swap_remove(i);
        self.sent_at.retain(|(s, _)| *s != seq);
        self.timeouts += 1;
        cx.emit(PingEvent::Timeout { seq });
        cx.close_connection(self.config.server);
        self.send(cx, seq);
    }
}

/// A world made only of ping nodes: used by the kernel's tests and its benchmark.
#[derive(Clone, Debug)]
pub enum PingNode {
    Server(PingServer),
    Client(PingClient),
}

impl Node for PingNode {
    type Msg = PingMsg;
    type Timer = PingTimer;
    type Event = PingEvent;
    type Kept = crate::sim::kept::KeptLog<PingEvent>;

    fn on_start(&mut self, cx: &mut impl NodeContext<Self>) {
        if let PingNode::Client(c) = self {
            c.on_start(cx);
        }
    }
    fn on_message(&mut self, cx: &mut impl NodeContext<Self>, from: Peer, msg: PingMsg) {
        match self {
            PingNode::Server(s) => s.on_message(cx, from, msg),
            PingNode::Client(c) => c.on_message(cx, from, msg),
        }
    }
    fn on_timer(&mut self, cx: &mut impl NodeContext<Self>, timer: PingTimer) {
        if let PingNode::Client(c) = self {
            c.on_timer(cx, timer);
        }
    }
    fn msg_label(msg: &PingMsg) -> &'static str {
        match msg {
            PingMsg::Ping { .. } => "Ping",
            PingMsg::Pong { .. } => "Pong",
        }
    }
    fn timer_label(_: &PingTimer) -> &'static str {
        "request-timeout"
    }
    fn msg_bytes(msg: &PingMsg) -> usize {
        match msg {
            PingMsg::Ping { payload, .. } | PingMsg::Pong { payload, .. } => *payload as usize,
        }
    }
    fn explain(event: &PingEvent) -> String {
        event.explain()
    }
}
