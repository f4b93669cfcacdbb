//! From a `SELECT` statement and the schema of what it reads to a [`SelectPlan`]: sources
//! resolved, wildcards and regexes expanded, the time range and interval settled, the
//! function calls collected (they run where the data is), and each output column as an
//! [`OExpr`] over the calls, fields and tags.

use std::collections::{BTreeMap, BTreeSet};

use tessera_influxql::{BinaryOp, DataType, Dimension, Expr, Fill, SelectStatement, WildcardKind};
use tessera_storage::batch::FieldType;

use crate::cond::{compile_regex, TimeRange, MAX_TIME};
use crate::error::QueryError;
use crate::value::Value;

/// The InfluxQL data type of a stored field type.
pub fn data_type(t: FieldType) -> DataType {
    match t {
        FieldType::Float => DataType::Float,
        FieldType::Integer => DataType::Integer,
        FieldType::Unsigned => DataType::Unsigned,
        FieldType::Boolean => DataType::Boolean,
        FieldType::String => DataType::String,
    }
}

/// The stored field type a cast names (`x::integer`), the inverse of [`data_type`];
/// `None` for `::tag`, `::field`.
fn stored_type(t: DataType) -> Option<FieldType> {
    Some(match t {
        DataType::Float => FieldType::Float,
        DataType::Integer => FieldType::Integer,
        DataType::Unsigned => FieldType::Unsigned,
        DataType::String => FieldType::String,
        DataType::Boolean => FieldType::Boolean,
        _ => return None,
    })
}

/// Fields (with types) and tag keys of one measurement, over the shards a query reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeasurementSchema {
    pub fields: BTreeMap<String, FieldType>,
    pub tags: BTreeSet<String>,
    /// Tag keys were not gathered (the statement needs no expansion): any name that is
    /// not a field is taken for a tag.
    pub tags_unknown: bool,
    /// Fields that a subquery answered from tag references (`SELECT host, …`, a `*` that
    /// listed tags, top()/bottom() tag arguments): read like other fields, but influxd
    /// counts them among the subquery's dimensions, so a call over `*` skips them and
    /// `*::tag` lists them instead of `*::field`.
    pub tag_fields: BTreeSet<String>,
    /// The tag columns of a subquery's top()/bottom() tag arguments: the tag of the same
    /// name the subquery groups by is that column for `*` (no `host_1` twin, unlike a
    /// selected tag).
    pub tag_args: BTreeSet<String>,
    /// A subquery's answer: influxd looks a name up in its columns first, so a column
    /// is read even through `name::tag` (a tag of the same name is not reachable).
    pub answer_columns: bool,
}

/// Measurement name (unescaped) → its schema.
pub type Schema = BTreeMap<String, MeasurementSchema>;

pub const AGGREGATES: &[&str] = &[
    "count", "distinct", "integral", "mean", "median", "mode", "spread", "stddev", "sum",
];
pub const SELECTORS: &[&str] = &[
    "first",
    "last",
    "max",
    "min",
    "percentile",
    "sample",
    "top",
    "bottom",
];
/// Transformations other than the technical-analysis family
/// (`tessera_influxql::TECHNICAL_ANALYSIS`); [`is_transform`] asks both.
const TRANSFORMS: &[&str] = &[
    "cumulative_sum",
    "derivative",
    "difference",
    "elapsed",
    "moving_average",
    "non_negative_derivative",
    "non_negative_difference",
    "holt_winters",
    "holt_winters_with_fit",
];

/// Whether `name` is a transformation (a function over a series' points in order).
pub fn is_transform(name: &str) -> bool {
    TRANSFORMS.contains(&name) || tessera_influxql::TECHNICAL_ANALYSIS.contains(&name)
}
pub const MATH: &[&str] = &[
    "abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "exp", "floor", "ln", "log", "log2",
    "log10", "pow", "round", "sin", "sqrt", "tan",
];

/// The calls whose answer has their argument's type (influxd's type mapper): the
/// selectors, the sums and the differences.
pub const KEEPS_ARGUMENT_TYPE: &[&str] = &[
    "min",
    "max",
    "first",
    "last",
    "sum",
    "mode",
    "spread",
    "percentile",
    "sample",
    "top",
    "bottom",
    "distinct",
    "difference",
    "non_negative_difference",
    "cumulative_sum",
];

pub fn is_reducer(name: &str) -> bool {
    AGGREGATES.contains(&name) || SELECTORS.contains(&name)
}

/// One reducer call, run per (group, window) where the data is.
#[derive(Debug, Clone, PartialEq)]
pub struct CallSpec {
    pub name: String,
    /// The field it reads.
    pub field: String,
    /// Literal arguments after the field (`percentile(x, 95)` → `[95]`).
    pub args: Vec<Expr>,
    /// Tag keys named in `top(x, tag…, N)` / `bottom`.
    pub tags: Vec<String>,
    /// `count(distinct(x))`.
    pub distinct_inner: bool,
    /// `x::integer` and friends as the argument: influxd's engine reads the field as
    /// that type (float, integer and unsigned convert into each other), or reads
    /// nothing where it cannot. `None` without a cast or with `::field`.
    pub cast: Option<DataType>,
}

/// An output column.
#[derive(Debug, Clone, PartialEq)]
pub enum OExpr {
    /// A field of the row (raw queries) or of the selected point (aggregate queries).
    Field(usize),
    Tag(String),
    Call(usize),
    Lit(Value),
    Bin(BinaryOp, Box<OExpr>, Box<OExpr>),
    Math(String, Vec<OExpr>),
    /// `field::integer` and friends: the value converted, or null when it cannot be.
    Cast(Box<OExpr>, DataType),
    Transform {
        name: String,
        inner: Box<OExpr>,
        args: Vec<Expr>,
    },
}

impl OExpr {
    /// Whether this output reads a field or tag of the row itself, outside any call
    /// (beside aggregates: a value of the selected point).
    pub fn reads_row(&self) -> bool {
        match self {
            OExpr::Field(_) | OExpr::Tag(_) => true,
            OExpr::Bin(_, a, b) => a.reads_row() || b.reads_row(),
            OExpr::Math(_, a) => a.iter().any(OExpr::reads_row),
            OExpr::Cast(a, _) => a.reads_row(),
            OExpr::Call(_) | OExpr::Lit(_) | OExpr::Transform { .. } => false,
        }
    }

    /// Calls `f` with every transformation node of this output (outer ones first).
    pub fn walk_transform_nodes<'a>(&'a self, f: &mut impl FnMut(&'a OExpr)) {
        match self {
            OExpr::Transform { inner, .. } => {
                f(self);
                inner.walk_transform_nodes(f);
            }
            OExpr::Bin(_, a, b) => {
                a.walk_transform_nodes(f);
                b.walk_transform_nodes(f);
            }
            OExpr::Math(_, a) => a.iter().for_each(|x| x.walk_transform_nodes(f)),
            OExpr::Cast(a, _) => a.walk_transform_nodes(f),
            _ => {}
        }
    }

    /// Calls `f` with the name of every transformation in the expression.
    pub fn walk_transforms(&self, f: &mut impl FnMut(&str)) {
        self.walk_transform_nodes(&mut |t| {
            if let OExpr::Transform { name, .. } = t {
                f(name);
            }
        });
    }

    /// Whether a call (aggregate or selector) is part of this output.
    pub fn has_call(&self) -> bool {
        match self {
            OExpr::Call(_) => true,
            OExpr::Bin(_, a, b) => a.has_call() || b.has_call(),
            OExpr::Math(_, a) => a.iter().any(OExpr::has_call),
            OExpr::Cast(a, _) => a.has_call(),
            OExpr::Transform { inner, .. } => inner.has_call(),
            _ => false,
        }
    }

    pub fn has_transform(&self) -> bool {
        match self {
            OExpr::Transform { .. } => true,
            OExpr::Bin(_, a, b) => a.has_transform() || b.has_transform(),
            OExpr::Math(_, a) => a.iter().any(OExpr::has_transform),
            OExpr::Cast(a, _) => a.has_transform(),
            _ => false,
        }
    }

