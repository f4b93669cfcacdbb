//! Reducers as the engine drives them: created on the first pushed column (whose type
//! picks the reducer's input type), fed columns or rows on the cores that own the data,
//! merged on the coordinator, finished per (group, window). The functions themselves are
//! `tessera-functions`, checked against influxd 1.6.7.

use std::ops::Range;

use tessera_functions::{Arg, Column as FColumn, TimeRule, ValueType};
use tessera_influxql::Expr;
use tessera_storage::batch::FieldType;
use tessera_storage::column::Values;

use crate::error::QueryError;
use crate::plan::CallSpec;
use crate::value::Value;

pub fn to_fvalue(v: &Value) -> tessera_functions::Value {
    use tessera_functions::Value as F;
    match v {
        Value::Null => F::Null,
        Value::Float(f) => F::Float(*f),
        Value::Integer(i) | Value::Time(i) => F::Integer(*i),
        Value::Unsigned(u) => F::Unsigned(*u),
        Value::String(s) => F::String(s.clone()),
        Value::Boolean(b) => F::Boolean(*b),
        Value::Strings(v) => F::String(v.join(" ")),
    }
}

pub fn from_fvalue(v: tessera_functions::Value) -> Value {
    use tessera_functions::Value as F;
    match v {
        F::Null => Value::Null,
        F::Float(f) => Value::Float(f),
        F::Integer(i) => Value::Integer(i),
        F::Unsigned(u) => Value::Unsigned(u),
        F::String(s) => Value::String(s),
        F::Boolean(b) => Value::Boolean(b),
    }
}

pub fn value_type(t: FieldType) -> ValueType {
    match t {
        FieldType::Float => ValueType::Float,
        FieldType::Integer => ValueType::Integer,
        FieldType::Unsigned => ValueType::Unsigned,
        FieldType::Boolean => ValueType::Boolean,
        FieldType::String => ValueType::String,
    }
}

pub fn value_type_of(v: &Value) -> Option<ValueType> {
    Some(match v {
        Value::Float(_) => ValueType::Float,
        Value::Integer(_) | Value::Time(_) => ValueType::Integer,
        Value::Unsigned(_) => ValueType::Unsigned,
        Value::String(_) | Value::Strings(_) => ValueType::String,
        Value::Boolean(_) => ValueType::Boolean,
        Value::Null => return None,
    })
}

/// The literal arguments of a call as the functions crate takes them.
pub fn args_of(exprs: &[Expr]) -> Vec<Arg> {
    exprs
        .iter()
        .filter_map(|e| match e {
            Expr::Integer(i) => Some(Arg::Integer(*i)),
            Expr::Unsigned(u) => Some(Arg::Integer(*u as i64)),
            Expr::Number(f) => Some(Arg::Float(*f)),
            Expr::Duration(d) => Some(Arg::Duration(*d)),
            Expr::String(s) => Some(Arg::String(s.clone())),
            Expr::Boolean(b) => Some(Arg::Boolean(*b)),
            Expr::VarRef { name, .. } => Some(Arg::Ident(name.clone())),
            _ => None,
        })
        .collect()
}

/// One output of a finished reducer. `time` is `None` for aggregates (the window's time).
#[derive(Debug, Clone)]
pub struct Out {
    pub time: Option<i64>,
    pub value: Value,
    pub aux: u64,
}

