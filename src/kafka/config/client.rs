//! Typed client configuration: `ProducerConfig` and `ConsumerConfig`, one field per Kafka
//! config key (dots become underscores, the unit stays last: `linger.ms` → `linger_ms`), with
//! the defaults of Kafka 4.x (`ProducerConfig.java`, `ConsumerConfig.java`).
//!
//! Validation follows Kafka's own rules: idempotence needs `acks=all`, `retries > 0` and at
//! most 5 requests in flight per connection (`postProcessAndValidateIdempotenceConfigs`);
//! when idempotence was not asked for explicitly, a conflicting setting silently turns it off,
//! when it was, the conflict is a `ConfigException`. `delivery.timeout.ms` must cover
//! `linger.ms + request.timeout.ms`.

use std::fmt;
use std::sync::Arc;

use crate::kafka::types::{Acks, IsolationLevel};

/// `auto.offset.reset`.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum AutoOffsetReset {
    Earliest,
    #[default]
    Latest,
    None,
}

/// One entry of `partition.assignment.strategy`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AssignmentStrategy {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

impl AssignmentStrategy {
    /// The protocol name sent in JoinGroup, as Kafka's assignors name themselves.
    pub fn name(self) -> &'static str {
        match self {
            AssignmentStrategy::Range => "range",
            AssignmentStrategy::RoundRobin => "roundrobin",
            AssignmentStrategy::Sticky => "sticky",
            AssignmentStrategy::CooperativeSticky => "cooperative-sticky",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [
            AssignmentStrategy::Range,
            AssignmentStrategy::RoundRobin,
            AssignmentStrategy::Sticky,
            AssignmentStrategy::CooperativeSticky,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }

    /// Cooperative assignors keep partitions across a rebalance (KIP-429); the others are eager.
    pub fn is_cooperative(self) -> bool {
        self == AssignmentStrategy::CooperativeSticky
    }
}

/// A configuration Kafka would reject (`org.apache.kafka.common.config.ConfigException`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigException(pub String);

impl fmt::Display for ConfigException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfigException: {}", self.0)
    }
}

/// Producer configuration (`ProducerConfig.java`), Kafka 4.x defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// `None` = not set by the user (default true, silently dropped on conflicts).
    pub enable_idempotence: Option<bool>,
    pub retries: u32,
    pub retry_backoff_ms: u64,
    pub retry_backoff_max_ms: u64,
    pub request_timeout_ms: u64,
    /// `None` = not set by the user (default 120000, raised silently if too small).
    pub delivery_timeout_ms: Option<u64>,
    pub max_in_flight_requests_per_connection: u32,
    pub batch_size: u32,
    pub linger_ms: u64,
    pub buffer_memory: u64,
    pub max_block_ms: u64,
    pub metadata_max_age_ms: u64,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: None,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: None,
            max_in_flight_requests_per_connection: 5,
            batch_size: 16_384,
            linger_ms: 5,
            buffer_memory: 33_554_432,
            max_block_ms: 60_000,
            metadata_max_age_ms: 300_000,
        }
    }
}

/// A producer configuration after Kafka's post-processing: every value decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveProducerConfig {
    pub acks: Acks,
    pub enable_idempotence: bool,
    pub retries: u32,
    pub retry_backoff_ms: u64,
    pub retry_backoff_max_ms: u64,
    pub request_timeout_ms: u64,
    pub delivery_timeout_ms: u64,
    pub max_in_flight_requests_per_connection: u32,
    pub batch_size: u32,
    pub linger_ms: u64,
    pub buffer_memory: u64,
    pub max_block_ms: u64,
    pub metadata_max_age_ms: u64,
}

impl ProducerConfig {
    /// Kafka's validation and post-processing (`ProducerConfig.postProcessParsedConfig`).
    pub fn validate(&self) -> Result<EffectiveProducerConfig, ConfigException> {
        if self.max_in_flight_requests_per_connection == 0 {
            return Err(ConfigException(
                "max.in.flight.requests.per.connection must be at least 1".into(),
            ));
        }
        let enable_idempotence = self.idempotence()?;
        let delivery_timeout_ms = self.delivery_timeout()?;
        Ok(EffectiveProducerConfig {
            acks: self.acks,
            enable_idempotence,
            retries: self.retries,
            retry_backoff_ms: self.retry_backoff_ms,
            retry_backoff_max_ms: self.retry_backoff_max_ms.max(self.retry_backoff_ms),
            request_timeout_ms: self.request_timeout_ms,
            delivery_timeout_ms,
            max_in_flight_requests_per_connection: self.max_in_flight_requests_per_connection,
            batch_size: self.batch_size.max(1),
            linger_ms: self.linger_ms,
            buffer_memory: self.buffer_memory,
            max_block_ms: self.max_block_ms,
            metadata_max_age_ms: self.metadata_max_age_ms,
        })
    }

