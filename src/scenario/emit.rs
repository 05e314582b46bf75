//! Writing a scenario back as TOML, so that `parse(to_toml(s)) == s` (for shrunk or forked runs).

use super::spec::*;
use super::targets::target_text;
use super::units::{format_duration_range, format_duration_us as dur, format_rate, format_ratio};
use crate::kafka::config::ConfigValue;
use std::collections::BTreeMap;
use std::fmt::Write;

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn value(v: &ConfigValue) -> String {
    match v {
        ConfigValue::Int(i) => i.to_string(),
        ConfigValue::Bool(b) => b.to_string(),
        ConfigValue::Str(s) => q(s),
        ConfigValue::List(items) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn config(out: &mut String, explicit: &BTreeMap<String, ConfigValue>) {
    config_named(out, "config", explicit)
}

fn config_named(out: &mut String, key: &str, explicit: &BTreeMap<String, ConfigValue>) {
    if explicit.is_empty() {
        return;
    }
    let pairs: Vec<String> = explicit
        .iter()
        .map(|(k, v)| format!("{} = {}", q(k), value(v)))
        .collect();
    let _ = writeln!(out, "{key} = {{ {} }}", pairs.join(", "));
}

fn latency(l: &Latency) -> String {
    match l {
        Latency::Uniform(r) => q(&format_duration_range(r)),
        Latency::LogNormal { median_us, p99_us } => format!(
            "{{ distribution = \"lognormal\", median = {}, p99 = {} }}",
            q(&dur(*median_us)),
            q(&dur(*p99_us))
        ),
    }
}

fn condition(c: &Condition) -> String {
    match c {
        Condition::Eq(n) => n.to_string(),
        Condition::Ge(n) => q(&format!(">= {n}")),
        Condition::Gt(n) => q(&format!("> {n}")),
        Condition::Le(n) => q(&format!("<= {n}")),
        Condition::Lt(n) => q(&format!("< {n}")),
        Condition::Between(a, b) => q(&format!("{a}..{b}")),
        Condition::Happened(b) => b.to_string(),
    }
}

fn keys(k: &Keys) -> String {
    match k {
        Keys::None => "none".into(),
        Keys::Uniform(n) => format!("uniform:{n}"),
        Keys::Skewed(n) => format!("skewed:{n}"),
        Keys::Fixed(s) => format!("fixed:{s}"),
    }
}

fn targets(ts: &[Target]) -> String {
    let items: Vec<String> = ts.iter().map(|t| q(&target_text(t))).collect();
    format!("[{}]", items.join(", "))
}

fn fault(out: &mut String, f: &FaultEntry) {
    let _ = writeln!(out, "\n[[fault]]\nat = {}", q(&dur(f.at_us)));
    let t = |t: &Target| q(&target_text(t));
    let pair = |a: &Target, b: &Target| {
        format!(
            "{{ from = {}, to = {} }}",
            q(&target_text(a)),
            q(&target_text(b))
        )
    };
    let line = match &f.action {
        FaultAction::Kill(x) => format!("kill = {}", t(x)),
        FaultAction::PowerLoss { target, torn } => {
            let torn = if *torn { "\ntorn = true" } else { "" };
            format!("power-loss = {}{torn}", t(target))
        }
        FaultAction::Restart(x) => format!("restart = {}", t(x)),
        FaultAction::Pause(x) => format!("pause = {}", t(x)),
        FaultAction::Resume(x) => format!("resume = {}", t(x)),
        FaultAction::Isolate(x) => format!("isolate = {}", t(x)),
        FaultAction::Heal => "heal = true".into(),
        FaultAction::Partition(groups) => {
            let gs: Vec<String> = groups.iter().map(|g| targets(g)).collect();
            format!("partition = [{}]", gs.join(", "))
        }
        FaultAction::Cut { from, to } => format!("cut = {}", pair(from, to)),
        FaultAction::Clog { from, to } => format!("clog = {}", pair(from, to)),
        FaultAction::Unclog { from, to } => format!("unclog = {}", pair(from, to)),
        FaultAction::Reset { a, b } => format!(
            "reset = {{ between = {} }}",
            targets(&[a.clone(), b.clone()])
        ),
        FaultAction::Crash(x) => format!("crash = {}", t(x)),
        FaultAction::Stall(x) => format!("stall = {}", t(x)),
    };
    let _ = writeln!(out, "{line}");
    if let Some(d) = f.for_us {
        let _ = writeln!(out, "for = {}", q(&dur(d)));
    }
}

fn ratio_line(out: &mut String, key: &str, r: &Option<Ratio>) {
    if let Some(r) = r {
        let _ = writeln!(out, "{key} = {}", q(&format_ratio(r)));
    }
}

fn network(out: &mut String, n: &NetworkSection) {
    if *n == NetworkSection::default() {
        return;
    }
    let _ = writeln!(out, "\n[network]\nlatency = {}", latency(&n.latency));
    if n.transport == Transport::Datagram {
        let _ = writeln!(out, "transport = \"datagram\"");
    }
    for (k, r) in [
        ("loss", n.loss),
        ("duplicate", n.duplicate),
        ("reorder", n.reorder),
    ] {
        ratio_line(out, k, &Some(r).filter(|r| !r.is_zero()));
    }
    for l in &n.links {
        let _ = writeln!(
            out,
            "\n[[network.link]]\nfrom = {}\nto = {}",
            q(&l.from),
            q(&l.to)
        );
        if let Some(lat) = &l.latency {
            let _ = writeln!(out, "latency = {}", latency(lat));
        }
        ratio_line(out, "loss", &l.loss);
        ratio_line(out, "duplicate", &l.duplicate);
        ratio_line(out, "reorder", &l.reorder);
    }
}

fn clients(out: &mut String, s: &Scenario) {
    for p in &s.producers {
        let _ = writeln!(
            out,
            "\n[[producer]]\nname = {}\ntopic = {}\nsend = {}",
            q(&p.name),
            q(&p.topic),
            q(p.send.as_str())
        );
        if let Some(c) = p.count {
            let _ = writeln!(out, "count = {c}");
        }
        if let Some(r) = &p.rate {
            let _ = writeln!(out, "rate = {}", q(&format_rate(r)));
        }
        let _ = writeln!(out, "start = {}", q(&dur(p.start_us)));
        if let Some(stop) = p.stop_us {
            let _ = writeln!(out, "stop = {}", q(&dur(stop)));
        }
        let _ = writeln!(
            out,
            "keys = {}\nvalue_bytes = {}",
            q(&keys(&p.keys)),
            p.value_bytes
        );
        if let Some(n) = p.transaction_records {
            let _ = writeln!(out, "transaction_records = {n}");
        }
        ratio_line(out, "abort", &p.abort);
        if p.tombstones.num > 0 {
            let _ = writeln!(out, "tombstones = {}", q(&format_ratio(&p.tombstones)));
        }
        config(out, p.config.explicit());
    }
    for c in &s.consumers {
        let topics: Vec<String> = c.topics.iter().map(|t| q(t)).collect();
        let _ = writeln!(
            out,
            "\n[[consumer]]\nname = {}\ngroup = {}\ntopics = [{}]\ninstances = {}\nprocessing = {}\ncommit = {}\nstart = {}",
            q(&c.name),
            q(&c.group),
            topics.join(", "),
            c.instances,
            q(&format_duration_range(&c.processing)),
            q(c.commit.as_str()),
            q(&dur(c.start_us))
        );
        if c.worker {
            let _ = writeln!(out, "worker = true");
        }
        if let Some((output, producer)) = &c.pipeline {
            let _ = writeln!(out, "output = {}", q(output));
            config_named(out, "producer_config", producer.explicit());
        }
        config(out, c.config.explicit());
    }
    for r in &s.rpcs {
        let _ = writeln!(out, "\n[[rpc]]\nname = {}", q(&r.name));
        if let Some(rate) = &r.rate {
            let _ = writeln!(out, "rate = {}", q(&format_rate(rate)));
        }
        if let Some(c) = r.count {
            let _ = writeln!(out, "count = {c}");
        }
        let _ = writeln!(
            out,
            "timeout = {}\nretries = {}\nprocessing = {}",
            q(&dur(r.timeout_us)),
            r.retries,
            q(&format_duration_range(&r.processing))
        );
    }
}

impl Scenario {
    /// The scenario as a TOML scenario file; `parse(&s.to_toml(), f) == Ok(s)`.
    // Long by design: one block per section, in the order the file format documents them.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "name = {}", q(&self.name));
        if let Some(d) = &self.description {
            let _ = writeln!(out, "description = {}", q(d));
        }
        if let Some(qn) = &self.question {
            let _ = writeln!(out, "question = {}", q(qn));
        }
        let _ = writeln!(
            out,
            "seed = {}\nduration = {}",
            self.seed.min(i64::MAX as u64),
            q(&dur(self.duration_us))
        );
        if self.max_events != DEFAULT_MAX_EVENTS {
            let _ = writeln!(out, "max_events = {}", self.max_events);
        }
        if let Some(c) = &self.cluster {
            let _ = writeln!(
                out,
                "\n[cluster]\nbrokers = {}\ncontrollers = {}",
                c.brokers, c.controllers
            );
            config(&mut out, c.config.explicit());
            for b in &c.own {
                let _ = writeln!(out, "\n[[broker]]\nid = {}", b.id);
                config(&mut out, &b.keys);
                match b.writeback {
                    Some(Writeback::Never) => {
                        let _ = writeln!(out, "writeback = \"never\"");
                    }
                    Some(Writeback::Every(us)) => {
                        let _ = writeln!(out, "writeback = {}", q(&dur(us)));
                    }
                    None => {}
                }
            }
        }
        network(&mut out, &self.network);
        if self.disk != Disk::default() {
            let _ = writeln!(
                out,
                "\n[disk]\nfsync_latency = {}",
                q(&dur(self.disk.fsync_latency_us))
            );
            if let Some(w) = self.disk.writeback_us {
                let _ = writeln!(out, "writeback = {}", q(&dur(w)));
            }
        }
        for t in &self.topics {
            let _ = writeln!(
                out,
                "\n[[topic]]\nname = {}\npartitions = {}\nreplication_factor = {}",
                q(&t.name),
                t.partitions,
                t.replication_factor
            );
            config(&mut out, t.config.explicit());
        }
        clients(&mut out, self);
        if let Some(p) = &self.ping {
            let _ = writeln!(out, "\n[ping]\nservers = {}\nclients = {}\nrequests = {}\nin_flight = {}\npayload_bytes = {}", p.servers, p.clients, p.requests, p.in_flight, p.payload_bytes);
            if let Some(t) = p.timeout_us {
                let _ = writeln!(out, "timeout = {}", q(&dur(t)));
            }
        }
        for f in &self.faults {
            fault(&mut out, f);
        }
        for n in &self.notes {
            let _ = writeln!(
                out,
                "\n[[note]]\nat = {}\ntext = {}\npause = {}",
                q(&dur(n.at_us)),
                q(&n.text),
                n.pause
            );
        }
        if !self.expect.conditions.is_empty() {
            let _ = writeln!(out, "\n[expect]");
            for (k, c) in &self.expect.conditions {
                let _ = writeln!(out, "{k} = {}", condition(c));
            }
        }
        if let Some(e) = &self.explore {
            let kinds: Vec<String> = e.kinds.iter().map(|k| q(k.as_str())).collect();
            let _ = writeln!(
                out,
                "\n[explore]\nfaults = \"{}..{}\"\nkinds = [{}]\nfault_duration = {}\ntargets = {}\nliveness = {}",
                e.faults_min,
                e.faults_max,
                kinds.join(", "),
                q(&format_duration_range(&e.fault_duration)),
                targets(&e.targets),
                q(&dur(e.liveness_us))
            );
        }
        out
    }

    /// Every node of the scenario, in a stable order.
    pub fn node_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if let Some(c) = &self.cluster {
            names.extend((1..=c.brokers).map(|i| format!("broker-{i}")));
            names.push("controller".to_string());
        }
        names.extend(self.producers.iter().map(|p| p.name.clone()));
        for c in &self.consumers {
            names.extend(c.instance_names());
        }
        for r in &self.rpcs {
            names.push(format!("{}-caller", r.name));
            names.push(format!("{}-callee", r.name));
        }
        if let Some(p) = &self.ping {
            names.extend((1..=p.servers).map(|i| format!("server-{i}")));
            names.extend((1..=p.clients).map(|i| format!("client-{i}")));
        }
        names
    }
}
