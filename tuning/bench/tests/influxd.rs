//! Against a real InfluxDB 1.6.7 (`/usr/bin/influxd`): a generated workload is accepted
//! (every batch 204), a count query finds every point, and the built-in query set runs
//! without an error. Skipped, with a message, when influxd is not installed.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INFLUXD: &str = "/usr/bin/influxd";

struct Influxd {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Influxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway influxd on loopback, configured as `../shared/peer/influxd_peer.sh` does:
/// no other listener, no self-monitoring, no limits that would refuse a workload.
fn start_influxd() -> Influxd {
    let dir = tempfile::tempdir().unwrap();
    let (port, rpc) = (common::free_port(), common::free_port());
    let d = dir.path().display();
    let conf = format!(
        r#"reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{d}/meta"
  logging-enabled = false
[data]
  dir = "{d}/data"
  wal-dir = "{d}/wal"
  index-version = "inmem"
  query-log-enabled = false
  max-series-per-database = 0
  max-values-per-tag = 0
  trace-logging-enabled = false
[coordinator]
  max-select-point = 0
[retention]
  enabled = false
[shard-precreation]
  enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
  suppress-write-log = true
  max-body-size = 0
[logging]
  level = "warn"
  suppress-logo = true
[continuous_queries]
  enabled = false
"#
    );
    let path = dir.path().join("influxdb.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(INFLUXD)
        .args(["run", "-config"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start influxd");
    let mut s = Influxd {
        child,
        port,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        if let Ok(Some(st)) = s.child.try_wait() {
            panic!("influxd exited during start-up: {st}");
        }
        assert!(
            Instant::now() < deadline,
            "influxd did not listen within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    s
}

fn count_query(port: u16, q: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ep = std::sync::Arc::new(
            tessera_bench::http::Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        );
        let mut c = tessera_bench::http::Conn::new(ep, Duration::from_secs(30));
        let r = c.query(Some("bench"), q).await.unwrap();
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    })
}

#[test]
fn real_influxd_takes_the_workload_and_the_queries() {
    if !Path::new(INFLUXD).exists() {
        eprintln!("SKIPPED: {INFLUXD} is not installed (apt-get install influxdb)");
        return;
    }
    let server = start_influxd();
    let url = format!("http://127.0.0.1:{}", server.port);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("w.json");
    let pid = server.child.id().to_string();
    let out = common::run(&[
        "write",
        "--url",
        &url,
        "--series",
        "500",
        "--measurements",
        "2",
        "--points-per-series",
        "40",
        "--fields",
        "6",
        "--int-fields",
        "2",
        "--string-every",
        "3",
        "--bool-every",
        "4",
        "--batch-size",
        "2500",
        "--precision",
        "s",
        "--server-pid",
        &pid,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = common::read_json(&json);
    assert_eq!(j["write"]["lines"], 20_000);
    // Time order: a batch holds one timestamp of at most --batch-size series.
    assert_eq!(j["write"]["status_counts"]["204"], 40);
    assert!(j["write"]["server"]["peak_rss_bytes"].as_u64().unwrap() > 0);

    // 500 series = 2 measurements × 250 hosts; each has 40 points of usage_user.
    let body = count_query(
        server.port,
        "SELECT count(usage_user) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' AND time < '2020-01-02T00:00:00Z'",
    );
    assert_eq!(
        body["results"][0]["series"][0]["values"][0][1],
        250 * 40,
        "{body}"
    );
    let body = count_query(server.port, "SHOW SERIES EXACT CARDINALITY");
    let card: u64 = body["results"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["values"][0][0].as_u64().unwrap())
        .sum();
    assert_eq!(card, 500, "{body}");

    let out = common::run(&[
        "query",
        "--url",
        &url,
        "--series",
        "500",
        "--measurements",
        "2",
        "--points-per-series",
        "40",
        "--fields",
        "6",
        "--int-fields",
        "2",
        "--string-every",
        "3",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--json",
        json.to_str().unwrap(),
    ]);
    let j = common::read_json(&json);
    let failed: Vec<String> = j["query"]["per_query"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["errors"].as_u64() != Some(0))
        .map(|q| format!("{}: {}", q["name"], q["error"]))
        .collect();
    assert!(
        failed.is_empty(),
        "built-in queries failed on influxd: {failed:#?}"
    );
    assert!(out.status.success());
}
