//! Every scenario under `scenarios/` (including `scenarios/regressions/`) is checked against
//! its own `[expect]` with its own seed: the same thing `kafkasim check scenarios/*.toml`
//! does. A scenario that needs a part of Kafka not simulated yet is reported and skipped.

use std::path::{Path, PathBuf};

use kafkasim::check::check_scenario;
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
