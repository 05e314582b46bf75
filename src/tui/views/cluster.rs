//! Cluster: every node with its state (up, killed, paused, fenced) and role, the network
//! drawn as groups of nodes that can still talk, and the messages in flight per link. More
//! nodes than rows scroll with the selection (↑↓).

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{accent, bad, cursor, dim, fit, good, warn};
use crate::scenario::Scenario;
use crate::tui::app::Side;
use crate::view_model::{NodeKind, NodeStatus, Snapshot};

pub fn render(f: &mut Frame, area: Rect, s: &Side, sel: Option<usize>) {
    draw(f, area, &s.snapshot, &s.scenario, sel);
}

/// The view from a snapshot alone (the workbench's cursor, or a live world: `serve --tui`).
pub fn draw(f: &mut Frame, area: Rect, snap: &Snapshot, scenario: &Scenario, sel: Option<usize>) {
    let w = area.width as usize;
    let mut lines = Vec::new();
    let mut selected_line = 0;
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
        // The role wraps onto indented lines rather than being cut.
        let mut role = wrap(&n.role, w.saturating_sub(ROLE_AT)).into_iter();
        let mut line = Line::from(vec![
            Span::styled(format!("{mark} "), st),
            Span::raw(format!("{:<12} ", fit(&n.name, 12))),
            Span::styled(format!("{:<7}", n.status.as_str().to_uppercase()), st),
            Span::styled(format!("{kind:<10} "), dim()),
            Span::raw(role.next().unwrap_or_default()),
        ]);
        let selected = sel == Some(i)
            || (sel.is_some_and(|x| x >= snap.nodes.len()) && i + 1 == snap.nodes.len());
        if selected {
            line = line.style(cursor());
            selected_line = lines.len();
        }
        lines.push(line);
        for more in role {
            lines.push(Line::raw(format!("{:ROLE_AT$}{more}", "")));
        }
    }
    lines.push(Line::raw(""));
    lines.push(network_line(snap, w));
    lines.extend(link_lines(snap, w));
    if let Some(c) = &scenario.cluster {
        lines.extend(disk_lines(scenario.disk.writeback_us, w));
        lines.extend(own_lines(&c.own, w));
    }
    // More nodes than rows (a big cluster): scroll so the selected node stays on screen.
    let h = area.height as usize;
    let top = (selected_line + 1).saturating_sub(h.saturating_sub(1));
    f.render_widget(Paragraph::new(lines).scroll((top as u16, 0)), area);
}

/// What survives a power loss: without an OS writeback (the default) only what Kafka
/// fsynced — a simplification, said here because Linux would also write back dirty pages
/// older than 30 s (`vm.dirty_expire_centisecs`).
fn disk_lines(writeback_us: Option<u64>, w: usize) -> Vec<Line<'static>> {
    let text = match writeback_us {
        None => "no OS writeback: after a power loss only what Kafka fsynced survives (Linux would also have written back pages older than 30 s; [disk] writeback = \"30s\" approximates it)".to_string(),
        Some(us) => format!(
            "OS writeback every {}: a power loss keeps what was fsynced or written back",
            crate::sim::Duration::from_us(us)
        ),
    };
    let mut out = Vec::new();
    for (i, part) in wrap(&text, w.saturating_sub(7)).into_iter().enumerate() {
        let head = if i == 0 { "disks: " } else { "       " };
        out.push(Line::from(vec![
            Span::styled(head, accent()),
            Span::styled(part, dim()),
        ]));
    }
    out
}

/// The brokers with settings of their own (`[[broker]]`): what differs from the cluster.
fn own_lines(own: &[crate::scenario::spec::BrokerOwn], w: usize) -> Vec<Line<'static>> {
    use crate::scenario::spec::Writeback;
    let mut out = Vec::new();
    for b in own {
        let mut parts: Vec<String> = b.keys.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        match b.writeback {
            Some(Writeback::Never) => parts.push("no OS writeback".into()),
            Some(Writeback::Every(us)) => parts.push(format!(
                "OS writeback every {}",
                crate::sim::Duration::from_us(us)
            )),
            None => {}
        }
        let text = format!("broker-{}: {}", b.id, parts.join(", "));
        for (i, part) in wrap(&text, w.saturating_sub(7)).into_iter().enumerate() {
            let head = if i == 0 { "own:   " } else { "       " };
            out.push(Line::from(vec![
                Span::styled(head, accent()),
                Span::styled(part, dim()),
            ]));
        }
    }
    out
}

/// The column the role text starts at (mark, name, status, kind).
const ROLE_AT: usize = 2 + 13 + 7 + 11;

/// `text` in lines of at most `width` columns, broken at spaces (a word longer than a
/// line is cut with `…`).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let (lw, ww) = (line.chars().count(), word.chars().count());
        if lw > 0 && lw + 1 + ww > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&fit(word, width));
    }
    out.push(line);
    out
}

fn network_line(snap: &Snapshot, w: usize) -> Line<'static> {
    let groups = snap.partition_groups();
    let cut = snap.links.iter().any(|l| l.cut);
    if groups.len() <= 1 && !cut {
        return Line::from(vec![
            Span::styled("network: ", accent()),
            Span::raw("every link works"),
        ]);
    }
    if groups.len() <= 1 {
        // Every node still reaches every other one some way: the cut links are below.
        return Line::from(vec![
            Span::styled("network: some links cut", bad()),
            Span::raw(", every node still connected (the cut links are listed below)"),
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
