//! The coordinator's part of a `SELECT`: merged partials become output series — windows
//! filled, reducers finished, output expressions evaluated, transformations applied,
//! ordering and LIMIT/OFFSET/SLIMIT/SOFFSET enforced.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use tessera_functions::TieKeys;
use tessera_influxql::{DataType, Fill};

use crate::agg::{Out, Reducer};
use crate::cond::binary;
use crate::exec::{AuxRow, GroupKey, Partial};
use crate::output::Series;
use crate::plan::{OExpr, SelectPlan, SELECTORS};
use crate::transform;
use crate::value::Value;

struct Row {
    time: i64,
    values: Vec<Value>,
    /// The value of each call in this window (aggregate rows, one row per window):
    /// fill() fills these, as influxd fills each call's iterator, and computes the
    /// outputs over them again.
    calls: Vec<Value>,
    /// Under fill(number) or fill(previous), the selected point's values the outputs read
    /// (its fields by plan index, then the tags they read): influxd fills these too.
    aux: Vec<Value>,
}

impl Row {
    /// A row of output values only (after the calls were used).
    fn output((time, values): (i64, Vec<Value>)) -> Row {
        Row {
            time,
            values,
            calls: Vec::new(),
            aux: Vec::new(),
        }
    }
}

/// Whether `o` is a field read as type `t` (a cast of it to `t` changes nothing).
fn reads_as(o: &OExpr, t: DataType, plan: &SelectPlan) -> bool {
    let OExpr::Field(i) = o else {
        return false;
    };
    plan.field_types
        .get(*i)
        .copied()
        .flatten()
        .is_some_and(|read| crate::plan::data_type(read) == t)
}

/// The outputs of an aggregate statement as they read the selected point's values
/// filled (see [`Row::aux`]): each tag they read becomes a field after the plan's.
struct AuxFill {
    tags: Vec<String>,
    outputs: Vec<OExpr>,
    /// The inputs the outputs read.
    read: Vec<bool>,
}

impl AuxFill {
    fn new(plan: &SelectPlan) -> Option<AuxFill> {
        if !plan.aux
            || !matches!(
                plan.fill,
                Fill::Number(_) | Fill::Integer(_) | Fill::Previous
            )
        {
            return None;
        }
        fn rewrite(o: &OExpr, plan: &SelectPlan, tags: &mut Vec<String>) -> OExpr {
            let nf = plan.fields.len();
            match o {
                // A cast to the type the field is read as changes no value it reads, and
                // influxd writes the fill value into the selected point's column as it
                // is (`status::string` beside max() fills with 0).
                OExpr::Cast(a, t) if reads_as(a, *t, plan) => rewrite(a, plan, tags),
                OExpr::Tag(k) => {
                    let i = tags.iter().position(|t| t == k).unwrap_or_else(|| {
                        tags.push(k.clone());
                        tags.len() - 1
                    });
                    OExpr::Field(nf + i)
                }
                OExpr::Bin(op, a, b) => OExpr::Bin(
                    *op,
                    Box::new(rewrite(a, plan, tags)),
                    Box::new(rewrite(b, plan, tags)),
                ),
                OExpr::Math(f, a) => OExpr::Math(
                    f.clone(),
                    a.iter().map(|x| rewrite(x, plan, tags)).collect(),
                ),
                OExpr::Cast(a, t) => OExpr::Cast(Box::new(rewrite(a, plan, tags)), *t),
                other => other.clone(),
            }
        }
        fn mark(o: &OExpr, read: &mut Vec<bool>) {
            match o {
                OExpr::Field(i) => {
                    if *i >= read.len() {
                        read.resize(*i + 1, false);
                    }
                    read[*i] = true;
                }
                OExpr::Bin(_, a, b) => {
                    mark(a, read);
                    mark(b, read);
                }
                OExpr::Math(_, a) => a.iter().for_each(|x| mark(x, read)),
                OExpr::Cast(a, _) => mark(a, read),
                _ => {}
            }
        }
        let nf = plan.fields.len();
        let mut tags = Vec::new();
        let outputs: Vec<OExpr> = plan
            .outputs
            .iter()
            .map(|o| {
                if o.reads_row() {
                    rewrite(o, plan, &mut tags)
                } else {
                    o.clone()
                }
            })
            .collect();
        let mut read = vec![false; nf + tags.len()];
        for o in outputs.iter().filter(|o| o.reads_row()) {
            mark(o, &mut read);
        }
        Some(AuxFill {
            tags,
            outputs,
            read,
        })
    }

    /// A row's inputs from the point it selected (none: a window without one).
    fn inputs(&self, plan: &SelectPlan, point: Option<&AuxRow>) -> Vec<Value> {
        let mut v = vec![Value::Null; self.read.len()];
        if let Some(p) = point {
            for (i, f) in p.fields.iter().enumerate().take(plan.fields.len()) {
                v[i] = f.clone();
            }
            for (j, k) in self.tags.iter().enumerate() {
                v[plan.fields.len() + j] = eval(&OExpr::Tag(k.clone()), &[], &p.tags, &[]);
            }
        }
        v
    }

    /// Fills the rows' inputs as influxd fills the selected point's values: a null
    /// takes the fill number (converted to an integer or float field's type; a tag or
    /// other field takes it as written) or the previous value of its column; then the
    /// outputs that read them are computed again.
    fn fill(&self, plan: &SelectPlan, rows: &mut [Row]) {
        let number = |i: usize| -> Option<Value> {
            use tessera_storage::batch::FieldType;
            let t = plan.field_types.get(i).copied().flatten();
            match (plan.fill, t) {
                (Fill::Number(f), Some(FieldType::Integer)) => Some(Value::Integer(f as i64)),
                (Fill::Integer(n), Some(FieldType::Float)) => Some(Value::Float(n as f64)),
                (Fill::Number(f), _) => Some(Value::Float(f)),
                (Fill::Integer(n), _) => Some(Value::Integer(n)),
                _ => None,
            }
        };
        let mut previous: Vec<Value> = vec![Value::Null; self.read.len()];
        for r in rows.iter_mut() {
            if r.aux.len() != self.read.len() {
                continue;
            }
            for (i, v) in r.aux.iter_mut().enumerate() {
                if !self.read[i] {
                    continue;
                }
                if v.is_null() {
                    if let Some(n) = number(i) {
                        *v = n;
                    } else if plan.fill == Fill::Previous {
                        *v = previous[i].clone();
                    }
                } else {
                    previous[i] = v.clone();
                }
            }
            let outs: Vec<Option<Out>> = r.calls.iter().map(Out::of).collect();
            let refs: Vec<Option<&Out>> = outs.iter().map(Option::as_ref).collect();
            for (c, o) in self.outputs.iter().enumerate() {
                if o.reads_row() {
                    r.values[c] = eval(o, &r.aux, &[], &refs);
                }
            }
        }
    }
}

/// Reverses the order of the windows of `rows` (runs of rows in one GROUP BY time window),
/// keeping the order of the rows within each.
fn reverse_windows(plan: &SelectPlan, rows: &mut Vec<Row>) {
    let mut chunks: Vec<Vec<Row>> = Vec::new();
    let mut last: Option<i64> = None;
    for r in rows.drain(..) {
        let w = plan.window(r.time).0;
        match chunks.last_mut() {
            Some(c) if last == Some(w) => c.push(r),
            _ => chunks.push(vec![r]),
        }
        last = Some(w);
    }
    rows.extend(chunks.into_iter().rev().flatten());
}

pub(crate) fn eval(
    e: &OExpr,
    fields: &[Value],
    tags: &[(String, String)],
    calls: &[Option<&Out>],
) -> Value {
    // An output around a transformation yields the transformation's input here; the
    // rest of it is applied to the transformation's output (transform.rs).
    if !matches!(e, OExpr::Transform { .. }) {
        if let Some(t) = e.transform_node() {
            return eval(t, fields, tags, calls);
        }
    }
    match e {
        OExpr::Field(i) => fields.get(*i).cloned().unwrap_or(Value::Null),
        OExpr::Tag(t) => tags
            .iter()
            .find(|(k, _)| k == t)
            .map(|(_, v)| Value::String(v.clone()))
            .unwrap_or(Value::Null),
        OExpr::Call(i) => calls
            .get(*i)
            .and_then(|c| c.map(|o| o.value.clone()))
            .unwrap_or(Value::Null),
        OExpr::Lit(v) => v.clone(),
        OExpr::Bin(op, a, b) => binary(
            *op,
            &eval(a, fields, tags, calls),
            &eval(b, fields, tags, calls),
        ),
        OExpr::Math(name, args) => {
            let a: Vec<Value> = args.iter().map(|x| eval(x, fields, tags, calls)).collect();
            let a: Vec<tessera_functions::Value> = a.iter().map(crate::agg::to_fvalue).collect();
            tessera_functions::math::apply(name, &a)
                .map(crate::agg::from_fvalue)
                .unwrap_or(Value::Null)
        }
        // Transformations run over whole series afterwards; here their input.
        OExpr::Transform { inner, .. } => eval(inner, fields, tags, calls),
        OExpr::Cast(inner, ty) => cast(eval(inner, fields, tags, calls), *ty),
    }
}

