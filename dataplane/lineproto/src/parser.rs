//! The iterator over the lines of a body, and the parts of a line after its fields.

use crate::fields::{scan_fields, FieldError};
use crate::line::{Line, LineError};
use crate::scan::{line_end, scan_key, skip_whitespace};
use crate::{Precision, MAX_KEY_LENGTH, MAX_NANO_TIME, MIN_NANO_TIME};

/// Iterates over the points of a body: one `Result` per line that is neither blank nor a
/// `#` comment, in order.
pub struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    precision: Precision,
}

/// Parses `body` with timestamps in `precision` units (see [`Parser`]).
pub fn parse(body: &[u8], precision: Precision) -> Parser<'_> {
    Parser {
        buf: body,
        pos: 0,
        precision,
    }
}

impl<'a> Parser<'a> {
    /// Like [`Iterator::next`] but fills `line` (reusing its vectors) instead of returning
    /// a new one. On an error `line` holds partial garbage.
    pub fn next_into(&mut self, line: &mut Line<'a>) -> Option<Result<(), LineError>> {
        let block = self.next_block()?;
        line.tags.clear();
        line.fields.clear();
        Some(
            parse_point(block, self.precision, line).map_err(|reason| LineError {
                line: go_lossy(block),
                reason: match reason {
                    FieldError::Static(s) => s.to_string(),
                    FieldError::Owned(s) => s,
                },
            }),
        )
    }

    /// The next non-blank, non-comment line, leading blanks skipped (ParsePoints' loop).
    fn next_block(&mut self) -> Option<&'a [u8]> {
        let buf = self.buf;
        while self.pos < buf.len() {
            let start = self.pos;
            let end = line_end(buf, start);
            self.pos = end + 1;
            let first = skip_whitespace(buf, start);
            if first >= end || buf[first] == b'#' {
                continue;
            }
            let mut block = &buf[first..end];
            // A line that ended inside an open quote at the end of the body keeps its
            // newline; influxd strips one.
            if let Some(rest) = block.strip_suffix(b"\n") {
                block = rest;
            }
            return Some(block);
        }
        None
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Line<'a>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = Line {
            tags: Vec::with_capacity(8),
            fields: Vec::with_capacity(8),
            ..Line::empty()
        };
        Some(self.next_into(&mut line)?.map(|()| line))
    }
}

/// influxd's `parsePoint`, error order included.
fn parse_point<'a>(
    buf: &'a [u8],
    precision: Precision,
    line: &mut Line<'a>,
) -> Result<(), FieldError> {
    let (measurement, pos) = scan_key(buf, &mut line.tags)?;
    if pos > MAX_KEY_LENGTH {
        return Err(FieldError::Owned(format!(
            "max key length exceeded: {pos} > {MAX_KEY_LENGTH}"
        )));
    }
    let pos = scan_fields(buf, pos, pos, &mut line.fields)?;
    line.measurement = measurement;
    line.raw_line = buf;
    line.timestamp = timestamp(buf, pos, precision)?;
    Ok(())
}

/// `scanTime`, the integer parse, `SafeCalcTime` and the trailing-bytes check.
fn timestamp(buf: &[u8], pos: usize, precision: Precision) -> Result<Option<i64>, FieldError> {
    let start = skip_whitespace(buf, pos);
    let mut i = start;
    while i < buf.len() && buf[i] != b' ' && buf[i] != b'\n' {
        if !(buf[i].is_ascii_digit() || (i == start && buf[i] == b'-')) {
            return Err("bad timestamp".into());
        }
        i += 1;
    }
    if i == start {
        return Ok(None);
    }
    let text = &buf[start..i];
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let go_err = |why: &str| {
        FieldError::Owned(format!(
            "strconv.ParseInt: parsing \"{}\": {why}",
            go_lossy(text)
        ))
    };
    if digits.is_empty() {
        return Err(go_err("invalid syntax"));
    }
    let mut n: i64 = 0;
    for &d in digits {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_sub(i64::from(d - b'0')))
            .ok_or_else(|| go_err("value out of range"))?;
    }
    if digits.len() == text.len() {
        n = n
            .checked_neg()
            .ok_or_else(|| go_err("value out of range"))?;
    }
    let ns = n
        .checked_mul(precision.multiplier())
        .filter(|ns| (MIN_NANO_TIME..=MAX_NANO_TIME).contains(ns))
        .ok_or_else(|| {
            FieldError::Owned(format!(
                "time outside range {MIN_NANO_TIME} - {MAX_NANO_TIME}"
            ))
        })?;
    // Only spaces may follow a timestamp.
    if buf[i..].iter().any(|&c| c != b' ') {
        return Err("point is invalid".into());
    }
    Ok(Some(ns))
}

/// Bytes to text as Go's JSON encoder shows them: each byte that is not part of valid
/// UTF-8 becomes U+FFFD.
pub(crate) fn go_lossy(mut b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (good, bad) = b.split_at(e.valid_up_to());
                // Checked valid just above.
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                out.push('\u{FFFD}');
                b = &bad[1..];
            }
        }
    }
}
