//! The consumer's settings (`ConsumerConfig.java`) and its one validated form,
//! [`EffectiveConsumerConfig`]: Kafka requires `heartbeat.interval.ms` below
//! `session.timeout.ms`, and without a `group.id` there is nothing to commit to, so
//! auto-commit is off.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::registry::{
    config_struct, invalid, ConfigError, ConfigField, ConfigValue, KeyInfo, I32_MAX,
};
use super::values::{AssignmentStrategy, AutoOffsetReset, GroupProtocol, IsolationLevel};

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
            "Bytes one fetch response returns at most (one batch more if the first partition with data has a larger one, KIP-74)."
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

/// A validated consumer configuration: what the consumer client runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveConsumerConfig {
    pub group_id: Option<Arc<str>>,
    pub group_instance_id: Option<Arc<str>>,
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub max_poll_interval_ms: u64,
    pub max_poll_records: u32,
    pub fetch_min_bytes: u32,
    pub fetch_max_wait_ms: u64,
    pub max_partition_fetch_bytes: u32,
    /// `enable.auto.commit`, and false without a group.
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: u64,
    pub auto_offset_reset: AutoOffsetReset,
    pub isolation_level: IsolationLevel,
    pub partition_assignment_strategy: Vec<AssignmentStrategy>,
    pub request_timeout_ms: u64,
    pub default_api_timeout_ms: u64,
    pub retry_backoff_ms: u64,
    pub fetch_max_bytes: u32,
}

impl ConsumerConfig {
    /// Kafka's cross-key checks for consumers, and the settings the client runs with.
    pub fn effective(&self) -> Result<EffectiveConsumerConfig, ConfigError> {
        self.validate()?;
        Ok(EffectiveConsumerConfig {
            group_id: self.group_id.as_deref().map(Arc::from),
            group_instance_id: self.group_instance_id.as_deref().map(Arc::from),
            session_timeout_ms: self.session_timeout_ms,
            heartbeat_interval_ms: self.heartbeat_interval_ms,
            max_poll_interval_ms: self.max_poll_interval_ms,
            max_poll_records: self.max_poll_records,
            fetch_min_bytes: self.fetch_min_bytes,
            fetch_max_wait_ms: self.fetch_max_wait_ms,
            max_partition_fetch_bytes: self.max_partition_fetch_bytes,
            enable_auto_commit: self.enable_auto_commit && self.group_id.is_some(),
            auto_commit_interval_ms: self.auto_commit_interval_ms,
            auto_offset_reset: self.auto_offset_reset,
            isolation_level: self.isolation_level,
            partition_assignment_strategy: self.partition_assignment_strategy.clone(),
            request_timeout_ms: self.request_timeout_ms,
            default_api_timeout_ms: self.default_api_timeout_ms,
            retry_backoff_ms: self.retry_backoff_ms,
            fetch_max_bytes: self.fetch_max_bytes,
        })
    }

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
