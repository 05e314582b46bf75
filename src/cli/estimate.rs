//! How long will this run take? Before a `run`, an estimate from the scenario alone — its
//! size (brokers, partitions × replication factor, clients), its rates and its duration —
//! of the events it will simulate (capped by `max_events`) and of the wall time at this
//! build's measured speed. A run estimated to take long says so up front; on a terminal
//! every run that takes longer than a second shows a progress line while it runs (and
//! `check`'s drain phase and history check too: [`CheckLine`]).
//!
//! The run itself is the scenario's, advanced in slices of at most [`SLICE_EVENTS`]
//! events between progress updates: `World::run_until` stops at an event budget and
//! resumes exactly where it stopped, so the slices change nothing — same events, same
//! trace hash (a test below holds this).

use std::io::IsTerminal;

use crate::explore::progress::Progress;
use crate::runner::{self, Phase, RunSummary};
use crate::scenario::build::{self, BuildError};
use crate::scenario::Scenario;
use crate::sim::{RunEnd, Time, TraceMode, World};
use crate::workload::node::SimNode;

/// Events between two progress updates.
pub const SLICE_EVENTS: u64 = 5_000;
/// A run estimated to take at least this long is announced.
const ANNOUNCE_S: f64 = 10.0;

/// What the scenario is expected to cost: the run (bounded by `max_events`), then the
/// checker's drain phase (a fixed stretch of simulated time, not bounded by `max_events`:
/// producers still running keep sending through it).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Records the producers will try to send during the run.
    pub records: f64,
    /// Events the run will simulate (at most `max_events`).
    pub events: u64,
    /// Whether `max_events` is what bounds the run.
    pub capped: bool,
    /// Records and events of the drain phase.
    pub drain_records: f64,
    pub drain_events: f64,
    /// Events per wall second assumed for this build and this cluster's size.
    pub events_per_s: f64,
    pub run_wall_s: f64,
    pub drain_wall_s: f64,
}

impl Estimate {
    pub fn wall_s(&self) -> f64 {
        self.run_wall_s + self.drain_wall_s
    }
}

/// Events and records per wall second on one core, measured on the reference machine
/// with the shipped scenarios: an optimised build does about five times what a test or
/// debug build does.
fn base_speed() -> (f64, f64) {
    if cfg!(debug_assertions) {
        (1_000_000.0, 400_000.0)
    } else {
        (5_000_000.0, 2_000_000.0)
    }
}

/// A broker handling a fetch or a metadata change touches every partition it hosts:
/// measured, the cost of an event grows like replicas-per-broker^1.23 (1000 replicas per
/// broker: 37 times slower than one; 10,000: about 600 times).
fn size_factor(s: &Scenario) -> f64 {
    let brokers = s.cluster.as_ref().map_or(1.0, |c| c.brokers.max(1) as f64);
    let replicas: f64 = s
        .topics
        .iter()
        .map(|t| t.partitions as f64 * t.replication_factor as f64)
        .sum();
    1.0 + 0.00735 * (replicas / brokers).powf(1.23)
}

/// Estimates `s` from its file alone.
pub fn estimate(s: &Scenario) -> Estimate {
    let dur_s = s.duration_us as f64 / 1e6;
    let drain_s = crate::runner::DRAIN_US as f64 / 1e6;
    let rf: f64 = s
        .topics
        .iter()
        .map(|t| t.replication_factor as f64)
        .fold(1.0, f64::max);
    let drain_end = s.duration_us + crate::runner::DRAIN_US;
    let sum = |from, to, max_rate| -> f64 {
        let each = s.producers.iter();
        each.map(|p| producer_records(p, from, to, max_rate)).sum()
    };
    let (records, drain_records) = (
        sum(0, s.duration_us, f64::MAX),
        sum(s.duration_us, drain_end, f64::MAX),
    );
    // A request costs a produce round trip and a fetch round trip per follower. At low
    // rates that is one request per record; at high rates batching packs many records
    // into each of at most ~REQUESTS_PER_S requests, and the records are timed on their own.
    let per_request = 2.0 + 2.0 * (rf - 1.0);
    let requests = sum(0, s.duration_us, REQUESTS_PER_S);
    let drain_requests = sum(s.duration_us, drain_end, REQUESTS_PER_S);
    let brokers = s.cluster.as_ref().map_or(0.0, |c| c.brokers as f64);
    let consumers: f64 = s.consumers.iter().map(|c| c.instances as f64).sum();
    // Idle traffic per second: replica fetch long polls, heartbeats, consumer polls.
    let idle_per_s = brokers * brokers * 4.0 + consumers * 10.0 + s.producers.len() as f64 * 2.0;
    let ping = s
        .ping
        .as_ref()
        .map_or(0.0, |p| p.clients as f64 * p.requests as f64 * 2.0);
    let rpc = s.rpcs.len() as f64 * dur_s * 100.0;
    let raw = requests * per_request + idle_per_s * dur_s + ping + rpc + 100.0;
    let capped = raw >= s.max_events as f64;
    let events = if capped { s.max_events } else { raw as u64 };
    // Only the share of the run that `max_events` lets happen.
    let run_records = records * (events as f64 / raw);
    let (ev_speed, rec_speed) = base_speed();
    let events_per_s = ev_speed / size_factor(s);
    let drain_events = drain_requests * per_request + idle_per_s * drain_s;
    Estimate {
        records,
        events,
        capped,
        drain_records,
        drain_events,
        events_per_s,
        run_wall_s: events as f64 / events_per_s + run_records / rec_speed,
        drain_wall_s: drain_events / events_per_s + drain_records / rec_speed,
    }
}

