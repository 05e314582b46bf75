//! `cargo run --release --example explore -- FILE A..B [JOBS] [OUT_DIR]`: the library's
//! exploration without the CLI (for measuring and for use before `kafkasim explore` exists).

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(file) = args.first() else {
        eprintln!("usage: explore FILE A..B [JOBS] [OUT_DIR]");
        std::process::exit(2);
    };
    let scenario = kafkasim::scenario::load(std::path::Path::new(file)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2)
    });
    let range = args.get(1).map_or("0..100", String::as_str);
    let (a, b) = range.split_once("..").expect("seeds as A..B");
    let seeds = a.parse().expect("A")..b.parse().expect("B");
    let jobs = args.get(2).map_or(1, |j| j.parse().expect("JOBS"));
    let out = PathBuf::from(args.get(3).map_or("target/explore", String::as_str));
    let r = kafkasim::explore::explore(&scenario, seeds, jobs, &out, true);
    eprintln!(
        "{} seeds, {} failure(s), {:.1} seeds/s, {} ms",
        r.seeds,
        r.failures.len(),
        r.seeds_per_sec,
        r.wall_ms
    );
    eprintln!("coverage (seeds with a non-zero counter): {:?}", r.coverage);
    std::process::exit(if r.passed() { 0 } else { 1 });
}
