//! A consuming application: a loop of `poll()` → process each record → commit, around an
//! embedded [`Consumer`]. When it commits decides what a crash costs:
//!
//! - `before-processing` (at-most-once): commit what poll returned, then process; a crash
//!   in between skips the records (they are committed but never processed);
//! - `after-processing` (at-least-once): process, then `commitSync`; a crash in between
//!   processes them again after the restart or rebalance;
//! - `auto`: `enable.auto.commit`, committed inside a later poll() every
//!   `auto.commit.interval.ms`;
//! - `async`: process, then `commitAsync` (no retry) and poll again at once.
//!
//! With `worker`, poll() hands each batch to a worker thread and the application polls again
//! at once; the worker processes the records one after another. Auto-commit inside those
//! polls then commits positions the worker has not reached yet: a crash loses them (the
//! classic auto-commit loss with asynchronous processing).
//!
//! Processing takes simulated time per record (fixed, or uniform in a range). Signals:
//! `crash` kills the application (no LeaveGroup: the coordinator notices after
//! `session.timeout.ms`); `stall` freezes the application thread — heartbeats go on, so the
//! group only notices through `max.poll.interval.ms`; `end-stall` resumes it.

use std::sync::Arc;

use rand::Rng as _;

use super::event::NodeEvent;
use super::history::HistoryOp;
use crate::kafka::clients::consumer::{
    CommitError, Consumer, ConsumerEvent, ConsumerRecord, ConsumerTimer,
};
use crate::kafka::config::ConsumerConfig;
use crate::kafka::{KafkaEvent, Msg, Offset, TopicPartition};
use crate::sim::{Context, Duration, Mapped, NodeId, Peer};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CommitStrategy {
    BeforeProcessing,
    AfterProcessing,
    Auto,
    Async,
    /// Consume-transform-produce: offsets committed inside the output's transaction
    /// (`consumer_txn.rs`).
    Transaction,
}

/// Simulated time to process one record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProcessingTime {
    Fixed(Duration),
    Uniform(Duration, Duration),
}

#[derive(Clone, Debug)]
pub struct ConsumerAppConfig {
    pub name: Arc<str>,
    pub topics: Vec<Arc<str>>,
    pub bootstrap: Vec<NodeId>,
    pub client: ConsumerConfig,
    pub processing: ProcessingTime,
    pub commit: CommitStrategy,
    /// Processing happens on a worker thread; poll() continues meanwhile.
    pub worker: bool,
    /// With `commit = Transaction`: the output topic and the transactional producer.
    pub pipeline: Option<Box<super::consumer_txn::PipelineConfig>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumerAppTimer {
    Client(ConsumerTimer),
    /// A timer of the pipeline's producer (`consumer_txn.rs`).
    Producer(crate::kafka::clients::producer::ProducerTimer),
    /// The record being processed (by the application thread, or by the worker) is done.
    ProcessDone,
}

impl From<crate::kafka::clients::producer::ProducerTimer> for ConsumerAppTimer {
    fn from(t: crate::kafka::clients::producer::ProducerTimer) -> Self {
        ConsumerAppTimer::Producer(t)
    }
}

impl From<ConsumerTimer> for ConsumerAppTimer {
    fn from(t: ConsumerTimer) -> Self {
        ConsumerAppTimer::Client(t)
    }
}

/// Where the application thread is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Inside poll(), waiting for records.
    Polling,
    /// Waiting for a commitSync to return (then `then` decides what follows).
    Committing { id: u64, then_process: bool },
    /// Processing `batch[next]`.
    Processing {
        next: usize,
        armed: bool,
        timer_done: bool,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    pub polled: u64,
    pub processed: u64,
    pub commits_ok: u64,
    pub commits_failed: u64,
}

#[derive(Clone, Debug)]
pub struct ConsumerApp {
    pub config: ConsumerAppConfig,
    consumer: Option<Consumer>,
    phase: Phase,
    batch: Vec<ConsumerRecord>,
    crashed: bool,
    stalled: bool,
    /// Records handed to the worker, not yet processed; the first is in progress when
    /// `worker_busy`.
    worker_queue: std::collections::VecDeque<ConsumerRecord>,
    worker_busy: bool,
    pub stats: ConsumerStats,
    /// The consume-transform-produce state (`consumer_txn.rs`).
    pub(super) pipeline: Option<Box<super::consumer_txn::Pipeline>>,
}

type ClientCx<'a, C> = Mapped<'a, C, Msg, ConsumerTimer, KafkaEvent>;

impl ConsumerApp {
    pub fn new(mut config: ConsumerAppConfig) -> Self {
        config.client.enable_auto_commit = config.commit == CommitStrategy::Auto;
        ConsumerApp {
            config,
            consumer: None,
            phase: Phase::Polling,
            batch: Vec::new(),
            crashed: false,
            stalled: false,
            worker_queue: Default::default(),
            worker_busy: false,
            stats: ConsumerStats::default(),
            pipeline: None,
        }
    }

