//! The node contract. A node is a plain value that reacts to three things — it started, a
//! message arrived, a timer fired — and acts only through its context (send, reply, set or
//! cancel a timer, write its disk, emit a trace event); under the scheduler the context
//! hands each action to the kernel as it is made, in order. This is what makes nodes
//! "sans-IO": the same code runs under the scheduler, in unit tests, and in replay.
//!
//! The world holds one node type, an enum of all node kinds (static dispatch, `Clone`). Code
//! for one kind of node is written against the [`Context`] trait with its own message, timer
//! and event types; [`Mapped`] adapts the world's context to it with `From` conversions.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::disk::Disk;
use super::rng::Rng;
use super::time::{Duration, Time};

/// Identifies a node in the world (its index).
#[derive(
    Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// The sender of a message together with the connection it came on. Replying through the
/// `Peer` sends on that same connection: if the connection has been closed or reset since,
/// the reply is dropped, as a response written to a closed TCP socket is.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Peer {
    pub node: NodeId,
    pub conn: u32,
}

/// A handle on a timer, to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TimerId(pub u64);

/// A component's single wake-up timer, armed for the earliest deadline it knows of (the
/// sender's and the consumer's loops, the broker's purgatory). It is re-armed only for an
/// earlier deadline: a later one waits until the handler that runs at the armed time looks
/// again.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Wakeup(Option<(Time, TimerId)>);

impl Wakeup {
    /// Makes sure a wake-up comes at `at` or earlier.
    pub fn arm<C: Context + ?Sized>(&mut self, cx: &mut C, at: Time, timer: C::Timer) {
        if let Some((armed, id)) = self.0 {
            if armed <= at {
                return;
            }
            cx.cancel_timer(id);
        }
        let id = cx.set_timer(at.since(cx.now()), timer);
        self.0 = Some((at, id));
    }

    /// A timer fired at `now`: if it was this one, nothing is armed any more.
    pub fn fired(&mut self, now: Time) {
        if self.0.is_some_and(|(at, _)| at <= now) {
            self.0 = None;
        }
    }
}

/// What a node can do. Implemented by the kernel's [`Cx`] and by [`Mapped`].
pub trait Context {
    type Msg;
    type Timer;
    type Event;
    /// The current simulated time.
    fn now(&self) -> Time;
    /// This node's id.
    fn me(&self) -> NodeId;
    /// Sends `msg` to `to` on the current connection (opened on demand).
    fn send(&mut self, to: NodeId, msg: Self::Msg);
    /// Sends `msg` back on the connection `peer`'s message came on.
    fn reply(&mut self, peer: Peer, msg: Self::Msg);
    /// Arms a timer that fires `after` from now.
    fn set_timer(&mut self, after: Duration, timer: Self::Timer) -> TimerId;
    /// Disarms a timer (no effect if it already fired).
    fn cancel_timer(&mut self, id: TimerId);
    /// This node's own random stream.
    fn rng(&mut self) -> &mut Rng;
    /// This node's disk.
    fn disk(&mut self) -> &mut Disk;
    /// Records a semantic event in the trace.
    fn emit(&mut self, event: Self::Event);
    /// Closes this node's connection to `peer`: replies still in flight on it are dropped.
    fn close_connection(&mut self, peer: NodeId);
    /// Whether emitted events are recorded (false when the trace is off: skip building
    /// costly events; history events are kept regardless).
    fn tracing(&self) -> bool {
        true
    }
}

/// The context a node's handlers receive: a [`Context`] that speaks the node's own message,
/// timer and event types. The kernel passes its own (`sim::Cx`); a test may pass any other
/// implementation. The contract names no kernel type.
pub trait NodeContext<N: Node>: Context<Msg = N::Msg, Timer = N::Timer, Event = N::Event> {}

impl<N, C> NodeContext<N> for C
where
    N: Node,
    C: Context<Msg = N::Msg, Timer = N::Timer, Event = N::Event> + ?Sized,
{
}

/// What a node type may look up to resolve a role target such as `leader(orders-0)`
/// (the world implements it): nodes by name, their state, and whether they are down.
pub trait Directory<N> {
    fn find(&self, name: &str) -> Option<NodeId>;
    fn node(&self, id: NodeId) -> &N;
    fn is_down(&self, id: NodeId) -> bool;
}

/// Adapts a context to a node component with narrower types, converting with `From`.
pub struct Mapped<'a, C: ?Sized, M, T, E> {
    inner: &'a mut C,
    _types: std::marker::PhantomData<fn(M, T, E)>,
}

impl<'a, C: Context + ?Sized, M, T, E> Mapped<'a, C, M, T, E> {
    pub fn new(inner: &'a mut C) -> Self {
        Mapped {
            inner,
            _types: std::marker::PhantomData,
        }
    }
}

impl<C, M, T, E> Context for Mapped<'_, C, M, T, E>
where
    C: Context + ?Sized,
    C::Msg: From<M>,
    C::Timer: From<T>,
    C::Event: From<E>,
{
    type Msg = M;
    type Timer = T;
    type Event = E;
    fn now(&self) -> Time {
        self.inner.now()
    }
    fn me(&self) -> NodeId {
        self.inner.me()
    }
    fn send(&mut self, to: NodeId, msg: M) {
        self.inner.send(to, msg.into());
    }
    fn reply(&mut self, peer: Peer, msg: M) {
        self.inner.reply(peer, msg.into());
    }
    fn set_timer(&mut self, after: Duration, timer: T) -> TimerId {
        self.inner.set_timer(after, timer.into())
    }
    fn cancel_timer(&mut self, id: TimerId) {
        self.inner.cancel_timer(id);
    }
    fn rng(&mut self) -> &mut Rng {
        self.inner.rng()
    }
    fn disk(&mut self) -> &mut Disk {
        self.inner.disk()
    }
    fn emit(&mut self, event: E) {
        self.inner.emit(event.into());
    }
    fn close_connection(&mut self, peer: NodeId) {
        self.inner.close_connection(peer);
    }
    fn tracing(&self) -> bool {
        self.inner.tracing()
    }
}

