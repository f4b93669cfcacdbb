//! Transformations over a series' rows in time order (`derivative`, `difference`,
//! `moving_average`, `holt_winters`, the technical-analysis family …), computed by
//! `tessera-functions`: each transformed column sees its non-null values and emits at its
//! own times; other columns are joined on those times.

use std::collections::BTreeMap;

use tessera_functions::{Point, TransformContext};

use crate::agg::{args_of, from_fvalue, to_fvalue, value_type_of};
use crate::error::QueryError;
use crate::plan::{OExpr, SelectPlan};
use crate::value::Value;

/// Applies every transformed output column of `plan` to a series' rows (in output order:
/// descending under `ORDER BY time DESC`).
pub fn apply(
    plan: &SelectPlan,
    rows: Vec<(i64, Vec<Value>)>,
) -> Result<Vec<(i64, Vec<Value>)>, QueryError> {
    let ctx = TransformContext {
        interval: if plan.aggregate {
            plan.interval.map(|i| i.every)
        } else {
            None
        },
        ascending: !plan.descending,
    };
    let ncols = plan.outputs.len();
    let mut results: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let mut order: Vec<i64> = Vec::new();
    let mut any = false;
    for (c, o) in plan.outputs.iter().enumerate() {
        let Some(OExpr::Transform { name, args, inner }) = o.transform_node() else {
            continue;
        };
        let kind = if matches!(**inner, OExpr::Call(_)) {
            "Interval"
        } else {
            "Interrupt"
        };
        let outer = !matches!(o, OExpr::Transform { .. });
        any = true;
        let pts: Vec<Point> = rows
            .iter()
            .filter(|(_, v)| !v[c].is_null())
            .map(|(t, v)| Point::new(*t, to_fvalue(&v[c])))
            .collect();
        let Some(input) = rows.iter().find_map(|(_, v)| value_type_of(&v[c])) else {
            continue;
        };
        let tf = tessera_functions::transform(name, &args_of(args), input, ctx)
            .map_err(|e| crate::agg::err_over(e, kind))?;
        for p in tf.apply(&pts) {
            if !results.contains_key(&p.time) {
                order.push(p.time);
            }
            let mut v = from_fvalue(p.value);
            if outer {
                v = crate::finish::eval(&o.with_transform_result(&v), &[], &[], &[]);
            }
            results
                .entry(p.time)
                .or_insert_with(|| vec![Value::Null; ncols])[c] = v;
        }
    }
    if !any {
        return Ok(rows);
    }
    let by_time: BTreeMap<i64, &Vec<Value>> = rows.iter().map(|(t, v)| (*t, v)).collect();
    Ok(order
        .into_iter()
        .filter_map(|t| {
            let mut vals = results.remove(&t)?;
            for (c, o) in plan.outputs.iter().enumerate() {
                if o.transform_node().is_none() {
                    if let Some(r) = by_time.get(&t) {
                        vals[c] = r[c].clone();
                    }
                }
            }
            Some((t, vals))
        })
        .collect())
}
