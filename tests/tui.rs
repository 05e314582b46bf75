//! The terminal workbench: model tests (keys in, state out), screens drawn into ratatui's
//! `TestBackend` at fixed sizes and seeds, and seek correctness of the replay controller.
//! What the screen says being true (issue 13) is tested in `tui_truth.rs`.

mod common;
use common::*;

use kafkasim::scenario::parse;
use kafkasim::sim::TraceMode;
use kafkasim::tui::app::{update, Cmd, Msg, Overlay, Side, View};
use kafkasim::tui::replay::{Replay, ReplayConfig};
use kafkasim::tui::{self, TuiArgs};
use kafkasim::view_model::MarkerKind;
use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

#[test]
fn space_plays_and_ticks_advance_the_clock() {
    // Proves Space toggles play and a tick moves simulated time by speed × real time.
    let mut m = faults_model();
    assert!(!m.playing);
    ch(&mut m, ' ');
    assert!(m.playing);
    let speed = m.speed_us;
    update(&mut m, Msg::Tick(1_000_000));
    let now = m.main().now().as_us();
    assert!(now > 0 && now <= speed, "now {now} speed {speed}");
    ch(&mut m, ' ');
    assert!(!m.playing);
    update(&mut m, Msg::Tick(1_000_000));
    assert_eq!(m.main().now().as_us(), now, "paused: ticks change nothing");
}

#[test]
fn speed_keys_change_speed() {
    // Proves + and - step through the speed ladder.
    let mut m = faults_model();
    let s0 = m.speed_us;
    ch(&mut m, '+');
    assert!(m.speed_us > s0);
    ch(&mut m, '-');
    ch(&mut m, '-');
    assert!(m.speed_us < s0);
}

#[test]
fn stepping_and_markers_move_the_cursor() {
    // Proves arrows step one event, ] jumps to the first marker, g/G go to start/end.
    let mut m = faults_model();
    key(&mut m, KeyCode::Right);
    key(&mut m, KeyCode::Right);
    assert_eq!(m.main().replay.cursor(), 2);
    ch(&mut m, 'h');
    assert_eq!(m.main().replay.cursor(), 1);
    ch(&mut m, 'f');
    let first_fault = m
        .main()
        .replay
        .markers()
        .iter()
        .find(|mk| mk.kind == MarkerKind::Fault)
        .unwrap()
        .event;
    assert_eq!(m.main().replay.cursor(), first_fault);
    assert!(m.status.contains("pause server-1"), "{}", m.status);
    ch(&mut m, ']');
    assert!(m.main().replay.cursor() > first_fault);
    ch(&mut m, '[');
    assert_eq!(m.main().replay.cursor(), first_fault);
    ch(&mut m, 'G');
    assert_eq!(m.main().replay.cursor(), m.main().replay.total());
    ch(&mut m, 'g');
    assert_eq!(m.main().replay.cursor(), 0);
}

#[test]
fn views_help_filter_and_quit() {
    // Proves digits pick views, ? opens help that any key closes, / edits a filter, q quits.
    let mut m = faults_model();
    ch(&mut m, '5');
    assert_eq!(m.view, View::Log);
    ch(&mut m, '?');
    assert_eq!(m.overlay, Overlay::Help);
    ch(&mut m, 'j');
    assert_eq!(m.overlay, Overlay::None);
    ch(&mut m, '/');
    for c in "drop".chars() {
        ch(&mut m, c);
    }
    key(&mut m, KeyCode::Enter);
    assert_eq!(m.filter, "drop");
    assert!(m
        .filtered_log(0)
        .iter()
        .all(|l| l.kind == "drop" || l.text.to_lowercase().contains("drop")));
    key(&mut m, KeyCode::Esc);
    assert!(m.filter.is_empty());
    assert!(!m.quit);
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert!(m.quit);
}

