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

/// influxql's `HasTimeExpr`, which the SHOW statements that refuse time use: a
/// comparison with `time` on its left, through AND, OR and parentheses (`0 < time` and
/// a bare `time` are not one).
pub fn has_time_expr(e: &Expr) -> bool {
    match e {
        Expr::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            lhs,
            rhs,
        } => has_time_expr(lhs) || has_time_expr(rhs),
        Expr::Binary { lhs, .. } => {
            matches!(&**lhs, Expr::VarRef { name, .. } if name.eq_ignore_ascii_case("time"))
        }
        Expr::Paren(e) => has_time_expr(e),
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

/// A constant as influxql's `Reduce` leaves it. Times are kept wide (Go's `time.Time`
/// reaches far beyond the nanosecond range) with the zone they print in; `Expr` is what
/// could not be folded, by its Go type name.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Time(i128, Zone),
    Dur(i64),
    Int(i64),
    Uns(u64),
    Num(f64),
    Str(String),
    Bool(bool),
    Nil,
    Expr(&'static str),
}

/// The location a Go time prints in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Zone {
    Utc,
    Fixed(i32),
    Tz,
}

/// Go's `int64(f)` on amd64: out of range (and NaN) is the minimum.
fn go_f64_to_i64(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if f.is_nan() || !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// What a WHERE clause's time terms are read with.
#[derive(Clone, Copy)]
struct TimeCtx<'a> {
    now: i64,
    tz: Option<&'a crate::tz::Tz>,
}

