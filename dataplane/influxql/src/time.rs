//! Durations and time strings as InfluxQL 1.x reads and writes them.

use thiserror::Error;

const NS: i64 = 1;
const US: i64 = 1_000;
const MS: i64 = 1_000_000;
const S: i64 = 1_000_000_000;
const M: i64 = 60 * S;
const H: i64 = 60 * M;
const D: i64 = 24 * H;
const W: i64 = 7 * D;

/// Why a duration literal was refused; the texts are influxd's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DurationError {
    #[error("invalid duration")]
    Invalid,
    #[error("overflowed duration {measure}{unit}: choose a smaller duration or INF")]
    Overflow { measure: i64, unit: String },
}

/// Parses `1h30m`, `10s`, `1w`, `500ms`, `1u`/`1µ`, `1ns`, with an optional leading `-`,
/// into nanoseconds. Like influxd, arithmetic wraps and only a wrap to a negative total
/// is reported as an overflow.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let a: Vec<char> = s.chars().collect();
    if s.len() < 2 {
        return Err(DurationError::Invalid);
    }
    let mut i = 0;
    let negative = a[0] == '-';
    if negative {
        i += 1;
    }
    let mut d: i64 = 0;
    let (mut measure, mut unit) = (0i64, String::new());
    while i < a.len() {
        let start = i;
        while i < a.len() && a[i].is_ascii_digit() {
            i += 1;
        }
        if i >= a.len() || i == start {
            return Err(DurationError::Invalid);
        }
        let digits: String = a[start..i].iter().collect();
        let n: i64 = digits.parse().map_err(|_| DurationError::Invalid)?;
        measure = n;
        unit = a[i].to_string();
        let next_is_s = i + 1 < a.len() && a[i + 1] == 's';
        let scale = match a[i] {
            'n' if next_is_s => NS,
            'n' => return Err(DurationError::Invalid),
            'u' | 'µ' => US,
            'm' if next_is_s => MS,
            'm' => M,
            's' => S,
            'h' => H,
            'd' => D,
            'w' => W,
            _ => return Err(DurationError::Invalid),
        };
        if (a[i] == 'n' || a[i] == 'm') && next_is_s {
            unit.push('s');
            i += 1;
        }
        d = d.wrapping_add(n.wrapping_mul(scale));
        i += 1;
    }
    if d < 0 && !negative {
        return Err(DurationError::Overflow { measure, unit });
    }
    Ok(if negative { d.wrapping_neg() } else { d })
}

/// The parser's use: the error as influxd's text.
pub(crate) fn parse_duration_go(s: &str) -> Result<i64, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// Formats nanoseconds in the largest unit that divides them exactly (`90m`, `2w`,
/// `1500ms`, `7u`), as influxd prints retention policies and `GROUP BY time()`.
pub fn format_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    for (unit, name) in [
        (W, "w"),
        (D, "d"),
        (H, "h"),
        (M, "m"),
        (S, "s"),
        (MS, "ms"),
        (US, "u"),
    ] {
        if ns % unit == 0 {
            return format!("{}{}", ns / unit, name);
        }
    }
    format!("{ns}ns")
}

/// Go's `strconv.Atoi` on a token's digits.
pub(crate) fn go_atoi(lit: &str) -> Result<i64, String> {
    lit.parse::<i64>().map_err(|_| {
        format!(
            "strconv.Atoi: parsing {}: value out of range",
            crate::parser::go_quote(lit)
        )
    })
}

const ZONES: &str = include_str!("zones.txt");

/// Whether `tz('name')` names a zone influxd can load (its IANA database, `UTC`,
/// `Local` and the empty name, which means UTC).
pub(crate) fn is_known_zone(name: &str) -> bool {
    name.is_empty()
        || name == "UTC"
        || name == "Local"
        || ZONES.split_ascii_whitespace().any(|z| z == name)
}

/// influxql's `IsTimeLiteral`: a string that starts like a date (`2006-01-02…`), which
/// influxd then reads as a time (or refuses as `invalid timestamp string`).
pub fn is_time_literal(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

/// Parses the time strings InfluxQL compares `time` with, into nanoseconds since the
/// epoch (UTC when the string has no zone): `2006-01-02`, `2006-01-02 15:04:05[.frac]`
/// and RFC 3339 (`2006-01-02T15:04:05[.frac](Z|±07:00)`). `None` when influxd would say
/// `invalid timestamp string`.
pub fn parse_time_string(s: &str) -> Option<i64> {
    let (wall, offset) = parse_time_parts(s)?;
    i64::try_from(wall - offset.unwrap_or(0) as i128 * 1_000_000_000).ok()
}

/// A time string's wall clock, in nanoseconds as if it were UTC (years 0000-9999, so
/// beyond the nanosecond range InfluxDB can store), and its zone offset in seconds when
/// the string names one (RFC 3339); without one influxd reads it in the statement's
/// `tz()` zone.
pub fn parse_time_parts(s: &str) -> Option<(i128, Option<i64>)> {
    let b = s.as_bytes();
    let (year, month, day) = parse_date(b)?;
    if b.len() == 10 {
        return Some((wall_nanos(year, month, day, 0, 0, 0, 0), None));
    }
    // influxd tries its `2006-01-02 15:04:05.999999` layout first, then RFC 3339.
    if b[10] == b' ' {
        let (h, mi, sec, frac, rest) = parse_clock(&b[11..])?;
        if !rest.is_empty() {
            return None;
        }
        return Some((wall_nanos(year, month, day, h, mi, sec, frac), None));
    }
    if b[10] != b'T' {
        return None;
    }
    let (h, mi, sec, frac, rest) = parse_clock(&b[11..])?;
    let offset = match rest {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = two_digits(*h1, *h2)?;
            let om = two_digits(*m1, *m2)?;
            if oh > 24 || om > 59 {
                return None;
            }
            let off = (oh * 3600 + om * 60) as i64;
            if *sign == b'-' {
                -off
            } else {
                off
            }
        }
        _ => return None,
    };
    Some((wall_nanos(year, month, day, h, mi, sec, frac), Some(offset)))
}

