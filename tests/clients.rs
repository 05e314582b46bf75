//! Client-side end-to-end scenarios that need no broker: the synchronous RPC baseline in a
//! simulated world. (Kafka-backed scenarios arrive once the broker lands.)

use kafkasim::sim::{Duration, Fault, Time, TraceKind, TraceMode, World};
use kafkasim::workload::event::NodeEvent;
use kafkasim::workload::node::SimNode;
use kafkasim::workload::producer_app::SendRate;
use kafkasim::workload::rpc::{RpcCallee, RpcCaller, RpcCallerConfig, RpcEvent};

fn rpc_world(blocking: bool) -> World<SimNode> {
    let mut w = World::new(11, TraceMode::Off);
    let callee = w.add_node(
        "callee",
        SimNode::RpcCallee(RpcCallee::new(Duration::from_ms(2))),
        Time::ZERO,
    );
    let caller = RpcCaller::new(RpcCallerConfig {
        callee,
        rate: Some(SendRate::per_second(100)),
        count: None,
        timeout: Duration::from_secs(1),
        retries: 2,
        blocking,
        start: Time::ZERO,
        stop: Some(Time(60_000_000)),
    });
    w.add_node("caller", SimNode::RpcCaller(caller), Time::ZERO);
    w.schedule_fault(Time(10_000_000), Fault::Kill("callee".into()));
    w.schedule_fault(Time(40_000_000), Fault::Restart("callee".into()));
    w
}

fn caller<'a>(w: &'a World<SimNode>, name: &str) -> &'a RpcCaller {
    match w.node(w.find(name).unwrap()) {
        SimNode::RpcCaller(c) => c,
        _ => unreachable!(),
    }
}

#[test]
fn sync_rpc_caller_fails_and_blocks_while_callee_is_down() {
    // Proves the synchronous baseline: with the callee down for 30 s, a blocking caller's
    // calls fail after timeout × attempts and the calls behind them start late.
    let mut w = rpc_world(true);
    w.run_until(Time(70_000_000), 10_000_000);
    let c = caller(&w, "caller");
    assert!(
        c.stats.ok >= 1_900,
        "before and after the outage: {:?}",
        c.stats
    );
    assert!(
        c.stats.failed >= 5,
        "calls during the outage fail: {:?}",
        c.stats
    );
    let delayed = w
        .kept()
        .iter()
        .filter(|r| {
            matches!(
                &r.kind,
                TraceKind::Emit {
                    event: NodeEvent::Rpc(RpcEvent::CallDelayed { .. }),
                    ..
                }
            )
        })
        .count();
    assert!(
        delayed > 100,
        "calls queue up behind the blocked caller: {delayed}"
    );
    // Each failed call held the caller for timeout × attempts = 3 s: about ten failures,
    // and every call due meanwhile started late.
    assert!(c.stats.failed <= 12, "{:?}", c.stats);
}

#[test]
fn non_blocking_rpc_caller_loses_every_call_of_the_outage() {
    // Proves without blocking the caller keeps its rate but every call made while the callee
    // is down fails: there is no buffer between the two services.
    let mut w = rpc_world(false);
    w.run_until(Time(70_000_000), 10_000_000);
    let c = caller(&w, "caller");
    assert!(c.stats.failed >= 2_900, "{:?}", c.stats);
    assert!(c.stats.ok >= 2_900, "{:?}", c.stats);
}

// ------------------------------------------------------------------ with a Kafka cluster

mod kafka {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use kafkasim::kafka::config::{BrokerConfig, ConsumerConfig, ProducerConfig};
    use kafkasim::kafka::{Acks, TopicPartition};
    use kafkasim::sim::{
        Duration, Fault, FaultSpec, Latency, LinkModel, NodeId, Time, TraceMode, World,
    };
    use kafkasim::workload::cluster::{self, ClusterIds, ClusterSpec};
    use kafkasim::workload::consumer_app::{
        CommitStrategy, ConsumerApp, ConsumerAppConfig, ProcessingTime,
    };
    use kafkasim::workload::history::HistoryOp;
    use kafkasim::workload::node::SimNode;
    use kafkasim::workload::producer_app::{
        ProducerApp, ProducerAppConfig, ProducerStats, SendMode, SendRate,
    };

