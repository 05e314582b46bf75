//! Running a scenario: build the world, run it for the scenario's duration (bounded by its
//! event budget), and summarise what happened as named counters — the numbers `[expect]`
//! talks about and `kafkasim run --json` prints.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::scenario::build::{self, BuildError};
use crate::scenario::Scenario;
use crate::sim::{RunEnd, Time, TraceKind, TraceMode, World};
use crate::workload::actor::{Actor, ActorEvent};
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
) -> Result<(World<Actor>, RunSummary), BuildError> {
    let mut world = build::build(scenario, seed, mode)?;
    let end = world.run_until(Time(scenario.duration_us), scenario.max_events);
    let summary = summarize(scenario, &world, end);
    Ok((world, summary))
}

/// Counts what `[expect]` and the summary talk about.
pub fn summarize(scenario: &Scenario, world: &World<Actor>, end: RunEnd) -> RunSummary {
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

fn counters(world: &World<Actor>) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    let mut bump = |k: &str, n: u64| *c.entry(k.to_string()).or_insert(0) += n;
    for id in world.node_ids() {
        if let Actor::PingClient(p) = world.node(id) {
            bump("ping-replies", p.replies);
        }
    }
    for rec in world.kept() {
        let TraceKind::Emit { event, .. } = &rec.kind else {
            continue;
        };
        match event {
            ActorEvent::Ping(PingEvent::Timeout { .. }) => bump("ping-timeouts", 1),
            ActorEvent::Rpc(RpcEvent::CallOk { .. }) => bump("rpc-ok", 1),
            ActorEvent::Rpc(RpcEvent::CallFailed { .. }) => bump("rpc-failures", 1),
            ActorEvent::Ping(_)
            | ActorEvent::Kafka(_)
            | ActorEvent::History(_)
            | ActorEvent::Rpc(_) => {}
        }
    }
    c
}
