//! The workbench's state and its one `update` function (The Elm Architecture): messages
//! (keys, mouse, resize, a play tick carrying elapsed real time) go in, the model changes,
//! and commands that touch the outside world (writing a file) come out for `run.rs` to
//! perform. Nothing here reads a clock or draws; the views draw from the model.

use ratatui::crossterm::event::{KeyCode, KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::keymap::{self, Action};
pub use super::side::{LogLine, Side};
use super::views;
use crate::scenario::{FaultAction, FaultEntry, Target};
use crate::sim::Time;
use crate::view_model::MarkerKind;

/// The main views.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum View {
    Cluster,
    Partitions,
    Clients,
    Flow,
    Log,
    Charts,
    Anomalies,
    Compare,
}

impl View {
    pub const ALL: [View; 8] = [
        View::Cluster,
        View::Partitions,
        View::Clients,
        View::Flow,
        View::Log,
        View::Charts,
        View::Anomalies,
        View::Compare,
    ];
    pub fn title(self) -> &'static str {
        match self {
            View::Cluster => "Cluster",
            View::Partitions => "Partitions",
            View::Clients => "Clients",
            View::Flow => "Message flow",
            View::Log => "Event log",
            View::Charts => "Charts",
            View::Anomalies => "Anomalies",
            View::Compare => "Compare",
        }
    }
}

/// A popup over the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Overlay {
    None,
    Help,
    /// The what-if menu: selected action and target node.
    WhatIf {
        item: usize,
        target: usize,
    },
    /// Typing an event-log filter.
    Filter,
    /// The markers folded at the cursor (indexes into the replay's markers), one selected.
    Markers {
        items: Vec<usize>,
        sel: usize,
    },
    /// The story of anomaly `anomaly`, one step selected.
    Story {
        anomaly: usize,
        sel: usize,
    },
}

/// The faults the what-if menu offers.
pub const WHAT_IF: [&str; 7] = [
    "kill",
    "power-loss",
    "pause",
    "resume",
    "restart",
    "isolate",
    "heal",
];

/// A message to `update`.
#[derive(Clone, Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Real time elapsed since the last tick, in microseconds (only `run.rs` reads a clock).
    Tick(u64),
}

/// What `update` asks the outside world to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    WriteFile { path: String, text: String },
}

/// The whole state of the workbench.
pub struct App {
    /// One run, or two in compare mode (A then B).
    pub sides: Vec<Side>,
    pub view: View,
    /// Which pane has the focus when two are shown (0 = view, 1 = event log).
    pub focus: usize,
    pub overlay: Overlay,
    pub playing: bool,
    /// Simulated microseconds per real second.
    pub speed_us: u64,
    carry_us: u128,
    /// Selected row in the focused view (nodes, anomalies, log lines).
    pub selected: usize,
    pub filter: String,
    pub status: String,
    pub size: (u16, u16),
    pub quit: bool,
    /// The fault injected by what-if, if any (what `w` writes).
    pub forked: Option<String>,
    /// The opening note is shown (until the first key).
    pub welcome: bool,
}

