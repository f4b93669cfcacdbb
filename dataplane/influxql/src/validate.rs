//! The checks influxd 1.6.7's query compiler makes before it runs a `SELECT`, with its
//! error texts. Checks that need the schema (field types, wildcard expansion) or the
//! clock are the engine's.

use crate::ast::{Expr, Fill, SelectStatement, Source};
use crate::time::format_duration;

/// What the compiler learns while it walks the fields.
struct Compiled {
    interval: i64,
    inherited_interval: bool,
    limit: u64,
    has_target: bool,
    function_calls: usize,
    only_selectors: bool,
    has_distinct: bool,
    has_auxiliary: bool,
    top_bottom: Option<String>,
    fill: Fill,
    non_time_fields: usize,
}

type Check = Result<(), String>;

fn is_literal(e: &Expr) -> bool {
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
fn go_type(e: &Expr) -> &'static str {
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

const MATH_FUNCTIONS: &[&str] = &[
    "abs", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "exp", "log", "ln", "log2",
    "log10", "sqrt", "pow", "floor", "ceil", "round",
];

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
    for s in &stmt.sources {
        if let Source::Subquery(sub) = s {
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
                        Expr::String(s) if looks_like_time(s) => {
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
fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn compile_expr(e: &Expr, c: &mut Compiled, allow_wildcard: bool) -> Check {
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

fn compile_math(name: &str, args: &[Expr], c: &mut Compiled, allow: bool) -> Check {
    let n = if matches!(name, "atan2" | "pow" | "log") {
        2
    } else {
        1
    };
    if args.len() != n {
        return Err(format!(
            "invalid number of arguments for {name}, expected {n}, got {}",
            args.len()
        ));
    }
    for a in args.iter().filter(|a| !is_literal(a)) {
        compile_expr(a, c, allow)?;
    }
    Ok(())
}

/// A function's field argument: a variable, wildcard or regex.
fn compile_symbol(name: &str, arg: &Expr, c: &mut Compiled, allow: bool) -> Check {
    match arg {
        Expr::VarRef { .. } => Ok(()),
        Expr::Wildcard(_) if !allow => {
            Err(format!("unsupported expression with wildcard: {name}()"))
        }
        Expr::Regex(_) if !allow => {
            Err(format!("unsupported expression with regex field: {name}()"))
        }
        Expr::Wildcard(_) | Expr::Regex(_) => {
            c.only_selectors = false;
            Ok(())
        }
        _ => Err(format!("expected field argument in {name}()")),
    }
}

fn check_duration_arg(name: &str, arg: Option<&Expr>, generic: bool) -> Check {
    match arg {
        None => Ok(()),
        Some(Expr::Duration(d)) if *d <= 0 => Err(format!(
            "duration argument must be positive, got {}",
            format_duration(*d)
        )),
        Some(Expr::Duration(_)) => Ok(()),
        Some(_) if generic => Err("second argument must be a duration".into()),
        Some(a) => Err(format!(
            "second argument to {name} must be a duration, got {}",
            go_type(a)
        )),
    }
}

/// `derivative`, `difference`, `moving_average`… over a field or, with `GROUP BY time`,
/// over an aggregate.
fn compile_transform(name: &str, arg0: &Expr, c: &mut Compiled, allow: bool) -> Check {
    c.only_selectors = false;
    if let Expr::Call { .. } = arg0 {
        if c.interval == 0 {
            return Err(format!("{name} aggregate requires a GROUP BY interval"));
        }
        return compile_expr(arg0, c, allow);
    }
    if c.interval != 0 {
        return Err(format!(
            "aggregate function required inside the call to {name}"
        ));
    }
    compile_symbol(name, arg0, c, allow)
}

fn arity_range(name: &str, args: &[Expr], min: usize, max: usize) -> Check {
    if args.len() < min || args.len() > max {
        return Err(format!(
            "invalid number of arguments for {name}, expected at least {min} but no more than {max}, got {}",
            args.len()
        ));
    }
    Ok(())
}

fn arity(name: &str, args: &[Expr], n: usize) -> Check {
    if args.len() != n {
        return Err(format!(
            "invalid number of arguments for {name}, expected {n}, got {}",
            args.len()
        ));
    }
    Ok(())
}

fn compile_call(name: &str, args: &[Expr], c: &mut Compiled, allow: bool) -> Check {
    match name {
        "percentile" => {
            arity(name, args, 2)?;
            if !matches!(args[1], Expr::Integer(_) | Expr::Number(_)) {
                return Err("expected float argument in percentile()".into());
            }
            compile_symbol(name, &args[0], c, allow)
        }
        "sample" => {
            arity(name, args, 2)?;
            match args[1] {
                Expr::Integer(n) if n <= 0 => {
                    Err(format!("sample window must be greater than 1, got {n}"))
                }
                Expr::Integer(_) => compile_symbol(name, &args[0], c, allow),
                _ => Err("expected integer argument in sample()".into()),
            }
        }
        "distinct" => compile_distinct(args, c, false),
        "top" | "bottom" => compile_top_bottom(name, args, c),
        "derivative" | "non_negative_derivative" | "elapsed" => {
            arity_range(name, args, 1, 2)?;
            check_duration_arg(name, args.get(1), false)?;
            compile_transform(name, &args[0], c, allow)
        }
        "difference" | "non_negative_difference" | "cumulative_sum" => {
            arity(name, args, 1)?;
            compile_transform(name, &args[0], c, allow)
        }
        "moving_average" => {
            arity(name, args, 2)?;
            match &args[1] {
                Expr::Integer(n) if *n <= 1 => {
                    return Err(format!(
                        "moving_average window must be greater than 1, got {n}"
                    ))
                }
                Expr::Integer(_) => {}
                a => {
                    return Err(format!(
                        "second argument for moving_average must be an integer, got {}",
                        go_type(a)
                    ))
                }
            }
            compile_transform(name, &args[0], c, allow)
        }
        "integral" => {
            arity_range(name, args, 1, 2)?;
            check_duration_arg(name, args.get(1), true)?;
            c.only_selectors = false;
            compile_symbol(name, &args[0], c, allow)
        }
        "holt_winters" | "holt_winters_with_fit" => {
            arity(name, args, 3)?;
            match args[1] {
                Expr::Integer(n) if n <= 0 => {
                    return Err(format!(
                        "second arg to {name} must be greater than 0, got {n}"
                    ))
                }
                Expr::Integer(_) => {}
                _ => return Err(format!("expected integer argument as second arg in {name}")),
            }
            match args[2] {
                Expr::Integer(n) if n < 0 => {
                    return Err(format!("third arg to {name} cannot be negative, got {n}"))
                }
                Expr::Integer(_) => {}
                _ => return Err(format!("expected integer argument as third arg in {name}")),
            }
            c.only_selectors = false;
            let Expr::Call { .. } = &args[0] else {
                return Err(format!("must use aggregate function with {name}"));
            };
            if c.interval == 0 {
                return Err(format!("{name} aggregate requires a GROUP BY interval"));
            }
            compile_expr(&args[0], c, allow)
        }
        _ => compile_function(name, args, c, allow),
    }
}

fn compile_function(name: &str, args: &[Expr], c: &mut Compiled, allow: bool) -> Check {
    match name {
        "max" | "min" | "first" | "last" => {}
        "count" | "sum" | "mean" | "median" | "mode" | "stddev" | "spread" => {
            c.only_selectors = false
        }
        _ => return Err(format!("undefined function {name}()")),
    }
    arity(name, args, 1)?;
    if name == "count" {
        match &args[0] {
            Expr::Call { name: n, args: a } if n == "distinct" => {
                return compile_distinct(a, c, true)
            }
            Expr::Distinct(v) => {
                let a = [Expr::VarRef {
                    name: v.clone(),
                    data_type: Default::default(),
                }];
                return compile_distinct(&a, c, true);
            }
            _ => {}
        }
    }
    compile_symbol(name, &args[0], c, allow)
}

fn compile_distinct(args: &[Expr], c: &mut Compiled, nested: bool) -> Check {
    if args.is_empty() {
        return Err("distinct function requires at least one argument".into());
    }
    if args.len() != 1 {
        return Err("distinct function can only have one argument".into());
    }
    if !matches!(args[0], Expr::VarRef { .. }) {
        return Err("expected field argument in distinct()".into());
    }
    if !nested {
        c.has_distinct = true;
    }
    c.only_selectors = false;
    Ok(())
}

fn compile_top_bottom(name: &str, args: &[Expr], c: &mut Compiled) -> Check {
    if let Some(tb) = &c.top_bottom {
        return Err(format!(
            "selector function {tb}() cannot be combined with other functions"
        ));
    }
    if args.len() < 2 {
        return Err(format!(
            "invalid number of arguments for {name}, expected at least 2, got {}",
            args.len()
        ));
    }
    let last = &args[args.len() - 1];
    let Expr::Integer(limit) = last else {
        return Err(format!(
            "expected integer as last argument in {name}(), found {last}"
        ));
    };
    if *limit <= 0 {
        return Err(format!(
            "limit ({limit}) in {name} function must be at least 1"
        ));
    }
    if c.limit > 0 && *limit as u64 > c.limit {
        return Err(format!(
            "limit ({limit}) in {name} function can not be larger than the LIMIT ({}) in the select statement",
            c.limit
        ));
    }
    if !matches!(args[0], Expr::VarRef { .. }) {
        return Err(format!(
            "expected first argument to be a field in {name}(), found {}",
            args[0]
        ));
    }
    for a in &args[1..args.len() - 1] {
        if !matches!(a, Expr::VarRef { .. }) {
            return Err(format!(
                "only fields or tags are allowed in {name}(), found {a}"
            ));
        }
        if !c.has_target {
            c.has_auxiliary = true;
        }
    }
    c.top_bottom = Some(name.to_string());
    Ok(())
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
