//! `/debug/vars` and `/debug/pprof` (CPU profiles as pprof protobuf and as a flamegraph
//! SVG), as influxd serves them.
//!
//! The profiler's sample tables (about 130 MiB) are allocated by the first profile and kept
//! for the life of the process; `docs/operations.md` says so.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use pprof::protos::Message;

use crate::error::ApiError;
use crate::node::MetaService;

/// Samples per second, as Go's pprof.
const PROFILE_HZ: i32 = 100;
const MAX_PROFILE: Duration = Duration::from_secs(300);

pub fn router(pprof_enabled: bool) -> Router<Arc<MetaService>> {
    let r = Router::new().route("/debug/vars", get(vars));
    if !pprof_enabled {
        return r;
    }
    r.route("/debug/pprof", get(index))
        .route("/debug/pprof/", get(index))
        .route("/debug/pprof/profile", get(profile))
        .route("/debug/pprof/flamegraph", get(flamegraph))
}

async fn index() -> Html<&'static str> {
    Html(
        "<html><head><title>/debug/pprof/</title></head><body>\n\
         <h1>/debug/pprof/</h1>\n\
         <ul>\n\
         <li><a href=\"profile?seconds=30\">profile</a>: CPU profile (pprof protobuf; \
         <code>go tool pprof</code>)</li>\n\
         <li><a href=\"flamegraph?seconds=30\">flamegraph</a>: CPU profile as an SVG \
         flamegraph</li>\n\
         </ul>\n<p><a href=\"/debug/vars\">/debug/vars</a></p>\n</body></html>\n",
    )
}

fn seconds(q: &HashMap<String, String>) -> Result<Duration, ApiError> {
    match q.get("seconds") {
        None => Ok(Duration::from_secs(30)),
        Some(s) => {
            let n: u64 = s
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("invalid seconds {s:?}")))?;
            if n == 0 {
                return Err(ApiError::BadRequest("seconds must be positive".into()));
            }
            Ok(Duration::from_secs(n).min(MAX_PROFILE))
        }
    }
}

/// Profiles this process for `duration` on a blocking thread.
async fn run_profile(duration: Duration) -> Result<pprof::Report, ApiError> {
    tokio::task::spawn_blocking(move || {
        let guard = pprof::ProfilerGuardBuilder::default()
            .frequency(PROFILE_HZ)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
            .map_err(|e| ApiError::Conflict(format!("cannot start the profiler: {e}")))?;
        std::thread::sleep(duration);
        let report = guard
            .report()
            .build()
            .map_err(|e| ApiError::Internal(format!("building the profile: {e}")));
        drop(guard);
        report
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

async fn profile(Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let report = run_profile(seconds(&q)?).await?;
    let proto = report
        .pprof()
        .map_err(|e| ApiError::Internal(format!("encoding the profile: {e}")))?;
    let bytes = proto.encode_to_vec();
    Ok((
        [
            ("content-type", "application/octet-stream"),
            ("content-disposition", "attachment; filename=\"profile\""),
        ],
        bytes,
    )
        .into_response())
}

async fn flamegraph(Query(q): Query<HashMap<String, String>>) -> Result<Response, ApiError> {
    let report = run_profile(seconds(&q)?).await?;
    let mut svg = Vec::new();
    report
        .flamegraph(&mut svg)
        .map_err(|e| ApiError::Internal(format!("drawing the flamegraph: {e}")))?;
    if svg.is_empty() {
        // No samples (an idle process): still answer with a valid SVG that says so.
        svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="600" height="40"><text x="10" y="25">No CPU samples were collected: the process was idle.</text></svg>"#.to_vec();
    }
    Ok(([("content-type", "image/svg+xml")], svg).into_response())
}

fn rss_bytes() -> u64 {
    // Second field of /proc/self/statm is resident pages.
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

async fn vars(State(svc): State<Arc<MetaService>>) -> Json<serde_json::Value> {
    let h = svc.handle().await;
    let raft = h.as_ref().map(|h| {
        let m = h.raft.metrics().borrow().clone();
        serde_json::json!({
            "id": m.id,
            "state": format!("{:?}", m.state),
            "term": m.current_term,
            "leader": m.current_leader,
            "lastLogIndex": m.last_log_index,
            "lastApplied": m.last_applied.map(|l| l.index),
            "snapshot": m.snapshot.map(|l| l.index),
            "purged": m.purged.map(|l| l.index),
        })
    });
    Json(serde_json::json!({
        "cmdline": std::env::args().collect::<Vec<_>>(),
        "meta": {
            "httpAddr": svc.cfg.http_addr,
            "raftAddr": svc.cfg.raft_addr,
            "index": h.as_ref().map(|h| h.shared.index()),
            "uptimeSeconds": svc.started.elapsed().as_secs(),
            "raft": raft,
        },
        "memstats": { "rss": rss_bytes() },
    }))
}
