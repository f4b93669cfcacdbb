//! What a parsed line holds, and why a line was refused.

use crate::escape::EscapedStr;

/// A field value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// Finite; influxd refuses NaN and ±Inf.
    Float(f64),
    /// `123i`.
    Integer(i64),
    /// `123u`. influxd 1.6.7 refuses these (`invalid number`) and so does this parser;
    /// the variant exists for later protocol versions.
    Unsigned(u64),
    /// `t`, `T`, `true`, `True`, `TRUE`, `f`, `F`, `false`, `False`, `FALSE`.
    Boolean(bool),
    /// The text between the quotes, still escaped (`\"`, `\\`).
    Str(EscapedStr<'a>),
}

/// One parsed point, borrowing the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub measurement: EscapedStr<'a>,
    /// In input order; no two share a key (a duplicate tag key is an error, as in influxd).
    /// [`crate::series_key`] sorts them.
    pub tags: Vec<(EscapedStr<'a>, EscapedStr<'a>)>,
    /// In input order. influxd keeps a repeated field name and the last value wins when
    /// the point is stored (the earlier one is still type-checked).
    pub fields: Vec<(EscapedStr<'a>, FieldValue<'a>)>,
    /// Nanoseconds (already multiplied by the precision), within
    /// [`crate::MIN_NANO_TIME`]..=[`crate::MAX_NANO_TIME`]; `None` when the line has none
    /// (influxd then uses the server's clock truncated to the precision).
    pub timestamp: Option<i64>,
    /// The whole line as influxd quotes it in errors: leading blanks skipped.
    pub raw_line: &'a [u8],
}

impl<'a> Line<'a> {
    /// An empty line whose vectors [`crate::Parser::next_into`] can fill again and again.
    pub fn empty() -> Line<'a> {
        Line {
            measurement: EscapedStr::from_raw(b"", crate::TokenKind::Measurement),
            tags: Vec::new(),
            fields: Vec::new(),
            timestamp: None,
            raw_line: b"",
        }
    }
}

/// Why one line was refused; displays exactly as influxd 1.6.7 words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse '{line}': {reason}")]
pub struct LineError {
    /// The offending line as influxd quotes it (leading blanks skipped; bytes that are not
    /// UTF-8 become U+FFFD, as Go's JSON encoder shows them).
    pub line: String,
    /// influxd's reason, e.g. `missing field value`.
    pub reason: String,
}
