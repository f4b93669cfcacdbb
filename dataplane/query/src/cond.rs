//! WHERE clauses: the time range they bound, and the rest compiled to a [`CExpr`] that is
//! bound to each series' tags (so tag-only conditions are decided once per series) and
//! evaluated per row over the series' field columns.

use std::sync::Arc;

use tessera_influxql::{BinaryOp, DataType, Expr};

use crate::error::QueryError;
use crate::value::Value;

/// `models.MinNanoTime` / `models.MaxNanoTime` of InfluxDB.
pub const MIN_TIME: i64 = i64::MIN + 2;
pub const MAX_TIME: i64 = i64::MAX - 1;

/// Inclusive time bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub min: i64,
    pub max: i64,
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange {
            min: MIN_TIME,
            max: MAX_TIME,
        }
    }
}

impl TimeRange {
    pub fn is_empty(&self) -> bool {
        self.min > self.max
    }
    pub fn has_min(&self) -> bool {
        self.min != MIN_TIME
    }
    pub fn has_max(&self) -> bool {
        self.max != MAX_TIME
    }
}

/// A reference to `time` (any case, in parentheses or not).
pub fn is_time_ref(e: &Expr) -> bool {
    match e {
        Expr::VarRef { name, .. } => name.eq_ignore_ascii_case("time"),
        Expr::Paren(e) => is_time_ref(e),
        _ => false,
    }
}

/// True when the expression mentions `time` anywhere.
pub fn mentions_time(e: &Expr) -> bool {
    match e {
        Expr::VarRef { .. } => is_time_ref(e),
        Expr::Binary { lhs, rhs, .. } => mentions_time(lhs) || mentions_time(rhs),
        Expr::Paren(e) => mentions_time(e),
        Expr::Call { args, .. } => args.iter().any(mentions_time),
        _ => false,
    }
}

/// A constant time expression: a string timestamp, a number of ns, a duration, `now()`,
/// and sums/differences of those.
pub fn eval_time(e: &Expr, now: i64) -> Result<i64, QueryError> {
    match e {
        Expr::String(s) => tessera_influxql::parse_time_string(s).ok_or_else(|| {
            // A string that starts like a date is a time literal influxd failed to
            // parse; any other string is not a time at all.
            let b = s.as_bytes();
            let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
            if b.len() >= 10
                && digits(0..4)
                && b[4] == b'-'
                && digits(5..7)
                && b[7] == b'-'
                && digits(8..10)
            {
                QueryError::msg("invalid timestamp string")
            } else {
                QueryError::msg(
                    "invalid operation: time and *influxql.StringLiteral are not compatible",
                )
            }
        }),
        Expr::Integer(i) => Ok(*i),
        Expr::Unsigned(u) => Ok(*u as i64),
        Expr::Number(f) => Ok(*f as i64),
        Expr::Duration(d) => Ok(*d),
        Expr::Time(t) => Ok(*t),
        Expr::Paren(e) => eval_time(e, now),
        Expr::Call { name, args } if name == "now" && args.is_empty() => Ok(now),
        Expr::Binary { op, lhs, rhs } if matches!(op, BinaryOp::Add | BinaryOp::Sub) => {
            let l = eval_time(lhs, now)?;
            let r = eval_time(rhs, now)?;
            Ok(if *op == BinaryOp::Add {
                l.saturating_add(r)
            } else {
                l.saturating_sub(r)
            })
        }
        other => Err(QueryError::msg(format!(
            "invalid operation: time and *influxql.{} are not compatible",
            go_type(other)
        ))),
    }
}

/// The Go type name influxd prints for an expression in type errors.
fn go_type(e: &Expr) -> &'static str {
    match e {
        Expr::VarRef { .. } => "VarRef",
        Expr::Call { .. } => "Call",
        Expr::Binary { .. } => "BinaryExpr",
        Expr::Paren(_) => "ParenExpr",
        Expr::Integer(_) => "IntegerLiteral",
        Expr::Unsigned(_) => "UnsignedLiteral",
        Expr::Number(_) => "NumberLiteral",
        Expr::String(_) => "StringLiteral",
        Expr::Boolean(_) => "BooleanLiteral",
        Expr::Duration(_) => "DurationLiteral",
        Expr::Time(_) => "TimeLiteral",
        Expr::Regex(_) => "RegexLiteral",
        Expr::Wildcard(_) => "Wildcard",
        Expr::Distinct(_) => "Distinct",
        Expr::BoundParameter(_) => "BoundParameter",
        Expr::Nil => "NilLiteral",
    }
}

fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Lte => BinaryOp::Gte,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Gte => BinaryOp::Lte,
        o => o,
    }
}

