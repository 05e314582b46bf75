//! One run being shown: its scenario, its replay, the clock at the cursor, and what the
//! views draw of it now (the snapshot, the event log near the cursor, the filter's matches).
//!
//! **The clock.** The cursor is an event, but time passes between events: playback moves
//! the clock continuously and the world stands at the last event at or before it, so an idle
//! stretch of the run passes visibly instead of freezing on the last event.
//!
//! **The verdict.** The anomalies shown are `kafkasim check`'s: the run is judged as the
//! CLI judges it — the live replication invariants after every event, liveness on the state
//! it ended in, then the drain phase (heal, restart, let consumers catch up), then the
//! history analysis — on the replay's own final world.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::replay::{Replay, ReplayConfig};
use super::search::RecordRef;
use super::story::{self, Facts};
use crate::check::invariants::{CheckedRun, Violation};
use crate::kafka::TopicPartition;
use crate::scenario::build::{build, BuildError};
use crate::scenario::Scenario;
use crate::sim::closes::Closes;
use crate::sim::{NodeId, Time, TraceKind, TraceMode, TraceRecord, World};
use crate::view_model::figures::ClientTally;
use crate::view_model::story::Story;
use crate::view_model::{record_nodes, AnomalyView, NoteView, Snapshot};
use crate::workload::event::NodeEvent;
use crate::workload::kept::HistoryStore;
use crate::workload::node::SimNode;

/// One trace line, explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    pub event: u64,
    pub time: Time,
    /// `deliver`, `drop`, `held`, `timer`, `fault`, `start`, `disconnect`, `emit`.
    pub kind: &'static str,
    /// The nodes involved (the receiver first for messages).
    pub nodes: Vec<NodeId>,
    /// For messages: sender, receiver and label.
    pub msg: Option<(NodeId, NodeId, &'static str)>,
    pub text: String,
}

/// Events of trace shown around the cursor.
const WINDOW: u64 = 256;
/// Matches of the filter shown on each side of the cursor.
const MATCHES_AROUND: usize = 40;

/// The filter's answer over the whole run.
pub struct Search {
    pub query: String,
    /// Every matching record of the run, in order.
    pub matches: Vec<RecordRef>,
    /// Matches `lo..hi` (indexes into `matches`) explained, around the cursor.
    lo: usize,
    hi: usize,
    pub lines: Vec<LogLine>,
}

/// One run being shown.
pub struct Side {
    pub label: String,
    pub scenario: Scenario,
    pub seed: u64,
    pub replay: Replay<SimNode>,
    pub snapshot: Snapshot,
    pub log: Vec<LogLine>,
    pub search: Option<Search>,
    /// Simulated time at the cursor: at or after the cursor event's, before the next one's.
    clock: Time,
    tally: ClientTally,
    /// The records the kernel kept over the whole run and its drain phase (the client
    /// history, elections, truncations): what the anomalies' stories are read from.
    kept: HistoryStore,
    facts: Facts,
    /// Per anomaly (in the replay's order): when the record was lost, where known.
    losses: Vec<Option<(u64, Time)>>,
    /// Stories told so far, by anomaly index (built when first selected).
    stories: BTreeMap<usize, Story>,
    /// How long `check`'s drain phase ran after the replay's end, in simulated ms (`None`:
    /// no cluster to drain, or an invariant broke first).
    pub drain_ms: Option<u64>,
}

