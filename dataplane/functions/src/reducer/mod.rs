//! Aggregates and selectors: one [`Reducer`] per (group, window, core),
//! fed whole columns, merged across cores, finished into output rows.

mod build;
mod codec;
mod column;
mod distinct;
mod edge;
mod integral;
mod sample;
mod selector;
mod simple;
mod slice;
mod topbottom;

#[cfg(test)]
mod tests;

pub use build::reducer;
pub use column::Column;
pub use integral::{IntegralStream, WindowOf};

use crate::tie::{NoTies, TieKeys};
use build::Func;
use column::{Kept, Scalar};
use distinct::Distinct;
use edge::Edge;
use sample::Sample;
use selector::{Pick, Selector};
use simple::{Acc, Mean, Spread};
use topbottom::TopBottom;

use crate::error::FunctionError;
use crate::value::{Point, Value, ValueType};

/// Which time an output row of a reducer carries in influxd's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRule {
    /// Aggregates (count, mean, distinct, …): the window start; without
    /// GROUP BY time the query's lower time bound, or 0 when it has none.
    /// [`Reducer::finish`] already stamps this time.
    WindowStart,
    /// first, last, min, max, percentile: the selected point's time when
    /// the call is the only function call of the SELECT (other plain fields
    /// and tags may be selected too, and the call may sit inside a math
    /// expression such as `max(x) * 2`) and there is no GROUP BY time;
    /// otherwise the caller must replace it with the window start.
    /// [`Reducer::finish`] returns the point's time.
    Selector,
    /// top, bottom, sample, integral: always the time [`Reducer::finish`]
    /// returned (the selected points' own times; for integral without GROUP
    /// BY time 0 on a float field and the query's lower bound on an integer
    /// field, as influxd 1.6.7 stamps them).
    PointTime,
}

#[derive(Debug, Clone)]
enum State {
    Count(i64),
    Sum(Acc),
    Mean(Mean),
    Spread(Spread),
    Select(Selector),
    /// first()/last() without GROUP BY time (see [`Reducer::set_edge_take`]).
    Edge(Edge),
    Distinct(Distinct),
    Kept(Kept),
    TopBottom(TopBottom),
    Sample(Sample),
}

/// A running aggregate or selector for one (group, window).
///
/// Create it with [`reducer`], name the series with
/// [`Reducer::set_series_key`], feed it columns with the `push_*` methods
/// (each batch ascending in time, typically one series' slice of the
/// window), fold per-core partials together with [`Reducer::merge`] and
/// turn it into rows with [`Reducer::finish`].
#[derive(Debug, Clone)]
pub struct Reducer {
    name: &'static str,
    func: Func,
    input: ValueType,
    state: State,
    /// The series key of the points pushed next (see
    /// [`Reducer::set_series_key`]); not part of the state that travels.
    series: Vec<u8>,
    /// Set by [`feed_windows_in_one_merge`]: the window's points in the order the merge
    /// of the whole range feeds them. Not part of the state that travels.
    ordered: Option<Kept>,
    /// Set by [`Reducer::set_latest_first`]; not part of the state that travels.
    latest_first: bool,
}

impl Reducer {
    /// The function name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The input type the reducer was created for.
    pub fn input_type(&self) -> ValueType {
        self.input
    }

    /// The type of the values [`Reducer::finish`] returns.
    pub fn output_type(&self) -> ValueType {
        match self.func {
            Func::Count | Func::CountDistinct => ValueType::Integer,
            Func::Mean | Func::Median | Func::Stddev | Func::Integral { .. } => ValueType::Float,
            _ => self.input,
        }
    }

    /// Which time the rows of this function carry; see [`TimeRule`].
    pub fn time_rule(&self) -> TimeRule {
        match self.func {
            Func::Select(_) | Func::Percentile(_) => TimeRule::Selector,
            Func::Top { .. } | Func::Bottom { .. } | Func::Sample(_) | Func::Integral { .. } => {
                TimeRule::PointTime
            }
            _ => TimeRule::WindowStart,
        }
    }

