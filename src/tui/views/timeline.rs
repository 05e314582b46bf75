//! Timeline: the whole run as a bar, with a row of markers above it (F fault, L leader
//! change, ! anomaly, N note, R rebalance, T truncation) and the cursor. Click to seek.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, dim, warn};
use crate::sim::Time;
use crate::tui::app::{App, Side};
use crate::view_model::{Marker, MarkerKind};

pub fn render(f: &mut Frame, area: Rect, m: &App) {
    let width = area.width.saturating_sub(2) as usize;
    if width < 4 {
        return;
    }
    let end = m
        .sides
        .iter()
        .map(|s| s.replay.end_time().as_us())
        .max()
        .unwrap_or(1)
        .max(1);
    let col = |t: Time| ((t.as_us().min(end) as u128 * (width as u128 - 1)) / end as u128) as usize;
    let mut lines = Vec::new();
    for (i, s) in m.sides.iter().enumerate() {
        lines.push(marker_row(s, width, &col, m.sides.len() > 1, i));
    }
    lines.push(bar(m.main(), width, &col));
    let mid = format!("{}", Time(end / 2));
    let endl = format!("{}", Time(end));
    let gap = width.saturating_sub(2 + mid.len() + endl.len()) / 2;
    let gap2 = width.saturating_sub(2 + mid.len() + endl.len() + gap);
    lines.push(Line::styled(
        format!(" 0{}{}{}{}", " ".repeat(gap), mid, " ".repeat(gap2), endl),
        dim(),
    ));
    f.render_widget(Paragraph::new(lines), area);
}

fn glyph_style(k: MarkerKind) -> Style {
    match k {
        MarkerKind::Fault | MarkerKind::Anomaly | MarkerKind::Truncation => bad(),
        MarkerKind::LeaderChange | MarkerKind::Rebalance => warn(),
        MarkerKind::Note => accent(),
    }
}

fn marker_row(
    s: &Side,
    width: usize,
    col: &dyn Fn(Time) -> usize,
    labelled: bool,
    i: usize,
) -> Line<'static> {
    let mut cells: Vec<Option<&Marker>> = vec![None; width];
    for mk in s.replay.markers() {
        let c = col(mk.time).min(width - 1);
        // Keep the most important marker in a crowded cell (anomaly > fault > …).
        let rank = |k: MarkerKind| match k {
            MarkerKind::Anomaly => 0,
            MarkerKind::Fault => 1,
            MarkerKind::Truncation => 2,
            MarkerKind::LeaderChange => 3,
            MarkerKind::Note => 4,
            MarkerKind::Rebalance => 5,
        };
        if cells[c].is_none_or(|o| rank(mk.kind) < rank(o.kind)) {
            cells[c] = Some(mk);
        }
    }
    let mut spans = vec![Span::raw(if labelled {
        if i == 0 {
            "A"
        } else {
            "B"
        }
    } else {
        " "
    })];
    for c in cells {
        match c {
            Some(mk) => spans.push(Span::styled(
                mk.kind.glyph().to_string(),
                glyph_style(mk.kind),
            )),
            None => spans.push(Span::raw(" ")),
        }
    }
    Line::from(spans)
}

fn bar(s: &Side, width: usize, col: &dyn Fn(Time) -> usize) -> Line<'static> {
    let cur = col(s.now()).min(width - 1);
    let done = "━".repeat(cur);
    let rest = "─".repeat(width - 1 - cur);
    Line::from(vec![
        Span::raw(" "),
        Span::styled(done, accent()),
        Span::styled("●", accent().add_modifier(Modifier::REVERSED)),
        Span::styled(rest, dim()),
    ])
}
