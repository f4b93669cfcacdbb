//! The line scanner. Each line is found first (a newline inside a quoted string value does
//! not end it), then parsed within its bounds. Escapes follow influxd: a separator is
//! escaped when the byte before it is a backslash.

use crate::{EscapedStr, FieldValue, Line, LineError, Precision, MAX_KEY_LENGTH};

/// influxd's valid time range (`models.MinNanoTime` … `models.MaxNanoTime`).
const MIN_NANO: i64 = i64::MIN + 2;
const MAX_NANO: i64 = i64::MAX - 1;

/// Iterates over the points of a body; see the crate doc.
pub struct Parser<'a> {
    buf: &'a [u8],
    pos: usize,
    precision: Precision,
}

/// Parses `body`, one item per non-blank, non-comment line.
pub fn parse(body: &[u8], precision: Precision) -> Parser<'_> {
    Parser {
        buf: body,
        pos: 0,
        precision,
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Line<'a>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            while self.pos < self.buf.len()
                && matches!(self.buf[self.pos], b' ' | b'\t' | b'\r' | b'\n')
            {
                self.pos += 1;
            }
            if self.pos >= self.buf.len() {
                return None;
            }
            let start = self.pos;
            let end = line_end(self.buf, start);
            self.pos = end + 1;
            let line = &self.buf[start..end];
            if line[0] == b'#' {
                continue;
            }
            return Some(
                parse_line(line, self.precision).map_err(|reason| LineError {
                    line: String::from_utf8_lossy(line).into_owned(),
                    reason,
                }),
            );
        }
    }
}

#[inline]
fn escaped(buf: &[u8], i: usize) -> bool {
    i > 0 && buf[i - 1] == b'\\'
}

/// End of the line starting at `start`: the first newline that is not inside a quoted
/// field value (quotes count only once the fields have begun).
fn line_end(buf: &[u8], start: usize) -> usize {
    // Fast path: no quote before the newline.
    let nl = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |n| start + n);
    if memchr::memchr(b'"', &buf[start..nl]).is_none() {
        return nl;
    }
    let mut in_fields = false;
    let mut quoted = false;
    let mut i = start;
    while i < buf.len() {
        match buf[i] {
            b'\n' if !quoted => return i,
            b' ' if !quoted && !escaped(buf, i) => in_fields = true,
            b'"' if in_fields && !escaped(buf, i) => quoted = !quoted,
            _ => {}
        }
        i += 1;
    }
    buf.len()
}

fn parse_line(line: &[u8], precision: Precision) -> Result<Line<'_>, String> {
    // Key: measurement and tags, up to the first unescaped space.
    let mut i = 0;
    while i < line.len() && (line[i] != b' ' || escaped(line, i)) {
        i += 1;
    }
    let key = &line[..i];
    if i >= line.len() {
        if key.is_empty() {
            return Err("missing measurement".into());
        }
        return Err("missing fields".into());
    }
    let (measurement, tags) = parse_key(key)?;
    if key.len() > MAX_KEY_LENGTH {
        return Err(format!(
            "max key length exceeded: {} > {MAX_KEY_LENGTH}",
            key.len()
        ));
    }
    while i < line.len() && line[i] == b' ' {
        i += 1;
    }
    let mut fields = Vec::with_capacity(8);
    loop {
        // Field key, up to an unescaped '='.
        let ks = i;
        while i < line.len() && (line[i] != b'=' || escaped(line, i)) {
            if (line[i] == b' ' || line[i] == b',') && !escaped(line, i) {
                return Err("invalid field format".into());
            }
            i += 1;
        }
        if i >= line.len() {
            return Err("invalid field format".into());
        }
        if i == ks {
            return Err("missing field key".into());
        }
        let name = EscapedStr::new(&line[ks..i]);
        i += 1;
        if i >= line.len() || matches!(line[i], b' ' | b',') {
            return Err("missing field value".into());
        }
        let value = if line[i] == b'"' {
            let vs = i + 1;
            let mut j = vs;
            while j < line.len() && (line[j] != b'"' || escaped(line, j)) {
                j += 1;
            }
            if j >= line.len() {
                return Err("unbalanced quotes".into());
            }
            i = j + 1;
            FieldValue::Str(EscapedStr::new(&line[vs..j]))
        } else {
            let vs = i;
            while i < line.len() && !matches!(line[i], b',' | b' ') {
                i += 1;
            }
            scalar(&line[vs..i])?
        };
        fields.push((name, value));
        if i >= line.len() {
            break;
        }
        match line[i] {
            b',' => {
                i += 1;
            }
            b' ' => break,
            _ => return Err("invalid field format".into()),
        }
    }
    // Optional timestamp, then nothing but spaces.
    while i < line.len() && line[i] == b' ' {
        i += 1;
    }
    let timestamp = if i < line.len() {
        let ts = i;
        while i < line.len() && line[i] != b' ' {
            i += 1;
        }
        let token = &line[ts..i];
        while i < line.len() && line[i] == b' ' {
            i += 1;
        }
        if i < line.len() {
            return Err("point is invalid".into());
        }
        Some(timestamp(token, precision)?)
    } else {
        None
    };
    Ok(Line {
        measurement,
        tags,
        fields,
        timestamp,
        raw_line: line,
    })
}

