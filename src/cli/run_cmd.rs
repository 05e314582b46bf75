//! `run`, `check`, `list`, `tui`, and what a bare `kafkasim` does.

use serde_json::json;
use std::path::{Path, PathBuf};

use crate::export;
use crate::runner::RunSummary;
use crate::scenario::{self, Scenario};
use crate::sim::TraceMode;

/// Exit code for bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;

pub(super) fn load(file: &Path) -> Result<Scenario, u8> {
    scenario::load(file).map_err(|e| {
        eprintln!("{e}");
        EXIT_BAD_INPUT
    })
}

/// A bare `kafkasim`: the workbench in a terminal, otherwise a run of the default scenario.
pub fn default_run() -> u8 {
    if has_terminal() {
        return tui(None, None, None);
    }
    default_summary()
}

/// Whether stdin and stdout are a terminal the workbench can draw on.
fn has_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

pub fn tui(file: Option<&Path>, seed: Option<u64>, compare: Option<&Path>) -> u8 {
    let scenario = match file {
        Some(f) => match load(f) {
            Ok(s) => s,
            Err(code) => return code,
        },
        None => crate::tui::default_scenario(),
    };
    let compare = match compare.map(load) {
        Some(Ok(s)) => Some(s),
        Some(Err(code)) => return code,
        None => None,
    };
    tui_with(scenario, seed, compare)
}

/// The workbench on parsed scenarios (`tui`, and `lesson N`): checks that they build, then
/// that there is a terminal (without one: a message and exit 2, never a panic).
pub fn tui_with(scenario: Scenario, seed: Option<u64>, compare: Option<Scenario>) -> u8 {
    for s in std::iter::once(&scenario).chain(compare.as_ref()) {
        if let Err(e) = crate::scenario::build::build(s, s.seed, TraceMode::HashOnly) {
            eprintln!("error: cannot build scenario `{}`: {e}", s.name);
            return EXIT_BAD_INPUT;
        }
    }
    if !has_terminal() {
        eprintln!(
            "error: `kafkasim tui` needs a terminal (stdin and stdout must be a TTY); \
             without one, try `kafkasim run FILE` or `kafkasim check FILE`"
        );
        return EXIT_BAD_INPUT;
    }
    let args = crate::tui::TuiArgs {
        scenario,
        seed,
        compare,
    };
    match crate::tui::run_tui(args) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: the terminal workbench failed: {e}");
            EXIT_BAD_INPUT
        }
    }
}

fn default_summary() -> u8 {
    let s = crate::tui::default_scenario();
    println!("kafkasim — not in a terminal: running the embedded default scenario.");
    println!("Try `kafkasim --help`, `kafkasim list`, `kafkasim run scenarios/<file>.toml`.\n");
    run_scenario(&s, s.seed, false, None)
}

pub fn run(
    file: &Path,
    seed: Option<u64>,
    json: bool,
    trace_file: Option<&Path>,
    invariants: bool,
) -> u8 {
    match load(file) {
        Ok(s) if invariants => run_with_invariants(&s, seed.unwrap_or(s.seed), json, trace_file),
        Ok(s) => run_scenario(&s, seed.unwrap_or(s.seed), json, trace_file),
        Err(code) => code,
    }
}

/// Runs under the replication invariant checker first; a violation is exit 1. Then runs
/// normally for the summary (same seed, so the same run).
fn run_with_invariants(s: &Scenario, seed: u64, json: bool, trace_file: Option<&Path>) -> u8 {
    let mut world = match crate::scenario::build::build(s, seed, TraceMode::Full) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot build scenario `{}`: {e}", s.name);
            return EXIT_BAD_INPUT;
        }
    };
    let mut checked = crate::check::invariants::CheckedRun::default();
    if let Err(v) = checked.run(&mut world, crate::sim::Time(s.duration_us)) {
        eprintln!("INVARIANT VIOLATED in `{}`:\n{v}", s.name);
        return 1;
    }
    if !json {
        println!("invariants  held after each of {} events", world.events());
    }
    run_scenario(s, seed, json, trace_file)
}

