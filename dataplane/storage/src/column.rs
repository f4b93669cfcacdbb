//! A column of one field of one series: timestamps and values of one type, kept sorted
//! with the last write winning for a repeated timestamp (InfluxDB's rule).

use crate::batch::{FieldType, Value};

#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Float(Vec<f64>),
    Integer(Vec<i64>),
    Unsigned(Vec<u64>),
    Boolean(Vec<bool>),
    Str(Vec<Box<[u8]>>),
}

impl Values {
    pub fn new(t: FieldType) -> Values {
        match t {
            FieldType::Float => Values::Float(Vec::new()),
            FieldType::Integer => Values::Integer(Vec::new()),
            FieldType::Unsigned => Values::Unsigned(Vec::new()),
            FieldType::Boolean => Values::Boolean(Vec::new()),
            FieldType::String => Values::Str(Vec::new()),
        }
    }

    pub fn field_type(&self) -> FieldType {
        match self {
            Values::Float(_) => FieldType::Float,
            Values::Integer(_) => FieldType::Integer,
            Values::Unsigned(_) => FieldType::Unsigned,
            Values::Boolean(_) => FieldType::Boolean,
            Values::Str(_) => FieldType::String,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Values::Float(v) => v.len(),
            Values::Integer(v) => v.len(),
            Values::Unsigned(v) => v.len(),
            Values::Boolean(v) => v.len(),
            Values::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `v`; false when its type differs from the column's.
    pub fn push(&mut self, v: Value<'_>) -> bool {
        match (self, v) {
            (Values::Float(c), Value::Float(x)) => c.push(x),
            (Values::Integer(c), Value::Integer(x)) => c.push(x),
            (Values::Unsigned(c), Value::Unsigned(x)) => c.push(x),
            (Values::Boolean(c), Value::Boolean(x)) => c.push(x),
            (Values::Str(c), Value::Str(x)) => c.push(x.into()),
            _ => return false,
        }
        true
    }

    /// The value at `i`, borrowed.
    pub fn get(&self, i: usize) -> Value<'_> {
        match self {
            Values::Float(v) => Value::Float(v[i]),
            Values::Integer(v) => Value::Integer(v[i]),
            Values::Unsigned(v) => Value::Unsigned(v[i]),
            Values::Boolean(v) => Value::Boolean(v[i]),
            Values::Str(v) => Value::Str(&v[i]),
        }
    }

    /// Keeps the values at `idx`, in that order.
    fn select(&mut self, idx: &[usize]) {
        fn pick<T: Clone>(v: &mut Vec<T>, idx: &[usize]) {
            let out: Vec<T> = idx.iter().map(|&i| v[i].clone()).collect();
            *v = out;
        }
        match self {
            Values::Float(v) => pick(v, idx),
            Values::Integer(v) => pick(v, idx),
            Values::Unsigned(v) => pick(v, idx),
            Values::Boolean(v) => pick(v, idx),
            Values::Str(v) => pick(v, idx),
        }
    }

    /// Appends `other[range]`; both must have the same type.
    pub fn extend_from(&mut self, other: &Values, range: std::ops::Range<usize>) -> bool {
        match (self, other) {
            (Values::Float(a), Values::Float(b)) => a.extend_from_slice(&b[range]),
            (Values::Integer(a), Values::Integer(b)) => a.extend_from_slice(&b[range]),
            (Values::Unsigned(a), Values::Unsigned(b)) => a.extend_from_slice(&b[range]),
            (Values::Boolean(a), Values::Boolean(b)) => a.extend_from_slice(&b[range]),
            (Values::Str(a), Values::Str(b)) => a.extend_from_slice(&b[range]),
            _ => return false,
        }
        true
    }

    /// Approximate heap bytes, for cache accounting.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Values::Float(v) => v.capacity() * 8,
            Values::Integer(v) => v.capacity() * 8,
            Values::Unsigned(v) => v.capacity() * 8,
            Values::Boolean(v) => v.capacity(),
            Values::Str(v) => v.capacity() * 16 + v.iter().map(|s| s.len()).sum::<usize>(),
        }
    }
}

