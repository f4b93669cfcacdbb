//! The checks influxd 1.6.7's query compiler makes before it runs a `SELECT`, with its
//! error texts. Checks that need the schema (field types, wildcard expansion) or the
//! clock are the engine's.

use crate::ast::{Expr, Fill, SelectStatement, Source};
use crate::calls::{compile_call, compile_distinct, compile_math, MATH_FUNCTIONS};

/// What the compiler learns while it walks the fields.
pub(crate) struct Compiled {
    pub(crate) interval: i64,
    pub(crate) inherited_interval: bool,
    pub(crate) limit: u64,
    pub(crate) has_target: bool,
    pub(crate) function_calls: usize,
    pub(crate) only_selectors: bool,
    pub(crate) has_distinct: bool,
    pub(crate) has_auxiliary: bool,
    pub(crate) top_bottom: Option<String>,
    pub(crate) fill: Fill,
    pub(crate) non_time_fields: usize,
}

pub(crate) type Check = Result<(), String>;

pub(crate) fn is_literal(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Integer(_)
            | Expr::Unsigned(_)
            | Expr::Number(_)
            | Expr::String(_)
            | Expr::Boolean(_)
            | Expr::Duration(_)
            | Expr::Time(_)
            | Expr::Regex(_)
            | Expr::BoundParameter(_)
            | Expr::Nil
    )
}

/// Go's `%T` of an argument, as some messages print it.
pub(crate) fn go_type(e: &Expr) -> &'static str {
    match e {
        Expr::VarRef { .. } => "*influxql.VarRef",
        Expr::Call { .. } => "*influxql.Call",
        Expr::Binary { .. } => "*influxql.BinaryExpr",
        Expr::Paren(_) => "*influxql.ParenExpr",
        Expr::Integer(_) => "*influxql.IntegerLiteral",
        Expr::Unsigned(_) => "*influxql.UnsignedLiteral",
        Expr::Number(_) => "*influxql.NumberLiteral",
        Expr::String(_) => "*influxql.StringLiteral",
        Expr::Boolean(_) => "*influxql.BooleanLiteral",
        Expr::Duration(_) => "*influxql.DurationLiteral",
        Expr::Time(_) => "*influxql.TimeLiteral",
        Expr::Regex(_) => "*influxql.RegexLiteral",
        Expr::Wildcard(_) => "*influxql.Wildcard",
        Expr::Distinct(_) => "*influxql.Distinct",
        Expr::BoundParameter(_) => "*influxql.BoundParameter",
        Expr::Nil => "*influxql.NilLiteral",
    }
}

/// influxd folds arithmetic on numeric literals before compiling (`1 + 2` is `3`).
fn reduce(e: &Expr) -> Expr {
    match e {
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (reduce(lhs), reduce(rhs));
            use crate::ast::BinaryOp::*;
            let folded = match (&l, &r) {
                (Expr::Integer(a), Expr::Integer(b)) => match op {
                    Add => Some(Expr::Integer(a.wrapping_add(*b))),
                    Sub => Some(Expr::Integer(a.wrapping_sub(*b))),
                    Mul => Some(Expr::Integer(a.wrapping_mul(*b))),
                    _ => None,
                },
                (Expr::Number(a), Expr::Number(b)) => match op {
                    Add => Some(Expr::Number(a + b)),
                    Sub => Some(Expr::Number(a - b)),
                    Mul => Some(Expr::Number(a * b)),
                    _ => None,
                },
                _ => None,
            };
            folded.unwrap_or(Expr::Binary {
                op: *op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            })
        }
        Expr::Paren(inner) => match reduce(inner) {
            lit if is_literal(&lit) => lit,
            other => Expr::Paren(Box::new(other)),
        },
        other => other.clone(),
    }
}

/// Checks a `SELECT` (and its subqueries) as influxd does before running it; the error
/// is influxd's text (`mixing aggregate and non-aggregate queries is not supported`,
/// `undefined function foo()`, `invalid number of arguments for mean, expected 1, got 2`,
/// `GROUP BY requires at least one aggregate function`…).
pub fn validate_select(stmt: &SelectStatement) -> Result<(), String> {
    compile(stmt, None)
}

fn compile(stmt: &SelectStatement, outer: Option<&Compiled>) -> Check {
    let mut c = Compiled {
        interval: outer.map(|o| o.interval).unwrap_or(0),
        inherited_interval: outer.is_some_and(|o| o.interval != 0),
        limit: stmt.limit,
        has_target: stmt.target.is_some(),
        function_calls: 0,
        only_selectors: true,
        has_distinct: false,
        has_auxiliary: false,
        top_bottom: None,
        fill: stmt.fill,
        non_time_fields: 0,
    };
    compile_dimensions(stmt, &mut c)?;
    if let Some(o) = outer {
        // A grouped subquery under an aggregate does not fill its own windows, so
        // influxd reports a missing function there as a fill(none) misuse.
        if o.function_calls > 0
            && stmt.fill == Fill::Null
            && !c.inherited_interval
            && c.interval != 0
        {
            c.fill = Fill::None;
        }
    }
    for f in &stmt.fields {
        if let Expr::VarRef { name, .. } = &f.expr {
            if name == "time" {
                continue;
            }
        }
        c.non_time_fields += 1;
        compile_expr(&reduce(&f.expr), &mut c, true)?;
    }
    if c.non_time_fields == 0 {
        return Err("at least 1 non-time field must be queried".into());
    }
    validate_fields(&c)?;
    let ascending = |s: &SelectStatement| s.sort_fields.first().is_none_or(|f| f.ascending);
    for s in &stmt.sources {
        if let Source::Subquery(sub) = s {
            // Checked before the subquery itself is compiled.
            if !sub.sort_fields.is_empty() && ascending(sub) != ascending(stmt) {
                return Err(
                    "subqueries must be ordered in the same direction as the query itself".into(),
                );
            }
            compile(sub, Some(&c))?;
        }
    }
    Ok(())
}

