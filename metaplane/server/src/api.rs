//! The meta HTTP API (port 8091). Reads are answered from this node's copy of the state;
//! changes run on the leader, and a follower forwards them there (once: a forwarded
//! request is never forwarded again, so a leadership change cannot make a loop).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tessera_meta_client::api::*;
use tessera_meta_types::{Command, MetaError, Reply, Snapshot};

use crate::cluster::{check_addr, propose};
use crate::error::ApiError;
use crate::node::{MetaService, RaftHandle};

type Svc = State<Arc<MetaService>>;

/// Marks a request a follower already forwarded.
const FORWARDED: &str = "x-tessera-forwarded";
/// Longest a long-poll may wait.
const MAX_POLL: Duration = Duration::from_secs(300);
/// bcrypt cost; influxd uses Go's default cost, 10.
const BCRYPT_COST: u32 = 10;

pub fn router(svc: Arc<MetaService>) -> Router {
    Router::new()
        .route("/", get(snapshot))
        .route("/ping", get(ping).head(ping))
        .route("/status", get(status))
        .route("/peers", get(peers))
        .route("/node-info", get(node_info))
        .route("/show-cluster", get(show_cluster))
        .route("/show-shards", get(show_shards))
        .route("/license", get(license))
        .route("/lease", get(lease))
        .route("/join", post(join))
        .route("/leave", post(leave))
        .route("/remove", post(remove))
        .route("/add-data", post(add_data))
        .route("/remove-data", post(remove_data))
        .route("/update-data", post(update_data))
        .route("/execute", post(execute))
        .route("/user", post(user))
        .route("/assign", post(assign))
        .route("/reset", post(reset))
        .merge(crate::debug::router(svc.cfg.pprof_enabled))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::map_response(version_header))
        .with_state(svc)
}

async fn version_header(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert("X-Influxdb-Version", HeaderValue::from_static(VERSION));
    resp
}

async fn not_found() -> ApiError {
    ApiError::NotFound("not found".into())
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(serde_json::json!({"error": "method not allowed"})),
    )
        .into_response()
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
}

/// Where a change runs: here (this node leads) or on the leader (already answered).
enum Route {
    Local(RaftHandle),
    Remote(Response),
}

/// A change request as received: kept whole so a follower can forward it unchanged.
struct Incoming {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

#[axum::async_trait]
impl<S: Send + Sync> axum::extract::FromRequest<S> for Incoming {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let body = Bytes::from_request(
            axum::extract::Request::from_parts(parts.clone(), body),
            state,
        )
        .await
        .map_err(|e| ApiError::BadRequest(format!("cannot read the request body: {e}")))?;
        Ok(Incoming {
            method: parts.method,
            uri: parts.uri,
            headers: parts.headers,
            body,
        })
    }
}

impl Incoming {
    fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.body)
    }
}

async fn route(svc: &MetaService, req: &Incoming) -> Result<Route, ApiError> {
    let h = svc.handle().await.ok_or(ApiError::NotJoined)?;
    let (leader, peer) = h
        .wait_for_leader(Duration::from_secs(5))
        .await
        .ok_or(ApiError::NoLeader)?;
    if leader == h.id {
        return Ok(Route::Local(h));
    }
    if req.headers.contains_key(FORWARDED) {
        return Err(ApiError::NoLeader);
    }
    let path = req.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("http://{}{path}", peer.http_addr);
    tracing::debug!(%url, "forwarding to the leader");
    let resp = svc
        .http
        .request(req.method.clone(), &url)
        .header(FORWARDED, "1")
        .header("content-type", "application/json")
        .body(req.body.clone())
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .map_err(|e| {
            ApiError::Unavailable(format!("leader {} unreachable: {e}", peer.http_addr))
        })?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let body = resp
        .bytes()
        .await
        .map_err(|e| ApiError::Unavailable(format!("leader {}: {e}", peer.http_addr)))?;
    Ok(Route::Remote(
        (status, [("content-type", "application/json")], body).into_response(),
    ))
}

