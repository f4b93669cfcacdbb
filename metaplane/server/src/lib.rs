//! The Tessera meta node, `influxd-meta`: cluster metadata replicated with openraft over
//! tokio, served to data nodes and `influxd-ctl` on an HTTP API shaped like InfluxDB
//! Enterprise's.
//!
//! # Layout
//! - [`config`] — TOML config, env overrides, validation.
//! - [`raft_types`] — the openraft type configuration.
//! - [`record_file`] — checksummed record files with torn-tail recovery.
//! - [`log_store`] — the persistent raft log (entries, vote, commit mark).
//! - [`state_machine`] — applies commands to the cluster state; snapshots.
//! - [`network`] / [`raft_api`] — raft RPCs over HTTP, client and server side.
//! - [`node`] — [`node::MetaService`]: one meta node and its raft lifecycle.
//! - [`cluster`] — leader-side membership, data nodes, leases.
//! - [`api`] — the meta HTTP API; [`debug`] — `/debug/vars` and `/debug/pprof`.
//! - [`error`] — [`error::ApiError`] and its HTTP mapping.

pub mod api;
pub mod cluster;
pub mod config;
pub mod debug;
pub mod error;
pub mod log_store;
pub mod network;
pub mod node;
pub mod raft_api;
pub mod raft_types;
pub mod record_file;
pub mod state_machine;

#[cfg(test)]
mod store_tests;

use std::sync::Arc;

use tessera_license::License;
use tokio::net::TcpListener;

use crate::config::MetaConfig;
use crate::node::MetaService;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Start(String),
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// Runs a meta node until `shutdown` resolves.
pub async fn run(
    cfg: MetaConfig,
    license: License,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let raft_listener =
        TcpListener::bind(&cfg.raft_bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: cfg.raft_bind.clone(),
                source,
            })?;
    let http_listener =
        TcpListener::bind(&cfg.http_bind)
            .await
            .map_err(|source| ServeError::Bind {
                addr: cfg.http_bind.clone(),
                source,
            })?;
    let svc = MetaService::open(cfg, license)
        .await
        .map_err(|e| ServeError::Start(e.to_string()))?;
    tracing::info!(
        raft = %svc.cfg.raft_addr,
        http = %svc.cfg.http_addr,
        dir = %svc.cfg.dir.display(),
        "influxd-meta listening"
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|v| *v).await;
    };
    let raft_server = axum::serve(raft_listener, raft_api::router(Arc::clone(&svc)))
        .with_graceful_shutdown(stopped(stop_rx.clone()));
    let http_server = axum::serve(http_listener, api::router(Arc::clone(&svc)))
        .with_graceful_shutdown(stopped(stop_rx));
    let (a, b) = tokio::join!(raft_server, http_server);
    svc.shutdown().await;
    a.map_err(ServeError::Serve)?;
    b.map_err(ServeError::Serve)?;
    tracing::info!("influxd-meta stopped");
    Ok(())
}
