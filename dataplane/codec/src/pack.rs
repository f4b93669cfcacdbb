//! Bit-packing of `u64` runs in miniblocks of [`MINIBLOCK`] values, each with its own
//! width, so one outlier widens only its own 128 values (as Parquet's DELTA_BINARY_PACKED
//! and the FastPFor family do).
//!
//! Layout of one miniblock: `width: u8` (0..=64), then `ceil(len * width / 8)` bytes
//! holding the values least-significant bit first. A run of `n` values is
//! `ceil(n / 128)` miniblocks back to back; the last one may be short. The count is not
//! stored here: the caller knows it.

use crate::error::CodecError;
use crate::wire::Reader;

/// Values per miniblock: large enough that the width byte costs < 0.07 bit per value,
/// small enough that an outlier only widens 128 values and the decode buffer stays on
/// the stack.
pub(crate) const MINIBLOCK: usize = 128;

/// Decode scratch: the largest miniblock (128 × 64 bits) plus 16 bytes of zero padding
/// so that every value can be read with one unaligned 8- or 16-byte load.
const SCRATCH: usize = MINIBLOCK * 8 + 16;

#[inline]
fn width_of(max: u64) -> u32 {
    64 - max.leading_zeros()
}

/// Exact encoded size of `values` in bytes, when every value is divided by `div` (≥ 1).
pub(crate) fn packed_len(values: &[u64], div: u64) -> usize {
    values
        .chunks(MINIBLOCK)
        .map(|c| {
            let max = c.iter().copied().max().unwrap_or(0) / div;
            1 + (c.len() * width_of(max) as usize).div_ceil(8)
        })
        .sum()
}

/// Appends `values[i] / div` for all `i` (`div` ≥ 1 and dividing every value exactly).
pub(crate) fn pack(values: &[u64], div: u64, out: &mut Vec<u8>) {
    let mut scaled = [0u64; MINIBLOCK];
    for chunk in values.chunks(MINIBLOCK) {
        let scaled = &mut scaled[..chunk.len()];
        if div == 1 {
            scaled.copy_from_slice(chunk);
        } else {
            for (s, &v) in scaled.iter_mut().zip(chunk) {
                *s = v / div;
            }
        }
        let w = width_of(scaled.iter().fold(0, |a, &v| a | v));
        out.push(w as u8);
        if w == 0 {
            continue;
        }
        let mut acc: u128 = 0;
        let mut bits = 0u32;
        for &v in scaled.iter() {
            acc |= u128::from(v) << bits;
            bits += w;
            if bits >= 64 {
                out.extend_from_slice(&(acc as u64).to_le_bytes());
                acc >>= 64;
                bits -= 64;
            }
        }
        let tail = bits.div_ceil(8) as usize;
        out.extend_from_slice(&(acc as u64).to_le_bytes()[..tail]);
    }
}

/// Upper bound on the values `remaining` bytes of miniblocks can hold (a width-0
/// miniblock is one byte for 128 values); used to reject absurd counts before reserving.
pub(crate) fn max_values(remaining: usize) -> u64 {
    (remaining as u64).saturating_mul(MINIBLOCK as u64)
}

/// Reads `n` packed values, handing each decoded miniblock to `sink` as a slice.
pub(crate) fn unpack(
    r: &mut Reader<'_>,
    n: usize,
    mut sink: impl FnMut(&[u64]),
) -> Result<(), CodecError> {
    let mut bytes = [0u8; SCRATCH];
    let mut vals = [0u64; MINIBLOCK];
    let mut left = n;
    while left > 0 {
        let len = left.min(MINIBLOCK);
        left -= len;
        let at = r.pos();
        let w = u32::from(r.byte("miniblock width")?);
        if w > 64 {
            return Err(CodecError::Invalid {
                what: "miniblock width",
                offset: at,
                value: u64::from(w),
            });
        }
        let vals = &mut vals[..len];
        if w == 0 {
            vals.fill(0);
            sink(vals);
            continue;
        }
        let nbytes = (len * w as usize).div_ceil(8);
        let src = r.take(nbytes, "miniblock bits")?;
        bytes[..nbytes].copy_from_slice(src);
        bytes[nbytes..nbytes + 16].fill(0);
        unpack_into(&bytes, w, vals);
        sink(vals);
    }
    Ok(())
}

/// The hot loop: one unaligned load, shift and mask per value, no branches.
#[inline]
fn unpack_into(bytes: &[u8; SCRATCH], w: u32, vals: &mut [u64]) {
    let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
    let w = w as usize;
    if w <= 56 {
        for (i, v) in vals.iter_mut().enumerate() {
            let bit = i * w;
            let at = bit >> 3;
            let word = u64::from_le_bytes(load::<8>(bytes, at));
            *v = (word >> (bit & 7)) & mask;
        }
    } else {
        for (i, v) in vals.iter_mut().enumerate() {
            let bit = i * w;
            let at = bit >> 3;
            let word = u128::from_le_bytes(load::<16>(bytes, at));
            *v = ((word >> (bit & 7)) as u64) & mask;
        }
    }
}

#[inline(always)]
fn load<const N: usize>(bytes: &[u8; SCRATCH], at: usize) -> [u8; N] {
    let mut w = [0u8; N];
    // `at` ≤ 127 * 64 / 8 = 1016 and SCRATCH = 1040, so the slice is always in bounds;
    // the check stays for safety and is perfectly predicted.
    w.copy_from_slice(&bytes[at..at + N]);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[u64], div: u64) {
        let mut out = Vec::new();
        pack(values, div, &mut out);
        assert_eq!(out.len(), packed_len(values, div));
        let mut back = Vec::new();
        let mut r = Reader::new(&out);
        unpack(&mut r, values.len(), |c| back.extend_from_slice(c)).unwrap();
        r.finish().unwrap();
        let want: Vec<u64> = values.iter().map(|v| v / div).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn every_width_round_trips() {
        for w in 0..=64u32 {
            let max = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
            let vals: Vec<u64> = (0..300u64)
                .map(|i| max.wrapping_sub(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)) & max)
                .collect();
            round_trip(&vals, 1);
        }
        round_trip(&[], 1);
        round_trip(&[30, 60, 90, 1200], 30);
    }
}
