//! The workbench tells the truth (issue 13): playback at real frame ticks over every
//! shipped scenario, the anomalies `kafkasim check` finds, figures in records equal to what
//! the runs did, layout at 80×24 and 200×60, the event log's whole-run filter and close
//! causes, and the workbench without a terminal.

mod common;
use common::*;

use kafkasim::scenario::parse;
use kafkasim::sim::TraceMode;
use kafkasim::tui::app::{update, App, Msg};
use kafkasim::tui::replay::{Replay, ReplayConfig};
use kafkasim::tui::{self, TuiArgs};
use kafkasim::view_model::MarkerKind;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Every shipped scenario (`scenarios/**/*.toml`), parsed.
fn shipped() -> Vec<(String, kafkasim::scenario::Scenario)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .as_path(),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 30, "{files:?}");
    files
        .into_iter()
        .map(|f| {
            let sc = kafkasim::scenario::load(&f).expect("a shipped scenario parses");
            (f.display().to_string(), sc)
        })
        .collect()
}

fn model_of(sc: kafkasim::scenario::Scenario) -> App {
    tui::app(TuiArgs {
        scenario: sc,
        seed: None,
        compare: None,
    })
    .expect("a shipped scenario builds")
}

/// One frame of real time, as the terminal loop ticks.
const FRAME_US: u64 = 33_000;

/// Plays `ticks` frames at 1 s of simulated time per second from the cursor and checks,
/// after each, that the clock moved by exactly one frame — or stopped at the run's end or
/// at a pausing note. Returns the number of frames played.
fn play_frames(m: &mut App, ticks: usize, file: &str) -> usize {
    m.speed_us = 1_000_000;
    if !m.playing {
        ch(m, ' ');
    }
    let end = m.play_end().as_us();
    let pauses: Vec<u64> = m
        .main()
        .scenario
        .notes
        .iter()
        .filter(|n| n.pause)
        .map(|n| n.at_us)
        .collect();
    for i in 0..ticks {
        let before = m.main().now().as_us();
        update(m, Msg::Tick(FRAME_US));
        let now = m.main().now().as_us();
        let expect = (before + FRAME_US).min(end);
        let paused_at_note =
            !m.playing && pauses.contains(&now) && now > before && now <= before + FRAME_US;
        assert!(
            now == expect || paused_at_note,
            "{file}: frame {i}: clock {before} -> {now}, expected {expect} (end {end}, notes {pauses:?})"
        );
        assert!(
            m.main().replay.world().now().as_us() <= now,
            "{file}: the world is never ahead of the clock"
        );
        if !m.playing {
            return i + 1;
        }
    }
    ticks
}

#[test]
fn playback_at_frame_ticks_never_stalls_in_any_scenario() {
    // Proves that in every shipped scenario, 33 ms frames at speed 1.0 move the displayed
    // clock by 33 ms each — through idle stretches too — and it stops only at a pausing
    // note's time or the run's end; playing on after a note continues from there.
    for (file, sc) in shipped() {
        let mut m = model_of(sc);
        let end = m.play_end().as_us();
        // From the start, then from the middle of the run, then on after any note pause.
        let played = play_frames(&mut m, 90, &file);
        let t = m.main().now();
        let s = screen(&mut m, 80, 24);
        assert!(
            text_has(&s, &format!("t = {t} of")),
            "{file}: header shows the clock {t}: {s}"
        );
        if m.playing {
            assert_eq!(t.as_us(), played as u64 * FRAME_US, "{file}");
        }
        ch(&mut m, ' ');
        if m.playing {
            play_frames(&mut m, 30, &file);
        }
        m.playing = false;
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Home, KeyModifiers::NONE)),
        );
        let mid = kafkasim::sim::Time(end / 2);
        m.sides[0].seek_time(mid);
        assert_eq!(
            m.main().now(),
            mid,
            "{file}: a seek to a time shows that time"
        );
        play_frames(&mut m, 45, &file);
        // A second before each pausing note: playback stops at the note's time, shows it.
        let notes: Vec<u64> = m
            .main()
            .scenario
            .notes
            .iter()
            .filter(|n| n.pause)
            .map(|n| n.at_us)
            .collect();
        for at in notes.into_iter().filter(|at| *at <= end) {
            m.playing = false;
            m.sides[0].seek_time(kafkasim::sim::Time(at.saturating_sub(1_000_000)));
            play_frames(&mut m, 60, &file);
            assert!(!m.playing, "{file}: stopped");
            assert_eq!(m.main().now().as_us(), at, "{file}: stopped at the note");
            assert!(
                m.active_note().is_some_and(|n| n.at_us == at),
                "{file}: note shown"
            );
        }
    }
}

