//! The client history for independent checkers, in the shape Jepsen gives histories.
//!
//! Each client operation is an *invocation* followed later by a *completion* by the same
//! *process*, which is `ok`, `fail` (it definitely did not happen) or `info` (unknown: it
//! may or may not have happened). A process runs one operation at a time, so a client node
//! with many sends in flight (an async producer) uses several processes: an invocation
//! takes the node's lowest free process, an `ok`/`fail` frees it, and an `info` retires it
//! for good (Jepsen's convention: after an indeterminate operation a process is never
//! reused). kafkasim records a `poll` only when it returns, so a poll's invocation and
//! completion share one instant.
//!
//! After the operations come the *final reads*: one poll per partition, by a process of
//! its own, of the partition's whole log after the drain phase healed every fault. With
//! them a checker can tell an acknowledged write that survived from one that was lost.
//!
//! Two renderings: [`json_lines`] (a header line, then one op per line) and [`edn`] (one
//! EDN map per line in the op shape of Jepsen's Kafka workload, `jepsen.tests.kafka`:
//! `{:type :invoke, :f :send, :value [[:send k v]]}` completed as `[[:send k [offset v]]]`,
//! `{:f :poll, :value [[:poll]]}` completed as `[[:poll {k [[offset v] ...]}]]`, with
//! integer keys standing for partitions, `:process` an integer and `:time` nanoseconds).

use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Run;
use crate::kafka::{Offset, TopicPartition};
use crate::sim::TraceKind;
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;

/// How an operation record ends (or that it is an invocation).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl OpType {
    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }
}

/// What an operation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpValue {
    /// A send of `value` to `tp`; `offset` once acknowledged (`None` for acks=0 or when
    /// not acknowledged).
    Send {
        tp: TopicPartition,
        offset: Option<Offset>,
        value: u64,
    },
    /// Records returned by a poll, per partition, in order. `None` for an invocation.
    Poll {
        reads: Option<BTreeMap<TopicPartition, Vec<(Offset, u64)>>>,
        /// A final read of the drained log.
        is_final: bool,
    },
}

/// One history record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    pub index: u64,
    pub op_type: OpType,
    pub process: u64,
    /// The client node (`"drain"` for final reads).
    pub node: String,
    pub time_us: u64,
    /// The kernel event the operation was recorded in (the last event for final reads).
    pub ev: u64,
    pub value: OpValue,
    /// For `fail` and `info`: why.
    pub error: Option<String>,
}

/// The history: operations, the partitions (a partition's Jepsen key is its position
/// here), and which node each process belongs to.
#[derive(Clone, Debug, Default)]
pub struct ClientHistory {
    pub scenario: String,
    pub seed: u64,
    pub partitions: Vec<TopicPartition>,
    pub processes: Vec<String>,
    pub ops: Vec<Op>,
}

impl ClientHistory {
    /// Each partition's Jepsen key: its position in `partitions`.
    pub fn keys(&self) -> BTreeMap<&TopicPartition, usize> {
        self.partitions
            .iter()
            .enumerate()
            .map(|(k, tp)| (tp, k))
            .collect()
    }
}

/// Hands out processes: per node, the lowest free one; `info` retires a process.
#[derive(Default)]
struct Processes {
    names: Vec<String>,
    free: BTreeMap<String, Vec<u64>>,
    /// Per sent value, the process running its send and the partition it names.
    running: BTreeMap<u64, (u64, TopicPartition)>,
}

impl Processes {
    fn take(&mut self, node: &str) -> u64 {
        let free = self.free.entry(node.to_string()).or_default();
        if let Some(p) = free.pop() {
            return p;
        }
        self.names.push(node.to_string());
        self.names.len() as u64 - 1
    }

    fn release(&mut self, node: &str, p: u64) {
        let free = self.free.entry(node.to_string()).or_default();
        free.push(p);
        // Lowest first: pop takes from the end.
        free.sort_unstable_by(|a, b| b.cmp(a));
    }
}

/// Where each value was seen: its acknowledged partition, else a final log or a poll
/// that holds it. A send's invocation names the partition its value went to.
fn value_partitions(run: &Run) -> BTreeMap<u64, TopicPartition> {
    let mut at = BTreeMap::new();
    for (tp, records) in run.final_logs.iter().flat_map(|l| &l.partitions) {
        for (_, v) in records {
            at.insert(v, tp.clone());
        }
    }
    for op in history_ops(run) {
        match &op.2 {
            HistoryOp::SendOk { value, tp, .. } => {
                at.insert(*value, tp.clone());
            }
            HistoryOp::Poll { records, .. } => {
                for (tp, _, v) in records.iter() {
                    at.entry(*v).or_insert_with(|| tp.clone());
                }
            }
            _ => {}
        }
    }
    at
}

/// (event, time, op, node) of every history record kept by the run, in order.
fn history_ops(run: &Run) -> impl Iterator<Item = (u64, u64, HistoryOp, &str)> {
    run.world.kept().iter().filter_map(|r| match r.kind {
        TraceKind::Emit {
            node,
            event: NodeEvent::History(op),
        } => Some((r.event, r.time.as_us(), op, run.name(node))),
        _ => None,
    })
}