    /// True for top, bottom, sample and distinct, which emit any number of
    /// rows per window: influxd never fills their empty windows, whatever
    /// the fill() clause says.
    pub fn is_multi_row(&self) -> bool {
        matches!(
            self.func,
            Func::Top { .. } | Func::Bottom { .. } | Func::Sample(_) | Func::Distinct
        )
    }

    /// True for percentile(), the one reducer that can see points and still
    /// return no row (rank outside the window). influxd's reduce iterator
    /// then ends: that window and all later windows of the group get only
    /// fill values (no series at all if it was the group's first window).
    pub fn empty_result_ends_group(&self) -> bool {
        matches!(self.func, Func::Percentile(_))
    }

    /// What `fill(null)` shows for an empty window: 0 for count and
    /// count(distinct), null for everything else.
    pub fn null_fill(&self) -> Value {
        match self.func {
            Func::Count | Func::CountDistinct => Value::Integer(0),
            _ => Value::Null,
        }
    }

    /// The tag keys of `top(x, tag…, N)` / `bottom(…)`; empty otherwise.
    pub fn tag_keys(&self) -> &[String] {
        match &self.func {
            Func::Top { tags, .. } | Func::Bottom { tags, .. } => tags,
            _ => &[],
        }
    }

    /// For `top(x, tag…, N)` / `bottom(…)`: the values of [`Reducer::tag_keys`]
    /// of the series whose points are pushed next (joined in any fixed way).
    /// influxd first keeps the max (min) point per distinct key, then ranks
    /// those. A no-op for other functions.
    pub fn set_tag_key(&mut self, key: &str) {
        if let State::TopBottom(t) = &mut self.state {
            t.set_tag_key(key);
        }
    }

    /// Declares that the caller never asks which series a selected point came
    /// from (nothing is selected beside the function): `top()`/`bottom()` may
    /// then pick any of equal points at equal times without replaying
    /// influxd's merge order, since the answers look the same. A no-op for
    /// other functions; not part of the state that travels.
    pub fn set_anonymous_ties(&mut self) {
        if let State::TopBottom(t) = &mut self.state {
            t.anonymous_ties = true;
        }
    }

    /// For min(), max(), first() and last(): keep every series of a full tie (points
    /// equal in time and value) so that the caller can name the one influxd's merge
    /// delivers first ([`Reducer::full_tie`], [`Reducer::choose_series`]). Travels
    /// with the state; a no-op for other functions.
    pub fn track_series_ties(&mut self) {
        if let State::Select(s) = &mut self.state {
            s.track_ties = true;
        }
    }

    /// The time and the series keys of a selector's full tie (the one it would
    /// answer first leading), or `None` when one series answers alone or the
    /// function is not a selector.
    pub fn full_tie(&self) -> Option<(i64, Vec<&[u8]>)> {
        match &self.state {
            State::Select(s) => s.tied_keys(),
            _ => None,
        }
    }

    /// Makes a selector answer with the tied point of series `key` (in either time
    /// order). False when it holds no tied point of that series.
    pub fn choose_series(&mut self, key: &[u8]) -> bool {
        match &mut self.state {
            State::Select(s) => s.choose(key),
            _ => false,
        }
    }

    /// Reads the points newest first, as influxd does under ORDER BY time
    /// DESC: distinct() orders its values by the last time each was seen, and
    /// integral() runs backwards in time (its areas are negative there, as in
    /// influxd). Not part of the state that travels.
    pub fn set_latest_first(&mut self) {
        self.latest_first = true;
        if let State::Distinct(d) = &mut self.state {
            d.latest_first = true;
        }
    }

    /// Whether [`Reducer::finish`] would answer anything, without computing it: false
    /// only for a percentile() whose rank falls outside its points (or no points).
    pub fn answers(&self) -> bool {
        match (&self.func, &self.state) {
            (Func::Percentile(p), State::Kept(k)) => slice::percentile_rank(k.len(), *p).is_some(),
            _ => true,
        }
    }

