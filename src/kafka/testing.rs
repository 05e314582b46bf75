//! A tiny fake [`Context`] for unit tests of sans-IO components: it records what the
//! component asked for (sends, timers, closed connections, events) and lets the test move
//! time and fire due timers by hand.

use crate::sim::rng::derive;
use crate::sim::{Context, Disk, Duration, NodeId, Peer, Rng, Time, TimerId};

pub struct FakeCx<M, T, E> {
    pub now: Time,
    pub me: NodeId,
    pub sent: Vec<(NodeId, M)>,
    pub timers: Vec<(TimerId, Time, T)>,
    pub closed: Vec<NodeId>,
    pub events: Vec<E>,
    rng: Rng,
    disk: Disk,
    next_timer: u64,
}

impl<M, T: Clone, E> FakeCx<M, T, E> {
    pub fn new(seed: u64) -> Self {
        FakeCx {
            now: Time::ZERO,
            me: NodeId(100),
            sent: Vec::new(),
            timers: Vec::new(),
            closed: Vec::new(),
            events: Vec::new(),
            rng: derive(seed, 9),
            disk: Disk::new(),
            next_timer: 0,
        }
    }

    pub fn take_sent(&mut self) -> Vec<(NodeId, M)> {
        std::mem::take(&mut self.sent)
    }

    /// Removes and returns the timers due at or before `now`, earliest first.
    pub fn due(&mut self) -> Vec<T> {
        self.timers.sort_by_key(|t| (t.1, t.0));
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = self.timers.drain(..).partition(|t| t.1 <= now);
        self.timers = later;
        due.into_iter().map(|t| t.2).collect()
    }

    /// The earliest armed timer's time.
    pub fn next_timer(&self) -> Option<Time> {
        self.timers.iter().map(|t| t.1).min()
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

impl<M, T: Clone, E> Context for FakeCx<M, T, E> {
    type Msg = M;
    type Timer = T;
    type Event = E;
    fn now(&self) -> Time {
        self.now
    }
    fn me(&self) -> NodeId {
        self.me
    }
    fn send(&mut self, to: NodeId, msg: M) {
        self.sent.push((to, msg));
    }
    fn reply(&mut self, peer: Peer, msg: M) {
        self.sent.push((peer.node, msg));
    }
    fn set_timer(&mut self, after: Duration, timer: T) -> TimerId {
        self.next_timer += 1;
        self.timers
            .push((TimerId(self.next_timer), self.now + after, timer));
        TimerId(self.next_timer)
    }
    fn cancel_timer(&mut self, id: TimerId) {
        self.timers.retain(|t| t.0 != id);
    }
    fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
    fn disk(&mut self) -> &mut Disk {
        &mut self.disk
    }
    fn emit(&mut self, event: E) {
        self.events.push(event);
    }
    fn close_connection(&mut self, peer: NodeId) {
        self.closed.push(peer);
    }
}