    /// The transformation inside this output (`difference(x) * 10` → `difference(x)`).
    pub fn transform_node(&self) -> Option<&OExpr> {
        match self {
            OExpr::Transform { .. } => Some(self),
            OExpr::Bin(_, a, b) => a.transform_node().or_else(|| b.transform_node()),
            OExpr::Math(_, a) => a.iter().find_map(OExpr::transform_node),
            OExpr::Cast(a, _) => a.transform_node(),
            _ => None,
        }
    }

    /// This output with transformations replaced where `f` gives a replacement (it is
    /// asked for each outermost transformation; one it declines is kept whole).
    pub fn map_transforms(&self, f: &mut impl FnMut(&OExpr) -> Option<OExpr>) -> OExpr {
        match self {
            OExpr::Transform { .. } => f(self).unwrap_or_else(|| self.clone()),
            OExpr::Bin(op, a, b) => OExpr::Bin(
                *op,
                Box::new(a.map_transforms(f)),
                Box::new(b.map_transforms(f)),
            ),
            OExpr::Math(n, a) => {
                OExpr::Math(n.clone(), a.iter().map(|x| x.map_transforms(f)).collect())
            }
            OExpr::Cast(a, t) => OExpr::Cast(Box::new(a.map_transforms(f)), *t),
            other => other.clone(),
        }
    }

    /// Indexes of the plan fields this output reads.
    pub fn field_refs(&self, out: &mut Vec<usize>) {
        match self {
            OExpr::Field(i) => out.push(*i),
            OExpr::Bin(_, a, b) => {
                a.field_refs(out);
                b.field_refs(out);
            }
            OExpr::Math(_, a) => a.iter().for_each(|x| x.field_refs(out)),
            OExpr::Cast(a, _) | OExpr::Transform { inner: a, .. } => a.field_refs(out),
            _ => {}
        }
    }
    pub fn uses_field(&self) -> bool {
        match self {
            OExpr::Field(_) | OExpr::Call(_) => true,
            OExpr::Bin(_, a, b) => a.uses_field() || b.uses_field(),
            OExpr::Math(_, a) => a.iter().any(OExpr::uses_field),
            OExpr::Cast(a, _) => a.uses_field(),
            OExpr::Transform { inner, .. } => inner.uses_field(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub every: i64,
    pub offset: i64,
}

impl SelectPlan {
    /// The GROUP BY time window `[start, end)` holding `t`.
    pub fn window(&self, t: i64) -> (i64, i64) {
        match &self.interval {
            Some(iv) => crate::tz::window(t, iv.every, iv.offset, self.tz.as_deref()),
            None => (self.range.min, self.range.max),
        }
    }

    /// Under LIMIT, how many rows of each series and of each output series can reach
    /// the answer of a raw statement: LIMIT + OFFSET (the k-th row of a series is at
    /// least the k-th of the series it merges into). `None` when every row counts:
    /// aggregates, transformations (they read all rows) and subqueries (their rows
    /// keep their source's order).
    pub fn raw_row_cap(&self) -> Option<usize> {
        if self.limit == 0
            || self.aggregate
            || self.raw_transforms
            || self.over_subquery
            || self.outputs.iter().any(OExpr::has_transform)
        {
            return None;
        }
        Some(usize::try_from(self.limit.saturating_add(self.offset)).unwrap_or(usize::MAX))
    }

    /// For a statement whose calls are all first() or last() without GROUP BY time:
    /// influxd's selector sees only the first (last) two points of each shard's merged
    /// series (`tessera_functions::Reducer::set_edge_take`), so each call's field needs
    /// only each series' first (last) two points, and aux values only the rows at those
    /// times. `Some((any first(), any last()))`, `None` for other statements.
    pub fn edge_calls(&self) -> Option<(bool, bool)> {
        if !self.aggregate
            || self.interval.is_some()
            || self.raw_transforms
            || self.over_subquery
            || self.top_take.is_some()
            || self.own_range.is_some()
            || self.calls.is_empty()
            || self.outputs.iter().any(OExpr::has_transform)
            || !self.calls.iter().all(|c| {
                matches!(c.name.as_str(), "first" | "last") && c.cast.is_none() && !c.distinct_inner
            })
        {
            return None;
        }
        Some((
            self.calls.iter().any(|c| c.name == "first"),
            self.calls.iter().any(|c| c.name == "last"),
        ))
    }

    /// The GROUP BY time interval in nanoseconds (0 without one).
    pub fn every(&self) -> i64 {
        self.interval.map_or(0, |i| i.every)
    }

    /// The type `field` is read as: `None` when it is none of the plan's fields,
    /// `Some(None)` when no measurement read has it.
    pub fn read_type(&self, field: &str) -> Option<Option<FieldType>> {
        let fi = self.fields.iter().position(|f| f == field)?;
        Some(self.field_types.get(fi).copied().flatten())
    }

    /// Marks the plan as the outer statement over subqueries. influxd's LIMIT cuts the
    /// points top()/bottom() read, and OFFSET without LIMIT stops after OFFSET + 1 rows
    /// of each shard, only where it reads storage (its engine's limit iterator): over a
    /// subquery every row is read and the offset skipped of all of them.
    pub fn mark_over_subquery(&mut self) {
        self.over_subquery = true;
        self.top_take = None;
        self.shard_take = None;
    }

    /// A lone min(), max(), first() or last() beside other columns, read from storage
    /// (first() and last() under GROUP BY time; without it they are `edge_calls`):
    /// which series answers a full tie (points equal in time and value in several
    /// series) shows in those columns, and it is the one influxd's
    /// `ParallelMergeIterator` delivers first. The scan then notes each series'
    /// windows (`Partial::presence`) and the selectors keep every tied series.
    pub fn series_ties(&self) -> bool {
        self.aggregate
            && self.aux
            && !self.over_subquery
            && !self.raw_transforms
            && self.calls.len() == 1
            && match self.calls[0].name.as_str() {
                "min" | "max" => true,
                "first" | "last" => self.interval.is_some(),
                _ => false,
            }
    }

    /// Whether every value of every field read makes a row that answers: the outputs
    /// read the fields plainly (no casts to another type, which can turn a value into
    /// nothing; `SELECT *` casts each field to its own type), and every field read is
    /// an output's. Then a series' first N values of any field lie within its first N
    /// answering rows.
    pub fn fields_answer_plainly(&self) -> bool {
        fn plain(plan: &SelectPlan, o: &OExpr, read: &mut [bool]) -> bool {
            match o {
                OExpr::Field(i) => {
                    if let Some(r) = read.get_mut(*i) {
                        *r = true;
                    }
                    true
                }
                OExpr::Tag(_) | OExpr::Lit(_) => true,
                OExpr::Bin(_, a, b) => plain(plan, a, read) && plain(plan, b, read),
                OExpr::Math(_, a) => a.iter().all(|x| plain(plan, x, read)),
                OExpr::Cast(inner, to) => match **inner {
                    OExpr::Field(i) => {
                        plan.field_types.get(i).copied().flatten().map(data_type) == Some(*to)
                            && plain(plan, inner, read)
                    }
                    _ => false,
                },
                OExpr::Call(_) | OExpr::Transform { .. } => false,
            }
        }
        let mut read = vec![false; self.fields.len()];
        self.outputs.iter().all(|o| plain(self, o, &mut read)) && read.iter().all(|r| *r)
    }
}

/// A compiled `SELECT` against concrete measurements. `Send + Sync`: it is shared with the
/// cores that own the partitions.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectPlan {
    pub measurements: Vec<String>,
    pub range: TimeRange,
    pub interval: Option<Interval>,
    /// Tag keys whose values split the output into series.
    pub group_tags: Vec<String>,
    /// The WHERE clause without its time terms.
    pub condition: Option<Expr>,
    /// Fields read (by the outputs, the calls and the condition).
    pub fields: Vec<String>,
    pub calls: Vec<CallSpec>,
    pub outputs: Vec<OExpr>,
    pub columns: Vec<String>,
    /// Columns that answer tag values (tag references and top()/bottom() tag arguments).
    pub tag_columns: BTreeSet<String>,
    pub aggregate: bool,
    /// Aggregate queries with plain field/tag columns (values of the selected point).
    pub aux: bool,
    /// Field keys of the measurements read (in a condition such a name is the field).
    pub field_names: BTreeSet<String>,
    /// The type each of `fields` is read as (where known): a column stored with another
    /// type in some shard is converted to it, or not read (see [`crate::exec::coerce`]).
    pub field_types: Vec<Option<FieldType>>,
    pub fill: Fill,
    pub limit: u64,
    pub offset: u64,
    /// Rows each shard contributes to a series of a raw answer (see `plan_select`).
    pub shard_take: Option<usize>,
    /// `top()`/`bottom()` with LIMIT or OFFSET: (the field's place in `fields`, how many
    /// of a series' points each shard reads), see `plan_select`.
    pub top_take: Option<(usize, usize)>,
    pub slimit: u64,
    pub soffset: u64,
    pub descending: bool,
    /// When the query has no lower time bound and aggregates: emit times from 0.
    pub now: i64,
    /// High bits of aux row ids, distinct per source group of one statement.
    pub id_base: u32,
    /// Which data node runs this copy of the plan (0: the coordinator; remote owners get
    /// 1, 2, …): part of aux row ids, so that rows from several nodes never collide.
    pub node_slot: u32,
    /// `tz()`: windows align to local time and times print at its offsets.
    pub tz: Option<std::sync::Arc<crate::tz::Tz>>,
    /// Rows before this are read only as input of transformations (influxd reads one
    /// interval more so that the first window has a predecessor).
    pub output_min: Option<i64>,
    /// The same for ORDER BY time DESC, where influxd reads the intervals after the range
    /// instead: rows after `.0` are input only; `.1` is the range's own upper bound.
    pub output_max: Option<(i64, i64)>,
    /// The statement's own time range when `range` was widened for transformations that
    /// read back: calls that do not feed them read only this.
    pub own_range: Option<TimeRange>,
    /// Per call: whether it feeds a transformation that reads back (reads all of `range`).
    pub call_reads_back: Vec<bool>,
    /// EXPLAIN: 0 runs the query; 1 only gathers what it would read
    /// ([`crate::exec::ExplainStat`]); 2 (EXPLAIN ANALYZE) runs it and gathers that too.
    pub explain: u8,
    /// The plan of a subquery's inner statement ([`SelectPlan::as_inner`]).
    pub inner: bool,
    /// The statement reads nothing (influxd's widened time range overflowed).
    pub unreadable: bool,
    /// An aggregate statement (without GROUP BY time) that also transforms raw values
    /// (`max(x), difference(y)`): the scan keeps the raw rows too, and each
    /// transformation answers its own points beside the aggregates' row.
    pub raw_transforms: bool,
    /// A subquery's inner plan: the outer statement's GROUP BY tags (`None` when it
    /// groups by `*` or a regex). influxd's storage merges the series of each of those
    /// groups as one stream, which the inner raw transformations read.
    pub merge_tags: Option<Vec<String>>,
    /// The plan of an outer statement over subqueries: the tags of its input series are
    /// the inner statements' dimensions, which influxd does not compare when it merges
    /// rows of equal time.
    pub over_subquery: bool,
}

struct Ctx<'a> {
    schema: &'a Schema,
    fields: Vec<String>,
    calls: Vec<CallSpec>,
    /// Per call: whether it feeds a transformation that reads one interval back.
    reads_back: Vec<bool>,
    /// Inside the argument of such a transformation.
    in_lookback: bool,
    group_tags: &'a [String],
    aggregate: bool,
}

impl Ctx<'_> {
    fn field_type(&self, name: &str) -> Option<FieldType> {
        merged_field_type(self.schema, name)
    }
    fn is_tag(&self, name: &str) -> bool {
        self.schema
            .values()
            .any(|m| m.tags_unknown || m.tags.contains(name))
    }
    fn field_index(&mut self, name: &str) -> usize {
        if let Some(i) = self.fields.iter().position(|f| f == name) {
            return i;
        }
        self.fields.push(name.to_string());
        self.fields.len() - 1
    }
    fn var(&mut self, name: &str, ty: DataType) -> OExpr {
        match ty {
            DataType::Tag if !answer_column(self.schema, name) => {
                return OExpr::Tag(name.to_string())
            }
            DataType::Tag | DataType::Field => return OExpr::Field(self.field_index(name)),
            DataType::Float
            | DataType::Integer
            | DataType::Unsigned
            | DataType::String
            | DataType::Boolean => {
                if self.field_type(name).is_some() {
                    let f = OExpr::Field(self.field_index(name));
                    return OExpr::Cast(Box::new(f), ty);
                }
                return OExpr::Lit(Value::Null);
            }
            _ => {}
        }
        if self.field_type(name).is_some() {
            OExpr::Field(self.field_index(name))
        } else if self.is_tag(name) {
            OExpr::Tag(name.to_string())
        } else {
            OExpr::Lit(Value::Null)
        }
    }

