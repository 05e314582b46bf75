//! kafkasim's kernel beside two peers, on the same ping workload, in one process, run
//! alternately: two clients each make 100,000 request/response round trips of 64 bytes,
//! one at a time, with a server over fixed 1 ms links.
//!
//! - **kafkasim**: `kafkasim::bench::ping_world` (the `kafkasim bench kernel` workload);
//! - **turmoil**: the same exchange as UDP datagrams between turmoil hosts (turmoil steps
//!   its simulated network once per tick: a 1 ms tick here, the links' latency);
//! - **heap loop**: a minimal discrete-event loop — a binary heap of (time, sequence,
//!   event) and a match on the event — the floor any event-driven simulator pays.
//!
//! Each figure is round trips per wall second (the median of `--runs` runs, default 5); the
//! table prints each peer as a ratio of kafkasim's figure.

#![allow(clippy::disallowed_methods)] // a benchmark harness reads the wall clock

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

const CLIENTS: u32 = 2;
const REQUESTS: u64 = 100_000;

fn main() {
    let runs: usize = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let mut k = Vec::new();
    let mut t = Vec::new();
    let mut h = Vec::new();
    for _ in 0..runs.max(1) {
        k.push(timed(kafkasim_ping));
        t.push(timed(turmoil_ping));
        h.push(timed(heap_ping));
    }
    let trips = (CLIENTS as u64 * REQUESTS) as f64;
    let rate = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        trips / v[v.len() / 2]
    };
    let (k, t, h) = (rate(&mut k), rate(&mut t), rate(&mut h));
    println!("ping, {CLIENTS} clients × {REQUESTS} round trips, 1 ms links, median of {runs} runs (alternated)");
    println!(
        "{:<12} {:>14} {:>22}",
        "simulator", "round trips/s", "ratio to kafkasim"
    );
    for (name, r) in [("kafkasim", k), ("turmoil", t), ("heap loop", h)] {
        println!("{name:<12} {r:>14.0} {:>22.3}", r / k);
    }
    println!(
        "{{\"kafkasim_round_trips_per_sec\":{k:.0},\"turmoil_round_trips_per_sec\":{t:.0},\"heap_loop_round_trips_per_sec\":{h:.0},\"kafkasim_over_turmoil\":{:.2},\"kafkasim_over_heap_loop\":{:.3}}}",
        k / t,
        k / h
    );
}

/// Wall seconds `f` takes.
fn timed(f: fn() -> u64) -> f64 {
    let start = Instant::now();
    let trips = f();
    assert_eq!(trips, CLIENTS as u64 * REQUESTS, "every round trip made");
    start.elapsed().as_secs_f64()
}

/// kafkasim's kernel: the `bench kernel` ping world, trace hash on.
fn kafkasim_ping() -> u64 {
    use kafkasim::sim::{Time, TraceMode};
    let mut w = kafkasim::bench::ping_world(CLIENTS, REQUESTS, 1, TraceMode::HashOnly);
    w.run_until(Time::MAX, u64::MAX);
    // 3 starts, then a delivery for each request and each response.
    (w.events() - 3) / 2
}

/// turmoil: a UDP echo server and clients that wait for each reply before the next send.
fn turmoil_ping() -> u64 {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(1_000_000))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(1))
        .build();
    sim.host("server", || async {
        let sock = turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000)).await?;
        let mut buf = [0u8; 64];
        loop {
            let (n, from) = sock.recv_from(&mut buf).await?;
            sock.send_to(&buf[..n], from).await?;
        }
    });
    let done = std::rc::Rc::new(std::cell::Cell::new(0u64));
    for i in 1..=CLIENTS {
        let done = done.clone();
        sim.client(format!("client-{i}"), async move {
            let sock =
                turmoil::net::UdpSocket::bind((IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9001)).await?;
            let server = (turmoil::lookup("server"), 9000);
            let (payload, mut buf) = ([7u8; 64], [0u8; 64]);
            for _ in 0..REQUESTS {
                sock.send_to(&payload, server).await?;
                sock.recv_from(&mut buf).await?;
                done.set(done.get() + 1);
            }
            Ok(())
        });
    }
    sim.run().expect("the turmoil simulation completes");
    done.get()
}

/// The floor: one binary heap of events, each either a request reaching the server or a
/// response reaching a client.
fn heap_ping() -> u64 {
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Ev {
        AtServer { client: u32 },
        AtClient { client: u32 },
    }
    let latency = 1_000u64; // µs
    let mut q = BinaryHeap::new();
    let mut seq = 0u64;
    let mut left = vec![REQUESTS; CLIENTS as usize];
    let mut trips = 0u64;
    for c in 0..CLIENTS {
        q.push(Reverse((latency, seq, Ev::AtServer { client: c })));
        seq += 1;
        left[c as usize] -= 1;
    }
    while let Some(Reverse((now, _, ev))) = q.pop() {
        match ev {
            Ev::AtServer { client } => {
                q.push(Reverse((now + latency, seq, Ev::AtClient { client })))
            }
            Ev::AtClient { client } => {
                trips += 1;
                if left[client as usize] > 0 {
                    left[client as usize] -= 1;
                    q.push(Reverse((now + latency, seq, Ev::AtServer { client })));
                }
            }
        }
        seq += 1;
    }
    trips
}