pub(super) fn run_scenario(s: &Scenario, seed: u64, json: bool, trace_file: Option<&Path>) -> u8 {
    let mode = if trace_file.is_some() {
        TraceMode::Full
    } else {
        TraceMode::HashOnly
    };
    let start = super::wall_us();
    let (mut world, summary) = match super::estimate::run_announced(s, seed, mode) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot build scenario `{}`: {e}", s.name);
            return EXIT_BAD_INPUT;
        }
    };
    let wall_ms = (super::wall_us() - start) / 1000;
    let report = match trace_file {
        // The trace file holds the drain phase and the final logs too: finish the run the
        // way `export` does (the same drain and check as below).
        Some(path) => {
            let run = export::Run::finish(s, world, summary.clone());
            let text = export::jsonl::render(&run, export::Window::ALL);
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write the trace to {}: {e}", path.display());
                return EXIT_BAD_INPUT;
            }
            run.report
        }
        None => {
            let mut line = super::estimate::CheckLine::new(s);
            let report = crate::runner::check_world_watched(
                s,
                &mut world,
                summary.clone(),
                None,
                &mut |phase, w| line.watch(phase, w),
            );
            line.finish();
            report
        }
    };
    if json {
        println!("{}", summary_json(&summary, &report, wall_ms));
    } else {
        print_summary(&summary, wall_ms);
        print_anomalies(&report);
    }
    0
}

fn print_anomalies(report: &crate::runner::CheckReport) {
    let found: Vec<_> = report.anomalies.iter().collect();
    if found.is_empty() {
        match report.drain_ms {
            Some(ms) => println!(
                "anomalies   none (history checked after a drain phase of {} simulated: faults healed, run until nothing could change)",
                crate::runner::drain_text(ms)
            ),
            None => println!("anomalies   none"),
        }
        return;
    }
    println!("anomalies");
    for a in found.iter().take(20) {
        println!("  {:<22} {}", a.kind.as_str(), a.description);
    }
    if found.len() > 20 {
        println!("  … and {} more (see `kafkasim check`)", found.len() - 20);
    }
}

fn summary_json(s: &RunSummary, r: &crate::runner::CheckReport, wall_ms: u64) -> serde_json::Value {
    let get = |k: &str| s.counters.get(k).copied().unwrap_or(0);
    let mut anomalies = serde_json::Map::new();
    for a in &r.anomalies {
        let key = a.kind.as_str().replace('-', "_");
        let n = anomalies.entry(key).or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
    }
    json!({
        "scenario": s.scenario,
        "seed": s.seed,
        "trace_hash": s.trace_hash,
        "events": s.events,
        "sim_time_ms": s.sim_time_ms,
        "wall_ms": wall_ms,
        "ended_by": s.ended_by,
        "produced": get("produced"),
        "acked": get("acked"),
        "consumed": get("consumed"),
        "counters": s.counters,
        "anomalies": anomalies,
        "drain_ms": r.drain_ms,
    })
}

pub(super) fn print_summary(s: &RunSummary, wall_ms: u64) {
    println!("scenario    {}", s.scenario);
    println!("seed        {}", s.seed);
    println!("trace hash  {}", s.trace_hash);
    println!(
        "events      {} over {} ms simulated ({} ms wall, ended by {})",
        s.events, s.sim_time_ms, wall_ms, s.ended_by
    );
    for (k, v) in &s.counters {
        println!("  {k:<22} {v}");
    }
}

pub fn check(files: &[PathBuf], seed: Option<u64>) -> u8 {
    let mut worst = 0;
    for file in files {
        let s = match load(file) {
            Ok(s) => s,
            Err(code) => {
                worst = worst.max(code);
                continue;
            }
        };
        let mut line = super::estimate::CheckLine::new(&s);
        let report = crate::runner::check_scenario_watched(
            &s,
            seed.unwrap_or(s.seed),
            TraceMode::HashOnly,
            &mut |phase, w| line.watch(phase, w),
        );
        line.finish();
        println!("{}", file.display());
        print!("{report}");
        if let Some(e) = &report.error {
            eprintln!("error: {}: cannot build scenario: {e}", file.display());
            worst = worst.max(EXIT_BAD_INPUT);
        } else if !report.passed() {
            worst = worst.max(1);
        }
    }
    worst
}

/// `kafkasim explore`'s options beyond the file.
pub struct ExploreArgs<'a> {
    pub seeds: &'a str,
    pub shard: Option<&'a str>,
    pub jobs: usize,
    pub out: &'a Path,
    pub progress: bool,
}

