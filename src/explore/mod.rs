//! Seed exploration (swarm testing) with shrinking.
//!
//! Each seed of a range draws its own fault schedule within the scenario's `[explore]`
//! bounds ([`schedule`]) and runs the scenario in two phases: a *safety* phase with faults,
//! then a fault-free *liveness* phase (the last `liveness` of the run). A run fails when it
//! violates a safety property — an `[expect]` condition on an anomaly kind such as
//! `lost-write = 0` — or does not converge (`not-converged`). Each failure is shrunk to a
//! minimal fault schedule ([`shrink`]), written as a scenario file, and reported as one JSON
//! line with the command that replays it in the UI.
//!
//! Runs are single-threaded and deterministic; parallelism is *across* runs only (a pool
//! of `std::thread`s pulling seeds from a shared counter). A seed range names the whole
//! exploration, so splitting `0..1000000` across machines is just giving each a sub-range.
//!
//! What "a run fails" means is an [`Oracle`], so the same engine explores ping worlds
//! today and Kafka clusters once they are simulated.

pub mod coverage;
pub mod merge;
pub mod progress;
pub mod schedule;
pub mod shrink;

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use crate::check::AnomalyKind;
use crate::runner::{check_scenario_in, CheckReport};
use crate::scenario::Scenario;
use crate::sim::TraceMode;
use progress::Progress;

/// The judgement of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verdict {
    /// Properties violated (anomaly kinds, `not-converged`, or `error`); empty: passed.
    pub violations: Vec<String>,
    /// Anomaly counts by kind (non-zero only).
    pub anomalies: BTreeMap<String, u64>,
    /// Descriptions of the first few anomalies of the violated kinds.
    pub examples: Vec<String>,
    /// Run counters (for coverage: how many seeds saw an election, a timeout, …).
    pub counters: BTreeMap<String, u64>,
    pub error: Option<String>,
}

impl Verdict {
    pub fn failed(&self) -> bool {
        !self.violations.is_empty()
    }
}

/// Runs a scenario with a seed and judges it. Implemented for closures.
pub trait Oracle: Sync {
    fn judge(&self, scenario: &Scenario, seed: u64) -> Verdict;
}

impl<F: Fn(&Scenario, u64) -> Verdict + Sync> Oracle for F {
    fn judge(&self, scenario: &Scenario, seed: u64) -> Verdict {
        self(scenario, seed)
    }
}

/// The default oracle: [`crate::runner::check_scenario`] (trace off), then [`verdict`].
pub fn safety_and_liveness(scenario: &Scenario, seed: u64) -> Verdict {
    // No trace hash is needed to judge a seed; a failure is replayed from its file.
    verdict(&check_scenario_in(scenario, seed, TraceMode::Off))
}

/// Safety: failed `[expect]` lines on anomaly kinds. Liveness: any `not-converged`
/// anomaly unless `[expect]` says otherwise. Other lines are coverage, never failures.
pub fn verdict(r: &CheckReport) -> Verdict {
    let mut v = Verdict {
        counters: r.counters.clone(),
        error: r.error.clone(),
        ..Verdict::default()
    };
    if r.error.is_some() {
        v.violations.push("error".to_string());
    }
    if let Some(broken) = &r.invariant {
        v.violations.push("invariant".to_string());
        v.examples.push(broken.clone());
    }
    v.violations.extend(
        r.lines
            .iter()
            .filter(|l| !l.ok && l.is_safety())
            .map(|l| l.key.clone()),
    );
    let liveness_stated = r.lines.iter().any(|l| l.key == "not-converged");
    if !liveness_stated && r.count(AnomalyKind::NotConverged) > 0 {
        v.violations.push("not-converged".to_string());
    }
    for a in &r.anomalies {
        *v.anomalies.entry(a.kind.as_str().to_string()).or_insert(0) += 1;
        if v.violations.iter().any(|k| k == a.kind.as_str()) && v.examples.len() < 3 {
            v.examples.push(a.to_string());
        }
    }
    v
}

/// One failing seed, as printed (one JSON line) and returned.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub seed: u64,
    pub violations: Vec<String>,
    pub anomalies: BTreeMap<String, u64>,
    pub examples: Vec<String>,
    /// Faults drawn by the seed, and after shrinking.
    pub faults: usize,
    pub shrunk_faults: usize,
    pub shrink_runs: u32,
    /// The shrunk scenario file, when it could be written.
    pub file: Option<PathBuf>,
    /// The command that replays it in the UI.
    pub replay: String,
}

/// What an exploration found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ExploreReport {
    pub scenario: String,
    pub seeds: u64,
    pub failures: Vec<Failure>,
    pub wall_ms: u64,
    pub seeds_per_sec: f64,
    /// For each counter, how many seeds saw it non-zero ("sometimes" coverage).
    pub coverage: BTreeMap<String, u64>,
}

