//! Binary operators between values (`SELECT a + b, a / 2 …`) with influxd
//! 1.6.7's rules: integer `/` is a float division, dividing by zero gives 0,
//! integer `%` by zero gives 0, an integer meeting a float becomes a float,
//! integers wrap on overflow, `& | ^` work on integers and booleans.

use crate::error::FunctionError;
use crate::value::{Value, ValueType};

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `^`
    BitXor,
}

impl Op {
    /// Parses the operator's text.
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "+" => Op::Add,
            "-" => Op::Sub,
            "*" => Op::Mul,
            "/" => Op::Div,
            "%" => Op::Mod,
            "&" => Op::BitAnd,
            "|" => Op::BitOr,
            "^" => Op::BitXor,
            _ => return None,
        })
    }

    fn text(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
            Op::BitAnd => "&",
            Op::BitOr => "|",
            Op::BitXor => "^",
        }
    }
}

/// The result type of `lhs op rhs`, or an error when influxd refuses it.
pub fn output_type(lhs: ValueType, op: Op, rhs: ValueType) -> Result<ValueType, FunctionError> {
    use ValueType::*;
    let err = || FunctionError::InvalidBinaryOperation {
        lhs,
        op: op.text(),
        rhs,
    };
    Ok(match (lhs, rhs) {
        (Boolean, Boolean) => match op {
            Op::BitAnd | Op::BitOr | Op::BitXor => Boolean,
            _ => return Err(err()),
        },
        (Float, Float | Integer | Unsigned) | (Integer | Unsigned, Float) => match op {
            Op::BitAnd | Op::BitOr | Op::BitXor => return Err(err()),
            _ => Float,
        },
        (Integer, Integer) | (Integer, Unsigned) | (Unsigned, Integer) | (Unsigned, Unsigned) => {
            match op {
                Op::Div => Float,
                _ if lhs == Unsigned && rhs == Unsigned => Unsigned,
                _ => Integer,
            }
        }
        _ => return Err(err()),
    })
}

/// Evaluates `lhs op rhs`. Null on either side gives null.
pub fn apply(lhs: &Value, op: Op, rhs: &Value) -> Result<Value, FunctionError> {
    if lhs.is_null() || rhs.is_null() {
        return Ok(Value::Null);
    }
    let (lt, rt) = match (lhs.value_type(), rhs.value_type()) {
        (Some(l), Some(r)) => (l, r),
        _ => return Ok(Value::Null),
    };
    let out = output_type(lt, op, rt)?;
    Ok(match (lhs, rhs) {
        (Value::Boolean(a), Value::Boolean(b)) => Value::Boolean(match op {
            Op::BitAnd => a & b,
            Op::BitOr => a | b,
            _ => a ^ b,
        }),
        (Value::Integer(a), Value::Integer(b)) => int_op(*a, op, *b),
        (Value::Unsigned(a), Value::Unsigned(b)) => match op {
            Op::Add => Value::Unsigned(a.wrapping_add(*b)),
            Op::Sub => Value::Unsigned(a.wrapping_sub(*b)),
            Op::Mul => Value::Unsigned(a.wrapping_mul(*b)),
            Op::Div if *b == 0 => Value::Float(0.0),
            Op::Div => Value::Float(*a as f64 / *b as f64),
            Op::Mod if *b == 0 => Value::Unsigned(0),
            Op::Mod => Value::Unsigned(a % b),
            Op::BitAnd => Value::Unsigned(a & b),
            Op::BitOr => Value::Unsigned(a | b),
            Op::BitXor => Value::Unsigned(a ^ b),
        },
        (Value::Integer(a), Value::Unsigned(b)) => int_op(*a, op, *b as i64),
        (Value::Unsigned(a), Value::Integer(b)) => int_op(*a as i64, op, *b),
        // Go's math.Mod is NaN for a zero divisor: influxd answers null.
        _ if out == ValueType::Float && op == Op::Mod && rhs.as_f64() == Some(0.0) => Value::Null,
        _ if out == ValueType::Float => {
            let (a, b) = (
                lhs.as_f64().unwrap_or(f64::NAN),
                rhs.as_f64().unwrap_or(f64::NAN),
            );
            Value::Float(match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                Op::Div if b == 0.0 => 0.0,
                Op::Div => a / b,
                // Go's math.Mod: the sign of the dividend.
                _ => a % b,
            })
        }
        _ => Value::Null,
    })
}

fn int_op(a: i64, op: Op, b: i64) -> Value {
    match op {
        Op::Add => Value::Integer(a.wrapping_add(b)),
        Op::Sub => Value::Integer(a.wrapping_sub(b)),
        Op::Mul => Value::Integer(a.wrapping_mul(b)),
        Op::Div if b == 0 => Value::Float(0.0),
        Op::Div => Value::Float(a as f64 / b as f64),
        Op::Mod if b == 0 => Value::Integer(0),
        Op::Mod => Value::Integer(a.wrapping_rem(b)),
        Op::BitAnd => Value::Integer(a & b),
        Op::BitOr => Value::Integer(a | b),
        Op::BitXor => Value::Integer(a ^ b),
    }
}
