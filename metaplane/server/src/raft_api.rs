//! The raft port (8089): openraft's RPCs as JSON over HTTP, served to the other meta nodes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};

use crate::error::ApiError;
use crate::node::MetaService;
use crate::raft_types::TypeConfig;

pub fn router(svc: Arc<MetaService>) -> Router {
    Router::new()
        .route("/raft/append", post(append))
        .route("/raft/vote", post(vote))
        .route("/raft/snapshot", post(snapshot))
        .with_state(svc)
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("bad raft message: {e}")))
}

async fn append(State(svc): State<Arc<MetaService>>, body: Bytes) -> Result<Response, ApiError> {
    let req: AppendEntriesRequest<TypeConfig> = decode(&body)?;
    let h = svc.handle().await.ok_or(ApiError::NotJoined)?;
    Ok(Json(h.raft.append_entries(req).await).into_response())
}

async fn vote(State(svc): State<Arc<MetaService>>, body: Bytes) -> Result<Response, ApiError> {
    let req: VoteRequest<u64> = decode(&body)?;
    let h = svc.handle().await.ok_or(ApiError::NotJoined)?;
    Ok(Json(h.raft.vote(req).await).into_response())
}

async fn snapshot(State(svc): State<Arc<MetaService>>, body: Bytes) -> Result<Response, ApiError> {
    let req: InstallSnapshotRequest<TypeConfig> = decode(&body)?;
    let h = svc.handle().await.ok_or(ApiError::NotJoined)?;
    Ok(Json(h.raft.install_snapshot(req).await).into_response())
}
