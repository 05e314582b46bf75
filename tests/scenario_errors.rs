//! Scenario files: broken files give located, helpful errors; valid ones parse and round-trip.

use kafkasim::scenario;
use std::path::{Path, PathBuf};

fn files(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    out.sort();
    out
}

/// `# expect: line N: fragment` on the first line of each bad scenario.
fn expectation(path: &Path) -> (usize, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or_default();
    let rest = first.strip_prefix("# expect: line ").unwrap_or_else(|| {
        panic!(
            "{}: first line must be `# expect: line N: ...`",
            path.display()
        )
    });
    let (line, fragment) = rest.split_once(": ").unwrap();
    (line.parse().unwrap(), fragment.to_string())
}

#[test]
fn bad_scenarios_report_file_line_and_hint() {
    // Proves every broken file is rejected with its name, the right line and the expected hint.
    let bad = files("tests/bad_scenarios");
    assert!(bad.len() >= 14, "only {} bad scenarios", bad.len());
    let mut failures = Vec::new();
    for path in bad {
        let (line, fragment) = expectation(&path);
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        match scenario::load(&path) {
            Ok(_) => failures.push(format!("{name}: parsed, expected an error")),
            Err(e) => {
                let msg = e.to_string();
                let located = format!("{name}:{line}:");
                if !msg.contains(&located) || !msg.contains(&fragment) {
                    failures.push(format!(
                        "{name}: expected `{located}` and `{fragment}` in:\n{msg}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn good_scenarios_parse_and_round_trip() {
    // Proves valid files parse and that parse(to_toml(s)) == s.
    let mut all = files("tests/good_scenarios");
    all.extend(files("scenarios"));
    assert!(all.len() >= 5);
    for path in all {
        let s = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = s.to_toml();
        let again = scenario::parse(&text, "round-trip.toml").unwrap_or_else(|e| {
            panic!(
                "{}: to_toml output does not parse: {e}\n{text}",
                path.display()
            )
        });
        assert_eq!(
            s,
            again,
            "{}: round trip changed the scenario\n{text}",
            path.display()
        );
    }
}

#[test]
fn reports_all_problems_not_just_the_first() {
    // Proves that independent problems in one file are all reported.
    let text = "name = \"x\"\nduration = \"10\"\n[cluster]\nbrokers = 201\nfoo = 1\n";
    let e = scenario::parse(text, "multi.toml").unwrap_err();
    assert_eq!(e.problems.len(), 3, "{e}");
    let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![2, 4, 5]);
}

#[test]
fn missing_file_is_an_error_not_a_panic() {
    // Proves I/O errors come back as ScenarioError.
    let e = scenario::load(Path::new("/nonexistent/scenario.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/scenario.toml"));
}

#[test]
fn defaults_and_node_names() {
    // Proves defaults (seed, idempotence post-processing, group.id) and node naming.
    let s = scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/good_scenarios/acks1-loss.toml"),
    )
    .unwrap();
    assert_eq!(s.seed, 7);
    assert_eq!(s.duration_us, 20_000_000);
    assert_eq!(
        s.node_names(),
        [
            "broker-1",
            "broker-2",
            "broker-3",
            "controller",
            "checkout",
            "billing-1"
        ]
    );
    let c = &s.consumers[0];
    assert_eq!(c.config.group_id.as_deref(), Some("billing"));
    assert!(!c.config.enable_auto_commit);
    assert!(s.expect.check("lost-write", 3));
    assert!(!s.expect.check("duplicate", 1));
    assert!(s.expect.check("rebalances", 99));
}

#[test]
fn documentation_names_every_key() {
    // Proves docs/scenario-format.md mentions every config key, expect key and fault action.
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md"),
    )
    .unwrap();
    use kafkasim::kafka::config::*;
    let mut keys: Vec<&str> = Vec::new();
    for table in [
        BrokerConfig::KEYS,
        TopicConfig::KEYS,
        ProducerConfig::KEYS,
        ConsumerConfig::KEYS,
    ] {
        keys.extend(table.iter().map(|k| k.key));
    }
    keys.extend(scenario::EXPECT_KEYS.iter().map(|(k, _)| *k));
    keys.extend(scenario::FaultKind::ALL.iter().map(|k| k.as_str()));
    keys.extend([
        "max_events",
        "controllers",
        "transport",
        "duplicate",
        "reorder",
        "network.link",
        "writeback",
        "fsync_latency",
        "replication_factor",
        "value_bytes",
        "instances",
        "processing",
        "commit",
        "in_flight",
        "payload_bytes",
        "fault_duration",
        "liveness",
        "torn",
        "unclog",
        "heal",
        "restart",
        "resume",
        "between",
    ]);
    let missing: Vec<&str> = keys
        .into_iter()
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn base() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/good_scenarios/everything.toml"),
        )
        .unwrap()
    }

    proptest! {
        // A fixed case stream (CI sees the same inputs every run); PROPTEST_RNG_SEED=<n>
        // draws another.
        #![proptest_config(ProptestConfig {
            cases: 256,
            rng_seed: proptest::test_runner::RngSeed::Fixed(
                std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0),
            ),
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            // Proves parse() returns instead of panicking on arbitrary input.
            let _ = scenario::parse(&text, "fuzz.toml");
        }

        #[test]
        fn mutated_scenarios_never_panic(cut in 0usize..4000, len in 0usize..20, insert in "[ -~\\n]{0,12}") {
            // Proves parse() survives deletions and insertions anywhere in a valid scenario.
            let text = base();
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + len).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            let mutated = format!("{}{}{}", &text[..at], insert, &text[end..]);
            let _ = scenario::parse(&mutated, "fuzz.toml");
        }
    }
}

#[test]
fn cluster_defaults_size_topics_that_do_not_say() {
    // Proves `num.partitions` and `default.replication.factor` size a topic that gives no
    // partition count or replication factor, as Kafka sizes an automatically created one.
    let text = r#"
name = "defaults"
duration = "1s"
[cluster]
brokers = 3
config = { "num.partitions" = 4, "default.replication.factor" = 2 }
[[topic]]
name = "orders"
"#;
    let s = scenario::parse(text, "defaults.toml").unwrap();
    assert_eq!(s.topics[0].partitions, 4);
    assert_eq!(s.topics[0].replication_factor, 2);
}
