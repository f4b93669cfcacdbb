//! `tessera-bench`: the capacity benchmark of Tessera, for any InfluxDB 1.x-compatible
//! endpoint. It generates line protocol deterministically (or reads a file), writes it
//! with many keep-alive connections (round-robin over several data nodes), runs a typical
//! query set, finds the highest write rate that still meets a latency objective (`ramp`),
//! runs the same thing against two endpoints (`compare`), and writes a JSON result and a
//! self-contained HTML report. It reports its own CPU, so it can be shown not to be the
//! bottleneck, and ships a null sink to measure its own ceiling.
//!
//! Layout:
//! - `cli` — the command line (clap), building the workload and the run configuration.
//! - `workload` — the devops and IoT generators, line-protocol files.
//! - `numfmt` — integer/decimal rendering for the generators' hot loop.
//! - `http` — endpoints and the hyper connection each worker owns.
//! - `load` — generator threads, write workers, the pacer, query workers.
//! - `stats`, `hist` — outcomes, per-second/per-step spans, the latency histogram.
//! - `run` — the phases: write, query, mixed; `ramp` — the ramp to an objective;
//!   `sampler` — one sample a second and the progress line.
//! - `queries` — the built-in query set and query files.
//! - `result`, `report` — the JSON result and the HTML report with SVG plots.
//! - `procstat` — CPU and RSS from /proc (ours and the server's).
//! - `progress` — the terminal progress line.
//! - `sink` — the null HTTP sink.

pub mod cli;
pub mod hist;
pub mod http;
pub mod load;
pub mod numfmt;
pub mod procstat;
pub mod progress;
pub mod queries;
pub mod ramp;
pub mod report;
pub mod result;
pub mod run;
pub mod sampler;
pub mod sink;
pub mod stats;
pub mod workload;

use std::path::PathBuf;

/// Everything that stops a run before it has a result.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Http(#[from] http::HttpError),
    #[error("preparing the database failed: {0}")]
    Admin(String),
    #[error("no queries to run: give --queries FILE or drop --no-builtin (a file workload has no built-in set beyond SHOW statements)")]
    NoQueries,
    #[error("cannot read {path}: {source}")]
    Input {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the result: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid arguments: {0}")]
    Args(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}
