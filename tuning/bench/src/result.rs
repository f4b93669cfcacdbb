//! The JSON result: one [`RunReport`] per target (a [`CompareReport`] holds two). Field
//! names are stable; scripts read `lines_per_s` at the top level.

use crate::hist::Percentiles;
use crate::procstat::CpuUse;
use crate::stats::Sample;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Default)]
pub struct WriteResult {
    /// Acknowledged lines and field values (failed batches are not counted).
    pub lines: u64,
    pub values: u64,
    pub batches: u64,
    pub errors: u64,
    /// errors / batches.
    pub error_rate: f64,
    pub bytes_raw: u64,
    pub bytes_wire: u64,
    pub duration_s: f64,
    pub lines_per_s: f64,
    pub values_per_s: f64,
    /// Uncompressed line protocol, MB (10^6 bytes) per second.
    pub mb_per_s: f64,
    pub batches_per_s: f64,
    pub batch_latency_ms: Percentiles,
    /// Answers by HTTP status; `no_response` for transport errors and timeouts.
    pub status_counts: BTreeMap<String, u64>,
    pub first_errors: Vec<String>,
    pub reconnects: u64,
    pub client: CpuUse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<CpuUse>,
    pub timeline: Vec<Sample>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct QueryStat {
    pub name: String,
    pub query: String,
    pub runs: u64,
    pub errors: u64,
    /// The untimed warm-up run (the first, coldest one), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_ms: Option<f64>,
    pub latency_ms: Percentiles,
    /// Mean answer size.
    pub response_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct QueryResult {
    pub queries: u64,
    pub errors: u64,
    pub duration_s: f64,
    pub queries_per_s: f64,
    pub latency_ms: Percentiles,
    pub per_query: Vec<QueryStat>,
    pub status_counts: BTreeMap<String, u64>,
    pub first_errors: Vec<String>,
    pub client: CpuUse,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<CpuUse>,
    pub timeline: Vec<Sample>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct RampStep {
    pub step: usize,
    pub offered_lines_per_s: f64,
    pub achieved_lines_per_s: f64,
    pub duration_s: f64,
    pub batches: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub batch_latency_ms: Percentiles,
    /// Met the latency and error objectives and achieved ≥ the required share of the
    /// offered rate.
    pub ok: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broke: Option<String>,
    /// A bisection step after the first failure (`--refine`).
    pub refine: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct RampResult {
    pub slo_p99_ms: f64,
    pub slo_error_rate: f64,
    pub min_achieved_ratio: f64,
    pub step_duration_s: f64,
    /// The highest offered rate that met the objectives (`None`: not even the first).
    pub capacity_lines_per_s: Option<f64>,
    /// What was achieved at that step.
    pub capacity_achieved_lines_per_s: Option<f64>,
    pub capacity_p99_ms: Option<f64>,
    /// True when the ramp stopped at `--max-rate`/`--max-steps` without breaking: the
    /// capacity is at least the figure given.
    pub limit_not_reached: bool,
    pub steps: Vec<RampStep>,
    /// The whole ramp, batches and errors of all steps.
    pub total: WriteResult,
}

/// One target's run of one or more phases.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RunReport {
    pub tool: String,
    pub version: String,
    /// `write`, `query`, `mixed`, `ramp`, or the phases of a compare side.
    pub command: String,
    pub label: String,
    pub started_unix_s: f64,
    pub urls: Vec<String>,
    pub db: String,
    pub concurrency: usize,
    pub gzip: bool,
    pub cpus: usize,
    pub workload: serde_json::Value,
    /// Write and mixed: acknowledged lines per second over the write phase. Ramp: the
    /// achieved rate at the capacity step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_lines_per_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queries_per_s: Option<f64>,
    /// Failed requests over all phases.
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write: Option<WriteResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<QueryResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp: Option<RampResult>,
}

/// `compare`: the same phases against A then B; ratios are B / A.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CompareReport {
    pub tool: String,
    pub version: String,
    pub command: String,
    pub a: RunReport,
    pub b: RunReport,
    pub ratios: BTreeMap<String, f64>,
    /// B / A of each query's median latency (below 1: B is faster).
    pub query_median_ratios: BTreeMap<String, f64>,
}

impl CompareReport {
    pub fn new(a: RunReport, b: RunReport) -> CompareReport {
        let mut ratios = BTreeMap::new();
        let mut put = |k: &str, x: Option<f64>, y: Option<f64>| {
            if let (Some(x), Some(y)) = (x, y) {
                if x > 0.0 {
                    ratios.insert(k.to_string(), y / x);
                }
            }
        };
        put("lines_per_s", a.lines_per_s, b.lines_per_s);
        put("values_per_s", a.values_per_s, b.values_per_s);
        put(
            "capacity_lines_per_s",
            a.capacity_lines_per_s,
            b.capacity_lines_per_s,
        );
        put("queries_per_s", a.queries_per_s, b.queries_per_s);
        let wl = |r: &RunReport| r.write.as_ref().map(|w| w.batch_latency_ms);
        put("batch_p50_ms", wl(&a).map(|p| p.p50), wl(&b).map(|p| p.p50));
        put("batch_p99_ms", wl(&a).map(|p| p.p99), wl(&b).map(|p| p.p99));
        let ql = |r: &RunReport| r.query.as_ref().map(|q| q.latency_ms);
        put("query_p50_ms", ql(&a).map(|p| p.p50), ql(&b).map(|p| p.p50));
        put("query_p99_ms", ql(&a).map(|p| p.p99), ql(&b).map(|p| p.p99));
        let srv = |r: &RunReport| {
            r.write
                .as_ref()
                .and_then(|w| w.server)
                .map(|s| s.peak_rss_bytes as f64)
        };
        put("server_peak_rss_bytes", srv(&a), srv(&b));
        let mut query_median_ratios = BTreeMap::new();
        if let (Some(qa), Some(qb)) = (&a.query, &b.query) {
            for sa in &qa.per_query {
                if let Some(sb) = qb.per_query.iter().find(|s| s.name == sa.name) {
                    if sa.latency_ms.p50 > 0.0 && sa.errors == 0 && sb.errors == 0 {
                        query_median_ratios
                            .insert(sa.name.clone(), sb.latency_ms.p50 / sa.latency_ms.p50);
                    }
                }
            }
        }
        CompareReport {
            tool: a.tool.clone(),
            version: a.version.clone(),
            command: "compare".into(),
            a,
            b,
            ratios,
            query_median_ratios,
        }
    }
}
