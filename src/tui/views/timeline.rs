//! Timeline: the whole run as a bar with the cursor, rows of markers above it and a legend
//! below. Markers of one kind at nearly the same time are folded into one group
//! (`view_model::fold_markers`), drawn as its letter followed by its count when there is
//! room (`!600`: six hundred anomalies within a few seconds). One run gets two marker rows,
//! so the rare moments that explain it never hide under frequent ones: notes, truncations
//! and elections above; faults, anomalies and rebalances below. In compare mode each run
//! gets one row, and where kinds share a cell the order N T L F ! R decides. A group whose
//! first cell is taken is drawn in the next free cell it spans (it holds markers there
//! too), else in the cell just after or before it, so an election under a note still
//! shows. Click to seek.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, dim, warn};
use crate::sim::Time;
use crate::tui::app::{App, Side};
use crate::view_model::{MarkerGroup, MarkerKind};

/// Lines the timeline takes: marker rows, the bar, the time axis, the legend (in compare
/// mode, where the body needs every row, the legend shares the axis line).
pub fn height(m: &App) -> u16 {
    if m.sides.len() > 1 {
        m.sides.len() as u16 + 2
    } else {
        5
    }
}

/// Marker rows above the bar (the bar is the next line).
pub fn marker_rows(m: &App) -> u16 {
    if m.sides.len() > 1 {
        m.sides.len() as u16
    } else {
        2
    }
}

pub fn render(f: &mut Frame, area: Rect, m: &App) {
    let width = area.width.saturating_sub(2) as usize;
    if width < 4 {
        return;
    }
    let end = m.play_end().as_us().max(1);
    let col = |t: Time| ((t.as_us().min(end) as u128 * (width as u128 - 1)) / end as u128) as usize;
    let mut lines = Vec::new();
    if m.sides.len() > 1 {
        for (i, s) in m.sides.iter().enumerate() {
            let prefix = if i == 0 { "A" } else { "B" };
            lines.push(marker_row(s, width, &col, &MarkerKind::ALL, prefix));
        }
    } else {
        use MarkerKind::*;
        let s = m.main();
        lines.push(marker_row(
            s,
            width,
            &col,
            &[Note, Truncation, LeaderChange],
            " ",
        ));
        lines.push(marker_row(
            s,
            width,
            &col,
            &[Fault, Anomaly, Rebalance],
            " ",
        ));
    }
    lines.push(bar(m.main(), width, &col));
    let mid = format!("{}", Time(end / 2));
    let endl = format!("{}", Time(end));
    if m.sides.len() > 1 {
        // " 0 <legend> … end": the legend where the middle label would be.
        let mut l = legend(width.saturating_sub(3 + endl.len()));
        l.spans.insert(0, Span::styled(" 0", dim()));
        let used: usize = l.spans.iter().map(|s| s.content.chars().count()).sum();
        let pad = (area.width as usize).saturating_sub(used + endl.len() + 1);
        l.spans
            .push(Span::styled(format!("{}{endl}", " ".repeat(pad)), dim()));
        lines.push(l);
    } else {
        let gap = width.saturating_sub(2 + mid.len() + endl.len()) / 2;
        let gap2 = width.saturating_sub(2 + mid.len() + endl.len() + gap);
        lines.push(Line::styled(
            format!(" 0{}{}{}{}", " ".repeat(gap), mid, " ".repeat(gap2), endl),
            dim(),
        ));
        lines.push(legend(area.width as usize));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// The colour of a kind's letter: readable on dark and light terminals (no white/black).
pub fn glyph_style(k: MarkerKind) -> Style {
    match k {
        MarkerKind::Fault | MarkerKind::Anomaly => bad(),
        MarkerKind::Truncation => Style::default()
            .fg(Color::Magenta)
            .add_modifier(Modifier::BOLD),
        MarkerKind::LeaderChange | MarkerKind::Rebalance => warn().add_modifier(Modifier::BOLD),
        MarkerKind::Note => accent(),
    }
}

/// The legend line: each letter in its colour with its word, then how folds read.
fn legend(w: usize) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for k in MarkerKind::ALL {
        let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
        if used + 3 + k.legend().len() > w {
            break;
        }
        spans.push(Span::styled(k.glyph().to_string(), glyph_style(k)));
        spans.push(Span::styled(format!(" {} ", k.legend()), dim()));
    }
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let tail = [
        "· !600 = 600 folded · Enter lists them",
        "· !6 = 6 folded, Enter lists",
        "· !6 = 6 folded",
    ]
    .into_iter()
    .find(|t| used + t.chars().count() <= w);
    if let Some(t) = tail {
        spans.push(Span::styled(t, dim()));
    }
    Line::from(spans)
}

/// One row of marker groups of `kinds`: higher priority first takes its cells.
fn marker_row(
    s: &Side,
    width: usize,
    col: &dyn Fn(Time) -> usize,
    kinds: &[MarkerKind],
    prefix: &str,
) -> Line<'static> {
    let mut groups: Vec<&MarkerGroup> = s
        .replay
        .groups()
        .iter()
        .filter(|g| kinds.contains(&g.kind))
        .collect();
    groups.sort_by_key(|g| (g.kind.priority(), g.first_event));
    let mut cells: Vec<Option<(char, Style)>> = vec![None; width];
    let mut placed: Vec<(usize, usize)> = Vec::new();
    for g in &groups {
        let (a, b) = (col(g.start).min(width - 1), col(g.end).min(width - 1));
        // Its own cells first; when a marker of a higher priority holds them all, the cell
        // just after or just before (one column off beats hiding it).
        let near = [b + 1, a.wrapping_sub(1)]
            .into_iter()
            .filter(|&c| c < width);
        if let Some(c) = (a..=b).chain(near).find(|&c| cells[c].is_none()) {
            cells[c] = Some((g.kind.glyph(), glyph_style(g.kind)));
            placed.push((c, g.count));
        }
    }
    // Counts go after their letter, only into cells nothing else needs.
    for (c, count) in placed {
        if count < 2 {
            continue;
        }
        let digits: Vec<char> = count.to_string().chars().collect();
        let room = (c + 1..c + 1 + digits.len()).all(|x| x < width && cells[x].is_none());
        let next_free = c + 1 + digits.len() >= width || cells[c + 1 + digits.len()].is_none();
        if room && next_free {
            for (i, d) in digits.into_iter().enumerate() {
                cells[c + 1 + i] = Some((d, dim()));
            }
        }
    }
    let mut spans = vec![Span::raw(prefix.to_string())];
    for c in cells {
        match c {
            Some((ch, st)) => spans.push(Span::styled(ch.to_string(), st)),
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
