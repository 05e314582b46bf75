//! The synchronous baseline Kafka is compared with: a caller service that calls a callee
//! service directly (request/response), with a timeout and retries, at a steady rate.
//!
//! When the callee is down, a synchronous caller can only wait and fail: each call burns its
//! timeout and retries, calls queue up behind it (`blocking`: one call at a time, as a
//! thread-per-request client would), and work is lost or late. Put Kafka in between and the
//! producer keeps appending while the consumer is away; when it comes back it catches up —
//! the lag rises, then drains. Outcomes are recorded as [`RpcEvent`]s.

use std::collections::BTreeMap;

use rand::Rng as _;
use serde::Serialize;

use crate::sim::{Context, Duration, NodeId, Peer, Time, TimerId};

/// Messages between caller and callee.
#[derive(Clone, Debug)]
pub enum RpcMsg {
    Call { id: u64 },
    Reply { id: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcTimer {
    /// Time to issue the next call (rate).
    NextCall,
    /// Call `id` attempt `attempt` got no reply in time.
    Timeout { id: u64, attempt: u32 },
    /// The callee finished processing a call.
    Processed { peer: PeerKey, id: u64 },
}

/// A `Peer` as timer payload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PeerKey {
    pub node: NodeId,
    pub conn: u32,
}

/// What the RPC pair reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RpcEvent {
    CallOk {
        id: u64,
        latency_us: u64,
        attempts: u32,
    },
    CallFailed {
        id: u64,
        attempts: u32,
    },
    /// A call could not even start on time: the caller was blocked by an earlier call.
    CallDelayed {
        id: u64,
        delay_us: u64,
    },
}

impl RpcEvent {
    pub fn explain(&self) -> String {
        match self {
            RpcEvent::CallOk {
                id,
                latency_us,
                attempts,
            } => {
                format!(
                    "call {id} answered after {}ms ({attempts} attempt(s))",
                    latency_us / 1_000
                )
            }
            RpcEvent::CallFailed { id, attempts } => {
                format!("call {id} FAILED after {attempts} attempt(s): the callee did not answer in time")
            }
            RpcEvent::CallDelayed { id, delay_us } => {
                format!("call {id} started {}ms late: the caller was blocked waiting on an earlier call", delay_us / 1_000)
            }
        }
    }
}

/// Answers each call after a processing time (uniform in `processing_min..=processing_max`).
#[derive(Clone, Debug)]
pub struct RpcCallee {
    pub processing_min: Duration,
    pub processing_max: Duration,
    pub served: u64,
}

impl RpcCallee {
    pub fn new(processing: Duration) -> Self {
        Self::with_range(processing, processing)
    }

    pub fn with_range(processing_min: Duration, processing_max: Duration) -> Self {
        RpcCallee {
            processing_min,
            processing_max,
            served: 0,
        }
    }

    pub fn on_message<C: Context<Msg = RpcMsg, Timer = RpcTimer>>(
        &mut self,
        cx: &mut C,
        from: Peer,
        msg: RpcMsg,
    ) {
        if let RpcMsg::Call { id } = msg {
            let peer = PeerKey {
                node: from.node,
                conn: from.conn,
            };
            let (lo, hi) = (self.processing_min.as_us(), self.processing_max.as_us());
            let d = if hi > lo {
                cx.rng().gen_range(lo..=hi)
            } else {
                lo
            };
            cx.set_timer(Duration::from_us(d), RpcTimer::Processed { peer, id });
        }
    }

    pub fn on_timer<C: Context<Msg = RpcMsg, Timer = RpcTimer>>(
        &mut self,
        cx: &mut C,
        timer: RpcTimer,
    ) {
        if let RpcTimer::Processed { peer, id } = timer {
            self.served += 1;
            cx.reply(
                Peer {
                    node: peer.node,
                    conn: peer.conn,
                },
                RpcMsg::Reply { id },
            );
        }
    }
}

#[derive(Clone, Debug)]
pub struct RpcCallerConfig {
    pub callee: NodeId,
    /// None: the next call as soon as the previous one finished (always blocking).
    pub rate: Option<super::rate::SendRate>,
    pub count: Option<u64>,
    pub timeout: Duration,
    pub retries: u32,
    /// One call at a time (a synchronous, thread-blocking client).
    pub blocking: bool,
    pub start: Time,
    pub stop: Option<Time>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RpcStats {
    pub ok: u64,
    pub failed: u64,
    /// Attempts that got no reply within the timeout (each is retried or fails the call).
    pub timeouts: u64,
    pub latency_us_total: u64,
    pub latency_us_max: u64,
}

#[derive(Clone, Debug)]
struct Call {
    first_sent: Time,
    attempt: u32,
    timer: TimerId,
}

/// Calls the callee at a rate.
#[derive(Clone, Debug)]
pub struct RpcCaller {
    pub config: RpcCallerConfig,
    next_id: u64,
    calls: BTreeMap<u64, Call>,
    next_timer: Option<TimerId>,
    pub stats: RpcStats,
}

impl RpcCaller {
    pub fn new(config: RpcCallerConfig) -> Self {
        RpcCaller {
            config,
            next_id: 0,
            calls: BTreeMap::new(),
            next_timer: None,
            stats: RpcStats::default(),
        }
    }

