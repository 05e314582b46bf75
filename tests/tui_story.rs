//! The workbench explains what it shows (issue 13, items 4–6): a new user answers "when was
//! the acknowledged record lost, and why?" on the default lesson in a handful of keys, and
//! the story on screen is the trace's; the timeline folds markers, keeps the rare ones
//! visible and explains its letters; the opening screen orients.

mod common;
use common::*;

use kafkasim::kafka::{KafkaEvent, TopicPartition};
use kafkasim::sim::{Time, TraceKind, TraceMode};
use kafkasim::tui::app::{App, Overlay, View};
use kafkasim::view_model::story::StepKind;
use kafkasim::view_model::MarkerKind;
use kafkasim::workload::event::NodeEvent;
use kafkasim::workload::history::HistoryOp;
use ratatui::crossterm::event::KeyCode;

fn default_lesson() -> App {
    kafkasim::tui::app(kafkasim::tui::TuiArgs {
        scenario: kafkasim::tui::default_scenario(),
        seed: None,
        compare: None,
    })
    .expect("the default lesson builds")
}

/// What the full trace of the default lesson says about the first lost write.
struct Truth {
    value: u64,
    offset: i64,
    ack: Time,
    append_by: String,
    partition_at: Time,
    kill_at: Time,
    elected: (String, Time, i64),
    truncated: (String, Time),
}

fn truth(m: &App) -> Truth {
    let sc = &m.main().scenario;
    let mut w = kafkasim::scenario::build::build(sc, sc.seed, TraceMode::Full).unwrap();
    w.run_until(Time(sc.duration_us), sc.max_events);
    let recs = w.take_trace_records();
    let name = |id: kafkasim::sim::NodeId| w.name(id).to_string();
    let a = &m.main().replay.anomalies()[0];
    assert_eq!(a.kind, "lost-write");
    let (value, offset) = (a.records[0].3, a.records[0].2);
    let tp = TopicPartition::new("orders", 0);
    let kafka = |r: &kafkasim::sim::TraceRecord<NodeEvent>| match &r.kind {
        TraceKind::Emit {
            node,
            event: NodeEvent::Kafka(e),
        } => Some((*node, (**e).clone())),
        _ => None,
    };
    let ack = recs
        .iter()
        .find(|r| {
            matches!(&r.kind, TraceKind::Emit { event: NodeEvent::History(HistoryOp::SendOk { value: v, .. }), .. } if *v == value)
        })
        .unwrap();
    let append = recs
        .iter()
        .filter(|r| r.event <= ack.event)
        .filter_map(|r| kafka(r).map(|k| (r, k)))
        .rfind(|(_, (_, e))| matches!(e, KafkaEvent::Appended { tp: t, base_offset, records, .. } if *t == tp && base_offset.0 <= offset && offset < base_offset.0 + *records as i64))
        .unwrap();
    let fault = |verb: &str| {
        recs.iter()
            .find(|r| matches!(&r.kind, TraceKind::Fault(f) if f.verb == verb))
            .unwrap()
            .time
    };
    let (el_rec, el) = recs
        .iter()
        .filter(|r| r.event > ack.event)
        .filter_map(|r| kafka(r).map(|k| (r, k)))
        .find(|(_, (_, e))| matches!(e, KafkaEvent::LeaderElected { tp: t, .. } if *t == tp))
        .unwrap();
    let KafkaEvent::LeaderElected {
        leader,
        leader_epoch,
        ..
    } = el.1
    else {
        unreachable!()
    };
    let leo = recs
        .iter()
        .filter_map(kafka)
        .find_map(|(_, e)| match e {
            KafkaEvent::BecameLeader {
                tp: t,
                leader_epoch: ep,
                leo,
            } if t == tp && ep == leader_epoch => Some(leo),
            _ => None,
        })
        .unwrap();
    let (tr_rec, tr) = recs
        .iter()
        .filter(|r| r.event > ack.event)
        .filter_map(|r| kafka(r).map(|k| (r, k)))
        .rfind(|(_, (_, e))| matches!(e, KafkaEvent::Truncated { tp: t, to, from_leo, .. } if *t == tp && to.0 <= offset && offset < from_leo.0))
        .unwrap();
    Truth {
        value,
        offset,
        ack: ack.time,
        append_by: name(append.1 .0),
        partition_at: fault("partition"),
        kill_at: fault("kill"),
        elected: (format!("broker-{leader}"), el_rec.time, leo.0),
        truncated: (name(tr.0), tr_rec.time),
    }
}

/// The screen line that holds all of `parts`.
fn line_with<'a>(s: &'a str, parts: &[&str]) -> &'a str {
    s.lines()
        .find(|l| parts.iter().all(|p| l.contains(p)))
        .unwrap_or_else(|| panic!("no line with {parts:?}:\n{s}"))
}

