//! Boolean columns.
//!
//! Schemes (the header byte's low nibble), after the header and `count: varint`:
//! - [`RLE`]: `value: u8` (0 or 1), repeated `count` times.
//! - [`BITS`]: `ceil(count / 8)` bytes, value `i` in bit `i % 8` of byte `i / 8`; the
//!   padding bits of the last byte are zero.

use crate::error::CodecError;
use crate::wire::Reader;
use crate::MAX_RLE_VALUES;

/// Scheme nibble: all values equal.
pub(crate) const RLE: u8 = 1;
/// Scheme nibble: one bit per value.
pub(crate) const BITS: u8 = 2;

/// Appends the body of `v` and returns its scheme nibble.
pub(crate) fn encode_body(v: &[bool], out: &mut Vec<u8>) -> u8 {
    let Some(&first) = v.first() else {
        return RLE;
    };
    if v.len() as u64 <= MAX_RLE_VALUES && v.iter().all(|&b| b == first) {
        out.push(u8::from(first));
        return RLE;
    }
    out.reserve(v.len().div_ceil(8));
    for chunk in v.chunks(8) {
        let byte = chunk
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << i));
        out.push(byte);
    }
    BITS
}

/// The most values a body of `scheme` in `remaining` bytes can hold.
pub(crate) fn max_count(scheme: u8, remaining: usize) -> Option<u64> {
    match scheme {
        RLE => Some(MAX_RLE_VALUES),
        BITS => Some((remaining as u64).saturating_mul(8)),
        _ => None,
    }
}

pub(crate) fn decode_body(
    scheme: u8,
    r: &mut Reader<'_>,
    count: usize,
    out: &mut Vec<bool>,
) -> Result<(), CodecError> {
    if count == 0 {
        return Ok(());
    }
    if scheme == RLE {
        let at = r.pos();
        let b = r.byte("rle bool")?;
        if b > 1 {
            return Err(CodecError::Invalid {
                what: "rle bool",
                offset: at,
                value: u64::from(b),
            });
        }
        out.resize(out.len() + count, b == 1);
        return Ok(());
    }
    let at = r.pos();
    let bytes = r.take(count.div_ceil(8), "bool bits")?;
    let (full, tail) = bytes.split_at(count / 8);
    out.reserve(count);
    for &byte in full {
        out.extend((0..8).map(|i| byte >> i & 1 != 0));
    }
    if let Some(&last) = tail.first() {
        let n = count % 8;
        if last >> n != 0 {
            return Err(CodecError::Invalid {
                what: "bool padding bits",
                offset: at + full.len(),
                value: u64::from(last),
            });
        }
        out.extend((0..n).map(|i| last >> i & 1 != 0));
    }
    Ok(())
}
