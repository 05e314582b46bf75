//! Clients, so far (up to the cursor), from their history: producers (send mode, acks,
//! records sent and acknowledged, per-record `send()` → ack latency p50/p99, errors by
//! Kafka's name), consumers (records consumed, `records-lag-max`), consumer groups in the
//! columns of `kafka-consumer-groups --describe`, and request/response clients without
//! Kafka (RPC calls ok / failed / attempts timed out).

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, dim, fit};
use crate::model::Snapshot;
use crate::sim::Time;
use crate::tui::app::Side;

fn opt_us(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |u| Time(u).to_string())
}

fn opt(v: Option<u64>) -> String {
    v.map_or("-".to_string(), |u| u.to_string())
}

pub fn render(f: &mut Frame, area: Rect, s: &Side) {
    let snap = &s.snapshot;
    let w = area.width as usize;
    let mut lines = vec![Line::styled(
        fit(&format!("so far, at t = {}", s.now()), w),
        dim(),
    )];
    producers(snap, w, &mut lines);
    consumers(snap, w, &mut lines);
    groups(snap, w, &mut lines);
    rpc(snap, w, &mut lines);
    if lines.len() == 1 {
        lines.push(Line::styled("No clients in this run.", dim()));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn producers(snap: &Snapshot, w: usize, lines: &mut Vec<Line<'static>>) {
    if snap.producers.is_empty() {
        return;
    }
    lines.push(Line::styled(
        fit(
            "PRODUCER   MODE       ACKS SENT     ACKED    IN-FLIGHT P50      P99",
            w,
        ),
        accent(),
    ));
    for p in &snap.producers {
        let row = format!(
            "{:<10} {:<10} {:<4} {:<8} {:<8} {:<9} {:<8} {:<8}",
            fit(&p.name, 10),
            fit(&p.send_mode, 10),
            p.acks,
            p.sent,
            p.acked,
            p.in_flight,
            opt_us(p.latency_p50_us),
            opt_us(p.latency_p99_us),
        );
        lines.push(Line::raw(fit(&row, w)));
        if !p.errors.is_empty() {
            let errors: Vec<String> = p.errors.iter().map(|(e, n)| format!("{e}×{n}")).collect();
            lines.push(Line::styled(
                fit(&format!("  errors: {}", errors.join(" ")), w),
                bad(),
            ));
        }
    }
    lines.push(Line::styled(
        fit(
            "  P50/P99: per record, send() → acknowledgement, over the records acknowledged so far",
            w,
        ),
        dim(),
    ));
}

fn consumers(snap: &Snapshot, w: usize, lines: &mut Vec<Line<'static>>) {
    if snap.consumers.is_empty() {
        return;
    }
    lines.push(Line::styled(
        fit("CONSUMER     GROUP        CONSUMED   records-lag-max", w),
        accent(),
    ));
    for c in &snap.consumers {
        let row = format!(
            "{:<12} {:<12} {:<10} {}",
            fit(&c.name, 12),
            fit(&c.group, 12),
            c.consumed,
            opt(c.records_lag_max)
        );
        lines.push(Line::raw(fit(&row, w)));
    }
}

fn groups(snap: &Snapshot, w: usize, lines: &mut Vec<Line<'static>>) {
    for g in &snap.groups {
        lines.push(Line::styled(
            fit(
                &format!(
                    "GROUP {}  state {}  generation {}",
                    g.group, g.state, g.generation
                ),
                w,
            ),
            accent(),
        ));
        lines.push(Line::styled(
            fit(
                "TOPIC        PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG    CONSUMER-ID",
                w,
            ),
            dim(),
        ));
        for r in &g.rows {
            let row = format!(
                "{:<12} {:<9} {:<14} {:<14} {:<6} {}",
                fit(&r.topic, 12),
                r.partition,
                opt(r.current_offset),
                r.log_end_offset,
                opt(r.lag),
                r.consumer_id.clone().unwrap_or_else(|| "-".to_string())
            );
            lines.push(Line::raw(fit(&row, w)));
        }
    }
}

fn rpc(snap: &Snapshot, w: usize, lines: &mut Vec<Line<'static>>) {
    if snap.rpc_clients.is_empty() {
        return;
    }
    lines.push(Line::styled(
        fit(
            "CLIENT         SERVER         OK         FAILED   TIMED-OUT MEAN LATENCY",
            w,
        ),
        accent(),
    ));
    for c in &snap.rpc_clients {
        let ok = match c.wanted {
            Some(n) => format!("{}/{n}", c.ok),
            None => c.ok.to_string(),
        };
        let row = format!(
            "{:<14} {:<14} {:<10} {:<8} {:<9} {}",
            fit(&c.name, 14),
            fit(&c.server, 14),
            ok,
            opt(c.failed),
            c.timeouts,
            opt_us(c.mean_latency_us)
        );
        let st = if c.timeouts > 0 || c.failed.is_some_and(|n| n > 0) {
            bad()
        } else {
            Default::default()
        };
        lines.push(Line::styled(fit(&row, w), st));
    }
    lines.push(Line::styled(
        fit(
            "  TIMED-OUT: attempts with no reply in time (each is retried, or fails the call)",
            w,
        ),
        dim(),
    ));
}
