//! The kernel's side of the node contract: [`Cx`], the context a handler gets under the
//! scheduler. It borrows the handler's own process (its random stream and disk) and, beside
//! it, the kernel, and carries out each action — send, reply, set or cancel a timer, emit,
//! close a connection — on the kernel at once, in the order the node makes them. Nodes see
//! only the `Context` trait (`node.rs`); this is the one implementation that touches the
//! kernel.

use super::disk::Disk;
use super::node::{Context, Node, NodeId, Peer, TimerId};
use super::rng::Rng;
use super::time::{Duration, Time};
use super::world::Kernel;

/// The kernel's context for one handler call of a world whose node type is `N`: the node's
/// random stream and disk, and the kernel, which carries out each action as it is made.
pub struct Cx<'a, N: Node> {
    pub(crate) me: NodeId,
    pub(crate) rng: &'a mut Rng,
    pub(crate) disk: &'a mut Disk,
    pub(crate) k: &'a mut Kernel<N>,
    pub(crate) tracing: bool,
}

impl<N: Node> Context for Cx<'_, N> {
    type Msg = N::Msg;
    type Timer = N::Timer;
    type Event = N::Event;
    fn now(&self) -> Time {
        self.k.now
    }
    fn me(&self) -> NodeId {
        self.me
    }
    fn send(&mut self, to: NodeId, msg: N::Msg) {
        self.k.send(self.me, to, msg, None);
    }
    fn reply(&mut self, peer: Peer, msg: N::Msg) {
        self.k.send(self.me, peer.node, msg, Some(peer.conn));
    }
    fn set_timer(&mut self, after: Duration, timer: N::Timer) -> TimerId {
        let at = self.k.now + after;
        self.k.set_timer(self.me, at, timer)
    }
    fn cancel_timer(&mut self, id: TimerId) {
        self.k.cancel_timer(self.me, id);
    }
    fn rng(&mut self) -> &mut Rng {
        self.rng
    }
    fn disk(&mut self) -> &mut Disk {
        self.disk
    }
    fn emit(&mut self, event: N::Event) {
        if self.tracing || N::keep(&event) {
            self.k.emit(self.me, event);
        }
    }
    fn close_connection(&mut self, peer: NodeId) {
        self.k.close(self.me, peer);
    }
    fn tracing(&self) -> bool {
        self.tracing
    }
}
