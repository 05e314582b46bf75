//! `kafkasim export FILE --format F`: runs the scenario with its full trace, drains it as
//! `check` does, and writes one of the export formats (see `crate::export` and
//! docs/export-format.md). Bad input — an unknown format, `--from` after `--to`, a window
//! past the end of the run, a Mermaid window over Mermaid's size limit — is exit 2 with a
//! message that says what to do instead.

use std::path::Path;

use super::run_cmd::{load, EXIT_BAD_INPUT};
use crate::export::{self, mermaid, Format, Run, Window};

/// Default number of events in a Mermaid window when `--to` is not given.
const MERMAID_DEFAULT_EVENTS: u64 = 200;

pub fn export(
    file: &Path,
    format: &str,
    seed: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
    out: Option<&Path>,
) -> u8 {
    let Some(fmt) = Format::parse(format) else {
        eprintln!(
            "error: unknown export format `{format}`; valid: {}",
            Format::NAMES.join(", ")
        );
        return EXIT_BAD_INPUT;
    };
    if let Err(e) = check_window(fmt, from, to) {
        eprintln!("error: {e}");
        return EXIT_BAD_INPUT;
    }
    let s = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let run = match Run::new(&s, seed.unwrap_or(s.seed)) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: cannot build scenario `{}`: {e}", s.name);
            return EXIT_BAD_INPUT;
        }
    };
    let last = run.world.events();
    if let Some(f) = from.filter(|f| *f > last) {
        eprintln!("error: --from {f} is past the end of the run: its last event is {last} (the drain phase included)");
        return EXIT_BAD_INPUT;
    }
    if fmt == Format::Mermaid {
        return mermaid_export(&run, from, to, out);
    }
    let window = Window {
        from: from.unwrap_or(0),
        to: to.unwrap_or(u64::MAX),
    };
    write_out(out, &export::export(&run, fmt, window))
}

/// The window's own consistency, before anything runs.
fn check_window(fmt: Format, from: Option<u64>, to: Option<u64>) -> Result<(), String> {
    if !fmt.windowed() && (from.is_some() || to.is_some()) {
        return Err(
            "--from/--to select trace events; the `history` and `jepsen` formats always export the whole client history"
                .to_string(),
        );
    }
    match (from, to) {
        (Some(f), Some(t)) if f > t => Err(format!(
            "--from {f} is after --to {t}: the window would be empty; pass --from A --to B with A <= B"
        )),
        _ => Ok(()),
    }
}

/// Whether `--out` names a directory: an existing one, or a path ending in `/`.
fn is_dir_target(p: &Path) -> bool {
    p.is_dir() || p.to_string_lossy().ends_with(std::path::MAIN_SEPARATOR)
}

/// Mermaid: one diagram on stdout or in a file, or numbered diagrams in `--out DIR/`.
fn mermaid_export(run: &Run, from: Option<u64>, to: Option<u64>, out: Option<&Path>) -> u8 {
    let from = from.unwrap_or(1);
    let window = Window {
        from,
        to: to.unwrap_or(from.saturating_add(MERMAID_DEFAULT_EVENTS - 1)),
    };
    let diagrams = mermaid::diagrams(run, window, mermaid::MAX_TEXT_SIZE);
    if let Some(dir) = out.filter(|p| is_dir_target(p)) {
        return write_diagrams(dir, &diagrams);
    }
    if diagrams.len() > 1 {
        let first = &diagrams[0];
        if to.is_some() {
            eprintln!(
                "error: events {}..{} do not fit in one Mermaid diagram: it would exceed Mermaid's default maxTextSize of {} characters (the first {} events fit). Narrow the window (e.g. --from {} --to {}), or pass --out DIR/ to write it as {} numbered diagrams.",
                window.from,
                window.to,
                mermaid::MAX_TEXT_SIZE,
                first.to + 1 - window.from,
                window.from,
                first.to,
                diagrams.len()
            );
            return EXIT_BAD_INPUT;
        }
        eprintln!(
            "note: the diagram stops at event {} to stay under Mermaid's default maxTextSize of {} characters; continue with --from {}",
            first.to,
            mermaid::MAX_TEXT_SIZE,
            first.to + 1
        );
    }
    write_out(out, &diagrams[0].text)
}

fn write_diagrams(dir: &Path, diagrams: &[mermaid::Diagram]) -> u8 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return EXIT_BAD_INPUT;
    }
    for (i, d) in diagrams.iter().enumerate() {
        let path = dir.join(format!(
            "diagram-{:03}-events-{}-{}.mmd",
            i + 1,
            d.from,
            d.to
        ));
        if let Err(e) = std::fs::write(&path, &d.text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return EXIT_BAD_INPUT;
        }
        eprintln!("wrote {} ({} characters)", path.display(), d.text.len());
    }
    0
}

fn write_out(out: Option<&Path>, text: &str) -> u8 {
    match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, text) {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_BAD_INPUT;
            }
        }
        None => {
            use std::io::Write;
            // A closed pipe (`| head`) is not an error worth a panic.
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
    0
}
