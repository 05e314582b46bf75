//! Charts over the whole run: message throughput, wire latency, drops, and the node type's
//! own gauges (acknowledged records, consumer lag…), with a vertical line at the cursor.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
use ratatui::Frame;

use super::dim;
use crate::tui::app::Side;

pub fn render(f: &mut Frame, area: Rect, s: &Side) {
    let series = s.replay.series();
    let secs = series.bucket_us as f64 / 1e6;
    let t = |i: usize| i as f64 * secs;
    let thr: Vec<(f64, f64)> = series
        .delivered
        .iter()
        .enumerate()
        .map(|(i, v)| (t(i), *v as f64 / secs))
        .collect();
    let lat: Vec<(f64, f64)> = series
        .delivered
        .iter()
        .zip(&series.latency_us_sum)
        .enumerate()
        .filter(|(_, (n, _))| **n > 0)
        .map(|(i, (n, sum))| (t(i), *sum as f64 / *n as f64 / 1000.0))
        .collect();
    let drops: Vec<(f64, f64)> = series
        .dropped
        .iter()
        .enumerate()
        .map(|(i, v)| (t(i), *v as f64 / secs))
        .collect();
    let mut charts = vec![
        ("messages delivered /s".to_string(), thr, Color::Cyan),
        ("wire latency ms (mean)".to_string(), lat, Color::Yellow),
        ("messages dropped /s".to_string(), drops, Color::Red),
    ];
    for (name, vals) in &series.gauges {
        let rate = name.ends_with("_total");
        let pts: Vec<(f64, f64)> = vals
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, v)| {
                (
                    t(i),
                    if rate {
                        v.saturating_sub(vals[i - 1]) as f64 / secs
                    } else {
                        *v as f64
                    },
                )
            })
            .collect();
        let label = if rate {
            format!("{} /s", name.trim_end_matches("_total"))
        } else {
            name.to_string()
        };
        charts.push((label, pts, Color::Green));
    }
    let per = 6u16;
    let fit_n = (area.height / per).max(1) as usize;
    charts.truncate(fit_n);
    let rows = Layout::vertical(vec![
        Constraint::Ratio(1, charts.len() as u32);
        charts.len()
    ])
    .split(area);
    let x_max = (s.replay.end_time().as_us() as f64 / 1e6).max(secs);
    let now = s.now().as_us() as f64 / 1e6;
    for ((title, pts, color), r) in charts.iter().zip(rows.iter()) {
        let y_max = pts.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0) * 1.1;
        let cursor_line = vec![(now, 0.0), (now, y_max)];
        let ds = vec![
            Dataset::default()
                .name(title.clone())
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::default().fg(*color))
                .data(pts),
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(dim())
                .data(&cursor_line),
        ];
        let chart = Chart::new(ds)
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
            .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
            .hidden_legend_constraints((Constraint::Percentage(100), Constraint::Percentage(100)));
        f.render_widget(chart, *r);
    }
}
