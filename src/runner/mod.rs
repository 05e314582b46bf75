//! Running a scenario: build the world, run it for the scenario's duration (bounded by its
//! event budget), and summarise what happened as named counters — the numbers `[expect]`
//! talks about and `kafkasim run --json` prints. Checking a scenario is running it, then
//! draining it (`drain.rs`) and giving its history to the checker (`report.rs`): the
//! checker itself (`check/`) only analyses data and never runs anything.

mod drain;
mod report;

pub use drain::{drain, drain_text, final_logs, liveness, DRAIN_MAX_ROUNDS, DRAIN_US};
pub use report::{
    check_scenario, check_scenario_in, check_scenario_watched, check_world, check_world_watched,
    CheckReport, Phase, Watch, WATCH_EVENTS,
};

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use crate::kafka::broker::group_coordinator::offsets_partition_for;
use crate::kafka::{BrokerId, ErrorCode, KafkaEvent, TopicPartition};
use crate::scenario::build::{self, BuildError};
use crate::scenario::Scenario;
use crate::sim::{RunEnd, Time, TraceKind, TraceMode, World};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
use crate::workload::kept::Piece;
use crate::workload::node::SimNode;
use crate::workload::ping::PingEvent;
use crate::workload::rpc::RpcEvent;

/// What a run produced, besides the world itself.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub scenario: String,
    pub seed: u64,
    pub trace_hash: String,
    pub events: u64,
    pub sim_time_ms: u64,
    /// Why the run stopped: `time` (reached `duration`), `events` (hit `max_events`), `idle`.
    pub ended_by: &'static str,
    /// Named counters (`ping-replies`, `leader-elections`, `acked`, …).
    pub counters: BTreeMap<String, u64>,
}

/// Builds and runs `scenario` with `seed`.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    mode: TraceMode,
) -> Result<(World<SimNode>, RunSummary), BuildError> {
    let mut world = build::build(scenario, seed, mode)?;
    let end = world.run_until(Time(scenario.duration_us), scenario.max_events);
    let summary = summarize(scenario, &world, end);
    Ok((world, summary))
}

/// Counts what `[expect]` and the summary talk about.
pub fn summarize(scenario: &Scenario, world: &World<SimNode>, end: RunEnd) -> RunSummary {
    RunSummary {
        scenario: scenario.name.clone(),
        seed: world.seed(),
        trace_hash: world.trace().hash_hex(),
        events: world.events(),
        sim_time_ms: world.now().as_ms(),
        ended_by: match end {
            RunEnd::TimeLimit => "time",
            RunEnd::EventLimit => "events",
            RunEnd::Quiescent => "idle",
        },
        counters: counters(scenario, world),
    }
}

fn counters(scenario: &Scenario, world: &World<SimNode>) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    for id in world.node_ids() {
        match world.node(id) {
            SimNode::PingClient(p) => {
                *c.entry("ping-replies".to_string()).or_insert(0) += p.replies;
            }
            SimNode::Consumer(app) => {
                // `records-lag-max` over the run: the largest any consumer saw.
                let lag = app.consumer().map_or(0, |k| k.max_lag_seen());
                let max = c.entry("max-lag".to_string()).or_insert(0);
                *max = (*max).max(lag);
            }
            _ => {}
        }
    }
    let mut tracker = Tracker::new(scenario, world);
    let mut add = |key: &str, n: u64| *c.entry(key.to_string()).or_insert(0) += n;
    // A run at a time: a long run keeps millions of history operations in few runs.
    for piece in world.kept().pieces() {
        let key = match &piece {
            Piece::Invoke { count, .. } => ("produced", *count as u64),
            Piece::SendOk { count, .. } => ("acked", *count as u64),
            Piece::Poll { records, .. } => {
                ("consumed", records.iter().map(|r| r.count as u64).sum())
            }
            Piece::Processed { .. } => continue,
            Piece::Op { op, .. } => match op {
                HistoryOp::SendFail { .. } => ("produce-errors", 1),
                HistoryOp::TxnEnd {
                    committed, error, ..
                } => match (committed, error.is_ok()) {
                    (true, true) => ("txn-committed", 1),
                    (false, true) => ("txn-aborted", 1),
                    _ => ("txn-unknown", 1),
                },
                _ => continue,
            },
            Piece::Event(rec) => {
                let TraceKind::Emit { event, .. } = &rec.kind else {
                    continue;
                };
                match event {
                    NodeEvent::Ping(PingEvent::Timeout { .. }) => ("ping-timeouts", 1),
                    NodeEvent::Kafka(e) => {
                        if tracker.coordinator_moved(e) {
                            add("coordinator-moves", 1);
                        }
                        if tracker.later_rebalance(e) {
                            add("later-rebalances", 1);
                        }
                        match kafka_counter(e, &mut tracker) {
                            Some(k) => (k, 1),
                            None => continue,
                        }
                    }
                    NodeEvent::Rpc(RpcEvent::CallOk { .. }) => ("rpc-ok", 1),
                    NodeEvent::Rpc(RpcEvent::CallFailed { .. }) => ("rpc-failures", 1),
                    NodeEvent::History(_) | NodeEvent::Ping(_) | NodeEvent::Rpc(_) => continue,
                }
            }
        };
        add(key.0, key.1);
    }
    let uncommitted = uncommitted_reads(world);
    if uncommitted > 0 {
        c.insert("uncommitted-reads".to_string(), uncommitted);
    }
    if let Some(n) = offline_partitions(world) {
        c.insert("offline-partitions".to_string(), n);
    }
    c
}

