//! Explaining an anomaly: its causal story, assembled from the trace and the client history.
//!
//! A lost write is told as Kafka would tell it: which broker appended the record and in which
//! leader epoch; the acknowledgement, with the high watermark that leader had then (below
//! the record's offset: no follower had confirmed it); the faults that touched that broker
//! (cut off, killed, fenced, restarted); the election of a replica whose LEO did not reach
//! the offset; and the truncation that removed the offset — the moment of the loss. Each
//! step is read from the run, never assumed: a step the trace does not show is said to be
//! unknown. Duplicates and lost processing get stories of their own; other kinds list the
//! events where the checker saw them.
//!
//! The rare Kafka events (elections, truncations, recoveries) come from the records the
//! kernel keeps in every trace mode ([`Facts`], built once per run); the append and the
//! high watermark at the acknowledgement are read on demand by regenerating the trace
//! between `send()` and the ack and the world at the ack from the replay's checkpoints.

use crate::kafka::event::TruncationReason;
use crate::kafka::{KafkaEvent, TopicPartition};
use crate::sim::{NodeId, Time, TraceKind, TraceRecord};
use crate::view_model::story::{broker_id, cut_peers, replica_state, Step, StepKind, Story};
use crate::view_model::{AnomalyView, MarkerKind};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
use crate::workload::kept::HistoryStore;
use crate::workload::node::SimNode;

use super::replay::Replay;

/// A truncation of one replica's log.
#[derive(Clone, Debug)]
pub struct Truncation {
    pub event: u64,
    pub time: Time,
    pub node: NodeId,
    pub tp: TopicPartition,
    pub from_leo: i64,
    pub to: i64,
    pub reason: TruncationReason,
}

/// An election by the controller, with the new leader's LEO when it took over.
#[derive(Clone, Debug)]
pub struct Election {
    pub event: u64,
    pub time: Time,
    pub tp: TopicPartition,
    pub leader: u32,
    pub epoch: String,
    pub isr: Vec<u32>,
    pub unclean: bool,
    /// From the new leader's `BecameLeader` in that epoch.
    pub leo: Option<i64>,
}

/// The rare Kafka events of a whole run (and its drain phase), from the kept records.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub truncations: Vec<Truncation>,
    pub elections: Vec<Election>,
    /// (event, time, node, partition, LEO recovered from disk).
    pub recoveries: Vec<(u64, Time, NodeId, TopicPartition, i64)>,
}

impl Facts {
    pub fn from_kept(kept: &HistoryStore) -> Facts {
        let mut f = Facts::default();
        let mut became: Vec<(TopicPartition, String, i64)> = Vec::new();
        for r in kept.iter() {
            let TraceKind::Emit {
                node,
                event: NodeEvent::Kafka(e),
            } = &r.kind
            else {
                continue;
            };
            match &**e {
                KafkaEvent::Truncated {
                    tp,
                    from_leo,
                    to,
                    reason,
                    ..
                } => f.truncations.push(Truncation {
                    event: r.event,
                    time: r.time,
                    node: *node,
                    tp: tp.clone(),
                    from_leo: from_leo.0,
                    to: to.0,
                    reason: *reason,
                }),
                KafkaEvent::LeaderElected {
                    tp,
                    leader,
                    leader_epoch,
                    isr,
                    unclean,
                    ..
                } => f.elections.push(Election {
                    event: r.event,
                    time: r.time,
                    tp: tp.clone(),
                    leader: leader.0,
                    epoch: leader_epoch.to_string(),
                    isr: isr.iter().map(|b| b.0).collect(),
                    unclean: *unclean,
                    leo: None,
                }),
                KafkaEvent::BecameLeader {
                    tp,
                    leader_epoch,
                    leo,
                } => became.push((tp.clone(), leader_epoch.to_string(), leo.0)),
                KafkaEvent::LogRecovered { tp, leo, .. } => {
                    f.recoveries
                        .push((r.event, r.time, *node, tp.clone(), leo.0))
                }
                _ => {}
            }
        }
        for e in &mut f.elections {
            e.leo = became
                .iter()
                .find(|(tp, ep, _)| *tp == e.tp && *ep == e.epoch)
                .map(|b| b.2);
        }
        f
    }

    /// When the record at `tp` offset `offset`, acknowledged in event `after`, left the
    /// last replica that cut it: the last truncation of that offset after the ack, or
    /// else a recovery from disk that came back without it.
    pub fn loss(&self, tp: &TopicPartition, offset: i64, after: u64) -> Option<(u64, Time)> {
        self.truncations_of(tp, offset, after)
            .last()
            .map(|t| (t.event, t.time))
            .or_else(|| {
                self.recoveries
                    .iter()
                    .find(|r| r.0 > after && r.3 == *tp && r.4 <= offset)
                    .map(|r| (r.0, r.1))
            })
    }

