//! `ramp` finds a known limit: an in-test server that takes at most `R` lines/s (it
//! answers each batch when a single "disk" that writes `R` lines/s would be done with it).

mod common;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LIMIT: f64 = 40_000.0;

async fn throttled(
    req: Request<hyper::body::Incoming>,
    busy_until: Arc<Mutex<Instant>>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let is_write = req.uri().path() == "/write";
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !is_write {
        return Ok(Response::new(Full::new(Bytes::from_static(
            br#"{"results":[{"statement_id":0}]}"#,
        ))));
    }
    let lines = body.iter().filter(|&&b| b == b'\n').count() as f64;
    let done = {
        let mut g = busy_until.lock().unwrap();
        let start = (*g).max(Instant::now());
        *g = start + Duration::from_secs_f64(lines / LIMIT);
        *g
    };
    tokio::time::sleep_until(done.into()).await;
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    Ok(r)
}

#[test]
fn ramp_finds_the_servers_limit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let busy_until = Arc::new(Mutex::new(Instant::now()));
    rt.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let busy_until = Arc::clone(&busy_until);
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req| throttled(req, Arc::clone(&busy_until)));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let html = dir.path().join("r.html");
    let t0 = Instant::now();
    let out = common::run(&[
        "ramp",
        "--url",
        &url,
        "--series",
        "1000",
        "--batch-size",
        "1000",
        "--start-rate",
        "10000",
        "--step-factor",
        "1.25",
        "--step-duration",
        "1s",
        "--slo-p99",
        "150ms",
        "--concurrency",
        "4",
        "--refine",
        "1",
        "--json",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = common::read_json(&json);
    let ramp = &j["ramp"];
    let cap = j["capacity_lines_per_s"]
        .as_f64()
        .expect("a capacity was found");
    eprintln!(
        "capacity {cap:.0} lines/s against a {LIMIT} lines/s server in {:.1}s; steps: {}",
        t0.elapsed().as_secs_f64(),
        serde_json::to_string(
            &ramp["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["offered_lines_per_s"].as_f64().unwrap() as u64,
                        s["achieved_lines_per_s"].as_f64().unwrap() as u64,
                        s["ok"].as_bool().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        )
        .unwrap()
    );
    assert!(
        (0.7 * LIMIT..=1.05 * LIMIT).contains(&cap),
        "capacity {cap} not within [0.7, 1.05] × {LIMIT}"
    );
    assert_eq!(ramp["limit_not_reached"], false);
    let steps = ramp["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["ok"] == false), "a step broke");
    assert!(
        steps[0]["ok"].as_bool().unwrap(),
        "10k lines/s is well under the limit"
    );
    assert!(j["lines_per_s"].as_f64().unwrap() > 0.0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Achieved against offered rate"));
}
