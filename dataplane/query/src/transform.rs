//! Transformations over a series' rows in time order (`derivative`, `difference`,
//! `moving_average`, `holt_winters`, the technical-analysis family …), computed by
//! `tessera-functions`: each transformed column sees its non-null values and emits at its
//! own times; the columns are then joined as influxd's cursor joins its iterators
//! ([`align`]).

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
    // Each column's points in the query's time order: a transformation's output, or
    // for any other column (an aggregate beside a transformed one) the rows as given.
    let mut columns: Vec<Vec<(i64, Value)>> = Vec::with_capacity(plan.outputs.len());
    let mut any = false;
    for (c, o) in plan.outputs.iter().enumerate() {
        let Some(OExpr::Transform { name, args, inner }) = o.transform_node() else {
            columns.push(rows.iter().map(|(t, v)| (*t, v[c].clone())).collect());
            continue;
        };
        any = true;
        // influxd names the iterator under the transformation: an interrupt iterator,
        // except over distinct(), which hands its interval iterator up unwrapped.
        let kind = match **inner {
            OExpr::Call(i) if plan.calls[i].name == "distinct" => "Interval",
            _ => "Interrupt",
        };
        let outer = !matches!(o, OExpr::Transform { .. });
        let mut out = Vec::new();
        if let Some(input) = rows.iter().find_map(|(_, v)| value_type_of(&v[c])) {
            let pts: Vec<Point> = rows
                .iter()
                .filter(|(_, v)| !v[c].is_null())
                .map(|(t, v)| Point::new(*t, to_fvalue(&v[c])))
                .collect();
            let tf = tessera_functions::transform(name, &args_of(args), input, ctx)
                .map_err(|e| crate::agg::err_over(e, kind))?;
            for p in tf.apply(&pts) {
                let mut v = from_fvalue(p.value);
                if outer {
                    v = crate::finish::eval(&o.with_transform_result(&v), &[], &[], &[]);
                }
                out.push((p.time, v));
            }
        }
        columns.push(out);
    }
    if !any {
        return Ok(rows);
    }
    Ok(align(columns, ctx.ascending))
}

/// Rows from per-column point streams as influxd's cursor reads its iterators: each
/// row is at the earliest (latest, descending) time any column has next, and takes
/// the next point of every column at that time; the other columns are null there.
fn align(columns: Vec<Vec<(i64, Value)>>, ascending: bool) -> Vec<(i64, Vec<Value>)> {
    let mut heads: Vec<std::iter::Peekable<std::vec::IntoIter<(i64, Value)>>> = columns
        .into_iter()
        .map(|c| c.into_iter().peekable())
        .collect();
    let mut out = Vec::new();
    loop {
        let next = heads.iter_mut().filter_map(|h| h.peek().map(|p| p.0));
        let ts = if ascending { next.min() } else { next.max() };
        let Some(ts) = ts else {
            return out;
        };
        let row = heads
            .iter_mut()
            .map(|h| match h.next_if(|p| p.0 == ts) {
                Some((_, v)) => v,
                None => Value::Null,
            })
            .collect();
        out.push((ts, row));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(points: &[(i64, i64)]) -> Vec<(i64, Value)> {
        points
            .iter()
            .map(|&(t, v)| (t, Value::Integer(v)))
            .collect()
    }

    #[test]
    fn columns_join_one_point_each_per_row() {
        // difference() starts a point later than cumulative_sum() and repeats times of
        // several series merged: every point of either column gets a row.
        let diff = col(&[(10, 1), (20, 2)]);
        let sum = col(&[(0, 5), (0, 6), (10, 7), (10, 8), (20, 9)]);
        let rows = align(vec![diff, sum], true);
        let shape: Vec<(i64, bool, bool)> = rows
            .iter()
            .map(|(t, v)| (*t, !v[0].is_null(), !v[1].is_null()))
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, false, true),
                (0, false, true),
                (10, true, true),
                (10, false, true),
                (20, true, true),
            ]
        );
    }

    #[test]
    fn descending_rows_follow_the_latest_time() {
        let a = col(&[(20, 1), (10, 2)]);
        let b = col(&[(30, 3), (10, 4)]);
        let times: Vec<i64> = align(vec![a, b], false).iter().map(|r| r.0).collect();
        assert_eq!(times, vec![30, 20, 10]);
    }
}
