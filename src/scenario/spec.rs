//! The scenario model: what a parsed, validated scenario file says. Plain data, no spans;
//! times are simulated microseconds (`*_us`), probabilities integer ratios.

use crate::kafka::config::{BrokerConfig, ConsumerConfig, ProducerConfig, TopicConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::sim::{External, Time};
use crate::workload::node::SimNode;

pub use super::units::{DurationRange, Rate, Ratio};

/// Default bound on the number of simulated events.
pub const DEFAULT_MAX_EVENTS: u64 = 50_000_000;
/// The largest cluster the format accepts: brokers, consumer instances per group entry, and
/// partitions over all topics (issue 15: clusters as engineers run them).
pub const MAX_BROKERS: i64 = 200;
pub const MAX_INSTANCES: i64 = 1_000;
pub const MAX_PARTITIONS: i64 = 100_000;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    pub question: Option<String>,
    pub seed: u64,
    pub duration_us: u64,
    pub max_events: u64,
    /// `None` for a ping-only or rpc-only scenario.
    pub cluster: Option<Cluster>,
    pub network: NetworkSection,
    pub disk: Disk,
    pub topics: Vec<Topic>,
    pub producers: Vec<Producer>,
    pub consumers: Vec<Consumer>,
    pub rpcs: Vec<Rpc>,
    pub ping: Option<Ping>,
    pub faults: Vec<FaultEntry>,
    pub notes: Vec<Note>,
    pub expect: Expect,
    pub explore: Option<Explore>,
    /// A recorded `kafkasim serve` session to replay inside the world (`--tape`): never in a
    /// file, set by the command line.
    pub external: Option<ExternalScript>,
}

/// A served session's outside inputs, replayed by the world itself (`sim/external.rs`).
#[derive(Clone)]
pub struct ExternalScript(pub Arc<[(Time, External<SimNode>)]>);

impl std::fmt::Debug for ExternalScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExternalScript({} inputs)", self.0.len())
    }
}

/// Two scripts are the same script only if they are one recording.
impl PartialEq for ExternalScript {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ExternalScript {}

/// `[cluster]`: brokers `broker-1`..`broker-N` and one KRaft controller `controller`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub brokers: u32,
    pub controllers: u32,
    pub config: BrokerConfig,
    /// `[[broker]]` sections: brokers whose settings differ from the cluster's, by id.
    pub own: Vec<BrokerOwn>,
}

/// `[[broker]]`: one broker's own settings, on top of `[cluster]` and `[disk]` (in Kafka
/// every broker has its own `server.properties`; a machine its own OS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerOwn {
    /// The broker id (`broker-ID`), 1..=brokers.
    pub id: u32,
    /// The broker's whole configuration: `[cluster].config` with this section's keys on top.
    pub config: BrokerConfig,
    /// Only the keys this section set, as written (what `emit` writes back).
    pub keys: std::collections::BTreeMap<String, crate::kafka::config::ConfigValue>,
    /// This machine's OS writeback, if it differs from `[disk] writeback`.
    pub writeback: Option<Writeback>,
}

/// A machine's OS writeback of dirty pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writeback {
    /// Data reaches the platter only when Kafka fsyncs.
    Never,
    /// Every dirty page is written back every this many µs.
    Every(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Kafka's default: ordered, lossless connections; only faults drop messages.
    Tcp,
    /// Unordered, possibly lossy, duplicating links (`loss`, `duplicate`, `reorder`).
    Datagram,
}

/// One-way latency of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// `"1ms"` or `"1ms..3ms"` (uniform, inclusive).
    Uniform(DurationRange),
    /// `{ distribution = "lognormal", median = "1ms", p99 = "20ms" }`.
    LogNormal { median_us: u64, p99_us: u64 },
}

/// `[network]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSection {
    pub latency: Latency,
    pub transport: Transport,
    pub loss: Ratio,
    pub duplicate: Ratio,
    pub reorder: Ratio,
    pub links: Vec<Link>,
}

impl Default for NetworkSection {
    fn default() -> Self {
        NetworkSection {
            latency: Latency::Uniform(DurationRange::fixed(1_000)),
            transport: Transport::Tcp,
            loss: Ratio::ZERO,
            duplicate: Ratio::ZERO,
            reorder: Ratio::ZERO,
            links: Vec::new(),
        }
    }
}

/// `[[network.link]]`: overrides for the one-way link `from` → `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub from: String,
    pub to: String,
    pub latency: Option<Latency>,
    pub loss: Option<Ratio>,
    pub duplicate: Option<Ratio>,
    pub reorder: Option<Ratio>,
}

/// `[disk]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disk {
    /// OS page-cache writeback interval; `None`: data reaches the disk only when Kafka fsyncs.
    pub writeback_us: Option<u64>,
    pub fsync_latency_us: u64,
}

