//! Partitions: Kafka's `--describe` columns (Topic Partition Leader Replicas Isr, brokers by
//! id as `kafka-topics` prints them) plus the leader epoch, and per replica a log bar:
//! records below the high watermark (safe), above it (not yet replicated everywhere it must
//! be), and records truncated away. A replica whose broker is down shows the log its disk
//! holds (what a restart recovers), marked DOWN, without a high watermark. Once retention
//! has deleted the start of a log, the bar begins with `·` for the deleted offsets and the
//! text names the log start offset; a log of several segments says how many, and how many
//! of them the log cleaner has compacted (cleaned) and how many are still dirty.
//!
//! A big cluster does not fit on a screen: then the view opens with one summary line per
//! topic (partitions, under-replicated, offline — Kafka's `UnderReplicatedPartitions` and
//! `OfflinePartitionsCount`), ↑↓ scroll by a partition, and the `/` filter narrows the list
//! (a name such as `orders-7`, `under`, `offline`, or `b3` for the partitions with a replica
//! on broker 3). Only the partitions on screen are drawn.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, dim, fit, good, warn};
use crate::scenario::Scenario;
use crate::tui::app::Side;
use crate::view_model::{id_list, PartitionView, ReplicaLogView, Snapshot};

pub fn render(f: &mut Frame, area: Rect, s: &Side, first: usize, filter: &str) {
    draw(f, area, &s.snapshot, &s.scenario, first, filter);
}

/// The view from a snapshot alone (the workbench's cursor, or a live world: `serve --tui`).
pub fn draw(
    f: &mut Frame,
    area: Rect,
    snap: &Snapshot,
    scenario: &Scenario,
    first: usize,
    filter: &str,
) {
    let parts = &snap.partitions;
    let w = area.width as usize;
    if parts.is_empty() {
        f.render_widget(Paragraph::new(empty(scenario, w)), area);
        return;
    }
    let shown: Vec<&PartitionView> = parts.iter().filter(|p| matches(p, filter)).collect();
    let max_leo = shown
        .iter()
        .flat_map(|p| p.logs.iter().map(|l| l.leo + l.truncated_records))
        .max()
        .unwrap_or(1)
        .max(1);
    let rw = shown
        .iter()
        .map(|p| id_list(&p.replicas).len())
        .max()
        .unwrap_or(0)
        .max(8);
    // Below 50 columns (two runs side by side at 80) the columns narrow, never the ids.
    let (tw, pw, lw, ew) = if w < 50 { (8, 2, 6, 3) } else { (12, 4, 7, 5) };
    let (part, epoch) = if w < 50 {
        ("P", "Ep")
    } else {
        ("Part", "Epoch")
    };
    let mut lines = summary(parts, &shown, first, filter, w);
    let head = format!(
        "{:<tw$} {part:<pw$} {:<lw$} {epoch:<ew$} {:<rw$} Isr",
        "Topic", "Leader", "Replicas"
    );
    lines.push(Line::styled(fit(&head, w), accent()));
    // Only what fits is drawn: a cluster of 100,000 partitions costs one screen.
    let first = first.min(shown.len().saturating_sub(1));
    for p in shown.iter().skip(first) {
        if lines.len() >= area.height as usize {
            break;
        }
        let leader = match (p.offline, p.leader) {
            (true, _) | (_, None) => "OFFLINE".to_string(),
            (false, Some(l)) => l.to_string(),
        };
        let row = format!(
            "{:<tw$} {:<pw$} {:<lw$} {:<ew$} {:<rw$} {}",
            fit(&p.topic, tw),
            p.partition,
            fit(&leader, lw),
            p.leader_epoch,
            id_list(&p.replicas),
            id_list(&p.isr)
        );
        let style = if p.offline {
            bad()
        } else if p.under_replicated() {
            warn()
        } else {
            Default::default()
        };
        lines.push(Line::styled(fit(&row, w), style));
        for l in &p.logs {
            lines.push(log_bar(l, max_leo, w));
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}

/// Whether partition `p` passes the `/` filter: its name (`orders-12`) contains the text,
/// or the text is `under` (under-replicated), `offline`, or `b49` (a replica on broker 49).
pub fn matches(p: &PartitionView, filter: &str) -> bool {
    let f = filter.trim().to_ascii_lowercase();
    if f.is_empty() {
        return true;
    }
    if "under-replicated".starts_with(&f) && f.len() >= 3 {
        return p.under_replicated() || p.offline;
    }
    if f == "offline" {
        return p.offline;
    }
    if let Some(b) = f.strip_prefix('b').and_then(|n| n.parse::<u32>().ok()) {
        return p.replicas.contains(&b);
    }
    format!("{}-{}", p.topic, p.partition)
        .to_ascii_lowercase()
        .contains(&f)
}

/// Per topic, Kafka's summary counts (partitions, `UnderReplicatedPartitions`,
/// `OfflinePartitionsCount`), shown when the partitions do not all fit on a screen; then
/// which of them this screen shows, and how to move.
fn summary(
    all: &[PartitionView],
    shown: &[&PartitionView],
    first: usize,
    filter: &str,
    w: usize,
) -> Vec<Line<'static>> {
    if all.len() <= 8 && filter.is_empty() {
        return Vec::new();
    }
    let mut topics: Vec<(&str, usize, usize, usize)> = Vec::new();
    for p in all {
        if topics.last().is_none_or(|t| t.0 != p.topic) {
            topics.push((&p.topic, 0, 0, 0));
        }
        let t = topics.last_mut().expect("pushed");
        t.1 += 1;
        t.2 += usize::from(p.under_replicated() && !p.offline);
        t.3 += usize::from(p.offline);
    }
    let mut out: Vec<Line<'static>> = topics
        .iter()
        .map(|(name, n, under, off)| {
            let text = format!("{name}: {n} partitions · {under} under-replicated · {off} offline");
            let st = if *off > 0 {
                bad()
            } else if *under > 0 {
                warn()
            } else {
                dim()
            };
            Line::styled(fit(&text, w), st)
        })
        .collect();
    let from = (first + 1).min(shown.len());
    let which = if filter.is_empty() {
        format!(
            "partition {from} of {} · ↑↓ scroll · / filter (orders-7, under, offline, b3)",
            shown.len()
        )
    } else {
        format!(
            "filter `{filter}`: {} of {} partitions, from {from} · ↑↓ scroll · / changes it",
            shown.len(),
            all.len()
        )
    };
    out.push(Line::styled(fit(&which, w), dim()));
    out
}

/// No partition yet: the topics the scenario will create, or why there are none.
fn empty(sc: &Scenario, w: usize) -> Vec<Line<'static>> {
    if sc.cluster.is_none() {
        return vec![
            Line::raw("No topic partitions in this run."),
            Line::styled("(this scenario has no Kafka cluster)", dim()),
        ];
    }
    let mut out = vec![Line::raw(fit(
        "No partition created yet: the controller creates the topics once brokers registered.",
        w,
    ))];
    for t in &sc.topics {
        out.push(Line::styled(
            fit(
                &format!(
                    "  {}: {} partition(s), replication factor {}",
                    t.name, t.partitions, t.replication_factor
                ),
                w,
            ),
            dim(),
        ));
    }
    out
}

