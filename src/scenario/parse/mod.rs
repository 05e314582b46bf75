//! From the spanned tree to a validated [`Scenario`]: every section, every cross-reference.

use super::spec::*;
use super::targets::Roles;
use super::tree::{Kind, TomlValue};
use super::walk::*;
use crate::kafka::config::{BrokerConfig, ConfigError};
use std::ops::Range;

mod apps;
mod brokers;
mod expect;
mod faults;

use apps::*;
use expect::*;
use faults::*;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "question",
    "seed",
    "duration",
    "max_events",
    "cluster",
    "broker",
    "network",
    "disk",
    "topic",
    "producer",
    "consumer",
    "rpc",
    "ping",
    "fault",
    "note",
    "expect",
    "explore",
];

/// Walks a whole document. Returns `None` when problems were recorded in `cx`.
pub(crate) fn scenario(cx: &mut Problems, root: &TomlValue) -> Option<Scenario> {
    let t = table(cx, root, "the top level", TOP_KEYS)?;
    let name = field(cx, &t, "name", true).and_then(|n| as_str(cx, n, "`name`"));
    let description = field(cx, &t, "description", false).and_then(|n| {
        let d = as_str(cx, n, "`description`")?;
        if d.contains('\n') {
            cx.err(
                &n.span,
                "`description` must be one line (it is shown by `kafkasim list`)",
            );
        }
        Some(d)
    });
    let question = field(cx, &t, "question", false).and_then(|n| as_str(cx, n, "`question`"));
    let seed = field(cx, &t, "seed", false).and_then(|n| as_int(cx, n, "`seed`", 0, i64::MAX));
    let duration_us = field(cx, &t, "duration", true).and_then(|n| {
        let d = as_duration(cx, n, "`duration`")?;
        if d == 0 {
            cx.err(&n.span, "`duration` must be longer than 0");
        }
        Some(d)
    });
    let max_events =
        field(cx, &t, "max_events", false).and_then(|n| as_int(cx, n, "`max_events`", 1, i64::MAX));

    let (w, rpcs, ping) = workload(cx, &t, duration_us);

    let roles = Roles {
        names: w.names.iter().map(|(n, _)| n.clone()).collect(),
        topics: &w.topics,
        consumers: &w.consumers,
    };
    let network = t
        .get("network")
        .map_or(Some(NetworkSection::default()), |n| network(cx, n, &roles));
    let disk = t.get("disk").map_or(Some(Disk::default()), |n| disk(cx, n));
    let (faults, notes) = faults_and_notes(cx, &t, &roles, duration_us);
    let expect = t
        .get("expect")
        .map_or(Some(Expect::default()), |n| expect(cx, n));
    let explore = match t.get("explore") {
        Some(n) => Some(explore(cx, n, &roles, duration_us)?),
        None => None,
    };
    if !cx.diags.is_empty() {
        return None;
    }
    Some(Scenario {
        name: name?,
        description,
        question,
        seed: seed.map_or(1, |s| s as u64),
        duration_us: duration_us?,
        max_events: max_events.map_or(DEFAULT_MAX_EVENTS, |m| m as u64),
        cluster: w.cluster,
        network: network?,
        disk: disk?,
        topics: w.topics,
        producers: w.producers,
        consumers: w.consumers,
        rpcs,
        ping,
        faults,
        notes,
        expect: expect?,
        explore,
        external: None,
    })
}

