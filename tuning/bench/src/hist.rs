//! A log-bucketed latency histogram in microseconds: exact below 128 µs, then 64 buckets
//! per power of two (at most 1.6 % relative error), mergeable by addition. Small enough
//! (30 KiB) to keep one per second of a run and one per query.

use serde::Serialize;
use std::time::Duration;

/// Values below this are their own bucket.
const LINEAR: u64 = 128;
/// Buckets per power of two above `LINEAR`.
const SUB: u64 = 64;
/// Enough buckets for any u64 value.
const BUCKETS: usize = (LINEAR + 58 * SUB) as usize;

#[derive(Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum_us: u128,
    max_us: u64,
    min_us: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum_us: 0,
            max_us: 0,
            min_us: u64::MAX,
        }
    }
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Histogram({} values)", self.count)
    }
}

fn bucket_of(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let msb = 63 - u64::from(v.leading_zeros());
    // v >> shift lies in [SUB, 2 * SUB).
    let shift = msb - 6;
    let m = v >> shift;
    (LINEAR + (shift - 1) * SUB + (m - SUB)) as usize
}

/// The middle of bucket `idx`.
fn value_of(idx: usize) -> u64 {
    let idx = idx as u64;
    if idx < LINEAR {
        return idx;
    }
    let shift = (idx - LINEAR) / SUB + 1;
    let m = (idx - LINEAR) % SUB + SUB;
    (m << shift) + ((1u64 << shift) - 1) / 2
}

/// The usual percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Histogram {
    pub fn record(&mut self, d: Duration) {
        let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
        self.counts[bucket_of(us)] += 1;
        self.count += 1;
        self.sum_us += u128::from(us);
        self.max_us = self.max_us.max(us);
        self.min_us = self.min_us.min(us);
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum_us += other.sum_us;
        self.max_us = self.max_us.max(other.max_us);
        self.min_us = self.min_us.min(other.min_us);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value (µs) at quantile `q` in [0, 1]; exact extremes, bucket middles between.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value_of(idx).clamp(self.min_us, self.max_us);
            }
        }
        self.max_us
    }

    pub fn percentiles(&self) -> Percentiles {
        let ms = |us: u64| us as f64 / 1000.0;
        if self.count == 0 {
            return Percentiles::default();
        }
        Percentiles {
            count: self.count,
            mean: self.sum_us as f64 / self.count as f64 / 1000.0,
            p50: ms(self.quantile_us(0.50)),
            p90: ms(self.quantile_us(0.90)),
            p99: ms(self.quantile_us(0.99)),
            p999: ms(self.quantile_us(0.999)),
            max: ms(self.max_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_round_trip_within_two_percent() {
        for v in (0..2000u64)
            .chain((1..40).map(|k| 1u64 << k))
            .chain([12_345, 999_999_999])
        {
            let got = value_of(bucket_of(v));
            let err = (got as f64 - v as f64).abs() / (v.max(1) as f64);
            assert!(err <= 0.016, "{v} -> {got}");
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let p = h.percentiles();
        assert_eq!(p.count, 1000);
        assert!((p.p50 - 500.0).abs() < 10.0, "{p:?}");
        assert!((p.p99 - 990.0).abs() < 16.0, "{p:?}");
        assert_eq!(p.max, 1000.0);
        let mut m = Histogram::default();
        m.merge(&h);
        m.merge(&h);
        assert_eq!(m.percentiles().p50, p.p50);
        assert_eq!(m.count(), 2000);
    }
}
