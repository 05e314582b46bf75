//! Exploration end to end on ping worlds: a sound scenario passes a seed range, a weakened
//! one (no request timeout) fails, and each failure is shrunk to a small schedule, written
//! as a scenario file that parses and replays to the same violation.

use std::path::Path;

use kafkasim::explore::{self, explore_with, safety_and_liveness, Options};
use kafkasim::runner::check_scenario;
use kafkasim::scenario;

fn opts(dir: &str) -> Options {
    Options {
        jobs: 2,
        out_dir: Path::new(env!("CARGO_TARGET_TMPDIR")).join(dir),
        progress: false,
        json: false,
        shrink_budget: 100,
    }
}

#[test]
fn clients_with_a_timeout_always_finish() {
    // Proves the liveness property holds on 40 seeds of random faults, and that the seeds
    // actually exercised retries (coverage, not a vacuous pass).
    let s = scenario::load(Path::new("scenarios/explore-ping.toml")).unwrap();
    let r = explore_with(&s, 0..40, &opts("ok"), &safety_and_liveness);
    assert!(r.passed(), "{:?}", r.failures);
    assert_eq!(r.seeds, 40);
    assert!(
        r.coverage.get("ping-timeouts").copied().unwrap_or(0) >= 5,
        "{:?}",
        r.coverage
    );
}

#[test]
fn a_missing_timeout_is_found_shrunk_and_replayable() {
    // Proves explore finds not-converged, shrinks it to one fault and writes a file that
    // replays (same seed) to the same violation.
    let s = scenario::load(Path::new("scenarios/explore-ping-no-timeout.toml")).unwrap();
    let r = explore_with(&s, 0..20, &opts("weak"), &safety_and_liveness);
    assert!(!r.failures.is_empty());
    for f in &r.failures {
        assert_eq!(f.violations, ["not-converged"]);
        assert!(f.shrunk_faults <= 2 && f.shrunk_faults <= f.faults, "{f:?}");
        let file = f.file.as_ref().expect("written");
        let replay = scenario::load(file).expect("the written scenario parses");
        assert_eq!(replay.seed, f.seed);
        let report = check_scenario(&replay, f.seed);
        assert!(!report.passed());
        assert!(report.failed_keys().contains(&"not-converged".to_string()));
        assert!(
            f.replay.starts_with("kafkasim tui ")
                && f.replay.ends_with(&format!("--seed {}", f.seed))
        );
    }
}

#[test]
fn results_do_not_depend_on_the_number_of_jobs() {
    // Proves parallelism lives across runs only: 1 job and 3 jobs find the same seeds.
    let s = scenario::load(Path::new("scenarios/explore-ping-no-timeout.toml")).unwrap();
    let one = explore_with(
        &s,
        0..12,
        &Options {
            jobs: 1,
            ..opts("j1")
        },
        &safety_and_liveness,
    );
    let three = explore_with(
        &s,
        0..12,
        &Options {
            jobs: 3,
            ..opts("j3")
        },
        &safety_and_liveness,
    );
    let seeds = |r: &explore::ExploreReport| {
        r.failures
            .iter()
            .map(|f| (f.seed, f.shrunk_faults))
            .collect::<Vec<_>>()
    };
    assert_eq!(seeds(&one), seeds(&three));
    assert_eq!(one.coverage, three.coverage);
}
