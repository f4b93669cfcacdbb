//! Integer rendering without `format!`: the generator writes millions of numbers a second
//! and `fmt` machinery would be most of its cost.

/// Appends the decimal digits of `v`.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Appends the decimal digits of `v`, with a leading `-` when negative.
#[inline]
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `hundredths / 100` with exactly two decimals (`2643` → `26.43`).
#[inline]
pub fn push_hundredths(out: &mut Vec<u8>, hundredths: u32) {
    push_u64(out, u64::from(hundredths / 100));
    let frac = hundredths % 100;
    out.push(b'.');
    out.push(b'0' + (frac / 10) as u8);
    out.push(b'0' + (frac % 10) as u8);
}

/// A short rendered token kept inline (table entries): at most 15 bytes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Token {
    len: u8,
    bytes: [u8; 15],
}

impl Token {
    /// Stores `s`; panics on more than 15 bytes, which only a programming error produces.
    pub fn new(s: &[u8]) -> Token {
        assert!(s.len() <= 15, "table tokens are at most 15 bytes");
        let mut bytes = [0u8; 15];
        bytes[..s.len()].copy_from_slice(s);
        Token {
            len: s.len() as u8,
            bytes,
        }
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// Appends the token: a fixed 15-byte copy then a truncate, cheaper than a copy of
    /// variable length for these short values.
    #[inline]
    pub fn push_to(&self, out: &mut Vec<u8>) {
        let keep = out.len() + self.len as usize;
        out.extend_from_slice(&self.bytes);
        out.truncate(keep);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_hundredths() {
        let mut v = Vec::new();
        for n in [0u64, 7, 10, 99, 100, 12345, u64::MAX] {
            v.clear();
            push_u64(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
        for n in [0i64, -1, -1234, i64::MIN, i64::MAX] {
            v.clear();
            push_i64(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
        }
        for (h, s) in [(0, "0.00"), (5, "0.05"), (2643, "26.43"), (10000, "100.00")] {
            v.clear();
            push_hundredths(&mut v, h);
            assert_eq!(v, s.as_bytes());
        }
    }
}
