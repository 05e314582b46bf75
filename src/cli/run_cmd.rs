//! `run`, `check`, `list`, and what a bare `kafkasim` does.

use serde_json::json;
use std::path::{Path, PathBuf};

use crate::export;
use crate::runner::{self, RunSummary};
use crate::scenario::{self, Scenario};
use crate::sim::TraceMode;
use crate::workload::actor::Actor;

/// Exit code for bad input or usage.
pub const EXIT_BAD_INPUT: u8 = 2;

/// The scenario a bare `kafkasim` runs.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/ping-faults.toml");

fn load(file: &Path) -> Result<Scenario, u8> {
    scenario::load(file).map_err(|e| {
        eprintln!("{e}");
        EXIT_BAD_INPUT
    })
}

pub fn default_run() -> u8 {
    let s = match scenario::parse(DEFAULT_SCENARIO, "<embedded default scenario>") {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return EXIT_BAD_INPUT;
        }
    };
    println!("kafkasim — no command given: running the embedded default scenario.");
    println!("Try `kafkasim --help`, `kafkasim list`, `kafkasim run scenarios/<file>.toml`.\n");
    run_scenario(&s, s.seed, false, None)
}

pub fn run(file: &Path, seed: Option<u64>, json: bool, trace_file: Option<&Path>) -> u8 {
    match load(file) {
        Ok(s) => run_scenario(&s, seed.unwrap_or(s.seed), json, trace_file),
        Err(code) => code,
    }
}

fn run_scenario(s: &Scenario, seed: u64, json: bool, trace_file: Option<&Path>) -> u8 {
    let mode = if trace_file.is_some() {
        TraceMode::Full
    } else {
        TraceMode::HashOnly
    };
    let start = super::wall_us();
    let (world, summary) = match runner::run(s, seed, mode) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot build scenario `{}`: {e}", s.name);
            return EXIT_BAD_INPUT;
        }
    };
    let wall_ms = (super::wall_us() - start) / 1000;
    if let Some(path) = trace_file {
        if let Err(e) = write_trace(path, &world) {
            eprintln!("error: cannot write the trace to {}: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
    }
    if json {
        println!("{}", summary_json(&summary, wall_ms));
    } else {
        print_summary(&summary, wall_ms);
    }
    0
}

fn summary_json(s: &RunSummary, wall_ms: u64) -> serde_json::Value {
    let get = |k: &str| s.counters.get(k).copied().unwrap_or(0);
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
        "anomalies": serde_json::Value::Object(Default::default()),
    })
}

fn print_summary(s: &RunSummary, wall_ms: u64) {
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

fn write_trace(path: &Path, world: &crate::sim::World<Actor>) -> std::io::Result<()> {
    let all = export::Window {
        from: 0,
        to: u64::MAX,
    };
    std::fs::write(path, export::export(world, export::Format::JsonLines, all))
}

pub fn export(
    file: &Path,
    format: &str,
    seed: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
    out: Option<&Path>,
) -> u8 {
    let Some(fmt) = export::Format::parse(format) else {
        eprintln!(
            "error: unknown export format `{format}`; valid: {}",
            export::Format::NAMES.join(", ")
        );
        return EXIT_BAD_INPUT;
    };
    let s = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let world = match runner::run(&s, seed.unwrap_or(s.seed), TraceMode::Full) {
        Ok((world, _)) => world,
        Err(e) => {
            eprintln!("error: cannot build scenario `{}`: {e}", s.name);
            return EXIT_BAD_INPUT;
        }
    };
    let from = from.unwrap_or(1);
    let default_to = if fmt == export::Format::Mermaid {
        from + 199
    } else {
        u64::MAX
    };
    let window = export::Window {
        from,
        to: to.unwrap_or(default_to),
    };
    let text = export::export(&world, fmt, window);
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_BAD_INPUT;
            }
        }
        None => print!("{text}"),
    }
    0
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
        let seed = seed.unwrap_or(s.seed);
        let summary = match runner::run(&s, seed, TraceMode::HashOnly) {
            Ok((_, summary)) => summary,
            Err(e) => {
                eprintln!("error: {}: cannot build scenario: {e}", file.display());
                worst = worst.max(EXIT_BAD_INPUT);
                continue;
            }
        };
        let mut ok = true;
        println!("{} (seed {seed})", file.display());
        for (key, cond) in &s.expect.conditions {
            let actual = summary.counters.get(key).copied().unwrap_or(0);
            let pass = cond.holds(actual);
            ok &= pass;
            println!(
                "  {} {key} = {actual} (expected {})",
                if pass { "ok  " } else { "FAIL" },
                cond
            );
        }
        if !ok {
            worst = worst.max(1);
        }
    }
    worst
}

pub fn list(dir: Option<&Path>) -> u8 {
    let dir = dir.unwrap_or(Path::new("scenarios"));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) => {
            eprintln!("error: cannot list {}: {e}", dir.display());
            return EXIT_BAD_INPUT;
        }
    };
    files.sort();
    for f in files {
        let line = match scenario::load(&f) {
            Ok(s) => s.description.unwrap_or(s.name),
            Err(_) => "(does not parse: run it to see why)".to_string(),
        };
        println!("{:<40} {line}", f.display());
    }
    0
}