    /// Idempotence needs acks=all, retries > 0 and ≤ 5 in flight: an explicit request that
    /// conflicts is an error, the default quietly yields (KIP-679).
    fn idempotence(&self) -> Result<bool, ConfigException> {
        let conflict = if self.max_in_flight_requests_per_connection > 5 {
            Some("max.in.flight.requests.per.connection must be set to at most 5")
        } else if self.retries == 0 {
            Some("retries must be greater than 0")
        } else if self.acks != Acks::All {
            Some("acks must be set to all")
        } else {
            None
        };
        match (self.enable_idempotence, conflict) {
            (Some(true), Some(why)) => Err(ConfigException(format!(
                "{why} in order to use the idempotent producer (enable.idempotence=true)"
            ))),
            (Some(explicit), _) => Ok(explicit),
            (None, conflict) => Ok(conflict.is_none()),
        }
    }

    fn delivery_timeout(&self) -> Result<u64, ConfigException> {
        let floor = self.linger_ms + self.request_timeout_ms;
        match self.delivery_timeout_ms {
            Some(d) if d < floor => Err(ConfigException(format!(
                "delivery.timeout.ms ({d}) should be equal to or larger than linger.ms + request.timeout.ms ({floor})"
            ))),
            Some(d) => Ok(d),
            None => Ok(120_000u64.max(floor)),
        }
    }
}

/// Consumer configuration (`ConsumerConfig.java`), Kafka 4.x defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerConfig {
    pub group_id: Option<Arc<str>>,
    pub group_instance_id: Option<Arc<str>>,
    pub session_timeout_ms: u64,
    pub heartbeat_interval_ms: u64,
    pub max_poll_interval_ms: u64,
    pub max_poll_records: u32,
    pub fetch_min_bytes: u32,
    pub fetch_max_wait_ms: u64,
    pub max_partition_fetch_bytes: u32,
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: u64,
    pub auto_offset_reset: AutoOffsetReset,
    pub isolation_level: IsolationLevel,
    pub partition_assignment_strategy: Vec<AssignmentStrategy>,
    pub request_timeout_ms: u64,
    pub default_api_timeout_ms: u64,
    pub retry_backoff_ms: u64,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            group_id: None,
            group_instance_id: None,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            max_poll_records: 500,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            max_partition_fetch_bytes: 1_048_576,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            auto_offset_reset: AutoOffsetReset::Latest,
            isolation_level: IsolationLevel::ReadUncommitted,
            partition_assignment_strategy: vec![
                AssignmentStrategy::Range,
                AssignmentStrategy::CooperativeSticky,
            ],
            request_timeout_ms: 30_000,
            default_api_timeout_ms: 60_000,
            retry_backoff_ms: 100,
        }
    }
}

