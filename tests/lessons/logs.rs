//! Lessons 19–20: retention and compaction.

use super::*;
use std::collections::BTreeMap;

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

const L20: &str = "20-compaction.md";

/// (value → key) of every send, and the (offset, value) of every record `node` polled, up
/// to `t`, from the run's history.
type Polled = (BTreeMap<u64, String>, Vec<(i64, u64)>);

fn polled(sc: &Scenario, node: &str, t: Time) -> Polled {
    use kafkasim::workload::history::HistoryOp;
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    let who = w.find(node).expect("the consumer node");
    let (mut keys, mut reads) = (BTreeMap::new(), Vec::new());
    for r in w.kept() {
        let TraceKind::Emit {
            node: n,
            event: NodeEvent::History(op),
        } = &r.kind
        else {
            continue;
        };
        match op {
            HistoryOp::SendInvoke { value, key, .. } => {
                keys.insert(*value, key.as_deref().unwrap_or("").to_string());
            }
            HistoryOp::Poll { records, .. } if *n == who => {
                reads.extend(records.iter().map(|(_, o, v)| (o.0, *v)));
            }
            _ => {}
        }
    }
    (keys, reads)
}

/// (broker id, segments, cleaned segments, first dirty offset) of `tp` on every replica.
fn cleaned_segments(sc: &Scenario, tp: &str, t: Time) -> Vec<(u32, usize, usize, i64)> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    let mut out = Vec::new();
    for id in w.node_ids() {
        let Some(b) = w.node(id).as_broker() else {
            continue;
        };
        if let Some((_, p)) = b.partitions.iter().find(|(k, _)| k.to_string() == tp) {
            let segs = p.log.segments();
            let dirty = kafkasim::kafka::broker::cleaner::first_dirty_offset(&p.log);
            let cleaned = segs.iter().filter(|s| s.cleaned).count();
            out.push((b.id.0, segs.len(), cleaned, dirty.0));
        }
    }
    out
}

#[test]
fn lesson_20_compaction() {
    // Proves lesson 20: after a cleaner pass the partitions view shows each replica's
    // segments, cleaned and dirty, as the engine has them; the new consumer reads one
    // record per customer below the first dirty offset, each that customer's latest there;
    // `check`'s lost writes, compacted records and cleaner passes; both exercises.
    let sc = shipped("lessons/compacted-table.toml");
    let mut m = model(&sc);
    let v = claim(
        L20,
        "At t = {} s the partitions view (2) shows every replica's log of addresses-0 in {} segments, {} of them cleaned",
    );
    let t = secs(v[0]);
    let s = view_at(&mut m, t, '2');
    let replicas = cleaned_segments(&sc, "addresses-0", t);
    assert_eq!(replicas.len(), 3);
    let mut first_dirty = 0;
    for (b, segs, cleaned, dirty) in replicas {
        assert_eq!(
            (segs, cleaned),
            (v[1] as usize, v[2] as usize),
            "broker {b}"
        );
        let shown = format!("segs {segs} ({cleaned} cleaned, {} dirty)", segs - cleaned);
        assert!(bar(&s, b).contains(&shown), "{shown}:\n{s}");
        first_dirty = dirty;
    }

    let v = ints(claim(
        L20,
        "reads {} records of {} customers: below offset {}, where the cleaned segments end, exactly one per customer",
    ));
    let end = Time(sc.duration_us);
    let (keys, reads) = polled(&sc, "new-service-1", end);
    assert_eq!(reads.len() as u64, v[0]);
    let customers: std::collections::BTreeSet<&str> =
        reads.iter().map(|(_, val)| keys[val].as_str()).collect();
    assert_eq!(customers.len() as u64, v[1]);
    assert_eq!(first_dirty, v[2] as i64);
    let cleaned: Vec<&str> = reads
        .iter()
        .filter(|(o, _)| *o < first_dirty)
        .map(|(_, val)| keys[val].as_str())
        .collect();
    let distinct: std::collections::BTreeSet<&str> = cleaned.iter().copied().collect();
    assert_eq!(
        cleaned.len(),
        distinct.len(),
        "one record per key: {cleaned:?}"
    );
    // Each is the latest value its key was sent with below the first dirty offset: the
    // read offsets are each key's last acknowledged offset there (values grow with time).
    for (o, val) in reads.iter().filter(|(o, _)| *o < first_dirty) {
        let k = &keys[val];
        let later = keys
            .iter()
            .filter(|(v2, k2)| *k2 == k && **v2 > *val)
            .filter_map(|(v2, _)| reads.iter().find(|(_, rv)| rv == v2))
            .any(|(o2, _)| *o2 < first_dirty);
        assert!(
            !later,
            "offset {o} of {k} is superseded below {first_dirty}"
        );
    }
    let tombstones = claim1(L20, "The run sent {} tombstones");
    let sent_tombstones = {
        let mut w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
        w.run_until(end, sc.max_events);
        w.kept()
            .iter()
            .filter(|r| {
                matches!(&r.kind, TraceKind::Emit { event: NodeEvent::History(
                    kafkasim::workload::history::HistoryOp::SendInvoke { tombstone, .. }), .. } if tombstone.0)
            })
            .count() as u64
    };
    assert_eq!(sent_tombstones, tombstones);

    let keys = ["lost-write", "compacted", "log-cleaner-passes"];
    let v = ints(claim(
        L20,
        "`kafkasim check`: {} lost writes, {} acknowledged records compacted away (not lost: a later record of the same customer is in the log, or the customer was deleted), in {} cleaner passes",
    ));
    let r = check_scenario(&sc, sc.seed);
    assert_eq!(values(&r, &keys), v);

    let keys = ["compacted", "consumed"];
    let v = ints(claim(
        L20,
        "Outcome (checked): {} records compacted, and the new service reads all {} updates",
    ));
    let r = check_scenario(&exercise(L20, 1), sc.seed);
    assert_eq!(values(&r, &keys), v);
    let v = ints(claim(
        L20,
        "Outcome (checked): the new service reads {} records instead of",
    ));
    let r = check_scenario(&exercise(L20, 2), sc.seed);
    assert_eq!(values(&r, &["consumed"]), v);
}