impl Out {
    /// A window's value as a call's output (none for null).
    pub fn of(v: &Value) -> Option<Out> {
        (!v.is_null()).then(|| Out {
            time: None,
            value: v.clone(),
            aux: 0,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Reducer {
    /// Shared by every window's copy of the call (cloned per window, never reallocated).
    name: std::sync::Arc<str>,
    args: std::sync::Arc<[Arg]>,
    inner: Option<tessera_functions::Reducer>,
    /// Nothing is selected beside the calls: which series a point came from is never
    /// asked (see `tessera_functions::Reducer::set_anonymous_ties`).
    anonymous_ties: bool,
    /// first()/last() read as influxd's engine reads them without GROUP BY time (see
    /// `tessera_functions::Reducer::set_edge_take`).
    edge_take: Option<usize>,
    /// A selector keeps every series of a full tie (see
    /// `tessera_functions::Reducer::track_series_ties`).
    series_ties: bool,
    /// Values of a type the call cannot take are skipped rather than failing: under
    /// SLIMIT/SOFFSET, `finish` raises the error only when a tag set is picked.
    defer_type_errors: bool,
}

/// The technical-analysis transformations (influxd builds them apart from the others).
pub fn is_technical_analysis(name: &str) -> bool {
    tessera_influxql::TECHNICAL_ANALYSIS.contains(&name)
}

/// influxd names the iterator type in type errors (`*query.stringInterruptIterator`).
pub fn err(e: tessera_functions::FunctionError) -> QueryError {
    err_over(e, "Interrupt")
}

/// [`err`] for an input of the given kind: `Interrupt` (fields read from storage) or
/// `Interval` (an aggregate per GROUP BY time window, under a transformation).
pub fn err_over(e: tessera_functions::FunctionError, kind: &str) -> QueryError {
    match e {
        tessera_functions::FunctionError::UnsupportedType { function, input } => {
            // influxd names these iterators with spaces.
            let spaced = matches!(function.as_str(), "cumulative_sum" | "moving_average")
                || is_technical_analysis(&function);
            let function = if spaced {
                function.replace('_', " ")
            } else if function.starts_with("holt_winters") {
                // influxd's holt_winters iterator reports itself as `elapsed`.
                "elapsed".to_string()
            } else {
                function
            };
            QueryError::Influx(format!(
                "unsupported {function} iterator type: *query.{input}{kind}Iterator"
            ))
        }
        e => QueryError::Influx(e.to_string()),
    }
}

impl Reducer {
    pub fn new(spec: &CallSpec) -> Result<Reducer, QueryError> {
        let name = if spec.distinct_inner {
            "count_distinct".to_string()
        } else {
            spec.name.clone()
        };
        let mut args = args_of(&spec.args);
        if !spec.tags.is_empty() {
            let mut a: Vec<Arg> = spec.tags.iter().map(|t| Arg::Ident(t.clone())).collect();
            a.append(&mut args);
            args = a;
        }
        Ok(Reducer {
            name: name.into(),
            args: args.into(),
            inner: None,
            anonymous_ties: false,
            edge_take: None,
            series_ties: false,
            defer_type_errors: false,
        })
    }

    /// The error influxd gives for this call over a field of type `t` before it reads a
    /// point (its iterators are typed by the field): `unsupported mean iterator type:
    /// *query.stringInterruptIterator`. `None` when the call takes the type.
    pub fn type_error(&self, t: FieldType) -> Option<QueryError> {
        tessera_functions::reducer(&self.name, &self.args, value_type(t))
            .err()
            .map(err)
    }

    /// Keep every series of a selector's full tie: set where the statement selects columns beside a
    /// lone selector (`SelectPlan::series_ties`).
    pub fn track_series_ties(&mut self) {
        self.series_ties = true;
        if let Some(r) = &mut self.inner {
            r.track_series_ties();
        }
    }

    /// The series keys of a selector's full tie (see
    /// `tessera_functions::Reducer::full_tie`).
    pub fn full_tie(&self) -> Option<(i64, Vec<&[u8]>)> {
        self.inner.as_ref().and_then(|r| r.full_tie())
    }

    /// Makes a selector answer with the tied point of series `key`.
    pub fn choose_series(&mut self, key: &[u8]) -> bool {
        self.inner.as_mut().is_some_and(|r| r.choose_series(key))
    }

    /// See [`Reducer::anonymous_ties`]: set when the query selects nothing beside its
    /// calls.
    pub fn with_anonymous_ties(mut self, anonymous: bool) -> Reducer {
        self.anonymous_ties = anonymous;
        self
    }

    /// See [`Reducer::edge_take`]: set for the calls of a statement without GROUP BY time
    /// that reads a measurement.
    pub fn with_edge_take(mut self, take: Option<usize>) -> Reducer {
        self.edge_take = take;
        self
    }

    /// See [`Reducer::defer_type_errors`].
    pub fn with_deferred_type_errors(mut self, defer: bool) -> Reducer {
        self.defer_type_errors = defer;
        self
    }

    /// Whether values of type `t` are skipped (a deferred type error).
    fn skips(&self, t: ValueType) -> bool {
        self.defer_type_errors
            && self.inner.is_none()
            && tessera_functions::reducer(&self.name, &self.args, t).is_err()
    }

    fn ensure(&mut self, t: ValueType) -> Result<&mut tessera_functions::Reducer, QueryError> {
        if self.inner.is_none() {
            let mut r = tessera_functions::reducer(&self.name, &self.args, t).map_err(err)?;
            if self.anonymous_ties {
                r.set_anonymous_ties();
            }
            if let Some(take) = self.edge_take {
                r.set_edge_take(take);
            }
            if self.series_ties {
                r.track_series_ties();
            }
            self.inner = Some(r);
        }
        Ok(self.inner.as_mut().expect("just created"))
    }

    /// One row's value (general path). `tag_key` identifies the series for top/bottom;
    /// `series_key` is the stored series key, which orders the series as influxd merges
    /// them (see `tessera_functions::Reducer::set_series_key`).
    pub fn push(
        &mut self,
        time: i64,
        v: &Value,
        aux: u64,
        tag_key: &str,
        series_key: &[u8],
    ) -> Result<(), QueryError> {
        let Some(t) = value_type_of(v) else {
            return Ok(());
        };
        if self.skips(t) {
            return Ok(());
        }
        let r = self.ensure(t)?;
        if !r.tag_keys().is_empty() {
            r.set_tag_key(tag_key);
        }
        r.set_series_key(series_key);
        r.push(time, &to_fvalue(v), aux).map_err(err)
    }

    /// A slice of a stored column of series `series_key` (fast path).
    pub fn push_column(
        &mut self,
        times: &[i64],
        values: &Values,
        range: Range<usize>,
        aux_base: u64,
        series_key: &[u8],
    ) -> Result<(), QueryError> {
        let t = value_type(values.field_type());
        if self.skips(t) {
            return Ok(());
        }
        let r = self.ensure(t)?;
        r.set_series_key(series_key);
        let strings: Vec<String>;
        let col = match values {
            Values::Float(v) => FColumn::Float(&v[range]),
            Values::Integer(v) => FColumn::Integer(&v[range]),
            Values::Unsigned(v) => FColumn::Unsigned(&v[range]),
            Values::Boolean(v) => FColumn::Boolean(&v[range]),
            Values::Str(v) => {
                strings = v[range]
                    .iter()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect();
                FColumn::String(&strings)
            }
        };
        r.push_column(times, col, aux_base).map_err(err)
    }

    /// The function name, its literal arguments and its running state (for [`crate::wire`]).
    pub fn parts(&self) -> (&str, &[Arg], Option<&tessera_functions::Reducer>) {
        (&self.name, &self.args, self.inner.as_ref())
    }

    /// A reducer from its [`Reducer::parts`].
    pub fn from_parts(
        name: String,
        args: Vec<Arg>,
        inner: Option<tessera_functions::Reducer>,
    ) -> Reducer {
        Reducer {
            name: name.into(),
            args: args.into(),
            inner,
            anonymous_ties: false,
            edge_take: None,
            series_ties: false,
            defer_type_errors: false,
        }
    }

    pub fn merge(&mut self, other: Reducer) {
        self.series_ties |= other.series_ties;
        match (&mut self.inner, other.inner) {
            (_, None) => {}
            (None, Some(o)) => self.inner = Some(o),
            (Some(a), Some(b)) => {
                if let Err(e) = a.merge(b) {
                    tracing::warn!(error = %e, "reducers of different types were not merged");
                }
            }
        }
    }

    /// Whether [`Reducer::finish`] would answer (see
    /// `tessera_functions::Reducer::answers`); false when it saw nothing.
    pub fn answers(&self) -> bool {
        self.inner.as_ref().is_some_and(|r| r.answers())
    }

    /// See [`tessera_functions::Reducer::retained_aux_since`].
    pub fn retained_aux_since(&self, floor: u64, f: &mut dyn FnMut(u64)) {
        if let Some(r) = &self.inner {
            r.retained_aux_since(floor, f);
        }
    }

    /// The function's reducer (`None` before any point).
    pub fn inner_mut(&mut self) -> Option<&mut tessera_functions::Reducer> {
        self.inner.as_mut()
    }

    /// See [`tessera_functions::Reducer::set_segment`].
    pub fn set_segment(&mut self, shard: u64) {
        if let Some(r) = self.inner.as_mut() {
            r.set_segment(shard);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.inner.is_none()
    }

    /// Rows of the window; `time` is `None` where the caller supplies the window time.
    /// See [`tessera_functions::Reducer::into_integral_input`]; `descending`: in the
    /// order ORDER BY time DESC reads them.
    pub fn into_integral_input(self, descending: bool) -> Option<tessera_functions::IntegralInput> {
        let mut r = self.inner?;
        if descending {
            r.set_latest_first();
        }
        r.into_integral_input()
    }

    /// A reducer that saw nothing: the other calls of a window only integral() labels.
    pub fn nothing() -> Reducer {
        Reducer {
            name: std::sync::Arc::from(""),
            args: std::sync::Arc::from(Vec::new()),
            inner: None,
            anonymous_ties: false,
            edge_take: None,
            series_ties: false,
            defer_type_errors: false,
        }
    }

    /// `descending`: the query reads newest first (distinct() orders its values by the
    /// last time each was seen).
    pub fn finish(self, window_start: i64, descending: bool) -> Vec<Out> {
        self.finish_with_ties(window_start, descending, &tessera_functions::NoTies)
    }

    /// [`Reducer::finish`]; equal-time rows of different series go in the order of their
    /// keys in `ties` in influxd's merge (see
    /// `tessera_functions::Reducer::finish_with_ties`).
    pub fn finish_with_ties(
        self,
        window_start: i64,
        descending: bool,
        ties: &dyn tessera_functions::TieKeys,
    ) -> Vec<Out> {
        let Some(mut r) = self.inner else {
            return Vec::new();
        };
        if descending {
            r.set_latest_first();
        }
        let rule = r.time_rule();
        r.finish_with_ties(window_start, ties)
            .into_iter()
            .map(|p| Out {
                time: match rule {
                    TimeRule::WindowStart => None,
                    TimeRule::Selector | TimeRule::PointTime => Some(p.time),
                },
                value: from_fvalue(p.value),
                aux: p.aux,
            })
            .collect()
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}
