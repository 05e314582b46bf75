//! Minimal entry point until the full command line lands: with no arguments, or with
//! `tui [FILE] [--seed N] [--compare B.toml]`, opens the terminal workbench;
//! `bench-tui [EVENTS]` prints the workbench's seek and frame figures.

use std::path::Path;
use std::process::ExitCode;

use kafkasim::scenario;
use kafkasim::tui::{self, TuiArgs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("tui") => tui_cmd(args.get(1..).unwrap_or(&[])),
        Some("bench-tui") => {
            let events = args
                .get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(10_000_000);
            let f = tui::bench(events);
            println!("{}", serde_json::to_string_pretty(&f).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("kafkasim: unknown command `{other}` (try: tui [FILE] [--seed N] [--compare B.toml])");
            ExitCode::from(2)
        }
    }
}

fn tui_cmd(rest: &[String]) -> ExitCode {
    let mut file = None;
    let mut seed = None;
    let mut compare = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seed" => seed = it.next().and_then(|s| s.parse().ok()),
            "--compare" => compare = it.next().cloned(),
            f => file = Some(f.to_string()),
        }
    }
    let load = |f: &str| scenario::load(Path::new(f));
    let sc = match file.as_deref().map(load) {
        None => tui::default_scenario(),
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let compare = match compare.as_deref().map(load) {
        None => None,
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match tui::run_tui(TuiArgs {
        scenario: sc,
        seed,
        compare,
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafkasim: {e}");
            ExitCode::from(2)
        }
    }
}
