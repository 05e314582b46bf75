//! Shrinking: from a failing fault schedule to a small one that fails the same way.
//!
//! Delta debugging over the fault list (Zeller's ddmin, simplified): try dropping half of
//! the faults, then quarters, … then single faults; keep every removal after which the run
//! still violates one of the same properties. Then simplify what is left: halve each
//! fault's duration while it still fails, and round times down to whole seconds or tenths
//! so the written scenario reads well. The seed stays fixed, so every attempt is one
//! deterministic re-run; a budget bounds the number of attempts.

use crate::scenario::{FaultEntry, Scenario};

/// Re-runs a candidate and says whether it still fails "the same way".
pub trait StillFails {
    fn still_fails(&self, candidate: &Scenario) -> bool;
}

impl<F: Fn(&Scenario) -> bool> StillFails for F {
    fn still_fails(&self, candidate: &Scenario) -> bool {
        self(candidate)
    }
}

/// The outcome of shrinking.
#[derive(Clone, Debug)]
pub struct Shrunk {
    pub scenario: Scenario,
    /// Re-runs spent.
    pub runs: u32,
}

struct Shrinker<'a, T: StillFails> {
    test: &'a T,
    runs: u32,
    budget: u32,
}

impl<T: StillFails> Shrinker<'_, T> {
    fn try_faults(&mut self, base: &Scenario, faults: Vec<FaultEntry>) -> Option<Scenario> {
        if self.runs >= self.budget {
            return None;
        }
        self.runs += 1;
        let candidate = Scenario {
            faults,
            ..base.clone()
        };
        self.test.still_fails(&candidate).then_some(candidate)
    }
}

/// Shrinks the fault schedule of `failing` (which must fail) within `budget` re-runs.
pub fn shrink(failing: &Scenario, test: &impl StillFails, budget: u32) -> Shrunk {
    let mut sh = Shrinker {
        test,
        runs: 0,
        budget,
    };
    let mut best = failing.clone();
    best = drop_faults(&mut sh, best);
    best = shorten(&mut sh, best);
    best = round_times(&mut sh, best);
    Shrunk {
        scenario: best,
        runs: sh.runs,
    }
}

/// ddmin-style removal: chunks of n/2, n/4, … 1 faults.
fn drop_faults<T: StillFails>(sh: &mut Shrinker<T>, mut best: Scenario) -> Scenario {
    let mut chunk = best.faults.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < best.faults.len() {
            let mut fewer = best.faults.clone();
            fewer.drain(start..(start + chunk).min(fewer.len()));
            match sh.try_faults(&best, fewer) {
                Some(s) => best = s, // same start: the next chunk slid into place
                None => start += chunk,
            }
        }
        if chunk == 1 || best.faults.is_empty() {
            return best;
        }
        chunk = chunk.div_ceil(2);
    }
}

/// Halves each fault's duration while the run still fails (at most a few times each).
fn shorten<T: StillFails>(sh: &mut Shrinker<T>, mut best: Scenario) -> Scenario {
    for i in 0..best.faults.len() {
        for _ in 0..4 {
            let Some(d) = best.faults[i].for_us.filter(|d| *d >= 2_000) else {
                break;
            };
            let mut faults = best.faults.clone();
            faults[i].for_us = Some(d / 2);
            match sh.try_faults(&best, faults) {
                Some(s) => best = s,
                None => break,
            }
        }
    }
    best
}

/// Rounds times and durations to whole seconds, else tenths of a second, when that keeps
/// the failure.
fn round_times<T: StillFails>(sh: &mut Shrinker<T>, mut best: Scenario) -> Scenario {
    for i in 0..best.faults.len() {
        for unit in [1_000_000, 100_000] {
            let f = &best.faults[i];
            let at = f.at_us / unit * unit;
            let dur = f
                .for_us
                .map(|d| if d >= unit { d / unit * unit } else { d });
            if at == f.at_us && dur == f.for_us {
                break;
            }
            let mut faults = best.faults.clone();
            faults[i].at_us = at;
            faults[i].for_us = dur;
            if let Some(s) = sh.try_faults(&best, faults) {
                best = s;
                break;
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{FaultAction, Target};
    use std::cell::Cell;

    fn with_faults(n: u64) -> Scenario {
        let mut s = crate::scenario::parse(
            "name = \"x\"\nduration = \"60s\"\n[ping]\nclients = 1\nrequests = 1\n",
            "t",
        )
        .unwrap();
        s.faults = (0..n)
            .map(|i| FaultEntry {
                at_us: i * 1_234_567,
                action: FaultAction::Pause(Target::Node(format!("server-{i}"))),
                for_us: Some(3_333_333),
            })
            .collect();
        s
    }

    fn has(s: &Scenario, i: u64) -> bool {
        let name = format!("server-{i}");
        s.faults
            .iter()
            .any(|f| f.action == FaultAction::Pause(Target::Node(name.clone())))
    }

    #[test]
    fn keeps_only_the_faults_that_matter() {
        // Proves ddmin finds the two culprit faults among twenty.
        let s = with_faults(20);
        let out = shrink(&s, &|c: &Scenario| has(c, 3) && has(c, 17), 500);
        assert_eq!(out.scenario.faults.len(), 2);
        assert!(has(&out.scenario, 3) && has(&out.scenario, 17));
    }

    #[test]
    fn shortens_and_rounds_what_is_left() {
        // Proves durations shrink while the failure needs only "a pause of ≥ 0.5s", and
        // times are rounded to whole seconds.
        let s = with_faults(3);
        let test = |c: &Scenario| c.faults.len() == 1 && c.faults[0].for_us.unwrap() >= 500_000;
        let out = shrink(&s, &test, 500);
        let f = &out.scenario.faults[0];
        assert!(f.for_us.unwrap() < 1_000_000, "{f:?}");
        assert_eq!(f.at_us % 1_000_000, 0, "{f:?}");
    }

    #[test]
    fn respects_its_budget() {
        // Proves the number of re-runs never exceeds the budget.
        let calls = Cell::new(0u32);
        let test = |_: &Scenario| {
            calls.set(calls.get() + 1);
            false
        };
        let out = shrink(&with_faults(50), &test, 7);
        assert_eq!(out.runs, 7);
        assert_eq!(calls.get(), 7);
        assert_eq!(out.scenario.faults.len(), 50);
    }
}
