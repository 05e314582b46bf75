//! Lesson claims are tests (issue 13, item 11). For each lesson in `docs/lessons/`, what it
//! says is on screen at a moment — "at t = T, in view V, you see X" — is checked by opening
//! the workbench model at T, rendering it with ratatui's `TestBackend` and comparing X with
//! what the run did (its counters up to T, its trace); each exercise's outcome is checked by
//! building the exercise's variant from the lesson's own "`OLD` → `NEW`" edits and running
//! it with `runner::check_scenario`. Numbers, times and edits are read from the lesson text
//! (`lessons/claims.rs`), so a lesson cannot drift from what the program shows.

#[path = "lessons/claims.rs"]
mod claims;
mod common;

use claims::*;
use common::*;
use kafkasim::cli::lesson_cmd::LESSONS;
use kafkasim::kafka::KafkaEvent;
use kafkasim::runner::{check_scenario, CheckReport};
use kafkasim::scenario::Scenario;
use kafkasim::sim::{Time, TraceKind, TraceMode};
use kafkasim::tui::app::App;
use kafkasim::tui::{self, TuiArgs};
use kafkasim::workload::event::NodeEvent;

/// The workbench model of one run.
fn model(sc: &Scenario) -> App {
    tui::app(TuiArgs {
        scenario: sc.clone(),
        seed: None,
        compare: None,
    })
    .expect("the lesson's scenario builds")
}

/// View `key` at simulated time `t`, rendered at 120×40.
fn view_at(m: &mut App, t: Time, key: char) -> String {
    m.sides[0].seek_time(t);
    ch(m, key);
    screen(m, 120, 40)
}

/// The first screen line containing `needle`.
fn line<'a>(s: &'a str, needle: &str) -> &'a str {
    s.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}`:\n{s}"))
}

/// The whitespace-separated words of a screen line, without the frame.
fn words(l: &str) -> Vec<String> {
    l.trim_matches(|c| c == '│' || c == ' ')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Column `col` of the table row starting with `name` (after the frame).
fn cell(s: &str, name: &str, col: usize) -> String {
    let row = s
        .lines()
        .map(words)
        .find(|w| w.first().is_some_and(|x| x == name))
        .unwrap_or_else(|| panic!("no row `{name}`:\n{s}"));
    row.get(col)
        .cloned()
        .unwrap_or_else(|| panic!("row `{name}` has no column {col}: {row:?}"))
}

/// The event-log filter's match count in the title, for `word` at the cursor.
fn filter_count(m: &mut App, word: &str) -> u64 {
    ch(m, '5');
    ch(m, '/');
    for c in word.chars() {
        ch(m, c);
    }
    key(m, ratatui::crossterm::event::KeyCode::Enter);
    let s = screen(m, 120, 40);
    let title = line(&s, "matches in the whole run");
    let n = title.split(" · ").nth(1).and_then(|x| x.split(' ').next());
    let n: u64 = n.and_then(|x| x.parse().ok()).expect("a count");
    assert_eq!(Some(n as usize), m.filter_matches(0), "{title}");
    n
}

/// Kafka events of the run up to `t` that satisfy `pred` (from the kept trace).
fn kafka_events(sc: &Scenario, t: Time, pred: impl Fn(&KafkaEvent) -> bool) -> u64 {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    w.kept()
        .iter()
        .filter(|r| match &r.kind {
            TraceKind::Emit {
                event: NodeEvent::Kafka(e),
                ..
            } => pred(e),
            _ => false,
        })
        .count() as u64
}

/// Records removed by truncations up to `t`.
fn truncated(sc: &Scenario, t: Time) -> u64 {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(t, sc.max_events);
    w.kept()
        .iter()
        .map(|r| match &r.kind {
            TraceKind::Emit {
                event: NodeEvent::Kafka(e),
                ..
            } => match **e {
                KafkaEvent::Truncated { removed, .. } => removed,
                _ => 0,
            },
            _ => 0,
        })
        .sum()
}

/// `kafkasim check`'s count for `key` (a counter or an anomaly kind).
fn checked(r: &CheckReport, key: &str) -> u64 {
    get(&r.counters, key)
}

/// The number in `text` right after `label` (e.g. `hw 100`), as on screen.
fn after(text: &str, label: &str) -> String {
    let i = text
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in `{text}`"));
    text[i + label.len()..]
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_end_matches('│')
        .to_string()
}

/// The log-bar line of `broker` in the partitions view.
fn bar(s: &str, broker: u32) -> &str {
    line(s, &format!("broker {broker:<3}"))
}

#[path = "lessons/first.rs"]
mod first;
#[path = "lessons/last.rs"]
mod last;
#[path = "lessons/logs.rs"]
mod logs;
#[path = "lessons/middle.rs"]
mod middle;
#[path = "lessons/transactions.rs"]
mod transactions;

#[test]
fn every_lesson_is_listed_in_order_with_its_question_and_scenario() {
    // Proves `kafkasim list`/`lesson N` know every lesson file, in order, each with a
    // question and a main scenario its text names and that parses, and the README and the
    // lessons' index list the same lessons.
    let dir = format!("{}/docs/lessons", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|f| f.as_bytes()[0].is_ascii_digit())
        .collect();
    files.sort();
    assert!(files.len() >= 17, "{files:?}");
    assert_eq!(files.len(), LESSONS.len());
    let readme = std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR")));
    let index = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    for (i, (f, l)) in files.iter().zip(LESSONS).enumerate() {
        let n = i + 1;
        assert!(f.starts_with(&format!("{n:02}-")), "{f}");
        assert!(
            l.markdown.starts_with(&format!("# Lesson {n} — ")),
            "{f}: first line"
        );
        assert!(!l.question().is_empty(), "{f}: no question");
        assert!(text(f).contains(&format!("kafkasim lesson {n}")), "{f}");
        assert!(text(f).contains(l.scenario_path), "{f}");
        kafkasim::scenario::parse(l.scenario_text, l.scenario_path).expect("parses");
        for sec in ["## The idea", "## What to watch", "## Exercises"] {
            assert!(l.markdown.contains(sec), "{f}: no `{sec}`");
        }
        exercise(f, 1);
        exercise(f, 2);
        assert!(
            index.contains(&format!("({f})")),
            "lessons/README.md lacks {f}"
        );
        assert!(
            readme
                .as_ref()
                .unwrap()
                .contains(&format!("docs/lessons/{f}")),
            "README.md lacks {f}"
        );
    }
}

#[test]
fn lesson_without_a_terminal_says_so_and_exits_2() {
    // Proves `kafkasim lesson 1` with no terminal exits 2 with a message (no panic), and
    // `lesson 99` names the range of lessons; `list` shows lessons first, in order.
    let bin = env!("CARGO_BIN_EXE_kafkasim");
    let out = std::process::Command::new(bin)
        .args(["lesson", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
    let out = std::process::Command::new(bin)
        .args(["lesson", "99"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("1 to {}", LESSONS.len())), "{err}");
    let out = std::process::Command::new(bin)
        .arg("list")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let mut at = 0;
    for (i, l) in LESSONS.iter().enumerate() {
        let row = format!("{:>3}  {}\n       {}", i + 1, l.title(), l.question());
        let found = text[at..]
            .find(&row)
            .unwrap_or_else(|| panic!("{row}\n{text}"));
        at += found;
    }
    assert!(
        text.contains("scenarios/lessons/zombie-leader.toml"),
        "{text}"
    );
}
