//! median(), mode(), stddev(), percentile(): functions that need every
//! point of the window, computed as influxd's `*ReduceSlice` functions do,
//! including Go's unstable sort (it decides mode()'s ties and which of
//! several equal values percentile() returns).

use super::column::{Kept, Values};
use crate::gosort;
use crate::value::{Point, Value};

/// Points in sorted-by-value order as (value index) permutation.
fn order_by_value(k: &Kept) -> Vec<usize> {
    // Numbers are sorted as (value, index) pairs: the same comparisons and swaps as
    // sorting the indices by the values they point at (so the same permutation), without
    // the indirection.
    fn by_pairs<T: Copy + PartialOrd>(v: &[T]) -> Vec<usize> {
        let mut pairs: Vec<(T, usize)> = v.iter().copied().zip(0..).collect();
        gosort::sort_by(&mut pairs, |a, b| a.0 < b.0);
        pairs.into_iter().map(|(_, i)| i).collect()
    }
    match &k.values {
        Values::F(v) => by_pairs(v),
        Values::I(v) => by_pairs(v),
        Values::U(v) => by_pairs(v),
        Values::S(v) => by_index(v.len(), |a, b| v[a] < v[b]),
        Values::B(v) => by_index(v.len(), |a, b| !v[a] & v[b]),
    }
}

/// The indices `0..n` sorted with `less` on indices.
fn by_index(n: usize, mut less: impl FnMut(usize, usize) -> bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    gosort::sort_by(&mut idx, |&a, &b| less(a, b));
    idx
}

pub(crate) fn median(k: &Kept) -> Option<Value> {
    let n = k.len();
    if n == 0 {
        return None;
    }
    if n == 1 {
        return Some(match &k.values {
            Values::F(v) => Value::Float(v[0]),
            Values::I(v) => Value::Float(v[0] as f64),
            Values::U(v) => Value::Float(v[0] as f64),
            _ => return None,
        });
    }
    let idx = order_by_value(k);
    let (lo, hi, mid) = (idx[n / 2 - 1], idx[n / 2], idx[n / 2]);
    let even = n & 1 == 0;
    Some(Value::Float(match &k.values {
        Values::F(v) if even => v[lo] + (v[hi] - v[lo]) / 2.0,
        Values::F(v) => v[mid],
        Values::I(v) if even => v[lo] as f64 + v[hi].wrapping_sub(v[lo]) as f64 / 2.0,
        Values::I(v) => v[mid] as f64,
        Values::U(v) if even => v[lo] as f64 + v[hi].wrapping_sub(v[lo]) as f64 / 2.0,
        Values::U(v) => v[mid] as f64,
        _ => return None,
    }))
}

/// influxd's mode: the most frequent value; between equally frequent runs
/// (in Go-sorted order) the later run wins unless its first point is later
/// than the last point of the current best run.
pub(crate) fn mode(k: &Kept) -> Option<Value> {
    let n = k.len();
    if n == 0 {
        return None;
    }
    if n == 1 {
        return Some(k.values.scalar(0).into_value());
    }
    if let Values::B(v) = &k.values {
        let t = v.iter().filter(|&&b| b).count();
        return Some(Value::Boolean(t >= n - t));
    }
    let idx = order_by_value(k);
    let eq = |a: usize, b: usize| match &k.values {
        Values::F(v) => v[a] == v[b],
        Values::I(v) => v[a] == v[b],
        Values::U(v) => v[a] == v[b],
        Values::S(v) => v[a] == v[b],
        Values::B(v) => v[a] == v[b],
    };
    let (mut most_freq, mut curr_freq) = (0usize, 0usize);
    let mut curr = idx[0];
    let mut most = idx[0];
    let mut most_time = k.times[idx[0]];
    let mut curr_time = k.times[idx[0]];
    for &p in &idx {
        if !eq(p, curr) {
            curr_freq = 1;
            curr = p;
            curr_time = k.times[p];
            continue;
        }
        curr_freq += 1;
        if most_freq > curr_freq || (most_freq == curr_freq && curr_time > most_time) {
            continue;
        }
        most_freq = curr_freq;
        most = p;
        most_time = k.times[p];
    }
    Some(k.values.scalar(most).into_value())
}

pub(crate) fn stddev(k: &Kept) -> Option<Value> {
    let n = k.len();
    if n == 0 {
        return None;
    }
    if n < 2 {
        return Some(Value::Float(f64::NAN));
    }
    let vals: Vec<f64> = match &k.values {
        Values::F(v) => v.iter().copied().filter(|x| !x.is_nan()).collect(),
        Values::I(v) => v.iter().map(|&x| x as f64).collect(),
        Values::U(v) => v.iter().map(|&x| x as f64).collect(),
        _ => return None,
    };
    let mut mean = 0.0;
    for (i, &x) in vals.iter().enumerate() {
        mean += (x - mean) / (i + 1) as f64;
    }
    let variance: f64 = vals.iter().fold(0.0, |a, &x| a + (x - mean) * (x - mean));
    Some(Value::Float((variance / (vals.len() as f64 - 1.0)).sqrt()))
}

/// The point at rank `floor(n * p / 100 + 0.5) - 1` of the Go-sorted
/// values, with its own time and aux; none when the rank is out of range.
/// The rank percentile `p` picks among `n` points, if any.
pub(crate) fn percentile_rank(n: usize, p: f64) -> Option<usize> {
    // Saturating: percentile(-Inf) must not overflow.
    let i = ((n as f64 * p / 100.0 + 0.5).floor() as i64).saturating_sub(1);
    (0..n as i64).contains(&i).then_some(i as usize)
}

pub(crate) fn percentile(k: &Kept, p: f64) -> Option<Point> {
    let i = percentile_rank(k.len(), p)?;
    let idx = order_by_value(k);
    let j = idx[i];
    Some(Point {
        time: k.times[j],
        value: k.values.scalar(j).into_value(),
        aux: k.aux[j],
    })
}
