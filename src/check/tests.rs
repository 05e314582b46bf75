//! Hand-written histories, one per anomaly kind, with the negative cases that keep the
//! checker honest.

use std::sync::Arc;

use super::*;
use crate::kafka::{ErrorCode, Topic, TopicPartition};
use crate::workload::history::HistoryOp;

fn tp(p: u32) -> TopicPartition {
    TopicPartition::new("orders", p)
}

fn invoke(v: u64) -> HistoryOp {
    HistoryOp::SendInvoke {
        value: v,
        topic: Topic::new("orders"),
        key: None,
        tombstone: Default::default(),
    }
}

fn ok(v: u64, p: u32, offset: i64) -> HistoryOp {
    HistoryOp::SendOk {
        value: v,
        tp: tp(p),
        offset: Offset(offset),
    }
}

fn poll(generation: i32, records: &[(u32, i64, u64)]) -> HistoryOp {
    HistoryOp::Poll {
        member: Arc::from("m"),
        generation,
        records: records
            .iter()
            .map(|&(p, o, v)| (tp(p), Offset(o), v))
            .collect(),
    }
}

fn assigned(generation: i32) -> HistoryOp {
    HistoryOp::Assigned {
        member: Arc::from("m"),
        generation,
        partitions: vec![tp(0), tp(1)].into(),
    }
}

fn commit(p: u32, next: i64) -> HistoryOp {
    HistoryOp::CommitOk {
        offsets: vec![(tp(p), Offset(next))],
    }
}

fn processed(p: u32, offset: i64, v: u64) -> HistoryOp {
    HistoryOp::Processed {
        tp: tp(p),
        offset: Offset(offset),
        value: v,
    }
}

/// A producer `p` that sent and had acknowledged values 1..=n at offsets 0..n of orders-0.
fn produced(n: u64) -> History {
    let mut h = History::default();
    for v in 1..=n {
        h.push("p", invoke(v));
        h.push("p", ok(v, 0, v as i64 - 1));
    }
    h
}

fn log(records: &[(i64, u64)]) -> FinalLogs {
    let records: Vec<(Offset, u64)> = records.iter().map(|&(o, v)| (Offset(o), v)).collect();
    FinalLogs::default().with(tp(0), &records)
}

fn kinds(a: &[Anomaly]) -> Vec<&'static str> {
    a.iter().map(|a| a.kind.as_str()).collect()
}

/// Only the consumer-order kinds (these tests do not model processing).
fn poll_kinds(a: &[Anomaly]) -> Vec<&'static str> {
    let order = [AnomalyKind::PollSkip, AnomalyKind::NonmonotonicPoll];
    a.iter()
        .filter(|a| order.contains(&a.kind))
        .map(|a| a.kind.as_str())
        .collect()
}

#[test]
fn clean_history_has_no_anomalies() {
    // Proves a produce-consume-process run with everything in place reports nothing.
    let mut h = produced(3);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1), (0, 1, 2), (0, 2, 3)]));
    for (o, v) in [(0, 1), (1, 2), (2, 3)] {
        h.push("c", processed(0, o, v));
    }
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2), (2, 3)])));
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn acknowledged_write_missing_from_final_log_is_lost() {
    // Proves lost-write names the value, its acknowledged position and the ack event.
    let h = produced(2);
    let a = analyze(&h, Some(&log(&[(0, 1)])));
    assert_eq!(kinds(&a), ["lost-write"]);
    assert_eq!(a[0].records, [RecordRef::new(&tp(0), Offset(1), 2)]);
    assert_eq!(a[0].events, [4]);
    assert_eq!(a[0].nodes, ["p"]);
}

