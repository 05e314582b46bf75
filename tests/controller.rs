//! The controller's broker life cycle against Kafka's: fencing at exactly
//! `broker.session.timeout.ms` after the last heartbeat (`BrokerHeartbeatManager`), the
//! registration of a new incarnation (`ClusterControlManager.registerBroker`), and the
//! periodic preferred leader election (`auto.leader.rebalance.enable`).

use kafkasim::kafka::config::BrokerConfig;
use kafkasim::kafka::controller::TopicSpec;
use kafkasim::kafka::event::KafkaEvent;
use kafkasim::kafka::BrokerId;
use kafkasim::sim::World;
use kafkasim::sim::{Duration, Fault, Latency, LinkModel, NodeId, Time, TraceKind, TraceMode};
use kafkasim::workload::cluster::{self, ClusterIds, ClusterSpec};
use kafkasim::workload::node::SimNode;

fn secs(s: f64) -> Time {
    Time((s * 1_000_000.0) as u64)
}

fn world(config: BrokerConfig, partitions: u32) -> (World<SimNode>, ClusterIds) {
    let mut w = World::new(5, TraceMode::Full);
    let spec = ClusterSpec {
        brokers: 3,
        broker_config: config,
        topics: vec![TopicSpec {
            name: "orders".into(),
            partitions,
            replication_factor: 3,
            config: Default::default(),
        }],
        link: LinkModel {
            latency: Latency::Fixed(Duration::from_ms(1)),
            ..Default::default()
        },
        writeback: None,
        own: Vec::new(),
    };
    let ids = cluster::build_cluster(&mut w, &spec);
    (w, ids)
}

/// Times the controller received a message named `msg` from `from`.
fn received(w: &World<SimNode>, from: NodeId, to: NodeId, msg: &str) -> Vec<Time> {
    w.trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Deliver {
                from: f,
                to: t,
                msg: m,
                ..
            } if *f == from && *t == to && *m == msg => Some(r.time),
            _ => None,
        })
        .collect()
}

fn controller_events(w: &World<SimNode>) -> Vec<(Time, KafkaEvent)> {
    cluster::kafka_events(w)
        .into_iter()
        .map(|(t, _, e)| (t, e))
        .collect()
}

