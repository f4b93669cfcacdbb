//! The control thread: one std thread with a small tokio current-thread runtime that talks
//! to the meta plane for the whole node, so no executor ever runs tokio or blocks.
//!
//! It owns the node's membership (`node.json`), long-polls the meta API for metadata
//! snapshots, requests the `continuous_querier` lease every `run-interval`, publishes the
//! result to every core, applies `Join`/`Leave` from the control port, and turns SIGTERM
//! and SIGINT into an orderly shutdown of the cores.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tessera_meta_client::{ClientError, MetaClient};
use tessera_meta_types::control::ControlResponse;
use tessera_meta_types::{NodeId, Snapshot};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::lease::{LeaseChange, LeaseOutcome, LeaseTracker, CONTINUOUS_QUERIER};
use crate::node_identity::{self, NodeIdentity};
use crate::state::{NodeState, Publisher};

/// How long one snapshot long-poll waits for a change.
const LONG_POLL: Duration = Duration::from_secs(30);
/// Retry delays after meta-plane errors.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Requests to the control thread.
#[derive(Debug)]
pub enum MetaCommand {
    Join {
        node_id: NodeId,
        meta_servers: Vec<String>,
        reply: flume::Sender<ControlResponse>,
    },
    Leave {
        node_id: NodeId,
        reply: flume::Sender<ControlResponse>,
    },
    /// Propose a metadata command through the meta plane (DDL, shard-group creation).
    Execute {
        command: tessera_meta_types::Command,
        reply: flume::Sender<Result<tessera_meta_client::api::ExecuteResponse, ExecuteError>>,
    },
    /// Stop (start-up failed elsewhere).
    Shutdown,
}

/// Why a metadata command from this node failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ExecuteError {
    #[error("data node is not a member of a cluster yet")]
    NotJoined,
    /// The meta plane refused the command (its message, e.g. `database not found: db`).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Debug, thiserror::Error)]
pub enum MetaSyncError {
    #[error("cannot start the control thread: {0}")]
    Spawn(std::io::Error),
    #[error("cannot start the control thread's runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install the SIGTERM/SIGINT handlers: {0}")]
    Signals(std::io::Error),
    #[error("the control thread ended during start-up")]
    Died,
}

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub meta_dir: PathBuf,
    pub cq_enabled: bool,
    pub run_interval: Duration,
    pub housekeeping: crate::housekeeping::HousekeepingConfig,
}

/// Starts the control thread; returns once its signal handlers are installed.
pub fn spawn(
    cfg: SyncConfig,
    identity: Option<NodeIdentity>,
    publisher: Publisher,
    commands: flume::Receiver<MetaCommand>,
) -> Result<std::thread::JoinHandle<()>, MetaSyncError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let handle = std::thread::Builder::new()
        .name("control".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(MetaSyncError::Runtime(e)));
                    return;
                }
            };
            runtime.block_on(async move {
                let signals = signal(SignalKind::terminate())
                    .and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
                let (term, int) = match signals {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(MetaSyncError::Signals(e)));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                run(cfg, identity, publisher, commands, term, int).await;
            });
        })
        .map_err(MetaSyncError::Spawn)?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(MetaSyncError::Died),
    }
}

/// What the background tasks report, tagged with the generation that started them so
/// reports from tasks of an earlier membership are ignored.
enum Event {
    Snapshot(u64, Arc<Snapshot>),
    Lease(u64, LeaseOutcome),
}

