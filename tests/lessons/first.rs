//! Lessons 1–6: the simulator, decoupling in time, send modes, partitions and keys,
//! consumer groups, replication basics.

use super::*;

const L1: &str = "01-the-simulator.md";

#[test]
fn lesson_01_the_simulator() {
    // Proves lesson 1's moments (the paused server, each client's timeouts at 2.6 s and 4 s
    // equal to the run's), its export window holding the pause, and its two exercises.
    let sc = shipped("ping-faults.toml");
    let mut m = model(&sc);
    let t = secs(claim(L1, "At t = {} s the cluster view")[0]);
    let s = view_at(&mut m, t, '1');
    assert_eq!(words(line(&s, "server-1"))[2], "PAUSED", "{s}");
    for pat in [
        "shows TIMED-OUT {} for each client",
        "each client shows TIMED-OUT {}:",
    ] {
        let t = if pat.starts_with("shows") {
            t
        } else {
            secs(claim(L1, "At t = {} s, after the pause")[0])
        };
        let want = claim1(L1, pat);
        let s = view_at(&mut m, t, '3');
        for c in ["client-1", "client-2", "client-3"] {
            assert_eq!(cell(&s, c, 4), want.to_string(), "{c} at {t}:\n{s}");
        }
        assert_eq!(get(&counters_at(&sc, t), "ping-timeouts"), 3 * want);
    }
    let w = claim(L1, "--format mermaid --from {} --to {}");
    let (from, to) = (w[0] as u64, w[1] as u64);
    let run = kafkasim::export::Run::new(&sc, sc.seed).unwrap();
    let window = kafkasim::export::Window { from, to };
    let texts: Vec<String> = run.records(window).map(|r| run.text(r)).collect();
    let [pause, resume] = [
        claim1(L1, "event {} is the pause"),
        claim1(L1, "{} the resume"),
    ];
    assert!(from <= pause && resume <= to, "window {from}..{to}");
    assert!(texts.iter().any(|t| t.contains("is paused")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("resumed")), "{texts:?}");
    let d =
        kafkasim::export::mermaid::diagrams(&run, window, kafkasim::export::mermaid::MAX_TEXT_SIZE);
    assert!(d[0].text.contains("paused"), "the diagram shows the pause");

    let r = check_scenario(&exercise(L1, 1), sc.seed);
    assert_eq!(
        checked(&r, "ping-timeouts"),
        claim1(L1, "Outcome (checked): {} ping timeouts")
    );
    assert_eq!(
        checked(&r, "ping-replies"),
        claim1(L1, "and still all {} replies")
    );
    assert_eq!(
        check_scenario(&sc, sc.seed).counters["ping-timeouts"],
        claim1(L1, "than the {} of the original run")
    );
    let r = check_scenario(&exercise(L1, 2), sc.seed);
    assert_eq!(
        checked(&r, "ping-timeouts"),
        claim1(L1, "(checked): {} ping timeouts, all")
    );
    assert_eq!(
        checked(&r, "ping-replies"),
        claim1(L1, "ping timeouts, all {} replies")
    );
}

const L2: &str = "02-decoupling-in-time.md";

