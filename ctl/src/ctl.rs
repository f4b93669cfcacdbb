//! `influxd-ctl`: InfluxDB Enterprise's cluster administration verbs over the meta API.
//! Every verb validates its arguments before anything is sent, and every failure is one
//! line on stderr (`<verb>: operation exited with error: <message>`) with exit status 1.

use std::ffi::OsString;
use std::io::{BufRead, Write};

use clap::{Parser, Subcommand, ValueEnum};
use tessera_meta_client::client::Credentials;
use tessera_meta_client::{ClientError, MetaClient};

use crate::addr::{hostname, parse_host_port};
use crate::show;

/// Flags that take a value, so that [`crate::normalize_args`] leaves their value alone.
pub const VALUE_FLAGS: &[&str] = &[
    "bind",
    "auth-type",
    "user",
    "pwd",
    "secret",
    "meta-addr",
    "data-addr",
];

/// Manage an InfluxDB Enterprise-compatible Tessera cluster through its meta nodes.
#[derive(Debug, Parser)]
#[command(name = "influxd-ctl", version = tessera_meta_client::api::VERSION)]
pub struct Cli {
    /// Meta node HTTP address to talk to.
    #[arg(long, global = true, default_value = "localhost:8091", value_parser = parse_host_port)]
    pub bind: String,
    /// How to authenticate to the meta node.
    #[arg(long = "auth-type", global = true, value_enum, default_value_t = AuthType::None)]
    pub auth_type: AuthType,
    /// User name for basic authentication.
    #[arg(long, global = true, default_value = "", hide_default_value = true)]
    pub user: String,
    /// Password for basic authentication.
    #[arg(long, global = true, default_value = "", hide_default_value = true)]
    pub pwd: String,
    /// Shared secret for JWT authentication.
    #[arg(long, global = true, default_value = "", hide_default_value = true)]
    pub secret: String,
    /// Skip TLS certificate verification (accepted for compatibility; the meta API is plain HTTP).
    #[arg(short = 'k', global = true)]
    pub skip_verify: bool,
    #[command(subcommand)]
    pub verb: Verb,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthType {
    None,
    Basic,
    Jwt,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Add a meta node to the cluster (its HTTP address, host:8091).
    AddMeta {
        #[arg(value_parser = parse_host_port)]
        addr: String,
    },
    /// Remove a meta node from the cluster (its HTTP address, host:8091).
    RemoveMeta {
        /// Remove the node even if it cannot be reached.
        #[arg(long)]
        force: bool,
        #[arg(value_parser = parse_host_port)]
        addr: String,
    },
    /// Add a data node to the cluster (its TCP address, host:8088).
    AddData {
        #[arg(value_parser = parse_host_port)]
        addr: String,
    },
    /// Remove a data node from the cluster (its TCP address, host:8088).
    RemoveData {
        /// Remove the node even if it cannot be reached.
        #[arg(long)]
        force: bool,
        #[arg(value_parser = parse_host_port)]
        addr: String,
    },
    /// Record that a data node moved from one TCP address to another.
    UpdateData {
        #[arg(value_parser = parse_host_port)]
        old: String,
        #[arg(value_parser = parse_host_port)]
        new: String,
    },
    /// Show the data and meta nodes of the cluster.
    Show,
    /// Show every shard, its time range and its owners.
    ShowShards {
        /// Also each owner's bytes on disk and each shard's state (hot: its group is
        /// current; cold: past).
        #[arg(short = 'v')]
        verbose: bool,
    },
    /// Join the local meta node (at -bind) and the local data node to a cluster.
    Join {
        /// Address the local meta node is reached at (default: what it reports at /node-info).
        #[arg(long = "meta-addr", value_parser = parse_host_port)]
        meta_addr: Option<String>,
        /// TCP address of the local data node, or `none` (default: <hostname>:8088).
        #[arg(long = "data-addr")]
        data_addr: Option<String>,
        /// HTTP address of a meta node of the cluster to join (host:8091).
        #[arg(value_parser = parse_host_port)]
        cluster: String,
    },
    /// Remove the local meta node (at -bind) and the local data node from their cluster.
    Leave {
        /// Do not ask for confirmation.
        #[arg(short = 'y')]
        yes: bool,
        /// TCP address of the local data node, or `none` (default: <hostname>:8088).
        #[arg(long = "data-addr")]
        data_addr: Option<String>,
    },
    /// Show the license entitlements in force.
    License,
}

impl Verb {
    pub fn name(&self) -> &'static str {
        match self {
            Verb::AddMeta { .. } => "add-meta",
            Verb::RemoveMeta { .. } => "remove-meta",
            Verb::AddData { .. } => "add-data",
            Verb::RemoveData { .. } => "remove-data",
            Verb::UpdateData { .. } => "update-data",
            Verb::Show => "show",
            Verb::ShowShards { .. } => "show-shards",
            Verb::Join { .. } => "join",
            Verb::Leave { .. } => "leave",
            Verb::License => "license",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    #[error("{verb}: unable to reach meta node at {bind}: {reason}")]
    Unreachable {
        verb: &'static str,
        bind: String,
        reason: String,
    },
    #[error("{verb}: operation exited with error: {message}")]
    Operation { verb: &'static str, message: String },
    /// Arguments refused before anything was sent.
    #[error("{verb}: {message}")]
    Usage { verb: &'static str, message: String },
}

impl CtlError {
    /// 2 for bad arguments (as clap), 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CtlError::Usage { .. } => 2,
            _ => 1,
        }
    }

    fn from_client(verb: &'static str, bind: &str, err: ClientError) -> Self {
        match err {
            ClientError::Unreachable { reason, .. } => CtlError::Unreachable {
                verb,
                bind: bind.to_string(),
                reason,
            },
            other => CtlError::Operation {
                verb,
                message: other.to_string(),
            },
        }
    }
}

/// Parses the command line (Go-style flags accepted) or exits as clap does.
pub fn parse<I, S>(args: I) -> Cli
where
    I: IntoIterator<Item = S>,
    S: Into<OsString>,
{
    Cli::parse_from(crate::normalize_args(args, VALUE_FLAGS))
}

/// Runs one verb, writing its report to `out`.
pub async fn run(cli: &Cli, out: &mut dyn Write) -> Result<(), CtlError> {
    match run_verb(cli, out).await {
        Err(CtlError::Unreachable { verb, bind, reason }) => Err(CtlError::Unreachable {
            reason: explain_unreachable(&bind, reason).await,
            verb,
            bind,
        }),
        other => other,
    }
}

/// The HTTP client's "error sending request" hides the cause; a plain connect to the
/// same address tells the operator what is wrong (refused, no route, timeout).
async fn explain_unreachable(addr: &str, reason: String) -> String {
    let connect = tokio::net::TcpStream::connect(addr);
    match tokio::time::timeout(std::time::Duration::from_secs(2), connect).await {
        Ok(Err(e)) => e.to_string(),
        Err(_) => "connection timed out".into(),
        Ok(Ok(_)) => reason,
    }
}

async fn run_verb(cli: &Cli, out: &mut dyn Write) -> Result<(), CtlError> {
    let verb = cli.verb.name();
    let usage = |message: String| CtlError::Usage { verb, message };
    let client = |addr: &str| -> Result<MetaClient, CtlError> {
        let c = MetaClient::new(vec![addr.to_string()]);
        match cli.auth_type {
            AuthType::None => Ok(c),
            AuthType::Basic if cli.user.is_empty() => {
                Err(usage("-auth-type basic needs -user and -pwd".into()))
            }
            AuthType::Basic => Ok(c.with_credentials(Credentials {
                user: cli.user.clone(),
                password: cli.pwd.clone(),
            })),
            AuthType::Jwt => Err(usage(
                "-auth-type jwt is not supported by this build; use -auth-type basic".into(),
            )),
        }
    };
    let bind = cli.bind.as_str();
    let fail = |e: ClientError| CtlError::from_client(verb, bind, e);
    let mut say = |line: String| {
        let _ = writeln!(out, "{line}");
    };
    match &cli.verb {
        Verb::AddMeta { addr } => {
            let node = client(bind)?.add_meta(addr).await.map_err(fail)?;
            say(format!(
                "Added meta node {} at {}",
                node.id,
                shown(&node.http_addr, addr)
            ));
        }
        Verb::RemoveMeta { force, addr } => {
            client(bind)?
                .remove_meta(addr, *force)
                .await
                .map_err(fail)?;
            say(format!("Removed meta node at {addr}"));
        }
        Verb::AddData { addr } => {
            let node = client(bind)?.add_data(addr).await.map_err(fail)?;
            say(format!(
                "Added data node {} at {}",
                node.id,
                shown(&node.addr, addr)
            ));
        }
        Verb::RemoveData { force, addr } => {
            client(bind)?
                .remove_data(addr, *force)
                .await
                .map_err(fail)?;
            say(format!("Removed data node at {addr}"));
        }
        Verb::UpdateData { old, new } => {
            let node = client(bind)?.update_data(old, new).await.map_err(fail)?;
            say(format!(
                "updated data node {} to {}",
                node.id,
                shown(&node.addr, new)
            ));
        }
        Verb::Show => {
            let cluster = client(bind)?.show_cluster().await.map_err(fail)?;
            say(show::render_cluster(&cluster).trim_end().to_string());
        }
        Verb::ShowShards { verbose } => {
            let c = client(bind)?;
            let shards = c.show_shards().await.map_err(fail)?;
            if *verbose {
                let cluster = c.show_cluster().await.map_err(fail)?;
                let sizes = show::fetch_shard_sizes(&cluster).await;
                say(
                    show::render_shards_verbose(&shards, &sizes, show::now_nanos())
                        .trim_end()
                        .to_string(),
                );
            } else {
                say(show::render_shards(&shards).trim_end().to_string());
            }
        }
        Verb::License => {
            let license = client(bind)?.license().await.map_err(fail)?;
            say(show::render_license(&license).trim_end().to_string());
        }
        Verb::Join {
            meta_addr,
            data_addr,
            cluster,
        } => {
            let data_addr = local_data_addr(data_addr.as_deref()).map_err(usage)?;
            let local = client(bind)?;
            let remote = client(cluster)?;
            let cluster_fail = |e: ClientError| CtlError::from_client(verb, cluster, e);
            let meta_addr = match meta_addr {
                Some(a) => Some(a.clone()),
                None => match local.node_info().await {
                    Ok(info) => Some(info.http_addr),
                    Err(ClientError::Unreachable { reason, .. }) => {
                        say(format!(
                            "No meta node answers at {bind} ({reason}); not joining a meta node"
                        ));
                        None
                    }
                    Err(e) => return Err(fail(e)),
                },
            };
            if let Some(meta_addr) = meta_addr {
                say(format!("Joining meta node at {meta_addr}"));
                let node = remote.add_meta(&meta_addr).await.map_err(cluster_fail)?;
                say(format!(
                    "Added meta node {} at {}",
                    node.id,
                    shown(&node.http_addr, &meta_addr)
                ));
            }
            if let Some(data_addr) = data_addr {
                let node = remote.add_data(&data_addr).await.map_err(cluster_fail)?;
                say(format!(
                    "Added data node {} at {}",
                    node.id,
                    shown(&node.addr, &data_addr)
                ));
            }
        }
        Verb::Leave { yes, data_addr } => {
            let data_addr = local_data_addr(data_addr.as_deref()).map_err(usage)?;
            if !yes && !confirm(bind, data_addr.as_deref())? {
                return Err(CtlError::Operation {
                    verb,
                    message: "not confirmed; nothing was changed (use -y to skip the question)"
                        .into(),
                });
            }
            let local = client(bind)?;
            // The data node goes first: once the local meta node has left, it can no
            // longer carry the data node's removal to the cluster.
            if let Some(data_addr) = data_addr {
                local.remove_data(&data_addr, false).await.map_err(fail)?;
                say(format!("Removed data node at {data_addr}"));
            }
            let meta_addr = match local.node_info().await {
                Ok(info) => info.http_addr,
                Err(_) => bind.to_string(),
            };
            local.leave().await.map_err(fail)?;
            say(format!("Removed meta node at {meta_addr}"));
            say("Successfully left cluster".into());
        }
    }
    Ok(())
}

/// The address the server recorded, or what the user typed if it sent none back.
fn shown<'a>(reported: &'a str, asked: &'a str) -> &'a str {
    if reported.is_empty() {
        asked
    } else {
        reported
    }
}

/// The local data node for `join`/`leave`: `-data-addr`, `none`, or `<hostname>:8088`.
fn local_data_addr(flag: Option<&str>) -> Result<Option<String>, String> {
    match flag {
        Some("none") => Ok(None),
        Some(a) => parse_host_port(a).map(Some).map_err(|e| e.to_string()),
        None => Ok(Some(format!("{}:8088", hostname()))),
    }
}

/// Asks on the terminal before `leave` (as Enterprise does); anything but y/yes, or a
/// closed stdin, declines.
fn confirm(bind: &str, data_addr: Option<&str>) -> Result<bool, CtlError> {
    let mut err = std::io::stderr();
    let data = data_addr
        .map(|a| format!(" and data node {a}"))
        .unwrap_or_default();
    let _ = write!(
        err,
        "Remove the meta node at {bind}{data} from the cluster? (y/N): "
    );
    let _ = err.flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(_) => Ok(matches!(
            line.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        )),
        Err(_) => Ok(false),
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
    fn parses_go_style_command_lines() {
        let cli = parse([
            "influxd-ctl",
            "-bind",
            "m:8091",
            "remove-data",
            "-force",
            "d:8088",
        ]);
        assert_eq!(cli.bind, "m:8091");
        assert!(matches!(cli.verb, Verb::RemoveData { force: true, ref addr } if addr == "d:8088"));
        let cli = parse(["influxd-ctl", "show", "-bind", "m:1", "-k"]);
        assert_eq!(cli.bind, "m:1");
        assert!(cli.skip_verify);
        let cli = parse(["influxd-ctl", "join", "-data-addr", "none", "c:8091"]);
        assert!(
            matches!(cli.verb, Verb::Join { ref data_addr, .. } if data_addr.as_deref() == Some("none"))
        );
    }

    #[test]
    fn refuses_addresses_without_port() {
        let args = crate::normalize_args(["influxd-ctl", "add-data", "host"], VALUE_FLAGS);
        assert!(Cli::try_parse_from(args).is_err());
        let args = crate::normalize_args(["influxd-ctl", "-bind", "x", "show"], VALUE_FLAGS);
        assert!(Cli::try_parse_from(args).is_err());
        assert!(Cli::try_parse_from(["influxd-ctl", "frobnicate"]).is_err());
        assert!(Cli::try_parse_from(["influxd-ctl", "add-meta"]).is_err());
    }

    #[test]
    fn local_data_addr_defaults_to_hostname() {
        assert_eq!(local_data_addr(Some("none")), Ok(None));
        assert_eq!(local_data_addr(Some("a:1")), Ok(Some("a:1".into())));
        assert!(local_data_addr(Some("a")).is_err());
        assert!(local_data_addr(None).unwrap().unwrap().ends_with(":8088"));
    }
}