/// Builds the client history of a finished run.
pub fn build(run: &Run) -> ClientHistory {
    let mut b = Builder {
        h: ClientHistory {
            scenario: run.summary.scenario.clone(),
            seed: run.summary.seed,
            ..ClientHistory::default()
        },
        procs: Processes::default(),
        at: value_partitions(run),
    };
    for (ev, time_us, op, node) in history_ops(run) {
        b.op(ev, time_us, &op, node);
    }
    b.final_reads(run);
    let mut h = b.h;
    h.processes = b.procs.names;
    h.partitions = partitions(run, &h.ops);
    h
}

/// Every partition the history names, in order: a partition's Jepsen key is its place.
fn partitions(run: &Run, ops: &[Op]) -> Vec<TopicPartition> {
    let mut all: Vec<TopicPartition> = run
        .final_logs
        .iter()
        .flat_map(|l| l.partitions.keys().cloned())
        .collect();
    for op in ops {
        match &op.value {
            OpValue::Send { tp, .. } => all.push(tp.clone()),
            OpValue::Poll { reads, .. } => all.extend(reads.iter().flat_map(|r| r.keys().cloned())),
        }
    }
    all.sort();
    all.dedup();
    all
}

/// The history being built.
struct Builder {
    h: ClientHistory,
    procs: Processes,
    /// Where each value went (see [`value_partitions`]).
    at: BTreeMap<u64, TopicPartition>,
}

impl Builder {
    fn push(&mut self, op: Op) {
        let index = self.h.ops.len() as u64;
        self.h.ops.push(Op { index, ..op });
    }

    /// One kept history operation: sends and polls become ops; the rest (assignments,
    /// processing, commits, crashes) are in the JSON lines trace, not here.
    fn op(&mut self, ev: u64, time_us: u64, op: &HistoryOp, node: &str) {
        let base = |process, op_type, value, error| Op {
            index: 0,
            op_type,
            process,
            node: node.to_string(),
            time_us,
            ev,
            value,
            error,
        };
        match op {
            HistoryOp::SendInvoke { value, topic, .. } => {
                let tp = self.at.get(value).cloned();
                let tp = tp.unwrap_or_else(|| TopicPartition::new(topic, 0));
                let p = self.procs.take(node);
                self.procs.running.insert(*value, (p, tp.clone()));
                let v = OpValue::Send {
                    tp,
                    offset: None,
                    value: *value,
                };
                self.push(base(p, OpType::Invoke, v, None));
            }
            HistoryOp::SendOk { .. }
            | HistoryOp::SendFail { .. }
            | HistoryOp::SendIndeterminate { .. } => {
                if let Some((p, t, v, e)) = complete_send(&mut self.procs, op, node) {
                    self.push(base(p, t, v, e));
                }
            }
            HistoryOp::Poll { records, .. } => {
                let p = self.procs.take(node);
                let mut reads: BTreeMap<TopicPartition, Vec<(Offset, u64)>> = BTreeMap::new();
                for (tp, o, v) in records.iter() {
                    reads.entry(tp.clone()).or_default().push((*o, *v));
                }
                let invoke = OpValue::Poll {
                    reads: None,
                    is_final: false,
                };
                self.push(base(p, OpType::Invoke, invoke, None));
                let ok = OpValue::Poll {
                    reads: Some(reads),
                    is_final: false,
                };
                self.push(base(p, OpType::Ok, ok, None));
                self.procs.release(node, p);
            }
            _ => {}
        }
    }

    /// One final read per partition, by a process of its own, after everything else.
    fn final_reads(&mut self, run: &Run) {
        let Some(logs) = &run.final_logs else { return };
        let p = self.procs.take("drain");
        let (ev, time_us) = (run.world.events(), run.world.now().as_us());
        for (tp, records) in &logs.partitions {
            let op = |op_type, reads| Op {
                index: 0,
                op_type,
                process: p,
                node: "drain".to_string(),
                time_us,
                ev,
                value: OpValue::Poll {
                    reads,
                    is_final: true,
                },
                error: None,
            };
            self.push(op(OpType::Invoke, None));
            let reads = BTreeMap::from([(tp.clone(), records.iter().collect())]);
            self.push(op(OpType::Ok, Some(reads)));
        }
    }
}

/// The completion of a send: (process, type, value, error). `None` for a completion of a
/// send never invoked (it has no process to complete on).
fn complete_send(
    procs: &mut Processes,
    op: &HistoryOp,
    node: &str,
) -> Option<(u64, OpType, OpValue, Option<String>)> {
    let (value, t, offset, error) = match op {
        HistoryOp::SendOk { value, offset, .. } => (
            *value,
            OpType::Ok,
            Some(*offset).filter(|o| *o >= Offset::ZERO),
            None,
        ),
        HistoryOp::SendFail { value, error } => {
            (*value, OpType::Fail, None, Some(error.name().to_string()))
        }
        HistoryOp::SendIndeterminate { value, reason } => {
            (*value, OpType::Info, None, Some(reason.clone()))
        }
        _ => return None,
    };
    // The partition is the invocation's (which already knows where the value went).
    let (p, tp) = procs.running.remove(&value)?;
    if t != OpType::Info {
        procs.release(node, p);
    }
    Some((p, t, OpValue::Send { tp, offset, value }, error))
}

