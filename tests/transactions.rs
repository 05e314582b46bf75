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
    assert_eq!(position(&w, "committed-1"), lso, "read_committed waits at the LSO");
    assert_eq!(position(&w, "uncommitted-1"), hw, "read_uncommitted is at the HW");
    let snap = snapshot(&w, &mut ClientTally::default());
    let p = snap
        .partitions
        .iter()
        .find(|p| p.topic == "orders")
        .unwrap();
    assert!(p.logs.iter().any(|l| l.lso == Some(lso as u64) && l.open_txns == 1));
    let checkout = snap.producers.iter().find(|p| p.name == "checkout").unwrap();
    assert!(checkout.transaction.is_none(), "the crashed producer has no client left");
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
    // The 3 invoices the crashed transaction had written, read again after the redo.
    assert_eq!(n(&bad, "uncommitted-reads"), 3);
    assert_eq!(n(&bad, "duplicate"), 3);
}
