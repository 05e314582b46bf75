//! The operating system's writeback of dirty pages, per machine.
//!
//! A write reaches a node's page cache at once and its disk's platter only when something
//! flushes it: Kafka's own fsync (`log.flush.*`), a clean shutdown, or the OS writing dirty
//! pages back on its own schedule (Linux: `vm.dirty_expire_centisecs`). A power loss keeps
//! only what reached the platter. Here that schedule is a periodic event: every interval the
//! kernel flushes a disk completely (an approximation of Linux's "pages older than 30 s,
//! checked every 5 s"; see docs/scenario-format.md). One interval serves every disk
//! (`[disk] writeback`), and a node may have its own (`[[broker]] writeback`, or `"never"`):
//! the cluster-wide event skips nodes with their own, which get an event of their own. A node
//! that is down and never started has nothing to flush; a crashed one keeps what its disk
//! holds, so flushing it is harmless and matches a machine whose OS outlived the process.

use super::node::{Node, NodeId};
use super::time::Duration;
use super::world::{Ev, Status, World};

impl<N: Node> World<N> {
    /// Enables the OS's periodic writeback: every `every`, every disk without an interval of
    /// its own is flushed.
    pub fn set_writeback(&mut self, every: Duration) {
        self.k.writeback = Some(every);
        let at = self.k.now + every;
        self.k.push(at, Ev::Writeback(None));
    }

    /// Gives `node`'s disk its own writeback interval (`None`: the OS never writes back, only
    /// Kafka's fsyncs make data durable), overriding [`World::set_writeback`] for it.
    pub fn set_writeback_of(&mut self, node: NodeId, every: Option<Duration>) {
        let first = !self.k.writeback_of.contains_key(&node);
        self.k.writeback_of.insert(node, every);
        if let (true, Some(every)) = (first, every) {
            let at = self.k.now + every;
            self.k.push(at, Ev::Writeback(Some(node)));
        }
    }

    /// The writeback interval that applies to `node`'s disk, if the OS writes it back.
    pub fn writeback_of(&self, node: NodeId) -> Option<Duration> {
        match self.k.writeback_of.get(&node) {
            Some(own) => *own,
            None => self.k.writeback,
        }
    }

    /// Whether any disk has an interval of its own.
    pub fn has_writeback_overrides(&self) -> bool {
        !self.k.writeback_of.is_empty()
    }

    /// Handles a writeback event: one node's (`Some`) or every other disk's (`None`).
    pub(super) fn on_writeback(&mut self, node: Option<NodeId>) {
        match node {
            None => {
                for i in 0..self.procs.len() {
                    if !self.k.writeback_of.contains_key(&NodeId(i as u32)) {
                        self.flush_disk(i);
                    }
                }
                if let Some(every) = self.k.writeback {
                    let at = self.k.now + every;
                    self.k.push(at, Ev::Writeback(None));
                }
            }
            Some(n) => {
                let Some(Some(every)) = self.k.writeback_of.get(&n).copied() else {
                    return;
                };
                self.flush_disk(n.index());
                let at = self.k.now + every;
                self.k.push(at, Ev::Writeback(Some(n)));
            }
        }
    }

    fn flush_disk(&mut self, i: usize) {
        let slot = &self.k.slots[i];
        if slot.status != Status::Down || slot.incarnation > 0 {
            self.procs[i].disk.flush_all();
        }
    }
}
