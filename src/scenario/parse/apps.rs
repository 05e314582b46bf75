//! `[[topic]]`, `[[producer]]`, `[[consumer]]`, `[[rpc]]` and `[[ping]]`: the workload
//! sections, with their cross-references to topics and to the cluster.

use super::*;
use crate::kafka::config::{ConsumerConfig, ProducerConfig, TopicConfig};
use crate::scenario::tree::TomlValue;
use std::ops::Range;

pub(super) fn topic(cx: &mut Problems, n: &TomlValue, w: &Seen) -> Option<Topic> {
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
    let partitions = field(cx, &t, "partitions", false)
        .and_then(|n| as_int(cx, n, "`partitions`", 1, MAX_PARTITIONS));
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

pub(super) fn topic_ref(
    cx: &mut Problems,
    w: &Seen,
    name: &str,
    span: &Range<usize>,
    what: &str,
) -> bool {
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

pub(super) fn start_stop(cx: &mut Problems, t: &Tbl, w: &Seen) -> (Option<u64>, Option<u64>) {
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

pub(super) fn keys(cx: &mut Problems, n: &TomlValue) -> Option<Keys> {
    let s = as_str(cx, n, "`keys`")?;
    let (kind, arg) = s.split_once(':').unwrap_or((&s, ""));
    let count = || arg.parse::<u64>().ok().filter(|c| *c > 0);
    let keys = match kind {
        "none" if arg.is_empty() => Some(Keys::None),
        "uniform" => count().map(Keys::Uniform),
        "skewed" => count().map(Keys::Skewed),
        // "fixed:" alone is the empty key: a real key of zero bytes (murmur2 hashes it like
        // any other; only a null key is sticky).
        "fixed" if s.contains(':') => Some(Keys::Fixed(arg.to_string())),
        _ => None,
    };
    if keys.is_none() {
        cx.err_help(
            &n.span,
            format!("invalid `keys` value `{s}`"),
            "valid forms: \"none\", \"uniform:100\", \"skewed:100\", \"fixed:user-42\", \"fixed:\" (the empty key)",
        );
    }
    keys
}

pub(super) fn one_of<T: Copy>(
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

pub(super) fn producer(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Producer> {
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
        "transaction_records",
        "abort",
        "tombstones",
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
    let tombstones = field(cx, &t, "tombstones", false)
        .map_or(Some(Ratio::ZERO), |n| as_ratio(cx, n, "`tombstones`"));
    if let (Some(tn), Some(r), Some(Keys::None)) = (t.get("tombstones"), &tombstones, &keys) {
        if r.num > 0 {
            cx.err_help(
                &tn.span,
                format!(
                    "{}: `tombstones` needs keys (a tombstone deletes its key)",
                    t.what
                ),
                "give the producer `keys` (\"uniform:100\", \"fixed:k\", ...)",
            );
        }
    }
    if tombstones.is_some_and(|r| r.num > r.den) {
        cx.err(
            &t.span,
            format!("{}: `tombstones` is a share of sends, at most 100%", t.what),
        );
    }
    let config = config::<ProducerConfig>(cx, &t, ProducerConfig::set);
    if let Err(e) = config.validate() {
        config_errors(cx, &t, t.get("config").unwrap_or(n), vec![e]);
    }
    let (transaction_records, abort) = transaction_keys(cx, &t, &config);
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
        transaction_records,
        abort,
        tombstones: tombstones?,
        config,
    })
}

/// `transaction_records` and `abort`: only for a producer with a `transactional.id`.
fn transaction_keys(
    cx: &mut Problems,
    t: &Tbl,
    config: &ProducerConfig,
) -> (Option<u64>, Option<Ratio>) {
    let records = field(cx, t, "transaction_records", false)
        .and_then(|n| as_int(cx, n, "`transaction_records`", 1, i64::MAX))
        .map(|c| c as u64);
    let abort = field(cx, t, "abort", false).and_then(|n| as_ratio(cx, n, "`abort`"));
    if config.transactional_id.is_none() {
        for key in ["transaction_records", "abort"] {
            if let Some(n) = t.get(key) {
                cx.err_help(
                    &n.span,
                    format!("{}: `{key}` needs a transactional producer", t.what),
                    "set config = { \"transactional.id\" = \"…\" }, or remove the key",
                );
            }
        }
    }
    (records, abort)
}

// Long by design: one line per `[[consumer]]` key, in the documented order.
pub(super) fn consumer(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Consumer> {
    const KEYS: &[&str] = &[
        "name",
        "group",
        "topics",
        "instances",
        "processing",
        "commit",
        "start",
        "worker",
        "output",
        "producer_config",
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
        .and_then(|n| as_int(cx, n, "`instances`", 1, MAX_INSTANCES))
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
            "transaction" => Some(CommitMode::Transaction),
            _ => None,
        }),
        None => Some(CommitMode::Auto),
    };
    let pipeline = consumer_pipeline(cx, &t, w, commit);
    let (start, _) = start_stop(cx, &t, w);
    let worker = consumer_worker(cx, &t, commit);
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
        worker,
        config,
        pipeline,
    })
}

