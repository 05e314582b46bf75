//! Helpers for walking the spanned tree: typed getters that record problems with positions.

use super::error::Diag;
use super::tree::{Key, Kind, TomlValue};
use super::units::{self, DurationRange, Rate, Ratio};
use crate::kafka::config::{suggest, ConfigValue};
use std::ops::Range;

/// Collects problems while walking.
#[derive(Default)]
pub(crate) struct Problems {
    pub diags: Vec<Diag>,
}

impl Problems {
    pub fn err(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.diags.push(Diag {
            span: span.clone(),
            message: message.into(),
            help: None,
        });
    }

    pub fn err_help(
        &mut self,
        span: &Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags.push(Diag {
            span: span.clone(),
            message: message.into(),
            help: Some(help.into()),
        });
    }
}

/// A table being read: its entries, where it is, and how to name it in messages.
pub(crate) struct Tbl<'a> {
    pub span: Range<usize>,
    pub what: String,
    pub entries: &'a [(Key, TomlValue)],
}

impl<'a> Tbl<'a> {
    pub fn get(&self, key: &str) -> Option<&'a TomlValue> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, n)| n)
    }

    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(k, _)| k.span.clone())
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// Reads `node` as a table, reporting keys outside `allowed` with the nearest valid key.
pub(crate) fn table<'a>(
    cx: &mut Problems,
    node: &'a TomlValue,
    what: &str,
    allowed: &[&str],
) -> Option<Tbl<'a>> {
    let Kind::Table(entries) = &node.kind else {
        cx.err(
            &node.span,
            format!("{what} must be a table, found {}", node.kind.type_name()),
        );
        return None;
    };
    for (k, _) in entries {
        if !allowed.contains(&k.name.as_str()) {
            unknown_key(cx, k, what, allowed);
        }
    }
    Some(Tbl {
        span: node.span.clone(),
        what: what.to_string(),
        entries,
    })
}

pub(crate) fn unknown_key(cx: &mut Problems, k: &Key, what: &str, allowed: &[&str]) {
    let message = format!("unknown key `{}` in {what}", k.name);
    match suggest(&k.name, allowed.iter().copied()) {
        Some(s) => cx.err_help(&k.span, message, format!("did you mean `{s}`?")),
        None => cx.err_help(
            &k.span,
            message,
            format!("valid keys: {}", allowed.join(", ")),
        ),
    }
}

/// Looks up `key`; reports it missing if `required`.
pub(crate) fn field<'a>(
    cx: &mut Problems,
    t: &Tbl<'a>,
    key: &str,
    required: bool,
) -> Option<&'a TomlValue> {
    let node = t.get(key);
    if node.is_none() && required {
        cx.err(
            &t.span,
            format!("missing required key `{key}` in {}", t.what),
        );
    }
    node
}

