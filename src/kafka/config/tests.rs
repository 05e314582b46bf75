//! Tests of the key registry and of each role's rules.

use super::*;

fn s(v: &str) -> ConfigValue {
    ConfigValue::Str(v.to_string())
}

#[test]
fn defaults_match_kafka_4() {
    // Proves the Default impls carry Kafka 4.x defaults from Kafka 4.x defaults.
    let p = ProducerConfig::default();
    assert_eq!(p.acks, Acks::All);
    assert!(p.enable_idempotence);
    assert_eq!(p.linger_ms, 5);
    assert_eq!(p.retries, 2147483647);
    assert_eq!(p.delivery_timeout_ms, 120_000);
    let c = ConsumerConfig::default();
    assert_eq!(c.session_timeout_ms, 45_000);
    assert_eq!(c.auto_offset_reset, AutoOffsetReset::Latest);
    assert_eq!(
        c.partition_assignment_strategy,
        vec![
            AssignmentStrategy::Range,
            AssignmentStrategy::CooperativeSticky
        ]
    );
    let b = BrokerConfig::default();
    assert_eq!(b.log_flush_interval_messages, i64::MAX as u64);
    assert_eq!(b.log_flush_interval_ms, None);
    assert_eq!(b.offsets_topic_num_partitions, 3);
    assert_eq!(b.replication_truncation, TruncationMode::LeaderEpoch);
    assert_eq!(TopicConfig::default().retention_bytes, -1);
}

#[test]
fn keys_are_unique_and_documented() {
    // Proves every KEYS table has unique keys with a doc line.
    for keys in [
        BrokerConfig::KEYS,
        TopicConfig::KEYS,
        ProducerConfig::KEYS,
        ConsumerConfig::KEYS,
    ] {
        let mut seen = std::collections::BTreeSet::new();
        for k in keys {
            assert!(seen.insert(k.key), "duplicate {}", k.key);
            assert!(!k.doc.is_empty());
        }
    }
}

#[test]
fn set_checks_types_ranges_and_enums() {
    // Proves set() rejects wrong types, out-of-range numbers and unknown enum values.
    let mut p = ProducerConfig::default();
    let e = p.set("acks", &s("2")).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::InvalidValue);
    assert!(e.help.unwrap().contains("all, -1, 1, 0"));
    let e = p.set("linger.ms", &ConfigValue::Int(-1)).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::OutOfRange);
    let e = p.set("linger.ms", &ConfigValue::Bool(true)).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::WrongType);
    p.set("acks", &ConfigValue::Int(1)).unwrap();
    assert_eq!(p.acks, Acks::One);
    p.set("acks", &s("-1")).unwrap();
    assert_eq!(p.acks, Acks::All);
    assert!(p.is_explicit("acks"));
    assert!(!p.is_explicit("linger.ms"));
}

#[test]
fn unknown_key_suggests_nearest() {
    // Proves unknown keys carry the nearest valid key as a suggestion.
    let mut p = ProducerConfig::default();
    let e = p.set("ack", &s("all")).unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("acks"));
    let e = p.set("linger_ms", &ConfigValue::Int(1)).unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("linger.ms"));
    let e = p.set("idempotence", &ConfigValue::Bool(true)).unwrap_err();
    assert_eq!(e.suggestion.as_deref(), Some("enable.idempotence"));
    let e = p.set("zzzzzzzzzz", &ConfigValue::Bool(true)).unwrap_err();
    assert_eq!(e.suggestion, None);
}