    /// Anomaly counts the history checker finds in the run (final logs read without a drain).
    pub fn anomalies(w: &World<SimNode>) -> BTreeMap<String, u64> {
        let history = kafkasim::check::History::from_world(w);
        let logs = kafkasim::runner::final_logs(w);
        let found = kafkasim::check::analyze(&history, logs.as_ref());
        kafkasim::check::counts(&found)
            .into_iter()
            .map(|(k, n)| (k.as_str().to_string(), n))
            .collect()
    }

    pub fn secs(s: u64) -> Time {
        Time(s * 1_000_000)
    }

    /// Three brokers, topic `orders` with `partitions` partitions, RF 3.
    pub fn cluster(seed: u64, partitions: u32) -> (World<SimNode>, ClusterIds) {
        let mut w = World::new(seed, TraceMode::Off);
        let spec = ClusterSpec {
            brokers: 3,
            broker_config: BrokerConfig::default(),
            topics: vec![cluster::topic("orders", partitions, 3)],
            link: LinkModel {
                latency: Latency::Uniform(Duration::from_us(500), Duration::from_ms(2)),
                ..Default::default()
            },
            writeback: None,
            own: Vec::new(),
        };
        let ids = cluster::build_cluster(&mut w, &spec);
        (w, ids)
    }

    pub fn producer(
        w: &mut World<SimNode>,
        ids: &ClusterIds,
        name: &str,
        f: impl FnOnce(&mut ProducerAppConfig),
    ) -> NodeId {
        let mut cfg = ProducerAppConfig::new(1, "orders", ids.brokers.clone());
        cfg.start = secs(1);
        f(&mut cfg);
        w.add_node(name, SimNode::Producer(ProducerApp::new(cfg)), Time::ZERO)
    }

    pub fn consumer(
        w: &mut World<SimNode>,
        ids: &ClusterIds,
        name: &str,
        start: Time,
        commit: CommitStrategy,
    ) -> NodeId {
        consumer_with(w, ids, name, start, commit, Duration::from_ms(100))
    }

    pub fn consumer_with(
        w: &mut World<SimNode>,
        ids: &ClusterIds,
        name: &str,
        start: Time,
        commit: CommitStrategy,
        processing: Duration,
    ) -> NodeId {
        let cfg = ConsumerAppConfig {
            name: Arc::from(name),
            topics: vec![Arc::from("orders")],
            bootstrap: ids.brokers.clone(),
            client: ConsumerConfig::default()
                .with("group.id", "billing")
                .with("auto.offset.reset", "earliest")
                .with("partition.assignment.strategy", "range"),
            processing: ProcessingTime::Fixed(processing),
            commit,
            worker: false,
            pipeline: None,
        };
        w.add_node(name, SimNode::Consumer(ConsumerApp::new(cfg)), start)
    }

    pub fn stats(w: &World<SimNode>, name: &str) -> ProducerStats {
        match w.node(w.find(name).unwrap()) {
            SimNode::Producer(p) => p.stats.clone(),
            _ => unreachable!(),
        }
    }

    pub fn assignment(w: &World<SimNode>, name: &str) -> Vec<u32> {
        match w.node(w.find(name).unwrap()) {
            SimNode::Consumer(c) => c.consumer().map_or(Vec::new(), |c| {
                c.assignment().iter().map(|tp| tp.partition).collect()
            }),
            _ => unreachable!(),
        }
    }

    /// How many times each value was processed (history `Processed`).
    pub fn processed(w: &World<SimNode>) -> BTreeMap<u64, u32> {
        let mut m = BTreeMap::new();
        for op in cluster::history(w) {
            if let HistoryOp::Processed { value, .. } = op {
                *m.entry(value).or_default() += 1;
            }
        }
        m
    }

    #[test]
    fn async_producer_acknowledges_twenty_times_more_than_sync() {
        // Proves against a 3-broker acks=all cluster that pipelined async sends get ≥ 20× more
        // records acknowledged than send().get() in the same 5 simulated seconds.
        let run = |mode| {
            let (mut w, ids) = cluster(1, 1);
            producer(&mut w, &ids, "producer", |c| {
                c.mode = mode;
                c.async_window = 5_000;
            });
            w.run_until(secs(6), 50_000_000);
            stats(&w, "producer")
        };
        let sync = run(SendMode::Sync);
        let asynchronous = run(SendMode::Async);
        eprintln!("sync {sync:?}\nasync {asynchronous:?}");
        assert!(sync.acked > 20, "{sync:?}");
        assert!(
            asynchronous.acked >= 20 * sync.acked,
            "sync {sync:?} async {asynchronous:?}"
        );
        assert_eq!(asynchronous.failed + sync.failed, 0);
    }

