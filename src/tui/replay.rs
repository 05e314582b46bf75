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
//! stays proportional to the number of checkpoints, not to the length of the run. A big
//! world's checkpoints are thinned to a memory budget (`thinning.rs`).

use crate::sim::{NodeId, Time, TraceMode, TraceRecord, World};
use crate::view_model::series::Series;
use crate::view_model::{
    fold_gap, fold_markers, record_nodes_into, record_terms, AnomalyView, Marker, MarkerGroup,
    MarkerKind, NoteView, Observe,
};

use super::search::SearchIndex;
use super::thinning::{thin, Thinning};
use crate::sim::closes::Closes;

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
    /// Memory all checkpoints together may take (`thinning.rs`): past it, every other
    /// checkpoint is dropped and the spacing doubles.
    pub memory_budget: u64,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            every: 50_000,
            end: Time::MAX,
            max_events: u64::MAX,
            notes: Vec::new(),
            buckets: 200,
            memory_budget: super::thinning::default_budget(),
        }
    }
}

/// Trace records of events `lo..=hi`, regenerated on demand, and the full-trace world that
/// made them, standing at `hi` (so a window that moves forward extends by stepping on).
struct Window<N: Observe> {
    lo: u64,
    hi: u64,
    records: Vec<TraceRecord<N::Event>>,
    world: World<N>,
}

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
    /// The markers folded: one kind at nearly the same time is one group.
    groups: Vec<MarkerGroup>,
    series: Series,
    anomalies: Vec<AnomalyView>,
    final_hash: u64,
    index: SearchIndex,
    closes: Closes,
    window: Option<Window<N>>,
}

impl<N: Observe> Replay<N> {
    /// Plays the world built by `start` to its end, keeping checkpoints and markers; the
    /// anomalies are the node type's own ([`Observe::anomalies`]).
    pub fn new(start: World<N>, cfg: ReplayConfig) -> Self {
        Self::build(start, cfg, |_| {}, |w| N::anomalies(&w))
    }