/// Records at positions written by transactions that did not commit (aborted, or unknown)
/// that polls returned:
/// what read_uncommitted readers see and read_committed readers must not.
fn uncommitted_reads(world: &World<SimNode>) -> u64 {
    let history = crate::check::history::History::from_world(world);
    let hidden = crate::check::txn_fates(&history).uncommitted_positions;
    if hidden.is_empty() {
        return 0;
    }
    let polls = history.entries().map(|e| match &e.op {
        HistoryOp::Poll { records, .. } => records
            .iter()
            .filter(|(tp, o, _)| hidden.contains(&(tp.clone(), *o)))
            .count() as u64,
        _ => 0,
    });
    polls.sum()
}

/// What the counters need to remember while walking the events: each partition's ISR (to
/// tell an ISR change apart as a shrink or an expansion), the fenced brokers, the replicas
/// (from the controller's final image: assignments do not change) and the
/// `__consumer_offsets` partitions hosting the scenario's groups.
struct Tracker {
    isr: BTreeMap<TopicPartition, Vec<BrokerId>>,
    fenced: BTreeSet<BrokerId>,
    replicas: BTreeMap<TopicPartition, Vec<BrokerId>>,
    coordinators: BTreeSet<TopicPartition>,
    /// Members each group has once all its instances joined, and the groups that got there.
    members: BTreeMap<String, u32>,
    formed: BTreeSet<String>,
}

