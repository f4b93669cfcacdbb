//! holt_winters() and holt_winters_with_fit(): influxd's damped
//! Holt-Winters forecast (`FloatHoltWintersReducer`), fitted by a grid of
//! sixteen Nelder–Mead runs. Reproduced operation for operation, including
//! its quirks: the recursion feeds on its own forecast rather than on the
//! data, the objective clamps and rewrites the parameter vector it is
//! given, and points are bucketed by rounding their time to the interval.

use super::neldermead;
use crate::gomath;
use crate::value::{Point, Value};

/// Weight for the initial level and trend guesses.
const WEIGHT: f64 = 0.5;
/// Convergence bound of the minimiser.
const EPSILON: f64 = 1.0e-4;
/// The grid of starting guesses for alpha, beta, gamma and phi:
/// from 0.3 below 1.0 in steps of 0.4 (0.3 and 0.7).
const GUESS_LOWER: f64 = 0.3;
const GUESS_UPPER: f64 = 1.0;
const GUESS_STEP: f64 = 0.4;

#[derive(Debug, Clone)]
pub(crate) struct HoltWinters {
    h: i64,
    m: usize,
    seasonal: bool,
    interval: i64,
    fit: bool,
    points: Vec<(i64, f64)>,
}

impl HoltWinters {
    pub(crate) fn new(h: i64, m: i64, fit: bool, interval: i64) -> Self {
        HoltWinters {
            h,
            m: m.max(0) as usize,
            seasonal: m >= 2,
            interval,
            fit,
            points: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, time: i64, value: f64) {
        self.points.push((time, value));
    }

    fn round_time(&self, t: i64) -> i64 {
        let rem = t % self.interval;
        if rem > self.interval / 2 {
            (t / self.interval + 1) * self.interval
        } else {
            (t / self.interval) * self.interval
        }
    }

    pub(crate) fn finish(self) -> Vec<Point> {
        let l = self.points.len();
        if l < 2 || (self.seasonal && l < self.m) || self.h <= 0 || self.interval <= 0 {
            return Vec::new();
        }
        let start = self.round_time(self.points[0].0);
        let stop = self.round_time(self.points[l - 1].0);
        if (stop - start) / self.interval <= 0 {
            return Vec::new();
        }
        let mut y = vec![self.points[0].1];
        let mut t = start;
        for &(pt, pv) in &self.points[1..] {
            let rounded = self.round_time(pt);
            if rounded <= t {
                continue;
            }
            t += self.interval;
            while rounded != t {
                y.push(f64::NAN);
                t += self.interval;
            }
            y.push(pv);
        }
        let fit = Fit {
            y,
            m: self.m,
            seasonal: self.seasonal,
        };
        let params = fit.best_params();
        let forecast = fit.forecast(self.h as usize, &mut params.clone());
        let mut out = Vec::new();
        if self.fit {
            let first = self.points[0].0;
            for (i, &v) in forecast.iter().enumerate() {
                if !v.is_nan() {
                    out.push(Point::new(
                        first + self.interval * i as i64,
                        Value::Float(v),
                    ));
                }
            }
        } else {
            let last = self.points[l - 1].0;
            for (i, &v) in forecast[fit.y.len()..].iter().enumerate() {
                if !v.is_nan() {
                    out.push(Point::new(
                        last + self.interval * (i as i64 + 1),
                        Value::Float(v),
                    ));
                }
            }
        }
        out
    }
}

struct Fit {
    y: Vec<f64>,
    m: usize,
    seasonal: bool,
}

impl Fit {
    fn best_params(&self) -> Vec<f64> {
        let y = &self.y;
        let m = self.m;
        let mut l0 = 0.0;
        if self.seasonal {
            for &v in y.iter().take(m) {
                if !v.is_nan() {
                    l0 += (1.0 / m as f64) * v;
                }
            }
        } else {
            l0 += WEIGHT * y[0];
        }
        let mut b0 = 0.0;
        if self.seasonal {
            let mut i = 0;
            while i < m && m + i < y.len() {
                if !y[i].is_nan() && !y[m + i].is_nan() {
                    b0 += 1.0 / (m * m) as f64 * (y[m + i] - y[i]);
                }
                i += 1;
            }
        } else if !y[1].is_nan() {
            b0 = WEIGHT * (y[1] - y[0]);
        }
        let mut params = vec![0.0; 6 + if self.seasonal { m } else { 0 }];
        params[4] = l0;
        params[5] = b0;
        if self.seasonal {
            for i in 0..m {
                params[6 + i] = if y[i].is_nan() { 0.0 } else { y[i] / l0 };
            }
        }
        let mut min_sse = f64::INFINITY;
        let mut best: Option<Vec<f64>> = None;
        let mut alpha = GUESS_LOWER;
        while alpha < GUESS_UPPER {
            let mut beta = GUESS_LOWER;
            while beta < GUESS_UPPER {
                let mut gamma = GUESS_LOWER;
                while gamma < GUESS_UPPER {
                    let mut phi = GUESS_LOWER;
                    while phi < GUESS_UPPER {
                        params[0] = alpha;
                        params[1] = beta;
                        params[2] = gamma;
                        params[3] = phi;
                        let (sse, p) = neldermead::optimize(|x| self.sse(x), &params, EPSILON, 1.0);
                        if sse < min_sse || best.is_none() {
                            min_sse = sse;
                            best = Some(p);
                        }
                        phi += GUESS_STEP;
                    }
                    gamma += GUESS_STEP;
                }
                beta += GUESS_STEP;
            }
            alpha += GUESS_STEP;
        }
        best.unwrap_or(params)
    }

