//! Clients: producers (send mode, acks, in flight, acknowledged, errors by name, latency
//! p50/p99), consumer groups in the columns of `kafka-consumer-groups --describe`, and
//! request/response clients without Kafka.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, dim, fit};
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
    let mut lines = Vec::new();
    if !snap.producers.is_empty() {
        lines.push(Line::styled(
            fit(
                "PRODUCER     MODE            ACKS IN-FLIGHT ACKED     P50      P99      ERRORS",
                w,
            ),
            accent(),
        ));
        for p in &snap.producers {
            let errors: Vec<String> = p.errors.iter().map(|(e, n)| format!("{e}×{n}")).collect();
            let row = format!(
                "{:<12} {:<15} {:<4} {:<9} {:<9} {:<8} {:<8} {}",
                fit(&p.name, 12),
                fit(&p.send_mode, 15),
                p.acks,
                p.in_flight,
                p.acked,
                opt_us(p.latency_p50_us),
                opt_us(p.latency_p99_us),
                errors.join(" ")
            );
            let st = if p.errors.is_empty() {
                Default::default()
            } else {
                bad()
            };
            lines.push(Line::styled(fit(&row, w), st));
        }
        lines.push(Line::raw(""));
    }
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
        lines.push(Line::raw(""));
    }
    if !snap.rpc_clients.is_empty() {
        lines.push(Line::styled(
            fit(
                "CLIENT       SERVER       REPLIES        TIMEOUTS  MEAN RTT",
                w,
            ),
            accent(),
        ));
        for c in &snap.rpc_clients {
            let row = format!(
                "{:<12} {:<12} {:<14} {:<9} {}",
                fit(&c.name, 12),
                fit(&c.server, 12),
                format!("{}/{}", c.replies, c.wanted),
                c.timeouts,
                opt_us(c.mean_rtt_us)
            );
            let st = if c.timeouts > 0 {
                bad()
            } else {
                Default::default()
            };
            lines.push(Line::styled(fit(&row, w), st));
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("No clients in this run.", dim()));
    }
    f.render_widget(Paragraph::new(lines), area);
}
