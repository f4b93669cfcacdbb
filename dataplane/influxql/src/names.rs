//! Result column names, as influxd 1.6.7 names them.

use std::collections::HashMap;

use crate::ast::{Expr, Field, SelectStatement};

/// influxd's `Field.Name()`: the alias, else the function name, else the variable name;
/// a binary expression joins the names of its variables and calls with `_`
/// (`value + i` is `value_i`, `mean(a) / max(b)` is `mean_max`). `DISTINCT x` is
/// `distinct`, as influxd rewrites it to a call first. Literals and wildcards have no
/// name (`""`).
pub fn field_name(field: &Field) -> String {
    if let Some(a) = field.alias.as_ref().filter(|a| !a.is_empty()) {
        return a.clone();
    }
    expr_name(&field.expr)
}

fn expr_name(e: &Expr) -> String {
    match e {
        Expr::Call { name, .. } => name.clone(),
        Expr::Distinct(_) => "distinct".to_string(),
        Expr::Binary { .. } => {
            let mut names = Vec::new();
            binary_names(e, &mut names);
            names.join("_")
        }
        Expr::Paren(inner) => expr_name(inner),
        Expr::VarRef { name, .. } => name.clone(),
        _ => String::new(),
    }
}

fn binary_names(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::VarRef { name, .. } => out.push(name.clone()),
        Expr::Call { name, .. } => out.push(name.clone()),
        Expr::Binary { lhs, rhs, .. } => {
            binary_names(lhs, out);
            binary_names(rhs, out);
        }
        Expr::Paren(inner) => binary_names(inner, out),
        _ => {}
    }
}

/// The `columns` of a `SELECT`'s result, as influxd computes them: `time` first (or the
/// alias of a selected `time` field, which is itself dropped), then one per field, plus
/// one per extra tag or field argument of `top()`/`bottom()` (unless the statement has
/// `INTO`). Aliases are kept as given; other names that collide get `_1`, `_2`…
/// (`mean`, `mean_1`). Wildcards and regexes are not expanded here: call this on a
/// statement whose fields the engine has already expanded.
pub fn column_names(stmt: &SelectStatement) -> Vec<String> {
    // influxd drops `time` fields in a loop that skips the field after each one removed.
    let mut fields: Vec<&Field> = stmt.fields.iter().collect();
    let mut time_name = "time".to_string();
    let mut i = 0;
    while i < fields.len() {
        if let Expr::VarRef { name, .. } = &fields[i].expr {
            if name == "time" {
                time_name = fields[i].alias.clone().unwrap_or_default();
                if time_name.is_empty() {
                    time_name = "time".to_string();
                }
                fields.remove(i);
            }
        }
        i += 1;
    }

    let mut columns: Vec<Field> = Vec::new();
    for f in fields {
        columns.push(f.clone());
        if let Expr::Call { name, args } = &f.expr {
            if stmt.target.is_none() && (name == "top" || name == "bottom") {
                for a in args.iter().skip(1) {
                    if let Expr::VarRef { .. } = a {
                        columns.push(Field {
                            expr: a.clone(),
                            alias: None,
                        });
                    }
                }
            }
        }
    }

    let mut out = vec![String::new(); columns.len() + 1];
    out[0] = time_name;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, c) in columns.iter().enumerate() {
        if let Some(a) = &c.alias {
            if !a.is_empty() {
                out[i + 1] = a.clone();
                seen.insert(a.clone(), 1);
            }
        }
    }
    for (i, c) in columns.iter().enumerate() {
        if !out[i + 1].is_empty() {
            continue;
        }
        let mut name = field_name(c);
        if let Some(&start) = seen.get(&name) {
            let mut count = start;
            loop {
                let candidate = format!("{name}_{count}");
                if !seen.contains_key(&candidate) {
                    seen.insert(name.clone(), count + 1);
                    name = candidate;
                    break;
                }
                count += 1;
            }
        }
        *seen.entry(name.clone()).or_insert(0) += 1;
        out[i + 1] = name;
    }
    // A column left without a name (a field whose key is empty) is `val<index>`.
    for (i, name) in out.iter_mut().enumerate().skip(1) {
        if name.is_empty() {
            *name = format!("val{}", i - 1);
        }
    }
    out
}