/// The cluster and workload sections, in the order their cross-references need: cluster,
/// topics, producers, consumers, rpc pairs, ping.
fn workload(
    cx: &mut Problems,
    t: &Tbl,
    duration_us: Option<u64>,
) -> (Seen, Vec<Rpc>, Option<Ping>) {
    let mut w = Seen {
        names: Vec::new(),
        duration_us,
        cluster: None,
        topics: Vec::new(),
        consumers: Vec::new(),
        producers: Vec::new(),
    };
    if let Some(n) = t.get("cluster") {
        w.cluster = cluster(cx, n, &mut w.names);
    }
    if let Some(n) = t.get("broker") {
        brokers::brokers(cx, n, w.cluster.as_mut());
    }
    if let Some(n) = t.get("topic") {
        let mut total = 0i64;
        for tn in tables(cx, n, "topic") {
            if let Some(topic) = topic(cx, tn, &w) {
                total += topic.partitions as i64;
                if total > MAX_PARTITIONS {
                    cx.err_help(
                        &tn.span,
                        format!("the topics so far have {total} partitions in all; at most {MAX_PARTITIONS} are simulated per cluster"),
                        "use fewer partitions per topic, or fewer topics",
                    );
                }
                w.topics.push(topic);
            }
        }
    }
    if let Some(n) = t.get("producer") {
        for pn in tables(cx, n, "producer") {
            if let Some(p) = producer(cx, pn, &mut w) {
                w.producers.push(p);
            }
        }
    }
    if let Some(n) = t.get("consumer") {
        for cn in tables(cx, n, "consumer") {
            if let Some(c) = consumer(cx, cn, &mut w) {
                w.consumers.push(c);
            }
        }
    }
    let mut rpcs = Vec::new();
    if let Some(n) = t.get("rpc") {
        for rn in tables(cx, n, "rpc") {
            rpcs.extend(rpc(cx, rn, &mut w));
        }
    }
    let ping = t.get("ping").and_then(|n| ping(cx, n, &mut w));
    check_workload_shape(cx, t, &w, ping.is_some(), !rpcs.is_empty());
    (w, rpcs, ping)
}

/// `[[fault]]` and `[[note]]`, checked against the scenario's nodes and duration.
fn faults_and_notes(
    cx: &mut Problems,
    t: &Tbl,
    roles: &Roles,
    duration_us: Option<u64>,
) -> (Vec<FaultEntry>, Vec<Note>) {
    let mut faults = Vec::new();
    if let Some(n) = t.get("fault") {
        for f in tables(cx, n, "fault") {
            faults.extend(fault(cx, f, roles, duration_us));
        }
    }
    let mut notes = Vec::new();
    if let Some(n) = t.get("note") {
        for nn in tables(cx, n, "note") {
            notes.extend(note(cx, nn, duration_us));
        }
    }
    (faults, notes)
}

/// What has been read so far, for cross-references.
pub(super) struct Seen {
    names: Vec<(String, Range<usize>)>,
    duration_us: Option<u64>,
    cluster: Option<Cluster>,
    topics: Vec<Topic>,
    consumers: Vec<Consumer>,
    producers: Vec<Producer>,
}

pub(super) fn add_node(
    cx: &mut Problems,
    names: &mut Vec<(String, Range<usize>)>,
    name: String,
    span: &Range<usize>,
    source: &str,
) {
    if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
        let first = first.clone();
        cx.err_help(
            span,
            format!("duplicate node name `{name}` (from {source})"),
            format!(
                "node names must be unique; `{name}` is already used at byte {}",
                first.start
            ),
        );
    } else {
        names.push((name, span.clone()));
    }
}

pub(super) fn valid_name(cx: &mut Problems, n: &TomlValue, name: &str, what: &str) -> bool {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok {
        cx.err_help(
            &n.span,
            format!("invalid {what} `{name}`"),
            "use letters, digits, `-`, `_` and `.` only",
        );
    }
    ok
}

pub(super) fn check_at(
    cx: &mut Problems,
    n: &TomlValue,
    what: &str,
    at_us: u64,
    duration_us: Option<u64>,
) {
    if let Some(d) = duration_us.filter(|d| at_us > *d) {
        cx.err(
            &n.span,
            format!(
                "{what} {} is after the end of the run (duration = {})",
                super::units::format_duration_us(at_us),
                super::units::format_duration_us(d)
            ),
        );
    }
}

