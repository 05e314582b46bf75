//! Application actors that drive the system: the ping demo, producer and consumer
//! applications, and the synchronous RPC baseline.

pub mod ping;
