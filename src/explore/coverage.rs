//! Coverage by mechanism: did exploration actually exercise what can go wrong?
//!
//! A seed range that never shrinks an ISR has not tested `acks=all`, however many seeds
//! pass. Every run counts the Kafka mechanisms it went through (`runner::counters`: ISR
//! shrinks and expansions, NOT_ENOUGH_REPLICAS rejections, unclean elections the controller
//! refused, truncations, leader elections, rebalances, group coordinator moves; for
//! transactional scenarios aborts, transaction coordinator moves, fenced producers and
//! timed-out transactions), and
//! exploration counts, per mechanism, the seeds where it happened at least once
//! ("sometimes" coverage, as in Antithesis' `sometimes` assertions). A mechanism the
//! scenario makes possible but fewer than 1 % of seeds reached is a warning: the
//! `[explore]` bounds (fault durations against the timeouts that trigger it) need a look.

use super::ExploreReport;
use crate::check::DuplicateCause;
use crate::kafka::config::{Acks, EffectiveTopicConfig};
use crate::scenario::Scenario;

/// One mechanism: its counter, its name as Kafka documents it, and whether the scenario
/// makes it possible at all.
pub struct Mechanism {
    pub counter: &'static str,
    pub name: &'static str,
    pub possible: fn(&Scenario) -> bool,
}

/// The mechanisms exploration reports, in the order printed.
pub const MECHANISMS: &[Mechanism] = &[
    Mechanism {
        counter: "leader-elections",
        name: "leader election",
        possible: replicated,
    },
    Mechanism {
        counter: "isr-shrinks",
        name: "ISR shrink",
        possible: replicated,
    },
    Mechanism {
        counter: "isr-expands",
        name: "ISR expand",
        possible: replicated,
    },
    Mechanism {
        counter: "not-enough-replicas",
        name: "NOT_ENOUGH_REPLICAS",
        possible: min_isr_enforced,
    },
    Mechanism {
        counter: "unclean-election-refusals",
        name: "unclean election refused",
        possible: unclean_refusable,
    },
    Mechanism {
        counter: "truncations",
        name: "truncation",
        possible: replicated,
    },
    Mechanism {
        counter: "later-rebalances",
        name: "rebalance (group formed)",
        possible: grouped,
    },
    Mechanism {
        counter: "coordinator-moves",
        name: "group coordinator move",
        possible: grouped,
    },
    Mechanism {
        counter: "txn-aborted",
        name: "transaction aborted",
        possible: transactional,
    },
    Mechanism {
        counter: "txn-coordinator-moves",
        name: "transaction coordinator move",
        possible: transactional,
    },
    Mechanism {
        counter: "producers-fenced",
        name: "producer fenced (PRODUCER_FENCED)",
        possible: transactional,
    },
    Mechanism {
        counter: "txn-timeouts",
        name: "transaction timed out",
        possible: transactional,
    },
];

fn replicated(s: &Scenario) -> bool {
    s.cluster.is_some() && s.topics.iter().any(|t| t.replication_factor >= 2)
}

/// Some acks=all producer writes to a topic with `min.insync.replicas` ≥ 2.
fn min_isr_enforced(s: &Scenario) -> bool {
    let Some(c) = &s.cluster else {
        return false;
    };
    let strict = s.topics.iter().any(|t| {
        t.replication_factor >= 2
            && EffectiveTopicConfig::resolve(&t.config, &c.config).min_insync_replicas >= 2
    });
    let acks_all = s
        .producers
        .iter()
        .any(|p| p.config.effective().is_ok_and(|e| e.acks == Acks::All));
    strict && acks_all
}

/// Some replicated topic with `unclean.leader.election.enable=false`.
fn unclean_refusable(s: &Scenario) -> bool {
    let Some(c) = &s.cluster else {
        return false;
    };
    s.topics.iter().any(|t| {
        t.replication_factor >= 2
            && !EffectiveTopicConfig::resolve(&t.config, &c.config).unclean_leader_election_enable
    })
}

/// A transactional producer, or a consume-transform-produce pipeline.
fn transactional(s: &Scenario) -> bool {
    s.cluster.is_some()
        && (s
            .producers
            .iter()
            .any(|p| p.config.transactional_id.is_some())
            || s.consumers.iter().any(|c| c.pipeline.is_some()))
}

fn grouped(s: &Scenario) -> bool {
    s.cluster.is_some() && !s.consumers.is_empty()
}

/// Seeds below this share of the range make a possible mechanism a warning (1 %).
pub const WARN_BELOW_PERMILLE: u64 = 10;

/// The coverage lines `explore` prints: each possible mechanism with the seeds (and share)
/// where it happened, then duplicates by cause, then a warning per mechanism below 1 %.
pub fn summary(s: &Scenario, r: &ExploreReport) -> Vec<String> {
    let seeds = r.seeds.max(1);
    let seen = |k: &str| r.coverage.get(k).copied().unwrap_or(0);
    let mut lines = vec![format!(
        "coverage by mechanism (seeds where it happened, of {}):",
        r.seeds
    )];
    let mut warnings = Vec::new();
    for m in MECHANISMS.iter().filter(|m| (m.possible)(s)) {
        let n = seen(m.counter);
        let pct = n as f64 * 100.0 / seeds as f64;
        lines.push(format!(
            "  {:<26} {n:>7}  {pct:5.1} %  ({})",
            m.name, m.counter
        ));
        if n * 1000 < seeds * WARN_BELOW_PERMILLE {
            warnings.push(format!(
                "warning: {} ({}) happened in {pct:.1} % of seeds, below 1 %: these bounds barely explore it",
                m.name, m.counter
            ));
        }
    }
    let causes: Vec<String> = DuplicateCause::ALL
        .iter()
        .map(|c| format!("{} {}", c.as_str(), seen(c.counter())))
        .collect();
    lines.push(format!(
        "  duplicates by cause (seeds): {}",
        causes.join(", ")
    ));
    lines.extend(warnings);
    lines
}