    fn truncations_of<'a>(
        &'a self,
        tp: &'a TopicPartition,
        offset: i64,
        after: u64,
    ) -> impl Iterator<Item = &'a Truncation> + 'a {
        self.truncations.iter().filter(move |t| {
            t.event > after && t.tp == *tp && t.to <= offset && offset < t.from_leo
        })
    }
}

/// What a story is built from.
pub struct Ctx<'a> {
    pub replay: &'a Replay<SimNode>,
    pub kept: &'a HistoryStore,
    pub facts: &'a Facts,
    /// `acks` of a producer, by node name.
    pub acks: &'a dyn Fn(&str) -> Option<String>,
}

impl Ctx<'_> {
    fn name(&self, id: NodeId) -> String {
        self.replay.name(id)
    }

    /// A step at event `e` (jumpable only when the replay holds it, not in the drain).
    fn step(&self, kind: StepKind, e: u64, time: Time, text: String) -> Step {
        let total = self.replay.total();
        let drain = e > total;
        Step {
            kind,
            event: (!drain).then_some(e),
            time: Some(time),
            text: if drain {
                format!("{text} (in the drain phase, after the run)")
            } else {
                text
            },
        }
    }

    /// The history operations about `value`, in order: (event, time, node, op).
    fn history_of(&self, value: u64) -> Vec<(u64, Time, NodeId, HistoryOp)> {
        self.kept
            .iter()
            .filter_map(|r| match r.kind {
                TraceKind::Emit {
                    node,
                    event: NodeEvent::History(op),
                } if op_value(&op) == Some(value) => Some((r.event, r.time, node, op)),
                _ => None,
            })
            .collect()
    }
}

fn op_value(op: &HistoryOp) -> Option<u64> {
    match op {
        HistoryOp::SendInvoke { value, .. }
        | HistoryOp::SendOk { value, .. }
        | HistoryOp::SendFail { value, .. }
        | HistoryOp::SendIndeterminate { value, .. } => Some(*value),
        _ => None,
    }
}

fn unknown(text: String) -> Step {
    Step {
        kind: StepKind::Unknown,
        event: None,
        time: None,
        text,
    }
}

/// The story of anomaly `a`.
pub fn explain(cx: &Ctx, a: &AnomalyView) -> Story {
    let mut story = match a.kind.as_str() {
        "lost-write" => lost_write(cx, a),
        "duplicate" => duplicate(cx, a),
        "lost-processing" => lost_processing(cx, a),
        _ => None,
    }
    .unwrap_or_else(|| arose(cx, a));
    let loss_at = story.loss.map(|i| story.steps[i].clone());
    story
        .steps
        .sort_by_key(|s| (s.time.is_none(), s.time, s.event));
    story.loss = loss_at.and_then(|l| story.steps.iter().position(|s| *s == l));
    story
}

fn tp_of(rec: &(String, u32, i64, u64)) -> TopicPartition {
    TopicPartition::new(&rec.0, rec.1)
}

/// The last `Appended` of `tp` covering `offset` in `recs`: (event, time, node, epoch).
fn append_of(
    recs: &[TraceRecord<NodeEvent>],
    tp: &TopicPartition,
    offset: i64,
) -> Option<(u64, Time, NodeId, String)> {
    recs.iter().rev().find_map(|r| match &r.kind {
        TraceKind::Emit {
            node,
            event: NodeEvent::Kafka(e),
        } => match &**e {
            KafkaEvent::Appended {
                tp: t,
                base_offset,
                records,
                leader_epoch,
                ..
            } if t == tp
                && base_offset.0 <= offset
                && offset < base_offset.0 + i64::from(*records) =>
            {
                Some((r.event, r.time, *node, leader_epoch.to_string()))
            }
            _ => None,
        },
        _ => None,
    })
}

