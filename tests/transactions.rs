//! Transactions end to end (issue 16): the last stable offset holding read_committed
//! readers behind an open transaction, the workbench showing it, and what the checker says
//! when the downstream reader of an exactly-once pipeline reads uncommitted data.

use kafkasim::kafka::TopicPartition;
use kafkasim::runner::check_scenario;
use kafkasim::scenario::{parse, Scenario};
use kafkasim::sim::{Time, TraceMode, World};
use kafkasim::view_model::figures::ClientTally;
use kafkasim::view_model::observe::snapshot;
use kafkasim::workload::node::SimNode;

const HANGING: &str = include_str!("../scenarios/transactions/hanging-transaction.toml");
const PIPELINE: &str = include_str!("../scenarios/transactions/exactly-once-pipeline.toml");

fn scenario(text: &str, edits: &[(&str, &str)]) -> Scenario {
    let mut text = text.to_string();
    for (old, new) in edits {
        assert!(text.contains(old), "{old}");
        text = text.replacen(old, new, 1);
    }
    parse(&text, "transactions-variant.toml").unwrap()
}

fn world_at(sc: &Scenario, t_ms: u64) -> World<SimNode> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(Time(t_ms * 1_000), sc.max_events);
    w
}

/// (LSO, HW) of orders-0 at its leader.
fn lso_hw(w: &World<SimNode>) -> (i64, i64) {
    let tp = TopicPartition::new("orders", 0);
    for id in w.node_ids() {
        if let Some(p) = w.node(id).as_broker().and_then(|b| b.partitions.get(&tp)) {
            if p.is_leader() {
                return (p.log.last_stable_offset().0, p.log.high_watermark().0);
            }
        }
    }
    panic!("orders-0 has a leader");
}

fn position(w: &World<SimNode>, node: &str) -> i64 {
    let id = w.find(node).unwrap();
    let SimNode::Consumer(c) = w.node(id) else {
        panic!("{node} is a consumer")
    };
    let tp = TopicPartition::new("orders", 0);
    c.consumer().and_then(|k| k.position(&tp)).unwrap().0
}

#[test]
fn a_hanging_transaction_holds_read_committed_readers_at_the_lso_until_it_times_out() {
    // Proves: 6.5 s after the producer crashed mid-transaction the LSO of orders-0 is stuck
    // at that transaction's first offset, below the HW; the read_committed consumer waits
    // at the LSO while the read_uncommitted one is at the HW; the workbench shows `lso`. After transaction.timeout.ms (10 s) and the
    // 1 s cleanup tick, the abort moves the LSO to the HW and the reader catches up.
    let sc = scenario(HANGING, &[]);
    let w = world_at(&sc, 10_000);
    let (lso, hw) = lso_hw(&w);
    assert!(lso < hw, "lso {lso} hw {hw}");
    assert_eq!(
        position(&w, "committed-1"),
        lso,
        "read_committed waits at the LSO"
    );
    assert_eq!(
        position(&w, "uncommitted-1"),
        hw,
        "read_uncommitted is at the HW"
    );
    let snap = snapshot(&w, &mut ClientTally::default());
    let p = snap
        .partitions
        .iter()
        .find(|p| p.topic == "orders")
        .unwrap();
    assert!(p
        .logs
        .iter()
        .any(|l| l.lso == Some(lso as u64) && l.open_txns == 1));
    let checkout = snap
        .producers
        .iter()
        .find(|p| p.name == "checkout")
        .unwrap();
    assert!(
        checkout.transaction.is_none(),
        "the crashed producer has no client left"
    );
    let w = world_at(&sc, 25_000);
    let (lso, hw) = lso_hw(&w);
    assert_eq!(lso, hw, "the timeout aborted the transaction");
    assert_eq!(position(&w, "committed-1"), hw);
}

