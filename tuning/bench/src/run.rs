//! Phases against one target: `write`, `query`, `mixed` (here) and `ramp` (`ramp.rs`), each
//! with its sampler (one [`Sample`] a second for the plots), progress line and result.

use crate::http::Endpoint;
use crate::load::{admin_query, prerender, Query, QueryLoad, WriteLoad, WriteTarget};
use crate::procstat::{cpus, CpuMeter, CpuUse};
use crate::progress::{si, Progress};
use crate::ramp::ramp_phase;
pub use crate::ramp::RampConfig;
use crate::result::{QueryResult, QueryStat, RunReport, WriteResult};
use crate::sampler::Sampler;
use crate::stats::{Recorder, Sample};
use crate::workload::{Batch, Workload};
use crate::BenchError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Write,
    Query,
    Mixed,
    Ramp,
}

/// Everything a run against one target needs besides the workload.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub endpoints: Vec<Arc<Endpoint>>,
    pub db: String,
    pub rp: Option<String>,
    pub create: bool,
    pub drop: bool,
    pub concurrency: usize,
    pub gen_threads: usize,
    pub gzip: bool,
    /// Writes: render the whole pass before the clock starts.
    pub prerender: bool,
    pub timeout: Duration,
    /// Writes: lines/s to pace at (`None`: as fast as the server takes them).
    pub rate: Option<f64>,
    /// Writes: run this long (the points go on in time) instead of one pass.
    pub duration: Option<Duration>,
    pub server_pid: Option<u32>,
    pub quiet: bool,
    pub label: String,
    pub queries: Vec<Query>,
    pub query_runs: u64,
    pub query_warmup: u64,
    pub query_concurrency: usize,
    pub ramp: RampConfig,
}

impl RunConfig {
    pub(crate) fn target(&self) -> WriteTarget {
        WriteTarget {
            endpoints: self.endpoints.clone(),
            db: self.db.clone(),
            rp: self.rp.clone(),
            concurrency: self.concurrency,
            gen_threads: self.gen_threads,
            gzip: self.gzip,
            timeout: self.timeout,
        }
    }

    pub(crate) fn pid(&self) -> Option<String> {
        self.server_pid.map(|p| p.to_string())
    }
}

/// Set by the first Ctrl-C: loads finish the requests in flight and the run still writes
/// its result. A second Ctrl-C exits at once.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Installs the Ctrl-C handler (inside the runtime).
pub fn install_interrupt_handler() {
    tokio::spawn(async {
        while tokio::signal::ctrl_c().await.is_ok() {
            if INTERRUPTED.swap(true, Ordering::Relaxed) {
                std::process::exit(130);
            }
            tracing::warn!("interrupted: finishing requests in flight (Ctrl-C again to quit now)");
        }
    });
}

/// Runs `phases` in order against one target.
pub async fn run(
    phases: &[Phase],
    workload: Arc<dyn Workload>,
    cfg: &RunConfig,
) -> Result<RunReport, BenchError> {
    let started_unix_s = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut report = RunReport {
        tool: "tessera-bench".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        command: phases
            .iter()
            .map(|p| format!("{p:?}").to_lowercase())
            .collect::<Vec<_>>()
            .join("+"),
        label: cfg.label.clone(),
        started_unix_s,
        urls: cfg.endpoints.iter().map(|e| e.url.clone()).collect(),
        db: cfg.db.clone(),
        concurrency: cfg.concurrency,
        gzip: cfg.gzip,
        cpus: cpus(),
        workload: workload.describe(),
        ..RunReport::default()
    };
    if phases.iter().any(|p| *p != Phase::Query) {
        prepare_db(cfg).await?;
    }
    for phase in phases {
        match phase {
            Phase::Write => {
                let w = write_phase(&workload, cfg).await;
                report.errors += w.errors;
                report.lines_per_s = Some(w.lines_per_s);
                report.values_per_s = Some(w.values_per_s);
                report.write = Some(w);
            }
            Phase::Query => {
                let q = query_phase(cfg).await?;
                report.errors += q.errors;
                report.queries_per_s = Some(q.queries_per_s);
                report.query = Some(q);
            }
            Phase::Mixed => {
                let (w, q) = mixed_phase(&workload, cfg).await?;
                report.errors += w.errors + q.errors;
                report.lines_per_s = Some(w.lines_per_s);
                report.values_per_s = Some(w.values_per_s);
                report.queries_per_s = Some(q.queries_per_s);
                report.write = Some(w);
                report.query = Some(q);
            }
            Phase::Ramp => {
                let r = ramp_phase(&workload, cfg).await;
                report.errors += r.total.errors;
                report.capacity_lines_per_s = r.capacity_lines_per_s;
                report.lines_per_s = r.capacity_achieved_lines_per_s;
                report.ramp = Some(r);
            }
        }
    }
    Ok(report)
}