pub(super) fn config_errors(
    cx: &mut Problems,
    t: &Tbl,
    node: &TomlValue,
    errors: Vec<ConfigError>,
) {
    let entries: &[(super::tree::Key, TomlValue)] = match &node.kind {
        Kind::Table(e) => e,
        _ => &[],
    };
    for e in errors {
        let found = entries.iter().find(|(k, _)| k.name == e.key);
        let span = match (found, e.kind) {
            (Some((k, _)), crate::kafka::config::ConfigErrorKind::UnknownKey) => k.span.clone(),
            (Some((_, v)), _) => v.span.clone(),
            (None, _) => node.span.clone(),
        };
        let message = match e.kind {
            crate::kafka::config::ConfigErrorKind::UnknownKey => {
                format!("unknown key `{}` in {} config", e.key, t.what)
            }
            _ => format!("{} (in {} config)", e.message, t.what),
        };
        match e.help {
            Some(h) => cx.err_help(&span, message, h),
            None => cx.err(&span, message),
        }
    }
}

/// Reads a `config = { ... }` table into the config type `C`.
pub(super) fn config<C: Default>(
    cx: &mut Problems,
    t: &Tbl,
    set: impl Fn(&mut C, &str, &crate::kafka::config::ConfigValue) -> Result<(), ConfigError>,
) -> C {
    config_at(cx, t, "config", set)
}

/// [`config`] read from the table under `key` (`producer_config` of a pipeline).
pub(super) fn config_at<C: Default>(
    cx: &mut Problems,
    t: &Tbl,
    key: &str,
    set: impl Fn(&mut C, &str, &crate::kafka::config::ConfigValue) -> Result<(), ConfigError>,
) -> C {
    let mut c = C::default();
    let Some(node) = t.get(key) else {
        return c;
    };
    let Kind::Table(entries) = &node.kind else {
        cx.err_help(
            &node.span,
            format!(
                "`{key}` in {} must be a table, found {}",
                t.what,
                node.kind.type_name()
            ),
            "write config = { \"linger.ms\" = 5 }",
        );
        return c;
    };
    let mut errors = Vec::new();
    for (k, v) in entries {
        if let Some(value) = as_config_value(cx, v, &k.name) {
            if let Err(e) = set(&mut c, &k.name, &value) {
                errors.push(e);
            }
        }
    }
    config_errors(cx, t, node, errors);
    c
}

pub(super) fn cluster(
    cx: &mut Problems,
    n: &TomlValue,
    names: &mut Vec<(String, Range<usize>)>,
) -> Option<Cluster> {
    let t = table(cx, n, "[cluster]", &["brokers", "controllers", "config"])?;
    let brokers =
        field(cx, &t, "brokers", true).and_then(|n| as_int(cx, n, "`brokers`", 1, MAX_BROKERS));
    let controllers = field(cx, &t, "controllers", false).and_then(|n| {
        let c = as_int(cx, n, "`controllers`", 1, i64::MAX)?;
        if c > 1 {
            cx.err_help(
                &n.span,
                format!("controllers = {c}: only one controller is simulated"),
                "remove `controllers` or set it to 1",
            );
            return None;
        }
        Some(c)
    });
    let config = config::<BrokerConfig>(cx, &t, BrokerConfig::set);
    if let Err(e) = config.validate() {
        config_errors(cx, &t, t.get("config").unwrap_or(n), vec![e]);
    }
    let brokers = brokers? as u32;
    let span = t.key_span("brokers").unwrap_or(t.span.clone());
    for i in 1..=brokers {
        add_node(cx, names, format!("broker-{i}"), &span, "[cluster] brokers");
    }
    add_node(cx, names, "controller".to_string(), &t.span, "[cluster]");
    Some(Cluster {
        brokers,
        controllers: controllers.unwrap_or(1) as u32,
        config,
        own: Vec::new(),
    })
}
