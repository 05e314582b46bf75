//! Broker and topic configuration, with Kafka 4.x defaults. Field names are Kafka's keys in
//! snake_case with the unit last (`replica_lag_time_max_ms`). A topic-level override is an
//! `Option` that falls back to the broker's value when `None`.
//!
//! (Minimal version written for the replication work; the scenario layer's parser owns the
//! full list and reconciles with this one.)

/// How a follower decides what to cut from its log when it starts following a new leader.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Truncation {
    /// Kafka ≥ 0.11 (KIP-101, KIP-279): ask the leader where our last epoch ends.
    #[default]
    LeaderEpoch,
    /// Pre-0.11 teaching switch: truncate to the local high watermark.
    HighWatermark,
}

/// Broker configuration (`server.properties`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub replica_lag_time_max_ms: u64,
    pub replica_fetch_wait_max_ms: u64,
    pub replica_fetch_min_bytes: u32,
    pub replica_fetch_max_bytes: u32,
    pub replica_fetch_backoff_ms: u64,
    /// How long a follower waits for a fetch response before giving up on it.
    pub replica_socket_timeout_ms: u64,
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    pub log_flush_interval_messages: u64,
    pub log_flush_interval_ms: Option<u64>,
    pub broker_heartbeat_interval_ms: u64,
    pub broker_session_timeout_ms: u64,
    pub offsets_topic_num_partitions: u32,
    pub offsets_topic_replication_factor: u32,
    /// Not a Kafka key: the teaching switch between pre- and post-KIP-101 truncation.
    pub replication_truncation: Truncation,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_min_bytes: 1,
            replica_fetch_max_bytes: 1_048_576,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            replica_high_watermark_checkpoint_interval_ms: 5_000,
            log_flush_interval_messages: u64::MAX,
            log_flush_interval_ms: None,
            broker_heartbeat_interval_ms: 2_000,
            broker_session_timeout_ms: 9_000,
            // Kafka's default is 50; 3 keeps small simulated clusters readable.
            offsets_topic_num_partitions: 3,
            offsets_topic_replication_factor: 3,
            replication_truncation: Truncation::LeaderEpoch,
        }
    }
}

/// Topic-level overrides (`kafka-topics.sh --config`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopicConfig {
    pub min_insync_replicas: Option<u32>,
    pub unclean_leader_election_enable: Option<bool>,
    pub flush_messages: Option<u64>,
    pub flush_ms: Option<u64>,
}

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
            min_insync_replicas: topic
                .min_insync_replicas
                .unwrap_or(broker.min_insync_replicas),
            unclean_leader_election_enable: topic
                .unclean_leader_election_enable
                .unwrap_or(broker.unclean_leader_election_enable),
            flush_messages: topic
                .flush_messages
                .unwrap_or(broker.log_flush_interval_messages),
            flush_ms: topic.flush_ms.or(broker.log_flush_interval_ms),
        }
    }
}