/// ` lso 7` when an open transaction holds the last stable offset below the HW.
fn lso_text(l: &ReplicaLogView) -> String {
    l.lso.map_or(String::new(), |lso| format!(" lso {lso}"))
}

/// ` txn 1 open, 2 aborted` when the log has transactions to show.
fn txn_text(l: &ReplicaLogView) -> String {
    match (l.open_txns, l.aborted_txns) {
        (0, 0) => String::new(),
        (o, a) => format!(" txn {o} open, {a} aborted"),
    }
}

/// `  broker 1 ████▒▒░░  hw 10 leo 14 truncated 2`
fn log_bar(l: &ReplicaLogView, max: u64, w: usize) -> Line<'static> {
    let cut = if l.truncated_records > 0 {
        format!(" truncated {}", l.truncated_records)
    } else {
        String::new()
    };
    let start = if l.log_start > 0 {
        format!(" start {}", l.log_start)
    } else {
        String::new()
    };
    let segs = if l.segments > 1 || l.cleaned_segments > 0 {
        let dirty = l.segments - l.cleaned_segments;
        format!(
            " segs {} ({} cleaned, {dirty} dirty)",
            l.segments, l.cleaned_segments
        )
    } else {
        String::new()
    };
    let (text, text_style) = match l.hw {
        _ if l.down => (
            format!(" DOWN: log on disk{start} leo {}{cut}{segs}", l.leo),
            bad(),
        ),
        Some(hw) => (
            format!(
                "{start}{} hw {hw} leo {}{cut}{segs}{}",
                lso_text(l),
                l.leo,
                txn_text(l)
            ),
            Default::default(),
        ),
        None => (
            format!("{start} leo {}{cut}{segs}", l.leo),
            Default::default(),
        ),
    };
    let label = if w < 50 {
        format!(" b{:<3}", l.broker)
    } else {
        format!("  broker {:<3}", l.broker)
    };
    let bar_w = w
        .saturating_sub(label.chars().count() + text.chars().count())
        .clamp(2, 60) as u64;
    let cells = |n: u64| ((n * bar_w).div_ceil(max)) as usize;
    let gone = (l.log_start * bar_w / max) as usize;
    let below = cells(l.hw.unwrap_or(0).min(l.leo)).saturating_sub(gone);
    let above = cells(l.leo).saturating_sub(below + gone);
    let used = (gone + below + above).min(bar_w as usize);
    let trunc = cells(l.truncated_records).min(bar_w as usize - used);
    let pad = (bar_w as usize).saturating_sub(used + trunc);
    let (safe, unsafe_) = if l.down {
        (dim(), dim())
    } else {
        (good(), warn())
    };
    Line::from(vec![
        Span::raw(label),
        Span::styled("·".repeat(gone), dim()),
        Span::styled("█".repeat(below), safe),
        Span::styled("▒".repeat(above), unsafe_),
        Span::styled("✗".repeat(trunc), bad()),
        Span::raw(" ".repeat(pad)),
        Span::styled(text, text_style),
    ])
}