/// Produce requests a producer makes per second at most, however high its rate: a
/// round trip of a few ms and `max.in.flight.requests.per.connection` = 5.
const REQUESTS_PER_S: f64 = 2_500.0;

/// Records a producer tries to send between simulated times `from_us` and `to_us`, its
/// rate taken as at most `max_rate` per second.
fn producer_records(p: &crate::scenario::Producer, from_us: u64, to_us: u64, max_rate: f64) -> f64 {
    let start = p.start_us.max(from_us);
    let end = p.stop_us.unwrap_or(u64::MAX).min(to_us);
    let active_us = end.saturating_sub(start) as f64;
    let per_s =
        |r: crate::scenario::Rate| (r.count as f64 * 1e6 / r.per_us.max(1) as f64).min(max_rate);
    let by_rate = p.rate.map(|r| per_s(r) * active_us / 1e6);
    // A count bounds the whole run; the drain gets whatever is left of it.
    let left = p.count.map(|c| {
        let before = p.rate.map_or(0.0, |r| {
            per_s(r) * from_us.saturating_sub(p.start_us) as f64 / 1e6
        });
        (c as f64 - before).max(0.0)
    });
    match (left, by_rate) {
        (Some(c), Some(r)) => c.min(r),
        (Some(c), None) if from_us == 0 => c,
        (Some(_), None) => 0.0,
        (None, Some(r)) => r,
        // Neither: as fast as the client can go; say one record per simulated ms.
        (None, None) => (active_us / 1000.0).min(max_rate * active_us / 1e6),
    }
}

/// Human-readable seconds: `45 s`, `12 min`, `3.5 h`, `2.0 days`.
pub fn human_s(s: f64) -> String {
    match s {
        s if s < 120.0 => format!("{s:.0} s"),
        s if s < 7200.0 => format!("{:.0} min", s / 60.0),
        s if s < 172_800.0 => format!("{:.1} h", s / 3600.0),
        s => format!("{:.1} days", s / 86_400.0),
    }
}

/// The announcement for a long run.
pub fn announcement(s: &Scenario, e: &Estimate) -> String {
    let partitions: u64 = s.topics.iter().map(|t| t.partitions as u64).sum();
    let bound = if e.capped {
        " (its max_events limit; the scenario asks for more)"
    } else {
        ""
    };
    let mut text = format!(
        "note: `{}` is large — {} simulated, {partitions} partitions, up to {:.2e} records to send: about {:.2e} events{bound}, roughly {} of wall time in this build",
        s.name,
        human_s(s.duration_us as f64 / 1e6),
        e.records,
        e.events as f64,
        human_s(e.run_wall_s),
    );
    if e.drain_wall_s >= ANNOUNCE_S {
        text.push_str(&format!(
            "; then the checker's drain phase (it ends once nothing can change; estimated over {} s simulated, not bounded by max_events) with up to {:.2e} more records, roughly {}",
            crate::runner::DRAIN_US / 1_000_000,
            e.drain_records,
            human_s(e.drain_wall_s)
        ));
    }
    text.push_str(". A shorter `duration`, a lower `rate`, a producer `stop` or `count`, or `max_events` bound it; Ctrl-C stops it.");
    text
}

/// Runs `s` as [`runner::run`] does; a long run is announced on stderr first and, on a
/// terminal, shows progress.
pub fn run_announced(
    s: &Scenario,
    seed: u64,
    mode: TraceMode,
) -> Result<(World<SimNode>, RunSummary), BuildError> {
    let e = estimate(s);
    if e.wall_s() >= ANNOUNCE_S {
        eprintln!("{}", announcement(s, &e));
    }
    // On a terminal the line appears once the run has taken a second (progress.rs).
    let progress = std::io::stderr().is_terminal();
    let r = run_in_slices(s, seed, mode, progress.then_some(e.events));
    if e.drain_wall_s >= ANNOUNCE_S {
        eprintln!(
            "note: the run is done; the drain phase runs next (roughly {})",
            human_s(e.drain_wall_s)
        );
    }
    r
}