/// `DROP DATABASE` (with `--drop`) and `CREATE DATABASE` (unless `--no-create`) on every
/// endpoint: both are idempotent, and independent servers each need their own.
async fn prepare_db(cfg: &RunConfig) -> Result<(), BenchError> {
    let db = cfg.db.replace('"', "\\\"");
    for ep in &cfg.endpoints {
        if cfg.drop {
            admin_query(ep, None, &format!("DROP DATABASE \"{db}\""), cfg.timeout)
                .await
                .map_err(BenchError::Admin)?;
        }
        if cfg.create {
            admin_query(ep, None, &format!("CREATE DATABASE \"{db}\""), cfg.timeout)
                .await
                .map_err(BenchError::Admin)?;
        }
    }
    Ok(())
}

pub(crate) fn write_result(
    rec: &Recorder,
    secs: f64,
    reconnects: u64,
    client: CpuUse,
    server: Option<CpuUse>,
    timeline: Vec<Sample>,
) -> WriteResult {
    let t = rec.total();
    let secs = secs.max(1e-9);
    WriteResult {
        lines: t.c.lines,
        values: t.c.values,
        batches: t.c.requests,
        errors: t.c.errors,
        error_rate: t.c.errors as f64 / t.c.requests.max(1) as f64,
        bytes_raw: t.c.raw_bytes,
        bytes_wire: t.c.wire_bytes,
        duration_s: secs,
        lines_per_s: t.c.lines as f64 / secs,
        values_per_s: t.c.values as f64 / secs,
        mb_per_s: t.c.raw_bytes as f64 / secs / 1e6,
        batches_per_s: t.c.requests as f64 / secs,
        batch_latency_ms: t.hist.percentiles(),
        status_counts: rec.status_counts(),
        first_errors: rec.first_errors(),
        reconnects,
        client,
        server,
        timeline,
    }
}

fn summarize_write(p: &Progress, what: &str, w: &WriteResult) {
    let srv = w.server.map_or(String::new(), |s| {
        format!(
            ", server cpu {:.0}% peak rss {:.0} MiB",
            s.cpu_pct,
            s.peak_rss_bytes as f64 / 1048576.0
        )
    });
    p.println(&format!(
        "{what}: {} lines in {:.2}s = {} lines/s ({} values/s, {:.1} MB/s), batch p50 {:.1} ms p99 {:.1} ms, {} errors, client cpu {:.0}%{srv}",
        w.lines,
        w.duration_s,
        si(w.lines_per_s),
        si(w.values_per_s),
        w.mb_per_s,
        w.batch_latency_ms.p50,
        w.batch_latency_ms.p99,
        w.errors,
        w.client.cpu_pct,
    ));
    if let Some(e) = w.first_errors.first() {
        p.println(&format!("{what}: first error: {e}"));
    }
}