#[test]
fn lesson_02_decoupling_in_time() {
    // Proves lesson 2: the RPC caller's ok/failed/timed-out at 25 s equal the run's calls,
    // the Kafka run's acknowledged records and lag at 39 s equal its history, the group is
    // still rebalancing at 45 s, and both exercises' outcomes.
    let rpc = shipped("rpc-callee-down.toml");
    let v = claim(
        L2,
        "at t = {} s the clients view (3) shows OK {}, FAILED {} and TIMED-OUT {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut model(&rpc), t, '3');
    let c = counters_at(&rpc, t);
    assert_eq!(cell(&s, "billing-caller", 2), get(&c, "rpc-ok").to_string());
    assert_eq!(
        cell(&s, "billing-caller", 3),
        get(&c, "rpc-failures").to_string()
    );
    assert_eq!(
        [get(&c, "rpc-ok"), get(&c, "rpc-failures")],
        [v[1] as u64, v[2] as u64]
    );
    assert_eq!(cell(&s, "billing-caller", 4), (v[3] as u64).to_string());
    assert_eq!(
        v[3] as u64,
        3 * v[2] as u64,
        "each failed call is 3 attempts"
    );

    let kafka = shipped("kafka-callee-down.toml");
    let v = claim(
        L2,
        "at t = {} s the clients view shows the producer with ACKED {}",
    );
    let t = secs(v[0]);
    let mut m = model(&kafka);
    let s = view_at(&mut m, t, '3');
    let c = counters_at(&kafka, t);
    assert_eq!(cell(&s, "checkout", 4), get(&c, "acked").to_string());
    assert_eq!(get(&c, "acked"), v[1] as u64);
    assert_eq!(get(&c, "produce-errors"), 0);
    assert!(!s.contains("errors:"), "{s}");
    let (lag, end, cur) = group_sums(&s, "orders");
    assert_eq!(lag, claim1(L2, "with a LAG of {} records"), "{s}");
    assert_eq!(
        end,
        get(&c, "acked"),
        "LOG-END-OFFSET adds up to what was acknowledged"
    );
    assert_eq!(
        cur,
        get(&c, "consumed"),
        "CURRENT-OFFSET: what was processed and committed"
    );
    let t = secs(claim(L2, "At t = {} s billing has been back")[0]);
    let s = view_at(&mut m, t, '3');
    assert!(
        line(&s, "GROUP billing").contains("PreparingRebalance"),
        "{s}"
    );

    let ex = exercise(L2, 1);
    let t = secs(claim(L2, "at t = {} s the group's LAG adds up")[0]);
    let s = view_at(&mut model(&ex), t, '3');
    let (lag, _, _) = group_sums(&s, "orders");
    assert!(
        lag <= claim1(L2, "adds up to at most {} records"),
        "lag {lag}:\n{s}"
    );
    let r = check_scenario(&exercise(L2, 2), rpc.seed);
    let v = claim(
        L2,
        "Outcome (checked): {} failed calls and {} ok (instead of {} and {})",
    );
    assert_eq!(
        [checked(&r, "rpc-failures"), checked(&r, "rpc-ok")],
        [v[0] as u64, v[1] as u64]
    );
    let base = check_scenario(&rpc, rpc.seed);
    assert_eq!(
        [checked(&base, "rpc-failures"), checked(&base, "rpc-ok")],
        [v[2] as u64, v[3] as u64]
    );
}

/// Sums of LAG, LOG-END-OFFSET and CURRENT-OFFSET over the group rows of `topic` (wide).
fn group_sums(s: &str, topic: &str) -> (u64, u64, u64) {
    let rows: Vec<Vec<String>> = s
        .lines()
        .map(words)
        .filter(|w| w.first().is_some_and(|x| x == topic) && w.len() >= 5)
        .collect();
    assert!(!rows.is_empty(), "{s}");
    let n = |r: &Vec<String>, i: usize| r[i].parse::<u64>().unwrap_or(0);
    rows.iter().fold((0, 0, 0), |(l, e, c), r| {
        (l + n(r, 4), e + n(r, 3), c + n(r, 2))
    })
}

const L3: &str = "03-send-modes.md";

#[test]
fn lesson_03_send_modes() {
    // Proves lesson 3: records sent and acknowledged at the end of the sync, async and
    // fire-and-forget runs equal the runs' counters, async is more than 20x ahead, and both
    // exercises' outcomes.
    let t = secs(claim(L3, "at the end of the run (t = {} s)")[0]);
    let sync = shipped("send-sync.toml");
    let s = view_at(&mut model(&sync), t, '3');
    let c = counters_at(&sync, t);
    let v = claim(L3, "`send-sync.toml`: SENT {}, ACKED {}");
    assert_eq!(
        [get(&c, "produced"), get(&c, "acked")],
        [v[0] as u64, v[1] as u64]
    );
    assert_eq!(cell(&s, "checkout", 3), get(&c, "produced").to_string());
    assert_eq!(cell(&s, "checkout", 4), get(&c, "acked").to_string());
    let asy = shipped("send-async.toml");
    let s = view_at(&mut model(&asy), t, '3');
    let a = counters_at(&asy, t);
    assert_eq!(get(&a, "acked"), claim1(L3, "`send-async.toml`: ACKED {}"));
    assert_eq!(cell(&s, "checkout", 4), get(&a, "acked").to_string());
    assert!(get(&a, "acked") > 20 * get(&c, "acked"));
    let ff = shipped("lessons/send-fire-and-forget.toml");
    let s = view_at(&mut model(&ff), t, '3');
    let f = counters_at(&ff, t);
    let v = claim(L3, "`send-fire-and-forget.toml`: SENT {}, ACKED {}");
    assert_eq!(
        [get(&f, "produced"), get(&f, "acked")],
        [v[0] as u64, v[1] as u64]
    );
    assert_eq!(cell(&s, "checkout", 3), v[0].to_string());
    assert_eq!(cell(&s, "checkout", 4), v[1].to_string());

    let r = check_scenario(&exercise(L3, 1), sync.seed);
    assert_eq!(
        checked(&r, "acked"),
        claim1(L3, "Outcome (checked): {} records acknowledged (1099")
    );
    let r = check_scenario(&exercise(L3, 2), asy.seed);
    assert_eq!(
        checked(&r, "acked"),
        claim1(L3, "Outcome (checked): still {} records acknowledged")
    );
}

const L4: &str = "04-partitions-and-keys.md";

/// Consumers of the clients view with CONSUMED > 0, out of `names`.
fn working(s: &str, names: &[&str]) -> usize {
    names
        .iter()
        .filter(|n| cell(s, n, 2).parse::<u64>().unwrap_or(0) > 0)
        .count()
}

#[test]
fn lesson_04_partitions_and_keys() {
    // Proves lesson 4: at 10 s two consumers share what was consumed and the third has
    // consumed nothing and owns no partition; order holds per partition; both exercises.
    let sc = shipped("lessons/partitions-keys.toml");
    let v = claim(
        L4,
        "At t = {} s, in the clients view (3): the producer has ACKED {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut model(&sc), t, '3');
    let c = counters_at(&sc, t);
    assert_eq!(cell(&s, "api", 4), get(&c, "acked").to_string());
    assert_eq!(get(&c, "acked"), v[1] as u64);
    let n = |name: &str| cell(&s, name, 2).parse::<u64>().unwrap();
    assert_eq!(n("ledger-1") + n("ledger-2"), get(&c, "consumed"));
    assert_eq!(
        get(&c, "consumed"),
        claim1(L4, "have consumed {} records between them")
    );
    assert_eq!(n("ledger-3"), claim1(L4, "`ledger-3` shows CONSUMED {}"));
    let owners: Vec<String> = s
        .lines()
        .map(words)
        .filter(|w| w.first().is_some_and(|x| x == "payments"))
        .map(|w| w.last().unwrap().clone())
        .collect();
    assert_eq!(owners.len(), 2, "one row per partition:\n{s}");
    assert!(!owners.contains(&"ledger-3".to_string()), "{s}");
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(
        checked(&r, "nonmonotonic-send") + checked(&r, "nonmonotonic-poll"),
        0
    );

    let names = ["ledger-1", "ledger-2", "ledger-3"];
    let t = secs(claim(L4, "Outcome (checked): at t = {} s all")[0]);
    let s = view_at(&mut model(&exercise(L4, 1)), t, '3');
    assert_eq!(
        working(&s, &names) as u64,
        claim1(L4, "s all {} consumers have consumed")
    );
    let s = view_at(&mut model(&exercise(L4, 2)), t, '3');
    assert_eq!(
        working(&s, &names) as u64,
        claim1(L4, "s exactly {} consumer has consumed")
    );
}

const L5: &str = "05-groups-and-rebalancing.md";

fn revoked(sc: &Scenario) -> u64 {
    kafka_events(sc, Time(sc.duration_us), |e| {
        matches!(e, KafkaEvent::PartitionsRevoked { .. })
    })
}

#[test]
fn lesson_05_groups_and_rebalancing() {
    // Proves lesson 5: the event log's PartitionsRevoked count is the run's revocations
    // (eager: every survivor; cooperative: none), both runs rebalance as often as the lesson
    // says, and both exercises' outcomes.
    let eager = shipped("lessons/group-rebalance-eager.toml");
    let coop = shipped("group-rebalance.toml");
    let end = Time(eager.duration_us);
    let mut m = model(&eager);
    m.sides[0].seek_time(end);
    let n = filter_count(&mut m, "PartitionsRevoked");
    assert_eq!(n, revoked(&eager));
    assert_eq!(n, claim1(L5, "Eager: {} matches"));
    let mut m = model(&coop);
    m.sides[0].seek_time(end);
    let n = filter_count(&mut m, "PartitionsRevoked");
    assert_eq!(n, revoked(&coop));
    assert_eq!(n, claim1(L5, "(`group-rebalance.toml`): {} matches"));
    let want = claim1(L5, "Both runs count {} rebalances");
    for sc in [&eager, &coop] {
        assert_eq!(checked(&check_scenario(sc, sc.seed), "rebalances"), want);
    }

    let ex = exercise(L5, 1);
    let mut m = model(&ex);
    m.sides[0].seek_time(Time(ex.duration_us));
    let n = filter_count(&mut m, "PartitionsRevoked");
    assert_eq!(n, revoked(&ex));
    assert_eq!(n, claim1(L5, "`PartitionsRevoked` finds {} matches"));
    let v = claim(L5, "at t = {} s the group is at generation {}");
    let s = view_at(&mut model(&exercise(L5, 2)), secs(v[0]), '3');
    assert!(
        line(&s, "GROUP analytics").contains(&format!("generation {}", v[1])),
        "{s}"
    );
    let owners: Vec<String> = s
        .lines()
        .map(words)
        .filter(|w| w.first().is_some_and(|x| x == "clicks"))
        .map(|w| w.last().unwrap().clone())
        .collect();
    assert_eq!(owners.len(), 6, "{s}");
    assert!(!owners.contains(&"analytics-2".to_string()), "{s}");
}

const L6: &str = "06-replication.md";

/// The partition row of `topic` in the partitions view: (leader, epoch, isr).
fn partition_row(s: &str, topic: &str) -> (String, String, String) {
    let w = s
        .lines()
        .map(words)
        .find(|w| w.first().is_some_and(|x| x == topic) && w.len() >= 6)
        .unwrap_or_else(|| panic!("no row for {topic}:\n{s}"));
    (w[2].clone(), w[3].clone(), w[5].clone())
}

/// `a,b,c` as the claim wrote it (numbers read as floats lose the commas).
fn ids(v: &[f64]) -> String {
    v.iter()
        .map(|x| (*x as u64).to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn lesson_06_replication() {
    // Proves lesson 6: the ISR and the leader's hw/leo at 40 s (paused follower still in,
    // HW stuck at its LEO), the shrink by 50 s counted by the run, the expansion by 60 s,
    // and both exercises.
    let sc = shipped("follower-pause-isr.toml");
    let mut m = model(&sc);
    let v = claim(
        L6,
        "At t = {} s the partitions view still shows Isr {},{},{} and the leader at hw {} leo {}",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    assert_eq!(partition_row(&s, "metrics").2, ids(&v[1..4]));
    let leader: u32 = partition_row(&s, "metrics").0.parse().unwrap();
    assert_eq!(
        after(bar(&s, leader), "hw "),
        (v[4] as u64).to_string(),
        "{s}"
    );
    assert_eq!(
        after(bar(&s, leader), "leo "),
        (v[5] as u64).to_string(),
        "{s}"
    );
    assert_eq!(
        after(bar(&s, 1), "leo "),
        claim1(L6, "pass its LEO ({})").to_string()
    );
    assert_eq!(metrics_isr_of_two(&sc, t), 0, "no shrink yet");
    let v = claim(L6, "At t = {} s it shows Isr {},{}:");
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    assert_eq!(partition_row(&s, "metrics").2, ids(&v[1..3]));
    assert_eq!(metrics_isr_of_two(&sc, t), 1, "the leader dropped broker 1");
    let v = claim(L6, "At t = {} s it shows Isr {},{},{}: resumed");
    let s = view_at(&mut m, secs(v[0]), '2');
    assert_eq!(partition_row(&s, "metrics").2, ids(&v[1..4]));

    let r = check_scenario(&exercise(L6, 1), sc.seed);
    assert_eq!(
        checked(&r, "isr-shrinks"),
        claim1(L6, "Outcome (checked): {} ISR shrinks")
    );
    let v = claim(
        L6,
        "at t = {} s the partitions view already shows Isr {},{}",
    );
    let s = view_at(&mut model(&exercise(L6, 2)), secs(v[0]), '2');
    assert_eq!(partition_row(&s, "metrics").2, ids(&v[1..3]));
}

/// ISR changes of `metrics-0` to two members, up to `t`.
fn metrics_isr_of_two(sc: &Scenario, t: Time) -> u64 {
    kafka_events(sc, t, |e| {
        matches!(e, KafkaEvent::IsrChanged { tp, isr, .. }
            if tp.to_string() == "metrics-0" && isr.len() == 2)
    })
}