impl Side {
    /// Builds and replays `scenario` with `seed`, and judges it as `kafkasim check` does.
    pub fn new(label: &str, scenario: Scenario, seed: u64) -> Result<Side, BuildError> {
        let world = build(&scenario, seed, TraceMode::HashOnly)?;
        let cfg = ReplayConfig {
            end: Time(scenario.duration_us),
            max_events: scenario.max_events,
            notes: scenario
                .notes
                .iter()
                .map(|n| NoteView {
                    at: Time(n.at_us),
                    text: n.text.clone(),
                    pause: n.pause,
                })
                .collect(),
            ..ReplayConfig::default()
        };
        let mut kept = HistoryStore::default();
        let mut drain_ms = None;
        // The live replication invariants, after every event as `check` runs them; the
        // first violation ends the checking (and is the verdict, as in `check`).
        let live = RefCell::new(Live::default());
        let watch = |w: &World<SimNode>| {
            let mut l = live.borrow_mut();
            if l.broken.is_none() {
                if let Err(v) = l.run.check(w) {
                    l.broken = Some(v);
                }
            }
        };
        let replay = Replay::build(world, cfg, watch, |w| {
            let (anomalies, k, drained) = verdict(&scenario, w, &mut live.borrow_mut());
            kept = k;
            drain_ms = drained;
            anomalies
        });
        let facts = Facts::from_kept(&kept);
        let losses = replay
            .anomalies()
            .iter()
            .map(|a| match (a.kind.as_str(), a.records.first()) {
                ("lost-write", Some(r)) => {
                    facts.loss(&TopicPartition::new(&r.0, r.1), r.2, a.event)
                }
                _ => None,
            })
            .collect();
        let mut side = Side {
            label: label.to_string(),
            scenario,
            seed,
            replay,
            snapshot: Snapshot::default(),
            log: Vec::new(),
            search: None,
            clock: Time(0),
            tally: ClientTally::default(),
            kept,
            facts,
            losses,
            stories: BTreeMap::new(),
            drain_ms,
        };
        side.refresh();
        Ok(side)
    }

    /// The simulated time at the cursor.
    pub fn now(&self) -> Time {
        self.clock
    }

    /// Moves the cursor to event `n`; the clock shows that event's time.
    pub fn seek(&mut self, n: u64) {
        self.replay.seek(n);
        self.clock = self.replay.world().now();
        self.refresh();
    }

    /// Moves the clock to `t` and the cursor to the last event at or before it.
    pub fn seek_time(&mut self, t: Time) {
        self.replay.seek_time(t);
        self.clock = t.max(self.replay.world().now());
        self.refresh();
    }

    /// Recomputes what the views draw after the cursor moved.
    pub fn refresh(&mut self) {
        self.snapshot = crate::view_model::observe::snapshot(self.replay.world(), &mut self.tally);
        self.snapshot.time = self.clock;
        let c = self.replay.cursor();
        let lo = (c.saturating_sub(WINDOW) / WINDOW) * WINDOW + 1;
        let hi = lo + 3 * WINDOW;
        let names: Vec<String> = self.replay.names().to_vec();
        let recs = if self.replay.total() == 0 {
            Vec::new()
        } else {
            self.replay.records(lo, hi).to_vec()
        };
        let closes = self.replay.closes();
        self.log = recs.iter().map(|r| log_line(r, &names, closes)).collect();
        self.refresh_search();
    }

    /// Sets the event log's filter (empty: none) and finds its matches in the whole run.
    pub fn set_filter(&mut self, query: &str) {
        if query.trim().is_empty() {
            self.search = None;
            return;
        }
        if self.search.as_ref().is_some_and(|s| s.query == query) {
            return;
        }
        self.search = Some(Search {
            query: query.to_string(),
            matches: self.replay.index().search(query),
            lo: usize::MAX,
            hi: 0,
            lines: Vec::new(),
        });
        self.refresh_search();
    }

    /// Explains the matches around the cursor (regenerated only when the cursor moved far).
    fn refresh_search(&mut self) {
        let Some(s) = &self.search else {
            return;
        };
        let c = self.replay.cursor();
        let at = s.matches.partition_point(|m| m.0 < c.max(1));
        let len = s.matches.len();
        let need = (
            at.saturating_sub(MATCHES_AROUND / 2),
            (at + MATCHES_AROUND / 2).min(len),
        );
        if s.lo != usize::MAX && s.lo <= need.0 && s.hi >= need.1 {
            return;
        }
        let (lo, hi) = (
            at.saturating_sub(MATCHES_AROUND),
            (at + MATCHES_AROUND).min(len),
        );
        let wanted: Vec<RecordRef> = s.matches[lo..hi].to_vec();
        let mut events: Vec<u64> = wanted.iter().map(|m| m.0).collect();
        events.dedup();
        let recs = self.replay.records_of(&events);
        let mut by_event: BTreeMap<u64, Vec<&TraceRecord<NodeEvent>>> = BTreeMap::new();
        for r in &recs {
            by_event.entry(r.event).or_default().push(r);
        }
        let names: Vec<String> = self.replay.names().to_vec();
        let closes = self.replay.closes();
        let lines = wanted
            .iter()
            .filter_map(|(e, sub)| by_event.get(e)?.get(*sub as usize).copied())
            .map(|r| log_line(r, &names, closes))
            .collect();
        if let Some(s) = &mut self.search {
            (s.lo, s.hi) = (lo, hi);
            s.lines = lines;
        }
    }

