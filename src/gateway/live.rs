//! `kafkasim serve --tui`: the live cluster on the serving terminal while real clients
//! connect. The serving loop (`mod.rs`, `pace`) calls a [`Monitor`] after every step; the
//! terminal one, [`TerminalMonitor`], redraws at most every [`FRAME_MS`] milliseconds of
//! wall time from a view-model [`Snapshot`] of the running world — the workbench's own
//! cluster and partitions views (`tui/views/cluster.rs`, `partitions.rs`) drawn from the
//! world as it is now — with the serve log below and a command line: `:` then a control
//! command (`kill broker-2`, `partition broker-1 / broker-2 broker-3`, `heal`, … the same
//! commands as `kafkasim ctl`) injects a fault, sent through the same channel as the
//! control port's, so it is on the tape like any other; `q` ends the session.
//!
//! Why not the whole workbench, live: the workbench is built on a *finished* run — its
//! timeline, charts, seeks and "what if" are indexes over every event from start to end,
//! built in one pass (`tui/replay.rs`), and the checker's verdict needs the run's end. A
//! live session has no end yet, and its future depends on clients outside the simulation.
//! So the live screen shows the present only (no scrubbing back); record with `--tape` and
//! open the session in the full workbench afterwards (`kafkasim tui SCENARIO --tape
//! FILE`), with the same trace hash.
//!
//! The simulation keeps its pace: a frame (snapshot and redraw) of
//! `scenarios/gateway/orders.toml` at 140×40 took 0.49 ms (mean of 500, test profile),
//! under 1% of a `FRAME_MS` period, and the world is never moved by the monitor (commands
//! go through the channel, applied by the serving loop between events).

use std::collections::VecDeque;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::engine::Gateway;
use crate::scenario::Scenario;
use crate::tui::views::{accent, cluster, dim, fit, partitions};
use crate::view_model::figures::ClientTally;
use crate::view_model::observe::snapshot;
use crate::view_model::Snapshot;

/// Wall-clock milliseconds between two frames of the live screen.
pub const FRAME_MS: u64 = 100;

/// Lines of the serve log kept for the screen.
const LOG_KEEP: usize = 200;

/// What the serving loop hears back from a monitor after a step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Watch {
    /// Control commands typed, to apply as the control channel's are.
    pub commands: Vec<String>,
    /// End the session now (its summary and tape are written as at the end).
    pub stop: bool,
}

/// Watches a session as it is served: shown the gateway and the new log lines after every
/// step of the serving loop.
pub trait Monitor {
    fn tick(&mut self, g: &Gateway, log: &[String]) -> Watch;
}

/// A key's effect on the live screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveAction {
    Command(String),
    Quit,
}

/// The live screen's model: plain data, drawn by [`draw`].
pub struct LiveView {
    pub scenario: Scenario,
    pub speed: f64,
    pub snapshot: Snapshot,
    pub status: String,
    pub log: VecDeque<String>,
    /// A control command being typed (after `:`).
    pub input: Option<String>,
    /// Where clients and `kafkasim ctl` connect, once the session announced it.
    pub addresses: Vec<String>,
    tally: ClientTally,
}

impl LiveView {
    pub fn new(scenario: &Scenario, speed: f64) -> Self {
        LiveView {
            scenario: scenario.clone(),
            speed,
            snapshot: Snapshot::default(),
            status: String::new(),
            log: VecDeque::new(),
            input: None,
            addresses: Vec::new(),
            tally: ClientTally::default(),
        }
    }

    /// Takes a fresh snapshot of the served world.
    pub fn observe(&mut self, g: &Gateway) {
        self.snapshot = snapshot(g.world(), &mut self.tally);
        self.status = super::status_line(g);
    }

    pub fn push_log(&mut self, line: &str) {
        for prefix in ["bootstrap ", "control "] {
            if let Some(rest) = line.strip_prefix(prefix) {
                let addr = rest.split_whitespace().next().unwrap_or_default();
                self.addresses.push(format!("{prefix}{addr}"));
            }
        }
        if self.log.len() == LOG_KEEP {
            self.log.pop_front();
        }
        self.log.push_back(line.to_string());
    }

    /// A key: `:` opens the command line, Enter sends it, Esc drops it; `q` or Ctrl-C quit.
    pub fn key(&mut self, k: KeyEvent) -> Option<LiveAction> {
        let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            return Some(LiveAction::Quit);
        }
        let Some(input) = self.input.as_mut() else {
            return match k.code {
                KeyCode::Char(':') => {
                    self.input = Some(String::new());
                    None
                }
                KeyCode::Char('q') => Some(LiveAction::Quit),
                _ => None,
            };
        };
        match k.code {
            KeyCode::Enter => {
                let command = std::mem::take(input).trim().to_string();
                self.input = None;
                (!command.is_empty()).then_some(LiveAction::Command(command))
            }
            KeyCode::Esc => {
                self.input = None;
                None
            }
            KeyCode::Backspace => {
                input.pop();
                None
            }
            KeyCode::Char(c) => {
                input.push(c);
                None
            }
            _ => None,
        }
    }
}

