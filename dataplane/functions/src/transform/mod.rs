//! Transformations: functions over a group's ordered rows (raw points, or
//! the rows of an inner aggregate with GROUP BY time).

mod diff;
mod gota;
mod holtwinters;
mod moving;
mod neldermead;
mod ta;

use diff::{Derivative, Difference, Elapsed, Num};
use gota::Warmup;
use holtwinters::HoltWinters;
use moving::{CumulativeSum, MovingAverage};
use ta::{Ta, TaKind};

use crate::error::FunctionError;
use crate::value::{Arg, Point, ValueType};

/// What a transformation needs to know about the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformContext {
    /// The GROUP BY time interval in ns when the transformation runs over an
    /// aggregate (`derivative(mean(x)) … GROUP BY time(1m)`): the default unit
    /// of derivative() and the bucket of holt_winters(). `None` over raw points.
    pub interval: Option<i64>,
    /// False for `ORDER BY time DESC`: derivative() then divides by the
    /// negated elapsed time, as influxd does.
    pub ascending: bool,
}

impl Default for TransformContext {
    fn default() -> Self {
        TransformContext {
            interval: None,
            ascending: true,
        }
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Derivative(Derivative),
    Difference(Difference),
    Elapsed(Elapsed),
    MovingAverage(MovingAverage),
    CumulativeSum(CumulativeSum),
    Ta(Box<Ta>),
    HoltWinters(HoltWinters),
}

/// A transformation over one group's rows in time order: [`Transform::push`]
/// each row (null rows are skipped, as influxd skips `fill(null)` windows),
/// then [`Transform::finish`]. One instance per group (per series with
/// GROUP BY *, per tag set with GROUP BY tags).
#[derive(Debug, Clone)]
pub struct Transform {
    name: &'static str,
    input: ValueType,
    kind: Kind,
}

const NAMES: [&str; 17] = [
    "derivative",
    "non_negative_derivative",
    "difference",
    "non_negative_difference",
    "moving_average",
    "cumulative_sum",
    "elapsed",
    "holt_winters",
    "holt_winters_with_fit",
    "exponential_moving_average",
    "double_exponential_moving_average",
    "triple_exponential_moving_average",
    "relative_strength_index",
    "triple_exponential_derivative",
    "kaufmans_efficiency_ratio",
    "kaufmans_adaptive_moving_average",
    "chande_momentum_oscillator",
];

fn arity(name: &str, args: &[Arg], min: usize, max: usize) -> Result<(), FunctionError> {
    if args.len() < min || args.len() > max {
        return Err(FunctionError::ArgumentCount {
            function: name.to_string(),
            expected: if min == max {
                (min + 1).to_string()
            } else {
                format!("at least {} but no more than {}", min + 1, max + 1)
            },
            got: args.len() + 1,
        });
    }
    Ok(())
}

fn duration(name: &str, a: Option<&Arg>, default: i64) -> Result<i64, FunctionError> {
    match a {
        None => Ok(default),
        Some(Arg::Duration(d)) if *d > 0 => Ok(*d),
        Some(Arg::Duration(_)) => Err(FunctionError::InvalidArgument(
            "duration argument must be positive, got 0s".to_string(),
        )),
        Some(other) => Err(FunctionError::InvalidArgument(format!(
            "second argument to {name} must be a duration, got {}",
            other.go_type()
        ))),
    }
}

fn integer(name: &str, a: &Arg, what: &str) -> Result<i64, FunctionError> {
    match a {
        Arg::Integer(n) => Ok(*n),
        _ => Err(FunctionError::InvalidArgument(format!(
            "{name} {what} must be an integer"
        ))),
    }
}

fn ta_kind(name: &str) -> Option<TaKind> {
    Some(match name {
        "exponential_moving_average" => TaKind::Ema,
        "double_exponential_moving_average" => TaKind::Dema,
        "triple_exponential_moving_average" => TaKind::Tema,
        "relative_strength_index" => TaKind::Rsi,
        "triple_exponential_derivative" => TaKind::Trix,
        "kaufmans_efficiency_ratio" => TaKind::Ker,
        "kaufmans_adaptive_moving_average" => TaKind::Kama,
        "chande_momentum_oscillator" => TaKind::Cmo,
        _ => return None,
    })
}

fn ta(name: &str, kind: TaKind, args: &[Arg]) -> Result<Ta, FunctionError> {
    let warmup_arg = !matches!(kind, TaKind::Ker | TaKind::Kama);
    arity(name, args, 1, if warmup_arg { 3 } else { 2 })?;
    let period = integer(name, &args[0], "period")?;
    if period < 1 {
        return Err(FunctionError::InvalidArgument(format!(
            "{name} period must be greater than or equal to 1"
        )));
    }
    let hold = match args.get(1) {
        None => -1,
        Some(a) => integer(name, a, "hold period")?,
    };
    let min_hold = if kind == TaKind::Trix { 1 } else { 0 };
    if hold != -1 && hold < min_hold {
        return Err(FunctionError::InvalidArgument(format!(
            "{name} hold period must be greater than or equal to {min_hold}"
        )));
    }
    let warm = match args.get(2) {
        // chande_momentum_oscillator defaults to 'none' (the unsmoothed CMO).
        None if kind == TaKind::Cmo => None,
        None => Some(Warmup::Exponential),
        Some(Arg::String(s)) => match s.as_str() {
            "exponential" => Some(Warmup::Exponential),
            "simple" => Some(Warmup::Simple),
            "none" if kind == TaKind::Cmo => None,
            _ if kind == TaKind::Cmo => {
                return Err(FunctionError::InvalidArgument(format!(
                    "{name} warmup type must be one of: 'none' 'exponential' 'simple'"
                )))
            }
            _ => {
                return Err(FunctionError::InvalidArgument(format!(
                    "{name} warmup type must be one of: 'exponential' 'simple'"
                )))
            }
        },
        Some(_) => {
            return Err(FunctionError::InvalidArgument(format!(
                "{name} warmup type must be a string"
            )))
        }
    };
    if kind == TaKind::Cmo && warm.is_none() && period < 2 {
        // gota's unsmoothed CMO keeps period-1 points and cannot run with none.
        return Err(FunctionError::InvalidArgument(format!(
            "{name} period must be greater than or equal to 2 with warmup type 'none'"
        )));
    }
    Ok(Ta::new(kind, period as usize, hold, warm))
}

/// Creates the transformation `name(x, args…)` over rows of type `input`.
pub fn transform(
    name: &str,
    args: &[Arg],
    input: ValueType,
    ctx: TransformContext,
) -> Result<Transform, FunctionError> {
    let sname = NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| FunctionError::UnknownFunction(name.to_string()))?;
    let numeric = matches!(
        input,
        ValueType::Float | ValueType::Integer | ValueType::Unsigned
    );
    let type_ok = match sname {
        "elapsed" => true,
        "holt_winters" | "holt_winters_with_fit" => {
            matches!(input, ValueType::Float | ValueType::Integer)
        }
        _ => numeric,
    };
    if !type_ok {
        return Err(FunctionError::UnsupportedType {
            function: sname.to_string(),
            input,
        });
    }
    let kind = match sname {
        "derivative" | "non_negative_derivative" => {
            arity(sname, args, 0, 1)?;
            Kind::Derivative(Derivative {
                unit: duration(sname, args.first(), ctx.interval.unwrap_or(1_000_000_000))?,
                non_negative: sname.starts_with("non_"),
                ascending: ctx.ascending,
                curr: None,
            })
        }
        "difference" | "non_negative_difference" => {
            arity(sname, args, 0, 0)?;
            Kind::Difference(Difference {
                non_negative: sname.starts_with("non_"),
                curr: None,
            })
        }
        "elapsed" => {
            arity(sname, args, 0, 1)?;
            Kind::Elapsed(Elapsed {
                unit: duration(sname, args.first(), 1)?,
                prev: None,
            })
        }
        "moving_average" => {
            arity(sname, args, 1, 1)?;
            let n = integer(sname, &args[0], "window")?;
            if n <= 1 {
                return Err(FunctionError::InvalidArgument(format!(
                    "moving_average window must be greater than 1, got {n}"
                )));
            }
            Kind::MovingAverage(MovingAverage::new(n as usize))
        }
        "cumulative_sum" => {
            arity(sname, args, 0, 0)?;
            Kind::CumulativeSum(CumulativeSum::default())
        }
        "holt_winters" | "holt_winters_with_fit" => {
            arity(sname, args, 2, 2)?;
            let h = integer(sname, &args[0], "N")?;
            let m = integer(sname, &args[1], "S")?;
            if h < 1 {
                return Err(FunctionError::InvalidArgument(format!(
                    "second arg to {sname} must be greater than 0, got {h}"
                )));
            }
            if m < 0 {
                return Err(FunctionError::InvalidArgument(format!(
                    "third arg to {sname} cannot be negative, got {m}"
                )));
            }
            let interval = ctx.interval.ok_or_else(|| {
                FunctionError::InvalidArgument(format!(
                    "{sname} aggregate requires a GROUP BY interval"
                ))
            })?;
            Kind::HoltWinters(HoltWinters::new(
                h,
                m,
                sname == "holt_winters_with_fit",
                interval,
            ))
        }
        _ => {
            let k =
                ta_kind(sname).ok_or_else(|| FunctionError::UnknownFunction(sname.to_string()))?;
            Kind::Ta(Box::new(ta(sname, k, args)?))
        }
    };
    Ok(Transform {
        name: sname,
        input,
        kind,
    })
}