/// Timestamps and values of one field of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub ts: Vec<i64>,
    pub values: Values,
    /// Whether `ts` is strictly ascending (no sort or dedup needed).
    sorted: bool,
}

impl Column {
    pub fn new(t: FieldType) -> Column {
        Column {
            ts: Vec::new(),
            values: Values::new(t),
            sorted: true,
        }
    }

    /// A column from parts already sorted and unique.
    pub fn from_sorted(ts: Vec<i64>, values: Values) -> Column {
        Column {
            ts,
            values,
            sorted: true,
        }
    }

    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    pub fn field_type(&self) -> FieldType {
        self.values.field_type()
    }

    /// Appends a value; false on a type mismatch (nothing appended).
    pub fn push(&mut self, ts: i64, v: Value<'_>) -> bool {
        if !self.values.push(v) {
            return false;
        }
        if let Some(&last) = self.ts.last() {
            if ts <= last {
                self.sorted = false;
            }
        }
        self.ts.push(ts);
        true
    }

    /// Sorts by time; for a repeated timestamp the value written last wins.
    pub fn normalize(&mut self) {
        if self.sorted {
            return;
        }
        let mut idx: Vec<usize> = (0..self.ts.len()).collect();
        // Stable: equal timestamps keep write order, so the last of a run is the newest.
        idx.sort_by_key(|&i| self.ts[i]);
        let mut keep: Vec<usize> = Vec::with_capacity(idx.len());
        for (n, &i) in idx.iter().enumerate() {
            let next_same = idx.get(n + 1).is_some_and(|&j| self.ts[j] == self.ts[i]);
            if !next_same {
                keep.push(i);
            }
        }
        self.ts = keep.iter().map(|&i| self.ts[i]).collect();
        self.values.select(&keep);
        self.sorted = true;
    }

    /// Merges `newer` into this (older) column: both normalized; newer wins on equal times.
    pub fn merge_newer(&mut self, newer: &Column) {
        debug_assert!(self.sorted && newer.sorted);
        if newer.is_empty() {
            return;
        }
        if self.ts.last().is_none_or(|&l| l < newer.ts[0]) {
            self.ts.extend_from_slice(&newer.ts);
            self.values.extend_from(&newer.values, 0..newer.len());
            return;
        }
        let mut out = Column::new(self.field_type());
        let (mut i, mut j) = (0, 0);
        while i < self.len() || j < newer.len() {
            let take_new = match (self.ts.get(i), newer.ts.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    true
                }
                (Some(a), Some(b)) => b < a,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            if take_new {
                out.ts.push(newer.ts[j]);
                out.values.extend_from(&newer.values, j..j + 1);
                j += 1;
            } else {
                out.ts.push(self.ts[i]);
                out.values.extend_from(&self.values, i..i + 1);
                i += 1;
            }
        }
        *self = out;
    }

    /// Keeps only values with `min <= t <= max`.
    pub fn retain_range(&mut self, min: i64, max: i64) {
        let lo = self.ts.partition_point(|&t| t < min);
        let hi = self.ts.partition_point(|&t| t <= max).max(lo);
        if lo == 0 && hi == self.ts.len() {
            return;
        }
        let mut out = Column::new(self.field_type());
        out.ts.extend_from_slice(&self.ts[lo..hi]);
        out.values.extend_from(&self.values, lo..hi);
        *self = out;
    }

    /// A copy of the values with `min <= t <= max`, sorted and unique (only those are
    /// copied when the column is already sorted).
    pub fn range_copy(&self, min: i64, max: i64) -> Column {
        if !self.sorted {
            let mut c = self.clone();
            c.normalize();
            c.retain_range(min, max);
            return c;
        }
        let lo = self.ts.partition_point(|&t| t < min);
        let hi = self.ts.partition_point(|&t| t <= max).max(lo);
        let mut out = Column::new(self.field_type());
        out.ts.extend_from_slice(&self.ts[lo..hi]);
        out.values.extend_from(&self.values, lo..hi);
        out
    }

