//! Replication scenarios: each test scripts faults at chosen times and runs the cluster with
//! the invariant checker after every event.

use kafkasim::check::invariants::{self, CheckedRun};
use kafkasim::kafka::config::{BrokerConfig, TopicConfig, TruncationMode};
use kafkasim::kafka::controller::TopicSpec;
use kafkasim::kafka::event::{KafkaEvent, TruncationReason};
use kafkasim::kafka::{Acks, ErrorCode, TopicPartition};
use kafkasim::sim::{Duration, Fault, Latency, LinkModel, NodeId, Time, TraceMode, World};
use kafkasim::workload::cluster::{self, ClusterIds, ClusterSpec};
use kafkasim::workload::history::HistoryOp;
use kafkasim::workload::node::SimNode;
use kafkasim::workload::scripted_client::{ScriptedProducerConfig, SendSchedule};

fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

fn secs(s: f64) -> Time {
    Time((s * 1_000_000.0) as u64)
}

fn orders(rf: u32, config: TopicConfig) -> TopicSpec {
    TopicSpec {
        name: "orders".into(),
        partitions: 1,
        replication_factor: rf,
        config,
    }
}

fn min_isr(n: u32) -> TopicConfig {
    let mut c = TopicConfig::default();
    c.min_insync_replicas = Some(n);
    c
}

fn world(
    seed: u64,
    brokers: u32,
    config: BrokerConfig,
    topic: TopicSpec,
) -> (World<SimNode>, ClusterIds) {
    world_with_writeback(seed, brokers, config, topic, None)
}

fn world_with_writeback(
    seed: u64,
    brokers: u32,
    config: BrokerConfig,
    topic: TopicSpec,
    writeback: Option<Duration>,
) -> (World<SimNode>, ClusterIds) {
    let mut w = World::new(seed, TraceMode::Full);
    let spec = ClusterSpec {
        brokers,
        broker_config: config,
        topics: vec![topic],
        link: LinkModel {
            latency: Latency::Uniform(Duration::from_us(500), Duration::from_ms(2)),
            ..Default::default()
        },
        writeback,
        own: Vec::new(),
    };
    let ids = cluster::build_cluster(&mut w, &spec);
    (w, ids)
}

fn producer(w: &mut World<SimNode>, ids: &ClusterIds, acks: Acks, schedule: SendSchedule) {
    let mut cfg = ScriptedProducerConfig::new(tp(), acks, ids.brokers.clone(), schedule);
    cfg.request_timeout_ms = 5_000;
    cluster::add_scripted_producer(w, "producer-1", cfg);
}

fn rate(start: f64, every_ms: u64, count: u64) -> SendSchedule {
    SendSchedule::Rate {
        start: secs(start),
        every: Duration::from_ms(every_ms),
        count,
    }
}

fn run(w: &mut World<SimNode>, until: f64) {
    if let Err(v) = invariants::run_checked(w, secs(until)) {
        panic!("{v}");
    }
}

fn events(w: &World<SimNode>) -> Vec<KafkaEvent> {
    cluster::kafka_events(w)
        .into_iter()
        .map(|(_, _, e)| e)
        .collect()
}

#[test]
fn steady_state_acks_all_replicates_everything() {
    // Proves the happy path: with no faults every acks=all record is acknowledged and on all replicas.
    let (mut w, ids) = world(1, 3, BrokerConfig::default(), orders(3, min_isr(2)));
    producer(&mut w, &ids, Acks::All, rate(1.0, 10, 100));
    run(&mut w, 5.0);
    let acked = cluster::acked_values(&w);
    assert_eq!(acked.len(), 100);
    for &b in &ids.brokers {
        assert_eq!(cluster::log_values(&w, b, &tp()).len(), 100, "broker {b}");
    }
    assert!(cluster::lost_acked(&w, &tp()).is_empty());
}