    fn call(&mut self, spec: CallSpec) -> usize {
        // A call under a transformation that reads back is influxd's own iterator over
        // the wider range: it is not shared with the same call elsewhere.
        if let Some(i) = self
            .calls
            .iter()
            .zip(&self.reads_back)
            .position(|(c, b)| *c == spec && *b == self.in_lookback)
        {
            return i;
        }
        self.calls.push(spec);
        self.reads_back.push(self.in_lookback);
        self.calls.len() - 1
    }

    fn expr(&mut self, e: &Expr) -> Result<OExpr, QueryError> {
        Ok(match e {
            Expr::Paren(e) => self.expr(e)?,
            Expr::VarRef { name, data_type } => self.var(name, *data_type),
            Expr::Integer(i) => OExpr::Lit(Value::Integer(*i)),
            Expr::Unsigned(u) => OExpr::Lit(Value::Unsigned(*u)),
            Expr::Number(f) => OExpr::Lit(Value::Float(*f)),
            Expr::String(s) => OExpr::Lit(Value::String(s.clone())),
            Expr::Boolean(b) => OExpr::Lit(Value::Boolean(*b)),
            Expr::Duration(d) => OExpr::Lit(Value::Integer(*d)),
            Expr::Binary { op, lhs, rhs } => {
                OExpr::Bin(*op, Box::new(self.expr(lhs)?), Box::new(self.expr(rhs)?))
            }
            Expr::Call { name, args } => self.call_expr(name, args)?,
            Expr::Distinct(f) => self.call_expr(
                "distinct",
                &[Expr::VarRef {
                    name: f.clone(),
                    data_type: DataType::Unknown,
                }],
            )?,
            Expr::Wildcard(_) => {
                return Err(QueryError::msg(
                    "unable to use wildcard in a binary expression",
                ))
            }
            other => {
                return Err(QueryError::msg(format!(
                    "unsupported expression in field list: {other:?}"
                )))
            }
        })
    }

