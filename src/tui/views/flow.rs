//! Message flow: a space-time (Lamport) diagram of the messages around the cursor. One lane
//! per node, time flows down, one row per delivery: `○` where it was sent from, `●` where it
//! arrived, `✗` where it was dropped, `◇` where a clogged link holds it.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, cursor, dim, fit, warn};
use crate::tui::app::{LogLine, Side};

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
        let st = match l.kind {
            "drop" | "fault" => bad(),
            "held" => warn(),
            _ => Style::default(),
        };
        let row = lane_row(l, n, lane_w);
        let row_style = if l.event == c { cursor() } else { st };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<gutter$}", fit(&l.time.to_string(), gutter - 1)),
                dim(),
            ),
            Span::styled(row, row_style),
        ]));
    }
    if msgs.is_empty() {
        lines.push(Line::styled("no messages near the cursor", dim()));
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// One diagram row: a lane per node, the message drawn from its sender's lane to its
/// receiver's, labelled next to the sender.
fn lane_row(l: &LogLine, n: usize, lane_w: usize) -> String {
    let mut row: Vec<char> = vec![' '; n * lane_w];
    let centre = |i: usize| i.min(n - 1) * lane_w + lane_w / 2;
    for i in 0..n {
        row[centre(i)] = '│';
    }
    match l.msg {
        Some((from, to, label)) => {
            let (a, b) = (centre(from.index()), centre(to.index()));
            let (lo, hi) = (a.min(b), a.max(b));
            for cell in row.iter_mut().take(hi).skip(lo + 1) {
                *cell = '─';
            }
            let arrow = if a < b { '→' } else { '←' };
            let text: Vec<char> = format!("{label}{arrow}").chars().collect();
            let room = hi.saturating_sub(lo + 2);
            for (k, ch) in text.iter().take(room).enumerate() {
                row[lo + 1 + k] = *ch;
            }
            row[a] = '○';
            row[b] = match l.kind {
                "drop" => '✗',
                "held" => '◇',
                _ => '●',
            };
        }
        None => {
            for id in &l.nodes {
                let c = centre(id.index());
                row[c] = '*';
            }
            let text = l.text.chars().take(n * lane_w / 2);
            let first = l.nodes.first().map_or(0, |id| centre(id.index()) + 2);
            for (k, ch) in text.enumerate() {
                if let Some(cell) = row.get_mut(first + k) {
                    *cell = ch;
                }
            }
        }
    }
    row.into_iter().collect()
}
