//! count(), sum(), mean(), spread(): constant-size state, exact merges.

use super::column::Column;
use crate::error::FunctionError;
use crate::value::Value;
use crate::wire::{self, Reader};

/// A sum in the input's own arithmetic (Go wraps integers on overflow).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Acc {
    F(f64),
    I(i64),
    U(u64),
}

impl Acc {
    pub(crate) fn add_column(&mut self, c: Column<'_>) -> bool {
        match (self, c) {
            // Sequential, like Go: the float result must match influxd to the bit.
            (Acc::F(s), Column::Float(v)) => *s = v.iter().fold(*s, |a, &x| a + x),
            (Acc::F(s), Column::Integer(v)) => *s = v.iter().fold(*s, |a, &x| a + x as f64),
            (Acc::F(s), Column::Unsigned(v)) => *s = v.iter().fold(*s, |a, &x| a + x as f64),
            (Acc::I(s), Column::Integer(v)) => *s = s.wrapping_add(wrapping_sum_i64(v)),
            (Acc::U(s), Column::Unsigned(v)) => {
                *s = v.iter().fold(*s, |a, &x| a.wrapping_add(x));
            }
            _ => return false,
        }
        true
    }

    pub(crate) fn add(&mut self, other: Acc) -> bool {
        match (self, other) {
            (Acc::F(s), Acc::F(o)) => *s += o,
            (Acc::I(s), Acc::I(o)) => *s = s.wrapping_add(o),
            (Acc::U(s), Acc::U(o)) => *s = s.wrapping_add(o),
            _ => return false,
        }
        true
    }

    pub(crate) fn value(self) -> Value {
        match self {
            Acc::F(v) => Value::Float(v),
            Acc::I(v) => Value::Integer(v),
            Acc::U(v) => Value::Unsigned(v),
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Acc::F(v) => v,
            Acc::I(v) => v as f64,
            Acc::U(v) => v as f64,
        }
    }
}

/// Wrapping sum in eight lanes: integer addition is associative, so the
/// lanes give the same answer as Go's loop and let the compiler vectorise.
fn wrapping_sum_i64(v: &[i64]) -> i64 {
    let mut lanes = [0i64; 8];
    let chunks = v.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = l.wrapping_add(x);
        }
    }
    let mut s = lanes.iter().fold(0i64, |a, &x| a.wrapping_add(x));
    for &x in rest {
        s = s.wrapping_add(x);
    }
    s
}

/// mean(): a sum and a count, plus the partial means merged in.
///
/// influxd computes a mean per shard (and per slice of series), then the
/// final reducer adds `partial_mean * partial_count` for each partial
/// (FloatMeanReducer with `Aggregated`). For a single partial that is
/// `((sum / n) * n) / n`, which is not always `sum / n` to the bit, so the
/// same arithmetic is kept here.
#[derive(Debug, Clone)]
pub(crate) struct Mean {
    pub(crate) sum: Acc,
    pub(crate) count: u64,
    /// Sum of `partial_mean * partial_count` of merged partials.
    merged_sum: f64,
    merged_count: u64,
}

impl Mean {
    pub(crate) fn new(sum: Acc) -> Self {
        Mean {
            sum,
            count: 0,
            merged_sum: 0.0,
            merged_count: 0,
        }
    }

    fn partial(&self) -> Option<(f64, u64)> {
        (self.count > 0).then(|| (self.sum.as_f64() / self.count as f64, self.count))
    }

    fn absorb(&mut self, mean: f64, count: u64) {
        if count >= 2 {
            self.merged_sum += mean * count as f64;
        } else {
            self.merged_sum += mean;
        }
        self.merged_count = self.merged_count.saturating_add(count);
    }

    pub(crate) fn merge(&mut self, other: Mean) {
        if let Some((m, n)) = other.partial() {
            self.absorb(m, n);
        }
        self.merged_sum += other.merged_sum;
        self.merged_count = self.merged_count.saturating_add(other.merged_count);
    }

    pub(crate) fn finish(mut self) -> Option<f64> {
        if let Some((m, n)) = self.partial() {
            self.absorb(m, n);
        }
        (self.merged_count > 0).then(|| self.merged_sum / self.merged_count as f64)
    }
}

/// spread(): max - min in the input type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Spread {
    F { min: f64, max: f64, n: u64 },
    I { min: i64, max: i64, n: u64 },
    U { min: u64, max: u64, n: u64 },
}

impl Spread {
    pub(crate) fn push_column(&mut self, c: Column<'_>) -> bool {
        match (self, c) {
            (Spread::F { min, max, n }, Column::Float(v)) => {
                // Go: math.Min / math.Max (NaN never reaches a reducer).
                let (lo, hi) = min_max_f64(v);
                *min = min.min(lo);
                *max = max.max(hi);
                *n = n.saturating_add(v.len() as u64);
            }
            (Spread::F { min, max, n }, Column::Integer(v)) => {
                for &x in v {
                    *min = min.min(x as f64);
                    *max = max.max(x as f64);
                }
                *n = n.saturating_add(v.len() as u64);
            }
            (Spread::I { min, max, n }, Column::Integer(v)) => {
                *min = (*min).min(v.iter().copied().min().unwrap_or(i64::MAX));
                *max = (*max).max(v.iter().copied().max().unwrap_or(i64::MIN));
                *n = n.saturating_add(v.len() as u64);
            }
            (Spread::U { min, max, n }, Column::Unsigned(v)) => {
                *min = v.iter().fold(*min, |a, &x| a.min(x));
                *max = v.iter().fold(*max, |a, &x| a.max(x));
                *n = n.saturating_add(v.len() as u64);
            }
            _ => return false,
        }
        true
    }

