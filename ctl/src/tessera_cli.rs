//! The `tessera` command line: `up`, `status`, `down` and `license`.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::launcher::{self, LaunchError, UpOptions};
use crate::license_cmd::{self, IssueOptions, LicenseCmdError};
use crate::ports::DEFAULT_BASE_PORT;

/// Flags that take a value (see [`crate::normalize_args`]).
const VALUE_FLAGS: &[&str] = &[
    "dir",
    "meta",
    "data",
    "base-port",
    "license",
    "signing-key",
    "licensee",
    "max-data-nodes",
    "max-cores",
    "expires",
    "key-id",
    "out",
];

/// Tessera: try a clustered, InfluxDB Enterprise-compatible time-series database locally.
#[derive(Debug, Parser)]
#[command(name = "tessera", version = tessera_meta_client::api::VERSION)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a local cluster on 127.0.0.1 with the bundled trial license.
    ///
    /// Port layout, from the base port P (default 18086):
    ///   data node i (0-based): HTTP P+10*i, cluster TCP P+10*i+2
    ///   meta node j (0-based): raft P+100+10*j+3, HTTP P+100+10*j+5
    /// So by default: data nodes 18086/18088 and 18096/18098; meta nodes HTTP 18191,
    /// 18201, 18211 (raft 18189, 18199, 18209).
    ///
    /// Each node gets DIR/meta-N/ or DIR/data-N/ with its config and log; DIR/cluster.json
    /// records them all. `influxd-meta` and `influxd` are taken from next to this
    /// executable, else from PATH. Without --detach, tessera stays in the foreground and
    /// stops the cluster on Ctrl-C or SIGTERM; nothing on disk is removed.
    #[command(verbatim_doc_comment)]
    Up {
        /// Directory for the nodes' data, configs, logs and cluster.json.
        #[arg(long, default_value = "./tessera-data")]
        dir: PathBuf,
        /// Number of meta nodes (1, 3 or 5 make sense for raft).
        #[arg(long, default_value_t = 3)]
        meta: usize,
        /// Number of data nodes.
        #[arg(long, default_value_t = 2)]
        data: usize,
        /// First port of the layout above.
        #[arg(long = "base-port", default_value_t = DEFAULT_BASE_PORT)]
        base_port: u16,
        /// License file to use instead of the bundled trial license.
        #[arg(long)]
        license: Option<PathBuf>,
        /// Leave the cluster running in the background and exit.
        #[arg(long)]
        detach: bool,
    },
    /// Check every node of a local cluster; exit status 0 only when all are healthy.
    Status {
        #[arg(long, default_value = "./tessera-data")]
        dir: PathBuf,
        /// Print {"healthy": bool, "nodes": [{"role", "id", "pid", "http", "tcp", "dir", ...}]}.
        #[arg(long)]
        json: bool,
    },
    /// Stop every node of a local cluster (data nodes first; SIGKILL after 10 s).
    Down {
        #[arg(long, default_value = "./tessera-data")]
        dir: PathBuf,
    },
    /// Issue, create keys for and check licenses.
    #[command(subcommand)]
    License(LicenseCommand),
}

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Sign a license and print it.
    Issue {
        /// File holding the 32-byte raw ed25519 seed of the signing key.
        #[arg(long = "signing-key")]
        signing_key: PathBuf,
        #[arg(long)]
        licensee: String,
        #[arg(long = "max-data-nodes")]
        max_data_nodes: u32,
        /// Cores each data node may use.
        #[arg(long = "max-cores")]
        max_cores: u32,
        /// Last day plus one: the license ends at 00:00 UTC of this date (YYYY-MM-DD).
        #[arg(long)]
        expires: String,
        /// Key id to put in the license (default: the trusted key matching the seed).
        #[arg(long = "key-id")]
        key_id: Option<String>,
    },
    /// Create a new signing key (mode 0600) and print its public key in hex.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a license and print what it grants.
    Show {
        /// License file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum TesseraError {
    #[error("{verb}: {source}")]
    Launch {
        verb: &'static str,
        source: LaunchError,
    },
    #[error(transparent)]
    License(#[from] LicenseCmdError),
}

/// Parses the command line (Go-style single-dash flags accepted) or exits as clap does.
pub fn parse<I, S>(args: I) -> Cli
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Cli::parse_from(crate::normalize_args(args, VALUE_FLAGS))
}

/// Runs a command; the exit status on success (`status` answers 1 when unhealthy).
pub async fn run(cli: Cli, out: &mut dyn Write) -> Result<u8, TesseraError> {
    let launch = |verb| move |source| TesseraError::Launch { verb, source };
    match cli.command {
        Command::Up {
            dir,
            meta,
            data,
            base_port,
            license,
            detach,
        } => {
            let opts = UpOptions {
                dir,
                meta,
                data,
                base_port,
                license,
                detach,
            };
            launcher::up(&opts, out).await.map_err(launch("up"))?;
            Ok(0)
        }
        Command::Status { dir, json } => {
            let healthy = launcher::status(&dir, json, out)
                .await
                .map_err(launch("status"))?;
            Ok(if healthy { 0 } else { 1 })
        }
        Command::Down { dir } => {
            launcher::down(&dir, out).await.map_err(launch("down"))?;
            Ok(0)
        }
        Command::License(LicenseCommand::Issue {
            signing_key,
            licensee,
            max_data_nodes,
            max_cores,
            expires,
            key_id,
        }) => {
            let opts = IssueOptions {
                licensee,
                max_data_nodes,
                max_cores,
                expires,
                key_id,
            };
            let text = license_cmd::issue(&signing_key, &opts)?;
            let _ = writeln!(out, "{text}");
            Ok(0)
        }
        Command::License(LicenseCommand::Keygen { out: path }) => {
            let public = license_cmd::keygen(&path)?;
            let _ = writeln!(out, "{public}");
            Ok(0)
        }
        Command::License(LicenseCommand::Show { file }) => {
            let _ = write!(out, "{}", license_cmd::show(&file)?);
            Ok(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_defaults_and_go_style_flags() {
        let cli = parse(["tessera", "up", "-dir", "/tmp/x", "--detach"]);
        match cli.command {
            Command::Up {
                dir,
                meta,
                data,
                base_port,
                license,
                detach,
            } => {
                assert_eq!(dir, PathBuf::from("/tmp/x"));
                assert_eq!((meta, data, base_port), (3, 2, 18086));
                assert!(license.is_none());
                assert!(detach);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn up_help_documents_the_port_layout() {
        let mut cmd = Cli::command();
        let up = cmd.find_subcommand_mut("up").unwrap();
        let help = up.render_long_help().to_string();
        assert!(help.contains("P+10*i+2"), "{help}");
        assert!(help.contains("18191"), "{help}");
    }
}
