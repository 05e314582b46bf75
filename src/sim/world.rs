//! The world: every node, the network, the disks, the clock and the event queue, driven one
//! event at a time. Events are ordered by (time, insertion sequence): ties never depend on
//! memory addresses or hash order, so a run is a pure function of (setup, seed).
//!
//! The whole world is `Clone`; the replay controller keeps clones as checkpoints.

use std::collections::BTreeMap;

pub use super::cx::Cx;
use super::disk::Disk;
use super::external::Script;
use super::fault::{Fault, FaultSpec};
use super::kept::KeptStore;
use super::network::{LinkModel, Network};
use super::node::{Directory, Node, NodeId, Peer, TimerId};
use super::queue::{EventQueue, Handle};
use super::rng::{self, stream, Rng};
use super::time::{Duration, Time};
use super::trace::{DropReason, FaultRecord, Trace, TraceKind, TraceMode, TraceRecord};

/// Whether a node is running.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Up,
    /// Stalled: events addressed to it wait until it resumes.
    Paused,
    /// Crashed (killed or lost power) and not restarted yet.
    Down,
}

#[derive(Clone, Debug)]
pub(super) enum Ev<N: Node> {
    Start {
        node: NodeId,
        inc: u32,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        to_inc: u32,
        conn: u32,
        reply: bool,
        sent: Time,
        msg: N::Msg,
    },
    Timer {
        node: NodeId,
        inc: u32,
        id: TimerId,
        timer: N::Timer,
    },
    /// `node` learns its connection to `peer` closed.
    Disconnect {
        node: NodeId,
        inc: u32,
        peer: NodeId,
    },
    Fault(FaultSpec),
    /// A revert of a role-targeted fault, with the node it resolved to.
    Revert(Fault),
    /// The OS writes dirty pages back: on every disk without its own interval (`None`), or
    /// on one node's disk (`sim/writeback.rs`).
    Writeback(Option<NodeId>),
}

#[derive(Clone, Debug)]
struct Scheduled<N: Node> {
    at: Time,
    ev: Ev<N>,
}

/// What a node's handler works on: its state, its random stream and its disk.
#[derive(Clone, Debug)]
pub(super) struct Proc<N: Node> {
    node: N,
    rng: Rng,
    pub(super) disk: Disk,
}

/// What the kernel knows about a node besides its process.
#[derive(Clone, Debug)]
pub(super) struct Slot<N: Node> {
    name: String,
    blueprint: N,
    pub(super) status: Status,
    pub(super) incarnation: u32,
    held: Vec<Scheduled<N>>,
    /// This node's armed timers and where they sit in the queue (a node has a handful).
    timers: Vec<(TimerId, Handle)>,
}

/// Why `run_until` returned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RunEnd {
    /// Simulated time reached the bound.
    TimeLimit,
    /// The event-count bound was hit.
    EventLimit,
    /// Nothing left to do.
    Quiescent,
}

/// The simulated world: the nodes' processes, and the kernel around them.
#[derive(Clone, Debug)]
pub struct World<N: Node> {
    pub(super) procs: Vec<Proc<N>>,
    pub(super) k: Kernel<N>,
}

/// Everything but the nodes' processes: clock, queue, network, trace. Split from the
/// processes so that a handler can hold its own process while its context acts on the
/// kernel: every send, timer and event a node makes is applied at once, in order.
#[derive(Clone, Debug)]
pub(crate) struct Kernel<N: Node> {
    seed: u64,
    pub(crate) now: Time,
    events: u64,
    queue: EventQueue<Ev<N>>,
    pub(super) slots: Vec<Slot<N>>,
    net: Network,
    net_rng: Rng,
    disk_rng: Rng,
    next_timer: u64,
    clogged: BTreeMap<(NodeId, NodeId), Vec<Scheduled<N>>>,
    /// The OS writeback interval of every disk without its own (`sim/writeback.rs`).
    pub(super) writeback: Option<Duration>,
    /// Nodes whose disk has its own writeback interval (`None`: never).
    pub(super) writeback_of: BTreeMap<NodeId, Option<Duration>>,
    trace: Trace<N::Event>,
    /// Emitted events `N::keep` selects, kept in every trace mode (the client history).
    kept: N::Kept,
    /// The node whose handler ran in the current event, if one did.
    last_node: Option<NodeId>,
    /// Inputs from outside the world to replay (`sim/external.rs`).
    pub(super) script: Script<N>,
}