    fn due(&self) -> Time {
        match self.config.rate {
            Some(r) => r.due(self.config.start, self.next_id),
            None => self.config.start,
        }
    }

    fn finished(&self, now: Time) -> bool {
        self.config.count.is_some_and(|n| self.next_id >= n)
            || self.config.stop.is_some_and(|s| now >= s)
    }

    pub fn on_start<C: Context<Msg = RpcMsg, Timer = RpcTimer, Event = RpcEvent>>(
        &mut self,
        cx: &mut C,
    ) {
        self.pump(cx);
    }

    /// Issues every call that is due (and allowed, when blocking), then arms the next.
    fn pump<C: Context<Msg = RpcMsg, Timer = RpcTimer, Event = RpcEvent>>(&mut self, cx: &mut C) {
        let now = cx.now();
        let blocked =
            |c: &Self| (c.config.blocking || c.config.rate.is_none()) && !c.calls.is_empty();
        while !self.finished(now) && self.due() <= now && !blocked(self) {
            let id = self.next_id;
            let late = now - self.due();
            if late > Duration::from_ms(1) && self.config.rate.is_some() {
                cx.emit(RpcEvent::CallDelayed {
                    id,
                    delay_us: late.as_us(),
                });
            }
            self.next_id += 1;
            let timer = cx.set_timer(self.config.timeout, RpcTimer::Timeout { id, attempt: 1 });
            self.calls.insert(
                id,
                Call {
                    first_sent: now,
                    attempt: 1,
                    timer,
                },
            );
            cx.send(self.config.callee, RpcMsg::Call { id });
        }
        let due = self.due();
        if self.next_timer.is_none() && !self.finished(due) && due > now {
            self.next_timer = Some(cx.set_timer(due - now, RpcTimer::NextCall));
        }
    }

    pub fn on_message<C: Context<Msg = RpcMsg, Timer = RpcTimer, Event = RpcEvent>>(
        &mut self,
        cx: &mut C,
        _from: Peer,
        msg: RpcMsg,
    ) {
        let RpcMsg::Reply { id } = msg else {
            return;
        };
        let Some(call) = self.calls.remove(&id) else {
            return; // answered after we gave up
        };
        cx.cancel_timer(call.timer);
        let latency = cx.now() - call.first_sent;
        self.stats.ok += 1;
        self.stats.latency_us_total += latency.as_us();
        self.stats.latency_us_max = self.stats.latency_us_max.max(latency.as_us());
        cx.emit(RpcEvent::CallOk {
            id,
            latency_us: latency.as_us(),
            attempts: call.attempt,
        });
        self.pump(cx);
    }

    pub fn on_timer<C: Context<Msg = RpcMsg, Timer = RpcTimer, Event = RpcEvent>>(
        &mut self,
        cx: &mut C,
        timer: RpcTimer,
    ) {
        match timer {
            RpcTimer::NextCall => self.next_timer = None,
            RpcTimer::Timeout { id, attempt } => self.on_call_timeout(cx, id, attempt),
            RpcTimer::Processed { .. } => {}
        }
        self.pump(cx);
    }

    /// No reply in time: give up on the connection, then retry or fail the call.
    fn on_call_timeout<C: Context<Msg = RpcMsg, Timer = RpcTimer, Event = RpcEvent>>(
        &mut self,
        cx: &mut C,
        id: u64,
        attempt: u32,
    ) {
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.attempt != attempt {
            return;
        }
        self.stats.timeouts += 1;
        cx.close_connection(self.config.callee);
        if attempt <= self.config.retries {
            call.attempt += 1;
            call.timer = cx.set_timer(
                self.config.timeout,
                RpcTimer::Timeout {
                    id,
                    attempt: attempt + 1,
                },
            );
            cx.send(self.config.callee, RpcMsg::Call { id });
            return;
        }
        self.calls.remove(&id);
        self.stats.failed += 1;
        cx.emit(RpcEvent::CallFailed {
            id,
            attempts: attempt,
        });
    }
}
