//! Durations in Go's `time.Duration` text form, which influxd and Enterprise use in their
//! configs, APIs and `SHOW` output (`1m0s`, `168h0m0s`, `500ms`, `0s`).

use std::fmt::Write;

/// Nanoseconds in one unit, as Go's `time` package defines them.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {0:?}")]
    Invalid(String),
    #[error("missing unit in duration {0:?}")]
    MissingUnit(String),
    #[error("unknown unit {unit:?} in duration {input:?}")]
    UnknownUnit { unit: String, input: String },
    #[error("duration {0:?} overflows")]
    Overflow(String),
}

/// Parses a non-negative Go duration such as `1h30m`, `1.5s`, `250ms` or `0`.
pub fn parse(input: &str) -> Result<u64, DurationError> {
    let s = input.trim();
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(DurationError::Invalid(input.to_string()));
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        if start == i {
            return Err(DurationError::Invalid(input.to_string()));
        }
        let number = &s[start..i];
        let unit_start = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = &s[unit_start..i];
        if unit.is_empty() {
            return Err(DurationError::MissingUnit(input.to_string()));
        }
        let scale = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, n)| *n)
            .ok_or_else(|| DurationError::UnknownUnit {
                unit: unit.to_string(),
                input: input.to_string(),
            })?;
        let nanos = match number.split_once('.') {
            None => number
                .parse::<u64>()
                .map_err(|_| DurationError::Overflow(input.to_string()))?
                .checked_mul(scale)
                .ok_or_else(|| DurationError::Overflow(input.to_string()))?,
            Some((whole, frac)) => {
                if frac.contains('.') || (whole.is_empty() && frac.is_empty()) {
                    return Err(DurationError::Invalid(input.to_string()));
                }
                let whole: u64 = if whole.is_empty() {
                    0
                } else {
                    whole
                        .parse()
                        .map_err(|_| DurationError::Overflow(input.to_string()))?
                };
                let mut frac_nanos = 0f64;
                if !frac.is_empty() {
                    let f: f64 = format!("0.{frac}")
                        .parse()
                        .map_err(|_| DurationError::Invalid(input.to_string()))?;
                    frac_nanos = f * scale as f64;
                }
                whole
                    .checked_mul(scale)
                    .and_then(|w| w.checked_add(frac_nanos as u64))
                    .ok_or_else(|| DurationError::Overflow(input.to_string()))?
            }
        };
        total = total
            .checked_add(nanos)
            .ok_or_else(|| DurationError::Overflow(input.to_string()))?;
    }
    Ok(total)
}

/// Formats nanoseconds the way Go's `Duration.String` does.
pub fn format(nanos: u64) -> String {
    if nanos == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    if nanos < 1_000_000_000 {
        // Sub-second durations use the largest unit that keeps an integer part.
        let (unit, scale) = if nanos < 1_000 {
            ("ns", 1)
        } else if nanos < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        write_fraction(&mut out, nanos, scale);
        out.push_str(unit);
        return out;
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let rest = nanos % 60_000_000_000;
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if hours > 0 || minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    write_fraction(&mut out, rest, 1_000_000_000);
    out.push('s');
    out
}

fn write_fraction(out: &mut String, value: u64, scale: u64) {
    let _ = write!(out, "{}", value / scale);
    let frac = value % scale;
    if frac != 0 {
        let width = scale.to_string().len() - 1;
        let digits = format!("{frac:0width$}");
        let _ = write!(out, ".{}", digits.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(format(0), "0s");
        assert_eq!(format(60_000_000_000), "1m0s");
        assert_eq!(format(168 * 3_600_000_000_000), "168h0m0s");
        assert_eq!(format(1_500_000_000), "1.5s");
        assert_eq!(format(500_000_000), "500ms");
        assert_eq!(format(3_600_000_000_000 + 1_000_000_000), "1h0m1s");
    }

    #[test]
    fn parses_like_go() {
        assert_eq!(parse("1m0s").unwrap(), 60_000_000_000);
        assert_eq!(parse("1h30m").unwrap(), 5_400_000_000_000);
        assert_eq!(parse("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse("250ms").unwrap(), 250_000_000);
        assert_eq!(parse("0").unwrap(), 0);
        assert!(matches!(parse("10"), Err(DurationError::MissingUnit(_))));
        assert!(matches!(
            parse("5d"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(parse("").is_err());
        assert!(parse("h").is_err());
        assert!(parse("99999999999999999999h").is_err());
    }

    #[test]
    fn round_trips() {
        for n in [
            1u64,
            999,
            1_000,
            1_234_567,
            59_000_000_000,
            7 * 86_400_000_000_000,
        ] {
            assert_eq!(parse(&format(n)).unwrap(), n, "{}", format(n));
        }
    }
}
