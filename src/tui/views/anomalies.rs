//! Anomalies: `kafkasim check`'s verdict on the whole run — the same liveness check, drain
//! phase and history analysis the CLI runs — so the workbench and `check` never disagree.
//! The first line says so and counts them by kind; Enter jumps to the event where the
//! selected one arose (one found in the drain, after the run, jumps to the run's end).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::compare::verdict_text;
use super::{accent, bad, cursor, dim, fit};
use crate::runner::DRAIN_US;
use crate::tui::app::Side;

pub fn render(f: &mut Frame, area: Rect, s: &Side, sel: Option<usize>) {
    let list = s.replay.anomalies();
    let w = area.width as usize;
    let total = s.replay.total();
    let drain = if s.scenario.cluster.is_some() {
        format!(
            ", judged after a drain phase of {} s or more",
            DRAIN_US / 1_000_000
        )
    } else {
        String::new()
    };
    let head = format!("kafkasim check's verdict on the whole run{drain}:");
    let mut lines = vec![
        Line::styled(fit(&head, w), dim()),
        Line::styled(
            fit(&format!("total: {}", verdict_text(s)), w),
            if list.is_empty() { accent() } else { bad() },
        ),
    ];
    if list.is_empty() {
        lines.push(Line::styled(
            "(lost acknowledged writes, duplicates and reordering appear here)",
            dim(),
        ));
    }
    let rows = (area.height as usize).saturating_sub(2).max(1);
    let chosen = sel.map(|x| x.min(list.len().saturating_sub(1)));
    let start = chosen.map_or(0, |c| c.saturating_sub(rows - 1));
    for (i, a) in list.iter().enumerate().skip(start).take(rows) {
        let when = if a.event > total {
            format!("{:>9} drain    ", a.time.to_string())
        } else {
            format!("{:>9} ev {:<6}", a.time.to_string(), a.event)
        };
        let mut line = Line::from(vec![
            Span::styled(format!("{:<12} ", fit(&a.kind, 12)), bad()),
            Span::styled(format!("{} ", fit(&when, 19)), dim()),
            Span::raw(fit(&a.description, w.saturating_sub(33))),
        ]);
        if chosen == Some(i) {
            line = line.style(cursor());
        }
        lines.push(line);
    }
    f.render_widget(Paragraph::new(lines), area);
}
