//! Application actors that drive the system: the ping demo, producer and consumer
//! applications, and the synchronous RPC baseline; plus the world's node enum and the
//! client history they record.

pub mod cluster;
pub mod consumer_app;
pub mod consumer_txn;
pub mod event;
pub mod external;
pub mod external_reads;
pub mod history;
pub mod kept;
pub mod node;
pub mod ping;
pub mod producer_app;
pub mod producer_txn;
pub mod rate;
pub mod rpc;
pub mod scripted_client;
