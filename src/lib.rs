//! kafkasim: a deterministic simulation and teaching workbench for Apache Kafka.
//!
//! Layers (dependencies point downwards only): `cli`, `gateway` (real clients on real
//! sockets), `tui`, `explore`, `check`, `scenario`, `workload`, `kafka`, `sim`. See docs/ARCHITECTURE.md.

pub mod bench;
pub mod check;
pub mod cli;
pub mod explore;
pub mod export;
pub mod gateway;
pub mod kafka;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod tui;
pub mod view_model;
pub mod workload;
