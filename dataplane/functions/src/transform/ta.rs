//! The technical-analysis transformations: a gota algorithm plus influxd's
//! hold period (rows are emitted only after `hold` inputs).

use super::gota::{Cmo, Cmos, Dema, Ema, Kama, Ker, Rsi, Tema, Trix, Warmup};
use crate::value::{Point, Value};

#[derive(Debug, Clone)]
pub(crate) enum Alg {
    Ema(Ema),
    Dema(Dema),
    Tema(Tema),
    Rsi(Rsi),
    Trix(Trix),
    Cmo(Cmo),
    Cmos(Cmos),
    Ker(Ker),
    Kama(Kama),
}

/// Which algorithm and warm-up a TA function was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaKind {
    Ema,
    Dema,
    Tema,
    Rsi,
    Trix,
    Cmo,
    Ker,
    Kama,
}

impl Alg {
    /// `warm`: None is 'none' (only chande_momentum_oscillator takes it).
    pub(crate) fn new(kind: TaKind, period: usize, warm: Option<Warmup>) -> Alg {
        let w = warm.unwrap_or(Warmup::Exponential);
        match kind {
            TaKind::Ema => Alg::Ema(Ema::new(period, w)),
            TaKind::Dema => Alg::Dema(Dema::new(period, w)),
            TaKind::Tema => Alg::Tema(Tema::new(period, w)),
            TaKind::Rsi => Alg::Rsi(Rsi::new(period, w)),
            TaKind::Trix => Alg::Trix(Trix::new(period, w)),
            TaKind::Cmo if warm.is_none() => Alg::Cmo(Cmo::new(period)),
            TaKind::Cmo => Alg::Cmos(Cmos::new(period, w)),
            TaKind::Ker => Alg::Ker(Ker::new(period)),
            TaKind::Kama => Alg::Kama(Kama::new(period)),
        }
    }

    fn warm_count(&self) -> usize {
        match self {
            Alg::Ema(a) => a.warm_count(),
            Alg::Dema(a) => a.warm_count(),
            Alg::Tema(a) => a.warm_count(),
            Alg::Rsi(a) => a.warm_count(),
            Alg::Trix(a) => a.warm_count(),
            Alg::Cmo(a) => a.warm_count(),
            Alg::Cmos(a) => a.warm_count(),
            Alg::Ker(a) => a.warm_count(),
            Alg::Kama(a) => a.warm_count(),
        }
    }

    fn add(&mut self, v: f64) -> f64 {
        match self {
            Alg::Ema(a) => a.add(v),
            Alg::Dema(a) => a.add(v),
            Alg::Tema(a) => a.add(v),
            Alg::Rsi(a) => a.add(v),
            Alg::Trix(a) => a.add(v),
            Alg::Cmo(a) => a.add(v),
            Alg::Cmos(a) => a.add(v),
            Alg::Ker(a) => a.add(v),
            Alg::Kama(a) => a.add(v),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Ta {
    alg: Alg,
    hold: u64,
    count: u64,
    drop_inf: bool,
}

impl Ta {
    /// `hold`: -1 means the algorithm's warm-up count.
    pub(crate) fn new(kind: TaKind, period: usize, hold: i64, warm: Option<Warmup>) -> Ta {
        let alg = Alg::new(kind, period, warm);
        let hold = if hold == -1 {
            alg.warm_count() as u64
        } else {
            hold as u64
        };
        Ta {
            alg,
            hold,
            count: 0,
            // TRIX, KER and KAMA drop infinite values (a division by a zero average).
            drop_inf: matches!(kind, TaKind::Trix | TaKind::Ker | TaKind::Kama),
        }
    }

    pub(crate) fn push(&mut self, time: i64, v: f64) -> Option<Point> {
        let out = self.alg.add(v);
        self.count += 1;
        if self.count <= self.hold || (self.drop_inf && out.is_infinite()) {
            return None;
        }
        Some(Point::new(time, Value::Float(out)))
    }
}
