//! Forming a freshly started local cluster through the meta API (as an operator would
//! with `influxd-ctl add-meta` / `add-data`), and the handles of the node processes
//! `tessera up` owns while it runs.

use std::io::Write;
use std::process::Child;
use std::time::{Duration, Instant};

use tessera_meta_client::MetaClient;

use crate::cluster_file::{ClusterFile, NodeEntry, Role};
use crate::health::{self, ClusterHealth};
use crate::launcher::{shutdown_signal, LaunchError, UP_TIMEOUT};
use crate::process::{self, Target, STOP_GRACE};

/// Log lines shown when a node fails to come up.
const LOG_TAIL_LINES: usize = 20;

/// How reports name node `i`: by cluster id once it has one, else by its start ordinal
/// within its role (`data node #2`).
pub(crate) fn label(nodes: &[NodeEntry], i: usize) -> String {
    let n = &nodes[i];
    if n.id != 0 {
        format!("{} node {}", n.role, n.id)
    } else {
        let ordinal = nodes[..i].iter().filter(|m| m.role == n.role).count() + 1;
        format!("{} node #{ordinal}", n.role)
    }
}

/// The processes `tessera up` started: the record and the child handles.
pub(crate) struct Running {
    pub(crate) file: ClusterFile,
    pub(crate) children: Vec<Child>,
}

impl Running {
    /// The log tail of node `i` (for error reports).
    fn log_of(&self, i: usize) -> String {
        let n = &self.file.nodes[i];
        format!(
            "\n--- last lines of {} ---\n{}",
            n.log.display(),
            process::tail(&n.log, LOG_TAIL_LINES)
        )
    }

    /// Fails if any node process has exited.
    fn check_exited(&mut self) -> Result<(), LaunchError> {
        for i in 0..self.children.len() {
            if let Ok(Some(status)) = self.children[i].try_wait() {
                let n = &self.file.nodes[i];
                return Err(LaunchError::Form(format!(
                    "{} ({}) exited: {status}{}",
                    label(&self.file.nodes, i),
                    n.http,
                    self.log_of(i)
                )));
            }
        }
        Ok(())
    }

    /// Data nodes first, then meta nodes; reaps the children.
    pub(crate) async fn stop(&mut self, out: &mut dyn Write) {
        for role in [Role::Data, Role::Meta] {
            let targets = targets(&self.file, role, |_| true);
            process::stop(&targets, STOP_GRACE, out).await;
        }
        for child in &mut self.children {
            let _ = child.wait();
        }
    }
}

pub(crate) fn targets(
    file: &ClusterFile,
    role: Role,
    alive: impl Fn(&NodeEntry) -> bool,
) -> Vec<Target> {
    file.nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.role == role && alive(n))
        .map(|(i, n)| Target {
            label: label(&file.nodes, i),
            pid: n.pid,
        })
        .collect()
}