#[test]
fn an_uncommitted_reader_of_the_pipeline_output_sees_aborted_invoices_as_duplicates() {
    // Proves the checker is not blind: the same exactly-once pipeline, read downstream with
    // read_uncommitted, shows the invoices of the transaction aborted by the application
    // crash twice (once aborted, once committed) — duplicates — while the read_committed
    // run shows none.
    let sc = scenario(
        PIPELINE,
        &[(
            "commit = \"after-processing\"\nconfig = { \"isolation.level\" = \"read_committed\",",
            "commit = \"after-processing\"\nconfig = {",
        )],
    );
    let (bad, good) = (check_scenario(&sc, sc.seed), {
        let sc = scenario(PIPELINE, &[]);
        check_scenario(&sc, sc.seed)
    });
    let n = |r: &kafkasim::runner::CheckReport, k: &str| r.counters.get(k).copied().unwrap_or(0);
    assert_eq!(n(&good, "duplicate"), 0);
    assert_eq!(n(&good, "uncommitted-reads"), 0);
    // The 4 invoices the crashed transaction had written (the kill at 15.030 s falls
    // after their append, before their acknowledgement and the commit), read again after
    // the redo. Never acknowledged, they are not counted as `uncommitted-reads`: the
    // history cannot tie an unacknowledged send to the log.
    assert_eq!(n(&bad, "uncommitted-reads"), 0);
    assert_eq!(n(&bad, "duplicate"), 4);
}

// ------------------------------------------------------------------ the exactly-once property

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// One generated fault: (kind, target, start ms, length ms).
type GenFault = (usize, usize, u64, u64);

const KINDS: &[&str] = &["kill", "pause", "isolate", "partition"];

fn fault_toml(&(kind, target, at, len): &GenFault) -> String {
    // Targets: the three brokers and the pipeline itself.
    let node = match target % 4 {
        3 => "invoicer-1".to_string(),
        b => format!("broker-{}", b + 1),
    };
    let head = format!("\n[[fault]]\nat = \"{at}ms\"\nfor = \"{len}ms\"\n");
    match KINDS[kind % KINDS.len()] {
        "partition" if node != "invoicer-1" => {
            format!("{head}partition = [[\"{node}\"], [\"controller\"]]\n")
        }
        "isolate" if node != "invoicer-1" => format!("{head}isolate = \"{node}\"\n"),
        "pause" => format!("{head}pause = \"{node}\"\n"),
        _ => format!("{head}kill = \"{node}\"\n"),
    }
}

