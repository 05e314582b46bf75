//! Checking one scenario run: run it, drain it (`drain.rs`), hand the history and the final
//! logs to the checker (`check::analyze`), evaluate `[expect]`, and produce a readable
//! report. This is what `kafkasim check FILE…` prints per file and what exploration calls
//! for every seed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::drain::{drain, liveness};
use super::RunSummary;
use crate::check::invariants::CheckedRun;
use crate::check::{counts, duplicate_causes, evaluate, Anomaly, AnomalyKind, ExpectLine, History};
use crate::scenario::{build, Scenario};
use crate::sim::{RunEnd, Time, TraceMode, World};
use crate::workload::node::SimNode;

/// The result of checking one scenario with one seed.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    pub scenario: String,
    pub seed: u64,
    /// The scenario could not be built (e.g. a feature not simulated yet).
    pub error: Option<String>,
    /// A replication invariant broke during the run or the drain (the run stopped there).
    pub invariant: Option<String>,
    pub summary: Option<RunSummary>,
    /// Run counters, history counters and anomaly counts: what `[expect]` is evaluated on.
    pub counters: BTreeMap<String, u64>,
    pub anomalies: Vec<Anomaly>,
    pub lines: Vec<ExpectLine>,
    /// How long the drain phase ran, in simulated milliseconds: it ends at the first 100 ms
    /// slice after which nothing the checker reads can change (`None`: no cluster to drain,
    /// the scenario could not be run, or an invariant broke first).
    pub drain_ms: Option<u64>,
}

impl CheckReport {
    /// A report for a scenario that could not be built.
    fn not_run(scenario: &Scenario, seed: u64, error: String) -> Self {
        CheckReport {
            scenario: scenario.name.clone(),
            seed,
            error: Some(error),
            invariant: None,
            summary: None,
            counters: BTreeMap::new(),
            anomalies: Vec::new(),
            lines: Vec::new(),
            drain_ms: None,
        }
    }

    /// Every `[expect]` condition holds, no invariant broke, and the scenario could be run.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.invariant.is_none() && self.lines.iter().all(|l| l.ok)
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
/// then meaningless). The live replication invariants (`check::invariants`) are checked
/// after every event of the run and of the drain; a violation fails the check whatever
/// `[expect]` says.
pub fn check_scenario_in(scenario: &Scenario, seed: u64, mode: TraceMode) -> CheckReport {
    check_scenario_watched(scenario, seed, mode, &mut |_, _| {})
}

/// What a check is doing, for a progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The scenario's own run.
    Run,
    /// The drain phase after it (faults healed, the system settling).
    Drain,
    /// Judging the client history against the final logs.
    History,
}

/// Called while a check works, to draw progress: every [`WATCH_EVENTS`] events of the run,
/// after each round of the drain, and once before the history is judged. It only looks.
pub type Watch<'a> = &'a mut dyn FnMut(Phase, &World<SimNode>);

/// Events between two calls of a [`Watch`] during the run.
pub const WATCH_EVENTS: u64 = 5_000;

/// [`check_scenario_in`], telling `watch` how far it got.
pub fn check_scenario_watched(
    scenario: &Scenario,
    seed: u64,
    mode: TraceMode,
    watch: Watch<'_>,
) -> CheckReport {
    let mut world = match build::build(scenario, seed, mode) {
        Ok(world) => world,
        Err(e) => return CheckReport::not_run(scenario, seed, e.to_string()),
    };
    let mut live = CheckedRun::default();
    let until = Time(scenario.duration_us);
    let run = world.run_until_checked(until, scenario.max_events, |w| {
        if w.events() % WATCH_EVENTS == 0 {
            watch(Phase::Run, w);
        }
        live.check(w)
    });
    match run {
        Ok(end) => {
            let summary = super::summarize(scenario, &world, end);
            check_world_watched(scenario, &mut world, summary, Some(&mut live), watch)
        }
        Err(v) => {
            let mut summary = super::summarize(scenario, &world, RunEnd::EventLimit);
            summary.ended_by = "invariant";
            let mut report = CheckReport::not_run(scenario, seed, String::new());
            report.error = None;
            report.invariant = Some(v.to_string());
            report.summary = Some(summary);
            report
        }
    }
}

/// Checks a world that has run its scenario's duration: liveness first (on the state the
/// run ended in), then the drain phase (under the live invariant checker, if given), then
/// the history.
pub fn check_world(
    scenario: &Scenario,
    world: &mut World<SimNode>,
    summary: RunSummary,
    live: Option<&mut CheckedRun>,
) -> CheckReport {
    check_world_watched(scenario, world, summary, live, &mut |_, _| {})
}

