//! Lessons 13–18: retries and idempotence, commit semantics, the zombie leader, the slow
//! consumer, power loss, back-pressure.

use super::*;

/// `check`'s value of each key, in order.
fn values(r: &CheckReport, keys: &[&str]) -> Vec<u64> {
    keys.iter().map(|k| checked(r, k)).collect()
}

/// The claimed numbers, as integers.
fn ints(v: Vec<f64>) -> Vec<u64> {
    v.into_iter().map(|x| x as u64).collect()
}

const L13: &str = "13-retries-and-idempotence.md";

#[test]
fn lesson_13_retries_and_idempotence() {
    // Proves lesson 13: both runs retry as often as the lesson and the event log say, the
    // non-idempotent run duplicates and reorders, the idempotent one does neither, no lost
    // write; both exercises.
    let dup = shipped("retries-duplicate.toml");
    let idem = shipped("retries-idempotent.toml");
    let retries = claim1(L13, "(both files retry: {} produce retries)");
    for sc in [&dup, &idem] {
        let mut m = model(sc);
        m.sides[0].seek_time(Time(sc.duration_us));
        let n = filter_count(&mut m, "ProduceFailed");
        let all = kafka_events(sc, Time(sc.duration_us), |e| {
            matches!(e, KafkaEvent::ProduceFailed { .. })
        });
        assert_eq!(n, all);
        assert_eq!(
            checked(&check_scenario(sc, sc.seed), "produce-retries"),
            retries
        );
    }
    let keys = ["duplicate", "nonmonotonic-send", "lost-write"];
    let r = check_scenario(&dup, dup.seed);
    let v = ints(claim(L13, "`kafkasim check scenarios/retries-duplicate.toml`: {} duplicates and {} records stored out of send order (`nonmonotonic-send`), {} lost writes"));
    assert_eq!(values(&r, &keys), v);
    let r = check_scenario(&idem, idem.seed);
    let v = ints(claim(L13, "`retries-idempotent.toml`: {} and {}."));
    assert_eq!(values(&r, &keys[..2]), v);

    let r = check_scenario(&exercise(L13, 1), dup.seed);
    let v = ints(claim(
        L13,
        "Outcome (checked): {} duplicates, {} out of order.",
    ));
    assert_eq!(values(&r, &keys[..2]), v);
    let r = check_scenario(&exercise(L13, 2), dup.seed);
    let v = ints(claim(
        L13,
        "Outcome (checked): {} duplicate and {} out of order:",
    ));
    assert_eq!(values(&r, &keys[..2]), v);
}

const L14: &str = "14-commit-semantics.md";

#[test]
fn lesson_14_commit_semantics() {
    // Proves lesson 14: the records never processed / processed twice in both runs, and
    // both exercises; the clients view shows the group's committed offsets after the
    // restart equal to what the consumer processed.
    let keys = ["lost-processing", "reprocessed"];
    let amo = shipped("at-most-once.toml");
    let alo = shipped("at-least-once.toml");
    let v = ints(claim(
        L14,
        "`at-most-once.toml` has {} records never processed and {} processed twice",
    ));
    assert_eq!(values(&check_scenario(&amo, amo.seed), &keys), v);
    let v = ints(claim(
        L14,
        "`at-least-once.toml` has {} never processed and {} processed twice",
    ));
    assert_eq!(values(&check_scenario(&alo, alo.seed), &keys), v);
    let t = secs(claim(L14, "after the restart ({} s)")[0]);
    let s = view_at(&mut model(&alo), t, '3');
    let c = counters_at(&alo, t);
    assert_eq!(
        cell(&s, "worker-1", 2).parse::<u64>().unwrap(),
        get(&c, "consumed"),
        "{s}"
    );

    let r = check_scenario(&exercise(L14, 1), amo.seed);
    let v = ints(claim(
        L14,
        "Outcome (checked): {} never processed, {} processed twice",
    ));
    assert_eq!(values(&r, &keys), v);
    let r = check_scenario(&exercise(L14, 2), alo.seed);
    let v = ints(claim(
        L14,
        "Outcome (checked): {} records processed twice instead of {}",
    ));
    assert_eq!(checked(&r, "reprocessed"), v[0]);
    assert_eq!(
        checked(&check_scenario(&alo, alo.seed), "reprocessed"),
        v[1]
    );
}

const L15: &str = "15-zombie-leader.md";

