//! The key registry behind every config struct: a value as the user wrote it
//! ([`ConfigValue`]), what a key accepts ([`ConfigField`]: type and range), its documentation
//! ([`KeyInfo`]), the problems a value can have ([`ConfigError`], with the nearest valid key
//! as a suggestion), and the two macros that declare a closed set of textual values
//! (`config_enum!`) and a struct of keys with Kafka's defaults (`config_struct!`). A struct
//! declared this way remembers which keys were set explicitly, because Kafka treats an
//! explicit value and a default differently (an explicitly enabled idempotent producer with
//! `acks=1` is an error; the default idempotence is silently switched off).

use std::fmt;

/// A configuration value as written by the user, before it is checked against a key's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    Int(i64),
    Bool(bool),
    Str(String),
    List(Vec<ConfigValue>),
}

impl ConfigValue {
    /// The value's type, as used in error messages ("expected a boolean, found a string").
    pub fn type_name(&self) -> &'static str {
        match self {
            ConfigValue::Int(_) => "an integer",
            ConfigValue::Bool(_) => "a boolean",
            ConfigValue::Str(_) => "a string",
            ConfigValue::List(_) => "a list",
        }
    }
}

impl From<&str> for ConfigValue {
    fn from(s: &str) -> Self {
        ConfigValue::Str(s.to_string())
    }
}

impl From<bool> for ConfigValue {
    fn from(b: bool) -> Self {
        ConfigValue::Bool(b)
    }
}

impl From<i32> for ConfigValue {
    fn from(i: i32) -> Self {
        ConfigValue::Int(i.into())
    }
}

impl From<i64> for ConfigValue {
    fn from(i: i64) -> Self {
        ConfigValue::Int(i)
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Str(s) => write!(f, "{s:?}"),
            ConfigValue::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Documentation of one configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyInfo {
    /// Kafka's key, verbatim: `linger.ms`.
    pub key: &'static str,
    /// The accepted type, in words: `long (ms)`, `boolean`, `one of: all, -1, 1, 0`.
    pub ty: &'static str,
    /// The default, as text (`null` when Kafka has none).
    pub default: &'static str,
    /// One line of documentation.
    pub doc: &'static str,
}

/// What kind of problem a [`ConfigError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    UnknownKey,
    WrongType,
    OutOfRange,
    InvalidValue,
    /// Two keys that are each valid but not together (Kafka's cross-key validation).
    Conflict,
    /// A Kafka key whose effect kafkasim does not simulate, set to a value it cannot honour.
    NotSimulated,
}

/// A configuration problem: which key, what is wrong, and possibly a suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key the problem is attached to (for a conflict, the key to change).
    pub key: String,
    pub kind: ConfigErrorKind,
    /// A full sentence, e.g. "invalid value \"2\" for `acks`".
    pub message: String,
    /// A hint: "did you mean `acks`?" or "valid values: all, -1, 1, 0".
    pub help: Option<String>,
    /// For an unknown key, the nearest valid key.
    pub suggestion: Option<String>,
}

impl ConfigError {
    pub(super) fn new(key: &str, kind: ConfigErrorKind, message: String) -> Self {
        ConfigError {
            key: key.to_string(),
            kind,
            message,
            help: None,
            suggestion: None,
        }
    }

    pub(super) fn with_help(mut self, help: String) -> Self {
        self.help = Some(help);
        self
    }

