//! Charts over the whole run, with a vertical line at the cursor: throughput in records
//! (acknowledged and consumed per second, and Kafka's `record-send-rate`: records put in
//! Produce requests, retries again), per-record `send()` → ack latency (p50, p99 of the
//! records acknowledged in each bucket) beside Kafka's per-request `request-latency-avg`,
//! consumer lag, partition health (`UnderReplicatedPartitions`, `OfflinePartitionsCount`),
//! broker events (`IsrShrinksPerSec`, `FailedProduceRequestsPerSec`), RPC calls,
//! ping replies and, last, wire messages. Only charts with data in this run are drawn, in
//! a grid that uses the room there is.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use super::dim;
use crate::tui::app::Side;
use crate::view_model::series::{self, Series};

type Points = Vec<(f64, f64)>;

/// One chart: a title and its lines (name, colour, points).
struct Spec {
    title: &'static str,
    lines: Vec<(&'static str, Color, Points)>,
}

/// The charts this run has data for, in order of importance.
// Long by design: one entry per chart, in the order shown.
fn specs(s: &Series) -> Vec<Spec> {
    let mut out = Vec::new();
    if s.has(series::SENT) {
        out.push(Spec {
            title: "records/s",
            lines: vec![
                ("acknowledged", Color::Cyan, s.rate_points(series::ACKED)),
                ("consumed", Color::Green, s.rate_points(series::CONSUMED)),
                (
                    "record-send-rate",
                    Color::Blue,
                    s.delta_rate_points(series::RECORD_SEND_TOTAL),
                ),
            ],
        });
        out.push(Spec {
            title: "send()→ack latency ms",
            lines: vec![
                (
                    "p50",
                    Color::Cyan,
                    s.quantile_points(series::PRODUCE_LATENCY, false),
                ),
                (
                    "p99",
                    Color::Yellow,
                    s.quantile_points(series::PRODUCE_LATENCY, true),
                ),
                (
                    "request-latency-avg",
                    Color::Blue,
                    s.delta_ratio_points(
                        series::REQUEST_LATENCY_TOTAL,
                        series::PRODUCE_RESPONSES,
                        1000.0,
                    ),
                ),
            ],
        });
    }
    if s.gauge_seen(series::LAG) {
        out.push(Spec {
            title: "consumer lag, records (HW − committed)",
            lines: vec![("lag", Color::Magenta, s.gauge_points(series::LAG))],
        });
    }
    if !s.gauge_points(series::UNDER_REPLICATED).is_empty() {
        out.push(Spec {
            title: "partitions",
            lines: vec![
                (
                    "UnderReplicatedPartitions",
                    Color::Yellow,
                    s.gauge_points(series::UNDER_REPLICATED),
                ),
                (
                    "OfflinePartitionsCount",
                    Color::Red,
                    s.gauge_points(series::OFFLINE),
                ),
            ],
        });
    }
    if s.has(series::ISR_SHRINKS) || s.has(series::FAILED_PRODUCE) {
        out.push(Spec {
            title: "broker events/s",
            lines: vec![
                (
                    "IsrShrinksPerSec",
                    Color::Red,
                    s.rate_points(series::ISR_SHRINKS),
                ),
                (
                    "FailedProduceRequestsPerSec",
                    Color::Yellow,
                    s.rate_points(series::FAILED_PRODUCE),
                ),
            ],
        });
    }
    if s.has(series::RPC_OK) || s.has(series::RPC_FAILED) {
        out.push(Spec {
            title: "rpc calls/s",
            lines: vec![
                ("ok", Color::Green, s.rate_points(series::RPC_OK)),
                ("failed", Color::Red, s.rate_points(series::RPC_FAILED)),
                (
                    "attempts timed out",
                    Color::Yellow,
                    s.rate_points(series::RPC_TIMEOUTS),
                ),
            ],
        });
    }
    if s.has(series::PING_REPLIES) {
        out.push(Spec {
            title: "ping replies/s",
            lines: vec![("replies", Color::Green, s.rate_points(series::PING_REPLIES))],
        });
    }
    out.push(Spec {
        title: "wire messages/s",
        lines: vec![
            ("delivered", Color::Cyan, s.rate_points(series::DELIVERED)),
            ("dropped", Color::Red, s.rate_points(series::DROPPED)),
        ],
    });
    out
}

pub fn render(f: &mut Frame, area: Rect, s: &Side) {
    let series = s.replay.series();
    let mut charts = specs(series);
    let cols: u16 = if area.width >= 70 { 2 } else { 1 };
    let per_row = 7u16;
    let rows = (area.height.saturating_sub(1) / per_row).max(1);
    let room = (rows * cols) as usize;
    let hidden = charts.len().saturating_sub(room);
    charts.truncate(room);
    let rows_used = charts.len().div_ceil(cols as usize).max(1) as u32;
    let [grid, foot] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(u16::from(hidden > 0)),
    ])
    .areas(area);
    let row_areas =
        Layout::vertical(vec![Constraint::Ratio(1, rows_used); rows_used as usize]).split(grid);
    let x_max = (s.replay.end_time().as_us() as f64 / 1e6).max(series.bucket_secs());
    let now = s.now().as_us() as f64 / 1e6;
    for (i, spec) in charts.iter().enumerate() {
        let r = row_areas[i / cols as usize];
        let cells =
            Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols as usize]).split(r);
        chart(f, cells[i % cols as usize], spec, x_max, now);
    }
    if hidden > 0 {
        f.render_widget(
            Paragraph::new(Line::styled(
                format!("{hidden} more chart(s): a taller terminal shows them"),
                dim(),
            )),
            foot,
        );
    }
}

