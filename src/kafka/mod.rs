//! The system under test: Kafka brokers, the controller and the clients, written sans-IO
//! against the kernel's [`Context`](crate::sim::Context). Nothing here reads a clock, opens
//! a socket or spawns a thread; names follow Kafka's (configs, errors, APIs, concepts).

pub mod broker;
pub mod clients;
pub mod config;
pub mod controller;
pub mod errors;
pub mod event;
pub mod fetch_session;
pub mod metadata;
pub mod partition_map;
pub mod protocol;
pub mod record;
#[cfg(test)]
pub mod testing;
pub mod types;

pub use config::{Acks, IsolationLevel};
pub use errors::ErrorCode;
pub use event::KafkaEvent;
pub use protocol::Msg;
pub use record::{Batch, Record, RecordBatch};
pub use types::*;
