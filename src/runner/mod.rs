//! Running a scenario: build the world, run it for the scenario's duration (bounded by its
//! event budget), and summarise what happened as named counters — the numbers `[expect]`
//! talks about and `kafkasim run --json` prints. Checking a scenario is running it, then
//! draining it (`drain.rs`) and giving its history to the checker (`report.rs`): the
//! checker itself (`check/`) only analyses data and never runs anything.

mod drain;
mod report;

pub use drain::{drain, final_logs, liveness, DRAIN_MAX_ROUNDS, DRAIN_US};
pub use report::{check_scenario, check_scenario_in, check_world, CheckReport};

use serde::Serialize;
use std::collections::BTreeMap;

use crate::kafka::{KafkaEvent, TopicPartition};
use crate::scenario::build::{self, BuildError};
use crate::scenario::Scenario;
use crate::sim::{RunEnd, Time, TraceKind, TraceMode, World};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
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
        counters: counters(world),
    }
}

fn counters(world: &World<SimNode>) -> BTreeMap<String, u64> {
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
    let mut isr: BTreeMap<TopicPartition, usize> = BTreeMap::new();
    for rec in world.kept() {
        let TraceKind::Emit { event, .. } = &rec.kind else {
            continue;
        };
        let key = match event {
            NodeEvent::Ping(PingEvent::Timeout { .. }) => "ping-timeouts",
            NodeEvent::Kafka(e) => match kafka_counter(e, &mut isr) {
                Some(k) => k,
                None => continue,
            },
            NodeEvent::History(op) => match op {
                HistoryOp::SendInvoke { .. } => "produced",
                HistoryOp::SendOk { .. } => "acked",
                HistoryOp::SendFail { .. } => "produce-errors",
                HistoryOp::Poll { records, .. } => {
                    *c.entry("consumed".to_string()).or_insert(0) += records.len() as u64;
                    continue;
                }
                _ => continue,
            },
            NodeEvent::Rpc(RpcEvent::CallOk { .. }) => "rpc-ok",
            NodeEvent::Rpc(RpcEvent::CallFailed { .. }) => "rpc-failures",
            NodeEvent::Ping(_) | NodeEvent::Rpc(_) => continue,
        };
        *c.entry(key.to_string()).or_insert(0) += 1;
    }
    if let Some(n) = offline_partitions(world) {
        c.insert("offline-partitions".to_string(), n);
    }
    c
}

/// The counter a Kafka event bumps. `isr` remembers each partition's ISR size so an ISR
/// change can be told apart as a shrink or an expansion.
fn kafka_counter(
    e: &KafkaEvent,
    isr: &mut BTreeMap<TopicPartition, usize>,
) -> Option<&'static str> {
    if let KafkaEvent::LeaderElected { tp, isr: now, .. } = e {
        isr.insert(tp.clone(), now.len());
    }
    Some(match e {
        KafkaEvent::LeaderElected { unclean: true, .. } => "unclean-elections",
        // Epoch 0 is the first election of a new partition, not a failover.
        KafkaEvent::LeaderElected { leader_epoch, .. } if leader_epoch.0 > 0 => "leader-elections",
        KafkaEvent::Truncated { removed, .. } if *removed > 0 => "truncations",
        KafkaEvent::IsrChanged { tp, isr: new, .. } => {
            let before = isr.insert(tp.clone(), new.len());
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
