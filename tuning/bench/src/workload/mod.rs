//! What gets written: a [`Workload`] renders batch number `idx` of line protocol, for any
//! `idx`, from nothing but its parameters, so batches can be rendered on any thread, in any
//! order, and are the same on every run with the same seed.
//!
//! - `devops` — the telegraf-like `cpu` shape of `../shared/peer/gen_lp.py`.
//! - `iot` — many devices (high series cardinality), few points each, unaligned clocks.
//! - `file` — a user's line-protocol file cut into batches.
//! - `tables` — the seeded value tables and hashing both generated shapes share.

mod devops;
mod file;
mod iot;
mod tables;

pub use devops::{DevOps, DevOpsParams, Order};
pub use file::LpFile;
pub use iot::{Iot, IotParams};

use bytes::Bytes;
use serde::Serialize;

/// Timestamp units of the generated lines and of `/write?precision=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Ns,
    Us,
    Ms,
    S,
}

impl Precision {
    /// Nanoseconds per unit.
    pub fn nanos(self) -> i64 {
        match self {
            Precision::Ns => 1,
            Precision::Us => 1_000,
            Precision::Ms => 1_000_000,
            Precision::S => 1_000_000_000,
        }
    }

    /// The `precision=` value InfluxDB 1.x understands (it knows `u`, not `us`).
    pub fn param(self) -> &'static str {
        match self {
            Precision::Ns => "ns",
            Precision::Us => "u",
            Precision::Ms => "ms",
            Precision::S => "s",
        }
    }
}

/// One rendered HTTP body.
#[derive(Debug, Clone)]
pub struct Batch {
    pub idx: u64,
    pub body: Bytes,
    pub lines: u64,
    pub values: u64,
    /// Uncompressed size (equals `body.len()` unless gzipped).
    pub raw_bytes: u64,
}

/// What the built-in queries need to know to hit data that exists.
#[derive(Debug, Clone, Serialize)]
pub struct QueryContext {
    pub measurement: String,
    /// The per-series tag (`host`, `device`) and a few of its values.
    pub key_tag: String,
    pub key_values: Vec<String>,
    /// A low-cardinality tag (`region`, `building`) and one of its values.
    pub group_tag: String,
    pub group_value: String,
    pub float_fields: Vec<String>,
    pub int_field: Option<String>,
    pub string_field: Option<(String, String)>,
    /// Epoch ns of the first and last point written.
    pub start_ns: i64,
    pub end_ns: i64,
}

/// A deterministic source of line-protocol batches.
pub trait Workload: Send + Sync {
    /// Batches in one pass; the write phase sends exactly these.
    fn batches(&self) -> u64;
    /// Lines in one pass.
    fn lines(&self) -> u64;
    /// Renders batch `idx` into `out` (cleared first) and returns (lines, field values).
    /// Any `idx` works: past [`Workload::batches`] the generated shapes go on in time
    /// (the next points of every series) and a file starts over, which is what a ramp
    /// needs to run as long as it likes.
    fn render(&self, idx: u64, out: &mut Vec<u8>) -> (u64, u64);
    fn precision(&self) -> Precision;
    /// `None` when nothing is known about the data (a file): only user queries then.
    fn query_context(&self) -> Option<QueryContext>;
    /// Parameters, for the JSON result.
    fn describe(&self) -> serde_json::Value;
}

/// Renders `idx` into a fresh [`Batch`], gzipped at the fastest level when asked.
pub fn render_batch(w: &dyn Workload, idx: u64, scratch: &mut Vec<u8>, gzip: bool) -> Batch {
    let (lines, values) = w.render(idx, scratch);
    let raw_bytes = scratch.len() as u64;
    let body = if gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(scratch.len() / 4),
            flate2::Compression::fast(),
        );
        enc.write_all(scratch)
            .expect("writing to a Vec cannot fail");
        Bytes::from(enc.finish().expect("writing to a Vec cannot fail"))
    } else {
        Bytes::copy_from_slice(scratch)
    };
    Batch {
        idx,
        body,
        lines,
        values,
        raw_bytes,
    }
}