#[test]
fn a_pausing_note_stops_playback() {
    // Proves playback stops at a note that asks to pause.
    let text = PING_FAULTS.replace("at = \"2s\"\ntext", "at = \"2s\"\npause = true\ntext");
    assert_ne!(text, PING_FAULTS);
    let sc = parse(&text, "note.toml").unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: sc,
        seed: None,
        compare: None,
    })
    .unwrap();
    ch(&mut m, ' ');
    for _ in 0..100 {
        update(&mut m, Msg::Tick(1_000_000));
    }
    assert!(!m.playing);
    let now = m.main().now().as_us();
    assert!((2_000_000..2_100_000).contains(&now), "stopped at {now}");
    assert!(m.active_note().is_some());
}

#[test]
fn what_if_forks_and_writes_a_scenario() {
    // Proves x injects a fault at the cursor, the run replays with it, and w writes it out.
    let mut m = faults_model();
    assert!(ch(&mut m, 'w').is_empty(), "nothing to write before a fork");
    ch(&mut m, 'L');
    let cursor = m.main().replay.cursor();
    let hash_before = m.main().replay.final_hash();
    ch(&mut m, 'x');
    assert!(matches!(m.overlay, Overlay::WhatIf { .. }));
    key(&mut m, KeyCode::Enter); // kill, first node (server-1)
    assert!(m.forked.is_some());
    assert_eq!(m.main().replay.cursor(), cursor);
    assert_ne!(m.main().replay.final_hash(), hash_before);
    let cmds = ch(&mut m, 'w');
    let [Cmd::WriteFile { path, text }] = cmds.as_slice() else {
        panic!("one write: {cmds:?}")
    };
    assert!(path.ends_with(".toml"));
    let sc = parse(text, path).expect("the written scenario parses");
    assert_eq!(sc.faults.len(), ping_faults().faults.len() + 1);
    let side = Side::new("again", sc, m.main().seed).unwrap();
    assert_eq!(
        side.replay.final_hash(),
        m.main().replay.final_hash(),
        "the file replays the fork"
    );
}

#[test]
fn clicking_the_timeline_seeks() {
    // Proves a click in the middle of the timeline bar moves the cursor to mid-run.
    let mut m = faults_model();
    update(&mut m, Msg::Resize(80, 24));
    let ev = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 40,
        row: 3,
        modifiers: KeyModifiers::NONE,
    };
    update(&mut m, Msg::Mouse(ev));
    let end = m.main().replay.end_time().as_us();
    let now = m.main().now().as_us();
    assert!(now > end / 3 && now < end * 2 / 3, "now {now} end {end}");
}

#[test]
fn screen_80x24_header_timeline_and_paused_node() {
    // Proves the small screen shows the header, fault markers, and the paused server.
    let mut m = faults_model();
    ch(&mut m, 'f');
    let s = screen(&mut m, 80, 24);
    assert!(text_has(&s, "ping: faults in the kernel"), "{s}");
    assert!(text_has(&s, "event 5113 of"), "{s}");
    assert!(text_has(&s, "t = 2.000s"), "{s}");
    // Faults are on the timeline's second marker row (notes, truncations, elections above).
    assert!(s.lines().nth(3).unwrap().contains('F'), "{s}");
    assert!(text_has(&s, "server-1     PAUSED"), "{s}");
    assert!(text_has(&s, "The server is paused"), "note shown: {s}");
}

#[test]
fn screen_200x60_event_log_explains() {
    // Proves the wide screen puts the event log beside the view, with explanations.
    let mut m = faults_model();
    ch(&mut m, 'f');
    let s = screen(&mut m, 200, 60);
    assert!(text_has(&s, "Event log"), "{s}");
    assert!(
        text_has(&s, "FAULT server-1 is paused (like a long GC pause)"),
        "{s}"
    );
    assert!(text_has(&s, "received Pong from server-1"), "{s}");
    ch(&mut m, '5');
    let s = screen(&mut m, 80, 24);
    assert!(text_has(&s, "FAULT server-1 is paused"), "{s}");
}