/// `[[topic]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub partitions: u32,
    pub replication_factor: u32,
    pub config: TopicConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// `send().get()`: wait for each acknowledgement before the next record.
    Sync,
    /// `send(record, callback)`: keep sending, learn the outcome in the callback.
    Async,
    /// `send(record)` and never look at the outcome.
    FireAndForget,
}

impl SendMode {
    pub const VALUES: &'static [&'static str] = &["sync", "async", "fire-and-forget"];
    pub fn as_str(&self) -> &'static str {
        match self {
            SendMode::Sync => "sync",
            SendMode::Async => "async",
            SendMode::FireAndForget => "fire-and-forget",
        }
    }
}

/// How a producer picks record keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Null keys: records spread by the sticky partitioner.
    None,
    /// Uniformly from `key-0`..`key-(n-1)`.
    Uniform(u64),
    /// From `n` keys with a skewed (Zipf-like) distribution.
    Skewed(u64),
    /// Always this key.
    Fixed(String),
}

/// `[[producer]]`: a producer application; its node is named after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    pub name: String,
    pub topic: String,
    pub send: SendMode,
    pub count: Option<u64>,
    pub rate: Option<Rate>,
    pub start_us: u64,
    pub stop_us: Option<u64>,
    pub keys: Keys,
    pub value_bytes: u32,
    /// With a `transactional.id`: records per transaction (`transaction_records`).
    pub transaction_records: Option<u64>,
    /// With a `transactional.id`: the share of transactions the application aborts.
    pub abort: Option<Ratio>,
    /// The share of sends with a null value (tombstones); needs keys.
    pub tombstones: Ratio,
    /// Validated, with Kafka's post-processing applied (e.g. idempotence disabled).
    pub config: ProducerConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitMode {
    /// Commit, then process: at-most-once.
    BeforeProcessing,
    /// Process, then commitSync: at-least-once.
    AfterProcessing,
    /// `enable.auto.commit=true`: commits inside poll().
    Auto,
    /// Process, then commitAsync (no retries).
    Async,
    /// Consume-transform-produce: write `output` and commit the offsets in one transaction.
    Transaction,
}

impl CommitMode {
    pub const VALUES: &'static [&'static str] = &[
        "before-processing",
        "after-processing",
        "auto",
        "async",
        "transaction",
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            CommitMode::BeforeProcessing => "before-processing",
            CommitMode::AfterProcessing => "after-processing",
            CommitMode::Auto => "auto",
            CommitMode::Async => "async",
            CommitMode::Transaction => "transaction",
        }
    }
}

/// `[[consumer]]`: `instances` consumer applications `NAME-1`..`NAME-n` in one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: String,
    pub group: String,
    pub topics: Vec<String>,
    pub instances: u32,
    pub processing: DurationRange,
    pub commit: CommitMode,
    pub start_us: u64,
    /// Records are handed to a worker thread; poll() goes on at once (needs `commit = "auto"`).
    pub worker: bool,
    /// `group.id` = `group`; `enable.auto.commit` follows `commit` unless set explicitly.
    pub config: ConsumerConfig,
    /// `commit = "transaction"`: the `output` topic and the `producer_config` of the
    /// embedded transactional producer.
    pub pipeline: Option<(String, ProducerConfig)>,
}

impl Consumer {
    /// Node names of the instances.
    pub fn instance_names(&self) -> Vec<String> {
        (1..=self.instances)
            .map(|i| format!("{}-{i}", self.name))
            .collect()
    }
}

/// `[[rpc]]`: a synchronous request/response pair, the baseline Kafka is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rpc {
    pub name: String,
    pub rate: Option<Rate>,
    pub count: Option<u64>,
    pub timeout_us: u64,
    pub retries: u32,
    pub processing: DurationRange,
}

/// `[ping]`: the kernel's demo workload (no Kafka).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    pub servers: u32,
    pub clients: u32,
    /// Requests per client.
    pub requests: u64,
    pub in_flight: u32,
    pub payload_bytes: u32,
    /// A client gives up on a request after this long and closes the connection.
    pub timeout_us: Option<u64>,
}

/// A partition named as `topic-N`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: u32,
}