    /// Marks the points pushed so far as read from shard `shard` (shard ids
    /// grow with time). influxd merges the series of each shard on its own
    /// and then the shards, so which of two equal-time points comes first —
    /// what median, mode, stddev, percentile and integral see — starts
    /// afresh at every shard. A no-op for the functions that keep no points.
    pub fn set_segment(&mut self, shard: u64) {
        match &mut self.state {
            State::Kept(k) => k.set_segment(shard),
            State::Edge(e) => e.set_segment(shard),
            State::TopBottom(t) => t.set_segment(shard),
            _ => {}
        }
    }

    /// For first() and last() without GROUP BY time: influxd's engine merges each
    /// shard's points of the group's series by time and lets only the first `take`
    /// (LIMIT + 1 = 2 for these calls) reach the selector, so of several series with a
    /// point at the first (last) time only those the merge pops first compete (see
    /// `edge.rs`). Call before pushing anything; a no-op for other functions. Which
    /// points the merge pops first may depend on the statement's auxiliary values:
    /// finish with [`Reducer::finish_with_ties`] then.
    pub fn set_edge_take(&mut self, take: usize) {
        if let Func::Select(pick @ (Pick::First | Pick::Last)) = self.func {
            if matches!(&self.state, State::Select(s) if s.best.is_none()) {
                self.state = State::Edge(Edge::new(pick, take));
            }
        }
    }

    /// The series key (as stored: `measurement,tag=value,…`, escaped, tags
    /// sorted) of the series whose points are pushed next.
    ///
    /// influxd feeds a group's series in series-key order; the engine
    /// pushes and merges them in partition, core and node order. The
    /// functions whose result depends on that order (median, mode, stddev,
    /// percentile, integral, top, bottom, and the full ties of first, last,
    /// min and max) remember the key of each pushed batch (once per batch,
    /// not per point) and restore influxd's order at [`Reducer::finish`],
    /// so the result does not depend on how series are spread or on the
    /// order partials are merged in. Without keys (never called, or always
    /// the same key) batches count in push order. A no-op for the others.
    pub fn set_series_key(&mut self, key: &[u8]) {
        let ordered = matches!(
            self.state,
            State::Kept(_) | State::TopBottom(_) | State::Select(_) | State::Edge(_)
        );
        if ordered && self.series != key {
            self.series.clear();
            self.series.extend_from_slice(key);
        }
    }

    /// Calls `f` with every aux id at or above `floor` that the state may still answer
    /// with, looking only where the points of the series pushed since `floor` was the
    /// next id can have gone (the current tag key of `top(x, tag, N)`, the newest run of
    /// kept points, …), so that the caller keeps the rows of only those ids. Ids pushed
    /// by one series must be consecutive and at or above `floor`.
    pub fn retained_aux_since(&self, floor: u64, f: &mut dyn FnMut(u64)) {
        let mut take = |id: u64| {
            if id >= floor {
                f(id);
            }
        };
        match &self.state {
            State::Select(s) => s.aux_ids(&mut take),
            State::Edge(e) => e.aux_ids(&mut take),
            State::TopBottom(t) => t.aux_ids_since(floor, &mut take),
            State::Kept(k) => k.aux_ids_since(floor, &mut take),
            State::Sample(s) => s.aux_ids(&mut take),
            State::Count(_)
            | State::Sum(_)
            | State::Mean(_)
            | State::Spread(_)
            | State::Distinct(_) => {}
        }
    }

    fn mismatch(&self, pushed: ValueType) -> FunctionError {
        FunctionError::TypeMismatch {
            function: self.name.to_string(),
            expected: self.input,
            pushed,
        }
    }