fn checked(run: &mut CheckedRun, w: &mut World<SimNode>, until: f64) {
    if let Err(v) = run.run(w, secs(until)) {
        panic!("{v}");
    }
}

/// (leader name, follower names) in the controller's view.
fn roles(w: &World<SimNode>) -> (String, Vec<String>) {
    let leader = cluster::leader_node(w, &tp()).expect("a leader");
    let followers = w
        .node_ids()
        .filter(|&n| n != leader && w.name(n).starts_with("broker-"))
        .map(|n| w.name(n).to_string())
        .collect();
    (w.name(leader).to_string(), followers)
}

fn at(w: &mut World<SimNode>, t: f64, f: Fault) {
    w.schedule_fault(secs(t), f);
}

fn name(n: &str) -> String {
    n.to_string()
}

/// Acknowledged values with the time the acknowledgement arrived.
fn acked_at(w: &World<SimNode>) -> Vec<(Time, u64)> {
    w.kept()
        .iter()
        .filter_map(|r| match &r.kind {
            kafkasim::sim::TraceKind::Emit {
                event:
                    kafkasim::workload::event::NodeEvent::History(HistoryOp::SendOk {
                        value,
                        offset,
                        ..
                    }),
                ..
            } if offset.is_known() => Some((r.time, *value)),
            _ => None,
        })
        .collect()
}

fn truncations(w: &World<SimNode>) -> Vec<(u64, TruncationReason)> {
    events(w)
        .into_iter()
        .filter_map(|e| match e {
            KafkaEvent::Truncated {
                removed, reason, ..
            } => Some((removed, reason)),
            _ => None,
        })
        .collect()
}

fn isr_len(w: &World<SimNode>) -> usize {
    cluster::controller(w).unwrap().image.partitions[&tp()]
        .isr
        .len()
}

#[test]
fn leader_failover_with_acks_all_loses_nothing() {
    // Proves acks=all, RF=3, min.insync.replicas=2: killing the leader loses no acknowledged record.
    let (mut w, ids) = world(2, 3, BrokerConfig::default(), orders(3, min_isr(2)));
    producer(&mut w, &ids, Acks::All, rate(1.0, 10, 1_500));
    at(&mut w, 3.0, Fault::Kill(name("leader(orders-0)")));
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 2.9);
    let (old_leader, _) = roles(&w);
    at(&mut w, 20.0, Fault::Restart(old_leader.clone()));
    checked(&mut run, &mut w, 40.0);
    let acked = acked_at(&w);
    assert!(
        acked.iter().any(|(t, _)| *t < secs(3.0)),
        "acknowledged before the kill"
    );
    assert!(
        acked.iter().any(|(t, _)| *t > secs(12.0)),
        "acknowledged by the new leader"
    );
    assert_ne!(roles(&w).0, old_leader, "leadership moved");
    assert_eq!(cluster::lost_acked(&w, &tp()), Vec::<u64>::new());
}

#[test]
fn acks_1_leader_killed_before_replication_loses_acknowledged_records() {
    // Proves acks=1: records acknowledged by a leader that dies before followers copy them are lost, by truncation.
    let (mut w, ids) = world(
        3,
        3,
        BrokerConfig::default(),
        orders(3, TopicConfig::default()),
    );
    producer(&mut w, &ids, Acks::One, rate(2.0, 10, 50));
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 1.0);
    let (leader, followers) = roles(&w);
    for f in &followers {
        // Hold every fetch response from the leader: the followers never see the records.
        at(
            &mut w,
            1.5,
            Fault::Clog {
                from: leader.clone(),
                to: f.clone(),
            },
        );
        at(
            &mut w,
            14.0,
            Fault::Unclog {
                from: leader.clone(),
                to: f.clone(),
            },
        );
    }
    at(&mut w, 3.0, Fault::Kill(leader.clone()));
    at(&mut w, 15.0, Fault::Restart(leader.clone()));
    checked(&mut run, &mut w, 30.0);
    assert_eq!(cluster::acked_values(&w).len(), 50);
    assert_eq!(
        cluster::lost_acked(&w, &tp()).len(),
        50,
        "every acknowledged record is gone"
    );
    let leader_node: NodeId = w.find(&leader).unwrap();
    assert!(
        cluster::log_values(&w, leader_node, &tp()).is_empty(),
        "the old leader truncated its log"
    );
    assert!(
        truncations(&w).contains(&(50, TruncationReason::LeaderEpoch)),
        "{:?}",
        truncations(&w)
    );
}

