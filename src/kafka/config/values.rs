//! The closed sets of textual values Kafka's keys take, one type each for every role that
//! uses it: `acks`, `isolation.level`, `auto.offset.reset`, `partition.assignment.strategy`,
//! `compression.type`, `cleanup.policy`, `group.protocol`, and kafkasim's
//! `replication.truncation` switch.

use std::fmt;

use super::registry::{config_enum, wrong_type, ConfigField, ConfigValue};

config_enum!(
    /// `acks`: how many replicas must have a record before the leader answers. The same
    /// type configures the producer and is sent (as 0, 1 or -1) in Produce requests.
    Acks, "one of: all, -1, 1, 0" {
        All => "all" | "-1",
        One => "1",
        Zero => "0",
    }
);

config_enum!(
    /// `compression.type` of a producer.
    CompressionType, "one of: none, gzip, snappy, lz4, zstd" {
        None => "none",
        Gzip => "gzip",
        Snappy => "snappy",
        Lz4 => "lz4",
        Zstd => "zstd",
    }
);

config_enum!(
    /// `cleanup.policy` of a topic.
    CleanupPolicy, "one of: delete, compact, compact,delete" {
        Delete => "delete",
        Compact => "compact",
        CompactDelete => "compact,delete" | "delete,compact",
    }
);

config_enum!(
    /// `group.protocol`: classic (JoinGroup/SyncGroup) or consumer (KIP-848).
    GroupProtocol, "one of: classic, consumer" {
        Classic => "classic",
        Consumer => "consumer",
    }
);

config_enum!(
    /// `auto.offset.reset`: where to start without a committed offset.
    AutoOffsetReset, "one of: earliest, latest, none" {
        Earliest => "earliest",
        Latest => "latest",
        None => "none",
    }
);

config_enum!(
    /// `isolation.level`: whether records of open or aborted transactions are returned.
    IsolationLevel, "one of: read_uncommitted, read_committed" {
        ReadUncommitted => "read_uncommitted",
        ReadCommitted => "read_committed",
    }
);

config_enum!(
    /// kafkasim's `replication.truncation` switch (not a Kafka key).
    TruncationMode, "one of: leader-epoch, high-watermark" {
        /// Kafka ≥ 0.11 (KIP-101): truncate to where the leader's epoch ends.
        LeaderEpoch => "leader-epoch",
        /// Kafka < 0.11: truncate to the local high watermark on becoming follower.
        HighWatermark => "high-watermark",
    }
);

config_enum!(
    /// One entry of `partition.assignment.strategy`.
    AssignmentStrategy, "one of: range, roundrobin, sticky, cooperative-sticky" {
        Range => "range",
        RoundRobin => "roundrobin",
        Sticky => "sticky",
        CooperativeSticky => "cooperative-sticky",
    }
);

impl ConfigField for Vec<AssignmentStrategy> {
    const TYPE: &'static str =
        "list (or comma-separated string) of: range, roundrobin, sticky, cooperative-sticky";
    fn from_config(value: &ConfigValue, min: i64, max: i64) -> Result<Self, String> {
        let items: Vec<ConfigValue> = match value {
            ConfigValue::Str(s) => s
                .split(',')
                .map(|p| ConfigValue::Str(p.trim().to_string()))
                .collect(),
            ConfigValue::List(items) => items.clone(),
            other => return Err(wrong_type("a list of strings", other)),
        };
        if items.is_empty() || items == [ConfigValue::Str(String::new())] {
            return Err("must name at least one assignor".to_string());
        }
        items
            .iter()
            .map(|v| AssignmentStrategy::from_config(v, min, max))
            .collect()
    }
    fn from_default(text: &str) -> Self {
        text.split(',')
            .map(AssignmentStrategy::from_default)
            .collect()
    }
}

impl Acks {
    /// The value sent in a Produce request: 0, 1 or -1 (all).
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::Zero => 0,
            Acks::One => 1,
            Acks::All => -1,
        }
    }
}

impl Default for IsolationLevel {
    /// Kafka's default, `read_uncommitted`.
    fn default() -> Self {
        IsolationLevel::ReadUncommitted
    }
}

impl AssignmentStrategy {
    /// The protocol name sent in JoinGroup, as Kafka's assignors name themselves.
    pub fn name(self) -> &'static str {
        self.as_str()
    }

    /// The assignor named `name` in a JoinGroup protocol list.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::parse_text(name)
    }

    /// Cooperative assignors keep partitions across a rebalance (KIP-429); the others are eager.
    pub fn is_cooperative(self) -> bool {
        self == AssignmentStrategy::CooperativeSticky
    }
}

/// A ratio between 0 and 1 written as a decimal (`min.cleanable.dirty.ratio = "0.5"`), kept
/// in millionths so a run never depends on floats. The scenario format has no floats: write
/// the decimal as a string (Kafka's properties files are text too); 0 and 1 may be integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(pub u32);

impl Ratio {
    pub const ONE: u32 = 1_000_000;

    /// Parses `"0.5"`, `"1"`, `".25"` (at most six decimals).
    pub fn parse_text(text: &str) -> Option<Ratio> {
        let (int, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        if frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let int: u32 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let frac_m: u32 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<6}").parse().ok()?
        };
        let m = int.checked_mul(Self::ONE)?.checked_add(frac_m)?;
        (m <= Self::ONE && !(int == 0 && frac.is_empty() && text.trim().is_empty()))
            .then_some(Ratio(m))
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (i, frac) = (self.0 / Self::ONE, self.0 % Self::ONE);
        if frac == 0 {
            return write!(f, "{i}");
        }
        let frac = format!("{frac:06}");
        write!(f, "{i}.{}", frac.trim_end_matches('0'))
    }
}

impl ConfigField for Ratio {
    const TYPE: &'static str = "a decimal between 0 and 1, as a string (\"0.5\")";
    fn from_config(value: &ConfigValue, _: i64, _: i64) -> Result<Self, String> {
        let text = match value {
            ConfigValue::Str(s) => s.clone(),
            ConfigValue::Int(i) => i.to_string(),
            other => return Err(wrong_type("a decimal as a string, such as \"0.5\"", other)),
        };
        Self::parse_text(&text).ok_or_else(|| {
            format!("invalid value {text:?}; expected a decimal between 0 and 1 such as \"0.5\"")
        })
    }
    fn from_default(text: &str) -> Self {
        Self::parse_text(text).expect("valid ratio default")
    }
}

#[cfg(test)]
mod ratio_tests {
    use super::Ratio;

    #[test]
    fn ratios_parse_exactly_and_print_back() {
        // Proves decimal ratios are read without floats and round-trip as text.
        assert_eq!(Ratio::parse_text("0.5"), Some(Ratio(500_000)));
        assert_eq!(Ratio::parse_text(".25"), Some(Ratio(250_000)));
        assert_eq!(Ratio::parse_text("1"), Some(Ratio(1_000_000)));
        assert_eq!(Ratio::parse_text("0.000001"), Some(Ratio(1)));
        assert_eq!(Ratio::parse_text("1.5"), None);
        assert_eq!(Ratio::parse_text("abc"), None);
        assert_eq!(Ratio::parse_text(""), None);
        assert_eq!(Ratio(500_000).to_string(), "0.5");
        assert_eq!(Ratio(1_000_000).to_string(), "1");
    }
}
