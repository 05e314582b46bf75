//! Popups and the footer: help (generated from the keymap), the what-if menu, the filter
//! prompt, and the current narration note.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{accent, bad, cursor, dim, fit, timeline};
use crate::tui::app::{App, Overlay, WHAT_IF};
use crate::tui::keymap;

/// Key hints for the footer, widest first: the first that fits is shown.
const HINTS: [&str; 3] = [
    "Space play/pause · ←→ step · PgUp/PgDn jump · ] [ marker · f F fault · e E election · t T truncation · n N note · a A anomaly · Enter list/explain · 1-8 views · / filter · x what-if · ? help · q quit",
    "Space play · ←→ step · ] [ marker · f e t n a next fault/election/truncation/note/anomaly · Enter list/explain · 1-8 views · / filter · ? help · q quit",
    "Space play · ←→ step · ] markers · Enter list/why · 1-8 views · ? help · q quit",
];

/// The footer: the status line on the first row, key hints (or the filter prompt) below.
pub fn footer(f: &mut Frame, area: Rect, m: &App) {
    let w = area.width as usize;
    let hint = match m.overlay {
        Overlay::Filter => Line::from(vec![
            Span::styled("filter: ", accent()),
            Span::raw(format!("{}▏", m.filter)),
            Span::styled(
                fit(
                    "  words of event kinds (HighWatermark, drop…), nodes, partitions · Enter keeps · Esc clears",
                    w.saturating_sub(m.filter.chars().count() + 9),
                ),
                dim(),
            ),
        ]),
        _ => {
            let h = HINTS
                .iter()
                .find(|h| h.chars().count() <= w)
                .copied()
                .unwrap_or(HINTS[HINTS.len() - 1]);
            Line::styled(fit(h, w), dim())
        }
    };
    let lines = vec![Line::raw(fit(&m.status, w)), hint];
    f.render_widget(Paragraph::new(lines), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}

pub fn render(f: &mut Frame, screen: Rect, body: Rect, m: &App) {
    match &m.overlay {
        Overlay::Help => help(f, screen),
        Overlay::WhatIf { item, target } => what_if(f, body, m, *item, *target),
        Overlay::Markers { items, sel } => markers(f, screen, m, items, *sel),
        Overlay::Story { anomaly, sel } => story(f, screen, m, *anomaly, *sel),
        _ => {
            let note = m.active_note();
            let start = m.main().replay.cursor() == 0 && m.main().now().as_us() == 0;
            // One run only: in compare mode the body is both runs' figures.
            let one = m.sides.len() == 1;
            if start && one && (m.welcome || m.view == crate::tui::app::View::Cluster) {
                let own = note.map_or(String::new(), |n| format!("{}\n", n.text));
                let text = format!("{own}{}", welcome(m));
                note_box(f, body, &text, " What you see ");
            } else if let Some(n) = note {
                let title = if n.pause {
                    " Note (paused here) "
                } else {
                    " Note "
                };
                note_box(f, body, &n.text, title);
            }
        }
    }
}

/// The opening note, for any scenario: what the screen shows and the keys that matter.
pub fn welcome(m: &App) -> String {
    let sc = &m.main().scenario;
    let q = sc
        .question
        .as_ref()
        .map_or(String::new(), |q| format!("{q}\n"));
    format!(
        "{q}Below: the cluster at t = 0 (views 1-8). Above: the whole run — N note, F fault, \
         L election, T truncation, ! anomaly. Keys: Space plays (stops at notes) · ] next \
         marker, Enter lists it · 7 anomalies, Enter tells why · ? all keys"
    )
}

/// Lines `text` takes wrapped at `w` columns (each paragraph at least one).
fn wrapped_height(text: &str, w: usize) -> usize {
    text.lines().map(|l| wrap(l, w.max(1)).len().max(1)).sum()
}

/// Greedy word wrap (a word longer than the width is cut into pieces).
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > w {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(word.drain(..w).collect());
        }
        let word: String = word.into_iter().collect();
        let need = cur.chars().count() + usize::from(!cur.is_empty()) + word.chars().count();
        if need > w && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The markers folded at the cursor: pick one, Enter jumps there.
fn markers(f: &mut Frame, screen: Rect, m: &App, items: &[usize], sel: usize) {
    let r = &m.main().replay;
    let w = screen.width.saturating_sub(2).min(100);
    let rows = (screen.height.saturating_sub(4) as usize)
        .min(items.len())
        .max(1);
    let start = sel.saturating_sub(rows - 1);
    let inner = w.saturating_sub(2) as usize;
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(start)
        .take(rows)
        .filter_map(|(i, &k)| {
            let mk = r.markers().get(k)?;
            let line = Line::from(vec![
                Span::styled(format!("{:>9} ", mk.time.to_string()), dim()),
                Span::styled(mk.kind.glyph().to_string(), timeline::glyph_style(mk.kind)),
                Span::raw(format!(" {}", fit(&mk.label, inner.saturating_sub(12)))),
            ]);
            Some(if i == sel { line.style(cursor()) } else { line })
        })
        .collect();
    let title = format!(
        " {} markers here · {}/{} · ↑↓ Enter jumps · Esc ",
        items.len(),
        sel + 1,
        items.len()
    );
    let area = centered(screen, w, rows as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(accent())
        .title(fit(&title, inner));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The story of an anomaly, whole: each step wrapped, the selected one highlighted.
fn story(f: &mut Frame, screen: Rect, m: &App, anomaly: usize, sel: usize) {
    let side = m.main();
    let (Some(a), Some(st)) = (side.replay.anomalies().get(anomaly), side.story(anomaly)) else {
        return;
    };
    let w = screen.width.saturating_sub(2).min(110);
    let inner = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = wrap(&a.description, inner)
        .into_iter()
        .map(|l| Line::styled(l, bad()))
        .collect();
    for (i, step) in st.steps.iter().enumerate() {
        let when = step.time.map_or("?".to_string(), |t| t.to_string());
        let tag = if st.loss == Some(i) {
            "LOST "
        } else if step.kind == crate::view_model::story::StepKind::Unknown {
            "unknown: "
        } else {
            ""
        };
        let head = format!("{} {:>9} ", i + 1, when);
        let body = wrap(
            &format!("{tag}{}", step.text),
            inner.saturating_sub(12).max(8),
        );
        for (j, part) in body.into_iter().enumerate() {
            let lead = if j == 0 { head.clone() } else { " ".repeat(12) };
            let mut line = Line::from(vec![Span::styled(lead, dim()), Span::raw(part)]);
            if i == sel {
                line = line.style(cursor());
            }
            lines.push(line);
        }
    }
    let title = format!(" Why: {} · ↑↓ or 1-9, Enter jumps · Esc ", a.kind);
    let h = (lines.len() as u16 + 2).min(screen.height);
    let area = centered(screen, w, h);
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(accent())
        .title(fit(&title, inner));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn help(f: &mut Frame, screen: Rect) {
    let lines: Vec<(String, &str)> = keymap::help_lines();
    let two_cols = screen.width >= 76;
    let cols = if two_cols { 2 } else { 1 };
    let rows = lines.len().div_ceil(cols);
    let colw = ((screen.width as usize).saturating_sub(2) / cols).min(48);
    let dw = colw.saturating_sub(10);
    let mut out = Vec::new();
    for r in 0..rows {
        let mut spans = Vec::new();
        for c in 0..cols {
            if let Some((k, d)) = lines.get(c * rows + r) {
                spans.push(Span::styled(format!("{:<10}", fit(k, 10)), accent()));
                spans.push(Span::raw(format!("{:<dw$}", fit(d, dw))));
            }
        }
        out.push(Line::from(spans));
    }
    let legend = wrap(keymap::TIMELINE_LEGEND, cols * colw);
    out.extend(legend.into_iter().map(|l| Line::styled(l, dim())));
    let area = centered(screen, (cols * colw) as u16 + 2, out.len() as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys (any key closes) ");
    f.render_widget(Paragraph::new(out).block(block), area);
}

fn what_if(f: &mut Frame, body: Rect, m: &App, item: usize, target: usize) {
    let nodes = &m.main().snapshot.nodes;
    let tname = nodes.get(target).map_or("-", |n| n.name.as_str());
    let mut lines = vec![
        Line::raw(format!("At t = {} inject:", m.main().now())),
        Line::from(vec![
            Span::raw("target ← → : "),
            Span::styled(format!("◀ {tname} ▶"), accent()),
        ]),
        Line::raw(""),
    ];
    for (i, a) in WHAT_IF.iter().enumerate() {
        let st = if i == item {
            cursor()
        } else {
            Default::default()
        };
        lines.push(Line::styled(format!("  {a:<12}"), st));
    }
    lines.push(Line::styled("Enter replays with it · Esc cancels", dim()));
    let area = centered(body, 40, lines.len() as u16 + 2);
    f.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(" What if… ");
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn note_box(f: &mut Frame, body: Rect, text: &str, title: &str) {
    let lines = wrapped_height(text, body.width.saturating_sub(4) as usize) as u16;
    let h = (lines + 2).min(body.height.saturating_sub(1)).max(3);
    let area = Rect {
        x: body.x + 1,
        y: body.y + body.height.saturating_sub(h + 1),
        width: body.width.saturating_sub(2),
        height: h,
    };
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(accent())
        .title(title);
    f.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: true })
            .block(block),
        area,
    );
}