#[test]
fn records_deleted_by_retention_are_not_lost_but_unread_ones_are_unseen() {
    // Proves the retention rule: acknowledged values below the final log's log start
    // offset are not lost writes (retention deleted them by design); one a consumer read is
    // no anomaly at all, one no consumer read is `unseen`, saying retention deleted it
    // (whatever was committed: it can never be read now); a value missing at or above the
    // log start is still a lost write.
    let h = {
        let mut h = produced(4);
        h.push("c", assigned(1));
        h.push("c", poll(1, &[(0, 0, 1)]));
        h
    };
    let logs = log(&[(3, 4)]).with_log_start(tp(0), Offset(2));
    let a = analyze(&h, Some(&logs));
    let lost: Vec<_> = a
        .iter()
        .filter(|a| a.kind == AnomalyKind::LostWrite)
        .collect();
    assert_eq!(lost.len(), 1, "{a:?}");
    assert_eq!(lost[0].records, [RecordRef::new(&tp(0), Offset(2), 3)]);
    let unseen: Vec<_> = a.iter().filter(|a| a.kind == AnomalyKind::Unseen).collect();
    // value 2: deleted and unread; value 4, in the log and never polled with nothing
    // committed past it, is not yet reached (not-converged), not unseen
    assert_eq!(unseen.len(), 1, "{a:?}");
    assert!(
        unseen[0].description.contains("deleted by retention"),
        "{a:?}"
    );
    let waiting: Vec<_> = a
        .iter()
        .filter(|a| a.kind == AnomalyKind::NotConverged)
        .collect();
    assert_eq!(waiting.len(), 1, "{a:?}");
    assert_eq!(waiting[0].records, [RecordRef::new(&tp(0), Offset(3), 4)]);
}

#[test]
fn indeterminate_or_failed_sends_are_not_lost_writes() {
    // Proves an absent indeterminate send and a present failed send are both fine.
    let mut h = History::default();
    h.push("p", invoke(1));
    h.push(
        "p",
        HistoryOp::SendIndeterminate {
            value: 1,
            reason: "timeout".into(),
        },
    );
    h.push("p", invoke(2));
    h.push(
        "p",
        HistoryOp::SendFail {
            value: 2,
            error: ErrorCode::RequestTimedOut,
        },
    );
    assert!(analyze(&h, Some(&log(&[(0, 2)]))).is_empty());
}

#[test]
fn without_final_logs_lost_write_is_not_judged() {
    // Proves a history checked without a drain never claims a lost write.
    assert!(analyze(&produced(2), None).is_empty());
}

#[test]
fn acknowledged_stored_but_never_polled_is_unseen() {
    // Proves unseen applies once a consumer exists and its group committed past the value,
    // and not to values it read.
    let mut h = produced(2);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1)]));
    h.push("c", processed(0, 0, 1));
    h.push("c", commit(0, 2));
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2)])));
    assert_eq!(kinds(&a), ["unseen", "lost-processing"]);
    assert_eq!(a[0].records, [RecordRef::new(&tp(0), Offset(1), 2)]);
}

#[test]
fn a_value_at_two_offsets_is_a_duplicate() {
    // Proves a retried send stored twice is one duplicate naming both offsets.
    let h = produced(1);
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 1)])));
    assert_eq!(kinds(&a), ["duplicate"]);
    assert_eq!(a[0].records.len(), 2);
    assert_eq!(a[0].cause, Some("retry"));
}

#[test]
fn duplicates_are_classified_by_cause() {
    // Proves a value the application sent again after a crash (a new producer) is a
    // `restart` duplicate and one send stored twice is a `retry`, each counted apart.
    let mut h = produced(2);
    h.push("p", HistoryOp::Crashed);
    h.push("p", invoke(1));
    h.push("p", ok(1, 0, 2));
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2), (2, 1), (3, 2)])));
    assert_eq!(kinds(&a), ["duplicate", "duplicate"]);
    assert_eq!(a[0].cause, Some("restart"));
    assert!(a[0].description.contains("after a restart"));
    assert_eq!(a[1].cause, Some("retry"));
    let by_cause = duplicate_causes(&a);
    assert_eq!(by_cause["duplicate-restart"], 1);
    assert_eq!(by_cause["duplicate-retry"], 1);
}

