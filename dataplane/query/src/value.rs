//! The values a query moves around: one cell of a row.

use std::cmp::Ordering;

/// One cell. `Time` is a timestamp column value (ns), printed per the `epoch` parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    String(String),
    Boolean(bool),
    Time(i64),
    /// A list of strings (`SHOW SUBSCRIPTIONS` destinations): a JSON array.
    Strings(Vec<String>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Integer(v) => Some(*v as f64),
            Value::Unsigned(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// Order used for sorting mixed values (nulls first, then by type, then by value).
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Null => 0,
                Value::Boolean(_) => 1,
                Value::Integer(_) | Value::Unsigned(_) | Value::Float(_) | Value::Time(_) => 2,
                Value::String(_) => 3,
                Value::Strings(_) => 4,
            }
        }
        match (self, other) {
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::Integer(a), Value::Integer(b)) => a.cmp(b),
            (Value::Unsigned(a), Value::Unsigned(b)) => a.cmp(b),
            (Value::Time(a), Value::Time(b)) => a.cmp(b),
            (Value::Strings(a), Value::Strings(b)) => a.cmp(b),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => rank(a).cmp(&rank(b)),
            },
        }
    }
}
