//! Kafka's configuration keys as typed structs, with Kafka 4.x defaults.
//!
//! Kafka configures brokers, topics and clients with flat string keys such as `acks` or
//! `min.insync.replicas`. kafkasim keeps those names verbatim, so what a student writes in a
//! scenario file is what they would write in a real `server.properties` or producer config.
//! Each struct below holds one typed field per key (`linger.ms` → `linger_ms: u64`), starts
//! from Kafka's own defaults (see `/work/shared/kafka-semantics.md` §0), and remembers which
//! keys were set explicitly, because Kafka itself behaves differently for an explicit value
//! and a default one: an explicitly enabled idempotent producer with `acks=1` is a
//! configuration error, while the *default* idempotence is silently switched off.
//!
//! This module is deliberately independent of any file format: values arrive as
//! [`ConfigValue`], a small enum the scenario layer converts TOML into.
//!
//! kafkasim simplifications (also listed in docs/scenario-format.md):
//! - `offsets.topic.num.partitions` defaults to 3, not Kafka's 50, to keep small runs readable.
//! - `replication.truncation` is not a Kafka key: it switches between follower truncation by
//!   leader epoch (KIP-101, Kafka ≥ 0.11, the default) and the historical truncation to the
//!   local high watermark, which loses acknowledged records.

pub mod client;

use std::collections::BTreeMap;
use std::fmt;

/// A configuration value as written by the user, before it is checked against a key's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Int(i64),
    Bool(bool),
    Str(String),
    List(Vec<ConfigValue>),
}

impl ConfigValue {
    /// The value's type, as used in error messages ("expected a boolean, found a string").
    pub fn type_name(&self) -> &'static str {
        match self {
            ConfigValue::Int(_) => "an integer",
            ConfigValue::Bool(_) => "a boolean",
            ConfigValue::Str(_) => "a string",
            ConfigValue::List(_) => "a list",
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Str(s) => write!(f, "{s:?}"),
            ConfigValue::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Documentation of one configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// Kafka's key, verbatim: `linger.ms`.
    pub key: &'static str,
    /// The accepted type, in words: `long (ms)`, `boolean`, `one of: all, -1, 1, 0`.
    pub ty: &'static str,
    /// The default, as text (`null` when Kafka has none).
    pub default: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
}

/// What kind of problem a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    UnknownKey,
    WrongType,
    OutOfRange,
    InvalidValue,
    /// Two keys that are each valid but not together (Kafka's cross-key validation).
    Conflict,
}

/// A configuration problem: which key, what is wrong, and possibly a suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key the problem is attached to (for a conflict, the key to change).
    pub key: String,
    pub kind: ConfigErrorKind,
    /// A full sentence, e.g. "invalid value \"2\" for `acks`".
    pub message: String,
    /// A hint: "did you mean `acks`?" or "valid values: all, -1, 1, 0".
    pub help: Option<String>,
    /// For an unknown key, the nearest valid key.
    pub suggestion: Option<String>,
}

impl ConfigError {
    fn new(key: &str, kind: ConfigErrorKind, message: String) -> Self {
        ConfigError {
            key: key.to_string(),
            kind,
            message,
            help: None,
            suggestion: None,
        }
    }

    fn with_help(mut self, help: String) -> Self {
        self.help = Some(help);
        self
    }

    /// An unknown key, with the nearest of `known` as suggestion.
    pub fn unknown_key<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        let suggestion = suggest(key, known);
        let mut e = ConfigError::new(
            key,
            ConfigErrorKind::UnknownKey,
            format!("unknown configuration key `{key}`"),
        );
        if let Some(s) = &suggestion {
            e.help = Some(format!("did you mean `{s}`?"));
        }
        e.suggestion = suggestion;
        e
    }

    fn conflict(key: &str, message: &str) -> Self {
        ConfigError::new(key, ConfigErrorKind::Conflict, message.to_string())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Levenshtein edit distance between two strings (by characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `input`: same key modulo case and `_`/`-`/`.`, else the
/// closest by edit distance (at most 3), else one that contains the input (or vice versa).
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], ".");
    let wanted = norm(input);
    let mut best: Option<(usize, &str)> = None;
    let mut containing: Option<&str> = None;
    for c in candidates {
        let n = norm(c);
        if n == wanted {
            return Some(c.to_string());
        }
        let d = edit_distance(&wanted, &n);
        if d <= 3 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
        let contains = wanted.len() >= 2 && (n.contains(&wanted) || wanted.contains(&n));
        if contains && containing.is_none() {
            containing = Some(c);
        }
    }
    best.map(|(_, c)| c).or(containing).map(str::to_string)
}