    /// The embedded client (assignment, positions, lag).
    pub fn consumer(&self) -> Option<&Consumer> {
        self.consumer.as_ref()
    }

    pub fn on_start<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Ok(config) = self.config.client.effective() else {
            return; // Kafka's ConfigException: the application never starts
        };
        if config.isolation_level == crate::kafka::config::IsolationLevel::ReadCommitted {
            cx.emit(HistoryOp::ReadCommitted.into());
        }
        let mut consumer = Consumer::new(config, self.config.bootstrap.clone());
        let topics: Vec<&str> = self.config.topics.iter().map(|t| &**t).collect();
        consumer.subscribe(&mut ClientCx::new(cx), &topics);
        self.consumer = Some(consumer);
        self.pipeline_start(cx);
        self.step(cx);
    }

    pub fn on_message<C>(&mut self, cx: &mut C, from: Peer, msg: Msg)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if self.crashed {
            return;
        }
        if self.pipeline_on_message(cx, &msg) {
            self.step(cx);
            return;
        }
        if let Some(c) = self.consumer.as_mut() {
            if !self.stalled && matches!(self.phase, Phase::Polling) && c.is_waiting_in_poll() {
                // Blocked in poll(): `step` polls at once, and that poll() runs the
                // consumer's loop after this response, as KafkaConsumer.poll() would.
                c.receive(&mut ClientCx::new(cx), &msg);
            } else {
                c.on_message(&mut ClientCx::new(cx), from, &msg);
            }
        }
        self.step(cx);
    }

    pub fn on_timer<C>(&mut self, cx: &mut C, timer: ConsumerAppTimer)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if self.crashed {
            return;
        }
        match timer {
            ConsumerAppTimer::Client(t) => {
                if let Some(c) = self.consumer.as_mut() {
                    c.on_timer(&mut ClientCx::new(cx), t);
                }
            }
            ConsumerAppTimer::Producer(t) => self.pipeline_on_timer(cx, t),
            ConsumerAppTimer::ProcessDone if self.config.worker => self.worker_done(cx),
            ConsumerAppTimer::ProcessDone => {
                if let Phase::Processing { timer_done, .. } = &mut self.phase {
                    *timer_done = true;
                }
            }
        }
        self.step(cx);
    }

    /// A broker closed its connection: the consumer fails the requests on it and retries.
    pub fn on_disconnect<C>(&mut self, cx: &mut C, peer: NodeId)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if self.crashed {
            return;
        }
        if let Some(c) = self.consumer.as_mut() {
            c.on_disconnect(&mut ClientCx::new(cx), peer);
        }
        self.pipeline_on_disconnect(cx, peer);
        self.step(cx);
    }

    pub fn on_signal<C>(&mut self, cx: &mut C, signal: &str)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        match signal {
            "crash" if !self.crashed => {
                self.crashed = true;
                cx.emit(HistoryOp::Crashed.into());
            }
            "stall" => {
                self.stalled = true;
                if let Some(c) = self.consumer.as_mut() {
                    c.mark_busy();
                }
            }
            "end-stall" => {
                self.stalled = false;
                self.step(cx);
            }
            _ => {}
        }
    }
}

