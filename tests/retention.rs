//! Retention, end to end: each key run with and without, and what a consumer below the log
//! start does under each `auto.offset.reset` (Kafka's `Fetcher` / `SubscriptionState`
//! reset path), from the run's trace.

use kafkasim::kafka::KafkaEvent;
use kafkasim::runner::check_scenario;
use kafkasim::scenario::{parse, Scenario};
use kafkasim::sim::{Time, TraceKind, TraceMode};
use kafkasim::workload::event::NodeEvent;

const BASE: &str = include_str!("../scenarios/lessons/retention-slow-consumer.toml");

fn variant(edits: &[(&str, &str)]) -> Scenario {
    let mut text = BASE.to_string();
    for (old, new) in edits {
        assert!(text.contains(old), "{old}");
        text = text.replacen(old, new, 1);
    }
    // Only the behaviour is under test here, not the lesson's expectations.
    let text = text.split("[expect]").next().unwrap().to_string();
    parse(&text, "retention-variant.toml").unwrap()
}

/// Every Kafka event of the run.
fn events(sc: &Scenario) -> Vec<KafkaEvent> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(Time(sc.duration_us), sc.max_events);
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

fn count(sc: &Scenario, key: &str) -> u64 {
    check_scenario(sc, sc.seed)
        .counters
        .get(key)
        .copied()
        .unwrap_or(0)
}

#[test]
fn retention_ms_deletes_and_minus_one_keeps_everything() {
    // Proves retention.ms: with 20 s, segments are deleted and the log start moves; with
    // -1 nothing is deleted. Neither loses an acknowledged write.
    let with = variant(&[]);
    let without = variant(&[("\"retention.ms\" = 20000", "\"retention.ms\" = -1")]);
    assert!(count(&with, "segments-deleted") > 0);
    assert_eq!(count(&without, "segments-deleted"), 0);
    assert_eq!(count(&with, "lost-write"), 0);
    let moved = events(&with).into_iter().any(|e| {
        matches!(e, KafkaEvent::SegmentsDeleted { log_start_offset, .. } if log_start_offset.0 > 0)
    });
    assert!(moved, "the log start offset advanced");
}

#[test]
fn retention_bytes_deletes_by_size_alone() {
    // Proves retention.bytes: with time retention off, a 10 KiB limit deletes by size
    // (reason retention-bytes) and leaves at least 10 KiB; without it nothing goes.
    let sized = variant(&[(
        "\"retention.ms\" = 20000",
        "\"retention.ms\" = -1, \"retention.bytes\" = 10240",
    )]);
    let evs = events(&sized);
    let by_size = evs
        .iter()
        .filter(|e| {
            matches!(
                e,
                KafkaEvent::SegmentsDeleted {
                    reason: kafkasim::kafka::event::DeletionReason::RetentionBytes,
                    ..
                }
            )
        })
        .count();
    assert!(by_size > 0);
    let unlimited = variant(&[("\"retention.ms\" = 20000", "\"retention.ms\" = -1")]);
    assert_eq!(count(&unlimited, "segments-deleted"), 0);
}

#[test]
fn segment_bytes_decides_what_retention_can_delete() {
    // Proves segment.bytes: retention deletes whole segments only, so with Kafka's default
    // 1 GiB segment the same 20 s retention deletes nothing in a minute.
    let one_segment = variant(&[("\"segment.bytes\" = 4096", "\"segment.bytes\" = 1073741824")]);
    assert_eq!(count(&one_segment, "segments-deleted"), 0);
    assert!(count(&variant(&[]), "segments-deleted") > 0);
}

#[test]
fn auto_offset_reset_decides_what_a_consumer_below_the_log_start_skips() {
    // Proves the three auto.offset.reset policies after OFFSET_OUT_OF_RANGE below the log
    // start: earliest resets to the log start, latest to the end (the HW: it skips more).
    // (`none` is not run here: without a committed offset the consumer never starts —
    // NoOffsetForPartitionException — so it never gets below the log start.)
    for policy in ["earliest", "latest"] {
        let sc = variant(&[(
            "\"auto.offset.reset\" = \"earliest\"",
            &format!("\"auto.offset.reset\" = \"{policy}\""),
        )]);
        let evs = events(&sc);
        let i = evs
            .iter()
            .position(|e| matches!(e, KafkaEvent::FetchPositionOutOfRange { .. }))
            .unwrap_or_else(|| panic!("{policy}: no position below the log start"));
        let KafkaEvent::FetchPositionOutOfRange {
            log_start_offset,
            auto_offset_reset,
            ..
        } = &evs[i]
        else {
            unreachable!()
        };
        assert_eq!(auto_offset_reset, policy);
        let reset = evs[i..].iter().find_map(|e| match e {
            KafkaEvent::OffsetReset { offset, .. } => Some(*offset),
            _ => None,
        });
        match policy {
            "earliest" => assert_eq!(reset.unwrap(), *log_start_offset),
            "latest" => assert!(reset.unwrap() > *log_start_offset + 100),
            _ => {}
        }
    }
}

#[test]
fn a_follower_below_the_leaders_log_start_truncates_fully() {
    // Proves the follower side (ReplicaFetcherThread): a follower paused while the leader
    // deleted segments resumes below the leader's log start, deletes its log, restarts at
    // the leader's log start and rejoins the ISR.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/regressions/follower-below-log-start.toml"
    );
    let sc = kafkasim::scenario::load(std::path::Path::new(path)).unwrap();
    let evs = events(&sc);
    let cut = evs.iter().find_map(|e| match e {
        KafkaEvent::Truncated {
            reason: kafkasim::kafka::event::TruncationReason::BelowLogStart,
            to,
            from_leo,
            ..
        } => Some((*from_leo, *to)),
        _ => None,
    });
    let (from, to) = cut.expect("a full truncation");
    assert!(to > from, "restarts above its old log end: {from} -> {to}");
}