    /// Sends 20 records while the leader's replies to the producer are held for 40 s: the
    /// producer's request times out (30 s), it closes the connection and sends again.
    fn lost_replies(idempotent: bool) -> (World<SimNode>, Vec<u64>) {
        let (mut w, ids) = cluster(3, 1);
        producer(&mut w, &ids, "producer", |c| {
            c.count = Some(20);
            c.rate = Some(SendRate::per_second(20));
            c.client = ProducerConfig::default()
                .with("enable.idempotence", idempotent)
                .with("linger.ms", 0);
        });
        let clog = Fault::Clog {
            from: "leader(orders-0)".into(),
            to: "producer".into(),
        };
        w.schedule_fault(
            Time(1_500_000),
            FaultSpec {
                fault: clog,
                revert_after: Some(Duration::from_secs(40)),
            },
        );
        w.run_until(secs(80), 50_000_000);
        let tp = TopicPartition::new("orders", 0);
        let log = cluster::values_below_high_watermark(&w, &tp).unwrap_or_default();
        (w, log)
    }

    #[test]
    fn retries_duplicate_without_idempotence_and_not_with_it() {
        // Proves D1: a retry after a lost reply appends the batch again unless the producer is
        // idempotent, in which case the leader recognises the sequence and keeps one copy.
        let (w, log) = lost_replies(false);
        let found = anomalies(&w);
        assert!(
            found["duplicate"] > 0,
            "the checker sees the duplicates: {found:?}"
        );
        let distinct: std::collections::BTreeSet<u64> = log.iter().copied().collect();
        assert_eq!(distinct.len(), 20, "{log:?}");
        assert!(
            log.len() > 20,
            "duplicates expected: {log:?} {:?}",
            stats(&w, "producer")
        );
        let (w, log) = lost_replies(true);
        let found = anomalies(&w);
        assert!(found.values().all(|&n| n == 0), "{found:?}");
        assert_eq!(
            log.len(),
            20,
            "no duplicates: {log:?} {:?}",
            stats(&w, "producer")
        );
        assert_eq!(stats(&w, "producer").acked, 20);
    }

    #[test]
    fn killed_consumer_partitions_move_after_session_timeout() {
        // Proves a consumer killed without LeaveGroup keeps its partitions until
        // session.timeout.ms (45 s) expires; then the survivors own all six.
        let (mut w, ids) = cluster(5, 6);
        for i in 1..=3 {
            consumer(
                &mut w,
                &ids,
                &format!("consumer-{i}"),
                secs(1),
                CommitStrategy::AfterProcessing,
            );
        }
        w.schedule_fault(secs(15), Fault::Kill("consumer-3".into()));
        w.run_until(secs(14), 50_000_000);
        let before: usize = (1..=3)
            .map(|i| assignment(&w, &format!("consumer-{i}")).len())
            .sum();
        assert_eq!(before, 6, "all partitions assigned");
        assert_eq!(assignment(&w, "consumer-1").len(), 2);
        w.run_until(secs(55), 50_000_000);
        assert_eq!(
            assignment(&w, "consumer-1").len() + assignment(&w, "consumer-2").len(),
            4,
            "session not expired yet"
        );
        w.run_until(secs(75), 50_000_000);
        let found = anomalies(&w);
        assert!(found.values().all(|&n| n == 0), "{found:?}");
        assert_eq!(
            assignment(&w, "consumer-1").len() + assignment(&w, "consumer-2").len(),
            6
        );
    }