fn fenced_at(w: &World<SimNode>, b: BrokerId) -> Vec<Time> {
    controller_events(w)
        .into_iter()
        .filter_map(|(t, e)| match e {
            KafkaEvent::BrokerFenced { broker } if broker == b => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn a_dead_broker_is_fenced_exactly_one_session_timeout_after_its_last_heartbeat() {
    // Proves BrokerHeartbeatManager's deadline: fenced at last heartbeat + broker.session.timeout.ms, not at a later poll.
    for kill_s in [5.0, 5.3, 5.7, 6.2] {
        let (mut w, ids) = world(BrokerConfig::default(), 1);
        let victim = ids.brokers[1];
        w.schedule_fault(secs(kill_s), Fault::Kill(w.name(victim).to_string()));
        w.run_until(secs(30.0), u64::MAX);
        let last_hb = *received(&w, victim, ids.controller, "BrokerHeartbeat")
            .iter()
            .rfind(|&&t| t < secs(kill_s))
            .expect("heartbeats before the kill");
        let fenced = fenced_at(&w, BrokerId(2));
        assert_eq!(
            fenced,
            vec![last_hb + Duration::from_ms(9_000)],
            "killed at {kill_s}s, last heartbeat at {last_hb:?}"
        );
    }
}

#[test]
fn a_shorter_session_timeout_fences_sooner() {
    // Proves broker.session.timeout.ms is the deadline: 4 s instead of 9 s after the last heartbeat.
    let config = BrokerConfig::default().with("broker.session.timeout.ms", 4000i64);
    let (mut w, ids) = world(config, 1);
    let victim = ids.brokers[1];
    w.schedule_fault(secs(5.0), Fault::Kill(w.name(victim).to_string()));
    w.run_until(secs(20.0), u64::MAX);
    let last_hb = *received(&w, victim, ids.controller, "BrokerHeartbeat")
        .iter()
        .rfind(|&&t| t < secs(5.0))
        .expect("heartbeats");
    assert_eq!(
        fenced_at(&w, BrokerId(2)),
        vec![last_hb + Duration::from_ms(4_000)]
    );
}

fn registered_at(w: &World<SimNode>, b: BrokerId) -> Vec<Time> {
    controller_events(w)
        .into_iter()
        .filter_map(|(t, e)| match e {
            KafkaEvent::BrokerRegistered { broker, .. } if broker == b => Some(t),
            _ => None,
        })
        .collect()
}

fn duplicates_at(w: &World<SimNode>, b: BrokerId) -> Vec<Time> {
    controller_events(w)
        .into_iter()
        .filter_map(|(t, e)| match e {
            KafkaEvent::DuplicateBrokerRegistration { broker } if broker == b => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn a_restarted_broker_is_refused_while_its_old_session_is_valid() {
    // Proves ClusterControlManager.registerBroker: a new incarnation inside the old session gets DUPLICATE_BROKER_REGISTRATION, retries with backoff, and registers only after the old session expired (fenced).
    let (mut w, ids) = world(BrokerConfig::default(), 1);
    let victim = ids.brokers[1];
    let name = w.name(victim).to_string();
    w.schedule_fault(secs(5.0), Fault::Kill(name.clone()));
    w.schedule_fault(secs(6.0), Fault::Restart(name));
    w.run_until(secs(40.0), u64::MAX);
    let fenced = fenced_at(&w, BrokerId(2));
    assert_eq!(fenced.len(), 1, "the old session expires once");
    let dups = duplicates_at(&w, BrokerId(2));
    assert!(!dups.is_empty(), "the new incarnation was refused");
    assert!(dups.iter().all(|&t| t > secs(6.0) && t < fenced[0]));
    // Kafka's backoff: 100, 200, 400 ... ms after each refusal, plus the 2 ms round trip.
    let gaps: Vec<u64> = dups.windows(2).map(|p| p[1].since(p[0]).as_ms()).collect();
    assert_eq!(gaps[..4], [102, 202, 402, 802], "{gaps:?}");
    let registered = registered_at(&w, BrokerId(2));
    assert_eq!(registered.len(), 2, "start, then the new incarnation");
    assert!(registered[1] > fenced[0], "registered after the fence");
    assert!(registered[1] < fenced[0] + Duration::from_ms(9_000));
}

#[test]
fn a_restart_after_the_session_expired_registers_at_once() {
    // Proves the other branch: once the old session expired (fenced), a new incarnation registers on its first attempt.
    let (mut w, ids) = world(BrokerConfig::default(), 1);
    let victim = ids.brokers[1];
    let name = w.name(victim).to_string();
    w.schedule_fault(secs(5.0), Fault::Kill(name.clone()));
    w.schedule_fault(secs(16.0), Fault::Restart(name));
    w.run_until(secs(30.0), u64::MAX);
    assert!(duplicates_at(&w, BrokerId(2)).is_empty());
    let registered = registered_at(&w, BrokerId(2));
    assert_eq!(registered.len(), 2);
    assert!(registered[1] < secs(16.1));
}

/// (time, partition, new leader) of every preferred leader election.
fn preferred_elections(w: &World<SimNode>) -> Vec<(Time, String, BrokerId)> {
    controller_events(w)
        .into_iter()
        .filter_map(|(t, e)| match e {
            KafkaEvent::LeaderElected {
                tp,
                leader,
                preferred: true,
                ..
            } => Some((t, tp.to_string(), leader)),
            _ => None,
        })
        .collect()
}

/// Kills the leader of orders-0 at 5 s, restarts it at 20 s, runs until `until_s`.
fn failover_and_back(config: BrokerConfig, until_s: f64) -> (World<SimNode>, BrokerId) {
    let (mut w, _) = world(config, 3);
    w.run_until(secs(1.0), u64::MAX);
    let tp = kafkasim::kafka::TopicPartition::new("orders", 0);
    let c = cluster::controller(&w).unwrap();
    let p = &c.image.partitions[&tp];
    let preferred = p.replicas[0];
    assert_eq!(
        p.leader,
        Some(preferred),
        "created with the preferred leader"
    );
    let name = format!("broker-{}", preferred.0);
    w.schedule_fault(secs(5.0), Fault::Kill(name.clone()));
    w.schedule_fault(secs(20.0), Fault::Restart(name));
    w.run_until(secs(until_s), u64::MAX);
    (w, preferred)
}

fn leader_of(w: &World<SimNode>, p: u32) -> Option<BrokerId> {
    let tp = kafkasim::kafka::TopicPartition::new("orders", p);
    cluster::controller(w).unwrap().image.partitions[&tp].leader
}

#[test]
fn leadership_returns_to_the_preferred_replica_after_the_check_interval() {
    // Proves auto.leader.rebalance.enable (default true): leader.imbalance.check.interval.seconds (300 s) after the failover, the restarted first replica leads again, in a new epoch.
    let (w, preferred) = failover_and_back(BrokerConfig::default(), 330.0);
    let fenced = fenced_at(&w, preferred);
    assert_eq!(fenced.len(), 1);
    let back = preferred_elections(&w);
    assert!(
        back.iter()
            .any(|(_, tp, b)| tp == "orders-0" && *b == preferred),
        "{back:?}"
    );
    // Scheduled when the fence made the partition imbalanced: exactly 300 s later.
    let t = back[0].0;
    assert_eq!(t, fenced[0] + Duration::from_secs(300), "{back:?}");
    assert!(
        back.iter().all(|(at, _, _)| *at == t),
        "one check moves all"
    );
    assert_eq!(leader_of(&w, 0), Some(preferred));
}

#[test]
fn without_auto_leader_rebalance_leadership_stays_where_failover_put_it() {
    // Proves auto.leader.rebalance.enable = false: no preferred election, the survivor keeps leading.
    let config = BrokerConfig::default().with("auto.leader.rebalance.enable", false);
    let (w, preferred) = failover_and_back(config, 330.0);
    assert!(preferred_elections(&w).is_empty());
    assert_ne!(leader_of(&w, 0), Some(preferred));
}

#[test]
fn a_shorter_check_interval_moves_leadership_back_sooner() {
    // Proves leader.imbalance.check.interval.seconds: 5 s instead of 300 s; a check that finds the preferred replica still away looks again one interval later.
    let config = BrokerConfig::default().with("leader.imbalance.check.interval.seconds", 5i64);
    let (w, preferred) = failover_and_back(config, 60.0);
    let fenced = fenced_at(&w, preferred)[0];
    let back = preferred_elections(&w);
    assert!(!back.is_empty());
    // Fenced at ~13 s; checks at +5 s (still down: nothing moves), +10 s (restarted at 20 s,
    // back in the ISR).
    assert_eq!(back[0].0, fenced + Duration::from_secs(10), "{back:?}");
    assert_eq!(leader_of(&w, 0), Some(preferred));
}

/// The nodes each `kill` fault hit, by the names the scenario resolved.
fn killed(w: &World<SimNode>) -> Vec<String> {
    w.trace()
        .records()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Fault(f) if f.verb == "kill" => Some(f.nodes.clone()),
            _ => None,
        })
        .flatten()
        .map(|n| w.name(n).to_string())
        .collect()
}

#[test]
fn follower_by_index_targets_the_nth_non_leader_replica_in_assignment_order() {
    // Proves the `follower(TOPIC-N, I)` fault target: I = 1, 2 name the two followers of an RF-3 partition in assignment order.
    let text = |i: u32| {
        format!(
            "name = \"t\"\nseed = 4\nduration = \"8s\"\n[cluster]\nbrokers = 3\n\
             [[topic]]\nname = \"orders\"\npartitions = 1\nreplication_factor = 3\n\
             [[fault]]\nat = \"5s\"\nkill = \"follower(orders-0, {i})\"\n"
        )
    };
    let mut hit = Vec::new();
    for i in [1, 2] {
        let sc = kafkasim::scenario::parse(&text(i), "t.toml").expect("parses");
        let (w, _) = kafkasim::runner::run(&sc, sc.seed, TraceMode::Full).unwrap();
        let c = cluster::controller(&w).unwrap();
        let p = &c.image.partitions[&kafkasim::kafka::TopicPartition::new("orders", 0)];
        let followers: Vec<String> = p
            .replicas
            .iter()
            .filter(|&&r| Some(r) != p.leader)
            .map(|r| format!("broker-{}", r.0))
            .collect();
        assert_eq!(killed(&w), vec![followers[i as usize - 1].clone()]);
        hit.extend(killed(&w));
    }
    assert_ne!(hit[0], hit[1], "two different followers");
    let bad = kafkasim::scenario::parse(&text(3), "t.toml")
        .unwrap_err()
        .to_string();
    assert!(bad.contains("the follower index must be 1..2"), "{bad}");
}
