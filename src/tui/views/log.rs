//! Event log: the trace around the cursor, each event with its plain-language explanation.
//! `/` filters the whole run (through the replay's search index) by names: event kinds in
//! Kafka's words (`HighWatermark`, `LeaderElected`), record kinds (`drop`, `fault`), nodes
//! (`broker-2`), partitions (`orders-0`); the title says how many records match, and the
//! matches nearest the cursor are listed.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{bad, cursor, dim, fit, warn};
use crate::tui::app::App;

pub fn render(f: &mut Frame, area: Rect, m: &App, side: usize, sel: Option<usize>) {
    let s = &m.sides[side];
    let lines_all = m.filtered_log(side);
    let mut out = Vec::new();
    if !m.filter.trim().is_empty() {
        let words: Vec<String> = m
            .filter
            .split_whitespace()
            .map(|wd| {
                let names = s.replay.index().names_matching(wd);
                let shown: Vec<&str> = names.iter().take(6).copied().collect();
                let more = names.len().saturating_sub(shown.len());
                match (shown.is_empty(), more) {
                    (true, _) => format!("`{wd}` finds no name"),
                    (false, 0) => format!("`{wd}` finds {}", shown.join(", ")),
                    (false, n) => format!("`{wd}` finds {} and {n} more", shown.join(", ")),
                }
            })
            .collect();
        out.push(Line::styled(
            fit(&words.join("; "), area.width as usize),
            dim(),
        ));
    }
    let rows = (area.height as usize).saturating_sub(out.len());
    let w = area.width as usize;
    let c = s.replay.cursor();
    let at = lines_all
        .iter()
        .position(|l| l.event >= c)
        .unwrap_or(lines_all.len());
    // With a selection, the selected line is kept on screen; otherwise the cursor is centred.
    let focus = sel
        .filter(|x| *x > 0)
        .map_or(at, |x| x.min(lines_all.len().saturating_sub(1)));
    let start = focus
        .saturating_sub(rows / 2)
        .min(lines_all.len().saturating_sub(rows));
    for (i, l) in lines_all.iter().enumerate().skip(start).take(rows) {
        let st = match l.kind {
            "fault" | "drop" => bad(),
            "held" | "timer" => warn(),
            _ => Style::default(),
        };
        let mut line = Line::from(vec![
            Span::styled(
                format!("{:>7} {:>9} ", l.event, fit(&l.time.to_string(), 9)),
                dim(),
            ),
            Span::styled(fit(&l.text, w.saturating_sub(18)), st),
        ]);
        if l.event == c || sel.is_some_and(|x| x > 0 && x == i) {
            line = line.style(cursor());
        }
        out.push(line);
    }
    if lines_all.is_empty() {
        let msg = if m.filter.is_empty() {
            "no events near the cursor"
        } else {
            "no record of the whole run matches the filter"
        };
        out.push(Line::styled(msg, dim()));
    }
    f.render_widget(Paragraph::new(out), area);
}