/// `x::type`: InfluxDB converts between numbers; other mismatches read as null.
pub(crate) fn cast(v: Value, ty: tessera_influxql::DataType) -> Value {
    use tessera_influxql::DataType as T;
    match (v, ty) {
        (Value::Float(f), T::Integer) => Value::Integer(f as i64),
        (Value::Float(f), T::Unsigned) => Value::Unsigned(f as u64),
        (Value::Integer(i), T::Float) => Value::Float(i as f64),
        (Value::Integer(i), T::Unsigned) => Value::Unsigned(i as u64),
        (Value::Unsigned(u), T::Float) => Value::Float(u as f64),
        (Value::Unsigned(u), T::Integer) => Value::Integer(u as i64),
        (v @ Value::Float(_), T::Float)
        | (v @ Value::Integer(_), T::Integer)
        | (v @ Value::Unsigned(_), T::Unsigned)
        | (v @ Value::String(_), T::String)
        | (v @ Value::Boolean(_), T::Boolean) => v,
        _ => Value::Null,
    }
}

fn series_tags(plan: &SelectPlan, g: &GroupKey) -> Vec<(String, String)> {
    plan.group_tags
        .iter()
        .cloned()
        .zip(g.tags.iter().cloned())
        .collect()
}

/// The tag sets SLIMIT/SOFFSET pick, each measurement's on its own.
fn picked_tag_sets<'a>(
    plan: &SelectPlan,
    tag_sets: &'a std::collections::BTreeSet<GroupKey>,
) -> std::collections::BTreeSet<&'a GroupKey> {
    let mut picked = std::collections::BTreeSet::new();
    let mut at = 0usize;
    let mut measurement: Option<&str> = None;
    let (offset, limit) = (plan.soffset as usize, plan.slimit as usize);
    // SOFFSET without SLIMIT picks none (influxd's `LimitTagSets`).
    if limit == 0 && offset > 0 {
        return picked;
    }
    for g in tag_sets {
        if measurement != Some(g.measurement.as_str()) {
            measurement = Some(g.measurement.as_str());
            at = 0;
        }
        if at >= offset && at - offset < limit {
            picked.insert(g);
        }
        at += 1;
    }
    picked
}