impl<N: Node> World<N> {
    /// An empty world whose randomness all derives from `seed`.
    pub fn new(seed: u64, mode: TraceMode) -> Self {
        World {
            procs: Vec::new(),
            k: Kernel {
                seed,
                now: Time::ZERO,
                events: 0,
                queue: EventQueue::default(),
                slots: Vec::new(),
                net: Network::default(),
                net_rng: rng::derive(seed, stream::NETWORK),
                disk_rng: rng::derive(seed, stream::DISK),
                next_timer: 0,
                clogged: BTreeMap::new(),
                writeback: None,
                writeback_of: BTreeMap::new(),
                trace: Trace::new(mode),
                kept: N::Kept::default(),
                last_node: None,
                script: Script::default(),
            },
        }
    }

    /// Adds a node that starts at `start`. Its random stream depends only on (seed, id).
    pub fn add_node(&mut self, name: &str, node: N, start: Time) -> NodeId {
        let id = NodeId(self.k.slots.len() as u32);
        self.k.slots.push(Slot {
            name: name.to_string(),
            blueprint: node.clone(),
            status: Status::Up,
            incarnation: 0,
            held: Vec::new(),
            timers: Vec::new(),
        });
        self.procs.push(Proc {
            node,
            rng: rng::derive(self.k.seed, stream::NODE_BASE + id.0 as u64),
            disk: Disk::new(),
        });
        self.k.net.grow(self.k.slots.len());
        self.k.push(start, Ev::Start { node: id, inc: 0 });
        id
    }

    /// Sets every link's model (call before adding nodes or after: both work).
    pub fn set_link_model(&mut self, model: LinkModel) {
        self.k.net.set_default_model(model);
    }