/// The run in slices of [`SLICE_EVENTS`]; with `progress = Some(expected events)`, a
/// progress line is redrawn between slices.
pub fn run_in_slices(
    s: &Scenario,
    seed: u64,
    mode: TraceMode,
    progress: Option<u64>,
) -> Result<(World<SimNode>, RunSummary), BuildError> {
    let mut world = build::build(s, seed, mode)?;
    let mut bar = Progress::new(progress.unwrap_or(0), progress.is_some()).unit("events");
    let end = loop {
        let budget = world
            .events()
            .saturating_add(SLICE_EVENTS)
            .min(s.max_events);
        match world.run_until(Time(s.duration_us), budget) {
            RunEnd::EventLimit if world.events() < s.max_events => {
                bar.draw_with(world.events(), &status(Phase::Run, &world, s), false);
            }
            end => break end,
        }
    };
    bar.finish_with(world.events(), "run done");
    let summary = runner::summarize(s, &world, end);
    Ok((world, summary))
}

/// The progress line's status: the phase, simulated time reached, records sent so far.
fn status(phase: Phase, world: &World<SimNode>, s: &Scenario) -> String {
    let sent: u64 = world
        .node_ids()
        .filter_map(|id| match world.node(id) {
            SimNode::Producer(p) => Some(p.stats.sent),
            _ => None,
        })
        .sum();
    let what = match phase {
        Phase::Run => format!("{} of {} simulated", world.now(), Time(s.duration_us)),
        Phase::Drain => format!("drain phase, at {} simulated", world.now()),
        Phase::History => "judging the history".to_string(),
    };
    format!("{what}, {sent} records sent")
}

/// A progress line for the checker's work after a run (`run`, `check`): its drain rounds
/// and the history check. Pass [`CheckLine::watch`] to the runner's `*_watched` calls.
pub struct CheckLine<'a> {
    bar: Progress,
    scenario: &'a Scenario,
    events: u64,
}

impl<'a> CheckLine<'a> {
    /// A line over the `expected` events (run and drain), drawn on a terminal once the
    /// work has taken a second.
    pub fn new(scenario: &'a Scenario) -> Self {
        let e = estimate(scenario);
        let total = e.events + e.drain_events as u64;
        let bar = Progress::new(total, std::io::stderr().is_terminal()).unit("events");
        CheckLine {
            bar,
            scenario,
            events: 0,
        }
    }

    pub fn watch(&mut self, phase: Phase, world: &World<SimNode>) {
        let status = status(phase, world, self.scenario);
        self.events = world.events();
        self.bar.draw_with(self.events, &status, false);
    }

    pub fn finish(&mut self) {
        self.bar.finish_with(self.events, "checked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str) -> Scenario {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        crate::scenario::load(&path).expect("a shipped scenario")
    }

    #[test]
    fn slices_change_nothing() {
        // Proves a run advanced in slices has the same events and trace hash as one call.
        let mut s = scenario("scenarios/acks1-leader-failover.toml");
        let (_, whole) = runner::run(&s, s.seed, TraceMode::HashOnly).unwrap();
        let (_, sliced) = run_in_slices(&s, s.seed, TraceMode::HashOnly, Some(1)).unwrap();
        assert_eq!(whole.trace_hash, sliced.trace_hash);
        assert_eq!(whole.events, sliced.events);
        assert!(whole.events > SLICE_EVENTS, "the run spans several slices");
        // An event budget that falls inside a slice ends the run at exactly that event.
        s.max_events = SLICE_EVENTS + 7;
        let (_, capped) = run_in_slices(&s, s.seed, TraceMode::HashOnly, None).unwrap();
        assert_eq!(capped.events, SLICE_EVENTS + 7);
        assert_eq!(capped.ended_by, "events");
    }

    #[test]
    fn an_enormous_scenario_is_estimated_as_long() {
        // Proves no shipped scenario is announced as long, while one with a huge duration,
        // partition count and rate is, with max_events and the drain phase named.
        for f in
            std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"))
                .unwrap()
        {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let s = crate::scenario::load(&p).unwrap();
                assert!(
                    estimate(&s).wall_s() < ANNOUNCE_S,
                    "{}: {:?}",
                    p.display(),
                    estimate(&s)
                );
            }
        }
        let small = scenario("scenarios/acks1-leader-failover.toml");
        let mut big = small.clone();
        big.duration_us = 1_000_000 * 3_600_000_000;
        big.topics[0].partitions = 10_000;
        big.producers[0].stop_us = None;
        big.producers[0].count = None;
        big.producers[0].rate = Some(crate::scenario::Rate {
            count: 1_000_000_000,
            per_us: 1_000_000,
        });
        let e = estimate(&big);
        assert!(e.capped && e.events == big.max_events, "{e:?}");
        assert!(e.run_wall_s >= ANNOUNCE_S, "{e:?}");
        // The producer never stops, so the drain phase has it sending for 10 s more.
        assert_eq!(e.drain_records, 1e10);
        let text = announcement(&big, &e);
        assert!(
            text.contains("max_events") && text.contains("drain phase"),
            "{text}"
        );
    }
}
