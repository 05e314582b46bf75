//! Chrome/Perfetto trace JSON (the "Trace Event Format"): open the file in
//! <https://ui.perfetto.dev> (Open trace file) or `chrome://tracing` (Load).
//!
//! Each node is a process with one thread (`pid` = `tid` = node index + 1, named by
//! `process_name`/`thread_name` metadata), so its track and its counters sit together.
//! Every handler invocation — a delivered message, a fired timer, a start or restart, a
//! closed connection, a fault hitting the node — is a complete slice (`"ph":"X"`). Handlers
//! take no simulated time, so a slice lasts 1 µs: long enough to enclose the flow events
//! that start or end in it. A message is a flow from the slice that sent it (`"ph":"s"` at
//! its send time on the sender's track) to the slice that handled it (`"ph":"f"`,
//! `"bp":"e"`: bind to the enclosing slice); when the sending handler lies outside the
//! exported window a 1 µs `Send` slice stands in for it, so every arrow binds at both ends
//! (trace viewers silently drop arrows that do not). Node events (an append, a high
//! watermark, a history operation) are instants inside the slice, with short names and
//! their fields in `args`. Counters (`"ph":"C"`): each broker's HW and LEO per partition,
//! the controller's ISR size per partition, each consumer's lag per partition (the leader's
//! HW minus the consumer's position after a poll), each producer's sends awaiting an
//! outcome, and each node's messages in flight.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

use super::{camel, event_data, event_name, shorten, Run, Window};
use crate::kafka::{KafkaEvent, Offset, TopicPartition};
use crate::sim::{FaultRecord, NodeId, TraceKind, TraceRecord};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;

/// Longest event name written (names are message, timer or event variant names).
pub const NAME_MAX: usize = 60;
/// Longest explanation kept in an event's `args.text`.
const TEXT_MAX: usize = 300;

fn pid(n: NodeId) -> u64 {
    n.index() as u64 + 1
}

/// The trace events being written, as JSON texts.
#[derive(Default)]
struct Out {
    events: Vec<String>,
    /// (node, ts) of every slice written, so flows can be checked to bind.
    slices: BTreeSet<(u64, u64)>,
}

impl Out {
    fn push(&mut self, v: Value) {
        self.events.push(v.to_string());
    }

    fn slice(&mut self, node: NodeId, ts: u64, name: &str, cat: &str, args: Value) {
        let p = pid(node);
        self.slices.insert((p, ts));
        let name = shorten(name, NAME_MAX);
        self.push(json!({"ph": "X", "name": name, "cat": cat, "pid": p, "tid": p, "ts": ts, "dur": 1, "args": args}));
    }

    fn instant(&mut self, node: NodeId, ts: u64, name: &str, cat: &str, args: Value) {
        let p = pid(node);
        let name = shorten(name, NAME_MAX);
        self.push(json!({"ph": "i", "s": "t", "name": name, "cat": cat, "pid": p, "tid": p, "ts": ts, "args": args}));
    }

    fn counter(&mut self, node: NodeId, ts: u64, name: &str, series: &str, value: i64) {
        let name = shorten(name, NAME_MAX);
        self.push(
            json!({"ph": "C", "name": name, "pid": pid(node), "ts": ts, "args": {series: value}}),
        );
    }
}

/// A message seen delivered: a flow from `from` at `sent` to `to` at `ts`.
struct Flow {
    from: NodeId,
    sent: u64,
    to: NodeId,
    ts: u64,
    msg: &'static str,
}

/// Renders the Perfetto JSON of `run` for the records in `window`.
pub fn render(run: &Run, window: Window) -> String {
    let mut out = Out::default();
    metadata(run, &mut out);
    let mut flows = Vec::new();
    let mut counters = Counters::default();
    // (sender, time, +1 sent / -1 arrived) for the messages-in-flight counters.
    let mut in_flight: Vec<(NodeId, u64, i64)> = Vec::new();
    for rec in run.records(window) {
        let ts = rec.time.as_us();
        match &rec.kind {
            TraceKind::Deliver { from, sent, .. } | TraceKind::Drop { from, sent, .. } => {
                in_flight.push((*from, sent.as_us(), 1));
                in_flight.push((*from, ts, -1));
            }
            _ => {}
        }
        if let TraceKind::Deliver {
            from,
            to,
            msg,
            sent,
        } = &rec.kind
        {
            flows.push(Flow {
                from: *from,
                sent: sent.as_us(),
                to: *to,
                ts,
                msg,
            });
        }
        if let TraceKind::Emit { node, event } = &rec.kind {
            counters.observe(*node, ts, event, &mut out);
        }
        record(run, rec, &mut out);
    }
    for (i, f) in flows.iter().enumerate() {
        flow(&mut out, f, i as u64 + 1);
    }
    in_flight_counters(in_flight, &mut out);
    let mut text = String::from("{\"displayTimeUnit\":\"ms\",\"otherData\":");
    text.push_str(&other_data(run).to_string());
    text.push_str(",\"traceEvents\":[\n");
    text.push_str(&out.events.join(",\n"));
    text.push_str("\n]}\n");
    text
}

