//! The drain phase and what surrounds it: after a scenario's duration, check liveness on the
//! state the run ended in (a ping client still missing replies, a partition without a
//! leader), then heal every fault, resume paused and restart crashed nodes, let the system
//! settle, and read every partition's final log from the cluster — what the checker
//! compares the clients' history with.

use crate::check::invariants::{CheckedRun, Violation};
use crate::check::{Anomaly, AnomalyKind, Compaction, FinalLogs};
use crate::scenario::Scenario;
use crate::sim::{Duration, Fault, Status, TraceKind, World};
use crate::workload::event::NodeEvent;
use crate::workload::history::HistoryOp;
use crate::workload::kept::Piece;
use crate::workload::node::SimNode;
use std::collections::{BTreeMap, BTreeSet};

/// How long the drain phase runs after healing everything, in simulated time.
pub const DRAIN_US: u64 = 10_000_000;

/// `not-converged` anomalies for a world at the end of its liveness phase: a ping client
/// that has not received every reply, or a partition left without a leader.
pub fn liveness(world: &World<SimNode>, counters: &BTreeMap<String, u64>) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let last = world.events();
    for id in world.node_ids() {
        let SimNode::PingClient(p) = world.node(id) else {
            continue;
        };
        if p.replies < p.config.requests {
            let name = world.name(id);
            let d = format!(
                "{name} received {} of {} replies by the end of the run",
                p.replies, p.config.requests
            );
            out.push(
                Anomaly::new(AnomalyKind::NotConverged, d)
                    .event(last)
                    .node(name),
            );
        }
    }
    if let Some(&n) = counters.get("offline-partitions").filter(|n| **n > 0) {
        let d = format!("{n} partition(s) had no leader at the end of the run");
        out.push(Anomaly::new(AnomalyKind::NotConverged, d).event(last));
    }
    out
}

/// The drain phase: heal the network, resume paused and restart crashed nodes, let the
/// system settle (rounds of [`DRAIN_US`]; while work is pending, up to the longest client
/// timeout past the last progress), then read every partition's final log. `None` when the
/// world has no Kafka cluster (nothing to drain). Also returns how long the drain ran, in
/// simulated microseconds (0 without a cluster).
pub fn drain(
    world: &mut World<SimNode>,
    scenario: &Scenario,
    mut live: Option<&mut CheckedRun>,
    watch: super::report::Watch<'_>,
) -> Result<(Option<FinalLogs>, u64), Violation> {
    if scenario.cluster.is_none() {
        return Ok((None, 0));
    }
    let now = world.now();
    world.schedule_fault(now, Fault::Heal);
    let ids: Vec<_> = world.node_ids().collect();
    for id in ids {
        let name = world.name(id).to_string();
        match world.status(id) {
            Status::Down => world.schedule_fault(now, Fault::Restart(name)),
            Status::Paused => world.schedule_fault(now, Fault::Resume(name)),
            Status::Up => {}
        }
    }
    // Rounds of DRAIN_US. After a round in which consumers made progress (their history
    // grew), another round: a slow consumer is not a lost one. After a quiet round, stop —
    // unless a client still has work pending (records in the logs nobody processed, sends
    // without an outcome) and the longest client timeout has not yet passed since the last
    // progress: a request answered by nobody waits `request.timeout.ms`, a crashed member is
    // replaced after `session.timeout.ms`, and so on. Kafka would still deliver then.
    // Each round runs in slices of DRAIN_SLICE_US, and the drain ends after the first slice
    // at which nothing the checker reads can change any more ([`Settled`]).
    let longest = longest_client_timeout_us(scenario);
    let quiet_limit = longest + DRAIN_US;
    let cap = now + Duration::from_us(longest + DRAIN_US * DRAIN_MAX_ROUNDS as u64);
    let mut settled = Settled::new(world, cap);
    let mut end = now;
    let mut quiet = 0;
    'rounds: while end < cap {
        let before = world.kept().len();
        let round_end = end + Duration::from_us(DRAIN_US);
        while end < round_end {
            end += Duration::from_us(DRAIN_SLICE_US);
            match live.as_deref_mut() {
                Some(checker) => checker.run(world, end)?,
                None => {
                    world.run_until(end, u64::MAX);
                }
            }
            if settled.now(world) {
                watch(super::report::Phase::Drain, world);
                break 'rounds;
            }
        }
        watch(super::report::Phase::Drain, world);
        if progressed(world, before) {
            quiet = 0;
            continue;
        }
        quiet += DRAIN_US;
        if quiet >= quiet_limit || !pending(world) {
            break;
        }
    }
    Ok((final_logs(world), end.as_us() - now.as_us()))
}

