//! Scenario applications → world nodes: `[[producer]]` (node named after it),
//! `[[consumer]]` (`NAME-1`..`NAME-N`), `[[rpc]]` (`NAME-caller`, `NAME-callee`), with the
//! names docs/scenario-format.md documents so fault targets resolve.

use std::sync::Arc;

use super::spec::{self, CommitMode, Keys, Scenario};
use super::units::{DurationRange, Rate};
use crate::sim::{Duration, NodeId, Time, World};
use crate::workload::consumer_app::{
    CommitStrategy, ConsumerApp, ConsumerAppConfig, ProcessingTime,
};
use crate::workload::consumer_txn::PipelineConfig;
use crate::workload::node::SimNode;
use crate::workload::producer_app::{
    KeyDistribution, ProducerApp, ProducerAppConfig, SendMode, SendRate,
};
use crate::workload::producer_txn::TxnPlan;
use crate::workload::rpc::{RpcCallee, RpcCaller, RpcCallerConfig};

/// Adds every producer, consumer and rpc pair of `scenario`; `bootstrap` = the brokers.
pub fn add_apps(world: &mut World<SimNode>, scenario: &Scenario, bootstrap: &[NodeId]) {
    // Applications stop at the scenario's end, so the checker's drain phase reads a log
    // that no longer grows.
    let end = Time(scenario.duration_us);
    for (i, p) in scenario.producers.iter().enumerate() {
        add_producer(world, p, i as u32 + 1, bootstrap, end);
    }
    for c in &scenario.consumers {
        add_consumers(world, c, bootstrap);
    }
    for r in &scenario.rpcs {
        add_rpc(world, r, end);
    }
}

fn rate(r: Rate) -> SendRate {
    SendRate {
        count: r.count,
        per_us: r.per_us,
    }
}

fn add_producer(
    world: &mut World<SimNode>,
    p: &spec::Producer,
    index: u32,
    bootstrap: &[NodeId],
    end: Time,
) {
    let mut cfg = ProducerAppConfig::new(index, &p.topic, bootstrap.to_vec());
    cfg.client = p.config.clone();
    cfg.mode = match p.send {
        spec::SendMode::Sync => SendMode::Sync,
        spec::SendMode::Async => SendMode::Async,
        spec::SendMode::FireAndForget => SendMode::FireAndForget,
    };
    cfg.count = p.count;
    cfg.rate = p.rate.map(rate);
    cfg.start = Time(p.start_us);
    cfg.stop = Some(p.stop_us.map_or(end, Time).min(end));
    cfg.keys = match &p.keys {
        Keys::None => KeyDistribution::None,
        Keys::Uniform(n) => KeyDistribution::Uniform((*n).min(u32::MAX as u64) as u32),
        Keys::Skewed(n) => KeyDistribution::Skewed((*n).min(u32::MAX as u64) as u32),
        Keys::Fixed(k) => KeyDistribution::Fixed(Arc::from(k.as_str())),
    };
    cfg.value_bytes = p.value_bytes;
    if p.config.transactional_id.is_some() {
        let abort = p.abort.map_or((0, 1), |r| {
            let den = r.den.clamp(1, u32::MAX as u64);
            (r.num.min(den) as u32, den as u32)
        });
        cfg.txn = Some(TxnPlan {
            records: p.transaction_records.unwrap_or(10),
            abort,
        });
    }
    cfg.tombstones = (p.tombstones.num, p.tombstones.den);
    world.add_node(
        &p.name,
        SimNode::Producer(ProducerApp::new(cfg)),
        Time::ZERO,
    );
}

fn processing(d: DurationRange) -> ProcessingTime {
    if d.min_us == d.max_us {
        ProcessingTime::Fixed(Duration::from_us(d.min_us))
    } else {
        ProcessingTime::Uniform(Duration::from_us(d.min_us), Duration::from_us(d.max_us))
    }
}

fn add_consumers(world: &mut World<SimNode>, c: &spec::Consumer, bootstrap: &[NodeId]) {
    let several = c.instances > 1;
    for (i, name) in c.instance_names().into_iter().enumerate() {
        let mut client = c.config.clone();
        client.group_id = Some(c.group.clone());
        if let (Some(id), true) = (&client.group_instance_id, several) {
            client.group_instance_id = Some(format!("{id}-{}", i + 1));
        }
        let cfg = ConsumerAppConfig {
            name: Arc::from(name.as_str()),
            topics: c.topics.iter().map(|t| Arc::from(t.as_str())).collect(),
            bootstrap: bootstrap.to_vec(),
            client,
            processing: processing(c.processing),
            commit: match c.commit {
                CommitMode::BeforeProcessing => CommitStrategy::BeforeProcessing,
                CommitMode::AfterProcessing => CommitStrategy::AfterProcessing,
                CommitMode::Auto => CommitStrategy::Auto,
                CommitMode::Async => CommitStrategy::Async,
                CommitMode::Transaction => CommitStrategy::Transaction,
            },
            worker: c.worker,
            pipeline: c.pipeline.as_ref().map(|(output, producer)| {
                let mut producer = producer.clone();
                // One transactional.id per instance (KIP-447 lets it be static).
                if several {
                    let id = producer.transactional_id.clone().unwrap_or_default();
                    producer.transactional_id = Some(format!("{id}-{}", i + 1));
                }
                Box::new(PipelineConfig {
                    output: crate::kafka::types::Topic::new(output),
                    producer,
                })
            }),
        };
        world.add_node(
            &name,
            SimNode::Consumer(ConsumerApp::new(cfg)),
            Time(c.start_us),
        );
    }
}

fn add_rpc(world: &mut World<SimNode>, r: &spec::Rpc, end: Time) {
    let d = r.processing;
    let callee = RpcCallee::with_range(Duration::from_us(d.min_us), Duration::from_us(d.max_us));
    let callee = world.add_node(
        &format!("{}-callee", r.name),
        SimNode::RpcCallee(callee),
        Time::ZERO,
    );
    let caller = RpcCaller::new(RpcCallerConfig {
        callee,
        rate: r.rate.map(rate),
        count: r.count,
        timeout: Duration::from_us(r.timeout_us),
        retries: r.retries,
        blocking: true,
        start: Time::ZERO,
        stop: Some(end),
    });
    world.add_node(
        &format!("{}-caller", r.name),
        SimNode::RpcCaller(caller),
        Time::ZERO,
    );
}
