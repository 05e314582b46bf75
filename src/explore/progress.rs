//! A hand-rolled progress line on stderr (`\r`-rewritten): done/total, items per second,
//! a status (failures so far, simulated time reached), time left. No dependency needed
//! for one line. It is drawn only when stderr is a terminal: redirected to a file or a
//! pipe, `\r` rewrites would pile up as garbage, so the line stays silent there.
//! Wall-clock time is read here, outside every run, so it never touches determinism.

// Wall-clock time measures progress (items per second) from outside every run; no run
// ever sees it, so determinism is untouched.
#![allow(clippy::disallowed_methods)]

use std::io::{IsTerminal, Write};
use std::time::Instant;

pub struct Progress {
    total: u64,
    started: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
    unit: &'static str,
}

impl Progress {
    /// A progress line over `total` items, drawn when `enabled` and stderr is a terminal.
    pub fn new(total: u64, enabled: bool) -> Self {
        Progress {
            total,
            started: Instant::now(),
            last_draw: None,
            enabled: enabled && std::io::stderr().is_terminal(),
            unit: "seeds",
        }
    }

    /// Names what is counted (`seeds` by default).
    pub fn unit(self, unit: &'static str) -> Self {
        Progress { unit, ..self }
    }

    /// Whether the line is drawn at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Items per second so far.
    pub fn rate(&self, done: u64) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            done as f64 / secs
        } else {
            0.0
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Exploration's line: done, and failures so far.
    pub fn draw(&mut self, done: u64, failures: u64, force: bool) {
        self.draw_with(done, &format!("{failures} failure(s)"), force);
    }

    /// Redraws at most ten times a second, and always when `force`.
    pub fn draw_with(&mut self, done: u64, status: &str, force: bool) {
        let now = Instant::now();
        let due = self
            .last_draw
            .is_none_or(|t| now.duration_since(t).as_millis() >= 100);
        if !self.enabled || !(due || force) {
            return;
        }
        self.last_draw = Some(now);
        let _ = write!(std::io::stderr(), "\r{}", self.line(done, status));
    }

    fn line(&self, done: u64, status: &str) -> String {
        const WIDTH: u64 = 30;
        let filled = (done * WIDTH)
            .checked_div(self.total)
            .unwrap_or(WIDTH)
            .min(WIDTH) as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled),
            ".".repeat(WIDTH as usize - filled)
        );
        let rate = self.rate(done);
        let left = self.total.saturating_sub(done);
        let eta = if rate > 0.0 {
            (left as f64 / rate).ceil() as u64
        } else {
            0
        };
        let unit = self.unit;
        format!(
            "[{bar}] {done}/{} {unit}  {rate:.1} {unit}/s  {status}  ETA {eta}s ",
            self.total
        )
    }

    /// Ends exploration's line.
    pub fn finish(&mut self, done: u64, failures: u64) {
        self.finish_with(done, &format!("{failures} failure(s)"));
    }

    /// Draws the last state and ends the line.
    pub fn finish_with(&mut self, done: u64, status: &str) {
        if self.enabled {
            self.draw_with(done, status, true);
            let _ = writeln!(std::io::stderr());
        }
    }
}
