//! The consumer client.

pub mod assignor;
