//! How long will this run take? Before a `run`, an estimate from the scenario alone — its
//! size (brokers, partitions × replication factor, clients), its rates and its duration —
//! of the events it will simulate (capped by `max_events`) and of the wall time at this
//! build's measured speed. A run estimated to take long says so up front; on a terminal it
//! then shows a progress line while it runs.
//!
//! The run itself is the scenario's, advanced in slices of at most [`SLICE_EVENTS`]
//! events between progress updates: `World::run_until` stops at an event budget and
//! resumes exactly where it stopped, so the slices change nothing — same events, same
//! trace hash (a test below holds this).

use std::io::IsTerminal;

use crate::explore::progress::Progress;
use crate::runner::{self, RunSummary};
use crate::scenario::build::{self, BuildError};
use crate::scenario::Scenario;
use crate::sim::{RunEnd, Time, TraceMode, World};
use crate::workload::actor::Actor;

/// Events between two progress updates.
pub const SLICE_EVENTS: u64 = 200_000;
/// A run estimated to take at least this long is announced.
const ANNOUNCE_S: f64 = 10.0;
/// A run estimated to take at least this long shows progress on a terminal.
const PROGRESS_S: f64 = 2.0;

/// What the scenario is expected to cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Records the producers will try to send.
    pub records: f64,
    /// Events the run will simulate (at most `max_events`).
    pub events: u64,
    /// Whether `max_events` is what bounds it.
    pub capped: bool,
    /// Simulated events per wall second assumed for this build and this cluster size.
    pub events_per_s: f64,
    pub wall_s: f64,
}

/// Kernel events per wall second on one core, measured with `bench` on the reference
/// machine (see docs/performance.md), divided by ~10 for an unoptimised build.
fn base_speed() -> f64 {
    if cfg!(debug_assertions) {
        300_000.0
    } else {
        3_000_000.0
    }
}

/// Estimates `s` from its file alone.
pub fn estimate(s: &Scenario) -> Estimate {
    let dur_s = s.duration_us as f64 / 1e6;
    let rf: f64 = s
        .topics
        .iter()
        .map(|t| t.replication_factor as f64)
        .fold(1.0, f64::max);
    let groups = {
        let mut g: Vec<&str> = s.consumers.iter().map(|c| c.group.as_str()).collect();
        g.sort_unstable();
        g.dedup();
        g.len() as f64
    };
    let records: f64 = s
        .producers
        .iter()
        .map(|p| producer_records(p, s.duration_us))
        .sum();
    // A record: the application's send, a produce request and response, a fetch round
    // trip per follower, and one per consumer group; batching makes this an upper bound.
    let per_record = 3.0 + 2.0 * (rf - 1.0) + 2.0 * groups;
    let brokers = s.cluster.as_ref().map_or(0.0, |c| c.brokers as f64);
    let consumers: f64 = s.consumers.iter().map(|c| c.instances as f64).sum();
    // Idle traffic: replica fetch long polls, heartbeats, consumer polls (per second).
    let idle_per_s = brokers * brokers * 4.0 + consumers * 10.0 + s.producers.len() as f64 * 2.0;
    let ping = s
        .ping
        .as_ref()
        .map_or(0.0, |p| p.clients as f64 * p.requests as f64 * 2.0);
    let rpc = s.rpcs.len() as f64 * dur_s * 100.0;
    let raw = records * per_record + idle_per_s * dur_s + ping + rpc + 100.0;
    let capped = raw >= s.max_events as f64;
    let events = if capped { s.max_events } else { raw as u64 };
    // Each event handles every partition a broker hosts in the worst case (a fetch
    // covers them all): the cost grows with replicas per broker.
    let replicas: f64 = s
        .topics
        .iter()
        .map(|t| t.partitions as f64 * t.replication_factor as f64)
        .sum();
    let per_broker = replicas / brokers.max(1.0);
    let events_per_s = base_speed() / (1.0 + per_broker / 200.0);
    Estimate {
        records,
        events,
        capped,
        events_per_s,
        wall_s: events as f64 / events_per_s,
    }
}

fn producer_records(p: &crate::scenario::Producer, duration_us: u64) -> f64 {
    let end = p.stop_us.unwrap_or(duration_us).min(duration_us);
    let active_us = end.saturating_sub(p.start_us) as f64;
    let by_rate = p
        .rate
        .map(|r| r.count as f64 * active_us / r.per_us.max(1) as f64);
    match (p.count, by_rate) {
        (Some(c), Some(r)) => (c as f64).min(r),
        (Some(c), None) => c as f64,
        (None, Some(r)) => r,
        // Neither: as fast as the client can go; say one record per simulated ms.
        (None, None) => active_us / 1000.0,
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
        format!(" (its max_events limit; the scenario asks for more)")
    } else {
        String::new()
    };
    format!(
        "note: `{}` is large — {} simulated, {partitions} partitions, ~{:.2e} records to send: about {:.2e} events{bound}, which takes roughly {} at ~{:.0} events/s in this build. Set `max_events` or a shorter `duration` to bound it; Ctrl-C stops it.",
        s.name,
        human_s(s.duration_us as f64 / 1e6),
        e.records,
        e.events as f64,
        human_s(e.wall_s),
        e.events_per_s
    )
}

/// Runs `s` as [`runner::run`] does; a long run is announced on stderr first and, on a
/// terminal, shows progress.
pub fn run_announced(
    s: &Scenario,
    seed: u64,
    mode: TraceMode,
) -> Result<(World<Actor>, RunSummary), BuildError> {
    let e = estimate(s);
    if e.wall_s >= ANNOUNCE_S {
        eprintln!("{}", announcement(s, &e));
    }
    let progress = e.wall_s >= PROGRESS_S && std::io::stderr().is_terminal();
    run_in_slices(s, seed, mode, progress.then_some(e.events))
}

/// The run in slices of [`SLICE_EVENTS`]; with `progress = Some(expected events)`, a
/// progress line is redrawn between slices.
pub fn run_in_slices(
    s: &Scenario,
    seed: u64,
    mode: TraceMode,
    progress: Option<u64>,
) -> Result<(World<Actor>, RunSummary), BuildError> {
    let mut world = build::build(s, seed, mode)?;
    let mut bar = Progress::new(progress.unwrap_or(0), progress.is_some()).unit("events");
    let end = loop {
        let budget = world
            .events()
            .saturating_add(SLICE_EVENTS)
            .min(s.max_events);
        match world.run_until(Time(s.duration_us), budget) {
            RunEnd::EventLimit if world.events() < s.max_events => {
                let sim = format!("{} of {} simulated", world.now(), Time(s.duration_us));
                bar.draw_with(world.events(), &sim, false);
            }
            end => break end,
        }
    };
    bar.finish_with(world.events(), "done");
    let summary = runner::summarize(s, &world, end);
    Ok((world, summary))
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
        // Proves the estimate grows with rate, size and duration, and respects max_events.
        let small = scenario("scenarios/acks1-leader-failover.toml");
        let e = estimate(&small);
        assert!(e.wall_s < ANNOUNCE_S, "{e:?}");
        let mut big = small.clone();
        big.duration_us = 1_000_000 * 3_600_000_000;
        big.topics[0].partitions = 10_000;
        big.producers[0].rate = Some(crate::scenario::Rate {
            count: 1_000_000_000,
            per_us: 1_000_000,
        });
        let e = estimate(&big);
        assert!(e.capped && e.events == big.max_events, "{e:?}");
        assert!(e.wall_s >= ANNOUNCE_S, "{e:?}");
        assert!(announcement(&big, &e).contains("max_events"));
    }
}
