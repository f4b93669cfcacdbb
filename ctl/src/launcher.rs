//! `tessera up`, `tessera status` and `tessera down`: a local cluster of `influxd-meta`
//! and `influxd` processes on 127.0.0.1 (ports in [`crate::ports`]), formed through the
//! meta API exactly as an operator would with `influxd-ctl add-meta` / `add-data`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cluster_file::{ClusterFile, ClusterFileError, NodeEntry, Role};
use crate::formation::{form, label, targets, wait_in_foreground, Running};
use crate::health;
use crate::node_config;
use crate::ports::{PortError, PortLayout};
use crate::process::{self, ProcessError, STOP_GRACE};

/// Address every local node binds and advertises.
pub const HOST: &str = "127.0.0.1";
/// How long `tessera up` waits for the cluster to become healthy.
pub const UP_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Ports(#[from] PortError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    ClusterFile(#[from] ClusterFileError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("port {port} ({what}) is already in use: {reason}; pick another --base-port")]
    PortInUse {
        port: u16,
        what: String,
        reason: String,
    },
    #[error("{dir} already has a running cluster ({label}, pid {pid}); stop it with `tessera down --dir {dir}`")]
    AlreadyRunning {
        dir: String,
        label: String,
        pid: u32,
    },
    #[error("license {path}: {reason}")]
    License { path: String, reason: String },
    /// The cluster could not be formed; everything started was stopped again.
    #[error("{0}")]
    Form(String),
    #[error("interrupted; the nodes that were started have been stopped")]
    Interrupted,
}

/// What `tessera up` was asked for.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub dir: PathBuf,
    pub meta: usize,
    pub data: usize,
    pub base_port: u16,
    pub license: Option<PathBuf>,
    pub detach: bool,
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LaunchError {
    let path = path.display().to_string();
    move |source| LaunchError::Io { what, path, source }
}

