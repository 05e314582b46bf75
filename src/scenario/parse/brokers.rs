//! `[[broker]]`: settings one broker has for itself.
//!
//! In Kafka every broker reads its own `server.properties` and runs on its own machine, so
//! two brokers of one cluster can flush their logs differently, or sit on machines whose OS
//! writes dirty pages back at different intervals. A `[[broker]]` section names a broker by
//! `id` and gives it `config` keys on top of `[cluster].config` and a `writeback` on top of
//! `[disk] writeback` (`"never"` to switch the OS writeback off for that machine alone).
//! Only keys that broker's own code reads are accepted (`PER_BROKER_KEYS`): a key read by the
//! controller or by every broker's coordinators would split the cluster's behaviour in a way
//! Kafka's cluster-wide dynamic configs do not, so it is refused with where to put it instead.

use std::collections::BTreeMap;

use super::*;
use crate::kafka::config::{ConfigValue, PER_BROKER_KEYS};

/// Reads every `[[broker]]` table into `cluster.own`.
pub(super) fn brokers(cx: &mut Problems, n: &TomlValue, cluster: Option<&mut Cluster>) {
    let sections = tables(cx, n, "broker");
    let Some(cluster) = cluster else {
        if let Some(first) = sections.first() {
            cx.err_help(
                &first.span,
                "[[broker]] needs a [cluster]",
                "add [cluster] with `brokers`, or remove [[broker]]",
            );
        }
        return;
    };
    for s in sections {
        if let Some(own) = broker(cx, s, cluster) {
            if cluster.own.iter().any(|o| o.id == own.id) {
                cx.err_help(
                    &s.span,
                    format!("a second [[broker]] section for broker {}", own.id),
                    "write one [[broker]] per broker id",
                );
            } else {
                cluster.own.push(own);
            }
        }
    }
    cluster.own.sort_by_key(|o| o.id);
}

fn broker(cx: &mut Problems, n: &TomlValue, cluster: &Cluster) -> Option<BrokerOwn> {
    let t = table(cx, n, "[[broker]]", &["id", "config", "writeback"])?;
    let id = field(cx, &t, "id", true)
        .and_then(|v| as_int(cx, v, "`id` of [[broker]]", 1, cluster.brokers as i64));
    let writeback = t.get("writeback").and_then(|v| writeback(cx, v));
    let config = own_config(cx, &t, cluster);
    let (config, keys) = config?;
    if t.get("writeback").is_some() && writeback.is_none() {
        return None;
    }
    Some(BrokerOwn {
        id: id? as u32,
        config,
        keys,
        writeback,
    })
}

/// `writeback = "5s"` or `"never"`.
fn writeback(cx: &mut Problems, n: &TomlValue) -> Option<Writeback> {
    if let Kind::Str(s) = &n.kind {
        if s == "never" {
            return Some(Writeback::Never);
        }
    }
    let us = as_duration(cx, n, "`writeback` of [[broker]] (a duration or \"never\")")?;
    if us == 0 {
        cx.err_help(
            &n.span,
            "`writeback` must be longer than 0",
            "write a duration such as \"30s\", or \"never\"",
        );
        return None;
    }
    Some(Writeback::Every(us))
}

/// The broker's whole config and the keys this section set.
fn own_config(
    cx: &mut Problems,
    t: &Tbl,
    cluster: &Cluster,
) -> Option<(BrokerConfig, BTreeMap<String, ConfigValue>)> {
    let mut config = cluster.config.clone();
    let mut keys = BTreeMap::new();
    let Some(node) = t.get("config") else {
        return Some((config, keys));
    };
    let Kind::Table(entries) = &node.kind else {
        cx.err_help(
            &node.span,
            format!(
                "`config` in [[broker]] must be a table, found {}",
                node.kind.type_name()
            ),
            "write config = { \"log.flush.interval.messages\" = 1 }",
        );
        return None;
    };
    let before = cx.diags.len();
    let mut errors = Vec::new();
    for (k, v) in entries {
        let known = BrokerConfig::KEYS.iter().any(|i| i.key == k.name);
        if known && !PER_BROKER_KEYS.contains(&k.name.as_str()) {
            cx.err_help(
                &k.span,
                format!("`{}` cannot differ between brokers in kafkasim", k.name),
                "it is read by the controller or by every broker's coordinators: set it in [cluster] config",
            );
            continue;
        }
        let Some(value) = as_config_value(cx, v, &k.name) else {
            continue;
        };
        match config.set(&k.name, &value) {
            Ok(()) => {
                keys.insert(k.name.clone(), value);
            }
            Err(e) => errors.push(e),
        }
    }
    if let Err(e) = config.validate() {
        errors.push(e);
    }
    config_errors(cx, t, node, errors);
    (cx.diags.len() == before).then_some((config, keys))
}
