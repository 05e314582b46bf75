//! The system under test: Kafka brokers, controller and clients, written sans-IO.

pub mod config;