    /// Pushes one column; `times[i]` and `values[i]` form a point whose aux
    /// is `aux_base + i`. Times must not decrease within a batch (one
    /// series' slice of the window is ascending): first/last then look at
    /// the batch's ends only and min/max run packed scans. A float reducer also takes integer and unsigned
    /// columns (influxd casts them when a field's type differs across shards).
    pub fn push_column(
        &mut self,
        times: &[i64],
        col: Column<'_>,
        aux_base: u64,
    ) -> Result<(), FunctionError> {
        debug_assert_eq!(times.len(), col.len());
        debug_assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "batch times must not decrease"
        );
        let ct = col.value_type();
        if ct != self.input {
            if self.input == ValueType::Float
                && matches!(ct, ValueType::Integer | ValueType::Unsigned)
            {
                let cast: Vec<f64> = match col {
                    Column::Integer(v) => v.iter().map(|&x| x as f64).collect(),
                    Column::Unsigned(v) => v.iter().map(|&x| x as f64).collect(),
                    _ => Vec::new(),
                };
                return self.push_column(times, Column::Float(&cast), aux_base);
            }
            return Err(self.mismatch(ct));
        }
        if times.is_empty() {
            return Ok(());
        }
        let key = &self.series;
        let ok = match &mut self.state {
            State::Count(n) => {
                *n = n.saturating_add(times.len() as i64);
                true
            }
            State::Sum(acc) => acc.add_column(col),
            State::Mean(m) => {
                m.count = m.count.saturating_add(times.len() as u64);
                m.sum.add_column(col)
            }
            State::Spread(s) => s.push_column(col),
            State::Select(s) => {
                s.push_column(times, col, aux_base, key);
                true
            }
            State::Edge(e) => {
                e.push_column(times, col, aux_base, key);
                true
            }
            State::Distinct(d) => {
                d.push_column(times, col);
                true
            }
            State::Kept(k) => k.extend(times, col, aux_base, key),
            State::TopBottom(t) => {
                t.push_column(times, col, aux_base, key);
                true
            }
            State::Sample(s) => {
                // influxd's sample is random: no series order to keep.
                let mut k = Kept::new(self.input);
                k.extend(times, col, aux_base, &[]);
                s.absorb(k);
                true
            }
        };
        if ok {
            Ok(())
        } else {
            Err(self.mismatch(ct))
        }
    }

    /// Pushes a float column (count, sum, mean, min, max, first, last and
    /// spread run tight loops over it).
    pub fn push_floats(
        &mut self,
        times: &[i64],
        values: &[f64],
        aux_base: u64,
    ) -> Result<(), FunctionError> {
        self.push_column(times, Column::Float(values), aux_base)
    }

    /// Pushes an integer column.
    pub fn push_integers(
        &mut self,
        times: &[i64],
        values: &[i64],
        aux_base: u64,
    ) -> Result<(), FunctionError> {
        self.push_column(times, Column::Integer(values), aux_base)
    }

    /// Pushes an unsigned column.
    pub fn push_unsigneds(
        &mut self,
        times: &[i64],
        values: &[u64],
        aux_base: u64,
    ) -> Result<(), FunctionError> {
        self.push_column(times, Column::Unsigned(values), aux_base)
    }

    /// Pushes a boolean column.
    pub fn push_booleans(
        &mut self,
        times: &[i64],
        values: &[bool],
        aux_base: u64,
    ) -> Result<(), FunctionError> {
        self.push_column(times, Column::Boolean(values), aux_base)
    }

    /// Pushes a string column.
    pub fn push_strings(
        &mut self,
        times: &[i64],
        values: &[String],
        aux_base: u64,
    ) -> Result<(), FunctionError> {
        self.push_column(times, Column::String(values), aux_base)
    }

    /// Pushes one point; `Null` is ignored.
    pub fn push(&mut self, time: i64, value: &Value, aux: u64) -> Result<(), FunctionError> {
        let Some(vt) = value.value_type() else {
            return Ok(());
        };
        let s = match (self.input, value) {
            (ValueType::Float, Value::Integer(v)) => Scalar::F(*v as f64),
            (ValueType::Float, Value::Unsigned(v)) => Scalar::F(*v as f64),
            _ if vt == self.input => match Scalar::from_value(value) {
                Some(s) => s,
                None => return Ok(()),
            },
            _ => return Err(self.mismatch(vt)),
        };
        let key = &self.series;
        let ok = match &mut self.state {
            State::Select(sel) => {
                sel.push(time, s, aux, key);
                true
            }
            State::Edge(e) => {
                e.push(time, s, aux, key);
                true
            }
            State::Distinct(d) => {
                d.push(time, s);
                true
            }
            State::Kept(k) => k.push(time, s, aux, key),
            State::TopBottom(t) => {
                t.push(time, s, aux, key);
                true
            }
            State::Sample(smp) => {
                let mut k = Kept::new(self.input);
                k.push(time, s, aux, &[]);
                smp.absorb(k);
                true
            }
            _ => {
                let t = [time];
                return match s {
                    Scalar::F(v) => self.push_column(&t, Column::Float(&[v]), aux),
                    Scalar::I(v) => self.push_column(&t, Column::Integer(&[v]), aux),
                    Scalar::U(v) => self.push_column(&t, Column::Unsigned(&[v]), aux),
                    Scalar::S(v) => self.push_column(&t, Column::String(&[v]), aux),
                    Scalar::B(v) => self.push_column(&t, Column::Boolean(&[v]), aux),
                };
            }
        };
        if ok {
            Ok(())
        } else {
            Err(self.mismatch(vt))
        }
    }

    /// Folds `other` (the same function over the same type, e.g. another
    /// core's share of the same group and window) into `self`. Exact for
    /// count, sum, mean, min, max, first, last, spread and distinct; the
    /// point-keeping functions append `other`'s batches to `self`'s, each
    /// with its series key, and order them by key at [`Reducer::finish`], so
    /// partials may be merged in any order (sample aside: it is random).
    pub fn merge(&mut self, other: Reducer) -> Result<(), FunctionError> {
        if self.func != other.func || self.input != other.input {
            return Err(FunctionError::MergeMismatch {
                this: format!("{}({})", self.name, self.input),
                other: format!("{}({})", other.name, other.input),
            });
        }
        let ok = match (&mut self.state, other.state) {
            (State::Count(a), State::Count(b)) => {
                *a = a.saturating_add(b);
                true
            }
            (State::Sum(a), State::Sum(b)) => a.add(b),
            (State::Mean(a), State::Mean(b)) => {
                a.merge(b);
                true
            }
            (State::Spread(a), State::Spread(b)) => a.merge(b),
            (State::Select(a), State::Select(b)) => {
                a.merge(b);
                true
            }
            (State::Edge(a), State::Edge(b)) => {
                a.merge(b);
                true
            }
            (State::Distinct(a), State::Distinct(b)) => {
                a.merge(b);
                true
            }
            (State::Kept(a), State::Kept(b)) => a.append(b),
            (State::TopBottom(a), State::TopBottom(b)) => {
                a.merge(b);
                true
            }
            (State::Sample(a), State::Sample(b)) => {
                a.merge(b);
                true
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(FunctionError::MergeMismatch {
                this: self.name.to_string(),
                other: other.name.to_string(),
            })
        }
    }

    /// The output rows. Aggregates carry `window_start` (the window start
    /// with GROUP BY time, else the query's lower bound or 0); selectors and
    /// top/bottom/sample carry their points' times (see [`TimeRule`]).
    /// A reducer that saw no point returns no row (the engine's fill()
    /// decides what an empty window shows: count shows 0 under fill(null)).
    /// NaN (stddev of one point) must be written as null; ±Inf cannot be
    /// written at all (influxd fails the whole response).
    pub fn finish(self, window_start: i64) -> Vec<Point> {
        self.finish_with_ties(window_start, &NoTies)
    }

    /// [`Reducer::finish`], where equal-time points of different series go in the order
    /// of their keys in `ties` in influxd's merge (its auxiliary values compared while
    /// both are strings): which of them top(), bottom(), percentile() and
    /// [`Reducer::set_edge_take`]'s first() and last() answer.
    pub fn finish_with_ties(self, window_start: i64, ties: &dyn TieKeys) -> Vec<Point> {
        let at = |v: Value| vec![Point::new(window_start, v)];
        match self.state {
            State::Count(n) => {
                if n == 0 {
                    Vec::new()
                } else {
                    at(Value::Integer(n))
                }
            }
            State::Sum(acc) => at(acc.value()),
            State::Mean(m) => m.finish().map(|v| at(Value::Float(v))).unwrap_or_default(),
            State::Spread(s) => s.finish().map(at).unwrap_or_default(),
            State::Select(s) => s.finish(self.latest_first),
            State::Edge(e) => e.finish(ties),
            State::Distinct(d) => {
                if self.func == Func::CountDistinct {
                    if d.len() == 0 {
                        Vec::new()
                    } else {
                        at(distinct::count_value(&d))
                    }
                } else {
                    d.finish(window_start)
                }
            }
            State::TopBottom(t) => t.finish(self.latest_first, ties, self.ordered),
            State::Sample(s) => s.finish(),
            State::Kept(k) => match self.ordered {
                Some(o) => finish_in_order(&self.func, o, window_start, self.latest_first),
                None => finish_kept(&self.func, k, window_start, self.latest_first, ties),
            },
        }
    }
}

