//! distinct() and count(distinct()): one entry per value with the times it
//! was first and last seen; influxd emits the values in the order it met
//! them: by first time, or by last time when it reads newest first (ORDER BY
//! time DESC).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::column::{Column, Scalar};
use crate::error::FunctionError;
use crate::value::{Point, Value, ValueType};
use crate::wire::{self, Reader};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    F(u64),
    I(i64),
    U(u64),
    S(String),
    B(bool),
}

fn float_key(v: f64) -> Key {
    // Go map keys compare floats with ==, so 0 and -0 are one key.
    Key::F(if v == 0.0 { 0 } else { v.to_bits() })
}

impl Key {
    fn of(s: &Scalar) -> Key {
        match s {
            Scalar::F(v) => float_key(*v),
            Scalar::I(v) => Key::I(*v),
            Scalar::U(v) => Key::U(*v),
            Scalar::S(v) => Key::S(v.clone()),
            Scalar::B(v) => Key::B(*v),
        }
    }
}

/// The distinct values seen so far, each with its first and last time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Distinct {
    seen: HashMap<Key, (i64, i64, Scalar)>,
    /// Order the answer by last times (not part of the state that travels).
    pub(crate) latest_first: bool,
}

impl Distinct {
    fn offer(&mut self, key: Key, first: i64, last: i64, value: impl FnOnce() -> Scalar) {
        match self.seen.get_mut(&key) {
            Some(e) => {
                e.0 = e.0.min(first);
                e.1 = e.1.max(last);
            }
            None => {
                self.seen.insert(key, (first, last, value()));
            }
        }
    }

    pub(crate) fn push_column(&mut self, times: &[i64], c: Column<'_>) {
        match c {
            Column::Float(v) => {
                for (&t, &x) in times.iter().zip(v) {
                    self.offer(float_key(x), t, t, || Scalar::F(x));
                }
            }
            Column::Integer(v) => {
                for (&t, &x) in times.iter().zip(v) {
                    self.offer(Key::I(x), t, t, || Scalar::I(x));
                }
            }
            Column::Unsigned(v) => {
                for (&t, &x) in times.iter().zip(v) {
                    self.offer(Key::U(x), t, t, || Scalar::U(x));
                }
            }
            Column::String(v) => {
                for (&t, x) in times.iter().zip(v) {
                    self.offer(Key::S(x.clone()), t, t, || Scalar::S(x.clone()));
                }
            }
            Column::Boolean(v) => {
                for (&t, &x) in times.iter().zip(v) {
                    self.offer(Key::B(x), t, t, || Scalar::B(x));
                }
            }
        }
    }

    pub(crate) fn push(&mut self, time: i64, s: Scalar) {
        let k = Key::of(&s);
        self.offer(k, time, time, || s);
    }

    pub(crate) fn merge(&mut self, other: Distinct) {
        for (k, (first, last, s)) in other.seen {
            self.offer(k, first, last, || s);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// The values ordered by first (or last) time, then value; all stamped `time`.
    pub(crate) fn finish(self, time: i64) -> Vec<Point> {
        let latest = self.latest_first;
        let mut v: Vec<(i64, Scalar)> = self
            .seen
            .into_values()
            .map(|(first, last, s)| (if latest { last } else { first }, s))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| value_order(&a.1, &b.1)));
        v.into_iter()
            .map(|(_, s)| Point::new(time, s.into_value()))
            .collect()
    }
}

/// Go's `<` as a total order. Only NaN (which line protocol cannot write)
/// is unordered by `<`: it goes after the numbers, NaNs by their bits, so
/// the output does not depend on the hash map's order (nor on where a
/// shipped partial was decoded) and the sort sees a consistent order.
fn value_order(a: &Scalar, b: &Scalar) -> Ordering {
    if let (Scalar::F(x), Scalar::F(y)) = (a, b) {
        if x.is_nan() || y.is_nan() {
            return (x.is_nan(), x.to_bits()).cmp(&(y.is_nan(), y.to_bits()));
        }
    }
    if a.lt(b) {
        Ordering::Less
    } else if b.lt(a) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// count(distinct()) result.
pub(crate) fn count_value(d: &Distinct) -> Value {
    Value::Integer(d.len() as i64)
}

// Wire encoding (see `crate::wire`): the entries sorted by key, so the
// bytes do not depend on the hash map's order and re-encode identically.

impl Distinct {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        let mut e: Vec<(&Key, &(i64, i64, Scalar))> = self.seen.iter().collect();
        e.sort_unstable_by(|a, b| a.0.cmp(b.0));
        wire::put_uvarint(out, e.len() as u64);
        for (_, (first, last, s)) in e {
            wire::put_ivarint(out, *first);
            wire::put_uvarint(out, last.wrapping_sub(*first) as u64);
            s.save(out);
        }
    }

    pub(crate) fn load(&mut self, r: &mut Reader<'_>, t: ValueType) -> Result<(), FunctionError> {
        // Each entry takes at least a byte for each time and one of value.
        let n = r.count(3, "distinct count")?;
        self.seen = HashMap::with_capacity(n);
        let mut last: Option<Key> = None;
        for _ in 0..n {
            let first = r.ivarint("distinct time")?;
            let until = first.wrapping_add(r.uvarint("distinct span")? as i64);
            if until < first {
                return Err(r.error("distinct span", "ends before it starts"));
            }
            let s = Scalar::load(r, t)?;
            let k = Key::of(&s);
            if last.as_ref().is_some_and(|l| *l >= k) {
                return Err(r.error("distinct value", "not in ascending key order"));
            }
            last = Some(k.clone());
            self.seen.insert(k, (first, until, s));
        }
        Ok(())
    }
}