/// Runs `$f` on the leader: here, or by forwarding the request unchanged.
macro_rules! on_leader {
    ($svc:expr, $req:expr, |$h:ident| $f:expr) => {{
        match route(&$svc, &$req).await? {
            Route::Remote(resp) => Ok(resp),
            Route::Local($h) => $f,
        }
    }};
}

async fn ping() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn node_info(State(svc): Svc) -> Json<NodeInfo> {
    Json(NodeInfo {
        id: svc.handle().await.map(|h| h.id),
        http_addr: svc.cfg.http_addr.clone(),
        raft_addr: svc.cfg.raft_addr.clone(),
        version: VERSION.into(),
    })
}

async fn status(State(svc): Svc) -> Json<StatusResponse> {
    let h = svc.handle().await;
    Json(StatusResponse {
        node_type: "meta".into(),
        leader: h
            .as_ref()
            .and_then(|h| h.leader())
            .map(|(_, p)| p.raft_addr)
            .unwrap_or_default(),
        http_addr: svc.cfg.http_addr.clone(),
        raft_addr: svc.cfg.raft_addr.clone(),
        peers: h
            .as_ref()
            .map(|h| h.voters().into_values().map(|p| p.raft_addr).collect())
            .unwrap_or_default(),
        id: h.as_ref().map(|h| h.id).unwrap_or(0),
        index: h.as_ref().map(|h| h.shared.index()).unwrap_or(0),
    })
}

async fn peers(State(svc): Svc) -> Json<Vec<String>> {
    Json(
        svc.handle()
            .await
            .map(|h| h.voters().into_values().map(|p| p.raft_addr).collect())
            .unwrap_or_default(),
    )
}

async fn show_cluster(State(svc): Svc) -> Json<ShowClusterResponse> {
    let Some(h) = svc.handle().await else {
        return Json(ShowClusterResponse {
            data: vec![],
            meta: vec![],
        });
    };
    let mut cluster = h.shared.read(|s| ShowClusterResponse {
        data: s
            .data_nodes
            .iter()
            .map(|n| DataNodeInfo {
                id: n.id,
                tcp_addr: n.tcp_addr.clone(),
                http_addr: n.http_addr.clone(),
                version: VERSION.into(),
                status: String::new(),
            })
            .collect(),
        meta: s
            .meta_nodes
            .iter()
            .map(|n| MetaNodeInfo {
                id: n.id,
                addr: n.addr.clone(),
                http_addr: n.http_addr.clone(),
                version: VERSION.into(),
            })
            .collect(),
    });
    // Health as this meta node sees it now: each data node asked who it is, all at once.
    let probes = cluster.data.iter().map(|n| {
        let addr = n.tcp_addr.clone();
        async move { crate::cluster::data_node_health(&addr).await }
    });
    let health = join_all(probes).await;
    for (n, status) in cluster.data.iter_mut().zip(health) {
        n.status = status;
    }
    Json(cluster)
}

/// Runs the futures concurrently on this task; results in order.
async fn join_all<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<std::pin::Pin<Box<F>>>> =
        futures.map(|f| Some(Box::pin(f))).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut busy = false;
        for (slot, d) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *d = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => busy = true,
                }
            }
        }
        if busy {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter()
        .map(|d| d.expect("every probe finished"))
        .collect()
}

async fn show_shards(State(svc): Svc) -> Json<Vec<tessera_meta_types::ShardInfo>> {
    Json(match svc.handle().await {
        Some(h) => h.shared.read(|s| s.shards()),
        None => vec![],
    })
}

async fn license(State(svc): Svc) -> Json<LicenseResponse> {
    let installed = match svc.handle().await {
        Some(h) => h.shared.read(|s| (s.license.clone(), s.data_nodes.len())),
        None => (None, 0),
    };
    Json(match installed {
        (Some(l), data_nodes) => LicenseResponse {
            licensee: l.licensee,
            max_data_nodes: l.max_data_nodes,
            max_cores: l.max_cores,
            expires_at: format_time(l.expires_at),
            data_nodes,
        },
        (None, data_nodes) => {
            let c = &svc.license.claims;
            LicenseResponse {
                licensee: c.licensee.clone(),
                max_data_nodes: c.max_data_nodes,
                max_cores: c.max_cores,
                expires_at: svc.license.expires_rfc3339(),
                data_nodes,
            }
        }
    })
}

