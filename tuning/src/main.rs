//! `tessera-tune`: a read-only host check and disk probe to run before deploying Tessera
//! data nodes. It reports what would make a data node refuse to start (no io_uring, too
//! little locked memory) or run slower than it should (frequency scaling, THP, swap, the
//! wrong filesystem), measures the data disk through the same io_uring/O_DIRECT path the
//! storage engine uses, and can write a `[data]` config fragment sized for the host.
//!
//! Layout:
//! - `main.rs` — the command line and the report (table or JSON), exit code.
//! - `finding.rs` — one check's result (ok/warn/fail with a fix) and the table.
//! - `host.rs` — kernel, io_uring, memlock, CPUs, governor, isolcpus, THP, swap.
//! - `disk.rs` — per data dir: mount (from mountinfo), filesystem, options, free space.
//! - `probe.rs` — glommio disk probe: write MB/s, fdatasync latency, random-read IOPS.
//! - `config_out.rs` — the recommended influxd `[data]` fragment.

mod config_out;
mod disk;
mod finding;
mod host;
mod probe;

use clap::{Parser, Subcommand};
use finding::{Finding, Status};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Host checks and a disk probe for Tessera data nodes. Read-only, except for the probe's
/// temporary file and `--config-out`.
#[derive(Debug, Parser)]
#[command(name = "tessera-tune", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the host (and optionally probe the disk), print findings.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// A data (or WAL) directory to check; repeatable. The probe uses the first.
    #[arg(long = "data-dir")]
    data_dirs: Vec<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Write a recommended influxd `[data]` fragment (TOML) to this file.
    #[arg(long)]
    config_out: Option<PathBuf>,
    /// Measure the first data dir's disk with io_uring (writes a temp file there).
    #[arg(long)]
    probe: bool,
    /// Most MiB the probe writes.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    probe_size: u64,
    /// Roughly how long the probe runs, in seconds.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    probe_seconds: u64,
}

#[derive(Debug, thiserror::Error)]
enum TuneError {
    #[error("--probe needs a --data-dir to write its temp file in")]
    ProbeWithoutDir,
    #[error("cannot write {path}: {source}")]
    ConfigOut {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Debug, Serialize)]
struct Report {
    findings: Vec<Finding>,
    /// Present when `--probe` ran and succeeded.
    probe: Option<probe::ProbeResult>,
    /// Why the probe did not run or failed, when `--probe` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    probe_error: Option<String>,
    /// The config fragment's path, when `--config-out` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    config_out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Command::Check(args) = cli.command;
    match check(&args) {
        Ok(report) => {
            if report.findings.iter().any(|f| f.status == Status::Fail)
                || report.probe_error.is_some()
            {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("tessera-tune: {e}");
            ExitCode::from(2)
        }
    }
}

fn check(args: &CheckArgs) -> Result<Report, TuneError> {
    if args.probe && args.data_dirs.is_empty() {
        return Err(TuneError::ProbeWithoutDir);
    }
    let mut findings = host::findings();
    for (i, dir) in args.data_dirs.iter().enumerate() {
        findings.extend(disk::findings(i, dir));
    }
    let (mut probe, mut probe_error) = (None, None);
    if args.probe {
        let io_uring_ok = findings
            .iter()
            .any(|f| f.name == "io_uring" && f.status == Status::Ok);
        if !io_uring_ok {
            probe_error =
                Some("skipped: io_uring is unavailable (see the io_uring finding)".into());
        } else {
            let limits = probe::ProbeLimits {
                size_bytes: args.probe_size << 20,
                duration: Duration::from_secs(args.probe_seconds),
            };
            if !args.json {
                eprintln!(
                    "probing {} (up to {} MiB, ~{} s)…",
                    args.data_dirs[0].display(),
                    args.probe_size,
                    args.probe_seconds
                );
            }
            match probe::run(&args.data_dirs[0], limits) {
                Ok(r) => probe = Some(r),
                Err(e) => probe_error = Some(e.to_string()),
            }
        }
    }
    if let Some(path) = &args.config_out {
        let mem = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| config_out::mem_total(&s))
            .unwrap_or(0);
        let rec = config_out::recommend(host::cpus(), mem);
        std::fs::write(path, config_out::render(&rec)).map_err(|source| TuneError::ConfigOut {
            path: path.clone(),
            source,
        })?;
    }
    let report = Report {
        findings,
        probe,
        probe_error,
        config_out: args.config_out.clone(),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(report)
}

fn print_table(report: &Report) {
    print!("{}", finding::table(&report.findings));
    if let Some(p) = &report.probe {
        println!();
        println!("disk probe of {}", p.dir.display());
        println!(
            "  sequential write  {:>10.1} MB/s   ({} written, 1 MiB DMA writes)",
            p.write_mb_per_s,
            disk::human(p.write_bytes)
        );
        println!(
            "  fdatasync         p50 {:.0} µs  p99 {:.0} µs  max {:.0} µs   ({} appends of 4 KiB)",
            p.fsync_p50_us, p.fsync_p99_us, p.fsync_max_us, p.fsync_samples
        );
        for r in &p.read_iops {
            println!("  random 4 KiB read QD{:<2} {:>10.0} IOPS", r.depth, r.iops);
        }
    }
    if let Some(e) = &report.probe_error {
        println!("\ndisk probe: {e}");
    }
    if let Some(path) = &report.config_out {
        println!(
            "\nwrote the recommended [data] fragment to {}",
            path.display()
        );
    }
    let fails = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .count();
    let warns = report
        .findings
        .iter()
        .filter(|f| f.status == Status::Warn)
        .count();
    println!("\n{fails} fail, {warns} warn");
}
