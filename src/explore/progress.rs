//! A hand-rolled progress line on stderr (`\r`-rewritten): done/total, seeds per second,
//! failures so far, time left. No dependency needed for one line. Wall-clock time is read
//! here, outside every run, so it never touches determinism.

// Wall-clock time measures the exploration (seeds per second) from outside every run; no
// run ever sees it, so determinism is untouched.
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::time::Instant;

pub struct Progress {
    total: u64,
    started: Instant,
    last_draw: Option<Instant>,
    enabled: bool,
}

impl Progress {
    pub fn new(total: u64, enabled: bool) -> Self {
        Progress {
            total,
            started: Instant::now(),
            last_draw: None,
            enabled,
        }
    }

    /// Seeds per second so far.
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

    /// Redraws at most ten times a second, and always when `force`.
    pub fn draw(&mut self, done: u64, failures: u64, force: bool) {
        let now = Instant::now();
        let due = self
            .last_draw
            .is_none_or(|t| now.duration_since(t).as_millis() >= 100);
        if !self.enabled || !(due || force) {
            return;
        }
        self.last_draw = Some(now);
        let _ = write!(std::io::stderr(), "\r{}", self.line(done, failures));
    }

    fn line(&self, done: u64, failures: u64) -> String {
        const WIDTH: u64 = 30;
        let filled = (done * WIDTH).checked_div(self.total).unwrap_or(WIDTH) as usize;
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
        format!(
            "[{bar}] {done}/{} seeds  {rate:.1} seeds/s  {failures} failure(s)  ETA {eta}s ",
            self.total
        )
    }

    /// Ends the line.
    pub fn finish(&mut self, done: u64, failures: u64) {
        if self.enabled {
            self.draw(done, failures, true);
            let _ = writeln!(std::io::stderr());
        }
    }
}