/// A Rust type that can hold the value of a configuration key.
pub trait ConfigField: Sized {
    /// The accepted type, in words, for documentation.
    const TYPE: &'static str;
    /// Checks type and range; the error is a message without the key.
    fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String>;
    /// Parses the default text of a [`KeyInfo`]; panics only on a programming error.
    fn from_default(text: &str) -> Self;
}

fn wrong_type(expected: &str, value: &ConfigValue) -> String {
    format!("expected {expected}, found {} `{value}`", value.type_name())
}

fn check_range(i: i64, min: i64, max: i64) -> Result<i64, String> {
    if i >= min && i <= max {
        return Ok(i);
    }
    if max == i64::MAX || i < min && max >= i32::MAX as i64 {
        Err(format!("must be at least {min}, got {i}"))
    } else {
        Err(format!("must be between {min} and {max}, got {i}"))
    }
}

macro_rules! int_field {
    ($ty:ty, $desc:literal) => {
        impl ConfigField for $ty {
            const TYPE: &'static str = $desc;
            fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String> {
                let ConfigValue::Int(i) = value else {
                    return Err(wrong_type("an integer", value));
                };
                let min = min.max(<$ty>::MIN as i64);
                let max = (max as i128).min(<$ty>::MAX as i128) as i64;
                Ok(check_range(*i, min, max)? as $ty)
            }
            fn from_default(text: &str) -> Self {
                text.parse().expect("valid integer default")
            }
        }
    };
}

int_field!(i32, "int");
int_field!(u32, "int (≥ 0)");
int_field!(i64, "long");
int_field!(u64, "long (≥ 0)");

impl ConfigField for bool {
    const TYPE: &'static str = "boolean";
    fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
        match value {
            ConfigValue::Bool(b) => Ok(*b),
            other => Err(wrong_type("a boolean (true or false)", other)),
        }
    }
    fn from_default(text: &str) -> Self {
        text == "true"
    }
}

impl ConfigField for String {
    const TYPE: &'static str = "string";
    fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
        match value {
            ConfigValue::Str(s) => Ok(s.clone()),
            other => Err(wrong_type("a string", other)),
        }
    }
    fn from_default(text: &str) -> Self {
        text.to_string()
    }
}

macro_rules! optional_field {
    ($ty:ty, $desc:literal) => {
        impl ConfigField for Option<$ty> {
            const TYPE: &'static str = $desc;
            fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String> {
                <$ty as ConfigField>::from_config(value, min, max).map(Some)
            }
            fn from_default(text: &str) -> Self {
                (text != "null").then(|| <$ty as ConfigField>::from_default(text))
            }
        }
    };
}

optional_field!(u32, "int (≥ 0), default unset");
optional_field!(u64, "long (≥ 0), default unset");
optional_field!(bool, "boolean, default unset");
optional_field!(String, "string, default unset");

macro_rules! first_text {
    ($a:literal $(, $rest:literal)*) => {
        $a
    };
}