/// An integral's unit (ns), whether its input is integer, and its (time, value) points.
pub type IntegralInput = (i64, bool, Vec<(i64, f64)>);

impl Reducer {
    /// An integral's points in influxd's feeding order (time, value), with its unit in ns
    /// and whether its input is integer: what an [`IntegralStream`] over consecutive
    /// windows needs (GROUP BY time, where one window's area depends on the next
    /// window's first point). `None` for other functions.
    pub fn into_integral_input(self) -> Option<IntegralInput> {
        let Func::Integral { unit } = self.func else {
            return None;
        };
        let State::Kept(k) = self.state else {
            return None;
        };
        let k = k.merged_in(self.latest_first);
        let integer = !matches!(k.values, column::Values::F(_));
        Some((unit, integer, numeric_points(&k)))
    }
}

/// The numeric kept points as (time, float), in kept order.
fn numeric_points(k: &Kept) -> Vec<(i64, f64)> {
    (0..k.len())
        .filter_map(|i| {
            let v = match &k.values {
                column::Values::F(v) => v[i],
                column::Values::I(v) => v[i] as f64,
                column::Values::U(v) => v[i] as f64,
                _ => return None,
            };
            Some((k.times[i], v))
        })
        .collect()
}

fn finish_kept(
    func: &Func,
    k: Kept,
    window_start: i64,
    latest_first: bool,
    ties: &dyn TieKeys,
) -> Vec<Point> {
    if k.len() == 0 {
        return Vec::new();
    }
    // influxd feeds these functions from a time-ordered heap merge of the
    // group's series in series-key order; the order matters for Go's
    // unstable sort, for the floating-point sums and for which of two
    // equal-time points integral keeps.
    let k = k.merged_by(latest_first, ties);
    finish_in_order(func, k, window_start, latest_first)
}