/// Acknowledged, then lost: append, ack, faults, election, truncation.
fn lost_write(cx: &Ctx, a: &AnomalyView) -> Option<Story> {
    let rec = a.records.first()?;
    let (tp, offset, value) = (tp_of(rec), rec.2, rec.3);
    let hist = cx.history_of(value);
    let (ack_ev, ack_t, producer) = hist
        .iter()
        .find(|h| matches!(h.3, HistoryOp::SendOk { .. }))
        .map(|h| (h.0, h.1, h.2))?;
    let sent = hist
        .iter()
        .find(|h| matches!(h.3, HistoryOp::SendInvoke { .. }));
    let from = sent.map_or(ack_ev.saturating_sub(50_000), |h| h.0);
    let recs = cx.replay.records_between(from, ack_ev);
    let appended = append_of(&recs, &tp, offset);
    let mut steps = Vec::new();
    let leader = appended.as_ref().map(|(e, t, node, epoch)| {
        let text = format!(
            "{} appended it at {tp} offset {offset} (leader, epoch {epoch})",
            cx.name(*node)
        );
        steps.push(cx.step(StepKind::Appended, *e, *t, text));
        *node
    });
    if leader.is_none() {
        steps.push(unknown(format!(
            "which broker appended offset {offset}: not found in the trace before the ack"
        )));
    }
    steps.push(ack_step(cx, leader, &tp, offset, producer, ack_ev, ack_t));
    let loss = cx.facts.loss(&tp, offset, ack_ev);
    let until = loss.map_or(u64::MAX, |l| l.0);
    steps.extend(fault_steps(cx, leader, ack_ev, until));
    let lid = leader.and_then(|l| broker_id(cx.replay.world(), l));
    if let Some(e) = cx
        .facts
        .elections
        .iter()
        .find(|e| e.tp == tp && e.event > ack_ev && e.event < until && Some(e.leader) != lid)
    {
        steps.push(election_step(cx, e, offset));
    }
    let mut story = Story { steps, loss: None };
    loss_steps(cx, &mut story, &tp, offset, ack_ev, leader);
    Some(story)
}

fn ack_step(
    cx: &Ctx,
    leader: Option<NodeId>,
    tp: &TopicPartition,
    offset: i64,
    producer: NodeId,
    e: u64,
    t: Time,
) -> Step {
    let who = cx.name(producer);
    let acks = (cx.acks)(&who).map_or(String::new(), |a| format!(" (acks={a})"));
    let Some(l) = leader else {
        let text = format!("acked to {who}{acks}: {tp} offset {offset}");
        return cx.step(StepKind::Acked, e, t, text);
    };
    let w = cx.replay.world_at(e);
    let hw = replica_state(&w, l, tp).and_then(|s| s.hw);
    let state = match hw {
        Some(hw) if (hw as i64) <= offset => {
            format!("; its HW {hw} ≤ {offset}: not on all in-sync replicas")
        }
        Some(hw) => format!("; its HW {hw} > {offset}: on every in-sync replica"),
        None => "; its HW then is unknown".to_string(),
    };
    let text = format!("acked to {who}{acks} by {}{state}", cx.name(l));
    cx.step(StepKind::Acked, e, t, text)
}

/// Faults that touched the leader, from the last one before the ack up to the loss (every
/// fault when the leader is unknown), at most six; heals are left out (they touch all).
fn fault_steps(cx: &Ctx, leader: Option<NodeId>, ack: u64, until: u64) -> Vec<Step> {
    let r = cx.replay;
    let events: Vec<u64> = r
        .markers()
        .iter()
        .filter(|m| m.kind == MarkerKind::Fault && m.event <= until.min(r.total()))
        .map(|m| m.event)
        .collect();
    let mut evs = events.clone();
    evs.dedup();
    let recs = r.records_of(&evs);
    let lid = leader.and_then(|l| broker_id(r.world(), l));
    let touches = |rec: &TraceRecord<NodeEvent>| match &rec.kind {
        TraceKind::Fault(f) => {
            f.unresolved.is_none()
                && f.verb != "heal"
                && leader.is_none_or(|l| f.nodes.contains(&l))
        }
        TraceKind::Emit {
            event: NodeEvent::Kafka(e),
            ..
        } => {
            matches!(&**e, KafkaEvent::BrokerFenced { broker } if lid.is_none_or(|l| broker.0 == l))
        }
        _ => false,
    };
    let hits: Vec<&TraceRecord<NodeEvent>> = recs.iter().filter(|x| touches(x)).collect();
    let start = hits.iter().rposition(|x| x.event <= ack).unwrap_or(0);
    hits[start..]
        .iter()
        .take(6)
        .map(|x| cx.step(StepKind::Fault, x.event, x.time, fault_text(cx, x, leader)))
        .collect()
}

