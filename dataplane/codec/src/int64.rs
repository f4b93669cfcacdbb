//! The 64-bit integer body shared by timestamps, integers, unsigned integers (bit-cast
//! to `i64`; all arithmetic wraps, so every `u64` survives) and the integers of decimal
//! floats.
//!
//! Two schemes:
//! - [`RLE`]: `first: zigzag varint`, then, if count ≥ 2, `delta: zigzag varint`; value
//!   `i` is `first + i * delta` (wrapping). Constant-interval timestamps and counters
//!   that tick by a constant (uptime += 10) cost a few bytes per block.
//! - [`PACKED`]: `order: u8` (0, 1 or 2 = how many times the sequence was differenced),
//!   the `order` seeds (`first` and for order 2 `first delta`, zigzag varints), then
//!   `min: zigzag varint` and `scale: varint ≥ 1`, then `count - order` residuals
//!   bit-packed ([`crate::pack`]): each differenced value is `min + residual * scale`.
//!   `min` is frame-of-reference (no zigzag needed) and `scale` is the GCD of the
//!   residuals, which factors out e.g. a 10 s interval in nanoseconds. The encoder
//!   computes the exact size of each order and keeps the smallest: order 0 for random
//!   values, 1 for random walks and counters, 2 for jittery timestamps.

use crate::error::CodecError;
use crate::pack;
use crate::wire::{put_varint, put_zigzag, varint_len, zigzag, Reader};
use crate::MAX_RLE_VALUES;

/// Scheme nibble: first value plus constant delta.
pub(crate) const RLE: u8 = 1;
/// Scheme nibble: differenced, frame-of-reference, GCD-scaled, bit-packed.
pub(crate) const PACKED: u8 = 2;

/// Appends the body of `v` and returns its scheme nibble. The caller writes the count.
pub(crate) fn encode_body(v: &[i64], out: &mut Vec<u8>) -> u8 {
    if v.is_empty() {
        return RLE;
    }
    let delta = v.get(1).map_or(0, |b| b.wrapping_sub(v[0]));
    let constant = v.windows(2).all(|w| w[1].wrapping_sub(w[0]) == delta);
    if constant && v.len() as u64 <= MAX_RLE_VALUES {
        put_zigzag(out, v[0]);
        if v.len() > 1 {
            put_zigzag(out, delta);
        }
        return RLE;
    }
    let mut best: Option<(usize, Plan)> = None;
    let mut diffed: Vec<i64> = v.to_vec();
    for order in 0..=2u8 {
        if order > 0 {
            // Difference in place from the back so each step sees the previous order.
            for i in (order as usize..diffed.len()).rev() {
                diffed[i] = diffed[i].wrapping_sub(diffed[i - 1]);
            }
        }
        let plan = Plan::new(&diffed, order);
        match &best {
            Some((_, b)) if b.bytes <= plan.bytes => {}
            _ => best = Some((order as usize, plan)),
        }
    }
    let (order, plan) = best.expect("three orders were planned");
    // Recompute the chosen order's residuals (cheap) rather than keeping three copies.
    let mut x: Vec<i64> = v.to_vec();
    for o in 1..=order {
        for i in (o..x.len()).rev() {
            x[i] = x[i].wrapping_sub(x[i - 1]);
        }
    }
    out.push(order as u8);
    for &seed in &x[..order] {
        put_zigzag(out, seed);
    }
    put_zigzag(out, plan.min);
    put_varint(out, plan.scale);
    let residuals: Vec<u64> = x[order..]
        .iter()
        .map(|&d| d.wrapping_sub(plan.min) as u64)
        .collect();
    pack::pack(&residuals, plan.scale, out);
    PACKED
}

/// The parameters and exact size of one order's encoding.
struct Plan {
    min: i64,
    scale: u64,
    bytes: usize,
}

