//! Exploration beyond one machine: slicing a seed range into shards, and merging the shards'
//! JSON-lines results into one report.
//!
//! Seeds are independent runs, so an exploration of `A..B` is the union of explorations of
//! any partition of `A..B`. `--shard I/N` takes the I-th of N equal slices (1-based, the
//! last absorbing the remainder), so N machines — a Kubernetes Indexed Job's pods with
//! `I = JOB_COMPLETION_INDEX + 1`, or GNU parallel over ssh hosts — each explore one slice
//! and write one JSON-lines file: a line per failure and, last, a `summary` line (its range,
//! seed count and coverage). `kafkasim explore merge FILES…` adds the summaries up, lists
//! the failures in seed order, and says whether the shards cover their whole range exactly
//! once — a missing or doubled slice is reported, never silently merged.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The last line of an exploration's JSON output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always `"summary"`: tells this line from a failure line.
    pub kind: String,
    pub scenario: String,
    pub seeds_from: u64,
    /// Exclusive.
    pub seeds_to: u64,
    pub seeds: u64,
    pub failures: u64,
    /// For each counter, how many seeds saw it non-zero.
    pub coverage: BTreeMap<String, u64>,
    pub wall_ms: u64,
}

/// One failure line, as much of it as a merged report needs.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureLine {
    pub seed: u64,
    pub violations: Vec<String>,
    pub replay: String,
}

/// Several shards' results as one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Merged {
    pub scenario: String,
    pub shards: usize,
    pub seeds: u64,
    /// The ranges explored, sorted.
    pub ranges: Vec<Range<u64>>,
    /// Seeds inside the overall range that no shard explored.
    pub gaps: Vec<Range<u64>>,
    /// Seeds explored by more than one shard.
    pub overlaps: Vec<Range<u64>>,
    pub coverage: BTreeMap<String, u64>,
    pub failures: Vec<FailureLine>,
    /// Sum of the shards' wall times.
    pub wall_ms: u64,
}

/// The `i`-th (1-based) of `n` slices of `range`; `None` unless `1 <= i <= n <= len`.
pub fn shard(range: Range<u64>, i: u64, n: u64) -> Option<Range<u64>> {
    let len = range.end.checked_sub(range.start)?;
    if n == 0 || i == 0 || i > n || n > len {
        return None;
    }
    let at = |k: u64| range.start + ((len as u128 * k as u128) / n as u128) as u64;
    Some(at(i - 1)..at(i))
}

/// Reads `I/N`.
pub fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let (i, n) = text
        .split_once('/')
        .ok_or_else(|| format!("--shard `{text}`: expected I/N, e.g. 3/8"))?;
    let num = |s: &str| s.trim().parse::<u64>().ok();
    match (num(i), num(n)) {
        (Some(i), Some(n)) if i >= 1 && i <= n => Ok((i, n)),
        _ => Err(format!(
            "--shard `{text}`: expected I/N with 1 <= I <= N, e.g. 3/8"
        )),
    }
}

/// Merges the JSON-lines outputs `files` (name, text). A line that is neither a summary
/// nor a failure, a file without a summary, or summaries of different scenarios are
/// errors naming the file and line.
pub fn merge(files: &[(String, String)]) -> Result<Merged, String> {
    let mut m = Merged::default();
    for (name, text) in files {
        let mut summary = None;
        for (no, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let at = || format!("{name}:{}", no + 1);
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("{}: not a JSON line: {e}", at()))?;
            if v.get("kind").and_then(|k| k.as_str()) == Some("summary") {
                let s: Summary = serde_json::from_value(v)
                    .map_err(|e| format!("{}: a summary line without {e}", at()))?;
                summary = Some(s);
            } else {
                m.failures.push(failure_line(&v).ok_or_else(|| {
                    format!(
                        "{}: neither a failure (seed, violations) nor a summary",
                        at()
                    )
                })?);
            }
        }
        let s = summary.ok_or_else(|| {
            format!("{name}: no summary line (an exploration that did not finish?)")
        })?;
        add(&mut m, s, name)?;
    }
    if m.shards == 0 {
        return Err("no files to merge".into());
    }
    m.failures.sort_by_key(|f| f.seed);
    m.failures.dedup_by_key(|f| f.seed);
    m.ranges.sort_by_key(|r| (r.start, r.end));
    let (gaps, overlaps) = holes(&m.ranges);
    (m.gaps, m.overlaps) = (gaps, overlaps);
    Ok(m)
}

fn failure_line(v: &serde_json::Value) -> Option<FailureLine> {
    Some(FailureLine {
        seed: v.get("seed")?.as_u64()?,
        violations: v
            .get("violations")?
            .as_array()?
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        replay: v
            .get("replay")
            .and_then(|r| r.as_str())
            .unwrap_or_default()
            .to_string(),
    })
}

fn add(m: &mut Merged, s: Summary, name: &str) -> Result<(), String> {
    if m.shards > 0 && s.scenario != m.scenario {
        return Err(format!(
            "{name}: explores `{}`, the files before explore `{}`",
            s.scenario, m.scenario
        ));
    }
    m.scenario = s.scenario;
    m.shards += 1;
    m.seeds += s.seeds;
    m.wall_ms += s.wall_ms;
    m.ranges.push(s.seeds_from..s.seeds_to);
    for (k, n) in s.coverage {
        *m.coverage.entry(k).or_insert(0) += n;
    }
    Ok(())
}