    fn call_expr(&mut self, name: &str, args: &[Expr]) -> Result<OExpr, QueryError> {
        if is_reducer(name) {
            let (field, distinct_inner, data_type) = match args.first() {
                Some(Expr::VarRef { name, data_type }) => (name.clone(), false, *data_type),
                Some(Expr::Call {
                    name: inner,
                    args: ia,
                }) if inner == "distinct" && name == "count" => match ia.first() {
                    Some(Expr::VarRef { name, data_type }) => (name.clone(), true, *data_type),
                    _ => return Err(QueryError::msg("expected field argument in distinct()")),
                },
                Some(Expr::Distinct(f)) if name == "count" => (f.clone(), true, DataType::Unknown),
                _ => {
                    return Err(QueryError::msg(format!(
                        "expected field argument in {name}()"
                    )))
                }
            };
            let mut rest: Vec<Expr> = args.iter().skip(1).cloned().collect();
            let mut tags = Vec::new();
            if name == "top" || name == "bottom" {
                while rest.len() > 1 {
                    match rest.remove(0) {
                        Expr::VarRef { name, .. } => tags.push(name),
                        _ => {
                            return Err(QueryError::msg(format!(
                                "only fields or tags are allowed in {name}(), found {:?}",
                                args
                            )))
                        }
                    }
                }
            }
            self.field_index(&field);
            let i = self.call(CallSpec {
                name: name.to_string(),
                field,
                args: rest,
                tags,
                distinct_inner,
                cast: (!matches!(data_type, DataType::Unknown | DataType::Field))
                    .then_some(data_type),
            });
            return Ok(OExpr::Call(i));
        }
        if is_transform(name) {
            let inner = args.first().ok_or_else(|| {
                QueryError::msg(format!(
                    "invalid number of arguments for {name}, expected at least 1, got 0"
                ))
            })?;
            let outer = self.in_lookback;
            self.in_lookback |= reads_back(name);
            let inner = self.expr(inner);
            self.in_lookback = outer;
            let inner = inner?;
            return Ok(OExpr::Transform {
                name: name.to_string(),
                inner: Box::new(inner),
                args: args.iter().skip(1).cloned().collect(),
            });
        }
        if MATH.contains(&name) {
            // Only the first argument's wildcard expands; one left in a later argument
            // (`atan2(*, *)`, `pow(x, /re/)`) reads nothing, as in influxd: null.
            let a = args
                .iter()
                .enumerate()
                .map(|(i, a)| match a {
                    Expr::Wildcard(_) | Expr::Regex(_) if i > 0 => Ok(OExpr::Lit(Value::Null)),
                    a => self.expr(a),
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(OExpr::Math(name.to_string(), a));
        }
        Err(QueryError::msg(format!("undefined function {name}()")))
    }
}

/// The transformations of raw values among `outputs` (no call in their argument), once
/// each.
pub fn raw_transform_nodes(outputs: &[OExpr]) -> Vec<&OExpr> {
    let mut nodes: Vec<&OExpr> = Vec::new();
    for o in outputs {
        o.walk_transform_nodes(&mut |t| {
            if let OExpr::Transform { inner, .. } = t {
                if !inner.has_call() && !nodes.contains(&t) {
                    nodes.push(t);
                }
            }
        });
    }
    nodes
}

/// Transformations whose input influxd 1.6 reads one GROUP BY interval beyond the range
/// (before it, or after it for ORDER BY time DESC), so that the first window has a
/// predecessor. moving_average() is one of them whatever its window.
/// The time range whose shards a SELECT reads: its own, widened by one GROUP BY
/// interval when a transformation reads back (influxd maps shards over the range its
/// extra intervals reach, so `difference(last(x))` at a shard group's first window reads
/// the previous group).
pub fn shard_range(stmt: &SelectStatement, range: TimeRange) -> TimeRange {
    let every = stmt.dimensions.iter().find_map(|d| match &d.expr {
        Expr::Call { name, args } if name == "time" => match args.first() {
            Some(Expr::Duration(d)) if *d > 0 => Some(*d),
            _ => None,
        },
        _ => None,
    });
    let Some(every) = every else {
        return range;
    };
    let back = statement_reads_back(stmt);
    let descending = stmt.sort_fields.first().is_some_and(|s| !s.ascending);
    let mut r = range;
    if back && !descending && range.has_min() {
        r.min = range.min.saturating_sub(every);
    } else if back && descending && range.max < MAX_TIME {
        r.max = range.max.saturating_add(every).min(MAX_TIME - 1);
    }
    r
}

/// Whether a call of the statement's fields reads back ([`reads_back`]).
pub fn statement_reads_back(stmt: &SelectStatement) -> bool {
    let mut back = false;
    for f in &stmt.fields {
        f.expr.walk(&mut |e| {
            if let Expr::Call { name, .. } = e {
                back |= reads_back(name);
            }
        });
    }
    back
}

/// Whether a transformation reads one GROUP BY interval before the range (influxd 1.6
/// widens its iterator's start by one).
pub fn reads_back(name: &str) -> bool {
    matches!(
        name,
        "derivative"
            | "non_negative_derivative"
            | "difference"
            | "non_negative_difference"
            | "elapsed"
            | "moving_average"
    ) || crate::agg::is_technical_analysis(name)
}

fn has_reducer(e: &Expr) -> bool {
    match e {
        Expr::Call { name, args } => is_reducer(name) || args.iter().any(has_reducer),
        Expr::Binary { lhs, rhs, .. } => has_reducer(lhs) || has_reducer(rhs),
        Expr::Paren(e) => has_reducer(e),
        Expr::Distinct(_) => true,
        _ => false,
    }
}

/// Expands `*`, `*::field`, `*::tag` and `/regex/` in the select list and inside calls.
fn expand_fields(
    stmt: &SelectStatement,
    schema: &Schema,
    group_tags: &[String],
) -> Result<Vec<tessera_influxql::Field>, QueryError> {
    let mut all_fields: BTreeMap<String, FieldType> = BTreeMap::new();
    let mut all_tags: BTreeSet<String> = BTreeSet::new();
    let mut tag_fields: BTreeSet<&str> = BTreeSet::new();
    let mut tag_args: BTreeSet<&str> = BTreeSet::new();
    for m in schema.values() {
        tag_args.extend(m.tag_args.iter().map(String::as_str));
        // A field of several types across the measurements is read as the lowest-ranked
        // one (influxd's `FieldDimensions`: float before integer before string…).
        for (f, t) in &m.fields {
            all_fields
                .entry(f.clone())
                .and_modify(|old| {
                    if crate::exec::type_rank(*t) < crate::exec::type_rank(*old) {
                        *old = *t;
                    }
                })
                .or_insert(*t);
        }
        all_tags.extend(m.tags.iter().cloned());
        tag_fields.extend(m.tag_fields.iter().map(String::as_str));
    }
    let dimension_wildcard = stmt
        .dimensions
        .iter()
        .any(|d| matches!(d.expr, Expr::Wildcard(_) | Expr::Regex(_)));
    let mut out = Vec::new();
    for f in &stmt.fields {
        match &f.expr {
            Expr::Wildcard(_) | Expr::Regex(_) => {
                let re = match &f.expr {
                    Expr::Regex(r) => Some(compile_regex(&r.0)?),
                    _ => None,
                };
                let kind = match &f.expr {
                    Expr::Wildcard(k) => *k,
                    _ => WildcardKind::All,
                };
                let matches = |n: &str| re.as_ref().map(|r| r.is_match(n)).unwrap_or(true);
                let mut cols: Vec<(String, DataType)> = Vec::new();
                let cmp = |a: &(String, DataType), b: &(String, DataType)| a.0.cmp(&b.0);
                for (n, t) in &all_fields {
                    // A subquery's tag columns count as tags for `*::tag` and `*::field`.
                    let as_tag = tag_fields.contains(n.as_str());
                    let wanted = match kind {
                        WildcardKind::All => true,
                        WildcardKind::Field => !as_tag,
                        WildcardKind::Tag => as_tag,
                    };
                    if wanted && matches(n) {
                        cols.push((n.clone(), data_type(*t)));
                    }
                }
                // influxd lists no tag at all beside a GROUP BY * or a regex dimension.
                if kind != WildcardKind::Field && !dimension_wildcard {
                    for n in &all_tags {
                        // A tag named like a field is a column of its own (influxd answers
                        // the field as `region`, the tag as `region_1`), a subquery's tag
                        // column beside the tag it groups by too (but not a top() or
                        // bottom() tag argument's).
                        let listed = all_fields.contains_key(n) && tag_args.contains(n.as_str());
                        if matches(n) && !group_tags.contains(n) && !listed {
                            cols.push((n.clone(), DataType::Tag));
                        }
                    }
                }
                cols.sort_by(cmp);
                for (n, t) in cols {
                    out.push(tessera_influxql::Field {
                        expr: Expr::VarRef {
                            name: n,
                            data_type: t,
                        },
                        alias: None,
                    });
                }
            }
            Expr::Call { name, .. } if innermost_wildcard(&f.expr).is_some() => {
                // influxql's RewriteFields: the wildcard may sit in the first argument of
                // nested calls (`derivative(mean(*))`); the innermost call decides which
                // field types it takes, the outer one names the column.
                let (inner, arg) = innermost_wildcard(&f.expr).expect("checked by the guard");
                let re = match arg {
                    Expr::Regex(r) => Some(compile_regex(&r.0)?),
                    Expr::Wildcard(WildcardKind::Tag) => {
                        return Err(QueryError::msg(format!(
                            "unable to use tag wildcard in {inner}()"
                        )))
                    }
                    _ => None,
                };
                for (n, t) in &all_fields {
                    if let Some(r) = &re {
                        if !r.is_match(n) {
                            continue;
                        }
                    }
                    if !accepts(inner, *t) || tag_fields.contains(n.as_str()) {
                        continue;
                    }
                    let mut expr = f.expr.clone();
                    replace_innermost_arg(
                        &mut expr,
                        Expr::VarRef {
                            name: n.clone(),
                            data_type: DataType::Unknown,
                        },
                    );
                    out.push(tessera_influxql::Field {
                        expr,
                        alias: Some(format!("{}_{n}", f.alias.as_deref().unwrap_or(name))),
                    });
                }
            }
            Expr::Binary { .. } => {
                let mut regex = false;
                f.expr.walk(&mut |x| regex |= matches!(x, Expr::Regex(_)));
                if regex {
                    return Err(QueryError::Influx(format!(
                        "unsupported expression with regex field: {}",
                        typed_for_error(&f.expr, schema)
                    )));
                }
                out.push(f.clone());
            }
            _ => out.push(f.clone()),
        }
    }
    Ok(out)
}

/// The innermost call along the first arguments of nested calls, and its first argument,
/// when that argument is a wildcard or a regex (`derivative(mean(*))` gives `mean` and `*`).
fn innermost_wildcard(e: &Expr) -> Option<(&str, &Expr)> {
    let Expr::Call { name, args } = e else {
        return None;
    };
    match args.first()? {
        inner @ Expr::Call { .. } => innermost_wildcard(inner),
        a @ (Expr::Wildcard(_) | Expr::Regex(_)) => Some((name, a)),
        _ => None,
    }
}

/// Replaces the first argument of the innermost call of `e` (see [`innermost_wildcard`]).
fn replace_innermost_arg(e: &mut Expr, with: Expr) {
    if let Expr::Call { args, .. } = e {
        match args.first_mut() {
            Some(inner @ Expr::Call { .. }) => replace_innermost_arg(inner, with),
            Some(a) => *a = with,
            None => {}
        }
    }
}

/// Whether a call expands its wildcard over fields of this type (influxql's
/// RewriteFields: numbers always, strings and booleans for the selectors that keep any
/// value, booleans for min/max, no unsigned for holt_winters).
pub fn accepts(name: &str, t: FieldType) -> bool {
    match name {
        "count" | "distinct" | "first" | "last" | "sample" | "mode" | "elapsed" => true,
        "max" | "min" => !matches!(t, FieldType::String),
        "holt_winters" | "holt_winters_with_fit" => {
            matches!(t, FieldType::Float | FieldType::Integer)
        }
        _ => matches!(
            t,
            FieldType::Float | FieldType::Integer | FieldType::Unsigned
        ),
    }
}

fn arith(op: BinaryOp) -> Option<tessera_functions::binary::Op> {
    use tessera_functions::binary::Op;
    Some(match op {
        BinaryOp::Add => Op::Add,
        BinaryOp::Sub => Op::Sub,
        BinaryOp::Mul => Op::Mul,
        BinaryOp::Div => Op::Div,
        BinaryOp::Mod => Op::Mod,
        BinaryOp::BitAnd => Op::BitAnd,
        BinaryOp::BitOr => Op::BitOr,
        BinaryOp::BitXor => Op::BitXor,
        _ => return None,
    })
}

/// The type a field name has across the measurements of a statement: the lowest-ranked
/// of its types (influxql's `EvalType` over the sources: float before integer before
/// string…). Measurements that store it as another type read nothing for it.
pub fn merged_field_type(schema: &Schema, name: &str) -> Option<FieldType> {
    schema
        .values()
        .filter_map(|m| m.fields.get(name).copied())
        .min_by_key(|t| crate::exec::type_rank(*t))
}

/// A type name as the binary type rules take it.
fn vt(t: &str) -> Option<tessera_functions::ValueType> {
    match t {
        "float" => Some(tessera_functions::ValueType::Float),
        "integer" => Some(tessera_functions::ValueType::Integer),
        "unsigned" => Some(tessera_functions::ValueType::Unsigned),
        "boolean" => Some(tessera_functions::ValueType::Boolean),
        "string" => Some(tessera_functions::ValueType::String),
        _ => None,
    }
}

/// The type influxd's type mapper gives an expression of the select list (`tag` for a
/// tag), when it knows one.
fn ty(e: &Expr, schema: &Schema) -> Option<&'static str> {
    match e {
        Expr::Paren(x) => ty(x, schema),
        Expr::Integer(_) => Some("integer"),
        Expr::Unsigned(_) => Some("unsigned"),
        Expr::Number(_) => Some("float"),
        Expr::String(_) => Some("string"),
        Expr::Boolean(_) => Some("boolean"),
        Expr::VarRef { name, data_type } => {
            // A cast is taken as written (`x::string + 1` is a type error wherever x is a
            // float).
            if *data_type == DataType::Tag {
                return Some("tag");
            }
            if let Some(t) = stored_type(*data_type).or_else(|| merged_field_type(schema, name)) {
                return Some(match t {
                    FieldType::Float => "float",
                    FieldType::Integer => "integer",
                    FieldType::Unsigned => "unsigned",
                    FieldType::String => "string",
                    FieldType::Boolean => "boolean",
                });
            }
            schema
                .values()
                .any(|m| m.tags.contains(name))
                .then_some("tag")
        }
        // What influxd's type mapper answers for a call: some functions have a fixed
        // type, the selectors and the sums keep their argument's.
        Expr::Call { name, args } => match name.as_str() {
            "count" | "elapsed" => Some("integer"),
            "mean"
            | "median"
            | "stddev"
            | "integral"
            | "derivative"
            | "non_negative_derivative"
            | "moving_average"
            | "holt_winters"
            | "holt_winters_with_fit" => Some("float"),
            n if KEEPS_ARGUMENT_TYPE.contains(&n) => args
                .first()
                .and_then(|a| ty(a, schema))
                .filter(|t| *t != "tag"),
            _ => None,
        },
        Expr::Distinct(name) => ty(
            &Expr::VarRef {
                name: name.clone(),
                data_type: DataType::Unknown,
            },
            schema,
        ),
        // Arithmetic has the type of its answer (`1 * usage_system` is a float).
        Expr::Binary { op, lhs, rhs } => {
            let aop = arith(*op)?;
            let (l, r) = (vt(ty(lhs, schema)?)?, vt(ty(rhs, schema)?)?);
            match tessera_functions::binary::output_type(l, aop, r).ok()? {
                tessera_functions::ValueType::Float => Some("float"),
                tessera_functions::ValueType::Integer => Some("integer"),
                tessera_functions::ValueType::Unsigned => Some("unsigned"),
                tessera_functions::ValueType::Boolean => Some("boolean"),
                tessera_functions::ValueType::String => Some("string"),
            }
        }
        _ => None,
    }
}

/// influxd's type check of math in the select list: `type error: <expr with types>:
/// incompatible types: <l> and <r>`. `None`: fine (or not decidable here).
fn type_error(e: &Expr, schema: &Schema) -> Option<String> {
    match e {
        Expr::Paren(x) => type_error(x, schema),
        Expr::Binary { op, lhs, rhs } => {
            if let Some(err) = type_error(lhs, schema).or_else(|| type_error(rhs, schema)) {
                return Some(err);
            }
            let aop = arith(*op)?;
            let (l, r) = (ty(lhs, schema)?, ty(rhs, schema)?);
            let ok = match (vt(l), vt(r)) {
                (Some(a), Some(b)) => tessera_functions::binary::output_type(a, aop, b).is_ok(),
                _ => false,
            };
            if ok {
                return None;
            }
            let typed = typed_for_error(e, schema);
            Some(format!(
                "type error: {typed}: incompatible types: {l} and {r}"
            ))
        }
        _ => None,
    }
}

/// `e` as influxd prints a field in its errors: variables with their types
/// (`index::integer`) and the parentheses around anything but an operator gone.
fn typed_for_error(e: &Expr, schema: &Schema) -> Expr {
    let mut typed = e.clone();
    typed.walk_mut(&mut |x| {
        let t = match x {
            Expr::VarRef { .. } => ty(x, schema),
            _ => None,
        };
        if let Expr::VarRef { data_type, .. } = x {
            if let Some(t) = t {
                *data_type = match t {
                    "float" => DataType::Float,
                    "integer" => DataType::Integer,
                    "unsigned" => DataType::Unsigned,
                    "string" => DataType::String,
                    "boolean" => DataType::Boolean,
                    _ => DataType::Tag,
                };
            }
        }
    });
    // influxd prints the reduced expression: parentheses around anything but an
    // operator are gone (`(status) + 1` is `status::string + 1`).
    fn unwrap_parens(e: &mut Expr) {
        if let Expr::Paren(inner) = e {
            if !matches!(**inner, Expr::Binary { .. }) {
                *e = std::mem::replace(&mut **inner, Expr::Nil);
                unwrap_parens(e);
                return;
            }
        }
        match e {
            Expr::Paren(x) => unwrap_parens(x),
            Expr::Binary { lhs, rhs, .. } => {
                unwrap_parens(lhs);
                unwrap_parens(rhs);
            }
            Expr::Call { args, .. } => args.iter_mut().for_each(unwrap_parens),
            _ => {}
        }
    }
    unwrap_parens(&mut typed);
    typed
}

/// Whether planning `stmt` needs the measurements' tag keys (wildcards and regexes in the
/// select list or GROUP BY, and math, whose type check tells tags from unknown names);
/// otherwise they need not be gathered from the cores.
pub fn needs_tag_keys(stmt: &SelectStatement) -> bool {
    let mut need = false;
    for f in &stmt.fields {
        f.expr.walk(&mut |e| {
            if matches!(e, Expr::Wildcard(_) | Expr::Regex(_)) {
                need = true;
            }
            if let Expr::Binary { op, .. } = e {
                need |= arith(*op).is_some();
            }
        });
    }
    need || stmt
        .dimensions
        .iter()
        .any(|d| matches!(d.expr, Expr::Wildcard(_) | Expr::Regex(_)))
}

impl SelectPlan {
    /// Over a subquery, a cast of a raw field to a type its values cannot take (a string
    /// `::float`, a number `::string`) leaves the values as they are: influxd's outer
    /// statement reads the inner rows without converting them. Casts between numbers
    /// still convert.
    pub fn keep_uncastable_fields(&mut self) {
        fn castable(from: FieldType, to: tessera_influxql::DataType) -> bool {
            use tessera_influxql::DataType as T;
            let number = |t: FieldType| {
                matches!(
                    t,
                    FieldType::Float | FieldType::Integer | FieldType::Unsigned
                )
            };
            match to {
                T::Float | T::Integer | T::Unsigned => number(from),
                T::String => from == FieldType::String,
                T::Boolean => from == FieldType::Boolean,
                _ => true,
            }
        }
        fn walk(o: &mut OExpr, types: &[Option<FieldType>]) {
            match o {
                OExpr::Cast(inner, to) => {
                    if let OExpr::Field(i) = **inner {
                        if let Some(Some(from)) = types.get(i) {
                            if !castable(*from, *to) {
                                *o = OExpr::Field(i);
                            }
                        }
                    }
                }
                OExpr::Bin(_, a, b) => {
                    walk(a, types);
                    walk(b, types);
                }
                OExpr::Math(_, args) => args.iter_mut().for_each(|a| walk(a, types)),
                _ => {}
            }
        }
        for o in self.outputs.iter_mut() {
            walk(o, &self.field_types);
        }
    }