#[test]
fn a_value_read_at_an_offset_then_stored_elsewhere_is_a_duplicate() {
    // Proves positions seen by polls count, not only the final log.
    let mut h = produced(1);
    h.push("c", poll(1, &[(0, 5, 1)]));
    h.push("c", processed(0, 5, 1));
    let a = analyze(&h, Some(&log(&[(0, 1)])));
    assert!(kinds(&a).contains(&"duplicate"), "{a:?}");
    assert!(a
        .iter()
        .find(|a| a.kind == AnomalyKind::Duplicate)
        .unwrap()
        .events
        .contains(&3));
}

#[test]
fn two_values_at_one_offset_are_inconsistent() {
    // Proves a consumer that read value 9 at offset 0 while the final log holds 1 there
    // is inconsistent-offsets (what unclean elections and truncations produce).
    let mut h = produced(1);
    h.push("c", invoke(9));
    h.push("c", poll(1, &[(0, 0, 9)]));
    let a = analyze(&h, Some(&log(&[(0, 1)])));
    let inc = a
        .iter()
        .find(|a| a.kind == AnomalyKind::InconsistentOffsets)
        .expect("found");
    assert_eq!(
        inc.records,
        [
            RecordRef::new(&tp(0), Offset::ZERO, 1),
            RecordRef::new(&tp(0), Offset::ZERO, 9)
        ]
    );
    assert_eq!(inc.events, [4]);
}

#[test]
fn jumping_over_a_stored_record_is_a_poll_skip() {
    // Proves poll-skip names the skipped record and both polls' events.
    let mut h = produced(3);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1)]));
    h.push("c", poll(1, &[(0, 2, 3)]));
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2), (2, 3)])));
    let skip = a
        .iter()
        .find(|a| a.kind == AnomalyKind::PollSkip)
        .expect("found");
    assert!(skip.records.contains(&RecordRef::new(&tp(0), Offset(1), 2)));
    assert_eq!(skip.events, [8, 9]);
}

#[test]
fn offset_gaps_with_no_record_are_not_skips() {
    // Proves a jump over offsets that never held a record (markers, compaction) is fine.
    let mut h = History::default();
    h.push("p", ok(1, 0, 0));
    h.push("p", ok(2, 0, 5));
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1), (0, 5, 2)]));
    let a = analyze(&h, Some(&log(&[(0, 1), (5, 2)])));
    assert!(!kinds(&a).contains(&"poll-skip"), "{a:?}");
}

#[test]
fn going_back_within_an_assignment_is_nonmonotonic_poll() {
    // Proves reading an earlier (or the same) offset again in one assignment is flagged.
    let mut h = produced(2);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1), (0, 1, 2)]));
    h.push("c", poll(1, &[(0, 0, 1)]));
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2)])));
    assert_eq!(poll_kinds(&a), ["nonmonotonic-poll"]);
}

#[test]
fn rereading_after_a_rebalance_is_not_nonmonotonic() {
    // Proves a new assignment (Assigned, or a poll of a new generation) starts afresh.
    let mut h = produced(2);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1), (0, 1, 2)]));
    h.push("c", assigned(2));
    h.push("c", poll(2, &[(0, 0, 1)]));
    h.push("c", poll(3, &[(0, 0, 1), (0, 1, 2)]));
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2)])));
    assert!(poll_kinds(&a).is_empty(), "{a:?}");
}

#[test]
fn rereading_after_a_crash_is_not_nonmonotonic() {
    // Proves a consumer that crashed and came back starts a new assignment.
    let mut h = produced(1);
    h.push("c", poll(1, &[(0, 0, 1)]));
    h.push("c", HistoryOp::Crashed);
    h.push("c", poll(1, &[(0, 0, 1)]));
    assert!(poll_kinds(&analyze(&h, Some(&log(&[(0, 1)])))).is_empty());
}