fn compile_dimensions(stmt: &SelectStatement, c: &mut Compiled) -> Check {
    let mut own_interval = 0;
    for d in &stmt.dimensions {
        match reduce(&d.expr) {
            Expr::VarRef { name, .. } => {
                if name.eq_ignore_ascii_case("time") {
                    return Err("time() is a function and expects at least one argument".into());
                }
            }
            Expr::Call { name, args } => {
                if name != "time" {
                    return Err("only time() calls allowed in dimensions".into());
                }
                if args.is_empty() || args.len() > 2 {
                    return Err("time dimension expected 1 or 2 arguments".into());
                }
                let Expr::Duration(d) = args[0] else {
                    return Err("time dimension must have duration argument".into());
                };
                if own_interval != 0 {
                    return Err("multiple time dimensions not allowed".into());
                }
                own_interval = d;
                if let Some(off) = args.get(1) {
                    match off {
                        Expr::Duration(_) | Expr::Time(_) => {}
                        Expr::Call { name, args } => {
                            if name != "now" {
                                return Err("time dimension offset function must be now()".into());
                            }
                            if !args.is_empty() {
                                return Err(
                                    "time dimension offset now() function requires no arguments"
                                        .into(),
                                );
                            }
                        }
                        Expr::String(s) if crate::time::is_time_literal(s) => {
                            if crate::time::parse_time_string(s).is_none() {
                                return Err("invalid timestamp string".into());
                            }
                        }
                        _ => return Err("time dimension offset must be duration or now()".into()),
                    }
                }
            }
            Expr::Wildcard(_) | Expr::Regex(_) => {}
            _ => return Err("only time and tag dimensions allowed".into()),
        }
    }
    if own_interval != 0 {
        c.interval = own_interval;
        c.inherited_interval = false;
    }
    Ok(())
}

/// influxd's `IsTimeLiteral`: `^\d{4}-\d{2}-\d{2}` (a date, or a date and more).
pub(crate) fn compile_expr(e: &Expr, c: &mut Compiled, allow_wildcard: bool) -> Check {
    match e {
        Expr::VarRef { .. } => {
            c.has_auxiliary = true;
            Ok(())
        }
        Expr::Wildcard(_) => {
            c.has_auxiliary = true;
            if !allow_wildcard {
                return Err("unable to use wildcard in a binary expression".into());
            }
            Ok(())
        }
        Expr::Regex(_) if !allow_wildcard => {
            Err("unable to use regex in a binary expression".into())
        }
        Expr::Regex(_) => {
            c.has_auxiliary = true;
            Ok(())
        }
        Expr::Call { name, args } => {
            if MATH_FUNCTIONS.contains(&name.as_str()) {
                return compile_math(name, args, c, allow_wildcard);
            }
            c.function_calls += 1;
            compile_call(name, args, c, allow_wildcard)
        }
        Expr::Distinct(v) => {
            c.function_calls += 1;
            compile_distinct(
                &[Expr::VarRef {
                    name: v.clone(),
                    data_type: Default::default(),
                }],
                c,
                false,
            )
        }
        Expr::Binary { lhs, rhs, .. } => match (is_literal(lhs), is_literal(rhs)) {
            (true, true) => Err("cannot perform a binary expression on two literals".into()),
            (true, false) => compile_expr(rhs, c, false),
            (false, true) => compile_expr(lhs, c, false),
            (false, false) => {
                compile_expr(lhs, c, false)?;
                compile_expr(rhs, c, false)
            }
        },
        Expr::Paren(inner) => compile_expr(inner, c, allow_wildcard),
        _ => Err("field must contain at least one variable".into()),
    }
}

fn validate_fields(c: &Compiled) -> Check {
    if let Some(tb) = &c.top_bottom {
        if c.function_calls > 1 {
            return Err(format!(
                "selector function {tb}() cannot be combined with other functions"
            ));
        }
    }
    if c.function_calls == 0 {
        match c.fill {
            Fill::None => return Err("fill(none) must be used with a function".into()),
            Fill::Linear => return Err("fill(linear) must be used with a function".into()),
            _ => {}
        }
        if c.interval != 0 && !c.inherited_interval {
            return Err("GROUP BY requires at least one aggregate function".into());
        }
    }
    if c.has_distinct && (c.function_calls != 1 || c.has_auxiliary) {
        return Err(
            "aggregate function distinct() cannot be combined with other functions or fields"
                .into(),
        );
    }
    if c.has_auxiliary {
        if !c.only_selectors {
            return Err("mixing aggregate and non-aggregate queries is not supported".into());
        } else if c.function_calls > 1 {
            return Err(
                "mixing multiple selector functions with tags or fields is not supported".into(),
            );
        }
    }
    Ok(())
}
