//! The claim reader the lesson tests share: a lesson's markdown is the source of its
//! numbers, commands and exercise edits, so a test reads them from the text instead of
//! repeating them, and a lesson cannot drift from what the program shows.
//!
//! - `claim(lesson, "At t = {} s, ... ACKED {}")` finds the sentence (whitespace and `*`
//!   ignored) and returns the numbers at each `{}`;
//! - `exercise(lesson, n)` returns exercise n's scenario file with its edits applied: every
//!   "`OLD` → `NEW`" pair in the exercise's paragraph, in order (`\n` in a code span is a
//!   line break).

use kafkasim::scenario::{parse, Scenario};
use kafkasim::sim::{Time, TraceMode};
use std::collections::BTreeMap;

/// The lesson's markdown with whitespace runs collapsed and emphasis marks removed.
pub fn text(lesson: &str) -> String {
    let path = format!("{}/docs/lessons/{lesson}", env!("CARGO_MANIFEST_DIR"));
    let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    raw.replace('*', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The numbers at each `{}` of `pattern` in the lesson's text, code marks (`) ignored (a
/// number: digits with an optional decimal point). Panics, naming the lesson, if the sentence is not there.
pub fn claim(lesson: &str, pattern: &str) -> Vec<f64> {
    let t = text(lesson).replace('`', "");
    let pattern = pattern.replace('`', "");
    let pattern = pattern.split_whitespace().collect::<Vec<_>>().join(" ");
    let parts: Vec<&str> = pattern.split("{}").collect();
    let mut from = 0;
    while let Some(i) = t[from..].find(parts[0]) {
        let start = from + i;
        if let Some(v) = match_at(&t[start + parts[0].len()..], &parts[1..]) {
            return v;
        }
        from = start + t[start..].chars().next().map_or(1, char::len_utf8);
    }
    panic!("docs/lessons/{lesson} does not say `{pattern}`");
}

fn match_at(mut rest: &str, parts: &[&str]) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    for lit in parts {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = rest[..n].trim_end_matches('.');
        out.push(num.parse::<f64>().ok()?);
        rest = rest[num.len()..].strip_prefix(lit)?;
    }
    Some(out)
}

/// One number claimed by the lesson, as an integer.
pub fn claim1(lesson: &str, pattern: &str) -> u64 {
    let v = claim(lesson, pattern);
    assert_eq!(v.len(), 1, "{pattern}");
    v[0] as u64
}

/// A claimed time in seconds, as simulated microseconds.
pub fn secs(s: f64) -> Time {
    Time((s * 1e6).round() as u64)
}

/// Exercise `n` of the lesson: its paragraph (up to the next exercise or heading).
pub fn exercise_text(lesson: &str, n: u32) -> String {
    let t = text(lesson);
    let head = format!("Exercise {n}.");
    let start = t
        .find(&head)
        .unwrap_or_else(|| panic!("docs/lessons/{lesson} has no `{head}`"));
    let rest = &t[start + head.len()..];
    let end = [rest.find("Exercise "), rest.find("## ")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

/// Exercise `n`'s scenario: the first `scenarios/….toml` its paragraph names, with each
/// "`OLD` → `NEW`" edit applied once, in order (each OLD must be in the file).
pub fn exercise(lesson: &str, n: u32) -> Scenario {
    let para = exercise_text(lesson, n);
    let file = para
        .split('`')
        .find(|w| w.starts_with("scenarios/") && w.ends_with(".toml"))
        .unwrap_or_else(|| panic!("{lesson} exercise {n} names no scenario file"));
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let mut toml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let pieces: Vec<&str> = para.split('`').collect();
    let mut edits = 0;
    for i in 1..pieces.len().saturating_sub(2) {
        if i % 2 == 1 && pieces[i + 1].trim() == "→" {
            let (old, new) = (
                pieces[i].replace("\\n", "\n"),
                pieces[i + 2].replace("\\n", "\n"),
            );
            assert!(
                toml.contains(&old),
                "{lesson} exercise {n}: `{old}` is not in {file}"
            );
            toml = toml.replacen(&old, &new, 1);
            edits += 1;
        }
    }
    assert!(edits > 0, "{lesson} exercise {n} changes nothing");
    parse(&toml, file).unwrap_or_else(|e| panic!("{lesson} exercise {n}: {e}"))
}

/// A shipped scenario, parsed.
pub fn shipped(file: &str) -> Scenario {
    let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    kafkasim::scenario::load(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"))
}

/// What the run counted up to simulated time `t` (`kafkasim run`'s counters, so far).
pub fn counters_at(sc: &Scenario, t: Time) -> BTreeMap<String, u64> {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    let end = w.run_until(t, sc.max_events);
    kafkasim::runner::summarize(sc, &w, end).counters
}

/// One counter, 0 when the run never counted it.
pub fn get(c: &BTreeMap<String, u64>, key: &str) -> u64 {
    c.get(key).copied().unwrap_or(0)
}