    /// An unknown key, with the nearest of `known` as suggestion.
    pub fn unknown_key<'a>(key: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        let suggestion = suggest(key, known);
        let mut e = ConfigError::new(
            key,
            ConfigErrorKind::UnknownKey,
            format!("unknown configuration key `{key}`"),
        );
        if let Some(s) = &suggestion {
            e.help = Some(format!("did you mean `{s}`?"));
        }
        e.suggestion = suggestion;
        e
    }

    pub(super) fn conflict(key: &str, message: &str) -> Self {
        ConfigError::new(key, ConfigErrorKind::Conflict, message.to_string())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Levenshtein edit distance between two strings (by characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate nearest to `input`: same key modulo case and `_`/`-`/`.`, else the
/// closest by edit distance (at most 3), else one that contains the input (or vice versa).
pub fn suggest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let norm = |s: &str| s.to_lowercase().replace(['_', '-'], ".");
    let wanted = norm(input);
    let mut best: Option<(usize, &str)> = None;
    let mut containing: Option<&str> = None;
    for c in candidates {
        let n = norm(c);
        if n == wanted {
            return Some(c.to_string());
        }
        let d = edit_distance(&wanted, &n);
        if d <= 3 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
        let contains = wanted.len() >= 2 && (n.contains(&wanted) || wanted.contains(&n));
        if contains && containing.is_none() {
            containing = Some(c);
        }
    }
    best.map(|(_, c)| c).or(containing).map(str::to_string)
}

/// A Rust type that can hold the value of a configuration key.
pub trait ConfigField: Sized {
    /// The accepted type, in words, for documentation.
    const TYPE: &'static str;
    /// Checks type and range; the error is a message without the key.
    fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String>;
    /// Parses the default text of a [`KeyInfo`]; panics only on a programming error.
    fn from_default(text: &str) -> Self;
}

pub(super) fn wrong_type(expected: &str, value: &ConfigValue) -> String {
    format!("expected {expected}, found {} `{value}`", value.type_name())
}

fn check_range(i: i64, min: i64, max: i64) -> Result<i64, String> {
    if i >= min && i <= max {
        return Ok(i);
    }
    if max == i64::MAX || i < min && max >= i32::MAX as i64 {
        Err(format!("must be at least {min}, got {i}"))
    } else {
        Err(format!("must be between {min} and {max}, got {i}"))
    }
}

macro_rules! int_field {
    ($ty:ty, $desc:literal) => {
        impl ConfigField for $ty {
            const TYPE: &'static str = $desc;
            fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String> {
                let ConfigValue::Int(i) = value else {
                    return Err(wrong_type("an integer", value));
                };
                let min = min.max(<$ty>::MIN as i64);
                let max = (max as i128).min(<$ty>::MAX as i128) as i64;
                Ok(check_range(*i, min, max)? as $ty)
            }
            fn from_default(text: &str) -> Self {
                text.parse().expect("valid integer default")
            }
        }
    };
}

int_field!(i32, "int");
int_field!(u32, "int (≥ 0)");
int_field!(i64, "long");
int_field!(u64, "long (≥ 0)");

impl ConfigField for bool {
    const TYPE: &'static str = "boolean";
    fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
        match value {
            ConfigValue::Bool(b) => Ok(*b),
            other => Err(wrong_type("a boolean (true or false)", other)),
        }
    }
    fn from_default(text: &str) -> Self {
        text == "true"
    }
}

impl ConfigField for String {
    const TYPE: &'static str = "string";
    fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
        match value {
            ConfigValue::Str(s) => Ok(s.clone()),
            other => Err(wrong_type("a string", other)),
        }
    }
    fn from_default(text: &str) -> Self {
        text.to_string()
    }
}

macro_rules! optional_field {
    ($ty:ty, $desc:literal) => {
        impl ConfigField for Option<$ty> {
            const TYPE: &'static str = $desc;
            fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String> {
                <$ty as ConfigField>::from_config(value, min, max).map(Some)
            }
            fn from_default(text: &str) -> Self {
                (text != "null").then(|| <$ty as ConfigField>::from_default(text))
            }
        }
    };
}

optional_field!(u32, "int (≥ 0), default unset");
optional_field!(u64, "long (≥ 0), default unset");
optional_field!(bool, "boolean, default unset");
optional_field!(String, "string, default unset");

macro_rules! first_text {
    ($a:literal $(, $rest:literal)*) => {
        $a
    };
}