#[test]
fn acknowledged_offsets_going_back_are_nonmonotonic_send() {
    // Proves two sends acknowledged in reverse log order (D1b reordering) are flagged.
    let mut h = History::default();
    h.push("p", invoke(1));
    h.push("p", invoke(2));
    h.push("p", ok(2, 0, 0));
    h.push("p", ok(1, 0, 1));
    let a = analyze(&h, Some(&log(&[(0, 2), (1, 1)])));
    assert_eq!(kinds(&a), ["nonmonotonic-send"]);
    assert_eq!(a[0].events, [3, 4]);
}

#[test]
fn sends_to_different_partitions_or_producers_are_independent() {
    // Proves ordering is per producer and per partition, and restarts a new session.
    let mut h = History::default();
    h.push("p", invoke(1));
    h.push("p", invoke(2));
    h.push("q", invoke(3));
    h.push("p", ok(1, 0, 5));
    h.push("p", ok(2, 1, 0));
    h.push("q", ok(3, 0, 1));
    h.push("p", HistoryOp::Crashed);
    h.push("p", invoke(4));
    h.push("p", ok(4, 0, 2));
    assert!(!kinds(&analyze(&h, None)).contains(&"nonmonotonic-send"));
}

#[test]
fn a_stored_record_nobody_processed_is_lost_processing() {
    // Proves commit-before-processing loss: read, committed past, never processed, nobody
    // else did.
    let mut h = produced(2);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1), (0, 1, 2)]));
    h.push("c", commit(0, 2));
    h.push("c", processed(0, 0, 1));
    let a = analyze(&h, Some(&log(&[(0, 1), (1, 2)])));
    assert_eq!(kinds(&a), ["lost-processing"]);
    assert_eq!(a[0].records, [RecordRef::new(&tp(0), Offset(1), 2)]);
    assert_eq!(a[0].events, [6]);
}

#[test]
fn unprocessed_records_no_group_moved_past_are_not_converged_not_lost() {
    // Proves the rule that keeps the verdicts consistent: records at or above every commit
    // (here: polled but unprocessed, and never polled) are one `not-converged` for their
    // partition, never `lost-processing` or `unseen`; below a commit they are loss.
    let mut h = produced(4);
    h.push("c", assigned(1));
    h.push("c", poll(1, &[(0, 0, 1), (0, 1, 2)]));
    h.push("c", processed(0, 0, 1));
    h.push("c", commit(0, 1));
    let logs = log(&[(0, 1), (1, 2), (2, 3), (3, 4)]);
    let a = analyze(&h, Some(&logs));
    assert_eq!(kinds(&a), ["not-converged"]);
    assert!(a[0]
        .description
        .starts_with("3 record(s) of orders-0 from offset 1"));
    assert!(a[0].description.contains("highest committed offset is 1"));
    // Once the group commits past offsets 1 and 2 without processing them, that is loss.
    h.push("c", commit(0, 3));
    let a = analyze(&h, Some(&logs));
    let expected = [
        "unseen",
        "lost-processing",
        "lost-processing",
        "not-converged",
    ];
    assert_eq!(kinds(&a), expected);
    assert_eq!(a[0].records, [RecordRef::new(&tp(0), Offset(2), 3)]);
    assert!(a[3]
        .description
        .starts_with("1 record(s) of orders-0 from offset 3"));
}

#[test]
fn processing_twice_is_reprocessed() {
    // Proves a record processed by two members (after a rebalance) is reprocessed, naming
    // both members and both events.
    let mut h = produced(1);
    h.push("c1", poll(1, &[(0, 0, 1)]));
    h.push("c1", processed(0, 0, 1));
    h.push("c2", poll(2, &[(0, 0, 1)]));
    h.push("c2", processed(0, 0, 1));
    let a = analyze(&h, Some(&log(&[(0, 1)])));
    assert_eq!(kinds(&a), ["reprocessed"]);
    assert_eq!(a[0].nodes, ["c1", "c2"]);
    assert_eq!(a[0].events, [4, 6]);
}

