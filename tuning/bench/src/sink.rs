//! `tessera-bench sink`: a null InfluxDB endpoint. It reads and drops every body, answers
//! 204 to `/write` and `/ping` and an empty result to `/query`, and prints what it took
//! each second, so the client's own ceiling can be measured.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// What the sink has taken so far.
#[derive(Debug, Default)]
pub struct SinkCounters {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    /// Newlines in /write bodies, counted only with `count_lines` (it costs a scan).
    pub lines: AtomicU64,
}

const QUERY_ANSWER: &[u8] = br#"{"results":[{"statement_id":0}]}"#;

async fn answer(
    req: Request<Incoming>,
    counters: Arc<SinkCounters>,
    count_lines: bool,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let mut body = req.into_body();
    let mut n = 0u64;
    let mut lines = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Some(data) = frame.data_ref() {
            n += data.len() as u64;
            if count_lines {
                lines += data.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
    }
    counters.requests.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(n, Ordering::Relaxed);
    counters.lines.fetch_add(lines, Ordering::Relaxed);
    let mut resp = Response::new(Full::new(Bytes::new()));
    resp.headers_mut().insert(
        "X-Influxdb-Version",
        hyper::header::HeaderValue::from_static("tessera-bench-sink"),
    );
    match path.trim_end_matches('/') {
        p if p.ends_with("/query") => {
            *resp.body_mut() = Full::new(Bytes::from_static(QUERY_ANSWER));
            resp.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
        }
        p if p.ends_with("/write") || p.ends_with("/ping") => {
            *resp.status_mut() = StatusCode::NO_CONTENT;
        }
        _ => *resp.status_mut() = StatusCode::NOT_FOUND,
    }
    Ok(resp)
}

/// Serves connections on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, counters: Arc<SinkCounters>, count_lines: bool) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                answer(req, Arc::clone(&counters), count_lines)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Prints the rate every second until the process is stopped.
pub async fn report_forever(counters: Arc<SinkCounters>, count_lines: bool) {
    let mut last = (0u64, 0u64, 0u64, Instant::now());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = Instant::now();
        let r = counters.requests.load(Ordering::Relaxed);
        let b = counters.bytes.load(Ordering::Relaxed);
        let l = counters.lines.load(Ordering::Relaxed);
        let secs = (now - last.3).as_secs_f64().max(1e-9);
        if r != last.0 {
            let lines = if count_lines {
                format!(
                    ", {} lines/s",
                    crate::progress::si((l - last.2) as f64 / secs)
                )
            } else {
                String::new()
            };
            tracing::info!(
                "sink: {:.0} req/s, {:.1} MB/s{lines}",
                (r - last.0) as f64 / secs,
                (b - last.1) as f64 / secs / 1e6
            );
        }
        last = (r, b, l, now);
    }
}