#[test]
fn lesson_15_zombie_leader() {
    // Proves lesson 15: once the controller has fenced the isolated leader, its new leader
    // and epoch are the run's while the zombie still acknowledges (the run's counts); what
    // the zombie acknowledged after the cut; the truncation after the heal; lost writes as
    // `check` counts; both exercises.
    let sc = shipped("lessons/zombie-leader.toml");
    let mut m = model(&sc);
    let v = ints(claim(
        L15,
        "At t = {} s the partitions view (2) shows Leader {} with epoch {}",
    ));
    let t = secs(claim(L15, "At t = {} s the partitions view (2) shows Leader")[0]);
    let s = view_at(&mut m, t, '2');
    let w = s
        .lines()
        .map(words)
        .find(|w| w.first().is_some_and(|x| x == "orders") && w.len() >= 6)
        .unwrap();
    assert_eq!(
        [w[2].clone(), w[3].clone()],
        [v[1].to_string(), v[2].to_string()],
        "{s}"
    );
    let elections = kafka_events(
        &sc,
        t,
        |e| matches!(e, KafkaEvent::LeaderElected { tp, .. } if tp.to_string() == "orders-0"),
    );
    assert_eq!(elections - 1, v[2]);
    let acked = claim1(L15, "the clients view (3) shows ACKED {}:");
    assert_eq!(get(&counters_at(&sc, t), "acked"), acked);
    assert_eq!(
        cell(&view_at(&mut m, t, '3'), "checkout", 4),
        acked.to_string()
    );
    let v = ints(claim(L15, "Broker 2's log bar shows hw {} leo {}:"));
    let b = bar(&s, 2);
    assert_eq!(
        [after(b, "hw "), after(b, "leo ")],
        [v[0].to_string(), v[1].to_string()],
        "{s}"
    );
    assert_eq!(v[1], acked, "the zombie's log end is what it acknowledged");
    let at_cut = get(&counters_at(&sc, Time(5_000_000)), "acked");
    assert!(
        acked > at_cut + 700,
        "the zombie acknowledges: {at_cut} → {acked}"
    );
    let v = claim(L15, "At t = {} s the clients view shows ACKED {}:");
    let t = secs(v[0]);
    assert_eq!(get(&counters_at(&sc, t), "acked"), v[1] as u64);
    assert_eq!(
        cell(&view_at(&mut m, t, '3'), "checkout", 4),
        (v[1] as u64).to_string()
    );
    assert_eq!(
        v[1] as u64 - at_cut,
        claim1(L15, "the zombie acknowledged {} records after")
    );
    let v = claim(L15, "At t = {} s broker 2 shows truncated {}.");
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    assert_eq!(
        after(bar(&s, 2), "truncated "),
        (v[1] as u64).to_string(),
        "{s}"
    );
    assert_eq!(truncated(&sc, t), v[1] as u64);
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L15, "`kafkasim check` finds {} lost writes")
    );

    let r = check_scenario(&exercise(L15, 1), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L15, "Outcome (checked): {} lost writes: the zombie")
    );
    let r = check_scenario(&exercise(L15, 2), sc.seed);
    let v = ints(claim(
        L15,
        "Outcome (checked): {} leader elections and {} lost writes",
    ));
    assert_eq!(values(&r, &["leader-elections", "lost-write"]), v);
}

const L16: &str = "16-slow-consumer.md";

#[test]
fn lesson_16_slow_consumer() {
    // Proves lesson 16: the group is rebalancing at 12 s with lag on both partitions equal
    // to the run's acknowledged minus committed, and `check`'s rebalances, reprocessed,
    // never-processed and CommitFailedException counts; both exercises.
    let sc = shipped("lessons/slow-consumer.toml");
    let t = secs(claim(L16, "At t = {} s the clients view (3) shows the group in")[0]);
    let s = view_at(&mut model(&sc), t, '3');
    assert!(
        line(&s, "GROUP resizer").contains("PreparingRebalance"),
        "{s}"
    );
    let rows: Vec<Vec<String>> = s
        .lines()
        .map(words)
        .filter(|w| w.first().is_some_and(|x| x == "images"))
        .collect();
    assert_eq!(rows.len(), 2, "{s}");
    let end: u64 = rows.iter().map(|r| r[3].parse::<u64>().unwrap()).sum();
    assert_eq!(
        end,
        get(&counters_at(&sc, t), "acked"),
        "LOG-END-OFFSET: what was acknowledged"
    );
    assert!(
        rows.iter().all(|r| r[4].parse::<u64>().unwrap() > 50),
        "large lag: {s}"
    );
    let keys = ["rebalances", "reprocessed", "unprocessed"];
    let v = ints(claim(
        L16,
        "`kafkasim check`: {} rebalances, {} records processed twice, and {} still unprocessed",
    ));
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(values(&r, &["lost-processing"]), [0], "waiting, not lost");
    assert_eq!(values(&r, &keys), v);
    assert_eq!(
        checked(&r, "commit-failed"),
        claim1(L16, "{} commits failed with CommitFailedException")
    );

    let v = ints(claim(
        L16,
        "Outcome (checked): {} rebalance (the first join), {} processed twice, {} unprocessed",
    ));
    assert_eq!(
        values(&check_scenario(&exercise(L16, 1), sc.seed), &keys),
        v
    );
    let v = ints(claim(
        L16,
        "Outcome (checked): {} rebalance, {} processed twice: the same fix",
    ));
    assert_eq!(
        values(&check_scenario(&exercise(L16, 2), sc.seed), &keys[..2]),
        v
    );
}

