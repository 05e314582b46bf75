//! Size limits and batch-shaping keys, each run with and without: `message.max.bytes` /
//! `max.message.bytes` (the broker refuses with MESSAGE_TOO_LARGE), `max.request.size`
//! (the producer refuses with RecordTooLargeException), `fetch.max.bytes` and KIP-74,
//! `compression.type` (smaller batches on disk), `partitioner.ignore.keys` (KIP-794).

use kafkasim::kafka::KafkaEvent;
use kafkasim::runner::check_scenario;
use kafkasim::scenario::{parse, Scenario};
use kafkasim::sim::{Time, TraceKind, TraceMode, World};
use kafkasim::workload::event::NodeEvent;
use kafkasim::workload::node::SimNode;

/// A 3-broker cluster, a 4-partition topic and one async producer of 200 records; `topic`,
/// `cluster`, `producer` are extra config entries, `keys` the producer's keys setting.
fn scenario(cluster: &str, topic: &str, producer: &str, value_bytes: u32, keys: &str) -> Scenario {
    scenario_with_consumer(cluster, topic, producer, value_bytes, keys, "")
}

/// [`scenario`] with extra consumer config entries (`consumer` starts with a comma).
fn scenario_with_consumer(
    cluster: &str,
    topic: &str,
    producer: &str,
    value_bytes: u32,
    keys: &str,
    consumer: &str,
) -> Scenario {
    let text = format!(
        r#"name = "size limits"
duration = "20s"
[cluster]
brokers = 3
config = {{ {cluster} }}
[[topic]]
name = "events"
partitions = 4
replication_factor = 3
config = {{ {topic} }}
[[producer]]
name = "app"
topic = "events"
count = 200
rate = "100/s"
value_bytes = {value_bytes}
keys = "{keys}"
config = {{ {producer} }}
[[consumer]]
name = "reader"
topics = ["events"]
config = {{ "auto.offset.reset" = "earliest"{consumer} }}
"#
    );
    parse(&text, "size-limits.toml").unwrap()
}

fn run(sc: &Scenario) -> World<SimNode> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(Time(sc.duration_us), sc.max_events);
    w
}

fn kafka_events(w: &World<SimNode>) -> Vec<KafkaEvent> {
    w.kept()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Emit {
                event: NodeEvent::Kafka(e),
                ..
            } => Some((**e).clone()),
            _ => None,
        })
        .collect()
}

fn counter(sc: &Scenario, key: &str) -> u64 {
    let r = check_scenario(sc, sc.seed);
    r.counters.get(key).copied().unwrap_or(0)
}

/// Bytes of every segment of `events-*` on the partitions' leaders.
fn stored_bytes(w: &World<SimNode>) -> u64 {
    let mut total = 0;
    for id in w.node_ids() {
        let Some(b) = w.node(id).as_broker() else {
            continue;
        };
        for (tp, p) in &b.partitions {
            if tp.topic == "events" && p.is_leader() {
                total += p.log.size_bytes();
            }
        }
    }
    total
}

/// Records per partition of `events` on the leaders.
fn per_partition(w: &World<SimNode>) -> Vec<i64> {
    let mut out = vec![0; 4];
    for id in w.node_ids() {
        let Some(b) = w.node(id).as_broker() else {
            continue;
        };
        for (tp, p) in &b.partitions {
            if tp.topic == "events" && p.is_leader() {
                out[tp.partition as usize] = p.log.log_end_offset().0;
            }
        }
    }
    out
}

