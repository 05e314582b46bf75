//! Exporting a run's trace for other tools: JSON lines (one record per line with its
//! plain-language text), Chrome/Perfetto trace JSON (open in ui.perfetto.dev or
//! chrome://tracing: one lane per node, messages as flow arrows, faults and semantic events as
//! instants), and a Mermaid sequence diagram for slides (a window of the run, since diagrams
//! of thousands of messages are unreadable).

use serde_json::{json, Value};
use std::fmt::Write as _;

use crate::sim::{trace, Node, NodeId, TraceKind, TraceRecord, World};

/// Export formats.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    JsonLines,
    Perfetto,
    Mermaid,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &["jsonl", "perfetto", "mermaid"];
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "jsonl" | "json" => Some(Format::JsonLines),
            "perfetto" | "chrome" => Some(Format::Perfetto),
            "mermaid" => Some(Format::Mermaid),
            _ => None,
        }
    }
}

/// Which records to export: event numbers `from..=to`.
#[derive(Copy, Clone, Debug)]
pub struct Window {
    pub from: u64,
    pub to: u64,
}

fn names<N: Node>(world: &World<N>) -> Vec<String> {
    world
        .node_ids()
        .map(|id| world.name(id).to_string())
        .collect()
}

fn in_window<E>(rec: &TraceRecord<E>, w: Window) -> bool {
    rec.event >= w.from && rec.event <= w.to
}

/// Renders the trace of `world` (which must have been run with `TraceMode::Full`).
pub fn export<N: Node>(world: &World<N>, format: Format, window: Window) -> String
where
    N::Event: serde::Serialize,
{
    match format {
        Format::JsonLines => json_lines(world, window),
        Format::Perfetto => perfetto(world, window),
        Format::Mermaid => mermaid(world, window),
    }
}

fn text<N: Node>(rec: &TraceRecord<N::Event>, names: &[String]) -> String {
    trace::explain(rec, &|id: NodeId| names[id.index()].clone(), &|e| {
        N::explain(e)
    })
}

fn json_lines<N: Node>(world: &World<N>, window: Window) -> String
where
    N::Event: serde::Serialize,
{
    let names = names(world);
    let mut out = json!({ "nodes": names, "seed": world.seed() }).to_string();
    out.push('\n');
    for rec in world
        .trace()
        .records()
        .iter()
        .filter(|r| in_window(r, window))
    {
        let mut v = serde_json::to_value(rec).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut v {
            map.insert("text".into(), text::<N>(rec, &names).into());
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

fn perfetto<N: Node>(world: &World<N>, window: Window) -> String {
    let names = names(world);
    let mut events: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"name": "thread_name", "ph": "M", "pid": 1, "tid": i, "args": {"name": n}}))
        .collect();
    let mut flow = 0u64;
    for rec in world
        .trace()
        .records()
        .iter()
        .filter(|r| in_window(r, window))
    {
        let ts = rec.time.as_us();
        match &rec.kind {
            TraceKind::Deliver {
                from,
                to,
                msg,
                sent,
            } => {
                flow += 1;
                events.push(json!({"name": msg, "cat": "message", "ph": "s", "id": flow, "pid": 1, "tid": from.index(), "ts": sent.as_us()}));
                events.push(json!({"name": msg, "cat": "message", "ph": "f", "bp": "e", "id": flow, "pid": 1, "tid": to.index(), "ts": ts}));
                events.push(json!({"name": msg, "cat": "message", "ph": "i", "s": "t", "pid": 1, "tid": to.index(), "ts": ts}));
            }
            TraceKind::Timer { .. } | TraceKind::Held { .. } => {}
            kind => {
                let tid = match kind {
                    TraceKind::Start { node, .. } | TraceKind::Emit { node, .. } => node.index(),
                    TraceKind::Drop { to, .. } => to.index(),
                    _ => 0,
                };
                let cat = if matches!(kind, TraceKind::Fault(_)) {
                    "fault"
                } else {
                    "event"
                };
                events.push(json!({"name": text::<N>(rec, &names), "cat": cat, "ph": "i", "s": if cat == "fault" { "g" } else { "t" }, "pid": 1, "tid": tid, "ts": ts}));
            }
        }
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" }).to_string()
}

/// A Mermaid-safe participant id and label.
fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn mermaid_text(s: &str) -> String {
    s.replace([';', '#', ':'], " ").replace('\n', " ")
}

fn mermaid<N: Node>(world: &World<N>, window: Window) -> String {
    let names = names(world);
    let id = |n: NodeId| mermaid_id(&names[n.index()]);
    let mut out = String::from("sequenceDiagram\n");
    for n in &names {
        let _ = writeln!(out, "    participant {} as {}", mermaid_id(n), n);
    }
    for rec in world
        .trace()
        .records()
        .iter()
        .filter(|r| in_window(r, window))
    {
        let line = match &rec.kind {
            TraceKind::Deliver { from, to, msg, .. } => {
                format!("{}->>{}: {msg}", id(*from), id(*to))
            }
            TraceKind::Drop {
                from,
                to,
                msg,
                reason,
                ..
            } => {
                format!("{}-x{}: {msg} (dropped: {reason:?})", id(*from), id(*to))
            }
            TraceKind::Fault(f) if !f.nodes.is_empty() => {
                let over: Vec<String> = f.nodes.iter().map(|n| id(*n)).collect();
                let over = if over.len() > 1 {
                    format!("{},{}", over[0], over[over.len() - 1])
                } else {
                    over[0].clone()
                };
                format!(
                    "Note over {over}: {}",
                    mermaid_text(&text::<N>(rec, &names))
                )
            }
            TraceKind::Emit { node, .. } | TraceKind::Start { node, .. } => {
                format!(
                    "Note right of {}: {}",
                    id(*node),
                    mermaid_text(&text::<N>(rec, &names))
                )
            }
            _ => continue,
        };
        let _ = writeln!(out, "    {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::ping_world;
    use crate::sim::{Time, TraceMode};

    fn world() -> World<crate::workload::ping::PingNode> {
        let mut w = ping_world(1, 3, 1, TraceMode::Full);
        w.run_until(Time::MAX, u64::MAX);
        w
    }

    #[test]
    fn mermaid_has_participants_and_arrows() {
        // Proves the Mermaid export names every node and draws each delivered message.
        let m = export(
            &world(),
            Format::Mermaid,
            Window {
                from: 0,
                to: u64::MAX,
            },
        );
        assert!(m.starts_with("sequenceDiagram"));
        assert!(m.contains("participant server_1 as server-1"));
        assert_eq!(m.matches("client_1->>server_1: Ping").count(), 3);
    }

    #[test]
    fn perfetto_is_valid_json_with_flows() {
        // Proves the Perfetto export parses as JSON and pairs flow starts with finishes.
        let p = export(
            &world(),
            Format::Perfetto,
            Window {
                from: 0,
                to: u64::MAX,
            },
        );
        let v: Value = serde_json::from_str(&p).unwrap();
        let evs = v["traceEvents"].as_array().unwrap();
        let starts = evs.iter().filter(|e| e["ph"] == "s").count();
        let ends = evs.iter().filter(|e| e["ph"] == "f").count();
        assert_eq!(starts, 6);
        assert_eq!(starts, ends);
    }

    #[test]
    fn window_limits_records() {
        // Proves the event window filters records.
        let j = export(&world(), Format::JsonLines, Window { from: 1, to: 2 });
        assert_eq!(j.lines().count(), 1 + 2);
    }
}