/// Anomaly counts by kind, in order of first appearance: `none` or `2 lost-write, 1 unseen`.
fn kinds_text<'a>(kinds: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for k in kinds {
        match counts.iter_mut().find(|(x, _)| *x == k) {
            Some((_, n)) => *n += 1,
            None => counts.push((k, 1)),
        }
    }
    if counts.is_empty() {
        return "none".to_string();
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn the_workbench_shows_the_anomalies_check_finds_in_every_scenario() {
    // Proves the anomalies on screen are `kafkasim check`'s (its library function, drain
    // included) for every shipped scenario: same kinds, same counts, same descriptions.
    for (file, sc) in shipped() {
        let report = kafkasim::runner::check_scenario(&sc, sc.seed);
        let want = kinds_text(report.anomalies.iter().map(|a| a.kind.as_str()));
        let mut m = model_of(sc);
        let got: Vec<(String, String)> = m
            .main()
            .replay
            .anomalies()
            .iter()
            .map(|a| (a.kind.clone(), a.description.clone()))
            .collect();
        let expect: Vec<(String, String)> = report
            .anomalies
            .iter()
            .map(|a| (a.kind.as_str().to_string(), a.description.clone()))
            .collect();
        assert_eq!(got, expect, "{file}");
        ch(&mut m, '7');
        let s = screen(&mut m, 200, 60);
        assert!(
            text_has(&s, &format!("total: {want}")),
            "{file}: want `total: {want}`: {s}"
        );
        // The drain's length on screen is the one `check` ran.
        let head = match report.drain_ms {
            Some(ms) => format!(
                "kafkasim check's verdict on the whole run and a {} drain phase",
                kafkasim::runner::drain_text(ms)
            ),
            None => "kafkasim check's verdict on the whole run:".to_string(),
        };
        assert!(text_has(&s, &head), "{file}: want `{head}`: {s}");
    }
}

#[test]
fn a_healthy_kafka_run_shows_no_anomaly() {
    // Proves kafka-callee-down (healthy: the consumer catches up after its outage) shows
    // none, as `check` says, in the anomalies view and in compare mode.
    let sc = parse(
        include_str!("../scenarios/kafka-callee-down.toml"),
        "kafka-callee-down.toml",
    )
    .unwrap();
    let rpc = parse(
        include_str!("../scenarios/rpc-callee-down.toml"),
        "rpc-callee-down.toml",
    )
    .unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: sc,
        seed: None,
        compare: Some(rpc),
    })
    .unwrap();
    let s = screen(&mut m, 80, 24);
    let row = s
        .lines()
        .find(|l| l.contains("anomalies (check, total)"))
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(row.matches("none").count(), 2, "{row}");
    ch(&mut m, '7');
    let s = screen(&mut m, 80, 24);
    assert!(text_has(&s, "total: none"), "{s}");
}

