//! `[expect]` and `[explore]`: what a run must show, and the bounds of random exploration.

use super::*;
use crate::scenario::targets::Roles;
use crate::scenario::tree::{Kind, TomlValue};

pub(super) fn condition(cx: &mut Problems, n: &TomlValue, key: &str) -> Option<Condition> {
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

pub(super) fn expect(cx: &mut Problems, n: &TomlValue) -> Option<Expect> {
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

// Long by design: one line per `[explore]` key, in the documented order.
pub(super) fn explore(
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
                    crate::scenario::units::format_duration_us(l),
                    crate::scenario::units::format_duration_us(d)
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