/// Waits for SIGINT, SIGTERM or SIGHUP.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        // Without signal handlers the only way out is `tessera down`; wait forever.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// Refuses a directory whose recorded nodes are still running.
fn refuse_running(dir: &Path) -> Result<(), LaunchError> {
    let file = match ClusterFile::load(dir) {
        Ok(f) => f,
        Err(ClusterFileError::Missing { .. }) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for (i, n) in file.nodes.iter().enumerate() {
        if process::is_our_node(n.pid, &n.config) {
            return Err(LaunchError::AlreadyRunning {
                dir: dir.display().to_string(),
                label: label(&file.nodes, i),
                pid: n.pid,
            });
        }
    }
    Ok(())
}

/// A node `tessera up` is about to start: its record (pid still 0) and config text.
struct Planned {
    entry: NodeEntry,
    config_text: String,
}

fn plan(dir: &Path, layout: &PortLayout, opts: &UpOptions, license: &Path) -> Vec<Planned> {
    let mut nodes = Vec::new();
    let mut add = |role: Role, n: usize, http: u16, tcp: u16| {
        let (name, config, log, config_text) = match role {
            Role::Meta => {
                let d = dir.join(format!("meta-{n}"));
                let text = node_config::meta_config(HOST, &d, tcp, http, license);
                (d, "influxd-meta.toml", "influxd-meta.log", text)
            }
            Role::Data => {
                let d = dir.join(format!("data-{n}"));
                let text = node_config::data_config(HOST, &d, tcp, http, license);
                (d, "influxd.toml", "influxd.log", text)
            }
        };
        nodes.push(Planned {
            entry: NodeEntry {
                role,
                id: 0,
                pid: 0,
                http: format!("{HOST}:{http}"),
                tcp: format!("{HOST}:{tcp}"),
                config: name.join(config),
                log: name.join(log),
                dir: name,
            },
            config_text,
        });
    };
    for j in 0..opts.meta {
        add(Role::Meta, j + 1, layout.meta_http(j), layout.meta_raft(j));
    }
    for i in 0..opts.data {
        add(Role::Data, i + 1, layout.data_http(i), layout.data_tcp(i));
    }
    nodes
}

/// Fails on the first planned port something already listens on.
fn check_ports(planned: &[Planned]) -> Result<(), LaunchError> {
    let entries: Vec<NodeEntry> = planned.iter().map(|p| p.entry.clone()).collect();
    for (i, n) in entries.iter().enumerate() {
        for (addr, kind) in [(&n.http, "http"), (&n.tcp, "tcp")] {
            if let Err(e) = std::net::TcpListener::bind(addr.as_str()) {
                return Err(LaunchError::PortInUse {
                    port: addr
                        .rsplit_once(':')
                        .and_then(|(_, p)| p.parse().ok())
                        .unwrap_or(0),
                    what: format!("{} {kind}", label(&entries, i)),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Writes each node's config and starts it; stops at the first failure (the nodes
/// already started stay in `running` so that they can be stopped).
fn start_nodes(
    planned: Vec<Planned>,
    bins: [&Path; 2],
    running: &mut Running,
) -> Result<(), LaunchError> {
    for Planned {
        mut entry,
        config_text,
    } in planned
    {
        let bin = if entry.role == Role::Meta {
            bins[0]
        } else {
            bins[1]
        };
        std::fs::create_dir_all(&entry.dir).map_err(io("cannot create", &entry.dir))?;
        std::fs::write(&entry.config, config_text).map_err(io("cannot write", &entry.config))?;
        let child = process::spawn(bin, &entry.config, &entry.log)?;
        entry.pid = child.id();
        running.file.nodes.push(entry);
        running.children.push(child);
    }
    Ok(())
}

/// `tessera up`.
pub async fn up(opts: &UpOptions, out: &mut dyn Write) -> Result<(), LaunchError> {
    let layout = PortLayout::new(opts.base_port, opts.meta, opts.data)?;
    std::fs::create_dir_all(&opts.dir).map_err(io("cannot create", &opts.dir))?;
    let dir = opts
        .dir
        .canonicalize()
        .map_err(io("cannot resolve", &opts.dir))?;
    refuse_running(&dir)?;
    let meta_bin = process::find_binary("influxd-meta")?;
    let data_bin = process::find_binary("influxd")?;
    let license = prepare_license(&dir, opts)?;
    let planned = plan(&dir, &layout, opts, &license);
    check_ports(&planned)?;

    let mut running = Running {
        file: ClusterFile {
            dir: dir.clone(),
            license,
            nodes: Vec::new(),
        },
        children: Vec::new(),
    };
    let started = start_nodes(planned, [&meta_bin, &data_bin], &mut running)
        // Recorded at once, so that `tessera down` can clean up even if forming fails.
        .and_then(|()| running.file.save(&dir).map_err(LaunchError::from));
    let formed = match started {
        Err(e) => Err(e),
        Ok(()) => {
            let _ = writeln!(
                out,
                "Started {} meta and {} data node(s) in {}; forming the cluster...",
                opts.meta,
                opts.data,
                dir.display()
            );
            let _ = out.flush();
            tokio::select! {
                r = form(&mut running) => r,
                () = shutdown_signal() => Err(LaunchError::Interrupted),
            }
        }
    };
    if let Err(e) = formed.and_then(|()| running.file.save(&dir).map_err(LaunchError::from)) {
        let _ = writeln!(out, "tessera up failed; stopping the nodes.");
        running.stop(out).await;
        return Err(e);
    }
    print_endpoints(&running.file, out);
    if opts.detach {
        return Ok(());
    }
    let _ = writeln!(
        out,
        "\nRunning in the foreground; Ctrl-C (or SIGTERM) stops the cluster."
    );
    let _ = out.flush();
    wait_in_foreground(&mut running, out).await;
    let _ = writeln!(out, "Stopping the cluster...");
    running.stop(out).await;
    Ok(())
}

fn prepare_license(dir: &Path, opts: &UpOptions) -> Result<PathBuf, LaunchError> {
    let (path, text) = match &opts.license {
        Some(p) => {
            let path = std::path::absolute(p).map_err(io("cannot resolve", p))?;
            let text = std::fs::read_to_string(&path).map_err(io("cannot read license", &path))?;
            (path, text)
        }
        None => {
            let path = dir.join("trial.license");
            std::fs::write(&path, tessera_license::TRIAL_LICENSE)
                .map_err(io("cannot write", &path))?;
            (path, tessera_license::TRIAL_LICENSE.to_string())
        }
    };
    let license = tessera_license::verify(&text, std::time::SystemTime::now()).map_err(|e| {
        LaunchError::License {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    })?;
    if opts.data as u64 > u64::from(license.claims.max_data_nodes) {
        return Err(LaunchError::License {
            path: path.display().to_string(),
            reason: format!(
                "it allows {} data node(s), --data asks for {}",
                license.claims.max_data_nodes, opts.data
            ),
        });
    }
    Ok(path)
}

fn print_endpoints(file: &ClusterFile, out: &mut dyn Write) {
    let dir = file.dir.display();
    let _ = writeln!(out, "\nTessera cluster is up in {dir}\n");
    let mut table = crate::show::Table::new(["NODE", "HTTP", "TCP", "LOG"]);
    for (i, n) in file.nodes.iter().enumerate() {
        table.row([
            label(&file.nodes, i),
            n.http.clone(),
            n.tcp.clone(),
            n.log.display().to_string(),
        ]);
    }
    let _ = write!(out, "{}", table.render());
    let data = file
        .data_nodes()
        .next()
        .map(|n| n.http.clone())
        .unwrap_or_default();
    let meta = file
        .meta_nodes()
        .next()
        .map(|n| n.http.clone())
        .unwrap_or_default();
    let (host, port) = data.rsplit_once(':').unwrap_or((HOST, "8086"));
    let _ = writeln!(out, "\nNext steps:");
    let _ = writeln!(out, "  influx -host {host} -port {port}");
    let _ = writeln!(out, "  influxd-ctl -bind {meta} show");
    let _ = writeln!(out, "  tessera status --dir {dir}");
    let _ = writeln!(out, "  tessera down --dir {dir}");
}

/// `tessera status`: `Ok(true)` when healthy.
pub async fn status(dir: &Path, json: bool, out: &mut dyn Write) -> Result<bool, LaunchError> {
    let file = ClusterFile::load(dir)?;
    let health = health::check(&file, |n| process::is_our_node(n.pid, &n.config)).await;
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&health).expect("health serializes")
        );
    } else {
        let _ = write!(out, "{}", health::render(&health));
    }
    Ok(health.healthy)
}

/// `tessera down`: data nodes first, then meta nodes. Removes nothing on disk.
pub async fn down(dir: &Path, out: &mut dyn Write) -> Result<(), LaunchError> {
    let file = ClusterFile::load(dir)?;
    let mut any = false;
    for role in [Role::Data, Role::Meta] {
        let targets = targets(&file, role, |n| process::is_our_node(n.pid, &n.config));
        any |= !targets.is_empty();
        process::stop(&targets, STOP_GRACE, out).await;
    }
    if !any {
        let _ = writeln!(
            out,
            "No node of the cluster in {} is running.",
            dir.display()
        );
    }
    Ok(())
}
