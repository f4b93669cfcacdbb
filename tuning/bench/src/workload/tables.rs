//! Seeded value tables and the hash that picks a series' place in them. A value depends
//! only on (seed, series, point, field): `table[(offset(seed, field, series) + point) & MASK]`,
//! as in `gen_lp.py`, so batching and order never change the data.

use crate::numfmt::{push_u64, Token};

pub(super) const TABLE_BITS: u32 = 16;
pub(super) const TABLE_MASK: u64 = (1 << TABLE_BITS) - 1;

/// splitmix64's finalizer: a cheap, well-mixed hash of a counter.
#[inline]
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A hash of (seed, salt, series) for per-series offsets and bases.
#[inline]
pub(super) fn series_hash(seed: u64, salt: u64, series: u64) -> u64 {
    mix(mix(seed ^ salt.wrapping_mul(0xA24B_AED4_963E_E407)) ^ series)
}

/// Pre-rendered random walks: floats in hundredths over [lo, hi] and small integers.
pub(super) struct Tables {
    pub(super) floats: Vec<Token>,
    pub(super) ints: Vec<Token>,
}

impl Tables {
    /// Float walk in hundredths over [0, 10000] (0.00–100.00, like a percentage) and an
    /// integer walk over [1, 5000], both seeded.
    pub(super) fn new(seed: u64) -> Tables {
        let mut state = mix(seed ^ 0x7461_626c_6573);
        let mut next = move |span: u64| {
            state = mix(state);
            state % span
        };
        let mut floats = Vec::with_capacity(1 << TABLE_BITS);
        let mut v: i64 = 2500;
        let mut buf = Vec::with_capacity(16);
        for _ in 0..1 << TABLE_BITS {
            v += next(301) as i64 - 150;
            if v < 0 {
                v = -v;
            } else if v > 10_000 {
                v = 20_000 - v;
            }
            buf.clear();
            crate::numfmt::push_hundredths(&mut buf, v as u32);
            floats.push(Token::new(&buf));
        }
        let mut ints = Vec::with_capacity(1 << TABLE_BITS);
        let mut v: i64 = 300;
        for _ in 0..1 << TABLE_BITS {
            v = (v + next(7) as i64 - 3).clamp(1, 5000);
            buf.clear();
            push_u64(&mut buf, v as u64);
            buf.push(b'i');
            ints.push(Token::new(&buf));
        }
        Tables { floats, ints }
    }

    #[inline]
    pub(super) fn float(&self, offset: u64, step: u64) -> &Token {
        &self.floats[(offset.wrapping_add(step) & TABLE_MASK) as usize]
    }

    #[inline]
    pub(super) fn int(&self, offset: u64, step: u64) -> &Token {
        &self.ints[(offset.wrapping_add(step) & TABLE_MASK) as usize]
    }
}