impl Tracker {
    fn new(scenario: &Scenario, world: &World<SimNode>) -> Self {
        let image = world
            .find("controller")
            .and_then(|id| world.node(id).as_controller())
            .map(|c| &c.image);
        let replicas: BTreeMap<TopicPartition, Vec<BrokerId>> = image
            .map(|i| {
                let all = i.partitions.iter();
                all.map(|(tp, p)| (tp.clone(), p.replicas.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let offsets = replicas
            .keys()
            .filter(|tp| tp.topic.as_ref() == "__consumer_offsets")
            .count() as u32;
        let coordinators = scenario
            .consumers
            .iter()
            .map(|c| {
                let p = offsets_partition_for(&c.group, offsets);
                TopicPartition::new("__consumer_offsets", p)
            })
            .collect();
        let mut members = BTreeMap::new();
        for c in &scenario.consumers {
            *members.entry(c.group.clone()).or_insert(0) += c.instances;
        }
        Tracker {
            isr: BTreeMap::new(),
            fenced: BTreeSet::new(),
            replicas,
            coordinators,
            members,
            formed: BTreeSet::new(),
        }
    }

    /// A new leader (not the first) for a partition hosting a scenario group's coordinator:
    /// the group coordinator moved to another broker.
    fn coordinator_moved(&self, e: &KafkaEvent) -> bool {
        matches!(e, KafkaEvent::LeaderElected { tp, leader_epoch, .. }
            if leader_epoch.0 > 0 && self.coordinators.contains(tp))
    }

    /// A rebalance of a group that had already formed with all its members: one a fault
    /// (a crash, a stall, a coordinator move, a lost member) caused, not the first joins.
    fn later_rebalance(&mut self, e: &KafkaEvent) -> bool {
        match e {
            KafkaEvent::RebalanceCompleted { group, members, .. } => {
                if self.members.get(group).is_some_and(|n| members >= n) {
                    self.formed.insert(group.clone());
                }
                false
            }
            KafkaEvent::RebalanceStarted { group, .. } => self.formed.contains(group),
            _ => false,
        }
    }

    /// A partition went offline although a live replica outside its ISR could have led:
    /// the controller refused an unclean election (`unclean.leader.election.enable=false`).
    fn refused_unclean(&self, tp: &TopicPartition) -> bool {
        let isr = self.isr.get(tp).map_or(&[][..], |v| &v[..]);
        self.replicas.get(tp).is_some_and(|r| {
            r.iter()
                .any(|b| !isr.contains(b) && !self.fenced.contains(b))
        })
    }
}

/// The counter a Kafka event bumps (see [`Tracker`]).
fn kafka_counter(e: &KafkaEvent, t: &mut Tracker) -> Option<&'static str> {
    match e {
        KafkaEvent::BrokerRegistered { broker, .. } | KafkaEvent::BrokerFenced { broker } => {
            t.fenced.insert(*broker);
        }
        KafkaEvent::BrokerUnfenced { broker } => {
            t.fenced.remove(broker);
        }
        _ => {}
    }
    if let KafkaEvent::LeaderElected { tp, isr: now, .. } = e {
        t.isr.insert(tp.clone(), now.clone());
    }
    Some(match e {
        KafkaEvent::LeaderElected { unclean: true, .. } => "unclean-elections",
        KafkaEvent::LeaderElected {
            preferred: true, ..
        } => "preferred-elections",
        // Epoch 0 is the first election of a new partition, not a failover.
        KafkaEvent::LeaderElected { leader_epoch, .. } if leader_epoch.0 > 0 => "leader-elections",
        KafkaEvent::PartitionOffline { tp, .. } if t.refused_unclean(tp) => {
            "unclean-election-refusals"
        }
        KafkaEvent::ProduceRejected {
            error: ErrorCode::NotEnoughReplicas,
            ..
        } => "not-enough-replicas",
        KafkaEvent::Truncated { removed, .. } if *removed > 0 => "truncations",
        KafkaEvent::SegmentsDeleted { .. } => "segments-deleted",
        KafkaEvent::LogCleaned { .. } => "log-cleaner-passes",
        KafkaEvent::FetchPositionOutOfRange { .. } => "position-below-log-start",
        KafkaEvent::TxnTimedOut { .. } => "txn-timeouts",
        KafkaEvent::ProducerFenced { .. } => "producers-fenced",
        KafkaEvent::TxnMarkerAppended { .. } => "txn-markers",
        KafkaEvent::TxnPartitionVerified {
            error: ErrorCode::InvalidTxnState | ErrorCode::InvalidProducerEpoch,
            ..
        } => "txn-verification-refusals",
        // A coordinator taking over a partition that holds transactions: it moved.
        KafkaEvent::TxnStateLoaded { transactions, .. } if *transactions > 0 => {
            "txn-coordinator-moves"
        }
        KafkaEvent::IsrChanged { tp, isr: new, .. } => {
            let before = t.isr.insert(tp.clone(), new.clone()).map(|b| b.len());
            match before {
                Some(b) if new.len() < b => "isr-shrinks",
                Some(b) if new.len() > b => "isr-expands",
                _ => return None,
            }
        }
        KafkaEvent::RebalanceStarted { .. } => "rebalances",
        KafkaEvent::ProduceFailed {
            will_retry: true, ..
        } => "produce-retries",
        _ => return None,
    })
}

/// Partitions (internal topics excluded) without a leader in the controller's view.
fn offline_partitions(world: &World<SimNode>) -> Option<u64> {
    let c = world.node(world.find("controller")?).as_controller()?;
    let offline = c
        .image
        .partitions
        .iter()
        .filter(|(tp, p)| !tp.topic.starts_with("__") && p.leader.is_none())
        .count();
    Some(offline as u64)
}
