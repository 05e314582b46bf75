//! The replay controller: random access to any event of a finished run.
//!
//! A run is played once from start to end. On the way it keeps a *checkpoint* — a clone of
//! the whole world — every `every` events, collects the markers (faults, elections, notes…)
//! and the per-bucket statistics the charts draw, and then forgets the trace records. Seeking
//! to event `n` clones the nearest checkpoint at or before `n` and steps forward; stepping
//! backwards is such a seek. Because the kernel is deterministic, the world reached this way
//! is the world a straight run reaches at `n` (same trace hash, clock and event count).
//!
//! The trace records near the cursor, which the event log and the message-flow view need,
//! are regenerated on demand from a checkpoint with the trace switched to `Full`, so memory
//! stays proportional to the number of checkpoints, not to the length of the run.

use crate::model::{AnomalyView, Marker, MarkerKind, NoteView, Observe};
use crate::sim::{NodeId, Time, TraceKind, TraceMode, TraceRecord, World};

/// How a replay is built.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Events between checkpoints.
    pub every: u64,
    /// Simulated end of the run (the scenario's duration).
    pub end: Time,
    /// Event budget of the run.
    pub max_events: u64,
    /// Teaching notes, marked at the first event at or after their time.
    pub notes: Vec<NoteView>,
    /// Number of time buckets for the charts.
    pub buckets: u64,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            every: 50_000,
            end: Time::MAX,
            max_events: u64::MAX,
            notes: Vec::new(),
            buckets: 200,
        }
    }
}

/// Statistics per time bucket, for the charts.
#[derive(Clone, Debug, Default)]
pub struct Series {
    pub bucket_us: u64,
    /// Messages delivered per bucket.
    pub delivered: Vec<u64>,
    /// Messages dropped per bucket.
    pub dropped: Vec<u64>,
    /// Sum of wire latencies of delivered messages per bucket (µs).
    pub latency_us_sum: Vec<u64>,
    /// Gauges sampled at the start of each bucket: name → values.
    pub gauges: Vec<(&'static str, Vec<u64>)>,
}

impl Series {
    fn bucket(&mut self, t: Time) -> usize {
        let b = (t.as_us() / self.bucket_us.max(1)) as usize;
        if self.delivered.len() <= b {
            self.delivered.resize(b + 1, 0);
            self.dropped.resize(b + 1, 0);
            self.latency_us_sum.resize(b + 1, 0);
        }
        b
    }

    fn add(&mut self, rec_time: Time, kind: &TraceKind<impl Sized>) {
        match kind {
            TraceKind::Deliver { sent, .. } => {
                let b = self.bucket(rec_time);
                self.delivered[b] += 1;
                self.latency_us_sum[b] += rec_time.since(*sent).as_us();
            }
            TraceKind::Drop { .. } => {
                let b = self.bucket(rec_time);
                self.dropped[b] += 1;
            }
            _ => {}
        }
    }

