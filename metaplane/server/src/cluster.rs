//! Cluster membership and commands, run on the leader: proposing commands, adding and
//! removing meta nodes (raft membership plus the recorded node) and data nodes (reached
//! over their control port), and leases.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openraft::error::{ClientWriteError, RaftError};
use openraft::ChangeMembers;
use tessera_meta_client::api::{NodeInfo, NodeResponse};
use tessera_meta_client::control;
use tessera_meta_types::control::{ControlRequest, ControlResponse};
use tessera_meta_types::{Command, MetaError, Reply};

use crate::error::ApiError;
use crate::node::{MetaService, RaftHandle};
use crate::raft_types::MetaPeer;

/// How long to wait for a data node's control port.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// Proposes `cmd` through raft on this (leader) node; returns the log index and reply.
pub async fn propose(h: &RaftHandle, cmd: Command) -> Result<(u64, Reply), ApiError> {
    match h.raft.client_write(cmd).await {
        Ok(resp) => match resp.data.0 {
            Ok(reply) => Ok((resp.log_id.index, reply)),
            Err(e) => Err(ApiError::Meta(e)),
        },
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
            Err(ApiError::LeaderChanged)
        }
        Err(e) => Err(ApiError::Unavailable(format!("raft: {e}"))),
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Validates a `host:port` address given by a user.
pub fn check_addr(addr: &str) -> Result<(), ApiError> {
    let bad = || ApiError::BadRequest(format!("invalid address {addr:?}: expected host:port"));
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || port.parse::<u16>().is_err() || addr.contains('/') {
        return Err(bad());
    }
    Ok(())
}

impl MetaService {
    /// `GET /node-info` of another meta node.
    pub async fn fetch_node_info(&self, addr: &str) -> Result<NodeInfo, ApiError> {
        let resp = self
            .http
            .get(format!("http://{addr}/node-info"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| {
                ApiError::BadRequest(format!("unable to reach meta node at {addr}: {e}"))
            })?;
        resp.json().await.map_err(|e| {
            ApiError::BadRequest(format!("{addr} did not answer like a meta node: {e}"))
        })
    }

    /// Adds the meta node at HTTP address `addr` (leader only; bootstraps an unjoined node).
    pub async fn add_meta(&self, h: &RaftHandle, addr: &str) -> Result<NodeResponse, ApiError> {
        let info = self.fetch_node_info(addr).await?;
        if info.http_addr == self.cfg.http_addr {
            return Ok(NodeResponse {
                id: h.id,
                addr: self.cfg.raft_addr.clone(),
                http_addr: self.cfg.http_addr.clone(),
            });
        }
        let existing = h.shared.read(|s| {
            s.meta_nodes
                .iter()
                .find(|n| n.http_addr == info.http_addr)
                .map(|n| n.id)
        });
        if let Some(other) = info.id {
            if existing != Some(other) {
                return Err(ApiError::Conflict(format!(
                    "meta node at {addr} is already node {other} of another cluster; \
                     remove it there (or clear its meta dir) first"
                )));
            }
        }
        let id = match existing {
            Some(id) => id,
            None => match propose(
                h,
                Command::AddMetaNode {
                    addr: info.raft_addr.clone(),
                    http_addr: info.http_addr.clone(),
                },
            )
            .await?
            .1
            {
                Reply::Node { id } => id,
                other => return Err(ApiError::Internal(format!("unexpected reply {other:?}"))),
            },
        };
        if info.id.is_none() {
            let resp = self
                .http
                .post(format!("http://{addr}/assign"))
                .json(&serde_json::json!({ "id": id }))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map_err(|e| ApiError::Unavailable(format!("cannot assign id to {addr}: {e}")))?;
            if !resp.status().is_success() {
                let body = resp.text().await.unwrap_or_default();
                return Err(ApiError::Unavailable(format!(
                    "meta node at {addr} refused its id: {body}"
                )));
            }
        }
        let peer = MetaPeer {
            raft_addr: info.raft_addr.clone(),
            http_addr: info.http_addr.clone(),
        };
        h.raft
            .add_learner(id, peer, true)
            .await
            .map_err(|e| ApiError::Unavailable(format!("adding {addr} as learner: {e}")))?;
        h.raft
            .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
            .await
            .map_err(|e| ApiError::Unavailable(format!("making {addr} a voter: {e}")))?;
        tracing::info!(id, %addr, "added meta node");
        Ok(NodeResponse {
            id,
            addr: info.raft_addr,
            http_addr: info.http_addr,
        })
    }

    /// Removes the meta node at HTTP (or raft) address `addr` (leader only).
    pub async fn remove_meta(
        &self,
        h: &RaftHandle,
        addr: &str,
        force: bool,
    ) -> Result<(), ApiError> {
        let node = h
            .shared
            .read(|s| {
                s.meta_nodes
                    .iter()
                    .find(|n| n.http_addr == addr || n.addr == addr)
                    .cloned()
            })
            .ok_or_else(|| MetaError::MetaNodeNotFound(addr.to_string()))?;
        let voters = h.voters();
        if voters.len() == 1 && voters.contains_key(&node.id) {
            return Err(ApiError::BadRequest(
                "cannot remove the last meta node of the cluster".into(),
            ));
        }
        if !force && node.id != h.id {
            self.http
                .get(format!("http://{}/ping", node.http_addr))
                .timeout(Duration::from_secs(3))
                .send()
                .await
                .map_err(|e| {
                    ApiError::BadRequest(format!(
                        "meta node at {} is unreachable ({e}); use -force to remove it anyway",
                        node.http_addr
                    ))
                })?;
        }
        propose(h, Command::RemoveMetaNode { id: node.id }).await?;
        if voters.contains_key(&node.id) {
            h.raft
                .change_membership(
                    ChangeMembers::RemoveVoters(BTreeSet::from([node.id])),
                    false,
                )
                .await
                .map_err(|e| ApiError::Unavailable(format!("removing voter {}: {e}", node.id)))?;
        }
        tracing::info!(id = node.id, addr = %node.http_addr, "removed meta node");
        if !force && node.id != h.id {
            let reset = self
                .http
                .post(format!("http://{}/reset", node.http_addr))
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            if let Err(e) = reset {
                tracing::warn!(addr = %node.http_addr, error = %e, "removed node did not reset");
            }
        }
        Ok(())
    }

    /// Adds the data node at TCP address `addr` (leader only).
    pub async fn add_data(&self, h: &RaftHandle, addr: &str) -> Result<NodeResponse, ApiError> {
        let (node_id, http_addr) = data_node_info(addr).await?;
        let existing = h.shared.read(|s| s.data_node_by_tcp(addr).map(|n| n.id));
        if let Some(other) = node_id {
            if existing != Some(other) {
                return Err(ApiError::Conflict(format!(
                    "data node at {addr} is already node {other} of a cluster; \
                     remove it there (or clear its meta dir) first"
                )));
            }
        }
        let id = match propose(
            h,
            Command::AddDataNode {
                tcp_addr: addr.to_string(),
                http_addr: http_addr.clone(),
            },
        )
        .await?
        .1
        {
            Reply::Node { id } => id,
            other => return Err(ApiError::Internal(format!("unexpected reply {other:?}"))),
        };
        self.send_join(h, id, addr).await?;
        tracing::info!(id, %addr, "added data node");
        Ok(NodeResponse {
            id,
            addr: addr.to_string(),
            http_addr,
        })
    }

    async fn send_join(&self, h: &RaftHandle, id: u64, addr: &str) -> Result<(), ApiError> {
        let meta_servers = h.shared.read(|s| {
            s.meta_nodes
                .iter()
                .map(|n| n.http_addr.clone())
                .collect::<Vec<_>>()
        });
        control::send(
            addr,
            &ControlRequest::Join {
                node_id: id,
                meta_servers,
            },
            CONTROL_TIMEOUT,
        )
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        Ok(())
    }

    /// Removes the data node at TCP address `addr` (leader only).
    pub async fn remove_data(
        &self,
        h: &RaftHandle,
        addr: &str,
        force: bool,
    ) -> Result<(), ApiError> {
        let id = h
            .shared
            .read(|s| s.data_node_by_tcp(addr).map(|n| n.id))
            .ok_or_else(|| MetaError::DataNodeNotFound(addr.to_string()))?;
        let leave = ControlRequest::Leave { node_id: id };
        if force {
            // Best effort: the node may well be gone.
            if let Err(e) = control::send(addr, &leave, Duration::from_secs(1)).await {
                tracing::info!(%addr, error = %e, "forced removal of an unreachable data node");
            }
        } else {
            control::send(addr, &leave, CONTROL_TIMEOUT)
                .await
                .map_err(|e| {
                    ApiError::BadRequest(format!("{e}; use -force to remove it anyway"))
                })?;
        }
        propose(h, Command::RemoveDataNode { id }).await?;
        tracing::info!(id, %addr, "removed data node");
        Ok(())
    }

    /// Points data node `old` at its new TCP address `new` (leader only).
    pub async fn update_data(
        &self,
        h: &RaftHandle,
        old: &str,
        new: &str,
    ) -> Result<NodeResponse, ApiError> {
        let id = h
            .shared
            .read(|s| s.data_node_by_tcp(old).map(|n| n.id))
            .ok_or_else(|| MetaError::DataNodeNotFound(old.to_string()))?;
        let (node_id, http_addr) = data_node_info(new).await?;
        if let Some(other) = node_id {
            if other != id {
                return Err(ApiError::Conflict(format!(
                    "the data node at {new} is node {other}, not node {id}"
                )));
            }
        }
        propose(
            h,
            Command::UpdateDataNode {
                id,
                tcp_addr: new.to_string(),
                http_addr: http_addr.clone(),
            },
        )
        .await?;
        self.send_join(h, id, new).await?;
        Ok(NodeResponse {
            id,
            addr: new.to_string(),
            http_addr,
        })
    }

    /// Grants or renews lease `name` for `node_id` (leader only).
    pub async fn acquire_lease(
        &self,
        h: &RaftHandle,
        name: &str,
        node_id: u64,
    ) -> Result<Reply, ApiError> {
        let cmd = Command::AcquireLease {
            name: name.to_string(),
            node_id,
            now: now_nanos(),
            duration: self.cfg.lease_duration.as_nanos() as u64,
        };
        Ok(propose(h, cmd).await?.1)
    }
}

/// `healthy` when the data node at `addr` answers its control service within a second,
/// else `unreachable` (with the reason).
pub async fn data_node_health(addr: &str) -> String {
    match control::send(addr, &ControlRequest::NodeInfo, Duration::from_secs(1)).await {
        Ok(ControlResponse::NodeInfo { .. }) => "healthy".into(),
        Ok(other) => format!("unhealthy: answered {other:?}"),
        Err(e) => format!("unreachable: {e}"),
    }
}

/// Asks a data node who it is: its id if it already belongs to a cluster, and its HTTP address.
async fn data_node_info(addr: &str) -> Result<(Option<u64>, String), ApiError> {
    match control::send(addr, &ControlRequest::NodeInfo, CONTROL_TIMEOUT).await {
        Ok(ControlResponse::NodeInfo {
            node_id, http_addr, ..
        }) => Ok((node_id, http_addr)),
        Ok(other) => Err(ApiError::BadRequest(format!(
            "data node at {addr} answered {other:?}"
        ))),
        Err(e) => Err(ApiError::BadRequest(e.to_string())),
    }
}