    /// 20 records produced; consumer-1 processes 100 ms each and crashes mid-batch; a
    /// replacement starts 1 s later and takes over after the session timeout.
    fn crash_mid_batch(commit: CommitStrategy) -> BTreeMap<u64, u32> {
        let (mut w, ids) = cluster(7, 1);
        producer(&mut w, &ids, "producer", |c| c.count = Some(20));
        consumer(&mut w, &ids, "consumer-1", secs(3), commit);
        w.run_until(secs(7), 50_000_000);
        let done = processed(&w).len();
        assert!(done > 0 && done < 20, "crash mid-batch: {done} processed");
        w.schedule_fault(
            secs(7),
            Fault::Signal {
                target: "consumer-1".into(),
                signal: "crash".into(),
            },
        );
        consumer(&mut w, &ids, "consumer-2", secs(8), commit);
        w.run_until(secs(90), 50_000_000);
        let found = anomalies(&w);
        let (expected, absent) = match commit {
            CommitStrategy::BeforeProcessing => ("lost-processing", "reprocessed"),
            _ => ("reprocessed", "lost-processing"),
        };
        assert!(
            found[expected] > 0 && found[absent] == 0,
            "{commit:?}: {found:?}"
        );
        processed(&w)
    }

    #[test]
    fn commit_before_processing_loses_and_after_processing_duplicates() {
        // Proves L5 and D2 end to end: committing before processing skips the records the
        // crashed consumer never processed; committing after processing re-processes them.
        let before = crash_mid_batch(CommitStrategy::BeforeProcessing);
        assert!(before.len() < 20, "records lost: {before:?}");
        assert!(before.values().all(|&n| n == 1));
        let after = crash_mid_batch(CommitStrategy::AfterProcessing);
        assert_eq!(after.len(), 20, "nothing lost: {after:?}");
        assert!(
            after.values().any(|&n| n == 2),
            "some processed twice: {after:?}"
        );
    }

    #[test]
    fn kafka_absorbs_a_consumer_outage_that_fails_sync_rpc() {
        // Proves the decoupling: with the consumer down 30 s the producer keeps being
        // acknowledged (no failures), the backlog builds up, and after the restart the group
        // catches up and processes every acknowledged record.
        let (mut w, ids) = cluster(9, 1);
        producer(&mut w, &ids, "producer", |c| {
            c.rate = Some(SendRate::per_second(50));
            c.stop = Some(secs(60));
            c.client.acks = Acks::All;
        });
        let two_ms = Duration::from_ms(2);
        consumer_with(
            &mut w,
            &ids,
            "consumer-1",
            secs(2),
            CommitStrategy::AfterProcessing,
            two_ms,
        );
        w.schedule_fault(secs(10), Fault::Kill("consumer-1".into()));
        w.schedule_fault(secs(40), Fault::Restart("consumer-1".into()));
        w.run_until(secs(40), 50_000_000);
        let during = stats(&w, "producer");
        let processed_at_restart = processed(&w).len() as u64;
        assert!(during.acked > 1_500 && during.failed == 0, "{during:?}");
        assert!(
            processed_at_restart + 1_000 < during.acked,
            "a backlog built up"
        );
        w.run_until(secs(150), 100_000_000);
        let s = stats(&w, "producer");
        let p = processed(&w);
        let acked: Vec<u64> = cluster::acked_values(&w)
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert_eq!(acked.len() as u64, s.acked);
        let found = anomalies(&w);
        assert!(found.values().all(|&n| n == 0), "{found:?}");
        let missing = acked.iter().filter(|v| !p.contains_key(v)).count();
        let node = w.find("consumer-1").unwrap();
        let view = match w.node(node) {
            SimNode::Consumer(c) => format!(
                "{:?} gen {:?} assigned {:?} pos {:?}",
                c.stats,
                c.consumer().map(|c| c.generation()),
                c.consumer().map(|c| c.assignment()),
                c.consumer()
                    .and_then(|c| c.position(&TopicPartition::new("orders", 0)))
            ),
            _ => String::new(),
        };
        assert_eq!(
            missing,
            0,
            "every acknowledged record was processed; {view}; acked {}",
            acked.len()
        );
    }
}

// ------------------------------------------------------------------ from a scenario file

