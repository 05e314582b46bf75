//! Units written as strings in scenario files: durations ("250ms", "1.5s"), inclusive ranges
//! ("1ms..3ms"), ratios ("1/1000", "0.1%") and rates ("500/s"). Everything is kept as
//! integers (simulated microseconds, integer ratios) so a replay never depends on floats.

/// Accepted duration units and their length in microseconds.
pub const DURATION_UNITS: &[(&str, u64)] = &[
    ("us", 1),
    ("ms", 1_000),
    ("s", 1_000_000),
    ("m", 60_000_000),
    ("h", 3_600_000_000),
];

const UNIT_LIST: &str = "us, ms, s, m, h (e.g. \"250ms\", \"1.5s\")";

/// Parses a duration such as `"250ms"` or `"1.5s"` into microseconds.
pub fn parse_duration_us(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = (&t[..split], t[split..].trim());
    if number.is_empty() {
        return Err(format!(
            "`{text}` is not a duration; write a number and a unit: {UNIT_LIST}"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "duration `{text}` has no unit; valid units: {UNIT_LIST}"
        ));
    }
    let Some(&(_, unit_us)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(format!(
            "unknown duration unit `{unit}` in `{text}`; valid units: {UNIT_LIST}"
        ));
    };
    scale_decimal(number, unit_us)
        .ok_or_else(|| format!("`{text}` is not a whole number of microseconds, or too large"))
}

/// `number` (digits with at most one '.') times `unit`, if it is a whole number.
fn scale_decimal(number: &str, unit: u64) -> Option<u64> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') || frac.len() > 12 {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut total = int.checked_mul(unit)?;
    if !frac.is_empty() {
        let den = 10u64.pow(frac.len() as u32);
        let num = (frac.parse::<u64>().ok()? as u128) * unit as u128;
        if !num.is_multiple_of(den as u128) {
            return None;
        }
        total = total.checked_add(u64::try_from(num / den as u128).ok()?)?;
    }
    Some(total)
}

/// Writes microseconds with the largest unit that represents them exactly.
pub fn format_duration_us(us: u64) -> String {
    if us == 0 {
        return "0ms".to_string();
    }
    for &(unit, len) in DURATION_UNITS.iter().rev() {
        if us.is_multiple_of(len) {
            return format!("{}{unit}", us / len);
        }
    }
    unreachable!("every duration is a whole number of microseconds")
}

/// An inclusive range of durations; `min_us == max_us` for a fixed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurationRange {
    pub min_us: u64,
    pub max_us: u64,
}

impl DurationRange {
    pub fn fixed(us: u64) -> Self {
        DurationRange {
            min_us: us,
            max_us: us,
        }
    }
}

/// Parses `"2ms"` or `"1ms..3ms"` (inclusive).
pub fn parse_duration_range(text: &str) -> Result<DurationRange, String> {
    match text.split_once("..") {
        None => parse_duration_us(text).map(DurationRange::fixed),
        Some((a, b)) => {
            let (min_us, max_us) = (parse_duration_us(a)?, parse_duration_us(b)?);
            if min_us > max_us {
                return Err(format!(
                    "range `{text}` is empty: its start is after its end"
                ));
            }
            Ok(DurationRange { min_us, max_us })
        }
    }
}

pub fn format_duration_range(r: &DurationRange) -> String {
    if r.min_us == r.max_us {
        format_duration_us(r.min_us)
    } else {
        format!(
            "{}..{}",
            format_duration_us(r.min_us),
            format_duration_us(r.max_us)
        )
    }
}

/// A probability as an integer ratio in lowest terms, `num <= den`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };

    pub fn is_zero(&self) -> bool {
        self.num == 0
    }

    fn reduced(num: u64, den: u64) -> Ratio {
        let g = gcd(num, den).max(1);
        Ratio {
            num: num / g,
            den: den / g,
        }
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Parses `"1/1000"`, `"0.1%"` or `"0"` into a ratio between 0 and 1.
pub fn parse_ratio(text: &str) -> Result<Ratio, String> {
    let t = text.trim();
    let bad = || format!("`{text}` is not a ratio; write \"1/1000\" or \"0.1%\"");
    let (num, den) = if let Some(p) = t.strip_suffix('%') {
        let p = p.trim();
        let (int, frac) = p.split_once('.').unwrap_or((p, ""));
        if frac.len() > 9 || int.is_empty() {
            return Err(bad());
        }
        let den = 100 * 10u64.pow(frac.len() as u32);
        let digits = format!("{int}{frac}");
        (digits.parse::<u64>().map_err(|_| bad())?, den)
    } else if let Some((a, b)) = t.split_once('/') {
        let a = a.trim().parse::<u64>().map_err(|_| bad())?;
        let b = b.trim().parse::<u64>().map_err(|_| bad())?;
        (a, b)
    } else {
        (t.parse::<u64>().map_err(|_| bad())?, 1)
    };
    if den == 0 {
        return Err(format!("ratio `{text}` divides by zero"));
    }
    if num > den {
        return Err(format!("ratio `{text}` is more than 1 (100%)"));
    }
    Ok(Ratio::reduced(num, den))
}

pub fn format_ratio(r: &Ratio) -> String {
    format!("{}/{}", r.num, r.den)
}

/// A rate: `count` events every `per_us` microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub per_us: u64,
}