impl Transform {
    /// The function name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The type of the rows it emits: difference and cumulative_sum keep the
    /// input type, elapsed is integer, the rest float.
    pub fn output_type(&self) -> ValueType {
        match self.kind {
            Kind::Difference(_) | Kind::CumulativeSum(_) => self.input,
            Kind::Elapsed(_) => ValueType::Integer,
            _ => ValueType::Float,
        }
    }

    /// How many GROUP BY intervals before the query's start the inner
    /// aggregate must begin so that the first window gets a value: influxd
    /// widens the range by 1 for derivative, non_negative_derivative,
    /// difference, non_negative_difference and elapsed, by N-1 for
    /// moving_average(N), and by 0 for the rest. The caller computes the
    /// inner aggregate (with its fill) from `start - k * interval` and drops
    /// output rows before `start`.
    pub fn extra_intervals(&self) -> i64 {
        match &self.kind {
            Kind::Derivative(_) | Kind::Difference(_) | Kind::Elapsed(_) => 1,
            Kind::MovingAverage(m) => m.window() as i64 - 1,
            _ => 0,
        }
    }

    /// Feeds one row; rows it emits are appended to `out` with their times.
    pub fn push(&mut self, p: &Point, out: &mut Vec<Point>) {
        if p.value.is_null() {
            return;
        }
        let num = Num::of(&p.value);
        let emitted = match &mut self.kind {
            Kind::Elapsed(e) => e.push(p.time),
            Kind::Derivative(d) => num.and_then(|v| d.push(p.time, v)),
            Kind::Difference(d) => num.and_then(|v| d.push(p.time, v)),
            Kind::MovingAverage(m) => num.and_then(|v| m.push(p.time, v)),
            Kind::CumulativeSum(c) => num.and_then(|v| c.push(p.time, v)),
            Kind::Ta(t) => num.and_then(|v| t.push(p.time, v.as_f64())),
            Kind::HoltWinters(h) => {
                if let Some(v) = num {
                    h.push(p.time, v.as_f64());
                }
                None
            }
        };
        out.extend(emitted);
    }

    /// Emits what only the end of the rows can produce (holt_winters).
    pub fn finish(self, out: &mut Vec<Point>) {
        if let Kind::HoltWinters(h) = self.kind {
            out.extend(h.finish());
        }
    }

    /// Runs the transformation over all rows of a group.
    pub fn apply(mut self, rows: &[Point]) -> Vec<Point> {
        let mut out = Vec::new();
        for p in rows {
            self.push(p, &mut out);
        }
        self.finish(&mut out);
        out
    }
}
