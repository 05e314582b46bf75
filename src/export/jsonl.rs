//! The trace as JSON lines, schema version [`SCHEMA_VERSION`] (docs/export-format.md).
//!
//! Every line is one JSON object with the same envelope, so a reader needs one parser:
//! `schema_version`, `seq` (the line's position, from 0), `ev` (the kernel event number
//! the record belongs to — the `#N`/`ev N` that `check` and the workbench show), `time_us`
//! (simulated microseconds), `node` (a node name, or `null`), `kind`, `text` (the
//! plain-language explanation) and `data` (an object whose fields depend on `kind`).
//!
//! The lines are: one `header`; the trace records of the window in order (`start`,
//! `deliver`, `drop`, `held`, `timer`, `disconnected`, `fault`, and the node events
//! `kafka`, `history`, `ping`, `rpc`); a `phase` line where the drain phase begins; and,
//! when the window reaches the end of the run, one `final-log` line per partition and an
//! `end` line with the anomaly counts `check` found. Node events keep the event number they
//! happened at in `ev`; their own fields are in `data`, so the two never collide.

use serde_json::{json, Map, Value};
use std::fmt::Write as _;

use super::{
    event_data, event_family, partition_group_sizes, record_node, split_groups, Run, Window,
};
use crate::sim::{TraceKind, TraceRecord};
use crate::workload::event::NodeEvent;

/// Bumped whenever a field changes meaning or disappears (new fields do not bump it).
pub const SCHEMA_VERSION: u64 = 1;

/// Writes lines with consecutive `seq` numbers.
struct Lines {
    out: String,
    seq: u64,
}

impl Lines {
    /// Writes the envelope's fields in a fixed order (a `json!` map would sort them).
    fn push(
        &mut self,
        ev: u64,
        time_us: u64,
        node: Option<&str>,
        kind: &str,
        text: &str,
        data: Value,
    ) {
        let string = |s: &str| Value::from(s).to_string();
        let node = node.map_or("null".to_string(), string);
        let _ = writeln!(
            self.out,
            "{{\"schema_version\":{SCHEMA_VERSION},\"seq\":{},\"ev\":{ev},\"time_us\":{time_us},\"node\":{node},\"kind\":{},\"data\":{data},\"text\":{}}}",
            self.seq,
            string(kind),
            string(text),
        );
        self.seq += 1;
    }
}

/// Renders the JSON lines of `run` for the records in `window`.
pub fn render(run: &Run, window: Window) -> String {
    let mut lines = Lines {
        out: String::new(),
        seq: 0,
    };
    header(run, &mut lines);
    let sizes = partition_group_sizes(&run.scenario);
    let mut partitions_seen = 0;
    let mut drain_marked = false;
    for rec in run.records(window) {
        if !drain_marked && rec.event > run.run_events {
            drain_marked = true;
            drain_line(run, &mut lines);
        }
        let sizes = match &rec.kind {
            TraceKind::Fault(f) if f.verb == "partition" => {
                partitions_seen += 1;
                sizes.get(partitions_seen - 1)
            }
            _ => None,
        };
        let (kind, data) = describe(run, rec, sizes);
        let node = record_node(&rec.kind).map(|n| run.name(n));
        let text = run.text(rec);
        lines.push(rec.event, rec.time.as_us(), node, kind, &text, data);
    }
    if window.to >= run.world.events() {
        if !drain_marked && run.world.events() > run.run_events {
            drain_line(run, &mut lines);
        }
        tail(run, &mut lines);
    }
    lines.out
}

fn header(run: &Run, lines: &mut Lines) {
    let s = &run.summary;
    let data = json!({
        "scenario": s.scenario,
        "seed": s.seed,
        "trace_hash": s.trace_hash,
        "nodes": run.names,
        "run_events": run.run_events,
        "run_end_us": run.run_end.as_us(),
        "events": run.world.events(),
    });
    let text = format!(
        "kafkasim trace of `{}` with seed {} (trace hash {})",
        s.scenario, s.seed, s.trace_hash
    );
    lines.push(0, 0, None, "header", &text, data);
}

fn drain_line(run: &Run, lines: &mut Lines) {
    let text = "drain phase: every fault is healed, crashed nodes restart, then every partition is read to its end";
    let data = json!({ "phase": "drain", "from_ev": run.run_events + 1 });
    lines.push(
        run.run_events,
        run.run_end.as_us(),
        None,
        "phase",
        text,
        data,
    );
}

/// The final logs and the anomaly counts.
fn tail(run: &Run, lines: &mut Lines) {
    let (ev, now) = (run.world.events(), run.world.now().as_us());
    for (tp, records) in run.final_logs.iter().flat_map(|l| &l.partitions) {
        let text = format!("final log of {tp}: {} records", records.len());
        let data = json!({
            "topic": &*tp.topic,
            "partition": tp.partition,
            "tp": tp.to_string(),
            "records": records,
        });
        lines.push(ev, now, None, "final-log", &text, data);
    }
    let anomalies = run.anomaly_counts();
    let text = format!("end of the run: {} anomaly kinds found", anomalies.len());
    let data = json!({ "events": ev, "anomalies": anomalies, "passed": run.report.passed() });
    lines.push(ev, now, None, "end", &text, data);
}

/// A record's `kind` and `data`.
fn describe(
    run: &Run,
    rec: &TraceRecord<NodeEvent>,
    group_sizes: Option<&Vec<usize>>,
) -> (&'static str, Value) {
    let name = |n: &crate::sim::NodeId| run.name(*n).to_string();
    match &rec.kind {
        TraceKind::Start { incarnation, .. } => ("start", json!({ "incarnation": incarnation })),
        TraceKind::Deliver {
            from,
            to,
            msg,
            sent,
        } => (
            "deliver",
            json!({ "from": name(from), "to": name(to), "msg": msg, "sent_us": sent.as_us() }),
        ),
        TraceKind::Drop {
            from,
            to,
            msg,
            sent,
            reason,
        } => (
            "drop",
            json!({ "from": name(from), "to": name(to), "msg": msg, "sent_us": sent.as_us(), "reason": reason }),
        ),
        TraceKind::Held { from, to, msg } => (
            "held",
            json!({ "from": name(from), "to": name(to), "msg": msg }),
        ),
        TraceKind::Timer { timer, .. } => ("timer", json!({ "timer": timer })),
        TraceKind::Disconnected { peer, .. } => ("disconnected", json!({ "peer": name(peer) })),
        TraceKind::Fault(f) => {
            let nodes: Vec<String> = f.nodes.iter().map(name).collect();
            let mut data = Map::new();
            data.insert("verb".into(), f.verb.into());
            if f.verb == "partition" {
                data.insert("groups".into(), json!(split_groups(&nodes, group_sizes)));
            }
            data.insert("nodes".into(), json!(nodes));
            data.insert("count".into(), f.count.into());
            data.insert("unresolved".into(), json!(f.unresolved));
            ("fault", Value::Object(data))
        }
        TraceKind::Emit { event, .. } => (event_family(event), event_data(event)),
    }
}
