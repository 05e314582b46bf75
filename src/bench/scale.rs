//! `kafkasim bench scale`: how a run's cost grows with the size of what it simulates.
//!
//! Three axes, each a series of points that differ in one thing only:
//!
//! - **partitions** 1 → 100 → 1,000 → 10,000 on 9 brokers (one topic, RF 3,
//!   `min.insync.replicas` 2, one async producer at 10,000 records/s for 50 s, a group of 3
//!   consumers, 60 s simulated: 500,000 records in every point);
//! - **brokers** 3 → 30 → 100 (the same workload on 100 partitions);
//! - **records** 10 k → 1 M → 10 M (3 brokers, 3 partitions, the producer as fast as it can).
//!
//! Each point is one scenario, run and then checked as `kafkasim check` does (drain phase and
//! history analysis), timed separately: records acknowledged per wall second of the run,
//! simulated seconds per wall second, the check's time against the run's, and the peak
//! resident memory per acknowledged record. Peak memory (`VmHWM`) only grows within a
//! process, so `bench scale` runs every point in a fresh child process
//! (`kafkasim bench scale --point SPEC`) and gathers their JSON lines. A point the
//! scenario format cannot express (beyond its caps: 200 brokers, 100,000 partitions) or
//! whose child fails is reported as not run, with the reason — never as a number.

use serde::{Deserialize, Serialize};

use crate::scenario::Scenario;
use crate::sim::{Time, TraceMode};

/// One point of an axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub axis: String,
    pub brokers: u32,
    pub partitions: u32,
    /// Records to produce.
    pub records: u64,
    /// Records per second; 0: as fast as the producer can.
    pub rate: u64,
    pub consumers: u32,
}

/// What one point measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PointResult {
    pub name: String,
    pub axis: String,
    pub brokers: u32,
    pub partitions: u32,
    /// Records the workload was to produce.
    pub records: u64,
    /// Why the point did not run (the scenario loader's message, a failed child process).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
    pub acked: u64,
    pub consumed: u64,
    pub events: u64,
    pub sim_s: f64,
    pub run_wall_s: f64,
    pub check_wall_s: f64,
    /// Records acknowledged per wall second of the run.
    pub records_per_sec: f64,
    /// Simulated seconds per wall second of the run.
    pub sim_per_wall: f64,
    /// The check's wall time over the run's.
    pub check_over_run: f64,
    pub peak_rss_bytes: u64,
    pub peak_rss_per_record: f64,
    /// `records_per_sec` over the first point of the axis (filled in by the caller).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_per_sec_ratio: Option<f64>,
}

impl Point {
    fn new(axis: &str, brokers: u32, partitions: u32, records: u64, rate: u64) -> Point {
        Point {
            axis: axis.to_string(),
            brokers,
            partitions,
            records,
            rate,
            consumers: 3,
        }
    }

    /// The points of every axis; `full` adds the ones that take many minutes or many GB
    /// today (10,000 partitions, 10 M records).
    pub fn all(full: bool) -> Vec<Point> {
        let mut out = Vec::new();
        for p in [1, 100, 1_000, 10_000] {
            if p < 10_000 || full {
                out.push(Point::new("partitions", 9, p, 500_000, 10_000));
            }
        }
        for b in [3, 30, 100] {
            out.push(Point::new("brokers", b, 100, 500_000, 10_000));
        }
        for r in [10_000, 1_000_000, 10_000_000] {
            if r < 10_000_000 || full {
                out.push(Point::new("records", 3, 3, r, 0));
            }
        }
        out
    }

    /// A short name: `partitions/9b-1000p-500000r`.
    pub fn name(&self) -> String {
        format!(
            "scale/{}/{}b-{}p-{}r",
            self.axis, self.brokers, self.partitions, self.records
        )
    }

    /// The point as `--point` takes it: `axis=partitions,brokers=9,…`.
    pub fn spec(&self) -> String {
        format!(
            "axis={},brokers={},partitions={},records={},rate={},consumers={}",
            self.axis, self.brokers, self.partitions, self.records, self.rate, self.consumers
        )
    }

