//! `kafkasim bench`: the standard performance workloads, timed on the wall clock around
//! whole runs (median of several), printed as a table or JSON lines.

use crate::bench::{self, BenchResult};

pub fn bench(which: &str, json: bool, runs: u32, records: u64) -> u8 {
    let known = [
        "all",
        "kernel",
        "replication",
        "e2e",
        "e2e-sync",
        "e2e-async",
        "tui",
    ];
    if !known.contains(&which) {
        let hint = crate::kafka::config::suggest(which, known.iter().copied())
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        eprintln!(
            "error: unknown benchmark `{which}`; {hint}valid: {}",
            known.join(", ")
        );
        return super::run_cmd::EXIT_BAD_INPUT;
    }
    let clock = super::wall_us;
    let mut results: Vec<BenchResult> = Vec::new();
    if matches!(which, "all" | "kernel") {
        results.extend(bench::kernel(&clock, runs));
    }
    if matches!(which, "all" | "replication") {
        results.extend(bench::replication(&clock, runs));
    }
    if matches!(which, "all" | "e2e" | "e2e-sync" | "e2e-async") {
        let async_records = if which == "e2e-sync" { 0 } else { records };
        let sync_records = if which == "e2e-async" { 0 } else { records };
        results.extend(bench::e2e(&clock, runs.min(3), async_records, sync_records));
    }
    for r in &results {
        if json {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        } else {
            println!(
                "{:<28} {:>10} events  {:>8.2} M events/s  {:>9.0}× sim speed  median {:.1} ms of {} runs",
                r.name,
                r.events,
                r.events_per_sec / 1e6,
                r.sim_speed,
                r.wall_us_median as f64 / 1000.0,
                r.runs
            );
        }
    }
    if matches!(which, "all" | "tui") {
        let f = crate::tui::bench(10_000_000);
        if json {
            println!(
                "{}",
                serde_json::json!({"name": "tui/seek-and-frame", "figures": f})
            );
        } else {
            println!(
                "tui/seek (10M-event ping run, {} checkpoints)  seek mean {:.1} ms, max {:.1} ms over {} seeks; frame mean {:.2} ms, max {:.2} ms over {} frames; replay build {:.0} ms",
                f.checkpoints, f.seek_ms_mean, f.seek_ms_max, f.seeks, f.frame_ms_mean, f.frame_ms_max, f.frames, f.build_ms
            );
        }
    }
    0
}
