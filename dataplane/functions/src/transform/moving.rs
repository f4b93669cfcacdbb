//! moving_average() and cumulative_sum().

use super::diff::Num;
use crate::value::{Point, Value};

/// A ring of the last `n` values and their running sum, as
/// `FloatMovingAverageReducer` (the sum is updated, not recomputed).
#[derive(Debug, Clone)]
pub(crate) struct MovingAverage {
    n: usize,
    pos: usize,
    sum: Sum,
    buf: Vec<Num>,
}

#[derive(Debug, Clone, Copy)]
enum Sum {
    F(f64),
    I(i64),
    U(u64),
}

impl MovingAverage {
    pub(crate) fn new(n: usize) -> Self {
        MovingAverage {
            n,
            pos: 0,
            sum: Sum::F(0.0),
            // (The window grows with the points: N may be far more than will come.)
            buf: Vec::with_capacity(n.min(1024)),
        }
    }

    pub(crate) fn window(&self) -> usize {
        self.n
    }

    pub(crate) fn push(&mut self, time: i64, v: Num) -> Option<Point> {
        if self.buf.is_empty() {
            self.sum = match v {
                Num::F(_) => Sum::F(0.0),
                Num::I(_) => Sum::I(0),
                Num::U(_) => Sum::U(0),
            };
        }
        if self.buf.len() != self.n {
            self.buf.push(v);
        } else {
            let old = self.buf[self.pos];
            self.sum = sub(self.sum, old);
            self.buf[self.pos] = v;
        }
        self.sum = add(self.sum, v);
        self.pos += 1;
        if self.pos >= self.n {
            self.pos = 0;
        }
        if self.buf.len() != self.n {
            return None;
        }
        let s = match self.sum {
            Sum::F(s) => s,
            Sum::I(s) => s as f64,
            Sum::U(s) => s as f64,
        };
        Some(Point::new(time, Value::Float(s / self.buf.len() as f64)))
    }
}

fn add(s: Sum, v: Num) -> Sum {
    match (s, v) {
        (Sum::F(s), v) => Sum::F(s + v.as_f64()),
        (Sum::I(s), Num::I(v)) => Sum::I(s.wrapping_add(v)),
        (Sum::U(s), Num::U(v)) => Sum::U(s.wrapping_add(v)),
        (s, _) => s,
    }
}

fn sub(s: Sum, v: Num) -> Sum {
    match (s, v) {
        (Sum::F(s), v) => Sum::F(s - v.as_f64()),
        (Sum::I(s), Num::I(v)) => Sum::I(s.wrapping_sub(v)),
        (Sum::U(s), Num::U(v)) => Sum::U(s.wrapping_sub(v)),
        (s, _) => s,
    }
}

/// Running sum in the input type (integers wrap like Go).
#[derive(Debug, Clone, Default)]
pub(crate) struct CumulativeSum {
    sum: Option<Num>,
}

impl CumulativeSum {
    pub(crate) fn push(&mut self, time: i64, v: Num) -> Option<Point> {
        let s = match (self.sum, v) {
            (None, v) => v,
            (Some(Num::F(s)), v) => Num::F(s + v.as_f64()),
            (Some(Num::I(s)), Num::I(v)) => Num::I(s.wrapping_add(v)),
            (Some(Num::U(s)), Num::U(v)) => Num::U(s.wrapping_add(v)),
            (Some(s), _) => s,
        };
        self.sum = Some(s);
        Some(Point::new(
            time,
            match s {
                Num::F(x) => Value::Float(x),
                Num::I(x) => Value::Integer(x),
                Num::U(x) => Value::Unsigned(x),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_past_the_points_answers_nothing() {
        // The window is the user's: it may be far more than any memory holds.
        let mut m = MovingAverage::new(usize::MAX);
        assert!((0..10).all(|i| m.push(i, Num::F(i as f64)).is_none()));
        let mut m = MovingAverage::new(2);
        assert!(m.push(0, Num::I(1)).is_none());
        assert_eq!(m.push(1, Num::I(3)), Some(Point::new(1, Value::Float(2.0))));
    }
}