    /// When anomaly `i`'s record was lost (event, time), where the trace tells.
    pub fn loss(&self, i: usize) -> Option<(u64, Time)> {
        self.losses.get(i).copied().flatten()
    }

    /// Builds the story of anomaly `i` if it is not told yet.
    pub fn explain(&mut self, i: usize) {
        let Some(a) = self.replay.anomalies().get(i) else {
            return;
        };
        if self.stories.contains_key(&i) {
            return;
        }
        let producers = &self.snapshot.producers;
        let acks = |name: &str| {
            producers
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.acks.clone())
        };
        let cx = story::Ctx {
            replay: &self.replay,
            kept: &self.kept,
            facts: &self.facts,
            acks: &acks,
        };
        let told = story::explain(&cx, a);
        self.stories.insert(i, told);
    }

    /// The story of anomaly `i`, once [`Side::explain`] told it.
    pub fn story(&self, i: usize) -> Option<&Story> {
        self.stories.get(&i)
    }

    /// The trace lines the event log shows: near the cursor, or the filter's matches.
    pub fn log_lines(&self) -> &[LogLine] {
        match &self.search {
            Some(s) => &s.lines,
            None => &self.log,
        }
    }
}

/// The live invariant checker of a replay, and the violation it found (if any).
#[derive(Default)]
struct Live {
    run: CheckedRun,
    broken: Option<Violation>,
}

/// `kafkasim check`'s verdict on the world the replay ended with: the same live invariants
/// (already checked after every event of the replay; they go on checking the rest of the
/// run and the drain), drain phase and analysis (`runner::check_world`), on the same world.
/// A violated invariant is the verdict, as it is for `check`: one anomaly `invariant`.
fn verdict(
    scenario: &Scenario,
    mut w: World<SimNode>,
    live: &mut Live,
) -> (Vec<AnomalyView>, HistoryStore, Option<u64>) {
    let total = w.events();
    let until = Time(scenario.duration_us);
    if live.broken.is_none() {
        let run = &mut live.run;
        match w.run_until_checked(until, scenario.max_events, |w| run.check(w)) {
            Ok(end) => {
                let summary = crate::runner::summarize(scenario, &w, end);
                let report = crate::runner::check_world(scenario, &mut w, summary, Some(run));
                if report.invariant.is_none() {
                    let list = report.anomalies.into_iter();
                    let list = list.map(|a| anomaly_view(&w, total, a)).collect();
                    return (list, w.kept().clone(), report.drain_ms);
                }
                let text = report.invariant.unwrap_or_default();
                let event = w.events();
                let broken = broken_view(&w, event, "drain", text);
                return (vec![broken], w.kept().clone(), None);
            }
            Err(v) => live.broken = Some(v),
        }
    }
    let v = live.broken.take().expect("checked above");
    let text = format!("{}: {}", v.invariant, v.message);
    (
        vec![broken_view(&w, v.event, "run", text)],
        w.kept().clone(),
        None,
    )
}

/// A violated replication invariant as the workbench lists it.
fn broken_view(w: &World<SimNode>, event: u64, phase: &str, text: String) -> AnomalyView {
    AnomalyView {
        kind: "invariant".to_string(),
        description: format!("replication invariant violated during the {phase}: {text}"),
        event,
        time: time_of(w, event),
        records: Vec::new(),
        events: vec![event],
    }
}

/// The simulated time of event `event` (the first kept record at or after it).
fn time_of(w: &World<SimNode>, event: u64) -> Time {
    w.kept()
        .iter()
        .find(|r| r.event >= event)
        .map_or(w.now(), |r| r.time)
}