impl TimeCtx<'_> {
    /// influxql's `StringLiteral.ToTimeLiteral`: a string without a zone is read in the
    /// statement's `tz()` zone.
    fn time_of(&self, s: &str) -> Option<Lit> {
        let (wall, offset) = tessera_influxql::parse_time_parts(s)?;
        Some(match (offset, self.tz) {
            (Some(0), _) => Lit::Time(wall, Zone::Utc),
            (Some(off), _) => {
                Lit::Time(wall - off as i128 * 1_000_000_000, Zone::Fixed(off as i32))
            }
            (None, Some(tz)) => Lit::Time(tz.local_to_utc(wall), Zone::Tz),
            (None, None) => Lit::Time(wall, Zone::Utc),
        })
    }

    fn reduce(&self, e: &Expr) -> Lit {
        match e {
            Expr::String(s) => Lit::Str(s.clone()),
            Expr::Integer(i) => Lit::Int(*i),
            Expr::Unsigned(u) => Lit::Uns(*u),
            Expr::Number(f) => Lit::Num(*f),
            Expr::Duration(d) => Lit::Dur(*d),
            Expr::Time(t) => Lit::Time(*t as i128, Zone::Utc),
            Expr::Boolean(b) => Lit::Bool(*b),
            Expr::Nil => Lit::Nil,
            Expr::Paren(e) => self.reduce(e),
            Expr::Call { name, args } if name == "now" && args.is_empty() => {
                Lit::Time(self.now as i128, Zone::Utc)
            }
            Expr::Binary { op, lhs, rhs } => self.binary(*op, self.reduce(lhs), self.reduce(rhs)),
            other => Lit::Expr(go_type(other)),
        }
    }

    fn binary(&self, op: BinaryOp, l: Lit, r: Lit) -> Lit {
        use BinaryOp::*;
        let (t, f) = (Lit::Bool(true), Lit::Bool(false));
        match op {
            And if l == f || r == f => return f,
            And if l == t => return r,
            And if r == t => return l,
            Or if l == t || r == t => return t,
            Or if l == f => return r,
            Or if r == f => return l,
            _ => {}
        }
        let folded = match l {
            Lit::Bool(a) => match r {
                Lit::Bool(b) => match op {
                    Eq => Some(Lit::Bool(a == b)),
                    Neq | BitXor => Some(Lit::Bool(a != b)),
                    And | BitAnd => Some(Lit::Bool(a && b)),
                    Or | BitOr => Some(Lit::Bool(a || b)),
                    _ => None,
                },
                Lit::Nil => Some(f),
                _ => None,
            },
            Lit::Dur(a) => self.duration_lhs(op, a, r),
            Lit::Int(a) => self.integer_lhs(op, a, r),
            Lit::Uns(a) => unsigned_lhs(op, a, r),
            Lit::Nil => matches!(op, Eq | Neq).then_some(f),
            Lit::Num(a) => number_lhs(op, a, r),
            Lit::Str(a) => self.string_lhs(op, a, r),
            Lit::Time(a, z) => self.time_lhs(op, a, z, r),
            Lit::Expr(_) => None,
        };
        folded.unwrap_or(Lit::Expr("BinaryExpr"))
    }

    fn duration_lhs(&self, op: BinaryOp, a: i64, r: Lit) -> Option<Lit> {
        use BinaryOp::*;
        match r {
            Lit::Dur(b) => match op {
                Add => Some(Lit::Dur(a.wrapping_add(b))),
                Sub => Some(Lit::Dur(a.wrapping_sub(b))),
                _ => compare(op, a.cmp(&b)),
            },
            Lit::Num(b) => scale(op, a, go_f64_to_i64(b)),
            Lit::Int(b) => scale(op, a, b),
            Lit::Time(t, z) => (op == Add).then_some(Lit::Time(t + a as i128, z)),
            Lit::Str(s) => self.duration_lhs(op, a, self.time_of(&s)?),
            Lit::Nil => Some(Lit::Bool(false)),
            _ => None,
        }
    }

    fn integer_lhs(&self, op: BinaryOp, a: i64, r: Lit) -> Option<Lit> {
        use BinaryOp::*;
        match r {
            Lit::Num(b) => number_lhs(op, a as f64, Lit::Num(b)),
            Lit::Int(b) => match op {
                Add => Some(Lit::Int(a.wrapping_add(b))),
                Sub => Some(Lit::Int(a.wrapping_sub(b))),
                Mul => Some(Lit::Int(a.wrapping_mul(b))),
                Div if b == 0 => Some(Lit::Num(0.0)),
                Div => Some(Lit::Num(a as f64 / b as f64)),
                Mod if b == 0 => Some(Lit::Int(0)),
                Mod => Some(Lit::Int(a.wrapping_rem(b))),
                BitAnd => Some(Lit::Int(a & b)),
                BitOr => Some(Lit::Int(a | b)),
                BitXor => Some(Lit::Int(a ^ b)),
                _ => compare(op, a.cmp(&b)),
            },
            Lit::Uns(b) if a < 0 => {
                negative_vs_unsigned(op, true).or_else(|| unsigned_lhs(op, a as u64, Lit::Uns(b)))
            }
            Lit::Uns(b) => unsigned_lhs(op, a as u64, Lit::Uns(b)),
            // The integer is a timestamp.
            Lit::Dur(b) => match op {
                Add => Some(Lit::Time(a as i128 + b as i128, Zone::Utc)),
                Sub => Some(Lit::Time(a as i128 - b as i128, Zone::Utc)),
                _ => None,
            },
            Lit::Time(..) => self.duration_lhs(op, a, r),
            Lit::Str(s) => self.duration_lhs(op, a, self.time_of(&s)?),
            Lit::Nil => Some(Lit::Bool(false)),
            _ => None,
        }
    }

    fn string_lhs(&self, op: BinaryOp, a: String, r: Lit) -> Option<Lit> {
        use BinaryOp::*;
        match r {
            Lit::Str(b) => match op {
                Eq | Neq => {
                    let mut same = a == b;
                    if tessera_influxql::is_time_literal(&a)
                        && tessera_influxql::is_time_literal(&b)
                    {
                        if let (Some(Lit::Time(x, _)), Some(Lit::Time(y, _))) =
                            (self.time_of(&a), self.time_of(&b))
                        {
                            same = x == y;
                        }
                    }
                    Some(Lit::Bool(same == (op == Eq)))
                }
                Add => Some(Lit::Str(a + &b)),
                _ => match self.time_of(&a)? {
                    Lit::Time(t, z) => self.time_lhs(op, t, z, Lit::Str(b)),
                    _ => None,
                },
            },
            Lit::Dur(_) | Lit::Time(..) | Lit::Int(_) => match self.time_of(&a)? {
                Lit::Time(t, z) => self.time_lhs(op, t, z, r),
                _ => None,
            },
            Lit::Nil => matches!(op, Eq | Neq).then_some(Lit::Bool(false)),
            _ => None,
        }
    }

    fn time_lhs(&self, op: BinaryOp, t: i128, z: Zone, r: Lit) -> Option<Lit> {
        use BinaryOp::*;
        match r {
            Lit::Dur(d) => match op {
                Add => Some(Lit::Time(t + d as i128, z)),
                Sub => Some(Lit::Time(t - d as i128, z)),
                _ => None,
            },
            Lit::Int(i) => self.time_lhs(op, t, z, Lit::Dur(i)),
            Lit::Time(u, _) => match op {
                // Go's Time.Sub saturates.
                Sub => Some(Lit::Dur(
                    (t - u).clamp(i64::MIN as i128, i64::MAX as i128) as i64
                )),
                _ => compare(op, t.cmp(&u)),
            },
            Lit::Str(s) => {
                let u = self.time_of(&s)?;
                self.time_lhs(op, t, z, u)
            }
            Lit::Nil => Some(Lit::Bool(false)),
            _ => None,
        }
    }
}

