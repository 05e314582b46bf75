//! Kafka's configuration keys as typed structs, with Kafka 4.x defaults — one registry for
//! every role.
//!
//! Kafka configures brokers, topics and clients with flat string keys such as `acks` or
//! `min.insync.replicas`. kafkasim keeps those names verbatim, so what a student writes in a
//! scenario file is what they would write in a real `server.properties` or producer config.
//! Each struct holds one typed field per key (`linger.ms` → `linger_ms: u64`), starts from
//! Kafka's own defaults (Kafka 4.x `ProducerConfig`, `ConsumerConfig`, `KafkaConfig`),
//! and remembers which keys were set explicitly ([`registry`]). Each role has one file —
//! [`broker`], [`topic`], [`producer`], [`consumer`] — with its keys, its cross-key rules
//! written once, and the one validated *effective* config the role runs with
//! ([`EffectiveTopicConfig`], [`EffectiveProducerConfig`], [`EffectiveConsumerConfig`]).
//! The textual values (`Acks`, `IsolationLevel`, …) are in [`values`], one type each.
//!
//! This module depends on nothing else in `kafka/` and on no file format: values arrive as
//! [`ConfigValue`], a small enum the scenario layer converts TOML into.
//!
//! kafkasim simplifications (also listed in docs/scenario-format.md):
//! - `offsets.topic.num.partitions` defaults to 3, not Kafka's 50, to keep small runs readable.
//! - `replication.truncation` is not a Kafka key: it switches between follower truncation by
//!   leader epoch (KIP-101, Kafka ≥ 0.11, the default) and the historical truncation to the
//!   local high watermark, which loses acknowledged records.

pub mod broker;
pub mod consumer;
pub mod producer;
pub mod registry;
pub mod simulated;
pub mod topic;
pub mod values;

pub use broker::{BrokerConfig, PER_BROKER_KEYS};
pub use consumer::{ConsumerConfig, EffectiveConsumerConfig};
pub use producer::{EffectiveProducerConfig, ProducerConfig};
pub use registry::{edit_distance, suggest, ConfigError, ConfigErrorKind, ConfigValue, KeyInfo};
pub use topic::{EffectiveTopicConfig, TopicConfig};
pub use values::{
    Acks, AssignmentStrategy, AutoOffsetReset, CleanupPolicy, CompressionType, GroupProtocol,
    IsolationLevel, Ratio, TruncationMode,
};

#[cfg(test)]
mod tests;
