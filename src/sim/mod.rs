//! The deterministic simulation kernel. Knows nothing about Kafka.