#[test]
fn idempotence_conflicts_follow_kafka() {
    // Proves explicit idempotence conflicts are errors and defaulted ones are disabled.
    let p = ProducerConfig::from_pairs([("acks", &s("1"))]).unwrap();
    assert!(!p.effective().unwrap().enable_idempotence);
    assert!(
        ProducerConfig::default()
            .effective()
            .unwrap()
            .enable_idempotence
    );

    let on = ConfigValue::Bool(true);
    let p = ProducerConfig::from_pairs([("acks", &s("1")), ("enable.idempotence", &on)]).unwrap();
    let e = p.validate().unwrap_err();
    assert!(e.message.contains("Must set acks to all"));
    assert_eq!(e.key, "acks");

    let five = ConfigValue::Int(6);
    let p = ProducerConfig::from_pairs([
        ("max.in.flight.requests.per.connection", &five),
        ("enable.idempotence", &on),
    ])
    .unwrap();
    assert!(p.validate().is_err());
}

#[test]
fn delivery_timeout_must_cover_linger_and_request_timeout() {
    // Proves the delivery.timeout.ms check: error if explicit, raised if defaulted.
    let p = ProducerConfig::from_pairs([("delivery.timeout.ms", &ConfigValue::Int(1000))]).unwrap();
    assert!(p.validate().is_err());
    let p =
        ProducerConfig::from_pairs([("request.timeout.ms", &ConfigValue::Int(200_000))]).unwrap();
    assert_eq!(p.effective().unwrap().delivery_timeout_ms, 200_005);
    assert_eq!(
        ProducerConfig::default()
            .effective()
            .unwrap()
            .delivery_timeout_ms,
        120_000
    );
}

#[test]
fn consumer_session_must_exceed_heartbeat() {
    // Proves heartbeat.interval.ms >= session.timeout.ms is rejected.
    let c = ConsumerConfig::from_pairs([("session.timeout.ms", &ConfigValue::Int(3000))]).unwrap();
    assert_eq!(c.validate().unwrap_err().key, "session.timeout.ms");
    ConsumerConfig::default().validate().unwrap();
}

#[test]
fn assignment_strategy_accepts_list_or_string() {
    // Proves partition.assignment.strategy takes a list or a comma-separated string.
    let mut c = ConsumerConfig::default();
    c.set("partition.assignment.strategy", &s("roundrobin, sticky"))
        .unwrap();
    assert_eq!(
        c.partition_assignment_strategy,
        vec![AssignmentStrategy::RoundRobin, AssignmentStrategy::Sticky]
    );
    let list = ConfigValue::List(vec![s("cooperative-sticky")]);
    c.set("partition.assignment.strategy", &list).unwrap();
    assert!(c.set("partition.assignment.strategy", &s("fancy")).is_err());
    assert!(c
        .set("partition.assignment.strategy", &ConfigValue::List(vec![]))
        .is_err());
}

#[test]
fn topic_overrides_fall_back_to_cluster() {
    // Proves unset topic overrides take the cluster's value.
    let b = BrokerConfig::from_pairs([("min.insync.replicas", &ConfigValue::Int(2))]).unwrap();
    let t = TopicConfig::default();
    assert_eq!(t.effective_min_insync_replicas(&b), 2);
    let t = TopicConfig::from_pairs([("min.insync.replicas", &ConfigValue::Int(3))]).unwrap();
    assert_eq!(t.effective_min_insync_replicas(&b), 3);
}

#[test]
fn edit_distance_basics() {
    // Proves the Levenshtein distance on a few known pairs.
    assert_eq!(edit_distance("ack", "acks"), 1);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("", "abc"), 3);
}

#[test]
fn effective_configs_carry_kafka_post_processing() {
    // Proves the effective configs apply Kafka's adjustments: backoff max >= backoff,
    // batch.size = 0 is one record per batch, and no group means no auto-commit.
    let p = ProducerConfig::default()
        .with("retry.backoff.ms", 5_000)
        .with("batch.size", 0)
        .effective()
        .unwrap();
    assert_eq!(p.retry_backoff_max_ms, 5_000);
    assert_eq!(p.batch_size, 1);
    let c = ConsumerConfig::default().effective().unwrap();
    assert!(!c.enable_auto_commit, "no group.id: nothing to commit to");
    let c = ConsumerConfig::default()
        .with("group.id", "billing")
        .effective()
        .unwrap();
    assert!(c.enable_auto_commit);
    assert_eq!(c.group_id.as_deref(), Some("billing"));
}