fn other_data(run: &Run) -> Value {
    let s = &run.summary;
    json!({"scenario": s.scenario, "seed": s.seed, "trace_hash": s.trace_hash, "time_unit": "simulated microseconds"})
}

/// Names the tracks: one process (and thread) per node, in node order, and process 0 for
/// faults that hit the whole network.
fn metadata(run: &Run, out: &mut Out) {
    out.push(
        json!({"ph": "M", "name": "process_name", "pid": 0, "tid": 0, "args": {"name": "network"}}),
    );
    for (i, n) in run.names.iter().enumerate() {
        let p = i as u64 + 1;
        out.push(
            json!({"ph": "M", "name": "process_name", "pid": p, "tid": p, "args": {"name": n}}),
        );
        out.push(json!({"ph": "M", "name": "process_sort_index", "pid": p, "tid": p, "args": {"sort_index": p}}));
        out.push(
            json!({"ph": "M", "name": "thread_name", "pid": p, "tid": p, "args": {"name": n}}),
        );
    }
}

/// One trace record: a slice for a handler invocation, an instant otherwise.
fn record(run: &Run, rec: &TraceRecord<NodeEvent>, out: &mut Out) {
    let ts = rec.time.as_us();
    let ev = rec.event;
    let name = |n: &NodeId| run.name(*n).to_string();
    match &rec.kind {
        TraceKind::Deliver {
            from,
            to,
            msg,
            sent,
        } => {
            let args = json!({"ev": ev, "from": name(from), "sent_us": sent.as_us(), "latency_us": ts - sent.as_us()});
            out.slice(*to, ts, msg, "message", args);
        }
        TraceKind::Timer { node, timer } => {
            out.slice(*node, ts, timer, "timer", json!({"ev": ev}));
        }
        TraceKind::Start { node, incarnation } => {
            let n = if *incarnation == 0 {
                "Start"
            } else {
                "Restart"
            };
            out.slice(
                *node,
                ts,
                n,
                "start",
                json!({"ev": ev, "incarnation": incarnation}),
            );
        }
        TraceKind::Disconnected { node, peer } => {
            out.slice(
                *node,
                ts,
                "Disconnected",
                "network",
                json!({"ev": ev, "peer": name(peer)}),
            );
        }
        TraceKind::Fault(f) => fault(run, rec, f, out),
        TraceKind::Drop {
            from,
            to,
            msg,
            reason,
            ..
        } => {
            let args = json!({"ev": ev, "from": name(from), "reason": reason});
            out.instant(*to, ts, &format!("{msg} dropped"), "message", args);
        }
        TraceKind::Held { from, to, msg } => {
            out.instant(
                *to,
                ts,
                &format!("{msg} held"),
                "message",
                json!({"ev": ev, "from": name(from)}),
            );
        }
        TraceKind::Emit { node, event } => {
            let data = event_data(event);
            let mut args = json!({"ev": ev, "text": shorten(&run.text(rec), TEXT_MAX)});
            if let (Value::Object(a), Value::Object(d)) = (&mut args, &data) {
                a.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            out.instant(
                *node,
                ts,
                &event_name(&data),
                super::event_family(event),
                args,
            );
        }
    }
}

/// A fault: a slice on each node it hits (it runs their crash, restart or signal), or a
/// global instant when it hits no node in particular (`heal`).
fn fault(run: &Run, rec: &TraceRecord<NodeEvent>, f: &FaultRecord, out: &mut Out) {
    let ts = rec.time.as_us();
    let text = shorten(&run.text(rec), TEXT_MAX);
    let args = json!({"ev": rec.event, "text": text, "count": f.count});
    for n in &f.nodes {
        out.slice(*n, ts, &camel(f.verb), "fault", args.clone());
    }
    if f.nodes.is_empty() {
        out.push(json!({"ph": "i", "s": "g", "name": camel(f.verb), "cat": "fault", "pid": 0, "tid": 0, "ts": ts, "args": args}));
    }
}

/// A flow arrow; a stand-in `Send` slice when the sending handler is not in the window.
fn flow(out: &mut Out, f: &Flow, id: u64) {
    if !out.slices.contains(&(pid(f.from), f.sent)) {
        let args =
            json!({"note": "the handler that sent this message is outside the exported window"});
        out.slice(f.from, f.sent, "Send", "message", args);
    }
    let (from, to) = (pid(f.from), pid(f.to));
    out.push(json!({"ph": "s", "name": f.msg, "cat": "message", "id": id, "pid": from, "tid": from, "ts": f.sent}));
    out.push(json!({"ph": "f", "bp": "e", "name": f.msg, "cat": "message", "id": id, "pid": to, "tid": to, "ts": f.ts}));
}

/// Messages in flight per sender: +1 at each send, -1 at each arrival or drop.
fn in_flight_counters(mut deltas: Vec<(NodeId, u64, i64)>, out: &mut Out) {
    deltas.sort_by_key(|&(n, ts, d)| (n, ts, d));
    let mut i = 0;
    let mut level: BTreeMap<NodeId, i64> = BTreeMap::new();
    while i < deltas.len() {
        let (node, ts, _) = deltas[i];
        let l = level.entry(node).or_insert(0);
        while i < deltas.len() && deltas[i].0 == node && deltas[i].1 == ts {
            *l += deltas[i].2;
            i += 1;
        }
        // Messages sent before the window and arriving in it would go below zero.
        let shown = (*l).max(0);
        out.counter(node, ts, "messages in flight", "messages", shown);
    }
}

/// The state behind the counter tracks.
#[derive(Default)]
struct Counters {
    /// Per (broker, partition): last HW and LEO written.
    hw: BTreeMap<(NodeId, TopicPartition), Offset>,
    leo: BTreeMap<(NodeId, TopicPartition), Offset>,
    /// The broker that last became leader of each partition.
    leader: BTreeMap<TopicPartition, NodeId>,
    /// Sends invoked and not yet completed, per producer node.
    pending: BTreeMap<NodeId, i64>,
}

impl Counters {
    fn observe(&mut self, node: NodeId, ts: u64, event: &NodeEvent, out: &mut Out) {
        match event {
            NodeEvent::Kafka(e) => self.kafka(node, ts, e, out),
            NodeEvent::History(op) => self.history(node, ts, op, out),
            NodeEvent::Ping(_) | NodeEvent::Rpc(_) => {}
        }
    }

    fn kafka(&mut self, node: NodeId, ts: u64, e: &KafkaEvent, out: &mut Out) {
        use KafkaEvent::*;
        match e {
            HighWatermark { tp, hw } => self.set_hw(node, ts, tp, *hw, out),
            Appended {
                tp,
                base_offset,
                records,
                ..
            }
            | Replicated {
                tp,
                base_offset,
                records,
            } => self.set_leo(node, ts, tp, *base_offset + *records as i64, out),
            Truncated { tp, to, .. } => self.set_leo(node, ts, tp, *to, out),
            BecameLeader { tp, leo, .. } => {
                self.leader.insert(tp.clone(), node);
                self.set_leo(node, ts, tp, *leo, out);
            }
            LogRecovered { tp, leo, hw } => {
                self.set_leo(node, ts, tp, *leo, out);
                self.set_hw(node, ts, tp, *hw, out);
            }
            LeaderElected { tp, isr, .. } | IsrChanged { tp, isr, .. } => {
                out.counter(node, ts, &format!("ISR {tp}"), "replicas", isr.len() as i64);
            }
            _ => {}
        }
    }

    fn set_hw(&mut self, node: NodeId, ts: u64, tp: &TopicPartition, hw: Offset, out: &mut Out) {
        if self.hw.insert((node, tp.clone()), hw) != Some(hw) {
            out.counter(node, ts, &format!("HW {tp}"), "offset", hw.0);
        }
    }

    fn set_leo(&mut self, node: NodeId, ts: u64, tp: &TopicPartition, leo: Offset, out: &mut Out) {
        if self.leo.insert((node, tp.clone()), leo) != Some(leo) {
            out.counter(node, ts, &format!("LEO {tp}"), "offset", leo.0);
        }
    }

    fn history(&mut self, node: NodeId, ts: u64, op: &HistoryOp, out: &mut Out) {
        let delta = match op {
            HistoryOp::SendInvoke { .. } => 1,
            HistoryOp::SendOk { .. }
            | HistoryOp::SendFail { .. }
            | HistoryOp::SendIndeterminate { .. } => -1,
            HistoryOp::Poll { records, .. } => {
                self.lag(node, ts, records, out);
                return;
            }
            _ => return,
        };
        let p = self.pending.entry(node).or_insert(0);
        *p = (*p + delta).max(0);
        out.counter(node, ts, "sends in flight", "sends", *p);
    }

    /// After a poll: per partition read, the leader's HW minus the next offset to read.
    fn lag(&self, node: NodeId, ts: u64, records: &[(TopicPartition, Offset, u64)], out: &mut Out) {
        let mut next: BTreeMap<&TopicPartition, Offset> = BTreeMap::new();
        for (tp, offset, _) in records {
            next.insert(tp, *offset + 1);
        }
        for (tp, pos) in next {
            let hw = self
                .leader
                .get(tp)
                .and_then(|l| self.hw.get(&(*l, tp.clone())));
            if let Some(hw) = hw {
                out.counter(
                    node,
                    ts,
                    &format!("lag {tp}"),
                    "records",
                    (*hw - pos).max(0),
                );
            }
        }
    }
}
