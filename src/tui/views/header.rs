//! Header: which scenario and seed, where the cursor is (time and event), speed and play state.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, dim, fit};
use crate::sim::Time;
use crate::tui::app::App;

pub fn render(f: &mut Frame, area: Rect, m: &App) {
    let s = m.main();
    let w = area.width as usize;
    let names: Vec<String> = m
        .sides
        .iter()
        .map(|s| format!("{} (seed {})", s.scenario.name, s.seed))
        .collect();
    let title = format!("kafkasim · {}", names.join("  vs  "));
    let play = if m.playing {
        "▶ playing"
    } else {
        "⏸ paused"
    };
    let right = format!("{play} · {}/s ", Time(m.speed_us));
    let left_w = w.saturating_sub(right.chars().count() + 1);
    let line1 = Line::from(vec![
        Span::styled(format!("{:<left_w$}", fit(&title, left_w)), accent()),
        Span::raw(" "),
        Span::raw(right),
    ]);
    let mut pos = format!(
        "t = {} of {}   event {} of {}",
        s.now(),
        s.replay.end_time(),
        s.replay.cursor(),
        s.replay.total()
    );
    if let Some(fk) = &m.forked {
        pos.push_str(&format!("   what-if: {fk}"));
    }
    let line2 = Line::from(vec![
        Span::raw(fit(&pos, w.saturating_sub(12))),
        Span::styled("   ? help", dim()),
    ]);
    f.render_widget(Paragraph::new(vec![line1, line2]), area);
}
