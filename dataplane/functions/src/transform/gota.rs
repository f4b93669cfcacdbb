//! The technical-analysis algorithms influxd 1.6 vendors from gota
//! (query/internal/gota), with the same warm-up rules and arithmetic order.

/// How an exponential average behaves before it has `period` samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Warmup {
    /// 'exponential' (default): alpha scaled to 2/(count+2) while warming.
    Exponential,
    /// 'simple': a simple average while warming.
    Simple,
}

/// Exponential moving average (gota.EMA).
#[derive(Debug, Clone)]
pub(crate) struct Ema {
    period: usize,
    last: f64,
    count: usize,
    alpha: f64,
    warm: Warmup,
}

impl Ema {
    pub(crate) fn new(period: usize, warm: Warmup) -> Self {
        Ema {
            period,
            last: 0.0,
            count: 0,
            alpha: 2.0 / (period + 1) as f64,
            warm,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        self.period.saturating_sub(1)
    }

    pub(crate) fn warmed(&self) -> bool {
        self.count == self.period
    }

    pub(crate) fn last(&self) -> f64 {
        self.last
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let avg = if self.count == 0 {
            v
        } else {
            let last = self.last;
            if !self.warmed() {
                match self.warm {
                    Warmup::Simple => (last * self.count as f64 + v) / (self.count + 1) as f64,
                    Warmup::Exponential => {
                        let alpha = 2.0 / (self.count + 2) as f64;
                        (v - last) * alpha + last
                    }
                }
            } else {
                (v - last) * self.alpha + last
            }
        };
        self.last = avg;
        if self.count < self.period {
            self.count += 1;
        }
        avg
    }
}

/// Double exponential moving average (gota.DEMA).
#[derive(Debug, Clone)]
pub(crate) struct Dema {
    e1: Ema,
    e2: Ema,
}

impl Dema {
    pub(crate) fn new(period: usize, warm: Warmup) -> Self {
        Dema {
            e1: Ema::new(period, warm),
            e2: Ema::new(period, warm),
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        if self.e1.warm == Warmup::Exponential {
            self.e1.warm_count()
        } else {
            self.e1.warm_count() + self.e2.warm_count()
        }
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let a1 = self.e1.add(v);
        let a2 = if self.e1.warmed() || self.e1.warm == Warmup::Exponential {
            self.e2.add(a1)
        } else {
            a1
        };
        2.0 * a1 - a2
    }
}

/// Triple exponential moving average (gota.TEMA).
#[derive(Debug, Clone)]
pub(crate) struct Tema {
    e1: Ema,
    e2: Ema,
    e3: Ema,
}

impl Tema {
    pub(crate) fn new(period: usize, warm: Warmup) -> Self {
        Tema {
            e1: Ema::new(period, warm),
            e2: Ema::new(period, warm),
            e3: Ema::new(period, warm),
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        if self.e1.warm == Warmup::Exponential {
            self.e1.warm_count()
        } else {
            self.e1.warm_count() + self.e2.warm_count() + self.e3.warm_count()
        }
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let a1 = self.e1.add(v);
        let a2 = if self.e1.warmed() || self.e1.warm == Warmup::Exponential {
            self.e2.add(a1)
        } else {
            a1
        };
        let a3 = if self.e2.warmed() || self.e2.warm == Warmup::Exponential {
            self.e3.add(a2)
        } else {
            a2
        };
        3.0 * a1 - 3.0 * a2 + a3
    }
}

/// Triple exponential derivative (gota.TRIX): percent rate of change of a
/// triple-smoothed EMA.
#[derive(Debug, Clone)]
pub(crate) struct Trix {
    e1: Ema,
    e2: Ema,
    e3: Ema,
    last: f64,
    count: usize,
}

impl Trix {
    pub(crate) fn new(period: usize, warm: Warmup) -> Self {
        Trix {
            e1: Ema::new(period, warm),
            e2: Ema::new(period, warm),
            e3: Ema::new(period, warm),
            last: 0.0,
            count: 0,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        if self.e1.warm == Warmup::Exponential {
            self.e1.warm_count() + 1
        } else {
            self.e1.warm_count() * 3 + 1
        }
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let mut cur = self.e1.add(v);
        if self.e1.warmed() || self.e1.warm == Warmup::Exponential {
            cur = self.e2.add(cur);
            if self.e2.warmed() || self.e2.warm == Warmup::Exponential {
                cur = self.e3.add(cur);
            }
        }
        let rate = ((cur / self.last) - 1.0) * 100.0;
        self.last = cur;
        if self.count != 2 && self.e3.warmed() {
            self.count += 1;
        }
        rate
    }
}

/// Relative strength index (gota.RSI).
#[derive(Debug, Clone)]
pub(crate) struct Rsi {
    up: Ema,
    down: Ema,
    last_v: f64,
}

impl Rsi {
    pub(crate) fn new(period: usize, warm: Warmup) -> Self {
        let mut e = Ema::new(period + 1, warm);
        e.alpha = 1.0 / period as f64;
        Rsi {
            up: e.clone(),
            down: e,
            last_v: 0.0,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        self.up.warm_count()
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let (up, down) = up_down(v, self.last_v);
        self.up.add(up);
        self.down.add(down);
        self.last_v = v;
        100.0 - (100.0 / (1.0 + self.up.last() / self.down.last()))
    }
}

fn up_down(v: f64, last: f64) -> (f64, f64) {
    if v > last {
        (v - last, 0.0)
    } else if v < last {
        (0.0, last - v)
    } else {
        (0.0, 0.0)
    }
}

/// Chande momentum oscillator without smoothing (gota.CMO, warmup 'none').
#[derive(Debug, Clone)]
pub(crate) struct Cmo {
    points: Vec<(f64, f64)>,
    sum_up: f64,
    sum_down: f64,
    count: usize,
    idx: usize,
}

impl Cmo {
    pub(crate) fn new(period: usize) -> Self {
        Cmo {
            points: vec![(0.0, 0.0); period.saturating_sub(1)],
            sum_up: 0.0,
            sum_down: 0.0,
            count: 0,
            idx: 0,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        self.points.len()
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let n = self.points.len();
        if n == 0 {
            // gota indexes an empty ring here and panics; influxd never gets
            // here because period 1 is refused.
            return 0.0;
        }
        let mut oldest_idx = self.idx + 1;
        if oldest_idx == n {
            oldest_idx = 0;
        }
        let mut diff = 0.0;
        if self.count != 0 {
            let prev = self.points[self.idx];
            diff = v - prev.0;
            if diff > 0.0 {
                self.sum_up += diff;
            } else if diff < 0.0 {
                self.sum_down -= diff;
            }
        }
        let mut out = 0.0;
        if self.sum_up != 0.0 || self.sum_down != 0.0 {
            out = 100.0 * ((self.sum_up - self.sum_down) / (self.sum_up + self.sum_down));
        }
        let oldest = self.points[oldest_idx];
        if oldest.1 > 0.0 {
            self.sum_up -= oldest.1;
        } else if oldest.1 < 0.0 {
            self.sum_down += oldest.1;
        }
        self.points[oldest_idx] = (v, diff);
        self.idx = oldest_idx;
        if self.count != n + 2 {
            self.count += 1;
        }
        out
    }
}

/// Chande momentum oscillator smoothed like ta-lib (gota.CMOS).
#[derive(Debug, Clone)]
pub(crate) struct Cmos {
    up: Ema,
    down: Ema,
    last_v: f64,
}

impl Cmos {
    pub(crate) fn new(period: usize, warm: Warmup) -> Self {
        let mut e = Ema::new(period + 1, warm);
        e.alpha = 1.0 / period as f64;
        Cmos {
            up: e.clone(),
            down: e,
            last_v: 0.0,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        self.up.warm_count()
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let (up, down) = up_down(v, self.last_v);
        self.up.add(up);
        self.down.add(down);
        self.last_v = v;
        let (u, d) = (self.up.last(), self.down.last());
        100.0 * ((u - d) / (u + d))
    }
}

/// Kaufman's efficiency ratio (gota.KER).
#[derive(Debug, Clone)]
pub(crate) struct Ker {
    points: Vec<(f64, f64)>,
    noise: f64,
    count: usize,
    idx: usize,
}

impl Ker {
    pub(crate) fn new(period: usize) -> Self {
        Ker {
            points: vec![(0.0, 0.0); period],
            noise: 0.0,
            count: 0,
            idx: 0,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        self.points.len()
    }

    fn warmed(&self) -> bool {
        self.count == self.points.len() + 1
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        let n = self.points.len();
        let mut oldest_idx = self.idx + 1;
        if oldest_idx >= n {
            oldest_idx = 0;
        }
        let signal = (v - self.points[oldest_idx].0).abs();
        let kp = (v, (v - self.points[self.idx].0).abs());
        self.noise -= self.points[oldest_idx].1;
        self.noise += kp.1;
        let noise = self.noise;
        self.idx = oldest_idx;
        self.points[self.idx] = kp;
        if !self.warmed() {
            self.count += 1;
        }
        if signal == 0.0 || noise == 0.0 {
            return 0.0;
        }
        signal / noise
    }
}

/// Kaufman's adaptive moving average (gota.KAMA).
#[derive(Debug, Clone)]
pub(crate) struct Kama {
    ker: Ker,
    last: f64,
}

impl Kama {
    pub(crate) fn new(period: usize) -> Self {
        Kama {
            ker: Ker::new(period),
            last: 0.0,
        }
    }

    pub(crate) fn warm_count(&self) -> usize {
        self.ker.warm_count()
    }

    pub(crate) fn add(&mut self, v: f64) -> f64 {
        if !self.ker.warmed() {
            self.last = self.ker.points[self.ker.idx].0;
        }
        let er = self.ker.add(v);
        // Go folds `2.0/(2.0+1.0) - 2.0/(30.0+1.0)` exactly at compile time:
        // 2/3 - 2/31 = 56/93, rounded once.
        let x = er * (56.0 / 93.0) + 2.0 / 31.0;
        let sc = x * x;
        self.last += sc * (v - self.last);
        self.last
    }
}