async fn run(
    cfg: SyncConfig,
    identity: Option<NodeIdentity>,
    publisher: Publisher,
    commands: flume::Receiver<MetaCommand>,
    mut term: tokio::signal::unix::Signal,
    mut int: tokio::signal::unix::Signal,
) {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut sync = ControlLoop::new(cfg, identity, publisher, events_tx);
    if let Some(id) = &sync.identity {
        tracing::info!(node_id = id.id, meta_servers = ?id.meta_servers, "member of a cluster; following the meta plane");
    } else {
        tracing::info!("not a member of a cluster yet; waiting to be added (influxd-ctl add-data)");
    }
    sync.start(None);
    sync.publish();
    let mut housekeeping = tokio::time::interval(
        sync.cfg
            .housekeeping
            .tick()
            .unwrap_or(Duration::from_secs(3600)),
    );
    housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = housekeeping.tick() => sync.housekeeping(),
            _ = term.recv() => {
                tracing::info!("received SIGTERM, shutting down");
                break;
            }
            _ = int.recv() => {
                tracing::info!("received SIGINT, shutting down");
                break;
            }
            cmd = commands.recv_async() => match cmd {
                Ok(MetaCommand::Shutdown) | Err(_) => break,
                Ok(cmd) => sync.command(cmd),
            },
            Some(event) = events.recv() => sync.event(event),
        }
    }
    sync.stop();
    sync.publisher.shutdown();
}

struct ControlLoop {
    cfg: SyncConfig,
    identity: Option<NodeIdentity>,
    /// The state last published.
    state: NodeState,
    lease: LeaseTracker,
    publisher: Publisher,
    events: mpsc::UnboundedSender<Event>,
    tasks: Vec<JoinHandle<()>>,
    generation: u64,
    /// Whether the newest snapshot lists this node; `None` before the first one.
    member: Option<bool>,
}

impl ControlLoop {
    fn new(
        cfg: SyncConfig,
        identity: Option<NodeIdentity>,
        publisher: Publisher,
        events: mpsc::UnboundedSender<Event>,
    ) -> ControlLoop {
        ControlLoop {
            cfg,
            state: NodeState {
                node_id: identity.as_ref().map(|i| i.id),
                meta_servers: identity
                    .as_ref()
                    .map(|i| i.meta_servers.clone())
                    .unwrap_or_default(),
                ..NodeState::default()
            },
            identity,
            lease: LeaseTracker::default(),
            publisher,
            events,
            tasks: Vec::new(),
            generation: 0,
            member: None,
        }
    }

    fn publish(&self) {
        self.publisher.publish(&Arc::new(self.state.clone()));
    }