/// Speeds offered by `+`/`-`: simulated time per real second.
const SPEEDS: [u64; 16] = [
    100, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
    2_000_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

impl App {
    /// A model showing `sides` (one run, or two to compare).
    pub fn new(sides: Vec<Side>) -> App {
        assert!(!sides.is_empty(), "a model shows at least one run");
        let end = sides[0].replay.end_time().as_us();
        let speed_us = SPEEDS
            .iter()
            .copied()
            .rfind(|s| *s <= (end / 30).max(SPEEDS[0]))
            .unwrap_or(SPEEDS[0]);
        let view = if sides.len() > 1 {
            View::Compare
        } else {
            View::Cluster
        };
        App {
            sides,
            view,
            focus: 0,
            overlay: Overlay::None,
            playing: false,
            speed_us,
            carry_us: 0,
            selected: 0,
            filter: String::new(),
            status: "Press ? for help, Space to play, → to step, ] for the next marker".to_string(),
            size: (80, 24),
            quit: false,
            forked: None,
            welcome: true,
        }
    }

    /// The primary run.
    pub fn main(&self) -> &Side {
        &self.sides[0]
    }

    /// The event log's lines: the trace near the cursor, or (with a filter) the filter's
    /// matches in the whole run near the cursor.
    pub fn filtered_log(&self, side: usize) -> Vec<&LogLine> {
        let s = &self.sides[side.min(self.sides.len() - 1)];
        s.log_lines().iter().collect()
    }

    /// Matches of the filter in the whole run of `side` (None without a filter).
    pub fn filter_matches(&self, side: usize) -> Option<usize> {
        let s = &self.sides[side.min(self.sides.len() - 1)];
        s.search.as_ref().map(|x| x.matches.len())
    }

    /// Applies the filter being typed to every run.
    fn apply_filter(&mut self) {
        let f = self.filter.clone();
        for s in &mut self.sides {
            s.set_filter(&f);
        }
    }

    /// The note on screen: the latest note at or before the clock, for a while after it.
    pub fn active_note(&self) -> Option<&crate::scenario::Note> {
        let side = self.main();
        let now = side.now().as_us();
        let linger = (side.replay.end_time().as_us() / 20).max(2_000_000);
        side.scenario
            .notes
            .iter()
            .filter(|n| n.at_us <= now && now - n.at_us <= linger && (now > 0 || n.at_us == 0))
            .max_by_key(|n| n.at_us)
    }

    /// Where playback ends: the last event of the longest run shown.
    pub fn play_end(&self) -> Time {
        self.sides
            .iter()
            .map(|s| s.replay.end_time())
            .max()
            .unwrap_or(Time(0))
    }

    /// The other runs follow the main run's clock.
    fn after_move(&mut self) {
        let t = self.sides[0].now();
        for s in self.sides.iter_mut().skip(1) {
            s.seek_time(t);
        }
    }

    fn seek(&mut self, event: u64) {
        self.sides[0].seek(event);
        self.after_move();
    }

    fn seek_time(&mut self, t: Time) {
        let t = t.min(self.play_end());
        self.sides[0].seek_time(t);
        self.after_move();
    }

    /// Jumps to the next (or previous) marker group of `kind` (or any): markers of one
    /// kind at nearly the same time are one stop.
    fn jump(&mut self, kind: Option<MarkerKind>, forward: bool) {
        let r = &self.sides[0].replay;
        let target = if forward {
            r.next_group(kind)
        } else {
            r.prev_group(kind)
        }
        .map(|g| g.first_event);
        let what = kind.map_or("marker", |k| k.as_str());
        let Some(e) = target else {
            self.status = format!("no {what} {}", if forward { "ahead" } else { "before" });
            return;
        };
        self.seek(e);
        self.status = self.groups_here_text(kind);
    }

    /// The marker groups starting at the cursor (of `kind` first), as one status line.
    fn groups_here_text(&self, kind: Option<MarkerKind>) -> String {
        let r = &self.sides[0].replay;
        let c = r.cursor();
        let mut here: Vec<_> = r.groups().iter().filter(|g| g.first_event == c).collect();
        here.sort_by_key(|g| (kind.is_some_and(|k| g.kind != k), g.kind.priority()));
        let parts: Vec<String> = here
            .iter()
            .map(|g| {
                let m = &r.markers()[g.first];
                if g.count > 1 {
                    let span = if g.start == g.end {
                        format!("at {}", g.start)
                    } else {
                        format!("{}–{}", g.start, g.end)
                    };
                    format!("{} ×{} ({span}): {}", g.kind.as_str(), g.count, m.label)
                } else {
                    format!("{}: {}", g.kind.as_str(), m.label)
                }
            })
            .collect();
        let folded = here.iter().any(|g| g.count > 1);
        let mut text = parts.join(" · ");
        if folded {
            text = format!("Enter lists them · {text}");
        }
        text
    }

    /// The markers of every group that holds the cursor (from its first to its last event).
    pub fn markers_here(&self) -> Vec<usize> {
        let r = &self.sides[0].replay;
        let c = r.cursor();
        let mut items: Vec<usize> = r
            .groups()
            .iter()
            .filter(|g| g.first_event <= c && c <= g.last_event)
            .flat_map(|g| g.members(r.markers()).collect::<Vec<_>>())
            .collect();
        items.sort_unstable();
        items.dedup();
        items
    }

    /// The anomaly selected in the anomalies view.
    pub fn selected_anomaly(&self) -> Option<usize> {
        let n = self.sides[0].replay.anomalies().len();
        (n > 0).then(|| self.selected.min(n - 1))
    }
}

/// Applies one message to the model.
pub fn update(m: &mut App, msg: Msg) -> Vec<Cmd> {
    match msg {
        Msg::Resize(w, h) => {
            m.size = (w, h);
            Vec::new()
        }
        Msg::Tick(real_us) => {
            tick(m, real_us);
            Vec::new()
        }
        Msg::Mouse(ev) => {
            mouse(m, ev);
            Vec::new()
        }
        Msg::Key(ev) => key(m, ev),
    }
}

/// Playback: the clock advances by speed × real time whatever the gaps between events (the
/// world follows it to the last event at or before it), stops at a pausing note's time,
/// and stops at the end of the run.
fn tick(m: &mut App, real_us: u64) {
    if !m.playing {
        return;
    }
    m.carry_us += m.speed_us as u128 * real_us as u128;
    let advance = (m.carry_us / 1_000_000) as u64;
    m.carry_us %= 1_000_000;
    let from = m.sides[0].now();
    let end = m.play_end();
    let target = Time(from.as_us().saturating_add(advance)).min(end);
    let pause_at = m.sides[0]
        .scenario
        .notes
        .iter()
        .filter(|n| n.pause && n.at_us > from.as_us() && n.at_us <= target.as_us())
        .map(|n| n.at_us)
        .min();
    if let Some(at) = pause_at {
        m.seek_time(Time(at));
        m.playing = false;
        m.carry_us = 0;
        m.status = "paused for a note: read it, then Space to go on".to_string();
        return;
    }
    m.seek_time(target);
    if target >= end {
        m.playing = false;
        m.status = "end of the run".to_string();
    }
}

fn mouse(m: &mut App, ev: MouseEvent) {
    let areas = views::areas(Rect::new(0, 0, m.size.0, m.size.1), m);
    let pos = Position::new(ev.column, ev.row);
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) if areas.timeline_bar.contains(pos) => {
            let bar = areas.timeline_bar;
            let frac = (ev.column - bar.x) as u64;
            let width = (bar.width.max(2) - 1) as u64;
            let end = m.sides[0].replay.end_time().as_us();
            m.seek_time(Time(end * frac / width));
        }
        MouseEventKind::ScrollUp => {
            let c = m.sides[0].replay.cursor();
            m.seek(c.saturating_sub(1));
        }
        MouseEventKind::ScrollDown => {
            let c = m.sides[0].replay.cursor();
            m.seek(c + 1);
        }
        _ => {}
    }
}

