//! sample(): reservoir sampling. influxd seeds its generator from the
//! clock, so only the shape of its answer (N points of the window, ordered
//! by time) can be reproduced, not which points.

use super::column::Kept;
use crate::error::FunctionError;
use crate::value::{Point, ValueType};
use crate::wire::{self, Reader};

/// SplitMix64: small, fast, good enough to pick reservoir slots.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, n).
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Sample {
    size: usize,
    count: u64,
    kept: Kept,
    rng: Rng,
}

impl Sample {
    pub(crate) fn new(size: usize, t: ValueType, seed: u64) -> Self {
        Sample {
            size,
            count: 0,
            kept: Kept::new(t),
            rng: Rng(seed),
        }
    }

    /// The aux ids of the sampled points.
    pub(crate) fn aux_ids(&self, f: &mut dyn FnMut(u64)) {
        self.kept.aux_ids(f);
    }

    /// Adds the points of `batch` (a Kept with one or more points).
    pub(crate) fn absorb(&mut self, batch: Kept) {
        for i in 0..batch.len() {
            self.count = self.count.saturating_add(1);
            let s = batch.values.scalar(i);
            if self.kept.len() < self.size {
                self.kept.push(batch.times[i], s, batch.aux[i], &[]);
                continue;
            }
            let r = self.rng.below(self.count) as usize;
            if r < self.size {
                self.kept.times[r] = batch.times[i];
                self.kept.aux[r] = batch.aux[i];
                let mut one = Kept::new(value_type(&self.kept));
                one.push(0, s, 0, &[]);
                replace_value(&mut self.kept, r, one);
            }
        }
    }

    /// Merges two reservoirs so every input point stays equally likely:
    /// each kept point stands for count/len points of its side, and slots are
    /// drawn by weighted sampling without replacement (keys u^(1/w)).
    pub(crate) fn merge(&mut self, other: Sample) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            self.count = other.count;
            self.kept = other.kept;
            return;
        }
        let wa = self.count as f64 / self.kept.len() as f64;
        let wb = other.count as f64 / other.kept.len() as f64;
        let total = self.count.saturating_add(other.count);
        let mut pool = std::mem::replace(&mut self.kept, Kept::new(ValueType::Float));
        let na = pool.len();
        if !pool.append(other.kept) {
            self.kept = pool;
            return;
        }
        let mut keys: Vec<(f64, usize)> = (0..pool.len())
            .map(|i| {
                let w = if i < na { wa } else { wb };
                (self.rng.unit().powf(1.0 / w), i)
            })
            .collect();
        keys.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut kept = Kept::new(value_type(&pool));
        for &(_, i) in keys.iter().take(self.size) {
            kept.push(pool.times[i], pool.values.scalar(i), pool.aux[i], &[]);
        }
        self.kept = kept;
        self.count = total;
    }

    pub(crate) fn finish(self) -> Vec<Point> {
        let k = self.kept;
        let mut out: Vec<Point> = (0..k.len())
            .map(|i| Point {
                time: k.times[i],
                value: k.values.scalar(i).into_value(),
                aux: k.aux[i],
            })
            .collect();
        out.sort_by_key(|p| p.time);
        out
    }
}

fn value_type(k: &Kept) -> ValueType {
    use super::column::Values;
    match k.values {
        Values::F(_) => ValueType::Float,
        Values::I(_) => ValueType::Integer,
        Values::U(_) => ValueType::Unsigned,
        Values::S(_) => ValueType::String,
        Values::B(_) => ValueType::Boolean,
    }
}

fn replace_value(k: &mut Kept, at: usize, one: Kept) {
    use super::column::Values;
    match (&mut k.values, one.values) {
        (Values::F(v), Values::F(o)) => v[at] = o[0],
        (Values::I(v), Values::I(o)) => v[at] = o[0],
        (Values::U(v), Values::U(o)) => v[at] = o[0],
        (Values::S(v), Values::S(mut o)) => v[at] = o.swap_remove(0),
        (Values::B(v), Values::B(o)) => v[at] = o[0],
        _ => {}
    }
}

// Wire encoding (see `crate::wire`): the count of points seen, the
// generator's state and the reservoir, so a shipped partial merges to the
// same bits as one that never left the node. The size comes from the function.

impl Sample {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        wire::put_uvarint(out, self.count);
        wire::put_uvarint(out, self.rng.0);
        self.kept.save(out);
    }

    pub(crate) fn load(&mut self, r: &mut Reader<'_>, t: ValueType) -> Result<(), FunctionError> {
        self.count = r.uvarint("sample count")?;
        self.rng = Rng(r.uvarint("sample generator")?);
        self.kept = Kept::load(r, t)?;
        // absorb() and merge() keep min(count, size) points and index the
        // reservoir by slots below the size.
        let full = usize::try_from(self.count).map_or(self.size, |c| c.min(self.size));
        if self.kept.len() != full {
            return Err(r.error("sample reservoir", "size disagrees with the count"));
        }
        Ok(())
    }
}