/// The pipeline of `exactly-once-pipeline.toml` with generated faults instead of its own,
/// and a short transaction timeout so a long pause of the pipeline makes it a zombie.
fn pipeline_case(seed: u64, faults: &[GenFault]) -> Scenario {
    let base = PIPELINE.split("[[fault]]").next().unwrap();
    let base = base.replace("seed = 11", &format!("seed = {seed}"));
    let base = base.replace(
        "producer_config = { \"transactional.id\" = \"invoicer\" }",
        "producer_config = { \"transactional.id\" = \"invoicer\", \"transaction.timeout.ms\" = 4000 }",
    );
    let mut text = base.replace(
        "config = { \"min.insync.replicas\" = 2 }",
        "config = { \"min.insync.replicas\" = 2, \"broker.session.timeout.ms\" = 4000, \"broker.heartbeat.interval.ms\" = 1000, \"transaction.abort.timed.out.transaction.cleanup.interval.ms\" = 1000 }",
    );
    for f in faults {
        text.push_str(&fault_toml(f));
    }
    text.push_str(
        "\n[expect]\nduplicate = 0\nlost-write = 0\naborted-read = 0\ntorn-transaction = 0\nlost-processing = 0\nnonmonotonic-poll = 0\n",
    );
    parse(&text, "generated-pipeline.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn consume_transform_produce_is_exactly_once_under_random_faults() {
    // Proves the exactly-once promise for read_committed readers under kills, pauses,
    // isolations and partitions of brokers and of the pipeline itself: no output twice, no
    // committed output lost, no aborted or torn read, every input processed — and that the
    // cases exercised what matters: an aborted transaction, a coordinator that moved, a
    // fenced zombie.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(16);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let fault = (0..4usize, 0..4usize, 3_000..18_000u64, 1_000..8_000u64);
    let strategy = (0..1_000_000u64, prop::collection::vec(fault, 1..5));
    let (ran, aborts, moves, fenced) = (
        std::cell::Cell::new(0u64),
        std::cell::Cell::new(0u64),
        std::cell::Cell::new(0u64),
        std::cell::Cell::new(0u64),
    );
    let result = runner.run(&strategy, |(seed, faults)| {
        let sc = pipeline_case(seed, &faults);
        let r = check_scenario(&sc, sc.seed);
        let n = |k: &str| r.counters.get(k).copied().unwrap_or(0);
        ran.set(ran.get() + 1);
        let aborted = n("txn-aborted") + n("txn-unknown") + n("txn-timeouts") > 0;
        aborts.set(aborts.get() + u64::from(aborted));
        moves.set(moves.get() + u64::from(n("txn-coordinator-moves") > 0));
        fenced.set(fenced.get() + u64::from(n("producers-fenced") > 0));
        if !r.passed() {
            let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("eos.toml");
            let _ = std::fs::write(&path, sc.to_toml());
            return Err(TestCaseError::fail(format!(
                "{r}\nseed {seed}; written to {}",
                path.display()
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let ran = ran.get();
    eprintln!(
        "exactly-once property: {ran} cases; aborts in {}, coordinator moves in {}, fenced zombies in {}",
        aborts.get(),
        moves.get(),
        fenced.get()
    );
    for (what, n) in [
        ("an abort", aborts.get()),
        ("a coordinator move", moves.get()),
        ("a fenced zombie", fenced.get()),
    ] {
        assert!(n * 10 >= ran, "only {n} of {ran} cases saw {what}");
    }
}

// ------------------------------------------------------------------ the workbench

mod common;

#[test]
fn the_workbench_shows_the_lso_and_the_transaction_states() {
    // Proves the screen tells the hanging transaction's story at 10 s: the partitions view
    // draws `lso` beside `hw` with the open transaction, and the clients view the zombie
    // producer's transaction state with its coordinator's.
    let mut m = common::scenario_model("hanging-transaction.toml", HANGING);
    m.sides[0].replay.seek_time(Time(10_000_000));
    m.sides[0].refresh();
    common::ch(&mut m, '2');
    let s = common::screen(&mut m, 140, 40);
    assert!(common::text_has(&s, " lso "), "{s}");
    assert!(common::text_has(&s, "txn 1 open"), "{s}");
    let mut m = common::scenario_model(
        "zombie-fenced.toml",
        include_str!("../scenarios/transactions/zombie-fenced.toml"),
    );
    m.sides[0].replay.seek_time(Time(14_000_000));
    m.sides[0].refresh();
    common::ch(&mut m, '3');
    let s = common::screen(&mut m, 160, 50);
    assert!(
        common::text_has(&s, "transaction checkout: FATAL_ERROR"),
        "{s}"
    );
    assert!(common::text_has(&s, "coordinator broker"), "{s}");
}

// ------------------------------------------------------------------ the cost of transactions

/// Mean µs from `send()` to the first poll of a read_committed consumer that returned the
/// record, over the records it returned; and the records it returned.
fn visibility_us(sc: &Scenario) -> (u64, u64) {
    use kafkasim::check::history::History;
    use kafkasim::workload::history::HistoryOp;
    let w = world_at(sc, sc.duration_us / 1_000);
    let h = History::from_world(&w);
    let mut sent = std::collections::BTreeMap::new();
    let (mut total, mut n) = (0u64, 0u64);
    for e in h.entries() {
        match &e.op {
            HistoryOp::SendInvoke { value, .. } => {
                sent.insert(*value, e.time);
            }
            HistoryOp::Poll { records, .. } if &*e.node == "committed-1" => {
                for (_, _, v) in records.iter() {
                    if let Some(t) = sent.remove(v) {
                        total += e.time.since(t).as_us();
                        n += 1;
                    }
                }
            }
            _ => {}
        }
    }
    (total / n.max(1), n)
}

#[test]
fn transactions_cost_visibility_latency_for_read_committed_readers() {
    // Proves (and measures) the cost of transactions: the same 200 records at 100/s, read
    // by a read_committed consumer, become visible much later when they travel in
    // transactions of 10 (a record waits for its transaction's commit and markers) than
    // with an idempotent producer alone (visible at the high watermark).
    let base = include_str!("../scenarios/transactions/read-committed-vs-uncommitted.toml");
    // Sending starts at 5 s, once the consumers' group has formed.
    let start = ("count = 200\n", "count = 200\nstart = \"5s\"\n");
    let txn = scenario(base, &[("abort = \"1/2\"", "abort = 0"), start]);
    let idem = scenario(
        base,
        &[
            start,
            ("transaction_records = 10\nabort = \"1/2\"\n", ""),
            (
                "config = { \"transactional.id\" = \"checkout-1\" }",
                "config = { \"enable.idempotence\" = true }",
            ),
        ],
    );
    let (txn_us, txn_n) = visibility_us(&txn);
    let (idem_us, idem_n) = visibility_us(&idem);
    eprintln!("send → read_committed poll: transactions of 10 {txn_us} µs over {txn_n} records; idempotent {idem_us} µs over {idem_n}");
    assert_eq!((txn_n, idem_n), (200, 200));
    // A transaction of 10 records at 100/s is open ~100 ms: ~50 ms of waiting on average,
    // plus EndTxn, the markers and their replication.
    assert_eq!((txn_us, idem_us), (57_295, 9_010));
}

// ------------------------------------------------------------------ KIP-890

const LATE: &str =
    include_str!("../scenarios/regressions/late-transactional-write-is-verified.toml");

fn counters(sc: &Scenario) -> kafkasim::runner::CheckReport {
    check_scenario(sc, sc.seed)
}

#[test]
fn a_late_transactional_write_is_refused_only_with_verification() {
    // Proves KIP-890 part 1 with transaction version 1: five batches (and their five
    // retries) held in a clogged link arrive after their transaction was aborted. With
    // verification (the default) the leader asks the coordinator, which has bumped the
    // epoch since (the abortable error's InitProducerId): all 10 refused with
    // INVALID_PRODUCER_EPOCH, and no read_committed reader sees them; with
    // `transaction.partition.verification.enable = false` they open a transaction the
    // next COMMIT marker closes, and the reader returns all 5 aborted records.
    let n = |r: &kafkasim::runner::CheckReport, k: &str| r.counters.get(k).copied().unwrap_or(0);
    let on = counters(&scenario(LATE, &[]));
    assert_eq!(n(&on, "txn-verification-refusals"), 10);
    assert_eq!(n(&on, "aborted-read"), 0);
    let off = counters(&scenario(
        LATE,
        &[(
            "\"transaction.version\" = 1 }",
            "\"transaction.version\" = 1, \"transaction.partition.verification.enable\" = false }",
        )],
    ));
    assert_eq!(n(&off, "txn-verification-refusals"), 0);
    assert_eq!(n(&off, "aborted-read"), 5);
}

#[test]
fn with_transaction_version_2_every_end_txn_bumps_the_epoch_and_fences_late_writes() {
    // Proves KIP-890 part 2: under transaction version 2 (Kafka 4.0's default) the same
    // late batches carry an epoch older than the ABORT marker's, so the leader refuses
    // them (INVALID_PRODUCER_EPOCH from the coordinator's PRODUCER_FENCED), nothing is read
    // that was aborted; and the producer's epoch went up once per finished transaction.
    let n = |r: &kafkasim::runner::CheckReport, k: &str| r.counters.get(k).copied().unwrap_or(0);
    let sc = scenario(
        LATE,
        &[(
            "\"transaction.version\" = 1 }",
            "\"transaction.version\" = 2 }",
        )],
    );
    let r = counters(&sc);
    assert_eq!(n(&r, "aborted-read"), 0);
    let (committed, aborted) = (n(&r, "txn-committed"), n(&r, "txn-aborted"));
    let w = world_at(&sc, 20_000);
    let id = w.find("checkout").unwrap();
    let SimNode::Producer(app) = w.node(id) else {
        panic!("checkout is a producer")
    };
    let tm = app.producer().unwrap().transaction_manager().unwrap();
    // Epoch 0 from InitProducerId, +1 per commit or abort, +1 for the InitProducerId the
    // abortable error required after the abort.
    assert_eq!((committed, aborted), (39, 1));
    assert_eq!(tm.epoch.0 as u64, committed + aborted + 1);
}

/// Throughput and latency of one producer's run: (records acknowledged per simulated second
/// from its first `send()` to its last acknowledgement, median µs from `send()` to the
/// acknowledgement, median µs from `send()` to the first poll that returned the record).
fn cost_figures(sc: &Scenario) -> (u64, u64, u64) {
    use kafkasim::check::history::History;
    use kafkasim::workload::history::HistoryOp;
    let w = world_at(sc, sc.duration_us / 1_000);
    let h = History::from_world(&w);
    let mut sent = std::collections::BTreeMap::new();
    let (mut first, mut last) = (None, Time::ZERO);
    let (mut acks, mut polls) = (Vec::new(), Vec::new());
    for e in h.entries() {
        match &e.op {
            HistoryOp::SendInvoke { value, .. } => {
                first.get_or_insert(e.time);
                sent.insert(*value, (e.time, false));
            }
            HistoryOp::SendOk { value, .. } => {
                last = e.time;
                acks.push(e.time.since(sent[value].0).as_us());
            }
            HistoryOp::Poll { records, .. } => {
                for (_, _, v) in records.iter() {
                    if let Some((t, seen)) = sent.get_mut(v).filter(|(_, seen)| !*seen) {
                        *seen = true;
                        polls.push(e.time.since(*t).as_us());
                    }
                }
            }
            _ => {}
        }
    }
    // A rate over a stalled run would still look fine: every record must be acknowledged.
    assert_eq!(acks.len(), 20_000, "records acknowledged");
    let span = last.since(first.unwrap_or(Time::ZERO)).as_us().max(1);
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let rate = acks.len() as u64 * 1_000_000 / span;
    (rate, median(&mut acks), median(&mut polls))
}

#[test]
fn transactions_cost_throughput_and_latency_against_idempotence_alone() {
    // Proves (and measures) what scenarios/transactions/cost-*.toml compare: the same 20,000
    // records, idempotent only or in transactions of 100, read by a read_committed consumer.
    // At 2,000/s both keep up, and a transaction costs latency: a record waits for the rest
    // of its transaction and the commit before a read_committed reader sees it. As fast as
    // the producer can, the transactional application waits for each commitTransaction()
    // before the next beginTransaction(): one EndTxn round trip and the markers per 100
    // records bound it, where the idempotent producer is bounded only by the simulation
    // (sending costs no CPU, links have no bandwidth limit: not a figure real Kafka reaches).
    let idem = include_str!("../scenarios/transactions/cost-idempotent.toml");
    let txn = include_str!("../scenarios/transactions/cost-transactional.toml");
    let paced = |text: &str| cost_figures(&parse(text, "cost.toml").unwrap());
    let unpaced = |text: &str| {
        let text = text.replace("rate = \"2000/s\"\n", "");
        cost_figures(&parse(&text, "cost.toml").unwrap())
    };
    let (i, t) = (paced(idem), paced(txn));
    eprintln!("at 2000/s — records acked/s, send→ack p50 µs, send→read_committed poll p50 µs: idempotent {i:?}, transactions of 100 {t:?}");
    assert_eq!(i, (1_998, 7_000, 7_500));
    assert_eq!(t, (1_984, 10_500, 40_000));
    let (i, t) = (unpaced(idem), unpaced(txn));
    eprintln!("as fast as it can: idempotent {i:?}, transactions of 100 {t:?}");
    assert_eq!(i, (333_333, 20_000, 96_000));
    assert_eq!(t, (3_116, 13_000, 40_000));
}
