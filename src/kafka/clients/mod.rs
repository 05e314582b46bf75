//! The clients: Kafka's producer and consumer as sans-IO components that an application
//! node embeds (the workload's producer and consumer applications do).
//!
//! Both clients sit on the same two pieces: [`metadata`], the client's view of the cluster
//! (which broker leads which partition, refreshed by Metadata requests and by errors such
//! as NOT_LEADER_OR_FOLLOWER), and the requests in flight per broker connection with their
//! correlation ids and `request.timeout.ms`. On top of them the [`producer`] batches records
//! per partition and sends Produce requests to leaders, and the [`consumer`] joins a group
//! through its coordinator and fetches from leaders.
//!
//! Reading order for one record: `producer/mod.rs` (`send`) → `producer/partitioner.rs` →
//! `producer/accumulator.rs` → `producer/sender.rs` (Produce request) → the broker
//! (`broker/produce.rs`, `broker/replication/`) → `consumer/fetcher.rs` (Fetch) →
//! `consumer/mod.rs` (`poll`).

pub mod consumer;
pub mod metadata;
pub mod network;
pub mod producer;
