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
    // Inputs of outputs with several transformations, after the outputs' own values.
    let mut extra = plan.outputs.len();
    // Over raw values each transformation is an iterator that takes the statement's
    // OFFSET and LIMIT on its own (`difference(a), cumulative_sum(b) LIMIT 3` can
    // answer 4 rows); over windows the caller limits the rows.
    let limited = |s: Vec<(i64, Value)>| {
        if plan.aggregate {
            s
        } else {
            iterator_limit(plan, s)
        }
    };
    let has_extra = rows.first().is_some_and(|r| r.1.len() > plan.outputs.len());
    for (c, o) in plan.outputs.iter().enumerate() {
        let Some(node) = o.transform_node() else {
            columns.push(rows.iter().map(|(t, v)| (*t, v[c].clone())).collect());
            continue;
        };
        any = true;
        let nodes = outermost_transforms(o);
        if nodes.len() > 1 && has_extra {
            // `tema(x) - difference(x)`: each transformation is an iterator of its own,
            // joined by time; a missing one is null in the expression.
            let mut streams = Vec::with_capacity(nodes.len());
            for n in &nodes {
                streams.push(limited(run_transform(plan, n, &rows, extra, ctx)?));
                extra += 1;
            }
            let out = align(streams, ctx.ascending)
                .into_iter()
                .map(|(t, vals)| {
                    let mut k = 0;
                    let e = o.map_transforms(&mut |_| {
                        k += 1;
                        Some(OExpr::Lit(vals[k - 1].clone()))
                    });
                    (t, crate::finish::eval(&e, &[], &[], &[]))
                })
                .collect();
            columns.push(out);
            continue;
        }
        let outer = !matches!(o, OExpr::Transform { .. });
        let mut out = limited(run_transform(plan, node, &rows, c, ctx)?);
        if outer {
            for (_, v) in out.iter_mut() {
                let e = o.map_transforms(&mut |_| Some(OExpr::Lit(v.clone())));
                *v = crate::finish::eval(&e, &[], &[], &[]);
            }
        }
        columns.push(out);
    }
    if !any {
        return Ok(rows);
    }
    let transformed: Vec<bool> = plan
        .outputs
        .iter()
        .map(|o| o.transform_node().is_some())
        .collect();
    let mut rows = align(columns, ctx.ascending);
    scanner_defaults(plan, &transformed, &mut rows);
    Ok(rows)
}

/// An iterator's points after the statement's OFFSET and LIMIT (influxd applies them to
/// each iterator of a statement with transformations on its own).
fn iterator_limit(plan: &SelectPlan, s: Vec<(i64, Value)>) -> Vec<(i64, Value)> {
    let take = if plan.limit > 0 {
        plan.limit as usize
    } else {
        usize::MAX
    };
    s.into_iter()
        .skip(plan.offset as usize)
        .take(take)
        .collect()
}

/// The outermost transformations of an output, in the order `map_transforms` visits them.
pub fn outermost_transforms(o: &OExpr) -> Vec<OExpr> {
    let mut out = Vec::new();
    o.map_transforms(&mut |t| {
        out.push(t.clone());
        None
    });
    out
}

/// The transformations whose inputs raw rows carry after the outputs' values: those of
/// outputs with several (see [`apply`]), in output order.
pub fn extra_inputs(plan: &SelectPlan) -> Vec<OExpr> {
    plan.outputs
        .iter()
        .map(outermost_transforms)
        .filter(|n| n.len() > 1)
        .flatten()
        .collect()
}

