//! `[network]`, `[disk]`, `[[fault]]` and `[[note]]`: what happens to the run, and when —
//! fault targets are checked against the nodes and roles the scenario names.

use super::*;
use crate::scenario::targets::{parse_target, Roles};
use crate::scenario::tree::{Kind, TomlValue};

pub(super) fn latency(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<Latency> {
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

pub(super) fn node_ref(
    cx: &mut Problems,
    roles: &Roles,
    n: &TomlValue,
    what: &str,
) -> Option<String> {
    let s = as_str(cx, n, what)?;
    if roles.names.contains(&s) {
        return Some(s);
    }
    roles.unknown(cx, &s, &n.span);
    None
}

pub(super) fn network(cx: &mut Problems, n: &TomlValue, roles: &Roles) -> Option<NetworkSection> {
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

pub(super) fn disk(cx: &mut Problems, n: &TomlValue) -> Option<Disk> {
    let t = table(cx, n, "[disk]", &["writeback", "fsync_latency"])?;
    let writeback = match t.get("writeback") {
        Some(n) => Some(as_duration(cx, n, "`writeback`")?),
        None => None,
    };
    let fsync = t
        .get("fsync_latency")
        .map_or(Some(0), |n| as_duration(cx, n, "`fsync_latency`"))?;
    if let (true, Some(n)) = (fsync > 0, t.get("fsync_latency")) {
        // No silent key: an fsync completes at once in kafkasim, whatever this says.
        cx.err_help(
            &n.span,
            "not simulated: fsync_latency — an fsync completes instantly in kafkasim",
            "remove it, or write fsync_latency = \"0ms\"",
        );
        return None;
    }
    Some(Disk {
        writeback_us: writeback,
        fsync_latency_us: fsync,
    })
}

pub(super) const FAULT_ACTIONS: &[&str] = &[
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

pub(super) fn fault(
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

pub(super) fn target(cx: &mut Problems, n: &TomlValue, roles: &Roles) -> Option<Target> {
    let s = as_str(cx, n, "fault target")?;
    parse_target(cx, &s, &n.span, roles)
}

pub(super) fn pair(
    cx: &mut Problems,
    n: &TomlValue,
    roles: &Roles,
    action: &str,
) -> Option<(Target, Target)> {
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

pub(super) fn fault_action(
    cx: &mut Problems,
    t: &Tbl,
    action: &str,
    roles: &Roles,
) -> Option<FaultAction> {
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

pub(super) fn partition(
    cx: &mut Problems,
    n: &TomlValue,
    roles: &Roles,
) -> Option<Vec<Vec<Target>>> {
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

pub(super) fn note(cx: &mut Problems, n: &TomlValue, duration_us: Option<u64>) -> Option<Note> {
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