#[test]
fn message_max_bytes_refuses_large_batches_at_the_broker() {
    // Proves message.max.bytes (broker) and max.message.bytes (topic): a 2000-byte record's
    // batch is over a 1000-byte limit, so the leader answers MESSAGE_TOO_LARGE and writes
    // nothing; the producer reports the failure (not retriable). Without the limit all 200
    // are acknowledged.
    let plain = scenario("", "", "", 2000, "none");
    assert_eq!(counter(&plain, "acked"), 200);
    for (cluster, topic) in [
        (r#""message.max.bytes" = 1000"#, ""),
        ("", r#""max.message.bytes" = 1000"#),
    ] {
        let sc = scenario(cluster, topic, "", 2000, "none");
        assert_eq!(counter(&sc, "acked"), 0, "{cluster}{topic}");
        assert_eq!(counter(&sc, "produce-errors"), 200, "{cluster}{topic}");
        let evs = kafka_events(&run(&sc));
        assert!(evs.iter().any(|e| matches!(
            e,
            KafkaEvent::ProduceRejected {
                error: kafkasim::kafka::ErrorCode::MessageTooLarge,
                ..
            }
        )));
        assert!(!evs
            .iter()
            .any(|e| matches!(e, KafkaEvent::Appended { tp, .. } if tp.topic == "events")));
    }
}

#[test]
fn max_request_size_fails_the_send_in_the_producer() {
    // Proves max.request.size: a record over it fails in send() with RecordTooLargeException
    // (MESSAGE_TOO_LARGE) and never reaches a broker; under it, it is acknowledged.
    let sc = scenario("", "", r#""max.request.size" = 1000"#, 2000, "none");
    let evs = kafka_events(&run(&sc));
    let refused = evs
        .iter()
        .filter(|e| matches!(e, KafkaEvent::RecordTooLarge { .. }))
        .count();
    assert_eq!(refused, 200);
    assert!(!evs
        .iter()
        .any(|e| matches!(e, KafkaEvent::ProduceRejected { .. })));
    assert_eq!(counter(&sc, "produce-errors"), 200);
    let fits = scenario("", "", r#""max.request.size" = 3000"#, 2000, "none");
    assert_eq!(counter(&fits, "acked"), 200);
}

#[test]
fn compression_type_shrinks_what_is_stored() {
    // Proves compression.type: the same records take the codec's share of their bytes on
    // disk (zstd smallest, then gzip, lz4, snappy), and none stores them as they are.
    let size = |codec: &str| {
        let sc = scenario(
            "",
            "",
            &format!(r#""compression.type" = "{codec}""#),
            1000,
            "none",
        );
        stored_bytes(&run(&sc))
    };
    let (none, gzip, snappy, lz4, zstd) = (
        size("none"),
        size("gzip"),
        size("snappy"),
        size("lz4"),
        size("zstd"),
    );
    assert!(
        zstd < gzip && gzip < lz4 && lz4 < snappy && snappy < none,
        "{none} {gzip} {snappy} {lz4} {zstd}"
    );
    assert!(
        gzip * 2 < none,
        "gzip keeps about 40% of the records: {gzip} of {none}"
    );
}

#[test]
fn partitioner_ignore_keys_spreads_one_key_over_partitions() {
    // Proves partitioner.ignore.keys: with one fixed key every record goes to that key's
    // partition; ignoring keys, the sticky partitioner spreads them over all partitions.
    let keyed = per_partition(&run(&scenario("", "", "", 100, "fixed:user-42")));
    assert_eq!(keyed.iter().filter(|&&n| n > 0).count(), 1, "{keyed:?}");
    let ignored = scenario(
        "",
        "",
        r#""partitioner.ignore.keys" = true, "batch.size" = 1000"#,
        100,
        "fixed:user-42",
    );
    let spread = per_partition(&run(&ignored));
    assert!(spread.iter().filter(|&&n| n > 0).count() >= 3, "{spread:?}");
    assert_eq!(spread.iter().sum::<i64>(), 200);
}

#[test]
fn fetch_max_bytes_bounds_a_response_but_returns_one_large_batch() {
    // Proves fetch.max.bytes with KIP-74: a limit below one batch still returns that batch
    // (the consumer makes progress and reads everything), and a small limit needs more
    // fetches than the default for the same records.
    let fetches = |consumer: &str| {
        let sc = scenario_with_consumer("", "", "", 1000, "none", consumer);
        let mut w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::Full).unwrap();
        w.run_until(Time(sc.duration_us), sc.max_events);
        let n = w
            .trace()
            .records()
            .iter()
            .filter(|r| {
                matches!(&r.kind, TraceKind::Deliver { msg, to, .. }
                    if *msg == "FetchResponse" && w.name(*to).starts_with("reader"))
            })
            .count();
        (n, counter(&sc, "unseen"), counter(&sc, "consumed"))
    };
    let (default_fetches, unseen, consumed) = fetches("");
    assert_eq!((unseen, consumed), (0, 200));
    let (small_fetches, unseen, consumed) = fetches(r#", "fetch.max.bytes" = 100"#);
    assert_eq!(
        (unseen, consumed),
        (0, 200),
        "KIP-74: one batch over the limit still comes"
    );
    assert!(
        small_fetches > default_fetches,
        "{small_fetches} vs {default_fetches}"
    );
}

#[test]
fn producer_id_expiration_makes_a_late_retry_a_duplicate() {
    // Proves producer.id.expiration.ms (ProducerStateManager.removeExpiredProducers): the
    // same held responses and retries as retries-idempotent.toml, once with the default
    // (1 day: every retry is recognised, no duplicate) and once with 1 s, where the idle
    // producer is forgotten while its responses are held and the retries are appended again.
    let load = |f: &str| {
        let path = format!("{}/scenarios/{f}", env!("CARGO_MANIFEST_DIR"));
        kafkasim::scenario::load(std::path::Path::new(&path)).unwrap()
    };
    let kept = load("retries-idempotent.toml");
    let expired = load("regressions/producer-id-expiration.toml");
    assert_eq!(counter(&kept, "duplicate"), 0);
    assert!(counter(&expired, "duplicate") > 0);
    let forgot = |sc: &Scenario| {
        kafka_events(&run(sc))
            .iter()
            .any(|e| matches!(e, KafkaEvent::ProducerIdsExpired { .. }))
    };
    assert!(forgot(&expired) && !forgot(&kept));
}
