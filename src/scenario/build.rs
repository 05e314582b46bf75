//! Turns a parsed scenario into a world ready to run: nodes, links, disks and the fault
//! schedule. Node names are the ones the scenario format documents (`broker-1`,
//! `controller`, `client-2`, a producer's name, `billing-1`…), so a fault target written in
//! the file resolves to the node of that name.

use std::fmt;

use super::spec::{self, FaultAction, Latency, Scenario, Target, Transport};
use crate::kafka::controller::TopicSpec;
use crate::sim::{self, Duration, Fault, FaultSpec, LinkModel, Time, TraceMode, World};
use crate::workload::cluster::{build_cluster, transaction_state_topic, ClusterSpec, OwnBroker};
use crate::workload::node::SimNode;
use crate::workload::ping::{PingClient, PingClientConfig, PingServer};

/// A scenario that parses but cannot be built (a feature not simulated yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Builds the world of `scenario` for `seed`.
pub fn build(
    scenario: &Scenario,
    seed: u64,
    mode: TraceMode,
) -> Result<World<SimNode>, BuildError> {
    let mut world = World::new(seed, mode);
    world.set_link_model(link_model(&scenario.network, None));
    if let (Some(every), None) = (scenario.disk.writeback_us, &scenario.cluster) {
        world.set_writeback(Duration::from_us(every));
    }
    if let Some(ping) = &scenario.ping {
        add_ping(&mut world, ping);
    }
    let bootstrap = match &scenario.cluster {
        Some(cluster) => add_cluster(&mut world, scenario, cluster),
        None => Vec::new(),
    };
    if bootstrap.is_empty() && (!scenario.producers.is_empty() || !scenario.consumers.is_empty()) {
        return Err(BuildError(
            "producers and consumers need a [cluster]".to_string(),
        ));
    }
    super::apps::add_apps(&mut world, scenario, &bootstrap);
    apply_links(&mut world, &scenario.network);
    for f in &scenario.faults {
        world.schedule_fault(Time(f.at_us), fault_spec(f));
    }
    if let Some(script) = &scenario.external {
        world.set_script(script.0.clone());
    }
    Ok(world)
}

fn add_ping(world: &mut World<SimNode>, ping: &spec::Ping) {
    let mut servers = Vec::new();
    for i in 1..=ping.servers {
        let id = world.add_node(
            &format!("server-{i}"),
            SimNode::PingServer(PingServer::default()),
            Time::ZERO,
        );
        servers.push(id);
    }
    for i in 1..=ping.clients {
        let server = servers[(i as usize - 1) % servers.len()];
        let cfg = PingClientConfig {
            server,
            requests: ping.requests,
            in_flight: ping.in_flight,
            payload_bytes: ping.payload_bytes,
            timeout: ping.timeout_us.map(Duration::from_us),
            persist: true,
        };
        world.add_node(
            &format!("client-{i}"),
            SimNode::PingClient(PingClient::new(cfg)),
            Time::ZERO,
        );
    }
}

/// The controller and `broker-1..N`, with the scenario's topics; returns the brokers.
fn add_cluster(
    world: &mut World<SimNode>,
    scenario: &Scenario,
    cluster: &spec::Cluster,
) -> Vec<sim::NodeId> {
    let spec = ClusterSpec {
        brokers: cluster.brokers,
        broker_config: cluster.config.clone(),
        topics: scenario
            .topics
            .iter()
            .map(|t| TopicSpec {
                name: t.name.clone(),
                partitions: t.partitions,
                replication_factor: t.replication_factor,
                config: t.config.clone(),
            })
            .chain(
                // A served cluster (real clients: `kafkasim serve`, `--tape`) may meet
                // transactional producers any time.
                (scenario.external.is_some()
                    || scenario
                        .producers
                        .iter()
                        .any(|p| p.config.transactional_id.is_some()))
                .then_some(())
                .or(scenario
                    .consumers
                    .iter()
                    .find_map(|c| c.pipeline.as_ref().map(|_| ())))
                .is_some()
                .then(|| transaction_state_topic(&cluster.config, cluster.brokers)),
            )
            .collect(),
        link: link_model(&scenario.network, None),
        writeback: scenario.disk.writeback_us.map(Duration::from_us),
        own: cluster
            .own
            .iter()
            .map(|o| OwnBroker {
                id: o.id,
                config: o.config.clone(),
                writeback: o.writeback.map(|w| match w {
                    spec::Writeback::Never => None,
                    spec::Writeback::Every(us) => Some(Duration::from_us(us)),
                }),
            })
            .collect(),
    };
    build_cluster(world, &spec).brokers
}