#[test]
fn no_consumers_means_no_consumer_anomalies() {
    // Proves a producer-only scenario is not charged with unseen or lost-processing.
    let a = analyze(&produced(3), Some(&log(&[(0, 1), (1, 2), (2, 3)])));
    assert!(a.is_empty());
}

#[test]
fn anomaly_names_round_trip() {
    // Proves every kind parses back from its name and every name is an [expect] key.
    for k in AnomalyKind::ALL {
        assert_eq!(AnomalyKind::parse(k.as_str()), Some(*k));
        assert!(
            crate::scenario::EXPECT_KEYS
                .iter()
                .any(|(n, _)| n == &k.as_str()),
            "{k}"
        );
    }
}

/// Values 1..=n sent with `keys[i]` (a `!` suffix: a tombstone) and acknowledged at
/// offsets 0..n of partition 0.
fn keyed(keys: &[&str]) -> History {
    let mut h = History::default();
    for (i, k) in keys.iter().enumerate() {
        let v = i as u64 + 1;
        h.push(
            "p",
            HistoryOp::SendInvoke {
                value: v,
                topic: Topic::new("orders"),
                key: Some(Arc::from(k.trim_end_matches('!'))),
                tombstone: crate::workload::history::NullValue(k.ends_with('!')),
            },
        );
        h.push("p", ok(v, 0, i as i64));
    }
    h
}

fn compaction(upto: i64, latest: &[(&str, i64)]) -> Compaction {
    Compaction {
        cleaned_upto: Offset(upto),
        latest: latest
            .iter()
            .map(|&(k, o)| (Arc::from(k), Offset(o)))
            .collect(),
    }
}

#[test]
fn records_the_cleaner_removed_are_compacted_not_lost_and_real_losses_still_are() {
    // Proves the compaction rule: a record superseded by a later record of its key, or
    // deleted with its key by a tombstone that is gone too, is `compacted`, not lost, and a
    // consumer's jump over it is no poll-skip; but a missing record whose offset another
    // value holds (a truncation) or that sits at or above the first dirty offset is a
    // lost write, in a compacted topic too.
    // offsets: 0 a, 1 b, 2 a, 3 c! (a tombstone of c), 4 d, 5 b
    let h = {
        let mut h = keyed(&["a", "b", "a", "c!", "d", "b"]);
        h.push("c", assigned(1));
        h.push("c", poll(1, &[(0, 2, 3), (0, 4, 5), (0, 5, 6)]));
        h
    };
    // Final log: a@2, d@4, b@5; a@0, b@1 superseded; the tombstone c!@3 removed.
    let logs = log(&[(2, 3), (4, 5), (5, 6)])
        .with_compaction(tp(0), compaction(5, &[("a", 2), ("d", 4), ("b", 5)]));
    let a = analyze(&h, Some(&logs));
    let a: Vec<_> = a
        .into_iter()
        .filter(|a| a.kind != AnomalyKind::NotConverged)
        .collect();
    assert_eq!(
        kinds(&a),
        Vec::<&str>::new(),
        "no lost-write, no poll-skip: {a:?}"
    );
    assert_eq!(compacted(&h, Some(&logs)), 3, "a@0, b@1, c!@3");
    // The same history where the cleaner had only reached offset 1: b@1 and c!@3 are lost.
    let early = log(&[(2, 3), (4, 5), (5, 6)])
        .with_compaction(tp(0), compaction(1, &[("a", 2), ("d", 4), ("b", 5)]));
    let a = analyze(&h, Some(&early));
    let lost: Vec<_> = a
        .iter()
        .filter(|a| a.kind == AnomalyKind::LostWrite)
        .flat_map(|a| a.records.clone())
        .collect();
    assert_eq!(
        lost,
        [
            RecordRef::new(&tp(0), Offset(1), 2),
            RecordRef::new(&tp(0), Offset(3), 4)
        ]
    );
    assert_eq!(compacted(&h, Some(&early)), 1);
    // An acks=1 loss: offset 0's record replaced by another value after a truncation.
    let h = keyed(&["a", "a"]);
    let truncated = log(&[(0, 99), (1, 2)]).with_compaction(tp(0), compaction(2, &[("a", 1)]));
    let a = analyze(&h, Some(&truncated));
    assert_eq!(
        a.iter()
            .filter(|a| a.kind == AnomalyKind::LostWrite)
            .count(),
        1,
        "{a:?}"
    );
    assert_eq!(compacted(&h, Some(&truncated)), 0);
    // A reused offset whose later record was compacted too: offset 0 acknowledged for
    // value 1, truncated away, acknowledged again for value 2, which a later `a` (value 3
    // at offset 1) superseded. Value 1 is lost, value 2 compacted.
    let mut h = History::default();
    for (v, o) in [(1, 0), (2, 0), (3, 1)] {
        h.push(
            "p",
            HistoryOp::SendInvoke {
                value: v,
                topic: Topic::new("orders"),
                key: Some(Arc::from("a")),
                tombstone: Default::default(),
            },
        );
        h.push("p", ok(v, 0, o));
    }
    let logs = log(&[(1, 3)]).with_compaction(tp(0), compaction(1, &[("a", 1)]));
    let lost: Vec<_> = analyze(&h, Some(&logs))
        .into_iter()
        .filter(|a| a.kind == AnomalyKind::LostWrite)
        .flat_map(|a| a.records)
        .collect();
    assert_eq!(lost, [RecordRef::new(&tp(0), Offset(0), 1)]);
    assert_eq!(compacted(&h, Some(&logs)), 1);
}