type Tags<'a> = Vec<(EscapedStr<'a>, EscapedStr<'a>)>;

fn parse_key(key: &[u8]) -> Result<(EscapedStr<'_>, Tags<'_>), String> {
    // Split at unescaped commas.
    let mut parts = Vec::with_capacity(8);
    let mut s = 0;
    for i in 0..key.len() {
        if key[i] == b',' && !escaped(key, i) {
            parts.push(&key[s..i]);
            s = i + 1;
        }
    }
    parts.push(&key[s..]);
    let measurement = parts[0];
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut tags: Tags<'_> = Vec::with_capacity(parts.len() - 1);
    for part in &parts[1..] {
        let eq = (0..part.len()).find(|&i| part[i] == b'=' && !escaped(part, i));
        let Some(eq) = eq else {
            if part.is_empty() {
                return Err("missing tag key".into());
            }
            return Err("missing tag value".into());
        };
        let (k, v) = (&part[..eq], &part[eq + 1..]);
        if k.is_empty() {
            return Err("missing tag key".into());
        }
        if v.is_empty() {
            return Err("missing tag value".into());
        }
        if (0..v.len()).any(|i| v[i] == b'=' && !escaped(v, i)) {
            return Err("invalid tag format".into());
        }
        tags.push((EscapedStr::new(k), EscapedStr::new(v)));
    }
    if tags.len() > 1 {
        tags.sort_by(|a, b| a.0.raw().cmp(b.0.raw()));
        if tags.windows(2).any(|w| w[0].0.raw() == w[1].0.raw()) {
            return Err("duplicate tags".into());
        }
    }
    Ok((EscapedStr::new(measurement), tags))
}

/// A number or boolean field value.
fn scalar(v: &[u8]) -> Result<FieldValue<'static>, String> {
    match v[0] {
        b'-' | b'.' | b'0'..=b'9' => number(v),
        b't' | b'T' | b'f' | b'F' => match v {
            b"t" | b"T" | b"true" | b"True" | b"TRUE" => Ok(FieldValue::Boolean(true)),
            b"f" | b"F" | b"false" | b"False" | b"FALSE" => Ok(FieldValue::Boolean(false)),
            _ => Err("invalid boolean".into()),
        },
        b'N' | b'n' => Err("invalid number".into()),
        _ => Err("invalid boolean".into()),
    }
}

fn number(v: &[u8]) -> Result<FieldValue<'static>, String> {
    let invalid = || Err("invalid number".to_string());
    let (body, int) = match v.last() {
        Some(b'i') => (&v[..v.len() - 1], true),
        // Unsigned integers (`u`) are not enabled in InfluxDB 1.6.
        Some(b'u') => return invalid(),
        _ => (v, false),
    };
    // Shape: [-] digits [. digits] [(e|E) [+|-] digits], digits possibly empty around '.'.
    let mut i = 0;
    if body.first() == Some(&b'-') {
        i = 1;
    }
    if i >= body.len() {
        return invalid();
    }
    let (mut dot, mut exp) = (false, false);
    while i < body.len() {
        match body[i] {
            b'0'..=b'9' => {}
            b'.' if !dot && !exp => dot = true,
            b'e' | b'E' if !exp => {
                exp = true;
                if matches!(body.get(i + 1), Some(b'+' | b'-')) {
                    i += 1;
                }
            }
            _ => return invalid(),
        }
        i += 1;
    }
    // Text of plain ASCII digits and signs: valid UTF-8.
    let text = std::str::from_utf8(body).map_err(|_| "invalid number".to_string())?;
    if int {
        if dot || exp {
            return invalid();
        }
        return text.parse::<i64>().map(FieldValue::Integer).map_err(|_| {
            format!("unable to parse integer {text}: strconv.ParseInt: parsing \"{text}\": value out of range")
        });
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(FieldValue::Float(f)),
        _ => Err("invalid float".into()),
    }
}

fn timestamp(token: &[u8], precision: Precision) -> Result<i64, String> {
    let digits = token.strip_prefix(b"-").unwrap_or(token);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err("bad timestamp".into());
    }
    let text = std::str::from_utf8(token).map_err(|_| "bad timestamp".to_string())?;
    let n: i64 = text
        .parse()
        .map_err(|_| format!("strconv.ParseInt: parsing \"{text}\": value out of range"))?;
    let out_of_range = || format!("time outside range {MIN_NANO} - {MAX_NANO}");
    let ns = n
        .checked_mul(precision.multiplier())
        .ok_or_else(out_of_range)?;
    if !(MIN_NANO..=MAX_NANO).contains(&ns) {
        return Err(out_of_range());
    }
    Ok(ns)
}