const L17: &str = "17-power-loss.md";

#[test]
fn lesson_17_power_loss() {
    // Proves lesson 17: every replica's log before and after the power loss (the run's
    // acknowledged records, then nothing), kill keeps them, lost writes as `check` counts;
    // both exercises.
    let pl = shipped("power-loss-all-replicas.toml");
    let kill = shipped("kill-all-replicas.toml");
    let v = claim(
        L17,
        "At t = {} s the partitions view (2) shows all three replicas at leo {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut model(&pl), t, '2');
    for b in 1..=3 {
        assert_eq!(after(bar(&s, b), "leo "), (v[1] as u64).to_string(), "{s}");
    }
    assert_eq!(get(&counters_at(&pl, t), "acked") as f64, v[1]);
    let v = claim(
        L17,
        "At t = {} s, after the power loss, it shows all three at leo {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut model(&pl), t, '2');
    for b in 1..=3 {
        assert_eq!(after(bar(&s, b), "leo "), (v[1] as u64).to_string(), "{s}");
    }
    let s = view_at(&mut model(&kill), t, '2');
    let acked = get(&counters_at(&kill, t), "acked");
    for b in 1..=3 {
        assert_eq!(after(bar(&s, b), "leo "), acked.to_string(), "intact: {s}");
    }
    let r = check_scenario(&pl, pl.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L17, "`kafkasim check` finds {} lost writes")
    );
    assert_eq!(
        checked(&check_scenario(&kill, kill.seed), "lost-write"),
        claim1(L17, "logs intact; {} lost writes")
    );

    let r = check_scenario(&exercise(L17, 1), pl.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L17, "Outcome (checked): {} lost writes — at the price")
    );
    let r = check_scenario(&exercise(L17, 2), pl.seed);
    let v = ints(claim(
        L17,
        "Outcome (checked): still {} lost writes, and {} truncation",
    ));
    assert_eq!(values(&r, &["lost-write", "truncations"]), v);
}

const L18: &str = "18-lag-and-back-pressure.md";

#[test]
fn lesson_18_back_pressure() {
    // Proves lesson 18: records sent and acknowledged at 10 s and 30 s are the run's (send()
    // stops while the buffer is full), the failures shown are the run's; both exercises.
    let sc = shipped("lessons/backpressure.toml");
    let mut m = model(&sc);
    let v = claim(
        L18,
        "At t = {} s the clients view (3) shows SENT {} and ACKED {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '3');
    let c = counters_at(&sc, t);
    assert_eq!(
        [get(&c, "produced"), get(&c, "acked")],
        [v[1] as u64, v[2] as u64]
    );
    assert_eq!(
        [cell(&s, "web", 3), cell(&s, "web", 4)],
        [v[1], v[2]].map(|x| (x as u64).to_string())
    );
    assert_eq!(
        v[1] as u64 - v[2] as u64,
        claim1(L18, "hand over only {} more records")
    );
    let v = claim(
        L18,
        "At t = {} s it still shows SENT {}, with errors REQUEST_TIMED_OUT×{}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '3');
    let c = counters_at(&sc, t);
    assert_eq!(get(&c, "produced"), v[1] as u64);
    assert_eq!(cell(&s, "web", 3), (v[1] as u64).to_string());
    assert_eq!(get(&c, "produce-errors"), v[2] as u64);
    assert!(
        line(&s, "errors:").contains(&format!("REQUEST_TIMED_OUT×{}", v[2] as u64)),
        "{s}"
    );

    let keys = ["produced", "produce-errors"];
    let v = ints(claim(
        L18,
        "Outcome (checked): {} records sent and {} failed: the application never",
    ));
    assert_eq!(
        values(&check_scenario(&exercise(L18, 1), sc.seed), &keys),
        v
    );
    let v = ints(claim(
        L18,
        "Outcome (checked): {} records sent and {} failed within",
    ));
    assert_eq!(
        values(&check_scenario(&exercise(L18, 2), sc.seed), &keys),
        v
    );
}