/// `GET /?index=N&timeout=D`: the full snapshot, once the index passes N (or D elapses).
async fn snapshot(
    State(svc): Svc,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Snapshot>, ApiError> {
    let h = svc.handle().await.ok_or(ApiError::NotJoined)?;
    if let Some(raw) = q.get("index") {
        let after: u64 = raw.parse().map_err(|_| {
            ApiError::BadRequest(format!("invalid index {raw:?}: expected an integer"))
        })?;
        let timeout = match q.get("timeout") {
            None => Duration::from_secs(30),
            Some(t) => tessera_meta_types::duration::parse(t)
                .map(Duration::from_nanos)
                .map_err(|e| ApiError::BadRequest(format!("invalid timeout: {e}")))?,
        }
        .min(MAX_POLL);
        let mut rx = h.shared.subscribe();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            if *rx.borrow_and_update() > after {
                break;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { break },
                _ = &mut deadline => break,
            }
        }
    }
    Ok(Json(h.shared.read(|s| Snapshot {
        index: s.index,
        data: s.clone(),
    })))
}

async fn lease(
    State(svc): Svc,
    Query(q): Query<HashMap<String, String>>,
    incoming: Incoming,
) -> Result<Response, ApiError> {
    let name = q.get("name").map(|s| s.trim()).unwrap_or("");
    if name.is_empty() {
        return Err(MetaError::LeaseNameRequired.into());
    }
    let raw_id = q
        .get("node_id")
        .ok_or_else(|| ApiError::BadRequest("node_id required".into()))?;
    let node_id: u64 = raw_id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("invalid node_id {raw_id:?}")))?;
    on_leader!(svc, incoming, |h| {
        match svc.acquire_lease(&h, name, node_id).await {
            Ok(Reply::Lease { lease }) => {
                Ok(Json(LeaseResponse::from_lease(&lease, None)).into_response())
            }
            Ok(other) => Err(ApiError::Internal(format!("unexpected reply {other:?}"))),
            Err(ApiError::Meta(e @ MetaError::LeaseConflict { .. })) => {
                let MetaError::LeaseConflict { lease } = &e else {
                    unreachable!("matched above")
                };
                Ok((
                    StatusCode::CONFLICT,
                    Json(LeaseResponse::from_lease(lease, Some(e.to_string()))),
                )
                    .into_response())
            }
            Err(e) => Err(e),
        }
    })
}

async fn join(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let req: JoinRequest = incoming.json()?;
    check_addr(&req.addr)?;
    if svc.handle().await.is_none() {
        // An unjoined node asked to add a meta node starts a new cluster with itself.
        let info = svc.fetch_node_info(&req.addr).await?;
        let h = svc.bootstrap().await?;
        if info.http_addr == svc.cfg.http_addr {
            return Ok(Json(NodeResponse {
                id: h.id,
                addr: svc.cfg.raft_addr.clone(),
                http_addr: svc.cfg.http_addr.clone(),
            })
            .into_response());
        }
    }
    on_leader!(svc, incoming, |h| {
        Ok(Json(svc.add_meta(&h, &req.addr).await?).into_response())
    })
}

async fn remove(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let req: RemoveMetaRequest = incoming.json()?;
    check_addr(&req.addr)?;
    on_leader!(svc, incoming, |h| {
        svc.remove_meta(&h, &req.addr, req.force).await?;
        if req.addr == svc.cfg.http_addr || req.addr == svc.cfg.raft_addr {
            reset_soon(Arc::clone(&svc));
        }
        Ok(Json(serde_json::json!({})).into_response())
    })
}

/// Clears this node's raft state shortly after the answer has gone out.
fn reset_soon(svc: Arc<MetaService>) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Err(e) = svc.reset().await {
            tracing::error!(error = %e, "reset after leaving the cluster failed");
        }
    });
}