    fn sse(&self, params: &mut [f64]) -> f64 {
        let f = self.forecast(0, params);
        let mut sse = 0.0;
        for (i, &v) in f.iter().enumerate() {
            if !self.y[i].is_nan() {
                if v.is_nan() {
                    return f64::INFINITY;
                }
                let d = v - self.y[i];
                sse += d * d;
            }
        }
        sse
    }

    /// The recursion over `y.len() + h` steps; clamps `params[0..4]` to
    /// [0, 1] and overwrites the seasonal part of `params`, like influxd.
    fn forecast(&self, h: usize, params: &mut [f64]) -> Vec<f64> {
        for p in params.iter_mut().take(4) {
            *p = p.clamp(0.0, 1.0);
        }
        let (alpha, beta, gamma, phi) = (params[0], params[1], params[2], params[3]);
        let mut y_t = self.y[0];
        let mut phi_h = phi;
        let mut l_t = params[4];
        let mut b_t = params[5];
        let (mut m, mut so) = (0usize, 0usize);
        if self.seasonal {
            m = params.len() - 6;
            if m == 1 {
                params[6] = 1.0;
            }
            so = m - 1;
        }
        let l = self.y.len();
        let mut out = vec![0.0; l + h];
        out[0] = y_t;
        let (mut stm, mut stmh) = (1.0, 1.0);
        for t in 1..l + h {
            if self.seasonal {
                let hm = t % m;
                stm = params[6 + (t + so - m) % m];
                stmh = params[6 + (t + hm + so - m) % m];
            }
            let l_tp = l_t;
            let b_tp = b_t;
            l_t = alpha * (y_t / stm) + (1.0 - alpha) * (l_tp + phi * b_tp);
            b_t = beta * (l_t - l_tp) + (1.0 - beta) * phi * b_tp;
            let s_t = gamma * (y_t / (l_tp + phi * b_tp)) + (1.0 - gamma) * stm;
            y_t = (l_t + phi_h * b_t) * stmh;
            phi_h += gomath::pow(phi, t as f64);
            if self.seasonal {
                params[6 + (t + so) % m] = s_t;
                so += 1;
            }
            out[t] = y_t;
        }
        out
    }
}