/// Builds the output series of a finished, merged partial.
pub fn finish(plan: &SelectPlan, mut partial: Partial) -> Result<Vec<Series>, crate::QueryError> {
    // A call that cannot take its field's type fails once any series is selected, points
    // read or not (influxd's iterators are typed by the field).
    // (Under SLIMIT/SOFFSET, once a tag set they pick is: influxd drops the others before
    // it builds any iterator.)
    let limited = plan.slimit > 0 || plan.soffset > 0;
    let selected = if limited {
        !picked_tag_sets(plan, &partial.tag_sets).is_empty()
    } else {
        partial.selected > 0
    };
    if plan.aggregate && !plan.raw_transforms && !plan.over_subquery && selected {
        for c in &plan.calls {
            if c.cast.is_some() {
                continue;
            }
            if let Some(Some(t)) = plan.read_type(&c.field) {
                if let Some(e) = Reducer::new(c)?.type_error(t) {
                    return Err(e);
                }
            }
        }
    }
    let tag_sets = std::mem::take(&mut partial.tag_sets);
    if plan.aggregate {
        take_group_rows(plan, &mut partial)?;
    }
    let mut out: BTreeMap<GroupKey, Vec<Row>> = BTreeMap::new();
    // Transformations of raw values beside aggregates: each one's points per group,
    // from the raw rows the scan kept (in output order).
    let mut raw_streams: BTreeMap<GroupKey, Vec<transform::RawStream>> = BTreeMap::new();
    if plan.raw_transforms {
        let raw = std::mem::take(&mut partial.raw);
        for node in crate::plan::raw_transform_nodes(&plan.outputs) {
            let mut rp = plan.clone();
            rp.aggregate = false;
            rp.aux = false;
            rp.raw_transforms = false;
            rp.outputs = vec![node.clone()];
            rp.columns = vec![String::new()];
            rp.limit = 0;
            rp.offset = 0;
            rp.shard_take = None;
            let mut rows: BTreeMap<GroupKey, Vec<Row>> = BTreeMap::new();
            raw_rows(
                &rp,
                Partial {
                    raw: raw.clone(),
                    ..Partial::default()
                },
                &mut rows,
            )?;
            for (g, rs) in rows {
                let mut points: Vec<(i64, Value)> = rs
                    .into_iter()
                    .map(|mut r| (r.time, r.values.swap_remove(0)))
                    .collect();
                if plan.descending {
                    points.reverse();
                }
                raw_streams
                    .entry(g)
                    .or_default()
                    .push((node.clone(), points));
            }
        }
    }
    let mut unseen: BTreeMap<GroupKey, Vec<bool>> = BTreeMap::new();
    if plan.aggregate {
        aggregate_rows(plan, partial, &mut out, &mut unseen);
        for g in raw_streams.keys() {
            out.entry(g.clone()).or_default();
        }
    } else {
        raw_rows(plan, partial, &mut out)?;
    }
    // SLIMIT/SOFFSET pick among the tag sets the index selected, with data or not: a
    // picked set without points answers nothing (as in influxd). influxd's engine limits
    // the tag sets of each measurement it reads on its own, so `FROM m1, m2 SLIMIT 2`
    // answers up to two series of each.
    let by_tag_sets = !tag_sets.is_empty() && plan.slimit > 0;
    if by_tag_sets {
        let picked = picked_tag_sets(plan, &tag_sets);
        out.retain(|g, _| picked.contains(g));
    }
    let mut columns = vec!["time".to_string()];
    columns.extend(plan.columns.iter().cloned());
    let mut series = Vec::new();
    // influxd answers top()/bottom()/sample()/distinct() in time order within a window
    // whatever ORDER BY says; only the windows themselves come newest first.
    let point_selector = plan.calls.iter().any(|c| {
        matches!(c.name.as_str(), "top" | "bottom" | "sample")
            || (c.name == "distinct" && !c.distinct_inner)
    });
    for (g, mut rows) in out {
        if plan.descending && !point_selector {
            rows.reverse();
        } else if plan.descending && plan.interval.is_some() {
            rows.sort_by_key(|r| std::cmp::Reverse(plan.window(r.time).0));
        }
        let by_iterator =
            by_iterators(plan) && rows.iter().all(|r| r.calls.len() == plan.calls.len());
        if by_iterator {
            rows = transform::apply_windows(
                plan,
                rows.into_iter()
                    .map(|r| (r.time, r.values, r.calls))
                    .collect(),
                raw_streams.get(&g).map(Vec::as_slice).unwrap_or_default(),
                unseen.get(&g).map(Vec::as_slice).unwrap_or_default(),
            )?
            .into_iter()
            .map(Row::output)
            .collect();
        } else if plan.aggregate && plan.outputs.iter().any(OExpr::has_transform) {
            rows = transform::apply(plan, rows.into_iter().map(|r| (r.time, r.values)).collect())?
                .into_iter()
                .map(Row::output)
                .collect();
            if let Some(min) = plan.output_min {
                rows.retain(|r| r.time >= min);
            }
            if let Some((max, _)) = plan.output_max {
                rows.retain(|r| r.time <= max);
            }
        }
        // (The iterators of a statement with transformations took their own offsets,
        // raw ones in transform::apply.)
        let by_iterator =
            by_iterator || (!plan.aggregate && plan.outputs.iter().any(OExpr::has_transform));
        let rows: Vec<Row> = rows
            .into_iter()
            .skip(if by_iterator { 0 } else { plan.offset as usize })
            .take(if plan.limit > 0 && !by_iterator {
                plan.limit as usize
            } else {
                usize::MAX
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        series.push(Series {
            name: g.measurement.clone(),
            tags: series_tags(plan, &g),
            columns: columns.clone(),
            values: rows
                .into_iter()
                .map(|r| {
                    let mut v = Vec::with_capacity(r.values.len() + 1);
                    v.push(Value::Time(r.time));
                    v.extend(r.values);
                    v
                })
                .collect(),
            partial: false,
        });
    }
    // influxd 1.6: SOFFSET without SLIMIT answers no series at all.
    if plan.soffset > 0 && plan.slimit == 0 {
        return Ok(Vec::new());
    }
    // SLIMIT/SOFFSET count series in ascending order (influxd limits its tag sets
    // before it reverses the output for ORDER BY time DESC).
    let mut series: Vec<Series> = series
        .into_iter()
        .skip(if by_tag_sets {
            0
        } else {
            plan.soffset as usize
        })
        .take(if plan.slimit > 0 && !by_tag_sets {
            plan.slimit as usize
        } else {
            usize::MAX
        })
        .collect();
    // integral() alone without GROUP BY time: influxd reduces each measurement's groups in
    // one Go map and answers them in its iteration order, random; for up to 8 groups most
    // often the reverse of the stream's order (descending tags, ascending under DESC).
    if plan.aggregate
        && plan.interval.is_none()
        && !plan.calls.is_empty()
        && plan.calls.iter().all(|c| c.name == "integral")
    {
        let mut at = 0;
        while at < series.len() {
            let run = series[at..]
                .iter()
                .take_while(|s| s.name == series[at].name)
                .count();
            series[at..at + run].reverse();
            at += run;
        }
    }
    if plan.descending {
        series.reverse();
    }
    Ok(series)
}

/// Whether an output of a raw row reads a field the row has. A field cast to a type it
/// cannot take counts as absent (influxd casts in storage, so the point has no value and
/// a row whose only field casts to null is not emitted).
pub(crate) fn present(o: &OExpr, fields: &[Value], tags: &[(String, String)]) -> bool {
    match o {
        OExpr::Field(i) => fields.get(*i).is_some_and(|v| !v.is_null()),
        OExpr::Cast(inner, _) if matches!(**inner, OExpr::Field(_)) => {
            present(inner, fields, tags) && !eval(o, fields, tags, &[]).is_null()
        }
        OExpr::Cast(inner, _) => present(inner, fields, tags),
        OExpr::Bin(_, a, b) => present(a, fields, tags) || present(b, fields, tags),
        OExpr::Math(_, args) => args.iter().any(|a| present(a, fields, tags)),
        OExpr::Transform { inner, .. } => present(inner, fields, tags),
        OExpr::Tag(_) | OExpr::Lit(_) | OExpr::Call(_) => false,
    }
}

/// The rows of one shard's members in the order their source fixed (`RawSeries::seq`),
/// when every member carries one: a subquery over aggregates streams its rows window by
/// window, then series by series, and influxd's outer query keeps that order.
fn fixed_order(
    members: &[crate::exec::RawSeries],
    kept: &[Vec<(usize, Vec<Value>)>],
) -> Option<Vec<(usize, usize)>> {
    let mut order: Vec<(u64, usize, usize)> = Vec::new();
    for (mi, (m, rows)) in members.iter().zip(kept).enumerate() {
        let seq = m.seq.as_ref()?;
        for (at, (ri, _)) in rows.iter().enumerate() {
            order.push((seq.get(*ri).copied().unwrap_or(u64::MAX), mi, at));
        }
    }
    order.sort_unstable();
    Some(order.into_iter().map(|(_, m, at)| (m, at)).collect())
}

/// The stream of members `from..to` (of one shard), as (member, kept row): in the order
/// their source fixed, else merged by time as influxd's heap pops them.
fn member_order(
    plan: &SelectPlan,
    members: &[crate::exec::RawSeries],
    kept: &[Vec<(usize, Vec<Value>)>],
    times: &[Vec<i64>],
    by_aux: &AuxBefore<'_>,
    from: usize,
    to: usize,
) -> Vec<(usize, usize)> {
    if let Some(order) = fixed_order(&members[from..to], &kept[from..to]) {
        return order.into_iter().map(|(m, at)| (from + m, at)).collect();
    }
    let runs: Vec<&[i64]> = times[from..to].iter().map(Vec::as_slice).collect();
    tessera_functions::merge_order_upto(
        &runs,
        plan.descending,
        |a, b| {
            let (ma, mb) = (from + a.0, from + b.0);
            by_aux.before((ma, kept[ma][a.1].0), (mb, kept[mb][b.1].0))
        },
        rows_wanted(plan),
    )
    .into_iter()
    .map(|(m, at)| (from + m, at))
    .collect()
}

/// How many of a group's merged rows a raw statement can answer with: LIMIT + OFFSET
/// without transformations (which read every row), else all.
fn rows_wanted(plan: &SelectPlan) -> usize {
    if plan.outputs.iter().any(OExpr::has_transform) {
        usize::MAX
    } else {
        plan.raw_row_cap().unwrap_or(usize::MAX)
    }
}

fn raw_rows(
    plan: &SelectPlan,
    partial: Partial,
    out: &mut BTreeMap<GroupKey, Vec<Row>>,
) -> Result<(), crate::QueryError> {
    let transforms = plan.outputs.iter().any(OExpr::has_transform);
    // A subquery's raw transformation grouped by more tags than its outer statement:
    // influxd's storage merges each outer group's series as one stream, and every inner
    // group's transformation reads its points in that stream's order.
    let merge_at: Option<Vec<usize>> = plan
        .merge_tags
        .as_ref()
        .filter(|_| transforms && !plan.aggregate && plan.shard_take.is_none())
        .and_then(|tags| {
            tags.iter()
                .map(|t| plan.group_tags.iter().position(|g| g == t))
                .collect::<Option<Vec<usize>>>()
        })
        .filter(|at| at.len() < plan.group_tags.len());
    let mut groups: BTreeMap<GroupKey, Vec<crate::exec::RawSeries>> = BTreeMap::new();
    for s in partial.raw {
        let key = match &merge_at {
            Some(at) => GroupKey {
                measurement: s.group.measurement.clone(),
                tags: at.iter().map(|i| s.group.tags[*i].clone()).collect(),
            },
            None => s.group.clone(),
        };
        groups.entry(key).or_default().push(s);
    }
    let extra = transform::extra_inputs(plan);
    let aux = aux_refs(plan, transforms, !plan.over_subquery);
    // Across the FROM items of subqueries the tags are aux values too.
    let outer_aux = aux_refs(plan, transforms, true);
    let mut fields = vec![Value::Null; plan.fields.len()];
    // Under LIMIT (without transformations, which read every row) a group answers its
    // first LIMIT + OFFSET rows, so no series needs to give more.
    let cap = plan.raw_row_cap().unwrap_or(usize::MAX);
    for (_, mut members) in groups {
        // influxd merges each shard's series (in key order, reversed for ORDER BY time
        // DESC) on its own, then the shards.
        members.sort_by(|a, b| {
            (a.shard, a.part).cmp(&(b.shard, b.part)).then_with(|| {
                let by_key = a.series_key.cmp(&b.series_key);
                if plan.descending {
                    by_key.reverse()
                } else {
                    by_key
                }
            })
        });
        // Each member's rows that answer something, evaluated, in the query's time
        // order: influxd's series iterators emit no point where none of the selected
        // fields has a value, so such rows take no part in the merge.
        let mut kept: Vec<Vec<(usize, Vec<Value>)>> = Vec::with_capacity(members.len());
        let mut times: Vec<Vec<i64>> = Vec::with_capacity(members.len());
        for m in &members {
            let mut rows: Vec<(usize, Vec<Value>)> = Vec::with_capacity(m.times.len().min(cap));
            // In the query's time order; a series' k-th row is at least the group's k-th.
            let order: Box<dyn Iterator<Item = usize>> = if plan.descending {
                Box::new((0..m.times.len()).rev())
            } else {
                Box::new(0..m.times.len())
            };
            for ri in order {
                if rows.len() == cap {
                    break;
                }
                for (fi, col) in m.cols.iter().enumerate() {
                    fields[fi] = col[ri].clone();
                }
                // Every row of an inner answer is a point of the outer statement, nulls
                // and all.
                let point = plan.over_subquery
                    && !m.measured
                    && !plan.outputs.is_empty()
                    && plan.field_types.iter().any(Option::is_some);
                if point || plan.outputs.iter().any(|o| present(o, &fields, &m.tags)) {
                    let values = plan
                        .outputs
                        .iter()
                        // (A transformation evaluates to its input here.)
                        .chain(&extra)
                        .map(|o| eval(o, &fields, &m.tags, &[]))
                        .collect();
                    rows.push((ri, values));
                }
            }
            times.push(rows.iter().map(|(ri, _)| m.times[*ri]).collect());
            kept.push(rows);
        }
        // influxd's merge compares the aux values of equal-time points at every level:
        // the series of a shard, and the shards (or the FROM items of subqueries).
        let by_aux = AuxBefore::new(&aux, members.iter().collect(), plan.descending);
        let by_outer_aux = plan
            .over_subquery
            .then(|| AuxBefore::new(&outer_aux, members.iter().collect(), plan.descending));
        let by_outer_aux = by_outer_aux.as_ref().unwrap_or(&by_aux);
        // A measurement beside subqueries merges its series as a storage read does.
        let mut shards: Vec<Vec<(usize, usize)>> = Vec::new();
        let mut start = 0;
        while start < members.len() {
            let end = start + members[start..].partition_point(|m| m.shard == members[start].shard);
            // A subquery's rows merge per shard group of the inner statement, the
            // groups' streams one after the other in the query's time order.
            let mut parts: Vec<Vec<(usize, usize)>> = Vec::new();
            let mut from = start;
            while from < end {
                let to =
                    from + members[from..end].partition_point(|m| m.part == members[from].part);
                let by = if members[from].measured {
                    by_outer_aux
                } else {
                    &by_aux
                };
                parts.push(member_order(plan, &members, &kept, &times, by, from, to));
                from = to;
            }
            if plan.descending {
                parts.reverse();
            }
            shards.push(parts.concat());
            start = end;
        }
        if let Some(n) = plan.shard_take {
            for o in shards.iter_mut() {
                o.truncate(n);
            }
        }
        let shard_times: Vec<Vec<i64>> = shards
            .iter()
            .map(|o| o.iter().map(|&(m, at)| times[m][at]).collect())
            .collect();
        let runs: Vec<&[i64]> = shard_times.iter().map(Vec::as_slice).collect();
        let order: Vec<(usize, usize)> = tessera_functions::merge_order_upto(
            &runs,
            plan.descending,
            |a, b| {
                let ((ma, ra), (mb, rb)) = (shards[a.0][a.1], shards[b.0][b.1]);
                by_outer_aux.before((ma, kept[ma][ra].0), (mb, kept[mb][rb].0))
            },
            rows_wanted(plan),
        )
        .into_iter()
        .map(|(s, at)| shards[s][at])
        .collect();
        // The group's rows in influxd's merge order, which decides the order of
        // points at equal times (and what transformations see); split into the inner
        // groups it merged, each in that order.
        let mut streams: BTreeMap<GroupKey, Vec<(i64, Vec<Value>)>> = members
            .iter()
            .map(|m| (m.group.clone(), Vec::new()))
            .collect();
        for (mi, at) in order {
            if let Some(stream) = streams.get_mut(&members[mi].group) {
                stream.push((times[mi][at], std::mem::take(&mut kept[mi][at].1)));
            }
        }
        for (g, stream) in streams {
            let mut rows: Vec<Row> = if transforms {
                transform::apply(plan, stream)?
                    .into_iter()
                    .map(Row::output)
                    .collect()
            } else {
                stream.into_iter().map(Row::output).collect()
            };
            if plan.descending {
                // Reversed again with the other groups' rows.
                rows.reverse();
            }
            out.insert(g, rows);
        }
    }
    Ok(())
}

/// top()/bottom() under LIMIT or OFFSET (`plan.top_take`): influxd's call reads only the
/// first points of each shard's stream of the group — its series merged as its sorted
/// merge does (`merge_order_by`: Go's heap, series in key order, points of equal time
/// ordered by the statement's other columns while they are strings). The scan kept each
/// series' first points of each shard (`partial.raw`); this cuts every (group, shard) to
/// the first points of the merged stream and folds them into the call's reducer.
fn take_group_rows(plan: &SelectPlan, partial: &mut Partial) -> Result<(), crate::QueryError> {
    let Some((fi, n)) = plan.top_take else {
        return Ok(());
    };
    let aux = aux_refs(plan, false, !plan.over_subquery);
    let raw = std::mem::take(&mut partial.raw);
    let mut by: BTreeMap<(&GroupKey, u64), Vec<&crate::exec::RawSeries>> = BTreeMap::new();
    for r in &raw {
        by.entry((&r.group, r.shard)).or_default().push(r);
    }
    let mut aux_next = partial.aux.keys().max().map_or(0, |k| k + 1);
    for ((group, _), mut members) in by {
        // Series in key order (reversed under DESC), each one's rows where the call's
        // field has a value, in the order they are read.
        members.sort_by(|a, b| a.series_key.cmp(&b.series_key));
        if plan.descending {
            members.reverse();
        }
        let rows: Vec<Vec<usize>> = members
            .iter()
            .map(|r| {
                let Some(col) = r.cols.get(fi) else {
                    return Vec::new();
                };
                let mut rows: Vec<usize> = (0..r.times.len())
                    .filter(|ri| !col[*ri].is_null())
                    .collect();
                if plan.descending {
                    rows.reverse();
                }
                rows
            })
            .collect();
        let times: Vec<Vec<i64>> = members
            .iter()
            .zip(&rows)
            .map(|(r, rows)| rows.iter().map(|ri| r.times[*ri]).collect())
            .collect();
        let runs: Vec<&[i64]> = times.iter().map(Vec::as_slice).collect();
        let by_aux = AuxBefore::new(&aux, members.clone(), plan.descending);
        let order = tessera_functions::merge_order_by(&runs, plan.descending, |a, b| {
            by_aux.before((a.0, rows[a.0][a.1]), (b.0, rows[b.0][b.1]))
        });
        let mut keep: Vec<Vec<bool>> = members.iter().map(|r| vec![false; r.times.len()]).collect();
        for (mi, at) in order.into_iter().take(n) {
            keep[mi][rows[mi][at]] = true;
        }
        for (r, keep) in members.iter().zip(keep) {
            let kept = |ri: &usize| keep[*ri];
            let idx: Vec<usize> = (0..r.times.len()).filter(kept).collect();
            if idx.is_empty() {
                continue;
            }
            let times: Vec<i64> = idx.iter().map(|i| r.times[*i]).collect();
            let cols: Vec<Vec<Value>> = r
                .cols
                .iter()
                .map(|c| idx.iter().map(|i| c[*i].clone()).collect())
                .collect();
            crate::exec::fold_rows(
                plan,
                group,
                &r.series_key,
                &times,
                &cols,
                &r.tags,
                &mut aux_next,
                partial,
            )?;
        }
    }
    Ok(())
}

/// The auxiliary values influxd sorts equal-time points of a raw merge by: every
/// field and tag the statement reads outside its transformations, by name (Go's
/// `VarRefs` order: name, then type, a tag after a field of the same name).
enum AuxRef {
    Field(usize),
    Tag(String),
}

/// The aux values of the statement's outputs (`transforms`: not those only a
/// transformation reads). Tags are aux values only `with_tags`: over a subquery the
/// inner statement's points carry them as tags, and only the outer merge of the FROM
/// items sees them as values.
fn aux_refs(plan: &SelectPlan, transforms: bool, with_tags: bool) -> Vec<AuxRef> {
    fn walk(
        o: &OExpr,
        (transforms, with_tags): (bool, bool),
        out: &mut Vec<(String, bool, Option<usize>)>,
        plan: &SelectPlan,
    ) {
        let how = (transforms, with_tags);
        match o {
            OExpr::Field(i) => out.push((plan.fields[*i].clone(), false, Some(*i))),
            OExpr::Tag(k) if with_tags => out.push((k.clone(), true, None)),
            OExpr::Bin(_, a, b) => {
                walk(a, how, out, plan);
                walk(b, how, out, plan);
            }
            OExpr::Math(_, a) => a.iter().for_each(|x| walk(x, how, out, plan)),
            OExpr::Cast(a, _) => walk(a, how, out, plan),
            // A transformation's argument drives its own iterator; it is no aux value.
            OExpr::Transform { inner, .. } if !transforms => walk(inner, how, out, plan),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    for o in &plan.outputs {
        walk(o, (transforms, with_tags), &mut refs, plan);
    }
    refs.sort();
    refs.dedup();
    refs.into_iter()
        .map(|(name, tag, field)| match (tag, field) {
            (false, Some(i)) => AuxRef::Field(i),
            _ => AuxRef::Tag(name),
        })
        .collect()
}

/// Whether row `a` goes before row `b` of the same time in influxd's merge: their aux
/// values compared in order while both are strings (the first other value ends it).
/// The order of equal-time points of a group's series in influxd's merge, by their aux
/// values (see [`tessera_functions::key_before`]). A tag's value is the same for all of a series' points, so
/// tags are ranked once per series and compared as numbers.
struct AuxBefore<'a> {
    aux: &'a [AuxRef],
    members: Vec<&'a crate::exec::RawSeries>,
    /// Per aux ref: for a tag, each member's value as its rank among the members' values
    /// (`None`: the series lacks the tag); `None` for a field.
    ranks: Vec<Option<Vec<Option<u32>>>>,
    descending: bool,
}

impl<'a> AuxBefore<'a> {
    fn new(
        aux: &'a [AuxRef],
        members: Vec<&'a crate::exec::RawSeries>,
        descending: bool,
    ) -> AuxBefore<'a> {
        let ranks = aux
            .iter()
            .map(|r| {
                let AuxRef::Tag(k) = r else { return None };
                let texts: Vec<Option<&str>> =
                    members.iter().map(|m| tag_text(&m.tags, k)).collect();
                let mut sorted: Vec<&str> = texts.iter().flatten().copied().collect();
                sorted.sort_unstable();
                sorted.dedup();
                Some(
                    texts
                        .iter()
                        .map(|t| t.map(|t| sorted.partition_point(|v| *v < t) as u32))
                        .collect(),
                )
            })
            .collect();
        AuxBefore {
            aux,
            members,
            ranks,
            descending,
        }
    }

    /// Whether row `a.1` of member `a.0` goes before row `b.1` of member `b.0`.
    fn before(&self, a: (usize, usize), b: (usize, usize)) -> bool {
        let (ma, mb) = (self.members[a.0], self.members[b.0]);
        for (r, ranks) in self.aux.iter().zip(&self.ranks) {
            let o = match (r, ranks) {
                (_, Some(ranks)) => match (ranks[a.0], ranks[b.0]) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    _ => return false,
                },
                (AuxRef::Field(i), None) => {
                    match (ma.cols[*i][a.1].as_str(), mb.cols[*i][b.1].as_str()) {
                        (Some(x), Some(y)) => x.cmp(y),
                        _ => return false,
                    }
                }
                (AuxRef::Tag(_), None) => return false,
            };
            if o != Ordering::Equal {
                return (o == Ordering::Less) != self.descending;
            }
        }
        false
    }
}

/// A selected row's value of one aux ref, when it is a string.
fn aux_text<'a>(r: &AuxRef, row: &'a AuxRow) -> Option<&'a str> {
    match r {
        AuxRef::Field(i) => row.fields.get(*i).and_then(Value::as_str),
        AuxRef::Tag(k) => tag_text(&row.tags, k),
    }
}

