//! The field set of a line. influxd checks it in one pass (`scanFields`, with
//! `scanNumber` and `scanBoolean`) and later cuts it into fields in another (`walkFields`,
//! `scanTo`, `scanFieldValue`), and the two passes treat backslashes differently. Here the
//! first pass also records the fields; when the field set holds a backslash the fields are
//! cut again the second way, so that odd inputs give what influxd stores.

use crate::escape::{EscapedStr, TokenKind};
use crate::line::FieldValue;
use crate::scan::skip_whitespace;
use crate::MAX_KEY_LENGTH;

pub(crate) type Fields<'a> = Vec<(EscapedStr<'a>, FieldValue<'a>)>;

/// Why a field set was refused: influxd's fixed texts or a formatted one.
pub(crate) enum FieldError {
    Static(&'static str),
    Owned(String),
}

impl From<&'static str> for FieldError {
    fn from(s: &'static str) -> Self {
        FieldError::Static(s)
    }
}

/// Bytes at which the field scanner must look (everything else is skipped in bulk).
static FIELD_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\\' as usize] = true;
    t[b'"' as usize] = true;
    t[b'=' as usize] = true;
    t[b',' as usize] = true;
    t[b' ' as usize] = true;
    t
};

/// Scans the field set starting at `pos` (the byte after the key) of `buf`, fills
/// `fields` and returns the index just past it. `key_len` is the length of the series key,
/// for influxd's per-field key-size check.
pub(crate) fn scan_fields<'a>(
    buf: &'a [u8],
    pos: usize,
    key_len: usize,
    fields: &mut Fields<'a>,
) -> Result<usize, FieldError> {
    let start = skip_whitespace(buf, pos);
    let mut i = start;
    let mut quoted = false;
    let (mut equals, mut commas) = (0usize, 0usize);
    // A backslash, or a second '=' in one field, can make influxd's two cuts disagree.
    let mut irregular = false;
    let mut in_value = false;
    let mut key_start = start;
    // Start of a string value (its opening quote) not yet recorded.
    let mut str_start: Option<usize> = None;
    let mut key: &'a [u8] = b"";
    while i < buf.len() {
        let c = buf[i];
        if !FIELD_SPECIAL[c as usize] {
            i += 1;
            continue;
        }
        if c == b'\\' && i + 1 < buf.len() {
            irregular = true;
            i += 2;
            continue;
        }
        if c == b'"' && equals > commas {
            quoted = !quoted;
            i += 1;
            continue;
        }
        if c == b'=' && !quoted {
            equals += 1;
            irregular |= in_value;
            in_value = true;
            let (p1, p2) = (buf[i - 1], buf[i - 2]);
            if (p1 == b' ' || p1 == b',') && p2 != b'\\' {
                return Err("missing field key".into());
            }
            if i + 1 >= buf.len() {
                return Err("missing field value".into());
            }
            let n = buf[i + 1];
            if n == b',' || n == b' ' {
                return Err("missing field value".into());
            }
            key = &buf[key_start..i];
            if n.is_ascii_digit() || matches!(n, b'.' | b'-' | b'N' | b'n') {
                let (end, value) = scan_number(buf, i + 1)?;
                fields.push((EscapedStr::new(key, false, TokenKind::FieldKey), value));
                i = end;
                continue;
            }
            if n != b'"' {
                let (end, value) = scan_boolean(buf, i + 1)?;
                fields.push((EscapedStr::new(key, false, TokenKind::FieldKey), value));
                i = end;
                continue;
            }
            str_start = Some(i + 1);
        }
        if !quoted && (c == b',' || c == b' ') {
            if let Some(s) = str_start.take() {
                fields.push(string_field(key, &buf[s..i]));
            }
            if c == b' ' {
                break;
            }
            commas += 1;
            key_start = i + 1;
            in_value = false;
        }
        i += 1;
    }
    if quoted {
        return Err("unbalanced quotes".into());
    }
    if equals == 0 || commas != equals - 1 {
        return Err("invalid field format".into());
    }
    if let Some(s) = str_start {
        fields.push(string_field(key, &buf[s..i]));
    }
    if irregular {
        fields.clear();
        walk_fields(&buf[start..i], key_len, fields)?;
    } else {
        for (k, _) in fields.iter() {
            check_key_size(key_len, k.raw())?;
        }
    }
    Ok(i)
}