#[test]
fn screen_help_lists_the_keymap() {
    // Proves ? shows help generated from the keymap.
    let mut m = faults_model();
    ch(&mut m, '?');
    for (w, h) in [(80, 24), (200, 60)] {
        let s = screen(&mut m, w, h);
        assert!(text_has(&s, "play / pause"), "{s}");
        assert!(text_has(&s, "Space"), "{s}");
        assert!(text_has(&s, "what-if"), "{s}");
    }
}

#[test]
fn screen_views_draw_at_both_sizes() {
    // Proves every view draws at 80×24 and 200×60 with its title and key content.
    let mut m = faults_model();
    ch(&mut m, 'f');
    let expect = [
        ('2', "No topic partitions"),
        ('3', "TIMED-OUT"),
        ('4', "○"),
        ('6', "wire messages/s"),
        ('7', "verdict"),
        ('8', "rpc ok/failed/timed-out"),
    ];
    for (k, needle) in expect {
        ch(&mut m, k);
        for (w, h) in [(80, 24), (200, 60)] {
            let s = screen(&mut m, w, h);
            assert!(text_has(&s, m.view.title()), "{k}: {s}");
            assert!(text_has(&s, needle), "{k} {w}x{h}: {s}");
        }
    }
}

#[test]
fn screen_compare_shows_two_runs() {
    // Proves compare mode replays two runs on one clock and shows both.
    let demo = parse(include_str!("../scenarios/ping-demo.toml"), "demo").unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: ping_faults(),
        seed: None,
        compare: Some(demo),
    })
    .unwrap();
    assert_eq!(m.view, View::Compare);
    ch(&mut m, 'L');
    ch(&mut m, 'L');
    let (a, b) = (m.sides[0].now(), m.sides[1].now());
    assert!(b <= a, "B is synced to A's clock");
    for (w, h) in [(80, 24), (200, 60)] {
        let s = screen(&mut m, w, h);
        assert!(text_has(&s, "ping: faults in the kernel"), "{s}");
        assert!(text_has(&s, "ping: the kernel demo"), "{s}");
        assert!(text_has(&s, "rpc ok/failed/timed-out"), "{s}");
    }
    ch(&mut m, '1');
    let s = screen(&mut m, 200, 60);
    assert!(
        text_has(&s, "Cluster · A") && text_has(&s, "Cluster · B"),
        "{s}"
    );
}

#[test]
fn no_panic_on_any_key_at_any_size() {
    // Proves a storm of keys and odd terminal sizes never panics.
    let mut m = faults_model();
    let keys: Vec<KeyCode> = "?x/wq1234567 8]][[fFeEnNaAhlHLgGjk+-=\t"
        .chars()
        .map(KeyCode::Char)
        .chain([
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::Backspace,
        ])
        .collect();
    let sizes = [(1u16, 1u16), (10, 5), (40, 12), (80, 24), (123, 37)];
    for i in 0..400usize {
        let k = keys[(i * 7919) % keys.len()];
        if k == KeyCode::Char('q') {
            continue;
        }
        key(&mut m, k);
        update(&mut m, Msg::Tick(50_000));
        let (w, h) = sizes[i % sizes.len()];
        screen(&mut m, w, h);
    }
}

#[test]
fn seek_equals_stepping_from_the_start() {
    // Proves the world reached by seeking to event n equals the world stepped from 0 to n.
    let sc = ping_faults();
    let build = || kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
    let cfg = ReplayConfig {
        every: 1000,
        end: kafkasim::sim::Time(sc.duration_us),
        max_events: sc.max_events,
        ..ReplayConfig::default()
    };
    let mut r = Replay::new(build(), cfg);
    let total = r.total();
    assert!(total > 5000);
    let targets = [
        total / 2,
        3,
        total,
        0,
        1000,
        999,
        1001,
        total - 1,
        4321,
        4322,
        4320,
        17,
    ];
    for n in targets {
        r.seek(n);
        let mut w = build();
        while w.events() < n && w.step() {}
        assert_eq!(r.cursor(), n);
        assert_eq!(r.world().events(), w.events(), "events at {n}");
        assert_eq!(r.world().now(), w.now(), "time at {n}");
        assert_eq!(r.world().trace().hash(), w.trace().hash(), "hash at {n}");
    }
    r.seek(total);
    let mut straight = build();
    straight.run_until(kafkasim::sim::Time(sc.duration_us), sc.max_events);
    assert_eq!(
        r.world().trace().hash(),
        straight.trace().hash(),
        "end of run"
    );
    assert_eq!(r.final_hash(), straight.trace().hash());
}