impl ConsumerConfig {
    /// Kafka's checks: a group needs a heartbeat shorter than the session, and an empty
    /// strategy list is rejected.
    pub fn validate(&self) -> Result<(), ConfigException> {
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            return Err(ConfigException(
                "heartbeat.interval.ms must be lower than session.timeout.ms".into(),
            ));
        }
        if self.partition_assignment_strategy.is_empty() {
            return Err(ConfigException(
                "partition.assignment.strategy must name at least one assignor".into(),
            ));
        }
        if self.max_poll_records == 0 {
            return Err(ConfigException(
                "max.poll.records must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Without a group there is nothing to commit to: Kafka forces auto-commit off.
    pub fn auto_commit(&self) -> bool {
        self.enable_auto_commit && self.group_id.is_some()
    }
}

/// From the scenario's config registry (`kafka::config`), already validated there: its
/// post-processing (idempotence silently dropped, delivery timeout raised) is kept as
/// explicit values.
impl From<&super::ProducerConfig> for ProducerConfig {
    fn from(c: &super::ProducerConfig) -> Self {
        ProducerConfig {
            acks: c.acks.into(),
            enable_idempotence: Some(c.enable_idempotence),
            retries: c.retries,
            retry_backoff_ms: c.retry_backoff_ms,
            retry_backoff_max_ms: c.retry_backoff_max_ms,
            request_timeout_ms: c.request_timeout_ms,
            delivery_timeout_ms: Some(c.delivery_timeout_ms),
            max_in_flight_requests_per_connection: c.max_in_flight_requests_per_connection,
            batch_size: c.batch_size,
            linger_ms: c.linger_ms,
            buffer_memory: c.buffer_memory,
            max_block_ms: c.max_block_ms,
            metadata_max_age_ms: c.metadata_max_age_ms,
        }
    }
}

impl From<&super::ConsumerConfig> for ConsumerConfig {
    fn from(c: &super::ConsumerConfig) -> Self {
        use super::{AssignmentStrategy as S, AutoOffsetReset as R};
        ConsumerConfig {
            group_id: c.group_id.as_deref().map(Arc::from),
            group_instance_id: c.group_instance_id.as_deref().map(Arc::from),
            session_timeout_ms: c.session_timeout_ms,
            heartbeat_interval_ms: c.heartbeat_interval_ms,
            max_poll_interval_ms: c.max_poll_interval_ms,
            max_poll_records: c.max_poll_records,
            fetch_min_bytes: c.fetch_min_bytes,
            fetch_max_wait_ms: c.fetch_max_wait_ms,
            max_partition_fetch_bytes: c.max_partition_fetch_bytes,
            enable_auto_commit: c.enable_auto_commit,
            auto_commit_interval_ms: c.auto_commit_interval_ms,
            auto_offset_reset: match c.auto_offset_reset {
                R::Earliest => AutoOffsetReset::Earliest,
                R::Latest => AutoOffsetReset::Latest,
                R::None => AutoOffsetReset::None,
            },
            isolation_level: c.isolation_level.into(),
            partition_assignment_strategy: c
                .partition_assignment_strategy
                .iter()
                .map(|s| match s {
                    S::Range => AssignmentStrategy::Range,
                    S::RoundRobin => AssignmentStrategy::RoundRobin,
                    S::Sticky => AssignmentStrategy::Sticky,
                    S::CooperativeSticky => AssignmentStrategy::CooperativeSticky,
                })
                .collect(),
            request_timeout_ms: c.request_timeout_ms,
            default_api_timeout_ms: c.default_api_timeout_ms,
            retry_backoff_ms: c.retry_backoff_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafka_4() {
        // Proves the defaults match Kafka 4.x: idempotent acks=all, linger.ms=5, 120 s delivery.
        let p = ProducerConfig::default().validate().unwrap();
        assert!(p.enable_idempotence);
        assert_eq!(p.acks, Acks::All);
        assert_eq!(p.linger_ms, 5);
        assert_eq!(p.delivery_timeout_ms, 120_000);
        let c = ConsumerConfig::default();
        assert_eq!(c.session_timeout_ms, 45_000);
        assert_eq!(c.auto_offset_reset, AutoOffsetReset::Latest);
        assert_eq!(
            c.partition_assignment_strategy[0],
            AssignmentStrategy::Range
        );
    }

    #[test]
    fn idempotence_conflicts() {
        // Proves explicit idempotence with acks=1 or 6 in flight is rejected, implicit yields.
        let acks1 = ProducerConfig {
            acks: Acks::Leader,
            ..Default::default()
        };
        assert!(!acks1.validate().unwrap().enable_idempotence);
        let explicit = ProducerConfig {
            enable_idempotence: Some(true),
            ..acks1
        };
        assert!(explicit.validate().is_err());
        let six = ProducerConfig {
            enable_idempotence: Some(true),
            max_in_flight_requests_per_connection: 6,
            ..Default::default()
        };
        assert!(six.validate().is_err());
        let five = ProducerConfig {
            enable_idempotence: Some(true),
            max_in_flight_requests_per_connection: 5,
            ..Default::default()
        };
        assert!(five.validate().unwrap().enable_idempotence);
    }

    #[test]
    fn registry_configs_convert_with_their_defaults() {
        // Proves the scenario registry's configs map onto the clients' with the same values.
        let p = ProducerConfig::from(&crate::kafka::config::ProducerConfig::default());
        assert_eq!(
            p.validate().unwrap(),
            ProducerConfig::default().validate().unwrap()
        );
        let c = ConsumerConfig::from(&crate::kafka::config::ConsumerConfig::default());
        assert_eq!(c, ConsumerConfig::default());
    }

    #[test]
    fn delivery_timeout_must_cover_linger_and_request_timeout() {
        // Proves delivery.timeout.ms < linger.ms + request.timeout.ms is a ConfigException.
        let bad = ProducerConfig {
            delivery_timeout_ms: Some(10_000),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let raised = ProducerConfig {
            request_timeout_ms: 200_000,
            ..Default::default()
        };
        assert_eq!(raised.validate().unwrap().delivery_timeout_ms, 200_005);
    }
}