fn compare(op: BinaryOp, o: std::cmp::Ordering) -> Option<Lit> {
    use std::cmp::Ordering::*;
    use BinaryOp::*;
    Some(Lit::Bool(match op {
        Eq => o == Equal,
        Neq => o != Equal,
        Gt => o == Greater,
        Gte => o != Less,
        Lt => o == Less,
        Lte => o != Greater,
        _ => return None,
    }))
}

/// A duration times or over a number.
fn scale(op: BinaryOp, a: i64, b: i64) -> Option<Lit> {
    match op {
        BinaryOp::Mul => Some(Lit::Dur(a.wrapping_mul(b))),
        BinaryOp::Div if b == 0 => Some(Lit::Dur(0)),
        BinaryOp::Div => Some(Lit::Dur(a.wrapping_div(b))),
        _ => None,
    }
}

/// A negative integer ordered against an unsigned one is decided without a cast (on the
/// left it is the smaller).
fn negative_vs_unsigned(op: BinaryOp, negative_left: bool) -> Option<Lit> {
    match op {
        BinaryOp::Lt | BinaryOp::Lte => Some(Lit::Bool(negative_left)),
        BinaryOp::Gt | BinaryOp::Gte => Some(Lit::Bool(!negative_left)),
        _ => None,
    }
}

fn unsigned_lhs(op: BinaryOp, a: u64, r: Lit) -> Option<Lit> {
    use BinaryOp::*;
    match r {
        Lit::Num(b) => number_lhs(op, a as f64, Lit::Num(b)),
        Lit::Int(b) if b < 0 => {
            negative_vs_unsigned(op, false).or_else(|| unsigned_lhs(op, a, Lit::Uns(b as u64)))
        }
        Lit::Int(b) => unsigned_lhs(op, a, Lit::Uns(b as u64)),
        Lit::Uns(b) => match op {
            Add => Some(Lit::Uns(a.wrapping_add(b))),
            Sub => Some(Lit::Uns(a.wrapping_sub(b))),
            Mul => Some(Lit::Uns(a.wrapping_mul(b))),
            Div => Some(Lit::Uns(a.checked_div(b).unwrap_or(0))),
            Mod => Some(Lit::Uns(a.checked_rem(b).unwrap_or(0))),
            _ => compare(op, a.cmp(&b)),
        },
        _ => None,
    }
}

fn number_lhs(op: BinaryOp, a: f64, r: Lit) -> Option<Lit> {
    use BinaryOp::*;
    let b = match r {
        Lit::Num(b) => b,
        Lit::Int(b) => b as f64,
        Lit::Uns(b) => b as f64,
        Lit::Nil => return Some(Lit::Bool(false)),
        _ => return None,
    };
    match op {
        Add => Some(Lit::Num(a + b)),
        Sub => Some(Lit::Num(a - b)),
        Mul => Some(Lit::Num(a * b)),
        Div if b == 0.0 => Some(Lit::Num(0.0)),
        Div => Some(Lit::Num(a / b)),
        Mod => Some(Lit::Num(a % b)),
        _ => compare(op, a.partial_cmp(&b)?),
    }
}

