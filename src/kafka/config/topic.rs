//! Per-topic overrides and the effective settings of a topic: each override falls back to
//! the cluster's broker setting when unset.

use std::collections::BTreeMap;

use super::broker::BrokerConfig;
use super::registry::{
    config_struct, invalid, ConfigError, ConfigField, ConfigValue, KeyInfo, I32_MAX,
};
use super::values::{CleanupPolicy, Ratio};

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
            "Delete a segment once its newest record is older than this (-1: keep forever); checked every log.retention.check.interval.ms."
        "retention.bytes" => retention_bytes: i64 = "-1", range(-1, i64::MAX);
            "Delete the oldest segments while a partition stays larger than this without them (-1: unlimited)."
        "segment.bytes" => segment_bytes: u32 = "1073741824", range(14, I32_MAX);
            "Roll to a new segment file when the next batch would pass this size."
        "segment.ms" => segment_ms: u64 = "604800000", range(1, i64::MAX);
            "Roll to a new segment file once the active segment's first record is this old."
        "cleanup.policy" => cleanup_policy: CleanupPolicy = "delete";
            "delete old segments, compact to the latest record per key, or both (the log cleaner runs every log.cleaner.backoff.ms)."
        "min.cleanable.dirty.ratio" => min_cleanable_dirty_ratio: Ratio = "0.5";
            "The cleaner compacts a log once its dirty (never cleaned) bytes are at least this share of the cleanable bytes; a decimal as a string."
        "min.compaction.lag.ms" => min_compaction_lag_ms: u64 = "0", range(0, i64::MAX);
            "A record stays uncompacted at least this long: segments with a newer record are not cleaned yet."
        "delete.retention.ms" => delete_retention_ms: u64 = "86400000", range(0, i64::MAX);
            "How long a tombstone (a null value) stays in a cleaned segment before the cleaner removes it."
        "max.message.bytes" => max_message_bytes: Option<u32> = "null", range(0, I32_MAX);
            "Overrides the cluster's message.max.bytes for this topic (Kafka's topic key)."
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

/// A topic's effective settings: its overrides resolved against the broker's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveTopicConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub flush_messages: u64,
    pub flush_ms: Option<u64>,
    pub retention_ms: i64,
    pub retention_bytes: i64,
    pub segment_bytes: u64,
    pub segment_ms: u64,
    pub cleanup_policy: CleanupPolicy,
    pub min_cleanable_dirty_ratio: Ratio,
    pub min_compaction_lag_ms: u64,
    pub delete_retention_ms: u64,
    /// The largest batch a leader accepts for this topic (`max.message.bytes`, else the
    /// cluster's `message.max.bytes`).
    pub max_message_bytes: u32,
}

impl EffectiveTopicConfig {
    pub fn resolve(topic: &TopicConfig, broker: &BrokerConfig) -> Self {
        EffectiveTopicConfig {
            min_insync_replicas: topic.effective_min_insync_replicas(broker),
            unclean_leader_election_enable: topic.effective_unclean_leader_election(broker),
            flush_messages: topic.effective_flush_messages(broker),
            flush_ms: topic.effective_flush_ms(broker),
            retention_ms: topic.retention_ms,
            retention_bytes: topic.retention_bytes,
            segment_bytes: topic.segment_bytes as u64,
            segment_ms: topic.segment_ms,
            cleanup_policy: topic.cleanup_policy,
            min_cleanable_dirty_ratio: topic.min_cleanable_dirty_ratio,
            min_compaction_lag_ms: topic.min_compaction_lag_ms,
            delete_retention_ms: topic.delete_retention_ms,
            max_message_bytes: topic.max_message_bytes.unwrap_or(broker.message_max_bytes),
        }
    }
}
