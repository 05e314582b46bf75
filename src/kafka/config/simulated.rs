//! Which keys the simulation honours. Every key the scenario format accepts either has
//! Kafka's effect in kafkasim, or is a label only (accepted, no effect, and the docs say why),
//! or is **not simulated**: setting it to anything but what kafkasim actually does is an
//! error that says so and what happens instead — a user must never learn something false
//! about Kafka from a key that was silently ignored.
//!
//! The registry of every key is in the config structs; this file lists the exceptions. A
//! test (`every_key_is_simulated_labelled_or_refused`) walks the whole registry and fails on
//! a key that is none of the three, or on a simulated key no test or scenario exercises.

use super::registry::{ConfigError, ConfigErrorKind, ConfigValue};

/// How the simulation treats one key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Simulation {
    /// The key has Kafka's effect.
    Simulated,
    /// Accepted and shown, with no effect on the run, for the stated reason.
    Label(&'static str),
    /// Refused unless set to one of `accepted` (the values kafkasim behaves as); `instead`
    /// says what kafkasim does.
    NotSimulated {
        accepted: &'static [&'static str],
        instead: &'static str,
    },
}

/// Keys that are not simulated, per config struct (`BrokerConfig`, `TopicConfig`, …).
const NOT_SIMULATED: &[(&str, &str, &[&str], &str)] = &[(
    "ConsumerConfig",
    "group.protocol",
    &["classic"],
    "consumer groups run the classic protocol (JoinGroup/SyncGroup); KIP-848 is not simulated",
)];

/// Keys accepted as labels only.
const LABELS: &[(&str, &str, &str)] = &[
    (
        "BrokerConfig",
        "leader.imbalance.per.broker.percentage",
        "a label only, as in Kafka 4.x: the KRaft controller moves leadership back for every partition whose leader is not its first replica (ReplicationControlManager.imbalancedPartitions); only the ZooKeeper controller, removed in 4.0, read this ratio",
    ),
    (
        "ProducerConfig",
        "client.id",
        "a label only: kafkasim names each client by its node (the application's name)",
    ),
    (
        "ConsumerConfig",
        "client.id",
        "a label only: kafkasim names each client by its node (the application's name)",
    ),
];

/// How the simulation treats `key` of the config struct named `config`.
pub fn of(config: &str, key: &str) -> Simulation {
    if let Some(&(_, _, accepted, instead)) = NOT_SIMULATED
        .iter()
        .find(|(c, k, _, _)| *c == config && *k == key)
    {
        return Simulation::NotSimulated { accepted, instead };
    }
    match LABELS.iter().find(|(c, k, _)| *c == config && *k == key) {
        Some(&(_, _, why)) => Simulation::Label(why),
        None => Simulation::Simulated,
    }
}

/// Refuses `value` for `key` if the simulation does not honour it.
pub fn check(config: &str, key: &str, value: &ConfigValue) -> Result<(), ConfigError> {
    let Simulation::NotSimulated { accepted, instead } = of(config, key) else {
        return Ok(());
    };
    let text = match value {
        ConfigValue::Str(s) => s.clone(),
        other => other.to_string(),
    };
    if accepted.contains(&text.as_str()) {
        return Ok(());
    }
    let mut e = ConfigError::new(
        key,
        ConfigErrorKind::NotSimulated,
        format!("not simulated: `{key}` = {value} — {instead}"),
    );
    e.help = Some(if accepted.is_empty() {
        format!("remove `{key}`")
    } else {
        format!("remove `{key}` or set it to {}", accepted.join(" or "))
    });
    Err(e)
}