/// A drain's simulated length as the screens print it: `0.1 s`, `12.3 s` (a drain is whole
/// slices of 100 ms).
pub fn drain_text(ms: u64) -> String {
    format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
}

/// Simulated time per drain slice: after each the drain asks whether it may stop.
pub const DRAIN_SLICE_US: u64 = 100_000;

/// At most this many drain rounds of `DRAIN_US` each beyond the longest client timeout.
pub const DRAIN_MAX_ROUNDS: u32 = 6;

/// The longest client timeout that can delay progress once faults are healed, in µs: for
/// producers `request.timeout.ms` and `delivery.timeout.ms`, for consumers
/// `request.timeout.ms`, `session.timeout.ms` and `max.poll.interval.ms` (0 without clients).
pub fn longest_client_timeout_us(s: &Scenario) -> u64 {
    let producers = s.producers.iter().filter_map(|p| p.config.effective().ok());
    let p = producers.map(|c| c.request_timeout_ms.max(c.delivery_timeout_ms));
    let consumers = s.consumers.iter().filter_map(|c| c.config.effective().ok());
    let c = consumers.map(|c| {
        let group = c.session_timeout_ms.max(c.max_poll_interval_ms);
        c.request_timeout_ms.max(group)
    });
    p.chain(c).max().unwrap_or(0).saturating_mul(1_000)
}

/// Did a consumer poll or process something since kept record `before`?
fn progressed(world: &World<SimNode>, before: usize) -> bool {
    world.kept().iter_from(before).any(|r| {
        matches!(
            &r.kind,
            TraceKind::Emit {
                event: NodeEvent::History(HistoryOp::Processed { .. } | HistoryOp::Poll { .. }),
                ..
            }
        )
    })
}

/// Whether the drain may stop: nothing the checker reads can change any more. The client
/// side is followed incrementally through the kept history (each slice reads only what
/// was kept since the last): every `send()` has its outcome, and (with consumers) every
/// record of every final log up to its end has been processed. The cluster side is read
/// from the brokers: every partition has a live leader whose high watermark is its log
/// end, no open transaction (the LSO is the high watermark), every replica live and at the
/// leader's log end (no truncation or catch-up left to come), and nothing retention or the
/// log cleaner could still delete before the drain's cap. Kafka's periodic timers
/// (heartbeats, fetches, metadata refreshes, auto-commits) keep firing after that, but no
/// longer change a log, an outcome or a processing.
struct Settled {
    /// Runs of the kept history read so far.
    seen: usize,
    /// Sends without an outcome yet.
    open_sends: Ranges,
    /// Per partition: the highest offset processed (any member).
    processed: BTreeMap<crate::kafka::TopicPartition, crate::kafka::Offset>,
    consumers: bool,
    cap_us: u64,
}

impl Settled {
    fn new(world: &World<SimNode>, cap: crate::sim::Time) -> Settled {
        let mut s = Settled {
            seen: 0,
            open_sends: Ranges::default(),
            processed: BTreeMap::new(),
            consumers: false,
            cap_us: cap.as_us(),
        };
        s.follow(world);
        s
    }