#[test]
fn min_insync_replicas_rejects_writes_until_followers_return() {
    // Proves min.insync.replicas=2 with both followers cut off: NOT_ENOUGH_REPLICAS, and writes succeed again after healing.
    let (mut w, ids) = world(4, 3, BrokerConfig::default(), orders(3, min_isr(2)));
    producer(&mut w, &ids, Acks::All, rate(1.0, 100, 900));
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 1.0);
    let (leader, followers) = roles(&w);
    let rest = vec![leader, name("controller"), name("producer-1")];
    at(&mut w, 2.0, Fault::Partition(vec![followers, rest]));
    at(&mut w, 30.0, Fault::Heal);
    checked(&mut run, &mut w, 90.0);
    let rejected = events(&w)
        .iter()
        .filter(|e| {
            matches!(
                e,
                KafkaEvent::ProduceRejected {
                    error: ErrorCode::NotEnoughReplicas,
                    ..
                }
            )
        })
        .count();
    assert!(
        rejected > 0,
        "writes were rejected while the ISR was too small"
    );
    let acked = acked_at(&w);
    assert!(acked.iter().any(|(t, _)| *t < secs(2.0)));
    assert!(
        acked.iter().all(|(t, _)| *t < secs(2.1) || *t > secs(30.0)),
        "nothing acknowledged while partitioned"
    );
    assert!(
        acked.iter().any(|(t, _)| *t > secs(60.0)),
        "accepted again after healing"
    );
    assert_eq!(isr_len(&w), 3);
    assert!(cluster::lost_acked(&w, &tp()).is_empty());
}

/// ISR shrinks to the leader (followers cut off from it, not from the controller), the
/// leader acknowledges alone, dies, and comes back at 80 s.
fn last_replica_standing(unclean: bool) -> World<SimNode> {
    let topic = orders(3, {
        let mut c = TopicConfig::default();
        c.unclean_leader_election_enable = Some(unclean);
        c
    });
    let (mut w, ids) = world(5, 3, BrokerConfig::default(), topic);
    producer(&mut w, &ids, Acks::All, rate(1.0, 100, 550));
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 1.0);
    let (leader, followers) = roles(&w);
    at(
        &mut w,
        2.0,
        Fault::Partition(vec![followers, vec![leader.clone()]]),
    );
    at(&mut w, 55.0, Fault::Kill(leader.clone()));
    at(&mut w, 56.0, Fault::Heal);
    at(&mut w, 80.0, Fault::Restart(leader));
    checked(&mut run, &mut w, 100.0);
    w
}

#[test]
fn unclean_election_loses_data_clean_election_waits_offline() {
    // Proves after the ISR shrank to a dead leader: unclean election loses acknowledged records, clean election keeps the partition offline instead.
    let unclean = last_replica_standing(true);
    let ev = events(&unclean);
    assert!(ev
        .iter()
        .any(|e| matches!(e, KafkaEvent::LeaderElected { unclean: true, .. })));
    assert!(
        !cluster::lost_acked(&unclean, &tp()).is_empty(),
        "unclean election lost acknowledged records"
    );

    let clean = last_replica_standing(false);
    let ev = events(&clean);
    assert!(ev
        .iter()
        .any(|e| matches!(e, KafkaEvent::PartitionOffline { .. })));
    assert!(!ev
        .iter()
        .any(|e| matches!(e, KafkaEvent::LeaderElected { unclean: true, .. })));
    assert!(
        cluster::lost_acked(&clean, &tp()).is_empty(),
        "the returning ISR member kept everything"
    );
}

