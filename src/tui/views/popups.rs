//! Popups and the footer: help (generated from the keymap), the what-if menu, the filter
//! prompt, and the current narration note.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{accent, cursor, dim, fit};
use crate::tui::app::{App, Overlay, WHAT_IF};
use crate::tui::keymap;

/// Key hints for the footer, widest first: the first that fits is shown.
const HINTS: [&str; 3] = [
    "Space play/pause · ←→ step · PgUp/PgDn jump · [ ] marker · f F fault · e E election · n N note · a A anomaly · 1-8 views · / filter · x what-if · ? help · q quit",
    "Space play · ←→ step · [ ] marker · f e n a next fault/election/note/anomaly · 1-8 views · / filter · ? help · q quit",
    "Space play · ←→ step · [ ] markers · 1-8 views · / filter · ? help · q quit",
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
        _ => {
            if let Some(note) = m.active_note() {
                note_box(f, body, &note.text, note.pause);
            }
        }
    }
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
    let area = centered(screen, (cols * colw) as u16 + 2, rows as u16 + 2);
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

fn note_box(f: &mut Frame, body: Rect, text: &str, pause: bool) {
    let h = (text.len() as u16 / body.width.saturating_sub(4).max(1) + 3)
        .min(body.height / 2)
        .max(3);
    let area = Rect {
        x: body.x + 1,
        y: body.y + body.height.saturating_sub(h + 1),
        width: body.width.saturating_sub(2),
        height: h,
    };
    f.render_widget(Clear, area);
    let title = if pause {
        " Note (paused here) "
    } else {
        " Note "
    };
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