/// Draws the live screen: header, cluster | partitions, the serve log, the command line.
pub fn draw(f: &mut Frame, v: &LiveView) {
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Min(6),
            Constraint::Length(9),
            Constraint::Length(1),
        ])
        .split(f.area());
    header(f, rows[0], v);
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(rows[1]);
    let boxed = |title: &'static str| {
        Block::default()
            .borders(Borders::TOP)
            .title(Span::styled(title, accent()))
    };
    let (left, right) = (boxed(" Cluster (live) "), boxed(" Partitions "));
    let (la, ra) = (left.inner(cols[0]), right.inner(cols[1]));
    f.render_widget(left, cols[0]);
    f.render_widget(right, cols[1]);
    cluster::draw(f, la, &v.snapshot, &v.scenario, None);
    partitions::draw(f, ra, &v.snapshot, &v.scenario, 0, "");
    let log = boxed(" Serve log ");
    let inner = log.inner(rows[2]);
    f.render_widget(log, rows[2]);
    let h = inner.height as usize;
    let w = inner.width as usize;
    let lines: Vec<Line> = v
        .log
        .iter()
        .skip(v.log.len().saturating_sub(h))
        .map(|l| Line::raw(fit(l, w)))
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
    let footer = match &v.input {
        Some(text) => Line::from(vec![Span::styled(":", accent()), Span::raw(text.clone())]),
        None => Line::styled(
            ": control command (kill broker-2, partition A / B, heal, …)   q quit   — live view of the present; record --tape for the full workbench",
            dim(),
        ),
    };
    f.render_widget(Paragraph::new(footer), rows[3]);
}

fn header(f: &mut Frame, area: Rect, v: &LiveView) {
    let w = area.width as usize;
    let title = format!(
        "kafkasim serve — {} · {}× real time · {}",
        v.scenario.name,
        v.speed,
        v.addresses.join(" · ")
    );
    let lines = vec![
        Line::styled(fit(&title, w), accent()),
        Line::raw(fit(&v.status, w)),
    ];
    f.render_widget(Paragraph::new(lines), area);
}

/// The live screen on the real terminal.
pub struct TerminalMonitor {
    terminal: ratatui::DefaultTerminal,
    pub view: LiveView,
    last_frame: Option<std::time::Instant>,
}

// The live screen paces its redraws on the wall clock, as the serving loop paces the world.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
impl TerminalMonitor {
    /// Takes the terminal over (raw mode, alternate screen; restored on drop and on panic).
    pub fn start(view: LiveView) -> std::io::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalMonitor {
            terminal,
            view,
            last_frame: None,
        })
    }

    fn keys(&mut self, watch: &mut Watch) {
        use ratatui::crossterm::event::{self, Event, KeyEventKind};
        while event::poll(std::time::Duration::ZERO).unwrap_or(false) {
            let Ok(Event::Key(k)) = event::read() else {
                continue;
            };
            if k.kind == KeyEventKind::Release {
                continue;
            }
            match self.view.key(k) {
                Some(LiveAction::Command(c)) => watch.commands.push(c),
                Some(LiveAction::Quit) => watch.stop = true,
                None => {}
            }
        }
    }
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
impl Monitor for TerminalMonitor {
    fn tick(&mut self, g: &Gateway, log: &[String]) -> Watch {
        for line in log {
            self.view.push_log(line);
        }
        let mut watch = Watch::default();
        self.keys(&mut watch);
        let due = self
            .last_frame
            .is_none_or(|t| t.elapsed().as_millis() as u64 >= FRAME_MS);
        if due {
            self.last_frame = Some(std::time::Instant::now());
            self.view.observe(g);
            let view = &self.view;
            let _ = self.terminal.draw(|f| draw(f, view));
        }
        watch
    }
}

impl Drop for TerminalMonitor {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventState;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent {
            code,
            modifiers: KeyModifiers::NONE,
            kind: ratatui::crossterm::event::KeyEventKind::Press,
            state: KeyEventState::NONE,
        }
    }

    /// `:` opens the command line; typed text and Enter give the command; Esc drops it;
    /// `q` quits outside the command line (inside it, it is a letter).
    #[test]
    fn keys_type_a_control_command() {
        let s = crate::tui::default_scenario();
        let mut v = LiveView::new(&s, 1.0);
        assert_eq!(v.key(key(KeyCode::Char(':'))), None);
        for c in "kill brokerq-2".chars() {
            v.key(key(KeyCode::Char(c)));
        }
        assert_eq!(v.input.as_deref(), Some("kill brokerq-2"));
        v.key(key(KeyCode::Backspace));
        v.key(key(KeyCode::Backspace));
        v.key(key(KeyCode::Backspace));
        for c in "-2".chars() {
            v.key(key(KeyCode::Char(c)));
        }
        assert_eq!(
            v.key(key(KeyCode::Enter)),
            Some(LiveAction::Command("kill broker-2".to_string()))
        );
        v.key(key(KeyCode::Char(':')));
        v.key(key(KeyCode::Char('x')));
        assert_eq!(v.key(key(KeyCode::Esc)), None);
        assert_eq!(v.input, None);
        assert_eq!(v.key(key(KeyCode::Char('q'))), Some(LiveAction::Quit));
    }
}
