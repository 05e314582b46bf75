//! Lessons 7–12: acks=all failover, acks=1 and acks=0 losses, min.insync.replicas,
//! unclean election, leader epochs (KIP-101).

use super::*;

/// Leader, epoch and ISR of `topic`'s partition row in the partitions view.
fn row(s: &str, topic: &str) -> (String, String, String) {
    let w = s
        .lines()
        .map(words)
        .find(|w| w.first().is_some_and(|x| x == topic) && w.len() >= 6)
        .unwrap_or_else(|| panic!("no row for {topic}:\n{s}"));
    (w[2].clone(), w[3].clone(), w[5].clone())
}

/// Elections of `tp` up to `t` (the first one gives epoch 0, each later one bumps it).
fn epoch(sc: &Scenario, tp: &str, t: Time) -> u64 {
    kafka_events(
        sc,
        t,
        |e| matches!(e, KafkaEvent::LeaderElected { tp: p, .. } if p.to_string() == tp),
    ) - 1
}

const L7: &str = "07-acks-all-failover.md";

#[test]
fn lesson_07_acks_all_failover() {
    // Proves lesson 7: before the kill the leader's HW equals the records acknowledged;
    // after the failover the new leader's epoch is the run's, the old leader truncated what
    // the run truncated; nothing acknowledged is lost; both exercises.
    let sc = shipped("acks-all-failover.toml");
    let mut m = model(&sc);
    let v = claim(L7, "At t = {} s (the note at 5 s pauses just before) the partitions view (2) shows the leader broker {} at hw {} leo {}");
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    let b = bar(&s, v[1] as u32);
    assert_eq!(after(b, "hw "), (v[2] as u64).to_string(), "{s}");
    assert_eq!(after(b, "leo "), (v[3] as u64).to_string(), "{s}");
    let acked = get(&counters_at(&sc, t), "acked");
    assert_eq!(acked, claim1(L7, "the clients view (3) shows ACKED {}"));
    assert_eq!(acked, v[2] as u64, "acknowledged = below the HW");
    let s3 = view_at(&mut m, t, '3');
    assert_eq!(cell(&s3, "checkout", 4), acked.to_string());
    let v = claim(L7, "At t = {} s the new leader is broker {} with epoch {}");
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    let (leader, ep, _) = row(&s, "orders");
    assert_eq!(
        (leader, ep.clone()),
        ((v[1] as u64).to_string(), (v[2] as u64).to_string())
    );
    assert_eq!(ep, epoch(&sc, "orders-0", t).to_string());
    let cut = claim1(L7, "shows truncated {}:");
    assert_eq!(after(bar(&s, 2), "truncated "), cut.to_string(), "{s}");
    assert_eq!(truncated(&sc, t), cut);
    assert_eq!(checked(&check_scenario(&sc, sc.seed), "lost-write"), 0);

    let r = check_scenario(&exercise(L7, 1), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L7, "Outcome (checked): {} lost writes. The kill")
    );
    let ex = exercise(L7, 2);
    let mut m = model(&ex);
    let v = claim(
        L7,
        "at t = {} s the partitions view shows Isr {} and the leader alone at hw {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    assert_eq!(row(&s, "orders").2, (v[1] as u64).to_string(), "{s}");
    assert_eq!(
        after(bar(&s, v[1] as u32), "hw "),
        (v[2] as u64).to_string(),
        "{s}"
    );
    assert_eq!(
        get(&counters_at(&ex, t), "acked"),
        claim1(L7, "it acknowledged {} records with no follower")
    );
    let t = secs(claim(L7, "the partition is OFFLINE at t = {} s")[0]);
    let s = view_at(&mut m, t, '2');
    assert_eq!(row(&s, "orders").0, "OFFLINE", "{s}");
    let r = check_scenario(&ex, ex.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L7, "with all of them. {} lost writes")
    );
}

const L8: &str = "08-acks1-loses-writes.md";

#[test]
fn lesson_08_acks1_loses_writes() {
    // Proves lesson 8: before the kill, acknowledged records above the followers' LEO
    // exist only on the leader (counts from the run); after it the truncation removed what
    // the run truncated; `check` counts the lost writes the lesson names; both exercises.
    let sc = shipped("acks1-leader-failover.toml");
    let mut m = model(&sc);
    let v = claim(
        L8,
        "At t = {} s the partitions view (2) shows the leader broker {} at hw {} leo {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    let b = bar(&s, v[1] as u32);
    assert_eq!(after(b, "hw "), (v[2] as u64).to_string(), "{s}");
    assert_eq!(after(b, "leo "), (v[3] as u64).to_string(), "{s}");
    let followers = claim1(L8, "and both followers at leo {}");
    for f in [1, 3] {
        assert_eq!(after(bar(&s, f), "leo "), followers.to_string(), "{s}");
    }
    let acked = get(&counters_at(&sc, t), "acked");
    assert_eq!(acked, claim1(L8, "the clients view (3) shows ACKED {}"));
    assert_eq!(
        acked - followers,
        claim1(L8, "So {} acknowledged records exist on one broker")
    );
    let t = secs(claim(L8, "At t = {} s broker 2, now a follower")[0]);
    let s = view_at(&mut m, t, '2');
    let cut = claim1(L8, "shows truncated {}:");
    assert_eq!(after(bar(&s, 2), "truncated "), cut.to_string(), "{s}");
    assert_eq!(truncated(&sc, t), cut);
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L8, "finds {} lost writes, and the")
    );

    let r = check_scenario(&exercise(L8, 1), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L8, "Outcome (checked): {} lost writes. (With")
    );
    assert_eq!(
        checked(&r, "duplicate"),
        claim1(L8, "period write {} duplicate")
    );
    let r = check_scenario(&exercise(L8, 2), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L8, "(checked): {} lost writes: the loss")
    );
}

