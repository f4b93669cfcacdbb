//! The `influxd` command line, in influxd's shape: `influxd [run] -config FILE`,
//! `influxd config`, `influxd version`. Go's flag package takes long flags with one dash
//! (`-config`), so those are rewritten to clap's `--config` first.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Tessera data node (InfluxDB Enterprise compatible).
#[derive(Debug, Parser)]
#[command(name = "influxd", version = tessera_meta_client::api::VERSION)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the data node (the default).
    Run(RunArgs),
    /// Print the configuration: the defaults, or FILE with environment overrides applied.
    Config(ConfigArgs),
    /// Print the version.
    Version,
    /// Write stored points as line protocol, like `influx_inspect export`.
    Export(ExportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Configuration file to take `[data] dir` and `wal-dir` from.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (overrides the config's `[data] dir`).
    #[arg(long)]
    pub datadir: Option<PathBuf>,
    /// WAL directory (overrides the config's `[data] wal-dir`).
    #[arg(long)]
    pub waldir: Option<PathBuf>,
    /// Only this database.
    #[arg(long)]
    pub database: Option<String>,
    /// Only this retention policy.
    #[arg(long)]
    pub retention: Option<String>,
    /// Earliest time to export: RFC 3339 or nanoseconds since the epoch.
    #[arg(long)]
    pub start: Option<String>,
    /// Latest time to export: RFC 3339 or nanoseconds since the epoch.
    #[arg(long)]
    pub end: Option<String>,
    /// Output file (`-` for standard output).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Configuration file.
    #[arg(long, env = "INFLUXDB_CONFIG_PATH")]
    pub config: Option<PathBuf>,
    /// Write the process id to this file.
    #[arg(long)]
    pub pidfile: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Configuration file to print, merged over the defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Rewrites Go-style long flags (`-config`, `-config=x`) to `--config`. Single-letter
/// flags (`-h`, `-V`) and everything after `--` stay as they are.
pub fn normalize_args<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut passthrough = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || passthrough {
            out.push(arg);
            continue;
        }
        match arg.to_str() {
            Some("--") => {
                passthrough = true;
                out.push(arg);
            }
            Some(s) if is_go_long_flag(s) => out.push(format!("-{s}").into()),
            _ => out.push(arg),
        }
    }
    out
}

fn is_go_long_flag(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    let name = rest.split('=').next().unwrap_or("");
    !rest.starts_with('-') && name.len() >= 2 && name.starts_with(|c: char| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(args: &[&str]) -> Vec<String> {
        normalize_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_flags_become_long_flags() {
        assert_eq!(
            norm(&["influxd", "-config", "/etc/x", "-h", "--pidfile", "p"]),
            ["influxd", "--config", "/etc/x", "-h", "--pidfile", "p"]
        );
        assert_eq!(
            norm(&["influxd", "run", "-config=/a", "--", "-config"]),
            ["influxd", "run", "--config=/a", "--", "-config"]
        );
    }

    #[test]
    fn parses_influxd_shapes() {
        let cli = Cli::try_parse_from(normalize_args(
            ["influxd", "-config", "/etc/influxdb/influxdb.conf"].map(OsString::from),
        ))
        .unwrap();
        assert!(cli.command.is_none());
        assert_eq!(
            cli.run.config,
            Some(PathBuf::from("/etc/influxdb/influxdb.conf"))
        );
        let cli = Cli::try_parse_from(["influxd", "run", "--config", "/c"]).unwrap();
        assert!(
            matches!(cli.command, Some(Command::Run(ref r)) if r.config == Some(PathBuf::from("/c")))
        );
        let cli = Cli::try_parse_from(["influxd", "config"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Config(ref c)) if c.config.is_none()));
    }
}
