//! Splitting a body into lines, and the series-key part of a line (measurement and tags).
//! Ports of influxd's `scanLine`, `scanMeasurement`, `scanTags` and the duplicate-tag
//! check of `scanKey`, error order included.

use crate::escape::{EscapedStr, TokenKind};

/// influxd's `skipWhitespace`: spaces, tabs and NUL bytes.
#[inline]
pub(crate) fn skip_whitespace(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && matches!(buf[i], b' ' | b'\t' | 0) {
        i += 1;
    }
    i
}

/// End (exclusive) of the line that starts at `start`: the next newline that is neither
/// inside a quoted field value nor escaped (`scanLine`).
pub(crate) fn line_end(buf: &[u8], start: usize) -> usize {
    let nl = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |n| start + n);
    // Without quotes or backslashes the first newline ends the line.
    if memchr::memchr2(b'"', b'\\', &buf[start..nl]).is_none() {
        return nl;
    }
    let (mut quoted, mut fields) = (false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    let mut i = start;
    while i < buf.len() {
        let c = buf[i];
        // influxd skips an escaped byte only when two more bytes follow the backslash.
        if c == b'\\' && i + 2 < buf.len() {
            i += 2;
            continue;
        }
        if c == b' ' {
            fields = true;
        }
        if fields {
            if !quoted && c == b'=' {
                equals += 1;
                i += 1;
                continue;
            } else if !quoted && c == b',' {
                commas += 1;
                i += 1;
                continue;
            } else if c == b'"' && equals > commas {
                quoted = !quoted;
                i += 1;
                continue;
            }
        }
        if c == b'\n' && !quoted {
            break;
        }
        i += 1;
    }
    i
}

pub(crate) type Tags<'a> = Vec<(EscapedStr<'a>, EscapedStr<'a>)>;

/// Bytes that end or escape a measurement or tag token.
static KEY_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b',' as usize] = true;
    t[b' ' as usize] = true;
    t[b'=' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Scans `measurement[,k=v…]` at the start of `buf` (which starts with no blank), fills
/// `tags` in input order and returns the measurement and the index just past the key (the
/// space before the fields).
pub(crate) fn scan_key<'a>(
    buf: &'a [u8],
    tags: &mut Tags<'a>,
) -> Result<(EscapedStr<'a>, usize), &'static str> {
    // scanMeasurement: the first byte can be anything but a comma, even a backslash.
    if buf.is_empty() || buf[0] == b',' {
        return Err("missing measurement");
    }
    let mut esc = buf[0] == b'\\';
    let mut i = 1;
    let in_tags = loop {
        while i < buf.len() && !KEY_SPECIAL[buf[i] as usize] {
            i += 1;
        }
        if i >= buf.len() {
            return Err("missing fields");
        }
        let c = buf[i];
        if buf[i - 1] == b'\\' {
            // Escaped (a backslash escapes a backslash too: `\\,` is an escaped comma).
            esc = true;
            i += 1;
            continue;
        }
        match c {
            b',' => break true,
            b' ' => break false,
            b'\\' => esc = true,
            _ => {}
        }
        i += 1;
    };
    let measurement = EscapedStr::new(&buf[..i], esc, TokenKind::Measurement);
    if !in_tags {
        return Ok((measurement, i));
    }
    i += 1;
    loop {
        // scanTagsKey
        let ks = i;
        if i >= buf.len() || matches!(buf[i], b' ' | b',' | b'=') {
            return Err("missing tag key");
        }
        let mut kesc = buf[i] == b'\\';
        loop {
            i += 1;
            while i < buf.len() && !KEY_SPECIAL[buf[i] as usize] {
                i += 1;
            }
            if i >= buf.len() {
                return Err("missing tag value");
            }
            let c = buf[i];
            if c == b'\\' {
                kesc = true;
            }
            let escaped = buf[i - 1] == b'\\';
            if matches!(c, b' ' | b',') && !escaped {
                return Err("missing tag value");
            }
            if c == b'=' && !escaped {
                break;
            }
        }
        let key = EscapedStr::new(&buf[ks..i], kesc, TokenKind::TagKey);
        i += 1;
        // scanTagsValue: the first byte may be '=' (influxd only looks from the second).
        let vs = i;
        if i >= buf.len() || matches!(buf[i], b',' | b' ') {
            return Err("missing tag value");
        }
        let mut vesc = buf[i] == b'\\';
        let more = loop {
            i += 1;
            while i < buf.len() && !KEY_SPECIAL[buf[i] as usize] {
                i += 1;
            }
            if i >= buf.len() {
                return Err("missing fields");
            }
            let c = buf[i];
            if c == b'\\' {
                vesc = true;
            }
            if buf[i - 1] == b'\\' {
                continue;
            }
            match c {
                b'=' => return Err("invalid tag format"),
                b',' => break true,
                b' ' => break false,
                _ => {}
            }
        };
        tags.push((key, EscapedStr::new(&buf[vs..i], vesc, TokenKind::TagValue)));
        if !more {
            break;
        }
        i += 1;
    }
    if has_duplicate_keys(tags) {
        return Err("duplicate tags");
    }
    Ok((measurement, i))
}

/// Whether two tags share a key (compared escaped, as influxd does).
fn has_duplicate_keys(tags: &Tags<'_>) -> bool {
    let n = tags.len();
    if n < 2 {
        return false;
    }
    // Writers usually send tags sorted: one pass then suffices.
    if tags.windows(2).all(|w| w[0].0.raw() < w[1].0.raw()) {
        return false;
    }
    if n <= 16 {
        for a in 0..n {
            for b in a + 1..n {
                if tags[a].0.raw() == tags[b].0.raw() {
                    return true;
                }
            }
        }
        return false;
    }
    let mut keys: Vec<&[u8]> = tags.iter().map(|t| t.0.raw()).collect();
    keys.sort_unstable();
    keys.windows(2).any(|w| w[0] == w[1])
}
