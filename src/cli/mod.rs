//! The `kafkasim` command line: `run`, `check`, `list`, `lesson`, `tui`, `explore`,
//! `export`, `bench`. Exit codes: 0 success, 1 an expectation or property was violated,
//! 2 bad input or usage. This is the only layer that reads the wall clock (to report how
//! long a run took), never inside a run.

mod bench_cmd;
mod estimate;
mod export_cmd;
pub mod lesson_cmd;
mod run_cmd;
mod serve_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// kafkasim: a deterministic simulation and teaching workbench for Apache Kafka.
#[derive(Parser, Debug)]
#[command(name = "kafkasim", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and print a summary.
    Run {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Seed for this run (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Print one JSON object instead of the readable summary.
        #[arg(long)]
        json: bool,
        /// Write the full trace as JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        trace: Option<PathBuf>,
        /// Check Kafka's replication invariants after every event (slower); a violation
        /// stops the run with the seed, the event number and the last trace lines (exit 1).
        #[arg(long)]
        invariants: bool,
        /// Replay a `kafkasim serve` session recorded with `serve --tape`: the same
        /// requests at the same simulated times, so the same trace hash.
        #[arg(long, value_name = "FILE")]
        tape: Option<PathBuf>,
    },
    /// Serve the scenario's cluster to real Kafka clients: each broker on its own port,
    /// plus a bootstrap port; the world runs paced to the wall clock (docs/gateway.md).
    Serve {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Bootstrap address; broker N listens on port+N (port 0: any free ports).
        /// Loopback unless you name another address.
        #[arg(long, default_value = "127.0.0.1:9092")]
        listen: String,
        /// Simulated seconds per wall-clock second.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Record every real request with its simulated time, for `run --tape`.
        #[arg(long, value_name = "FILE")]
        tape: Option<PathBuf>,
        /// How long to serve, in simulated time (default: the scenario's `duration`),
        /// e.g. `10m`.
        #[arg(long, value_name = "DURATION")]
        duration: Option<String>,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// Show the live cluster on this terminal (`:` then a control command injects a
        /// fault, `q` ends the session); the full workbench opens a recorded session
        /// afterwards (`kafkasim tui FILE --tape TAPE`).
        #[arg(long)]
        tui: bool,
    },
    /// Inject a fault into a running `kafkasim serve` session by hand, e.g.
    /// `kafkasim ctl 127.0.0.1:9096 kill broker-2 for 10s` (the address `serve` printed
    /// after `control`). Commands: docs/gateway.md.
    Ctl {
        /// The control address `serve` printed.
        addr: String,
        /// The command: kill, power-loss, restart, pause, resume, isolate, partition, cut,
        /// clog, unclog, reset, heal (targets as in scenario files).
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Run scenarios and compare each with its `[expect]` section.
    Check {
        /// Scenario files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Seed (default: each scenario's own).
        #[arg(long)]
        seed: Option<u64>,
        /// Check a `kafkasim serve` session recorded with `serve --tape` (one scenario).
        #[arg(long, value_name = "FILE")]
        tape: Option<PathBuf>,
    },
    /// Run a scenario (and the checker's drain phase) and export it: the trace as JSON
    /// lines, a Perfetto/Chrome trace, Mermaid sequence diagrams, or the client history
    /// for independent checkers (JSON lines, or Jepsen EDN). Formats: docs/export-format.md.
    Export {
        /// The scenario file (TOML).
        file: PathBuf,
        /// jsonl | perfetto | mermaid | history | jepsen
        #[arg(long, default_value = "jsonl")]
        format: String,
        #[arg(long)]
        seed: Option<u64>,
        /// First event number to include (default: the first).
        #[arg(long)]
        from: Option<u64>,
        /// Last event number to include (default: the end; for mermaid, from + 199, cut
        /// short to stay under Mermaid's 50,000-character limit).
        #[arg(long)]
        to: Option<u64>,
        /// Write to this file instead of stdout. For mermaid, a directory (existing, or
        /// ending in `/`) receives the window as numbered diagrams, each under the limit.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Open the replay workbench (terminal UI) on a scenario, or on the embedded default.
    Tui {
        /// The scenario file (default: the embedded lesson).
        file: Option<PathBuf>,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// A second scenario to replay side by side on the same clock.
        #[arg(long, value_name = "FILE")]
        compare: Option<PathBuf>,
        /// Replay a `kafkasim serve` session recorded with `serve --tape` (real clients
        /// appear as `external-N` nodes).
        #[arg(long, value_name = "FILE")]
        tape: Option<PathBuf>,
    },
    /// Random fault schedules over a seed range (swarm testing); failures are shrunk and
    /// written as scenario files.
    Explore {
        /// The scenario file; its `[explore]` section bounds the faults. `explore merge
        /// FILES…` instead merges shards' JSON-lines outputs (docs/exploring-at-scale.md).
        file: PathBuf,
        /// With `merge`: the shards' JSON-lines files.
        #[arg(hide = true)]
        more: Vec<PathBuf>,
        /// Explore only the I-th of N equal slices of the seed range (1-based), e.g. `3/8`:
        /// one machine's share; `explore merge` adds the shards up.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// With `merge`: print the merged report as one JSON object.
        #[arg(long)]
        json: bool,
        /// Seed range `A..B` (B exclusive). Split a big exploration across machines by range.
        #[arg(long, default_value = "0..100")]
        seeds: String,
        /// Parallel runs (each run stays single-threaded).
        #[arg(long, default_value_t = 1)]
        jobs: usize,
        /// Where shrunk failing scenarios are written.
        #[arg(long, default_value = "explore-failures")]
        out: PathBuf,
        /// No progress line on stderr (it is only drawn when stderr is a terminal).
        #[arg(long)]
        quiet: bool,
    },
    /// List the lessons in teaching order with their questions, then the scenarios with
    /// their one-line descriptions.
    List {
        /// Directory of scenarios to list (default: `scenarios/`, and the lessons first).
        dir: Option<PathBuf>,
    },
    /// Open lesson N (see `kafkasim list`) in the workbench: its main scenario, with the
    /// narration notes that pause at the moments the lesson talks about.
    Lesson {
        /// The lesson's number.
        n: u32,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run the standard performance workloads.
    Bench {
        /// Which workloads: kernel, replication, e2e (e2e-sync or e2e-async for one send
        /// mode), tui, or all; `scale` (not in all: minutes) measures cost as partitions,
        /// brokers and records grow.
        #[arg(default_value = "all")]
        which: String,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
        /// Runs per workload (the median is reported).
        #[arg(long, default_value_t = 5)]
        runs: u32,
        /// Records per end-to-end run (the reference figure uses one million).
        #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
        records: u64,
        /// `scale`: also the points that take many minutes or many GB today (10,000
        /// partitions, 10 M records).
        #[arg(long)]
        full: bool,
        /// `scale`: run one point in this process (what `bench scale` runs in each child
        /// process), e.g. `axis=partitions,brokers=9,partitions=100,records=500000,rate=10000,consumers=3`.
        #[arg(long, value_name = "SPEC")]
        point: Option<String>,
    },
}

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let code = match cli.command {
        None => run_cmd::default_run(),
        Some(Command::Tui {
            file: Some(file),
            tape: Some(tape),
            seed,
            compare,
        }) => serve_cmd::tui_tape(&file, &tape, seed, compare.as_deref()),
        Some(Command::Tui {
            file,
            seed,
            compare,
            tape,
        }) => match tape {
            Some(_) => {
                eprintln!("error: --tape needs the scenario file the session served");
                run_cmd::EXIT_BAD_INPUT
            }
            None => run_cmd::tui(file.as_deref(), seed, compare.as_deref()),
        },
        Some(Command::Run {
            file,
            tape: Some(tape),
            seed,
            json,
            ..
        }) => serve_cmd::replay(&file, &tape, seed, json),
        Some(Command::Run {
            file,
            seed,
            json,
            trace,
            invariants,
            tape: None,
        }) => run_cmd::run(&file, seed, json, trace.as_deref(), invariants),
        Some(Command::Serve {
            file,
            listen,
            speed,
            tape,
            duration,
            seed,
            tui,
        }) => serve_cmd::serve(
            &file,
            &listen,
            speed,
            tape.as_deref(),
            duration.as_deref(),
            seed,
            tui,
        ),
        Some(Command::Ctl { addr, command }) => serve_cmd::ctl(&addr, &command.join(" ")),
        Some(Command::Check {
            files,
            tape: Some(tape),
            ..
        }) => serve_cmd::check_tape(&files, &tape),
        Some(Command::Check { files, seed, .. }) => run_cmd::check(&files, seed),
        Some(Command::List { dir }) => run_cmd::list(dir.as_deref()),
        Some(Command::Lesson { n, seed }) => lesson_cmd::lesson(n, seed),
        Some(Command::Explore {
            file,
            more,
            shard,
            json,
            seeds,
            jobs,
            out,
            quiet,
        }) => {
            if file.as_os_str() == "merge" && !file.exists() {
                run_cmd::explore_merge(&more, json)
            } else if let Some(extra) = more.first() {
                eprintln!(
                    "error: unexpected argument `{}` (explore takes one scenario file; `explore merge FILES…` merges shards)",
                    extra.display()
                );
                run_cmd::EXIT_BAD_INPUT
            } else {
                let how = run_cmd::ExploreArgs {
                    seeds: &seeds,
                    shard: shard.as_deref(),
                    jobs,
                    out: &out,
                    progress: !quiet,
                };
                run_cmd::explore(&file, &how)
            }
        }
        Some(Command::Export {
            file,
            format,
            seed,
            from,
            to,
            out,
        }) => export_cmd::export(&file, &format, seed, from, to, out.as_deref()),
        Some(Command::Bench {
            which,
            json,
            runs,
            records,
            full,
            point,
        }) => match which.as_str() {
            "scale" => bench_cmd::scale(json, full, point.as_deref()),
            _ => bench_cmd::bench(&which, json, runs, records),
        },
    };
    ExitCode::from(code)
}

/// `kafkasim list | head` closes stdout early; Rust ignores SIGPIPE, so the next print
/// panics. Treat that like a Unix tool does: stop quietly. Every other panic keeps the
/// default report.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Microseconds on the wall clock since an arbitrary start (for reporting only).
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
pub(crate) fn wall_us() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}
