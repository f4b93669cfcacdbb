//! The per-function checks of influxd 1.6.7's query compiler: arity, argument kinds,
//! and what each function means for the statement (selector, aggregate, transform).

use crate::ast::Expr;
use crate::time::format_duration;
use crate::validate::{compile_expr, go_type, is_literal, Check, Compiled};

/// The technical-analysis transformations (influxd 1.6): a period, then an optional hold
/// period and warmup type, checked by the function itself.
pub const TECHNICAL_ANALYSIS: &[&str] = &[
    "chande_momentum_oscillator",
    "exponential_moving_average",
    "double_exponential_moving_average",
    "triple_exponential_moving_average",
    "triple_exponential_derivative",
    "kaufmans_efficiency_ratio",
    "kaufmans_adaptive_moving_average",
    "relative_strength_index",
];

pub(crate) const MATH_FUNCTIONS: &[&str] = &[
    "abs", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "exp", "log", "ln", "log2",
    "log10", "sqrt", "pow", "floor", "ceil", "round",
];

pub(crate) fn compile_math(name: &str, args: &[Expr], c: &mut Compiled, allow: bool) -> Check {
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
    if args.iter().all(is_literal) {
        return Err("field must contain at least one variable".into());
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
    if let Expr::Call { name: inner, args } = arg0 {
        if c.interval == 0 {
            return Err(format!("{name} aggregate requires a GROUP BY interval"));
        }
        // influxd compiles a distinct() inside a transformation as nested: it is not
        // the statement's lone distinct().
        if inner == "distinct" {
            c.function_calls += 1;
            return compile_distinct(args, c, true);
        }
        return compile_expr(arg0, c, allow);
    }
    // (An interval a subquery takes from its outer statement does not ask for one.)
    if c.interval != 0 && !c.inherited_interval {
        return Err(format!(
            "aggregate function required inside the call to {name}"
        ));
    }
    compile_symbol(name, arg0, c, allow)
}

/// The period, hold period and warmup type of a technical-analysis function, checked
/// before anything else about the call (as influxd does: `ema(mean(x), 0)` without
/// GROUP BY time is a period error).
fn check_ta_args(name: &str, args: &[Expr]) -> Check {
    let int = |e: &Expr, what: &str| match e {
        Expr::Integer(n) => Ok(*n),
        _ => Err(format!("{name} {what} must be an integer")),
    };
    let period = int(&args[0], "period")?;
    if period < 1 {
        return Err(format!("{name} period must be greater than or equal to 1"));
    }
    let kaufmans = name.starts_with("kaufmans");
    let cmo = name == "chande_momentum_oscillator";
    if let Some(h) = args.get(1) {
        let hold = int(h, "hold period")?;
        let min = i64::from(name == "triple_exponential_derivative");
        if hold != -1 && hold < min {
            return Err(format!(
                "{name} hold period must be greater than or equal to {min}"
            ));
        }
    }
    let mut none = cmo;
    if let (Some(w), false) = (args.get(2), kaufmans) {
        let Expr::String(w) = w else {
            return Err(format!("{name} warmup type must be a string"));
        };
        none = match w.as_str() {
            "exponential" | "simple" => false,
            "none" if cmo => true,
            _ if cmo => {
                return Err(format!(
                    "{name} warmup type must be one of: 'none' 'exponential' 'simple'"
                ))
            }
            _ => {
                return Err(format!(
                    "{name} warmup type must be one of: 'exponential' 'simple'"
                ))
            }
        };
    }
    if cmo && none && period < 2 {
        return Err(format!(
            "{name} period must be greater than or equal to 2 with warmup type 'none'"
        ));
    }
    Ok(())
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

pub(crate) fn compile_call(name: &str, args: &[Expr], c: &mut Compiled, allow: bool) -> Check {
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
        // The technical-analysis family: the period, then optional hold period and
        // warmup type, checked by the function itself.
        ta if TECHNICAL_ANALYSIS.contains(&ta) => {
            // The Kaufman functions take no warmup type.
            let max = if name.starts_with("kaufmans") { 3 } else { 4 };
            arity_range(name, args, 2, max)?;
            check_ta_args(name, &args[1..])?;
            compile_transform(name, &args[0], c, allow)
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

pub(crate) fn compile_distinct(args: &[Expr], c: &mut Compiled, nested: bool) -> Check {
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