/// The figures of the row labelled `label` on screen, one per run.
fn row_values(s: &str, label: &str) -> Vec<String> {
    let row = s
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` row: {s}"));
    let rest = &row[row.find(label).unwrap() + label.len()..];
    rest.split_whitespace()
        .filter(|w| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || c == '-')
        })
        .map(str::to_string)
        .collect()
}

/// Records acknowledged by simulated time `t` in a straight run of `sc` (the history's
/// `SendOk`s), and in the whole run as `kafkasim run` counts them.
fn acked_by(sc: &kafkasim::scenario::Scenario, t: u64) -> u64 {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::HashOnly).unwrap();
    w.run_until(kafkasim::sim::Time(t), sc.max_events);
    w.kept()
        .iter()
        .filter(|r| {
            r.time.as_us() <= t
                && matches!(
                    &r.kind,
                    kafkasim::sim::TraceKind::Emit {
                        event: kafkasim::workload::event::NodeEvent::History(
                            kafkasim::workload::history::HistoryOp::SendOk { .. }
                        ),
                        ..
                    }
                )
        })
        .count() as u64
}

#[test]
fn compare_sync_async_shows_async_ahead_in_records_per_second() {
    // Proves `tui send-sync.toml --compare send-async.toml` at 80×24 shows, on one screen,
    // records acknowledged and records acknowledged per second equal to what the runs did,
    // with async more than 20× ahead — at the end and part-way through.
    let a = parse(
        include_str!("../scenarios/send-sync.toml"),
        "send-sync.toml",
    )
    .unwrap();
    let b = parse(
        include_str!("../scenarios/send-async.toml"),
        "send-async.toml",
    )
    .unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: a.clone(),
        seed: None,
        compare: Some(b.clone()),
    })
    .unwrap();
    let s = screen(&mut m, 80, 24);
    assert_eq!(
        row_values(&s, "records acked/s (avg)"),
        vec!["-", "-"],
        "no rate at t = 0: {s}"
    );
    for t in [1_000_000u64, 4_000_000] {
        m.sides[0].seek_time(kafkasim::sim::Time(t));
        let b_side = &mut m.sides[1];
        b_side.seek_time(kafkasim::sim::Time(t));
        let s = screen(&mut m, 80, 24);
        let (acked_a, acked_b) = (acked_by(&a, t), acked_by(&b, t));
        assert_eq!(
            row_values(&s, "records acknowledged"),
            vec![acked_a.to_string(), acked_b.to_string()],
            "{s}"
        );
        let rates = row_values(&s, "records acked/s (avg)");
        let (ra, rb) = (acked_a * 1_000_000 / t, acked_b * 1_000_000 / t);
        assert_eq!(rates[0], ra.to_string(), "{s}");
        assert_eq!(rates[1], rb.to_string(), "{s}");
        assert!(rb > 20 * ra, "async {rb}/s vs sync {ra}/s");
        assert!(
            text_has(&s, &format!("({}× A)", (rb as f64 / ra as f64).round())),
            "{s}"
        );
    }
    key(&mut m, KeyCode::End);
    let s = screen(&mut m, 80, 24);
    let run = |sc: &kafkasim::scenario::Scenario| {
        kafkasim::runner::run(sc, sc.seed, TraceMode::HashOnly)
            .unwrap()
            .1
            .counters["acked"]
    };
    assert_eq!(
        row_values(&s, "records acknowledged"),
        vec![run(&a).to_string(), run(&b).to_string()],
        "{s}"
    );
}

#[test]
fn rpc_figures_are_the_runs_calls_ok_failed_and_timed_out() {
    // Proves the synchronous RPC run shows the calls `kafkasim run` counts (ok, failed)
    // and the attempts that timed out, in the clients view and in compare mode.
    let sc = parse(
        include_str!("../scenarios/rpc-callee-down.toml"),
        "rpc-callee-down.toml",
    )
    .unwrap();
    let counters = kafkasim::runner::run(&sc, sc.seed, TraceMode::HashOnly)
        .unwrap()
        .1
        .counters;
    let (ok, failed) = (counters["rpc-ok"], counters["rpc-failures"]);
    assert!(ok > 1000 && failed > 0, "{counters:?}");
    let kafka = parse(
        include_str!("../scenarios/kafka-callee-down.toml"),
        "kafka-callee-down.toml",
    )
    .unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: sc,
        seed: None,
        compare: Some(kafka),
    })
    .unwrap();
    key(&mut m, KeyCode::End);
    let s = screen(&mut m, 80, 24);
    let row = s
        .lines()
        .find(|l| l.contains("rpc ok/failed/timed-out"))
        .unwrap();
    assert!(row.contains(&format!("{ok} / {failed} / ")), "{row}");
    ch(&mut m, '3');
    let s = screen(&mut m, 200, 60);
    assert!(text_has(&s, "Clients · A"), "{s}");
    assert!(!text_has(&s, "No clients in this run"), "{s}");
    let line = s
        .lines()
        .find(|l| l.contains("billing-caller"))
        .unwrap_or_else(|| panic!("{s}"));
    let nums: Vec<&str> = line.split_whitespace().collect();
    assert!(
        nums.contains(&ok.to_string().as_str()) && nums.contains(&failed.to_string().as_str()),
        "{line}"
    );
}

#[test]
#[ignore]
fn dump_issue13_screens() {
    // Prints the screens issue 13 is about, for a look by eye (-- --ignored --nocapture).
    let a = parse(
        include_str!("../scenarios/send-sync.toml"),
        "send-sync.toml",
    )
    .unwrap();
    let b = parse(
        include_str!("../scenarios/send-async.toml"),
        "send-async.toml",
    )
    .unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: a,
        seed: None,
        compare: Some(b),
    })
    .unwrap();
    m.sides[0].seek_time(kafkasim::sim::Time(2_000_000));
    m.sides[1].seek_time(kafkasim::sim::Time(2_000_000));
    println!("{}", screen(&mut m, 80, 24));
    for v in ['2', '3', '6'] {
        ch(&mut m, v);
        println!("{}", screen(&mut m, 80, 24));
    }
    let sc = parse(include_str!("../scenarios/acks1-leader-failover.toml"), "a").unwrap();
    let mut m = model_of(sc);
    println!("{}", screen(&mut m, 80, 24));
    ch(&mut m, '2');
    println!("{}", screen(&mut m, 80, 24));
    m.sides[0].seek_time(kafkasim::sim::Time(7_000_000));
    println!("{}", screen(&mut m, 80, 24));
    ch(&mut m, '6');
    println!("{}", screen(&mut m, 80, 24));
    println!("{}", screen(&mut m, 200, 60));
    for v in ['1', '3', '4'] {
        ch(&mut m, v);
        println!("{}", screen(&mut m, 80, 24));
    }
    let mut m = faults_model();
    ch(&mut m, '5');
    for c in "disconnect".chars() {
        ch(&mut m, c);
    }
    println!("{}", screen(&mut m, 200, 60));
}

fn failover_model() -> App {
    scenario_model(
        "acks1-leader-failover.toml",
        include_str!("../scenarios/acks1-leader-failover.toml"),
    )
}

#[test]
fn screen_80x24_cuts_nothing_essential() {
    // Proves at 80×24: the footer's key hints and a long status line are whole, the
    // partitions view names brokers by id (Replicas 1,2,3 and Isr), and in compare mode
    // each half keeps Isr, ACKED and P99.
    let mut m = failover_model();
    m.sides[0].seek_time(kafkasim::sim::Time(3_000_000));
    ch(&mut m, '2');
    m.status =
        "fault: kill broker-2 (the leader of orders-0, chosen at 8.000s) — see the log".to_string();
    let s = screen(&mut m, 80, 24);
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[22].contains(&m.status), "status whole: {s}");
    assert!(lines[23].contains("? help · q quit"), "hints whole: {s}");
    let head = lines.iter().find(|l| l.contains("Replicas")).unwrap();
    assert!(head.contains("Isr"), "{s}");
    let p = &m.main().snapshot.partitions[0];
    let ids = |v: &[u32]| {
        v.iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let row = lines.iter().find(|l| l.contains("orders ")).unwrap();
    assert!(
        row.contains(&ids(&p.replicas)) && row.contains(&ids(&p.isr)),
        "{row}"
    );
    assert!(
        !s.contains("broker-2,"),
        "no long names in the Replicas column: {s}"
    );
    let a = parse(
        include_str!("../scenarios/send-sync.toml"),
        "send-sync.toml",
    )
    .unwrap();
    let b = parse(
        include_str!("../scenarios/send-async.toml"),
        "send-async.toml",
    )
    .unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: a,
        seed: None,
        compare: Some(b),
    })
    .unwrap();
    m.sides[0].seek_time(kafkasim::sim::Time(2_000_000));
    m.sides[1].seek_time(kafkasim::sim::Time(2_000_000));
    ch(&mut m, '2');
    let s = screen(&mut m, 80, 24);
    let head = s
        .lines()
        .find(|l| l.contains("Replicas"))
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(head.matches("Isr").count(), 2, "Isr in both halves: {s}");
    ch(&mut m, '3');
    let s = screen(&mut m, 80, 24);
    let head = s
        .lines()
        .find(|l| l.contains("PRODUCER"))
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(head.matches("ACKED").count(), 2, "{s}");
    assert_eq!(head.matches("P99").count(), 2, "{s}");
    for (i, side) in m.sides.iter().enumerate() {
        let acked = side.snapshot.producers[0].acked.to_string();
        let row = s.lines().find(|l| l.contains("checkout")).unwrap();
        let half: String = if i == 0 {
            row.chars().take(40).collect()
        } else {
            row.chars().skip(40).collect()
        };
        assert!(half.contains(&acked), "{half} shows {acked}");
    }
}

#[test]
fn screen_200x60_uses_the_room() {
    // Proves at 200×60 the charts view draws every chart it has (none left over), the
    // event log sits beside the view, and the footer shows the long key hints.
    let mut m = failover_model();
    m.sides[0].seek_time(kafkasim::sim::Time(7_000_000));
    ch(&mut m, '6');
    let s = screen(&mut m, 200, 60);
    assert!(!text_has(&s, "more chart(s)"), "{s}");
    for title in [
        "records/s",
        "send()→ack latency ms",
        "consumer lag",
        "UnderReplicatedPartitions",
        "IsrShrinksPerSec",
        "wire messages/s",
    ] {
        assert!(text_has(&s, title), "{title}: {s}");
    }
    assert!(text_has(&s, "Event log"), "{s}");
    assert!(text_has(&s, "e E election"), "{s}");
}

#[test]
fn screen_partitions_of_a_kafka_run_at_t0_and_with_a_dead_broker() {
    // Proves a Kafka run at t = 0 lists the topics to be created (not the ping text), and a
    // killed leader's replica shows DOWN with the log end its disk holds — the LEO it had
    // when it was killed — not `hw 0 leo 0`.
    let mut m = failover_model();
    ch(&mut m, '2');
    let s = screen(&mut m, 80, 24);
    assert!(!text_has(&s, "ping"), "{s}");
    assert!(
        text_has(&s, "orders: 1 partition(s), replication factor 3"),
        "{s}"
    );
    let kill = m
        .main()
        .replay
        .markers()
        .iter()
        .find(|mk| mk.kind == MarkerKind::Fault && mk.label.starts_with("kill"))
        .unwrap()
        .event;
    m.sides[0].seek(kill - 1);
    let p = m.main().snapshot.partitions[0].clone();
    let leader = p.leader.unwrap();
    let leo = p.logs.iter().find(|l| l.broker == leader).unwrap().leo;
    assert!(leo > 0);
    m.sides[0].seek_time(kafkasim::sim::Time(12_000_000));
    let s = screen(&mut m, 80, 24);
    let line = s
        .lines()
        .find(|l| l.contains(&format!("broker {leader} ")))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        line.contains(&format!("DOWN: log on disk leo {leo}")),
        "{line}"
    );
    assert!(!text_has(&s, "hw 0 leo 0"), "{s}");
}

/// Records of a full-trace run of `sc` for which `pick` holds.
fn count_in_full_trace(
    sc: &kafkasim::scenario::Scenario,
    pick: impl Fn(&kafkasim::sim::TraceRecord<kafkasim::workload::event::NodeEvent>) -> bool,
) -> usize {
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::Full).unwrap();
    w.run_until(kafkasim::sim::Time(sc.duration_us), sc.max_events);
    w.trace().records().iter().filter(|r| pick(r)).count()
}

fn kafka_kind(
    r: &kafkasim::sim::TraceRecord<kafkasim::workload::event::NodeEvent>,
) -> Option<&'static str> {
    match &r.kind {
        kafkasim::sim::TraceKind::Emit {
            event: kafkasim::workload::event::NodeEvent::Kafka(e),
            ..
        } => Some(kafkasim::view_model::figures::kafka_name(e)),
        _ => None,
    }
}

fn type_filter(m: &mut App, text: &str) {
    ch(m, '/');
    for c in text.chars() {
        ch(m, c);
    }
    key(m, KeyCode::Enter);
}

#[test]
fn the_filter_searches_the_whole_run_by_kafka_names_and_counts() {
    // Proves the event log's filter finds records anywhere in the run (not only near the
    // cursor), matches Kafka's names for event kinds ignoring case and dashes, and says how
    // many records match — the number a full trace of the run has.
    let sc = parse(
        include_str!("../scenarios/acks1-leader-failover.toml"),
        "a.toml",
    )
    .unwrap();
    let mut m = failover_model();
    ch(&mut m, '5');
    for (query, kind) in [
        ("HighWatermark", "HighWatermark"),
        ("leaderelected", "LeaderElected"),
        ("TRUNCATED", "Truncated"),
        ("isr-changed", "IsrChanged"),
    ] {
        let want = count_in_full_trace(&sc, |r| kafka_kind(r) == Some(kind));
        assert!(want > 0, "{kind}");
        type_filter(&mut m, query);
        assert_eq!(m.filter_matches(0), Some(want), "{query}");
        let s = screen(&mut m, 120, 30);
        let word = if want == 1 { "match" } else { "matches" };
        assert!(
            text_has(&s, &format!("{want} {word} in the whole run")),
            "{query}: {s}"
        );
        let lines = m.filtered_log(0);
        assert!(
            !lines.is_empty(),
            "{query}: matches listed even far from the cursor at 0"
        );
        key(&mut m, KeyCode::Esc);
    }
    // Words are AND-ed: drops to or from broker-1.
    let b1 = m.main().replay.world().find("broker-1").unwrap();
    let want = count_in_full_trace(
        &sc,
        |r| matches!(r.kind, kafkasim::sim::TraceKind::Drop { from, to, .. } if from == b1 || to == b1),
    );
    type_filter(&mut m, "drop broker-1");
    assert_eq!(m.filter_matches(0), Some(want));
    assert!(want > 0);
}

#[test]
fn connection_closes_are_explained_by_their_cause() {
    // Proves no close in ping-faults (where no process dies) is blamed on a dead process:
    // the client-side closes are the reset fault and the heal after the one-way cut, the
    // server-side ones clients that gave up on a request.
    let mut m = faults_model();
    ch(&mut m, '5');
    type_filter(&mut m, "disconnect");
    let n = m.filter_matches(0).unwrap();
    assert!(n > 0);
    let mut seen = std::collections::BTreeSet::new();
    // Walk the run so every match gets listed near the cursor at some point.
    for t in (0..=12).map(|s| s * 1_000_000) {
        m.sides[0].seek_time(kafkasim::sim::Time(t));
        for l in m.filtered_log(0) {
            assert!(!l.text.contains("died"), "{}", l.text);
            assert!(l.text.contains("close: "), "{}", l.text);
            let cause_ok = l.text.contains("reset (fault at 12.000s)")
                || l.text.contains("network healed")
                || l.text.contains("request-timeout timer had fired");
            assert!(cause_ok, "{}", l.text);
            if l.text.starts_with("client") {
                assert!(
                    !l.text.contains("timer"),
                    "a server never gives up: {}",
                    l.text
                );
            }
            seen.insert((l.event, l.text.clone()));
        }
    }
    assert_eq!(seen.len(), n, "every close explained");
    assert!(seen.iter().any(|(_, t)| t.contains("reset")));
    assert!(seen.iter().any(|(_, t)| t.contains("healed")));
}

#[test]
fn a_window_moving_forward_is_extended_not_rebuilt_and_stays_exact() {
    // Proves the trace window near the cursor, extended as the cursor moves forward,
    // equals a full trace of the same events.
    let sc = ping_faults();
    let mut full = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::Full).unwrap();
    full.run_until(kafkasim::sim::Time(sc.duration_us), sc.max_events);
    let w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
    let cfg = ReplayConfig {
        every: 1000,
        end: kafkasim::sim::Time(sc.duration_us),
        max_events: sc.max_events,
        ..ReplayConfig::default()
    };
    let mut r = Replay::new(w, cfg);
    let want = |lo: u64, hi: u64| -> Vec<_> {
        full.trace()
            .records()
            .iter()
            .filter(|x| (lo..=hi).contains(&x.event))
            .cloned()
            .collect()
    };
    for (lo, hi) in [
        (4990, 5200),
        (5000, 5400),
        (5100, 7300),
        (2000, 2100),
        (2050, 2200),
    ] {
        assert_eq!(r.records(lo, hi).to_vec(), want(lo, hi), "{lo}..={hi}");
    }
    assert_eq!(
        r.records_of(&[3, 999, 1000, 1001, 8000]),
        full.trace()
            .records()
            .iter()
            .filter(|x| [3, 999, 1000, 1001, 8000].contains(&x.event))
            .cloned()
            .collect::<Vec<_>>()
    );
}

#[test]
fn tui_without_a_terminal_says_so_and_exits_2() {
    // Proves `kafkasim tui FILE` with stdin and stdout piped (no terminal) explains why it
    // cannot start and exits 2 without a panic; a bare `kafkasim` still runs the default
    // lesson and prints its summary.
    use std::process::{Command, Stdio};
    let dir = env!("CARGO_MANIFEST_DIR");
    for args in [
        vec!["tui", "scenarios/send-sync.toml"],
        vec!["tui"],
        vec![
            "tui",
            "scenarios/ping-demo.toml",
            "--compare",
            "scenarios/ping-faults.toml",
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
            .args(&args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("needs a terminal"), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not in a terminal") && text.contains("trace hash"),
        "{text}"
    );
}

#[test]
fn kafkas_sender_metrics_on_screen_are_what_the_run_sent_and_waited() {
    // Proves `record-send-total` and `request-latency-avg` in the clients view are the
    // records the producer put in Produce requests and the mean request → response time,
    // both read independently from the full trace of the fault-free async run (where every
    // request is answered, so Σ latency = Σ response arrivals − Σ request sends).
    let sc = parse(
        include_str!("../scenarios/send-async.toml"),
        "send-async.toml",
    )
    .unwrap();
    let mut w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::Full).unwrap();
    w.run_until(kafkasim::sim::Time(sc.duration_us), sc.max_events);
    let (mut sent_us, mut sent_n, mut back_us, mut back_n, mut acked) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for r in w.trace().records() {
        match &r.kind {
            kafkasim::sim::TraceKind::Deliver {
                msg: "Produce",
                sent,
                ..
            } => {
                sent_us += sent.as_us();
                sent_n += 1;
            }
            kafkasim::sim::TraceKind::Deliver {
                msg: "ProduceResponse",
                ..
            } => {
                back_us += r.time.as_us();
                back_n += 1;
            }
            kafkasim::sim::TraceKind::Emit {
                event: kafkasim::workload::event::NodeEvent::Kafka(e),
                ..
            } => {
                if let kafkasim::kafka::KafkaEvent::ProduceAcked { records, .. } = &**e {
                    acked += u64::from(*records);
                }
            }
            _ => {}
        }
    }
    assert!(
        sent_n > 100 && sent_n == back_n,
        "{sent_n} requests, {back_n} responses"
    );
    assert_eq!(acked, 100_000);
    let avg = kafkasim::sim::Time((back_us - sent_us) / back_n);
    let mut m = model_of(sc);
    key(&mut m, KeyCode::End);
    ch(&mut m, '3');
    let s = screen(&mut m, 120, 40);
    assert!(text_has(&s, &format!("record-send-total {acked} ")), "{s}");
    assert!(text_has(&s, &format!("request-latency-avg {avg} ")), "{s}");
}

#[test]
fn failed_produce_requests_per_sec_counts_what_kafka_counts() {
    // Proves the chart's `FailedProduceRequestsPerSec` is the leaders' NOT_ENOUGH_REPLICAS
    // rejections in the run (Kafka's `ReplicaManager` marks the meter for those, not for
    // NOT_LEADER_OR_FOLLOWER), and that the run has some.
    let sc = parse(
        include_str!("../scenarios/min-isr-rejects.toml"),
        "min-isr-rejects.toml",
    )
    .unwrap();
    let expected = count_in_full_trace(&sc, |r| {
        matches!(&r.kind, kafkasim::sim::TraceKind::Emit {
            event: kafkasim::workload::event::NodeEvent::Kafka(e), ..
        } if matches!(&**e, kafkasim::kafka::KafkaEvent::ProduceRejected {
            error: kafkasim::kafka::ErrorCode::NotEnoughReplicas, ..
        }))
    });
    assert!(expected > 0);
    let m = model_of(sc);
    let series = m.sides[0].replay.series();
    let shown: u64 = series
        .counts(kafkasim::view_model::series::FAILED_PRODUCE)
        .iter()
        .sum();
    assert_eq!(shown, expected as u64);
}

#[test]
fn cluster_view_at_80_columns_wraps_roles_and_charts_legends_instead_of_cutting() {
    // Proves at 80×24 the cluster view shows each node's whole role (wrapped onto indented
    // lines, never `…`), and the charts' legends keep every line's name (wrapped above
    // the chart when two charts share 80 columns).
    let mut m = failover_model();
    m.sides[0].seek_time(kafkasim::sim::Time(3_000_000));
    ch(&mut m, '1');
    let s = screen(&mut m, 80, 24);
    assert!(!s.contains('…'), "{s}");
    for n in &m.main().snapshot.nodes {
        let words: Vec<&str> = n.role.split(' ').collect();
        let last = words.last().unwrap();
        assert!(
            text_has(&s, last),
            "the end of {}'s role `{}`: {s}",
            n.name,
            n.role
        );
    }
    ch(&mut m, '6');
    let s = screen(&mut m, 80, 24);
    for name in [
        "acknowledged",
        "consumed",
        "record-send-rate",
        "p99",
        "request-latency-avg",
    ] {
        assert!(text_has(&s, name), "legend `{name}`: {s}");
    }
}

#[test]
fn the_big_cluster_scenario_shows_what_its_controller_knows() {
    // Proves scenarios/scale/big-cluster.toml (100 brokers, 10,000 partitions, broker-7
    // killed at 2 s) opens, and at its end the partitions view's summary is the controller's
    // own metadata: every partition with a replica on the dead broker under-replicated (its
    // ISR shrunk to the two others: 300 partitions), none offline; `/ under` lists them.
    let sc = kafkasim::scenario::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/scale/big-cluster.toml"
    )))
    .unwrap();
    let mut m = model_of(sc);
    ch(&mut m, 'G');
    ch(&mut m, '2');
    let world = m.main().replay.world();
    let c = world.find("controller").unwrap();
    let image = &world.node(c).as_controller().unwrap().image;
    let (mut under, mut offline, mut on_7) = (0, 0, 0);
    let events = image
        .partitions
        .iter()
        .filter(|(tp, _)| &*tp.topic == "events");
    let mut n = 0;
    for (_, p) in events {
        n += 1;
        match p.leader {
            None => offline += 1,
            Some(_) if p.isr.len() < p.replicas.len() => under += 1,
            Some(_) => {}
        }
        let dead = kafkasim::kafka::BrokerId(7);
        on_7 += usize::from(p.replicas.contains(&dead));
        assert!(!p.isr.contains(&dead), "broker 7 fenced out of every ISR");
    }
    assert_eq!((n, under, offline), (10_000, on_7, 0));
    assert_eq!(under, 300);
    let s = screen(&mut m, 180, 50);
    let want = format!("events: 10000 partitions · {under} under-replicated · {offline} offline");
    assert!(text_has(&s, &want), "{s}");
    ch(&mut m, '/');
    for c in "under".chars() {
        ch(&mut m, c);
    }
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    let s = screen(&mut m, 180, 50);
    assert!(
        text_has(&s, &format!("filter `under`: {under} of 10000 partitions")),
        "{s}"
    );
}
