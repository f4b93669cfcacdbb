//! Byte-level helpers shared by all codecs: LEB128 varints, zigzag, and a bounds-checked
//! reader whose every failure is a [`CodecError`] naming the field and its offset.

use crate::error::CodecError;

/// Maps signed to unsigned so that small magnitudes get small codes.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Appends `v` as an unsigned LEB128 varint (1..=10 bytes).
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzagged as a varint.
#[inline]
pub(crate) fn put_zigzag(out: &mut Vec<u8>, v: i64) {
    put_varint(out, zigzag(v));
}

/// Length in bytes of `v` as a varint.
pub(crate) fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// A cursor over a block; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Starts at `pos` within `buf` (used when a block embeds another block).
    pub(crate) fn at(buf: &'a [u8], pos: usize) -> Self {
        Reader { buf, pos }
    }

    /// The whole underlying buffer.
    pub(crate) fn buf(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn byte(&mut self, what: &'static str) -> Result<u8, CodecError> {
        let b = *self.buf.get(self.pos).ok_or(CodecError::Truncated {
            what,
            offset: self.pos,
        })?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], CodecError> {
        let start = self.pos;
        let end = start
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(CodecError::Truncated {
                what,
                offset: start,
            })?;
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    pub(crate) fn varint(&mut self, what: &'static str) -> Result<u64, CodecError> {
        let start = self.pos;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what).map_err(|_| CodecError::Truncated {
                what,
                offset: start,
            })?;
            // The 10th byte may only carry the top bit of a u64.
            if shift == 63 && b > 1 {
                return Err(CodecError::Invalid {
                    what,
                    offset: start,
                    value: u64::from(b),
                });
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(CodecError::Invalid {
            what,
            offset: start,
            value: v,
        })
    }

    pub(crate) fn zigzag(&mut self, what: &'static str) -> Result<i64, CodecError> {
        self.varint(what).map(unzigzag)
    }

    /// Reads a varint count and checks it against `limit`, the most values the rest of
    /// the block could encode, so no decoder ever reserves memory the input cannot back.
    pub(crate) fn count(&mut self, limit: u64) -> Result<usize, CodecError> {
        let count = self.varint("value count")?;
        if count > limit {
            return Err(CodecError::TooManyValues { count, limit });
        }
        usize::try_from(count).map_err(|_| CodecError::TooManyValues { count, limit })
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(&self) -> Result<(), CodecError> {
        if self.pos != self.buf.len() {
            return Err(CodecError::TrailingBytes {
                offset: self.pos,
                extra: self.buf.len() - self.pos,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_and_zigzag_round_trip() {
        for v in [0u64, 1, 127, 128, 300, u64::MAX >> 1, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v));
            assert_eq!(Reader::new(&out).varint("v").unwrap(), v);
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let bad = [0xffu8; 11];
        assert!(Reader::new(&bad).varint("v").is_err());
        let mut ten = vec![0xffu8; 9];
        ten.push(0x02);
        assert!(Reader::new(&ten).varint("v").is_err());
    }
}