/// A string field from its value token (opening quote included), as influxd's iterator
/// cuts it: everything between the first and the last byte.
fn string_field<'a>(key: &'a [u8], token: &'a [u8]) -> (EscapedStr<'a>, FieldValue<'a>) {
    let inner = if token.len() >= 2 {
        &token[1..token.len() - 1]
    } else {
        b""
    };
    (
        EscapedStr::new(key, false, TokenKind::FieldKey),
        FieldValue::Str(EscapedStr::from_raw(inner, TokenKind::StringValue)),
    )
}

fn check_key_size(key_len: usize, field: &[u8]) -> Result<(), FieldError> {
    // seriesKeySize: key + "#!~#" + field name.
    let size = key_len + 4 + field.len();
    if size > MAX_KEY_LENGTH {
        return Err(FieldError::Owned(format!(
            "max key length exceeded: {size} > {MAX_KEY_LENGTH}"
        )));
    }
    Ok(())
}

/// influxd's second cut (`walkFields` + the field iterator), used when backslashes may
/// make it disagree with the first.
fn walk_fields<'a>(
    mut b: &'a [u8],
    key_len: usize,
    fields: &mut Fields<'a>,
) -> Result<(), FieldError> {
    while !b.is_empty() {
        // scanTo '=': the first '=' not preceded by a backslash.
        let eq = (0..b.len()).find(|&i| b[i] == b'=' && (i == 0 || b[i - 1] != b'\\'));
        let eq = eq.unwrap_or(b.len());
        let key = &b[..eq];
        if eq + 2 > b.len() {
            return Err(FieldError::Owned(format!(
                "invalid value: field-key={}",
                crate::parser::go_lossy(key)
            )));
        }
        b = &b[eq + 1..];
        let mut i = 0;
        let mut quoted = false;
        while i < b.len() {
            if b[i] == b'\\' && i + 1 < b.len() && matches!(b[i + 1], b'"' | b'\\') {
                i += 2;
                continue;
            }
            if b[i] == b'"' {
                quoted = !quoted;
            } else if b[i] == b',' && !quoted {
                break;
            }
            i += 1;
        }
        let value = &b[..i];
        b = &b[i..];
        check_key_size(key_len, key)?;
        fields.push((
            EscapedStr::from_raw(key, TokenKind::FieldKey),
            typed_value(value)?,
        ));
        if !b.is_empty() {
            b = &b[1..];
        }
    }
    Ok(())
}

/// The type influxd's field iterator gives a value token, by its first and last byte.
fn typed_value(v: &[u8]) -> Result<FieldValue<'_>, FieldError> {
    // influxd types an empty value as "Empty" and fails the write later with HTTP 500
    // ("engine: unknown field type"); refusing the line is the closest a parser can do.
    let Some(&first) = v.first() else {
        return Err("invalid field format".into());
    };
    if first == b'"' {
        let (_, value) = string_field(b"", v);
        return Ok(value);
    }
    if b"0123456789-.nNiIu".contains(&first) {
        let (end, value) = scan_number(v, 0)?;
        if end != v.len() {
            return Err("invalid number".into());
        }
        return Ok(value);
    }
    let (end, value) = scan_boolean(v, 0)?;
    if end != v.len() {
        return Err("invalid boolean".into());
    }
    Ok(value)
}

/// influxd's `scanNumber` from `start`, then the value. Returns the index after it.
#[inline]
fn scan_number(buf: &[u8], start: usize) -> Result<(usize, FieldValue<'static>), FieldError> {
    // One pass for the usual shapes, `-?digits[.digits]` and `-?digits i`, whose value
    // is exact without further checks; anything else takes influxd's full scan.
    let mut i = start;
    let negative = buf[i] == b'-';
    i += usize::from(negative);
    let mut mant: u64 = 0;
    let digits_start = i;
    while i < buf.len() && buf[i].is_ascii_digit() {
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(buf[i] - b'0'));
        i += 1;
    }
    let int_digits = i - digits_start;
    let at_end = |i: usize| i >= buf.len() || buf[i] == b',' || buf[i] == b' ';
    if int_digits > 0 && int_digits <= 18 && i < buf.len() && buf[i] == b'i' && at_end(i + 1) {
        // Below 10^18: fits an i64 either way.
        let v = mant as i64;
        return Ok((i + 1, FieldValue::Integer(if negative { -v } else { v })));
    }
    let mut frac = 0;
    if i < buf.len() && buf[i] == b'.' {
        i += 1;
        let fs = i;
        while i < buf.len() && buf[i].is_ascii_digit() {
            mant = mant.wrapping_mul(10).wrapping_add(u64::from(buf[i] - b'0'));
            i += 1;
        }
        frac = i - fs;
    }
    if at_end(i) && int_digits + frac > 0 && int_digits + frac <= 15 {
        // Clinger's fast path: a mantissa below 2^53 divided by an exact power of ten is
        // correctly rounded.
        let v = mant as f64 / POW10[frac];
        return Ok((i, FieldValue::Float(if negative { -v } else { v })));
    }
    scan_number_slow(buf, start)
}