/// KIP-101 scenario 1: follower A restarts with a stale checkpointed HW before it learns
/// HW=2; leader B dies before A fetches m2 again; A becomes leader.
fn kip101_scenario_1(truncation: TruncationMode) -> World<SimNode> {
    let mut config = BrokerConfig::default();
    config.replication_truncation = truncation;
    let (mut w, ids) = world(6, 2, config, orders(2, TopicConfig::default()));
    // m1 at 1 s (HW=1 checkpointed at 5 s), m2 at 6 s.
    producer(
        &mut w,
        &ids,
        Acks::All,
        SendSchedule::At(vec![secs(1.0), secs(6.0)]),
    );
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 0.5);
    let (b, followers) = roles(&w);
    let a = followers[0].clone();
    // A has m2 and told B (HW=2, m2 acknowledged); B's answer with HW=2 is parked 500 ms.
    at(&mut w, 6.1, Fault::Kill(a.clone()));
    at(
        &mut w,
        6.15,
        Fault::Clog {
            from: a.clone(),
            to: b.clone(),
        },
    ); // A's next fetch never reaches B
    at(&mut w, 6.2, Fault::Restart(a.clone()));
    at(&mut w, 6.4, Fault::Kill(b.clone()));
    checked(&mut run, &mut w, 25.0);
    assert_eq!(roles(&w).0, a, "A leads after B's session expired");
    w
}

#[test]
fn kip101_scenario_1_high_watermark_truncation_loses_committed_record() {
    // Proves pre-0.11 truncation to a stale HW on restart loses an acknowledged, committed record when the leader then dies.
    let w = kip101_scenario_1(TruncationMode::HighWatermark);
    assert_eq!(cluster::acked_values(&w).len(), 2);
    assert_eq!(cluster::lost_acked(&w, &tp()).len(), 1, "m2 is lost");
    assert!(truncations(&w).contains(&(1, TruncationReason::HighWatermark)));
}

#[test]
fn kip101_scenario_1_leader_epochs_keep_committed_record() {
    // Proves with leader epochs the restarted follower truncates nothing and m2 survives B's death.
    let w = kip101_scenario_1(TruncationMode::LeaderEpoch);
    assert_eq!(cluster::acked_values(&w).len(), 2);
    assert!(cluster::lost_acked(&w, &tp()).is_empty());
    assert!(truncations(&w).is_empty());
}

/// KIP-101 scenario 2: A leads, B has m2 unflushed; A is killed and B loses power; B comes
/// back first and leads, takes m3 at m2's offset; A comes back as follower. B dies after A
/// so that its session expires last and it stays the ISR's last member (the controller
/// refuses a restarted broker until its old session expired, so B restarts after that).
fn kip101_scenario_2(
    truncation: TruncationMode,
) -> (
    World<SimNode>,
    Result<(), kafkasim::check::invariants::Violation>,
    String,
    String,
) {
    let mut config = BrokerConfig::default();
    config.replication_truncation = truncation;
    config.replica_high_watermark_checkpoint_interval_ms = 200;
    // The OS flushes every 5 s: m1 (1 s) is durable at 5 s, m2 (5.5 s) is not before 10 s.
    let (mut w, ids) = world_with_writeback(
        7,
        2,
        config,
        orders(2, TopicConfig::default()),
        Some(Duration::from_secs(5)),
    );
    producer(
        &mut w,
        &ids,
        Acks::All,
        SendSchedule::At(vec![secs(1.0), secs(5.5), secs(17.0)]),
    );
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 0.5);
    let (a, followers) = roles(&w);
    let b = followers[0].clone();
    at(&mut w, 6.0, Fault::Kill(a.clone()));
    at(
        &mut w,
        8.5,
        Fault::PowerLoss {
            target: b.clone(),
            torn: false,
        },
    );
    at(&mut w, 18.0, Fault::Restart(b.clone()));
    // m3 is sent at 17 s; the producer first tries the dead A and times out (5 s).
    at(&mut w, 25.0, Fault::Restart(a.clone()));
    let result = run.run(&mut w, secs(35.0));
    (w, result, a, b)
}

