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
        "scale",
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

/// `kafkasim bench scale`: every point in its own child process (peak memory is per
/// process), or with `--point SPEC` one point here, printed as one JSON line.
pub fn scale(json: bool, full: bool, point: Option<&str>) -> u8 {
    use crate::bench::scale::{fill_ratios, run_point, Point, PointResult};
    if let Some(spec) = point {
        return match Point::parse(spec) {
            Ok(p) => {
                let r = run_point(&p, &super::wall_us);
                println!("{}", serde_json::to_string(&r).unwrap_or_default());
                0
            }
            Err(e) => {
                eprintln!("error: --point: {e}");
                super::run_cmd::EXIT_BAD_INPUT
            }
        };
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("error: cannot find this program to run the points: {e}");
            return 1;
        }
    };
    let mut results: Vec<PointResult> = Vec::new();
    for p in Point::all(full) {
        eprintln!("bench scale: {} …", p.name());
        let out = std::process::Command::new(&exe)
            .args(["bench", "scale", "--point", &p.spec()])
            .output();
        let r = match out {
            Ok(o) if o.status.success() => {
                let line = String::from_utf8_lossy(&o.stdout);
                serde_json::from_str::<PointResult>(line.trim())
                    .unwrap_or_else(|e| PointResult::not_run(&p, format!("unreadable output: {e}")))
            }
            Ok(o) => PointResult::not_run(&p, format!("the child process failed ({})", o.status)),
            Err(e) => PointResult::not_run(&p, format!("cannot start a child process: {e}")),
        };
        results.push(r);
    }
    fill_ratios(&mut results);
    for r in &results {
        if json {
            println!("{}", serde_json::to_string(r).unwrap_or_default());
        } else {
            print_point(r);
        }
    }
    if !full && !json {
        println!("(--full adds 10,000 partitions and 10 M records: many minutes and GB today)");
    }
    0
}

fn print_point(r: &crate::bench::scale::PointResult) {
    if let Some(why) = &r.not_run {
        println!("{:<40} not run: {why}", r.name);
        return;
    }
    let ratio = r
        .records_per_sec_ratio
        .map_or(String::new(), |x| format!("{x:.2}× the first"));
    println!(
        "{:<40} {:>9.0} records/s ({ratio})  {:>7.2}× real time  {:>9} events  run {:.1} s, check {:.1} s ({:.2}× the run)  peak RSS {:.0} MB = {:.0} B/record",
        r.name,
        r.records_per_sec,
        r.sim_per_wall,
        r.events,
        r.run_wall_s,
        r.check_wall_s,
        r.check_over_run,
        r.peak_rss_bytes as f64 / 1e6,
        r.peak_rss_per_record,
    );
}