const L9: &str = "09-acks0-loses-silently.md";

#[test]
fn lesson_09_acks0_loses_silently() {
    // Proves lesson 9: nothing is acknowledged and every outcome is unknown (the run's
    // counts), the truncation removed records, the checker sees no lost write though the
    // log holds fewer records than were sent; both exercises.
    let sc = shipped("lessons/acks0-leader-failover.toml");
    let mut m = model(&sc);
    let v = claim(
        L9,
        "At t = {} s the clients view (3) shows SENT {}, ACKED {} and errors: unknown outcome×{}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '3');
    let c = counters_at(&sc, t);
    assert_eq!(
        [get(&c, "produced"), get(&c, "acked")],
        [v[1] as u64, v[2] as u64]
    );
    assert_eq!(cell(&s, "checkout", 3), get(&c, "produced").to_string());
    assert_eq!(cell(&s, "checkout", 4), "0");
    assert!(
        line(&s, "errors:").contains(&format!("unknown outcome×{}", v[3] as u64)),
        "{s}"
    );
    let s = view_at(&mut m, t, '2');
    let cut = claim1(L9, "shows the old leader truncated {}:");
    assert_eq!(after(bar(&s, 2), "truncated "), cut.to_string(), "{s}");
    assert_eq!(truncated(&sc, t), cut);
    let end = claim1(L9, "the log ends at offset {} of");
    assert_eq!(after(bar(&s, 1), "leo "), end.to_string(), "{s}");
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(checked(&r, "lost-write") + checked(&r, "produce-errors"), 0);

    let r = check_scenario(&exercise(L9, 1), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L9, "Outcome (checked): {} lost writes — the same")
    );
    let r = check_scenario(&exercise(L9, 2), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L9, "Outcome (checked): {} lost writes and all")
    );
    assert_eq!(
        checked(&r, "acked"),
        claim1(L9, "lost writes and all {} records acknowledged")
    );
}

const L10: &str = "10-min-insync-replicas.md";