/// A closed set of textual values (`acks`, `isolation.level`, …).
macro_rules! config_enum {
    ($(#[$meta:meta])* $name:ident, $desc:literal { $($(#[$vmeta:meta])* $variant:ident => $($text:literal)|+),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every accepted spelling.
            pub const VALUES: &'static [&'static str] = &[$($($text),+),+];

            /// Parses one accepted spelling.
            pub fn parse_text(text: &str) -> Option<Self> {
                match text {
                    $($($text)|+ => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The canonical spelling.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => first_text!($($text),+)),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ConfigField for $name {
            const TYPE: &'static str = $desc;
            fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
                let text = match value {
                    ConfigValue::Str(s) => s.clone(),
                    ConfigValue::Int(i) => i.to_string(),
                    other => return Err(wrong_type("a string", other)),
                };
                Self::parse_text(&text).ok_or_else(|| {
                    format!("invalid value {text:?}; valid values: {}", Self::VALUES.join(", "))
                })
            }
            fn from_default(text: &str) -> Self {
                Self::parse_text(text).expect("valid enum default")
            }
        }
    };
}

config_enum!(
    /// `acks`: how many replicas must have a record before the leader answers.
    Acks, "one of: all, -1, 1, 0" {
        All => "all" | "-1",
        One => "1",
        Zero => "0",
    }
);

config_enum!(
    /// `compression.type` of a producer.
    CompressionType, "one of: none, gzip, snappy, lz4, zstd" {
        None => "none",
        Gzip => "gzip",
        Snappy => "snappy",
        Lz4 => "lz4",
        Zstd => "zstd",
    }
);

config_enum!(
    /// `cleanup.policy` of a topic.
    CleanupPolicy, "one of: delete, compact, compact,delete" {
        Delete => "delete",
        Compact => "compact",
        CompactDelete => "compact,delete" | "delete,compact",
    }
);

config_enum!(
    /// `group.protocol`: classic (JoinGroup/SyncGroup) or consumer (KIP-848).
    GroupProtocol, "one of: classic, consumer" {
        Classic => "classic",
        Consumer => "consumer",
    }
);

config_enum!(
    /// `auto.offset.reset`: where to start without a committed offset.
    AutoOffsetReset, "one of: earliest, latest, none" {
        Earliest => "earliest",
        Latest => "latest",
        None => "none",
    }
);

config_enum!(
    /// `isolation.level`: whether records of open or aborted transactions are returned.
    IsolationLevel, "one of: read_uncommitted, read_committed" {
        ReadUncommitted => "read_uncommitted",
        ReadCommitted => "read_committed",
    }
);

config_enum!(
    /// kafkasim's `replication.truncation` switch (not a Kafka key).
    TruncationMode, "one of: leader-epoch, high-watermark" {
        /// Kafka ≥ 0.11 (KIP-101): truncate to where the leader's epoch ends.
        LeaderEpoch => "leader-epoch",
        /// Kafka < 0.11: truncate to the local high watermark on becoming follower.
        HighWatermark => "high-watermark",
    }
);

config_enum!(
    /// One entry of `partition.assignment.strategy`.
    AssignmentStrategy, "one of: range, roundrobin, sticky, cooperative-sticky" {
        Range => "range",
        RoundRobin => "roundrobin",
        Sticky => "sticky",
        CooperativeSticky => "cooperative-sticky",
    }
);

impl ConfigField for Vec<AssignmentStrategy> {
    const TYPE: &'static str =
        "list (or comma-separated string) of: range, roundrobin, sticky, cooperative-sticky";
    fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String> {
        let items: Vec<ConfigValue> = match value {
            ConfigValue::Str(s) => s
                .split(',')
                .map(|p| ConfigValue::Str(p.trim().to_string()))
                .collect(),
            ConfigValue::List(items) => items.clone(),
            other => return Err(wrong_type("a list of strings", other)),
        };
        if items.is_empty() || items == [ConfigValue::Str(String::new())] {
            return Err("must name at least one assignor".to_string());
        }
        items
            .iter()
            .map(|v| AssignmentStrategy::from_config(v, min, max))
            .collect()
    }
    fn from_default(text: &str) -> Self {
        text.split(',')
            .map(AssignmentStrategy::from_default)
            .collect()
    }
}

macro_rules! key_range {
    () => {
        (i64::MIN, i64::MAX)
    };
    ($min:expr, $max:expr) => {
        ($min, $max)
    };
}

/// Declares a config struct: fields, `Default`, `KEYS`, `set`, and the explicit-key record.
macro_rules! config_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $key:literal => $field:ident : $ty:ty = $default:literal
               $(, range($min:expr, $max:expr))? ; $doc:literal )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( #[doc = $doc] pub $field: $ty, )*
            explicit: BTreeMap<String, ConfigValue>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: <$ty as ConfigField>::from_default($default), )*
                    explicit: BTreeMap::new(),
                }
            }
        }

        impl $name {
            /// Every accepted key, in documentation order.
            pub const KEYS: &'static [KeyInfo] = &[
                $( KeyInfo { key: $key, ty: <$ty as ConfigField>::TYPE, default: $default, doc: $doc }, )*
            ];

            /// Sets one key after checking its type and range; records it as explicitly set.
            pub fn set(&mut self, key: &str, value: &ConfigValue) -> Result<(), ConfigError> {
                match key {
                    $( $key => {
                        let (min, max) = key_range!($($min, $max)?);
                        self.$field = <$ty as ConfigField>::from_config(value, min, max)
                            .map_err(|m| invalid(key, m))?;
                    } )*
                    _ => return Err(ConfigError::unknown_key(key, Self::KEYS.iter().map(|k| k.key))),
                }
                self.explicit.insert(key.to_string(), value.clone());
                Ok(())
            }

            /// Whether the user set `key` (as opposed to it holding Kafka's default).
            pub fn is_explicit(&self, key: &str) -> bool {
                self.explicit.contains_key(key)
            }

            /// The explicitly set keys with the values as written, in key order.
            pub fn explicit(&self) -> &BTreeMap<String, ConfigValue> {
                &self.explicit
            }

            /// Builds a config from key/value pairs, collecting every error.
            pub fn from_pairs<'a>(
                pairs: impl IntoIterator<Item = (&'a str, &'a ConfigValue)>,
            ) -> Result<Self, Vec<ConfigError>> {
                let mut config = Self::default();
                let errors: Vec<ConfigError> = pairs
                    .into_iter()
                    .filter_map(|(k, v)| config.set(k, v).err())
                    .collect();
                if errors.is_empty() { Ok(config) } else { Err(errors) }
            }
        }
    };
}