/// Go's `Time.Format(time.RFC3339)` of a wide instant printed at `offset` seconds.
pub fn go_rfc3339(ns: i128, offset: i32) -> String {
    let secs = ns.div_euclid(1_000_000_000) + offset as i128;
    let days = secs.div_euclid(86_400) as i64;
    let sod = secs.rem_euclid(86_400) as i64;
    let (y, m, d) = crate::timefmt::civil_from_days(days);
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let a = offset.unsigned_abs();
        format!(
            "{}{:02}:{:02}",
            if offset < 0 { '-' } else { '+' },
            a / 3600,
            a % 3600 / 60
        )
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{zone}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// influxql's `getTimeRange`: the bound `time <op> rhs` sets, rhs folded as influxd folds
/// it (`now() - 1h`, `'2023-01-01' + 30m`, `1h * 2`; `1h + 5` is left unfolded and
/// refused).
fn time_bound(op: BinaryOp, rhs: &Expr, cx: TimeCtx<'_>) -> Result<TimeRange, QueryError> {
    let lit = match rhs {
        Expr::String(s) if tessera_influxql::is_time_literal(s) => cx
            .time_of(s)
            .ok_or_else(|| QueryError::msg("invalid timestamp string"))?,
        _ => cx.reduce(rhs),
    };
    let value: i64 = match lit {
        Lit::Time(t, z) => {
            let offset = || match z {
                Zone::Utc => 0,
                Zone::Fixed(o) => o,
                Zone::Tz => cx.tz.map_or(0, |tz| tz.offset_at_wide(t)),
            };
            if t > MAX_TIME as i128 {
                return Err(QueryError::msg(format!(
                    "time {} overflows time literal",
                    go_rfc3339(t, offset())
                )));
            }
            if t < MIN_TIME as i128 + 1 {
                return Err(QueryError::msg(format!(
                    "time {} underflows time literal",
                    go_rfc3339(t, offset())
                )));
            }
            t as i64
        }
        Lit::Dur(d) | Lit::Int(d) => d,
        Lit::Num(f) => go_f64_to_i64(f),
        other => {
            let ty = match other {
                Lit::Str(_) => "StringLiteral",
                Lit::Bool(_) => "BooleanLiteral",
                Lit::Uns(_) => "UnsignedLiteral",
                Lit::Nil => "NilLiteral",
                Lit::Expr(ty) => ty,
                _ => unreachable!("handled above"),
            };
            return Err(QueryError::msg(format!(
                "invalid operation: time and *influxql.{ty} are not compatible"
            )));
        }
    };
    let mut r = TimeRange::default();
    match op {
        BinaryOp::Eq => {
            r.min = value;
            r.max = value;
        }
        BinaryOp::Gt => r.min = value.saturating_add(1),
        BinaryOp::Gte => r.min = value,
        BinaryOp::Lt => r.max = value.saturating_sub(1),
        BinaryOp::Lte => r.max = value,
        op => {
            return Err(QueryError::msg(format!(
                "invalid time comparison operator: {}",
                op.symbol()
            )))
        }
    }
    Ok(r)
}

/// `l AND r` / `l OR r` where a side is a boolean constant: the side that decides
/// (`x AND false` is `false`) or the other one (`x OR false` is `x`); `Err` gives both
/// sides back when neither is, or for any other operator.
fn decided(op: BinaryOp, l: Expr, r: Expr) -> Result<Expr, (Expr, Expr)> {
    let (t, f) = (Expr::Boolean(true), Expr::Boolean(false));
    match op {
        BinaryOp::And if l == f || r == f => Ok(f),
        BinaryOp::And if l == t => Ok(r),
        BinaryOp::And if r == t => Ok(l),
        BinaryOp::Or if l == t || r == t => Ok(t),
        BinaryOp::Or if l == f => Ok(r),
        BinaryOp::Or if r == f => Ok(l),
        _ => Err((l, r)),
    }
}

/// influxql's `Reduce` without a clock: constant subtrees folded (`1 + 1` is `2`), `AND`
/// and `OR` with a boolean constant simplified (`x OR true` is `true`), parentheses
/// kept only around what is left unfolded.
pub fn reduce(e: &Expr) -> Expr {
    reduce_in(e, None)
}

/// `reduce` with the clock: `now()` is the time `now`.
pub fn reduce_at(e: &Expr, now: i64) -> Expr {
    reduce_in(e, Some(TimeCtx { now, tz: None }))
}

/// `reduce`, with `now()` read from `cx` when it is given (influxql's `Reduce` with a
/// `NowValuer`).
fn reduce_in(e: &Expr, cx: Option<TimeCtx<'_>>) -> Expr {
    let reduce = |e: &Expr| reduce_in(e, cx);
    match e {
        Expr::Call { name, args } if name == "now" && args.is_empty() && cx.is_some() => {
            Expr::Time(cx.map_or(0, |c| c.now))
        }
        Expr::Paren(x) => match reduce(x) {
            b @ Expr::Binary { .. } => Expr::Paren(Box::new(b)),
            other => other,
        },
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (reduce(lhs), reduce(rhs));
            let (l, r) = match decided(*op, l, r) {
                Ok(e) => return e,
                Err(sides) => sides,
            };
            let clock = cx.is_some();
            let cx = cx.unwrap_or(TimeCtx { now: 0, tz: None });
            let literal = |e: &Expr| match e {
                Expr::Call { .. } if !clock => None,
                e => Some(cx.reduce(e)).filter(|l| !matches!(l, Lit::Expr(_))),
            };
            if let (Some(a), Some(b)) = (literal(&l), literal(&r)) {
                let folded = match cx.binary(*op, a, b) {
                    Lit::Int(i) => Some(Expr::Integer(i)),
                    Lit::Num(n) => Some(Expr::Number(n)),
                    Lit::Uns(u) => Some(Expr::Unsigned(u)),
                    Lit::Str(s) => Some(Expr::String(s)),
                    Lit::Bool(b) => Some(Expr::Boolean(b)),
                    Lit::Dur(d) => Some(Expr::Duration(d)),
                    Lit::Time(t, _) => Some(Expr::Time(
                        t.clamp(i64::MIN as i128, i64::MAX as i128) as i64,
                    )),
                    Lit::Nil => Some(Expr::Nil),
                    Lit::Expr(_) => None,
                };
                if let Some(e) = folded {
                    return e;
                }
            }
            Expr::Binary {
                op: *op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            }
        }
        other => other.clone(),
    }
}