/// Splits `cond` into its time range and the rest (influxql's `ConditionExpr`).
pub fn split_time(cond: &Expr, now: i64) -> Result<(Option<Expr>, TimeRange), QueryError> {
    match cond {
        Expr::Paren(e) => split_time(e, now),
        Expr::Binary {
            op: BinaryOp::And,
            lhs,
            rhs,
        } => {
            let (l, lr) = split_time(lhs, now)?;
            let (r, rr) = split_time(rhs, now)?;
            let range = TimeRange {
                min: lr.min.max(rr.min),
                max: lr.max.min(rr.max),
            };
            let rest = match (l, r) {
                (Some(a), Some(b)) => Some(Expr::Binary {
                    op: BinaryOp::And,
                    lhs: Box::new(a),
                    rhs: Box::new(b),
                }),
                (a, b) => a.or(b),
            };
            Ok((rest, range))
        }
        Expr::Binary { op, lhs, rhs }
            if matches!(
                op,
                BinaryOp::Eq
                    | BinaryOp::Lt
                    | BinaryOp::Lte
                    | BinaryOp::Gt
                    | BinaryOp::Gte
                    | BinaryOp::Neq
                    | BinaryOp::EqRegex
                    | BinaryOp::NeqRegex
            ) && (is_time_ref(lhs) || is_time_ref(rhs)) =>
        {
            let (op, other) = if is_time_ref(lhs) {
                (*op, rhs)
            } else {
                (flip(*op), lhs)
            };
            let t = eval_time(other, now)?;
            let mut r = TimeRange::default();
            match op {
                BinaryOp::Eq => {
                    r.min = t;
                    r.max = t;
                }
                BinaryOp::Gt => r.min = t.saturating_add(1),
                BinaryOp::Gte => r.min = t,
                BinaryOp::Lt => r.max = t.saturating_sub(1),
                BinaryOp::Lte => r.max = t,
                _ => return Err(QueryError::msg("invalid time comparison operator: !=")),
            }
            Ok((None, r))
        }
        Expr::Binary {
            op: BinaryOp::Or,
            lhs,
            rhs,
        } => {
            // influxql's ConditionExpr intersects the two sides' time ranges under OR
            // too ("there is no such thing as using OR with a time range"): `a AND
            // time = x OR time = y` selects nothing.
            let (l, lr) = split_time(lhs, now)?;
            let (r, rr) = split_time(rhs, now)?;
            let (min, max) = (lr.min.max(rr.min), lr.max.min(rr.max));
            let rest = match (l, r) {
                (Some(a), Some(b)) => Some(Expr::Binary {
                    op: BinaryOp::Or,
                    lhs: Box::new(a),
                    rhs: Box::new(b),
                }),
                (a, b) => a.or(b),
            };
            Ok((rest, TimeRange { min, max }))
        }
        e @ (Expr::Binary { .. } | Expr::Boolean(_)) => Ok((Some(e.clone()), TimeRange::default())),
        // influxql's ConditionExpr takes only comparisons, their AND/OR, parentheses and
        // boolean literals: a bare field, tag, number or call is refused.
        e => Err(QueryError::msg(format!(
            "invalid condition expression: {e}"
        ))),
    }
}

/// What a name in a condition or select list refers to.
pub trait Resolver {
    /// `Some(index)` of the field column, `None` if the name is not a field.
    fn field(&self, name: &str, ty: DataType) -> Option<usize>;
    fn is_tag(&self, name: &str, ty: DataType) -> bool;
}

/// A compiled expression over one series' row.
#[derive(Debug, Clone)]
pub enum CExpr {
    Lit(Value),
    Field(usize),
    /// `field::type`: the field's value converted as influxd's cursors convert it.
    CastField(usize, DataType),
    Tag(String),
    Regex(Arc<regex::Regex>),
    Bin(BinaryOp, Box<CExpr>, Box<CExpr>),
}

pub fn compile_regex(pattern: &str) -> Result<Arc<regex::Regex>, QueryError> {
    thread_local! {
        /// Regexes compiled on this thread, by pattern: building one costs far more than
        /// the rest of a small query, and dashboards repeat their queries.
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Arc<regex::Regex>>> =
            std::cell::RefCell::new(std::collections::HashMap::new());
    }
    if let Some(re) = COMPILED.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = regex::Regex::new(pattern)
        .map(Arc::new)
        .map_err(|e| QueryError::msg(format!("error parsing regexp: {e}")))?;
    COMPILED.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 256 {
            c.clear();
        }
        c.insert(pattern.to_string(), Arc::clone(&re));
    });
    Ok(re)
}