#[test]
fn when_and_why_was_the_acknowledged_record_lost_in_three_keys() {
    // Proves that from the opening screen of the default lesson three keys (7, Enter,
    // Enter) show when the acknowledged record was lost and why — acked by the leader
    // with its HW below the offset, the leader cut off and killed, a replica elected whose
    // LEO lacks it, the truncation — each step's time equal to the full trace's, and land
    // the clock on the loss. At 80×24.
    let mut m = default_lesson();
    let t = truth(&m);
    let mut keys = 0;
    ch(&mut m, '7');
    keys += 1;
    let s = screen(&mut m, 80, 24);
    // The anomaly row says when it was acknowledged and when it was lost.
    line_with(
        &s,
        &[
            "lost-write",
            &format!("acked {}", t.ack),
            &format!("lost {}", t.truncated.1),
        ],
    );
    // The story, inline, step by step with the trace's times.
    let steps: [(&Time, Vec<String>); 6] = [
        (
            &t.partition_at,
            vec![format!("{} cut off from", t.append_by)],
        ),
        (&t.ack, vec![format!("by {}", t.append_by), "HW".into()]),
        (&t.kill_at, vec![format!("kill {}", t.append_by)]),
        (
            &t.elected.1,
            vec![
                format!("elected {}", t.elected.0),
                format!("LEO {} ≤ {}", t.elected.2, t.offset),
            ],
        ),
        (
            &t.truncated.1,
            vec!["LOST".into(), format!("{} truncated", t.truncated.0)],
        ),
        (&t.ack, vec!["acks=1".into()]),
    ];
    for (time, words) in &steps {
        let mut parts = vec![format!("{time:>9}")];
        parts.extend(words.iter().cloned());
        let p: Vec<&str> = parts.iter().map(|x| x.as_str()).collect();
        line_with(&s, &p);
    }
    assert!(t.elected.2 <= t.offset, "the new leader lacked the record");
    // Enter opens the story with the loss selected; Enter again jumps there.
    key(&mut m, KeyCode::Enter);
    keys += 1;
    assert!(matches!(m.overlay, Overlay::Story { .. }));
    let s = screen(&mut m, 80, 24);
    line_with(&s, &[&format!("value {}", t.value)]);
    key(&mut m, KeyCode::Enter);
    keys += 1;
    assert_eq!(m.main().now(), t.truncated.1, "the clock at the loss");
    let s = screen(&mut m, 80, 24);
    assert!(s.contains(&format!("t = {} of", t.truncated.1)), "{s}");
    assert!(keys <= 6, "{keys} keys");
}

#[test]
fn a_story_step_jumps_by_its_number_and_unknown_steps_say_so() {
    // Proves a step's number jumps to that step's event, and a step the trace lacks is
    // marked unknown instead of invented (a hand-picked anomaly kind without a story).
    let mut m = default_lesson();
    ch(&mut m, '7');
    key(&mut m, KeyCode::Enter);
    let st = m.main().story(0).unwrap().clone();
    let i = st
        .steps
        .iter()
        .position(|s| s.kind == StepKind::Elected)
        .unwrap();
    ch(&mut m, char::from(b'1' + i as u8));
    assert_eq!(Some(m.main().replay.cursor()), st.steps[i].event);
    assert_eq!(m.overlay, Overlay::None);
    // The nonmonotonic-send findings have no causal story: the events are listed and the
    // rest is said to be unknown.
    let n = m.main().replay.anomalies().len();
    key(&mut m, KeyCode::End);
    for _ in 0..n {
        key(&mut m, KeyCode::Down);
    }
    let last = m.selected_anomaly().unwrap();
    let a = m.main().replay.anomalies()[last].clone();
    assert_eq!(a.kind, "nonmonotonic-send");
    let st = m.main().story(last).unwrap();
    assert!(st.steps.iter().any(|s| s.kind == StepKind::Unknown));
    assert_eq!(st.steps[0].event, Some(a.event));
    let s = screen(&mut m, 80, 24);
    assert!(s.contains("unknown: no causal story"), "{s}");
}

