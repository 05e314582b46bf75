//! Compare: two runs on one clock, their headline figures next to each other — how far each
//! got, what it lost, how fast it went — so sync and async delivery can be judged side by side.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, dim, fit};
use crate::sim::Time;
use crate::tui::app::{Model, Side};

/// Headline figures of one run at its cursor: (label, value).
fn figures(s: &Side) -> Vec<(&'static str, String)> {
    let snap = &s.snapshot;
    let series = s.replay.series();
    let upto =
        ((s.now().as_us() / series.bucket_us.max(1)) as usize + 1).min(series.delivered.len());
    let delivered: u64 = series.delivered[..upto].iter().sum();
    let dropped: u64 = series.dropped[..upto].iter().sum();
    let lat_sum: u64 = series.latency_us_sum[..upto].iter().sum();
    let secs = (s.now().as_us() as f64 / 1e6).max(1e-6);
    let acked: u64 = snap.producers.iter().map(|p| p.acked).sum();
    let errors: u64 = snap
        .producers
        .iter()
        .flat_map(|p| p.errors.iter().map(|e| e.1))
        .sum();
    let lag: u64 = snap
        .groups
        .iter()
        .flat_map(|g| g.rows.iter().filter_map(|r| r.lag))
        .sum();
    let replies: u64 = snap.rpc_clients.iter().map(|c| c.replies).sum();
    let timeouts: u64 = snap.rpc_clients.iter().map(|c| c.timeouts).sum();
    let p99 = snap.producers.iter().filter_map(|p| p.latency_p99_us).max();
    let modes: Vec<String> = snap
        .producers
        .iter()
        .map(|p| format!("{} acks={}", p.send_mode, p.acks))
        .collect();
    vec![
        (
            "delivery",
            if modes.is_empty() {
                "-".to_string()
            } else {
                modes.join(", ")
            },
        ),
        (
            "events",
            format!("{} of {}", s.replay.cursor(), s.replay.total()),
        ),
        ("messages delivered", delivered.to_string()),
        (
            "throughput",
            format!("{:.0} msg/s", delivered as f64 / secs),
        ),
        (
            "mean wire latency",
            lat_sum
                .checked_div(delivered)
                .map_or("-".to_string(), |u| Time(u).to_string()),
        ),
        ("messages dropped", dropped.to_string()),
        ("records acknowledged", acked.to_string()),
        (
            "produce p99 latency",
            p99.map_or("-".to_string(), |u| Time(u).to_string()),
        ),
        ("produce errors", errors.to_string()),
        ("consumer lag", lag.to_string()),
        ("replies (ping/rpc)", replies.to_string()),
        ("timeouts (ping/rpc)", timeouts.to_string()),
        ("anomalies", s.replay.anomalies().len().to_string()),
        (
            "faults so far",
            s.replay
                .markers()
                .iter()
                .filter(|m| {
                    m.kind == crate::model::MarkerKind::Fault && m.event <= s.replay.cursor()
                })
                .count()
                .to_string(),
        ),
    ]
}

pub fn render(f: &mut Frame, area: Rect, m: &Model) {
    let w = area.width as usize;
    let col = ((w.saturating_sub(22)) / m.sides.len().max(1)).max(8);
    let mut head = vec![Span::styled(
        format!("{:<22}", format!("at t = {}", m.main().now())),
        accent(),
    )];
    for s in &m.sides {
        head.push(Span::styled(
            format!("{:<col$}", fit(&s.label, col - 1)),
            accent(),
        ));
    }
    let mut lines = vec![Line::from(head)];
    let figs: Vec<_> = m.sides.iter().map(figures).collect();
    for (i, (name, _)) in figs[0].iter().enumerate() {
        let mut spans = vec![Span::styled(format!("{name:<22}"), dim())];
        for f in &figs {
            spans.push(Span::raw(format!("{:<col$}", fit(&f[i].1, col - 1))));
        }
        lines.push(Line::from(spans));
    }
    if m.sides.len() == 1 {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Only one run: start with --compare B.toml to set two side by side.",
            dim(),
        ));
    }
    f.render_widget(Paragraph::new(lines), area);
}