    /// Reads the history kept since the last call, a run at a time.
    fn follow(&mut self, world: &World<SimNode>) {
        let kept = world.kept();
        for piece in kept.pieces_from(self.seen) {
            match piece {
                Piece::Invoke { value, count, .. } => self.open_sends.insert(value, count),
                Piece::SendOk { value, count, .. } => self.open_sends.remove(value, count),
                Piece::Op {
                    op:
                        HistoryOp::SendFail { value, .. } | HistoryOp::SendIndeterminate { value, .. },
                    ..
                } => self.open_sends.remove(value, 1),
                Piece::Processed {
                    tp, offset, count, ..
                } => {
                    self.consumers = true;
                    let last = crate::workload::kept::offset_at(offset, count - 1);
                    let p = self.processed.entry(tp).or_insert(last);
                    *p = (*p).max(last);
                }
                Piece::Poll { .. }
                | Piece::Op {
                    op: HistoryOp::Assigned { .. },
                    ..
                } => self.consumers = true,
                _ => {}
            }
        }
        self.seen = kept.runs();
    }

    /// Whether the world is settled now (see the type).
    fn now(&mut self, world: &World<SimNode>) -> bool {
        self.follow(world);
        self.open_sends.is_empty()
            && cluster_settled(world, self.cap_us, |tp, last| {
                !self.consumers || self.processed.get(tp).is_some_and(|&p| p >= last)
            })
    }
}

/// A set of values kept as disjoint ranges `start → end` (exclusive): the sends still
/// open, inserted and removed a run at a time.
#[derive(Default)]
struct Ranges(BTreeMap<u64, u64>);