#[test]
fn seek_time_lands_on_the_last_event_at_or_before() {
    // Proves seek_time(t) stops at the last event whose time is <= t.
    let sc = ping_faults();
    let w = kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
    let cfg = ReplayConfig {
        every: 700,
        end: kafkasim::sim::Time(sc.duration_us),
        max_events: sc.max_events,
        ..ReplayConfig::default()
    };
    let mut r = Replay::new(w, cfg);
    for t in [2_000_000u64, 6_500_000, 100, 11_000_000, 2_000_000] {
        r.seek_time(kafkasim::sim::Time(t));
        let n = r.cursor();
        assert!(r.world().now().as_us() <= t);
        r.seek(n + 1);
        assert!(
            n == r.total() || r.world().now().as_us() > t,
            "event {n}+1 is after {t}"
        );
        r.seek(n);
    }
}

#[test]
fn window_records_match_a_full_trace() {
    // Proves trace records regenerated from checkpoints equal those of a Full run.
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
    let got = r.records(4990, 5200).to_vec();
    let want: Vec<_> = full
        .trace()
        .records()
        .iter()
        .filter(|x| (4990..=5200).contains(&x.event))
        .cloned()
        .collect();
    assert_eq!(got, want);
}
#[test]
#[ignore]
fn dump_screens() {
    // Prints every view for a look by eye (cargo test -- --ignored --nocapture).
    let mut m = faults_model();
    ch(&mut m, 'f');
    for v in ['1', '2', '3', '4', '5', '6', '7', '8'] {
        ch(&mut m, v);
        println!("{}", screen(&mut m, 80, 24));
        println!("{}", screen(&mut m, 200, 60));
    }
}

#[test]
fn screen_leader_failover_shows_the_truncated_acknowledged_records() {
    // Proves the acks=1 lesson answers "when was the acknowledged record lost, and why?" on
    // screen: the partitions view shows the truncation, the anomalies view the lost writes.
    let mut m = scenario_model(
        "acks1-leader-failover.toml",
        include_str!("../scenarios/acks1-leader-failover.toml"),
    );
    key(&mut m, KeyCode::End);
    ch(&mut m, '2');
    let s = screen(&mut m, 120, 30);
    assert!(text_has(&s, "Leader"), "{s}");
    assert!(text_has(&s, "truncated"), "{s}");
    assert!(text_has(&s, "✗"), "{s}");
    ch(&mut m, '7');
    let s = screen(&mut m, 120, 30);
    assert!(text_has(&s, "lost-write"), "{s}");
    assert!(text_has(&s, "was acknowledged"), "{s}");
}

#[test]
fn screen_partition_in_progress_shows_cut_links() {
    // Proves a network partition in progress is drawn in the cluster view at 80x24.
    let mut m = scenario_model(
        "acks1-leader-failover.toml",
        include_str!("../scenarios/acks1-leader-failover.toml"),
    );
    // The partition starts at 5 s and heals at 9 s: look at 6 s.
    m.sides[0].replay.seek_time(kafkasim::sim::Time(6_000_000));
    m.sides[0].refresh();
    ch(&mut m, '1');
    let s = screen(&mut m, 80, 24);
    assert!(text_has(&s, "broker-1"), "{s}");
    assert!(text_has(&s, "cut") || text_has(&s, "partition"), "{s}");
}