/// Whom a fault hits: a node, or a role resolved when the fault fires.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// `broker-2`, `controller`, `checkout`, `billing-1`, `client-1`, …
    Node(String),
    /// `leader(orders-0)`: the partition's leader at that moment.
    Leader(TopicPartition),
    /// `follower(orders-0)`: one follower of the partition, picked deterministically.
    Follower(TopicPartition),
    /// `follower(orders-0, 2)`: the partition's 2nd follower — the 2nd replica, in
    /// assignment order, that is not the leader at that moment (1-based).
    NthFollower(TopicPartition, u32),
    /// `consumer(billing-1)`: a consumer instance.
    Consumer(String),
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    Kill(Target),
    PowerLoss {
        target: Target,
        torn: bool,
    },
    Restart(Target),
    Pause(Target),
    Resume(Target),
    Isolate(Target),
    /// Remove every network fault (partitions, cuts, isolations, clogs).
    Heal,
    /// Cut all links between nodes of different groups; unlisted nodes keep all links.
    Partition(Vec<Vec<Target>>),
    /// Drop everything sent from `from` to `to` (one way).
    Cut {
        from: Target,
        to: Target,
    },
    /// Hold everything sent from `from` to `to` until unclogged.
    Clog {
        from: Target,
        to: Target,
    },
    Unclog {
        from: Target,
        to: Target,
    },
    /// Reset the TCP connections between two nodes.
    Reset {
        a: Target,
        b: Target,
    },
    /// A client application crashes (restarted by `for`).
    Crash(Target),
    /// A consumer stops calling poll() (resumed by `for`).
    Stall(Target),
}

/// `[[fault]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEntry {
    pub at_us: u64,
    pub action: FaultAction,
    /// Revert automatically after this long (restart, resume, heal, unclog).
    pub for_us: Option<u64>,
}

/// `[[note]]`: a teaching note shown at a moment of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at_us: u64,
    pub text: String,
    pub pause: bool,
}

/// A condition on a counter, from `[expect]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Eq(u64),
    Ge(u64),
    Gt(u64),
    Le(u64),
    Lt(u64),
    /// Inclusive.
    Between(u64, u64),
    /// `true`: happened at least once ("sometimes"); `false`: never.
    Happened(bool),
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Condition::Eq(n) => write!(f, "{n}"),
            Condition::Ge(n) => write!(f, ">= {n}"),
            Condition::Gt(n) => write!(f, "> {n}"),
            Condition::Le(n) => write!(f, "<= {n}"),
            Condition::Lt(n) => write!(f, "< {n}"),
            Condition::Between(a, b) => write!(f, "{a}..{b}"),
            Condition::Happened(true) => write!(f, "happened at least once"),
            Condition::Happened(false) => write!(f, "never"),
        }
    }
}

impl Condition {
    pub fn holds(&self, actual: u64) -> bool {
        match *self {
            Condition::Eq(n) => actual == n,
            Condition::Ge(n) => actual >= n,
            Condition::Gt(n) => actual > n,
            Condition::Le(n) => actual <= n,
            Condition::Lt(n) => actual < n,
            Condition::Between(a, b) => a <= actual && actual <= b,
            Condition::Happened(h) => (actual > 0) == h,
        }
    }
}

