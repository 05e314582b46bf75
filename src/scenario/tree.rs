//! A TOML document as a tree of values that remember where they were written.
//!
//! serde's derived deserializers stop at the first problem and point vaguely at it. Reading the
//! file into this spanned tree first lets the scenario walker check everything, report every
//! problem at once, and point at the exact key or value (byte span → line and column).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// A key of a table, with its position in the file.
#[derive(Debug, Clone)]
pub struct Key {
    pub name: String,
    pub span: Range<usize>,
}

/// A value with its position in the file.
#[derive(Debug, Clone)]
pub struct TomlValue {
    pub span: Range<usize>,
    pub kind: Kind,
}

/// The shape of a TOML value.
#[derive(Debug, Clone)]
pub enum Kind {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    Array(Vec<TomlValue>),
    Table(Vec<(Key, TomlValue)>),
}

impl Kind {
    /// The value's type in words, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

impl<'de> Deserialize<'de> for TomlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<Kind>::deserialize(d)?;
        Ok(TomlValue {
            span: s.span(),
            kind: s.into_inner(),
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a TOML value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Kind, E> {
        i64::try_from(v)
            .map(Kind::Int)
            .map_err(|_| E::custom("integer too large"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind::Float)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(Kind::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = a.next_key::<Spanned<String>>()? {
            let span = key.span();
            let value: TomlValue = a.next_value()?;
            entries.push((
                Key {
                    name: key.into_inner(),
                    span,
                },
                value,
            ));
        }
        Ok(Kind::Table(entries))
    }
}

/// Parses TOML text into a spanned tree; on a syntax error returns (span, message).
pub fn parse_tree(text: &str) -> Result<TomlValue, (Range<usize>, String)> {
    match toml::from_str::<TomlValue>(text) {
        Ok(node) => Ok(node),
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().to_string();
            let message = if message.contains("$__toml_private_datetime") {
                "dates and times are not used in scenario files; write durations as strings such as \"5s\"".to_string()
            } else {
                format!("TOML syntax: {message}")
            };
            Err((span, message))
        }
    }
}
