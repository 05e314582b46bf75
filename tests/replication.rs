//! Replication scenarios: each test scripts faults at chosen times and runs the cluster with
//! the invariant checker after every event.

use kafkasim::kafka::config::{BrokerConfig, TopicConfig};
use kafkasim::kafka::controller::TopicSpec;
use kafkasim::kafka::event::KafkaEvent;
use kafkasim::kafka::scripted_client::{ScriptedProducerConfig, SendSchedule};
use kafkasim::kafka::{Acks, TopicPartition};
use kafkasim::sim::{Duration, Latency, LinkModel, Time, TraceMode, World};
use kafkasim::workload::actor::Actor;
use kafkasim::workload::cluster::{self, ClusterIds, ClusterSpec};

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
    TopicConfig {
        min_insync_replicas: Some(n),
        ..Default::default()
    }
}

fn world(
    seed: u64,
    brokers: u32,
    config: BrokerConfig,
    topic: TopicSpec,
) -> (World<Actor>, ClusterIds) {
    let mut w = World::new(seed, TraceMode::Full);
    let spec = ClusterSpec {
        brokers,
        broker_config: config,
        topics: vec![topic],
        link: LinkModel {
            latency: Latency::Uniform(Duration::from_us(500), Duration::from_ms(2)),
            ..Default::default()
        },
        writeback: None,
    };
    let ids = cluster::build_cluster(&mut w, &spec);
    (w, ids)
}

fn producer(w: &mut World<Actor>, ids: &ClusterIds, acks: Acks, schedule: SendSchedule) {
    let cfg = ScriptedProducerConfig::new(tp(), acks, ids.brokers.clone(), schedule);
    cluster::add_scripted_producer(w, "producer-1", cfg);
}

fn rate(start: f64, every_ms: u64, count: u64) -> SendSchedule {
    SendSchedule::Rate {
        start: secs(start),
        every: Duration::from_ms(every_ms),
        count,
    }
}

fn run(w: &mut World<Actor>, until: f64) {
    if let Err(v) = cluster::run_checked(w, secs(until)) {
        panic!("{v}");
    }
}

#[allow(dead_code)]
fn events(w: &World<Actor>) -> Vec<KafkaEvent> {
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