fn invalid(key: &str, message: String) -> ConfigError {
    let kind = if message.starts_with("expected") {
        ConfigErrorKind::WrongType
    } else if message.starts_with("must be") {
        ConfigErrorKind::OutOfRange
    } else {
        ConfigErrorKind::InvalidValue
    };
    let (message, help) = match message.split_once("; ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (message, None),
    };
    let mut e = ConfigError::new(key, kind, format!("`{key}`: {message}"));
    e.help = help;
    e
}

const I32_MAX: i64 = i32::MAX as i64;

config_struct! {
    /// Cluster-wide broker settings, including the cluster defaults for topic settings.
    BrokerConfig {
        "min.insync.replicas" => min_insync_replicas: u32 = "1", range(1, I32_MAX);
            "Replicas that must be in the ISR for an acks=all write to be accepted."
        "unclean.leader.election.enable" => unclean_leader_election_enable: bool = "false";
            "Allow an out-of-sync replica to become leader when no ISR member is alive (loses data)."
        "replica.lag.time.max.ms" => replica_lag_time_max_ms: u64 = "30000";
            "A follower that has not caught up for this long is removed from the ISR."
        "replica.fetch.wait.max.ms" => replica_fetch_wait_max_ms: u64 = "500";
            "How long a follower's fetch waits at the leader for new data (long poll)."
        "replica.fetch.min.bytes" => replica_fetch_min_bytes: u32 = "1", range(1, I32_MAX);
            "Bytes a follower fetch waits for before the leader answers early."
        "replica.fetch.max.bytes" => replica_fetch_max_bytes: u32 = "1048576", range(0, I32_MAX);
            "Bytes per partition a follower fetch returns at most."
        "replica.fetch.backoff.ms" => replica_fetch_backoff_ms: u64 = "1000";
            "Pause after a failed follower fetch."
        "replica.socket.timeout.ms" => replica_socket_timeout_ms: u64 = "30000", range(1, i64::MAX);
            "How long a follower waits for a fetch response before giving up on it and fetching again."
        "replica.high.watermark.checkpoint.interval.ms" => replica_high_watermark_checkpoint_interval_ms: u64 = "5000", range(1, i64::MAX);
            "How often the high watermark is written to disk (a restarted broker may see an older one)."
        "log.flush.interval.messages" => log_flush_interval_messages: u64 = "9223372036854775807", range(1, i64::MAX);
            "fsync a partition after this many appended records (default: never, rely on replication)."
        "log.flush.interval.ms" => log_flush_interval_ms: Option<u64> = "null";
            "fsync a partition this often (default unset: never by time)."
        "broker.heartbeat.interval.ms" => broker_heartbeat_interval_ms: u64 = "2000", range(1, i64::MAX);
            "How often a broker heartbeats to the controller (KRaft)."
        "broker.session.timeout.ms" => broker_session_timeout_ms: u64 = "9000", range(1, i64::MAX);
            "The controller fences a broker that has not heartbeated for this long."
        "default.replication.factor" => default_replication_factor: u32 = "1", range(1, I32_MAX);
            "Replication factor of automatically created topics."
        "num.partitions" => num_partitions: u32 = "1", range(1, I32_MAX);
            "Partition count of automatically created topics."
        "offsets.topic.num.partitions" => offsets_topic_num_partitions: u32 = "3", range(1, I32_MAX);
            "Partitions of __consumer_offsets (kafkasim default 3; Kafka's is 50)."
        "offsets.topic.replication.factor" => offsets_topic_replication_factor: u32 = "3", range(1, I32_MAX);
            "Replication factor of __consumer_offsets; needs at least this many brokers."
        "group.initial.rebalance.delay.ms" => group_initial_rebalance_delay_ms: u64 = "3000";
            "How long the coordinator waits for more members before the first rebalance of an empty group."
        "group.min.session.timeout.ms" => group_min_session_timeout_ms: u64 = "6000";
            "Smallest session.timeout.ms a classic-protocol consumer may ask for."
        "group.max.session.timeout.ms" => group_max_session_timeout_ms: u64 = "1800000";
            "Largest session.timeout.ms a classic-protocol consumer may ask for."
        "auto.leader.rebalance.enable" => auto_leader_rebalance_enable: bool = "true";
            "Move leadership back to the preferred replica when it is healthy again."
        "message.max.bytes" => message_max_bytes: u32 = "1048588", range(0, I32_MAX);
            "Largest record batch a broker accepts."
        "producer.id.expiration.ms" => producer_id_expiration_ms: u64 = "86400000", range(1, i64::MAX);
            "Idempotent-producer state is forgotten after this long without writes."
        "replication.truncation" => replication_truncation: TruncationMode = "leader-epoch";
            "kafkasim switch: leader-epoch (Kafka >= 0.11, KIP-101) or high-watermark (older, loses acked records)."
    }
}