    fn stop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.generation += 1;
    }

    /// (Re)starts polling and leases for the current identity, if any.
    fn start(&mut self, after: Option<u64>) {
        self.stop();
        let Some(identity) = &self.identity else {
            return;
        };
        let client = Arc::new(MetaClient::new(identity.meta_servers.clone()));
        let gen = self.generation;
        self.tasks.push(tokio::spawn(poll_snapshots(
            Arc::clone(&client),
            after,
            gen,
            self.events.clone(),
        )));
        // Leases wait until a snapshot lists this node: a node removed from the cluster
        // (remove-data -force) must not run continuous queries, whatever the meta plane
        // would grant.
        if self.cfg.cq_enabled && self.member == Some(true) {
            self.tasks.push(tokio::spawn(request_leases(
                client,
                identity.id,
                self.cfg.run_interval,
                gen,
                self.events.clone(),
            )));
        }
    }

    fn command(&mut self, cmd: MetaCommand) {
        // node.json is tiny and membership changes are rare: writing it here, on the
        // control thread, keeps one writer and never blocks an executor.
        let (reply, answer) = match cmd {
            MetaCommand::Join {
                node_id,
                meta_servers,
                reply,
            } => (reply, self.join(node_id, meta_servers)),
            MetaCommand::Leave { node_id, reply } => (reply, self.leave(node_id)),
            MetaCommand::Execute { command, reply } => {
                self.execute(command, reply);
                return;
            }
            MetaCommand::Shutdown => return,
        };
        let _ = reply.send(answer);
    }

    /// Runs a metadata command on its own task; the answer goes straight to `reply`.
    fn execute(
        &self,
        command: tessera_meta_types::Command,
        reply: flume::Sender<Result<tessera_meta_client::api::ExecuteResponse, ExecuteError>>,
    ) {
        let Some(identity) = &self.identity else {
            let _ = reply.send(Err(ExecuteError::NotJoined));
            return;
        };
        let client = MetaClient::new(identity.meta_servers.clone());
        tokio::spawn(async move {
            let result = client.execute(&command).await.map_err(|e| match e {
                tessera_meta_client::ClientError::Api { status, message } if status < 500 => {
                    ExecuteError::Refused(message)
                }
                other => ExecuteError::Unavailable(other.to_string()),
            });
            let _ = reply.send_async(result).await;
        });
    }

    /// Proposes the retention deletions and shard-group pre-creations that are due.
    fn housekeeping(&self) {
        let (Some(identity), Some(snapshot)) = (&self.identity, &self.state.snapshot) else {
            return;
        };
        if self.cfg.housekeeping.tick().is_none() || self.member != Some(true) {
            return;
        }
        let now = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        let commands = crate::housekeeping::due(snapshot, now, &self.cfg.housekeeping);
        if commands.is_empty() {
            return;
        }
        let client = MetaClient::new(identity.meta_servers.clone());
        tokio::spawn(async move {
            for command in commands {
                match client.execute(&command).await {
                    Ok(_) => tracing::info!(?command, "housekeeping"),
                    Err(e) => tracing::warn!(?command, error = %e, "housekeeping command failed"),
                }
            }
        });
    }

    fn join(&mut self, node_id: NodeId, meta_servers: Vec<String>) -> ControlResponse {
        let error = |message: String| ControlResponse::Error { message };
        if let Some(current) = &self.identity {
            if current.id != node_id {
                return error(format!(
                    "data node is already a member of a cluster as node {}",
                    current.id
                ));
            }
        }
        if node_id == 0 || meta_servers.is_empty() {
            return error("join needs a node id and at least one meta server".into());
        }
        let identity = NodeIdentity {
            id: node_id,
            meta_servers,
        };
        if let Err(e) = node_identity::store(&self.cfg.meta_dir, &identity) {
            tracing::error!(error = %e, "cannot record cluster membership");
            return error(e.to_string());
        }
        let rejoin = self.identity.is_some();
        tracing::info!(node_id, meta_servers = ?identity.meta_servers, rejoin, "joined cluster");
        self.state.node_id = Some(node_id);
        self.state.meta_servers = identity.meta_servers.clone();
        self.identity = Some(identity);
        self.member = None;
        let after = if rejoin {
            Some(self.state.meta_index())
        } else {
            None
        };
        self.start(after.filter(|&i| i > 0));
        self.publish();
        ControlResponse::Ok
    }

    fn leave(&mut self, node_id: NodeId) -> ControlResponse {
        let Some(current) = &self.identity else {
            return ControlResponse::Ok;
        };
        if current.id != node_id {
            return ControlResponse::Error {
                message: format!("data node is node {}, not node {node_id}", current.id),
            };
        }
        if let Err(e) = node_identity::remove(&self.cfg.meta_dir) {
            tracing::error!(error = %e, "cannot forget cluster membership");
            return ControlResponse::Error {
                message: e.to_string(),
            };
        }
        tracing::info!(node_id, "left cluster");
        self.stop();
        self.identity = None;
        self.member = None;
        if let Some(LeaseChange::Lost { reason }) = self.lease.reset() {
            tracing::info!(lease = CONTINUOUS_QUERIER, %reason, "lease lost");
        }
        self.state = NodeState::default();
        self.publish();
        ControlResponse::Ok
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Snapshot(gen, snapshot) if gen == self.generation => self.snapshot(snapshot),
            Event::Lease(gen, outcome) if gen == self.generation => {
                match self.lease.observe(outcome, SystemTime::now()) {
                    Some(LeaseChange::Gained) => {
                        tracing::info!(lease = CONTINUOUS_QUERIER, "lease gained");
                    }
                    Some(LeaseChange::Lost { reason }) => {
                        tracing::info!(lease = CONTINUOUS_QUERIER, %reason, "lease lost");
                    }
                    None => return,
                }
                self.state.cq_lease_held = self.lease.held();
                self.publish();
            }
            _ => {}
        }
    }

    fn snapshot(&mut self, snapshot: Arc<Snapshot>) {
        tracing::debug!(index = snapshot.index, "metadata snapshot");
        let index = snapshot.index;
        let data = &snapshot.data;
        self.state.snapshot = Some(Arc::clone(&snapshot));
        let Some(identity) = self.identity.clone() else {
            return;
        };
        let present = data.data_node(identity.id).is_some();
        if self.member.replace(present) != Some(present) {
            if !present {
                tracing::warn!(
                    node_id = identity.id,
                    index,
                    "this data node is not in the cluster's data nodes (removed, perhaps \
                     with remove-data -force); it keeps serving but owns no shards"
                );
                if let Some(LeaseChange::Lost { reason }) = self.lease.reset() {
                    tracing::info!(lease = CONTINUOUS_QUERIER, %reason, "lease lost");
                }
                self.state.cq_lease_held = false;
            }
            // Starts or stops lease requests to match membership.
            self.start(Some(index));
        }

        // Follow meta-node membership so a restart survives the loss of any one meta node.
        let servers: Vec<String> = data
            .meta_nodes
            .iter()
            .map(|m| m.http_addr.clone())
            .filter(|a| !a.is_empty())
            .collect();
        if !servers.is_empty() && !same_set(&servers, &identity.meta_servers) {
            let updated = NodeIdentity {
                id: identity.id,
                meta_servers: servers,
            };
            match node_identity::store(&self.cfg.meta_dir, &updated) {
                Ok(()) => {
                    tracing::info!(meta_servers = ?updated.meta_servers, "meta servers changed");
                    self.state.meta_servers = updated.meta_servers.clone();
                    self.identity = Some(updated);
                    self.start(Some(index));
                }
                Err(e) => tracing::error!(error = %e, "cannot record the new meta servers"),
            }
        }
        self.publish();
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// Long-polls snapshots forever (until aborted).
async fn poll_snapshots(
    client: Arc<MetaClient>,
    mut after: Option<u64>,
    gen: u64,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut backoff = BACKOFF_MIN;
    let mut failing = false;
    loop {
        match client.snapshot(after, LONG_POLL).await {
            Ok(snapshot) => {
                if failing {
                    tracing::info!("meta plane reachable again");
                    failing = false;
                }
                backoff = BACKOFF_MIN;
                // A lower index (a rebuilt meta cluster) is news as much as a higher one;
                // the same index is a long-poll that timed out.
                if after != Some(snapshot.index) {
                    after = Some(snapshot.index);
                    if events
                        .send(Event::Snapshot(gen, Arc::new(snapshot)))
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Err(e) => {
                if failing {
                    tracing::debug!(error = %e, "metadata poll failed");
                } else {
                    tracing::warn!(error = %e, "metadata poll failed; retrying");
                    failing = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// Requests the continuous-query lease every `interval` (until aborted).
async fn request_leases(
    client: Arc<MetaClient>,
    node_id: NodeId,
    interval: Duration,
    gen: u64,
    events: mpsc::UnboundedSender<Event>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let outcome = match client.lease(CONTINUOUS_QUERIER, node_id).await {
            Ok(resp) if resp.owner == node_id => LeaseOutcome::Granted {
                // An unreadable expiry counts as one interval, the next renewal.
                expires: humantime::parse_rfc3339_weak(&resp.expiration)
                    .unwrap_or_else(|_| SystemTime::now() + interval),
            },
            Ok(resp) => LeaseOutcome::HeldByOther {
                message: format!("held by node {}", resp.owner),
            },
            Err(ClientError::Api {
                status: 409,
                message,
            }) => LeaseOutcome::HeldByOther { message },
            Err(e) => {
                tracing::debug!(error = %e, "lease request failed");
                LeaseOutcome::Failed {
                    error: e.to_string(),
                }
            }
        };
        if events.send(Event::Lease(gen, outcome)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests;
