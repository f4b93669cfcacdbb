//! Per-value math functions (`SELECT abs(x), log(x, 2) …`), with influxd
//! 1.6.7's types: abs, ceil, floor and round keep integers as integers (and
//! leave them unchanged: abs(-3) is -3 in 1.6.7), everything else returns a
//! float. NaN results (asin(2)) are returned as
//! NaN and written as null by the caller; ±Inf (ln(0)) makes influxd fail
//! the whole response, which the caller must reproduce if it cares.

use crate::error::FunctionError;
use crate::value::{Value, ValueType};
use crate::{gomath, gotrig};

/// The math functions of InfluxQL 1.6.
pub const FUNCTIONS: [&str; 18] = [
    "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "exp", "floor", "ln", "log", "log2",
    "log10", "pow", "round", "sin", "sqrt", "tan",
];

/// How many arguments a math function takes (all arguments are values:
/// fields, literals or other expressions).
pub fn arity(name: &str) -> Option<usize> {
    match name {
        "atan2" | "log" | "pow" => Some(2),
        n if FUNCTIONS.contains(&n) => Some(1),
        _ => None,
    }
}

/// The result type of `name` over arguments of type `args[0]`.
pub fn output_type(name: &str, arg: ValueType) -> ValueType {
    match name {
        "abs" | "ceil" | "floor" | "round" => arg,
        _ => ValueType::Float,
    }
}

/// Checks the argument types of a call before running it.
pub fn check(name: &str, args: &[ValueType]) -> Result<(), FunctionError> {
    let n = arity(name).ok_or_else(|| FunctionError::UnknownFunction(name.to_string()))?;
    if args.len() != n {
        return Err(FunctionError::ArgumentCount {
            function: name.to_string(),
            expected: n.to_string(),
            got: args.len(),
        });
    }
    for (i, t) in args.iter().enumerate() {
        if !matches!(
            t,
            ValueType::Float | ValueType::Integer | ValueType::Unsigned
        ) {
            return Err(FunctionError::InvalidArgument(format!(
                "invalid argument type for {} argument in {name}(): {t}",
                if i == 0 { "first" } else { "second" }
            )));
        }
    }
    Ok(())
}

/// Go's `math.Log2`: exact for powers of two.
fn log2(x: f64) -> f64 {
    let (frac, exp) = gomath::frexp(x);
    if frac == 0.5 {
        return (exp - 1) as f64;
    }
    gomath::log(frac) * std::f64::consts::LOG2_E + exp as f64
}

/// Applies `name` to `args`. A null argument gives null; a non-numeric
/// argument gives an error.
pub fn apply(name: &str, args: &[Value]) -> Result<Value, FunctionError> {
    if args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let types: Vec<ValueType> = args.iter().filter_map(Value::value_type).collect();
    check(name, &types)?;
    let x = args[0].as_f64().unwrap_or(f64::NAN);
    let y = args.get(1).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let f = match name {
        // influxd 1.6.7 returns integers from abs() unchanged: abs(-3) is -3.
        "abs" => match args[0] {
            Value::Integer(_) | Value::Unsigned(_) => return Ok(args[0].clone()),
            _ => x.abs(),
        },
        "ceil" | "floor" | "round" => match args[0] {
            Value::Integer(_) | Value::Unsigned(_) => return Ok(args[0].clone()),
            _ => match name {
                "ceil" => x.ceil(),
                "floor" => x.floor(),
                _ => x.round(),
            },
        },
        "acos" => gotrig::acos(x),
        "asin" => gotrig::asin(x),
        "atan" => gotrig::atan(x),
        "atan2" => gotrig::atan2(x, y),
        "cos" => gotrig::cos(x),
        "exp" => gomath::exp(x),
        "ln" => gomath::log(x),
        "log" => gomath::log(x) / gomath::log(y),
        "log2" => log2(x),
        "log10" => gomath::log(x) * std::f64::consts::LOG10_E,
        "pow" => gomath::pow(x, y),
        "sin" => gotrig::sin(x),
        "sqrt" => x.sqrt(),
        "tan" => gotrig::tan(x),
        _ => return Err(FunctionError::UnknownFunction(name.to_string())),
    };
    Ok(Value::Float(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(apply("abs", &[Value::Integer(-3)]), Ok(Value::Integer(-3)));
        assert_eq!(apply("ceil", &[Value::Integer(-3)]), Ok(Value::Integer(-3)));
        assert_eq!(apply("round", &[Value::Float(2.5)]), Ok(Value::Float(3.0)));
        assert_eq!(apply("log2", &[Value::Integer(8)]), Ok(Value::Float(3.0)));
        assert_eq!(apply("sqrt", &[Value::Null]), Ok(Value::Null));
        assert!(apply("sqrt", &[Value::String("x".into())]).is_err());
    }
}
