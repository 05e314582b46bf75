//! The standard performance workloads behind `kafkasim bench`. Benchmarks measure wall time
//! around whole simulated runs; the runs themselves never read the clock.

use serde::Serialize;

pub mod scale;

use crate::sim::{Duration, Latency, LinkModel, Time, TraceMode, World};
use crate::workload::ping::{PingClient, PingClientConfig, PingNode, PingServer};

/// One measured workload.
#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub name: String,
    /// Kernel events processed in one run.
    pub events: u64,
    /// Simulated time covered by one run, in milliseconds.
    pub sim_ms: u64,
    /// Median wall time of the runs, in microseconds.
    pub wall_us_median: u64,
    pub runs: u32,
    pub events_per_sec: f64,
    /// Simulated seconds per wall-clock second.
    pub sim_speed: f64,
    pub trace_hash: String,
    /// Records the workload produced and consumed (workloads with records only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Those records per wall-clock second (median run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records_per_sec: Option<f64>,
}

impl BenchResult {
    /// The same result, saying it moved `records` records.
    pub fn with_records(self, records: u64) -> Self {
        BenchResult {
            records: Some(records),
            records_per_sec: Some(records as f64 * 1e6 / self.wall_us_median as f64),
            ..self
        }
    }
}

/// The reference ping world: one server, `clients` clients each sending `requests` requests
/// of 64 bytes over fixed 1 ms links, `in_flight` outstanding at a time.
pub fn ping_world(clients: u32, requests: u64, in_flight: u32, mode: TraceMode) -> World<PingNode> {
    let mut w = World::new(1, mode);
    w.set_link_model(LinkModel {
        latency: Latency::Fixed(Duration::from_ms(1)),
        ..LinkModel::default()
    });
    let server = w.add_node(
        "server-1",
        PingNode::Server(PingServer::default()),
        Time::ZERO,
    );
    for i in 1..=clients {
        let cfg = PingClientConfig {
            server,
            requests,
            in_flight,
            payload_bytes: 64,
            timeout: None,
            persist: false,
        };
        w.add_node(
            &format!("client-{i}"),
            PingNode::Client(PingClient::new(cfg)),
            Time::ZERO,
        );
    }
    w
}

/// Measures `f` (which returns events, simulated ms and the trace hash) `runs` times.
pub fn measure(
    name: &str,
    runs: u32,
    clock: &dyn Fn() -> u64,
    f: &dyn Fn() -> (u64, u64, String),
) -> BenchResult {
    let mut walls = Vec::new();
    let mut last = (0, 0, String::new());
    for _ in 0..runs.max(1) {
        let start = clock();
        last = f();
        walls.push(clock().saturating_sub(start).max(1));
    }
    walls.sort_unstable();
    let wall = walls[walls.len() / 2];
    BenchResult {
        name: name.to_string(),
        events: last.0,
        sim_ms: last.1,
        wall_us_median: wall,
        runs: runs.max(1),
        events_per_sec: last.0 as f64 * 1e6 / wall as f64,
        sim_speed: last.1 as f64 * 1e3 / wall as f64,
        trace_hash: last.2,
        records: None,
        records_per_sec: None,
    }
}

/// The kernel benchmark: sync (one request at a time) and pipelined (16 in flight).
pub fn kernel(clock: &dyn Fn() -> u64, runs: u32) -> Vec<BenchResult> {
    [("kernel/ping-sync", 1), ("kernel/ping-pipelined-16", 16)]
        .into_iter()
        .map(|(name, in_flight)| {
            measure(name, runs, clock, &|| {
                let mut w = ping_world(2, 100_000, in_flight, TraceMode::HashOnly);
                w.run_until(Time::MAX, u64::MAX);
                (w.events(), w.now().as_ms(), w.trace().hash_hex())
            })
        })
        .collect()
}

/// Replication (issue 3): one million records appended through the leader of a 3-broker,
/// RF=3 partition with acks=all and replicated to both followers.
pub fn replication(clock: &dyn Fn() -> u64, runs: u32) -> Vec<BenchResult> {
    vec![measure("replication/1M-acks-all-rf3", runs, clock, &|| {
        let (events, sim) = crate::workload::cluster::replication_benchmark(1_000_000);
        (events, sim.as_ms(), String::new())
    })
    .with_records(1_000_000)]
}

/// The end-to-end scenario: 3 brokers, one RF=3 topic with `min.insync.replicas=2`, one
/// producer sending `records` records of 100 bytes with acks=all in `mode`, and one consumer
/// group reading them (1 ms links).
pub fn e2e_scenario(mode: &str, records: u64) -> crate::scenario::Scenario {
    let text = format!(
        r#"name = "e2e {mode} {records}"
duration = "100000s"
max_events = 9000000000000000000
[cluster]
brokers = 3
[network]
latency = "1ms"
[[topic]]
name = "bench"
partitions = 3
replication_factor = 3
config = {{ "min.insync.replicas" = 2 }}
[[producer]]
name = "producer"
topic = "bench"
send = "{mode}"
count = {records}
value_bytes = 100
config = {{ acks = "all" }}
[[consumer]]
name = "consumer"
group = "bench"
topics = ["bench"]
processing = "0ms"
commit = "auto"
config = {{ "auto.offset.reset" = "earliest" }}
"#
    );
    crate::scenario::parse(&text, "<e2e benchmark>").expect("the benchmark scenario is valid")
}

/// Runs the end-to-end workload until the consumer has processed every record; returns
/// (events, simulated ms, consumed).
pub fn e2e_run(mode: &str, records: u64) -> (u64, u64, u64) {
    let s = e2e_scenario(mode, records);
    let mut w = crate::scenario::build::build(&s, 1, TraceMode::Off).expect("builds");
    let consumed = |w: &World<crate::workload::node::SimNode>| {
        w.node_ids()
            .filter_map(|id| match w.node(id) {
                crate::workload::node::SimNode::Consumer(c) => Some(c.stats.processed),
                _ => None,
            })
            .sum::<u64>()
    };
    let limit = Time(s.duration_us);
    while consumed(&w) < records && w.now() < limit {
        let next = w.now() + Duration::from_secs(1);
        w.run_until(next, u64::MAX);
    }
    (w.events(), w.now().as_ms(), consumed(&w))
}

/// End to end (issue 4): `records` produced with acks=all to a 3-broker RF=3 topic and
/// consumed, async and sync send (a mode with 0 records is skipped).
pub fn e2e(
    clock: &dyn Fn() -> u64,
    runs: u32,
    async_records: u64,
    sync_records: u64,
) -> Vec<BenchResult> {
    [("async", async_records), ("sync", sync_records)]
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .map(|(mode, n)| {
            measure(
                &format!("e2e/{mode}-{n}-acks-all-rf3"),
                runs,
                clock,
                &|| {
                    let (events, ms, consumed) = e2e_run(mode, n);
                    assert_eq!(consumed, n, "every record consumed");
                    (events, ms, String::new())
                },
            )
            .with_records(n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ping_benchmark_world_completes_every_request() {
        // Proves the reference workload does what the benchmark claims: 2 × N round trips.
        let mut w = ping_world(2, 1_000, 16, TraceMode::HashOnly);
        w.run_until(Time::MAX, u64::MAX);
        // 3 starts (server, 2 clients) + 2 deliveries per request.
        assert_eq!(w.events(), 3 + 2 * 2 * 1_000);
    }
}