impl CExpr {
    pub fn compile(e: &Expr, r: &dyn Resolver) -> Result<CExpr, QueryError> {
        Ok(match e {
            Expr::Paren(e) => CExpr::compile(e, r)?,
            Expr::VarRef { name, data_type } => {
                if *data_type != DataType::Tag {
                    if let Some(i) = r.field(name, *data_type) {
                        return Ok(match data_type {
                            DataType::Float
                            | DataType::Integer
                            | DataType::Unsigned
                            | DataType::String
                            | DataType::Boolean => CExpr::CastField(i, *data_type),
                            _ => CExpr::Field(i),
                        });
                    }
                }
                // A reference cast to a field type never reads a tag (influxd gives it a
                // null cursor of that type).
                if *data_type == DataType::Tag
                    || (*data_type == DataType::Unknown && r.is_tag(name, *data_type))
                {
                    CExpr::Tag(name.clone())
                } else {
                    CExpr::Lit(Value::Null)
                }
            }
            Expr::Integer(i) => CExpr::Lit(Value::Integer(*i)),
            Expr::Unsigned(u) => CExpr::Lit(Value::Unsigned(*u)),
            Expr::Number(f) => CExpr::Lit(Value::Float(*f)),
            Expr::String(s) => CExpr::Lit(Value::String(s.clone())),
            Expr::Boolean(b) => CExpr::Lit(Value::Boolean(*b)),
            Expr::Duration(d) | Expr::Time(d) => CExpr::Lit(Value::Integer(*d)),
            Expr::Regex(re) => CExpr::Regex(compile_regex(&re.0)?),
            Expr::Binary { op, lhs, rhs } => CExpr::Bin(
                *op,
                Box::new(CExpr::compile(lhs, r)?),
                Box::new(CExpr::compile(rhs, r)?),
            ),
            Expr::Nil => CExpr::Lit(Value::Null),
            other => {
                return Err(QueryError::msg(format!(
                    "invalid condition expression: {other}"
                )))
            }
        })
    }

    /// Replaces tag references by the series' values (missing tags are `""`, as in
    /// InfluxDB) and folds what became constant.
    pub fn bind(&self, tag: &dyn Fn(&str) -> Option<String>) -> CExpr {
        match self {
            CExpr::Tag(name) => CExpr::Lit(Value::String(tag(name).unwrap_or_default())),
            CExpr::Bin(op, l, r) => {
                let l = l.bind(tag);
                let r = r.bind(tag);
                let folded = CExpr::Bin(*op, Box::new(l), Box::new(r));
                match &folded {
                    CExpr::Bin(op, l, r) => match (&**l, &**r) {
                        (CExpr::Lit(_) | CExpr::Regex(_), CExpr::Lit(_) | CExpr::Regex(_)) => {
                            CExpr::Lit(folded.eval(&[]))
                        }
                        (CExpr::Lit(v), _) | (_, CExpr::Lit(v))
                            if *op == BinaryOp::And && v == &Value::Boolean(false) =>
                        {
                            CExpr::Lit(Value::Boolean(false))
                        }
                        (CExpr::Lit(v), _) | (_, CExpr::Lit(v))
                            if *op == BinaryOp::Or && v == &Value::Boolean(true) =>
                        {
                            CExpr::Lit(Value::Boolean(true))
                        }
                        _ => folded,
                    },
                    _ => folded,
                }
            }
            other => other.clone(),
        }
    }

    /// The constant this expression folded to, if it did.
    pub fn constant(&self) -> Option<&Value> {
        match self {
            CExpr::Lit(v) => Some(v),
            _ => None,
        }
    }

    pub fn uses_fields(&self) -> bool {
        match self {
            CExpr::Field(_) | CExpr::CastField(..) => true,
            CExpr::Bin(_, l, r) => l.uses_fields() || r.uses_fields(),
            _ => false,
        }
    }

    pub fn eval(&self, row: &[Value]) -> Value {
        match self {
            CExpr::Lit(v) => v.clone(),
            CExpr::Field(i) => row.get(*i).cloned().unwrap_or(Value::Null),
            CExpr::CastField(i, t) => {
                crate::finish::cast(row.get(*i).cloned().unwrap_or(Value::Null), *t)
            }
            CExpr::Tag(_) => Value::Null,
            CExpr::Regex(_) => Value::Null,
            CExpr::Bin(op, l, r) => match op {
                BinaryOp::And => Value::Boolean(l.truthy(row) && r.truthy(row)),
                BinaryOp::Or => Value::Boolean(l.truthy(row) || r.truthy(row)),
                BinaryOp::EqRegex | BinaryOp::NeqRegex => {
                    let (v, re) = match (&**l, &**r) {
                        (x, CExpr::Regex(re)) | (CExpr::Regex(re), x) => (x.eval(row), re),
                        _ => return Value::Null,
                    };
                    match v {
                        Value::String(s) => {
                            Value::Boolean(re.is_match(&s) == (*op == BinaryOp::EqRegex))
                        }
                        _ => Value::Boolean(false),
                    }
                }
                _ => binary(*op, &l.eval(row), &r.eval(row)),
            },
        }
    }

