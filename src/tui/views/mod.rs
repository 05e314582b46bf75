//! Drawing. The layout is split once here and each view draws its area from the read-only
//! model. Nothing here changes state, so any frame can be drawn into a `TestBackend`.
//!
//! Layout, top to bottom: header (2 lines), timeline (5 lines: marker rows, bar, time
//! axis, legend), body, footer (2 lines: the status, then key hints).
//! The body shows the selected view; from 150 columns on, the event log sits beside it.
//! In compare mode every view is drawn once per run, side by side.

mod anomalies;
mod charts;
mod clients;
pub mod cluster;
mod compare;
mod flow;
mod header;
mod log;
pub mod partitions;
mod popups;
mod timeline;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use super::app::{App, View};

/// The areas of the screen.
#[derive(Clone, Copy, Debug, Default)]
pub struct Areas {
    pub header: Rect,
    pub timeline: Rect,
    /// The bar of the timeline (clicks there seek).
    pub timeline_bar: Rect,
    pub body: Rect,
    pub footer: Rect,
}

/// Whether the body has room for the view and the event log side by side.
pub fn two_panes(m: &App) -> bool {
    m.size.0 >= 150 && m.sides.len() == 1 && m.view != View::Log
}

/// Splits the screen.
pub fn areas(area: Rect, m: &App) -> Areas {
    let tl = timeline::height(m);
    let [header, timeline, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(tl),
        Constraint::Min(3),
        Constraint::Length(2),
    ])
    .areas(area);
    let bar = Rect {
        x: timeline.x + 1,
        y: timeline.y,
        width: timeline.width.saturating_sub(2),
        height: (timeline::marker_rows(m) + 1).min(timeline.height),
    };
    Areas {
        header,
        timeline,
        timeline_bar: bar,
        body,
        footer,
    }
}

/// Draws the whole screen.
pub fn render(f: &mut Frame, m: &App) {
    let a = areas(f.area(), m);
    header::render(f, a.header, m);
    timeline::render(f, a.timeline, m);
    body(f, a.body, m);
    popups::footer(f, a.footer, m);
    popups::render(f, f.area(), a.body, m);
}

fn body(f: &mut Frame, area: Rect, m: &App) {
    if m.view == View::Compare {
        view(f, area, m, 0, View::Compare, true);
        return;
    }
    if m.sides.len() > 1 {
        let cols =
            Layout::horizontal([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)]).split(area);
        for (i, c) in cols.iter().enumerate() {
            view(f, *c, m, i, m.view, i == 0);
        }
        return;
    }
    if two_panes(m) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(area);
        view(f, left, m, 0, m.view, m.focus == 0);
        view(f, right, m, 0, View::Log, m.focus == 1);
    } else {
        view(f, area, m, 0, m.view, true);
    }
}

/// Draws one view of run `side` in a titled box.
fn view(f: &mut Frame, area: Rect, m: &App, side: usize, v: View, focused: bool) {
    let s = &m.sides[side];
    let mut title = format!(" {} ", v.title());
    if m.sides.len() > 1 && v != View::Compare {
        title = format!(" {} · {} ", v.title(), s.label);
    }
    if v == View::Log && !m.filter.is_empty() {
        let n = m.filter_matches(side).unwrap_or(0);
        title.push_str(&format!(
            "[filter: {} · {n} match{} in the whole run] ",
            m.filter,
            if n == 1 { "" } else { "es" }
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(if focused { accent() } else { dim() });
    let inner = block.inner(area);
    f.render_widget(block, area);
    let sel = if focused { Some(m.selected) } else { None };
    match v {
        View::Cluster => cluster::render(f, inner, s, sel),
        View::Partitions => partitions::render(f, inner, s, m.selected, &m.filter),
        View::Clients => clients::render(f, inner, s),
        View::Flow => flow::render(f, inner, s),
        View::Log => log::render(f, inner, m, side, sel),
        View::Charts => charts::render(f, inner, s),
        View::Anomalies => anomalies::render(f, inner, s, sel),
        View::Compare => compare::render(f, inner, m),
    }
}

/// Highlight for the focused box and headings (bold cyan: readable on dark and light).
pub fn accent() -> Style {
    Style::default()
        .fg(Color::Cyan)
        .add_modifier(Modifier::BOLD)
}

/// Secondary text.
pub fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}

/// The cursor line: reversed video works on any theme.
pub fn cursor() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

/// Bad news (faults, drops, killed nodes).
pub fn bad() -> Style {
    Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
}

pub fn good() -> Style {
    Style::default().fg(Color::Green)
}

pub fn warn() -> Style {
    Style::default().fg(Color::Yellow)
}

/// Cuts `s` to `w` characters, with an ellipsis when cut.
pub fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else if w == 0 {
        String::new()
    } else {
        let mut t: String = s.chars().take(w - 1).collect();
        t.push('…');
        t
    }
}
