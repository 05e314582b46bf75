//! From the spanned tree to a validated [`Scenario`]: every section, every cross-reference.

use super::spec::*;
use super::targets::{parse_target, Roles};
use super::tree::{Kind, TomlValue};
use super::walk::*;
use crate::kafka::config::{
    BrokerConfig, ConfigError, ConsumerConfig, ProducerConfig, TopicConfig,
};
use std::ops::Range;

const TOP_KEYS: &[&str] = &[
    "name",
    "description",
    "question",
    "seed",
    "duration",
    "max_events",
    "cluster",
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
    if let Some(n) = t.get("topic") {
        for tn in tables(cx, n, "topic") {
            if let Some(topic) = topic(cx, tn, &w) {
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
    check_workload_shape(cx, &t, &w, ping.is_some(), !rpcs.is_empty());

    let roles = Roles {
        names: w.names.iter().map(|(n, _)| n.clone()).collect(),
        topics: &w.topics,
        consumers: &w.consumers,
    };
    let network = t
        .get("network")
        .map_or(Some(NetworkSection::default()), |n| network(cx, n, &roles));
    let disk = t.get("disk").map_or(Some(Disk::default()), |n| disk(cx, n));
    let mut faults = Vec::new();
    if let Some(n) = t.get("fault") {
        for f in tables(cx, n, "fault") {
            faults.extend(fault(cx, f, &roles, duration_us));
        }
    }
    let mut notes = Vec::new();
    if let Some(n) = t.get("note") {
        for nn in tables(cx, n, "note") {
            notes.extend(note(cx, nn, duration_us));
        }
    }
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
    })
}

/// What has been read so far, for cross-references.
struct Seen {
    names: Vec<(String, Range<usize>)>,
    duration_us: Option<u64>,
    cluster: Option<Cluster>,
    topics: Vec<Topic>,
    consumers: Vec<Consumer>,
    producers: Vec<Producer>,
}

fn add_node(
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

fn valid_name(cx: &mut Problems, n: &TomlValue, name: &str, what: &str) -> bool {
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

fn check_at(cx: &mut Problems, n: &TomlValue, what: &str, at_us: u64, duration_us: Option<u64>) {
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

fn config_errors(cx: &mut Problems, t: &Tbl, node: &TomlValue, errors: Vec<ConfigError>) {
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
fn config<C: Default>(
    cx: &mut Problems,
    t: &Tbl,
    set: impl Fn(&mut C, &str, &crate::kafka::config::ConfigValue) -> Result<(), ConfigError>,
) -> C {
    let mut c = C::default();
    let Some(node) = t.get("config") else {
        return c;
    };
    let Kind::Table(entries) = &node.kind else {
        cx.err_help(
            &node.span,
            format!(
                "`config` in {} must be a table, found {}",
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

fn cluster(
    cx: &mut Problems,
    n: &TomlValue,
    names: &mut Vec<(String, Range<usize>)>,
) -> Option<Cluster> {
    let t = table(cx, n, "[cluster]", &["brokers", "controllers", "config"])?;
    let brokers = field(cx, &t, "brokers", true).and_then(|n| as_int(cx, n, "`brokers`", 1, 9));
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
    })
}

fn topic(cx: &mut Problems, n: &TomlValue, w: &Seen) -> Option<Topic> {
    let mut t = table(
        cx,
        n,
        "[[topic]]",
        &["name", "partitions", "replication_factor", "config"],
    )?;
    let name_node = field(cx, &t, "name", true)?;
    let name = as_str(cx, name_node, "topic `name`")?;
    t.what = format!("[[topic]] `{name}`");
    if !valid_name(cx, name_node, &name, "topic name") {
        return None;
    }
    if name.starts_with("__") {
        cx.err(&name_node.span, format!("topic name `{name}` is reserved: names starting with `__` belong to Kafka's internal topics"));
    }
    if w.topics.iter().any(|x| x.name == name) {
        cx.err(&name_node.span, format!("duplicate topic `{name}`"));
    }
    let Some(cluster) = &w.cluster else {
        cx.err_help(
            &t.span,
            format!("{} needs a [cluster]", t.what),
            "add [cluster] with brokers = 3",
        );
        return None;
    };
    let partitions =
        field(cx, &t, "partitions", false).and_then(|n| as_int(cx, n, "`partitions`", 1, 10_000));
    let rf = match field(cx, &t, "replication_factor", false) {
        Some(n) => {
            let rf = as_int(cx, n, "`replication_factor`", 1, i64::MAX)?;
            if rf > cluster.brokers as i64 {
                cx.err_help(
                    &n.span,
                    format!(
                        "replication_factor = {rf} but the cluster has only {} brokers",
                        cluster.brokers
                    ),
                    "a partition keeps at most one replica per broker",
                );
                return None;
            }
            rf as u32
        }
        None => cluster
            .config
            .default_replication_factor
            .min(cluster.brokers),
    };
    let config = config::<TopicConfig>(cx, &t, TopicConfig::set);
    Some(Topic {
        name,
        partitions: partitions.map_or(cluster.config.num_partitions, |p| p as u32),
        replication_factor: rf,
        config,
    })
}

fn topic_ref(cx: &mut Problems, w: &Seen, name: &str, span: &Range<usize>, what: &str) -> bool {
    if w.topics.iter().any(|t| t.name == name) {
        return true;
    }
    let names: Vec<&str> = w.topics.iter().map(|t| t.name.as_str()).collect();
    let message = format!("{what} names unknown topic `{name}`");
    match crate::kafka::config::suggest(name, names.iter().copied()) {
        Some(s) => cx.err_help(span, message, format!("did you mean `{s}`?")),
        None if names.is_empty() => {
            cx.err_help(span, message, "declare it with a [[topic]] section")
        }
        None => cx.err_help(span, message, format!("topics: {}", names.join(", "))),
    }
    false
}

fn start_stop(cx: &mut Problems, t: &Tbl, w: &Seen) -> (Option<u64>, Option<u64>) {
    let start = field(cx, t, "start", false).and_then(|n| {
        let s = as_duration(cx, n, "`start`")?;
        check_at(cx, n, "`start`", s, w.duration_us);
        Some(s)
    });
    let stop = field(cx, t, "stop", false).and_then(|n| {
        let s = as_duration(cx, n, "`stop`")?;
        if s <= start.unwrap_or(0) {
            cx.err(&n.span, "`stop` must come after `start`");
        }
        check_at(cx, n, "`stop`", s, w.duration_us);
        Some(s)
    });
    (start, stop)
}

fn keys(cx: &mut Problems, n: &TomlValue) -> Option<Keys> {
    let s = as_str(cx, n, "`keys`")?;
    let (kind, arg) = s.split_once(':').unwrap_or((&s, ""));
    let count = || arg.parse::<u64>().ok().filter(|c| *c > 0);
    let keys = match kind {
        "none" if arg.is_empty() => Some(Keys::None),
        "uniform" => count().map(Keys::Uniform),
        "skewed" => count().map(Keys::Skewed),
        "fixed" if !arg.is_empty() => Some(Keys::Fixed(arg.to_string())),
        _ => None,
    };
    if keys.is_none() {
        cx.err_help(
            &n.span,
            format!("invalid `keys` value `{s}`"),
            "valid forms: \"none\", \"uniform:100\", \"skewed:100\", \"fixed:user-42\"",
        );
    }
    keys
}

fn one_of<T: Copy>(
    cx: &mut Problems,
    n: &TomlValue,
    what: &str,
    values: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let s = as_str(cx, n, what)?;
    let v = parse(&s);
    if v.is_none() {
        let hint = match crate::kafka::config::suggest(&s, values.iter().copied()) {
            Some(x) => format!("did you mean `{x}`? valid values: {}", values.join(", ")),
            None => format!("valid values: {}", values.join(", ")),
        };
        cx.err_help(&n.span, format!("unknown {what} `{s}`"), hint);
    }
    v
}

fn producer(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Producer> {
    const KEYS: &[&str] = &[
        "name",
        "topic",
        "send",
        "count",
        "rate",
        "start",
        "stop",
        "keys",
        "value_bytes",
        "config",
    ];
    let mut t = table(cx, n, "[[producer]]", KEYS)?;
    let name_node = field(cx, &t, "name", true)?;
    let name = as_str(cx, name_node, "producer `name`")?;
    t.what = format!("[[producer]] `{name}`");
    if valid_name(cx, name_node, &name, "producer name") {
        add_node(
            cx,
            &mut w.names,
            name.clone(),
            &name_node.span,
            "[[producer]]",
        );
    }
    let topic = field(cx, &t, "topic", true).and_then(|n| {
        let s = as_str(cx, n, "`topic`")?;
        topic_ref(cx, w, &s, &n.span, &t.what).then_some(s)
    });
    let send = match field(cx, &t, "send", false) {
        Some(n) => one_of(cx, n, "send mode", SendMode::VALUES, |s| match s {
            "sync" => Some(SendMode::Sync),
            "async" => Some(SendMode::Async),
            "fire-and-forget" => Some(SendMode::FireAndForget),
            _ => None,
        }),
        None => Some(SendMode::Async),
    };
    let count = field(cx, &t, "count", false)
        .and_then(|n| as_int(cx, n, "`count`", 1, i64::MAX))
        .map(|c| c as u64);
    let rate = field(cx, &t, "rate", false).and_then(|n| as_rate(cx, n, "`rate`"));
    if !t.has("count") && !t.has("rate") {
        cx.err_help(
            &t.span,
            format!("{} sends nothing", t.what),
            "give it `count` (total records) and/or `rate` (\"500/s\")",
        );
    }
    let (start, stop) = start_stop(cx, &t, w);
    let keys = field(cx, &t, "keys", false).map_or(Some(Keys::None), |n| keys(cx, n));
    let value_bytes = field(cx, &t, "value_bytes", false)
        .and_then(|n| as_int(cx, n, "`value_bytes`", 1, 1_048_576));
    let config = config::<ProducerConfig>(cx, &t, ProducerConfig::set);
    if let Err(e) = config.validate() {
        config_errors(cx, &t, t.get("config").unwrap_or(n), vec![e]);
    }
    Some(Producer {
        name,
        topic: topic?,
        send: send?,
        count,
        rate,
        start_us: start.unwrap_or(0),
        stop_us: stop,
        keys: keys?,
        value_bytes: value_bytes.map_or(100, |v| v as u32),
        config,
    })
}

fn consumer(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Consumer> {
    const KEYS: &[&str] = &[
        "name",
        "group",
        "topics",
        "instances",
        "processing",
        "commit",
        "start",
        "config",
    ];
    let mut t = table(cx, n, "[[consumer]]", KEYS)?;
    let name_node = field(cx, &t, "name", true)?;
    let name = as_str(cx, name_node, "consumer `name`")?;
    t.what = format!("[[consumer]] `{name}`");
    let name_ok = valid_name(cx, name_node, &name, "consumer name");
    let group = field(cx, &t, "group", false).and_then(|n| as_str(cx, n, "`group`"));
    let topics = field(cx, &t, "topics", true).and_then(|n| {
        let list = as_str_list(cx, n, "`topics`")?;
        if list.is_empty() {
            cx.err(&n.span, "`topics` must name at least one topic");
        }
        let all_known = list.iter().fold(true, |ok, (s, span)| {
            topic_ref(cx, w, s, span, &t.what) && ok
        });
        all_known.then(|| list.into_iter().map(|(s, _)| s).collect::<Vec<_>>())
    });
    let instances = field(cx, &t, "instances", false)
        .and_then(|n| as_int(cx, n, "`instances`", 1, 64))
        .map_or(1, |i| i as u32);
    if name_ok {
        for i in 1..=instances {
            add_node(
                cx,
                &mut w.names,
                format!("{name}-{i}"),
                &name_node.span,
                "[[consumer]]",
            );
        }
    }
    let processing = field(cx, &t, "processing", false)
        .map_or(Some(DurationRange::default()), |n| {
            as_duration_range(cx, n, "`processing`")
        });
    let commit = match field(cx, &t, "commit", false) {
        Some(n) => one_of(cx, n, "commit strategy", CommitMode::VALUES, |s| match s {
            "before-processing" => Some(CommitMode::BeforeProcessing),
            "after-processing" => Some(CommitMode::AfterProcessing),
            "auto" => Some(CommitMode::Auto),
            "async" => Some(CommitMode::Async),
            _ => None,
        }),
        None => Some(CommitMode::Auto),
    };
    let (start, _) = start_stop(cx, &t, w);
    let mut config = config::<ConsumerConfig>(cx, &t, ConsumerConfig::set);
    let group = consumer_group(cx, &t, &mut config, group, &name);
    if let Some(commit) = commit {
        consumer_commit(cx, &t, &mut config, commit);
    }
    if let Err(e) = config.validate() {
        config_errors(cx, &t, t.get("config").unwrap_or(n), vec![e]);
    }
    if let Some(c) = &w.cluster {
        let rf = c.config.offsets_topic_replication_factor;
        if rf > c.brokers {
            cx.err_help(&t.span, format!("consumer groups need __consumer_offsets, whose offsets.topic.replication.factor = {rf} exceeds the {} brokers", c.brokers), format!("in [cluster], set config = {{ \"offsets.topic.replication.factor\" = {} }} (real Kafka would leave the group without a coordinator)", c.brokers));
        }
    }
    Some(Consumer {
        name,
        group,
        topics: topics?,
        instances,
        processing: processing?,
        commit: commit?,
        start_us: start.unwrap_or(0),
        config,
    })
}

fn consumer_group(
    cx: &mut Problems,
    t: &Tbl,
    config: &mut ConsumerConfig,
    group: Option<String>,
    name: &str,
) -> String {
    let group = match (group, config.group_id.clone()) {
        (Some(g), Some(id)) if g != id => {
            let span = t.key_span("group").unwrap_or(t.span.clone());
            cx.err_help(
                &span,
                format!("`group` = {g:?} but config \"group.id\" = {id:?}"),
                "set only one of them",
            );
            g
        }
        (Some(g), _) => g,
        (None, Some(id)) => id,
        (None, None) => name.to_string(),
    };
    if config.group_id.is_none() {
        config.group_id = Some(group.clone());
    }
    group
}

fn consumer_commit(cx: &mut Problems, t: &Tbl, config: &mut ConsumerConfig, commit: CommitMode) {
    let auto = commit == CommitMode::Auto;
    if !config.is_explicit("enable.auto.commit") {
        config.enable_auto_commit = auto;
    } else if config.enable_auto_commit != auto {
        let span = t.key_span("commit").unwrap_or(t.span.clone());
        cx.err_help(
            &span,
            format!(
                "commit = {:?} contradicts config \"enable.auto.commit\" = {}",
                commit.as_str(),
                config.enable_auto_commit
            ),
            "`commit` sets enable.auto.commit for you; remove it from config",
        );
    }
}

fn rpc(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Rpc> {
    let mut t = table(
        cx,
        n,
        "[[rpc]]",
        &["name", "rate", "count", "timeout", "retries", "processing"],
    )?;
    let name_node = field(cx, &t, "name", true)?;
    let name = as_str(cx, name_node, "rpc `name`")?;
    t.what = format!("[[rpc]] `{name}`");
    if valid_name(cx, name_node, &name, "rpc name") {
        add_node(
            cx,
            &mut w.names,
            format!("{name}-caller"),
            &name_node.span,
            "[[rpc]]",
        );
        add_node(
            cx,
            &mut w.names,
            format!("{name}-callee"),
            &name_node.span,
            "[[rpc]]",
        );
    }
    let rate = field(cx, &t, "rate", false).and_then(|n| as_rate(cx, n, "`rate`"));
    let count = field(cx, &t, "count", false)
        .and_then(|n| as_int(cx, n, "`count`", 1, i64::MAX))
        .map(|c| c as u64);
    if !t.has("count") && !t.has("rate") {
        cx.err_help(
            &t.span,
            format!("{} sends nothing", t.what),
            "give it `count` and/or `rate`",
        );
    }
    let timeout = field(cx, &t, "timeout", false)
        .map_or(Some(1_000_000), |n| as_duration(cx, n, "`timeout`"));
    let retries =
        field(cx, &t, "retries", false).map_or(Some(0), |n| as_int(cx, n, "`retries`", 0, 1_000));
    let processing = field(cx, &t, "processing", false)
        .map_or(Some(DurationRange::fixed(1_000)), |n| {
            as_duration_range(cx, n, "`processing`")
        });
    Some(Rpc {
        name,
        rate,
        count,
        timeout_us: timeout?,
        retries: retries? as u32,
        processing: processing?,
    })
}

fn ping(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Ping> {
    let t = table(
        cx,
        n,
        "[ping]",
        &[
            "servers",
            "clients",
            "requests",
            "in_flight",
            "payload_bytes",
            "timeout",
        ],
    )?;
    let servers =
        field(cx, &t, "servers", false).map_or(Some(1), |n| as_int(cx, n, "`servers`", 1, 64));
    let clients = field(cx, &t, "clients", true).and_then(|n| as_int(cx, n, "`clients`", 1, 1_000));
    let requests =
        field(cx, &t, "requests", true).and_then(|n| as_int(cx, n, "`requests`", 1, i64::MAX));
    let in_flight = field(cx, &t, "in_flight", false)
        .map_or(Some(1), |n| as_int(cx, n, "`in_flight`", 1, 1_000_000));
    let payload = field(cx, &t, "payload_bytes", false)
        .map_or(Some(64), |n| as_int(cx, n, "`payload_bytes`", 0, 1 << 30));
    let timeout = field(cx, &t, "timeout", false).and_then(|n| as_duration(cx, n, "`timeout`"));
    let (servers, clients) = (servers? as u32, clients? as u32);
    for i in 1..=servers {
        add_node(cx, &mut w.names, format!("server-{i}"), &t.span, "[ping]");
    }
    for i in 1..=clients {
        add_node(cx, &mut w.names, format!("client-{i}"), &t.span, "[ping]");
    }
    Some(Ping {
        servers,
        clients,
        requests: requests? as u64,
        in_flight: in_flight? as u32,
        payload_bytes: payload? as u32,
        timeout_us: timeout,
    })
}

fn check_workload_shape(cx: &mut Problems, t: &Tbl, w: &Seen, ping: bool, rpc: bool) {
    let kafka = ["cluster", "topic", "producer", "consumer"];
    if ping {
        for k in kafka {
            if let Some(span) = t.key_span(k) {
                cx.err_help(&span, format!("`{k}` cannot be combined with [ping]"), "[ping] is the kernel demo without Kafka; put Kafka workloads in a separate scenario");
            }
        }
    } else if w.cluster.is_none() {
        for k in ["topic", "producer", "consumer"] {
            if let Some(span) = t.key_span(k) {
                cx.err_help(
                    &span,
                    format!("`{k}` needs a [cluster]"),
                    "add [cluster] with brokers = 3",
                );
                return;
            }
        }
        if !rpc && !t.has("cluster") {
            cx.err_help(
                &t.span,
                "the scenario has nothing to run",
                "add a [cluster] (Kafka), a [ping] section, or an [[rpc]]",
            );
        }
    }
}

fn latency(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<Latency> {
    if let Kind::Table(_) = n.kind {
        let t = table(cx, n, what, &["distribution", "median", "p99"])?;
        let dist = field(cx, &t, "distribution", true).and_then(|n| {
            one_of(cx, n, "latency distribution", &["lognormal"], |s| {
                (s == "lognormal").then_some(())
            })
        });
        let median = field(cx, &t, "median", true).and_then(|n| as_duration(cx, n, "`median`"));
        let p99 = field(cx, &t, "p99", true).and_then(|n| as_duration(cx, n, "`p99`"));
        dist?;
        let (median_us, p99_us) = (median?, p99?);
        if p99_us < median_us {
            cx.err(&n.span, "latency p99 must be at least the median");
            return None;
        }
        return Some(Latency::LogNormal { median_us, p99_us });
    }
    as_duration_range(cx, n, what).map(Latency::Uniform)
}

fn node_ref(cx: &mut Problems, roles: &Roles, n: &TomlValue, what: &str) -> Option<String> {
    let s = as_str(cx, n, what)?;
    if roles.names.contains(&s) {
        return Some(s);
    }
    roles.unknown(cx, &s, &n.span);
    None
}

fn network(cx: &mut Problems, n: &TomlValue, roles: &Roles) -> Option<NetworkSection> {
    let t = table(
        cx,
        n,
        "[network]",
        &[
            "latency",
            "transport",
            "loss",
            "duplicate",
            "reorder",
            "link",
        ],
    )?;
    let mut net = NetworkSection::default();
    if let Some(n) = t.get("latency") {
        net.latency = latency(cx, n, "`latency`")?;
    }
    if let Some(n) = t.get("transport") {
        net.transport = one_of(cx, n, "transport", &["tcp", "datagram"], |s| match s {
            "tcp" => Some(Transport::Tcp),
            "datagram" => Some(Transport::Datagram),
            _ => None,
        })?;
    }
    let lossy = |cx: &mut Problems,
                 t: &Tbl,
                 key: &str,
                 transport: Transport|
     -> Option<Option<Ratio>> {
        let Some(n) = t.get(key) else {
            return Some(None);
        };
        let r = as_ratio(cx, n, &format!("`{key}`"))?;
        if transport == Transport::Tcp && !r.is_zero() {
            cx.err_help(&n.span, format!("`{key}` needs transport = \"datagram\""), "Kafka talks TCP: a connection never loses, duplicates or reorders on its own (timeouts and resets do the damage). Use faults (cut, clog, reset), or set transport = \"datagram\" in [network] to model lossy links");
            return None;
        }
        Some(Some(r))
    };
    net.loss = lossy(cx, &t, "loss", net.transport)?.unwrap_or(Ratio::ZERO);
    net.duplicate = lossy(cx, &t, "duplicate", net.transport)?.unwrap_or(Ratio::ZERO);
    net.reorder = lossy(cx, &t, "reorder", net.transport)?.unwrap_or(Ratio::ZERO);
    if let Some(links) = t.get("link") {
        for ln in tables(cx, links, "network.link") {
            let Some(lt) = table(
                cx,
                ln,
                "[[network.link]]",
                &["from", "to", "latency", "loss", "duplicate", "reorder"],
            ) else {
                continue;
            };
            let from = field(cx, &lt, "from", true).and_then(|n| node_ref(cx, roles, n, "`from`"));
            let to = field(cx, &lt, "to", true).and_then(|n| node_ref(cx, roles, n, "`to`"));
            let latency = lt.get("latency").map(|n| latency(cx, n, "`latency`"));
            let loss = lossy(cx, &lt, "loss", net.transport);
            let duplicate = lossy(cx, &lt, "duplicate", net.transport);
            let reorder = lossy(cx, &lt, "reorder", net.transport);
            if let (Some(from), Some(to), Some(loss), Some(duplicate), Some(reorder)) =
                (from, to, loss, duplicate, reorder)
            {
                net.links.push(Link {
                    from,
                    to,
                    latency: latency.flatten(),
                    loss,
                    duplicate,
                    reorder,
                });
            }
        }
    }
    Some(net)
}

fn disk(cx: &mut Problems, n: &TomlValue) -> Option<Disk> {
    let t = table(cx, n, "[disk]", &["writeback", "fsync_latency"])?;
    let writeback = match t.get("writeback") {
        Some(n) => Some(as_duration(cx, n, "`writeback`")?),
        None => None,
    };
    let fsync = t
        .get("fsync_latency")
        .map_or(Some(0), |n| as_duration(cx, n, "`fsync_latency`"))?;
    Some(Disk {
        writeback_us: writeback,
        fsync_latency_us: fsync,
    })
}

const FAULT_ACTIONS: &[&str] = &[
    "kill",
    "power-loss",
    "restart",
    "pause",
    "resume",
    "isolate",
    "heal",
    "partition",
    "cut",
    "clog",
    "unclog",
    "reset",
    "crash",
    "stall",
];

fn fault(
    cx: &mut Problems,
    n: &TomlValue,
    roles: &Roles,
    duration_us: Option<u64>,
) -> Option<FaultEntry> {
    let mut allowed = FAULT_ACTIONS.to_vec();
    allowed.extend(["at", "for", "torn"]);
    let t = table(cx, n, "[[fault]]", &allowed)?;
    let at = field(cx, &t, "at", true).and_then(|n| {
        let at = as_duration(cx, n, "fault `at`")?;
        check_at(cx, n, "fault `at`", at, duration_us);
        Some(at)
    });
    let actions: Vec<&str> = FAULT_ACTIONS.iter().copied().filter(|a| t.has(a)).collect();
    let action = match actions.as_slice() {
        [] => {
            cx.err_help(
                &t.span,
                "[[fault]] has no action",
                format!("add exactly one of: {}", FAULT_ACTIONS.join(", ")),
            );
            None
        }
        [one] => fault_action(cx, &t, one, roles),
        [first, second, ..] => {
            let span = t.key_span(second).unwrap_or(t.span.clone());
            cx.err_help(
                &span,
                format!("[[fault]] has two actions, `{first}` and `{second}`"),
                "a fault does exactly one thing; write one [[fault]] per action",
            );
            None
        }
    };
    if let Some(n) = t.get("torn") {
        as_bool(cx, n, "`torn`");
        if actions != ["power-loss"] {
            cx.err(&n.span, "`torn` only applies to `power-loss`");
        }
    }
    let for_us = match t.get("for") {
        Some(n) => {
            let d = as_duration(cx, n, "`for`")?;
            let revertible = [
                "kill",
                "power-loss",
                "pause",
                "isolate",
                "partition",
                "cut",
                "clog",
                "crash",
                "stall",
            ];
            if let Some(a) = actions.first().filter(|a| !revertible.contains(a)) {
                cx.err_help(
                    &n.span,
                    format!("`for` cannot revert `{a}`"),
                    format!("`for` works with: {}", revertible.join(", ")),
                );
            }
            if d == 0 {
                cx.err(&n.span, "`for` must be longer than 0");
            }
            Some(d)
        }
        None => None,
    };
    Some(FaultEntry {
        at_us: at?,
        action: action?,
        for_us,
    })
}

fn target(cx: &mut Problems, n: &TomlValue, roles: &Roles) -> Option<Target> {
    let s = as_str(cx, n, "fault target")?;
    parse_target(cx, &s, &n.span, roles)
}

fn pair(cx: &mut Problems, n: &TomlValue, roles: &Roles, action: &str) -> Option<(Target, Target)> {
    if action == "reset" {
        let t = table(cx, n, "`reset`", &["between"])?;
        let list = field(cx, &t, "between", true)?;
        let Kind::Array(items) = &list.kind else {
            cx.err(&list.span, "`between` must be an array of two node names");
            return None;
        };
        if items.len() != 2 {
            cx.err(
                &list.span,
                format!(
                    "`between` must name exactly two nodes, found {}",
                    items.len()
                ),
            );
            return None;
        }
        let a = target(cx, &items[0], roles);
        let b = target(cx, &items[1], roles);
        return Some((a?, b?));
    }
    let t = table(cx, n, &format!("`{action}`"), &["from", "to"])?;
    let from = field(cx, &t, "from", true).and_then(|n| target(cx, n, roles));
    let to = field(cx, &t, "to", true).and_then(|n| target(cx, n, roles));
    Some((from?, to?))
}

fn fault_action(cx: &mut Problems, t: &Tbl, action: &str, roles: &Roles) -> Option<FaultAction> {
    let n = t.get(action)?;
    let single = |cx: &mut Problems| target(cx, n, roles);
    Some(match action {
        "kill" => FaultAction::Kill(single(cx)?),
        "power-loss" => {
            let target = single(cx)?;
            roles.require_disk(cx, &target, &n.span)?;
            let torn = t
                .get("torn")
                .and_then(|n| match n.kind {
                    Kind::Bool(b) => Some(b),
                    _ => None,
                })
                .unwrap_or(false);
            FaultAction::PowerLoss { target, torn }
        }
        "restart" => FaultAction::Restart(single(cx)?),
        "pause" => FaultAction::Pause(single(cx)?),
        "resume" => FaultAction::Resume(single(cx)?),
        "isolate" => FaultAction::Isolate(single(cx)?),
        "crash" => {
            let target = single(cx)?;
            roles.require_client(cx, &target, &n.span, false)?;
            FaultAction::Crash(target)
        }
        "stall" => {
            let target = single(cx)?;
            roles.require_client(cx, &target, &n.span, true)?;
            FaultAction::Stall(target)
        }
        "heal" => {
            if as_bool(cx, n, "`heal`")? {
                FaultAction::Heal
            } else {
                cx.err_help(&n.span, "`heal = false` does nothing", "write heal = true");
                return None;
            }
        }
        "partition" => FaultAction::Partition(partition(cx, n, roles)?),
        "cut" | "clog" | "unclog" | "reset" => {
            let (a, b) = pair(cx, n, roles, action)?;
            match action {
                "cut" => FaultAction::Cut { from: a, to: b },
                "clog" => FaultAction::Clog { from: a, to: b },
                "unclog" => FaultAction::Unclog { from: a, to: b },
                _ => FaultAction::Reset { a, b },
            }
        }
        _ => unreachable!("FAULT_ACTIONS covers every action"),
    })
}

fn partition(cx: &mut Problems, n: &TomlValue, roles: &Roles) -> Option<Vec<Vec<Target>>> {
    let Kind::Array(groups) = &n.kind else {
        cx.err_help(
            &n.span,
            "`partition` must be a list of groups",
            "write partition = [[\"broker-1\"], [\"broker-2\", \"broker-3\"]]",
        );
        return None;
    };
    if groups.len() < 2 {
        cx.err_help(
            &n.span,
            "`partition` needs at least two groups",
            "to cut one node off from everyone, use isolate = \"broker-1\"",
        );
        return None;
    }
    let mut out: Vec<Vec<Target>> = Vec::new();
    let mut ok = true;
    for g in groups {
        let Kind::Array(members) = &g.kind else {
            cx.err_help(
                &g.span,
                "each partition group must be a list of node names",
                "write [\"broker-1\"], even for one node",
            );
            ok = false;
            continue;
        };
        let mut group = Vec::new();
        for m in members {
            match target(cx, m, roles) {
                Some(t) if out.iter().flatten().chain(group.iter()).any(|x| *x == t) => {
                    cx.err(&m.span, "a node appears in two partition groups");
                    ok = false;
                }
                Some(t) => group.push(t),
                None => ok = false,
            }
        }
        out.push(group);
    }
    ok.then_some(out)
}

fn note(cx: &mut Problems, n: &TomlValue, duration_us: Option<u64>) -> Option<Note> {
    let t = table(cx, n, "[[note]]", &["at", "text", "pause"])?;
    let at = field(cx, &t, "at", true).and_then(|n| {
        let at = as_duration(cx, n, "note `at`")?;
        check_at(cx, n, "note `at`", at, duration_us);
        Some(at)
    });
    let text = field(cx, &t, "text", true).and_then(|n| as_str(cx, n, "`text`"));
    let pause = t
        .get("pause")
        .map_or(Some(false), |n| as_bool(cx, n, "`pause`"));
    Some(Note {
        at_us: at?,
        text: text?,
        pause: pause?,
    })
}

fn condition(cx: &mut Problems, n: &TomlValue, key: &str) -> Option<Condition> {
    match &n.kind {
        Kind::Int(i) if *i >= 0 => return Some(Condition::Eq(*i as u64)),
        Kind::Bool(b) => return Some(Condition::Happened(*b)),
        Kind::Str(_) => {}
        k => {
            cx.err(
                &n.span,
                format!(
                    "`{key}` must be a count, a condition string or a boolean, found {}",
                    k.type_name()
                ),
            );
            return None;
        }
    }
    let Kind::Str(s) = &n.kind else { return None };
    let t = s.trim();
    let num = |x: &str| x.trim().parse::<u64>().ok();
    let c = if let Some(r) = t.strip_prefix(">=") {
        num(r).map(Condition::Ge)
    } else if let Some(r) = t.strip_prefix("<=") {
        num(r).map(Condition::Le)
    } else if let Some(r) = t.strip_prefix("==") {
        num(r).map(Condition::Eq)
    } else if let Some(r) = t.strip_prefix('>') {
        num(r).map(Condition::Gt)
    } else if let Some(r) = t.strip_prefix('<') {
        num(r).map(Condition::Lt)
    } else if let Some((a, b)) = t.split_once("..") {
        num(a)
            .zip(num(b))
            .filter(|(a, b)| a <= b)
            .map(|(a, b)| Condition::Between(a, b))
    } else {
        num(t).map(Condition::Eq)
    };
    if c.is_none() {
        cx.err_help(
            &n.span,
            format!("invalid condition `{s}` for `{key}`"),
            "write a count (0), \">= 1\", \"<= 3\", \"> 0\", \"< 5\", \"1..5\", or true/false",
        );
    }
    c
}

fn expect(cx: &mut Problems, n: &TomlValue) -> Option<Expect> {
    let keys: Vec<&str> = EXPECT_KEYS.iter().map(|(k, _)| *k).collect();
    let t = table(cx, n, "[expect]", &keys)?;
    let mut e = Expect::default();
    for (k, v) in t.entries {
        if keys.contains(&k.name.as_str()) {
            if let Some(c) = condition(cx, v, &k.name) {
                e.conditions.insert(k.name.clone(), c);
            }
        }
    }
    Some(e)
}

fn explore(
    cx: &mut Problems,
    n: &TomlValue,
    roles: &Roles,
    duration_us: Option<u64>,
) -> Option<Explore> {
    let t = table(
        cx,
        n,
        "[explore]",
        &["faults", "kinds", "fault_duration", "targets", "liveness"],
    )?;
    let faults = t
        .get("faults")
        .map_or(Some((0, 6)), |n| as_int_range(cx, n, "`faults`"));
    let kinds = match t.get("kinds") {
        None => Some(FaultKind::ALL.to_vec()),
        Some(n) => as_str_list(cx, n, "`kinds`").and_then(|list| {
            let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
            let mut out = Vec::new();
            for (s, span) in list {
                match FaultKind::parse(&s) {
                    Some(k) => out.push(k),
                    None => {
                        let node = TomlValue {
                            span,
                            kind: Kind::Str(s),
                        };
                        one_of(cx, &node, "fault kind", &names, |_| None::<()>);
                    }
                }
            }
            (out.len() == names.len() || !out.is_empty()).then_some(out)
        }),
    };
    let fault_duration = t.get("fault_duration").map_or(
        Some(DurationRange {
            min_us: 1_000_000,
            max_us: 10_000_000,
        }),
        |n| as_duration_range(cx, n, "`fault_duration`"),
    );
    let targets = match t.get("targets") {
        None => Some(Vec::new()),
        Some(n) => match &n.kind {
            Kind::Array(items) => items
                .iter()
                .map(|i| target(cx, i, roles))
                .collect::<Vec<_>>()
                .into_iter()
                .collect(),
            k => {
                cx.err(
                    &n.span,
                    format!(
                        "`targets` must be an array of targets, found {}",
                        k.type_name()
                    ),
                );
                None
            }
        },
    };
    let default_liveness = duration_us.map_or(30_000_000, |d| (d / 3).min(30_000_000));
    let liveness = t.get("liveness").map_or(Some(default_liveness), |n| {
        let l = as_duration(cx, n, "`liveness`")?;
        if let Some(d) = duration_us.filter(|d| l >= *d) {
            cx.err(
                &n.span,
                format!(
                    "`liveness` ({}) leaves no time for faults in a run of {}",
                    super::units::format_duration_us(l),
                    super::units::format_duration_us(d)
                ),
            );
        }
        Some(l)
    });
    let (faults_min, faults_max) = faults?;
    Some(Explore {
        faults_min: faults_min.min(u32::MAX as u64) as u32,
        faults_max: faults_max.min(u32::MAX as u64) as u32,
        kinds: kinds?,
        fault_duration: fault_duration?,
        targets: targets?,
        liveness_us: liveness?,
    })
}
