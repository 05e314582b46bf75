//! The drain phase and what surrounds it: after a scenario's duration, check liveness on the
//! state the run ended in (a ping client still missing replies, a partition without a
//! leader), then heal every fault, resume paused and restart crashed nodes, let the system
//! settle, and read every partition's final log from the cluster — what the checker
//! compares the clients' history with.

use crate::check::invariants::{CheckedRun, Violation};
use crate::check::{Anomaly, AnomalyKind, FinalLogs};
use crate::scenario::Scenario;
use crate::sim::{Duration, Fault, Status, World};
use crate::workload::history::HistoryOp;
use crate::workload::node::SimNode;
use std::collections::BTreeMap;

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
/// system settle for [`DRAIN_US`], then read every partition's final log. `None` when the
/// world has no Kafka cluster (nothing to drain).
pub fn drain(
    world: &mut World<SimNode>,
    scenario: &Scenario,
    mut live: Option<&mut CheckedRun>,
) -> Result<Option<FinalLogs>, Violation> {
    if scenario.cluster.is_none() {
        return Ok(None);
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
    // Run DRAIN_US; then, while consumers are still processing (their history grows),
    // give them more time, up to DRAIN_MAX_ROUNDS rounds: a slow consumer is not a lost one.
    let mut end = now;
    for _ in 0..DRAIN_MAX_ROUNDS {
        let before = world.kept().len();
        end += Duration::from_us(DRAIN_US);
        match live.as_deref_mut() {
            Some(checker) => checker.run(world, end)?,
            None => {
                world.run_until(end, u64::MAX);
            }
        }
        let processed_more = world.kept().iter_from(before).any(|r| {
            matches!(
                &r.kind,
                crate::sim::TraceKind::Emit {
                    event: crate::workload::event::NodeEvent::History(
                        HistoryOp::Processed { .. } | HistoryOp::Poll { .. }
                    ),
                    ..
                }
            )
        });
        if !processed_more {
            break;
        }
    }
    Ok(final_logs(world))
}

/// At most this many drain rounds of `DRAIN_US` each.
pub const DRAIN_MAX_ROUNDS: u32 = 6;

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
                    let records = part
                        .log
                        .batches()
                        .iter()
                        .flat_map(|b| {
                            b.records
                                .iter()
                                .enumerate()
                                .map(move |(i, r)| (b.base_offset + i as i64, r.value))
                        })
                        .collect::<Vec<_>>();
                    (part.log.log_start_offset(), records)
                })
        };
        let read = p.leader.and_then(replica_log).or_else(|| {
            p.replicas
                .iter()
                .filter_map(|&b| replica_log(b))
                .max_by_key(|l| l.1.len())
        });
        let (start, records) = read.unwrap_or_default();
        if start > crate::kafka::Offset::ZERO {
            logs.log_start.insert(tp.clone(), start);
        }
        logs.partitions.insert(tp.clone(), records);
    }
    Some(logs)
}