impl ExploreReport {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Options beyond the seed range.
#[derive(Clone, Debug)]
pub struct Options {
    pub jobs: usize,
    pub out_dir: PathBuf,
    pub progress: bool,
    /// Print one JSON line per failure on stdout.
    pub json: bool,
    /// Re-runs allowed when shrinking one failure.
    pub shrink_budget: u32,
}

/// `kafkasim explore`: runs `seeds` of `scenario` on `jobs` threads with the default
/// oracle, prints a JSON line per failure and writes each shrunk failure under `out_dir`.
pub fn explore(
    scenario: &Scenario,
    seeds: Range<u64>,
    jobs: usize,
    out_dir: &Path,
    progress: bool,
) -> ExploreReport {
    let opts = Options {
        jobs,
        out_dir: out_dir.to_path_buf(),
        progress,
        json: true,
        shrink_budget: 200,
    };
    explore_with(scenario, seeds, &opts, &safety_and_liveness)
}

/// The scenario seed `seed` runs: its drawn schedule replaces the scripted faults.
pub fn seeded(scenario: &Scenario, seed: u64) -> Scenario {
    Scenario {
        seed,
        faults: schedule::schedule(scenario, seed),
        ..scenario.clone()
    }
}

/// One seed: run, and if it fails, shrink and write the scenario.
fn one_seed(
    scenario: &Scenario,
    seed: u64,
    opts: &Options,
    oracle: &dyn Oracle,
) -> (Verdict, Option<Failure>) {
    let s = seeded(scenario, seed);
    let v = oracle.judge(&s, seed);
    if !v.failed() {
        return (v, None);
    }
    let same = |c: &Scenario| {
        let w = oracle.judge(c, seed);
        w.violations.iter().any(|k| v.violations.contains(k))
    };
    let budget = if v.error.is_some() {
        0
    } else {
        opts.shrink_budget
    };
    let shrunk = shrink::shrink(&s, &same, budget);
    let file = write_failure(&shrunk.scenario, &v, &opts.out_dir);
    let shown = file
        .as_ref()
        .map_or("FILE".to_string(), |p| p.display().to_string());
    let failure = Failure {
        seed,
        violations: v.violations.clone(),
        anomalies: v.anomalies.clone(),
        examples: v.examples.clone(),
        faults: s.faults.len(),
        shrunk_faults: shrunk.scenario.faults.len(),
        shrink_runs: shrunk.runs,
        file,
        replay: format!("kafkasim tui {shown} --seed {seed}"),
    };
    (v, Some(failure))
}

/// Runs `seeds` with `oracle` (see [`explore`]).
pub fn explore_with(
    scenario: &Scenario,
    seeds: Range<u64>,
    opts: &Options,
    oracle: &dyn Oracle,
) -> ExploreReport {
    let total = seeds.end.saturating_sub(seeds.start);
    let next = AtomicU64::new(seeds.start);
    let mut bar = Progress::new(total, opts.progress);
    let mut report = ExploreReport {
        scenario: scenario.name.clone(),
        ..ExploreReport::default()
    };
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        for _ in 0..opts.jobs.max(1) {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= seeds.end || tx.send(one_seed(scenario, seed, opts, oracle)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (v, failure) in rx {
            collect(&mut report, v, failure, opts.json);
            bar.draw(report.seeds, report.failures.len() as u64, false);
        }
    });
    bar.finish(report.seeds, report.failures.len() as u64);
    report.failures.sort_by_key(|f| f.seed);
    report.wall_ms = bar.elapsed_ms();
    report.seeds_per_sec = bar.rate(report.seeds);
    report
}

fn collect(report: &mut ExploreReport, v: Verdict, failure: Option<Failure>, json: bool) {
    report.seeds += 1;
    let seen: BTreeSet<&String> = v
        .counters
        .iter()
        .chain(&v.anomalies)
        .filter(|(_, n)| **n > 0)
        .map(|(k, _)| k)
        .collect();
    for k in seen {
        *report.coverage.entry(k.clone()).or_insert(0) += 1;
    }
    if let Some(f) = failure {
        if json {
            println!("{}", serde_json::to_string(&f).unwrap_or_default());
        }
        report.failures.push(f);
    }
}

/// Writes the shrunk failing scenario as `<out_dir>/<name>-seed-<N>.toml`.
fn write_failure(s: &Scenario, v: &Verdict, out_dir: &Path) -> Option<PathBuf> {
    std::fs::create_dir_all(out_dir).ok()?;
    let path = out_dir.join(format!("{}-seed-{}.toml", slug(&s.name), s.seed));
    let mut text = format!(
        "# Found by `kafkasim explore`: seed {} violates {}.\n# Replay: kafkasim tui {} --seed {}\n",
        s.seed,
        v.violations.join(", "),
        path.display(),
        s.seed
    );
    for e in &v.examples {
        text.push_str(&format!("# {e}\n"));
    }
    text.push_str(&s.to_toml());
    std::fs::write(&path, text).ok()?;
    Some(path)
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let parts: Vec<&str> = s.split('-').filter(|p| !p.is_empty()).collect();
    let joined = parts.join("-");
    if joined.is_empty() {
        "scenario".to_string()
    } else {
        joined.chars().take(48).collect()
    }
}
