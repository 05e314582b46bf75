//! Swarm testing: every seed draws its *own* fault mix before drawing faults. One seed may
//! enable only pauses and partitions and inject many short ones, another only kills and
//! inject two long ones. Uniform mixes tend to average the interesting cases away; a
//! per-seed mix makes rare combinations common somewhere in a seed range (Groce et al.,
//! "Swarm Testing", 2012; TigerBeetle's VOPR does the same).
//!
//! All draws come from `sim::rng::derive(seed, stream::EXPLORE)` with integer-ratio
//! probabilities, so a seed names one schedule on every machine. Every fault carries a
//! `for` and ends before the liveness phase (the last `liveness` of the run), which is
//! therefore fault-free: the system must converge there.

use crate::scenario::{
    DurationRange, Explore, FaultAction, FaultEntry, FaultKind, Scenario, Target,
};
use crate::sim::rng::{self, stream, Rng};
use rand::seq::SliceRandom;

/// The `[explore]` bounds of a scenario, or the documented defaults.
pub fn bounds(s: &Scenario) -> Explore {
    s.explore.clone().unwrap_or_else(|| Explore {
        faults_min: 0,
        faults_max: 6,
        kinds: FaultKind::ALL.to_vec(),
        fault_duration: DurationRange {
            min_us: 1_000_000,
            max_us: 10_000_000,
        },
        targets: Vec::new(),
        liveness_us: (s.duration_us / 3).min(30_000_000),
    })
}

/// What one seed may inject: its enabled kinds with weights, its fault count and
/// its duration range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix {
    pub kinds: Vec<(FaultKind, u32)>,
    pub faults: u32,
    pub duration: DurationRange,
}

/// Draws the per-seed mix (the "swarm" step).
pub fn mix(rng: &mut Rng, ex: &Explore, usable: &[FaultKind]) -> Mix {
    let mut kinds: Vec<(FaultKind, u32)> = Vec::new();
    for k in usable {
        let weight = rng::between(rng, 1, 4) as u32;
        if rng::chance(rng, 1, 2) {
            kinds.push((*k, weight));
        }
    }
    if kinds.is_empty() && !usable.is_empty() {
        let k = usable[rng::between(rng, 0, usable.len() as u64 - 1) as usize];
        kinds.push((k, 1));
    }
    let faults = rng::between(rng, ex.faults_min as u64, ex.faults_max as u64) as u32;
    let d = ex.fault_duration;
    // Some seeds get only short faults, others faults up to the maximum.
    let max_us = rng::between(rng, d.min_us, d.max_us);
    Mix {
        kinds,
        faults,
        duration: DurationRange {
            min_us: d.min_us,
            max_us,
        },
    }
}

/// Nodes a fault may hit, and the client applications (for crash and stall).
struct Pools {
    nodes: Vec<Target>,
    /// Nodes with a disk (brokers, the controller, partition roles): power-loss targets.
    disks: Vec<Target>,
    links: Vec<Target>,
    apps: Vec<Target>,
    consumers: Vec<Target>,
}

fn pools(s: &Scenario, ex: &Explore) -> Pools {
    let node = |n: &String| Target::Node(n.clone());
    let brokers: Vec<Target> = match &s.cluster {
        Some(c) => (1..=c.brokers)
            .map(|i| Target::Node(format!("broker-{i}")))
            .collect(),
        None => s.node_names().iter().map(node).collect(),
    };
    let nodes = if ex.targets.is_empty() {
        brokers
    } else {
        ex.targets.clone()
    };
    let links = if nodes.len() >= 2 {
        nodes.clone()
    } else {
        s.node_names().iter().map(node).collect()
    };
    let consumers: Vec<Target> = s
        .consumers
        .iter()
        .flat_map(|c| c.instance_names())
        .map(Target::Consumer)
        .collect();
    let mut apps: Vec<Target> = s.producers.iter().map(|p| node(&p.name)).collect();
    apps.extend(consumers.iter().cloned());
    let disks = nodes.iter().filter(|t| has_disk(t)).cloned().collect();
    Pools {
        nodes,
        disks,
        links,
        apps,
        consumers,
    }
}

fn has_disk(t: &Target) -> bool {
    match t {
        Target::Node(n) => {
            n == "controller"
                || n.strip_prefix("broker-")
                    .is_some_and(|i| i.parse::<u32>().is_ok())
        }
        Target::Leader(_) | Target::Follower(_) | Target::NthFollower(..) => true,
        Target::Consumer(_) => false,
    }
}

/// Kinds that have something to hit in this scenario.
fn usable(ex: &Explore, p: &Pools) -> Vec<FaultKind> {
    let ok = |k: &FaultKind| match k {
        FaultKind::Crash => !p.apps.is_empty(),
        FaultKind::Stall => !p.consumers.is_empty(),
        FaultKind::PowerLoss => !p.disks.is_empty(),
        FaultKind::Partition | FaultKind::Cut | FaultKind::Clog | FaultKind::Reset => {
            p.links.len() >= 2
        }
        _ => !p.nodes.is_empty(),
    };
    ex.kinds.iter().copied().filter(ok).collect()
}

