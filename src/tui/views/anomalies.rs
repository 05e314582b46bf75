//! Anomalies: what the checker found (lost acknowledged writes, duplicates, reordering).
//! Enter jumps to the event where the selected one arose.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bad, cursor, dim, fit};
use crate::tui::app::Side;

pub fn render(f: &mut Frame, area: Rect, s: &Side, sel: Option<usize>) {
    let list = s.replay.anomalies();
    let w = area.width as usize;
    if list.is_empty() {
        f.render_widget(
            Paragraph::new(vec![
                Line::raw("No anomalies found in this run."),
                Line::styled(
                    "(lost acknowledged writes, duplicates and reordering appear here)",
                    dim(),
                ),
            ]),
            area,
        );
        return;
    }
    let mut lines = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let mut line = Line::from(vec![
            Span::styled(format!("{:<12} ", fit(&a.kind, 12)), bad()),
            Span::styled(
                format!("{:>9} ev {:<8} ", a.time.to_string(), a.event),
                dim(),
            ),
            Span::raw(fit(&a.description, w.saturating_sub(34))),
        ]);
        if sel.is_some_and(|x| x.min(list.len() - 1) == i) {
            line = line.style(cursor());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), area);
}
