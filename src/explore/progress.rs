//! The progress line of long work (`explore`, `run`, `check`), drawn on stderr by the
//! `indicatif` crate: a bar of done/total, items per second, a status (failures so far,
//! simulated time reached, the phase of a check) and the time left. It appears only on a
//! terminal, and only once the work has taken longer than [`SHOW_AFTER_MS`]: a short run
//! prints nothing extra, and redirected to a file or a pipe nothing is drawn at all (its
//! rewrites would pile up as garbage there). indicatif limits redraws itself (about 20 a
//! second); no ticker thread is started — the line moves only when the work calls
//! [`Progress::draw_with`]. Wall-clock time is read here, outside every run, so it never
//! touches determinism.

// Wall-clock time measures progress (items per second) from outside every run; no run
// ever sees it, so determinism is untouched.
#![allow(clippy::disallowed_methods)]

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work that ends sooner than this draws no line.
pub const SHOW_AFTER_MS: u64 = 1_000;

pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    /// Drawing is allowed (asked for, and stderr is a terminal).
    enabled: bool,
    /// The line has appeared (the work outlived [`SHOW_AFTER_MS`]).
    shown: bool,
    unit: &'static str,
}

impl Progress {
    /// A progress line over `total` items (0: unknown), drawn when `enabled` and stderr is
    /// a terminal.
    pub fn new(total: u64, enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        let p = Progress {
            bar,
            started: Instant::now(),
            enabled: enabled && std::io::stderr().is_terminal(),
            shown: false,
            unit: "seeds",
        };
        p.styled()
    }

    fn styled(self) -> Self {
        let template = format!(
            "[{{bar:30}}] {{pos}}/{{len}} {unit}  {{msg}}  {{elapsed}} elapsed, ETA {{eta}}",
            unit = self.unit
        );
        let style = ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("#>.");
        self.bar.set_style(style);
        self
    }

    /// Names what is counted (`seeds` by default).
    pub fn unit(self, unit: &'static str) -> Self {
        Progress { unit, ..self }.styled()
    }

    /// Whether the line may be drawn at all.
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

    /// Moves the line to `done` with `status`; it appears once the work has taken longer
    /// than [`SHOW_AFTER_MS`] (at once when `force`).
    pub fn draw_with(&mut self, done: u64, status: &str, force: bool) {
        if !self.enabled {
            return;
        }
        if !self.shown && (force || self.elapsed_ms() >= SHOW_AFTER_MS) {
            self.shown = true;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        if self.bar.length().is_some_and(|n| done > n) {
            self.bar.set_length(done);
        }
        self.bar.set_position(done);
        self.bar.set_message(status.to_string());
    }

    /// Ends exploration's line.
    pub fn finish(&mut self, done: u64, failures: u64) {
        self.finish_with(done, &format!("{failures} failure(s)"));
    }

    /// Draws the last state and ends the line (if it ever appeared).
    pub fn finish_with(&mut self, done: u64, status: &str) {
        if self.shown {
            self.bar.set_position(done);
            self.bar.finish_with_message(status.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disabled_line_never_appears() {
        // Proves a line not asked for (as off a terminal) never appears, whatever it is
        // told, and that a line asked for waits SHOW_AFTER_MS before it appears.
        let mut p = Progress::new(10, false).unit("events");
        assert!(!p.enabled());
        p.draw_with(5, "halfway", true);
        p.finish_with(10, "done");
        assert!(!p.shown);
        let mut q = Progress::new(10, true);
        q.enabled = true; // as on a terminal
        q.bar.set_draw_target(ProgressDrawTarget::hidden());
        q.draw_with(1, "early", false);
        assert!(!q.shown, "not before {SHOW_AFTER_MS} ms");
        q.draw_with(2, "forced", true);
        assert!(q.shown);
        q.bar.set_draw_target(ProgressDrawTarget::hidden());
        assert_eq!(q.bar.position(), 2);
    }
}