    /// Reads a `--point` spec; every key is required once.
    pub fn parse(spec: &str) -> Result<Point, String> {
        let mut p = Point::new("", 0, 0, 0, 0);
        let mut seen = Vec::new();
        for part in spec.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected KEY=VALUE"))?;
            let num = || {
                v.parse::<u64>()
                    .map_err(|_| format!("`{k}`: `{v}` is not a whole number"))
            };
            match k {
                "axis" => p.axis = v.to_string(),
                "brokers" => p.brokers = num()?.min(u32::MAX as u64) as u32,
                "partitions" => p.partitions = num()?.min(u32::MAX as u64) as u32,
                "records" => p.records = num()?,
                "rate" => p.rate = num()?,
                "consumers" => p.consumers = num()?.min(u32::MAX as u64) as u32,
                _ => {
                    return Err(format!(
                        "unknown key `{k}` (axis, brokers, partitions, records, rate, consumers)"
                    ))
                }
            }
            if seen.contains(&k) {
                return Err(format!("`{k}` given twice"));
            }
            seen.push(k);
        }
        if seen.len() != 6 {
            return Err(
                "every key is required: axis, brokers, partitions, records, rate, consumers".into(),
            );
        }
        Ok(p)
    }

    /// Simulated duration: with a rate, the sending time plus 10 s for consumers to catch up;
    /// as fast as possible, 5 s plus 5 µs per record (the async producer reaches ~250,000
    /// records per simulated second on 3 brokers).
    fn duration_s(&self) -> u64 {
        if self.rate > 0 {
            self.records.div_ceil(self.rate) + 10
        } else {
            5 + self.records.div_ceil(200_000)
        }
    }

    /// The point's scenario, as TOML.
    pub fn scenario_text(&self) -> String {
        let send = if self.rate > 0 {
            format!(
                "rate = \"{}/s\"\nstop = \"{}s\"",
                self.rate,
                self.records.div_ceil(self.rate)
            )
        } else {
            String::new()
        };
        format!(
            r#"name = "{name}"
duration = "{dur}s"
max_events = 9000000000000000000
[cluster]
brokers = {brokers}
[network]
latency = "1ms"
[[topic]]
name = "bench"
partitions = {partitions}
replication_factor = 3
config = {{ "min.insync.replicas" = 2 }}
[[producer]]
name = "producer"
topic = "bench"
send = "async"
count = {records}
{send}
config = {{ acks = "all" }}
[[consumer]]
name = "consumer"
group = "bench"
topics = ["bench"]
instances = {consumers}
commit = "auto"
config = {{ "auto.offset.reset" = "earliest" }}
"#,
            name = self.name(),
            dur = self.duration_s(),
            brokers = self.brokers,
            partitions = self.partitions,
            records = self.records,
            consumers = self.consumers,
        )
    }

    /// The scenario, or the loader's message when the format cannot express the point.
    pub fn scenario(&self) -> Result<Scenario, String> {
        crate::scenario::parse(&self.scenario_text(), &format!("<{}>", self.name()))
            .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())
    }
}

impl PointResult {
    fn empty(p: &Point) -> PointResult {
        PointResult {
            name: p.name(),
            axis: p.axis.clone(),
            brokers: p.brokers,
            partitions: p.partitions,
            records: p.records,
            ..PointResult::default()
        }
    }

    /// A point that did not run, and why.
    pub fn not_run(p: &Point, why: String) -> PointResult {
        PointResult {
            not_run: Some(why),
            ..PointResult::empty(p)
        }
    }
}

