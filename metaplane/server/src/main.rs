//! `influxd-meta`: the Tessera meta node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_meta::config::{RawConfig, DEFAULT_CONFIG};

/// Tessera meta node: replicated cluster metadata (raft on 8089, API on 8091).
#[derive(Parser)]
#[command(name = "influxd-meta", version = tessera_meta_client::api::VERSION)]
struct Cli {
    /// Config file (TOML); `influxd-meta config` prints the defaults.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the default configuration.
    Config,
    /// Run the meta node (the default).
    Run,
    /// Print the version.
    Version,
}

/// Go's flag package accepts `-config`; clap wants `--config`.
fn normalise_args() -> Vec<String> {
    std::env::args()
        .enumerate()
        .map(|(i, a)| {
            if i > 0 && a.starts_with('-') && !a.starts_with("--") && a.len() > 2 {
                format!("-{a}")
            } else {
                a
            }
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(normalise_args());
    match cli.command {
        Some(Cmd::Config) => {
            print!("{DEFAULT_CONFIG}");
            return ExitCode::SUCCESS;
        }
        Some(Cmd::Version) => {
            println!("influxd-meta {}", tessera_meta_client::api::VERSION);
            return ExitCode::SUCCESS;
        }
        Some(Cmd::Run) | None => {}
    }
    let (cfg, unknown) = match RawConfig::load(cli.config.as_deref())
        .and_then(|(raw, unknown)| Ok((raw.validate()?, unknown)))
    {
        Ok(v) => v,
        Err(e) => {
            eprintln!("influxd-meta: {e}");
            return ExitCode::FAILURE;
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{},openraft=warn", cfg.log_level))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    for key in unknown {
        tracing::warn!(%key, "ignoring a config key Tessera does not use");
    }
    // The license is checked before any port is bound.
    let license = match tessera_license::License::from_config(&cfg.license_key, &cfg.license_path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("influxd-meta: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        licensee = %license.claims.licensee,
        max_data_nodes = license.claims.max_data_nodes,
        max_cores = license.claims.max_cores,
        expires = %license.expires_rfc3339(),
        "license verified"
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("influxd-meta: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(tessera_meta::run(cfg, license, shutdown_signal()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("influxd-meta: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}