/// The constant a condition term folds to, influxd's way: `Some(true|false)` for a
/// boolean, `Some(false)` for any other constant, `None` when it does not fold.
fn fold_term(e: &Expr, now: i64) -> Option<bool> {
    match (TimeCtx { now, tz: None }).reduce(e) {
        Lit::Bool(b) => Some(b),
        Lit::Expr(_) => None,
        _ => Some(false),
    }
}

/// What influxd's series index makes of a SELECT condition's terms (it walks the
/// AND/OR tree): arithmetic that does not fold to a constant (`usage_user - 0`,
/// `host * 2`) is no comparison, so it selects every series with no filter, except a
/// tag against a string (`host + 'x'`) or another tag (`host / region`), which the index
/// looks up as tag values under an operator it has no lookup for, so nothing; arithmetic that folds is that constant
/// (`1 + 1` selects nothing). `is_tag` says whether a name is a tag (not a field).
pub fn index_terms(e: &Expr, now: i64, is_tag: &dyn Fn(&str) -> bool) -> Expr {
    map_terms(e, &|term| match term {
        Expr::Binary { op, lhs, rhs } if op.is_arithmetic() => {
            let tag = |x: &Expr| match x {
                Expr::VarRef { name, data_type } => match data_type {
                    DataType::Tag => true,
                    DataType::Unknown => is_tag(name),
                    _ => false,
                },
                _ => false,
            };
            let string = |x: &Expr| matches!(x, Expr::String(_));
            // Two tags (`host / region`): the index compares their values under an
            // operator it has no lookup for, so nothing either.
            if (tag(lhs) && string(rhs)) || (string(lhs) && tag(rhs)) || (tag(lhs) && tag(rhs)) {
                return Expr::Boolean(false);
            }
            Expr::Boolean(fold_term(term, now).unwrap_or(true))
        }
        other => other.clone(),
    })
}

/// `e` with the type of each variable reference (through parentheses, operators and
/// calls) replaced by `f(name, type)`.
pub fn retype_refs(e: &Expr, f: &dyn Fn(&str, DataType) -> DataType) -> Expr {
    match e {
        Expr::VarRef { name, data_type } => Expr::VarRef {
            name: name.clone(),
            data_type: f(name, *data_type),
        },
        Expr::Paren(x) => Expr::Paren(Box::new(retype_refs(x, f))),
        Expr::Binary { op, lhs, rhs } => Expr::Binary {
            op: *op,
            lhs: Box::new(retype_refs(lhs, f)),
            rhs: Box::new(retype_refs(rhs, f)),
        },
        Expr::Call { name, args } => Expr::Call {
            name: name.clone(),
            args: args.iter().map(|a| retype_refs(a, f)).collect(),
        },
        other => other.clone(),
    }
}