/// The selected rows' values of the aux refs as [`TieKeys`]: per ref, a string's rank
/// among the ref's values over all rows (equal strings, equal ranks), so that the merges
/// that order equal-time rows by them compare integers. Ranked on the first ask: most
/// statements never compare.
struct AuxTies<'a> {
    refs: &'a [AuxRef],
    rows: &'a crate::exec::FastMap<u64, AuxRow>,
    ranks: std::cell::OnceCell<Vec<RefRanks<'a>>>,
}

/// One aux ref's strings ranked. A tag's value is looked up once per tag list (rows of
/// one series share theirs), by the list's address.
#[derive(Default)]
struct RefRanks<'a> {
    by_text: crate::exec::FastMap<&'a str, u32>,
    by_tags: crate::exec::FastMap<usize, Option<u32>>,
}

impl<'a> AuxTies<'a> {
    fn new(refs: &'a [AuxRef], rows: &'a crate::exec::FastMap<u64, AuxRow>) -> AuxTies<'a> {
        AuxTies {
            refs,
            rows,
            ranks: std::cell::OnceCell::new(),
        }
    }

    fn rank(&self) -> Vec<RefRanks<'a>> {
        self.refs
            .iter()
            .map(|r| {
                let mut ranks = RefRanks::default();
                for row in self.rows.values() {
                    if let AuxRef::Tag(_) = r {
                        let at = std::sync::Arc::as_ptr(&row.tags) as usize;
                        if ranks.by_tags.insert(at, None).is_some() {
                            continue;
                        }
                    }
                    if let Some(t) = aux_text(r, row) {
                        ranks.by_text.insert(t, 0);
                    }
                }
                let mut texts: Vec<&str> = ranks.by_text.keys().copied().collect();
                texts.sort_unstable();
                for (i, t) in texts.into_iter().enumerate() {
                    ranks.by_text.insert(t, i as u32);
                }
                if let AuxRef::Tag(k) = r {
                    let RefRanks { by_text, by_tags } = &mut ranks;
                    for row in self.rows.values() {
                        let at = std::sync::Arc::as_ptr(&row.tags) as usize;
                        if let Some(slot @ None) = by_tags.get_mut(&at) {
                            *slot = tag_text(&row.tags, k).and_then(|t| by_text.get(t).copied());
                        }
                    }
                }
                ranks
            })
            .collect()
    }
}