/// The truncation switch under the name the replication code uses.
pub type Truncation = TruncationMode;

/// A topic's effective settings: its overrides resolved against the broker's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveTopicConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub flush_messages: u64,
    pub flush_ms: Option<u64>,
}

impl EffectiveTopicConfig {
    pub fn resolve(topic: &TopicConfig, broker: &BrokerConfig) -> Self {
        EffectiveTopicConfig {
            min_insync_replicas: topic.effective_min_insync_replicas(broker),
            unclean_leader_election_enable: topic.effective_unclean_leader_election(broker),
            flush_messages: topic.effective_flush_messages(broker),
            flush_ms: topic.effective_flush_ms(broker),
        }
    }
}

impl BrokerConfig {
    /// Kafka's cross-key checks for broker settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.group_min_session_timeout_ms > self.group_max_session_timeout_ms {
            return Err(ConfigError::conflict(
                "group.min.session.timeout.ms",
                "group.min.session.timeout.ms must not exceed group.max.session.timeout.ms",
            ));
        }
        if self.broker_heartbeat_interval_ms >= self.broker_session_timeout_ms {
            return Err(ConfigError::conflict(
                "broker.heartbeat.interval.ms",
                "broker.heartbeat.interval.ms must be lower than broker.session.timeout.ms",
            ));
        }
        Ok(())
    }
}

config_struct! {
    /// Per-topic overrides; unset values fall back to the cluster's [`BrokerConfig`].
    TopicConfig {
        "min.insync.replicas" => min_insync_replicas: Option<u32> = "null", range(1, I32_MAX);
            "Overrides the cluster's min.insync.replicas for this topic."
        "unclean.leader.election.enable" => unclean_leader_election_enable: Option<bool> = "null";
            "Overrides the cluster's unclean.leader.election.enable for this topic."
        "flush.messages" => flush_messages: Option<u64> = "null", range(1, i64::MAX);
            "fsync after this many records (default: the cluster's log.flush.interval.messages)."
        "flush.ms" => flush_ms: Option<u64> = "null";
            "fsync this often (default: the cluster's log.flush.interval.ms)."
        "retention.ms" => retention_ms: i64 = "604800000", range(-1, i64::MAX);
            "Delete segments older than this (-1: keep forever)."
        "retention.bytes" => retention_bytes: i64 = "-1", range(-1, i64::MAX);
            "Delete old segments while a partition is larger than this (-1: unlimited)."
        "segment.bytes" => segment_bytes: u32 = "1073741824", range(14, I32_MAX);
            "Roll to a new segment file at this size."
        "cleanup.policy" => cleanup_policy: CleanupPolicy = "delete";
            "delete old segments, compact to the latest record per key, or both."
        "message.max.bytes" => message_max_bytes: Option<u32> = "null", range(0, I32_MAX);
            "Overrides the cluster's message.max.bytes for this topic."
    }
}

impl TopicConfig {
    /// The min.insync.replicas that applies to this topic.
    pub fn effective_min_insync_replicas(&self, broker: &BrokerConfig) -> u32 {
        self.min_insync_replicas
            .unwrap_or(broker.min_insync_replicas)
    }

    /// Whether unclean leader election applies to this topic.
    pub fn effective_unclean_leader_election(&self, broker: &BrokerConfig) -> bool {
        self.unclean_leader_election_enable
            .unwrap_or(broker.unclean_leader_election_enable)
    }

    /// Records between fsyncs for this topic.
    pub fn effective_flush_messages(&self, broker: &BrokerConfig) -> u64 {
        self.flush_messages
            .unwrap_or(broker.log_flush_interval_messages)
    }

    /// Interval between time-based fsyncs for this topic, if any.
    pub fn effective_flush_ms(&self, broker: &BrokerConfig) -> Option<u64> {
        self.flush_ms.or(broker.log_flush_interval_ms)
    }
}

