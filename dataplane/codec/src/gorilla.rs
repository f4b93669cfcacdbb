//! Gorilla XOR encoding of `f64` bit patterns (Pelkonen et al., VLDB 2015), the
//! fallback for floats that are not short decimals. Bit-exact for every pattern.
//!
//! Layout (a bit stream, most significant bit first, zero-padded to a byte):
//! the first value's 64 bits; then per value the XOR with its predecessor as
//! `0` (equal), `10` + meaningful bits (fits the previous leading/trailing-zero
//! window), or `11` + `leading: 5 bits` + `meaningful - 1: 6 bits` + meaningful bits.

use crate::error::CodecError;

/// Appends the bit stream of `v` (non-empty) to `out`.
pub(crate) fn encode(v: &[f64], out: &mut Vec<u8>) {
    let mut w = BitWriter::new(out);
    let Some((first, rest)) = v.split_first() else {
        return;
    };
    let mut prev = first.to_bits();
    w.write(prev, 64);
    // A window that no XOR fits, so the first non-zero XOR writes its own.
    let (mut lead, mut trail) = (u32::MAX, u32::MAX);
    for x in rest {
        let bits = x.to_bits();
        let xor = bits ^ prev;
        prev = bits;
        if xor == 0 {
            w.write(0, 1);
            continue;
        }
        // Leading zeros are capped to what 5 bits can say.
        let l = xor.leading_zeros().min(31);
        let t = xor.trailing_zeros();
        if lead != u32::MAX && l >= lead && t >= trail {
            w.write(0b10, 2);
            w.write(xor >> trail, 64 - lead - trail);
        } else {
            let m = 64 - l - t;
            w.write(0b11, 2);
            w.write(u64::from(l), 5);
            w.write(u64::from(m - 1), 6);
            w.write(xor >> t, m);
            (lead, trail) = (l, t);
        }
    }
    w.finish();
}

/// Decodes `count` values from `payload` (the rest of the block), which must be
/// consumed exactly (up to the final byte's padding).
pub(crate) fn decode(
    payload: &[u8],
    base: usize,
    count: usize,
    out: &mut Vec<f64>,
) -> Result<(), CodecError> {
    if count == 0 {
        return Ok(());
    }
    let mut r = BitReader::new(payload, base);
    out.reserve(count);
    let mut prev = r.read(64)?;
    out.push(f64::from_bits(prev));
    let (mut lead, mut trail) = (u32::MAX, 0u32);
    for _ in 1..count {
        if r.read(1)? == 0 {
            out.push(f64::from_bits(prev));
            continue;
        }
        if r.read(1)? == 0 {
            if lead == u32::MAX {
                return Err(r.invalid("xor window reuse before any window", 0));
            }
            prev ^= r.read(64 - lead - trail)? << trail;
        } else {
            let l = r.read(5)? as u32;
            let m = r.read(6)? as u32 + 1;
            if l + m > 64 {
                return Err(r.invalid("xor window", u64::from(l + m)));
            }
            (lead, trail) = (l, 64 - l - m);
            prev ^= r.read(m)? << trail;
        }
        out.push(f64::from_bits(prev));
    }
    r.finish()
}

struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    bits: u32,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        BitWriter {
            out,
            acc: 0,
            bits: 0,
        }
    }

    /// Writes the low `n` (1..=64) bits of `v`.
    fn write(&mut self, v: u64, n: u32) {
        let v = if n == 64 { v } else { v & ((1u64 << n) - 1) };
        let free = 64 - self.bits;
        if n < free {
            self.acc |= v << (free - n);
            self.bits += n;
        } else {
            // Fill the accumulator with the top `free` bits, flush, keep the rest.
            let spill = n - free;
            self.acc |= v >> spill;
            self.out.extend_from_slice(&self.acc.to_be_bytes());
            self.acc = if spill == 0 { 0 } else { v << (64 - spill) };
            self.bits = spill;
        }
    }

    fn finish(self) {
        let tail = self.bits.div_ceil(8) as usize;
        self.out.extend_from_slice(&self.acc.to_be_bytes()[..tail]);
    }
}

/// Reads MSB-first from a byte slice; reading past the end is an error.
struct BitReader<'a> {
    buf: &'a [u8],
    /// Offset of `buf` within the block, for error messages.
    base: usize,
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        BitReader { buf, base, pos: 0 }
    }

    fn invalid(&self, what: &'static str, value: u64) -> CodecError {
        CodecError::Invalid {
            what,
            offset: self.base + self.pos / 8,
            value,
        }
    }

    /// Reads `n` (1..=64) bits.
    #[inline]
    fn read(&mut self, n: u32) -> Result<u64, CodecError> {
        let end = self.pos + n as usize;
        if end > self.buf.len() * 8 {
            return Err(CodecError::Truncated {
                what: "xor bit stream",
                offset: self.base + self.pos / 8,
            });
        }
        let at = self.pos / 8;
        let mut word = [0u8; 16];
        let avail = (self.buf.len() - at).min(16);
        word[..avail].copy_from_slice(&self.buf[at..at + avail]);
        let w = u128::from_be_bytes(word) << (self.pos % 8);
        self.pos = end;
        Ok((w >> (128 - n)) as u64)
    }

    fn finish(&self) -> Result<(), CodecError> {
        let used = self.pos.div_ceil(8);
        if used != self.buf.len() {
            return Err(CodecError::TrailingBytes {
                offset: self.base + used,
                extra: self.buf.len() - used,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_specials() {
        let v = [
            1.0,
            -0.0,
            0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE / 3.0,
            f64::MAX,
            f64::MIN,
            f64::from_bits(0x7ff8_dead_beef_0001),
            1.0,
            1.0,
        ];
        let mut out = Vec::new();
        encode(&v, &mut out);
        let mut back = Vec::new();
        decode(&out, 0, v.len(), &mut back).unwrap();
        let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        let b: Vec<u64> = back.iter().map(|x| x.to_bits()).collect();
        assert_eq!(a, b);
    }
}