    /// The same, with `watch` shown the world after every event of the run (the workbench
    /// runs the live replication invariants there, as `kafkasim check` does) and the
    /// anomalies given by `judge` from the world as the run ended (the workbench runs
    /// `kafkasim check`'s drain and analysis there).
    // Long by design: the one pass over the run collects every index the workbench needs.
    pub fn build(
        start: World<N>,
        cfg: ReplayConfig,
        mut watch: impl FnMut(&World<N>),
        judge: impl FnOnce(World<N>) -> Vec<AnomalyView>,
    ) -> Self {
        let names: Vec<String> = start
            .node_ids()
            .map(|i| start.name(i).to_string())
            .chain(start.scripted_node_names().map(str::to_string))
            .collect();
        let every = cfg.every.max(1);
        let mut w = start;
        w.set_trace_mode(TraceMode::Full);
        let span = if cfg.end == Time::MAX {
            60_000_000
        } else {
            cfg.end.as_us()
        };
        let mut scan = Scan::<N> {
            names: &names,
            markers: Vec::new(),
            notes: cfg.notes.clone(),
            next_note: 0,
            series: Series::new((span / cfg.buckets.max(1)).max(1)),
            tally: N::Tally::default(),
            index: SearchIndex::new(&names),
            closes: Closes::default(),
        };
        let mut checkpoints = vec![hashed(&w)];
        let mut every = every;
        let mut thinning = Thinning::new(cfg.memory_budget);
        let mut sampled = 0usize;
        loop {
            if w.events() >= cfg.max_events {
                break;
            }
            // Gauges of a bucket are the state at its start: sample before the first
            // event at or after it.
            let next = w.next_event_time().unwrap_or(Time::MAX).min(cfg.end);
            sampled = scan.sample_until(&w, next, sampled);
            if !w.step_until(cfg.end) {
                break;
            }
            watch(&w);
            let n = w.events();
            if n.is_multiple_of(4096) || n.is_multiple_of(every) {
                scan.records(w.take_trace_records());
            }
            if n.is_multiple_of(every) {
                checkpoints.push(hashed(&w));
                if thinning.should_thin(checkpoints.len()) {
                    thin(&mut checkpoints);
                    every *= 2;
                }
            }
        }
        scan.records(w.take_trace_records());
        let total = w.events();
        let end_time = w.now();
        scan.sample_until(&w, end_time, sampled);
        let final_hash = w.trace().hash();
        let closes = std::mem::take(&mut scan.closes);
        let (mut markers, mut series, index) = scan.finish(total, end_time);
        series.finish();
        w.set_trace_mode(TraceMode::HashOnly);
        let anomalies = judge(w);
        markers.extend(anomalies.iter().map(|a| Marker {
            event: a.event.min(total),
            time: a.time.min(end_time),
            kind: MarkerKind::Anomaly,
            label: format!("{}: {}", a.kind, a.description),
        }));
        markers.sort_by_key(|m| (m.event, m.kind));
        let groups = fold_markers(&markers, fold_gap(end_time));
        Replay {
            world: checkpoints[0].clone(),
            cfg: ReplayConfig { every, ..cfg },
            checkpoints,
            total,
            end_time,
            names,
            markers,
            groups,
            series,
            anomalies,
            final_hash,
            index,
            closes,
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
    /// Why each connection close of the run happened.
    pub fn closes(&self) -> &Closes {
        &self.closes
    }
    /// The index of every trace record of the run, for the event log's filter.
    pub fn index(&self) -> &SearchIndex {
        &self.index
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

    /// The markers folded into groups (sorted by their first event).
    pub fn groups(&self) -> &[MarkerGroup] {
        &self.groups
    }

    /// The next group (of `kind`, or any) starting after the cursor.
    pub fn next_group(&self, kind: Option<MarkerKind>) -> Option<&MarkerGroup> {
        let c = self.cursor();
        self.groups
            .iter()
            .find(|g| g.first_event > c && kind.is_none_or(|k| g.kind == k))
    }

    /// The last group (of `kind`, or any) starting before the cursor.
    pub fn prev_group(&self, kind: Option<MarkerKind>) -> Option<&MarkerGroup> {
        let c = self.cursor();
        self.groups
            .iter()
            .rev()
            .find(|g| g.first_event < c && kind.is_none_or(|k| g.kind == k))
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

    /// The trace records of events `lo..=hi`, regenerated from a checkpoint (cached; a
    /// window that moves forward is extended from where the last one ended).
    pub fn records(&mut self, lo: u64, hi: u64) -> &[TraceRecord<N::Event>] {
        let (lo, hi) = (lo.max(1).min(self.total), hi.min(self.total));
        let reuse = self
            .window
            .as_ref()
            .is_some_and(|w| w.lo <= lo && w.hi <= hi && lo <= w.hi + 1);
        if !reuse {
            let mut world = self.checkpoint_before(lo);
            while world.events() < lo - 1 && world.step() {}
            world.set_trace_mode(TraceMode::Full);
            self.window = Some(Window {
                lo,
                hi: lo - 1,
                records: Vec::new(),
                world,
            });
        }
        let w = self.window.as_mut().expect("window set above");
        while w.world.events() < hi && w.world.step() {}
        w.records.extend(w.world.take_trace_records());
        w.hi = hi;
        let drop_before = w.records.partition_point(|r| r.event < lo);
        w.records.drain(..drop_before);
        w.lo = lo;
        &w.records
    }

    /// The trace records of each of `events` (sorted, each in `1..=total`), regenerated
    /// from the checkpoints; nearby events share one pass.
    pub fn records_of(&self, events: &[u64]) -> Vec<TraceRecord<N::Event>> {
        let mut out = Vec::new();
        let mut world: Option<World<N>> = None;
        for &e in events {
            let e = e.clamp(1, self.total.max(1));
            let far = world
                .as_ref()
                .is_none_or(|w| w.events() >= e || e - w.events() > self.cfg.every);
            if far {
                world = Some(self.checkpoint_before(e));
            }
            let w = world.as_mut().expect("set above");
            w.set_trace_mode(TraceMode::HashOnly);
            while w.events() < e - 1 && w.step() {}
            w.set_trace_mode(TraceMode::Full);
            w.step();
            out.extend(w.take_trace_records());
        }
        out
    }

    /// The world just after event `e` (a copy; the cursor does not move).
    pub fn world_at(&self, e: u64) -> World<N> {
        let e = e.min(self.total);
        let mut w = self.checkpoint_before(e.max(1));
        while w.events() < e && w.step() {}
        w
    }

    /// The trace records of events `lo..=hi` (at most `MAX_SPAN` events, the last ones
    /// kept), regenerated from a checkpoint without touching the cached window.
    pub fn records_between(&self, lo: u64, hi: u64) -> Vec<TraceRecord<N::Event>> {
        const MAX_SPAN: u64 = 400_000;
        let hi = hi.min(self.total);
        let lo = lo.max(1).max(hi.saturating_sub(MAX_SPAN));
        if self.total == 0 || lo > hi {
            return Vec::new();
        }
        let mut w = self.checkpoint_before(lo);
        while w.events() < lo - 1 && w.step() {}
        w.set_trace_mode(TraceMode::Full);
        let mut out = Vec::new();
        while w.events() < hi && w.step() {
            if w.events().is_multiple_of(4096) {
                out.extend(w.take_trace_records());
            }
        }
        out.extend(w.take_trace_records());
        out
    }

    /// A copy of the last checkpoint before event `e` (so stepping reaches `e`).
    fn checkpoint_before(&self, e: u64) -> World<N> {
        let i = ((e.saturating_sub(1) / self.cfg.every) as usize).min(self.checkpoints.len() - 1);
        self.checkpoints[i].clone()
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

/// What the first pass collects: markers, figures over time, the search index.
struct Scan<'a, N: Observe> {
    names: &'a [String],
    markers: Vec<Marker>,
    notes: Vec<NoteView>,
    next_note: usize,
    series: Series,
    tally: N::Tally,
    index: SearchIndex,
    closes: Closes,
}

impl<N: Observe> Scan<'_, N> {
    fn records(&mut self, recs: Vec<TraceRecord<N::Event>>) {
        let names = self.names;
        let name = |id: NodeId| {
            names
                .get(id.index())
                .cloned()
                .unwrap_or_else(|| id.to_string())
        };
        let (mut terms, mut nodes) = (Vec::new(), Vec::new());
        for rec in &recs {
            while self.next_note < self.notes.len() && self.notes[self.next_note].at <= rec.time {
                let note = &self.notes[self.next_note];
                self.markers.push(note_marker(note, rec.event));
                self.next_note += 1;
            }
            N::tally(rec, &mut self.tally, &mut self.series);
            self.closes.observe(rec);
            terms.clear();
            record_terms::<N>(rec, &mut |t| terms.push(t));
            record_nodes_into(rec, &mut nodes);
            self.index.add(rec.event, &nodes, &terms);
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

    /// Samples the gauges of every bucket starting at or before `t`, from bucket `from`
    /// on; returns the next bucket to sample.
    fn sample_until(&mut self, w: &World<N>, t: Time, from: usize) -> usize {
        let mut b = from;
        let bucket = self.series.bucket_us;
        if (b as u64).saturating_mul(bucket) > t.as_us() {
            return b;
        }
        let gauges = N::gauges(w);
        while (b as u64).saturating_mul(bucket) <= t.as_us() {
            for (name, v) in &gauges {
                self.series.gauge(name, b, *v);
            }
            b += 1;
        }
        b
    }

    fn finish(mut self, total: u64, end: Time) -> (Vec<Marker>, Series, SearchIndex) {
        for note in &self.notes[self.next_note..] {
            let mut m = note_marker(note, total);
            m.time = m.time.min(end.max(note.at));
            self.markers.push(m);
        }
        (self.markers, self.series, self.index)
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