/// The fault schedule seed `seed` draws for `s`, sorted by time.
pub fn schedule(s: &Scenario, seed: u64) -> Vec<FaultEntry> {
    let ex = bounds(s);
    let mut rng = rng::derive(seed, stream::EXPLORE);
    let p = pools(s, &ex);
    let m = mix(&mut rng, &ex, &usable(&ex, &p));
    let safety_us = s.duration_us.saturating_sub(ex.liveness_us);
    let total: u32 = m.kinds.iter().map(|(_, w)| w).sum();
    if total == 0 || safety_us == 0 {
        return Vec::new();
    }
    let mut faults: Vec<FaultEntry> = (0..m.faults)
        .map(|_| {
            let kind = weighted(&mut rng, &m.kinds, total);
            let for_us =
                rng::between(&mut rng, m.duration.min_us, m.duration.max_us).clamp(1, safety_us);
            let at_us = rng::between(&mut rng, 0, safety_us - for_us);
            let (action, for_us) = action(&mut rng, kind, &p, for_us);
            FaultEntry {
                at_us,
                action,
                for_us,
            }
        })
        .collect();
    faults.sort_by_key(|f| f.at_us);
    faults
}

fn weighted(rng: &mut Rng, kinds: &[(FaultKind, u32)], total: u32) -> FaultKind {
    let mut x = rng::between(rng, 0, total as u64 - 1) as u32;
    for (k, w) in kinds {
        if x < *w {
            return *k;
        }
        x -= w;
    }
    kinds[0].0
}

fn pick(rng: &mut Rng, from: &[Target]) -> Target {
    from[rng::between(rng, 0, from.len() as u64 - 1) as usize].clone()
}

fn two(rng: &mut Rng, from: &[Target]) -> (Target, Target) {
    let a = rng::between(rng, 0, from.len() as u64 - 1) as usize;
    let b = (a + rng::between(rng, 1, from.len() as u64 - 1) as usize) % from.len();
    (from[a].clone(), from[b].clone())
}

/// The fault of `kind`, and its `for` (`reset` is instantaneous).
fn action(rng: &mut Rng, kind: FaultKind, p: &Pools, for_us: u64) -> (FaultAction, Option<u64>) {
    let a = match kind {
        FaultKind::Kill => FaultAction::Kill(pick(rng, &p.nodes)),
        FaultKind::PowerLoss => FaultAction::PowerLoss {
            target: pick(rng, &p.disks),
            torn: rng::chance(rng, 1, 2),
        },
        FaultKind::Pause => FaultAction::Pause(pick(rng, &p.nodes)),
        FaultKind::Isolate => FaultAction::Isolate(pick(rng, &p.nodes)),
        FaultKind::Partition => FaultAction::Partition(split(rng, &p.links)),
        FaultKind::Cut => {
            let (from, to) = two(rng, &p.links);
            FaultAction::Cut { from, to }
        }
        FaultKind::Clog => {
            let (from, to) = two(rng, &p.links);
            FaultAction::Clog { from, to }
        }
        FaultKind::Reset => {
            let (a, b) = two(rng, &p.links);
            return (FaultAction::Reset { a, b }, None);
        }
        FaultKind::Crash => FaultAction::Crash(pick(rng, &p.apps)),
        FaultKind::Stall => FaultAction::Stall(pick(rng, &p.consumers)),
    };
    (a, Some(for_us))
}

/// Two non-empty groups.
fn split(rng: &mut Rng, from: &[Target]) -> Vec<Vec<Target>> {
    let mut all = from.to_vec();
    all.shuffle(rng);
    let cut = rng::between(rng, 1, all.len() as u64 - 1) as usize;
    let rest = all.split_off(cut);
    vec![all, rest]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping(extra: &str) -> Scenario {
        let text = format!(
            "name = \"p\"\nduration = \"20s\"\n[ping]\nservers = 2\nclients = 2\nrequests = 10\n{extra}"
        );
        crate::scenario::parse(&text, "t.toml").expect("valid")
    }

    #[test]
    fn a_seed_names_one_schedule() {
        // Proves schedules are a pure function of (scenario, seed) and differ across seeds.
        let s = ping("[explore]\nfaults = \"2..8\"\nliveness = \"5s\"");
        assert_eq!(schedule(&s, 42), schedule(&s, 42));
        let distinct: std::collections::BTreeSet<String> =
            (0..20).map(|i| format!("{:?}", schedule(&s, i))).collect();
        assert!(distinct.len() > 15);
    }

    #[test]
    fn faults_respect_the_bounds_and_end_before_liveness() {
        // Proves count, kinds, durations and the fault-free liveness phase are honoured.
        let s = ping("[explore]\nfaults = \"1..5\"\nkinds = [\"pause\", \"cut\"]\nfault_duration = \"100ms..2s\"\nliveness = \"5s\"");
        for seed in 0..200 {
            let fs = schedule(&s, seed);
            assert!((1..=5).contains(&fs.len()), "{fs:?}");
            for f in &fs {
                let d = f.for_us.expect("every generated fault reverts");
                assert!((100_000..=2_000_000).contains(&d));
                assert!(f.at_us + d <= 15_000_000);
                assert!(matches!(
                    f.action,
                    FaultAction::Pause(_) | FaultAction::Cut { .. }
                ));
            }
        }
    }

    #[test]
    fn seeds_draw_different_mixes() {
        // Proves the swarm step: some seeds enable a kind, others leave it out.
        let s = ping("[explore]\nfaults = \"6..6\"\nkinds = [\"pause\", \"isolate\"]");
        let only_pauses = (0..100).filter(|i| {
            schedule(&s, *i)
                .iter()
                .all(|f| matches!(f.action, FaultAction::Pause(_)))
        });
        let n = only_pauses.count();
        assert!(n > 10 && n < 90, "{n}");
    }

    #[test]
    fn generated_schedules_survive_a_round_trip() {
        // Proves a generated schedule written with to_toml parses back to the same faults.
        let mut s = ping("[explore]\nfaults = \"3..6\"\nliveness = \"5s\"");
        for seed in 0..30 {
            s.faults = schedule(&s, seed);
            let back = crate::scenario::parse(&s.to_toml(), "t.toml").expect("parses");
            assert_eq!(back.faults, s.faults);
        }
    }
}
