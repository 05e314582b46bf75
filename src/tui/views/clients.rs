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
use crate::sim::Time;
use crate::tui::app::Side;
use crate::view_model::Snapshot;

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

/// Below this width (two runs side by side at 80 columns) tables narrow: fewer, essential
/// columns, the rest on a second line.
const NARROW: usize = 60;

fn producers(snap: &Snapshot, w: usize, lines: &mut Vec<Line<'static>>) {
    if snap.producers.is_empty() {
        return;
    }
    let head = if w < NARROW {
        "PRODUCER   ACKED    P50      P99"
    } else {
        "PRODUCER   MODE       ACKS SENT     ACKED    IN-FLIGHT P50      P99"
    };
    lines.push(Line::styled(fit(head, w), accent()));
    for p in &snap.producers {
        let (p50, p99) = (opt_us(p.latency_p50_us), opt_us(p.latency_p99_us));
        if w < NARROW {
            let row = format!("{:<10} {:<8} {p50:<8} {p99}", fit(&p.name, 10), p.acked);
            lines.push(Line::raw(fit(&row, w)));
            let more = format!(
                "  {} acks={} · sent {} · in flight {}",
                p.send_mode, p.acks, p.sent, p.in_flight
            );
            lines.push(Line::styled(fit(&more, w), dim()));
        } else {
            let row = format!(
                "{:<10} {:<10} {:<4} {:<8} {:<8} {:<9} {p50:<8} {p99}",
                fit(&p.name, 10),
                fit(&p.send_mode, 10),
                p.acks,
                p.sent,
                p.acked,
                p.in_flight,
            );
            lines.push(Line::raw(fit(&row, w)));
        }
        let kafka = format!(
            "  record-send-total {} · request-latency-avg {} · request-latency-max {}",
            p.record_send_total,
            opt_us(p.request_latency_avg_us),
            opt_us(p.request_latency_max_us),
        );
        lines.push(Line::styled(fit(&kafka, w), dim()));
        if let Some(t) = &p.transaction {
            lines.push(Line::styled(
                fit(&format!("  transaction {t}"), w),
                accent(),
            ));
        }
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
    lines.push(Line::styled(
        fit(
            "  record-send-total: records put in Produce requests (retries again); request-latency: per Produce request",
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
        let head = if w < NARROW {
            "PARTITION  CURRENT LOG-END   LAG CONSUMER-ID"
        } else {
            "TOPIC        PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG    CONSUMER-ID"
        };
        lines.push(Line::styled(fit(head, w), dim()));
        for r in &g.rows {
            let owner = r.consumer_id.clone().unwrap_or_else(|| "-".to_string());
            let row = if w < NARROW {
                format!(
                    "{:<10} {:>7} {:>7} {:>5} {owner}",
                    fit(&format!("{}-{}", r.topic, r.partition), 10),
                    opt(r.current_offset),
                    r.log_end_offset,
                    opt(r.lag),
                )
            } else {
                format!(
                    "{:<12} {:<9} {:<14} {:<14} {:<6} {owner}",
                    fit(&r.topic, 12),
                    r.partition,
                    opt(r.current_offset),
                    r.log_end_offset,
                    opt(r.lag),
                )
            };
            lines.push(Line::raw(fit(&row, w)));
        }
    }
}

fn rpc(snap: &Snapshot, w: usize, lines: &mut Vec<Line<'static>>) {
    if snap.rpc_clients.is_empty() {
        return;
    }
    let head = if w < NARROW {
        "CLIENT         OK         FAILED TIMED-OUT"
    } else {
        "CLIENT         SERVER         OK         FAILED   TIMED-OUT MEAN LATENCY"
    };
    lines.push(Line::styled(fit(head, w), accent()));
    for c in &snap.rpc_clients {
        let ok = match c.wanted {
            Some(n) => format!("{}/{n}", c.ok),
            None => c.ok.to_string(),
        };
        let row = if w < NARROW {
            format!(
                "{:<14} {ok:<10} {:<6} {}",
                fit(&c.name, 14),
                opt(c.failed),
                c.timeouts
            )
        } else {
            format!(
                "{:<14} {:<14} {ok:<10} {:<8} {:<9} {}",
                fit(&c.name, 14),
                fit(&c.server, 14),
                opt(c.failed),
                c.timeouts,
                opt_us(c.mean_latency_us)
            )
        };
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
