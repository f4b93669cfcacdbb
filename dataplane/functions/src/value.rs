//! Values, points and function arguments.

use std::fmt;

/// The type of a field column (influxd's `influxql.DataType` for fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// 64-bit IEEE float.
    Float,
    /// Signed 64-bit integer.
    Integer,
    /// Unsigned 64-bit integer.
    Unsigned,
    /// UTF-8 string.
    String,
    /// Boolean.
    Boolean,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Float => "float",
            ValueType::Integer => "integer",
            ValueType::Unsigned => "unsigned",
            ValueType::String => "string",
            ValueType::Boolean => "boolean",
        })
    }
}

/// One value of a row; `Null` is an empty `fill(null)` window or a math
/// result influxd cannot encode (NaN, ±Inf).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// Float.
    Float(f64),
    /// Signed integer.
    Integer(i64),
    /// Unsigned integer.
    Unsigned(u64),
    /// String.
    String(String),
    /// Boolean.
    Boolean(bool),
}

impl Value {
    /// The value's type, `None` for `Null`.
    pub fn value_type(&self) -> Option<ValueType> {
        match self {
            Value::Null => None,
            Value::Float(_) => Some(ValueType::Float),
            Value::Integer(_) => Some(ValueType::Integer),
            Value::Unsigned(_) => Some(ValueType::Unsigned),
            Value::String(_) => Some(ValueType::String),
            Value::Boolean(_) => Some(ValueType::Boolean),
        }
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a float for the numeric types (influxd casts integers
    /// to float in float-only functions).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(v),
            Value::Integer(v) => Some(v as f64),
            Value::Unsigned(v) => Some(v as f64),
            _ => None,
        }
    }
}

/// One output (or input) row of a function: its time, its value and the
/// opaque `aux` the engine passed with the selected input point (0 for
/// values computed from several points).
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Nanoseconds since the epoch.
    pub time: i64,
    /// The value.
    pub value: Value,
    /// The engine's handle to the selected input row (selectors only).
    pub aux: u64,
}

impl Point {
    /// A point with `aux` 0.
    pub fn new(time: i64, value: Value) -> Self {
        Point {
            time,
            value,
            aux: 0,
        }
    }
}

/// A literal argument of a function call after the field (or inner call):
/// `percentile(x, 90)`, `derivative(x, 10s)`, `top(x, host, 3)`,
/// `exponential_moving_average(x, 10, 0, 'simple')`.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Integer literal.
    Integer(i64),
    /// Float literal.
    Float(f64),
    /// Duration literal in nanoseconds.
    Duration(i64),
    /// Identifier: a tag key (`top(x, host, 3)`).
    Ident(String),
    /// String literal (`'simple'`).
    String(String),
    /// Boolean literal.
    Boolean(bool),
}

impl Arg {
    /// influxd's name for the literal's AST type, as its messages print it.
    pub(crate) fn go_type(&self) -> &'static str {
        match self {
            Arg::Integer(_) => "*influxql.IntegerLiteral",
            Arg::Float(_) => "*influxql.NumberLiteral",
            Arg::Duration(_) => "*influxql.DurationLiteral",
            Arg::Ident(_) => "*influxql.VarRef",
            Arg::String(_) => "*influxql.StringLiteral",
            Arg::Boolean(_) => "*influxql.BooleanLiteral",
        }
    }

    /// The literal as influxd prints it in messages (`found 1.500`).
    pub(crate) fn text(&self) -> String {
        match self {
            Arg::Integer(n) => n.to_string(),
            Arg::Float(f) => format!("{f:.3}"),
            Arg::Duration(d) => format!("{d}ns"),
            Arg::Ident(s) => s.clone(),
            Arg::String(s) => format!("'{s}'"),
            Arg::Boolean(b) => b.to_string(),
        }
    }

    /// Short description used in error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Arg::Integer(_) => "integer",
            Arg::Float(_) => "float",
            Arg::Duration(_) => "duration",
            Arg::Ident(_) => "identifier",
            Arg::String(_) => "string",
            Arg::Boolean(_) => "boolean",
        }
    }
}
