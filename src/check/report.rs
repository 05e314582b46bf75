//! Checking one scenario run: run it, drain it, analyse the history, evaluate `[expect]`,
//! and produce a readable report. This is what `kafkasim check FILE…` prints per file and
//! what exploration calls for every seed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::anomaly::{counts, Anomaly, AnomalyKind};
use super::expect::{evaluate, ExpectLine};
use super::history::History;
use super::{analyze, FinalLogs};
use crate::runner::{self, RunSummary};
use crate::scenario::Scenario;
use crate::sim::{Duration, Fault, Status, TraceMode, World};
use crate::workload::actor::Actor;
use crate::workload::history::HistoryOp;

/// How long the drain phase runs after healing everything, in simulated time.
pub const DRAIN_US: u64 = 10_000_000;

/// The result of checking one scenario with one seed.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub scenario: String,
    pub seed: u64,
    /// The scenario could not be built (e.g. a feature not simulated yet).
    pub error: Option<String>,
    pub summary: Option<RunSummary>,
    /// Run counters, history counters and anomaly counts: what `[expect]` is evaluated on.
    pub counters: BTreeMap<String, u64>,
    pub anomalies: Vec<Anomaly>,
    pub lines: Vec<ExpectLine>,
}

impl CheckReport {
    /// Every `[expect]` condition holds (and the scenario could be run).
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.lines.iter().all(|l| l.ok)
    }

    /// Count of anomalies of `kind`.
    pub fn count(&self, kind: AnomalyKind) -> u64 {
        self.anomalies.iter().filter(|a| a.kind == kind).count() as u64
    }

    /// Keys of the failed `[expect]` lines.
    pub fn failed_keys(&self) -> Vec<String> {
        let failed = self.lines.iter().filter(|l| !l.ok);
        failed.map(|l| l.key.clone()).collect()
    }
}

/// Runs `scenario` with `seed` and checks it against its `[expect]`.
pub fn check_scenario(scenario: &Scenario, seed: u64) -> CheckReport {
    check_scenario_in(scenario, seed, TraceMode::HashOnly)
}

/// The same with a chosen trace mode: exploration uses `TraceMode::Off` (the run is the
/// same — nodes behave identically — but nothing is hashed, and the report's trace hash is
/// then meaningless).
pub fn check_scenario_in(scenario: &Scenario, seed: u64, mode: TraceMode) -> CheckReport {
    match runner::run(scenario, seed, mode) {
        Ok((mut world, summary)) => check_world(scenario, &mut world, summary),
        Err(e) => CheckReport {
            scenario: scenario.name.clone(),
            seed,
            error: Some(e.to_string()),
            summary: None,
            counters: BTreeMap::new(),
            anomalies: Vec::new(),
            lines: Vec::new(),
        },
    }
}

/// Checks a world that has run its scenario's duration: liveness first (on the state the
/// run ended in), then the drain phase, then the history.
pub fn check_world(
    scenario: &Scenario,
    world: &mut World<Actor>,
    summary: RunSummary,
) -> CheckReport {
    let mut anomalies = liveness(world, &summary.counters);
    let logs = drain(world, scenario);
    let history = History::from_world(world);
    anomalies.extend(analyze(&history, logs.as_ref()));
    let mut counters = summary.counters.clone();
    for (k, n) in history_counters(&history) {
        counters.entry(k).or_insert(n);
    }
    for (kind, n) in counts(&anomalies) {
        counters.insert(kind.as_str().to_string(), n);
    }
    CheckReport {
        scenario: scenario.name.clone(),
        seed: summary.seed,
        error: None,
        lines: evaluate(&scenario.expect, &counters),
        summary: Some(summary),
        counters,
        anomalies,
    }
}

/// Counters derived from the history: `acked`, `consumed`, `produce-errors`.
fn history_counters(h: &History) -> BTreeMap<String, u64> {
    let mut c = BTreeMap::new();
    for e in &h.entries {
        let (key, n) = match &e.op {
            HistoryOp::SendOk { .. } => ("acked", 1),
            HistoryOp::SendFail { .. } => ("produce-errors", 1),
            HistoryOp::Poll { records, .. } => ("consumed", records.len() as u64),
            _ => continue,
        };
        *c.entry(key.to_string()).or_insert(0) += n;
    }
    c
}

/// `not-converged` anomalies for a world at the end of its liveness phase: a ping client
/// that has not received every reply, or a partition left without a leader.
pub fn liveness(world: &World<Actor>, counters: &BTreeMap<String, u64>) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let last = world.events();
    for id in world.node_ids() {
        let Actor::PingClient(p) = world.node(id) else {
            continue;
        };
        if p.replies < p.config.requests {
            let name = world.name(id);
            let d = format!(
                "{name} received {} of {} replies by the end of the run",
                p.replies, p.config.requests
            );
            out.push(
                Anomaly::new(AnomalyKind::NotConverged, d)
                    .event(last)
                    .node(name),
            );
        }
    }
    if let Some(&n) = counters.get("offline-partitions").filter(|n| **n > 0) {
        let d = format!("{n} partition(s) had no leader at the end of the run");
        out.push(Anomaly::new(AnomalyKind::NotConverged, d).event(last));
    }
    out
}