/// A world's node type: usually an enum over every kind of node (static dispatch).
///
/// A crash drops the node value; a restart starts again from a clone of the value the node
/// was added with (its blueprint: configuration, no history) and calls `on_start`, which
/// must rebuild state from `cx.disk()` — the only thing that survives.
pub trait Node: Clone {
    type Msg: Clone + fmt::Debug;
    type Timer: Clone + fmt::Debug;
    type Event: Clone + fmt::Debug + std::hash::Hash;
    /// How the events [`Node::keep`] selects are stored (`sim::kept::KeptLog` keeps them
    /// as they come; a node type may pack them, see `sim/kept.rs`).
    type Kept: super::kept::KeptStore<Self::Event>;

    fn on_start(&mut self, cx: &mut impl NodeContext<Self>);
    fn on_message(&mut self, cx: &mut impl NodeContext<Self>, from: Peer, msg: Self::Msg);
    fn on_timer(&mut self, cx: &mut impl NodeContext<Self>, timer: Self::Timer);
    /// The connection to `peer` was closed by the other side: its process died and its OS
    /// closed the socket (a `kill`; after a power loss nobody closes anything, and peers only
    /// find out through their own timeouts). Default: ignored.
    fn on_disconnect(&mut self, _cx: &mut impl NodeContext<Self>, _peer: NodeId) {}
    /// An application-level fault such as "stop polling" (see the fault model). Default: ignored.
    fn on_signal(&mut self, _cx: &mut impl NodeContext<Self>, _signal: &str) {}
    /// The world outside asks this node to send `msg` to `to` (a real client's request
    /// through the gateway, `sim/external.rs`). Default: sent as is; a node may also record
    /// what it sends (the client history).
    fn on_outside(&mut self, cx: &mut impl NodeContext<Self>, to: NodeId, msg: Self::Msg) {
        cx.send(to, msg);
    }

    /// A short name for a message kind, shown in the trace and the message-flow view.
    fn msg_label(msg: &Self::Msg) -> &'static str;
    /// A short name for a timer kind.
    fn timer_label(timer: &Self::Timer) -> &'static str;
    /// Approximate size of a message on the wire, in bytes (for statistics).
    fn msg_bytes(_msg: &Self::Msg) -> usize {
        64
    }
    /// One plain-language line explaining an emitted event.
    fn explain(event: &Self::Event) -> String {
        format!("{event:?}")
    }
    /// Whether an emitted event must be kept even when the trace is only hashed (the
    /// client history the checker needs). Default: no.
    fn keep(_event: &Self::Event) -> bool {
        false
    }
    /// Resolves a role target such as `leader(orders-0)` to a node, at the moment a fault
    /// fires. Plain node names are resolved by the kernel itself.
    fn resolve_role(_nodes: &dyn Directory<Self>, _role: &str) -> Option<NodeId> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A context that only keeps time and the timers set and cancelled.
    struct Timers {
        now: Time,
        next: u64,
        armed: Vec<(TimerId, Time)>,
        rng: Rng,
        disk: Disk,
    }

    impl Context for Timers {
        type Msg = ();
        type Timer = ();
        type Event = ();
        fn now(&self) -> Time {
            self.now
        }
        fn me(&self) -> NodeId {
            NodeId(0)
        }
        fn send(&mut self, _: NodeId, _: ()) {}
        fn reply(&mut self, _: Peer, _: ()) {}
        fn set_timer(&mut self, after: Duration, _: ()) -> TimerId {
            self.next += 1;
            self.armed.push((TimerId(self.next), self.now + after));
            TimerId(self.next)
        }
        fn cancel_timer(&mut self, id: TimerId) {
            self.armed.retain(|&(t, _)| t != id);
        }
        fn rng(&mut self) -> &mut Rng {
            &mut self.rng
        }
        fn disk(&mut self) -> &mut Disk {
            &mut self.disk
        }
        fn emit(&mut self, _: ()) {}
        fn close_connection(&mut self, _: NodeId) {}
    }

    #[test]
    fn wakeup_keeps_one_timer_at_the_earliest_deadline() {
        let mut cx = Timers {
            now: Time(1_000),
            next: 0,
            armed: Vec::new(),
            rng: crate::sim::rng::derive(1, 0),
            disk: Disk::new(),
        };
        let mut w = Wakeup::default();
        w.arm(&mut cx, Time(9_000), ());
        w.arm(&mut cx, Time(20_000), ()); // later: the armed one stays
        assert_eq!(cx.armed, [(TimerId(1), Time(9_000))]);
        w.arm(&mut cx, Time(5_000), ()); // earlier: re-armed
        assert_eq!(cx.armed, [(TimerId(2), Time(5_000))]);
        cx.now = Time(4_000);
        w.fired(cx.now); // another timer fired: still armed
        w.arm(&mut cx, Time(6_000), ());
        assert_eq!(cx.armed, [(TimerId(2), Time(5_000))]);
        cx.now = Time(5_000);
        cx.armed.clear(); // it fired
        w.fired(cx.now);
        w.arm(&mut cx, Time(6_000), ());
        assert_eq!(cx.armed, [(TimerId(3), Time(6_000))]);
    }
}
