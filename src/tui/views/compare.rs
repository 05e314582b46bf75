//! Compare: two runs on one clock, their figures so far next to each other — records sent,
//! acknowledged and consumed (records, not wire messages), records acknowledged per second,
//! per-record latency, errors, lag, RPC outcomes, partition health under Kafka's metric
//! names — and the checker's verdict on each whole run, so sync and async delivery (or
//! Kafka and a synchronous call) can be judged side by side. B's rate says how many times
//! A's it is.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, dim, fit};
use crate::sim::Time;
use crate::tui::app::{App, Side};
use crate::view_model::MarkerKind;

/// Label of the records-per-second row (tests look it up).
pub const ACKED_RATE: &str = "records acked/s (avg)";
/// Label of the records-acknowledged row.
pub const ACKED: &str = "records acknowledged";

/// Records acknowledged per second of simulated time so far (`None` before any time
/// passed or without producers).
pub fn acked_rate(s: &Side) -> Option<u64> {
    let us = s.now().as_us();
    if us == 0 || s.snapshot.producers.is_empty() {
        return None;
    }
    let acked: u64 = s.snapshot.producers.iter().map(|p| p.acked).sum();
    Some((acked as u128 * 1_000_000 / us as u128) as u64)
}

/// The anomalies `kafkasim check` finds in the whole run, by kind: `none` or `2 lost-write, …`.
pub fn verdict_text(s: &Side) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for a in s.replay.anomalies() {
        match counts.iter_mut().find(|(k, _)| *k == a.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((&a.kind, 1)),
        }
    }
    if counts.is_empty() {
        return "none".to_string();
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    parts.join(", ")
}

/// Figures of one run at its cursor: (label, value, if this run has it).
// Long by design: one row per figure of the compare table, in the order shown.
fn figures(s: &Side) -> Vec<(&'static str, Option<String>)> {
    let snap = &s.snapshot;
    let prod = !snap.producers.is_empty();
    let sum =
        |f: fn(&crate::view_model::ProducerView) -> u64| snap.producers.iter().map(f).sum::<u64>();
    let errors: u64 = snap
        .producers
        .iter()
        .flat_map(|p| p.errors.iter().map(|e| e.1))
        .sum();
    let lat = |v: Option<u64>| v.map_or("-".to_string(), |u| Time(u).to_string());
    let p50 = snap.producers.iter().filter_map(|p| p.latency_p50_us).max();
    let p99 = snap.producers.iter().filter_map(|p| p.latency_p99_us).max();
    let modes: Vec<String> = snap
        .producers
        .iter()
        .map(|p| format!("{} acks={}", p.send_mode, p.acks))
        .collect();
    let cons = !snap.consumers.is_empty();
    let lag: u64 = snap
        .groups
        .iter()
        .flat_map(|g| g.rows.iter().filter_map(|r| r.lag))
        .sum();
    let lag_max = snap
        .consumers
        .iter()
        .filter_map(|c| c.records_lag_max)
        .max();
    let rpc = !snap.rpc_clients.is_empty();
    let (ok, failed, tout) = snap.rpc_clients.iter().fold((0, 0, 0), |a, c| {
        (a.0 + c.ok, a.1 + c.failed.unwrap_or(0), a.2 + c.timeouts)
    });
    let parts = !snap.partitions.is_empty() || s.scenario.cluster.is_some();
    let urp = snap
        .partitions
        .iter()
        .filter(|p| p.under_replicated())
        .count();
    let offline = snap.partitions.iter().filter(|p| p.offline).count();
    let c = s.replay.cursor();
    let faults = s.replay.markers().iter();
    let faults = faults
        .filter(|m| m.kind == MarkerKind::Fault && m.event <= c)
        .count();
    let some = |b: bool, v: String| b.then_some(v);
    vec![
        ("delivery (send, acks)", some(prod, modes.join(", "))),
        (
            "records sent (send())",
            some(prod, sum(|p| p.sent).to_string()),
        ),
        (ACKED, some(prod, sum(|p| p.acked).to_string())),
        (
            ACKED_RATE,
            some(prod, acked_rate(s).map_or("-".into(), |r| r.to_string())),
        ),
        (
            "send()→ack p50 / p99",
            some(prod, format!("{} / {}", lat(p50), lat(p99))),
        ),
        ("send errors", some(prod, errors.to_string())),
        (
            "records consumed",
            some(
                cons,
                snap.consumers
                    .iter()
                    .map(|c| c.consumed)
                    .sum::<u64>()
                    .to_string(),
            ),
        ),
        (
            "lag / records-lag-max",
            some(
                cons,
                format!("{lag} / {}", lag_max.map_or("-".into(), |l| l.to_string())),
            ),
        ),
        (
            "rpc ok/failed/timed-out",
            some(rpc, format!("{ok} / {failed} / {tout}")),
        ),
        ("UnderReplicatedPartitions", some(parts, urp.to_string())),
        ("OfflinePartitionsCount", some(parts, offline.to_string())),
        ("faults so far", Some(faults.to_string())),
        ("anomalies (check, total)", Some(verdict_text(s))),
        ("events", Some(format!("{} of {}", c, s.replay.total()))),
    ]
}

pub fn render(f: &mut Frame, area: Rect, m: &App) {
    let w = area.width as usize;
    let label_w = if w >= 100 { 30 } else { 26 };
    let col = ((w.saturating_sub(label_w)) / m.sides.len().max(1)).max(8);
    let mut head = vec![Span::styled(
        format!(
            "{:<label_w$}",
            fit(&format!("so far, at t = {}", m.main().now()), label_w - 1)
        ),
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
    let rates: Vec<Option<u64>> = m.sides.iter().map(acked_rate).collect();
    for (i, (name, _)) in figs[0].iter().enumerate() {
        if figs.iter().all(|f| f[i].1.is_none()) {
            continue;
        }
        let mut spans = vec![Span::styled(format!("{name:<label_w$}"), dim())];
        for (k, f) in figs.iter().enumerate() {
            let mut v = f[i].1.clone().unwrap_or_else(|| "-".to_string());
            let mut style = ratatui::style::Style::default();
            if *name == ACKED_RATE && k > 0 {
                if let (Some(a), Some(b)) = (rates[0], rates[k]) {
                    if a > 0 {
                        v = format!("{v} ({}× A)", ratio(b, a));
                    }
                }
            }
            if *name == ACKED_RATE
                && rates[k].is_some()
                && rates[k] == rates.iter().copied().max().flatten()
                && rates.iter().flatten().count() > 1
            {
                style = style.add_modifier(Modifier::BOLD);
            }
            spans.push(Span::styled(format!("{:<col$}", fit(&v, col - 1)), style));
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

/// `b / a` to one decimal below 10, whole above.
fn ratio(b: u64, a: u64) -> String {
    let r = b as f64 / a as f64;
    if r < 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.0}")
    }
}