    fn sample(&mut self, gauges: Vec<(&'static str, u64)>) {
        for (name, v) in gauges {
            match self.gauges.iter_mut().find(|(n, _)| *n == name) {
                Some((_, vs)) => vs.push(v),
                None => self.gauges.push((name, vec![v])),
            }
        }
    }
}

/// Trace records of events `lo..=hi`, regenerated on demand.
type Window<E> = (u64, u64, Vec<TraceRecord<E>>);

/// Random access to a finished run.
pub struct Replay<N: Observe> {
    cfg: ReplayConfig,
    /// `checkpoints[i]` is the world after event `i * every` (trace records drained).
    checkpoints: Vec<World<N>>,
    /// The world at the cursor (trace only hashed).
    world: World<N>,
    total: u64,
    end_time: Time,
    names: Vec<String>,
    markers: Vec<Marker>,
    series: Series,
    anomalies: Vec<AnomalyView>,
    final_hash: u64,
    window: Option<Window<N::Event>>,
}

impl<N: Observe> Replay<N> {
    /// Plays the world built by `start` to its end, keeping checkpoints and markers.
    pub fn new(start: World<N>, cfg: ReplayConfig) -> Self {
        let names: Vec<String> = start
            .node_ids()
            .map(|i| start.name(i).to_string())
            .collect();
        let every = cfg.every.max(1);
        let mut w = start;
        w.set_trace_mode(TraceMode::Full);
        let span = if cfg.end == Time::MAX {
            60_000_000
        } else {
            cfg.end.as_us()
        };
        let mut series = Series {
            bucket_us: (span / cfg.buckets.max(1)).max(1),
            ..Series::default()
        };
        let mut scan = Scan {
            names: &names,
            markers: Vec::new(),
            notes: cfg.notes.clone(),
            next_note: 0,
        };
        let mut checkpoints = vec![hashed(&w)];
        let mut next_sample = 0u64;
        series.sample(N::gauges(&w));
        loop {
            if w.events() >= cfg.max_events || !w.step_until(cfg.end) {
                break;
            }
            let n = w.events();
            if w.now().as_us() >= next_sample + series.bucket_us {
                next_sample += series.bucket_us;
                while next_sample + series.bucket_us <= w.now().as_us() {
                    series.sample(N::gauges(&w));
                    next_sample += series.bucket_us;
                }
                series.sample(N::gauges(&w));
            }
            if n.is_multiple_of(4096) || n.is_multiple_of(every) {
                scan.records::<N>(w.take_trace_records(), &mut series);
            }
            if n.is_multiple_of(every) {
                checkpoints.push(hashed(&w));
            }
        }
        scan.records::<N>(w.take_trace_records(), &mut series);
        let total = w.events();
        let end_time = w.now();
        let anomalies = N::anomalies(&w);
        let mut markers = scan.finish(total, end_time);
        markers.extend(anomalies.iter().map(|a| Marker {
            event: a.event,
            time: a.time,
            kind: MarkerKind::Anomaly,
            label: format!("{}: {}", a.kind, a.description),
        }));
        markers.sort_by_key(|m| (m.event, m.kind));
        let final_hash = w.trace().hash();
        Replay {
            world: checkpoints[0].clone(),
            cfg: ReplayConfig { every, ..cfg },
            checkpoints,
            total,
            end_time,
            names,
            markers,
            series,
            anomalies,
            final_hash,
            window: None,
        }
    }

    /// Number of events in the run.
    pub fn total(&self) -> u64 {
        self.total
    }
    /// Simulated time of the last event.
    pub fn end_time(&self) -> Time {
        self.end_time
    }
    /// The event at the cursor (0 = before the first event).
    pub fn cursor(&self) -> u64 {
        self.world.events()
    }
    /// The world at the cursor (read it through `Observe`, never mutate it).
    pub fn world(&self) -> &World<N> {
        &self.world
    }
    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }
    pub fn series(&self) -> &Series {
        &self.series
    }
    pub fn anomalies(&self) -> &[AnomalyView] {
        &self.anomalies
    }
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// Trace hash of the whole run.
    pub fn final_hash(&self) -> u64 {
        self.final_hash
    }
    pub fn checkpoint_count(&self) -> usize {
        self.checkpoints.len()
    }

    /// Moves the cursor to event `n` (clamped to the run).
    pub fn seek(&mut self, n: u64) {
        let n = n.min(self.total);
        let cur = self.world.events();
        let every = self.cfg.every;
        let near = n >= cur && (n - cur < every || n / every == cur / every);
        if !near {
            let i = ((n / every) as usize).min(self.checkpoints.len() - 1);
            self.world = self.checkpoints[i].clone();
        }
        while self.world.events() < n && self.world.step() {}
    }

    /// Moves the cursor to the last event at or before simulated time `t`.
    pub fn seek_time(&mut self, t: Time) {
        let i = self
            .checkpoints
            .partition_point(|c| c.now() <= t)
            .saturating_sub(1);
        let cur = &self.world;
        let from_current = cur.now() <= t && cur.events() >= i as u64 * self.cfg.every;
        if !from_current {
            self.world = self.checkpoints[i].clone();
        }
        while self.world.events() < self.total && self.world.step_until(t) {}
    }

    pub fn step_forward(&mut self) {
        self.seek(self.cursor() + 1);
    }

