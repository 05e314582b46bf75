//! Scenario files: the TOML format, validation with helpful errors, and writing back.
//!
//! A scenario names a cluster, topics, network, clients, a fault schedule and what the run
//! must show. Kafka's config keys appear verbatim inside `config` tables, so what a student
//! learns transfers to real Kafka. Reading happens in two steps: the TOML text becomes a tree
//! of values that remember their byte positions ([`tree`]), then a walker checks every
//! section and cross-reference and reports *all* problems with FILE:LINE:COL and a hint.
//! The format is documented in docs/scenario-format.md.
//!
//! Layering: this module uses `kafka::config`; `kafka/` never uses `scenario/`.

mod apps;
pub mod build;
mod emit;
pub mod error;
mod parse;
pub mod spec;
pub mod targets;
mod tree;
pub mod units;
mod walk;

pub use error::{Problem, ScenarioError};
pub use spec::*;

use std::path::Path;

/// Reads and parses a scenario file; I/O errors become a [`ScenarioError`] too.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::whole_file(&file, format!("cannot read the scenario file: {e}"))
    })?;
    parse(&text, &file)
}

/// Parses scenario text; `file` is the name used in messages.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let root = match tree::parse_tree(text) {
        Ok(root) => root,
        Err((span, message)) => {
            let diag = error::Diag {
                span,
                message,
                help: None,
            };
            return Err(ScenarioError::from_diags(file, text, vec![diag]));
        }
    };
    let mut cx = walk::Problems::default();
    match parse::scenario(&mut cx, &root) {
        Some(s) if cx.diags.is_empty() => Ok(s),
        _ => {
            if cx.diags.is_empty() {
                cx.err(&(0..0), "invalid scenario");
            }
            Err(ScenarioError::from_diags(file, text, cx.diags))
        }
    }
}
