//! Partitions: Kafka's `--describe` columns (Topic Partition Leader Replicas Isr) plus the
//! leader epoch, and per replica a log bar: records below the high watermark (safe), above
//! it (not yet replicated everywhere it must be), and records truncated away.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, dim, fit, good, warn};
use crate::model::ReplicaLogView;
use crate::tui::app::Side;

pub fn render(f: &mut Frame, area: Rect, s: &Side) {
    let parts = &s.snapshot.partitions;
    let w = area.width as usize;
    if parts.is_empty() {
        let p = Paragraph::new(vec![
            Line::raw("No topic partitions in this run."),
            Line::styled(
                "(the ping workload has no Kafka topics: brokers show up here)",
                dim(),
            ),
        ]);
        f.render_widget(p, area);
        return;
    }
    let max_leo = parts
        .iter()
        .flat_map(|p| p.logs.iter().map(|l| l.leo + l.truncated_records))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut lines = vec![Line::styled(
        fit("Topic        Part Leader      Epoch Replicas        Isr", w),
        accent(),
    )];
    for p in parts {
        let leader = if p.offline {
            "OFFLINE".to_string()
        } else {
            p.leader.clone().unwrap_or_else(|| "none".to_string())
        };
        let row = format!(
            "{:<12} {:<4} {:<11} {:<5} {:<15} {}",
            fit(&p.topic, 12),
            p.partition,
            fit(&leader, 11),
            p.leader_epoch,
            fit(&p.replicas.join(","), 15),
            p.isr.join(",")
        );
        let style = if p.offline { bad() } else { Default::default() };
        lines.push(Line::styled(fit(&row, w), style));
        for l in &p.logs {
            lines.push(log_bar(l, max_leo, w));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// `  broker-1 ████▒▒░░  hw 10 leo 14 truncated 2`
fn log_bar(l: &ReplicaLogView, max: u64, w: usize) -> Line<'static> {
    let bar_w = w.saturating_sub(44).clamp(4, 60) as u64;
    let cells = |n: u64| ((n * bar_w).div_ceil(max)) as usize;
    let below = cells(l.hw.min(l.leo));
    let above = cells(l.leo).saturating_sub(below);
    let trunc =
        cells(l.truncated_records).min(bar_w as usize - (below + above).min(bar_w as usize));
    let pad = (bar_w as usize).saturating_sub(below + above + trunc);
    Line::from(vec![
        Span::raw(format!("  {:<10} ", fit(&l.broker, 10))),
        Span::styled("█".repeat(below), good()),
        Span::styled("▒".repeat(above), warn()),
        Span::styled("✗".repeat(trunc), bad()),
        Span::raw(" ".repeat(pad)),
        Span::raw(format!(
            " hw {} leo {}{}",
            l.hw,
            l.leo,
            if l.truncated_records > 0 {
                format!(" truncated {}", l.truncated_records)
            } else {
                String::new()
            }
        )),
    ])
}
