//! Series keys of a line.

use crate::escape::{escape_into, unescape_into, EscapedStr};
use crate::line::Line;

type Tag<'l, 'a> = &'l (EscapedStr<'a>, EscapedStr<'a>);

/// Calls `f` on the tags of `line` in influxd's key order: by escaped key bytes.
fn for_sorted_tags<'l, 'a>(line: &'l Line<'a>, mut f: impl FnMut(Tag<'l, 'a>)) {
    let tags = &line.tags;
    if tags.windows(2).all(|w| w[0].0.raw() < w[1].0.raw()) {
        tags.iter().for_each(f);
        return;
    }
    let mut order: Vec<&(EscapedStr<'a>, EscapedStr<'a>)> = tags.iter().collect();
    order.sort_by(|a, b| a.0.raw().cmp(b.0.raw()));
    order.into_iter().for_each(&mut f);
}

/// Appends the canonical series key of `line` to `out`, as influxd 1.6.7 builds it for
/// its index and shows it in `SHOW SERIES` (`models.MakeKey` over the parsed point):
/// the measurement unescaped then re-escaped (`,` and space), then `,key=value` for each
/// tag in the order of their escaped keys, each unescaped then re-escaped (`,`, space
/// and `=`). For ordinary input, this is the key part of the line with its tags sorted.
/// Two spellings of one series (`t=\=x` and `t==x`) give the same key.
pub fn series_key(line: &Line<'_>, out: &mut Vec<u8>) {
    let m = &line.measurement;
    if m.has_escapes() {
        let mut tmp = Vec::with_capacity(m.raw().len());
        unescape_into(m.raw(), b",\" =", &mut tmp);
        escape_into(&tmp, b", ", out);
    } else {
        out.extend_from_slice(m.raw());
    }
    for_sorted_tags(line, |(k, v)| {
        out.push(b',');
        push_tag(k, out);
        out.push(b'=');
        push_tag(v, out);
    });
}

fn push_tag(t: &EscapedStr<'_>, out: &mut Vec<u8>) {
    let raw = t.raw();
    if t.has_escapes() {
        let mut tmp = Vec::with_capacity(raw.len());
        unescape_into(raw, b", =", &mut tmp);
        escape_into(&tmp, b", =", out);
    } else if raw.first() == Some(&b'=') {
        // Only a tag value can start with an unescaped '='.
        escape_into(raw, b"=", out);
    } else {
        out.extend_from_slice(raw);
    }
}

/// Appends the key exactly as influxd's parser leaves it (`point.Key()`): the measurement
/// and tags as written, tags sorted by escaped key. influxd hashes this key
/// (`point.HashID`, FNV-64a) to pick a shard, and writes it into its TSM keys.
pub fn point_key(line: &Line<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(line.measurement.raw());
    for_sorted_tags(line, |(k, v)| {
        out.push(b',');
        out.extend_from_slice(k.raw());
        out.push(b'=');
        out.extend_from_slice(v.raw());
    });
}
