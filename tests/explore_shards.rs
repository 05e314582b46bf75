//! Exploration beyond one machine (docs/exploring-at-scale.md): the shard script the
//! Kubernetes Indexed Job runs, three "pods" by `JOB_COMPLETION_INDEX`, merged with
//! `explore merge`, gives the unsharded exploration's seeds, coverage and failures; a
//! missing shard is reported and fails.

use std::path::Path;
use std::process::Command;

const SCENARIO: &str = "scenarios/explore-acks1.toml";
const SEEDS: &str = "0..90";

fn kafkasim() -> &'static str {
    env!("CARGO_BIN_EXE_kafkasim")
}

/// The last stdout line of an exploration: its summary.
fn summary(stdout: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().expect("a summary line");
    serde_json::from_str(last).expect("JSON")
}

#[test]
fn three_indexed_job_shards_merge_into_the_unsharded_exploration() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("kafkasim-shards-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for index in 0..3 {
        let st = Command::new("bash")
            .arg(root.join("deploy/explore-shard.sh"))
            .current_dir(root)
            .env("KAFKASIM", kafkasim())
            .env("SCENARIO", SCENARIO)
            .env("SEEDS", SEEDS)
            .env("SHARDS", "3")
            .env("JOB_COMPLETION_INDEX", index.to_string())
            .env("JOBS", "1")
            .env("OUT_DIR", &dir)
            .status()
            .unwrap();
        // exit 1 means the shard found a failure: its file is written all the same
        assert!(matches!(st.code(), Some(0 | 1)), "shard {index}: {st:?}");
    }
    let shard = |i: u32| dir.join(format!("shard-{i}.jsonl"));
    let merged = Command::new(kafkasim())
        .args(["explore", "merge", "--json"])
        .args([shard(1), shard(2), shard(3)])
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&merged.stdout).expect("merged JSON");
    let whole = Command::new(kafkasim())
        .current_dir(root)
        .args(["explore", SCENARIO, "--seeds", SEEDS, "--quiet", "--out"])
        .arg(dir.join("whole"))
        .output()
        .unwrap();
    let w = summary(&whole.stdout);
    assert_eq!(m["seeds"], 90);
    assert_eq!(m["shards"], 3);
    assert_eq!(m["missing"], serde_json::json!([]));
    assert_eq!(m["doubled"], serde_json::json!([]));
    assert_eq!(m["coverage"], w["coverage"], "coverage adds up");
    let seeds = |text: &[u8]| -> Vec<u64> {
        String::from_utf8_lossy(text)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("kind").is_none())
            .filter_map(|v| v["seed"].as_u64())
            .collect()
    };
    let merged_seeds: Vec<u64> = m["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["seed"].as_u64().unwrap())
        .collect();
    let mut whole_seeds = seeds(&whole.stdout);
    whole_seeds.sort_unstable();
    assert_eq!(merged_seeds, whole_seeds);
    assert!(
        !merged_seeds.is_empty(),
        "acks=1 exploration finds losses in 90 seeds"
    );
    assert_eq!(merged.status.code(), Some(1), "failures found: exit 1");

    // One pod lost: the merge says which seeds are missing and fails.
    let out = Command::new(kafkasim())
        .args(["explore", "merge"])
        .args([shard(1), shard(3)])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MISSING seeds 30..60"), "{text}");
    assert_eq!(out.status.code(), Some(1));
    // A file that is not an exploration's output is exit 2 naming it.
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "hello\n").unwrap();
    let out = Command::new(kafkasim())
        .args(["explore", "merge"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.jsonl:1"));
    let out = Command::new(kafkasim())
        .current_dir(root)
        .args(["explore", SCENARIO, "--seeds", "0..2", "--shard", "3/4"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