    /// Marks the plan as a subquery's inner statement. influxd widens an inner
    /// statement's own time range for its transformations that read back (by one GROUP BY
    /// interval, its own or the one it inherits from `every`, which raw transformations
    /// such as `difference(x)` then read back by too) and then keeps it within the outer
    /// statement's range `outer`; all it reads, it answers (no row is held back as input
    /// only). The range is the intersection of both when the statement was planned (its
    /// condition carries the outer time terms too), so widening it and cutting it to
    /// `outer` gives the same range.
    pub fn as_inner(&mut self, outer: TimeRange, every: Option<i64>) {
        let raw_back = self.interval.is_none()
            && self.outputs.iter().any(|o| {
                let mut any = false;
                o.walk_transforms(&mut |name| any |= reads_back(name));
                any
            });
        if let (true, Some(every)) = (raw_back, every.filter(|e| *e > 0)) {
            if !self.descending {
                if self.range.has_min() {
                    self.range.min = self.range.min.saturating_sub(every);
                } else {
                    // As at the top level: the widened start overflows, nothing is read.
                    self.unreadable = true;
                }
            } else if self.range.max < MAX_TIME {
                self.range.max = self.range.max.saturating_add(every).min(MAX_TIME - 1);
            }
        }
        let range = TimeRange {
            min: self.range.min.max(outer.min),
            max: self.range.max.min(outer.max),
        };
        self.inner_range(range);
    }