/// Gaps between and overlaps among sorted ranges.
fn holes(ranges: &[Range<u64>]) -> (Vec<Range<u64>>, Vec<Range<u64>>) {
    let (mut gaps, mut overlaps) = (Vec::new(), Vec::new());
    let mut reach = match ranges.first() {
        Some(r) => r.end,
        None => return (gaps, overlaps),
    };
    for r in &ranges[1..] {
        if r.start > reach {
            gaps.push(reach..r.start);
        } else if r.start < reach {
            overlaps.push(r.start..reach.min(r.end));
        }
        reach = reach.max(r.end);
    }
    (gaps, overlaps)
}

impl Merged {
    /// Whether the merged exploration passed and covered its range exactly once.
    pub fn complete(&self) -> bool {
        self.gaps.is_empty() && self.overlaps.is_empty()
    }

    /// The report as text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let span = match (self.ranges.first(), self.ranges.iter().map(|r| r.end).max()) {
            (Some(a), Some(b)) => format!("{}..{b}", a.start),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{}: {} shard(s), {} seeds over {span}, {} failure(s), {:.1} s of exploration in all\n",
            self.scenario,
            self.shards,
            self.seeds,
            self.failures.len(),
            self.wall_ms as f64 / 1e3
        ));
        for g in &self.gaps {
            out.push_str(&format!(
                "MISSING seeds {}..{} (no shard explored them)\n",
                g.start, g.end
            ));
        }
        for o in &self.overlaps {
            out.push_str(&format!(
                "DOUBLED seeds {}..{} (explored by two shards; counts include both)\n",
                o.start, o.end
            ));
        }
        for f in &self.failures {
            out.push_str(&format!(
                "seed {}: {} — {}\n",
                f.seed,
                f.violations.join(", "),
                f.replay
            ));
        }
        out.push_str("coverage (seeds where each counter was non-zero):\n");
        for (k, n) in &self.coverage {
            let pct = 100.0 * *n as f64 / self.seeds.max(1) as f64;
            out.push_str(&format!("  {k:<28} {n:>8} seeds  {pct:>5.1} %\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_range_exactly() {
        for (len, n) in [(10u64, 3u64), (100, 7), (5, 5), (1_000_003, 8)] {
            let mut next = 100;
            for i in 1..=n {
                let s = shard(100..100 + len, i, n).unwrap();
                assert_eq!(s.start, next, "contiguous");
                assert!(!s.is_empty());
                next = s.end;
            }
            assert_eq!(next, 100 + len);
        }
        assert_eq!(shard(0..10, 0, 3), None);
        assert_eq!(shard(0..10, 4, 3), None);
        assert_eq!(shard(0..2, 1, 3), None);
        assert_eq!(parse_shard("3/8"), Ok((3, 8)));
        assert!(parse_shard("0/8").is_err() && parse_shard("9/8").is_err());
        assert!(parse_shard("x").unwrap_err().contains("I/N"));
    }

    fn summary(from: u64, to: u64, cov: &[(&str, u64)]) -> String {
        let s = Summary {
            kind: "summary".into(),
            scenario: "s".into(),
            seeds_from: from,
            seeds_to: to,
            seeds: to - from,
            failures: 0,
            coverage: cov.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            wall_ms: 10,
        };
        serde_json::to_string(&s).unwrap()
    }

    #[test]
    fn merging_adds_coverage_lists_failures_and_finds_gaps_and_overlaps() {
        let fail = r#"{"seed":7,"violations":["lost-write"],"replay":"kafkasim tui x --seed 7"}"#;
        let a = format!("{fail}\n{}\n", summary(0, 10, &[("leader-elections", 4)]));
        let b = summary(10, 20, &[("leader-elections", 6), ("isr-shrinks", 1)]);
        let m = merge(&[("a".into(), a.clone()), ("b".into(), b)]).unwrap();
        assert_eq!(m.seeds, 20);
        assert_eq!(m.coverage["leader-elections"], 10);
        assert_eq!(m.coverage["isr-shrinks"], 1);
        assert_eq!(m.failures.len(), 1);
        assert!(m.complete());
        assert!(m.render().contains("seed 7: lost-write"));
        let c = summary(25, 30, &[]);
        let d = summary(5, 12, &[]);
        let m = merge(&[("a".into(), a), ("c".into(), c), ("d".into(), d)]).unwrap();
        assert_eq!(m.gaps, vec![12..25]);
        assert_eq!(m.overlaps, vec![5..10]);
        assert!(!m.complete());
        assert!(m.render().contains("MISSING seeds 12..25"));
    }

    #[test]
    fn bad_files_are_refused_with_file_and_line() {
        let e = merge(&[("f.jsonl".into(), "{not json\n".into())]).unwrap_err();
        assert!(e.starts_with("f.jsonl:1: not a JSON line"), "{e}");
        let e = merge(&[("g".into(), "{\"x\":1}\n".into())]).unwrap_err();
        assert!(e.contains("g:1: neither a failure"), "{e}");
        let e = merge(&[("h".into(), String::new())]).unwrap_err();
        assert!(e.contains("h: no summary line"), "{e}");
        assert!(merge(&[]).is_err());
    }
}
