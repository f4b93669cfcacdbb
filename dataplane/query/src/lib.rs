//! Tessera's InfluxQL query engine.
//!
//! A `SELECT` is planned once ([`plan`]), run where the data is — each core runs
//! [`exec::scan_partition`] over the partitions it owns and merges them into one
//! [`exec::Partial`] — and finished on the coordinating core ([`finish`]). Answers are
//! printed in InfluxDB 1.x's JSON and CSV shapes ([`output`]).
//!
//! # Layout
//! - [`plan`] — statement → [`plan::SelectPlan`] (wildcards, calls, time range, interval).
//! - [`cond`] — WHERE clauses: time range, compiled conditions bound per series.
//! - [`exec`] — per-partition scan: series selection, row filtering, folding into reducers.
//! - [`agg`] — reducers as the engine drives them (functions from `tessera-functions`).
//! - [`finish`] — merged partials → output series (fill, transforms, limits).
//! - [`transform`] — derivative, difference, moving_average, holt_winters, …
//! - [`tz`] — zones for `tz()` and zone-aware windows.
//! - [`output`] — JSON/CSV answers; [`timefmt`] — RFC3339 timestamps.
//! - [`wire`] — a partial result as bytes, for another data node to merge.
//! - [`value`], [`error`].

pub mod agg;
pub mod cache;
pub mod cond;
pub mod error;
pub mod exec;
pub mod finish;
pub mod msgpack;
pub mod output;
pub mod plan;
pub mod timefmt;
pub mod transform;
pub mod tz;
pub mod value;
pub mod wire;

pub use error::QueryError;
pub use value::Value;