fn key(m: &mut App, ev: KeyEvent) -> Vec<Cmd> {
    m.welcome = false;
    match m.overlay.clone() {
        Overlay::Filter => {
            filter_key(m, ev);
            return Vec::new();
        }
        Overlay::WhatIf { item, target } => {
            what_if_key(m, ev, item, target);
            return Vec::new();
        }
        Overlay::Markers { items, sel } => {
            markers_key(m, ev, items, sel);
            return Vec::new();
        }
        Overlay::Story { anomaly, sel } => {
            story_key(m, ev, anomaly, sel);
            return Vec::new();
        }
        Overlay::Help => {
            if matches!(keymap::action_for(&ev), Some(Action::Quit)) {
                m.quit = true;
            } else {
                m.overlay = Overlay::None;
            }
            return Vec::new();
        }
        Overlay::None => {}
    }
    let cmds = match keymap::action_for(&ev) {
        Some(a) => act(m, a),
        None => Vec::new(),
    };
    if m.view == View::Anomalies {
        if let Some(i) = m.selected_anomaly() {
            m.sides[0].explain(i);
        }
    }
    cmds
}

/// Up/down moves the selection, PgUp/PgDn by ten.
fn moved(code: KeyCode, sel: usize, len: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    Some(match code {
        KeyCode::Up | KeyCode::Char('k') => sel.saturating_sub(1),
        KeyCode::Down | KeyCode::Char('j') => (sel + 1).min(last),
        KeyCode::PageUp => sel.saturating_sub(10),
        KeyCode::PageDown => (sel + 10).min(last),
        KeyCode::Home => 0,
        KeyCode::End => last,
        _ => return None,
    })
}

/// The list of folded markers: pick one, Enter jumps there.
fn markers_key(m: &mut App, ev: KeyEvent, items: Vec<usize>, sel: usize) {
    if let Some(sel) = moved(ev.code, sel, items.len()) {
        m.overlay = Overlay::Markers { items, sel };
        return;
    }
    m.overlay = Overlay::None;
    if ev.code == KeyCode::Enter {
        let r = &m.sides[0].replay;
        if let Some(mk) = items.get(sel).and_then(|&i| r.markers().get(i)) {
            let (e, text) = (mk.event, format!("{}: {}", mk.kind.as_str(), mk.label));
            m.seek(e);
            m.status = text;
        }
    }
}

