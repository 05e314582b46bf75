//! Cluster: every node with its state (up, killed, paused, fenced) and role, the network
//! drawn as groups of nodes that can still talk, and the messages in flight per link.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, cursor, dim, fit, good, warn};
use crate::tui::app::Side;
use crate::view_model::{NodeKind, NodeStatus, Snapshot};

pub fn render(f: &mut Frame, area: Rect, s: &Side, sel: Option<usize>) {
    let snap = &s.snapshot;
    let w = area.width as usize;
    let mut lines = Vec::new();
    for (i, n) in snap.nodes.iter().enumerate() {
        let (mark, st) = match n.status {
            NodeStatus::Up => ("●", good()),
            NodeStatus::Killed => ("✗", bad()),
            NodeStatus::Paused => ("‖", warn()),
            NodeStatus::Fenced => ("◌", warn()),
        };
        let kind = match n.kind {
            NodeKind::Controller => "controller",
            k => k.as_str(),
        };
        let mut line = Line::from(vec![
            Span::styled(format!("{mark} "), st),
            Span::raw(format!("{:<12} ", fit(&n.name, 12))),
            Span::styled(format!("{:<7}", n.status.as_str().to_uppercase()), st),
            Span::styled(format!("{:<8} ", fit(kind, 8)), dim()),
            Span::raw(fit(&n.role, w.saturating_sub(32))),
        ]);
        if sel == Some(i)
            || (sel.is_some_and(|x| x >= snap.nodes.len()) && i + 1 == snap.nodes.len())
        {
            line = line.style(cursor());
        }
        lines.push(line);
    }
    lines.push(Line::raw(""));
    lines.push(network_line(snap, w));
    lines.extend(link_lines(snap, w));
    f.render_widget(Paragraph::new(lines), area);
}

fn network_line(snap: &Snapshot, w: usize) -> Line<'static> {
    let groups = snap.partition_groups();
    if groups.len() <= 1 && !snap.links.iter().any(|l| l.cut) {
        return Line::from(vec![
            Span::styled("network: ", accent()),
            Span::raw("every link works"),
        ]);
    }
    let text = groups
        .iter()
        .map(|g| {
            let names: Vec<String> = g.iter().map(|id| snap.node_name(*id)).collect();
            format!("{{{}}}", names.join(" "))
        })
        .collect::<Vec<_>>()
        .join(" ╳ ");
    let label = if groups.len() > 1 {
        "network PARTITIONED: "
    } else {
        "network: some links cut "
    };
    Line::from(vec![
        Span::styled(label, bad()),
        Span::raw(fit(&text, w.saturating_sub(22))),
    ])
}

fn link_lines(snap: &Snapshot, w: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for l in &snap.links {
        let what = if l.cut {
            Span::styled("CUT (messages dropped)", bad())
        } else if l.clogged {
            Span::styled(format!("CLOGGED, {} held", l.in_flight), warn())
        } else {
            Span::raw(format!("{} in flight", l.in_flight))
        };
        let path = format!("  {} → {}  ", snap.node_name(l.from), snap.node_name(l.to));
        out.push(Line::from(vec![
            Span::raw(fit(&path, w.saturating_sub(24))),
            what,
        ]));
    }
    if out.is_empty() {
        out.push(Line::styled("  nothing in flight", dim()));
    }
    out
}
