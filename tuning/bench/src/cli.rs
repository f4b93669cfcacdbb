//! The command line: subcommands, flags (clap derive; doc comments are the help) and the
//! translation into a workload and a [`RunConfig`].

use crate::http::Endpoint;
use crate::result::{CompareReport, RunReport};
use crate::run::{Phase, RampConfig, RunConfig};
use crate::workload::{DevOps, DevOpsParams, Iot, IotParams, LpFile, Order, Precision, Workload};
use crate::{queries, report, BenchError};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Capacity benchmark for InfluxDB 1.x-compatible endpoints (Tessera, influxd): write,
/// query, mixed and ramp phases, side-by-side comparison, JSON result and HTML report.
#[derive(Debug, Parser)]
#[command(name = "tessera-bench", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// No progress line (it is also off when stderr is not a terminal).
    #[arg(long, global = true)]
    quiet: bool,
    /// Log filter (tracing-subscriber syntax), e.g. `debug`.
    #[arg(long, global = true, default_value = "info", env = "TESSERA_BENCH_LOG")]
    log: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the workload once (or for --duration), as fast as the server takes it or at --rate.
    Write(RunArgs),
    /// Run the query set (built-in and/or --queries) --runs times against data already written.
    Query(RunArgs),
    /// Write the workload while query workers run the query set in a loop.
    Mixed(RunArgs),
    /// Raise the offered write rate step by step until the objective breaks; report the capacity.
    Ramp(RunArgs),
    /// Run the same phases against two endpoints in turn and report B/A ratios.
    Compare(CompareArgs),
    /// A null InfluxDB endpoint (204 to /write and /ping): measures this client's ceiling.
    Sink(SinkArgs),
    /// Print the workload's line protocol (to check it, or to feed another tool).
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Target")]
struct TargetArgs {
    /// Base URL of a data node; repeat for several (batches go round-robin).
    #[arg(long = "url", default_value = "http://127.0.0.1:8086")]
    urls: Vec<String>,
    #[arg(long, default_value = "bench")]
    db: String,
    /// Retention policy for /write (default: the database's default).
    #[arg(long)]
    rp: Option<String>,
    /// Do not CREATE DATABASE first.
    #[arg(long)]
    no_create: bool,
    /// DROP DATABASE first (a clean start; for compare, on each side).
    #[arg(long)]
    drop: bool,
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    password: Option<String>,
    /// Server process to report CPU and peak RSS for (read from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Per-request timeout.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Free text stored in the result and shown in the report.
    #[arg(long, default_value = "")]
    label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Shape {
    /// telegraf-like `cpu` measurement: hosts × measurements, aligned scrapes.
    Devops,
    /// Many devices (high series cardinality), unaligned clocks.
    Iot,
    /// The --file line protocol, cut into --batch-size lines.
    File,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Workload")]
struct WorkloadArgs {
    #[arg(long, value_enum, default_value = "devops")]
    workload: Shape,
    /// Line-protocol file (implies --workload file).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Series (devops: measurements × hosts, default 10000; iot: devices, default 100000).
    #[arg(long)]
    series: Option<u64>,
    /// Measurements (devops).
    #[arg(long, default_value_t = 1)]
    measurements: u64,
    /// Points of each series (devops default 100, iot default 10).
    #[arg(long)]
    points_per_series: Option<u64>,
    /// Float fields per line (devops).
    #[arg(long, default_value_t = 5)]
    fields: usize,
    /// Integer fields per line, the first an `uptime` counter (devops).
    #[arg(long, default_value_t = 1)]
    int_fields: usize,
    /// A string field on every Nth point of a series (0 = never).
    #[arg(long, default_value_t = 10)]
    string_every: u64,
    /// A boolean field on every Nth point of a series (0 = never).
    #[arg(long, default_value_t = 20)]
    bool_every: u64,
    /// First timestamp: RFC 3339 or epoch nanoseconds.
    #[arg(long, default_value = "2020-01-01T00:00:00Z")]
    start: String,
    /// Time between points of a series (devops default 10s, iot 60s).
    #[arg(long, value_parser = humantime::parse_duration)]
    interval: Option<Duration>,
    #[arg(long, value_enum, default_value = "ns")]
    precision: Precision,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Lines per HTTP request.
    #[arg(long, default_value_t = 5000)]
    batch_size: u64,
    /// time: a batch is one timestamp of many series; series: consecutive points of few.
    #[arg(long, value_enum, default_value = "time")]
    order: Order,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Load")]
struct LoadArgs {
    /// Concurrent write requests (one connection each, per endpoint).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Threads rendering batches.
    #[arg(long, default_value_t = 1)]
    gen_threads: usize,
    /// Async runtime threads (default: the number of CPUs).
    #[arg(long)]
    client_threads: Option<usize>,
    /// Send gzip bodies (compressed by the generator threads, not in the timed request).
    #[arg(long)]
    gzip: bool,
    /// Render the whole workload into memory before the clock starts (write phase; the
    /// timed part is then HTTP only, like replaying pre-generated files).
    #[arg(long)]
    prerender: bool,
    /// Pace writes at this many lines/s (write and mixed; default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Write for this long, points going on in time, instead of one pass of the workload.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Queries")]
struct QueryArgs {
    /// Extra queries, one a line (`name<TAB>query` or just the query; `#` comments).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// Leave out the built-in query set.
    #[arg(long)]
    no_builtin: bool,
    /// Only these queries (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 5)]
    runs: u64,
    /// Untimed runs of each query first (its first run is reported as `first_ms`).
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Concurrent query workers.
    #[arg(long, default_value_t = 1)]
    query_concurrency: usize,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Ramp")]
struct RampArgs {
    /// First offered rate, lines/s.
    #[arg(long, default_value_t = 10_000.0)]
    start_rate: f64,
    /// Each step offers this times the previous rate...
    #[arg(long, default_value_t = 1.5)]
    step_factor: f64,
    /// ...or this many lines/s more, when given.
    #[arg(long)]
    step_add: Option<f64>,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    step_duration: Duration,
    /// Stop (objective not broken) at this rate.
    #[arg(long, default_value_t = 1e9)]
    max_rate: f64,
    #[arg(long, default_value_t = 40)]
    max_steps: usize,
    /// Latency objective: a step breaks when its batch p99 is above this.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    slo_p99: Duration,
    /// A step breaks when more than this share of its batches failed.
    #[arg(long, default_value_t = 0.001)]
    slo_error_rate: f64,
    /// A step breaks when it achieved less than this share of the offered rate.
    #[arg(long, default_value_t = 0.95)]
    min_achieved: f64,
    /// After the first break, bisect between the last good and the bad rate this many times.
    #[arg(long, default_value_t = 0)]
    refine: usize,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
struct OutputArgs {
    /// Write the JSON result here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the self-contained HTML report here.
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    #[command(flatten)]
    workload: WorkloadArgs,
    #[command(flatten)]
    load: LoadArgs,
    #[command(flatten)]
    query: QueryArgs,
    #[command(flatten)]
    ramp: RampArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
struct CompareArgs {
    /// Base URL(s) of side B (side A is --url).
    #[arg(long = "url-b", required = true)]
    urls_b: Vec<String>,
    /// Name of side A in the report (default: its URL).
    #[arg(long)]
    label_a: Option<String>,
    /// Name of side B in the report (default: its URL).
    #[arg(long)]
    label_b: Option<String>,
    /// Server process of side B (side A's is --server-pid).
    #[arg(long)]
    server_pid_b: Option<u32>,
    /// Phases to run on each side, in order (e.g. write,query).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "write")]
    phases: Vec<Phase>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Clone, Args)]
struct SinkArgs {
    #[arg(long, default_value_t = 18086)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    bind: String,
    /// Runtime threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Count lines (newlines) too; costs a scan of every body.
    #[arg(long)]
    count_lines: bool,
}

#[derive(Debug, Clone, Args)]
struct GenerateArgs {
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Output file (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only the first N batches.
    #[arg(long)]
    batches: Option<u64>,
}

fn parse_start(s: &str) -> Result<i64, BenchError> {
    if let Ok(ns) = s.parse::<i64>() {
        return Ok(ns);
    }
    let t = humantime::parse_rfc3339_weak(s.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(s))
        .map_err(|e| BenchError::Args(format!("--start {s:?}: {e}")))?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| BenchError::Args(format!("--start {s:?} is before 1970")))?;
    Ok(d.as_nanos() as i64)
}

fn build_workload(a: &WorkloadArgs) -> Result<Arc<dyn Workload>, BenchError> {
    if a.batch_size == 0 {
        return Err(BenchError::Args("--batch-size must be at least 1".into()));
    }
    let shape = if a.file.is_some() {
        Shape::File
    } else {
        a.workload
    };
    let start_ns = parse_start(&a.start)?;
    let check = |interval: Duration| -> Result<i64, BenchError> {
        let ns = interval.as_nanos() as i64;
        if ns <= 0 || start_ns % a.precision.nanos() != 0 || ns % a.precision.nanos() != 0 {
            return Err(BenchError::Args(format!(
                "--start and --interval must be whole multiples of the precision ({:?}) and the interval above zero",
                a.precision
            )));
        }
        Ok(ns)
    };
    Ok(match shape {
        Shape::Devops => {
            let p = DevOpsParams {
                series: a.series.unwrap_or(10_000),
                measurements: a.measurements,
                points_per_series: a.points_per_series.unwrap_or(100),
                fields: a.fields,
                int_fields: a.int_fields,
                string_every: a.string_every,
                bool_every: a.bool_every,
                start_ns,
                interval_ns: check(a.interval.unwrap_or(Duration::from_secs(10)))?,
                precision: a.precision,
                seed: a.seed,
                batch_size: a.batch_size,
                order: a.order,
            };
            if p.series == 0 || p.points_per_series == 0 || p.measurements == 0 {
                return Err(BenchError::Args(
                    "--series, --points-per-series and --measurements must be at least 1".into(),
                ));
            }
            if p.fields + p.int_fields == 0 {
                return Err(BenchError::Args(
                    "need at least one float or integer field".into(),
                ));
            }
            Arc::new(DevOps::new(p))
        }
        Shape::Iot => {
            let p = IotParams {
                devices: a.series.unwrap_or(100_000),
                points_per_device: a.points_per_series.unwrap_or(10),
                start_ns,
                interval_ns: check(a.interval.unwrap_or(Duration::from_secs(60)))?,
                precision: a.precision,
                seed: a.seed,
                batch_size: a.batch_size,
                bool_every: a.bool_every,
                string_every: a.string_every,
            };
            if p.devices == 0 || p.points_per_device == 0 {
                return Err(BenchError::Args(
                    "--series and --points-per-series must be at least 1".into(),
                ));
            }
            Arc::new(Iot::new(p))
        }
        Shape::File => {
            let path = a
                .file
                .clone()
                .ok_or_else(|| BenchError::Args("--workload file needs --file PATH".into()))?;
            let f = LpFile::open(&path, a.batch_size, a.precision)
                .map_err(|source| BenchError::Input { path, source })?;
            if f.batches() == 0 {
                return Err(BenchError::Args("the --file holds no lines".into()));
            }
            Arc::new(f)
        }
    })
}

fn endpoints(urls: &[String], t: &TargetArgs) -> Result<Vec<Arc<Endpoint>>, BenchError> {
    urls.iter()
        .map(|u| {
            Ok(Arc::new(
                Endpoint::parse(u)?.with_auth(t.user.as_deref(), t.password.as_deref()),
            ))
        })
        .collect()
}

fn run_config(a: &RunArgs, workload: &dyn Workload, quiet: bool) -> Result<RunConfig, BenchError> {
    let mut qs = Vec::new();
    if !a.query.no_builtin {
        qs = match workload.query_context() {
            Some(cx) => queries::builtin(&cx),
            None => queries::generic(),
        };
    }
    if let Some(path) = &a.query.queries {
        qs.extend(
            queries::from_file(path).map_err(|source| BenchError::Input {
                path: path.clone(),
                source,
            })?,
        );
    }
    if !a.query.only.is_empty() {
        qs.retain(|q| a.query.only.contains(&q.name));
    }
    let r = &a.ramp;
    if r.start_rate <= 0.0 || (r.step_add.is_none() && r.step_factor <= 1.0) {
        return Err(BenchError::Args(
            "--start-rate must be above 0 and --step-factor above 1 (or give --step-add)".into(),
        ));
    }
    Ok(RunConfig {
        endpoints: endpoints(&a.target.urls, &a.target)?,
        db: a.target.db.clone(),
        rp: a.target.rp.clone(),
        create: !a.target.no_create,
        drop: a.target.drop,
        concurrency: a.load.concurrency.max(1),
        gen_threads: a.load.gen_threads.max(1),
        gzip: a.load.gzip,
        prerender: a.load.prerender,
        timeout: a.target.timeout,
        rate: a.load.rate,
        duration: a.load.duration,
        server_pid: a.target.server_pid,
        quiet,
        label: a.target.label.clone(),
        queries: qs,
        query_runs: a.query.runs.max(1),
        query_warmup: a.query.warmup,
        query_concurrency: a.query.query_concurrency.max(1),
        ramp: RampConfig {
            start_rate: r.start_rate,
            factor: r.step_factor,
            add: r.step_add,
            step: r.step_duration,
            max_rate: r.max_rate,
            max_steps: r.max_steps.max(1),
            slo_p99: r.slo_p99,
            slo_error_rate: r.slo_error_rate,
            min_achieved: r.min_achieved,
            refine: r.refine,
        },
    })
}

fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, BenchError> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all();
    if let Some(n) = threads {
        b.worker_threads(n.max(1));
    }
    b.build().map_err(BenchError::Runtime)
}

fn outputs(
    out: &OutputArgs,
    json: &impl serde::Serialize,
    html: impl FnOnce() -> String,
) -> Result<(), BenchError> {
    if let Some(p) = &out.json {
        report::write_json(p, json)?;
        tracing::info!("wrote {}", p.display());
    }
    if let Some(p) = &out.report {
        report::write_html(p, &html())?;
        tracing::info!("wrote {}", p.display());
    }
    Ok(())
}

fn run_phase(phase: Phase, a: &RunArgs, quiet: bool) -> Result<ExitCode, BenchError> {
    let w = build_workload(&a.workload)?;
    let cfg = run_config(a, w.as_ref(), quiet)?;
    let rt = runtime(a.load.client_threads)?;
    let r: RunReport = rt.block_on(async {
        crate::run::install_interrupt_handler();
        crate::run::run(&[phase], w, &cfg).await
    })?;
    outputs(&a.output, &r, || report::run_html(&r))?;
    // A ramp is expected to meet errors at its last step; other phases must be clean.
    Ok(if r.errors > 0 && phase != Phase::Ramp {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn compare(c: &CompareArgs, quiet: bool) -> Result<ExitCode, BenchError> {
    let w = build_workload(&c.run.workload)?;
    let mut cfg_a = run_config(&c.run, w.as_ref(), quiet)?;
    let mut cfg_b = cfg_a.clone();
    cfg_b.endpoints = endpoints(&c.urls_b, &c.run.target)?;
    cfg_b.server_pid = c.server_pid_b;
    cfg_a.label = c
        .label_a
        .clone()
        .unwrap_or_else(|| cfg_a.endpoints[0].url.clone());
    cfg_b.label = c
        .label_b
        .clone()
        .unwrap_or_else(|| cfg_b.endpoints[0].url.clone());
    let rt = runtime(c.run.load.client_threads)?;
    let (a, b) = rt.block_on(async {
        crate::run::install_interrupt_handler();
        tracing::info!("side A: {}", cfg_a.label);
        let a = crate::run::run(&c.phases, Arc::clone(&w), &cfg_a).await?;
        tracing::info!("side B: {}", cfg_b.label);
        let b = crate::run::run(&c.phases, Arc::clone(&w), &cfg_b).await?;
        Ok::<_, BenchError>((a, b))
    })?;
    let errors = a.errors + b.errors;
    let report = CompareReport::new(a, b);
    for (k, v) in &report.ratios {
        eprintln!("ratio {k} ({} / {}): {v:.2}", cfg_b.label, cfg_a.label);
    }
    outputs(&c.run.output, &report, || report::compare_html(&report))?;
    let ramp_only = c.phases.iter().all(|p| *p == Phase::Ramp);
    Ok(if errors > 0 && !ramp_only {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn sink(s: &SinkArgs) -> Result<ExitCode, BenchError> {
    let rt = runtime(Some(s.threads))?;
    rt.block_on(async {
        let addr = format!("{}:{}", s.bind, s.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .map_err(|source| BenchError::Listen {
                addr: addr.clone(),
                source,
            })?;
        tracing::info!("null sink listening on http://{addr}");
        let counters = Arc::new(crate::sink::SinkCounters::default());
        tokio::spawn(crate::sink::report_forever(
            Arc::clone(&counters),
            s.count_lines,
        ));
        tokio::select! {
            _ = crate::sink::serve(listener, counters, s.count_lines) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn generate(g: &GenerateArgs) -> Result<ExitCode, BenchError> {
    use std::io::Write;
    let w = build_workload(&g.workload)?;
    let n = g.batches.unwrap_or(w.batches());
    let (path, sink): (PathBuf, Box<dyn Write>) = match &g.out {
        Some(p) => (
            p.clone(),
            Box::new(
                std::fs::File::create(p).map_err(|source| BenchError::Output {
                    path: p.clone(),
                    source,
                })?,
            ),
        ),
        None => ("<stdout>".into(), Box::new(std::io::stdout().lock())),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, sink);
    let mut buf = Vec::with_capacity(1 << 20);
    for idx in 0..n {
        w.render(idx, &mut buf);
        out.write_all(&buf)
            .and_then(|_| if idx + 1 == n { out.flush() } else { Ok(()) })
            .map_err(|source| BenchError::Output {
                path: path.clone(),
                source,
            })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let res = match &cli.command {
        Command::Write(a) => run_phase(Phase::Write, a, cli.quiet),
        Command::Query(a) => run_phase(Phase::Query, a, cli.quiet),
        Command::Mixed(a) => run_phase(Phase::Mixed, a, cli.quiet),
        Command::Ramp(a) => run_phase(Phase::Ramp, a, cli.quiet),
        Command::Compare(c) => compare(c, cli.quiet),
        Command::Sink(s) => sink(s),
        Command::Generate(g) => generate(g),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
    }
}
