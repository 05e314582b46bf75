//! Lesson 21: transactions — a transactional producer crashes mid-transaction, read by a
//! read_uncommitted and a read_committed consumer.

use super::*;
use kafkasim::kafka::TopicPartition;
use kafkasim::workload::history::HistoryOp;

const L21: &str = "21-transactions.md";

/// (leader broker, LSO, HW, open transactions) of orders-0 at `t`, from the engine.
fn lso_hw(sc: &Scenario, t: Time) -> (u32, u64, u64, usize) {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    let tp = TopicPartition::new("orders", 0);
    for id in w.node_ids() {
        let Some(b) = w.node(id).as_broker() else {
            continue;
        };
        if let Some(p) = b.partitions.get(&tp).filter(|p| p.is_leader()) {
            let (lso, hw) = (p.log.last_stable_offset(), p.log.high_watermark());
            let open = p.log.txn_index().open().count();
            return (b.id.0, lso.0 as u64, hw.0 as u64, open);
        }
    }
    panic!("orders-0 has a leader at {t:?}");
}

/// Records `node` has polled up to `t`, and the highest offset among them.
fn read_by(sc: &Scenario, node: &str, t: Time) -> (u64, u64) {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    let who = w.find(node).expect("the consumer node");
    let (mut n, mut top) = (0, 0);
    for r in w.kept() {
        if let TraceKind::Emit {
            node: at,
            event: NodeEvent::History(HistoryOp::Poll { records, .. }),
        } = &r.kind
        {
            if *at == who {
                n += records.len() as u64;
                let max = records.iter().map(|(_, o, _)| o.0 as u64).max();
                top = top.max(max.unwrap_or(0));
            }
        }
    }
    (n, top)
}

/// The claimed numbers, as integers.
fn ints(v: Vec<f64>) -> Vec<u64> {
    v.into_iter().map(|x| x as u64).collect()
}

#[test]
fn lesson_21_transactions() {
    // Proves lesson 21: at 7 s the partitions view shows the LSO held at the crashed
    // transaction's first offset below the HW with one open transaction, as the engine
    // has them; the two readers' reads by then; the ABORT marker after the replacement's
    // initTransactions(); `check`'s numbers; both exercises.
    let sc = shipped("lessons/transactional-producer-crash.toml");
    let v = claim(
        L21,
        "At t = {} s the partitions view (2) shows orders-0 at its leader with lso {}, hw {} and txn {} open",
    );
    let t = secs(v[0]);
    let (leader, lso, hw, open) = lso_hw(&sc, t);
    assert_eq!(
        (lso, hw, open as u64),
        (v[1] as u64, v[2] as u64, v[3] as u64)
    );
    let mut m = model(&sc);
    let s = view_at(&mut m, t, '2');
    let shown = format!("lso {lso} hw {hw}");
    assert!(bar(&s, leader).contains(&shown), "{shown}:\n{s}");
    assert!(bar(&s, leader).contains(&format!("txn {open} open")), "{s}");
    let between = claim1(L21, "the crashed transaction's {} records sit between them");
    assert_eq!(hw - lso, between);

    let v = ints(claim(
        L21,
        "the read_uncommitted consumer has read {} records, up to offset {} — the open transaction included — and the read_committed one {}, up to offset {}",
    ));
    assert_eq!(read_by(&sc, "uncommitted-1", t), (v[0], v[1]));
    assert_eq!(read_by(&sc, "committed-1", t), (v[2], v[3]));
    assert!(v[1] >= lso && v[3] < lso, "one read past the LSO, one not");

    let v = ints(claim(
        L21,
        "by t = {} s {} ABORT marker has been appended, at offset {}",
    ));
    let aborts = kafka_events(
        &sc,
        secs(v[0] as f64),
        |e| matches!(e, KafkaEvent::TxnMarkerAppended { committed: false, offset, .. } if offset.0 as u64 == v[2]),
    );
    assert_eq!(aborts, v[1]);
    assert_eq!(v[2], hw, "the marker follows the aborted records");

    let r = check_scenario(&sc, sc.seed);
    let keys = [
        "uncommitted-reads",
        "aborted-read",
        "torn-transaction",
        "lost-write",
        "txn-committed",
        "txn-markers",
    ];
    let v = ints(claim(
        L21,
        "`kafkasim check`: {} uncommitted reads (records of a transaction that did not commit, returned by read_uncommitted polls), {} aborted reads, {} torn transactions, {} lost writes, {} transactions committed, {} markers ({} COMMIT and the ABORT)",
    ));
    let got: Vec<u64> = keys.iter().map(|k| checked(&r, k)).collect();
    assert_eq!(got, v[..6]);
    assert_eq!(v[6] + 1, v[5]);
    assert_eq!(v[0], between, "the crashed transaction's records");

    let r1 = check_scenario(&exercise(L21, 1), sc.seed);
    let v = ints(claim(
        L21,
        "Outcome (checked): {} uncommitted reads, and the two consumers together read {} records instead of {}",
    ));
    let got = [checked(&r1, "uncommitted-reads"), checked(&r1, "consumed")];
    assert_eq!(got, [v[0], v[1]]);
    assert_eq!(checked(&r, "consumed"), v[2]);

    let r2 = check_scenario(&exercise(L21, 2), sc.seed);
    let v = ints(claim(L21, "Outcome (checked): {} transaction timed out"));
    assert_eq!(checked(&r2, "txn-timeouts"), v[0]);
    assert_eq!(checked(&r, "txn-timeouts"), 0);
    let v = ints(claim(
        L21,
        "Still {} uncommitted reads and {} aborted reads.",
    ));
    let got = [
        checked(&r2, "uncommitted-reads"),
        checked(&r2, "aborted-read"),
    ];
    assert_eq!(got, [v[0], v[1]]);
}