config_struct! {
    /// A producer client's settings (Kafka 4.x defaults: acks=all, idempotence on, linger 5 ms).
    ProducerConfig {
        "acks" => acks: Acks = "all";
            "Replicas that must have a record before it is acknowledged: all (= -1), 1 (leader only), 0 (nobody)."
        "enable.idempotence" => enable_idempotence: bool = "true";
            "Give batches a producer id and sequence numbers so retries cannot duplicate or reorder."
        "retries" => retries: u32 = "2147483647", range(0, I32_MAX);
            "How often a failed batch is resent (bounded in practice by delivery.timeout.ms)."
        "retry.backoff.ms" => retry_backoff_ms: u64 = "100";
            "First pause before a retry; doubles up to retry.backoff.max.ms."
        "retry.backoff.max.ms" => retry_backoff_max_ms: u64 = "1000";
            "Longest pause between retries."
        "request.timeout.ms" => request_timeout_ms: u64 = "30000", range(0, I32_MAX);
            "Give up waiting for a response, close the connection and retry."
        "delivery.timeout.ms" => delivery_timeout_ms: u64 = "120000", range(0, I32_MAX);
            "Upper bound from send() to success or failure, retries included."
        "max.in.flight.requests.per.connection" => max_in_flight_requests_per_connection: u32 = "5", range(1, I32_MAX);
            "Unacknowledged requests per broker connection (at most 5 with idempotence)."
        "batch.size" => batch_size: u32 = "16384", range(0, I32_MAX);
            "Bytes per partition batch."
        "linger.ms" => linger_ms: u64 = "5";
            "Wait this long for more records before sending a batch (0 before Kafka 4.0)."
        "buffer.memory" => buffer_memory: u64 = "33554432";
            "Bytes of records waiting to be sent before send() blocks."
        "max.block.ms" => max_block_ms: u64 = "60000";
            "How long send() may block on a full buffer or missing metadata."
        "max.request.size" => max_request_size: u32 = "1048576", range(1, I32_MAX);
            "Largest produce request."
        "compression.type" => compression_type: CompressionType = "none";
            "Batch compression codec."
        "partitioner.ignore.keys" => partitioner_ignore_keys: bool = "false";
            "Spread records over partitions ignoring their keys."
        "metadata.max.age.ms" => metadata_max_age_ms: u64 = "300000";
            "Refresh cluster metadata at least this often."
        "transactional.id" => transactional_id: Option<String> = "null";
            "Enables transactions; fences older producers with the same id."
        "transaction.timeout.ms" => transaction_timeout_ms: u64 = "60000", range(1, I32_MAX);
            "The coordinator aborts a transaction left open this long."
        "client.id" => client_id: String = "";
            "Name shown in broker logs and metrics."
    }
}

impl ProducerConfig {
    /// Kafka's post-processing and cross-key checks (`ProducerConfig` constructor):
    /// idempotence that was only defaulted is silently disabled when it conflicts with
    /// other keys; explicitly enabled it is a `ConfigException`. A defaulted
    /// `delivery.timeout.ms` that is too small is silently raised.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let conflict = if self.max_in_flight_requests_per_connection > 5 {
            Some((
                "max.in.flight.requests.per.connection",
                "Must set max.in.flight.requests.per.connection to at most 5 to use the idempotent producer.",
            ))
        } else if self.retries == 0 {
            Some((
                "retries",
                "Must set retries to non-zero when using the idempotent producer.",
            ))
        } else if self.acks != Acks::All {
            Some((
                "acks",
                "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence.",
            ))
        } else {
            None
        };
        if let Some((key, message)) = conflict.filter(|_| self.enable_idempotence) {
            if self.is_explicit("enable.idempotence") {
                let blame = if self.is_explicit(key) {
                    key
                } else {
                    "enable.idempotence"
                };
                return Err(ConfigError::conflict(blame, message).with_help(format!(
                    "set \"enable.idempotence\" = false, or change `{key}`"
                )));
            }
            self.enable_idempotence = false;
        }
        if self.transactional_id.is_some() && !self.enable_idempotence {
            return Err(ConfigError::conflict(
                "transactional.id",
                "Cannot set a transactional.id without also enabling idempotence.",
            ));
        }
        let minimum = self.linger_ms + self.request_timeout_ms;
        if self.delivery_timeout_ms < minimum {
            if self.is_explicit("delivery.timeout.ms") {
                return Err(ConfigError::conflict(
                    "delivery.timeout.ms",
                    "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms",
                )
                .with_help(format!("linger.ms + request.timeout.ms = {minimum}")));
            }
            self.delivery_timeout_ms = minimum;
        }
        Ok(())
    }
}

