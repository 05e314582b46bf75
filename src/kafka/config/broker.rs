//! Cluster-wide broker settings (`server.properties`), including the cluster defaults of the
//! topic-level keys, and Kafka's cross-key checks for them.

use std::collections::BTreeMap;

use super::registry::{
    config_struct, invalid, ConfigError, ConfigField, ConfigValue, KeyInfo, I32_MAX,
};
use super::values::TruncationMode;

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
        "leader.imbalance.check.interval.seconds" => leader_imbalance_check_interval_seconds: u64 = "300", range(1, i64::MAX);
            "How long after leadership left a preferred replica the controller tries to move it back."
        "leader.imbalance.per.broker.percentage" => leader_imbalance_per_broker_percentage: u32 = "10", range(0, I32_MAX);
            "The ZooKeeper controller's imbalance threshold; Kafka 4.x's KRaft controller ignores it."
        "message.max.bytes" => message_max_bytes: u32 = "1048588", range(0, I32_MAX);
            "Largest record batch a broker accepts (larger: MESSAGE_TOO_LARGE, nothing written)."
        "log.retention.check.interval.ms" => log_retention_check_interval_ms: u64 = "300000", range(1, i64::MAX);
            "How often each broker deletes the segments retention no longer keeps."
        "log.cleaner.backoff.ms" => log_cleaner_backoff_ms: u64 = "15000", range(1, i64::MAX);
            "How often each broker's log cleaner looks for compacted logs dirty enough to clean."
        "producer.id.expiration.ms" => producer_id_expiration_ms: u64 = "86400000", range(1, i64::MAX);
            "A partition forgets an idempotent producer this long after its last write; a retry after that is no longer deduplicated."
        "producer.id.expiration.check.interval.ms" => producer_id_expiration_check_interval_ms: u64 = "600000", range(1, i64::MAX);
            "How often each broker forgets the producers idle longer than producer.id.expiration.ms."
        "max.incremental.fetch.session.cache.slots" => max_incremental_fetch_session_cache_slots: u32 = "1000", range(0, I32_MAX);
            "Fetch sessions (KIP-227) a broker keeps; a fetcher without one names every partition in every fetch."
        "transaction.state.log.num.partitions" => transaction_state_log_num_partitions: u32 = "3", range(1, I32_MAX);
            "Partitions of __transaction_state (kafkasim default 3; Kafka's is 50)."
        "transaction.state.log.replication.factor" => transaction_state_log_replication_factor: u32 = "3", range(1, I32_MAX);
            "Replication factor of __transaction_state (capped at the number of brokers)."
        "transaction.state.log.min.isr" => transaction_state_log_min_isr: u32 = "2", range(1, I32_MAX);
            "min.insync.replicas of __transaction_state: a coordinator's state write needs this many in-sync replicas."
        "transaction.max.timeout.ms" => transaction_max_timeout_ms: u64 = "900000", range(1, I32_MAX);
            "Largest transaction.timeout.ms a producer may ask for (else INVALID_TRANSACTION_TIMEOUT)."
        "transaction.abort.timed.out.transaction.cleanup.interval.ms" => transaction_abort_timed_out_transaction_cleanup_interval_ms: u64 = "10000", range(1, I32_MAX);
            "How often the transaction coordinator aborts transactions open longer than their transaction.timeout.ms."
        "transaction.partition.verification.enable" => transaction_partition_verification_enable: bool = "true";
            "KIP-890 part 1: a partition leader asks the transaction coordinator whether a transactional batch belongs to an ongoing transaction before appending it (else INVALID_TXN_STATE)."
        "transaction.version" => transaction_version: u32 = "2", range(0, 2);
            "The cluster's finalized transaction.version feature (Kafka sets it with kafka-features.sh or kafka-storage.sh format --feature, not in server.properties): 2 = KIP-890 part 2 (leaders add partitions, an epoch bump at every commit and abort, Kafka 4.0's default), 0 or 1 = the KIP-98 protocol."
        "replication.truncation" => replication_truncation: TruncationMode = "leader-epoch";
            "kafkasim switch: leader-epoch (Kafka >= 0.11, KIP-101) or high-watermark (older, loses acked records)."
    }
}

/// Keys one broker may set for itself (`[[broker]] config`): those only that broker's own
/// code reads — its disk flushes, its follower fetchers, its leader's ISR check, its
/// heartbeats and housekeeping. The others are read by the controller, by the group and
/// transaction coordinators of every broker, or describe internal topics, and must agree
/// across the cluster in kafkasim (in Kafka they are usually cluster-wide dynamic configs).
pub const PER_BROKER_KEYS: &[&str] = &[
    "log.flush.interval.messages",
    "log.flush.interval.ms",
    "replica.lag.time.max.ms",
    "replica.fetch.wait.max.ms",
    "replica.fetch.min.bytes",
    "replica.fetch.max.bytes",
    "replica.fetch.backoff.ms",
    "replica.socket.timeout.ms",
    "replica.high.watermark.checkpoint.interval.ms",
    "broker.heartbeat.interval.ms",
    "log.retention.check.interval.ms",
    "log.cleaner.backoff.ms",
    "producer.id.expiration.ms",
    "producer.id.expiration.check.interval.ms",
    "max.incremental.fetch.session.cache.slots",
    "message.max.bytes",
];

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