/// A closed set of textual values (`acks`, `isolation.level`, …).
macro_rules! config_enum {
    ($(#[$meta:meta])* $name:ident, $desc:literal { $($(#[$vmeta:meta])* $variant:ident => $($text:literal)|+),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every accepted spelling.
            pub const VALUES: &'static [&'static str] = &[$($($text),+),+];

            /// Parses one accepted spelling.
            pub fn parse_text(text: &str) -> Option<Self> {
                match text {
                    $($($text)|+ => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The canonical spelling.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(Self::$variant => $crate::kafka::config::registry::first_text!($($text),+)),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ConfigField for $name {
            const TYPE: &'static str = $desc;
            fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
                let text = match value {
                    ConfigValue::Str(s) => s.clone(),
                    ConfigValue::Int(i) => i.to_string(),
                    other => return Err(wrong_type("a string", other)),
                };
                Self::parse_text(&text).ok_or_else(|| {
                    format!("invalid value {text:?}; valid values: {}", Self::VALUES.join(", "))
                })
            }
            fn from_default(text: &str) -> Self {
                Self::parse_text(text).expect("valid enum default")
            }
        }
    };
}

macro_rules! key_range {
    () => {
        (i64::MIN, i64::MAX)
    };
    ($min:expr, $max:expr) => {
        ($min, $max)
    };
}

/// Declares a config struct: fields, `Default`, `KEYS`, `set`, and the explicit-key record.
macro_rules! config_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $key:literal => $field:ident : $ty:ty = $default:literal
               $(, range($min:expr, $max:expr))? ; $doc:literal )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $( #[doc = $doc] pub $field: $ty, )*
            explicit: BTreeMap<String, ConfigValue>,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    $( $field: <$ty as ConfigField>::from_default($default), )*
                    explicit: BTreeMap::new(),
                }
            }
        }

        impl $name {
            /// Every accepted key, in documentation order.
            pub const KEYS: &'static [KeyInfo] = &[
                $( KeyInfo { key: $key, ty: <$ty as ConfigField>::TYPE, default: $default, doc: $doc }, )*
            ];

            /// Sets one key after checking its type and range; records it as explicitly set.
            pub fn set(&mut self, key: &str, value: &ConfigValue) -> Result<(), ConfigError> {
                match key {
                    $( $key => {
                        let (min, max) = $crate::kafka::config::registry::key_range!($($min, $max)?);
                        self.$field = <$ty as ConfigField>::from_config(value, min, max)
                            .map_err(|m| invalid(key, m))?;
                        $crate::kafka::config::simulated::check(stringify!($name), key, value)?;
                    } )*
                    _ => return Err(ConfigError::unknown_key(key, Self::KEYS.iter().map(|k| k.key))),
                }
                self.explicit.insert(key.to_string(), value.clone());
                Ok(())
            }

            /// Whether the user set `key` (as opposed to it holding Kafka's default).
            pub fn is_explicit(&self, key: &str) -> bool {
                self.explicit.contains_key(key)
            }

            /// The explicitly set keys with the values as written, in key order.
            pub fn explicit(&self) -> &BTreeMap<String, ConfigValue> {
                &self.explicit
            }

            /// Sets `key` as a user would write it (explicitly) and returns the config: for
            /// code and tests that build a config by Kafka's key names. A key or value this
            /// struct rejects is a programming error here, so it panics with the message.
            pub fn with(mut self, key: &str, value: impl Into<$crate::kafka::config::ConfigValue>) -> Self {
                if let Err(e) = self.set(key, &value.into()) {
                    panic!("{e}");
                }
                self
            }

            /// Builds a config from key/value pairs, collecting every error.
            pub fn from_pairs<'a>(
                pairs: impl IntoIterator<Item = (&'a str, &'a ConfigValue)>,
            ) -> Result<Self, Vec<ConfigError>> {
                let mut config = Self::default();
                let errors: Vec<ConfigError> = pairs
                    .into_iter()
                    .filter_map(|(k, v)| config.set(k, v).err())
                    .collect();
                if errors.is_empty() { Ok(config) } else { Err(errors) }
            }
        }
    };
}

pub(super) fn invalid(key: &str, message: String) -> ConfigError {
    let kind = if message.starts_with("expected") {
        ConfigErrorKind::WrongType
    } else if message.starts_with("must be") {
        ConfigErrorKind::OutOfRange
    } else {
        ConfigErrorKind::InvalidValue
    };
    let (message, help) = match message.split_once("; ") {
        Some((m, h)) => (m.to_string(), Some(h.to_string())),
        None => (message, None),
    };
    let mut e = ConfigError::new(key, kind, format!("`{key}`: {message}"));
    e.help = help;
    e
}

pub(super) const I32_MAX: i64 = i32::MAX as i64;

pub(super) use {config_enum, config_struct, first_text, key_range};