    /// The inner statement's range as [`Self::as_inner`] found it (a data node planning
    /// its part of the inner statement is given it).
    pub fn inner_range(&mut self, range: TimeRange) {
        self.inner = true;
        self.shard_take = None;
        self.output_min = None;
        self.output_max = None;
        self.range = range;
    }
}

/// A column of a subquery's answer: read even as `name::tag` (influxd looks a name up in
/// the answer's columns first).
fn answer_column(schema: &Schema, name: &str) -> bool {
    schema
        .values()
        .any(|m| m.answer_columns && m.fields.contains_key(name))
}

/// A field whose every reference in the select list casts to one type (`s::string`,
/// `count(s::string)`) is asked of each shard as that type, as influxd asks: a shard
/// storing it as another type answers nothing (numbers convert), one storing it so
/// answers its values, whatever type the other shards give the field. A field the
/// condition reads keeps its usual type.
fn cast_field_types(
    mut types: Vec<Option<FieldType>>,
    fields: &[String],
    outputs: &[OExpr],
    calls: &[CallSpec],
    condition: Option<&Expr>,
) -> Vec<Option<FieldType>> {
    // Per field: None unseen, Some(Some(t)) every reference so far casts to t,
    // Some(None) some reference does not.
    let mut seen: Vec<Option<Option<FieldType>>> = vec![None; fields.len()];
    let mut note = |i: usize, t: Option<FieldType>| {
        if let Some(slot) = seen.get_mut(i) {
            *slot = match *slot {
                None => Some(t),
                Some(prev) if prev == t => Some(t),
                Some(_) => Some(None),
            };
        }
    };
    fn walk(o: &OExpr, note: &mut dyn FnMut(usize, Option<FieldType>)) {
        match o {
            OExpr::Cast(inner, t) => match **inner {
                OExpr::Field(i) => note(i, stored_type(*t)),
                ref other => walk(other, note),
            },
            OExpr::Field(i) => note(*i, None),
            OExpr::Bin(_, a, b) => {
                walk(a, note);
                walk(b, note);
            }
            OExpr::Math(_, args) => args.iter().for_each(|a| walk(a, note)),
            OExpr::Transform { inner, .. } => walk(inner, note),
            OExpr::Call(_) | OExpr::Tag(_) | OExpr::Lit(_) => {}
        }
    }
    for o in outputs {
        walk(o, &mut note);
    }
    for c in calls {
        if let Some(i) = fields.iter().position(|f| *f == c.field) {
            note(i, c.cast.and_then(stored_type));
        }
    }
    let mut in_condition = BTreeSet::new();
    if let Some(c) = condition {
        c.walk(&mut |e| {
            if let Expr::VarRef { name, .. } = e {
                in_condition.insert(name.clone());
            }
        });
    }
    for (i, s) in seen.into_iter().enumerate() {
        if let (Some(Some(t)), false) = (s, in_condition.contains(&fields[i])) {
            types[i] = Some(t);
        }
    }
    types
}

/// The offset of `GROUP BY time(every, now())`: influxd takes it from Go's
/// `now.Truncate(every)`, which counts multiples of `every` from the year 1, not from 1970.
pub fn now_offset(now: i64, every: i64) -> i64 {
    const YEAR_ONE_TO_UNIX_NS: i128 = 62_135_596_800 * 1_000_000_000;
    ((now as i128 + YEAR_ONE_TO_UNIX_NS).rem_euclid(every.max(1) as i128)) as i64
}

/// Compiles `stmt` against `schema` (the measurements it names, already resolved).
pub fn plan_select(
    stmt: &SelectStatement,
    measurements: Vec<String>,
    schema: &Schema,
    now: i64,
) -> Result<SelectPlan, QueryError> {
    let (condition, mut range) = crate::cond::split_statement_time(stmt, now)?;
    // A name no measurement has as a field reads as a tag (the index looks it up so).
    let is_tag = |name: &str| !schema.values().any(|m| m.fields.contains_key(name));
    let condition = condition.map(|c| crate::cond::index_terms(&c, now, &is_tag));
    // Over a subquery a `name::tag` that names one of its columns reads the column.
    let condition = condition.map(|c| {
        crate::cond::retype_refs(&c, &|name, t| match t {
            DataType::Tag if answer_column(schema, name) => DataType::Unknown,
            t => t,
        })
    });
    let tz = match &stmt.location {
        Some(name) => Some(
            crate::tz::Tz::load(name)
                .ok_or_else(|| QueryError::msg(format!("unable to find time zone {name}")))?,
        ),
        None => None,
    };
    let mut interval = None;
    let mut group_tags: Vec<String> = Vec::new();
    let all_tags: BTreeSet<String> = schema
        .values()
        .flat_map(|m| m.tags.iter().cloned())
        .collect();
    for Dimension { expr } in &stmt.dimensions {
        match expr {
            Expr::Call { name, args } if name == "time" => {
                let every = match args.first() {
                    Some(Expr::Duration(d)) if *d > 0 => *d,
                    // influxd ignores GROUP BY time(0s) and negative intervals.
                    Some(Expr::Duration(_)) => continue,
                    _ => {
                        return Err(QueryError::msg(
                            "time dimension must have duration argument",
                        ))
                    }
                };
                let offset = match args.get(1) {
                    None => 0,
                    Some(Expr::Duration(d)) => *d,
                    Some(Expr::Call { name, .. }) if name == "now" => now_offset(now, every),
                    Some(_) => {
                        return Err(QueryError::msg(
                            "time dimension offset must be duration or now()",
                        ))
                    }
                };
                interval = Some(Interval {
                    every,
                    offset: offset.rem_euclid(every),
                });
            }
            Expr::VarRef { name, .. } => {
                if !group_tags.contains(name) {
                    group_tags.push(name.clone())
                }
            }
            Expr::Wildcard(_) => {
                for t in &all_tags {
                    if !group_tags.contains(t) {
                        group_tags.push(t.clone());
                    }
                }
            }
            Expr::Regex(r) => {
                let re = compile_regex(&r.0)?;
                for t in &all_tags {
                    if re.is_match(t) && !group_tags.contains(t) {
                        group_tags.push(t.clone());
                    }
                }
            }
            _ => return Err(QueryError::msg("only time and tag dimensions allowed")),
        }
    }
    group_tags.sort();
    let fields: Vec<tessera_influxql::Field> = expand_fields(stmt, schema, &group_tags)?
        .into_iter()
        .filter(|f| !matches!(&f.expr, Expr::VarRef { name, .. } if name == "time"))
        .collect();
    let aggregate = fields.iter().any(|f| has_reducer(&f.expr));
    for f in &fields {
        if let Some(e) = type_error(&f.expr, schema) {
            return Err(QueryError::Influx(e));
        }
    }
    if interval.is_some() && !range.has_max() {
        range.max = now;
    }
    let mut ctx = Ctx {
        schema,
        fields: Vec::new(),
        calls: Vec::new(),
        reads_back: Vec::new(),
        in_lookback: false,
        group_tags: &group_tags,
        aggregate,
    };
    let mut outputs = Vec::new();
    let mut tag_columns: Vec<(usize, String)> = Vec::new();
    let mut tag_outputs: Vec<usize> = Vec::new();
    for f in &fields {
        let o = ctx.expr(&f.expr)?;
        if let OExpr::Tag(_) = &o {
            tag_outputs.push(outputs.len());
        }
        if let OExpr::Call(i) = &o {
            let c = &ctx.calls[*i];
            if matches!(c.name.as_str(), "top" | "bottom") {
                for t in c.tags.clone() {
                    tag_columns.push((outputs.len() + 1 + tag_columns.len(), t));
                }
            }
        }
        outputs.push(o);
        for (_, t) in tag_columns.drain(..) {
            tag_outputs.push(outputs.len());
            outputs.push(OExpr::Tag(t));
        }
    }
    // Fields the condition reads.
    if let Some(c) = &condition {
        let mut refs: Vec<(String, DataType)> = Vec::new();
        c.walk(&mut |e| {
            if let Expr::VarRef { name, data_type } = e {
                refs.push((name.clone(), *data_type));
            }
        });
        for (name, ty) in refs {
            if ty != DataType::Tag && ctx.field_type(&name).is_some() {
                ctx.field_index(&name);
            }
        }
    }
    let _ = (ctx.group_tags, ctx.aggregate);
    let (plan_fields, calls, call_reads_back) = (ctx.fields, ctx.calls, ctx.reads_back);
    // (Math over them too: `max(x), uptime * 2` reads the selected point's uptime.)
    let aux = aggregate
        && (outputs.iter().any(OExpr::reads_row) || calls.iter().any(|c| !c.tags.is_empty()));
    let columns = column_names(&fields);
    let tag_columns: BTreeSet<String> = tag_outputs
        .iter()
        .filter_map(|i| columns.get(*i).cloned())
        .collect();
    let descending = stmt
        .sort_fields
        .first()
        .map(|s| !s.ascending)
        .unwrap_or(false);
    if range.max == MAX_TIME && interval.is_some() {
        range.max = now;
    }
    // influxd 1.6 widens the time range of a statement with transformations over GROUP BY
    // time by an interval before its start; without a lower time bound that overflows and
    // the statement reads no shard at all (holt_winters() reads the whole range anyway).
    let unreadable = interval.is_some()
        && !descending
        && !range.has_min()
        && outputs.iter().any(|o| {
            let mut t = false;
            o.walk_transforms(&mut |name| t |= !name.starts_with("holt_winters"));
            t
        });
    // Transformations over GROUP BY time windows look one interval back: before the range,
    // or after it for ORDER BY time DESC.
    let mut output_min = None;
    let mut output_max = None;
    let mut own_range = None;
    if let Some(iv) = interval {
        // influxd 1.6 reads one interval back for moving_average() too, whatever its
        // window: its first N-2 windows answer nothing.
        let reads_back = outputs.iter().any(|o| {
            let mut any = false;
            o.walk_transforms(&mut |name| any |= reads_back(name));
            any
        });
        // influxd moves the start (or end) of the transformation's own iterator by one
        // interval, unaligned; the statement's other calls keep the range as written.
        if reads_back && !descending && range.has_min() {
            let first = crate::tz::window(range.min, iv.every, iv.offset, tz.as_deref()).0;
            output_min = Some(first);
            own_range = Some(range);
            range.min = range.min.saturating_sub(iv.every);
        } else if reads_back && descending && range.max < MAX_TIME {
            let last = crate::tz::window(range.max, iv.every, iv.offset, tz.as_deref()).0;
            output_max = Some((last, range.max));
            own_range = Some(range);
            range.max = range.max.saturating_add(iv.every).min(MAX_TIME - 1);
        }
    }
    let field_types: Vec<Option<FieldType>> = plan_fields
        .iter()
        .map(|f| merged_field_type(schema, f))
        .collect();
    // (Over a subquery influxd keeps its columns' values whatever the cast.)
    let over_answers = schema.values().any(|m| m.answer_columns);
    let field_types = if over_answers {
        field_types
    } else {
        cast_field_types(
            field_types,
            &plan_fields,
            &outputs,
            &calls,
            condition.as_ref(),
        )
    };
    let transforms = outputs.iter().any(OExpr::has_transform);
    // influxd checks a technical-analysis function's arguments when it builds the
    // iterator, whether or not any series is read.
    let mut bad_args = None;
    for o in &outputs {
        o.walk_transform_nodes(&mut |t| {
            if let OExpr::Transform { name, args, .. } = t {
                if bad_args.is_none() && crate::agg::is_technical_analysis(name) {
                    let ctx = tessera_functions::TransformContext {
                        interval: interval.map(|i| i.every),
                        ascending: !descending,
                    };
                    let input = tessera_functions::ValueType::Float;
                    let args = crate::agg::args_of(args);
                    bad_args = tessera_functions::transform(name, &args, input, ctx).err();
                }
            }
        });
    }
    if let Some(e) = bad_args {
        return Err(crate::agg::err(e));
    }
    let raw_transforms =
        aggregate && interval.is_none() && !raw_transform_nodes(&outputs).is_empty();
    let top_take = (stmt.limit > 0 || stmt.offset > 0)
        .then(|| {
            // With tag arguments influxd answers them over a max()/min() per tag value,
            // which reads everything.
            let c = calls
                .iter()
                .find(|c| (c.name == "top" || c.name == "bottom") && c.tags.is_empty())?;
            let fi = plan_fields.iter().position(|f| *f == c.field)?;
            Some((fi, (stmt.limit + stmt.offset) as usize + 1))
        })
        .flatten();
    Ok(SelectPlan {
        measurements,
        range,
        interval,
        group_tags,
        condition,
        fields: plan_fields,
        calls,
        outputs,
        columns,
        tag_columns,
        aggregate,
        aux,
        field_names: schema
            .values()
            .flat_map(|m| m.fields.keys().cloned())
            .collect(),
        field_types,
        fill: stmt.fill,
        limit: stmt.limit,
        // influxd 1.6: a raw query with OFFSET and no LIMIT reads only the first OFFSET+1
        // rows of each shard (per series of the answer) before the offset is skipped.
        // Transformations of raw values read all their rows.
        shard_take: (!aggregate && stmt.limit == 0 && stmt.offset > 0 && !transforms)
            .then(|| stmt.offset as usize + 1),
        // influxd 1.6 hands the statement's LIMIT and OFFSET to the storage iterators
        // that feed top() and bottom() (without tag arguments): each shard reads only the first
        // LIMIT+OFFSET+1 points (in the query's time order) of a series, and top()
        // picks among those.
        top_take,
        offset: stmt.offset,
        slimit: stmt.slimit,
        soffset: stmt.soffset,
        descending,
        now,
        id_base: 0,
        node_slot: 0,
        output_min,
        output_max,
        own_range,
        call_reads_back,
        explain: 0,
        inner: false,
        over_subquery: false,
        merge_tags: None,
        unreadable,
        raw_transforms,
        tz,
    })
}

/// The tag arguments of a top()/bottom() call (`top(x, host, 3)`: `host`), each answered
/// as a column of its own after the call's.
pub fn tag_argument_columns(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Call { name, args } if name == "top" || name == "bottom" => args
            .iter()
            .skip(1)
            .take(args.len().saturating_sub(2))
            .filter(|a| matches!(a, Expr::VarRef { .. }))
            .collect(),
        _ => Vec::new(),
    }
}