/// The drain phase: heal the network, resume paused and restart crashed nodes, let the
/// system settle for [`DRAIN_US`], then read every partition's final log. `None` when the
/// world has no Kafka cluster (nothing to drain).
pub fn drain(world: &mut World<Actor>, scenario: &Scenario) -> Option<FinalLogs> {
    scenario.cluster.as_ref()?;
    let now = world.now();
    world.schedule_fault(now, Fault::Heal);
    let ids: Vec<_> = world.node_ids().collect();
    for id in ids {
        let name = world.name(id).to_string();
        match world.status(id) {
            Status::Down => world.schedule_fault(now, Fault::Restart(name)),
            Status::Paused => world.schedule_fault(now, Fault::Resume(name)),
            Status::Up => {}
        }
    }
    // Run DRAIN_US; then, while consumers are still processing (their history grows),
    // give them more time, up to DRAIN_MAX_ROUNDS rounds: a slow consumer is not a lost one.
    let mut end = now;
    for _ in 0..DRAIN_MAX_ROUNDS {
        let before = world.kept().len();
        end += Duration::from_us(DRAIN_US);
        world.run_until(end, u64::MAX);
        let processed_more = world.kept().iter_from(before).any(|r| {
            matches!(
                &r.kind,
                crate::sim::TraceKind::Emit {
                    event: crate::workload::actor::ActorEvent::History(
                        HistoryOp::Processed { .. } | HistoryOp::Poll { .. }
                    ),
                    ..
                }
            )
        });
        if !processed_more {
            break;
        }
    }
    final_logs(world)
}

/// At most this many drain rounds of `DRAIN_US` each.
pub const DRAIN_MAX_ROUNDS: u32 = 6;

/// Reads each partition's log, from log start to log end, from its leader (or, for a
/// partition left without a leader, from the live replica with the longest log). `None`
/// when the world has no Kafka cluster (log-based checks are then skipped).
pub fn final_logs(world: &World<Actor>) -> Option<FinalLogs> {
    let controller = world.node(world.find("controller")?).as_controller()?;
    let mut logs = FinalLogs::default();
    for (tp, p) in &controller.image.partitions {
        if tp.topic.starts_with("__") {
            continue;
        }
        let replica_log = |b: crate::kafka::BrokerId| {
            let node = controller.image.node_of(b)?;
            if world.status(node) == Status::Down {
                return None;
            }
            world
                .node(node)
                .as_broker()?
                .partitions
                .get(tp)
                .map(|part| {
                    part.log
                        .batches()
                        .iter()
                        .flat_map(|b| {
                            b.records
                                .iter()
                                .enumerate()
                                .map(move |(i, r)| (b.base_offset + i as i64, r.value))
                        })
                        .collect::<Vec<_>>()
                })
        };
        let records = p.leader.and_then(replica_log).or_else(|| {
            p.replicas
                .iter()
                .filter_map(|&b| replica_log(b))
                .max_by_key(|l| l.len())
        });
        logs.partitions
            .insert(tp.clone(), records.unwrap_or_default());
    }
    Some(logs)
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        write!(f, "{verdict} {:?} seed {}", self.scenario, self.seed)?;
        if let Some(s) = &self.summary {
            write!(
                f,
                " ({} events, {} ms simulated, trace {})",
                s.events, s.sim_time_ms, s.trace_hash
            )?;
        }
        writeln!(f)?;
        if let Some(e) = &self.error {
            writeln!(f, "  error: {e}")?;
        }
        for l in &self.lines {
            writeln!(f, "  {l}")?;
        }
        write_anomalies(f, &self.anomalies)
    }
}

/// At most this many anomalies of one kind are listed in a report.
const LIST_PER_KIND: usize = 5;

fn write_anomalies(f: &mut fmt::Formatter<'_>, anomalies: &[Anomaly]) -> fmt::Result {
    for (kind, n) in counts(anomalies).into_iter().filter(|(_, n)| *n > 0) {
        writeln!(f, "  {n} {kind}:")?;
        let of_kind = anomalies.iter().filter(|a| a.kind == kind);
        for a in of_kind.clone().take(LIST_PER_KIND) {
            writeln!(f, "    - {}", a.description)?;
            if !a.events.is_empty() {
                let ev: Vec<String> = a.events.iter().take(8).map(|e| format!("#{e}")).collect();
                writeln!(f, "      events {}", ev.join(" "))?;
            }
        }
        if n as usize > LIST_PER_KIND {
            writeln!(f, "    … and {} more", n as usize - LIST_PER_KIND)?;
        }
    }
    Ok(())
}
