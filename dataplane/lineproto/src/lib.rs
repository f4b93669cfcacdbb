//! The InfluxDB 1.x line protocol, parsed in place, exactly as influxd 1.6.7 parses it.
//!
//! `measurement[,tag=value…] field=value[,field=value…] [timestamp]`, one point per line.
//! Names and values are returned as slices of the input, still escaped ([`EscapedStr`]);
//! unescaping allocates only for the rare token that has escapes. Every bad line gives one
//! [`LineError`] whose text is influxd's (`unable to parse '<line>': <reason>`), and parsing
//! goes on with the next line.
//!
//! The scanner is a port of influxd's `models/points.go` (1.6), quirks included, because
//! clients were written against that server: a separator is escaped when the byte before it
//! is a backslash, `cpu,t==x` is a tag whose value is `=x`, `v="a"b` stores the string
//! `a"`, a `\r` before the newline is part of the line, `u` integers are refused, and so
//! on. `tests/corpus/influxd.json` holds the answers of a real influxd 1.6.7 to more than
//! 150 bodies (recorded by `tests/gen_corpus.py`); `tests/corpus.rs` replays them.
//!
//! # Layout
//! - [`Precision`] — timestamp units of `/write?precision=`.
//! - `escape` — [`EscapedStr`] and influxd's escaping rules for each kind of token.
//! - `line` — [`Line`], [`FieldValue`], [`LineError`]: what a line holds or why it failed.
//! - `scan` — splitting a body into lines; the series-key part (measurement and tags).
//! - `fields` — the field set: validation, tokens, number and boolean values.
//! - `parser` — [`parse`] / [`Parser`], the iterator over lines; timestamps.
//! - `key` — [`series_key`] (influxd's `SHOW SERIES` form) and [`point_key`] (the key as
//!   written, which influxd hashes).
//!
//! Outside `src/`: `tests/corpus.rs` (replays the influxd recording; `LP_CORPUS=file`
//! replays another, e.g. one of the fuzz corpus made with `gen_corpus.py --inputs-dir`),
//! `tests/mutations.rs` (100 000 mutated bodies, no panic), `benches/parse.rs` (against
//! the `influxdb-line-protocol` crate) and `fuzz/` (`cargo +nightly fuzz run parse`).

mod escape;
mod fields;
mod key;
mod line;
mod parser;
mod scan;

pub use escape::{EscapedStr, TokenKind};
pub use key::{point_key, series_key};
pub use line::{FieldValue, Line, LineError};
pub use parser::{parse, Parser};

/// Largest series key influxd accepts (`models.MaxKeyLength`), checked against the key
/// (measurement and tags) and against key + `#!~#` + each field name.
pub const MAX_KEY_LENGTH: usize = 65535;

/// Earliest timestamp influxd stores (`models.MinNanoTime`, `math.MinInt64 + 2`).
pub const MIN_NANO_TIME: i64 = i64::MIN + 2;

/// Latest timestamp influxd stores (`models.MaxNanoTime`, `math.MaxInt64 - 1`).
pub const MAX_NANO_TIME: i64 = i64::MAX - 1;

/// Units of timestamps in a write (`precision=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    Nanosecond,
    Microsecond,
    Millisecond,
    Second,
    Minute,
    Hour,
}

impl Precision {
    /// influxd 1.6.7 (`models.GetPrecisionMultiplier`) knows `u`, `ms`, `s`, `m` and `h`;
    /// every other value, `us`, `µ` and garbage included, silently means nanoseconds and is
    /// not an error. This returns `Some` for those five and for `""`, `n` and `ns`, and
    /// `None` for anything else, which a caller matching influxd treats as nanoseconds.
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "n" | "ns" => Precision::Nanosecond,
            "u" => Precision::Microsecond,
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

    /// The default timestamp of a line without one: `now_ns` truncated to the precision,
    /// as influxd's `point.SetPrecision` does.
    pub fn truncate(self, now_ns: i64) -> i64 {
        let m = self.multiplier();
        // Go's time.Truncate rounds toward the zero time (year 1), i.e. down for any
        // timestamp after 0001-01-01: a floor on Unix nanoseconds.
        now_ns - now_ns.rem_euclid(m)
    }
}

#[cfg(test)]
mod tests;
