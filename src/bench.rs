//! The standard performance workloads behind `kafkasim bench`. Benchmarks measure wall time
//! around whole simulated runs; the runs themselves never read the clock.

use serde::Serialize;

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
    })]
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