    pub fn step_back(&mut self) {
        self.seek(self.cursor().saturating_sub(1));
    }

    /// The next marker after the cursor (of `kind`, or any).
    pub fn next_marker(&self, kind: Option<MarkerKind>) -> Option<&Marker> {
        let c = self.cursor();
        self.markers
            .iter()
            .find(|m| m.event > c && kind.is_none_or(|k| m.kind == k))
    }

    /// The last marker before the cursor (of `kind`, or any).
    pub fn prev_marker(&self, kind: Option<MarkerKind>) -> Option<&Marker> {
        let c = self.cursor();
        self.markers
            .iter()
            .rev()
            .find(|m| m.event < c && kind.is_none_or(|k| m.kind == k))
    }

    /// Jumps to the next marker; returns whether there was one.
    pub fn seek_next_marker(&mut self, kind: Option<MarkerKind>) -> bool {
        match self.next_marker(kind).map(|m| m.event) {
            Some(e) => {
                self.seek(e);
                true
            }
            None => false,
        }
    }

    /// Jumps to the previous marker; returns whether there was one.
    pub fn seek_prev_marker(&mut self, kind: Option<MarkerKind>) -> bool {
        match self.prev_marker(kind).map(|m| m.event) {
            Some(e) => {
                self.seek(e);
                true
            }
            None => false,
        }
    }

    /// The trace records of events `lo..=hi`, regenerated from a checkpoint (cached).
    pub fn records(&mut self, lo: u64, hi: u64) -> &[TraceRecord<N::Event>] {
        let (lo, hi) = (lo.max(1).min(self.total), hi.min(self.total));
        let hit = matches!(&self.window, Some((a, b, _)) if *a == lo && *b == hi);
        if !hit {
            let i = (((lo - 1) / self.cfg.every) as usize).min(self.checkpoints.len() - 1);
            let mut w = self.checkpoints[i].clone();
            while w.events() < lo - 1 && w.step() {}
            w.set_trace_mode(TraceMode::Full);
            while w.events() < hi && w.step() {}
            let recs = w.take_trace_records();
            self.window = Some((lo, hi, recs));
        }
        match &self.window {
            Some((_, _, r)) => r,
            None => &[],
        }
    }

    /// Name of a node.
    pub fn name(&self, id: NodeId) -> String {
        self.names
            .get(id.index())
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

/// A checkpoint copy of `w`: trace only hashed from here on.
fn hashed<N: Observe>(w: &World<N>) -> World<N> {
    let mut c = w.clone();
    c.set_trace_mode(TraceMode::HashOnly);
    c
}

/// Marker collection during the first pass.
struct Scan<'a> {
    names: &'a [String],
    markers: Vec<Marker>,
    notes: Vec<NoteView>,
    next_note: usize,
}

impl Scan<'_> {
    fn records<N: Observe>(&mut self, recs: Vec<TraceRecord<N::Event>>, series: &mut Series) {
        let names = self.names;
        let name = |id: NodeId| {
            names
                .get(id.index())
                .cloned()
                .unwrap_or_else(|| id.to_string())
        };
        for rec in &recs {
            while self.next_note < self.notes.len() && self.notes[self.next_note].at <= rec.time {
                let note = &self.notes[self.next_note];
                self.markers.push(note_marker(note, rec.event));
                self.next_note += 1;
            }
            series.add(rec.time, &rec.kind);
            if let Some((kind, label)) = N::marker(rec, &name) {
                self.markers.push(Marker {
                    event: rec.event,
                    time: rec.time,
                    kind,
                    label,
                });
            }
        }
    }

    fn finish(mut self, total: u64, end: Time) -> Vec<Marker> {
        for note in &self.notes[self.next_note..] {
            let mut m = note_marker(note, total);
            m.time = m.time.min(end.max(note.at));
            self.markers.push(m);
        }
        self.markers
    }
}

fn note_marker(note: &NoteView, event: u64) -> Marker {
    let first_line = note.text.lines().next().unwrap_or("");
    Marker {
        event,
        time: note.at,
        kind: MarkerKind::Note,
        label: first_line.to_string(),
    }
}