    pub(crate) fn merge(&mut self, other: Spread) -> bool {
        match (self, other) {
            (
                Spread::F { min, max, n },
                Spread::F {
                    min: a,
                    max: b,
                    n: c,
                },
            ) => {
                *min = min.min(a);
                *max = max.max(b);
                *n = n.saturating_add(c);
            }
            (
                Spread::I { min, max, n },
                Spread::I {
                    min: a,
                    max: b,
                    n: c,
                },
            ) => {
                *min = (*min).min(a);
                *max = (*max).max(b);
                *n = n.saturating_add(c);
            }
            (
                Spread::U { min, max, n },
                Spread::U {
                    min: a,
                    max: b,
                    n: c,
                },
            ) => {
                *min = (*min).min(a);
                *max = (*max).max(b);
                *n = n.saturating_add(c);
            }
            _ => return false,
        }
        true
    }

    pub(crate) fn finish(self) -> Option<Value> {
        match self {
            Spread::F { min, max, n } => (n > 0).then_some(Value::Float(max - min)),
            Spread::I { min, max, n } => (n > 0).then_some(Value::Integer(max.wrapping_sub(min))),
            Spread::U { min, max, n } => (n > 0).then_some(Value::Unsigned(max.wrapping_sub(min))),
        }
    }
}

/// Minimum and maximum of a float column in independent lanes, so the
/// compiler can use packed min/max instructions.
fn min_max_f64(v: &[f64]) -> (f64, f64) {
    use super::selector::LANES;
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for k in 0..LANES {
            lo[k] = if c[k] < lo[k] { c[k] } else { lo[k] };
            hi[k] = if c[k] > hi[k] { c[k] } else { hi[k] };
        }
    }
    let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
    for &x in lo.iter().chain(rest) {
        a = a.min(x);
    }
    for &x in hi.iter().chain(rest) {
        b = b.max(x);
    }
    (a, b)
}

// Wire encoding (see `crate::wire`). The variant comes from the reducer's
// input type (`build::initial_state`), so only the numbers are written.

impl Acc {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        match *self {
            Acc::F(v) => wire::put_f64(out, v),
            Acc::I(v) => wire::put_ivarint(out, v),
            Acc::U(v) => wire::put_uvarint(out, v),
        }
    }

    /// Reads the sum into the variant `self` already has.
    pub(crate) fn load(&mut self, r: &mut Reader<'_>) -> Result<(), FunctionError> {
        match self {
            Acc::F(v) => *v = r.f64("float sum")?,
            Acc::I(v) => *v = r.ivarint("integer sum")?,
            Acc::U(v) => *v = r.uvarint("unsigned sum")?,
        }
        Ok(())
    }
}

impl Mean {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        self.sum.save(out);
        wire::put_uvarint(out, self.count);
        wire::put_f64(out, self.merged_sum);
        wire::put_uvarint(out, self.merged_count);
    }

    pub(crate) fn load(&mut self, r: &mut Reader<'_>) -> Result<(), FunctionError> {
        self.sum.load(r)?;
        self.count = r.uvarint("mean count")?;
        self.merged_sum = r.f64("mean merged sum")?;
        self.merged_count = r.uvarint("mean merged count")?;
        Ok(())
    }
}

impl Spread {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        match *self {
            Spread::F { min, max, n } => {
                wire::put_f64(out, min);
                wire::put_f64(out, max);
                wire::put_uvarint(out, n);
            }
            Spread::I { min, max, n } => {
                wire::put_ivarint(out, min);
                wire::put_ivarint(out, max);
                wire::put_uvarint(out, n);
            }
            Spread::U { min, max, n } => {
                wire::put_uvarint(out, min);
                wire::put_uvarint(out, max);
                wire::put_uvarint(out, n);
            }
        }
    }

    /// Reads min, max and count into the variant `self` already has.
    pub(crate) fn load(&mut self, r: &mut Reader<'_>) -> Result<(), FunctionError> {
        match self {
            Spread::F { min, max, n } => {
                *min = r.f64("spread min")?;
                *max = r.f64("spread max")?;
                *n = r.uvarint("spread count")?;
            }
            Spread::I { min, max, n } => {
                *min = r.ivarint("spread min")?;
                *max = r.ivarint("spread max")?;
                *n = r.uvarint("spread count")?;
            }
            Spread::U { min, max, n } => {
                *min = r.uvarint("spread min")?;
                *max = r.uvarint("spread max")?;
                *n = r.uvarint("spread count")?;
            }
        }
        Ok(())
    }
}