fn two_digits(a: u8, b: u8) -> Option<u32> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(((a - b'0') * 10 + (b - b'0')) as u32)
    } else {
        None
    }
}

fn parse_date(b: &[u8]) -> Option<(i64, u32, u32)> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    if !b[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let year = std::str::from_utf8(&b[..4]).ok()?.parse::<i64>().ok()?;
    let month = two_digits(b[5], b[6])?;
    let day = two_digits(b[8], b[9])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// `15:04:05[.frac]`, the hour with one or two digits as Go accepts; returns the rest.
fn parse_clock(b: &[u8]) -> Option<(u32, u32, u32, u32, &[u8])> {
    let (h, b) = match b {
        [a, c, b':', ..] if a.is_ascii_digit() && c.is_ascii_digit() => {
            (two_digits(*a, *c)?, &b[3..])
        }
        [a, b':', ..] if a.is_ascii_digit() => ((*a - b'0') as u32, &b[2..]),
        _ => return None,
    };
    let (mi, sec, mut rest) = match b {
        [m1, m2, b':', s1, s2, ..] => (two_digits(*m1, *m2)?, two_digits(*s1, *s2)?, &b[5..]),
        _ => return None,
    };
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut frac = 0u32;
    if rest.len() >= 2 && (rest[0] == b'.' || rest[0] == b',') && rest[1].is_ascii_digit() {
        let mut n = 0;
        let mut i = 1;
        while i < rest.len() && rest[i].is_ascii_digit() {
            if n < 9 {
                frac = frac * 10 + (rest[i] - b'0') as u32;
                n += 1;
            }
            i += 1;
        }
        while n < 9 {
            frac *= 10;
            n += 1;
        }
        rest = &rest[i..];
    }
    Some((h, mi, sec, frac, rest))
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn wall_nanos(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32, frac: u32) -> i128 {
    let secs = days_from_civil(y, mo, d) * 86_400 + (h * 3600 + mi * 60 + s) as i64;
    secs as i128 * 1_000_000_000 + frac as i128
}

/// Go's `time.Duration.String()`: `18.858µs`, `245.185846ms`, `1m2.5s`.
pub fn go_duration(ns: u64) -> String {
    fn frac(v: u64, unit: u64) -> String {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let s = format!("{rest:0digits$}");
        format!("{whole}.{}", s.trim_end_matches('0'))
    }
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => format!("{}µs", frac(n, 1_000)),
        n if n < 1_000_000_000 => format!("{}ms", frac(n, 1_000_000)),
        n => {
            let s = n / 1_000_000_000;
            let sub = n % 1_000_000_000;
            let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
            let secs = frac(sec * 1_000_000_000 + sub, 1_000_000_000);
            if h > 0 {
                format!("{h}h{m}m{secs}s")
            } else if m > 0 {
                format!("{m}m{secs}s")
            } else {
                format!("{secs}s")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Ok(90 * M));
        assert_eq!(parse_duration("1µ"), Ok(US));
        assert_eq!(parse_duration("-5ms"), Ok(-5 * MS));
        assert_eq!(parse_duration("1"), Err(DurationError::Invalid));
        assert_eq!(parse_duration("1x"), Err(DurationError::Invalid));
        assert_eq!(
            parse_duration("9999999999999h").map_err(|e| e.to_string()),
            Err("overflowed duration 9999999999999h: choose a smaller duration or INF".into())
        );
        assert_eq!(format_duration(90 * M), "90m");
        assert_eq!(format_duration(7 * D), "1w");
        assert_eq!(format_duration(1500 * MS), "1500ms");
        assert_eq!(format_duration(7 * US), "7u");
        assert_eq!(format_duration(3), "3ns");
        assert_eq!(format_duration(0), "0s");
    }

    #[test]
    fn time_strings() {
        assert_eq!(parse_time_string("1970-01-01"), Some(0));
        assert_eq!(parse_time_string("1970-01-01T00:00:01Z"), Some(S));
        assert_eq!(
            parse_time_string("1970-01-01 00:00:01.5"),
            Some(S + 500 * MS)
        );
        assert_eq!(
            parse_time_string("2000-01-01T01:00:00+01:00"),
            parse_time_string("2000-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_time_string("2016-01-01T00:00:00.123456789Z"),
            Some(1_451_606_400 * S + 123_456_789)
        );
        assert_eq!(parse_time_string("2015-02-29"), None);
        assert_eq!(parse_time_string("2016-02-29"), Some(1_456_704_000 * S));
        assert_eq!(parse_time_string("2016-01-01T00:00:00"), None);
        assert_eq!(parse_time_string("now"), None);
    }

    #[test]
    fn zones() {
        assert!(is_known_zone("America/New_York"));
        assert!(is_known_zone("UTC"));
        assert!(!is_known_zone("Mars/Olympus"));
    }
}
