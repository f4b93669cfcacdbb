//! Float columns: decimal (ALP-style) when the values are short decimals, Gorilla XOR
//! otherwise, raw bits when nothing beats 8 bytes a value. Every scheme is bit-exact.
//!
//! Schemes (the header byte's low nibble), after the header and `count: varint`:
//! - [`DECIMAL`]: `exponent: u8` (0..=[`MAX_EXPONENT`]), `exceptions: varint`, then per
//!   exception `index delta: varint` + `bits: u64 LE`, then an integer body
//!   (`scheme: u8` + [`crate::int64`] body) of `count` integers `n`. Value `i` is
//!   `n[i] as f64 / 10^exponent`, or the exception's bits at an exception index. The
//!   encoder verifies this very expression for every value, so a value that would not
//!   come back bit for bit (-0.0, NaN, ±inf, too many digits) becomes an exception.
//! - [`XOR`]: the Gorilla bit stream ([`crate::gorilla`]) to the end of the block.
//! - [`RAW`]: `count` × `bits: u64 LE`.

use crate::error::CodecError;
use crate::wire::{put_varint, Reader};
use crate::{gorilla, int64, pack, MAX_RLE_VALUES};

/// Scheme nibble: scaled integers plus exceptions.
pub(crate) const DECIMAL: u8 = 1;
/// Scheme nibble: Gorilla XOR stream.
pub(crate) const XOR: u8 = 2;
/// Scheme nibble: raw IEEE-754 bits.
pub(crate) const RAW: u8 = 3;

/// Largest decimal exponent tried. Beyond 10^15 the scaled integers of values in the
/// usual range pass 2^53 and stop being exact, so wider exponents rarely help.
pub(crate) const MAX_EXPONENT: usize = 15;

/// Powers of ten, each exactly representable as an `f64` (all are up to 10^22).
const POW10: [f64; MAX_EXPONENT + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Magnitude below which `v * 10^e` rounds to an `i64` without overflow.
const I64_SAFE: f64 = 9.0e18;

/// A block is a decimal block only when at most this fraction (1/N) are exceptions:
/// each exception costs ~9 bytes, more than a Gorilla value.
const MAX_EXCEPTION_SHARE: usize = 8;

/// Rough cost of one exception in bits (index varint + 8 raw bytes).
const EXCEPTION_BITS: usize = 80;

/// Decimal blocks wider than this many bytes a value are compared against Gorilla.
const TRY_XOR_ABOVE: usize = 3;

/// The scaled integer of `v` at exponent `e`, when it decodes back to `v` exactly.
#[inline]
fn scaled(v: f64, e: usize) -> Option<i64> {
    let s = (v * POW10[e]).round();
    if s.is_nan() || s.abs() >= I64_SAFE {
        return None;
    }
    let n = s as i64;
    (decimal_value(n, e).to_bits() == v.to_bits()).then_some(n)
}

/// The decoder's expression; the encoder verifies with this same function.
#[inline(always)]
fn decimal_value(n: i64, e: usize) -> f64 {
    n as f64 / POW10[e]
}

/// Appends the body of `v` and returns its scheme nibble.
pub(crate) fn encode_body(v: &[f64], out: &mut Vec<u8>) -> u8 {
    if v.is_empty() {
        return RAW;
    }
    let start = out.len();
    if let Some(e) = choose_exponent(v) {
        encode_decimal(v, e, out);
        if out.len() - start <= TRY_XOR_ABOVE * v.len() {
            return DECIMAL;
        }
        let mut xor = Vec::new();
        gorilla::encode(v, &mut xor);
        if xor.len() < out.len() - start && xor.len() < 8 * v.len() {
            out.truncate(start);
            out.extend_from_slice(&xor);
            return XOR;
        }
        if out.len() - start < 8 * v.len() {
            return DECIMAL;
        }
        out.truncate(start);
    } else {
        gorilla::encode(v, out);
        if out.len() - start < 8 * v.len() {
            return XOR;
        }
        out.truncate(start);
    }
    out.reserve(8 * v.len());
    for x in v {
        out.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    RAW
}

/// The exponent with the smallest estimated size, or `None` when too many values would
/// be exceptions at every exponent.
fn choose_exponent(v: &[f64]) -> Option<usize> {
    // hist[e] = values whose smallest exact exponent is e; the last slot counts values
    // with none.
    let mut hist = [0usize; MAX_EXPONENT + 2];
    for &x in v {
        let e = (0..=MAX_EXPONENT)
            .find(|&e| scaled(x, e).is_some())
            .unwrap_or(MAX_EXPONENT + 1);
        hist[e] += 1;
    }
    let mut covered = 0;
    let mut best: Option<(usize, usize)> = None;
    for (e, &h) in hist[..=MAX_EXPONENT].iter().enumerate() {
        covered += h;
        let exceptions = v.len() - covered;
        if exceptions * MAX_EXCEPTION_SHARE > v.len() {
            continue;
        }
        // Each extra decimal digit widens the integers by log2(10) ≈ 3.3 bits.
        let cost = v.len() * e * 10 / 3 + exceptions * EXCEPTION_BITS;
        match best {
            Some((_, c)) if c <= cost => {}
            _ => best = Some((e, cost)),
        }
    }
    best.map(|(e, _)| e)
}

fn encode_decimal(v: &[f64], e: usize, out: &mut Vec<u8>) {
    let mut ints = Vec::with_capacity(v.len());
    let mut exceptions: Vec<(usize, u64)> = Vec::new();
    let mut last = 0i64;
    for (i, &x) in v.iter().enumerate() {
        match scaled(x, e) {
            Some(n) => last = n,
            // Repeat the previous integer so the exception costs nothing in the deltas.
            None => exceptions.push((i, x.to_bits())),
        }
        ints.push(last);
    }
    out.push(e as u8);
    put_varint(out, exceptions.len() as u64);
    let mut prev = 0;
    for &(i, bits) in &exceptions {
        put_varint(out, (i - prev) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        prev = i;
    }
    let at = out.len();
    out.push(0);
    out[at] = int64::encode_body(&ints, out);
}

/// The most values a body of `scheme` in `remaining` bytes can hold.
pub(crate) fn max_count(scheme: u8, remaining: usize) -> Option<u64> {
    match scheme {
        DECIMAL => Some(MAX_RLE_VALUES.max(pack::max_values(remaining).saturating_add(2))),
        // The first value takes 64 bits, every other at least one.
        XOR => Some((remaining as u64).saturating_mul(8)),
        RAW => Some(remaining as u64 / 8),
        _ => None,
    }
}

/// Decodes `count` values of `scheme` from the rest of `r`.
pub(crate) fn decode_body(
    scheme: u8,
    r: &mut Reader<'_>,
    count: usize,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    if count == 0 {
        return Ok(());
    }
    match scheme {
        DECIMAL => decode_decimal(r, count, out),
        XOR => {
            let base = r.pos();
            let payload = r.take(r.remaining(), "xor bit stream")?;
            gorilla::decode(payload, base, count, out)
        }
        _ => {
            let raw = r.take(count * 8, "raw float bits")?;
            out.extend(raw.chunks_exact(8).map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b)
            }));
            Ok(())
        }
    }
}

