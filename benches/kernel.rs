//! `cargo bench --bench kernel`: the kernel's reference ping workload, the same as
//! `kafkasim bench kernel` (median wall time of several runs; the runs never read the clock).

#[allow(clippy::disallowed_methods)] // a benchmark harness times whole runs on the wall clock
fn wall_us() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_micros() as u64
}

fn main() {
    for r in kafkasim::bench::kernel(&wall_us, 7) {
        println!(
            "{:<28} {:>8.2} M events/s  {:>9.0}x simulated speed  (median {:.1} ms, {} events)",
            r.name,
            r.events_per_sec / 1e6,
            r.sim_speed,
            r.wall_us_median as f64 / 1000.0,
            r.events
        );
    }
}
