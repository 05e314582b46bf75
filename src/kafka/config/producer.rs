//! The producer's settings (`ProducerConfig.java`) and the one place Kafka's producer rules
//! are written: [`ProducerConfig::effective`] turns the keys a user set into the
//! [`EffectiveProducerConfig`] the client runs with, as `ProducerConfig`'s constructor does
//! (`postProcessAndValidateIdempotenceConfigs`, KIP-679):
//! - idempotence needs `acks=all`, `retries > 0` and at most 5 requests in flight per
//!   connection; when it was only defaulted, a conflicting key silently switches it off,
//!   when it was set explicitly, the conflict is an error (Kafka's `ConfigError`);
//! - a `transactional.id` needs idempotence;
//! - `delivery.timeout.ms` must cover `linger.ms + request.timeout.ms`: an explicit value
//!   below that is an error, the default is raised to it.

use std::collections::BTreeMap;

use super::registry::{
    config_struct, invalid, ConfigError, ConfigField, ConfigValue, KeyInfo, I32_MAX,
};
use super::values::{Acks, CompressionType};

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
            "A record whose batch would exceed this fails at send() with RecordTooLargeException (MESSAGE_TOO_LARGE)."
        "compression.type" => compression_type: CompressionType = "none";
            "Batch compression codec; kafkasim shrinks a batch's records to a fixed share per codec (gzip 40%, snappy 60%, lz4 55%, zstd 35%), on the wire and on disk."
        "partitioner.ignore.keys" => partitioner_ignore_keys: bool = "false";
            "Spread keyed records like unkeyed ones with the sticky partitioner (KIP-794), ignoring their keys."
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

/// A producer configuration after Kafka's post-processing: every value decided, every
/// cross-key rule applied. The producer client runs with this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveProducerConfig {
    pub acks: Acks,
    pub enable_idempotence: bool,
    pub retries: u32,
    pub retry_backoff_ms: u64,
    /// At least `retry.backoff.ms`.
    pub retry_backoff_max_ms: u64,
    pub request_timeout_ms: u64,
    /// At least `linger.ms + request.timeout.ms`.
    pub delivery_timeout_ms: u64,
    pub max_in_flight_requests_per_connection: u32,
    /// At least 1 byte: `batch.size = 0` puts every record in a batch of its own.
    pub batch_size: u32,
    pub linger_ms: u64,
    pub buffer_memory: u64,
    pub max_block_ms: u64,
    pub metadata_max_age_ms: u64,
    pub max_request_size: u32,
    pub compression_type: CompressionType,
    pub partitioner_ignore_keys: bool,
    /// `transactional.id`: the producer is transactional.
    pub transactional_id: Option<std::sync::Arc<str>>,
    pub transaction_timeout_ms: u64,
}

impl Default for EffectiveProducerConfig {
    /// Kafka's defaults, post-processed.
    fn default() -> Self {
        ProducerConfig::default()
            .effective()
            .expect("Kafka's producer defaults are valid")
    }
}

impl ProducerConfig {
    /// Kafka's post-processing and cross-key checks (see the module documentation).
    pub fn effective(&self) -> Result<EffectiveProducerConfig, ConfigError> {
        let enable_idempotence = self.idempotence()?;
        if self.transactional_id.is_some() && !enable_idempotence {
            return Err(ConfigError::conflict(
                "transactional.id",
                "Cannot set a transactional.id without also enabling idempotence.",
            ));
        }
        Ok(EffectiveProducerConfig {
            acks: self.acks,
            enable_idempotence,
            retries: self.retries,
            retry_backoff_ms: self.retry_backoff_ms,
            retry_backoff_max_ms: self.retry_backoff_max_ms.max(self.retry_backoff_ms),
            request_timeout_ms: self.request_timeout_ms,
            delivery_timeout_ms: self.delivery_timeout()?,
            max_in_flight_requests_per_connection: self.max_in_flight_requests_per_connection,
            batch_size: self.batch_size.max(1),
            linger_ms: self.linger_ms,
            buffer_memory: self.buffer_memory,
            max_block_ms: self.max_block_ms,
            metadata_max_age_ms: self.metadata_max_age_ms,
            max_request_size: self.max_request_size,
            compression_type: self.compression_type,
            partitioner_ignore_keys: self.partitioner_ignore_keys,
            transactional_id: self.transactional_id.as_deref().map(std::sync::Arc::from),
            transaction_timeout_ms: self.transaction_timeout_ms,
        })
    }

    /// Checks the rules without keeping the result (the scenario loader's check).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.effective().map(|_| ())
    }

    /// Whether idempotence is on: an explicit request that conflicts is an error, the
    /// default quietly yields (KIP-679).
    fn idempotence(&self) -> Result<bool, ConfigError> {
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
        let Some((key, message)) = conflict.filter(|_| self.enable_idempotence) else {
            return Ok(self.enable_idempotence);
        };
        if !self.is_explicit("enable.idempotence") {
            return Ok(false);
        }
        let blame = if self.is_explicit(key) {
            key
        } else {
            "enable.idempotence"
        };
        Err(ConfigError::conflict(blame, message).with_help(format!(
            "set \"enable.idempotence\" = false, or change `{key}`"
        )))
    }

    /// `delivery.timeout.ms`, raised to `linger.ms + request.timeout.ms` when defaulted.
    fn delivery_timeout(&self) -> Result<u64, ConfigError> {
        let minimum = self.linger_ms + self.request_timeout_ms;
        if self.delivery_timeout_ms >= minimum {
            return Ok(self.delivery_timeout_ms);
        }
        if !self.is_explicit("delivery.timeout.ms") {
            return Ok(minimum);
        }
        Err(ConfigError::conflict(
            "delivery.timeout.ms",
            "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms",
        )
        .with_help(format!("linger.ms + request.timeout.ms = {minimum}")))
    }
}
