//! `[expect]` against a run: each condition is looked up among the run's counters and the
//! anomaly counts (a key the run never counted is 0) and becomes one report line,
//! `ok   lost-write = 0 (expected 0)` or `FAIL duplicate = 3 (expected 0)`.
//!
//! `true` means "sometimes": it must have happened at least once in this run. Under
//! exploration, conditions on anomaly kinds are safety properties checked on every seed,
//! while the others (elections, rebalances, timeouts…) are coverage: reported as the share
//! of seeds that met them, never as failures.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

use super::anomaly::AnomalyKind;
use crate::scenario::{Condition, Expect};

/// One evaluated `[expect]` condition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExpectLine {
    pub key: String,
    pub actual: u64,
    #[serde(serialize_with = "ser_condition")]
    pub condition: Condition,
    pub ok: bool,
}

fn ser_condition<S: serde::Serializer>(c: &Condition, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&condition_text(c))
}

impl ExpectLine {
    /// Whether the key names an anomaly kind (a safety property under exploration).
    pub fn is_safety(&self) -> bool {
        AnomalyKind::parse(&self.key).is_some()
    }
}

/// How a condition reads in a report: `0`, `>= 1`, `1..5`, `sometimes`, `never`.
pub fn condition_text(c: &Condition) -> String {
    match *c {
        Condition::Eq(n) => n.to_string(),
        Condition::Ge(n) => format!(">= {n}"),
        Condition::Gt(n) => format!("> {n}"),
        Condition::Le(n) => format!("<= {n}"),
        Condition::Lt(n) => format!("< {n}"),
        Condition::Between(a, b) => format!("{a}..{b}"),
        Condition::Happened(true) => "sometimes (>= 1)".to_string(),
        Condition::Happened(false) => "never (0)".to_string(),
    }
}

impl fmt::Display for ExpectLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.ok { "ok  " } else { "FAIL" };
        let want = condition_text(&self.condition);
        write!(f, "{mark} {} = {} (expected {want})", self.key, self.actual)
    }
}

/// Evaluates every condition of `expect` against `counters` (missing keys count 0).
pub fn evaluate(expect: &Expect, counters: &BTreeMap<String, u64>) -> Vec<ExpectLine> {
    expect
        .conditions
        .iter()
        .map(|(key, c)| {
            let actual = counters.get(key).copied().unwrap_or(0);
            ExpectLine {
                key: key.clone(),
                actual,
                condition: *c,
                ok: c.holds(actual),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect(pairs: &[(&str, Condition)]) -> Expect {
        let mut e = Expect::default();
        for (k, c) in pairs {
            e.conditions.insert(k.to_string(), *c);
        }
        e
    }

    #[test]
    fn lines_read_like_the_issue_says() {
        // Proves the report wording and that a missing counter counts as zero.
        let e = expect(&[
            ("lost-write", Condition::Eq(0)),
            ("duplicate", Condition::Eq(0)),
            ("rebalances", Condition::Happened(true)),
        ]);
        let counters = BTreeMap::from([("duplicate".to_string(), 3)]);
        let lines: Vec<String> = evaluate(&e, &counters)
            .iter()
            .map(|l| l.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "FAIL duplicate = 3 (expected 0)",
                "ok   lost-write = 0 (expected 0)",
                "FAIL rebalances = 0 (expected sometimes (>= 1))",
            ]
        );
    }

    #[test]
    fn ranges_and_bounds_hold_inclusively() {
        // Proves Between is inclusive on both ends and Ge/Le include the bound.
        let e = expect(&[
            ("a", Condition::Between(1, 3)),
            ("b", Condition::Ge(2)),
            ("c", Condition::Le(2)),
        ]);
        let c = BTreeMap::from([("a".into(), 3), ("b".into(), 2), ("c".into(), 2)]);
        assert!(evaluate(&e, &c).iter().all(|l| l.ok));
    }

    #[test]
    fn anomaly_keys_are_safety_and_counters_are_coverage() {
        // Proves which lines exploration treats as safety properties.
        let e = expect(&[
            ("lost-write", Condition::Eq(0)),
            ("leader-elections", Condition::Ge(1)),
        ]);
        let lines = evaluate(&e, &BTreeMap::new());
        let safety: Vec<bool> = lines.iter().map(|l| l.is_safety()).collect();
        assert_eq!(safety, [false, true]);
    }
}