fn fault_text(cx: &Ctx, r: &TraceRecord<NodeEvent>, leader: Option<NodeId>) -> String {
    let names = |ids: &[NodeId]| {
        let mut v: Vec<String> = ids.iter().map(|i| cx.name(*i)).collect();
        v.dedup();
        v.join(", ")
    };
    match &r.kind {
        TraceKind::Fault(f) if matches!(f.verb, "partition" | "isolate" | "cut") => {
            let Some(l) = leader else {
                return format!("{}: {}", f.verb, names(&f.nodes));
            };
            let cut = cut_peers(&cx.replay.world_at(r.event), l);
            format!("{}: {} cut off from {}", f.verb, cx.name(l), names(&cut))
        }
        TraceKind::Fault(f) => format!("{} {}", f.verb, names(&f.nodes)),
        TraceKind::Emit {
            event: NodeEvent::Kafka(e),
            ..
        } => match &**e {
            KafkaEvent::BrokerFenced { broker } => format!(
                "controller fenced broker-{broker}: no heartbeat in broker.session.timeout.ms"
            ),
            other => other.explain(),
        },
        _ => String::new(),
    }
}

fn election_step(cx: &Ctx, e: &Election, offset: i64) -> Step {
    let isr: Vec<String> = e.isr.iter().map(|b| b.to_string()).collect();
    let how = if e.unclean { "UNCLEAN election: " } else { "" };
    let leo = match e.leo {
        Some(leo) if leo <= offset => format!("; its LEO {leo} ≤ {offset}: it never had it"),
        Some(leo) => format!("; its LEO {leo} > {offset}"),
        None => "; its LEO then is unknown".to_string(),
    };
    let text = format!(
        "{how}elected broker-{} (epoch {}){leo}; {} ISR {}",
        e.leader,
        e.epoch,
        e.tp,
        isr.join(",")
    );
    cx.step(StepKind::Elected, e.event, e.time, text)
}

/// The truncations that removed the offset (the last is the loss), or a recovery from disk
/// without it, or a plain "unknown".
fn loss_steps(
    cx: &Ctx,
    story: &mut Story,
    tp: &TopicPartition,
    offset: i64,
    ack: u64,
    leader: Option<NodeId>,
) {
    let cuts: Vec<&Truncation> = cx.facts.truncations_of(tp, offset, ack).collect();
    for t in cuts.iter().rev().take(3).rev() {
        let why = match t.reason {
            TruncationReason::LeaderEpoch => "diverged from the leader's epoch",
            TruncationReason::HighWatermark => "to its own high watermark",
            TruncationReason::OutOfRange => "fetch offset out of range",
            TruncationReason::BelowLogStart => "its log ended below the leader's log start",
        };
        let text = format!(
            "{} truncated {tp} from LEO {} to {}, removing offset {offset} ({why})",
            cx.name(t.node),
            t.from_leo,
            t.to
        );
        story
            .steps
            .push(cx.step(StepKind::Truncated, t.event, t.time, text));
    }
    if !cuts.is_empty() {
        story.loss = Some(story.steps.len() - 1);
        return;
    }
    let rec = cx
        .facts
        .recoveries
        .iter()
        .find(|r| r.0 > ack && r.3 == *tp && r.4 <= offset && leader.is_none_or(|l| r.2 == l));
    if let Some(r) = rec {
        let text = format!(
            "{} recovered {tp} from disk with LEO {} ≤ offset {offset}: the record never reached its disk",
            cx.name(r.2),
            r.4
        );
        story
            .steps
            .push(cx.step(StepKind::Recovered, r.0, r.1, text));
        story.loss = Some(story.steps.len() - 1);
        return;
    }
    story.steps.push(unknown(format!(
        "how offset {offset} left the log: no replica truncated it in the trace"
    )));
}

/// One value stored twice: the send, each append, the retry between, the ack.
fn duplicate(cx: &Ctx, a: &AnomalyView) -> Option<Story> {
    let value = a.records.first()?.3;
    let hist = cx.history_of(value);
    let mut steps = Vec::new();
    let (from, producer) = match hist.first() {
        Some(h) => (h.0, Some(h.2)),
        None => (a.event, None),
    };
    let to = hist
        .last()
        .map_or(a.event, |h| h.0)
        .max(a.events.last().copied().unwrap_or(0));
    let recs = cx.replay.records_between(from, to);
    for (e, t, _, op) in &hist {
        let text = match op {
            HistoryOp::SendInvoke { .. } => format!("the application called send({value})"),
            HistoryOp::SendOk { tp, offset, .. } => {
                format!("the producer got the acknowledgement: {tp} offset {offset}")
            }
            _ => continue,
        };
        let kind = if text.starts_with("the app") {
            StepKind::Sent
        } else {
            StepKind::Acked
        };
        steps.push(cx.step(kind, *e, *t, text));
    }
    if let Some((e, t, text)) = first_retry(cx, &recs, producer) {
        steps.push(cx.step(StepKind::Retried, e, t, text));
    }
    for rec in &a.records {
        let tp = tp_of(rec);
        match append_of(&recs, &tp, rec.2) {
            Some((e, t, node, epoch)) => {
                let text = format!("{} appended it at {tp} offset {} (epoch {epoch})", cx.name(node), rec.2);
                steps.push(cx.step(StepKind::Appended, e, t, text));
            }
            None => steps.push(unknown(format!(
                "stored at {tp} offset {}: its append is not in the trace between send() and the ack",
                rec.2
            ))),
        }
    }
    Some(Story { steps, loss: None })
}

