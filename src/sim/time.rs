//! Simulated time. The kernel never reads a real clock: `Time` is a point on the simulated
//! timeline and `Duration` a span of it, both counted in whole simulated microseconds.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, in microseconds since the start of the run.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u64);

/// A span of simulated time, in microseconds.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Duration(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const MAX: Time = Time(u64::MAX);
    pub fn as_us(self) -> u64 {
        self.0
    }
    pub fn as_ms(self) -> u64 {
        self.0 / 1_000
    }
    /// Time elapsed since `earlier` (zero if `earlier` is later).
    pub fn since(self, earlier: Time) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);
    pub const fn from_us(us: u64) -> Duration {
        Duration(us)
    }
    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms.saturating_mul(1_000))
    }
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s.saturating_mul(1_000_000))
    }
    pub fn as_us(self) -> u64 {
        self.0
    }
    pub fn as_ms(self) -> u64 {
        self.0 / 1_000
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Duration> for Time {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, rhs: Time) -> Duration {
        self.since(rhs)
    }
}

impl Add for Duration {
    type Output = Duration;
    fn add(self, d: Duration) -> Duration {
        Duration(self.0.saturating_add(d.0))
    }
}

/// Formats a microsecond count the way a learner reads it: `1.250s`, `12ms`, `800us`.
pub fn fmt_us(us: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if us >= 1_000_000 {
        write!(f, "{}.{:03}s", us / 1_000_000, (us % 1_000_000) / 1_000)
    } else if us >= 1_000 && us.is_multiple_of(1_000) {
        write!(f, "{}ms", us / 1_000)
    } else if us >= 1_000 {
        write!(f, "{}.{:03}ms", us / 1_000, us % 1_000)
    } else {
        write!(f, "{us}us")
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_us(self.0, f)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_us(self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_readable() {
        // Proves times print in the unit a learner expects.
        assert_eq!(Time(1_250_000).to_string(), "1.250s");
        assert_eq!(Duration::from_ms(12).to_string(), "12ms");
        assert_eq!(Duration(800).to_string(), "800us");
        assert_eq!(Duration(1_500).to_string(), "1.500ms");
    }

    #[test]
    fn arithmetic_saturates() {
        // Proves time arithmetic never wraps around.
        assert_eq!(Time::MAX + Duration(5), Time::MAX);
        assert_eq!(Time(3) - Time(5), Duration::ZERO);
    }
}
