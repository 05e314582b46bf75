//! Helpers the workbench tests share: the ping-faults model, keys in, screens out.
#![allow(dead_code)] // each test file uses its own subset

use kafkasim::scenario::parse;
use kafkasim::tui::app::{update, App, Cmd, Msg};
use kafkasim::tui::{self, views, TuiArgs};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

/// The kernel-only scenario most model tests use (fast, and its faults are well known).
pub const PING_FAULTS: &str = include_str!("../../scenarios/ping-faults.toml");

pub fn ping_faults() -> kafkasim::scenario::Scenario {
    parse(PING_FAULTS, "ping-faults.toml").expect("parses")
}

pub fn scenario_model(file: &str, text: &str) -> App {
    tui::app(TuiArgs {
        scenario: parse(text, file).expect("parses"),
        seed: None,
        compare: None,
    })
    .expect("builds")
}

pub fn faults_model() -> App {
    tui::app(TuiArgs {
        scenario: ping_faults(),
        seed: None,
        compare: None,
    })
    .expect("default scenario builds")
}

pub fn key(m: &mut App, code: KeyCode) -> Vec<Cmd> {
    update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

pub fn ch(m: &mut App, c: char) -> Vec<Cmd> {
    key(m, KeyCode::Char(c))
}

/// The screen as text lines.
pub fn screen(m: &mut App, w: u16, h: u16) -> String {
    update(m, Msg::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| views::render(f, m)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

pub fn text_has(screen: &str, needle: &str) -> bool {
    screen.contains(needle)
}