#[test]
fn the_flat_index_keeps_every_observation_of_an_offset_in_order() {
    // Proves the index's slot + side maps give back what the maps they replaced held: the
    // values seen at an offset ascending, each with its poll events in order and 0 for the
    // final log, a value's final positions, and a record processed twice by two members.
    let mut h = History::default();
    h.push("p", invoke(10))
        .push("p", ok(10, 0, 0))
        .push("p", invoke(11));
    h.push("p", ok(11, 0, 1));
    h.push("a", poll(1, &[(0, 0, 10), (0, 1, 11)])); // event 5
    h.push("a", processed(0, 0, 10));
    h.push("b", poll(2, &[(0, 0, 10), (0, 1, 12)])); // event 7: 12 where 11 was read
    h.push("b", processed(0, 0, 10));
    let logs =
        FinalLogs::default().with(tp(0), &[(Offset(0), 10), (Offset(1), 12), (Offset(2), 11)]);
    let ix = index::Index::build(&h, Some(&logs));
    assert_eq!(ix.values_at(&tp(0), Offset(0)), vec![(10, vec![5, 7, 0])]);
    assert_eq!(
        ix.values_at(&tp(0), Offset(1)),
        vec![(11, vec![5]), (12, vec![7, 0])]
    );
    assert_eq!(ix.stored(11), vec![(tp(0), Offset(2))]);
    assert_eq!(ix.stored(10), vec![(tp(0), Offset(0))]);
    assert_eq!(ix.value_at(&tp(0), Offset(1)), Some(11));
    assert_eq!(ix.conflicts().count(), 1);
    let twice = ix.reprocessings();
    assert_eq!(twice.len(), 1);
    let who: Vec<(u64, &str)> = twice[0].1.iter().map(|(e, n)| (*e, &**n)).collect();
    assert_eq!(who, vec![(6, "a"), (8, "b")]);
    let multi = ix.multi_positions();
    assert_eq!(
        multi,
        vec![(11, vec![(tp(0), Offset(1)), (tp(0), Offset(2))])]
    );
}

