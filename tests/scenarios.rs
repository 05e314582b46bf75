//! Every scenario under `scenarios/` (including `scenarios/regressions/`) is checked against
//! its own `[expect]` with its own seed: the same thing `kafkasim check scenarios/*.toml`
//! does. A scenario that needs a part of Kafka not simulated yet is reported and skipped.

use std::path::{Path, PathBuf};

use kafkasim::runner::check_scenario;
use kafkasim::scenario;

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn every_scenario_meets_its_expectations() {
    // Proves each shipped scenario (lessons and regressions) still shows what it promises.
    let mut files = Vec::new();
    scenario_files(Path::new("scenarios"), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no scenarios found");
    let mut failed = Vec::new();
    for f in &files {
        let s = scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
        let report = check_scenario(&s, s.seed);
        match &report.error {
            Some(e) if e.contains("not simulated") => {
                eprintln!("skipped {}: {e}", f.display());
            }
            _ if report.passed() => {}
            _ => failed.push(format!("{}\n{report}", f.display())),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn every_kafka_scenario_keeps_the_replication_invariants() {
    // Proves the global replication checker (one leader per epoch, monotonic epochs and
    // high watermarks, log_start <= HW <= LEO, ISR members agree below the HW) holds after
    // every event of every shipped Kafka scenario, and that the checker's shortcut —
    // after a broker's event, only the partitions it handed out for change — misses no
    // change (audited on every scenario of up to 1,000 partitions).
    let mut files = Vec::new();
    scenario_files(Path::new("scenarios"), &mut files);
    files.sort();
    let mut checked = 0;
    for f in &files {
        let s = scenario::load(f).unwrap_or_else(|e| panic!("{e}"));
        if s.cluster.is_none() {
            continue;
        }
        let mut world =
            kafkasim::scenario::build::build(&s, s.seed, kafkasim::sim::TraceMode::Full)
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // Audited (every partition compared after every broker event, not only those the
        // event handed out for change) where that stays cheap.
        let partitions: u32 = s.topics.iter().map(|t| t.partitions).sum();
        let mut run = if partitions <= 1_000 {
            kafkasim::check::invariants::CheckedRun::audited()
        } else {
            kafkasim::check::invariants::CheckedRun::default()
        };
        if let Err(v) = run.run(&mut world, kafkasim::sim::Time(s.duration_us)) {
            panic!("{}: {v}", f.display());
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} Kafka scenarios");
}