impl TieKeys for AuxTies<'_> {
    fn width(&self) -> usize {
        self.refs.len()
    }

    fn key(&self, aux: u64, out: &mut [Option<u32>]) {
        let Some(row) = self.rows.get(&aux) else {
            return;
        };
        let ranks = self.ranks.get_or_init(|| self.rank());
        for ((r, ranks), o) in self.refs.iter().zip(ranks).zip(out) {
            *o = match r {
                AuxRef::Tag(_) => ranks
                    .by_tags
                    .get(&(std::sync::Arc::as_ptr(&row.tags) as usize))
                    .copied()
                    .flatten(),
                AuxRef::Field(_) => aux_text(r, row).and_then(|t| ranks.by_text.get(t).copied()),
            };
        }
    }
}

/// A tag's value as an aux value: a series without the tag has none.
fn tag_text<'a>(tags: &'a [(String, String)], k: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The windows a group reports, in order, as influxd's fill iterator walks them: from
/// `first`, one interval at a time up to `last`, each step moved by a change of the
/// zone's offset (so that windows stay on local time); a window with data is reported
/// where the data is (its own window may start elsewhere around an offset change), one
/// without data is filled.
fn fill_sequence(plan: &SelectPlan, first: i64, last: i64, data: &[i64]) -> Vec<i64> {
    let Some(iv) = plan.interval else {
        return data.to_vec();
    };
    let every = iv.every;
    // Over a subquery, a row labelled before the first window (see
    // `fill_sequence_descending`).
    if plan.descending
        && plan.tz.is_none()
        && plan.over_subquery
        && data.first().is_some_and(|p| *p < first)
    {
        return fill_sequence_descending(every, first, last, data);
    }
    let zone = |t: i64| {
        plan.tz
            .as_deref()
            .map(|z| i64::from(z.offset_at(t)) * 1_000_000_000)
    };
    let mut out = Vec::new();
    let mut w = first;
    let mut offset = zone(w);
    let mut i = 0;
    while out.len() < 10_000_000 {
        match data.get(i) {
            None if w > last => break,
            Some(&p) if p <= w => {
                out.push(p);
                i += 1;
            }
            _ => out.push(w),
        }
        let Some(next) = w.checked_add(every) else {
            out.extend(&data[i..]);
            break;
        };
        w = next;
        if let (Some(before), Some(now)) = (offset, zone(w - 1)) {
            if now != before {
                let diff = before - now;
                if diff.abs() < every {
                    w += diff;
                }
                offset = Some(now);
            }
        }
    }
    out
}

/// [`fill_sequence`] under `ORDER BY time DESC`, as influxd's fill iterator walks it:
/// from the last window down, each point at or above the walk's window answering that
/// window, a window above the next point filled. A point labelled before the first window
/// (an inner row of a subquery from an earlier window) comes after the first window is
/// filled, where ascending it takes that window's place. Answered ascending.
fn fill_sequence_descending(every: i64, first: i64, last: i64, data: &[i64]) -> Vec<i64> {
    let mut out = Vec::new();
    let mut w = last;
    let mut next = data.len();
    while out.len() < 10_000_000 {
        match next.checked_sub(1).map(|i| data[i]) {
            None if w < first => break,
            Some(p) if p >= w => {
                out.push(p);
                next -= 1;
            }
            _ => out.push(w),
        }
        let Some(below) = w.checked_sub(every) else {
            out.extend(data[..next].iter().rev());
            break;
        };
        w = below;
    }
    out.reverse();
    out
}

/// percentile() is the one reducer that can read points and answer nothing (its rank
/// falls outside the window's points). influxd's reduce iterator answers one window of
/// one group at a time — the groups one after the other (by measurement and tags,
/// reversed under ORDER BY time DESC), each one's windows in time order — and an answer
/// of nothing is its end: under `fill(none)` the call answers nothing from that window
/// on, in that group and every later one; with any other fill only the first window that
/// read points counts (when it answers nothing the statement answers nothing at all, and
/// a later such window is only a null). This applies when percentile() is the
/// statement's only call.
fn end_percentile_at_empty_window(
    groups: &mut crate::exec::FastMap<GroupKey, BTreeMap<i64, Vec<Reducer>>>,
    plan: &SelectPlan,
) {
    let order_key = |g: &GroupKey| {
        let mut tags: Vec<(String, String)> = plan
            .group_tags
            .iter()
            .cloned()
            .zip(g.tags.iter().cloned())
            .collect();
        tags.sort_unstable();
        (g.measurement.clone(), tags)
    };
    let mut keys: Vec<GroupKey> = groups.keys().cloned().collect();
    keys.sort_by_cached_key(order_key);
    if plan.descending {
        keys.reverse();
    }
    let only_first = plan.fill != tessera_influxql::Fill::None;
    // The windows in the order influxd reads them, as (group, window start).
    let mut order: Vec<(&GroupKey, i64)> = Vec::new();
    for g in &keys {
        let mut times: Vec<i64> = groups[g].keys().copied().collect();
        if plan.descending {
            times.reverse();
        }
        order.extend(times.into_iter().map(|t| (g, t)));
    }
    let read = |g: &GroupKey, t: i64| groups[g][&t].first().filter(|r| !r.is_empty());
    let end = order
        .iter()
        .position(|(g, t)| read(g, *t).is_some_and(|r| !r.answers()));
    let first_read = order.iter().position(|(g, t)| read(g, *t).is_some());
    let end = match end {
        Some(e) if only_first && Some(e) != first_read => None,
        e => e,
    };
    let Some(end) = end else {
        return;
    };
    let ended: Vec<(GroupKey, i64)> = order[end..]
        .iter()
        .map(|(g, t)| ((*g).clone(), *t))
        .collect();
    for (g, t) in ended {
        if let Some(r) = groups
            .get_mut(&g)
            .and_then(|w| w.get_mut(&t))
            .and_then(|rs| rs.first_mut())
        {
            *r = Reducer::nothing();
        }
    }
}

/// GOMAXPROCS of the influxd whose answers Tessera gives (0: not set).
static GO_MAXPROCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Sets the GOMAXPROCS influxd would run with on this machine: Go's default is the
/// number of CPUs the process may use, which the server reads at start, before its
/// executors are pinned to one CPU each.
pub fn set_go_maxprocs(n: usize) {
    GO_MAXPROCS.store(n.max(1), std::sync::atomic::Ordering::Relaxed);
}

