//! integral(): the trapezium rule over time-ordered points, with influxd
//! 1.6.7's handling of GROUP BY time windows (`FloatIntegralReducer`,
//! `IntegerIntegralReducer`): at a window's end the value is interpolated
//! between the last point inside and the first point after it, and the
//! next window starts from that interpolated point.
//!
//! influxd's integer variant differs from the float one: after
//! interpolating at a window end it keeps the old value of the previous
//! point and uses the *interpolated* value (not the new point's) for the
//! first trapezium of the next window. Both are reproduced.

use crate::value::{Point, Value};
use crate::window::Window;

/// `linearFloat`: the value at `t` on the line through two points.
pub(crate) fn linear(t: i64, t0: i64, t1: i64, v0: f64, v1: f64) -> f64 {
    let m = (v1 - v0) / (t1 - t0) as f64;
    let x = (t - t0) as f64;
    m * x + v0
}

/// The window bounds `[start, end)` holding a time, for windows that are not
/// all alike (GROUP BY time in a time zone).
pub type WindowOf = std::sync::Arc<dyn Fn(i64) -> (i64, i64) + Send + Sync>;

/// How an [`IntegralStream`] cuts time into windows.
#[derive(Clone)]
enum Windows {
    None,
    Fixed(Window),
    Zoned(WindowOf),
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Windows::None => f.write_str("None"),
            Windows::Fixed(w) => write!(f, "Fixed({w:?})"),
            Windows::Zoned(_) => f.write_str("Zoned"),
        }
    }
}

/// A streaming integral over one group's points in time order, emitting
/// one `(window start, area)` point per window that had points.
#[derive(Debug, Clone)]
pub struct IntegralStream {
    unit: f64,
    window: Windows,
    integer_input: bool,
    descending: bool,
    sum: f64,
    prev: Option<(i64, f64)>,
    start: i64,
    end: i64,
    out: Vec<Point>,
}

impl IntegralStream {
    /// `unit`: the integral's unit in ns (default 1s); `window`: the GROUP BY
    /// time interval, none without one; `query_start`: the WHERE lower bound
    /// (`None` when there is none) — influxd's integer variant uses it as the
    /// window start without GROUP BY time; `integer_input`: the field is an
    /// integer or unsigned field.
    pub fn new(
        unit: i64,
        window: Option<Window>,
        query_start: Option<i64>,
        integer_input: bool,
    ) -> Self {
        IntegralStream {
            unit: unit as f64,
            window: window.map_or(Windows::None, Windows::Fixed),
            integer_input,
            descending: false,
            sum: 0.0,
            prev: None,
            start: if integer_input {
                query_start.unwrap_or(0)
            } else {
                0
            },
            end: i64::MAX,
            out: Vec::new(),
        }
    }

    /// Reads the points newest first (ORDER BY time DESC), as influxd's
    /// reducer then does: a window runs from its end (the time it reports)
    /// back to its start, the areas come out negative, and a point exactly
    /// on a window's start closes that window twice (the second time with 0).
    pub fn set_descending(&mut self, descending: bool) {
        self.descending = descending;
        if descending && matches!(self.window, Windows::None) {
            self.end = i64::MIN;
        }
    }

    /// Cuts time with `window_of` instead: GROUP BY time with tz(), or the one
    /// window influxd's integer variant reads without GROUP BY time (the range).
    pub fn set_windows(&mut self, window_of: WindowOf) {
        self.window = Windows::Zoned(window_of);
    }

    fn set_window(&mut self, t: i64) {
        let (start, end) = match &self.window {
            Windows::None => return,
            Windows::Fixed(w) => (w.start(t), w.end(t)),
            Windows::Zoned(f) => f(t),
        };
        (self.start, self.end) = if self.descending {
            (end, start)
        } else {
            (start, end)
        };
    }

    /// Adds one point; points must come in time order (ascending, or
    /// descending after [`IntegralStream::set_descending`]).
    pub fn push(&mut self, time: i64, value: f64) {
        let Some((pt, pv)) = self.prev else {
            self.prev = Some((time, value));
            self.set_window(time);
            return;
        };
        if pt == time {
            self.prev = Some((time, value));
            return;
        }
        let mut prev = (pt, pv);
        let mut left = value;
        let crosses = if self.descending {
            time <= self.end
        } else {
            time >= self.end
        };
        if !matches!(self.window, Windows::None) && crosses {
            if pt != self.end {
                let v = linear(self.end, pt, time, pv, value);
                let elapsed = (self.end - pt) as f64 / self.unit;
                self.sum += 0.5 * (v + pv) * elapsed;
                if self.integer_input {
                    prev = (self.end, pv);
                    left = v;
                } else {
                    prev = (self.end, v);
                }
            }
            self.out
                .push(Point::new(self.start, Value::Float(self.sum)));
            self.set_window(time);
            self.sum = 0.0;
        }
        let elapsed = (time - prev.0) as f64 / self.unit;
        self.sum += 0.5 * (left + prev.1) * elapsed;
        self.prev = Some((time, value));
    }

    /// Flushes the last window. influxd drops it when the last point sits
    /// exactly on the window start (no area).
    pub fn finish(mut self) -> Vec<Point> {
        if let Some((pt, _)) = self.prev {
            if pt != self.start {
                self.out
                    .push(Point::new(self.start, Value::Float(self.sum)));
            }
        }
        self.out
    }
}