#[test]
fn the_index_rows_stay_small() {
    // Proves the per-value row and per-offset slot keep the sizes the memory figures in
    // docs/performance.md were measured with.
    assert_eq!(index::row_sizes(), (48, 32));
}

/// `n` invokes from value `from` in event `event`, by node "p": one run.
fn invokes_in(h: &mut History, event: u64, from: u64, n: u64) {
    for v in from..from + n {
        h.push_in(event, "p", invoke(v));
    }
}

/// Acknowledgements of values `from..from + n` at offsets `offset..` of orders-0 in event
/// `event`: one run.
fn acks_in(h: &mut History, event: u64, from: u64, n: u64, offset: i64) {
    for k in 0..n {
        h.push_in(event, "p", ok(from + k, 0, offset + k as i64));
    }
}

#[test]
fn runs_that_meet_out_of_order_are_found_where_they_meet() {
    // Proves the run-level passes find order anomalies at the boundary between runs, and
    // only there: values 1..=10 sent in one event; 1..=5 acknowledged at offsets 10..15,
    // then 6..=10 at 0..5 (a nonmonotonic send at 5 → 6); one reader polls offsets 0..5,
    // then 11..=12 (skipping 10, acknowledged; nothing is known at 5..=9), then 3 again
    // (going back).
    let mut h = History::default();
    invokes_in(&mut h, 1, 1, 10);
    acks_in(&mut h, 2, 1, 5, 10);
    acks_in(&mut h, 3, 6, 5, 0);
    h.push_in(4, "c", assigned(1));
    let first: Vec<(u32, i64, u64)> = (0..5).map(|o| (0, o, 6 + o as u64)).collect();
    h.push_in(5, "c", poll(1, &first));
    h.push_in(6, "c", poll(1, &[(0, 11, 2), (0, 12, 3)]));
    h.push_in(7, "c", poll(1, &[(0, 3, 9)]));
    assert!(h.pieces().count() < h.len(), "the history is read in runs");
    let a = analyze(&h, None);
    let send: Vec<&Anomaly> = a
        .iter()
        .filter(|a| a.kind == AnomalyKind::NonmonotonicSend)
        .collect();
    assert_eq!(send.len(), 1, "{a:?}");
    assert_eq!(
        send[0].description,
        "p sent 5 before 6, but 5 was acknowledged at orders-0 offset 14 and 6 at offset 0"
    );
    assert_eq!(poll_kinds(&a), ["poll-skip", "nonmonotonic-poll"]);
    let skip = a.iter().find(|a| a.kind == AnomalyKind::PollSkip).unwrap();
    assert!(
        skip.description.contains("skipping 1 record(s) at 10"),
        "{}",
        skip.description
    );
}

#[test]
fn values_in_runs_with_gaps_and_outcome_only_sends_keep_their_rows() {
    // Proves a value's row is found across runs with gaps between their values, and that a
    // send known only by its outcome joins the rows in value order: values 1..=5 and
    // 10..=12 sent and acknowledged at offsets 0..8; value 7 acknowledged without an
    // invoke at offset 8; the final log holds all but 11 and 7.
    let mut h = History::default();
    invokes_in(&mut h, 1, 1, 5);
    invokes_in(&mut h, 1, 10, 3);
    acks_in(&mut h, 2, 1, 5, 0);
    acks_in(&mut h, 2, 10, 3, 5);
    h.push_in(3, "q", ok(7, 0, 8));
    let logs = log(&[(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 10), (7, 12)]);
    let a = analyze(&h, Some(&logs));
    let lost: Vec<u64> = a
        .iter()
        .filter(|a| a.kind == AnomalyKind::LostWrite)
        .map(|a| a.records[0].value)
        .collect();
    assert_eq!(lost, [11, 7], "in the order of their acknowledgements");
    let (_, counts) = analyze_counted(&h, Some(&logs));
    assert_eq!(counts.get("acked"), Some(&9));
}
