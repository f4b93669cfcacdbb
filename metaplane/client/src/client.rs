//! [`MetaClient`]: the meta API from the outside. It holds several meta-node addresses and
//! moves to the next one when the current one cannot be reached, so a data node or
//! `influxd-ctl` survives the loss of the meta node it was talking to.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tessera_meta_types::{Command, ShardInfo, Snapshot};

use crate::api::*;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("unable to reach meta node(s) {addrs}: {reason}")]
    Unreachable { addrs: String, reason: String },
    /// The meta node answered with an error status and `{"error": …}`.
    #[error("{message}")]
    Api { status: u16, message: String },
    #[error("unexpected answer from meta node {addr}: {reason}")]
    Decode { addr: String, reason: String },
    #[error("no meta servers configured")]
    NoServers,
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Optional credentials for meta nodes with `auth-enabled`.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

pub struct MetaClient {
    servers: Vec<String>,
    current: AtomicUsize,
    http: reqwest::Client,
    credentials: Option<Credentials>,
}

impl MetaClient {
    /// `servers` are `host:port` HTTP addresses of meta nodes.
    pub fn new(servers: Vec<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client builds");
        MetaClient {
            servers,
            current: AtomicUsize::new(0),
            http,
            credentials: None,
        }
    }

    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    pub fn servers(&self) -> &[String] {
        &self.servers
    }

    /// Sends one request, trying each server once starting from the last good one.
    /// Only connection failures move on: an HTTP error answer is the cluster's answer.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        if self.servers.is_empty() {
            return Err(ClientError::NoServers);
        }
        let start = self.current.load(Ordering::Relaxed);
        let mut last_err = String::new();
        for i in 0..self.servers.len() {
            let idx = (start + i) % self.servers.len();
            let addr = &self.servers[idx];
            let url = format!("http://{addr}{path}");
            let mut req = self
                .http
                .request(method.clone(), &url)
                .query(query)
                .timeout(timeout);
            if let Some(c) = &self.credentials {
                req = req.basic_auth(&c.user, Some(&c.password));
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.send().await {
                Ok(resp) => {
                    self.current.store(idx, Ordering::Relaxed);
                    return decode(addr, resp).await;
                }
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "meta node unreachable");
                    last_err = e.to_string();
                }
            }
        }
        Err(ClientError::Unreachable {
            addrs: self.servers.join(", "),
            reason: last_err,
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call::<(), T>(
            reqwest::Method::GET,
            path,
            &[],
            None,
            Duration::from_secs(10),
        )
        .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        // Membership changes wait for raft (catch-up of a new voter), so allow time.
        self.call(
            reqwest::Method::POST,
            path,
            &[],
            Some(body),
            Duration::from_secs(60),
        )
        .await
    }

    pub async fn ping(&self) -> Result<(), ClientError> {
        self.call::<(), serde_json::Value>(
            reqwest::Method::GET,
            "/ping",
            &[],
            None,
            Duration::from_secs(5),
        )
        .await
        .map(|_| ())
    }

    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        self.get("/status").await
    }

    pub async fn node_info(&self) -> Result<NodeInfo, ClientError> {
        self.get("/node-info").await
    }

    pub async fn peers(&self) -> Result<Vec<String>, ClientError> {
        self.get("/peers").await
    }

    pub async fn show_cluster(&self) -> Result<ShowClusterResponse, ClientError> {
        self.get("/show-cluster").await
    }

    pub async fn show_shards(&self) -> Result<Vec<ShardInfo>, ClientError> {
        self.get("/show-shards").await
    }

    pub async fn license(&self) -> Result<LicenseResponse, ClientError> {
        self.get("/license").await
    }

    /// The full metadata snapshot. With `after = Some(n)`, waits (up to `wait`) until the
    /// metadata index passes `n`.
    pub async fn snapshot(
        &self,
        after: Option<u64>,
        wait: Duration,
    ) -> Result<Snapshot, ClientError> {
        let mut query = Vec::new();
        if let Some(n) = after {
            query.push(("index", n.to_string()));
            query.push(("timeout", format!("{}ms", wait.as_millis())));
        }
        self.call::<(), Snapshot>(
            reqwest::Method::GET,
            "/",
            &query,
            None,
            wait + Duration::from_secs(10),
        )
        .await
    }

    pub async fn add_meta(&self, addr: &str) -> Result<NodeResponse, ClientError> {
        self.post("/join", &JoinRequest { addr: addr.into() }).await
    }

    pub async fn remove_meta(&self, addr: &str, force: bool) -> Result<(), ClientError> {
        self.post::<_, serde_json::Value>(
            "/remove",
            &RemoveMetaRequest {
                addr: addr.into(),
                force,
            },
        )
        .await
        .map(|_| ())
    }

    /// Asks the meta node this client talks to (the first server) to leave its cluster.
    pub async fn leave(&self) -> Result<(), ClientError> {
        self.post::<_, serde_json::Value>("/leave", &serde_json::json!({}))
            .await
            .map(|_| ())
    }

    pub async fn add_data(&self, addr: &str) -> Result<NodeResponse, ClientError> {
        self.post("/add-data", &AddDataRequest { addr: addr.into() })
            .await
    }

    pub async fn remove_data(&self, addr: &str, force: bool) -> Result<(), ClientError> {
        self.post::<_, serde_json::Value>(
            "/remove-data",
            &RemoveDataRequest {
                addr: addr.into(),
                force,
            },
        )
        .await
        .map(|_| ())
    }

    pub async fn update_data(&self, old: &str, new: &str) -> Result<NodeResponse, ClientError> {
        self.post(
            "/update-data",
            &UpdateDataRequest {
                old: old.into(),
                new: new.into(),
            },
        )
        .await
    }

    /// Proposes a metadata command through the leader.
    pub async fn execute(&self, command: &Command) -> Result<ExecuteResponse, ClientError> {
        self.post("/execute", command).await
    }

    pub async fn user(&self, request: &UserRequest) -> Result<ExecuteResponse, ClientError> {
        self.post("/user", request).await
    }

    /// Acquires or renews a lease. A 409 (someone else holds it) comes back as
    /// `Err(ClientError::Api { status: 409, .. })` whose message names the holder.
    pub async fn lease(&self, name: &str, node_id: u64) -> Result<LeaseResponse, ClientError> {
        self.call::<(), LeaseResponse>(
            reqwest::Method::GET,
            "/lease",
            &[("name", name.to_string()), ("node_id", node_id.to_string())],
            None,
            Duration::from_secs(10),
        )
        .await
    }
}

async fn decode<T: DeserializeOwned>(
    addr: &str,
    resp: reqwest::Response,
) -> Result<T, ClientError> {
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|e| ClientError::Decode {
        addr: addr.to_string(),
        reason: e.to_string(),
    })?;
    if !status.is_success() {
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| b.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).trim().to_string());
        return Err(ClientError::Api {
            status: status.as_u16(),
            message,
        });
    }
    // 204 and empty bodies decode as JSON null.
    let body: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        addr: addr.to_string(),
        reason: e.to_string(),
    })
}