/// mode(), stddev(), median(), percentile(), top() and bottom() over GROUP BY time:
/// influxd's sorted merge of a group's series runs once over the whole range, so the
/// order a window's points come in (which Go's unstable sorts, stddev()'s sums, the time
/// percentile() answers with and which of tied points top()'s heap keeps see) depends on
/// the points after the window too: the heap's pushes of each series' next point shape it.
///
/// `windows` are one call's reducers of one group, keyed by window start; `window_of`
/// maps a time to its window's start. Each window is given its points as the one merge
/// orders them (newest first under ORDER BY time DESC: `descending`; equal times by their
/// keys in `ties`). top() and bottom() take part only where some window's best points tie
/// (elsewhere the order cannot change their answer); the functions over kept points only
/// with `kept_functions`. Other functions are left as they are.
pub fn feed_windows_in_one_merge(
    windows: &mut [(i64, &mut Reducer)],
    window_of: &dyn Fn(i64) -> i64,
    descending: bool,
    ties: &dyn TieKeys,
    kept_functions: bool,
) {
    // (Every top()/bottom() window decides, so that the decision is kept for finishing.)
    let mut top_bottom = false;
    let mut replays = false;
    for (_, r) in windows.iter_mut() {
        if let State::TopBottom(t) = &mut r.state {
            top_bottom = true;
            replays |= t.replays();
        }
    }
    if top_bottom && !replays {
        return;
    }
    fn fed(r: &mut Reducer, kept_functions: bool) -> Option<&mut Kept> {
        match &mut r.state {
            State::Kept(k) if kept_functions && merges_whole_range(&r.func) => Some(k),
            State::TopBottom(t) => t.kept_mut(),
            _ => None,
        }
    }
    // Only when each window's points are of its type and fall in it.
    let mut value_type = None;
    for (start, r) in windows.iter_mut() {
        if let Some(k) = fed(r, kept_functions) {
            let t = k.values.value_type();
            if *value_type.get_or_insert(t) != t || k.times.iter().any(|&x| window_of(x) != *start)
            {
                return;
            }
        }
    }
    let Some(value_type) = value_type else {
        return;
    };
    let mut union = Kept::new(value_type);
    for (_, r) in windows.iter_mut() {
        if let Some(k) = fed(r, kept_functions) {
            union.append(std::mem::replace(k, Kept::new(value_type)));
        }
    }
    let merged = union.merged_by(descending, ties);
    let mut parts: std::collections::HashMap<i64, Kept> = std::collections::HashMap::new();
    for i in 0..merged.len() {
        let part = parts
            .entry(window_of(merged.times[i]))
            .or_insert_with(|| Kept::new(value_type));
        part.push(merged.times[i], merged.values.scalar(i), merged.aux[i], &[]);
    }
    for (start, r) in windows.iter_mut() {
        if fed(r, kept_functions).is_some() {
            // (A window without points of its own keeps none.)
            r.ordered = Some(parts.remove(start).unwrap_or_else(|| Kept::new(value_type)));
        }
    }
}