/// GOMAXPROCS of the influxd whose answers Tessera gives: it decides where influxd's
/// engine cuts a tag set's series into parts (`tessera_functions::parallel_merge_windows`).
fn go_maxprocs() -> usize {
    match GO_MAXPROCS.load(std::sync::atomic::Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Points equal in time and value in several series, under a lone selector beside other
/// columns (`SelectPlan::series_ties`): each window's selector answers the series
/// influxd's engine delivers first, replayed per shard and group from the windows each
/// series has points in (the tied points are all in one shard: they share a time).
fn resolve_series_ties(
    plan: &SelectPlan,
    groups: &mut crate::exec::FastMap<GroupKey, BTreeMap<i64, Vec<Reducer>>>,
    presence: Vec<crate::exec::SeriesWindows>,
) {
    // group → window → (the tied points' time, their series).
    type Ties = BTreeMap<i64, (i64, Vec<Vec<u8>>)>;
    let mut tied: BTreeMap<GroupKey, Ties> = BTreeMap::new();
    for (g, windows) in groups.iter() {
        for (w, rs) in windows {
            if let Some((time, keys)) = rs.first().and_then(|r| r.full_tie()) {
                tied.entry(g.clone())
                    .or_default()
                    .insert(*w, (time, keys.into_iter().map(<[u8]>::to_vec).collect()));
            }
        }
    }
    if tied.is_empty() {
        return;
    }
    // group → shard → its series.
    let mut by_shard: BTreeMap<GroupKey, BTreeMap<u64, Vec<crate::exec::SeriesWindows>>> =
        BTreeMap::new();
    for p in presence {
        if tied.contains_key(&p.group) {
            by_shard
                .entry(p.group.clone())
                .or_default()
                .entry(p.shard)
                .or_default()
                .push(p);
        }
    }
    for (g, windows) in tied {
        let Some(shards) = by_shard.get_mut(&g) else {
            continue;
        };
        // window → the (shard, series) influxd delivers first of the tied ones.
        let mut first: BTreeMap<i64, Vec<(u64, usize)>> = BTreeMap::new();
        let (lo, hi) = match (windows.keys().next(), windows.keys().next_back()) {
            (Some(lo), Some(hi)) => (*lo, *hi),
            _ => continue,
        };
        for (shard, series) in shards.iter_mut() {
            series.sort_by(|a, b| a.key.cmp(&b.key));
            series.dedup_by(|a, b| {
                if a.key == b.key {
                    b.windows.append(&mut a.windows);
                    b.first = b.first.min(a.first);
                    b.last = b.last.max(a.last);
                    true
                } else {
                    false
                }
            });
            for s in series.iter_mut() {
                s.windows.sort_unstable();
                s.windows.dedup();
                if plan.descending {
                    s.windows.reverse();
                }
            }
            if plan.descending {
                series.reverse();
            }
            let index: crate::exec::FastMap<&[u8], usize> = series
                .iter()
                .enumerate()
                .map(|(i, s)| (s.key.as_slice(), i))
                .collect();
            // A tied point is this shard's when its series' points here reach its time
            // (shards hold apart time ranges).
            let mut want: std::collections::HashSet<(i64, usize), ahash::RandomState> =
                Default::default();
            for (w, (time, keys)) in &windows {
                for k in keys {
                    if let Some(&i) = index.get(k.as_slice()) {
                        if (series[i].first..=series[i].last).contains(time) {
                            want.insert((*w, i));
                        }
                    }
                }
            }
            if want.is_empty() {
                continue;
            }
            let slices: Vec<&[i64]> = series.iter().map(|s| s.windows.as_slice()).collect();
            let mut found: crate::exec::FastMap<i64, usize> = Default::default();
            tessera_functions::parallel_merge_windows(
                &slices,
                go_maxprocs(),
                plan.descending,
                |w, i| {
                    if want.contains(&(w, i)) {
                        found.entry(w).or_insert(i);
                    }
                    if plan.descending {
                        w >= lo
                    } else {
                        w <= hi
                    }
                },
            );
            for (w, i) in found {
                first.entry(w).or_default().push((*shard, i));
            }
        }
        let Some(group) = groups.get_mut(&g) else {
            continue;
        };
        for (w, picks) in first {
            if let ([(shard, i)], Some(rs)) = (picks.as_slice(), group.get_mut(&w)) {
                let key = &shards[shard][*i].key;
                if let Some(r) = rs.first_mut() {
                    r.choose_series(key);
                }
            }
        }
    }
}

/// `unseen`: per group, the calls that read no point in it (influxd's fill iterator never
/// sees such a series: a transformation over it gets no input).
fn aggregate_rows(
    plan: &SelectPlan,
    partial: Partial,
    out: &mut BTreeMap<GroupKey, Vec<Row>>,
    unseen: &mut BTreeMap<GroupKey, Vec<bool>>,
) {
    let Partial {
        mut groups,
        aux,
        presence,
        presence_overflow,
        ..
    } = partial;
    if plan.series_ties() && !presence_overflow {
        resolve_series_ties(plan, &mut groups, presence);
    }
    if plan.calls.len() == 1
        && plan.calls[0].name == "percentile"
        && !plan.outputs.iter().any(OExpr::has_transform)
    {
        end_percentile_at_empty_window(&mut groups, plan);
    }
    // (A transformation of raw values is a call to influxd too: then no call selects.)
    let single_selector = plan.calls.len() == 1
        && !plan.raw_transforms
        && SELECTORS.contains(&plan.calls[0].name.as_str());
    let point_times = |name: &str| {
        matches!(name, "top" | "bottom" | "sample") || (single_selector && plan.interval.is_none())
    };
    // The span of windows every group reports (fill), from the query's range.
    let span: Option<(i64, i64)> = plan.interval.map(|_| {
        let first = if plan.range.has_min() {
            plan.window(plan.range.min).0
        } else {
            groups
                .values()
                .filter_map(|w| w.keys().next().copied())
                .min()
                .unwrap_or(plan.range.max)
        };
        (first, plan.window(plan.range.max).0)
    });
    let default_time = if plan.range.has_min() {
        plan.range.min
    } else {
        0
    };
    // top/bottom/sample/distinct are never filled by influxd.
    let multi_row = plan.calls.iter().any(|c| {
        !c.distinct_inner && matches!(c.name.as_str(), "top" | "bottom" | "sample" | "distinct")
    });
    let is_count: Vec<bool> = plan.calls.iter().map(|c| c.name == "count").collect();
    // What orders equal-time points in influxd's merge (first()/last() ask).
    let refs = aux_refs(plan, false, !plan.over_subquery);
    let aux_fill = AuxFill::new(plan);
    // Without GROUP BY time each call's answer carries its own time, and calls answering
    // at different times answer in different rows (influxd's cursor joins the calls'
    // iterators by time): integral() of a float field reports epoch 0 whatever the
    // range; of an integer field the range's start, or under ORDER BY time DESC its
    // (exclusive) end; the others the range's start.
    let labels: Vec<i64> = plan
        .calls
        .iter()
        .map(|c| {
            if c.name != "integral" {
                return default_time;
            }
            let integer = plan
                .fields
                .iter()
                .position(|f| *f == c.field)
                .and_then(|fi| plan.field_types.get(fi).copied().flatten())
                == Some(tessera_storage::batch::FieldType::Integer);
            match (integer, plan.descending) {
                (false, _) => 0,
                (true, false) => default_time,
                (true, true) => plan.range.max.saturating_add(1),
            }
        })
        .collect();
    let ties = AuxTies::new(&refs, &aux);
    for (g, mut wins) in groups {
        if plan.interval.is_some() && wins.len() > 1 {
            for ci in 0..plan.calls.len() {
                let mut rs: Vec<(i64, &mut tessera_functions::Reducer)> = wins
                    .iter_mut()
                    .filter_map(|(t, rs)| Some((*t, rs.get_mut(ci)?.inner_mut()?)))
                    .collect();
                tessera_functions::feed_windows_in_one_merge(
                    &mut rs,
                    &|t| plan.window(t).0,
                    plan.descending,
                    &ties,
                    !plan.over_subquery,
                );
            }
        }
        // Calls that have data somewhere in the group: their empty windows count 0.
        let mut seen = vec![false; plan.calls.len()];
        for rs in wins.values() {
            for (ci, r) in rs.iter().enumerate() {
                seen[ci] |= !r.is_empty();
            }
        }
        // integral() with GROUP BY time runs over the group's points across windows, as
        // influxd's streaming reducer does (a window's area reaches to its end,
        // interpolated towards the next window's first point). Its answers are labelled
        // as the reducer labels them (under ORDER BY time DESC a window's end, sometimes
        // twice) and never filled: influxd puts no fill iterator over it.
        let mut integral: HashMap<(usize, i64), Vec<f64>> = HashMap::new();
        // Without GROUP BY time only ORDER BY time DESC needs the stream here: influxd's
        // integer variant then runs one window from the range's end back to its start,
        // which a point exactly on the start closes twice.
        let integral_calls: Vec<usize> = match plan.interval {
            iv if iv.is_some() || plan.descending => plan
                .calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.name == "integral")
                .map(|(ci, _)| {
                    // One time-ordered merge of the group's series over all its windows
                    // (influxd's heap runs over the whole range, so which of two
                    // equal-time points wins depends on the points before the window).
                    // (The windows' reducers of this call are taken, not copied: its
                    // answers come from this stream only.)
                    let mut all: Option<Reducer> = None;
                    for rs in wins.values_mut() {
                        let Some(r) = rs
                            .get_mut(ci)
                            .map(|r| std::mem::replace(r, Reducer::nothing()))
                        else {
                            continue;
                        };
                        match all.as_mut() {
                            None => all = Some(r),
                            Some(a) => a.merge(r),
                        }
                    }
                    if let Some((unit, integer, points)) =
                        all.and_then(|r| r.into_integral_input(plan.descending))
                    {
                        let mut s = tessera_functions::IntegralStream::new(
                            unit,
                            iv.map(|iv| tessera_functions::Window::new(iv.every, iv.offset)),
                            plan.range.has_min().then_some(plan.range.min),
                            integer,
                        );
                        s.set_descending(plan.descending);
                        match (iv, plan.tz.clone()) {
                            (Some(iv), Some(tz)) => {
                                let (every, offset) = (iv.every, iv.offset);
                                s.set_windows(std::sync::Arc::new(move |t| {
                                    crate::tz::window(t, every, offset, Some(&tz))
                                }));
                            }
                            (None, _) if integer => {
                                let (min, end) = (plan.range.min, plan.range.max.saturating_add(1));
                                s.set_windows(std::sync::Arc::new(move |_| (min, end)));
                            }
                            _ => {}
                        }
                        for (t, v) in points {
                            s.push(t, v);
                        }
                        for p in s.finish() {
                            if let tessera_functions::Value::Float(v) = p.value {
                                // (Without GROUP BY time the one window is the range's.)
                                let w = if iv.is_some() { p.time } else { plan.range.min };
                                integral.entry((ci, w)).or_default().push(v);
                            }
                        }
                    }
                    ci
                })
                .collect(),
            _ => Vec::new(),
        };
        // Only calls other than integral() are filled; under fill(none) the windows
        // without data are skipped, so only those with data are walked (a span without
        // a lower bound reaches up to now).
        let fills =
            integral_calls.len() < plan.calls.len() && plan.fill != tessera_influxql::Fill::None;
        // Without a lower time bound influxd's fill iterator starts each series at its
        // own first window (under ORDER BY time DESC: stops after its own last one).
        let span = match span {
            Some((_, last)) if !plan.range.has_min() => {
                wins.keys().next().map(|first| (*first, last)).or(span)
            }
            other => other,
        };
        let keys: Vec<i64> = match span {
            Some((first, last)) => {
                let mut data: Vec<i64> = wins.keys().copied().collect();
                data.extend(integral.keys().map(|&(_, t)| t));
                data.sort_unstable();
                data.dedup();
                if fills {
                    fill_sequence(plan, first, last, &data)
                } else {
                    data
                }
            }
            None => vec![plan.range.min],
        };
        let mut rows: Vec<Row> = Vec::new();
        // Calls whose reducer answered in some window of the group (influxd's fill
        // iterator sees a series only through such points).
        let mut emitted = vec![false; plan.calls.len()];
        for w in keys {
            let wtime = if plan.interval.is_some() {
                w
            } else {
                default_time
            };
            // A window without an answer (no data, or none left by a field condition) is
            // filled unless fill(none).
            let filled = |wtime: i64| -> Option<Row> {
                if plan.interval.is_none() || plan.fill == Fill::None || multi_row || !fills {
                    return None;
                }
                let zero = Out {
                    time: None,
                    value: Value::Integer(0),
                    aux: 0,
                };
                let calls: Vec<Option<&Out>> = (0..plan.calls.len())
                    .map(|ci| {
                        (seen[ci] && is_count[ci] && plan.fill == Fill::Null).then_some(&zero)
                    })
                    .collect();
                let values = plan
                    .outputs
                    .iter()
                    .map(|o| match o {
                        OExpr::Call(_)
                        | OExpr::Bin(..)
                        | OExpr::Math(..)
                        | OExpr::Transform { .. } => eval(o, &[], &[], &calls),
                        _ => Value::Null,
                    })
                    .collect();
                Some(Row {
                    time: wtime,
                    values,
                    calls: calls
                        .iter()
                        .map(|c| c.map(|o| o.value.clone()).unwrap_or(Value::Null))
                        .collect(),
                    aux: aux_fill
                        .as_ref()
                        .map(|a| a.inputs(plan, None))
                        .unwrap_or_default(),
                })
            };
            // A window only integral() labels (under DESC, a window's end) past the
            // windows the other calls' fill iterators answer.
            let labelled_only =
                !wins.contains_key(&w) && !span.is_some_and(|(f, l)| (f..=l).contains(&w));
            let reducers = match wins.remove(&w) {
                Some(r) => r,
                None if integral_calls
                    .iter()
                    .any(|&ci| integral.contains_key(&(ci, w))) =>
                {
                    (0..plan.calls.len()).map(|_| Reducer::nothing()).collect()
                }
                None => {
                    rows.extend(filled(wtime));
                    continue;
                }
            };
            let finished: Vec<Vec<Out>> = reducers
                .into_iter()
                .enumerate()
                .map(|(ci, r)| {
                    if integral_calls.contains(&ci) {
                        let mut vals = integral.remove(&(ci, w)).unwrap_or_default();
                        // Rows are built oldest first and reversed for DESC.
                        if plan.descending {
                            vals.reverse();
                        }
                        return vals
                            .into_iter()
                            .map(|v| Out {
                                time: None,
                                value: Value::Float(v),
                                aux: 0,
                            })
                            .collect();
                    }
                    if r.is_empty() {
                        if seen[ci] && is_count[ci] && plan.fill == Fill::Null && !labelled_only {
                            return vec![Out {
                                time: None,
                                value: Value::Integer(0),
                                aux: 0,
                            }];
                        }
                        return Vec::new();
                    }
                    r.finish_with_ties(wtime, plan.descending, &ties)
                })
                .collect();
            for (e, f) in emitted.iter_mut().zip(&finished) {
                *e |= !f.is_empty();
            }
            let n = finished.iter().map(Vec::len).max().unwrap_or(0);
            if n == 0 {
                rows.extend(filled(wtime));
                continue;
            }
            let mut times: Vec<i64> = if plan.interval.is_some() {
                vec![wtime]
            } else {
                labels
                    .iter()
                    .zip(&finished)
                    .filter(|(_, f)| !f.is_empty())
                    .map(|(l, _)| *l)
                    .collect()
            };
            times.sort_unstable();
            times.dedup();
            for wtime in times {
                let part: Vec<&[Out]> = finished
                    .iter()
                    .zip(&labels)
                    .map(|(f, l)| {
                        if plan.interval.is_some() || *l == wtime {
                            f.as_slice()
                        } else {
                            &[]
                        }
                    })
                    .collect();
                let n = part.iter().map(|f| f.len()).max().unwrap_or(0);
                for i in 0..n {
                    let calls: Vec<Option<&Out>> = part
                        .iter()
                        .map(|f| {
                            if f.len() == 1 && multi_row {
                                f.first()
                            } else if plan.descending {
                                // Rows are reversed for DESC: the first row out is the
                                // last built.
                                (i + f.len()).checked_sub(n).and_then(|k| f.get(k))
                            } else {
                                f.get(i)
                            }
                        })
                        .collect();
                    let first = calls.iter().flatten().next();
                    let time = match first {
                        Some(o) if point_times(&plan.calls[0].name) => o.time.unwrap_or(wtime),
                        _ => wtime,
                    };
                    let empty = AuxRow {
                        fields: Vec::new(),
                        tags: Default::default(),
                    };
                    let auxrow = first.and_then(|o| aux.get(&o.aux)).unwrap_or(&empty);
                    let values = plan
                        .outputs
                        .iter()
                        .map(|o| eval(o, &auxrow.fields, &auxrow.tags, &calls))
                        .collect();
                    let calls = if n == 1 || !multi_row {
                        calls
                            .iter()
                            .map(|c| c.map(|o| o.value.clone()).unwrap_or(Value::Null))
                            .collect()
                    } else {
                        Vec::new()
                    };
                    let point = first.and_then(|o| aux.get(&o.aux));
                    rows.push(Row {
                        time,
                        values,
                        calls,
                        aux: aux_fill
                            .as_ref()
                            .map(|a| a.inputs(plan, point))
                            .unwrap_or_default(),
                    });
                }
            }
        }
        // fill(previous) follows the output order (ORDER BY time DESC fills from later).
        if plan.descending {
            rows.reverse();
        }
        fill(plan, &mut rows);
        if plan.descending {
            rows.reverse();
        }
        if let Some(a) = &aux_fill {
            // The columns beside a selector fill in the output order too: under DESC the
            // windows come newest first, the rows of one window (top()'s) as emitted.
            if plan.descending {
                reverse_windows(plan, &mut rows);
            }
            a.fill(plan, &mut rows);
            if plan.descending {
                reverse_windows(plan, &mut rows);
            }
        }
        // A group where no call answered anything has no rows at all (fill() has nothing
        // to fill from: `percentile(x, 0)` never answers; a field condition can leave
        // a series no values).
        if !emitted.iter().any(|e| *e) {
            continue;
        }
        unseen.insert(g.clone(), emitted.iter().map(|e| !e).collect());
        out.insert(g, rows);
    }
}

/// Whether an aggregate statement's calls answer as iterators of their own (joined by
/// time afterwards): when a transformation is one of them, or when fill(none) — or
/// integral(), which is never filled — lets calls answer in different windows and
/// OFFSET/LIMIT count them.
fn by_iterators(plan: &SelectPlan) -> bool {
    plan.aggregate
        && (plan.outputs.iter().any(OExpr::has_transform)
            || ((plan.fill == Fill::None || plan.calls.iter().any(|c| c.name == "integral"))
                && plan.calls.len() > 1
                && (plan.limit > 0 || plan.offset > 0)))
}

fn fill(plan: &SelectPlan, rows: &mut [Row]) {
    if matches!(plan.fill, Fill::Null | Fill::None) {
        return;
    }
    let by_call = !plan.calls.is_empty()
        && !rows.is_empty()
        && rows.iter().all(|r| r.calls.len() == plan.calls.len());
    let times: Vec<i64> = rows.iter().map(|r| r.time).collect();
    if !by_call {
        // A transformation reads its aggregate filled (influxd's fill iterator sits under
        // it), including the windows read before the range.
        let fillable: Vec<bool> = plan
            .outputs
            .iter()
            .map(|o| {
                matches!(
                    o,
                    OExpr::Call(_) | OExpr::Bin(..) | OExpr::Math(..) | OExpr::Transform { .. }
                )
            })
            .collect();
        let mut m: Vec<&mut Vec<Value>> = rows.iter_mut().map(|r| &mut r.values).collect();
        fill_matrix(&plan.fill, &times, &mut m, &fillable, plan.every());
        return;
    }
    // Fill each call's values, then compute the outputs again where a call was filled:
    // `mean(x) - min(x)` over an empty window with fill(1) is 0, as in influxd.
    let before: Vec<Vec<bool>> = rows
        .iter()
        .map(|r| r.calls.iter().map(Value::is_null).collect())
        .collect();
    // count() is an integer iterator even where it answered nothing: a fill number is
    // truncated for it (`fill(-1.5)` writes -1), as Go converts it.
    if let Fill::Number(f) = plan.fill {
        for (ci, c) in plan.calls.iter().enumerate() {
            if c.name == "count" && rows.iter().all(|r| r.calls[ci].is_null()) {
                for r in rows.iter_mut() {
                    r.calls[ci] = Value::Integer(f as i64);
                }
            }
        }
    }
    let mut m: Vec<&mut Vec<Value>> = rows.iter_mut().map(|r| &mut r.calls).collect();
    // integral() has no fill iterator, but the rows the other calls answer fill its
    // empty cells all the same — unless the iterators answer on their own.
    // A call over a field no measurement read has, whose answer takes its argument's
    // type (sum, last, max, …), has no type in influxd and so no fill iterator: it stays
    // null under fill(<number>); count(), mean() and the other fixed-type calls fill.
    let typeless = |c: &crate::plan::CallSpec| {
        !matches!(
            c.name.as_str(),
            "count" | "mean" | "median" | "stddev" | "integral"
        ) && !c.distinct_inner
            && plan.read_type(&c.field) == Some(None)
    };
    let fillable: Vec<bool> = plan
        .calls
        .iter()
        .map(|c| (c.name != "integral" || !by_iterators(plan)) && !typeless(c))
        .collect();
    fill_matrix(&plan.fill, &times, &mut m, &fillable, plan.every());
    for (r, was_null) in rows.iter_mut().zip(before) {
        let filled = r
            .calls
            .iter()
            .zip(&was_null)
            .any(|(v, was)| *was && !v.is_null());
        if !filled {
            continue;
        }
        let outs: Vec<Option<Out>> = r.calls.iter().map(Out::of).collect();
        let refs: Vec<Option<&Out>> = outs.iter().map(Option::as_ref).collect();
        for (c, o) in plan.outputs.iter().enumerate() {
            if matches!(
                o,
                OExpr::Call(_) | OExpr::Bin(..) | OExpr::Math(..) | OExpr::Transform { .. }
            ) {
                r.values[c] = eval(o, &[], &[], &refs);
            }
        }
    }
}

/// Fills the columns of `m` (one vector per row, at `times`) that `fillable` marks, with
/// `fill`: a number (taking the column's type), the previous value, or the linear
/// interpolation between the values around. `every`: the GROUP BY time interval, the
/// unit influxd interpolates in (0: nanoseconds).
pub fn fill_matrix(
    fill: &Fill,
    times: &[i64],
    m: &mut [&mut Vec<Value>],
    fillable: &[bool],
    every: i64,
) {
    let columns = (0..fillable.len()).filter(|c| fillable[*c]);
    match *fill {
        Fill::Null | Fill::None => {}
        Fill::Number(_) | Fill::Integer(_) => {
            let v = match *fill {
                Fill::Number(f) => Value::Float(f),
                Fill::Integer(i) => Value::Integer(i),
                _ => Value::Null,
            };
            for c in columns {
                // The fill value takes the column's type.
                let typed = match m.iter().map(|r| &r[c]).find(|x| !x.is_null()) {
                    Some(Value::Integer(_)) => match &v {
                        Value::Float(f) => Value::Integer(*f as i64),
                        o => o.clone(),
                    },
                    Some(Value::Float(_)) => match &v {
                        Value::Integer(i) => Value::Float(*i as f64),
                        o => o.clone(),
                    },
                    Some(Value::String(_)) => Value::String(String::new()),
                    Some(Value::Boolean(_)) => Value::Boolean(false),
                    _ => v.clone(),
                };
                for r in m.iter_mut() {
                    if r[c].is_null() {
                        r[c] = typed.clone();
                    }
                }
            }
        }
        Fill::Previous => {
            for c in columns {
                let mut prev = Value::Null;
                for r in m.iter_mut() {
                    if r[c].is_null() {
                        r[c] = prev.clone();
                    } else {
                        prev = r[c].clone();
                    }
                }
            }
        }
        Fill::Linear => {
            for c in columns {
                let known: Vec<usize> = (0..m.len()).filter(|i| !m[*i][c].is_null()).collect();
                for pair in known.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    if b - a < 2 {
                        continue;
                    }
                    let (ta, tb) = (times[a], times[b]);
                    let (va, vb) = (m[a][c].clone(), m[b][c].clone());
                    for i in a + 1..b {
                        // A second row of the known value's own window (integral()'s
                        // extra point) is no window to interpolate: influxd leaves it null.
                        if times[i] == ta {
                            continue;
                        }
                        // influxd's y = m·x + b over window numbers (each time divided
                        // by the interval, as Go divides), an integer truncated as a
                        // whole (a falling 9 → 5 over three windows fills 7 and 6).
                        let unit = every.max(1);
                        let (sa, sb, si) = (ta / unit, tb / unit, times[i] / unit);
                        let span = sb.wrapping_sub(sa) as f64;
                        let dx = si.wrapping_sub(sa) as f64;
                        m[i][c] = match (&va, &vb) {
                            (Value::Integer(x), Value::Integer(y)) => {
                                let slope = y.wrapping_sub(*x) as f64 / span;
                                Value::Integer((slope * dx + *x as f64) as i64)
                            }
                            _ => match (va.as_f64(), vb.as_f64()) {
                                (Some(x), Some(y)) => Value::Float((y - x) / span * dx + x),
                                _ => Value::Null,
                            },
                        };
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::RawSeries;
    use std::sync::Arc;

    fn member(times: Vec<i64>, seq: Option<Vec<u64>>) -> RawSeries {
        RawSeries {
            group: GroupKey {
                measurement: "cpu".into(),
                tags: vec![],
            },
            shard: 1,
            series_key: b"cpu".to_vec(),
            tags: Arc::new(vec![]),
            cols: vec![times.iter().map(|t| Value::Integer(*t)).collect()],
            times,
            seq,
            part: 0,
            measured: false,
        }
    }

    fn kept(m: &RawSeries) -> Vec<(usize, Vec<Value>)> {
        (0..m.times.len()).map(|i| (i, vec![])).collect()
    }

    #[test]
    fn rows_with_a_stream_place_keep_it_whatever_their_times() {
        // Two series of an aggregate subquery without GROUP BY time: the first series'
        // row comes first though its time is later.
        let a = member(vec![50], Some(vec![0]));
        let b = member(vec![10, 20], Some(vec![1, 2]));
        let ks = vec![kept(&a), kept(&b)];
        let order = fixed_order(&[a, b], &ks).expect("all members carry a place");
        assert_eq!(order, vec![(0, 0), (1, 0), (1, 1)]);
    }

    #[test]
    fn places_follow_the_kept_rows_only() {
        // The first row was dropped (no selected field had a value there).
        let a = member(vec![5, 6, 7], Some(vec![4, 0, 2]));
        let b = member(vec![1], Some(vec![1]));
        let ks = vec![vec![(1, vec![]), (2, vec![])], kept(&b)];
        let order = fixed_order(&[a, b], &ks).expect("all members carry a place");
        assert_eq!(order, vec![(0, 0), (1, 0), (0, 1)]);
    }

    #[test]
    fn storage_rows_are_merged_by_time() {
        let a = member(vec![1], Some(vec![0]));
        let b = member(vec![2], None);
        let ks = vec![kept(&a), kept(&b)];
        assert!(fixed_order(&[a, b], &ks).is_none());
    }
}