/// `e` with each term of its AND/OR tree (through parentheses) replaced by `f(term)`.
pub fn map_terms(e: &Expr, f: &dyn Fn(&Expr) -> Expr) -> Expr {
    match e {
        Expr::Paren(x) => Expr::Paren(Box::new(map_terms(x, f))),
        Expr::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            lhs,
            rhs,
        } => Expr::Binary {
            op: *op,
            lhs: Box::new(map_terms(lhs, f)),
            rhs: Box::new(map_terms(rhs, f)),
        },
        term => f(term),
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

/// Whether `e` calls `now()`.
fn calls_now(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        found |= matches!(x, Expr::Call { name, args } if name == "now" && args.is_empty());
    });
    found
}

/// Splits `cond` into its time range and the rest (influxql's `ConditionExpr`).
pub fn split_time(cond: &Expr, now: i64) -> Result<(Option<Expr>, TimeRange), QueryError> {
    split(cond, TimeCtx { now, tz: None }, true)
}

/// `split_time` as SHOW TAG KEYS / TAG VALUES read their condition: once, so a term
/// that folds to a constant is left for the index to refuse.
pub fn split_time_once(cond: &Expr, now: i64) -> Result<(Option<Expr>, TimeRange), QueryError> {
    split(cond, TimeCtx { now, tz: None }, false)
}

/// `split_time` of a SELECT's WHERE clause: time strings without a zone are read in the
/// statement's `tz()` zone, as influxd reads them.
pub fn split_statement_time(
    stmt: &tessera_influxql::SelectStatement,
    now: i64,
) -> Result<(Option<Expr>, TimeRange), QueryError> {
    let Some(cond) = &stmt.condition else {
        return Ok((None, TimeRange::default()));
    };
    let tz = stmt.location.as_deref().and_then(crate::tz::Tz::load);
    split(
        cond,
        TimeCtx {
            now,
            tz: tz.as_deref(),
        },
        true,
    )
}