impl Plan {
    /// `x` holds the seeds in `x[..order]` and the differenced values after them.
    fn new(x: &[i64], order: u8) -> Plan {
        let order = order as usize;
        let body = &x[order..];
        let min = body.iter().copied().min().unwrap_or(0);
        let residuals: Vec<u64> = body.iter().map(|&d| d.wrapping_sub(min) as u64).collect();
        let mut scale = 0u64;
        for &r in &residuals {
            scale = gcd(scale, r);
            if scale == 1 {
                break;
            }
        }
        let scale = scale.max(1);
        let seeds: usize = x[..order].iter().map(|&s| varint_len(zigzag(s))).sum();
        let bytes = 1
            + seeds
            + varint_len(zigzag(min))
            + varint_len(scale)
            + pack::packed_len(&residuals, scale);
        Plan { min, scale, bytes }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The most values a body of `scheme` in `remaining` bytes can hold, or `None` for an
/// unknown scheme.
pub(crate) fn max_count(scheme: u8, remaining: usize) -> Option<u64> {
    match scheme {
        RLE => Some(MAX_RLE_VALUES),
        PACKED => Some(pack::max_values(remaining).saturating_add(2)),
        _ => None,
    }
}

/// Decodes a body of `count` values, appending `conv(value)` for each.
pub(crate) fn decode_body<T>(
    scheme: u8,
    r: &mut Reader<'_>,
    count: usize,
    out: &mut Vec<T>,
    conv: impl Fn(i64) -> T + Copy,
) -> Result<(), CodecError> {
    if count == 0 {
        return Ok(());
    }
    match scheme {
        RLE => {
            let first = r.zigzag("rle first value")?;
            let delta = if count > 1 { r.zigzag("rle delta")? } else { 0 };
            out.reserve(count);
            let mut acc = first;
            out.extend((0..count).map(|_| {
                let v = acc;
                acc = acc.wrapping_add(delta);
                conv(v)
            }));
            Ok(())
        }
        PACKED => decode_packed(r, count, out, conv),
        _ => Err(CodecError::Invalid {
            what: "integer scheme",
            offset: r.pos(),
            value: u64::from(scheme),
        }),
    }
}

fn decode_packed<T>(
    r: &mut Reader<'_>,
    count: usize,
    out: &mut Vec<T>,
    conv: impl Fn(i64) -> T + Copy,
) -> Result<(), CodecError> {
    let at = r.pos();
    let order = r.byte("difference order")?;
    if order > 2 || count < order as usize {
        return Err(CodecError::Invalid {
            what: "difference order",
            offset: at,
            value: u64::from(order),
        });
    }
    let first = if order >= 1 {
        r.zigzag("first value")?
    } else {
        0
    };
    let first_delta = if order == 2 {
        r.zigzag("first delta")?
    } else {
        0
    };
    let min = r.zigzag("frame of reference")?;
    let at = r.pos();
    let scale = r.varint("scale")?;
    if scale == 0 {
        return Err(CodecError::Invalid {
            what: "scale",
            offset: at,
            value: 0,
        });
    }
    let n = count - order as usize;
    if n.div_ceil(pack::MINIBLOCK) > r.remaining() {
        return Err(CodecError::TooManyValues {
            count: count as u64,
            limit: pack::max_values(r.remaining()).saturating_add(2),
        });
    }
    out.reserve(count);
    let scale = scale as i64;
    // The running state is copied into locals per miniblock: captured by reference it
    // would be stored and reloaded every value (the compiler cannot rule out aliasing
    // with `out`), putting store-forwarding latency on the prefix-sum chain.
    match order {
        0 => pack::unpack(r, n, |rs| {
            let (min, scale) = (min, scale);
            out.extend(
                rs.iter()
                    .map(|&x| conv(min.wrapping_add((x as i64).wrapping_mul(scale)))),
            );
        }),
        1 => {
            out.push(conv(first));
            let mut acc = first;
            pack::unpack(r, n, |rs| {
                let (min, scale, mut a) = (min, scale, acc);
                out.extend(rs.iter().map(|&x| {
                    a = a.wrapping_add(min.wrapping_add((x as i64).wrapping_mul(scale)));
                    conv(a)
                }));
                acc = a;
            })
        }
        _ => {
            let mut acc = first.wrapping_add(first_delta);
            let mut delta = first_delta;
            out.push(conv(first));
            out.push(conv(acc));
            pack::unpack(r, n, |rs| {
                let (min, scale, mut a, mut d) = (min, scale, acc, delta);
                out.extend(rs.iter().map(|&x| {
                    d = d.wrapping_add(min.wrapping_add((x as i64).wrapping_mul(scale)));
                    a = a.wrapping_add(d);
                    conv(a)
                }));
                (acc, delta) = (a, d);
            })
        }
    }
}