#[test]
fn screen_rebalance_shows_consumer_group_columns() {
    // Proves the clients view shows a group in kafka-consumer-groups' columns after a
    // member died and the group rebalanced.
    let mut m = scenario_model(
        "group-rebalance.toml",
        include_str!("../scenarios/group-rebalance.toml"),
    );
    key(&mut m, KeyCode::End);
    ch(&mut m, '3');
    let s = screen(&mut m, 120, 30);
    for col in [
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
    ] {
        assert!(text_has(&s, col), "missing {col}: {s}");
    }
    assert!(text_has(&s, "generation"), "{s}");
    let rows: Vec<&str> = s.lines().filter(|l| l.contains("clicks ")).collect();
    assert!(!rows.is_empty(), "{s}");
    assert!(
        rows.iter().all(|l| !l.contains("analytics-2")),
        "the dead member owns nothing: {s}"
    );
}

#[test]
fn seek_equals_stepping_on_a_kafka_failover() {
    // Proves seek correctness on a Kafka world (brokers, controller, clients, a failover),
    // not only on the ping demo.
    let sc = parse(
        include_str!("../scenarios/acks1-leader-failover.toml"),
        "acks1-leader-failover.toml",
    )
    .unwrap();
    let build = || kafkasim::scenario::build::build(&sc, sc.seed, TraceMode::HashOnly).unwrap();
    let cfg = ReplayConfig {
        every: 5000,
        end: kafkasim::sim::Time(sc.duration_us),
        max_events: sc.max_events,
        ..ReplayConfig::default()
    };
    let mut r = Replay::new(build(), cfg);
    let total = r.total();
    for n in [total / 3, 7, total, 5000, 4999, 12_345, total - 1] {
        r.seek(n);
        let mut w = build();
        while w.events() < n && w.step() {}
        assert_eq!(r.world().events(), w.events(), "events at {n}");
        assert_eq!(r.world().now(), w.now(), "time at {n}");
        assert_eq!(r.world().trace().hash(), w.trace().hash(), "hash at {n}");
    }
}

#[test]
fn an_election_under_a_note_still_shows_on_the_timeline() {
    // Proves a marker of lower priority whose cell a note holds is drawn beside it: in
    // lesson 15 at 80 columns the election at 13.0 s and the note at 13.5 s share a cell,
    // and the truncation at 21.0 s sits beside the note at 21.5 s — all stay visible.
    let sc = kafkasim::scenario::load(std::path::Path::new("scenarios/lessons/zombie-leader.toml"))
        .unwrap();
    let mut m = tui::app(TuiArgs {
        scenario: sc,
        seed: None,
        compare: None,
    })
    .unwrap();
    let s = screen(&mut m, 80, 24);
    let row: Vec<char> = s.lines().nth(2).unwrap().chars().collect();
    let at = |t: f64| ((t / 40.0) * 78.0) as usize;
    let near = |t: f64, c: char| (at(t).saturating_sub(1)..=at(t) + 2).any(|i| row[i] == c);
    assert!(near(13.0, 'L') && near(13.5, 'N'), "{s}");
    assert!(near(21.0, 'T') && near(21.5, 'N'), "{s}");
}

/// A cluster too big for one screen: 12 brokers, 2,000 partitions, a little traffic.
fn big_cluster_model() -> kafkasim::tui::app::App {
    let text = r#"
name = "a big cluster"
seed = 3
duration = "3s"
[cluster]
brokers = 12
[[topic]]
name = "orders"
partitions = 2000
replication_factor = 3
[[producer]]
name = "checkout"
topic = "orders"
send = "async"
rate = "200/s"
"#;
    let sc = parse(text, "big.toml").unwrap();
    tui::app(TuiArgs {
        scenario: sc,
        seed: None,
        compare: None,
    })
    .unwrap()
}