#[test]
fn the_timeline_folds_600_lost_writes_into_one_stop() {
    // Proves `]` walks marker groups: from the start, a handful of presses pass the 600
    // lost-write markers as one group, which the timeline draws as `!600`; Enter there
    // lists all 600 and jumps to the one picked.
    let mut m = default_lesson();
    let r = &m.main().replay;
    let lost = r
        .markers()
        .iter()
        .filter(|x| x.kind == MarkerKind::Anomaly && x.label.starts_with("lost-write"))
        .count();
    assert_eq!(lost, 600);
    let s = screen(&mut m, 80, 24);
    assert!(s.lines().nth(3).unwrap().contains("!600"), "{s}");
    let mut presses = 0;
    while !m.status.contains("anomaly ×600") {
        ch(&mut m, ']');
        presses += 1;
        assert!(presses < 8, "{}", m.status);
    }
    let first = m.main().replay.cursor();
    key(&mut m, KeyCode::Enter);
    let Overlay::Markers { items, .. } = m.overlay.clone() else {
        panic!("Enter lists the folded markers: {:?}", m.overlay)
    };
    assert_eq!(items.len(), 600);
    let s = screen(&mut m, 80, 24);
    assert!(s.contains("600 markers here"), "{s}");
    key(&mut m, KeyCode::Down);
    key(&mut m, KeyCode::Enter);
    let second = m.main().replay.markers()[items[1]].event;
    assert_eq!(m.main().replay.cursor(), second);
    assert!(second > first);
    // One more `]` leaves the group (the next stop starts at its last event or later).
    ch(&mut m, ']');
    assert!(m.main().replay.cursor() >= m.main().replay.markers()[items[599]].event);
    assert!(!m.status.contains("anomaly ×600"), "{}", m.status);
}

#[test]
fn rare_markers_stay_visible_and_have_their_keys() {
    // Proves truncations, elections and notes are drawn even where faults share their
    // cell, at 80 and 200 columns, and t / e / n jump to them (t lands on the truncation).
    let mut m = default_lesson();
    for w in [80u16, 200] {
        let s = screen(&mut m, w, if w == 80 { 24 } else { 60 });
        let row: &str = s.lines().nth(2).unwrap();
        for g in ['T', 'L', 'N'] {
            assert!(row.contains(g), "{g} at {w} columns: {s}");
        }
        assert!(s.lines().nth(3).unwrap().contains('F'), "{s}");
    }
    ch(&mut m, 't');
    let tr = m
        .main()
        .replay
        .markers()
        .iter()
        .find(|x| x.kind == MarkerKind::Truncation)
        .unwrap()
        .clone();
    assert_eq!(m.main().replay.cursor(), tr.event);
    assert!(m.status.contains("truncation"), "{}", m.status);
    // The only truncation: nothing before it, and the cursor stays.
    ch(&mut m, 'T');
    assert!(m.status.contains("no truncation before"), "{}", m.status);
    assert_eq!(m.main().replay.cursor(), tr.event);
    ch(&mut m, 'g');
    ch(&mut m, 'e');
    assert!(m.status.contains("leader change"), "{}", m.status);
}

#[test]
fn the_opening_screen_orients_and_help_explains_the_letters() {
    // Proves at t = 0 a note says what the screen shows and the keys that matter, for the
    // default lesson and a scenario without notes; a legend line explains the letters;
    // `?` explains letters and colours and lists the new keys. At 80×24 and 200×60.
    for text in [
        kafkasim::tui::DEFAULT_SCENARIO,
        include_str!("../scenarios/ping-demo.toml"),
    ] {
        let mut m = scenario_model("x.toml", text);
        for (w, h) in [(80u16, 24u16), (200, 60)] {
            let s = screen(&mut m, w, h);
            assert!(s.contains("What you see"), "{s}");
            assert!(s.contains("Space plays"), "{s}");
            assert!(s.contains("Enter tells why"), "{s}");
            let legend = s.lines().nth(6).unwrap();
            for word in [
                "N note",
                "F fault",
                "L election",
                "T truncation",
                "! anomaly",
            ] {
                assert!(legend.contains(word), "{word}: {s}");
            }
        }
        ch(&mut m, ' ');
        kafkasim::tui::app::update(&mut m, kafkasim::tui::app::Msg::Tick(33_000));
        let s = screen(&mut m, 80, 24);
        assert!(!s.contains("What you see"), "gone once time runs: {s}");
        ch(&mut m, ' ');
        ch(&mut m, '?');
        let s = screen(&mut m, 80, 24);
        for needle in [
            "t T",
            "next / previous truncation",
            "(magenta)",
            "! anomaly (red)",
        ] {
            assert!(s.contains(needle), "{needle}: {s}");
        }
        assert_eq!(m.view, View::Cluster);
    }
}

#[test]
fn the_note_after_the_election_answers_the_question() {
    // Proves the default lesson's note that answers "which acknowledged records does that
    // follower have?" states the run's own figures (the elected broker and its LEO).
    let m = default_lesson();
    let t = truth(&m);
    let sc = &m.main().scenario;
    let ask = sc
        .notes
        .iter()
        .position(|n| n.text.contains("Which acknowledged"))
        .unwrap();
    let answer = sc.notes.get(ask + 1).expect("a note answers the question");
    assert!(answer.text.contains(&t.elected.0), "{}", answer.text);
    assert!(
        answer.text.contains(&format!("LEO {}", t.elected.2)),
        "{}",
        answer.text
    );
    assert!(answer.at_us >= t.elected.1.as_us());
}