impl Ranges {
    fn insert(&mut self, value: u64, count: u32) {
        let (mut lo, mut hi) = (value, value + count as u64);
        if let Some((&s, &e)) = self.0.range(..=lo).next_back() {
            if e >= lo {
                (lo, hi) = (s, hi.max(e));
                self.0.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.0.range(lo..=hi).next() {
            hi = hi.max(e);
            self.0.remove(&s);
        }
        self.0.insert(lo, hi);
    }

    fn remove(&mut self, value: u64, count: u32) {
        let (lo, hi) = (value, value + count as u64);
        if let Some((&s, &e)) = self.0.range(..lo).next_back() {
            if e > lo {
                self.0.insert(s, lo);
                if e > hi {
                    self.0.insert(hi, e);
                    return;
                }
            }
        }
        while let Some((&s, &e)) = self.0.range(lo..hi).next() {
            self.0.remove(&s);
            if e > hi {
                self.0.insert(hi, e);
                break;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The cluster side of [`Settled`]; `processed(tp, last)` says whether the consumers have
/// processed `tp` up to `last`, its final log's last record.
fn cluster_settled(
    world: &World<SimNode>,
    cap_us: u64,
    processed: impl Fn(&crate::kafka::TopicPartition, crate::kafka::Offset) -> bool,
) -> bool {
    let Some(controller) = world
        .find("controller")
        .and_then(|c| world.node(c).as_controller())
    else {
        return false;
    };
    let log_of = |b: crate::kafka::BrokerId, tp| {
        let node = controller.image.node_of(b)?;
        if world.status(node) != Status::Up {
            return None;
        }
        world.node(node).as_broker()?.partitions.get(tp)
    };
    for (tp, p) in &controller.image.partitions {
        let Some(leader) = p.leader.and_then(|b| log_of(b, tp)) else {
            return false;
        };
        let (log, config) = (&leader.log, &leader.config);
        let leo = log.log_end_offset();
        if log.high_watermark() != leo || log.last_stable_offset() != leo {
            return false;
        }
        let retention = config.retention_ms < 0 || config.retention_ms as u64 * 1_000 > cap_us;
        if config.cleanup_policy != crate::kafka::config::CleanupPolicy::Delete
            || config.retention_bytes >= 0
            || !retention
        {
            return false;
        }
        let replicas = p.replicas.iter().map(|&b| log_of(b, tp));
        if !replicas
            .into_iter()
            .all(|r| r.is_some_and(|r| r.log.log_end_offset() == leo))
        {
            return false;
        }
        if tp.topic.starts_with("__") {
            continue;
        }
        // The last record a consumer must process: markers and aborted records are not.
        let data = log.batches().iter().rev();
        let mut data = data.filter(|b| !b.is_control && !log.txn_index().is_aborted(b));
        if let Some(last) = data.next() {
            if !processed(tp, last.last_offset()) {
                return false;
            }
        }
    }
    true
}

/// Is some client work still pending: a send without an outcome, or (with consumers) a
/// record of a final log that no member has processed? One pass over the history.
fn pending(world: &World<SimNode>) -> bool {
    let mut sends: BTreeSet<u64> = BTreeSet::new();
    let mut processed: BTreeSet<u64> = BTreeSet::new();
    let mut consumers = false;
    for r in world.kept().iter_from(0) {
        let TraceKind::Emit {
            event: NodeEvent::History(op),
            ..
        } = &r.kind
        else {
            continue;
        };
        match op {
            HistoryOp::SendInvoke { value, .. } => {
                sends.insert(*value);
            }
            HistoryOp::SendOk { value, .. }
            | HistoryOp::SendFail { value, .. }
            | HistoryOp::SendIndeterminate { value, .. } => {
                sends.remove(value);
            }
            HistoryOp::Processed { value, .. } => {
                processed.insert(*value);
            }
            HistoryOp::Assigned { .. } | HistoryOp::Poll { .. } => consumers = true,
            _ => {}
        }
    }
    if !sends.is_empty() {
        return true;
    }
    consumers
        && final_logs(world).is_some_and(|logs| {
            logs.partitions
                .values()
                .flat_map(|l| l.iter())
                .any(|(_, v)| !processed.contains(&v))
        })
}

/// What the checker needs to know of a compacted log (see [`Compaction`]).
fn compaction_facts(log: &crate::kafka::broker::log::PartitionLog) -> Compaction {
    let mut latest = BTreeMap::new();
    for b in log.batches() {
        for (i, r) in b.records.iter().enumerate() {
            if let Some(k) = &r.key {
                latest.insert(k.clone(), b.base_offset + i as i64);
            }
        }
    }
    Compaction {
        cleaned_upto: crate::kafka::broker::cleaner::first_dirty_offset(log),
        latest,
    }
}

/// Reads each partition's log, from log start to log end, from its leader (or, for a
/// partition left without a leader, from the live replica with the longest log). `None`
/// when the world has no Kafka cluster (log-based checks are then skipped).
pub fn final_logs(world: &World<SimNode>) -> Option<FinalLogs> {
    let controller = world.node(world.find("controller")?).as_controller()?;
    let mut logs = FinalLogs::default();
    for (tp, p) in &controller.image.partitions {
        if tp.topic.starts_with("__") {
            continue;
        }
        let replica_log = |b: crate::kafka::BrokerId| {
            let node = controller.image.node_of(b)?;
            if world.status(node) == Status::Down {
                return None;
            }
            world
                .node(node)
                .as_broker()?
                .partitions
                .get(tp)
                .map(|part| {
                    let compaction = (part.config.cleanup_policy
                        != crate::kafka::config::CleanupPolicy::Delete)
                        .then(|| compaction_facts(&part.log));
                    // What a read_committed reader would return: no markers, no records
                    // of aborted transactions.
                    let mut records = crate::check::LogRecords::default();
                    let batches = part.log.batches().iter();
                    let data =
                        batches.filter(|b| !b.is_control && !part.log.txn_index().is_aborted(b));
                    for b in data {
                        for (i, r) in b.records.iter().enumerate() {
                            records.push(b.base_offset + i as i64, r.value);
                        }
                    }
                    (part.log.log_start_offset(), records, compaction)
                })
        };
        let read = p.leader.and_then(replica_log).or_else(|| {
            p.replicas
                .iter()
                .filter_map(|&b| replica_log(b))
                .max_by_key(|l| l.1.len())
        });
        let (start, records, compaction) = read.unwrap_or_default();
        if let Some(c) = compaction {
            logs.compaction.insert(tp.clone(), c);
        }
        if start > crate::kafka::Offset::ZERO {
            logs.log_start.insert(tp.clone(), start);
        }
        logs.partitions.insert(tp.clone(), records);
    }
    Some(logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_send_ranges_insert_and_remove_runs_as_a_set_would() {
        // Proves the drain's range set of open sends holds exactly the values a plain set
        // would after runs are inserted and removed in any overlap (a value sent twice, an
        // outcome in the middle of a run, an outcome for nothing open).
        let ops: &[(bool, u64, u32)] = &[
            (true, 10, 5),
            (true, 20, 3),
            (true, 14, 7),
            (false, 12, 2),
            (false, 30, 4),
            (true, 40, 1),
            (false, 16, 10),
            (true, 5, 3),
            (false, 0, 6),
            (false, 40, 1),
        ];
        let (mut ranges, mut set) = (Ranges::default(), BTreeSet::new());
        for &(insert, v, n) in ops {
            if insert {
                ranges.insert(v, n);
                set.extend(v..v + n as u64);
            } else {
                ranges.remove(v, n);
                set.retain(|x| !(v..v + n as u64).contains(x));
            }
            let held: BTreeSet<u64> = ranges.0.iter().flat_map(|(&s, &e)| s..e).collect();
            assert_eq!(held, set, "after {:?}", (insert, v, n));
            assert!(ranges.0.iter().all(|(s, e)| s < e), "no empty range");
        }
        assert_eq!(set, BTreeSet::from([6, 7, 10, 11, 14, 15]));
        ranges.remove(0, 100);
        assert!(ranges.is_empty());
    }
    use crate::sim::{Time, TraceMode};

    fn scenario(processing: &str) -> Scenario {
        let text = format!(
            r#"name = "drain"
duration = "5s"
[cluster]
brokers = 3
[[topic]]
name = "t"
partitions = 2
replication_factor = 3
[[producer]]
name = "p"
topic = "t"
send = "async"
count = 2000
config = {{ acks = "all" }}
[[consumer]]
name = "c"
group = "g"
topics = ["t"]
processing = "{processing}"
config = {{ "auto.offset.reset" = "earliest" }}
"#
        );
        crate::scenario::parse(&text, "<drain>").expect("a valid scenario")
    }

    /// Simulated µs the drain ran and the check's `lost-processing` + `not-converged`.
    fn drain_us(s: &Scenario) -> (u64, usize) {
        let mut w = crate::scenario::build::build(s, 1, TraceMode::Off).expect("builds");
        let end = w.run_until(Time(s.duration_us), u64::MAX);
        let summary = crate::runner::summarize(s, &w, end);
        let report = crate::runner::check_world(s, &mut w, summary, None);
        let open = report.anomalies.iter().filter(|a| {
            matches!(
                a.kind,
                AnomalyKind::LostProcessing | AnomalyKind::NotConverged
            )
        });
        let us = w.now().as_us() - s.duration_us;
        // The report says how long the drain ran (what `run` and the workbench print).
        assert_eq!(report.drain_ms, Some(us / 1000));
        (us, open.count())
    }

    #[test]
    fn the_drain_stops_at_the_first_slice_after_everything_settled() {
        // Proves a run whose records are all acknowledged, replicated and processed when it
        // ends is drained for one slice, not a 10 s round.
        let (us, open) = drain_us(&scenario("0ms"));
        assert_eq!((us, open), (DRAIN_SLICE_US, 0));
    }

    #[test]
    fn a_drain_reads_in_seconds_with_one_decimal() {
        // Proves the drain's length prints as the screens show it (whole 100 ms slices).
        assert_eq!(drain_text(100), "0.1 s");
        assert_eq!(drain_text(12_300), "12.3 s");
        assert_eq!(drain_text(60_000), "60.0 s");
    }

    #[test]
    fn the_drain_goes_on_while_consumers_are_behind() {
        // Proves a consumer still working through its backlog (2,000 records at 20 ms
        // each: 40 s) keeps the drain going in rounds, past the first 10 s.
        let (us, _) = drain_us(&scenario("20ms"));
        assert!(us >= DRAIN_US, "drained only {us} µs");
    }
}
