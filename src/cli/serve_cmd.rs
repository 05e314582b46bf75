//! `serve` (real Kafka clients against the simulated cluster, through `gateway/`), `ctl`,
//! and `run`/`check`/`tui --tape` (a served session, replayed). Bad input — an address that does not parse,
//! a speed that is not positive, a tape that does not read — is exit 2 with the reason.

use std::net::SocketAddr;
use std::path::Path;

use super::run_cmd::{load, print_summary, run_scenario, EXIT_BAD_INPUT};
use crate::gateway::{self, ServeOptions};
use crate::scenario::units::parse_duration_us;

pub fn serve(
    file: &Path,
    listen: &str,
    speed: f64,
    tape: Option<&Path>,
    duration: Option<&str>,
    seed: Option<u64>,
    tui: bool,
) -> u8 {
    let s = match load(file) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let Ok(addr) = listen.parse::<SocketAddr>() else {
        eprintln!("error: --listen `{listen}`: expected IP:PORT, e.g. 127.0.0.1:9092");
        return EXIT_BAD_INPUT;
    };
    if !(speed.is_finite() && speed > 0.0) {
        eprintln!("error: --speed {speed}: must be a positive number (1 = real time)");
        return EXIT_BAD_INPUT;
    }
    let end_us = match duration.map(parse_duration_us) {
        None => s.duration_us,
        Some(Ok(us)) if us > 0 => us,
        Some(Ok(_)) => {
            eprintln!("error: --duration must be longer than 0");
            return EXIT_BAD_INPUT;
        }
        Some(Err(e)) => {
            eprintln!("error: --duration: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if !addr.ip().is_loopback() {
        println!(
            "warning: listening on {} — reachable beyond this machine",
            addr.ip()
        );
    }
    let opts = ServeOptions {
        listen: addr,
        speed,
        end_us,
        seed: seed.unwrap_or(s.seed),
        // With --tui the live screen reads the keys (`:` then a command).
        commands_on_stdin: !tui && std::io::IsTerminal::is_terminal(&std::io::stdin()),
    };
    println!(
        "serving `{}` (seed {}) for {} s simulated at {speed}× real time",
        s.name,
        opts.seed,
        end_us / 1_000_000
    );
    let mut live = if tui {
        let view = gateway::live::LiveView::new(&s, speed);
        match gateway::live::TerminalMonitor::start(view) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("error: --tui: cannot take over the terminal: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    } else {
        None
    };
    let mut say = |line: &str| {
        use std::io::Write;
        if !tui {
            println!("{line}");
            let _ = std::io::stdout().flush();
        }
    };
    let monitor = live.as_mut().map(|m| m as &mut dyn gateway::Monitor);
    let result = gateway::serve(&s, &opts, tape, &mut say, monitor);
    if let Some(m) = live.take() {
        let log: Vec<String> = m.view.log.iter().cloned().collect();
        drop(m); // gives the terminal back before the summary is printed
        for line in log.iter().filter(|l| !l.starts_with("t=")) {
            println!("{line}");
        }
    }
    match result {
        Ok(served) => {
            print_summary(&served.summary, 0);
            if let Some(t) = tape {
                println!(
                    "tape        {} (replay: kafkasim run {} --tape {})",
                    t.display(),
                    file.display(),
                    t.display()
                );
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

/// Loads `file` with the session recorded in `tape` attached (`gateway::with_tape`).
pub(super) fn load_with_tape(file: &Path, tape: &Path) -> Result<crate::scenario::Scenario, u8> {
    let s = load(file)?;
    let text = std::fs::read_to_string(tape).map_err(|e| {
        eprintln!("error: cannot read the tape {}: {e}", tape.display());
        EXIT_BAD_INPUT
    })?;
    gateway::with_tape(&s, &text).map_err(|e| {
        eprintln!("error: {}: {e}", tape.display());
        EXIT_BAD_INPUT
    })
}

/// `kafkasim run SCENARIO --tape FILE`: the served session, replayed.
pub fn replay(file: &Path, tape: &Path, seed: Option<u64>, json: bool) -> u8 {
    let s = match load_with_tape(file, tape) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if seed.is_some_and(|seed| seed != s.seed) {
        eprintln!("error: --seed: the tape was recorded with seed {}", s.seed);
        return EXIT_BAD_INPUT;
    }
    run_scenario(&s, s.seed, json, None)
}

/// `kafkasim ctl ADDR COMMAND`: sends one command line, prints the answer; exit 0 for
/// `ok`, 1 for a refused command, 2 when the session cannot be reached.
pub fn ctl(addr: &str, command: &str) -> u8 {
    use std::io::{BufRead, Write};
    let mut stream = match std::net::TcpStream::connect(addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot reach a kafkasim serve control port at {addr}: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if writeln!(stream, "{command}").is_err() {
        eprintln!("error: the session at {addr} closed the connection");
        return EXIT_BAD_INPUT;
    }
    let mut answer = String::new();
    let _ = std::io::BufReader::new(stream).read_line(&mut answer);
    let answer = answer.trim();
    println!("{answer}");
    if answer.starts_with("ok") {
        0
    } else {
        1
    }
}

/// `kafkasim check SCENARIO --tape FILE`: the replay under the live invariant checker,
/// then the drain phase and `[expect]`, as `check` does for a plain run.
pub fn check_tape(files: &[std::path::PathBuf], tape: &Path) -> u8 {
    let [file] = files else {
        eprintln!(
            "error: --tape checks one scenario (the one `serve` ran), got {}",
            files.len()
        );
        return EXIT_BAD_INPUT;
    };
    let s = match load_with_tape(file, tape) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let report = crate::runner::check_scenario(&s, s.seed);
    println!("{} (tape {})", file.display(), tape.display());
    print!("{report}");
    if report.error.is_some() {
        EXIT_BAD_INPUT
    } else if report.passed() {
        0
    } else {
        1
    }
}

/// `kafkasim tui SCENARIO --tape FILE`: the served session in the workbench.
pub fn tui_tape(file: &Path, tape: &Path, seed: Option<u64>, compare: Option<&Path>) -> u8 {
    let s = match load_with_tape(file, tape) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if seed.is_some_and(|seed| seed != s.seed) {
        eprintln!("error: --seed: the tape was recorded with seed {}", s.seed);
        return EXIT_BAD_INPUT;
    }
    let compare = match compare.map(load) {
        Some(Ok(c)) => Some(c),
        Some(Err(code)) => return code,
        None => None,
    };
    super::run_cmd::tui_with(s, None, compare)
}
