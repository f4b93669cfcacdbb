//! Creating reducers: names, argument checks and influxd's type rules.

use super::column::Kept;
use super::distinct::Distinct;
use super::sample::Sample;
use super::selector::{Pick, Selector};
use super::simple::{Acc, Mean, Spread};
use super::topbottom::TopBottom;
use super::{Reducer, State};
use crate::error::FunctionError;
use crate::value::{Arg, ValueType};

/// The function a reducer computes, with its parsed arguments.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Func {
    Count,
    CountDistinct,
    Distinct,
    Integral { unit: i64 },
    Mean,
    Median,
    Mode,
    Spread,
    Stddev,
    Sum,
    Select(Pick),
    Percentile(f64),
    Sample(usize),
    Top { n: usize, tags: Vec<String> },
    Bottom { n: usize, tags: Vec<String> },
}

/// Every function name; the wire encoding stores an index into this list,
/// so only append to it.
pub(super) const NAMES: [&str; 19] = [
    "count",
    "count_distinct",
    "distinct",
    "integral",
    "mean",
    "median",
    "mode",
    "spread",
    "stddev",
    "sum",
    "first",
    "last",
    "max",
    "min",
    "percentile",
    "sample",
    "top",
    "bottom",
    "count(distinct)",
];

fn static_name(name: &str) -> Option<&'static str> {
    NAMES.iter().find(|n| **n == name).copied()
}

fn want_args(
    name: &str,
    args: &[Arg],
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), FunctionError> {
    if range.contains(&args.len()) {
        return Ok(());
    }
    let expected = if range.start() == range.end() {
        (range.start() + 1).to_string()
    } else {
        format!(
            "at least {} but no more than {}",
            range.start() + 1,
            range.end() + 1
        )
    };
    Err(FunctionError::ArgumentCount {
        function: name.to_string(),
        expected,
        got: args.len() + 1,
    })
}

fn positive_int(name: &str, a: &Arg, what: &str) -> Result<usize, FunctionError> {
    match a {
        Arg::Integer(n) if *n > 0 => Ok(*n as usize),
        Arg::Integer(n) => Err(FunctionError::InvalidArgument(format!(
            "{what} ({n}) in {name} function must be at least 1"
        ))),
        other => Err(FunctionError::InvalidArgument(format!(
            "expected integer as last argument in {name}(), found {}",
            other.text()
        ))),
    }
}