/// Transformation `node` over the non-null values of column `col` of `rows`.
fn run_transform(
    plan: &SelectPlan,
    node: &OExpr,
    rows: &[(i64, Vec<Value>)],
    col: usize,
    ctx: TransformContext,
) -> Result<Vec<(i64, Value)>, QueryError> {
    let OExpr::Transform { name, args, inner } = node else {
        return Ok(Vec::new());
    };
    // influxd names the iterator under the transformation: an interrupt iterator,
    // except over distinct(), which hands its interval iterator up unwrapped.
    let kind = match **inner {
        OExpr::Call(i) if plan.calls[i].name == "distinct" => "Interval",
        _ => "Interrupt",
    };
    let Some(input) = rows.iter().find_map(|(_, v)| value_type_of(&v[col])) else {
        return Ok(Vec::new());
    };
    let pts: Vec<Point> = rows
        .iter()
        .filter(|(_, v)| !v[col].is_null())
        .map(|(t, v)| Point::new(*t, to_fvalue(&v[col])))
        .collect();
    let tf = tessera_functions::transform(name, &args_of(args), input, ctx)
        .map_err(|e| crate::agg::err_over(e, kind))?;
    Ok(tf
        .apply(&pts)
        .into_iter()
        .map(|p| (p.time, from_fvalue(p.value)))
        .collect())
}

/// A transformation of raw values (beside aggregates) and its points in output order.
pub type RawStream = (OExpr, Vec<(i64, Value)>);

/// Aggregate rows (`(time, outputs, call values)` per window, in output order) of a
/// statement with transformations, answered as influxd's cursor reads its iterators:
/// every transformation and every call outside one is an iterator with its own points
/// (the statement's OFFSET and LIMIT apply to each on its own); rows are at the times any of them has a point, where
/// the others give their default (see [`scanner_defaults`]); each output is computed
/// over the iterators' values of its row.
pub fn apply_windows(
    plan: &SelectPlan,
    rows: Vec<(i64, Vec<Value>, Vec<Value>)>,
    raw: &[RawStream],
    unseen: &[bool],
) -> Result<Vec<(i64, Vec<Value>)>, QueryError> {
    use tessera_influxql::Fill;
    let ctx = TransformContext {
        interval: plan.interval.map(|i| i.every),
        ascending: !plan.descending,
    };
    let mut transforms: Vec<&OExpr> = Vec::new();
    let mut calls: Vec<usize> = Vec::new();
    for o in &plan.outputs {
        iterators_of(o, &mut transforms, &mut calls);
    }
    let shown = |t: i64| {
        plan.output_min.is_none_or(|m| t >= m) && plan.output_max.is_none_or(|(m, _)| t <= m)
    };
    let limited = |s| iterator_limit(plan, s);
    let mut streams: Vec<Vec<(i64, Value)>> = Vec::with_capacity(calls.len() + transforms.len());
    for &ci in &calls {
        // A call that read nothing in the series has no fill iterator there.
        if unseen.get(ci).copied().unwrap_or(false) {
            streams.push(Vec::new());
            continue;
        }
        // A call's fill iterator answers every window (null ones too) unless fill(none);
        // integral() has none, nor has a statement without GROUP BY time.
        // Only a transformation's own iterator reads the window before the range: its
        // points there are answered, the other calls start at the range.
        // (Two rows at one time are integral()'s: the other calls answer in the first.)
        let integral = plan.calls[ci].name == "integral";
        streams.push(limited(
            rows.iter()
                .enumerate()
                .filter(|(i, r)| integral || *i == 0 || rows[i - 1].0 != r.0)
                .map(|(_, r)| r)
                .filter(|r| shown(r.0))
                .filter(|r| {
                    (plan.interval.is_some() && plan.fill != Fill::None && !integral)
                        || !r.2[ci].is_null()
                })
                .map(|r| (r.0, r.2[ci].clone()))
                .collect(),
        ));
    }
    for t in &transforms {
        let OExpr::Transform { name, inner, args } = t else {
            continue;
        };
        if let Some((_, points)) = raw.iter().find(|(n, _)| n == *t) {
            streams.push(limited(points.clone()));
            continue;
        }
        let kind = match **inner {
            OExpr::Call(i) if plan.calls[i].name == "distinct" => "Interval",
            _ => "Interrupt",
        };
        // Only the transformations that read back see the window before the range.
        let own = crate::plan::reads_back(name);
        let input: Vec<(i64, Value)> = rows
            .iter()
            .filter(|r| own || shown(r.0))
            .map(|r| (r.0, eval_over_calls(inner, &r.2, unseen)))
            .filter(|(_, v)| !v.is_null())
            .collect();
        let mut out = Vec::new();
        if let Some(ty) = input.iter().find_map(|(_, v)| value_type_of(v)) {
            let pts: Vec<Point> = input
                .iter()
                .map(|(t, v)| Point::new(*t, to_fvalue(v)))
                .collect();
            let tf = tessera_functions::transform(name, &args_of(args), ty, ctx)
                .map_err(|e| crate::agg::err_over(e, kind))?;
            out = tf
                .apply(&pts)
                .into_iter()
                .map(|p| (p.time, from_fvalue(p.value)))
                .collect();
        }
        streams.push(limited(out));
    }
    let n_calls = calls.len();
    let mut joined = align(streams, ctx.ascending);
    let all: Vec<bool> = vec![true; n_calls + transforms.len()];
    scanner_defaults(plan, &all, &mut joined);
    // Plain columns (tags, fields of a selected point) come from the window's row.
    let plain: std::collections::HashMap<i64, &Vec<Value>> =
        rows.iter().rev().map(|r| (r.0, &r.1)).collect();
    let mut out = Vec::with_capacity(joined.len());
    for (time, vals) in joined {
        let mut outs: Vec<Option<crate::agg::Out>> = vec![None; plan.calls.len()];
        for (k, &ci) in calls.iter().enumerate() {
            outs[ci] = crate::agg::Out::of(&vals[k]);
        }
        let refs: Vec<Option<&crate::agg::Out>> = outs.iter().map(Option::as_ref).collect();
        let values = plan
            .outputs
            .iter()
            .enumerate()
            .map(|(c, o)| {
                if o.has_transform() || o.has_call() {
                    let e = o.map_transforms(&mut |t| {
                        let k = transforms.iter().position(|x| *x == t)?;
                        Some(OExpr::Lit(vals[n_calls + k].clone()))
                    });
                    crate::finish::eval(&e, &[], &[], &refs)
                } else {
                    plain
                        .get(&time)
                        .map(|v| v[c].clone())
                        .unwrap_or(Value::Null)
                }
            })
            .collect();
        out.push((time, values));
    }
    Ok(out)
}

