//! Lessons 19–20: retention (and compaction).

use super::*;

/// `check`'s value of each key, in order.
fn values(r: &CheckReport, keys: &[&str]) -> Vec<u64> {
    keys.iter().map(|k| checked(r, k)).collect()
}

/// The claimed numbers, as integers.
fn ints(v: Vec<f64>) -> Vec<u64> {
    v.into_iter().map(|x| x as u64).collect()
}

/// (broker id, log start offset, segments) of `tp` on every replica at `t`, from the engine.
fn log_starts(sc: &Scenario, tp: &str, t: Time) -> Vec<(u32, u64, usize)> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    let mut out = Vec::new();
    for id in w.node_ids() {
        let Some(b) = w.node(id).as_broker() else {
            continue;
        };
        if let Some(p) = b.partitions.iter().find(|(k, _)| k.to_string() == tp) {
            let log = &p.1.log;
            out.push((
                b.id.0,
                log.log_start_offset().0 as u64,
                log.segments().len(),
            ));
        }
    }
    out
}

const L19: &str = "19-retention.md";

#[test]
fn lesson_19_retention() {
    // Proves lesson 19: at 26 s the partitions view shows each replica's log start as the
    // engine has it and the group's committed offset below it; the consumer's
    // FetchPositionOutOfRange events as the event log counts them; `check`'s lost writes,
    // retention deletions and unseen records; both exercises.
    let sc = shipped("lessons/retention-slow-consumer.toml");
    let mut m = model(&sc);
    let v = claim(
        L19,
        "At t = {} s the partitions view (2) shows every replica's log starting at offset {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    let replicas = log_starts(&sc, "clicks-0", t);
    assert_eq!(replicas.len(), 3);
    for (b, start, segments) in replicas {
        assert_eq!(start, v[1] as u64, "the engine's log start of broker {b}");
        assert_eq!(after(bar(&s, b), "start "), start.to_string(), "{s}");
        assert_eq!(after(bar(&s, b), "segs "), segments.to_string(), "{s}");
        assert!(
            bar(&s, b).contains(&format!("(0 cleaned, {segments} dirty)")),
            "{s}"
        );
    }
    let s3 = view_at(&mut m, t, '3');
    let committed = claim1(L19, "shows the group's CURRENT-OFFSET {}");
    assert_eq!(cell(&s3, "clicks", 2), committed.to_string(), "{s3}");
    assert!(committed < v[1] as u64);

    let n = claim1(L19, "found their position deleted: {} in the run");
    let mut m = model(&sc);
    m.sides[0].seek_time(Time(sc.duration_us));
    assert_eq!(filter_count(&mut m, "FetchPositionOutOfRange"), n);
    let all = kafka_events(&sc, Time(sc.duration_us), |e| {
        matches!(e, KafkaEvent::FetchPositionOutOfRange { .. })
    });
    assert_eq!(all, n);

    let keys = ["lost-write", "segments-deleted", "unseen"];
    let v = ints(claim(
        L19,
        "`kafkasim check`: {} lost writes (retention is not loss), {} retention deletions",
    ));
    let unseen = claim1(L19, "and {} unseen records: acknowledged, then deleted");
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(values(&r, &keys), vec![v[0], v[1], unseen]);
    assert_eq!(checked(&r, "position-below-log-start"), n);

    let keys = ["segments-deleted", "position-below-log-start"];
    let v = ints(claim(
        L19,
        "Outcome (checked): {} retention deletions and {} positions below the log start",
    ));
    let r = check_scenario(&exercise(L19, 1), sc.seed);
    assert_eq!(values(&r, &keys), v);
    let v = ints(claim(
        L19,
        "Outcome (checked): still {} retention deletions, but {} positions below the log start and {} unseen",
    ));
    let r = check_scenario(&exercise(L19, 2), sc.seed);
    assert_eq!(
        values(
            &r,
            &["segments-deleted", "position-below-log-start", "unseen"]
        ),
        v
    );
}
