//! InfluxQL 1.x functions with the results of InfluxDB 1.6.7.
//!
//! Pure computation, no runtime: the query engine scans storage, splits
//! points into groups and windows, and calls into this crate.
//!
//! - [`reducer()`] builds a [`Reducer`] for an aggregate or selector
//!   (count, distinct, count(distinct), integral, mean, median, mode,
//!   spread, stddev, sum, first, last, max, min, percentile, sample, top,
//!   bottom). Push columns (each named by its series key,
//!   [`Reducer::set_series_key`]), [`Reducer::merge`] partials in any order,
//!   [`Reducer::finish`] into rows; [`Reducer::encode`] and
//!   [`Reducer::decode`] ship a partial to another node. [`IntegralStream`]
//!   is the integral for GROUP BY time, where windows are not independent.
//! - [`transform()`] builds a [`Transform`] that runs over a group's ordered
//!   rows: derivative, non_negative_derivative, difference,
//!   non_negative_difference, moving_average, cumulative_sum, elapsed,
//!   holt_winters, holt_winters_with_fit and the technical-analysis
//!   functions.
//! - [`math`] holds the per-value functions (abs … tan) and [`binary`] the
//!   operators `+ - * / % & | ^`.
//!
//! `SEMANTICS.md` beside this crate lists what influxd does and what the
//! caller must do (output times, fill, nulls, ties).
//!
//! # Layout
//! - `value` — [`Value`], [`ValueType`], [`Point`], [`Arg`].
//! - `error` — [`FunctionError`].
//! - `window` — [`Window`], GROUP BY time bucketing.
//! - `reducer/` — [`Reducer`]: `build` (names, arguments, type rules),
//!   `simple` (count/sum/mean/spread), `selector`
//!   (first/last/min/max), `distinct`, `slice` (median/mode/stddev/percentile),
//!   `topbottom`, `sample`, `integral`, `column` (typed columns), `codec`
//!   (the wire encoding of a reducer).
//! - `transform/` — [`Transform`]: `diff` (derivative, difference, elapsed),
//!   `moving` (moving_average, cumulative_sum), `ta` and `gota` (technical
//!   analysis), `holtwinters` and `neldermead`.
//! - `math` — scalar math functions; `binary` — binary operators.
//! - `wire` — the binary encoding [`Reducer::encode`] / [`Reducer::decode`]
//!   use to ship partial reducers between nodes; its primitives and
//!   [`wire::put_value`] / [`wire::Reader::value`] serve values and points.
//! - `merge` — [`merge_order`], influxd's time-ordered merge of a group's series;
//!   `tie` — [`TieKeys`], how it orders equal-time points by the statement's columns.
//! - `gosort`, `gomath`, `gotrig` — ports of Go's `sort.Sort`/`container/heap`
//!   and `math` (Pow, Log, Exp, trigonometry): influxd's exact answers depend on them.

pub mod binary;
mod error;
mod gomath;
mod gosort;
mod gotrig;
pub mod math;
mod merge;
mod reducer;
mod tie;
mod transform;
mod value;
mod window;
pub mod wire;

pub use error::FunctionError;
pub use merge::{merge_order, merge_order_by, merge_order_upto, parallel_merge_windows};
pub use reducer::{
    feed_windows_in_one_merge, reducer, Column, IntegralInput, IntegralStream, Reducer, TimeRule,
    WindowOf,
};
pub use tie::{key_before, NoTies, TieKeys};
pub use transform::{transform, Transform, TransformContext};
pub use value::{Arg, Point, Value, ValueType};
pub use window::Window;
