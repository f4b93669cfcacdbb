//! `influxd`: the Tessera data node.

use std::process::ExitCode;

use clap::Parser;
use tessera_data::cli::{normalize_args, Cli, Command, RunArgs};
use tessera_data::config::{self, Config};
use tessera_data::node;
use tessera_meta_client::api::VERSION;
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // What influxd's GOMAXPROCS would be here: the GOMAXPROCS environment variable, as
    // Go reads it, else the CPUs this process may use, read before any thread is pinned.
    let procs = std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    tessera_query::finish::set_go_maxprocs(procs);
    let cli = Cli::parse_from(normalize_args(std::env::args_os()));
    let result = match cli.command {
        None => run(cli.run),
        Some(Command::Run(args)) => run(args),
        Some(Command::Config(args)) => print_config(args.config.as_deref()),
        Some(Command::Export(args)) => export(args),
        Some(Command::Version) => {
            println!("InfluxDB v{VERSION} (Tessera, build ENT)");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn export(args: tessera_data::cli::ExportArgs) -> anyhow::Result<()> {
    let loaded = config::load(args.config.as_deref())?;
    let spec = tessera_data::export::ExportSpec {
        data_dir: args.datadir.unwrap_or(loaded.config.data.dir),
        wal_dir: args.waldir.unwrap_or(loaded.config.data.wal_dir),
        database: args.database,
        retention: args.retention,
        start: match &args.start {
            Some(s) => tessera_data::export::parse_time(s)?,
            None => i64::MIN,
        },
        end: match &args.end {
            Some(s) => tessera_data::export::parse_time(s)?,
            None => i64::MAX,
        },
    };
    let lines = tessera_data::export::run(spec, &args.out)?;
    eprintln!("exported {lines} value(s)");
    Ok(())
}

fn print_config(path: Option<&std::path::Path>) -> anyhow::Result<()> {
    let loaded = config::load(path)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    print!("{}", loaded.config.to_toml());
    Ok(())
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let loaded = config::load(args.config.as_deref())?;
    init_logging(&loaded.config);
    match &args.config {
        Some(p) => tracing::info!(path = %p.display(), "loaded config"),
        None => tracing::info!("no config file given (-config); using defaults"),
    }
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    if let Some(pidfile) = &args.pidfile {
        std::fs::write(pidfile, format!("{}\n", std::process::id()))
            .map_err(|e| anyhow::anyhow!("cannot write pid file {}: {e}", pidfile.display()))?;
    }
    let result = node::run(loaded.config);
    if let Some(pidfile) = &args.pidfile {
        let _ = std::fs::remove_file(pidfile);
    }
    Ok(result?)
}

/// Logs go to stderr at `[logging] level`; `RUST_LOG` overrides it.
fn init_logging(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.logging.level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
