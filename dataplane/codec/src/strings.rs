//! String (byte-string) columns.
//!
//! Schemes (the header byte's low nibble), after the header and `count: varint`:
//! - [`DICT`]: `entries: varint`, per entry `len: varint` + bytes, then `count` entry
//!   indexes bit-packed ([`crate::pack`]). Low-cardinality fields (a `status` of
//!   "ok"/"warn"/"crit"/"unknown") cost 2 bits a value.
//! - [`PLAIN`]: `count` lengths bit-packed, then all bytes concatenated to the end.
//! - [`LZ4`]: `count` lengths bit-packed, then the concatenation as one LZ4 block to the
//!   end; its decompressed size is the sum of the lengths.
//!
//! The encoder computes the size of each and keeps the smallest.

use std::collections::HashMap;

use crate::error::CodecError;
use crate::pack;
use crate::wire::{put_varint, varint_len, Reader};

/// Scheme nibble: dictionary plus packed indexes.
pub(crate) const DICT: u8 = 1;
/// Scheme nibble: packed lengths plus raw bytes.
pub(crate) const PLAIN: u8 = 2;
/// Scheme nibble: packed lengths plus LZ4-compressed bytes.
pub(crate) const LZ4: u8 = 3;

/// LZ4's best case is about 255 output bytes per input byte (a match length byte of
/// 255); a larger claimed size is corruption and must not be allocated.
const LZ4_MAX_RATIO: usize = 256;

/// Below this many bytes LZ4 has too little to find matches in.
const LZ4_MIN_INPUT: usize = 64;

/// Strings decoded into one buffer: value `i` is `data[ends[i-1]..ends[i]]` (with
/// `ends[-1]` = 0), so decoding allocates nothing per value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strings {
    /// All values' bytes back to back.
    pub data: Vec<u8>,
    /// The end offset in `data` of each value.
    pub ends: Vec<usize>,
}

impl Strings {
    /// Number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Value `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.data.get(start..end)
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Removes every value, keeping the allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    fn truncate(&mut self, values: usize, bytes: usize) {
        self.ends.truncate(values);
        self.data.truncate(bytes);
    }
}

/// Appends the body of `v` and returns its scheme nibble.
pub(crate) fn encode_body<S: AsRef<[u8]>>(v: &[S], out: &mut Vec<u8>) -> u8 {
    if v.is_empty() {
        return PLAIN;
    }
    let lens: Vec<u64> = v.iter().map(|s| s.as_ref().len() as u64).collect();
    let total: usize = v.iter().map(|s| s.as_ref().len()).sum();
    let plain = pack::packed_len(&lens, 1) + total;
    if let Some((dict, idx)) = dictionary(v) {
        let dict_bytes: usize = dict
            .iter()
            .map(|d| varint_len(d.len() as u64) + d.len())
            .sum();
        let size = varint_len(dict.len() as u64) + dict_bytes + pack::packed_len(&idx, 1);
        if size <= plain {
            put_varint(out, dict.len() as u64);
            for d in &dict {
                put_varint(out, d.len() as u64);
                out.extend_from_slice(d);
            }
            pack::pack(&idx, 1, out);
            return DICT;
        }
    }
    pack::pack(&lens, 1, out);
    let mut concat = Vec::with_capacity(total);
    for s in v {
        concat.extend_from_slice(s.as_ref());
    }
    if total >= LZ4_MIN_INPUT {
        let compressed = lz4_flex::block::compress(&concat);
        if compressed.len() < total {
            out.extend_from_slice(&compressed);
            return LZ4;
        }
    }
    out.extend_from_slice(&concat);
    PLAIN
}

/// The distinct values in first-seen order and each value's index, or `None` when more
/// than half the values are distinct (a dictionary would not pay).
fn dictionary<S: AsRef<[u8]>>(v: &[S]) -> Option<(Vec<&[u8]>, Vec<u64>)> {
    let limit = v.len() / 2;
    let mut map: HashMap<&[u8], u64> = HashMap::new();
    let mut dict = Vec::new();
    let mut idx = Vec::with_capacity(v.len());
    for s in v {
        let s = s.as_ref();
        let next = dict.len() as u64;
        let i = *map.entry(s).or_insert(next);
        if i == next {
            dict.push(s);
            if dict.len() > limit.max(1) {
                return None;
            }
        }
        idx.push(i);
    }
    Some((dict, idx))
}