/// Output column names: influxd's `ColumnNames` — aliases claimed first, then generated
/// names with `_1`, `_2`… for repeats; `top`/`bottom` tag arguments add columns.
pub fn column_names(fields: &[tessera_influxql::Field]) -> Vec<String> {
    let mut cols: Vec<tessera_influxql::Field> = Vec::new();
    for f in fields {
        cols.push(f.clone());
        for a in tag_argument_columns(&f.expr) {
            cols.push(tessera_influxql::Field {
                expr: a.clone(),
                alias: None,
            });
        }
    }
    let mut out: Vec<Option<String>> = vec![None; cols.len()];
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in cols.iter().enumerate() {
        // An empty alias is none (`mean(x) AS ""` is `mean`).
        if let Some(a) = c.alias.as_ref().filter(|a| !a.is_empty()) {
            out[i] = Some(a.clone());
            names.insert(a.clone(), 1);
        }
    }
    for (i, c) in cols.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let mut name = tessera_influxql::field_name(c);
        if let Some(&count) = names.get(&name) {
            let mut count = count;
            loop {
                let resolved = format!("{name}_{count}");
                if !names.contains_key(&resolved) {
                    names.insert(name.clone(), count + 1);
                    name = resolved;
                    break;
                }
                count += 1;
            }
        }
        *names.entry(name.clone()).or_insert(0) += 1;
        out[i] = Some(name);
    }
    // A column left without a name (a field whose key is empty, `AS ""`) is
    // `val<index>`.
    out.into_iter()
        .enumerate()
        .map(|(i, n)| match n {
            Some(n) if !n.is_empty() => n,
            _ => format!("val{i}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(q: &str, now: i64) -> SelectPlan {
        let Ok(tessera_influxql::Statement::Select(stmt)) = tessera_influxql::parse_statement(q)
        else {
            panic!("not a SELECT: {q}");
        };
        let mut m = MeasurementSchema::default();
        m.fields.insert("x".into(), FieldType::Float);
        let schema: Schema = [("m".to_string(), m)].into_iter().collect();
        plan_select(&stmt, vec!["m".into()], &schema, now).expect("plans")
    }

    #[test]
    fn now_offset_counts_from_the_year_one() {
        // 2015-08-18T00:24:00Z: a multiple of 7m since 1970 but 60s past one since the
        // year 1 (62135596800 s before 1970), so influxd's now.Truncate(7m) gives 60s.
        let now = 1_439_857_440_000_000_000;
        let q = "SELECT count(x) FROM m WHERE time >= 0 AND time < 1 GROUP BY time(7m, now())";
        let every = 7 * 60 * 1_000_000_000;
        assert_eq!(now % every, 0);
        let p = planned(q, now);
        let i = p.interval.as_ref().expect("a GROUP BY time");
        assert_eq!((i.every, i.offset), (every, 60_000_000_000));
        // With an interval that divides a day, both counts agree: no offset.
        let q = "SELECT count(x) FROM m WHERE time >= 0 AND time < 1 GROUP BY time(1h, now())";
        let i = planned(q, now).interval.expect("a GROUP BY time");
        assert_eq!(i.offset, 24 * 60 * 1_000_000_000);
    }
}