/// Creates the reducer for `name(field, args…)` over a field of type `input`.
///
/// `name` is one of count, distinct, count_distinct (for
/// `count(distinct(x))`), integral, mean, median, mode, spread, stddev, sum,
/// first, last, max, min, percentile, sample, top, bottom. `args` are the
/// literal arguments after the field. Types are checked as influxd does:
/// strings and booleans only go to count, distinct, mode, first, last and
/// sample (booleans also to min and max).
pub fn reducer(name: &str, args: &[Arg], input: ValueType) -> Result<Reducer, FunctionError> {
    let sname =
        static_name(name).ok_or_else(|| FunctionError::UnknownFunction(name.to_string()))?;
    let func = match sname {
        "count" | "distinct" | "count_distinct" | "count(distinct)" | "mean" | "median"
        | "mode" | "spread" | "stddev" | "sum" | "first" | "last" | "max" | "min" => {
            want_args(name, args, 0..=0)?;
            match sname {
                "count" => Func::Count,
                "distinct" => Func::Distinct,
                "mean" => Func::Mean,
                "median" => Func::Median,
                "mode" => Func::Mode,
                "spread" => Func::Spread,
                "stddev" => Func::Stddev,
                "sum" => Func::Sum,
                "first" => Func::Select(Pick::First),
                "last" => Func::Select(Pick::Last),
                "max" => Func::Select(Pick::Max),
                "min" => Func::Select(Pick::Min),
                _ => Func::CountDistinct,
            }
        }
        "integral" => {
            want_args(name, args, 0..=1)?;
            let unit = match args.first() {
                None => 1_000_000_000,
                Some(Arg::Duration(d)) if *d > 0 => *d,
                Some(Arg::Duration(_)) => {
                    return Err(FunctionError::InvalidArgument(
                        "duration argument must be positive, got 0s".to_string(),
                    ))
                }
                Some(other) => {
                    return Err(FunctionError::InvalidArgument(format!(
                        "second argument to integral must be a duration, got {}",
                        other.go_type()
                    )))
                }
            };
            Func::Integral { unit }
        }
        "percentile" => {
            want_args(name, args, 1..=1)?;
            match args[0] {
                Arg::Integer(n) => Func::Percentile(n as f64),
                Arg::Float(f) => Func::Percentile(f),
                _ => {
                    return Err(FunctionError::InvalidArgument(
                        "expected float argument in percentile()".to_string(),
                    ))
                }
            }
        }
        "sample" => {
            want_args(name, args, 1..=1)?;
            match args[0] {
                Arg::Integer(n) if n > 0 => Func::Sample(n as usize),
                Arg::Integer(n) => {
                    return Err(FunctionError::InvalidArgument(format!(
                        "sample window must be greater than 1, got {n}"
                    )))
                }
                ref other => {
                    return Err(FunctionError::InvalidArgument(format!(
                        "expected integer argument in sample(), got {}",
                        other.kind()
                    )))
                }
            }
        }
        _ => {
            // top / bottom: (field, [tag, …,] N)
            if args.is_empty() {
                return Err(FunctionError::InvalidArgument(format!(
                    "invalid number of arguments for {name}, expected at least 2, got 1"
                )));
            }
            let n = positive_int(name, &args[args.len() - 1], "limit")?;
            let mut tags = Vec::new();
            for a in &args[..args.len() - 1] {
                match a {
                    Arg::Ident(t) => tags.push(t.clone()),
                    other => {
                        return Err(FunctionError::InvalidArgument(format!(
                            "only fields or tags are allowed in {name}(), found {}",
                            other.kind()
                        )))
                    }
                }
            }
            if sname == "top" {
                Func::Top { n, tags }
            } else {
                Func::Bottom { n, tags }
            }
        }
    };
    check_type(sname, &func, input)?;
    let state = initial_state(&func, input);
    Ok(Reducer {
        name: sname,
        func,
        input,
        state,
        series: Vec::new(),
        ordered: None,
        latest_first: false,
    })
}

pub(super) fn check_type(name: &str, func: &Func, input: ValueType) -> Result<(), FunctionError> {
    let numeric = matches!(
        input,
        ValueType::Float | ValueType::Integer | ValueType::Unsigned
    );
    let ok = match func {
        Func::Count | Func::CountDistinct | Func::Distinct | Func::Mode | Func::Sample(_) => true,
        Func::Select(Pick::First | Pick::Last) => true,
        Func::Select(Pick::Min | Pick::Max) => numeric || input == ValueType::Boolean,
        _ => numeric,
    };
    if ok {
        Ok(())
    } else {
        Err(FunctionError::UnsupportedType {
            function: name.to_string(),
            input,
        })
    }
}

pub(super) fn initial_state(func: &Func, input: ValueType) -> State {
    let acc = || match input {
        ValueType::Integer => Acc::I(0),
        ValueType::Unsigned => Acc::U(0),
        _ => Acc::F(0.0),
    };
    match func {
        Func::Count => State::Count(0),
        Func::Sum => State::Sum(acc()),
        Func::Mean => State::Mean(Mean::new(acc())),
        Func::Spread => State::Spread(match input {
            ValueType::Integer => Spread::I {
                min: i64::MAX,
                max: i64::MIN,
                n: 0,
            },
            ValueType::Unsigned => Spread::U {
                min: u64::MAX,
                max: 0,
                n: 0,
            },
            _ => Spread::F {
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                n: 0,
            },
        }),
        Func::Select(p) => State::Select(Selector::new(*p)),
        Func::Distinct | Func::CountDistinct => State::Distinct(Distinct::default()),
        Func::Top { n, tags } => {
            State::TopBottom(TopBottom::new(true, *n, !tags.is_empty(), input))
        }
        Func::Bottom { n, tags } => {
            State::TopBottom(TopBottom::new(false, *n, !tags.is_empty(), input))
        }
        Func::Sample(n) => State::Sample(Sample::new(*n, input, 0x5eed_0f5a_3b1e ^ *n as u64)),
        Func::Integral { .. } | Func::Median | Func::Mode | Func::Stddev | Func::Percentile(_) => {
            State::Kept(Kept::new(input))
        }
    }
}