/// The history as JSON lines: a header, then one op per line (docs/export-format.md).
pub fn json_lines(h: &ClientHistory) -> String {
    let partitions: Vec<String> = h.partitions.iter().map(|t| t.to_string()).collect();
    let mut out = json!({
        "schema_version": super::jsonl::SCHEMA_VERSION,
        "format": "kafkasim-history",
        "scenario": h.scenario,
        "seed": h.seed,
        "partitions": partitions,
        "processes": h.processes.len(),
    })
    .to_string();
    out.push('\n');
    for op in &h.ops {
        let mut v = json!({
            "index": op.index,
            "type": op.op_type.as_str(),
            "process": op.process,
            "node": op.node,
            "time_us": op.time_us,
            "ev": op.ev,
        });
        let m = v.as_object_mut().expect("an object");
        match &op.value {
            OpValue::Send { tp, offset, value } => {
                m.insert("f".into(), "send".into());
                m.insert("tp".into(), tp.to_string().into());
                m.insert("topic".into(), (*tp.topic).into());
                m.insert("partition".into(), tp.partition.into());
                m.insert("offset".into(), json!(offset));
                m.insert("value".into(), (*value).into());
            }
            OpValue::Poll { reads, is_final } => {
                m.insert("f".into(), "poll".into());
                m.insert("final".into(), (*is_final).into());
                if let Some(reads) = reads {
                    let r: BTreeMap<String, &Vec<(Offset, u64)>> =
                        reads.iter().map(|(tp, rs)| (tp.to_string(), rs)).collect();
                    m.insert("reads".into(), json!(r));
                }
            }
        }
        if let Some(e) = &op.error {
            m.insert("error".into(), e.clone().into());
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// An EDN keyword from free text: `NOT_ENOUGH_REPLICAS` → `:not-enough-replicas`.
fn keyword(s: &str) -> String {
    let k: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let k = k.trim_matches('-');
    format!(":{}", if k.is_empty() { "unknown" } else { k })
}

/// An EDN string literal.
fn edn_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// The history as Jepsen EDN, one op map per line after `;` comment lines naming the
/// keys and processes.
pub fn edn(h: &ClientHistory) -> String {
    let mut out = format!(
        "; kafkasim client history of {} (seed {}) in the op shape of Jepsen's Kafka workload\n",
        edn_string(&h.scenario),
        h.seed
    );
    for (k, tp) in h.partitions.iter().enumerate() {
        let _ = writeln!(out, "; key {k} = partition {tp}");
    }
    let keys = h.keys();
    for op in &h.ops {
        let value = edn_value(&keys, op);
        let _ = write!(
            out,
            "{{:index {}, :type :{}, :f {}, :value {value}, :process {}, :time {}, :node {}, :ev {}",
            op.index,
            op.op_type.as_str(),
            if matches!(op.value, OpValue::Send { .. }) { ":send" } else { ":poll" },
            op.process,
            op.time_us * 1000,
            edn_string(&op.node),
            op.ev
        );
        if matches!(op.value, OpValue::Poll { is_final: true, .. }) {
            out.push_str(", :final? true");
        }
        if let Some(e) = &op.error {
            // A failure names Kafka's error; an unknown outcome says so and why.
            let k = match op.op_type {
                OpType::Info => ":indeterminate".to_string(),
                _ => keyword(e),
            };
            let _ = write!(out, ", :error [{k} {}]", edn_string(e));
        }
        out.push_str("}\n");
    }
    out
}

fn edn_value(keys: &BTreeMap<&TopicPartition, usize>, op: &Op) -> String {
    let key = |tp: &TopicPartition| keys.get(tp).copied().unwrap_or(0);
    match &op.value {
        OpValue::Send { tp, offset, value } => {
            let k = key(tp);
            match (op.op_type, offset) {
                (OpType::Ok, Some(o)) => format!("[[:send {k} [{o} {value}]]]"),
                (OpType::Ok, None) => format!("[[:send {k} [nil {value}]]]"),
                _ => format!("[[:send {k} {value}]]"),
            }
        }
        OpValue::Poll { reads: None, .. } => "[[:poll]]".to_string(),
        OpValue::Poll {
            reads: Some(reads), ..
        } => {
            let mut m = String::new();
            for (tp, records) in reads {
                let pairs: Vec<String> =
                    records.iter().map(|(o, v)| format!("[{o} {v}]")).collect();
                let _ = write!(
                    m,
                    "{}{} [{}]",
                    if m.is_empty() { "" } else { ", " },
                    key(tp),
                    pairs.join(" ")
                );
            }
            format!("[[:poll {{{m}}}]]")
        }
    }
}