#[test]
fn kip101_scenario_2_high_watermark_truncation_diverges() {
    // Proves pre-0.11 truncation lets two in-sync replicas hold different records at the same offset (the checker catches it).
    let (w, result, a, b) = kip101_scenario_2(TruncationMode::HighWatermark);
    let v = result.expect_err("replicas diverge");
    assert_eq!(v.invariant, "isr-same-records", "{v}");
    let (na, nb) = (w.find(&a).unwrap(), w.find(&b).unwrap());
    assert_ne!(
        cluster::log_values(&w, na, &tp())[1],
        cluster::log_values(&w, nb, &tp())[1]
    );
}

#[test]
fn kip101_scenario_2_leader_epochs_do_not_diverge() {
    // Proves with leader epochs A truncates m2 and copies m3: identical logs (m2 lost, as both replicas failed).
    let (w, result, a, b) = kip101_scenario_2(TruncationMode::LeaderEpoch);
    if let Err(v) = result {
        panic!("{v}");
    }
    let (na, nb) = (w.find(&a).unwrap(), w.find(&b).unwrap());
    let (la, lb) = (
        cluster::log_values(&w, na, &tp()),
        cluster::log_values(&w, nb, &tp()),
    );
    assert_eq!(la, lb);
    assert_eq!(la.len(), 2);
    assert!(truncations(&w).contains(&(1, TruncationReason::LeaderEpoch)));
}

fn crash_all(power: bool) -> World<SimNode> {
    let (mut w, ids) = world(8, 3, BrokerConfig::default(), orders(3, min_isr(2)));
    producer(&mut w, &ids, Acks::All, rate(1.0, 10, 100));
    for i in 1..=3 {
        let b = format!("broker-{i}");
        let f = if power {
            Fault::PowerLoss {
                target: b.clone(),
                torn: false,
            }
        } else {
            Fault::Kill(b.clone())
        };
        at(&mut w, 3.0, f);
        at(&mut w, 4.0, Fault::Restart(b));
    }
    run(&mut w, 20.0);
    assert_eq!(cluster::acked_values(&w).len(), 100);
    w
}

#[test]
fn power_loss_of_all_replicas_loses_acked_data_kill_does_not() {
    // Proves acks=all means "in the page cache of every ISR member": a simultaneous power loss loses it, a process kill does not.
    let w = crash_all(true);
    assert_eq!(cluster::lost_acked(&w, &tp()).len(), 100);
    let w = crash_all(false);
    assert!(cluster::lost_acked(&w, &tp()).is_empty());
}

#[test]
fn paused_follower_leaves_isr_and_returns() {
    // Proves a follower stalled longer than replica.lag.time.max.ms leaves the ISR and rejoins once it resumes and catches up.
    let (mut w, ids) = world(9, 3, BrokerConfig::default(), orders(3, min_isr(2)));
    producer(&mut w, &ids, Acks::All, rate(1.0, 100, 700));
    let mut run = CheckedRun::default();
    checked(&mut run, &mut w, 1.0);
    let (_, followers) = roles(&w);
    at(&mut w, 2.0, Fault::Pause(followers[0].clone()));
    at(&mut w, 40.0, Fault::Resume(followers[0].clone()));
    checked(&mut run, &mut w, 35.0);
    assert_eq!(isr_len(&w), 2, "the paused follower left the ISR");
    checked(&mut run, &mut w, 70.0);
    assert_eq!(isr_len(&w), 3, "it rejoined after resuming");
    assert!(cluster::lost_acked(&w, &tp()).is_empty());
}