/// The functions over kept points that [`feed_windows_in_one_merge`] feeds (integral()
/// runs its own stream over the windows).
fn merges_whole_range(func: &Func) -> bool {
    matches!(
        func,
        Func::Mode | Func::Stddev | Func::Median | Func::Percentile(_)
    )
}

/// [`finish_kept`] over points already in influxd's feeding order.
fn finish_in_order(func: &Func, k: Kept, window_start: i64, latest_first: bool) -> Vec<Point> {
    if k.len() == 0 {
        return Vec::new();
    }
    let at = |v: Option<Value>| {
        v.map(|v| vec![Point::new(window_start, v)])
            .unwrap_or_default()
    };
    match func {
        Func::Median => at(slice::median(&k)),
        Func::Mode => at(slice::mode(&k)),
        Func::Stddev => at(slice::stddev(&k)),
        Func::Percentile(p) => slice::percentile(&k, *p).into_iter().collect(),
        Func::Integral { unit } => {
            let integer = !matches!(k.values, column::Values::F(_));
            let mut s = IntegralStream::new(*unit, None, Some(window_start), integer);
            s.set_descending(latest_first);
            for (t, v) in numeric_points(&k) {
                s.push(t, v);
            }
            // The float variant stamps 0 (its window start is never set
            // without GROUP BY time), the integer one the query start.
            s.finish()
        }
        _ => Vec::new(),
    }
}
