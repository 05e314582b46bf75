//! Faults, scheduled in simulated time and recorded in the trace. Targets are names: a node
//! name (`broker-2`) is resolved by the kernel, a role (`leader(orders-0)`) by the world's
//! node type at the moment the fault fires, so "kill the leader" means the leader *then*.

use serde::{Deserialize, Serialize};

use super::time::Duration;

/// What a fault does. Targets are node names or roles.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fault {
    /// The process dies; unflushed writes survive in the OS page cache.
    Kill(String),
    /// The machine loses power; unflushed writes are lost (`torn`: a random prefix survives).
    PowerLoss {
        target: String,
        torn: bool,
    },
    /// The node starts again from its disk (a running node is bounced).
    Restart(String),
    /// The process stalls (GC pause, SIGSTOP): nothing it receives is handled, no timer fires.
    Pause(String),
    Resume(String),
    /// Cut every link to and from the node.
    Isolate(String),
    /// Cut every link between nodes of different groups (unlisted nodes keep their links).
    Partition(Vec<Vec<String>>),
    /// Cut one direction only.
    Cut {
        from: String,
        to: String,
    },
    /// Restore every link.
    Heal,
    /// Hold messages on a link until unclogged.
    Clog {
        from: String,
        to: String,
    },
    Unclog {
        from: String,
        to: String,
    },
    /// Reset the connection between two nodes (replies in flight are dropped).
    Reset {
        a: String,
        b: String,
    },
    /// An application-level fault handled by the node itself (e.g. `stall`, `crash`).
    Signal {
        target: String,
        signal: String,
    },
}

impl Fault {
    /// The fault's name as in scenario files.
    pub fn verb(&self) -> &'static str {
        match self {
            Fault::Kill(_) => "kill",
            Fault::PowerLoss { .. } => "power-loss",
            Fault::Restart(_) => "restart",
            Fault::Pause(_) => "pause",
            Fault::Resume(_) => "resume",
            Fault::Isolate(_) => "isolate",
            Fault::Partition(_) => "partition",
            Fault::Cut { .. } => "cut",
            Fault::Heal => "heal",
            Fault::Clog { .. } => "clog",
            Fault::Unclog { .. } => "unclog",
            Fault::Reset { .. } => "reset",
            Fault::Signal { .. } => "signal",
        }
    }
}

/// A fault with an optional automatic revert (`for = "10s"` in a scenario): the revert
/// targets the nodes the fault actually hit, even when the target was a role.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FaultSpec {
    pub fault: Fault,
    pub revert_after: Option<Duration>,
}

impl From<Fault> for FaultSpec {
    fn from(fault: Fault) -> Self {
        FaultSpec {
            fault,
            revert_after: None,
        }
    }
}
