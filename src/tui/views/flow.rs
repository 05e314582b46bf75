//! Message flow: a space-time (Lamport) diagram of the messages around the cursor. One lane
//! per node, time flows down, one row per delivery: `○` where it was sent from, `●` where it
//! arrived, `✗` where it was dropped, `◇` where a clogged link holds it.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, cursor, dim, fit, warn};
use crate::tui::app::Side;

pub fn render(f: &mut Frame, area: Rect, s: &Side) {
    let names = s.replay.names();
    let n = names.len().max(1);
    let gutter = 9usize;
    let lane_w = ((area.width as usize).saturating_sub(gutter) / n).clamp(3, 16);
    let mut head = vec![Span::raw(format!("{:<gutter$}", "time"))];
    for name in names {
        head.push(Span::styled(
            format!("{:<lane_w$}", fit(name, lane_w - 1)),
            accent(),
        ));
    }
    let rows = (area.height as usize).saturating_sub(1);
    let msgs: Vec<_> = s
        .log
        .iter()
        .filter(|l| l.msg.is_some() || l.kind == "fault")
        .collect();
    let c = s.replay.cursor();
    let at = msgs.iter().position(|l| l.event >= c).unwrap_or(msgs.len());
    let start = at
        .saturating_sub(rows / 2)
        .min(msgs.len().saturating_sub(rows));
    let mut lines = vec![Line::from(head)];
    for l in msgs.iter().skip(start).take(rows) {
        let mut cells: Vec<(String, Style)> = vec![(" ".repeat(lane_w), Style::default()); n];
        let st = match l.kind {
            "drop" => bad(),
            "held" => warn(),
            "fault" => bad(),
            _ => Style::default(),
        };
        if let Some((from, to, label)) = l.msg {
            let (a, b) = (from.index().min(n - 1), to.index().min(n - 1));
            let (lo, hi) = (a.min(b), a.max(b));
            for cell in cells.iter_mut().take(hi).skip(lo + 1) {
                *cell = ("─".repeat(lane_w), st);
            }
            let end_mark = match l.kind {
                "drop" => "✗",
                "held" => "◇",
                _ => "●",
            };
            let arrow = if a < b { "→" } else { "←" };
            let text = format!("{label}{arrow}");
            let lead = |m: &str, fill: bool| {
                let body = if fill {
                    fit(&format!("{m}{}", "─".repeat(lane_w)), lane_w)
                } else {
                    format!("{m:<lane_w$}")
                };
                body.chars().take(lane_w).collect::<String>()
            };
            cells[a] = (lead("○", a < b), st);
            cells[b] = (lead(end_mark, b < a), st);
            let mid = (lo + 1).min(hi);
            if hi > lo && mid < hi {
                cells[mid] = (format!("{:─<lane_w$}", fit(&text, lane_w)), st);
            } else if hi > lo {
                cells[lo] = (
                    format!("{:─<lane_w$}", fit(&format!("○{text}"), lane_w)),
                    st,
                );
                if a > b {
                    cells[lo] = (
                        format!("{:─<lane_w$}", fit(&format!("{end_mark}{text}"), lane_w)),
                        st,
                    );
                }
            }
        } else {
            for id in &l.nodes {
                if let Some(cell) = cells.get_mut(id.index()) {
                    *cell = (format!("{:<lane_w$}", "⚡FAULT"), bad());
                }
            }
        }
        let row_style = if l.event == c {
            cursor()
        } else {
            Style::default()
        };
        let mut spans = vec![Span::styled(
            format!("{:<gutter$}", fit(&l.time.to_string(), gutter - 1)),
            dim(),
        )];
        spans.extend(cells.into_iter().map(|(t, s)| Span::styled(t, s)));
        lines.push(Line::from(spans).style(row_style));
    }
    if msgs.is_empty() {
        lines.push(Line::styled("no messages near the cursor", dim()));
    }
    f.render_widget(Paragraph::new(lines), area);
}