/// Renders the whole pass up front when `--prerender` asks for it (not with --duration).
fn prerendered(workload: &Arc<dyn Workload>, cfg: &RunConfig) -> Option<Arc<Vec<Batch>>> {
    if !cfg.prerender || cfg.duration.is_some() {
        return None;
    }
    let t0 = Instant::now();
    let all = prerender(
        workload.as_ref(),
        workload.batches(),
        cfg.gen_threads.max(cpus()),
        cfg.gzip,
    );
    let bytes: usize = all.iter().map(|b| b.body.len()).sum();
    tracing::info!(
        "pre-rendered {} batches ({:.1} MB) in {:.2}s",
        all.len(),
        bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Some(Arc::new(all))
}

fn start_write(
    workload: &Arc<dyn Workload>,
    cfg: &RunConfig,
    rate: Option<f64>,
    pre: Option<Arc<Vec<Batch>>>,
) -> WriteLoad {
    let limit = cfg.duration.is_none().then(|| workload.batches());
    let load = WriteLoad::start(Arc::clone(workload), &cfg.target(), limit, rate, pre);
    if let Some(d) = cfg.duration {
        let stop = load.stop_flag();
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    load
}

async fn write_phase(workload: &Arc<dyn Workload>, cfg: &RunConfig) -> WriteResult {
    let total = cfg.duration.is_none().then(|| workload.lines());
    let pre = prerendered(workload, cfg);
    let progress = Progress::new("write", total, cfg.quiet);
    let mut client = CpuMeter::start("self");
    let mut server = cfg.pid().and_then(|p| CpuMeter::start(&p));
    let t0 = Instant::now();
    let load = start_write(workload, cfg, cfg.rate, pre);
    let rec = Arc::clone(&load.recorder);
    let sampler = Sampler::start(
        vec![Arc::clone(&rec)],
        Some(Arc::clone(&load.pacer)),
        cfg.pid(),
        progress.clone(),
        false,
    );
    let reconnects = load.wait().await;
    let secs = t0.elapsed().as_secs_f64();
    let mut timeline = sampler.finish().await;
    progress.finish();
    let w = write_result(
        &rec,
        secs,
        reconnects,
        client.as_mut().map(CpuMeter::finish).unwrap_or_default(),
        server.as_mut().map(CpuMeter::finish),
        timeline.swap_remove(0),
    );
    summarize_write(&progress, "write", &w);
    w
}

/// Runs every query `warmup` times one after the other; returns the first latency of each.
async fn warm_up(cfg: &RunConfig, queries: &Arc<Vec<Query>>) -> Vec<Option<f64>> {
    let mut firsts = vec![None; queries.len()];
    if cfg.query_warmup == 0 {
        return firsts;
    }
    let load = QueryLoad::start(
        Arc::clone(queries),
        &cfg.endpoints,
        &cfg.db,
        1,
        Some(cfg.query_warmup),
        cfg.timeout,
    );
    let rec = Arc::clone(&load.recorder);
    load.wait().await;
    // With one worker and `warmup` passes, a query's first run is its slowest-or-equal
    // cold run; its max is what a cold cache costs at most.
    for (k, span) in rec.per_op().iter().enumerate() {
        firsts[k] = Some(span.hist.percentiles().max);
    }
    firsts
}

fn query_result(
    rec: &Recorder,
    queries: &[Query],
    firsts: &[Option<f64>],
    secs: f64,
    client: CpuUse,
    server: Option<CpuUse>,
    timeline: Vec<Sample>,
) -> QueryResult {
    let t = rec.total();
    let errors_text = rec.first_errors();
    let per_query = rec
        .per_op()
        .iter()
        .zip(queries)
        .zip(firsts)
        .map(|((s, q), first)| QueryStat {
            name: q.name.clone(),
            query: q.text.clone(),
            runs: s.c.requests,
            errors: s.c.errors,
            first_ms: *first,
            latency_ms: s.hist.percentiles(),
            response_bytes: s.c.raw_bytes / s.c.ok.max(1),
            error: (s.c.errors > 0)
                .then(|| {
                    errors_text
                        .iter()
                        .find(|e| e.starts_with(&format!("{}: ", q.name)))
                        .cloned()
                })
                .flatten(),
        })
        .collect();
    let secs = secs.max(1e-9);
    QueryResult {
        queries: t.c.requests,
        errors: t.c.errors,
        duration_s: secs,
        queries_per_s: t.c.requests as f64 / secs,
        latency_ms: t.hist.percentiles(),
        per_query,
        status_counts: rec.status_counts(),
        first_errors: errors_text,
        client,
        server,
        timeline,
    }
}

fn summarize_query(p: &Progress, q: &QueryResult) {
    for s in &q.per_query {
        let tail = match &s.error {
            Some(e) => format!("ERROR {e}"),
            None => format!(
                "median {:>9.2} ms  p99 {:>9.2} ms  ({} runs, {} B)",
                s.latency_ms.p50, s.latency_ms.p99, s.runs, s.response_bytes
            ),
        };
        p.println(&format!("  {:<40} {tail}", s.name));
    }
    p.println(&format!(
        "query: {} queries in {:.2}s = {:.1} q/s, p50 {:.2} ms p99 {:.2} ms, {} errors, client cpu {:.0}%",
        q.queries, q.duration_s, q.queries_per_s, q.latency_ms.p50, q.latency_ms.p99, q.errors, q.client.cpu_pct
    ));
}

async fn query_phase(cfg: &RunConfig) -> Result<QueryResult, BenchError> {
    if cfg.queries.is_empty() {
        return Err(BenchError::NoQueries);
    }
    let queries = Arc::new(cfg.queries.clone());
    let firsts = warm_up(cfg, &queries).await;
    let total = cfg.query_runs * queries.len() as u64;
    let progress = Progress::new("query", Some(total), cfg.quiet);
    let mut client = CpuMeter::start("self");
    let mut server = cfg.pid().and_then(|p| CpuMeter::start(&p));
    let t0 = Instant::now();
    let load = QueryLoad::start(
        Arc::clone(&queries),
        &cfg.endpoints,
        &cfg.db,
        cfg.query_concurrency,
        Some(cfg.query_runs),
        cfg.timeout,
    );
    let rec = Arc::clone(&load.recorder);
    let sampler = Sampler::start(
        vec![Arc::clone(&rec)],
        None,
        cfg.pid(),
        progress.clone(),
        true,
    );
    load.wait().await;
    let secs = t0.elapsed().as_secs_f64();
    let mut timeline = sampler.finish().await;
    progress.finish();
    let q = query_result(
        &rec,
        &queries,
        &firsts,
        secs,
        client.as_mut().map(CpuMeter::finish).unwrap_or_default(),
        server.as_mut().map(CpuMeter::finish),
        timeline.swap_remove(0),
    );
    summarize_query(&progress, &q);
    Ok(q)
}

async fn mixed_phase(
    workload: &Arc<dyn Workload>,
    cfg: &RunConfig,
) -> Result<(WriteResult, QueryResult), BenchError> {
    if cfg.queries.is_empty() {
        return Err(BenchError::NoQueries);
    }
    let queries = Arc::new(cfg.queries.clone());
    let total = cfg.duration.is_none().then(|| workload.lines());
    let progress = Progress::new("mixed", total, cfg.quiet);
    let mut client = CpuMeter::start("self");
    let mut server = cfg.pid().and_then(|p| CpuMeter::start(&p));
    let t0 = Instant::now();
    let wload = start_write(workload, cfg, cfg.rate, None);
    let qload = QueryLoad::start(
        Arc::clone(&queries),
        &cfg.endpoints,
        &cfg.db,
        cfg.query_concurrency,
        None,
        cfg.timeout,
    );
    let (wrec, qrec) = (Arc::clone(&wload.recorder), Arc::clone(&qload.recorder));
    let sampler = Sampler::start(
        vec![Arc::clone(&wrec), Arc::clone(&qrec)],
        Some(Arc::clone(&wload.pacer)),
        cfg.pid(),
        progress.clone(),
        false,
    );
    let reconnects = wload.wait().await;
    qload.stop();
    qload.wait().await;
    let secs = t0.elapsed().as_secs_f64();
    let mut timelines = sampler.finish().await;
    progress.finish();
    let client = client.as_mut().map(CpuMeter::finish).unwrap_or_default();
    let server = server.as_mut().map(CpuMeter::finish);
    let qt = timelines.pop().unwrap_or_default();
    let wt = timelines.pop().unwrap_or_default();
    let w = write_result(&wrec, secs, reconnects, client, server, wt);
    let firsts = vec![None; queries.len()];
    let q = query_result(&qrec, &queries, &firsts, secs, client, server, qt);
    summarize_write(&progress, "mixed write", &w);
    summarize_query(&progress, &q);
    Ok((w, q))
}
