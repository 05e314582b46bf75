//! The command line as a user meets it: exit codes, messages for bad input, determinism
//! across processes, and every scenario in `scenarios/` meeting its `[expect]`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kafkasim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

fn scenario_files(dir: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn json_field(out: &Output, key: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    v[key].clone()
}

#[test]
fn same_seed_same_hash_across_processes() {
    // Proves determinism across two processes of the binary, for every shipped scenario.
    for f in scenario_files("scenarios") {
        let f = f.to_str().unwrap();
        let a = kafkasim(&["run", f, "--json"]);
        let b = kafkasim(&["run", f, "--json"]);
        assert!(
            a.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&a.stderr)
        );
        assert_eq!(
            json_field(&a, "trace_hash"),
            json_field(&b, "trace_hash"),
            "{f}"
        );
        assert_eq!(json_field(&a, "events"), json_field(&b, "events"), "{f}");
    }
}

#[test]
fn different_seeds_give_different_hashes() {
    // Proves the seed drives the randomness (the faults scenario has random latencies).
    let f = "scenarios/ping-faults.toml";
    let a = kafkasim(&["run", f, "--json", "--seed", "1"]);
    let b = kafkasim(&["run", f, "--json", "--seed", "2"]);
    assert_ne!(json_field(&a, "trace_hash"), json_field(&b, "trace_hash"));
}

#[test]
fn run_json_has_the_contract_fields() {
    // Proves `run --json` prints the fields scripts depend on.
    let out = kafkasim(&["run", "scenarios/ping-demo.toml", "--json"]);
    for key in [
        "scenario",
        "seed",
        "trace_hash",
        "events",
        "sim_time_ms",
        "wall_ms",
        "produced",
        "acked",
        "consumed",
        "anomalies",
    ] {
        assert!(!json_field(&out, key).is_null(), "missing {key}");
    }
}

#[test]
fn every_scenario_meets_its_expectations() {
    // Proves `kafkasim check` passes on every file in scenarios/ (their [expect] holds).
    for f in scenario_files("scenarios") {
        let out = kafkasim(&["check", f.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}\n{}{}",
            f.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn bad_scenarios_exit_2_with_file_and_line() {
    // Proves every broken scenario gives exit code 2, names file and line, and never panics.
    let files = scenario_files("tests/bad_scenarios");
    assert!(files.len() >= 12);
    for f in files {
        let out = kafkasim(&["run", f.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        let name = f.file_name().unwrap().to_str().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name), "{name}: message names the file: {err}");
        assert!(
            err.split(name)
                .nth(1)
                .is_some_and(|rest| rest.starts_with(':')),
            "{name}: message gives a line: {err}"
        );
        assert!(!err.contains("panicked"), "{name}: {err}");
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    // Proves clap usage errors map to exit code 2 and --help works everywhere.
    assert_eq!(kafkasim(&["run", "--bogus"]).status.code(), Some(2));
    assert_eq!(kafkasim(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        kafkasim(&["run", "no/such/file.toml"]).status.code(),
        Some(2)
    );
    assert_eq!(kafkasim(&["bench", "nonsense"]).status.code(), Some(2));
    for sub in [
        &["--help"][..],
        &["run", "--help"],
        &["check", "--help"],
        &["bench", "--help"],
    ] {
        let out = kafkasim(sub);
        assert!(out.status.success(), "{sub:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

#[test]
fn bench_runs_one_send_mode_of_the_end_to_end_workload() {
    // Proves `bench e2e-sync` / `e2e-async` run only their mode, and a wrong name lists them.
    let out = kafkasim(&["bench", "e2e-sync", "--runs", "1", "--records", "200"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("e2e/sync-200-acks-all-rf3"), "{text}");
    assert!(!text.contains("async"), "{text}");
    let out = kafkasim(&["bench", "e2e-async", "--runs", "1", "--records", "200"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("e2e/async-200") && !text.contains("e2e/sync"),
        "{text}"
    );
    let out = kafkasim(&["bench", "e2e-snyc"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean `e2e-sync`?"), "{err}");
}

#[test]
fn trace_file_is_json_lines_with_explanations() {
    // Proves --trace writes one JSON object per record, each with a plain-language text.
    let dir = std::env::temp_dir().join(format!("kafkasim-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.jsonl");
    let out = kafkasim(&[
        "run",
        "scenarios/ping-faults.toml",
        "--trace",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert!(header["data"]["nodes"].is_array());
    let mut n = 0;
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["text"].as_str().is_some_and(|t| !t.is_empty()));
        n += 1;
    }
    assert!(n > 1000);
    assert!(text.contains("FAULT server-1 is paused"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn run_with_invariants_checks_every_event() {
    // Proves `run --invariants` runs the replication checker and reports it held.
    let out = kafkasim(&[
        "run",
        "scenarios/acks1-leader-failover.toml",
        "--invariants",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("invariants  held"));
}

#[test]
fn a_closed_pipe_is_not_a_crash() {
    // Proves `kafkasim ... | head` stops quietly instead of panicking on a broken pipe.
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(["run", "scenarios/ping-faults.toml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the run has printed anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bench_scale_runs_one_point_as_json_and_refuses_a_bad_point() {
    // Proves `bench scale --point SPEC` (what each child process of `bench scale` runs)
    // measures its workload — every record acknowledged and consumed, peak memory read —
    // and that a bad spec is exit 2 naming the problem.
    let spec = "axis=records,brokers=3,partitions=3,records=1000,rate=0,consumers=1";
    let out = kafkasim(&["bench", "scale", "--point", spec]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["acked"], 1000);
    assert_eq!(v["consumed"], 1000);
    assert!(v["records_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["peak_rss_bytes"].as_u64().unwrap() > 0);
    let out = kafkasim(&["bench", "scale", "--point", "axis=records,brokers=lots"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`brokers`"), "{err}");
}