fn decode_decimal(r: &mut Reader<'_>, count: usize, out: &mut Vec<f64>) -> Result<(), CodecError> {
    let at = r.pos();
    let e = r.byte("decimal exponent")? as usize;
    if e > MAX_EXPONENT {
        return Err(CodecError::Invalid {
            what: "decimal exponent",
            offset: at,
            value: e as u64,
        });
    }
    let at = r.pos();
    let n_exc = r.varint("exception count")?;
    // Each exception takes at least 9 bytes.
    if n_exc > count as u64 || n_exc > (r.remaining() / 9) as u64 {
        return Err(CodecError::Invalid {
            what: "exception count",
            offset: at,
            value: n_exc,
        });
    }
    let exc_start = r.pos();
    // Skip the exceptions now and patch them in after the integers are decoded.
    for _ in 0..n_exc {
        r.varint("exception index")?;
        r.take(8, "exception bits")?;
    }
    let at = r.pos();
    let scheme = r.byte("decimal integer scheme")?;
    let limit = int64::max_count(scheme, r.remaining()).ok_or(CodecError::Invalid {
        what: "decimal integer scheme",
        offset: at,
        value: u64::from(scheme),
    })?;
    if count as u64 > limit {
        return Err(CodecError::TooManyValues {
            count: count as u64,
            limit,
        });
    }
    let base = out.len();
    let p = POW10[e];
    int64::decode_body(scheme, r, count, out, move |n| n as f64 / p)?;
    let mut er = Reader::at(r.buf(), exc_start);
    let mut idx = 0usize;
    for k in 0..n_exc {
        let at = er.pos();
        let delta = er.varint("exception index")?;
        idx = usize::try_from(delta)
            .ok()
            .and_then(|d| idx.checked_add(d))
            .filter(|&i| i < count && (k == 0 || delta > 0))
            .ok_or(CodecError::Invalid {
                what: "exception index",
                offset: at,
                value: delta,
            })?;
        let raw = er.take(8, "exception bits")?;
        let mut b = [0u8; 8];
        b.copy_from_slice(raw);
        out[base + idx] = f64::from_le_bytes(b);
    }
    Ok(())
}
