//! The keymap: one table that drives both key handling and the `?` help screen, so the help
//! can never disagree with what the keys do.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::View;

/// Something the user asks for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Close,
    PlayPause,
    Faster,
    Slower,
    StepForward,
    StepBack,
    JumpForward,
    JumpBack,
    Start,
    End,
    NextMarker,
    PrevMarker,
    NextFault,
    PrevFault,
    NextLeader,
    PrevLeader,
    NextNote,
    PrevNote,
    NextAnomaly,
    PrevAnomaly,
    NextTruncation,
    PrevTruncation,
    NextRebalance,
    PrevRebalance,
    NextPane,
    Up,
    Down,
    Enter,
    Filter,
    WhatIf,
    Write,
    Show(View),
}

/// A key as the table names it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    Tab,
    BackTab,
    Enter,
    Esc,
}

impl Key {
    pub fn matches(self, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        match (self, ev.code) {
            (Key::Ctrl(c), KeyCode::Char(k)) => ctrl && k.eq_ignore_ascii_case(&c),
            (Key::Char(c), KeyCode::Char(k)) => !ctrl && k == c,
            (Key::Left, KeyCode::Left) => true,
            (Key::Right, KeyCode::Right) => true,
            (Key::Up, KeyCode::Up) => true,
            (Key::Down, KeyCode::Down) => true,
            (Key::Home, KeyCode::Home) => true,
            (Key::End, KeyCode::End) => true,
            (Key::PageUp, KeyCode::PageUp) => true,
            (Key::PageDown, KeyCode::PageDown) => true,
            (Key::Tab, KeyCode::Tab) => true,
            (Key::BackTab, KeyCode::BackTab) => true,
            (Key::Enter, KeyCode::Enter) => true,
            (Key::Esc, KeyCode::Esc) => true,
            _ => false,
        }
    }

    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "Space".to_string(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{c}"),
            Key::Left => "←".to_string(),
            Key::Right => "→".to_string(),
            Key::Up => "↑".to_string(),
            Key::Down => "↓".to_string(),
            Key::Home => "Home".to_string(),
            Key::End => "End".to_string(),
            Key::PageUp => "PgUp".to_string(),
            Key::PageDown => "PgDn".to_string(),
            Key::Tab => "Tab".to_string(),
            Key::BackTab => "S-Tab".to_string(),
            Key::Enter => "Enter".to_string(),
            Key::Esc => "Esc".to_string(),
        }
    }
}

/// One row of the keymap.
pub struct Binding {
    pub keys: &'static [Key],
    pub action: Action,
    pub help: &'static str,
}

const fn b(keys: &'static [Key], action: Action, help: &'static str) -> Binding {
    Binding { keys, action, help }
}

use Key::*;

/// The keymap, in the order the help lists it.
pub const KEYMAP: &[Binding] = &[
    b(&[Char('?')], Action::Help, "help (this screen)"),
    b(&[Char('q'), Ctrl('c')], Action::Quit, "quit"),
    b(&[Esc], Action::Close, "close popup / clear filter"),
    b(&[Char(' ')], Action::PlayPause, "play / pause"),
    b(
        &[Char('+'), Char('=')],
        Action::Faster,
        "faster (sim time per second)",
    ),
    b(&[Char('-')], Action::Slower, "slower"),
    b(
        &[Right, Char('l')],
        Action::StepForward,
        "step one event forward",
    ),
    b(&[Left, Char('h')], Action::StepBack, "step one event back"),
    b(
        &[PageDown, Char('L')],
        Action::JumpForward,
        "jump 1/50 of the run ahead",
    ),
    b(
        &[PageUp, Char('H')],
        Action::JumpBack,
        "jump 1/50 of the run back",
    ),
    b(&[Home, Char('g')], Action::Start, "go to start"),
    b(&[End, Char('G')], Action::End, "go to end"),
    b(
        &[Char(']')],
        Action::NextMarker,
        "next / prev. marker group",
    ),
    b(&[Char('[')], Action::PrevMarker, ""),
    b(&[Char('f')], Action::NextFault, "next / previous fault"),
    b(&[Char('F')], Action::PrevFault, ""),
    b(&[Char('e')], Action::NextLeader, "next / previous election"),
    b(&[Char('E')], Action::PrevLeader, ""),
    b(
        &[Char('t')],
        Action::NextTruncation,
        "next / previous truncation",
    ),
    b(&[Char('T')], Action::PrevTruncation, ""),
    b(&[Char('n')], Action::NextNote, "next / previous note"),
    b(&[Char('N')], Action::PrevNote, ""),
    b(&[Char('a')], Action::NextAnomaly, "next / previous anomaly"),
    b(&[Char('A')], Action::PrevAnomaly, ""),
    b(
        &[Char('r')],
        Action::NextRebalance,
        "next / previous rebalance",
    ),
    b(&[Char('R')], Action::PrevRebalance, ""),
    b(&[Tab, BackTab], Action::NextPane, "switch pane"),
    b(&[Up, Char('k')], Action::Up, "select up / scroll"),
    b(&[Down, Char('j')], Action::Down, "select down / scroll"),
    b(&[Enter], Action::Enter, "markers here / why / jump"),
    b(
        &[Char('/')],
        Action::Filter,
        "filter the event log (node, kind) or the partitions (orders-7, under, b3)",
    ),
    b(&[Char('x')], Action::WhatIf, "what-if: inject a fault here"),
    b(&[Char('w')], Action::Write, "write what-if as a scenario"),
    b(&[Char('1')], Action::Show(View::Cluster), "view: cluster"),
    b(
        &[Char('2')],
        Action::Show(View::Partitions),
        "view: partitions",
    ),
    b(&[Char('3')], Action::Show(View::Clients), "view: clients"),
    b(&[Char('4')], Action::Show(View::Flow), "view: message flow"),
    b(&[Char('5')], Action::Show(View::Log), "view: event log"),
    b(&[Char('6')], Action::Show(View::Charts), "view: charts"),
    b(
        &[Char('7')],
        Action::Show(View::Anomalies),
        "view: anomalies",
    ),
    b(
        &[Char('8')],
        Action::Show(View::Compare),
        "view: compare runs",
    ),
];

/// The action bound to a key, if any.
pub fn action_for(ev: &KeyEvent) -> Option<Action> {
    KEYMAP
        .iter()
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
        .map(|b| b.action)
}

/// Help lines generated from the keymap: (keys, description). A binding without help text
/// shares the line of the one before it (`f F  next / previous fault`).
pub fn help_lines() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for b in KEYMAP {
        let keys: Vec<String> = b.keys.iter().map(|k| k.label()).collect();
        match out.last_mut() {
            Some(last) if b.help.is_empty() => {
                last.0.push(' ');
                last.0.push_str(&keys.join(" "));
            }
            _ => out.push((keys.join(" "), b.help)),
        }
    }
    out
}

/// The timeline's letters, explained (the `?` help and the legend line draw these).
pub const TIMELINE_LEGEND: &str = "Timeline: N note (cyan) · F fault (red) · L leader election (yellow) · T truncation (magenta) · R rebalance (yellow) · ! anomaly (red). !600: 600 markers of one kind folded there. In a shared cell N T L F ! R wins. Enter lists the markers at the cursor.";