/// `output` and `producer_config`: required with `commit = "transaction"`, refused without.
fn consumer_pipeline(
    cx: &mut Problems,
    t: &Tbl,
    w: &mut Seen,
    commit: Option<CommitMode>,
) -> Option<(String, ProducerConfig)> {
    if commit != Some(CommitMode::Transaction) {
        for key in ["output", "producer_config"] {
            if let Some(n) = t.get(key) {
                let what = &t.what;
                let help = "set commit = \"transaction\" (consume-transform-produce), or remove it";
                cx.err_help(
                    &n.span,
                    format!("{what}: `{key}` needs commit = \"transaction\""),
                    help,
                );
            }
        }
        return None;
    }
    let output = field(cx, t, "output", true).and_then(|n| {
        let s = as_str(cx, n, "`output`")?;
        topic_ref(cx, w, &s, &n.span, &t.what).then_some(s)
    });
    let producer = config_at::<ProducerConfig>(cx, t, "producer_config", ProducerConfig::set);
    if producer.transactional_id.is_none() {
        cx.err_help(
            &t.span,
            format!(
                "{}: commit = \"transaction\" needs a transactional producer",
                t.what
            ),
            "add producer_config = { \"transactional.id\" = \"…\" }",
        );
    }
    if let (Err(e), Some(node)) = (producer.validate(), t.get("producer_config")) {
        config_errors(cx, t, node, vec![e]);
    }
    Some((output?, producer))
}

/// `worker = true`: poll() hands each batch to a worker thread and polls again at once. Only
/// with `commit = "auto"`: the other strategies commit on the polling thread after
/// processing, which a worker does not wait for.
fn consumer_worker(cx: &mut Problems, t: &Tbl, commit: Option<CommitMode>) -> bool {
    let Some(n) = field(cx, t, "worker", false) else {
        return false;
    };
    let Some(worker) = as_bool(cx, n, "`worker`") else {
        return false;
    };
    if worker && commit.is_some_and(|c| c != CommitMode::Auto) {
        cx.err_help(
            &n.span,
            "`worker = true` needs `commit = \"auto\"`",
            "a worker processes after poll() returned; only auto-commit (inside poll()) is simulated with it",
        );
    }
    worker
}

pub(super) fn consumer_group(
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

pub(super) fn consumer_commit(
    cx: &mut Problems,
    t: &Tbl,
    config: &mut ConsumerConfig,
    commit: CommitMode,
) {
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

pub(super) fn rpc(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Rpc> {
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

pub(super) fn ping(cx: &mut Problems, n: &TomlValue, w: &mut Seen) -> Option<Ping> {
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

pub(super) fn check_workload_shape(cx: &mut Problems, t: &Tbl, w: &Seen, ping: bool, rpc: bool) {
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