#[test]
fn same_seed_same_trace() {
    // Proves a replication run is deterministic: same seed, same trace hash; another seed differs.
    let hash = |seed| {
        let (mut w, ids) = world(seed, 3, BrokerConfig::default(), orders(3, min_isr(2)));
        producer(&mut w, &ids, Acks::All, rate(1.0, 10, 100));
        at(&mut w, 1.5, Fault::Kill(name("leader(orders-0)")));
        w.run_until(secs(20.0), u64::MAX);
        w.trace().hash_hex()
    };
    assert_eq!(hash(11), hash(11));
    assert_ne!(hash(11), hash(12));
}

#[test]
fn replication_benchmark_acknowledges_everything() {
    // Proves the benchmark workload completes: every batch is acknowledged by a 3-way replicated partition.
    let (events, end) = cluster::replication_benchmark(20_000);
    assert!(events > 0 && end > Time::ZERO);
}

#[test]
fn followers_open_one_fetch_session_per_leader_and_the_trace_explains_it() {
    // Proves KIP-227 in a whole run: each follower broker opens one session with each leader
    // broker it fetches from (3 brokers, each following the other two), none fails, and the
    // trace line teaches what the session does.
    let (mut w, ids) = world(1, 3, BrokerConfig::default(), orders(3, min_isr(2)));
    producer(&mut w, &ids, Acks::All, rate(1.0, 10, 100));
    run(&mut w, 5.0);
    let opened: Vec<KafkaEvent> = events(&w)
        .into_iter()
        .filter(|e| matches!(e, KafkaEvent::FetchSessionOpened { .. }))
        .collect();
    let mut pairs: Vec<String> = cluster::kafka_events(&w)
        .into_iter()
        .filter_map(|(_, node, e)| match e {
            KafkaEvent::FetchSessionOpened {
                replica: Some(r),
                session_id,
                ..
            } if session_id > 0 => Some(format!("{}<-{r}", w.name(node))),
            _ => None,
        })
        .collect();
    pairs.sort();
    pairs.dedup();
    assert_eq!(pairs.len(), 6, "{pairs:?}");
    assert!(!events(&w)
        .iter()
        .any(|e| matches!(e, KafkaEvent::FetchSessionError { .. })));
    let line = opened[0].explain();
    assert!(
        line.contains("incremental") && line.contains("KIP-227"),
        "{line}"
    );
    assert_eq!(cluster::acked_values(&w).len(), 100);
}

#[test]
fn the_audit_catches_a_change_the_touched_list_missed() {
    // Proves the audit behind every scenario's invariant run is not vacuous: a replica
    // changed behind `PartitionMap::touched`'s back (its list cleared after the change, as
    // an accessor that forgot to mark would leave it) fails the audited check with
    // `touched-complete`, and the same change, marked, passes.
    for forget in [false, true] {
        let (mut w, ids) = world(4, 3, BrokerConfig::default(), orders(3, min_isr(2)));
        producer(&mut w, &ids, Acks::All, rate(0.5, 10, 100));
        let mut run = CheckedRun::audited();
        checked(&mut run, &mut w, 2.0);
        let node = cluster::leader_node(&w, &tp()).expect("a leader");
        let SimNode::Broker(b) = w.node_mut(node) else {
            panic!("not a broker")
        };
        b.partitions.clear_touched();
        b.partitions.get_mut(&tp()).expect("hosted").partition_epoch += 1;
        if forget {
            b.partitions.clear_touched();
        }
        let view = invariants::BrokerView {
            broker: w.node(node).as_broker().expect("a broker"),
            incarnation: w.incarnation(node),
        };
        let got = run.checker.check_broker(&view, &|_| None);
        match (forget, got) {
            (false, Ok(())) => {}
            (true, Err((name, text))) => {
                assert_eq!(name, "touched-complete", "{text}");
                assert!(text.contains("orders-0"), "{text}");
            }
            (f, other) => panic!("forget {f}: {other:?}"),
        }
    }
}