pub fn explore(file: &Path, a: &ExploreArgs<'_>) -> u8 {
    let (seeds, jobs, out, progress) = (a.seeds, a.jobs, a.out, a.progress);
    let range = seeds
        .split_once("..")
        .and_then(|(a, b)| Some(a.trim().parse::<u64>().ok()?..b.trim().parse::<u64>().ok()?));
    let Some(range) = range.filter(|r| r.start < r.end) else {
        eprintln!("error: --seeds `{seeds}`: expected a range A..B with A < B, e.g. 0..1000");
        return EXIT_BAD_INPUT;
    };
    if jobs == 0 {
        eprintln!("error: --jobs must be at least 1");
        return EXIT_BAD_INPUT;
    }
    let range = match a.shard.map(crate::explore::merge::parse_shard) {
        None => range,
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
        Some(Ok((i, n))) => match crate::explore::merge::shard(range.clone(), i, n) {
            Some(r) => r,
            None => {
                eprintln!(
                    "error: --shard {i}/{n}: the seed range {seeds} has fewer than {n} seeds"
                );
                return EXIT_BAD_INPUT;
            }
        },
    };
    let s = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if s.explore.is_none() {
        eprintln!(
            "error: {}: no [explore] section, so there are no bounds to draw random faults within; add one, e.g.\n\n[explore]\nfaults = \"0..4\"\nkinds = [\"kill\", \"pause\", \"partition\"]\nfault_duration = \"1s..8s\"\nliveness = \"10s\"\n\n(see scenarios/explore-acks-all.toml and docs/scenario-format.md)",
            file.display()
        );
        return EXIT_BAD_INPUT;
    }
    if let Err(e) = crate::scenario::build::build(&s, s.seed, TraceMode::HashOnly) {
        eprintln!("error: cannot build scenario `{}`: {e}", s.name);
        return EXIT_BAD_INPUT;
    }
    let r = crate::explore::explore(&s, range.clone(), jobs, out, progress);
    // The last stdout line: what `explore merge` adds up across shards.
    let summary = crate::explore::merge::Summary {
        kind: "summary".to_string(),
        scenario: s.name.clone(),
        seeds_from: range.start,
        seeds_to: range.end,
        seeds: r.seeds,
        failures: r.failures.len() as u64,
        coverage: r.coverage.clone(),
        wall_ms: r.wall_ms,
    };
    println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    eprintln!(
        "{} seeds, {} failure(s), {:.1} seeds/s, {} ms wall",
        r.seeds,
        r.failures.len(),
        r.seeds_per_sec,
        r.wall_ms
    );
    for line in crate::explore::coverage::summary(&s, &r) {
        eprintln!("{line}");
    }
    eprintln!(
        "coverage (seeds where each counter was non-zero): {:?}",
        r.coverage
    );
    u8::from(!r.passed())
}

/// `kafkasim explore merge FILES…`: the shards' JSON lines as one report; exit 1 when a
/// shard failed or the shards do not cover their range exactly once.
pub fn explore_merge(files: &[std::path::PathBuf], json: bool) -> u8 {
    let mut texts = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(t) => texts.push((f.display().to_string(), t)),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", f.display());
                return EXIT_BAD_INPUT;
            }
        }
    }
    let m = match crate::explore::merge::merge(&texts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if json {
        let failures: Vec<_> = m
            .failures
            .iter()
            .map(|f| serde_json::json!({"seed": f.seed, "violations": f.violations, "replay": f.replay}))
            .collect();
        let range = |r: &std::ops::Range<u64>| format!("{}..{}", r.start, r.end);
        println!(
            "{}",
            serde_json::json!({
                "scenario": m.scenario, "shards": m.shards, "seeds": m.seeds,
                "ranges": m.ranges.iter().map(range).collect::<Vec<_>>(),
                "missing": m.gaps.iter().map(range).collect::<Vec<_>>(),
                "doubled": m.overlaps.iter().map(range).collect::<Vec<_>>(),
                "coverage": m.coverage, "failures": failures, "wall_ms": m.wall_ms,
            })
        );
    } else {
        print!("{}", m.render());
    }
    u8::from(!m.failures.is_empty() || !m.complete())
}

/// `kafkasim list`: the lessons in teaching order with their questions (unless a directory
/// is named), then every scenario under the directory, subfolders included.
pub fn list(dir: Option<&Path>) -> u8 {
    if dir.is_none() {
        super::lesson_cmd::print_lessons();
    }
    let dir = dir.unwrap_or(Path::new("scenarios"));
    let mut files = Vec::new();
    if let Err(e) = toml_files(dir, &mut files) {
        eprintln!("error: cannot list {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    files.sort();
    println!("Scenarios ({}):", dir.display());
    for f in files {
        let line = match scenario::load(&f) {
            Ok(s) => s.description.unwrap_or(s.name),
            Err(_) => "(does not parse: run it to see why)".to_string(),
        };
        println!("{:<40} {line}", f.display());
    }
    0
}

/// The `.toml` files under `dir`, recursively.
fn toml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.is_dir() {
            toml_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    Ok(())
}
