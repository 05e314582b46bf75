//! Compaction, end to end (Kafka's `LogCleaner`): each cleaner key run with and without,
//! from the lesson 20 scenario's run and its trace.

use kafkasim::kafka::KafkaEvent;
use kafkasim::runner::check_scenario;
use kafkasim::scenario::{parse, Scenario};
use kafkasim::sim::{Time, TraceKind, TraceMode};
use kafkasim::workload::event::NodeEvent;

const BASE: &str = include_str!("../scenarios/lessons/compacted-table.toml");

fn variant(edits: &[(&str, &str)]) -> Scenario {
    let mut text = BASE.to_string();
    for (old, new) in edits {
        assert!(text.contains(old), "{old}");
        text = text.replacen(old, new, 1);
    }
    let text = text.split("[expect]").next().unwrap().to_string();
    parse(&text, "compaction-variant.toml").unwrap()
}

/// (pass time in s, broker's records removed, tombstones removed) of every `LogCleaned`.
fn passes(sc: &Scenario) -> Vec<(u64, u64, u64)> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(Time(sc.duration_us), sc.max_events);
    w.kept()
        .iter()
        .filter_map(|r| match &r.kind {
            TraceKind::Emit {
                event: NodeEvent::Kafka(e),
                ..
            } => match **e {
                KafkaEvent::LogCleaned {
                    records_removed,
                    tombstones_removed,
                    ..
                } => Some((
                    r.time.as_us() / 1_000_000,
                    records_removed,
                    tombstones_removed,
                )),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn count(sc: &Scenario, key: &str) -> u64 {
    check_scenario(sc, sc.seed)
        .counters
        .get(key)
        .copied()
        .unwrap_or(0)
}

#[test]
fn the_cleaner_runs_every_backoff_on_every_replica() {
    // Proves `log.cleaner.backoff.ms`: passes come every 15 s by default on each of the 3
    // replicas (a pass cleans only when the dirty ratio allows), every 5 s when set so.
    let base = passes(&variant(&[]));
    let times: Vec<u64> = base.iter().map(|p| p.0).collect();
    assert_eq!(times, [15, 15, 15, 30, 30, 30, 45, 45, 45, 60, 60, 60]);
    let fast = variant(&[(
        "brokers = 3",
        r#"brokers = 3
config = { "log.cleaner.backoff.ms" = 5000 }"#,
    )]);
    let fast = passes(&fast);
    assert!(fast.len() > base.len(), "{fast:?}");
    assert_eq!(fast.first().map(|p| p.0), Some(5));
}

#[test]
fn tombstones_go_only_after_delete_retention_ms() {
    // Proves `delete.retention.ms`: with 10 s, passes remove tombstones; with the default
    // (1 day) none is removed in the 80 s run, and more records stay.
    let short: u64 = passes(&variant(&[])).iter().map(|p| p.2).sum();
    assert!(
        short > 0,
        "tombstones removed with delete.retention.ms = 10 s"
    );
    let default = variant(&[(", \"delete.retention.ms\" = 10000", "")]);
    let long: u64 = passes(&default).iter().map(|p| p.2).sum();
    assert_eq!(long, 0);
}

#[test]
fn the_dirty_ratio_holds_back_a_log_that_is_mostly_clean() {
    // Proves `min.cleanable.dirty.ratio`: at "1" a log is cleaned only when nothing in it
    // is clean yet, so after the first pass the cleaner waits for good.
    let all = variant(&[(
        "\"cleanup.policy\" = \"compact\"",
        "\"cleanup.policy\" = \"compact\", \"min.cleanable.dirty.ratio\" = \"1\"",
    )]);
    let p = passes(&all);
    let times: Vec<u64> = p.iter().map(|p| p.0).collect();
    assert_eq!(times, [15, 15, 15]);
    assert!(count(&all, "compacted") < count(&variant(&[]), "compacted"));
}

#[test]
fn compact_delete_also_runs_retention() {
    // Proves `cleanup.policy = "compact,delete"`: the cleaner compacts and retention
    // deletes old segments (retention.ms = 20 s); with `compact` alone and the same
    // retention.ms, retention deletes nothing.
    let with = |policy: &str| {
        variant(&[
            (
                "brokers = 3",
                "brokers = 3\nconfig = { \"log.retention.check.interval.ms\" = 5000 }",
            ),
            (
                "\"cleanup.policy\" = \"compact\"",
                &format!("\"cleanup.policy\" = \"{policy}\", \"retention.ms\" = 20000"),
            ),
        ])
    };
    let both = with("compact,delete");
    assert!(count(&both, "log-cleaner-passes") > 0);
    assert!(count(&both, "segments-deleted") > 0);
    let compact = with("compact");
    assert_eq!(count(&compact, "segments-deleted"), 0);
    assert!(count(&compact, "log-cleaner-passes") > 0);
}

#[test]
fn a_compacted_topic_refuses_records_without_a_key() {
    // Proves Kafka's `LogValidator.validateKey`: a keyless record sent to a compacted
    // topic fails with INVALID_RECORD (not retriable), nothing written; the same producer
    // on a `delete` topic is acknowledged.
    let keyless = variant(&[("keys = \"uniform:20\"\ntombstones = \"5%\"\n", "")]);
    let r = check_scenario(&keyless, keyless.seed);
    let get = |k: &str| r.counters.get(k).copied().unwrap_or(0);
    assert_eq!((get("produced"), get("acked")), (1000, 0));
    assert_eq!(get("produce-errors"), 1000);
    let delete = variant(&[
        ("keys = \"uniform:20\"\ntombstones = \"5%\"\n", ""),
        (
            "\"cleanup.policy\" = \"compact\"",
            "\"cleanup.policy\" = \"delete\"",
        ),
    ]);
    assert_eq!(count(&delete, "acked"), 1000);
}