/// The iterators of output `o`: its transformations, and its calls outside them.
fn iterators_of<'a>(o: &'a OExpr, transforms: &mut Vec<&'a OExpr>, calls: &mut Vec<usize>) {
    match o {
        OExpr::Transform { .. } if !transforms.contains(&o) => transforms.push(o),
        OExpr::Call(i) if !calls.contains(i) => calls.push(*i),
        OExpr::Bin(_, a, b) => {
            iterators_of(a, transforms, calls);
            iterators_of(b, transforms, calls);
        }
        OExpr::Math(_, a) => a.iter().for_each(|x| iterators_of(x, transforms, calls)),
        OExpr::Cast(a, _) => iterators_of(a, transforms, calls),
        _ => {}
    }
}

/// The value of `e` (a transformation's argument) over a window's call values; calls
/// that read nothing in the series give none (not their fill value).
fn eval_over_calls(e: &OExpr, calls: &[Value], unseen: &[bool]) -> Value {
    let outs: Vec<Option<crate::agg::Out>> = calls
        .iter()
        .enumerate()
        .map(|(i, v)| crate::agg::Out::of(v).filter(|_| !unseen.get(i).copied().unwrap_or(false)))
        .collect();
    let refs: Vec<Option<&crate::agg::Out>> = outs.iter().map(Option::as_ref).collect();
    crate::finish::eval(e, &[], &[], &refs)
}

/// What influxd's cursor puts in a column whose iterator has no point at a row's time
/// (only transformations can lack one: each call has its own fill iterator): the fill
/// number in the column's type, for fill(previous) the column's last value in the
/// series, else null.
fn scanner_defaults(plan: &SelectPlan, columns: &[bool], rows: &mut [(i64, Vec<Value>)]) {
    use tessera_influxql::Fill;
    // The cursor knows no linear default; numbers and previous fill as the calls do.
    if !matches!(
        plan.fill,
        Fill::Number(_) | Fill::Integer(_) | Fill::Previous
    ) {
        return;
    }
    let times: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut m: Vec<&mut Vec<Value>> = rows.iter_mut().map(|r| &mut r.1).collect();
    crate::finish::fill_matrix(&plan.fill, &times, &mut m, columns, plan.every());
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
