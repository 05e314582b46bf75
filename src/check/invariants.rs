//! Replication invariants, checked from *outside* the nodes after every event (the nodes
//! never see the checker). Fed the state of every running broker, and the controller's:
//!
//! 1. at most one broker leads a partition in a given leader epoch;
//! 2. a replica's leader epoch never goes backwards;
//! 3. `log start <= high watermark <= LEO` on every replica;
//! 4. a leader's high watermark never decreases within its epoch;
//! 5. ISR ⊆ replicas, and the ISR contains the leader (leader's and controller's view);
//! 6. below the leader's HW, every ISR member holds the *same* records as the leader.
//!    A member may lack a suffix (it restarted after a power loss, or a fetch is on its way)
//!    but never hold different records: that is replica divergence.
//!
//! Check 6 is incremental: per (member, partition) we remember up to where the member's log
//! was verified against the current leader, and only look at batches past that point. The
//! mark is reset when the leader, its epoch, a process incarnation or a log's truncation
//! count changes — so the cost is O(new batches) per event, not O(log). And a broker's event
//! is followed by a look at only the partitions it handed out for change (its
//! `PartitionMap::touched`, cleared as each of its events begins; every change to a partition
//! passes through it), and a controller's by a look at the partitions its new metadata
//! records name: the cost per event is what the event touched, not the cluster's size.
//!
//! [`CheckedRun`] steps a world one event at a time and runs the checker after each; on a
//! violation the report names the seed, the event number and the last trace lines.

use std::fmt;

use crate::kafka::broker::cleaner::first_dirty_offset;
use crate::kafka::broker::log::PartitionLog;
use crate::kafka::broker::partition::{Partition, Role};
use crate::kafka::broker::Broker;
use crate::kafka::controller::Controller;
use crate::kafka::partition_map::PartitionMap;
use crate::kafka::protocol::MetadataRecord;
use crate::kafka::types::{BrokerId, LeaderEpoch, Offset, TopicPartition};
use crate::sim::{trace, Node, NodeId, Status, Time, VecMap, World};
use crate::workload::cluster::broker;
use crate::workload::node::SimNode;