/// An anomaly's story: pick a step (or press its number), Enter jumps there.
fn story_key(m: &mut App, ev: KeyEvent, anomaly: usize, sel: usize) {
    let steps = m.sides[0]
        .story(anomaly)
        .map(|s| s.steps.clone())
        .unwrap_or_default();
    if let Some(sel) = moved(ev.code, sel, steps.len()) {
        m.overlay = Overlay::Story { anomaly, sel };
        return;
    }
    let pick = match ev.code {
        KeyCode::Enter => Some(sel),
        KeyCode::Char(c @ '1'..='9') => Some(c as usize - '1' as usize),
        _ => None,
    };
    m.overlay = Overlay::None;
    let Some(step) = pick.and_then(|i| steps.get(i)) else {
        return;
    };
    match step.event {
        Some(e) => {
            m.seek(e);
            m.status = format!("{}: {}", step.time.unwrap_or(m.main().now()), step.text);
        }
        None => m.status = format!("not in the replay: {}", step.text),
    }
}

fn filter_key(m: &mut App, ev: KeyEvent) {
    match ev.code {
        KeyCode::Enter => m.overlay = Overlay::None,
        KeyCode::Esc => {
            m.filter.clear();
            m.overlay = Overlay::None;
        }
        KeyCode::Backspace => {
            m.filter.pop();
        }
        KeyCode::Char(c) if m.filter.len() < 40 => m.filter.push(c),
        _ => {}
    }
    m.apply_filter();
    m.selected = 0;
}

fn what_if_key(m: &mut App, ev: KeyEvent, item: usize, target: usize) {
    let nodes = m.sides[0].snapshot.nodes.len().max(1);
    let next = match ev.code {
        KeyCode::Esc | KeyCode::Char('q') => None,
        KeyCode::Up | KeyCode::Char('k') => Some((item.saturating_sub(1), target)),
        KeyCode::Down | KeyCode::Char('j') => Some(((item + 1).min(WHAT_IF.len() - 1), target)),
        KeyCode::Left | KeyCode::Char('h') => Some((item, target.saturating_sub(1))),
        KeyCode::Right | KeyCode::Char('l') => Some((item, (target + 1).min(nodes - 1))),
        KeyCode::Enter => {
            fork(m, item, target);
            None
        }
        _ => Some((item, target)),
    };
    m.overlay = match next {
        Some((item, target)) => Overlay::WhatIf { item, target },
        None => Overlay::None,
    };
}

/// Replays the main run with one more fault, just after the cursor.
fn fork(m: &mut App, item: usize, target: usize) {
    let side = &m.sides[0];
    let Some(node) = side.snapshot.nodes.get(target) else {
        return;
    };
    let name = node.name.clone();
    let t = Target::Node(name.clone());
    let action = match WHAT_IF[item.min(WHAT_IF.len() - 1)] {
        "kill" => FaultAction::Kill(t),
        "power-loss" => FaultAction::PowerLoss {
            target: t,
            torn: false,
        },
        "pause" => FaultAction::Pause(t),
        "resume" => FaultAction::Resume(t),
        "restart" => FaultAction::Restart(t),
        "isolate" => FaultAction::Isolate(t),
        _ => FaultAction::Heal,
    };
    // One microsecond after the cursor: every event up to the cursor stays as it was.
    let at_us = side.now().as_us() + 1;
    let mut scenario = side.scenario.clone();
    scenario.faults.push(FaultEntry {
        at_us,
        action,
        for_us: None,
    });
    scenario.faults.sort_by_key(|f| f.at_us);
    let label = format!(
        "{} at {}",
        WHAT_IF[item.min(WHAT_IF.len() - 1)],
        Time(at_us)
    );
    let clock = side.now();
    let seed = side.seed;
    match Side::new(&format!("what-if: {label}"), scenario, seed) {
        Ok(mut s) => {
            s.seek_time(clock);
            m.sides[0] = s;
            m.after_move();
            m.status = format!("forked: {label} on {name}; w writes it as a scenario");
            m.forked = Some(label);
        }
        Err(e) => m.status = format!("cannot fork: {e}"),
    }
}

