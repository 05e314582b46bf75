//! The workbench's performance figures: seeking in a ~10-million-event run, and drawing a
//! frame. Measured with the wall clock, outside any run (`kafkasim bench` prints them).
#![allow(clippy::disallowed_methods)] // a benchmark times seeks and frames on the real clock; never inside a run

use std::time::Instant;

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::{App, Side, View};
use super::views;
use crate::scenario::parse;

/// A ping run of about `events` events (two per request).
pub fn bench_scenario(events: u64) -> String {
    let clients = 4;
    let requests = (events / 2 / clients).max(1);
    format!(
        "name = \"bench: replay\"\nseed = 1\nduration = \"100000s\"\nmax_events = {events}\n\n\
         [network]\nlatency = \"1ms\"\n\n[ping]\nservers = 1\nclients = {clients}\n\
         requests = {requests}\nin_flight = 4\n\n[[fault]]\nat = \"5s\"\npause = \"server-1\"\nfor = \"1s\"\n"
    )
}

/// What `bench` measured.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchFigures {
    pub events: u64,
    pub checkpoints: usize,
    /// Building the replay: one pass over the whole run.
    pub build_ms: f64,
    pub seeks: usize,
    pub seek_ms_mean: f64,
    pub seek_ms_max: f64,
    pub frames: usize,
    pub frame_ms_mean: f64,
    pub frame_ms_max: f64,
}

/// Replays a run of about `events` events, seeks to spread-out events (backwards and
/// forwards), and draws every view at 200×60 and 80×24 into a `TestBackend`.
pub fn bench(events: u64) -> BenchFigures {
    let sc = parse(&bench_scenario(events), "<bench>").expect("bench scenario parses");
    let t0 = Instant::now();
    let side = Side::new("bench", sc, 1).expect("bench scenario builds");
    let build_ms = ms(t0);
    let total = side.replay.total();
    let checkpoints = side.replay.checkpoint_count();
    let mut m = App::new(vec![side]);
    let mut seek = Vec::new();
    // A deterministic scatter of targets: golden-ratio steps over the run.
    let mut x = 0.0f64;
    for _ in 0..40 {
        x = (x + 0.618_033_988_75) % 1.0;
        let n = (x * total as f64) as u64;
        let t = Instant::now();
        m.sides[0].replay.seek(n);
        m.sides[0].refresh();
        seek.push(ms(t));
    }
    let mut frame = Vec::new();
    for (w, h) in [(200u16, 60u16), (80, 24)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        m.size = (w, h);
        for v in View::ALL {
            m.view = v;
            let t = Instant::now();
            term.draw(|f| views::render(f, &m)).expect("draw");
            frame.push(ms(t));
        }
    }
    BenchFigures {
        events: total,
        checkpoints,
        build_ms,
        seeks: seek.len(),
        seek_ms_mean: mean(&seek),
        seek_ms_max: seek.iter().copied().fold(0.0, f64::max),
        frames: frame.len(),
        frame_ms_mean: mean(&frame),
        frame_ms_max: frame.iter().copied().fold(0.0, f64::max),
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}