/// Runs one point in this process: the run, then `check`'s drain and analysis, each timed
/// with `clock` (µs).
pub fn run_point(p: &Point, clock: &dyn Fn() -> u64) -> PointResult {
    let scenario = match p.scenario() {
        Ok(s) => s,
        Err(e) => return PointResult::not_run(p, e),
    };
    let start = clock();
    let mut world = match crate::scenario::build::build(&scenario, 1, TraceMode::Off) {
        Ok(w) => w,
        Err(e) => return PointResult::not_run(p, e.to_string()),
    };
    let end = world.run_until(Time(scenario.duration_us), scenario.max_events);
    let run_us = clock().saturating_sub(start).max(1);
    let summary = crate::runner::summarize(&scenario, &world, end);
    let events = world.events();
    let sim_s = world.now().as_us() as f64 / 1e6;
    let count = |k: &str| summary.counters.get(k).copied().unwrap_or(0);
    let (acked, consumed) = (count("acked"), count("consumed"));
    let start = clock();
    let _report = crate::runner::check_world(&scenario, &mut world, summary, None);
    let check_us = clock().saturating_sub(start).max(1);
    let rss = peak_rss_bytes().unwrap_or(0);
    let run_s = run_us as f64 / 1e6;
    PointResult {
        acked,
        consumed,
        events,
        sim_s,
        run_wall_s: run_s,
        check_wall_s: check_us as f64 / 1e6,
        records_per_sec: acked as f64 / run_s,
        sim_per_wall: sim_s / run_s,
        check_over_run: check_us as f64 / run_us as f64,
        peak_rss_bytes: rss,
        peak_rss_per_record: rss as f64 / acked.max(1) as f64,
        ..PointResult::empty(p)
    }
}

/// Fills in each point's records-per-second ratio to the first point of its axis that ran.
pub fn fill_ratios(results: &mut [PointResult]) {
    let mut base: Vec<(String, f64)> = Vec::new();
    for r in results.iter_mut().filter(|r| r.not_run.is_none()) {
        let b = match base.iter().find(|(a, _)| *a == r.axis) {
            Some((_, b)) => *b,
            None => {
                base.push((r.axis.clone(), r.records_per_sec));
                r.records_per_sec
            }
        };
        r.records_per_sec_ratio = (b > 0.0).then(|| r.records_per_sec / b);
    }
}

/// This process's peak resident set size (`VmHWM` in `/proc/self/status`; Linux only).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_round_trips_and_bad_specs_are_refused_with_the_key() {
        for p in Point::all(true) {
            assert_eq!(Point::parse(&p.spec()).unwrap(), p);
        }
        assert!(Point::parse("axis=x").unwrap_err().contains("every key"));
        assert!(Point::parse("axis=x,brokers=nine")
            .unwrap_err()
            .contains("`brokers`"));
        assert!(Point::parse("colour=red")
            .unwrap_err()
            .contains("unknown key `colour`"));
    }

    #[test]
    fn a_small_point_produces_acknowledges_and_consumes_its_records() {
        // Proves a point measures the workload it names: every record acknowledged and
        // consumed, the run covering its simulated duration, memory read.
        let p = Point::new("records", 3, 3, 2_000, 0);
        // A fake clock that moves 1 ms per reading: the test never reads the wall clock.
        let clock = std::cell::Cell::new(0u64);
        let tick = || {
            clock.set(clock.get() + 1_000);
            clock.get()
        };
        let r = run_point(&p, &tick);
        assert_eq!(r.not_run, None);
        assert_eq!((r.acked, r.consumed), (2_000, 2_000));
        assert!(r.events > 100 && r.sim_s >= 5.0, "{r:?}");
        assert!(r.records_per_sec > 0.0);
        if cfg!(target_os = "linux") {
            assert!(r.peak_rss_bytes > 0);
        }
    }

    #[test]
    fn a_point_the_format_cannot_express_is_not_run_and_says_why() {
        let p = Point::new("brokers", 201, 100, 1_000, 1_000);
        let r = run_point(&p, &|| 0);
        let why = r.not_run.expect("201 brokers is over the format's cap");
        assert!(why.contains("brokers"), "{why}");
        assert_eq!(r.records_per_sec, 0.0);
    }

    #[test]
    fn ratios_are_to_the_first_point_of_each_axis_that_ran() {
        let mut rs = vec![
            PointResult {
                axis: "a".into(),
                records_per_sec: 100.0,
                ..Default::default()
            },
            PointResult {
                axis: "a".into(),
                records_per_sec: 50.0,
                ..Default::default()
            },
            PointResult {
                axis: "b".into(),
                not_run: Some("x".into()),
                ..Default::default()
            },
            PointResult {
                axis: "b".into(),
                records_per_sec: 10.0,
                ..Default::default()
            },
        ];
        fill_ratios(&mut rs);
        let got: Vec<_> = rs.iter().map(|r| r.records_per_sec_ratio).collect();
        assert_eq!(got, vec![Some(1.0), Some(0.5), None, Some(1.0)]);
    }
}