config_struct! {
    /// A consumer client's settings.
    ConsumerConfig {
        "group.id" => group_id: Option<String> = "null";
            "The consumer group (kafkasim defaults it to the scenario's `group`)."
        "group.instance.id" => group_instance_id: Option<String> = "null";
            "Static membership (KIP-345): a restart within session.timeout.ms causes no rebalance."
        "group.protocol" => group_protocol: GroupProtocol = "classic";
            "classic (JoinGroup/SyncGroup) or consumer (KIP-848, broker-side assignment)."
        "session.timeout.ms" => session_timeout_ms: u64 = "45000", range(0, I32_MAX);
            "The coordinator expels a member whose heartbeats stop for this long."
        "heartbeat.interval.ms" => heartbeat_interval_ms: u64 = "3000", range(0, I32_MAX);
            "How often the consumer heartbeats to the group coordinator."
        "max.poll.interval.ms" => max_poll_interval_ms: u64 = "300000", range(1, I32_MAX);
            "A consumer that does not poll for this long leaves the group (also the rebalance timeout)."
        "max.poll.records" => max_poll_records: u32 = "500", range(1, I32_MAX);
            "Records returned by one poll() at most."
        "fetch.min.bytes" => fetch_min_bytes: u32 = "1", range(0, I32_MAX);
            "Bytes a fetch waits for before the broker answers."
        "fetch.max.wait.ms" => fetch_max_wait_ms: u64 = "500", range(0, I32_MAX);
            "How long a fetch waits at the broker for fetch.min.bytes."
        "fetch.max.bytes" => fetch_max_bytes: u32 = "52428800", range(0, I32_MAX);
            "Bytes one fetch response returns at most."
        "max.partition.fetch.bytes" => max_partition_fetch_bytes: u32 = "1048576", range(0, I32_MAX);
            "Bytes per partition one fetch returns at most."
        "enable.auto.commit" => enable_auto_commit: bool = "true";
            "Commit the offsets of records returned by earlier polls, from inside poll()."
        "auto.commit.interval.ms" => auto_commit_interval_ms: u64 = "5000", range(0, I32_MAX);
            "Auto-commit at most this often."
        "auto.offset.reset" => auto_offset_reset: AutoOffsetReset = "latest";
            "Where to start without a valid committed offset: earliest, latest or none (error)."
        "isolation.level" => isolation_level: IsolationLevel = "read_uncommitted";
            "read_committed hides records of open and aborted transactions."
        "partition.assignment.strategy" => partition_assignment_strategy: Vec<AssignmentStrategy> = "range,cooperative-sticky";
            "Assignors in order of preference (the first one all members support is used)."
        "request.timeout.ms" => request_timeout_ms: u64 = "30000", range(0, I32_MAX);
            "Give up waiting for a response and retry."
        "default.api.timeout.ms" => default_api_timeout_ms: u64 = "60000", range(0, I32_MAX);
            "Bound for blocking calls such as commitSync()."
        "retry.backoff.ms" => retry_backoff_ms: u64 = "100";
            "Pause before retrying a failed request."
        "client.id" => client_id: String = "";
            "Name shown in broker logs and metrics."
    }
}