#[test]
fn a_big_cluster_scrolls_filters_and_sums_up_by_topic() {
    // Proves the partitions view of 2,000 partitions opens with the topic's summary (the
    // counts the snapshot holds), scrolls by a partition with ↓, and that the filter `b12`
    // keeps exactly the partitions with a replica on broker 12; the cluster view scrolls
    // so a selected broker beyond the first screen stays visible.
    let mut m = big_cluster_model();
    ch(&mut m, 'G');
    ch(&mut m, '2');
    let parts = m.sides[0].snapshot.partitions.clone();
    assert_eq!(parts.len(), 2000);
    let under = parts.iter().filter(|p| p.under_replicated()).count();
    let s = screen(&mut m, 100, 30);
    let want = format!("orders: 2000 partitions · {under} under-replicated · 0 offline");
    assert!(text_has(&s, &want), "{s}");
    assert!(text_has(&s, "partition 1 of 2000"), "{s}");
    for _ in 0..5 {
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
        );
    }
    let s = screen(&mut m, 100, 30);
    assert!(text_has(&s, "partition 6 of 2000"), "{s}");
    let first_row = s.lines().find(|l| l.contains("orders       ")).unwrap();
    assert!(first_row.contains("orders       5 "), "{s}");
    ch(&mut m, '/');
    for c in "b12".chars() {
        ch(&mut m, c);
    }
    update(
        &mut m,
        Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    m.selected = 0;
    let on_12 = parts.iter().filter(|p| p.replicas.contains(&12)).count();
    assert!(on_12 > 100 && on_12 < 2000, "{on_12}");
    let s = screen(&mut m, 100, 30);
    let want = format!("filter `b12`: {on_12} of 2000 partitions");
    assert!(text_has(&s, &want), "{s}");
    ch(&mut m, '1');
    for _ in 0..12 {
        update(
            &mut m,
            Msg::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
        );
    }
    let s = screen(&mut m, 80, 24);
    assert!(text_has(&s, "broker-12"), "{s}");
}

#[test]
fn the_cluster_view_says_what_a_power_loss_keeps() {
    // Proves the writeback simplification is on screen, not only in the docs: without
    // `[disk] writeback` the cluster view says only fsynced data survives a power loss and
    // names Linux's 30 s; with it, the interval the scenario set.
    let view = |disk: &str| {
        let text = format!(
            "name = \"disks\"\nduration = \"1s\"\n{disk}\n[cluster]\nbrokers = 3\n[[topic]]\nname = \"t\"\n"
        );
        let mut m = tui::app(TuiArgs {
            scenario: parse(&text, "disks.toml").unwrap(),
            seed: None,
            compare: None,
        })
        .unwrap();
        ch(&mut m, 'G');
        ch(&mut m, '1');
        screen(&mut m, 120, 40)
    };
    let s = view("");
    assert!(
        text_has(
            &s,
            "disks: no OS writeback: after a power loss only what Kafka fsynced survives"
        ),
        "{s}"
    );
    assert!(text_has(&s, "older than 30 s"), "{s}");
    let s = view("[disk]\nwriteback = \"5s\"");
    assert!(text_has(&s, "disks: OS writeback every 5"), "{s}");
}

#[test]
fn the_cluster_view_lists_each_brokers_own_settings() {
    // Proves `[[broker]]` settings are on screen: the broker, its own keys and its machine's
    // writeback, as the file set them (scenarios/power-loss-leader-writes-back.toml's kind).
    let text = "name = \"own\"\nduration = \"1s\"\n[cluster]\nbrokers = 3\n[[broker]]\nid = 3\nconfig = { \"log.flush.interval.messages\" = 1 }\nwriteback = \"1s\"\n[[broker]]\nid = 1\nwriteback = \"never\"\n[[topic]]\nname = \"t\"\n";
    let mut m = tui::app(TuiArgs {
        scenario: parse(text, "own.toml").unwrap(),
        seed: None,
        compare: None,
    })
    .unwrap();
    ch(&mut m, 'G');
    ch(&mut m, '1');
    let s = screen(&mut m, 120, 40);
    assert!(text_has(&s, "own:   broker-1: no OS writeback"), "{s}");
    assert!(
        text_has(
            &s,
            "own:   broker-3: log.flush.interval.messages = 1, OS writeback every 1"
        ),
        "{s}"
    );
}