/// Spans packed into lines of at most `width` columns, a span never split.
fn pack(spans: Vec<Span<'static>>, width: usize) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = vec![Line::default()];
    for span in spans {
        let last = lines.last_mut().expect("one line");
        if last.width() > 0 && last.width() + span.width() > width {
            lines.push(Line::from(span));
        } else {
            last.push_span(span);
        }
    }
    lines
}

fn chart(f: &mut Frame, area: Rect, spec: &Spec, x_max: f64, now: f64) {
    let y_max = spec
        .lines
        .iter()
        .flat_map(|l| l.2.iter().map(|p| p.1))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.1;
    let mut title = vec![Span::raw(format!("{} ", spec.title))];
    for (name, color, _) in &spec.lines {
        title.push(Span::styled(
            format!("━ {name} "),
            Style::default().fg(*color),
        ));
    }
    // A legend wider than the chart wraps onto a second line above it instead of being
    // cut (two charts side by side at 80 columns leave 39 columns each).
    let width: usize = title.iter().map(|s| s.width()).sum();
    let (area, title) = if width > area.width as usize && area.height > 4 {
        let [top, rest] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area);
        f.render_widget(Paragraph::new(pack(title, top.width as usize)), top);
        (rest, None)
    } else {
        (area, Some(Line::from(title)))
    };
    let cursor_line = vec![(now, 0.0), (now, y_max)];
    let mut ds: Vec<Dataset> = spec
        .lines
        .iter()
        .map(|(_, color, pts)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(*color))
                .data(pts)
        })
        .collect();
    ds.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(dim())
            .data(&cursor_line),
    );
    let mut chart = Chart::new(ds);
    if let Some(title) = title {
        chart = chart.block(Block::default().title(title));
    }
    let chart = chart
        .x_axis(
            Axis::default()
                .bounds([0.0, x_max])
                .labels(vec![Span::raw("0s"), Span::raw(format!("{x_max:.1}s"))])
                .style(dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, y_max])
                .labels(vec![Span::raw("0"), Span::raw(format!("{y_max:.0}"))])
                .style(dim()),
        )
        .hidden_legend_constraints((Constraint::Length(0), Constraint::Length(0)));
    f.render_widget(chart, area);
}