    pub fn truthy(&self, row: &[Value]) -> bool {
        matches!(self.eval(row), Value::Boolean(true))
    }
}

/// Comparison and arithmetic of two values with InfluxQL's rules.
pub fn binary(op: BinaryOp, a: &Value, b: &Value) -> Value {
    use std::cmp::Ordering;
    use Value as V;
    let cmp = |o: Ordering| -> Value {
        Value::Boolean(match op {
            BinaryOp::Eq => o == Ordering::Equal,
            BinaryOp::Neq => o != Ordering::Equal,
            BinaryOp::Lt => o == Ordering::Less,
            BinaryOp::Lte => o != Ordering::Greater,
            BinaryOp::Gt => o == Ordering::Greater,
            BinaryOp::Gte => o != Ordering::Less,
            _ => return Value::Null,
        })
    };
    let is_cmp = matches!(
        op,
        BinaryOp::Eq | BinaryOp::Neq | BinaryOp::Lt | BinaryOp::Lte | BinaryOp::Gt | BinaryOp::Gte
    );
    match (a, b) {
        (V::Null, _) | (_, V::Null) => {
            if is_cmp {
                Value::Boolean(false)
            } else {
                Value::Null
            }
        }
        // Strings only compare for (in)equality in InfluxQL.
        (V::String(x), V::String(y)) if is_cmp => match op {
            BinaryOp::Eq => V::Boolean(x == y),
            BinaryOp::Neq => V::Boolean(x != y),
            _ => V::Boolean(false),
        },
        (V::Boolean(x), V::Boolean(y)) => match op {
            BinaryOp::Eq => V::Boolean(x == y),
            BinaryOp::Neq => V::Boolean(x != y),
            BinaryOp::BitAnd => V::Boolean(*x & *y),
            BinaryOp::BitOr => V::Boolean(*x | *y),
            BinaryOp::BitXor => V::Boolean(*x ^ *y),
            _ if is_cmp => V::Boolean(false),
            _ => V::Null,
        },
        (V::Integer(x), V::Integer(y)) => {
            if is_cmp {
                return cmp(x.cmp(y));
            }
            match op {
                BinaryOp::Add => V::Integer(x.wrapping_add(*y)),
                BinaryOp::Sub => V::Integer(x.wrapping_sub(*y)),
                BinaryOp::Mul => V::Integer(x.wrapping_mul(*y)),
                // Integer division yields a float in InfluxQL.
                BinaryOp::Div => V::Float(if *y == 0 { 0.0 } else { *x as f64 / *y as f64 }),
                BinaryOp::Mod => {
                    if *y == 0 {
                        V::Integer(0)
                    } else {
                        V::Integer(x.wrapping_rem(*y))
                    }
                }
                BinaryOp::BitAnd => V::Integer(x & y),
                BinaryOp::BitOr => V::Integer(x | y),
                BinaryOp::BitXor => V::Integer(x ^ y),
                _ => V::Null,
            }
        }
        (V::Unsigned(x), V::Unsigned(y)) => {
            if is_cmp {
                return cmp(x.cmp(y));
            }
            match op {
                BinaryOp::Add => V::Unsigned(x.wrapping_add(*y)),
                BinaryOp::Sub => V::Unsigned(x.wrapping_sub(*y)),
                BinaryOp::Mul => V::Unsigned(x.wrapping_mul(*y)),
                BinaryOp::Div => V::Unsigned(x.checked_div(*y).unwrap_or(0)),
                BinaryOp::Mod => V::Unsigned(x.checked_rem(*y).unwrap_or(0)),
                BinaryOp::BitAnd => V::Unsigned(x & y),
                BinaryOp::BitOr => V::Unsigned(x | y),
                BinaryOp::BitXor => V::Unsigned(x ^ y),
                _ => V::Null,
            }
        }
        (x, y) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => {
                if is_cmp {
                    return cmp(x.partial_cmp(&y).unwrap_or(Ordering::Less));
                }
                match op {
                    BinaryOp::Add => V::Float(x + y),
                    BinaryOp::Sub => V::Float(x - y),
                    BinaryOp::Mul => V::Float(x * y),
                    BinaryOp::Div => V::Float(if y == 0.0 { 0.0 } else { x / y }),
                    BinaryOp::Mod => V::Float(if y == 0.0 { 0.0 } else { x % y }),
                    _ => V::Null,
                }
            }
            _ => {
                if is_cmp {
                    V::Boolean(false)
                } else {
                    V::Null
                }
            }
        },
    }
}