/// influxd's `scanNumber`, step by step.
fn scan_number_slow(buf: &[u8], start: usize) -> Result<(usize, FieldValue<'static>), FieldError> {
    const INVALID: &str = "invalid number";
    let mut i = start;
    let negative = buf[i] == b'-';
    if negative {
        i += 1;
        if i == buf.len() {
            return Err(INVALID.into());
        }
    }
    let (mut int, mut unsigned, mut decimal, mut scientific) = (false, false, false, false);
    while i < buf.len() {
        let c = buf[i];
        match c {
            b',' | b' ' => break,
            b'0'..=b'9' => {}
            b'i' if i > start && !(int || unsigned) => int = true,
            b'u' if i > start && !(int || unsigned) => unsigned = true,
            b'.' if decimal => return Err(INVALID.into()),
            b'.' => decimal = true,
            b'e' | b'E' if i > start => scientific = true,
            b'+' | b'-' if matches!(buf[i - 1], b'e' | b'E') => {}
            _ => return Err(INVALID.into()),
        }
        i += 1;
    }
    if (int || unsigned) && (decimal || scientific) {
        return Err(INVALID.into());
    }
    let token = &buf[start..i];
    let digits = token.len() - usize::from(int) - usize::from(decimal) - usize::from(negative);
    if digits == 0 {
        return Err(INVALID.into());
    }
    if int {
        // "9i10": the 'i' must be last.
        if buf[i - 1] != b'i' {
            return Err(INVALID.into());
        }
        let text = &token[..token.len() - 1];
        return match parse_i64(text) {
            Some(v) => Ok((i, FieldValue::Integer(v))),
            None => Err(FieldError::Owned(format!(
                "unable to parse integer {t}: strconv.ParseInt: parsing \"{t}\": value out of range",
                t = crate::parser::go_lossy(text)
            ))),
        };
    }
    if unsigned {
        // models.EnableUintSupport is never called in influxd 1.6.7.
        return Err(INVALID.into());
    }
    match parse_f64(token) {
        Some(f) => Ok((i, FieldValue::Float(f))),
        None => Err("invalid float".into()),
    }
}

/// `-?[0-9]+` to i64; `None` on overflow (the text is already checked).
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    // Accumulate negatively so that i64::MIN fits.
    let mut v: i64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}

/// Powers of ten exactly representable as f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A float token (`[-]digits[.digits][e[+-]digits]`, shape already checked by
/// `scan_number`) to a finite f64, as Go's `strconv.ParseFloat`; `None` when Go refuses it
/// (bad exponent syntax, or out of range).
fn parse_f64(token: &[u8]) -> Option<f64> {
    // Clinger's fast path: a mantissa below 2^53 divided by an exact power of ten is
    // correctly rounded. Covers the usual `12.34`.
    let (neg, body) = match token.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, token),
    };
    let mut mant: u64 = 0;
    let mut frac: Option<usize> = None;
    let mut ndigits = 0;
    let mut simple = true;
    for (k, &c) in body.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mant = mant.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
                ndigits += 1;
            }
            b'.' => frac = Some(body.len() - k - 1),
            _ => {
                simple = false;
                break;
            }
        }
    }
    if simple && ndigits <= 15 {
        let scale = frac.unwrap_or(0);
        if scale < POW10.len() {
            let v = mant as f64 / POW10[scale];
            return Some(if neg { -v } else { v });
        }
    }
    // Only ASCII digits, signs, '.', 'e' and 'E' reach here.
    let text = std::str::from_utf8(token).ok()?;
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

/// influxd's `scanBoolean` from `start`, then the value. Returns the index after it.
fn scan_boolean(buf: &[u8], start: usize) -> Result<(usize, FieldValue<'static>), FieldError> {
    const INVALID: &str = "invalid boolean";
    if !matches!(buf[start], b't' | b'f' | b'T' | b'F') {
        return Err(INVALID.into());
    }
    let mut i = start + 1;
    while i < buf.len() && buf[i] != b',' && buf[i] != b' ' {
        i += 1;
    }
    let value = match &buf[start..i] {
        b"t" | b"T" | b"true" | b"True" | b"TRUE" => true,
        b"f" | b"F" | b"false" | b"False" | b"FALSE" => false,
        _ => return Err(INVALID.into()),
    };
    Ok((i, FieldValue::Boolean(value)))
}
