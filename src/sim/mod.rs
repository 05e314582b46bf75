//! The deterministic simulation kernel: simulated time, seeded randomness, an event queue,
//! a network, disks, faults and a trace. It knows nothing about Kafka: nodes are any type
//! implementing [`Node`], usually an enum over the node kinds of a world.
//!
//! Architecture invariant: nothing here reads the wall clock, spawns a thread, or iterates a
//! hash map. A run is a pure function of (nodes added, faults scheduled, seed).

pub mod closes;
pub mod cx;
pub mod disk;
pub mod external;
pub mod fault;
pub mod kept;
pub mod network;
pub mod node;
pub mod queue;
pub mod rng;
pub mod time;
pub mod trace;
pub mod vec_map;
pub mod world;
mod writeback;

pub use disk::Disk;
pub use external::External;
pub use fault::{Fault, FaultSpec};
pub use network::{Latency, LinkModel, Network, Transport};
pub use node::{Context, Directory, Mapped, Node, NodeContext, NodeId, Peer, TimerId, Wakeup};
pub use rng::Rng;
pub use time::{Duration, Time};
pub use trace::{DropReason, FaultRecord, Trace, TraceKind, TraceMode, TraceRecord};
pub use vec_map::VecMap;
pub use world::{Cx, RunEnd, Status, World};