#[test]
fn scenario_producers_consumers_and_rpc_become_nodes() {
    // Proves the scenario builder turns [[producer]], [[consumer]] and [[rpc]] into running
    // applications with the documented node names.
    let text = r#"
name = "apps"
duration = "20s"

[cluster]
brokers = 3

[[topic]]
name = "orders"
partitions = 2
replication_factor = 3

[[producer]]
name = "checkout"
topic = "orders"
send = "async"
rate = "100/s"
keys = "uniform:10"

[[consumer]]
name = "billing"
topics = ["orders"]
instances = 2
processing = "1ms..3ms"
commit = "after-processing"
config = { "auto.offset.reset" = "earliest" }

[[rpc]]
name = "payments"
rate = "10/s"
processing = "5ms"
"#;
    let s = kafkasim::scenario::parse(text, "inline.toml").expect("valid scenario");
    let mut w = kafkasim::scenario::build::build(&s, 1, TraceMode::Off).expect("builds");
    for name in [
        "checkout",
        "billing-1",
        "billing-2",
        "payments-caller",
        "payments-callee",
    ] {
        assert!(w.find(name).is_some(), "{name}");
    }
    w.run_until(Time(20_000_000), 50_000_000);
    let acked = match w.node(w.find("checkout").unwrap()) {
        SimNode::Producer(p) => p.stats.acked,
        _ => unreachable!(),
    };
    let processed: u64 = ["billing-1", "billing-2"]
        .iter()
        .map(|n| match w.node(w.find(n).unwrap()) {
            SimNode::Consumer(c) => c.stats.processed,
            _ => unreachable!(),
        })
        .sum();
    assert!(acked > 1_500, "{acked}");
    assert!(
        processed + 200 > acked,
        "consumers keep up: {processed} of {acked}"
    );
    assert!(caller(&w, "payments-caller").stats.ok > 150);
}

#[test]
fn max_lag_is_the_largest_records_lag_max_the_workbench_showed() {
    // Proves `max-lag` (the [expect] counter) is the largest records-lag-max of the
    // workbench's clients view over the run: sampled every 10 ms it never exceeds the
    // counter and comes within a few records of it (the producer adds 1 record per 10 ms).
    use kafkasim::view_model::figures::ClientTally;
    use kafkasim::view_model::observe::snapshot;
    let path = std::path::Path::new("scenarios/regressions/max-lag-is-measured.toml");
    let sc = kafkasim::scenario::load(path).unwrap();
    let mut w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
    let mut tally = ClientTally::default();
    let mut sampled = 0;
    let mut t = 0;
    while t < sc.duration_us {
        t += 10_000;
        w.run_until(Time(t), sc.max_events);
        let snap = snapshot(&w, &mut tally);
        for c in &snap.consumers {
            sampled = sampled.max(c.records_lag_max.unwrap_or(0));
        }
    }
    let end = kafkasim::sim::RunEnd::TimeLimit;
    let counters = kafkasim::runner::summarize(&sc, &w, end).counters;
    let max_lag = counters["max-lag"];
    assert!(sampled >= 200, "the slow consumer lags: {sampled}");
    assert!(sampled <= max_lag, "sampled {sampled} > max-lag {max_lag}");
    assert!(
        max_lag <= sampled + 5,
        "sampled {sampled}, max-lag {max_lag}"
    );
}

#[test]
fn the_empty_key_is_hashed_not_sticky() {
    // Proves `keys = "fixed:"` sends the empty key, which Kafka hashes like any key:
    // murmur2 of zero bytes is 275646681 (Java's Utils.murmur2), so with 6 partitions every
    // record lands in partition 3 — a null key would spread by stickiness instead.
    use kafkasim::kafka::clients::producer::partitioner::{murmur2, partition_for_key};
    assert_eq!(murmur2(b""), 275_646_681);
    assert_eq!(partition_for_key("", 6), 3);
    let path = std::path::Path::new("scenarios/regressions/empty-key-is-a-key.toml");
    let sc = kafkasim::scenario::load(path).unwrap();
    let mut w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(Time(sc.duration_us), sc.max_events);
    let partitions: std::collections::BTreeSet<u32> =
        w.kept()
            .iter()
            .filter_map(|r| match &r.kind {
                TraceKind::Emit {
                    event:
                        NodeEvent::History(kafkasim::workload::history::HistoryOp::SendOk {
                            tp, ..
                        }),
                    ..
                } => Some(tp.partition),
                _ => None,
            })
            .collect();
    assert_eq!(partitions, [3].into_iter().collect());
}