/// [`check_world`], telling `watch` how far it got.
pub fn check_world_watched(
    scenario: &Scenario,
    world: &mut World<SimNode>,
    summary: RunSummary,
    live: Option<&mut CheckedRun>,
    watch: Watch<'_>,
) -> CheckReport {
    let mut anomalies = liveness(world, &summary.counters);
    let mut live = live;
    let (logs, drained_us, invariant) = match drain(world, scenario, live.as_deref_mut(), watch) {
        Ok((logs, us)) => (logs, Some(us), None),
        Err(v) => (None, None, Some(v.to_string())),
    };
    let drain_ms = drained_us
        .filter(|_| scenario.cluster.is_some())
        .map(|us| us / 1000);
    let checks = live.map(|l| l.checks);
    watch(Phase::History, world);
    let history = History::from_world(world);
    let (found, history_counts) = crate::check::analyze_counted(&history, logs.as_ref());
    anomalies.extend(found);
    let mut counters = summary.counters.clone();
    if let Some(n) = checks {
        counters.insert("invariant-checks".to_string(), n);
    }
    for (k, n) in history_counts {
        counters.entry(k.to_string()).or_insert(n);
    }
    for (kind, n) in counts(&anomalies) {
        counters.insert(kind.as_str().to_string(), n);
    }
    for (key, n) in duplicate_causes(&anomalies) {
        counters.insert(key.to_string(), n);
    }
    counters.insert("unprocessed".to_string(), unprocessed(&anomalies));
    if logs.as_ref().is_some_and(|l| !l.compaction.is_empty()) {
        let n = crate::check::compacted(&history, logs.as_ref());
        counters.insert("compacted".to_string(), n);
    }
    CheckReport {
        scenario: scenario.name.clone(),
        seed: summary.seed,
        error: None,
        invariant,
        lines: evaluate(&scenario.expect, &counters),
        summary: Some(summary),
        counters,
        anomalies,
        drain_ms,
    }
}

/// Records of the final logs no member had processed when the drain ended and no group had
/// committed past: still waiting, not lost (the records of the consumers' `not-converged`).
fn unprocessed(anomalies: &[Anomaly]) -> u64 {
    let waiting = anomalies
        .iter()
        .filter(|a| a.kind == AnomalyKind::NotConverged);
    waiting.map(|a| a.records.len() as u64).sum()
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Without `[expect]` there is nothing to pass: "PASS" beside lost writes would lie.
        let unjudged = self.lines.is_empty() && self.passed();
        let verdict = match (unjudged, self.passed()) {
            (true, _) => "RAN",
            (false, true) => "PASS",
            (false, false) => "FAIL",
        };
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
        if let Some(v) = &self.invariant {
            write!(f, "  {v}")?;
        }
        for l in &self.lines {
            writeln!(f, "  {l}")?;
        }
        if unjudged {
            let found: Vec<String> = counts(&self.anomalies)
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            let found = if found.is_empty() {
                "no anomalies".to_string()
            } else {
                found.join(", ")
            };
            writeln!(
                f,
                "  no [expect] section, so nothing to pass or fail; the checker found {found}"
            )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A report of a run that found nothing and expected nothing.
    fn empty_report() -> CheckReport {
        CheckReport {
            scenario: "s".into(),
            seed: 1,
            error: None,
            invariant: None,
            summary: None,
            counters: BTreeMap::new(),
            anomalies: Vec::new(),
            lines: Vec::new(),
            drain_ms: None,
        }
    }

    #[test]
    fn a_broken_invariant_fails_the_check_whatever_expect_says() {
        // Proves a live-invariant violation makes the report fail and prints it, even with
        // every [expect] line met (exploration's verdict counts it: explore/mod.rs).
        let mut r = empty_report();
        assert!(r.passed());
        r.invariant = Some("invariant `isr-same-records` violated at event 7".into());
        assert!(!r.passed());
        assert!(r.to_string().starts_with("FAIL"));
        assert!(r.to_string().contains("isr-same-records"));
    }

    #[test]
    fn a_check_without_expect_does_not_say_pass() {
        // Proves a scenario with no [expect] is reported as run, not passed, with what the
        // checker found (it said PASS beside 1000 lost writes).
        let r = empty_report();
        let text = r.to_string();
        assert!(text.starts_with("RAN \"s\""), "{text}");
        assert!(
            text.contains(
                "no [expect] section, so nothing to pass or fail; the checker found no anomalies"
            ),
            "{text}"
        );
    }
}
