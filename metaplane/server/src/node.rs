//! [`MetaService`]: one meta node — its configuration, its license, and its raft instance,
//! which exists only once the node has an id (given when it bootstraps a cluster or is
//! added to one) and is dropped again when the node is removed.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::{Config, SnapshotPolicy};
use tessera_license::License;
use tokio::sync::RwLock;

use crate::config::MetaConfig;
use crate::error::ApiError;
use crate::log_store::LogStore;
use crate::network::Network;
use crate::raft_types::{MetaPeer, Raft};
use crate::state_machine::{SharedState, StateMachineStore};

/// A running raft instance and the state it applies to.
#[derive(Clone)]
pub struct RaftHandle {
    pub id: u64,
    pub raft: Raft,
    pub shared: Arc<SharedState>,
}

impl RaftHandle {
    /// The current leader's id and address, if one is known.
    pub fn leader(&self) -> Option<(u64, MetaPeer)> {
        let metrics = self.raft.metrics().borrow().clone();
        let id = metrics.current_leader?;
        let node = metrics
            .membership_config
            .membership()
            .get_node(&id)?
            .clone();
        Some((id, node))
    }

    pub fn is_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader == Some(self.id)
    }

    /// Voter ids and addresses.
    pub fn voters(&self) -> BTreeMap<u64, MetaPeer> {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        membership
            .voter_ids()
            .filter_map(|id| membership.get_node(&id).map(|n| (id, n.clone())))
            .collect()
    }

    /// Waits until some node leads, up to `timeout`.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Option<(u64, MetaPeer)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader() {
                return Some(l);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

pub struct MetaService {
    pub cfg: MetaConfig,
    pub license: License,
    pub started: Instant,
    /// HTTP client for forwarding to the leader and calling other meta nodes.
    pub http: reqwest::Client,
    raft: RwLock<Option<RaftHandle>>,
}

impl MetaService {
    /// Creates the service and, when this node already has an id, starts its raft.
    pub async fn open(cfg: MetaConfig, license: License) -> Result<Arc<MetaService>, ApiError> {
        std::fs::create_dir_all(&cfg.dir)
            .map_err(|e| ApiError::Internal(format!("cannot create {}: {e}", cfg.dir.display())))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let svc = Arc::new(MetaService {
            cfg,
            license,
            started: Instant::now(),
            http,
            raft: RwLock::new(None),
        });
        if let Some(id) = svc.stored_id()? {
            tracing::info!(id, "restarting as meta node");
            let handle = svc.start_raft(id).await?;
            *svc.raft.write().await = Some(handle);
        } else {
            tracing::info!(
                http = %svc.cfg.http_addr,
                "meta node has not joined a cluster yet; add it with `influxd-ctl add-meta {}`",
                svc.cfg.http_addr
            );
        }
        Ok(svc)
    }

    fn id_path(&self) -> PathBuf {
        self.cfg.dir.join("node-id")
    }