#[test]
fn transactional_id_needs_idempotence() {
    // Proves a transactional.id with idempotence switched off is rejected.
    let mut p = ProducerConfig::default().with("enable.idempotence", false);
    p.transactional_id = Some("t".into());
    let e = p.effective().unwrap_err();
    assert_eq!(e.key, "transactional.id");
}

/// Every file under `dirs` (recursively) with one of the extensions, as text.
fn corpus(dirs: &[&str], exts: &[&str]) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stack: Vec<std::path::PathBuf> = dirs.iter().map(|d| root.join(d)).collect();
    let mut text = String::new();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| exts.iter().any(|x| e == *x)) {
            text.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    text
}

#[test]
fn every_key_is_simulated_labelled_or_refused() {
    // Proves no key is accepted in silence: each key of the registry is either refused
    // ("not simulated"), a documented label, or simulated — and every simulated key is
    // exercised by a test or a shipped scenario (its name or field appears there) and
    // documented in docs/scenario-format.md.
    use super::simulated::{of, Simulation};
    let exercised = corpus(&["tests", "scenarios", "src"], &["rs", "toml"]);
    let docs = corpus(&["docs"], &["md"]);
    let roles: [(&str, &[KeyInfo]); 4] = [
        ("BrokerConfig", BrokerConfig::KEYS),
        ("TopicConfig", TopicConfig::KEYS),
        ("ProducerConfig", ProducerConfig::KEYS),
        ("ConsumerConfig", ConsumerConfig::KEYS),
    ];
    let mut silent = Vec::new();
    let (mut simulated, mut refused, mut labels) = (0, 0, 0);
    for (role, keys) in roles {
        for k in keys {
            assert!(
                docs.contains(&format!("`{}`", k.key)),
                "{}: undocumented",
                k.key
            );
            match of(role, k.key) {
                Simulation::NotSimulated { .. } => refused += 1,
                Simulation::Label(why) => {
                    assert!(!why.is_empty());
                    labels += 1;
                }
                Simulation::Simulated => {
                    simulated += 1;
                    let field = k.key.replace('.', "_");
                    let quoted = format!("\"{}\"", k.key);
                    let bare = format!("{} =", k.key);
                    let used = exercised.matches(&quoted).count() > 1
                        || exercised.contains(&bare)
                        || exercised.matches(&format!(".{field}")).count() > 1;
                    if !used {
                        silent.push(format!("{role} {}", k.key));
                    }
                }
            }
        }
    }
    assert!(
        silent.is_empty(),
        "simulated keys nothing exercises: {silent:?}"
    );
    assert!(
        simulated > 40 && refused >= 1 && labels >= 2,
        "{simulated} {refused} {labels}"
    );
}

#[test]
fn refused_keys_name_what_kafkasim_does_instead() {
    // Proves a not-simulated key is refused with "not simulated" and the behaviour instead,
    // while the value kafkasim behaves as is accepted.
    let mut c = ConsumerConfig::default();
    let e = c.set("group.protocol", &s("consumer")).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::NotSimulated);
    assert!(
        e.message.starts_with("not simulated: `group.protocol`"),
        "{e}"
    );
    assert!(e.message.contains("classic protocol"), "{e}");
    c.set("group.protocol", &s("classic")).unwrap();
    c.set("client.id", &s("billing-app")).unwrap();
}

#[test]
fn per_broker_keys_are_broker_keys() {
    // Proves every key a [[broker]] section may set exists in BrokerConfig (a typo in the
    // list would silently refuse a valid key).
    for k in super::PER_BROKER_KEYS {
        assert!(
            BrokerConfig::KEYS.iter().any(|i| i.key == *k),
            "{k} is not a BrokerConfig key"
        );
    }
}