/// Polls `step` every 250 ms until it succeeds, a node dies, or `deadline` passes; on
/// giving up, reports the log tail of node `node`, the one the step waits for.
async fn retry<T, F, Fut>(
    running: &mut Running,
    deadline: Instant,
    node: usize,
    what: &str,
    mut step: F,
) -> Result<T, LaunchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    loop {
        running.check_exited()?;
        match step().await {
            Ok(v) => return Ok(v),
            Err(e) if Instant::now() >= deadline => {
                return Err(LaunchError::Form(format!(
                    "{what}: gave up after {}s: {e}{}",
                    UP_TIMEOUT.as_secs(),
                    running.log_of(node)
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Waits until the meta node behind `client` knows a raft leader.
async fn wait_leader(
    running: &mut Running,
    deadline: Instant,
    client: &MetaClient,
) -> Result<(), LaunchError> {
    retry(
        running,
        deadline,
        0,
        "waiting for a raft leader",
        || async {
            match client.status().await {
                Ok(s) if !s.leader.is_empty() => Ok(()),
                Ok(_) => Err("no leader elected yet".into()),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
}

/// Joins every meta node to meta node 1 (the first join bootstraps), then every data
/// node, then waits for health. Nodes that are already members (a restarted cluster) are
/// not added again.
pub(crate) async fn form(running: &mut Running) -> Result<(), LaunchError> {
    let deadline = Instant::now() + UP_TIMEOUT;
    let metas: Vec<String> = running.file.meta_nodes().map(|n| n.http.clone()).collect();
    let datas: Vec<String> = running.file.data_nodes().map(|n| n.tcp.clone()).collect();
    for (j, m) in metas.iter().enumerate() {
        let c = MetaClient::new(vec![m.clone()]);
        let what = format!("meta node {m}: GET /ping");
        retry(running, deadline, j, &what, || async {
            c.ping().await.map_err(|e| e.to_string())
        })
        .await?;
    }
    let first = MetaClient::new(vec![metas[0].clone()]);
    let what = format!("meta node {}: GET /status", metas[0]);
    let status = retry(running, deadline, 0, &what, || async {
        first.status().await.map_err(|e| e.to_string())
    })
    .await?;
    let (mut meta_members, mut data_members) = (Vec::new(), Vec::new());
    if status.id != 0 {
        // A restarted cluster: wait for its leader, then add only what is missing.
        wait_leader(running, deadline, &first).await?;
        let cluster = retry(running, deadline, 0, "show-cluster", || async {
            first.show_cluster().await.map_err(|e| e.to_string())
        })
        .await?;
        meta_members = cluster.meta.into_iter().map(|m| m.http_addr).collect();
        data_members = cluster.data.into_iter().map(|d| d.tcp_addr).collect();
    }
    for (j, m) in metas.iter().enumerate() {
        if meta_members.contains(m) {
            continue;
        }
        let what = format!("add-meta {m}");
        let node = retry(running, deadline, j, &what, || async {
            first.add_meta(m).await.map_err(|e| e.to_string())
        })
        .await?;
        running.file.nodes[j].id = node.id;
        if j == 0 {
            wait_leader(running, deadline, &first).await?;
        }
    }
    let all_metas = MetaClient::new(metas.clone());
    for (i, d) in datas.iter().enumerate() {
        if data_members.contains(d) {
            continue;
        }
        let what = format!("add-data {d}");
        let node = retry(running, deadline, metas.len() + i, &what, || async {
            all_metas.add_data(d).await.map_err(|e| e.to_string())
        })
        .await?;
        running.file.nodes[metas.len() + i].id = node.id;
    }
    loop {
        running.check_exited()?;
        let health = health::check(&running.file, |_| true).await;
        adopt_ids(&mut running.file, &health);
        let Some(i) = health.nodes.iter().position(|n| !n.healthy) else {
            return Ok(());
        };
        if Instant::now() >= deadline {
            let n = &health.nodes[i];
            return Err(LaunchError::Form(format!(
                "the cluster did not become healthy within {}s: {} ({}) is unhealthy: {}{}",
                UP_TIMEOUT.as_secs(),
                label(&running.file.nodes, i),
                n.http,
                n.problem.as_deref().unwrap_or("?"),
                running.log_of(i)
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn adopt_ids(file: &mut ClusterFile, health: &ClusterHealth) {
    for (entry, h) in file.nodes.iter_mut().zip(&health.nodes) {
        if h.id != 0 {
            entry.id = h.id;
        }
    }
}

/// Until a signal arrives or every node has exited; reports nodes that exit meanwhile.
pub(crate) async fn wait_in_foreground(running: &mut Running, out: &mut dyn Write) {
    let mut reported = vec![false; running.children.len()];
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            () = &mut signal => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        for (i, child) in running.children.iter_mut().enumerate() {
            if reported[i] {
                continue;
            }
            if let Ok(Some(status)) = child.try_wait() {
                reported[i] = true;
                let n = &running.file.nodes[i];
                let _ = writeln!(
                    out,
                    "warning: {} exited ({status}); see {}",
                    label(&running.file.nodes, i),
                    n.log.display()
                );
            }
        }
        if reported.iter().all(|r| *r) {
            let _ = writeln!(out, "Every node has exited.");
            return;
        }
    }
}
