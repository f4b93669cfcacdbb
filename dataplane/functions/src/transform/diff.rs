//! derivative(), non_negative_derivative(), difference(),
//! non_negative_difference() and elapsed(): functions of consecutive rows.

use crate::value::{Point, Value};

/// The numeric value of a row as influxd's reducers hold it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    F(f64),
    I(i64),
    U(u64),
}

impl Num {
    pub(crate) fn of(v: &Value) -> Option<Num> {
        match *v {
            Value::Float(x) => Some(Num::F(x)),
            Value::Integer(x) => Some(Num::I(x)),
            Value::Unsigned(x) => Some(Num::U(x)),
            _ => None,
        }
    }

    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::F(x) => x,
            Num::I(x) => x as f64,
            Num::U(x) => x as f64,
        }
    }
}

/// Points with the time of the current point are skipped: influxd keeps
/// the first of several points at one timestamp (a group of series).
#[derive(Debug, Clone)]
pub(crate) struct Derivative {
    pub(crate) unit: i64,
    pub(crate) non_negative: bool,
    pub(crate) ascending: bool,
    pub(crate) curr: Option<(i64, Num)>,
}

impl Derivative {
    pub(crate) fn push(&mut self, time: i64, v: Num) -> Option<Point> {
        let prev = match self.curr {
            Some((t, _)) if t == time => return None,
            c => c,
        };
        self.curr = Some((time, v));
        let (pt, pv) = prev?;
        let diff = match (v, pv) {
            (Num::F(c), Num::F(p)) => c - p,
            (Num::I(c), Num::I(p)) => c.wrapping_sub(p) as f64,
            (Num::U(c), Num::U(p)) if c > p => (c - p) as f64,
            (Num::U(c), Num::U(p)) => -((p - c) as f64),
            (c, p) => c.as_f64() - p.as_f64(),
        };
        let mut elapsed = time - pt;
        if !self.ascending {
            elapsed = -elapsed;
        }
        let value = diff / (elapsed as f64 / self.unit as f64);
        if self.non_negative && diff < 0.0 {
            return None;
        }
        Some(Point::new(time, Value::Float(value)))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Difference {
    pub(crate) non_negative: bool,
    pub(crate) curr: Option<(i64, Num)>,
}

impl Difference {
    pub(crate) fn push(&mut self, time: i64, v: Num) -> Option<Point> {
        let prev = match self.curr {
            Some((t, _)) if t == time => return None,
            c => c,
        };
        self.curr = Some((time, v));
        let (_, pv) = prev?;
        let value = match (v, pv) {
            (Num::F(c), Num::F(p)) => {
                let d = c - p;
                if self.non_negative && d < 0.0 {
                    return None;
                }
                Value::Float(d)
            }
            (Num::I(c), Num::I(p)) => {
                let d = c.wrapping_sub(p);
                if self.non_negative && d < 0 {
                    return None;
                }
                Value::Integer(d)
            }
            (Num::U(c), Num::U(p)) => {
                if self.non_negative && c < p {
                    return None;
                }
                Value::Unsigned(c.wrapping_sub(p))
            }
            (c, p) => {
                let d = c.as_f64() - p.as_f64();
                if self.non_negative && d < 0.0 {
                    return None;
                }
                Value::Float(d)
            }
        };
        Some(Point::new(time, value))
    }
}

/// elapsed(): time since the previous row in `unit`s (integer division).
#[derive(Debug, Clone)]
pub(crate) struct Elapsed {
    pub(crate) unit: i64,
    pub(crate) prev: Option<i64>,
}

impl Elapsed {
    pub(crate) fn push(&mut self, time: i64) -> Option<Point> {
        let prev = self.prev.replace(time)?;
        Some(Point::new(time, Value::Integer((time - prev) / self.unit)))
    }
}