fn act(m: &mut App, a: Action) -> Vec<Cmd> {
    let c = m.sides[0].replay.cursor();
    let total = m.sides[0].replay.total();
    match a {
        Action::Quit => m.quit = true,
        Action::Help => m.overlay = Overlay::Help,
        Action::Close => {
            m.overlay = Overlay::None;
            m.filter.clear();
            m.apply_filter();
        }
        Action::PlayPause => {
            if !m.playing && m.sides[0].now() >= m.play_end() {
                m.seek(0);
            }
            m.playing = !m.playing;
            m.carry_us = 0;
        }
        Action::Faster => speed(m, 1),
        Action::Slower => speed(m, -1),
        Action::StepForward => m.seek(c + 1),
        Action::StepBack => m.seek(c.saturating_sub(1)),
        Action::JumpForward | Action::JumpBack => {
            let end = m.sides[0].replay.end_time().as_us();
            let now = m.sides[0].now().as_us();
            let d = (end / 50).max(1);
            let t = if a == Action::JumpForward {
                now.saturating_add(d)
            } else {
                now.saturating_sub(d)
            };
            m.seek_time(Time(t));
        }
        Action::Start => m.seek(0),
        Action::End => m.seek(total),
        Action::NextMarker => m.jump(None, true),
        Action::PrevMarker => m.jump(None, false),
        Action::NextFault => m.jump(Some(MarkerKind::Fault), true),
        Action::PrevFault => m.jump(Some(MarkerKind::Fault), false),
        Action::NextLeader => m.jump(Some(MarkerKind::LeaderChange), true),
        Action::PrevLeader => m.jump(Some(MarkerKind::LeaderChange), false),
        Action::NextNote => m.jump(Some(MarkerKind::Note), true),
        Action::PrevNote => m.jump(Some(MarkerKind::Note), false),
        Action::NextAnomaly => m.jump(Some(MarkerKind::Anomaly), true),
        Action::PrevAnomaly => m.jump(Some(MarkerKind::Anomaly), false),
        Action::NextTruncation => m.jump(Some(MarkerKind::Truncation), true),
        Action::PrevTruncation => m.jump(Some(MarkerKind::Truncation), false),
        Action::NextRebalance => m.jump(Some(MarkerKind::Rebalance), true),
        Action::PrevRebalance => m.jump(Some(MarkerKind::Rebalance), false),
        Action::NextPane => m.focus = 1 - m.focus.min(1),
        Action::Up => m.selected = m.selected.saturating_sub(1),
        Action::Down => m.selected = m.selected.saturating_add(1).min(1_000_000),
        Action::Enter => enter(m),
        Action::Filter => m.overlay = Overlay::Filter,
        Action::WhatIf => {
            let target = m
                .selected
                .min(m.sides[0].snapshot.nodes.len().saturating_sub(1));
            m.overlay = Overlay::WhatIf { item: 0, target };
        }
        Action::Write => return write(m),
        Action::Show(v) => {
            m.view = v;
            m.selected = 0;
            m.focus = 0;
        }
    }
    Vec::new()
}

fn speed(m: &mut App, dir: i32) {
    let i = SPEEDS.iter().position(|s| *s >= m.speed_us).unwrap_or(0);
    let j = if dir > 0 {
        (i + 1).min(SPEEDS.len() - 1)
    } else {
        i.saturating_sub(1)
    };
    m.speed_us = SPEEDS[j];
    m.status = format!("speed: {} of simulated time per second", Time(m.speed_us));
}

/// Enter: in the anomalies view tell the selected one's story (a list of steps to jump
/// to), in the event log jump to the line, elsewhere list the markers folded at the cursor.
fn enter(m: &mut App) {
    let log_focused = m.view == View::Log || (m.focus == 1 && views::two_panes(m));
    if m.view == View::Anomalies && !log_focused {
        if let Some(i) = m.selected_anomaly() {
            m.sides[0].explain(i);
            // The loss first: Enter again jumps to the moment the record was lost.
            let sel = m.sides[0].story(i).and_then(|s| s.loss).unwrap_or(0);
            m.overlay = Overlay::Story { anomaly: i, sel };
        }
    } else if log_focused {
        let target = m.filtered_log(0).get(m.selected).map(|l| l.event);
        if let Some(e) = target {
            m.seek(e);
        }
    } else {
        let items = m.markers_here();
        if items.is_empty() {
            m.status = "no marker at the cursor: ] jumps to the next one".to_string();
        } else {
            m.overlay = Overlay::Markers { items, sel: 0 };
        }
    }
}

fn write(m: &mut App) -> Vec<Cmd> {
    let side = &m.sides[0];
    if m.forked.is_none() {
        m.status = "nothing to write: inject a fault first with x".to_string();
        return Vec::new();
    }
    let slug: String = side
        .scenario
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let slug = slug
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let path = format!("{slug}-whatif-{}.toml", side.now().as_us());
    let mut scenario = side.scenario.clone();
    scenario.seed = side.seed;
    scenario.name = format!("{} (what-if)", scenario.name);
    m.status = format!("wrote {path}");
    vec![Cmd::WriteFile {
        path,
        text: scenario.to_toml(),
    }]
}