    fn stored_id(&self) -> Result<Option<u64>, ApiError> {
        match std::fs::read_to_string(self.id_path()) {
            Ok(s) => s.trim().parse().map(Some).map_err(|_| {
                ApiError::Internal(format!(
                    "{} is corrupt: {:?} is not a node id",
                    self.id_path().display(),
                    s.trim()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ApiError::Internal(format!(
                "cannot read {}: {e}",
                self.id_path().display()
            ))),
        }
    }

    pub fn peer(&self) -> MetaPeer {
        MetaPeer {
            raft_addr: self.cfg.raft_addr.clone(),
            http_addr: self.cfg.http_addr.clone(),
        }
    }

    pub async fn handle(&self) -> Option<RaftHandle> {
        self.raft.read().await.clone()
    }

    async fn start_raft(&self, id: u64) -> Result<RaftHandle, ApiError> {
        let internal = |e: String| ApiError::Internal(e);
        let config = Config {
            cluster_name: "tessera-meta".into(),
            heartbeat_interval: self.cfg.heartbeat_interval.as_millis() as u64,
            election_timeout_min: self.cfg.election_timeout.as_millis() as u64,
            election_timeout_max: 2 * self.cfg.election_timeout.as_millis() as u64,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(self.cfg.snapshot_threshold),
            max_in_snapshot_log_to_keep: 200,
            ..Default::default()
        }
        .validate()
        .map_err(|e| internal(format!("raft config: {e}")))?;
        let log =
            LogStore::open(&self.cfg.dir.join("raft")).map_err(|e| internal(e.to_string()))?;
        let sm = StateMachineStore::open(&self.cfg.dir.join("state"))
            .map_err(|e| internal(e.to_string()))?;
        let shared = sm.shared();
        let raft = Raft::new(id, Arc::new(config), Network::new(), log, sm)
            .await
            .map_err(|e| internal(format!("raft start: {e}")))?;
        Ok(RaftHandle { id, raft, shared })
    }

    /// Gives this node its id and starts raft; it then waits for the leader to contact it.
    pub async fn assign(&self, id: u64) -> Result<RaftHandle, ApiError> {
        let mut slot = self.raft.write().await;
        if let Some(h) = slot.as_ref() {
            if h.id == id {
                return Ok(h.clone());
            }
            return Err(ApiError::Conflict(format!(
                "meta node is already node {} of a cluster",
                h.id
            )));
        }
        let tmp = self.id_path().with_extension("tmp");
        std::fs::write(&tmp, format!("{id}\n"))
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|_| std::fs::rename(&tmp, self.id_path()))
            .map_err(|e| ApiError::Internal(format!("cannot persist node id: {e}")))?;
        crate::record_file::sync_dir(&self.id_path())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let handle = self.start_raft(id).await?;
        tracing::info!(id, "meta node id assigned");
        *slot = Some(handle.clone());
        Ok(handle)
    }

    /// Makes this unjoined node the first member of a new cluster.
    pub async fn bootstrap(&self) -> Result<RaftHandle, ApiError> {
        let handle = self.assign(1).await?;
        let members = BTreeMap::from([(1u64, self.peer())]);
        if let Err(e) = handle.raft.initialize(members).await {
            // Initializing twice (a retried add-meta) is harmless.
            tracing::debug!(error = %e, "raft initialize");
        }
        handle
            .wait_for_leader(Duration::from_secs(10))
            .await
            .ok_or(ApiError::NoLeader)?;
        crate::cluster::propose(
            &handle,
            tessera_meta_types::Command::SetMetaNode {
                id: 1,
                addr: self.cfg.raft_addr.clone(),
                http_addr: self.cfg.http_addr.clone(),
            },
        )
        .await?;
        let c = &self.license.claims;
        crate::cluster::propose(
            &handle,
            tessera_meta_types::Command::SetLicense {
                license: tessera_meta_types::InstalledLicense {
                    key: self.license.key.clone(),
                    licensee: c.licensee.clone(),
                    max_data_nodes: c.max_data_nodes,
                    max_cores: c.max_cores,
                    expires_at: (c.expires_at as i64).saturating_mul(1_000_000_000),
                },
            },
        )
        .await?;
        tracing::info!(http = %self.cfg.http_addr, "bootstrapped a new cluster as meta node 1");
        Ok(handle)
    }

    /// Forgets the cluster: stops raft and deletes its state, after this node was removed.
    pub async fn reset(&self) -> Result<(), ApiError> {
        let mut slot = self.raft.write().await;
        if let Some(h) = slot.take() {
            if let Err(e) = h.raft.shutdown().await {
                tracing::warn!(error = %e, "raft shutdown");
            }
        }
        for path in [self.cfg.dir.join("raft"), self.cfg.dir.join("state")] {
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(|e| {
                    ApiError::Internal(format!("cannot remove {}: {e}", path.display()))
                })?;
            }
        }
        match std::fs::remove_file(self.id_path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ApiError::Internal(format!("cannot remove node id: {e}"))),
        }
        tracing::info!("meta node left its cluster and cleared its raft state");
        Ok(())
    }

    pub async fn shutdown(&self) {
        if let Some(h) = self.raft.write().await.take() {
            let _ = h.raft.shutdown().await;
        }
    }
}
