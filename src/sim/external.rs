//! Inputs from outside the world: what a real client (through `kafkasim serve`'s gateway)
//! does to a running world, as kernel-level [`External`] actions — add a node for a new
//! connection, send a message from it, close its connection, schedule a fault now. The
//! gateway applies them live between events (`World::apply_external`, after `run_until`);
//! a recorded session becomes a [`Script`] of (time, action) the world applies itself
//! while it runs, each action after every event at or before its time and before any
//! later one — exactly where the live gateway applied it. Because the script is part of the
//! world (and shared behind an `Arc`, so a checkpoint copies a pointer), every consumer of
//! a world — `run`, `check`, the workbench's seeks from checkpoints — replays the session
//! with the same trace hash, with no gateway in the loop.

use std::sync::Arc;

use super::fault::FaultSpec;
use super::node::{Node, NodeId};
use super::time::Time;
use super::world::{Status, World};

/// One thing the outside world did.
#[derive(Clone, Debug)]
pub enum External<N: Node> {
    /// A node joins (a real connection opened), starting now.
    AddNode { name: String, node: N },
    /// `from` sends `msg` to `to`: its `Node::on_outside` handler runs (it sends, and may
    /// record what it sent).
    Send {
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    /// `from` closes its connection to `to`.
    Close { from: NodeId, to: NodeId },
    /// A fault, scheduled now (a control-channel command).
    Fault(FaultSpec),
}

/// Outside inputs to replay, in time order, and the time of the next one.
#[derive(Clone, Debug)]
pub struct Script<N: Node> {
    actions: Arc<[(Time, External<N>)]>,
    next: usize,
    /// When the next action is due; `Time::MAX` when none is left.
    pub(super) at: Time,
}

impl<N: Node> Default for Script<N> {
    fn default() -> Self {
        Script {
            actions: Arc::from(Vec::new()),
            next: 0,
            at: Time::MAX,
        }
    }
}

impl<N: Node> World<N> {
    /// Applies one outside input at the current time (the live gateway calls this between
    /// events). A `Send` or `Close` from a node that is not running does nothing and
    /// returns false (a killed client sends nothing; a paused one neither).
    pub fn apply_external(&mut self, action: External<N>) -> bool {
        match action {
            External::AddNode { name, node } => {
                let now = self.k.now;
                self.add_node(&name, node, now);
            }
            External::Send { from, to, msg } => {
                if self.status(from) != Status::Up {
                    return false;
                }
                self.dispatch(from, |n, cx| n.on_outside(cx, to, msg));
            }
            External::Close { from, to } => {
                if self.status(from) != Status::Up {
                    return false;
                }
                self.k.close(from, to);
            }
            External::Fault(spec) => {
                let now = self.k.now;
                self.schedule_fault(now, spec);
            }
        }
        true
    }

    /// Replays `actions` (in time order, none before now) as the world runs.
    pub fn set_script(&mut self, actions: Arc<[(Time, External<N>)]>) {
        assert!(
            actions.windows(2).all(|w| w[0].0 <= w[1].0),
            "a script is in time order"
        );
        let at = actions.first().map_or(Time::MAX, |a| a.0);
        assert!(
            at == Time::MAX || at >= self.k.now,
            "a script starts now or later"
        );
        self.k.script = Script {
            actions,
            next: 0,
            at,
        };
    }

    /// The names of the nodes the script will add, in the order it adds them (their ids
    /// follow the existing nodes'): the workbench names them from the start.
    pub fn scripted_node_names(&self) -> impl Iterator<Item = &str> {
        let s = &self.k.script;
        s.actions[s.next..].iter().filter_map(|(_, a)| match a {
            External::AddNode { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Applies the next scripted action at its time (`step_until` calls this when it is due).
    pub(super) fn apply_scripted(&mut self) {
        let script = &mut self.k.script;
        let (at, action) = script.actions[script.next].clone();
        script.next += 1;
        script.at = script.actions.get(script.next).map_or(Time::MAX, |a| a.0);
        self.k.now = self.k.now.max(at);
        self.apply_external(action);
    }
}
