//! The terminal workbench: replay a run, scrub through time, watch the cluster, the logs,
//! the clients and the messages, compare two runs, and ask "what if" at any moment.
//!
//! The Elm Architecture: [`app::App`] holds the state, [`app::update`] applies a message
//! (a key, a mouse event, a play tick), [`views::render`] draws the model and changes nothing.
//! [`replay::Replay`] gives random access to a finished run. Only `run.rs` touches the
//! terminal and the real clock (to pace playback); a run itself never sees either.
//!
//! Architecture invariant: the TUI reads the simulation only through `model/` (the view
//! model) and the trace; it never reaches into broker or client internals.

pub mod app;
pub mod keymap;
pub mod replay;
mod run;
pub mod search;
pub mod side;
pub mod story;
pub mod thinning;
pub mod views;

use std::io;

use crate::scenario::Scenario;

pub use run::run_tui;

/// The scenario `kafkasim tui` opens without a file.
pub const DEFAULT_SCENARIO: &str = include_str!("../../scenarios/acks1-leader-failover.toml");

/// What `kafkasim tui` was asked to open.
pub struct TuiArgs {
    pub scenario: Scenario,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// A second scenario to compare with, on the same clock.
    pub compare: Option<Scenario>,
}

/// Builds the model for `args` (both runs replayed to their end).
pub fn app(args: TuiArgs) -> io::Result<app::App> {
    let err =
        |e: crate::scenario::build::BuildError| io::Error::new(io::ErrorKind::InvalidInput, e.0);
    let seed = args.seed.unwrap_or(args.scenario.seed);
    let a = app::Side::new(
        if args.compare.is_some() { "A" } else { "run" },
        args.scenario,
        seed,
    )
    .map_err(err)?;
    let mut sides = vec![a];
    if let Some(b) = args.compare {
        let seed_b = args.seed.unwrap_or(b.seed);
        let label = format!("B: {}", b.name);
        sides.push(app::Side::new(&label, b, seed_b).map_err(err)?);
    }
    Ok(app::App::new(sides))
}

/// The default scenario, parsed.
pub fn default_scenario() -> Scenario {
    crate::scenario::parse(DEFAULT_SCENARIO, "<embedded default scenario>")
        .expect("the embedded default scenario parses")
}

mod bench;
pub use bench::{bench, BenchFigures};