    /// Sets one directed link's model.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, model: LinkModel) {
        self.k.net.set_model(from, to, model);
    }

    /// Schedules a fault at `at`.
    pub fn schedule_fault(&mut self, at: Time, spec: impl Into<FaultSpec>) {
        self.k.push(at, Ev::Fault(spec.into()));
    }

    // ---- read access (view models, checkers, role resolution) ----

    pub fn seed(&self) -> u64 {
        self.k.seed
    }
    pub fn now(&self) -> Time {
        self.k.now
    }
    /// Kernel events processed so far.
    pub fn events(&self) -> u64 {
        self.k.events
    }
    pub fn trace(&self) -> &Trace<N::Event> {
        &self.k.trace
    }
    /// Switches what the trace keeps from now on; the hash continues unchanged, so a
    /// `HashOnly` checkpoint switched to `Full` records exactly what a `Full` run would.
    pub fn set_trace_mode(&mut self, mode: TraceMode) {
        self.k.trace.mode = mode;
    }
    /// Takes the trace records kept so far (see [`Trace::take_records`]).
    pub fn take_trace_records(&mut self) -> Vec<TraceRecord<N::Event>> {
        self.k.trace.take_records()
    }
    /// Emitted events kept whatever the trace mode (see `Node::keep`).
    pub fn kept(&self) -> &N::Kept {
        &self.k.kept
    }
    pub fn network(&self) -> &Network {
        &self.k.net
    }
    pub fn node_count(&self) -> usize {
        self.k.slots.len()
    }
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.k.slots.len() as u32).map(NodeId)
    }
    pub fn node(&self, id: NodeId) -> &N {
        &self.procs[id.index()].node
    }
    /// Mutable access for setup before the run, and for draining what an external node
    /// collected for the world outside (state no handler reads back); not for changing a
    /// node's behaviour during a run.
    pub fn node_mut(&mut self, id: NodeId) -> &mut N {
        &mut self.procs[id.index()].node
    }
    pub fn name(&self, id: NodeId) -> &str {
        &self.k.slots[id.index()].name
    }
    pub fn status(&self, id: NodeId) -> Status {
        self.k.slots[id.index()].status
    }
    pub fn incarnation(&self, id: NodeId) -> u32 {
        self.k.slots[id.index()].incarnation
    }
    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.procs[id.index()].disk
    }
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.k
            .slots
            .iter()
            .position(|s| s.name == name)
            .map(|i| NodeId(i as u32))
    }
    /// Time of the next pending event, if any.
    pub fn next_event_time(&self) -> Option<Time> {
        self.k.queue.peek_time()
    }
    /// Messages currently queued (in flight or held).
    pub fn pending(&self) -> usize {
        self.k.queue.len()
    }

    // ---- running ----

    /// Runs until simulated time passes `end`, `max_events` events have been processed in
    /// total, or nothing is left to do.
    pub fn run_until(&mut self, end: Time, max_events: u64) -> RunEnd {
        let ok =
            self.run_until_checked(end, max_events, |_| Ok::<(), std::convert::Infallible>(()));
        match ok {
            Ok(end) => end,
        }
    }

    /// [`run_until`](Self::run_until), calling `check` on the world after every processed
    /// event (a global checker watching from outside the nodes); stops at its first error.
    pub fn run_until_checked<E>(
        &mut self,
        end: Time,
        max_events: u64,
        mut check: impl FnMut(&Self) -> Result<(), E>,
    ) -> Result<RunEnd, E> {
        loop {
            if self.k.events >= max_events {
                return Ok(RunEnd::EventLimit);
            }
            if !self.step_until(end) {
                if self.k.queue.is_empty() && self.k.script.at == Time::MAX {
                    return Ok(RunEnd::Quiescent);
                }
                self.k.now = self.k.now.max(end);
                return Ok(RunEnd::TimeLimit);
            }
            check(self)?;
        }
    }

    /// Processes the next event (skipping stale queue entries). Returns false when nothing
    /// is left.
    pub fn step(&mut self) -> bool {
        self.step_until(Time::MAX)
    }

    /// Processes queue entries due at or before `end` until one counts as an event.
    /// Returns false when no such entry is left.
    pub fn step_until(&mut self, end: Time) -> bool {
        loop {
            let next = self.k.queue.peek_time();
            // A scripted outside input due before the next event (or with none left) is
            // applied first, between events, as the gateway applied it live.
            let due = self.k.script.at;
            if due <= end && due != Time::MAX && next.is_none_or(|t| t > due) {
                self.apply_scripted();
                continue;
            }
            if next.is_none_or(|at| at > end) {
                break;
            }
            let (at, ev) = self.k.queue.pop().expect("peeked");
            let s = Scheduled { at, ev };
            assert!(s.at >= self.k.now, "time went backwards");
            self.k.now = s.at;
            if self.process(s) {
                return true;
            }
        }
        false
    }

    fn begin_event(&mut self) -> u64 {
        self.k.last_node = None;
        self.k.events += 1;
        self.k.events
    }

    /// Handles one queue entry; returns whether it counted as an event.
    fn process(&mut self, s: Scheduled<N>) -> bool {
        match s.ev {
            Ev::Start { node, inc } => {
                let slot = &self.k.slots[node.index()];
                if slot.incarnation != inc || slot.status == Status::Down {
                    return false;
                }
                if slot.status == Status::Paused {
                    self.k.slots[node.index()].held.push(Scheduled {
                        ev: Ev::Start { node, inc },
                        ..s
                    });
                    return false;
                }
                self.begin_event();
                self.k.record(TraceKind::Start {
                    node,
                    incarnation: inc,
                });
                self.dispatch(node, |n, cx| n.on_start(cx));
                true
            }
            Ev::Timer {
                node,
                inc,
                id,
                timer,
            } => self.on_timer_event(s.at, node, inc, id, timer),
            Ev::Deliver { .. } => self.on_deliver(s),
            Ev::Disconnect { node, inc, peer } => {
                let slot = &mut self.k.slots[node.index()];
                if slot.incarnation != inc || slot.status == Status::Down {
                    return false;
                }
                if slot.status == Status::Paused {
                    slot.held.push(Scheduled {
                        at: s.at,
                        ev: Ev::Disconnect { node, inc, peer },
                    });
                    return false;
                }
                self.begin_event();
                self.k.record(TraceKind::Disconnected { node, peer });
                self.dispatch(node, |n, cx| n.on_disconnect(cx, peer));
                true
            }
            Ev::Fault(spec) => {
                self.begin_event();
                self.apply_fault(spec);
                true
            }
            Ev::Revert(fault) => {
                self.begin_event();
                self.apply_fault(fault.into());
                true
            }
            Ev::Writeback(node) => {
                self.on_writeback(node);
                false
            }
        }
    }

    fn on_timer_event(
        &mut self,
        at: Time,
        node: NodeId,
        inc: u32,
        id: TimerId,
        timer: N::Timer,
    ) -> bool {
        let slot = &mut self.k.slots[node.index()];
        if let Some(i) = slot.timers.iter().position(|&(t, _)| t == id) {
            slot.timers.swap_remove(i);
        }
        if slot.incarnation != inc || slot.status == Status::Down {
            return false;
        }
        if slot.status == Status::Paused {
            slot.held.push(Scheduled {
                at,
                ev: Ev::Timer {
                    node,
                    inc,
                    id,
                    timer,
                },
            });
            return false;
        }
        self.begin_event();
        let label = N::timer_label(&timer);
        self.k.record(TraceKind::Timer { node, timer: label });
        self.dispatch(node, |n, cx| n.on_timer(cx, timer));
        true
    }

    fn on_deliver(&mut self, s: Scheduled<N>) -> bool {
        let Ev::Deliver {
            from,
            to,
            to_inc,
            conn,
            reply,
            sent,
            ref msg,
        } = s.ev
        else {
            unreachable!("on_deliver called with a non-delivery");
        };
        let label = N::msg_label(msg);
        if self.k.net.link(from, to).clogged {
            self.begin_event();
            self.k.record(TraceKind::Held {
                from,
                to,
                msg: label,
            });
            self.k.clogged.entry((from, to)).or_default().push(s);
            return true;
        }
        let slot = &self.k.slots[to.index()];
        if slot.status == Status::Paused && slot.incarnation == to_inc {
            self.k.slots[to.index()].held.push(s);
            return false;
        }
        self.k.net.link_mut(from, to).in_flight -= 1;
        let reason = if self.k.net.link(from, to).cut {
            self.k.net.link_mut(from, to).lost_while_cut = true;
            Some(DropReason::Partitioned)
        } else if slot.status == Status::Down {
            Some(DropReason::NodeDown)
        } else if slot.incarnation != to_inc {
            Some(DropReason::StaleIncarnation)
        } else if reply && self.k.net.conn(from, to) != conn {
            Some(DropReason::ConnectionClosed)
        } else {
            None
        };
        self.begin_event();
        if let Some(reason) = reason {
            self.k.record(TraceKind::Drop {
                from,
                to,
                msg: label,
                sent,
                reason,
            });
            if !reply && matches!(reason, DropReason::NodeDown | DropReason::StaleIncarnation) {
                self.refuse_connection(from, to);
            }
            return true;
        }
        self.k.record(TraceKind::Deliver {
            from,
            to,
            msg: label,
            sent,
        });
        let Ev::Deliver { msg, .. } = s.ev else {
            unreachable!()
        };
        let peer = Peer { node: from, conn };
        self.dispatch(to, |n, cx| n.on_message(cx, peer, msg));
        true
    }

    /// Runs one handler of `node`; what it does through its context is applied as it does it.
    pub(super) fn dispatch(&mut self, node: NodeId, f: impl FnOnce(&mut N, &mut Cx<'_, N>)) {
        let tracing = self.k.trace.mode != TraceMode::Off;
        let proc = &mut self.procs[node.index()];
        let mut cx = Cx {
            me: node,
            rng: &mut proc.rng,
            disk: &mut proc.disk,
            k: &mut self.k,
            tracing,
        };
        f(&mut proc.node, &mut cx);
        self.k.last_node = Some(node);
    }

    /// The node whose handler ran in the last event (a global checker re-checks only that
    /// node's state, which no other event changes). `None` when no handler ran in it.
    pub fn last_node(&self) -> Option<NodeId> {
        self.k.last_node
    }

    // ---- faults ----

    /// Resolves a target name: a node name first, then a role via the node type.
    pub fn resolve(&self, target: &str) -> Option<NodeId> {
        self.find(target).or_else(|| N::resolve_role(self, target))
    }

    fn apply_fault(&mut self, spec: FaultSpec) {
        let verb = spec.fault.verb();
        match self.resolve_fault(&spec.fault) {
            Err(unresolved) => self.k.record(TraceKind::Fault(Box::new(FaultRecord {
                verb,
                nodes: vec![],
                count: 0,
                unresolved: Some(unresolved),
            }))),
            Ok(resolved) => {
                let (nodes, count) = self.execute(&resolved);
                self.k.record(TraceKind::Fault(Box::new(FaultRecord {
                    verb,
                    nodes,
                    count,
                    unresolved: None,
                })));
                if let (Some(after), Some(rev)) = (spec.revert_after, revert_of(&resolved)) {
                    self.k.push(self.k.now + after, Ev::Revert(rev));
                }
            }
        }
    }

    /// Replaces every target of `fault` by the name of the node it resolves to now.
    fn resolve_fault(&self, fault: &Fault) -> Result<Fault, String> {
        let r = |t: &String| -> Result<String, String> {
            self.resolve(t)
                .map(|id| self.name(id).to_string())
                .ok_or_else(|| t.clone())
        };
        Ok(match fault {
            Fault::Kill(t) => Fault::Kill(r(t)?),
            Fault::PowerLoss { target, torn } => Fault::PowerLoss {
                target: r(target)?,
                torn: *torn,
            },
            Fault::Restart(t) => Fault::Restart(r(t)?),
            Fault::Pause(t) => Fault::Pause(r(t)?),
            Fault::Resume(t) => Fault::Resume(r(t)?),
            Fault::Isolate(t) => Fault::Isolate(r(t)?),
            Fault::Partition(groups) => Fault::Partition(
                groups
                    .iter()
                    .map(|g| g.iter().map(r).collect::<Result<Vec<_>, _>>())
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Fault::Cut { from, to } => Fault::Cut {
                from: r(from)?,
                to: r(to)?,
            },
            Fault::Heal => Fault::Heal,
            Fault::Clog { from, to } => Fault::Clog {
                from: r(from)?,
                to: r(to)?,
            },
            Fault::Unclog { from, to } => Fault::Unclog {
                from: r(from)?,
                to: r(to)?,
            },
            Fault::Reset { a, b } => Fault::Reset { a: r(a)?, b: r(b)? },
            Fault::Signal { target, signal } => Fault::Signal {
                target: r(target)?,
                signal: signal.clone(),
            },
        })
    }

    /// Carries out a resolved fault; returns the nodes involved and a count for the trace.
    // Long by design: one short arm per fault kind, in the fault model's order.
    fn execute(&mut self, fault: &Fault) -> (Vec<NodeId>, u64) {
        let id = |w: &Self, n: &String| w.find(n).expect("resolved target");
        match fault {
            Fault::Kill(t) => {
                let n = id(self, t);
                self.notify_peers(n);
                self.crash(n);
                (vec![n], 0)
            }
            Fault::PowerLoss { target, torn } => {
                let n = id(self, target);
                self.crash(n);
                let lost = self.procs[n.index()]
                    .disk
                    .power_loss(*torn, &mut self.k.disk_rng);
                (vec![n], lost as u64)
            }
            Fault::Restart(t) => {
                let n = id(self, t);
                self.restart(n);
                (vec![n], 0)
            }
            Fault::Pause(t) => {
                let n = id(self, t);
                if self.k.slots[n.index()].status == Status::Up {
                    self.k.slots[n.index()].status = Status::Paused;
                }
                (vec![n], 0)
            }
            Fault::Resume(t) => {
                let n = id(self, t);
                self.resume(n);
                (vec![n], 0)
            }
            Fault::Isolate(t) => {
                let n = id(self, t);
                self.isolate(n);
                (vec![n], 0)
            }
            Fault::Partition(groups) => {
                let ids: Vec<Vec<NodeId>> = groups
                    .iter()
                    .map(|g| g.iter().map(|n| id(self, n)).collect())
                    .collect();
                self.partition(&ids);
                (ids.concat(), 0)
            }
            Fault::Cut { from, to } => {
                let (a, b) = (id(self, from), id(self, to));
                self.k.net.set_cut(a, b, true);
                (vec![a, b], 0)
            }
            Fault::Heal => (vec![], self.heal()),
            Fault::Clog { from, to } => {
                let (a, b) = (id(self, from), id(self, to));
                self.k.net.link_mut(a, b).clogged = true;
                self.k.clogged.entry((a, b)).or_default();
                (vec![a, b], 0)
            }
            Fault::Unclog { from, to } => {
                let (a, b) = (id(self, from), id(self, to));
                let released = self.unclog(a, b);
                (vec![a, b], released)
            }
            Fault::Reset { a, b } => {
                // A TCP reset: replies in flight are dropped and both ends see the
                // connection close (one link latency later), as they would an RST.
                let (x, y) = (id(self, a), id(self, b));
                self.k.net.reset(x, y);
                self.k.tell_closed(x, y);
                self.k.tell_closed(y, x);
                (vec![x, y], 0)
            }
            Fault::Signal { target, signal } => {
                let n = id(self, target);
                if self.k.slots[n.index()].status == Status::Up {
                    let sig = signal.clone();
                    self.dispatch(n, |node, cx| node.on_signal(cx, &sig));
                }
                (vec![n], 0)
            }
        }
    }

    /// Cuts `n` off from every other node, both ways.
    fn isolate(&mut self, n: NodeId) {
        for other in 0..self.k.slots.len() as u32 {
            self.k.net.set_cut(n, NodeId(other), true);
            self.k.net.set_cut(NodeId(other), n, true);
        }
    }

    /// Cuts every link between nodes of different groups, both ways.
    fn partition(&mut self, groups: &[Vec<NodeId>]) {
        for (i, ga) in groups.iter().enumerate() {
            for gb in groups.iter().skip(i + 1) {
                for &a in ga {
                    for &b in gb {
                        self.k.net.set_cut(a, b, true);
                        self.k.net.set_cut(b, a, true);
                    }
                }
            }
        }
    }

    /// Restores every cut and clogged link; returns how many held messages were released.
    /// Connections that lost messages during the cut are broken: both ends learn it now and
    /// reconnect (a simplification of TCP giving up or being reset).
    fn heal(&mut self) -> u64 {
        for (a, b) in self.k.net.heal() {
            self.k.net.reset(a, b);
            self.k.tell_closed(a, b);
            self.k.tell_closed(b, a);
        }
        let clogged: Vec<(NodeId, NodeId)> = self.k.clogged.keys().copied().collect();
        clogged.into_iter().map(|(a, b)| self.unclog(a, b)).sum()
    }

    /// The node's process dies: its state, timers and queued work are gone, its connections
    /// are reset. Its disk stays as it is (the caller applies power loss if any).
    fn crash(&mut self, n: NodeId) {
        let slot = &mut self.k.slots[n.index()];
        slot.status = Status::Down;
        slot.incarnation += 1;
        self.procs[n.index()].node = slot.blueprint.clone();
        let held = std::mem::take(&mut slot.held);
        let timers = std::mem::take(&mut slot.timers);
        for s in held {
            if let Ev::Deliver { from, to, .. } = s.ev {
                self.k.net.link_mut(from, to).in_flight -= 1;
            }
        }
        for (_, h) in timers {
            self.k.queue.remove(h);
        }
        for other in 0..self.k.slots.len() as u32 {
            self.k.net.reset(n, NodeId(other));
        }
    }

    /// A process that dies closes its sockets: every peer with an open connection to it
    /// learns so one link latency later (unless the link is cut: then the FIN is lost too).
    fn notify_peers(&mut self, n: NodeId) {
        if self.k.slots[n.index()].status == Status::Down {
            return;
        }
        for peer in self.k.net.connected_peers(n) {
            self.k.tell_closed(peer, n);
        }
    }

    /// A request reached a node whose process is not running: its OS answers with a reset
    /// (connection refused), and the sender learns so one link latency later.
    ///
    /// The kernel keeps one connection per pair of nodes, so the reset also closes whatever
    /// a restarted incarnation of `dead` has opened to `sender` since: that side learns it
    /// too (otherwise it would wait for replies that were dropped with the old connection).
    fn refuse_connection(&mut self, sender: NodeId, dead: NodeId) {
        self.k.net.reset(sender, dead);
        self.k.tell_closed(sender, dead);
        self.k.tell_closed(dead, sender);
    }

    fn restart(&mut self, n: NodeId) {
        if self.k.slots[n.index()].status != Status::Down {
            self.notify_peers(n);
            self.crash(n);
        }
        let slot = &mut self.k.slots[n.index()];
        slot.status = Status::Up;
        slot.incarnation += 1;
        let inc = slot.incarnation;
        self.k.push(self.k.now, Ev::Start { node: n, inc });
    }

    fn resume(&mut self, n: NodeId) {
        let slot = &mut self.k.slots[n.index()];
        if slot.status != Status::Paused {
            return;
        }
        slot.status = Status::Up;
        let held = std::mem::take(&mut slot.held);
        for s in held {
            // Re-queued now, in their original order.
            let timer = match s.ev {
                Ev::Timer { id, .. } => Some(id),
                _ => None,
            };
            let h = self.k.push(self.k.now, s.ev);
            if let Some(id) = timer {
                self.k.slots[n.index()].timers.push((id, h));
            }
        }
    }

    fn unclog(&mut self, a: NodeId, b: NodeId) -> u64 {
        self.k.net.link_mut(a, b).clogged = false;
        let held = self.k.clogged.remove(&(a, b)).unwrap_or_default();
        let n = held.len() as u64;
        for s in held {
            self.k.push(self.k.now, s.ev);
        }
        self.k.net.link_mut(a, b).last_arrival = self.k.now;
        n
    }
}

/// What a node's context does to the world: the kernel side of [`Cx`].
impl<N: Node> Kernel<N> {
    pub(super) fn push(&mut self, at: Time, ev: Ev<N>) -> Handle {
        self.queue.push(at, ev)
    }

    #[inline]
    fn record(&mut self, kind: TraceKind<N::Event>) {
        if self.trace.mode == TraceMode::Off {
            return;
        }
        let rec = TraceRecord {
            event: self.events,
            time: self.now,
            kind,
        };
        self.trace.record(rec);
    }

    fn keep_emitted(&mut self, node: NodeId, event: N::Event) {
        self.kept.push(TraceRecord {
            event: self.events,
            time: self.now,
            kind: TraceKind::Emit { node, event },
        });
    }

    /// Takes an armed timer out of the queue. A timer that already fired is gone: nothing
    /// to do. (Only the node's own handlers cancel its timers, and they never run while it
    /// is paused, so a timer held for a paused node cannot be cancelled before it is re-queued.)
    pub(crate) fn cancel_timer(&mut self, node: NodeId, id: TimerId) {
        let slot = &mut self.slots[node.index()];
        if let Some(i) = slot.timers.iter().position(|&(t, _)| t == id) {
            let (_, h) = slot.timers.swap_remove(i);
            self.queue.remove(h);
        }
    }

    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg, conn: Option<u32>) {
        let reply = conn.is_some();
        let conn = conn.unwrap_or_else(|| self.net.conn(from, to));
        let sent = self.now;
        let dropped = |reason| TraceKind::Drop {
            from,
            to,
            msg: N::msg_label(&msg),
            sent,
            reason,
        };
        if self.net.link(from, to).cut {
            self.net.link_mut(from, to).lost_while_cut = true;
            self.record(dropped(DropReason::Partitioned));
            return;
        }
        self.net.mark_used(from, to);
        let (at, dup) = self.net.schedule(from, to, self.now, &mut self.net_rng);
        let Some(at) = at else {
            self.record(dropped(DropReason::Lost));
            return;
        };
        let to_inc = self.slots[to.index()].incarnation;
        let deliver = |msg| Ev::Deliver {
            from,
            to,
            to_inc,
            conn,
            reply,
            sent,
            msg,
        };
        // A duplicating datagram link queues a second copy first. Deliveries are never
        // cancelled: they go to the queue's FIFO lane.
        if let Some(d) = dup {
            self.net.link_mut(from, to).in_flight += 1;
            self.queue.push_fifo(d, deliver(msg.clone()));
        }
        self.net.link_mut(from, to).in_flight += 1;
        self.queue.push_fifo(at, deliver(msg));
    }

    /// `node` learns, one link latency from now, that `closed_by` closed their connection
    /// (unless `node` is down or the link from `closed_by` is cut: then the FIN is lost).
    fn tell_closed(&mut self, node: NodeId, closed_by: NodeId) {
        if self.slots[node.index()].status == Status::Down || self.net.is_cut(closed_by, node) {
            return;
        }
        let lat = self
            .net
            .link(closed_by, node)
            .model
            .latency
            .sample(&mut self.net_rng);
        let inc = self.slots[node.index()].incarnation;
        let ev = Ev::Disconnect {
            node,
            inc,
            peer: closed_by,
        };
        self.push(self.now + lat, ev);
    }

    /// Arms a timer for `me` at `at`; returns its id, for cancelling it.
    pub(crate) fn set_timer(&mut self, me: NodeId, at: Time, timer: N::Timer) -> TimerId {
        self.next_timer += 1;
        let id = TimerId(self.next_timer);
        let inc = self.slots[me.index()].incarnation;
        let h = self.push(
            at,
            Ev::Timer {
                node: me,
                inc,
                id,
                timer,
            },
        );
        self.slots[me.index()].timers.push((id, h));
        id
    }

    /// An event a node emitted: kept in the history if `N::keep` says so, and traced.
    pub(crate) fn emit(&mut self, me: NodeId, event: N::Event) {
        let keep = N::keep(&event);
        if self.trace.mode == TraceMode::Off {
            // Nothing to hash: a kept event moves into the history, others drop.
            if keep {
                self.keep_emitted(me, event);
            }
            return;
        }
        if keep {
            self.keep_emitted(me, event.clone());
        }
        self.record(TraceKind::Emit { node: me, event })
    }

    /// Like closing a socket: the peer sees the connection close (one link latency later),
    /// and whatever it had in flight on it is gone.
    pub(crate) fn close(&mut self, me: NodeId, peer: NodeId) {
        self.net.reset(me, peer);
        self.tell_closed(peer, me);
    }
}

/// The fault that undoes `fault` (for `for = "10s"`), targeting the same resolved nodes.
fn revert_of(fault: &Fault) -> Option<Fault> {
    Some(match fault {
        Fault::Kill(t) => Fault::Restart(t.clone()),
        Fault::PowerLoss { target, .. } => Fault::Restart(target.clone()),
        Fault::Pause(t) => Fault::Resume(t.clone()),
        Fault::Isolate(_) | Fault::Partition(_) | Fault::Cut { .. } => Fault::Heal,
        Fault::Clog { from, to } => Fault::Unclog {
            from: from.clone(),
            to: to.clone(),
        },
        Fault::Signal { target, signal } => Fault::Signal {
            target: target.clone(),
            signal: format!("end-{signal}"),
        },
        _ => return None,
    })
}

impl<N: Node> Directory<N> for World<N> {
    fn find(&self, name: &str) -> Option<NodeId> {
        World::find(self, name)
    }
    fn node(&self, id: NodeId) -> &N {
        World::node(self, id)
    }
    fn is_down(&self, id: NodeId) -> bool {
        self.status(id) == Status::Down
    }
}
