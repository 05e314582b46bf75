//! The producer client.

pub mod partitioner;
