//! Transformations over a series' rows in time order (`derivative`, `difference`,
//! `moving_average`, …): they see each column's non-null values and emit at their own times.

use std::collections::BTreeMap;

use tessera_influxql::Expr;

use crate::plan::{OExpr, SelectPlan};
use crate::value::Value;

fn unit_arg(args: &[Expr], default: i64) -> i64 {
    match args.first() {
        Some(Expr::Duration(d)) if *d > 0 => *d,
        _ => default,
    }
}

fn int_arg(args: &[Expr]) -> i64 {
    match args.first() {
        Some(Expr::Integer(i)) => *i,
        _ => 0,
    }
}

/// Applies one transformation to (time, value) points in time order.
pub fn run(
    name: &str,
    args: &[Expr],
    pts: &[(i64, Value)],
    interval: Option<i64>,
) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    match name {
        "derivative" | "non_negative_derivative" => {
            let unit = unit_arg(args, interval.unwrap_or(1_000_000_000)) as f64;
            for w in pts.windows(2) {
                let (p, c) = (&w[0], &w[1]);
                if c.0 == p.0 {
                    continue;
                }
                let (Some(a), Some(b)) = (p.1.as_f64(), c.1.as_f64()) else {
                    continue;
                };
                let d = (b - a) / ((c.0 - p.0) as f64 / unit);
                if name == "non_negative_derivative" && d < 0.0 {
                    continue;
                }
                out.push((c.0, Value::Float(d)));
            }
        }
        "difference" | "non_negative_difference" => {
            for w in pts.windows(2) {
                let (p, c) = (&w[0], &w[1]);
                let d = match (&p.1, &c.1) {
                    (Value::Integer(a), Value::Integer(b)) => Value::Integer(b.wrapping_sub(*a)),
                    (Value::Unsigned(a), Value::Unsigned(b)) => Value::Unsigned(b.wrapping_sub(*a)),
                    (a, b) => match (a.as_f64(), b.as_f64()) {
                        (Some(a), Some(b)) => Value::Float(b - a),
                        _ => continue,
                    },
                };
                if name == "non_negative_difference" && d.as_f64().unwrap_or(0.0) < 0.0 {
                    continue;
                }
                out.push((c.0, d));
            }
        }
        "cumulative_sum" => {
            let mut acc: Option<Value> = None;
            for (t, v) in pts {
                acc = Some(match (&acc, v) {
                    (None, v) => v.clone(),
                    (Some(Value::Integer(a)), Value::Integer(b)) => {
                        Value::Integer(a.wrapping_add(*b))
                    }
                    (Some(a), b) => {
                        Value::Float(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0))
                    }
                });
                out.push((*t, acc.clone().unwrap_or(Value::Null)));
            }
        }
        "moving_average" => {
            let n = int_arg(args).max(1) as usize;
            if pts.len() >= n {
                let vals: Vec<f64> = pts.iter().map(|p| p.1.as_f64().unwrap_or(0.0)).collect();
                let mut sum: f64 = vals[..n].iter().sum();
                out.push((pts[n - 1].0, Value::Float(sum / n as f64)));
                for i in n..vals.len() {
                    sum += vals[i] - vals[i - n];
                    out.push((pts[i].0, Value::Float(sum / n as f64)));
                }
            }
        }
        "elapsed" => {
            let unit = unit_arg(args, 1);
            for w in pts.windows(2) {
                out.push((w[1].0, Value::Integer((w[1].0 - w[0].0) / unit)));
            }
        }
        _ => {}
    }
    out
}

/// Applies every transformed output column of `plan` to a series' rows.
pub fn apply(plan: &SelectPlan, rows: Vec<(i64, Vec<Value>)>) -> Vec<(i64, Vec<Value>)> {
    let interval = plan.interval.map(|i| i.every);
    let mut results: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let ncols = plan.outputs.len();
    let mut any = false;
    for (c, o) in plan.outputs.iter().enumerate() {
        let OExpr::Transform { name, args, .. } = o else {
            continue;
        };
        any = true;
        let pts: Vec<(i64, Value)> = rows
            .iter()
            .filter(|(_, v)| !v[c].is_null())
            .map(|(t, v)| (*t, v[c].clone()))
            .collect();
        for (t, v) in run(name, args, &pts, interval) {
            results.entry(t).or_insert_with(|| vec![Value::Null; ncols])[c] = v;
        }
    }
    if !any {
        return rows;
    }
    let by_time: BTreeMap<i64, &Vec<Value>> = rows.iter().map(|(t, v)| (*t, v)).collect();
    results
        .into_iter()
        .map(|(t, mut vals)| {
            for (c, o) in plan.outputs.iter().enumerate() {
                if !matches!(o, OExpr::Transform { .. }) {
                    if let Some(r) = by_time.get(&t) {
                        vals[c] = r[c].clone();
                    }
                }
            }
            (t, vals)
        })
        .collect()
}