async fn leave(State(svc): Svc) -> Result<Response, ApiError> {
    let h = svc.handle().await.ok_or(ApiError::NotJoined)?;
    let (leader, peer) = h
        .wait_for_leader(Duration::from_secs(5))
        .await
        .ok_or(ApiError::NoLeader)?;
    if leader == h.id {
        svc.remove_meta(&h, &svc.cfg.http_addr, false).await?;
        reset_soon(Arc::clone(&svc));
    } else {
        let resp = svc
            .http
            .post(format!("http://{}/remove", peer.http_addr))
            .json(&RemoveMetaRequest {
                addr: svc.cfg.http_addr.clone(),
                force: false,
            })
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .map_err(|e| ApiError::Unavailable(format!("leader unreachable: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            let msg = serde_json::from_str::<ErrorBody>(&text)
                .map(|b| b.error)
                .unwrap_or(text);
            return Err(if status == 400 {
                ApiError::BadRequest(msg)
            } else {
                ApiError::Unavailable(msg)
            });
        }
    }
    Ok(Json(serde_json::json!({})).into_response())
}

async fn add_data(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let req: AddDataRequest = incoming.json()?;
    check_addr(&req.addr)?;
    on_leader!(svc, incoming, |h| {
        Ok(Json(svc.add_data(&h, &req.addr).await?).into_response())
    })
}

async fn remove_data(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let req: RemoveDataRequest = incoming.json()?;
    check_addr(&req.addr)?;
    on_leader!(svc, incoming, |h| {
        svc.remove_data(&h, &req.addr, req.force).await?;
        Ok(Json(serde_json::json!({})).into_response())
    })
}

async fn update_data(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let req: UpdateDataRequest = incoming.json()?;
    check_addr(&req.old)?;
    check_addr(&req.new)?;
    on_leader!(svc, incoming, |h| {
        Ok(Json(svc.update_data(&h, &req.old, &req.new).await?).into_response())
    })
}

async fn execute(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let cmd: Command = incoming.json()?;
    if cmd.is_node_change()
        || matches!(
            cmd,
            Command::SetLicense { .. } | Command::AcquireLease { .. }
        )
    {
        return Err(ApiError::BadRequest(
            "this command has its own endpoint (/join, /remove, /add-data, /remove-data, \
             /update-data, /lease)"
                .into(),
        ));
    }
    on_leader!(svc, incoming, |h| {
        let (index, reply) = propose(&h, cmd).await?;
        Ok(Json(ExecuteResponse { index, reply }).into_response())
    })
}

async fn user(State(svc): Svc, incoming: Incoming) -> Result<Response, ApiError> {
    let req: UserRequest = incoming.json()?;
    if req.name.is_empty() {
        return Err(MetaError::UsernameRequired.into());
    }
    on_leader!(svc, incoming, |h| {
        let password = req.password.clone();
        let hash = tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(format!("hashing password: {e}")))?;
        let cmd = if req.update {
            Command::UpdateUser {
                name: req.name.clone(),
                hash,
            }
        } else {
            Command::CreateUser {
                name: req.name.clone(),
                hash,
                admin: req.admin,
            }
        };
        let (index, reply) = propose(&h, cmd).await?;
        Ok(Json(ExecuteResponse { index, reply }).into_response())
    })
}

#[derive(serde::Deserialize)]
struct AssignRequest {
    id: u64,
}

/// Internal: the leader gives a node it is adding its id.
async fn assign(State(svc): Svc, body: Bytes) -> Result<Response, ApiError> {
    let req: AssignRequest = parse_json(&body)?;
    if req.id == 0 {
        return Err(ApiError::BadRequest("node id must be positive".into()));
    }
    svc.assign(req.id).await?;
    Ok(Json(serde_json::json!({})).into_response())
}

/// Internal: the leader tells a node it removed to forget the cluster.
async fn reset(State(svc): Svc) -> Result<Response, ApiError> {
    if let Some(h) = svc.handle().await {
        if h.voters().contains_key(&h.id) && h.shared.read(|s| s.meta_node(h.id).is_some()) {
            // Still a member as far as this node has applied: wait briefly for the removal.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    svc.reset().await?;
    Ok(Json(serde_json::json!({})).into_response())
}