/// Parses `"500/s"`, `"30/m"` or `"5/100ms"`.
pub fn parse_rate(text: &str) -> Result<Rate, String> {
    let bad = || format!("`{text}` is not a rate; write COUNT/UNIT such as \"500/s\" or \"30/m\"");
    let (count, per) = text.trim().split_once('/').ok_or_else(bad)?;
    let count: u64 = count.trim().parse().map_err(|_| bad())?;
    let per = per.trim();
    let per_us = match DURATION_UNITS.iter().find(|(u, _)| *u == per) {
        Some(&(_, us)) => us,
        None => parse_duration_us(per).map_err(|e| format!("{}: {e}", bad()))?,
    };
    if count == 0 || per_us == 0 {
        return Err(format!("rate `{text}` must be positive"));
    }
    Ok(Rate { count, per_us })
}

pub fn format_rate(r: &Rate) -> String {
    match DURATION_UNITS.iter().find(|(_, us)| *us == r.per_us) {
        Some((unit, _)) => format!("{}/{unit}", r.count),
        None => format!("{}/{}", r.count, format_duration_us(r.per_us)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_decimals() {
        // Proves duration parsing of every unit, decimals, and rejection of bad units.
        assert_eq!(parse_duration_us("250ms"), Ok(250_000));
        assert_eq!(parse_duration_us("1.5s"), Ok(1_500_000));
        assert_eq!(parse_duration_us("2m"), Ok(120_000_000));
        assert_eq!(parse_duration_us("1h"), Ok(3_600_000_000));
        assert_eq!(parse_duration_us("7us"), Ok(7));
        assert!(parse_duration_us("5sec")
            .unwrap_err()
            .contains("valid units"));
        assert!(parse_duration_us("5").unwrap_err().contains("no unit"));
        assert!(parse_duration_us("1.5us").is_err());
        assert!(parse_duration_us("1.2.3s").is_err());
        assert!(parse_duration_us("99999999999999999999h").is_err());
        for us in [0, 1, 1_000, 1_500_000, 60_000_000, 7_200_000_000, 1_001] {
            assert_eq!(parse_duration_us(&format_duration_us(us)), Ok(us));
        }
    }

    #[test]
    fn ratios_are_exact_integers() {
        // Proves ratios parse from fractions and percentages into reduced integer ratios.
        assert_eq!(parse_ratio("1/1000"), Ok(Ratio { num: 1, den: 1000 }));
        assert_eq!(parse_ratio("0.1%"), Ok(Ratio { num: 1, den: 1000 }));
        assert_eq!(parse_ratio("50%"), Ok(Ratio { num: 1, den: 2 }));
        assert_eq!(parse_ratio("0"), Ok(Ratio::ZERO));
        assert!(parse_ratio("3/2").is_err());
        assert!(parse_ratio("1/0").is_err());
        assert!(parse_ratio("0.5").is_err());
    }

    #[test]
    fn rates_parse_per_unit() {
        // Proves rates with a unit or a duration denominator and rejects other spellings.
        assert_eq!(
            parse_rate("500/s"),
            Ok(Rate {
                count: 500,
                per_us: 1_000_000
            })
        );
        assert_eq!(
            parse_rate("30/m"),
            Ok(Rate {
                count: 30,
                per_us: 60_000_000
            })
        );
        assert_eq!(
            parse_rate("5/100ms"),
            Ok(Rate {
                count: 5,
                per_us: 100_000
            })
        );
        assert!(parse_rate("500 per s").is_err());
        assert!(parse_rate("0/s").is_err());
        assert_eq!(format_rate(&parse_rate("5/100ms").unwrap()), "5/100ms");
    }
}