/// `twice`: influxd reads the condition a second time (SELECT and the statements it
/// turns into one), refusing a term that folded to a constant other than a boolean.
fn split(
    cond: &Expr,
    cx: TimeCtx<'_>,
    twice: bool,
) -> Result<(Option<Expr>, TimeRange), QueryError> {
    match cond {
        Expr::Paren(e) => split(e, cx, twice),
        Expr::Binary {
            op: op @ (BinaryOp::And | BinaryOp::Or),
            lhs,
            rhs,
        } => {
            // influxql's ConditionExpr intersects the two sides' time ranges under OR
            // too ("there is no such thing as using OR with a time range"): `a AND
            // time = x OR time = y` selects nothing.
            let (l, lr) = split(lhs, cx, twice)?;
            let (r, rr) = split(rhs, cx, twice)?;
            let range = TimeRange {
                min: lr.min.max(rr.min),
                max: lr.max.min(rr.max),
            };
            // The two sides are joined and reduced again: a side that folded to a
            // boolean decides or drops out (`host = 'a' AND 1 = 2` is `false`).
            let rest = match (l, r) {
                (Some(a), Some(b)) => {
                    Some(decided(*op, a, b).unwrap_or_else(|(a, b)| Expr::Binary {
                        op: *op,
                        lhs: Box::new(a),
                        rhs: Box::new(b),
                    }))
                }
                (a, b) => a.or(b),
            };
            Ok((rest, range))
        }
        // Any operator beside `time` bounds it; those that are no comparison are
        // refused once the other side is known to be a time.
        Expr::Binary { op, lhs, rhs } if is_time_ref(lhs) || is_time_ref(rhs) => {
            let r = if is_time_ref(lhs) {
                time_bound(*op, rhs, cx)?
            } else {
                time_bound(flip(*op), lhs, cx)?
            };
            Ok((None, r))
        }
        // influxd reduces the term with the clock and the statement's zone: constants
        // compare as influxql compares them (`'2023-01-01' < now()`, time strings as
        // times), so a term of constants is a boolean.
        e @ Expr::Binary { .. } if twice && matches!(cx.reduce(e), Lit::Bool(_)) => {
            let Lit::Bool(b) = cx.reduce(e) else {
                unreachable!("matched above")
            };
            Ok((Some(Expr::Boolean(b)), TimeRange::default()))
        }
        // It then reads the condition a second time, when a term that folded to a
        // constant other than a boolean (`1 + 1`) is refused.
        e @ Expr::Binary { .. } if twice => match reduce_in(e, Some(cx)) {
            lit @ (Expr::Integer(_)
            | Expr::Unsigned(_)
            | Expr::Number(_)
            | Expr::String(_)
            | Expr::Duration(_)
            | Expr::Time(_)
            | Expr::Nil) => Err(QueryError::msg(format!(
                "invalid condition expression: {lit}"
            ))),
            // `now()` is read then: a time compares with no field or tag (`host !=
            // now()` holds nowhere).
            reduced if calls_now(e) => Ok((Some(reduced), TimeRange::default())),
            _ => Ok((Some(e.clone()), TimeRange::default())),
        },
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
    /// A math function (`abs(usage_user) > 50`), the only calls a condition may make.
    Math(String, Vec<CExpr>),
}

pub fn compile_regex(pattern: &str) -> Result<Arc<regex::Regex>, QueryError> {
    thread_local! {
        /// Regexes compiled on this thread, by pattern.
        static COMPILED: crate::cache::CacheCell<regex::Regex> = Default::default();
    }
    crate::cache::get_or_make(&COMPILED, pattern, 256, || {
        regex::Regex::new(pattern)
            .map_err(|e| QueryError::msg(format!("error parsing regexp: {e}")))
    })
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
            Expr::Duration(d) => CExpr::Lit(Value::Integer(*d)),
            // A time (a reduced `now()` or time string) equals no value of a row.
            Expr::Time(_) => CExpr::Lit(Value::Null),
            Expr::Regex(re) => CExpr::Regex(compile_regex(&re.0)?),
            Expr::Binary { op, lhs, rhs } => CExpr::Bin(
                *op,
                Box::new(CExpr::compile(lhs, r)?),
                Box::new(CExpr::compile(rhs, r)?),
            ),
            // A wildcard compares as nothing (influxd's engine evaluates it to nil).
            Expr::Nil | Expr::Wildcard(_) => CExpr::Lit(Value::Null),
            Expr::Call { name, args } if tessera_functions::math::arity(name).is_some() => {
                // influxd's condition check counts one argument but for atan2 and pow
                // (so `log(x, 2)` is refused here).
                let n = if matches!(name.as_str(), "atan2" | "pow") {
                    2
                } else {
                    1
                };
                if args.len() != n {
                    return Err(QueryError::msg(format!(
                        "invalid number of arguments for {name}, expected {n}, got {}",
                        args.len()
                    )));
                }
                let args = args
                    .iter()
                    .map(|a| CExpr::compile(a, r))
                    .collect::<Result<Vec<_>, _>>()?;
                CExpr::Math(name.clone(), args)
            }
            call @ Expr::Call { .. } => {
                return Err(QueryError::msg(format!(
                    "invalid function call in condition: {call}"
                )))
            }
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
            CExpr::Math(name, args) => {
                let folded = CExpr::Math(name.clone(), args.iter().map(|a| a.bind(tag)).collect());
                match &folded {
                    CExpr::Math(_, args) if args.iter().all(|a| a.constant().is_some()) => {
                        CExpr::Lit(folded.eval(&[]))
                    }
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
            CExpr::Math(_, args) => args.iter().any(CExpr::uses_fields),
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
            CExpr::Math(name, args) => {
                let a: Vec<tessera_functions::Value> = args
                    .iter()
                    .map(|x| crate::agg::to_fvalue(&x.eval(row)))
                    .collect();
                tessera_functions::math::apply(name, &a)
                    .map(crate::agg::from_fvalue)
                    .unwrap_or(Value::Null)
            }
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
                    // Go's math.Mod is NaN for a zero divisor: influxd answers null.
                    BinaryOp::Mod if y == 0.0 => V::Null,
                    BinaryOp::Mod => V::Float(x % y),
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

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn split_of(cond: &str) -> Result<(Option<Expr>, TimeRange), String> {
        let e = tessera_influxql::parse_expr(cond).expect("parses");
        split_time(&e, NOW).map_err(|e| e.to_string())
    }

    fn range_of(cond: &str) -> TimeRange {
        split_of(cond).expect("splits").1
    }

    #[test]
    fn time_terms_fold_as_influxd_reduces_them() {
        assert_eq!(
            range_of("time > now() - 1h").min,
            NOW - 3_600_000_000_000 + 1
        );
        // An integer plus a duration is a timestamp; a duration times an integer too.
        assert_eq!(range_of("time >= 10 + 1s").min, 1_000_000_010);
        assert_eq!(range_of("time >= 1h * 2").min, 7_200_000_000_000);
        assert_eq!(
            range_of("time < '2023-01-01T00:00:00Z' + 30m").max,
            1_672_533_000_000_000_000 - 1
        );
        assert_eq!(range_of("time = 5 % 3").min, 2);
        // A duration plus an integer does not fold.
        assert!(split_of("time > 1h + 5")
            .unwrap_err()
            .contains("time and *influxql.BinaryExpr are not compatible"));
        assert!(split_of("time > '2023-13-01' + 1h")
            .unwrap_err()
            .contains("*influxql.BinaryExpr"));
        assert_eq!(
            split_of("time * '2023-01-01T00:00:00Z'").unwrap_err(),
            "invalid time comparison operator: *"
        );
        assert_eq!(
            split_of("time > '2300-01-01'").unwrap_err(),
            "time 2300-01-01T00:00:00Z overflows time literal"
        );
        assert_eq!(
            split_of("time > '1600-01-01'").unwrap_err(),
            "time 1600-01-01T00:00:00Z underflows time literal"
        );
    }

    #[test]
    fn a_term_folding_to_a_constant_is_refused() {
        assert_eq!(
            split_of("host = 'a' AND (2 + 3)").unwrap_err(),
            "invalid condition expression: 5"
        );
        // `1 = 1` folds to a boolean: kept.
        assert!(split_of("host = 'a' AND 1 = 1").is_ok());
        let e = tessera_influxql::parse_expr("host = 'a' AND 1 + 1").expect("parses");
        assert!(split_time_once(&e, NOW).is_ok());
    }

    #[test]
    fn arithmetic_terms_select_every_series_but_tag_against_string() {
        let terms = |c: &str| {
            let e = tessera_influxql::parse_expr(c).expect("parses");
            index_terms(&e, NOW, &|n| n == "host").to_string()
        };
        assert_eq!(terms("host = 'a' AND usage - 0"), "host = 'a' AND true");
        assert_eq!(terms("host + 'x' OR usage > 1"), "false OR usage > 1");
        assert_eq!(terms("(1 + 1)"), "(false)");
        assert_eq!(terms("(1 = 1) OR host * 2"), "(1 = 1) OR true");
        assert_eq!(terms("host / host OR usage / host"), "false OR true");
    }

    #[test]
    fn reduce_folds_constants_and_boolean_operands() {
        let r = |c: &str| reduce(&tessera_influxql::parse_expr(c).expect("parses")).to_string();
        assert_eq!(r("host = 'a' OR true"), "true");
        assert_eq!(r("host = 'a' AND true"), "host = 'a'");
        assert_eq!(r("x > 1 + 2"), "x > 3");
        assert_eq!(r("'a' = 'a' AND false"), "false");
    }

    #[test]
    fn math_calls_compile_in_conditions() {
        struct Fields;
        impl Resolver for Fields {
            fn field(&self, name: &str, _: DataType) -> Option<usize> {
                (name == "x").then_some(0)
            }
            fn is_tag(&self, _: &str, _: DataType) -> bool {
                false
            }
        }
        let c =
            |s: &str| CExpr::compile(&tessera_influxql::parse_expr(s).expect("parses"), &Fields);
        let abs = c("abs(x) > 5").expect("compiles");
        assert!(abs.truthy(&[Value::Float(-6.0)]));
        assert!(!abs.truthy(&[Value::Float(4.0)]));
        assert_eq!(
            c("log(x, 2) > 1").unwrap_err().to_string(),
            "invalid number of arguments for log, expected 1, got 2"
        );
        assert_eq!(
            c("mean(x) > 1").unwrap_err().to_string(),
            "invalid function call in condition: mean(x)"
        );
    }
}
