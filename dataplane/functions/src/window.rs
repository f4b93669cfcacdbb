//! GROUP BY time windows (`IteratorOptions.Window` without time zones).

/// A GROUP BY time(interval, offset) bucketing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Interval in ns (> 0).
    pub interval: i64,
    /// Offset in ns; any value, only `offset mod interval` matters.
    pub offset: i64,
}

impl Window {
    /// A window of `interval` ns shifted by `offset` ns.
    pub fn new(interval: i64, offset: i64) -> Self {
        Window { interval, offset }
    }

    /// Start of the window holding `t` (saturating at `i64::MIN` as influxd does).
    pub fn start(&self, t: i64) -> i64 {
        let off = self.offset.rem_euclid(self.interval);
        let t0 = t.wrapping_sub(off);
        let dt = t0.rem_euclid(self.interval);
        if i64::MIN.wrapping_add(dt) >= t0 && t0 < 0 {
            return i64::MIN;
        }
        (t0 - dt).saturating_add(off)
    }

    /// End (exclusive) of the window holding `t`.
    pub fn end(&self, t: i64) -> i64 {
        self.start(t).saturating_add(self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        let w = Window::new(20, 5);
        assert_eq!(w.start(0), -15);
        assert_eq!(w.start(5), 5);
        assert_eq!(w.start(24), 5);
        assert_eq!(w.start(25), 25);
        let w = Window::new(20, -5);
        assert_eq!(w.start(0), -5);
        assert_eq!(Window::new(10, 0).start(-1), -10);
    }
}