fn latency(l: &Latency) -> sim::Latency {
    match *l {
        Latency::Uniform(r) if r.min_us == r.max_us => sim::Latency::Fixed(Duration(r.min_us)),
        Latency::Uniform(r) => sim::Latency::Uniform(Duration(r.min_us), Duration(r.max_us)),
        Latency::LogNormal { median_us, p99_us } => sim::Latency::LongTail {
            median: Duration(median_us),
            p99: Duration(p99_us),
        },
    }
}

fn ratio(r: spec::Ratio) -> (u32, u32) {
    let den = r.den.clamp(1, u32::MAX as u64);
    (r.num.min(den) as u32, den as u32)
}

fn link_model(net: &spec::NetworkSection, link: Option<&spec::Link>) -> LinkModel {
    let pick = |o: Option<spec::Ratio>, d: spec::Ratio| ratio(o.unwrap_or(d));
    LinkModel {
        latency: latency(
            link.and_then(|l| l.latency.as_ref())
                .unwrap_or(&net.latency),
        ),
        transport: match net.transport {
            Transport::Tcp => sim::Transport::Tcp,
            Transport::Datagram => sim::Transport::Datagram,
        },
        loss: pick(link.and_then(|l| l.loss), net.loss),
        duplicate: pick(link.and_then(|l| l.duplicate), net.duplicate),
        reorder: pick(link.and_then(|l| l.reorder), net.reorder),
    }
}

fn apply_links(world: &mut World<SimNode>, net: &spec::NetworkSection) {
    for l in &net.links {
        if let (Some(a), Some(b)) = (world.find(&l.from), world.find(&l.to)) {
            world.set_link(a, b, link_model(net, Some(l)));
        }
    }
}

/// The kernel's name for a target: node names as they are, roles as `leader(orders-0)`.
pub fn target_name(t: &Target) -> String {
    match t {
        Target::Node(n) | Target::Consumer(n) => n.clone(),
        other => super::targets::target_text(other),
    }
}

/// The kernel fault for a scenario fault.
pub fn fault_spec(f: &spec::FaultEntry) -> FaultSpec {
    let t = target_name;
    let fault = match &f.action {
        FaultAction::Kill(x) | FaultAction::Crash(x) => Fault::Kill(t(x)),
        FaultAction::PowerLoss { target, torn } => Fault::PowerLoss {
            target: t(target),
            torn: *torn,
        },
        FaultAction::Restart(x) => Fault::Restart(t(x)),
        FaultAction::Pause(x) => Fault::Pause(t(x)),
        FaultAction::Resume(x) => Fault::Resume(t(x)),
        FaultAction::Isolate(x) => Fault::Isolate(t(x)),
        FaultAction::Heal => Fault::Heal,
        FaultAction::Partition(groups) => {
            Fault::Partition(groups.iter().map(|g| g.iter().map(t).collect()).collect())
        }
        FaultAction::Cut { from, to } => Fault::Cut {
            from: t(from),
            to: t(to),
        },
        FaultAction::Clog { from, to } => Fault::Clog {
            from: t(from),
            to: t(to),
        },
        FaultAction::Unclog { from, to } => Fault::Unclog {
            from: t(from),
            to: t(to),
        },
        FaultAction::Reset { a, b } => Fault::Reset { a: t(a), b: t(b) },
        FaultAction::Stall(x) => Fault::Signal {
            target: t(x),
            signal: "stall".to_string(),
        },
    };
    FaultSpec {
        fault,
        revert_after: f.for_us.map(Duration::from_us),
    }
}