/// One anomaly of `check`'s report as the workbench lists it.
fn anomaly_view(w: &World<SimNode>, total: u64, a: crate::check::Anomaly) -> AnomalyView {
    let event = a.events.first().copied().unwrap_or(total);
    AnomalyView {
        kind: a.kind.as_str().to_string(),
        description: a.description,
        event,
        time: time_of(w, event),
        records: a
            .records
            .iter()
            .map(|r| (r.tp.topic.to_string(), r.tp.partition, r.offset.0, r.value))
            .collect(),
        events: a.events.clone(),
    }
}

/// One record as a log line, with its plain-language explanation (a connection close with
/// its cause).
fn log_line(r: &TraceRecord<NodeEvent>, names: &[String], closes: &Closes) -> LogLine {
    let name = |id: NodeId| {
        names
            .get(id.index())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let text = match (&r.kind, closes.cause_at(r.event)) {
        (TraceKind::Disconnected { node, peer }, Some(cause)) => {
            let (n, p) = (name(*node), name(*peer));
            format!(
                "{n} saw its connection to {p} close: {}",
                cause.explain(&n, &p)
            )
        }
        _ => crate::sim::trace::explain(r, &name, &|e| <SimNode as crate::sim::Node>::explain(e)),
    };
    let (kind, msg) = match &r.kind {
        TraceKind::Start { .. } => ("start", None),
        TraceKind::Deliver { from, to, msg, .. } => ("deliver", Some((*from, *to, *msg))),
        TraceKind::Drop { from, to, msg, .. } => ("drop", Some((*from, *to, *msg))),
        TraceKind::Held { from, to, msg } => ("held", Some((*from, *to, *msg))),
        TraceKind::Timer { .. } => ("timer", None),
        TraceKind::Disconnected { .. } => ("disconnect", None),
        TraceKind::Fault(_) => ("fault", None),
        TraceKind::Emit { .. } => ("emit", None),
    };
    LogLine {
        event: r.event,
        time: r.time,
        kind,
        nodes: record_nodes(r),
        msg,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(file: &str) -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        crate::scenario::load(&path).expect("a shipped scenario parses")
    }

    #[test]
    fn the_replay_shows_every_event_to_the_live_invariant_checker() {
        // Proves the workbench's invariant checker sees the world after each event of the
        // run, as `check`'s does: the watcher is called once per event.
        let sc = scenario("scenarios/acks1-leader-failover.toml");
        let world = build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
        let cfg = ReplayConfig {
            end: Time(sc.duration_us),
            max_events: sc.max_events,
            ..ReplayConfig::default()
        };
        let mut seen = 0u64;
        let replay = Replay::build(world, cfg, |_| seen += 1, |_| Vec::new());
        assert!(replay.total() > 10_000);
        assert_eq!(seen, replay.total());
    }

    #[test]
    fn a_violated_invariant_is_the_workbench_verdict_as_it_is_checks() {
        // Proves a violation found while replaying becomes the one anomaly shown, named
        // `invariant`, at the event where it broke (`check` fails with it and nothing else).
        let sc = scenario("scenarios/acks1-leader-failover.toml");
        let mut w = build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
        w.run_until(Time(1_000_000), u64::MAX);
        let mut live = Live {
            run: CheckedRun::default(),
            broken: Some(Violation {
                invariant: "hw-monotonic",
                message: "HW of orders-0 went from 10 to 9".to_string(),
                seed: sc.seed,
                event: 42,
                trace_tail: Vec::new(),
            }),
        };
        let (list, _, _) = verdict(&sc, w, &mut live);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].kind, "invariant");
        assert_eq!(list[0].event, 42);
        assert!(list[0].description.contains("hw-monotonic: HW of orders-0"));
    }

    #[test]
    fn a_healthy_run_keeps_checking_through_the_drain() {
        // Proves the live checker is handed on to the drain (no violation in a healthy
        // run, and the verdict is `check`'s anomalies).
        let sc = scenario("scenarios/acks1-leader-failover.toml");
        let side = Side::new("A", sc.clone(), sc.seed).unwrap();
        let report = crate::runner::check_scenario(&sc, sc.seed);
        assert!(report.invariant.is_none());
        let kinds: Vec<_> = side.replay.anomalies().iter().map(|a| &a.kind).collect();
        assert_eq!(kinds.len(), report.anomalies.len());
        assert!(kinds.iter().all(|k| k.as_str() != "invariant"));
    }
}