impl ConsumerApp {
    /// The application thread: runs until it has to wait (for records, a commit, or time).
    fn step<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        self.drain_events(cx);
        // Bounded: each turn consumes a batch, a commit or a processed record.
        for _ in 0..100_000 {
            if self.stalled || self.crashed || self.consumer.is_none() {
                return;
            }
            let progressed = match self.phase.clone() {
                Phase::Polling => self.poll(cx),
                Phase::Committing { .. } => false, // drain_events moves us on
                Phase::Processing {
                    next,
                    armed,
                    timer_done,
                } => self.process(cx, next, armed, timer_done),
            };
            if !progressed {
                return;
            }
        }
    }

    fn poll<C>(&mut self, cx: &mut C) -> bool
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if !self.pipeline_may_poll() {
            return false; // the producer is not ready, or a transaction is ending
        }
        let consumer = self.consumer.as_mut().expect("started");
        let records = consumer.poll(&mut ClientCx::new(cx));
        let generation = consumer.generation().0;
        self.drain_events(cx);
        if records.is_empty() {
            return false;
        }
        self.stats.polled += records.len() as u64;
        let list = records
            .iter()
            .map(|r| (r.tp.clone(), r.offset, r.value))
            .collect();
        cx.emit(
            HistoryOp::Poll {
                member: self.config.name.clone(),
                generation,
                records: list,
            }
            .into(),
        );
        if self.config.worker {
            // Handed off: the application thread is back in poll() at once.
            self.worker_queue.extend(records);
            self.worker_next(cx);
            return true;
        }
        if self.config.commit == CommitStrategy::Transaction {
            self.pipeline_batch(cx, &records);
            self.pipeline_commit(cx);
            return true;
        }
        self.batch = records;
        if self.config.commit == CommitStrategy::BeforeProcessing {
            let id = self
                .consumer
                .as_mut()
                .expect("started")
                .commit_sync(&mut ClientCx::new(cx));
            self.phase = Phase::Committing {
                id,
                then_process: true,
            };
            self.drain_events(cx); // an empty commit completes at once
        } else {
            self.phase = Phase::Processing {
                next: 0,
                armed: false,
                timer_done: false,
            };
        }
        true
    }

    fn process<C>(&mut self, cx: &mut C, next: usize, armed: bool, timer_done: bool) -> bool
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        if next >= self.batch.len() {
            self.finish_batch(cx);
            return true;
        }
        if !armed {
            let d = self.processing_time(cx);
            // Zero processing time finishes at once: no timer, no event.
            if d > Duration::ZERO {
                cx.set_timer(d, ConsumerAppTimer::ProcessDone);
                self.phase = Phase::Processing {
                    next,
                    armed: true,
                    timer_done: false,
                };
                return false;
            }
        } else if !timer_done {
            return false;
        }
        let r = &self.batch[next];
        cx.emit(
            HistoryOp::Processed {
                tp: r.tp.clone(),
                offset: r.offset,
                value: r.value,
            }
            .into(),
        );
        self.stats.processed += 1;
        self.phase = Phase::Processing {
            next: next + 1,
            armed: false,
            timer_done: false,
        };
        true
    }

    /// The batch is processed: commit as the strategy says, then poll again.
    fn finish_batch<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        self.batch.clear();
        let consumer = self.consumer.as_mut().expect("started");
        self.phase = match self.config.commit {
            CommitStrategy::AfterProcessing => {
                let id = consumer.commit_sync(&mut ClientCx::new(cx));
                Phase::Committing {
                    id,
                    then_process: false,
                }
            }
            CommitStrategy::Async => {
                consumer.commit_async(&mut ClientCx::new(cx));
                Phase::Polling
            }
            CommitStrategy::Auto
            | CommitStrategy::BeforeProcessing
            | CommitStrategy::Transaction => Phase::Polling,
        };
        self.drain_events(cx);
    }

    /// The worker starts its next record, if it is idle and has one.
    fn worker_next<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        while !self.worker_busy && !self.worker_queue.is_empty() {
            let d = self.processing_time(cx);
            if d > Duration::ZERO {
                self.worker_busy = true;
                cx.set_timer(d, ConsumerAppTimer::ProcessDone);
            } else {
                self.worker_processed(cx);
            }
        }
    }

    fn worker_done<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        self.worker_busy = false;
        self.worker_processed(cx);
        self.worker_next(cx);
    }

    fn worker_processed<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Some(r) = self.worker_queue.pop_front() else {
            return;
        };
        cx.emit(
            HistoryOp::Processed {
                tp: r.tp,
                offset: r.offset,
                value: r.value,
            }
            .into(),
        );
        self.stats.processed += 1;
    }

    /// After an aborted transaction: back to the committed offsets.
    /// The history records it as the start of an assignment (reading from the committed
    /// offsets again, as after a rebalance), so re-reading is not a `nonmonotonic-poll`.
    pub(super) fn rewind<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Some(c) = self.consumer.as_mut() else {
            return;
        };
        c.rewind_to_committed();
        let op = HistoryOp::Assigned {
            member: self.config.name.clone(),
            generation: c.generation().0,
            partitions: c.assignment().into(),
        };
        cx.emit(op.into());
    }

    fn processing_time<C: Context>(&self, cx: &mut C) -> Duration {
        match self.config.processing {
            ProcessingTime::Fixed(d) => d,
            ProcessingTime::Uniform(lo, hi) if hi > lo => {
                Duration::from_us(cx.rng().gen_range(lo.as_us()..=hi.as_us()))
            }
            ProcessingTime::Uniform(lo, _) => lo,
        }
    }

    /// Rebalance callbacks and commit results → history; a returned commitSync resumes the loop.
    fn drain_events<C>(&mut self, cx: &mut C)
    where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        let Some(consumer) = self.consumer.as_mut() else {
            return;
        };
        let events = consumer.take_events();
        if events.is_empty() {
            return;
        }
        let generation = consumer.generation().0;
        let assignment = consumer.assignment();
        let member = self.config.name.clone();
        for e in events {
            match e {
                ConsumerEvent::Assigned {
                    generation,
                    assignment,
                    ..
                } => {
                    cx.emit(
                        HistoryOp::Assigned {
                            member: member.clone(),
                            generation: generation.0,
                            partitions: assignment.into(),
                        }
                        .into(),
                    );
                }
                ConsumerEvent::Revoked { .. } | ConsumerEvent::Lost { .. } => {
                    let partitions = assignment.clone();
                    cx.emit(
                        HistoryOp::Assigned {
                            member: member.clone(),
                            generation,
                            partitions: partitions.into(),
                        }
                        .into(),
                    );
                }
                ConsumerEvent::CommitCompleted {
                    id,
                    offsets,
                    result,
                } => self.commit_done(cx, id, offsets, result),
                ConsumerEvent::NoOffsetForPartition { .. }
                | ConsumerEvent::LogTruncation { .. } => {}
            }
        }
    }

    fn commit_done<C>(
        &mut self,
        cx: &mut C,
        id: u64,
        offsets: Vec<(TopicPartition, Offset)>,
        result: Result<(), CommitError>,
    ) where
        C: Context<Msg = Msg, Timer = ConsumerAppTimer, Event = NodeEvent>,
    {
        match result {
            Ok(()) => {
                self.stats.commits_ok += 1;
                if !offsets.is_empty() {
                    cx.emit(HistoryOp::CommitOk { offsets }.into());
                }
            }
            Err(error) => {
                self.stats.commits_failed += 1;
                cx.emit(HistoryOp::CommitFail { error }.into());
            }
        }
        if let Phase::Committing {
            id: waiting,
            then_process,
        } = self.phase
        {
            if waiting == id {
                self.phase = if then_process {
                    Phase::Processing {
                        next: 0,
                        armed: false,
                        timer_done: false,
                    }
                } else {
                    Phase::Polling
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::kafka::testing::{FakeCx, MiniBroker, BROKER, TOPIC};
    use crate::sim::Time;
    use std::collections::BTreeMap;

    type Cx = FakeCx<Msg, ConsumerAppTimer, NodeEvent>;

    struct Harness {
        now: Time,
        broker: MiniBroker,
        apps: Vec<(ConsumerApp, Cx)>,
    }

    impl Harness {
        fn new(records: u64) -> Self {
            let mut broker = MiniBroker::new(1);
            broker
                .logs
                .insert(TopicPartition::new(TOPIC, 0), (0..records).collect());
            Harness {
                now: Time::ZERO,
                broker,
                apps: Vec::new(),
            }
        }

        fn start(&mut self, commit: CommitStrategy) -> usize {
            let i = self.apps.len();
            let config = ConsumerAppConfig {
                name: Arc::from(format!("app-{i}")),
                topics: vec![Arc::from(TOPIC)],
                bootstrap: vec![BROKER],
                client: ConsumerConfig::default()
                    .with("group.id", "billing")
                    .with("auto.offset.reset", "earliest"),
                processing: ProcessingTime::Fixed(Duration::from_ms(100)),
                commit,
                worker: false,
                pipeline: None,
            };
            let mut cx = Cx::new(i as u64);
            cx.me = NodeId(100 + i as u32);
            cx.now = self.now;
            let mut app = ConsumerApp::new(config);
            app.on_start(&mut cx);
            self.apps.push((app, cx));
            i
        }

        fn deliver(&mut self) {
            for _ in 0..10_000 {
                let mut out = Vec::new();
                for (_, cx) in self.apps.iter_mut() {
                    for (_, msg) in cx.take_sent() {
                        self.broker.handle(
                            self.now,
                            Peer {
                                node: cx.me,
                                conn: 1,
                            },
                            msg,
                            &mut out,
                        );
                    }
                }
                self.broker.answer_fetches(self.now, &mut out);
                if out.is_empty() {
                    return;
                }
                for (to, msg) in out {
                    let (app, cx) = &mut self.apps[(to.node.0 - 100) as usize];
                    app.on_message(
                        cx,
                        Peer {
                            node: BROKER,
                            conn: 1,
                        },
                        msg,
                    );
                }
            }
        }

        fn run_until(&mut self, end: Time) {
            loop {
                self.deliver();
                let mut next: Vec<Time> = self.broker.timers.iter().map(|t| t.0).collect();
                next.extend(self.broker.fetches.iter().map(|f| f.0));
                next.extend(self.apps.iter().filter_map(|(_, cx)| cx.next_timer()));
                let Some(at) = next.into_iter().filter(|&t| t <= end).min() else {
                    self.now = end;
                    return;
                };
                self.now = self.now.max(at);
                for (_, cx) in &mut self.apps {
                    cx.now = self.now;
                }
                let (due, later): (Vec<_>, Vec<_>) =
                    self.broker.timers.drain(..).partition(|t| t.0 <= self.now);
                self.broker.timers = later;
                let mut out = Vec::new();
                for (_, t) in due {
                    let actions = self.broker.coord.on_timer(self.now, t);
                    self.broker.actions(self.now, actions, &mut out);
                }
                for (to, msg) in out {
                    let (app, cx) = &mut self.apps[(to.node.0 - 100) as usize];
                    app.on_message(
                        cx,
                        Peer {
                            node: BROKER,
                            conn: 1,
                        },
                        msg,
                    );
                }
                for (app, cx) in &mut self.apps {
                    for t in cx.due() {
                        app.on_timer(cx, t);
                    }
                }
            }
        }

        fn signal(&mut self, i: usize, s: &str) {
            let (app, cx) = &mut self.apps[i];
            app.on_signal(cx, s);
        }

        /// How many times each value was processed, over all applications.
        fn processed(&self) -> BTreeMap<u64, u32> {
            let mut m = BTreeMap::new();
            for (_, cx) in &self.apps {
                for e in &cx.events {
                    if let NodeEvent::History(HistoryOp::Processed { value, .. }) = e {
                        *m.entry(*value).or_default() += 1;
                    }
                }
            }
            m
        }
    }

    /// Starts app 0, crashes it after it processed 5 of 10 records, starts app 1.
    fn crash_mid_batch(commit: CommitStrategy) -> BTreeMap<u64, u32> {
        let mut h = Harness::new(10);
        h.start(commit);
        // Joined at ~3 s (initial rebalance delay); 100 ms per record.
        h.run_until(Time(3_550_000));
        h.signal(0, "crash");
        h.start(commit);
        h.run_until(Time(60_000_000));
        h.processed()
    }

    #[test]
    fn commit_before_processing_loses_records_on_crash() {
        // Proves at-most-once: the batch was committed before processing, so the records the
        // crashed consumer had not processed are skipped by its replacement (L5).
        let processed = crash_mid_batch(CommitStrategy::BeforeProcessing);
        assert_eq!(processed.len(), 5, "{processed:?}");
        assert!(processed.values().all(|&n| n == 1));
    }

    #[test]
    fn commit_after_processing_duplicates_records_on_crash() {
        // Proves at-least-once: nothing was committed before the crash, so the replacement
        // processes everything again, the first five twice (D2).
        let processed = crash_mid_batch(CommitStrategy::AfterProcessing);
        assert_eq!(processed.len(), 10, "{processed:?}");
        assert_eq!(processed.values().filter(|&&n| n == 2).count(), 5);
    }

    #[test]
    fn stall_triggers_leave_and_reassignment() {
        // Proves a stalled application (heartbeats still flowing) loses its partition after
        // max.poll.interval.ms and a second application processes the records again.
        let mut h = Harness::new(3);
        h.start(CommitStrategy::AfterProcessing);
        h.run_until(Time(3_050_000));
        h.signal(0, "stall");
        h.start(CommitStrategy::AfterProcessing);
        h.run_until(Time(400_000_000));
        let processed = h.processed();
        assert_eq!(processed.len(), 3, "{processed:?}");
        assert!(h.apps[1].0.stats.processed >= 3, "{:?}", h.apps[1].0.stats);
        let c0 = h.apps[0].0.consumer().unwrap();
        assert_eq!(c0.generation().0, -1, "the stalled member left the group");
        assert_eq!(c0.assignment().len(), 1, "kept until its next poll()");
    }

    #[test]
    fn slow_batch_commit_fails_with_commit_failed_exception() {
        // Proves an application whose batch outlasts max.poll.interval.ms is removed from the
        // group while processing, and its commitSync after the batch fails with
        // CommitFailedException (not an empty commit that "succeeds").
        let mut h = Harness::new(3);
        let config = ConsumerAppConfig {
            name: Arc::from("slow"),
            topics: vec![Arc::from(TOPIC)],
            bootstrap: vec![BROKER],
            client: ConsumerConfig::default()
                .with("group.id", "billing")
                .with("auto.offset.reset", "earliest")
                .with("max.poll.interval.ms", 3_000),
            processing: ProcessingTime::Fixed(Duration::from_ms(2_000)),
            commit: CommitStrategy::AfterProcessing,
            worker: false,
            pipeline: None,
        };
        let mut cx = Cx::new(0);
        cx.me = NodeId(100);
        let mut app = ConsumerApp::new(config);
        app.on_start(&mut cx);
        h.apps.push((app, cx));
        h.run_until(Time(20_000_000));
        let failures: Vec<&CommitError> = h.apps[0]
            .1
            .events
            .iter()
            .filter_map(|e| match e {
                NodeEvent::History(HistoryOp::CommitFail { error }) => Some(error),
                _ => None,
            })
            .collect();
        assert!(
            failures
                .iter()
                .any(|e| e.exception
                    == crate::kafka::clients::consumer::CommitException::CommitFailed),
            "{failures:?}"
        );
        assert_eq!(h.apps[0].0.stats.commits_ok, 0, "{:?}", h.apps[0].0.stats);
    }
}