/// The most values a body of `scheme` in `remaining` bytes can hold.
pub(crate) fn max_count(scheme: u8, remaining: usize) -> Option<u64> {
    match scheme {
        DICT | PLAIN | LZ4 => Some(pack::max_values(remaining)),
        _ => None,
    }
}

pub(crate) fn decode_body(
    scheme: u8,
    r: &mut Reader<'_>,
    count: usize,
    out: &mut Strings,
) -> Result<(), CodecError> {
    if count == 0 {
        return Ok(());
    }
    let (values, bytes) = (out.ends.len(), out.data.len());
    let res = match scheme {
        DICT => decode_dict(r, count, out),
        _ => decode_lengths(scheme, r, count, out),
    };
    if res.is_err() {
        out.truncate(values, bytes);
    }
    res
}

fn decode_dict(r: &mut Reader<'_>, count: usize, out: &mut Strings) -> Result<(), CodecError> {
    let at = r.pos();
    let entries = r.varint("dictionary size")?;
    // Every entry takes at least its length byte.
    if entries == 0 || entries > r.remaining() as u64 {
        return Err(CodecError::Invalid {
            what: "dictionary size",
            offset: at,
            value: entries,
        });
    }
    let mut dict: Vec<&[u8]> = Vec::with_capacity(entries as usize);
    for _ in 0..entries {
        let at = r.pos();
        let len = r.varint("dictionary entry length")?;
        let len = usize::try_from(len).map_err(|_| CodecError::Truncated {
            what: "dictionary entry",
            offset: at,
        })?;
        dict.push(r.take(len, "dictionary entry")?);
    }
    let at = r.pos();
    if count.div_ceil(pack::MINIBLOCK) > r.remaining() {
        return Err(CodecError::TooManyValues {
            count: count as u64,
            limit: pack::max_values(r.remaining()),
        });
    }
    out.ends.reserve(count);
    let mut bad = None;
    pack::unpack(r, count, |idx| {
        for &i in idx {
            match dict.get(i as usize) {
                Some(s) => {
                    out.data.extend_from_slice(s);
                    out.ends.push(out.data.len());
                }
                None => {
                    bad.get_or_insert(i);
                }
            }
        }
    })?;
    match bad {
        Some(i) => Err(CodecError::Invalid {
            what: "dictionary index",
            offset: at,
            value: i,
        }),
        None => Ok(()),
    }
}

fn decode_lengths(
    scheme: u8,
    r: &mut Reader<'_>,
    count: usize,
    out: &mut Strings,
) -> Result<(), CodecError> {
    let at = r.pos();
    if count.div_ceil(pack::MINIBLOCK) > r.remaining() {
        return Err(CodecError::TooManyValues {
            count: count as u64,
            limit: pack::max_values(r.remaining()),
        });
    }
    let base = out.data.len();
    let mut total = 0u64;
    let mut overflow = false;
    out.ends.reserve(count);
    pack::unpack(r, count, |lens| {
        for &l in lens {
            total = total.saturating_add(l);
            overflow |= total > usize::MAX as u64 / 2;
            out.ends.push(base.wrapping_add(total as usize));
        }
    })?;
    let payload_at = r.pos();
    let payload = r.take(r.remaining(), "string bytes")?;
    let total_ok = |cap: usize| !overflow && total <= cap as u64;
    if scheme == PLAIN {
        if !total_ok(payload.len()) || total != payload.len() as u64 {
            return Err(CodecError::Invalid {
                what: "string lengths total",
                offset: at,
                value: total,
            });
        }
        out.data.extend_from_slice(payload);
        return Ok(());
    }
    if !total_ok(
        payload
            .len()
            .saturating_mul(LZ4_MAX_RATIO)
            .saturating_add(LZ4_MIN_INPUT),
    ) {
        return Err(CodecError::Invalid {
            what: "string lengths total",
            offset: at,
            value: total,
        });
    }
    let total = total as usize;
    out.data.resize(base + total, 0);
    let n = lz4_flex::block::decompress_into(payload, &mut out.data[base..]).map_err(|e| {
        CodecError::Decompress {
            offset: payload_at,
            reason: e.to_string(),
        }
    })?;
    if n != total {
        return Err(CodecError::Decompress {
            offset: payload_at,
            reason: format!("{n} bytes instead of {total}"),
        });
    }
    Ok(())
}
