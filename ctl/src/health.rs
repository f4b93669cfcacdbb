//! Health of a local cluster, as `tessera status` reports it and `tessera up` waits for:
//! - every process is alive (and is still the node we started);
//! - a meta node answers `/ping` and its `/status` names a leader;
//! - a data node answers `GET /ping` with a 2xx (InfluxDB's 204) and its TCP address is
//!   listed by a meta node's `/show-cluster`.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use tessera_meta_client::MetaClient;

use crate::cluster_file::{ClusterFile, NodeEntry, Role};
use crate::show::Table;

/// How long one health probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// One node in `tessera status --json`: the fields scripts rely on (`role`, `id`, `pid`,
/// `http`, `tcp`, `dir`) plus what was found.
#[derive(Debug, Clone, Serialize)]
pub struct NodeHealth {
    pub role: Role,
    pub id: u64,
    pub pid: u32,
    pub http: String,
    pub tcp: String,
    pub dir: String,
    pub alive: bool,
    pub healthy: bool,
    /// Why the node is not healthy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterHealth {
    pub healthy: bool,
    pub nodes: Vec<NodeHealth>,
}

impl ClusterHealth {
    /// The first node that is not healthy.
    pub fn first_unhealthy(&self) -> Option<&NodeHealth> {
        self.nodes.iter().find(|n| !n.healthy)
    }
}

async fn probe<T, E: std::fmt::Display>(
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(PROBE_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", PROBE_TIMEOUT.as_secs())),
    }
}

/// Checks every node of `file`. `alive` decides whether a recorded pid is still the node.
pub async fn check(file: &ClusterFile, alive: impl Fn(&NodeEntry) -> bool) -> ClusterHealth {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("reqwest client builds");
    let metas: Vec<String> = file.meta_nodes().map(|n| n.http.clone()).collect();
    // Data node membership as the meta plane sees it: tcp address -> node id.
    let members: Result<HashMap<String, u64>, String> =
        probe(MetaClient::new(metas).show_cluster())
            .await
            .map(|c| c.data.into_iter().map(|d| (d.tcp_addr, d.id)).collect());

    let mut nodes = Vec::new();
    for entry in &file.nodes {
        let is_alive = alive(entry);
        let mut id = entry.id;
        let problem = if !is_alive {
            Some(format!("process {} is not running", entry.pid))
        } else {
            match entry.role {
                Role::Meta => check_meta(entry, &mut id).await.err(),
                Role::Data => check_data(&http, entry, &members, &mut id).await.err(),
            }
        };
        nodes.push(NodeHealth {
            role: entry.role,
            id,
            pid: entry.pid,
            http: entry.http.clone(),
            tcp: entry.tcp.clone(),
            dir: entry.dir.display().to_string(),
            alive: is_alive,
            healthy: problem.is_none(),
            problem,
        });
    }
    ClusterHealth {
        healthy: nodes.iter().all(|n| n.healthy),
        nodes,
    }
}

async fn check_meta(entry: &NodeEntry, id: &mut u64) -> Result<(), String> {
    let client = MetaClient::new(vec![entry.http.clone()]);
    probe(client.ping())
        .await
        .map_err(|e| format!("/ping failed: {e}"))?;
    let status = probe(client.status())
        .await
        .map_err(|e| format!("/status failed: {e}"))?;
    if status.id != 0 {
        *id = status.id;
    }
    if status.leader.is_empty() {
        return Err("no raft leader yet".into());
    }
    if status.id == 0 && !status.peers.iter().any(|p| p == &status.raft_addr) {
        return Err("not a member of the cluster yet".into());
    }
    Ok(())
}

async fn check_data(
    http: &reqwest::Client,
    entry: &NodeEntry,
    members: &Result<HashMap<String, u64>, String>,
    id: &mut u64,
) -> Result<(), String> {
    let url = format!("http://{}/ping", entry.http);
    let resp = probe(http.get(&url).timeout(PROBE_TIMEOUT).send())
        .await
        .map_err(|e| format!("GET /ping failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("GET /ping answered {}", resp.status()));
    }
    match members {
        Err(e) => Err(format!("cannot ask the meta nodes for membership: {e}")),
        Ok(m) => match m.get(&entry.tcp) {
            Some(node_id) => {
                *id = *node_id;
                Ok(())
            }
            None => Err(format!("{} is not in the cluster's data nodes", entry.tcp)),
        },
    }
}

/// The readable form of `tessera status`.
pub fn render(health: &ClusterHealth) -> String {
    let mut table = Table::new(["ROLE", "ID", "PID", "HTTP", "TCP", "STATE"]);
    for n in &health.nodes {
        table.row([
            n.role.to_string(),
            n.id.to_string(),
            n.pid.to_string(),
            n.http.clone(),
            n.tcp.clone(),
            match &n.problem {
                None => "healthy".to_string(),
                Some(p) => format!("UNHEALTHY: {p}"),
            },
        ]);
    }
    let mut out = table.render();
    out.push_str(if health.healthy {
        "\nCluster is healthy.\n"
    } else {
        "\nCluster is NOT healthy.\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn entry(role: Role, pid: u32, http: &str) -> NodeEntry {
        NodeEntry {
            role,
            id: 0,
            pid,
            http: http.into(),
            tcp: "127.0.0.1:1".into(),
            dir: PathBuf::from("/t/n"),
            log: PathBuf::from("/t/n/l"),
            config: PathBuf::from("/t/n/c"),
        }
    }

    #[tokio::test]
    async fn dead_nodes_are_unhealthy_and_json_has_the_script_fields() {
        let file = ClusterFile {
            dir: "/t".into(),
            license: "/t/l".into(),
            nodes: vec![
                entry(Role::Meta, 1, "127.0.0.1:1"),
                entry(Role::Data, 2, "127.0.0.1:1"),
            ],
        };
        let health = check(&file, |_| false).await;
        assert!(!health.healthy);
        assert_eq!(health.first_unhealthy().unwrap().role, Role::Meta);
        let v = serde_json::to_value(&health).unwrap();
        assert_eq!(v["healthy"], false);
        let n = &v["nodes"][1];
        for key in ["role", "id", "pid", "http", "tcp", "dir", "alive"] {
            assert!(n.get(key).is_some(), "{key}");
        }
        assert_eq!(n["role"], "data");
        assert_eq!(n["http"], "127.0.0.1:1");
        assert!(render(&health).contains("UNHEALTHY: process 2 is not running"));
    }

    #[tokio::test]
    async fn unreachable_meta_node_is_unhealthy() {
        let file = ClusterFile {
            dir: "/t".into(),
            license: "/t/l".into(),
            nodes: vec![entry(Role::Meta, 1, "127.0.0.1:1")],
        };
        let health = check(&file, |_| true).await;
        let problem = health.nodes[0].problem.clone().unwrap();
        assert!(problem.starts_with("/ping failed"), "{problem}");
    }
}