/// A broken invariant, with what the run was doing.
#[derive(Clone, Debug)]
pub struct Violation {
    pub invariant: &'static str,
    pub message: String,
    pub seed: u64,
    pub event: u64,
    /// The last trace lines, explained.
    pub trace_tail: Vec<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "invariant `{}` violated at event {} (seed {}): {}",
            self.invariant, self.event, self.seed, self.message
        )?;
        for line in &self.trace_tail {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// One running broker as the checker sees it.
#[derive(Copy, Clone)]
pub struct BrokerView<'a> {
    pub broker: &'a Broker,
    /// Process incarnation (changes at each restart).
    pub incarnation: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct VerifyKey {
    leader: BrokerId,
    epoch: LeaderEpoch,
    incarnations: (u32, u32),
    truncations: (u64, u64),
}

/// The checker's memory between events.
#[derive(Clone, Debug, Default)]
pub struct InvariantChecker {
    leaders: VecMap<(TopicPartition, LeaderEpoch), BrokerId>,
    epochs: VecMap<(BrokerId, TopicPartition), LeaderEpoch>,
    leader_hw: VecMap<(TopicPartition, LeaderEpoch), Offset>,
    verified: VecMap<(BrokerId, TopicPartition), (VerifyKey, Offset)>,
    /// What each replica looked like when last checked, per broker: a replica whose state
    /// has not changed since cannot have broken anything it alone decides. A broker's
    /// replicas are compared after each of its events, so they are found in O(1).
    seen: VecMap<BrokerId, PartitionMap<Fingerprint>>,
    /// Each broker's process incarnation when last checked.
    incarnations: VecMap<BrokerId, u32>,
    /// Also compare every partition a broker's event did *not* hand out for change with
    /// what it was, and fail (`touched-complete`) if one changed: proof, for the tests,
    /// that looking only at `PartitionMap::touched` misses nothing. O(partitions) per event.
    pub audit_touched: bool,
}

type Broken = (&'static str, String);

/// The parts of a replica's state the invariants read.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fingerprint {
    incarnation: u32,
    offsets: (Offset, Offset, Offset),
    truncations: u64,
    epochs: (LeaderEpoch, i32),
    isr: usize,
    leader: Option<Option<BrokerId>>,
}

impl Fingerprint {
    fn of(v: &BrokerView<'_>, p: &Partition) -> Self {
        let log = &p.log;
        Fingerprint {
            incarnation: v.incarnation,
            offsets: (
                log.log_start_offset(),
                log.high_watermark(),
                log.log_end_offset(),
            ),
            truncations: log.truncations,
            epochs: (p.leader_epoch, p.partition_epoch),
            isr: p.isr.len(),
            leader: match &p.role {
                Role::Leader(_) => None,
                Role::Follower { leader } => Some(*leader),
                Role::None => Some(None),
            },
        }
    }
}

impl InvariantChecker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks what one broker's state can break: its replicas (checks 2–3), the partitions
    /// it leads (1, 4, 5, 6 against each ISR member) and the partitions it follows (6 against
    /// their leader). `lookup` finds a running broker by id.
    pub fn check_broker<'a>(
        &mut self,
        v: &BrokerView<'a>,
        lookup: &dyn Fn(BrokerId) -> Option<BrokerView<'a>>,
    ) -> Result<(), Broken> {
        // Only what this event handed out for change can differ from the last check (all
        // of it the first time this broker is seen, or after a restart).
        let fresh = self.incarnations.get(&v.broker.id) != Some(&v.incarnation);
        self.incarnations.insert(v.broker.id, v.incarnation);
        let parts = &v.broker.partitions;
        let candidates: Vec<(&TopicPartition, &Partition)> = match parts.touched() {
            Some(touched) if !fresh => {
                let mut tps: Vec<&TopicPartition> = touched.iter().collect();
                tps.sort();
                tps.dedup();
                tps.into_iter()
                    .filter_map(|tp| parts.get_key_value(tp))
                    .collect()
            }
            _ => parts.iter().collect(),
        };
        if self.audit_touched && !fresh {
            self.audit(v, &candidates)?;
        }
        let seen = self.seen.entry(v.broker.id).or_default();
        let mut changed = Vec::new();
        for (tp, p) in candidates {
            let fp = Fingerprint::of(v, p);
            match seen.get_mut(tp) {
                Some(seen) if *seen == fp => continue,
                Some(seen) => *seen = fp,
                None => {
                    seen.insert(tp.clone(), fp);
                }
            }
            changed.push((tp, p));
        }
        for (tp, p) in changed {
            self.check_replica(v.broker.id, tp, &p.log, p.leader_epoch)?;
            match &p.role {
                Role::Leader(_) => self.check_leader(v, tp, lookup)?,
                Role::Follower { leader: Some(l) } => {
                    let Some(lv) = lookup(*l) else { continue };
                    let led = lv.broker.partitions.get(tp);
                    if led.is_some_and(|lp| lp.is_leader() && lp.isr.contains(&v.broker.id)) {
                        self.check_member(&lv, v, tp)?;
                    }
                }
                Role::Follower { leader: None } | Role::None => {}
            }
        }
        Ok(())
    }

    /// [`InvariantChecker::audit_touched`]: no partition outside `candidates` changed.
    fn audit(
        &self,
        v: &BrokerView<'_>,
        candidates: &[(&TopicPartition, &Partition)],
    ) -> Result<(), Broken> {
        let Some(seen) = self.seen.get(&v.broker.id) else {
            return Ok(());
        };
        for (tp, p) in v.broker.partitions.iter() {
            if candidates.iter().any(|(c, _)| *c == tp) {
                continue;
            }
            if seen.get(tp).is_some_and(|fp| *fp != Fingerprint::of(v, p)) {
                return Err((
                    "touched-complete",
                    format!(
                        "broker {} {tp} changed without being handed out for change (PartitionMap::touched)",
                        v.broker.id
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_replica(
        &mut self,
        b: BrokerId,
        tp: &TopicPartition,
        log: &PartitionLog,
        epoch: LeaderEpoch,
    ) -> Result<(), Broken> {
        let (start, hw, leo) = (
            log.log_start_offset(),
            log.high_watermark(),
            log.log_end_offset(),
        );
        if !(start <= hw && hw <= leo) {
            return Err((
                "offsets-ordered",
                format!("broker {b} {tp}: log start {start}, HW {hw}, LEO {leo}"),
            ));
        }
        // read_committed readers never read past what read_uncommitted ones may.
        let lso = log.last_stable_offset();
        if lso > hw {
            return Err((
                "lso-at-most-hw",
                format!("broker {b} {tp}: last stable offset {lso} above the HW {hw}"),
            ));
        }
        if epoch == LeaderEpoch::NONE {
            return Ok(());
        }
        let last = self.epochs.entry((b, tp.clone())).or_insert(epoch);
        if epoch < *last {
            return Err((
                "leader-epoch-monotonic",
                format!("broker {b} {tp}: leader epoch went from {last} back to {epoch}"),
            ));
        }
        *last = epoch;
        Ok(())
    }

    fn check_leader<'a>(
        &mut self,
        v: &BrokerView<'a>,
        tp: &TopicPartition,
        lookup: &dyn Fn(BrokerId) -> Option<BrokerView<'a>>,
    ) -> Result<(), Broken> {
        let b = v.broker.id;
        let p = &v.broker.partitions[tp];
        let epoch = p.leader_epoch;
        let owner = *self.leaders.entry((tp.clone(), epoch)).or_insert(b);
        if owner != b {
            return Err((
                "one-leader-per-epoch",
                format!("{tp} epoch {epoch}: brokers {owner} and {b} both led it"),
            ));
        }
        let hw = p.log.high_watermark();
        let last = self.leader_hw.entry((tp.clone(), epoch)).or_insert(hw);
        if hw < *last {
            return Err((
                "leader-hw-monotonic",
                format!("{tp} epoch {epoch}: leader {b}'s HW went from {last} back to {hw}"),
            ));
        }
        *last = hw;
        if !p.isr.contains(&b) || p.isr.iter().any(|r| !p.replicas.contains(r)) {
            return Err((
                "isr-valid",
                format!(
                    "{tp}: leader {b} has ISR {:?} for replicas {:?}",
                    p.isr, p.replicas
                ),
            ));
        }
        for m in p.isr.iter().filter(|&&m| m != b) {
            if let Some(mv) = lookup(*m) {
                self.check_member(v, &mv, tp)?;
            }
        }
        Ok(())
    }

    /// Check 6 for one ISR member, from where it was last verified.
    fn check_member(
        &mut self,
        lv: &BrokerView<'_>,
        mv: &BrokerView<'_>,
        tp: &TopicPartition,
    ) -> Result<(), Broken> {
        let leader = &lv.broker.partitions[tp];
        let Some(member) = mv.broker.partitions.get(tp) else {
            return Ok(());
        };
        let key = VerifyKey {
            leader: lv.broker.id,
            epoch: leader.leader_epoch,
            incarnations: (lv.incarnation, mv.incarnation),
            truncations: (leader.log.truncations, member.log.truncations),
        };
        let slot = self
            .verified
            .entry((mv.broker.id, tp.clone()))
            .or_insert((key.clone(), Offset::ZERO));
        if slot.0 != key {
            *slot = (key, Offset::ZERO);
        }
        let upto = leader.log.high_watermark().min(member.log.log_end_offset());
        // Below either log start, retention deleted the records; below either log's first
        // dirty offset, each replica's own log cleaner compacted its copy (independently,
        // as in Kafka): nothing left to compare record for record.
        let from = slot
            .1
            .max(leader.log.log_start_offset())
            .max(member.log.log_start_offset())
            .max(first_dirty_offset(&leader.log))
            .max(first_dirty_offset(&member.log));
        if upto <= from {
            return Ok(());
        }
        for lb in leader.log.read(from, u32::MAX, upto) {
            let same = member
                .log
                .batch_at(lb.base_offset)
                .is_some_and(|mb| std::sync::Arc::ptr_eq(mb, &lb) || **mb == *lb);
            if !same {
                let theirs = member.log.batch_at(lb.base_offset).map(|mb| {
                    (
                        mb.partition_leader_epoch.0,
                        mb.records.first().map(|r| r.value),
                    )
                });
                return Err(("isr-same-records", format!(
                    "{tp}: ISR member {} diverges from leader {} below HW {}: at offset {} the leader has epoch {} value {:?}, the member has {:?}",
                    mv.broker.id, lv.broker.id, leader.log.high_watermark(), lb.base_offset, lb.partition_leader_epoch, lb.records.first().map(|r| r.value), theirs
                )));
            }
        }
        slot.1 = upto;
        Ok(())
    }
}

/// Check 5 in the controller's image, for the partitions its metadata records changed
/// since `checked` (how many records were checked before; all again if the log is
/// shorter, as after a restart that lost unflushed records). Only a `Partition` record
/// changes a partition, so the cost is that of the new records, not of the cluster.
fn check_controller(c: &Controller, checked: &mut usize) -> Result<(), Broken> {
    let log = c.metadata_log();
    let changed: Vec<&TopicPartition> = if log.len() < *checked {
        c.image.partitions.keys().collect()
    } else {
        let new = log[*checked..].iter();
        new.filter_map(|r| match r {
            MetadataRecord::Partition { tp, .. } => Some(tp),
            _ => None,
        })
        .collect()
    };
    *checked = log.len();
    let now = changed
        .into_iter()
        .filter_map(|tp| c.image.partitions.get_key_value(tp));
    for (tp, p) in now {
        let bad = p.isr.is_empty()
            || p.isr.iter().any(|r| !p.replicas.contains(r))
            || p.leader.is_some_and(|l| !p.isr.contains(&l));
        if bad {
            return Err((
                "isr-valid",
                format!(
                    "controller: {tp} has leader {:?}, ISR {:?}, replicas {:?}",
                    p.leader, p.isr, p.replicas
                ),
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------ running a world under the checker

/// Runs a world with the invariant checker after every event. Only the node whose handler
/// ran is re-checked (no other node's state changed), so the cost per event is that of one
/// broker's partitions, not the cluster's.
#[derive(Default)]
pub struct CheckedRun {
    pub checker: InvariantChecker,
    /// The world's broker nodes, by broker id (`broker-N` has id N), found once.
    brokers: Vec<(BrokerId, NodeId)>,
    /// Events checked so far (the report's `invariant-checks`: proof the checker ran).
    pub checks: u64,
    /// Records of the controller's metadata log checked so far.
    controller_checked: usize,
}

impl CheckedRun {
    /// A run that also audits the touched-partitions shortcut after every broker event
    /// ([`InvariantChecker::audit_touched`]; for tests).
    pub fn audited() -> Self {
        let mut run = Self::default();
        run.checker.audit_touched = true;
        run
    }

    /// Steps until `until`, checking after each event.
    pub fn run(&mut self, world: &mut World<SimNode>, until: Time) -> Result<(), Violation> {
        world.run_until_checked(until, u64::MAX, |w| self.check(w))?;
        Ok(())
    }

    /// Checks what the last event can have broken.
    pub fn check(&mut self, world: &World<SimNode>) -> Result<(), Violation> {
        let Some(node) = world.last_node() else {
            return Ok(());
        };
        self.checks += 1;
        if world.status(node) == Status::Down {
            return Ok(());
        }
        let result = match world.node(node) {
            SimNode::Controller(c) => check_controller(c, &mut self.controller_checked),
            SimNode::Broker(b) => {
                if self.brokers.is_empty() {
                    self.brokers = index_brokers(world);
                }
                let me = BrokerView {
                    broker: b,
                    incarnation: world.incarnation(node),
                };
                let brokers = &self.brokers;
                let lookup = |id: BrokerId| {
                    let &(_, n) = brokers.iter().find(|(b, _)| *b == id)?;
                    broker(world, n).map(|broker| BrokerView {
                        broker,
                        incarnation: world.incarnation(n),
                    })
                };
                self.checker.check_broker(&me, &lookup)
            }
            _ => Ok(()),
        };
        result.map_err(|(invariant, message)| violation(world, invariant, message))
    }
}

/// The broker nodes of `world` with their broker ids.
fn index_brokers(world: &World<SimNode>) -> Vec<(BrokerId, NodeId)> {
    world
        .node_ids()
        .filter_map(|n| world.node(n).as_broker().map(|b| (b.id, n)))
        .collect()
}

/// Runs `world` until `until` with the invariant checker after every event. On a violation
/// the report names the seed, the event number and the last 20 trace lines.
pub fn run_checked(world: &mut World<SimNode>, until: Time) -> Result<(), Violation> {
    CheckedRun::default().run(world, until)
}

fn violation(world: &World<SimNode>, invariant: &'static str, message: String) -> Violation {
    let records = world.trace().records();
    let tail = &records[records.len().saturating_sub(20)..];
    let name = |n: NodeId| world.name(n).to_string();
    let trace_tail = tail
        .iter()
        .map(|r| {
            format!(
                "#{} {} {}",
                r.event,
                r.time,
                trace::explain(r, &name, &|e| SimNode::explain(e))
            )
        })
        .collect();
    Violation {
        invariant,
        message,
        seed: world.seed(),
        event: world.events(),
        trace_tail,
    }
}
