//! Times `replication_benchmark` (until `kafkasim bench` wires it in).
fn main() {
    let records: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let t = std::time::Instant::now();
    let (events, sim) = kafkasim::workload::cluster::replication_benchmark(records);
    println!(
        "{records} records: {events} events, sim time {sim}, wall {:?}",
        t.elapsed()
    );
}