pub(crate) fn as_str(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<String> {
    match &n.kind {
        Kind::Str(s) => Some(s.clone()),
        k => {
            cx.err(
                &n.span,
                format!("{what} must be a string, found {}", k.type_name()),
            );
            None
        }
    }
}

pub(crate) fn as_bool(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<bool> {
    match &n.kind {
        Kind::Bool(b) => Some(*b),
        k => {
            cx.err(
                &n.span,
                format!("{what} must be true or false, found {}", k.type_name()),
            );
            None
        }
    }
}

pub(crate) fn as_int(
    cx: &mut Problems,
    n: &TomlValue,
    what: &str,
    min: i64,
    max: i64,
) -> Option<i64> {
    match &n.kind {
        Kind::Int(i) if *i >= min && *i <= max => Some(*i),
        Kind::Int(i) => {
            let bound = if max == i64::MAX {
                format!("at least {min}")
            } else {
                format!("between {min} and {max}")
            };
            cx.err(&n.span, format!("{what} must be {bound}, got {i}"));
            None
        }
        k => {
            cx.err(
                &n.span,
                format!("{what} must be an integer, found {}", k.type_name()),
            );
            None
        }
    }
}

fn with_str<T>(
    cx: &mut Problems,
    n: &TomlValue,
    what: &str,
    example: &str,
    f: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match &n.kind {
        Kind::Str(s) => f(s)
            .map_err(|e| cx.err(&n.span, format!("{what}: {e}")))
            .ok(),
        k => {
            cx.err_help(
                &n.span,
                format!("{what} must be a string, found {}", k.type_name()),
                format!("write it as a string with a unit, e.g. {example}"),
            );
            None
        }
    }
}

pub(crate) fn as_duration(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<u64> {
    with_str(cx, n, what, "\"250ms\"", units::parse_duration_us)
}

pub(crate) fn as_duration_range(
    cx: &mut Problems,
    n: &TomlValue,
    what: &str,
) -> Option<DurationRange> {
    with_str(
        cx,
        n,
        what,
        "\"2ms\" or \"1ms..5ms\"",
        units::parse_duration_range,
    )
}

pub(crate) fn as_ratio(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<Ratio> {
    if let Kind::Int(0) = n.kind {
        return Some(Ratio::ZERO);
    }
    with_str(cx, n, what, "\"1/1000\" or \"0.1%\"", units::parse_ratio)
}

pub(crate) fn as_rate(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<Rate> {
    with_str(cx, n, what, "\"500/s\"", units::parse_rate)
}

pub(crate) fn as_str_list(
    cx: &mut Problems,
    n: &TomlValue,
    what: &str,
) -> Option<Vec<(String, Range<usize>)>> {
    let Kind::Array(items) = &n.kind else {
        cx.err(
            &n.span,
            format!(
                "{what} must be an array of strings, found {}",
                n.kind.type_name()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    for item in items {
        out.push((as_str(cx, item, what)?, item.span.clone()));
    }
    Some(out)
}

/// An inclusive integer range: `3`, `"3"`, `"1..5"`.
pub(crate) fn as_int_range(cx: &mut Problems, n: &TomlValue, what: &str) -> Option<(u64, u64)> {
    if let Kind::Int(i) = n.kind {
        return as_int(cx, n, what, 0, i64::MAX).map(|_| (i as u64, i as u64));
    }
    with_str(cx, n, what, "\"0..6\"", |s| {
        let bad = || format!("`{s}` is not a count or an inclusive range such as \"0..6\"");
        let (a, b) = s.split_once("..").unwrap_or((s, s));
        let a: u64 = a.trim().parse().map_err(|_| bad())?;
        let b: u64 = b.trim().parse().map_err(|_| bad())?;
        if a > b {
            return Err(format!("range `{s}` is empty: its start is after its end"));
        }
        Ok((a, b))
    })
}

/// Converts a TOML value into a Kafka [`ConfigValue`] (no floats, no tables).
pub(crate) fn as_config_value(cx: &mut Problems, n: &TomlValue, key: &str) -> Option<ConfigValue> {
    match &n.kind {
        Kind::Int(i) => Some(ConfigValue::Int(*i)),
        Kind::Bool(b) => Some(ConfigValue::Bool(*b)),
        Kind::Str(s) => Some(ConfigValue::Str(s.clone())),
        Kind::Array(items) => items
            .iter()
            .map(|i| as_config_value(cx, i, key))
            .collect::<Option<Vec<_>>>()
            .map(ConfigValue::List),
        k => {
            cx.err(&n.span, format!("`{key}`: Kafka config values are integers, booleans, strings or lists, found {}", k.type_name()));
            None
        }
    }
}

/// An array of tables (`[[producer]]`); a single `[producer]` table gets a hint.
pub(crate) fn tables<'a>(cx: &mut Problems, n: &'a TomlValue, name: &str) -> Vec<&'a TomlValue> {
    match &n.kind {
        Kind::Array(items) => items.iter().collect(),
        Kind::Table(_) => {
            cx.err_help(
                &n.span,
                format!("`{name}` must be an array of tables"),
                format!("write the header as [[{name}]] (double brackets), one per {name}"),
            );
            Vec::new()
        }
        k => {
            cx.err(
                &n.span,
                format!(
                    "`{name}` must be an array of tables, found {}",
                    k.type_name()
                ),
            );
            Vec::new()
        }
    }
}