/// Counters and anomaly kinds `[expect]` may name.
pub const EXPECT_KEYS: &[(&str, &str)] = &[
    (
        "lost-write",
        "acknowledged records that no final read returns",
    ),
    ("unseen", "acknowledged records never returned by any poll"),
    ("duplicate", "records stored more than once in the log"),
    (
        "inconsistent-offsets",
        "an offset that holds different records for different readers",
    ),
    (
        "poll-skip",
        "a consumer's poll jumped over offsets it never processed",
    ),
    (
        "nonmonotonic-poll",
        "a consumer's polls went backwards in offset",
    ),
    (
        "nonmonotonic-send",
        "a producer's records stored out of send order",
    ),
    (
        "aborted-read",
        "records of aborted transactions returned to a read_committed consumer",
    ),
    (
        "torn-transaction",
        "read_committed consumers saw part of a committed transaction, not the rest",
    ),
    ("lost-processing", "records never processed by any consumer"),
    ("reprocessed", "records processed more than once"),
    (
        "not-converged",
        "after faults stopped, something did not recover (a client unfinished, a partition without leader)",
    ),
    (
        "leader-elections",
        "leader elections after the initial ones",
    ),
    ("unclean-elections", "elections of an out-of-sync replica"),
    (
        "preferred-elections",
        "leadership moved back to the first replica (auto.leader.rebalance.enable)",
    ),
    (
        "truncations",
        "follower log truncations that removed records",
    ),
    (
        "segments-deleted",
        "retention deletions (one per replica and check that deleted segments)",
    ),
    (
        "position-below-log-start",
        "consumer fetches whose position retention had deleted (OFFSET_OUT_OF_RANGE below the log start offset)",
    ),
    (
        "log-cleaner-passes",
        "log cleaner passes that compacted a replica's log (one per replica and pass)",
    ),
    (
        "compacted",
        "acknowledged records the log cleaner removed (a later record of the key, or a deleted key): not lost",
    ),
    ("rebalances", "consumer group rebalances"),
    ("produce-errors", "sends that ended in an error"),
    (
        "produce-retries",
        "produce attempts that failed with a retriable error and were retried",
    ),
    ("acked", "records acknowledged to producers"),
    ("consumed", "records returned by polls"),
    ("ping-replies", "ping replies received"),
    ("ping-timeouts", "ping requests that timed out"),
    (
        "offline-partitions",
        "partitions without a leader at the end",
    ),
    ("isr-shrinks", "ISR shrinks accepted by the controller"),
    ("isr-expands", "ISR expansions accepted by the controller"),
    ("produced", "records the producer applications sent"),
    ("rpc-ok", "synchronous RPC calls that succeeded"),
    (
        "rpc-failures",
        "synchronous RPC calls that failed after their retries",
    ),
    (
        "max-lag",
        "largest consumer lag seen during the run (records-lag-max: high watermark minus position, records)",
    ),
    (
        "commit-failed",
        "offset commits that failed with CommitFailedException (the member had been removed from its group)",
    ),
    (
        "not-enough-replicas",
        "produce requests a leader rejected with NOT_ENOUGH_REPLICAS (ISR below min.insync.replicas)",
    ),
    (
        "unclean-election-refusals",
        "partitions left offline although a live out-of-sync replica could have led (unclean election disabled)",
    ),
    (
        "coordinator-moves",
        "new leaders of the __consumer_offsets partition hosting a group (its coordinator moved)",
    ),
    (
        "later-rebalances",
        "rebalances of a group that had already formed with all its members",
    ),
    (
        "unprocessed",
        "records no consumer had processed by the end of the drain and no group had committed past (waiting, not lost)",
    ),
    (
        "duplicate-restart",
        "duplicates the application caused by sending a value again after a restart",
    ),
    ("txn-committed", "transactions whose commitTransaction() returned"),
    ("txn-aborted", "transactions whose abortTransaction() returned"),
    (
        "txn-unknown",
        "transactions whose outcome the producer never learned (crashed or fenced mid-transaction)",
    ),
    (
        "txn-timeouts",
        "transactions the coordinator aborted after transaction.timeout.ms",
    ),
    (
        "producers-fenced",
        "transactional producers fenced by a newer epoch (PRODUCER_FENCED: fatal)",
    ),
    ("txn-markers", "COMMIT/ABORT control records appended by partition leaders"),
    (
        "txn-verification-refusals",
        "transactional batches a leader refused after asking the coordinator (KIP-890): INVALID_TXN_STATE (no ongoing transaction with that partition) or INVALID_PRODUCER_EPOCH (an older epoch)",
    ),
    (
        "txn-coordinator-moves",
        "transaction coordinators that took over a __transaction_state partition holding transactions",
    ),
    (
        "uncommitted-reads",
        "records of transactions that did not commit returned by polls (read_uncommitted readers)",
    ),
    (
        "duplicate-retry",
        "duplicates of one send stored twice (the producer resent a batch the broker had)",
    ),
];

/// `[expect]`: what the run must show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Expect {
    pub conditions: BTreeMap<String, Condition>,
}

impl Expect {
    /// Whether `actual` satisfies the condition on `key`; true when `key` has none.
    pub fn check(&self, key: &str, actual: u64) -> bool {
        self.conditions.get(key).is_none_or(|c| c.holds(actual))
    }
}

/// FaultEntry kinds random exploration may inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    Kill,
    PowerLoss,
    Pause,
    Isolate,
    Partition,
    Cut,
    Clog,
    Reset,
    Crash,
    Stall,
}

impl FaultKind {
    pub const ALL: &'static [FaultKind] = &[
        FaultKind::Kill,
        FaultKind::PowerLoss,
        FaultKind::Pause,
        FaultKind::Isolate,
        FaultKind::Partition,
        FaultKind::Cut,
        FaultKind::Clog,
        FaultKind::Reset,
        FaultKind::Crash,
        FaultKind::Stall,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::PowerLoss => "power-loss",
            FaultKind::Pause => "pause",
            FaultKind::Isolate => "isolate",
            FaultKind::Partition => "partition",
            FaultKind::Cut => "cut",
            FaultKind::Clog => "clog",
            FaultKind::Reset => "reset",
            FaultKind::Crash => "crash",
            FaultKind::Stall => "stall",
        }
    }
    pub fn parse(text: &str) -> Option<FaultKind> {
        FaultKind::ALL.iter().copied().find(|k| k.as_str() == text)
    }
}

/// `[explore]`: bounds for random fault schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explore {
    /// Inclusive bounds on the number of faults per run.
    pub faults_min: u32,
    pub faults_max: u32,
    pub kinds: Vec<FaultKind>,
    pub fault_duration: DurationRange,
    /// Empty: all brokers.
    pub targets: Vec<Target>,
    /// FaultEntry-free period at the end of the run.
    pub liveness_us: u64,
}