    /// A time by which the column surely has `n` values within `[min, max]` (from which,
    /// when `descending`); `None` when it has fewer or is not sorted yet.
    pub fn nth_time(&self, min: i64, max: i64, n: usize, descending: bool) -> Option<i64> {
        if !self.sorted || n == 0 {
            return None;
        }
        let lo = self.ts.partition_point(|&t| t < min);
        let hi = self.ts.partition_point(|&t| t <= max);
        if hi < lo || hi - lo < n {
            return None;
        }
        Some(if descending {
            self.ts[hi - n]
        } else {
            self.ts[lo + n - 1]
        })
    }

    /// Drops the values with `min <= t <= max`.
    pub fn remove_range(&mut self, min: i64, max: i64) {
        let lo = self.ts.partition_point(|&t| t < min);
        let hi = self.ts.partition_point(|&t| t <= max);
        if lo >= hi {
            return;
        }
        let mut out = Column::new(self.field_type());
        out.ts.extend_from_slice(&self.ts[..lo]);
        out.values.extend_from(&self.values, 0..lo);
        out.ts.extend_from_slice(&self.ts[hi..]);
        out.values.extend_from(&self.values, hi..self.ts.len());
        *self = out;
    }

    pub fn heap_bytes(&self) -> usize {
        self.ts.capacity() * 8 + self.values.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_write_wins_and_sorts() {
        let mut c = Column::new(FieldType::Integer);
        for (t, v) in [(3, 30), (1, 10), (3, 31), (2, 20), (1, 11)] {
            assert!(c.push(t, Value::Integer(v)));
        }
        assert!(!c.push(4, Value::Float(1.0)), "type mismatch refused");
        c.normalize();
        assert_eq!(c.ts, vec![1, 2, 3]);
        assert_eq!(c.values, Values::Integer(vec![11, 20, 31]));
    }

    #[test]
    fn merge_prefers_newer() {
        let mut old = Column::from_sorted(vec![1, 2, 4], Values::Float(vec![1.0, 2.0, 4.0]));
        let new = Column::from_sorted(vec![2, 3, 5], Values::Float(vec![20.0, 3.0, 5.0]));
        old.merge_newer(&new);
        assert_eq!(old.ts, vec![1, 2, 3, 4, 5]);
        assert_eq!(old.values, Values::Float(vec![1.0, 20.0, 3.0, 4.0, 5.0]));
        old.retain_range(2, 4);
        assert_eq!(old.ts, vec![2, 3, 4]);
    }

    #[test]
    fn range_copy_and_nth_time() {
        let mut c = Column::new(FieldType::Integer);
        for t in [5, 1, 3, 3, 9, 7] {
            assert!(c.push(t, Value::Integer(t * 10)));
        }
        // Not sorted yet: copied whole and normalized, no bound known.
        let r = c.range_copy(2, 7);
        assert_eq!(r.ts, vec![3, 5, 7]);
        assert_eq!(r.values, Values::Integer(vec![30, 50, 70]));
        assert_eq!(c.nth_time(i64::MIN, i64::MAX, 1, false), None);
        c.normalize();
        assert_eq!(c.range_copy(2, 7), r);
        assert_eq!(c.range_copy(10, 20).len(), 0);
        assert_eq!(c.nth_time(2, 9, 2, false), Some(5));
        assert_eq!(c.nth_time(2, 9, 2, true), Some(7));
        assert_eq!(c.nth_time(2, 9, 4, false), Some(9));
        assert_eq!(c.nth_time(2, 9, 5, false), None);
        assert_eq!(c.nth_time(2, 9, 0, false), None);
    }
}
