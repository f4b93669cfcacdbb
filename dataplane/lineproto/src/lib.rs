//! The InfluxDB 1.x line protocol, parsed in place.
//!
//! `measurement[,tag=value…] field=value[,field=value…] [timestamp]`, one point per line.
//! Names and values are returned as slices of the input, still escaped ([`EscapedStr`]);
//! unescaping allocates only for the rare value that has escapes. Every bad line gives one
//! [`LineError`] whose text is influxd 1.6.7's (`unable to parse '<line>': <reason>`), and
//! parsing goes on with the next line.
//!
//! # Layout
//! - [`Precision`] — timestamp units of `/write?precision=`.
//! - [`EscapedStr`], [`FieldValue`], [`Line`] — what a line holds.
//! - [`parse`] / [`Parser`] — the iterator over lines.
//! - [`series_key`] — InfluxDB's canonical series key of a line.

mod parser;

pub use parser::{parse, Parser};

use std::borrow::Cow;
use std::fmt;

/// Units of timestamps in a write (`precision=`), as influxd 1.6.7 takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
}

impl Precision {
    /// `n`/`ns`, `u`/`us`/`µ`, `ms`, `s`, `m`, `h`; `None` for anything else (influxd then
    /// treats timestamps as nanoseconds).
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "n" | "ns" => Precision::Nanosecond,
            "u" | "us" | "µ" | "µs" => Precision::Microsecond,
            "ms" => Precision::Millisecond,
            "s" => Precision::Second,
            "m" => Precision::Minute,
            "h" => Precision::Hour,
            _ => return None,
        })
    }

    /// Nanoseconds per unit.
    pub fn multiplier(self) -> i64 {
        match self {
            Precision::Nanosecond => 1,
            Precision::Microsecond => 1_000,
            Precision::Millisecond => 1_000_000,
            Precision::Second => 1_000_000_000,
            Precision::Minute => 60_000_000_000,
            Precision::Hour => 3_600_000_000_000,
        }
    }
}

/// A name or string value exactly as it appears in the input, escapes included.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EscapedStr<'a> {
    raw: &'a [u8],
    has_escapes: bool,
}

impl fmt::Debug for EscapedStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.raw))
    }
}

impl<'a> EscapedStr<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        EscapedStr {
            raw,
            has_escapes: memchr::memchr(b'\\', raw).is_some(),
        }
    }

    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn has_escapes(&self) -> bool {
        self.has_escapes
    }

    /// The text with line-protocol escapes removed: `\,` `\ ` `\=` in names and `\"` `\\`
    /// in string values. Other backslashes stay, as influxd keeps them.
    pub fn unescaped(&self) -> Cow<'a, [u8]> {
        if !self.has_escapes {
            return Cow::Borrowed(self.raw);
        }
        let mut out = Vec::with_capacity(self.raw.len());
        let mut i = 0;
        while i < self.raw.len() {
            let c = self.raw[i];
            if c == b'\\' && i + 1 < self.raw.len() {
                let n = self.raw[i + 1];
                if matches!(n, b',' | b' ' | b'=' | b'"' | b'\\') {
                    out.push(n);
                    i += 2;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        Cow::Owned(out)
    }
}

/// A field value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    /// The string between the quotes, still escaped.
    Str(EscapedStr<'a>),
}

/// One parsed point.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub measurement: EscapedStr<'a>,
    /// Sorted by key, as influxd sorts them.
    pub tags: Vec<(EscapedStr<'a>, EscapedStr<'a>)>,
    /// In input order; a repeated field appears twice (the writer decides).
    pub fields: Vec<(EscapedStr<'a>, FieldValue<'a>)>,
    /// Nanoseconds (already scaled by the precision).
    pub timestamp: Option<i64>,
    pub raw_line: &'a [u8],
}

/// Why one line was refused; displays as influxd does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The offending line.
    pub line: String,
    pub reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unable to parse '{}': {}", self.line, self.reason)
    }
}

impl std::error::Error for LineError {}

/// Largest series key influxd accepts.
pub const MAX_KEY_LENGTH: usize = 65535;

/// Appends InfluxDB's series key of `line` to `out`: the escaped measurement, then
/// `,key=value` for each tag in key order, escapes kept as written.
pub fn series_key(line: &Line<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(line.measurement.raw());
    for (k, v) in &line.tags {
        out.push(b',');
        out.extend_from_slice(k.raw());
        out.push(b'=');
        out.extend_from_slice(v.raw());
    }
}

#[cfg(test)]
mod tests;