impl ConsumerConfig {
    /// Kafka's cross-key checks for consumers.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            let key = if self.is_explicit("heartbeat.interval.ms") {
                "heartbeat.interval.ms"
            } else {
                "session.timeout.ms"
            };
            return Err(ConfigError::conflict(
                key,
                "Heartbeat must be set lower than the session timeout",
            )
            .with_help(format!(
                "session.timeout.ms = {} must exceed heartbeat.interval.ms = {}",
                self.session_timeout_ms, self.heartbeat_interval_ms
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> ConfigValue {
        ConfigValue::Str(v.to_string())
    }

    #[test]
    fn defaults_match_kafka_4() {
        // Proves the Default impls carry Kafka 4.x defaults from kafka-semantics.md §0.
        let p = ProducerConfig::default();
        assert_eq!(p.acks, Acks::All);
        assert!(p.enable_idempotence);
        assert_eq!(p.linger_ms, 5);
        assert_eq!(p.retries, 2147483647);
        assert_eq!(p.delivery_timeout_ms, 120_000);
        let c = ConsumerConfig::default();
        assert_eq!(c.session_timeout_ms, 45_000);
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Latest);
        assert_eq!(
            c.partition_assignment_strategy,
            vec![
                AssignmentStrategy::Range,
                AssignmentStrategy::CooperativeSticky
            ]
        );
        let b = BrokerConfig::default();
        assert_eq!(b.log_flush_interval_messages, i64::MAX as u64);
        assert_eq!(b.log_flush_interval_ms, None);
        assert_eq!(b.offsets_topic_num_partitions, 3);
        assert_eq!(b.replication_truncation, TruncationMode::LeaderEpoch);
        assert_eq!(TopicConfig::default().retention_bytes, -1);
    }

    #[test]
    fn keys_are_unique_and_documented() {
        // Proves every KEYS table has unique keys with a doc line.
        for keys in [
            BrokerConfig::KEYS,
            TopicConfig::KEYS,
            ProducerConfig::KEYS,
            ConsumerConfig::KEYS,
        ] {
            let mut seen = std::collections::BTreeSet::new();
            for k in keys {
                assert!(seen.insert(k.key), "duplicate {}", k.key);
                assert!(!k.doc.is_empty());
            }
        }
    }

    #[test]
    fn set_checks_types_ranges_and_enums() {
        // Proves set() rejects wrong types, out-of-range numbers and unknown enum values.
        let mut p = ProducerConfig::default();
        let e = p.set("acks", &s("2")).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::InvalidValue);
        assert!(e.help.unwrap().contains("all, -1, 1, 0"));
        let e = p.set("linger.ms", &ConfigValue::Int(-1)).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::OutOfRange);
        let e = p.set("linger.ms", &ConfigValue::Bool(true)).unwrap_err();
        assert_eq!(e.kind, ConfigErrorKind::WrongType);
        p.set("acks", &ConfigValue::Int(1)).unwrap();
        assert_eq!(p.acks, Acks::One);
        p.set("acks", &s("-1")).unwrap();
        assert_eq!(p.acks, Acks::All);
        assert!(p.is_explicit("acks"));
        assert!(!p.is_explicit("linger.ms"));
    }

    #[test]
    fn unknown_key_suggests_nearest() {
        // Proves unknown keys carry the nearest valid key as a suggestion.
        let mut p = ProducerConfig::default();
        let e = p.set("ack", &s("all")).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("acks"));
        let e = p.set("linger_ms", &ConfigValue::Int(1)).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("linger.ms"));
        let e = p.set("idempotence", &ConfigValue::Bool(true)).unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("enable.idempotence"));
        let e = p.set("zzzzzzzzzz", &ConfigValue::Bool(true)).unwrap_err();
        assert_eq!(e.suggestion, None);
    }

    #[test]
    fn idempotence_conflicts_follow_kafka() {
        // Proves explicit idempotence conflicts are errors and defaulted ones are disabled.
        let mut p = ProducerConfig::from_pairs([("acks", &s("1"))]).unwrap();
        p.validate().unwrap();
        assert!(!p.enable_idempotence);

        let on = ConfigValue::Bool(true);
        let mut p =
            ProducerConfig::from_pairs([("acks", &s("1")), ("enable.idempotence", &on)]).unwrap();
        let e = p.validate().unwrap_err();
        assert!(e.message.contains("Must set acks to all"));
        assert_eq!(e.key, "acks");

        let five = ConfigValue::Int(6);
        let mut p = ProducerConfig::from_pairs([
            ("max.in.flight.requests.per.connection", &five),
            ("enable.idempotence", &on),
        ])
        .unwrap();
        assert!(p.validate().is_err());
    }

    #[test]
    fn delivery_timeout_must_cover_linger_and_request_timeout() {
        // Proves the delivery.timeout.ms check: error if explicit, raised if defaulted.
        let mut p =
            ProducerConfig::from_pairs([("delivery.timeout.ms", &ConfigValue::Int(1000))]).unwrap();
        assert!(p.validate().is_err());
        let mut p =
            ProducerConfig::from_pairs([("request.timeout.ms", &ConfigValue::Int(200_000))])
                .unwrap();
        p.validate().unwrap();
        assert_eq!(p.delivery_timeout_ms, 200_005);
    }

    #[test]
    fn consumer_session_must_exceed_heartbeat() {
        // Proves heartbeat.interval.ms >= session.timeout.ms is rejected.
        let c =
            ConsumerConfig::from_pairs([("session.timeout.ms", &ConfigValue::Int(3000))]).unwrap();
        assert_eq!(c.validate().unwrap_err().key, "session.timeout.ms");
        ConsumerConfig::default().validate().unwrap();
    }

    #[test]
    fn assignment_strategy_accepts_list_or_string() {
        // Proves partition.assignment.strategy takes a list or a comma-separated string.
        let mut c = ConsumerConfig::default();
        c.set("partition.assignment.strategy", &s("roundrobin, sticky"))
            .unwrap();
        assert_eq!(
            c.partition_assignment_strategy,
            vec![AssignmentStrategy::RoundRobin, AssignmentStrategy::Sticky]
        );
        let list = ConfigValue::List(vec![s("cooperative-sticky")]);
        c.set("partition.assignment.strategy", &list).unwrap();
        assert!(c.set("partition.assignment.strategy", &s("fancy")).is_err());
        assert!(c
            .set("partition.assignment.strategy", &ConfigValue::List(vec![]))
            .is_err());
    }

    #[test]
    fn topic_overrides_fall_back_to_cluster() {
        // Proves unset topic overrides take the cluster's value.
        let b = BrokerConfig::from_pairs([("min.insync.replicas", &ConfigValue::Int(2))]).unwrap();
        let t = TopicConfig::default();
        assert_eq!(t.effective_min_insync_replicas(&b), 2);
        let t = TopicConfig::from_pairs([("min.insync.replicas", &ConfigValue::Int(3))]).unwrap();
        assert_eq!(t.effective_min_insync_replicas(&b), 3);
    }

    #[test]
    fn edit_distance_basics() {
        // Proves the Levenshtein distance on a few known pairs.
        assert_eq!(edit_distance("ack", "acks"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