/// The producer's first failed attempt that it retried, in `recs`.
fn first_retry(
    cx: &Ctx,
    recs: &[TraceRecord<NodeEvent>],
    producer: Option<NodeId>,
) -> Option<(u64, Time, String)> {
    recs.iter().find_map(|r| match &r.kind {
        TraceKind::Emit {
            node,
            event: NodeEvent::Kafka(e),
        } if Some(*node) == producer => match &**e {
            KafkaEvent::ProduceFailed {
                tp,
                error,
                will_retry: true,
                ..
            } => Some((
                r.event,
                r.time,
                format!(
                    "{}: a produce to {tp} failed with {error}; the producer sends the batch again",
                    cx.name(*node)
                ),
            )),
            _ => None,
        },
        _ => None,
    })
}

/// A record in the log no member processed: acked, polled, committed past, crashed.
fn lost_processing(cx: &Ctx, a: &AnomalyView) -> Option<Story> {
    let rec = a.records.first()?;
    let (tp, offset, value) = (tp_of(rec), rec.2, rec.3);
    let mut steps = Vec::new();
    if let Some((e, t, n, _)) = cx
        .history_of(value)
        .into_iter()
        .find(|h| matches!(h.3, HistoryOp::SendOk { .. }))
    {
        let text = format!(
            "{} got the acknowledgement: {tp} offset {offset}",
            cx.name(n)
        );
        steps.push(cx.step(StepKind::Acked, e, t, text));
    }
    let mut poller: Option<(NodeId, u64)> = None;
    let mut committed = false;
    for r in cx.kept.iter() {
        let TraceKind::Emit {
            node,
            event: NodeEvent::History(op),
        } = &r.kind
        else {
            continue;
        };
        match op {
            HistoryOp::Poll { records, .. }
                if poller.is_none() && records.iter().any(|x| x.2 == value) =>
            {
                poller = Some((*node, r.event));
                let text = format!("{} polled it", cx.name(*node));
                steps.push(cx.step(StepKind::Polled, r.event, r.time, text));
            }
            HistoryOp::CommitOk { offsets } if !committed => {
                let Some((_, next)) = offsets.iter().find(|(t, o)| *t == tp && o.0 > offset) else {
                    continue;
                };
                committed = true;
                let text = format!(
                    "{} committed offset {next} for {tp}: the group will not read offset {offset} again",
                    cx.name(*node)
                );
                steps.push(cx.step(StepKind::Committed, r.event, r.time, text));
            }
            HistoryOp::Crashed if poller.is_some_and(|p| p.0 == *node && p.1 < r.event) => {
                let text = format!("{} crashed before processing it", cx.name(*node));
                steps.push(cx.step(StepKind::Crashed, r.event, r.time, text));
                poller = poller.map(|p| (p.0, u64::MAX));
            }
            _ => {}
        }
    }
    steps.push(Step {
        kind: StepKind::Arose,
        event: None,
        time: None,
        text: "no member ever processed it (the history has no Processed for it)".to_string(),
    });
    Some(Story { steps, loss: None })
}

/// Kinds without a story of their own: where the checker saw the anomaly arise.
fn arose(cx: &Ctx, a: &AnomalyView) -> Story {
    let mut steps: Vec<Step> = a
        .events
        .iter()
        .take(6)
        .map(|&e| {
            let t = if e == a.event {
                a.time
            } else {
                time_of(cx.kept, e).unwrap_or(a.time)
            };
            cx.step(
                StepKind::Arose,
                e,
                t,
                format!("the checker saw it at event {e}"),
            )
        })
        .collect();
    steps.push(unknown(format!(
        "no causal story for {} yet: step through the events above",
        a.kind
    )));
    Story { steps, loss: None }
}

/// The time of event `e`, from the kept records at or after it.
fn time_of(kept: &HistoryStore, e: u64) -> Option<Time> {
    kept.iter().find(|r| r.event >= e).map(|r| r.time)
}