#[test]
fn lesson_10_min_insync_replicas() {
    // Proves lesson 10: no record acknowledged between the cut and 40 s (the run's count),
    // the event log's ProduceFailed count is the run's and shows REQUEST_TIMED_OUT and
    // NOT_ENOUGH_REPLICAS, no lost write; both exercises.
    let sc = shipped("min-isr-rejects.toml");
    let mut m = model(&sc);
    let v = claim(
        L10,
        "At t = {} s the clients view (3) shows the producer still at ACKED {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '3');
    assert_eq!(cell(&s, "api", 4), (v[1] as u64).to_string(), "{s}");
    assert_eq!(get(&counters_at(&sc, t), "acked"), v[1] as u64);
    assert_eq!(
        get(&counters_at(&sc, secs(5.0)), "acked"),
        v[1] as u64,
        "none since 5 s"
    );
    let at = secs(claim(L10, "and at {} s you read both reasons")[0]);
    m.sides[0].seek_time(at);
    let n = filter_count(&mut m, "ProduceFailed");
    assert_eq!(n, claim1(L10, "the title counts {} matches"));
    let all = kafka_events(&sc, Time(sc.duration_us), |e| {
        matches!(e, KafkaEvent::ProduceFailed { .. })
    });
    assert_eq!(n, all);
    let s = screen(&mut m, 140, 40);
    assert!(s.contains("FAILED with REQUEST_TIMED_OUT"), "{s}");
    assert!(
        s.contains("failed with NOT_ENOUGH_REPLICAS; will retry"),
        "{s}"
    );
    let base = check_scenario(&sc, sc.seed);
    assert_eq!(checked(&base, "lost-write"), 0);

    let r = check_scenario(&exercise(L10, 1), sc.seed);
    let v = claim(L10, "Outcome (checked): {} produce retries instead of {}");
    assert_eq!(checked(&r, "produce-retries"), v[0] as u64);
    assert_eq!(checked(&base, "produce-retries"), v[1] as u64);
    let r = check_scenario(&exercise(L10, 2), sc.seed);
    assert_eq!(
        checked(&r, "isr-shrinks"),
        claim1(L10, "Outcome (checked): {} ISR shrinks, so")
    );
    assert_eq!(
        checked(&r, "produce-retries"),
        claim1(L10, "times out ({} retries)")
    );
}

const L11: &str = "11-unclean-election.md";

#[test]
fn lesson_11_unclean_election() {
    // Proves lesson 11: before the kill the ISR is the leader alone; after it, enabled: an
    // unclean leader with a new epoch (the run's) and lost writes; disabled: OFFLINE and
    // none lost; both exercises.
    let on = shipped("unclean-election-enabled.toml");
    let off = shipped("unclean-election-disabled.toml");
    let v = claim(L11, "At t = {} s (either file) the partitions view (2) shows Isr {} and the leader at leo {}, the followers at leo {}");
    let t = secs(v[0]);
    for sc in [&on, &off] {
        let s = view_at(&mut model(sc), t, '2');
        let (leader, _, isr) = row(&s, "events");
        assert_eq!(isr, (v[1] as u64).to_string(), "{s}");
        assert_eq!(leader, isr);
        assert_eq!(
            after(bar(&s, v[1] as u32), "leo "),
            (v[2] as u64).to_string(),
            "{s}"
        );
        assert_eq!(after(bar(&s, 1), "leo "), (v[3] as u64).to_string(), "{s}");
    }
    let v = claim(
        L11,
        "At t = {} s, enabled: Leader {} with epoch {} and Isr {},{}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut model(&on), t, '2');
    let want = (
        (v[1] as u64).to_string(),
        (v[2] as u64).to_string(),
        format!("{},{}", v[3], v[4]),
    );
    assert_eq!(row(&s, "events"), want, "{s}");
    assert_eq!(epoch(&on, "events-0", t), v[2] as u64);
    let r = check_scenario(&on, on.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L11, "finds {} lost writes")
    );
    assert!(checked(&r, "unclean-elections") >= 1);
    let t = secs(claim(L11, "At t = {} s, disabled: Leader OFFLINE")[0]);
    let s = view_at(&mut model(&off), t, '2');
    assert_eq!(row(&s, "events").0, "OFFLINE", "{s}");
    let r = check_scenario(&off, off.seed);
    let v = claim(
        L11,
        "the run ends with {} offline partition and {} lost writes",
    );
    assert_eq!(
        [checked(&r, "offline-partitions"), checked(&r, "lost-write")],
        [v[0] as u64, v[1] as u64]
    );

    let r = check_scenario(&exercise(L11, 1), on.seed);
    let v = claim(L11, "Outcome (checked): {} lost writes, but {} sends fail");
    assert_eq!(
        [checked(&r, "lost-write"), checked(&r, "produce-errors")],
        [v[0] as u64, v[1] as u64]
    );
    let r = check_scenario(&exercise(L11, 2), off.seed);
    let v = claim(L11, "the end ({} offline partitions) with {} lost writes");
    assert_eq!(
        [checked(&r, "offline-partitions"), checked(&r, "lost-write")],
        [v[0] as u64, v[1] as u64]
    );
}

const L12: &str = "12-leader-epochs.md";

#[test]
fn lesson_12_leader_epochs() {
    // Proves lesson 12: the follower truncated the committed record under its new leader (the run's
    // truncation), then led with the epoch the run's elections give; one lost write with
    // high-watermark truncation, none with leader epochs; both exercises.
    let sc = shipped("lessons/kip101-hw-truncation.toml");
    let mut m = model(&sc);
    let v = claim(L12, "At t = {} s the partitions view (2) shows broker 2 at hw {} leo {} and broker 3 at hw {} leo {} truncated {}");
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    let b2 = bar(&s, 2);
    assert_eq!(
        [after(b2, "hw "), after(b2, "leo ")],
        [v[1], v[2]].map(|x| (x as u64).to_string())
    );
    let b3 = bar(&s, 3);
    assert_eq!(
        [after(b3, "hw "), after(b3, "leo "), after(b3, "truncated ")],
        [v[3], v[4], v[5]].map(|x| (x as u64).to_string())
    );
    assert_eq!(truncated(&sc, t), v[5] as u64);
    let v = claim(L12, "At t = {} s Leader {} with epoch {}");
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    assert_eq!(row(&s, "orders").0, (v[1] as u64).to_string(), "{s}");
    assert_eq!(row(&s, "orders").1, (v[2] as u64).to_string(), "{s}");
    assert_eq!(epoch(&sc, "orders-0", t), v[2] as u64);
    assert!(
        after(bar(&s, 2), "DOWN:").is_empty() || s.contains("DOWN"),
        "{s}"
    );
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L12, "finds {} lost write: an acknowledged")
    );

    let r = check_scenario(&exercise(L12, 1), sc.seed);
    let v = claim(L12, "Outcome (checked): {} lost writes and {} truncations");
    assert_eq!(
        [checked(&r, "lost-write"), checked(&r, "truncations")],
        [v[0] as u64, v[1] as u64]
    );
    let r = check_scenario(&exercise(L12, 2), sc.seed);
    assert_eq!(
        checked(&r, "lost-write"),
        claim1(L12, "Outcome (checked): {} lost writes, still")
    );
    assert_eq!(
        checked(&r, "truncations"),
        claim1(L12, "truncation and {} truncation:")
    );
}
