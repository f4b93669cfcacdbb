//! The write path end to end on a real node: `/write` with every field type and precision,
//! InfluxDB's error answers, durability across SIGKILL (every acknowledged point comes back
//! out of `influxd export`), and a restart with another core count.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use tessera_tests::{bin, wait_for, Cluster, DataNode};

fn query(node: &DataNode, q: &str) -> (u16, serde_json::Value) {
    let url = format!("http://{}/query", node.http);
    let resp = reqwest::blocking::Client::new()
        .post(url)
        .form(&[("q", q)])
        .send()
        .expect("query");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(serde_json::Value::Null))
}

fn write(node: &DataNode, params: &str, body: &str) -> (u16, String) {
    let url = format!("http://{}/write?{params}", node.http);
    let resp = reqwest::blocking::Client::new()
        .post(url)
        .body(body.to_string())
        .send()
        .expect("write");
    (resp.status().as_u16(), resp.text().unwrap_or_default())
}

/// The exported data lines (without comments), as a set.
fn export(node: &DataNode, db: &str) -> BTreeSet<String> {
    let out = Command::new(bin("influxd"))
        .args(["export", "-config"])
        .arg(&node.proc_.config)
        .args(["-database", db])
        .output()
        .expect("influxd export");
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn write_every_type_and_read_it_back() {
    let mut c = Cluster::start(1, 1, "", "");
    let d = &c.datas[0];
    let (status, body) = query(d, "CREATE DATABASE db");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["statement_id"], 0);
    let (status, body) = query(d, "SHOW DATABASES");
    assert_eq!(status, 200);
    assert_eq!(
        body["results"][0]["series"][0]["values"][0][0], "db",
        "{body}"
    );

    let lines = "cpu,host=a,region=west f=1.5,i=-7i,b=true,s=\"quote \\\" here\" 1000000000\n\
                 cpu,region=west,host=a f=2.25 2000000000\n\
                 mem\\ used,host=b\\,c v=3i 3000000000\n";
    let (status, body) = write(d, "db=db", lines);
    assert_eq!(status, 204, "{body}");
    let (status, body) = write(d, "db=db&precision=s", "cpu,host=a f=9.75 4\n");
    assert_eq!(status, 204, "{body}");

    let expected: BTreeSet<String> = [
        "cpu,host=a,region=west f=1.5 1000000000",
        "cpu,host=a,region=west i=-7i 1000000000",
        "cpu,host=a,region=west b=true 1000000000",
        "cpu,host=a,region=west s=\"quote \\\" here\" 1000000000",
        "cpu,host=a,region=west f=2.25 2000000000",
        "mem\\ used,host=b\\,c v=3i 3000000000",
        "cpu,host=a f=9.75 4000000000",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(export(d, "db"), expected);

    // Restart: everything is still there (WAL replay).
    c.datas[0].proc_.kill();
    c.datas[0].start();
    assert_eq!(export(&c.datas[0], "db"), expected);
}

#[test]
fn influxdb_error_answers() {
    let c = Cluster::start(1, 1, "", "");
    let d = &c.datas[0];
    assert_eq!(query(d, "CREATE DATABASE db").0, 200);
    let (status, body) = write(d, "", "cpu v=1");
    assert_eq!(
        (status, body.as_str()),
        // influxd's JSON writer ends the object with a newline.
        (400, "{\"error\":\"database is required\"}\n")
    );
    let (status, body) = write(d, "db=nope", "cpu v=1");
    assert_eq!(
        (status, body.as_str()),
        (404, "{\"error\":\"database not found: \\\"nope\\\"\"}\n")
    );
    let (status, body) = write(d, "db=db&rp=nope", "cpu v=1");
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("retention policy not found: nope"), "{body}");
    // A type conflict drops the point and says so; the good point is kept.
    assert_eq!(write(d, "db=db", "cpu v=1 1").0, 204);
    let (status, body) = write(d, "db=db", "cpu v=2i 2\ncpu v=3 3");
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("partial write: field type conflict: input field \\\"v\\\" on measurement \\\"cpu\\\" is type integer, already exists as type float dropped=1"),
        "{body}"
    );
    // Unparsable lines: the good lines are written.
    let (status, body) = write(d, "db=db", "cpu v=4 4\ncpu v= 5\n");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unable to parse"), "{body}");
    let got = export(d, "db");
    assert!(
        got.contains("cpu v=3 3") && got.contains("cpu v=4 4"),
        "{got:?}"
    );
    assert!(
        !got.iter().any(|l| l.ends_with(" 2") || l.ends_with(" 5")),
        "{got:?}"
    );
}

#[test]
fn acknowledged_writes_survive_sigkill_and_core_changes() {
    let mut c = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    c.datas[0].set("data", "cache-snapshot-memory-size", "\"64k\"");
    c.start_all();
    assert_eq!(query(&c.datas[0], "CREATE DATABASE crash").0, 200);
    let http = c.datas[0].http.clone();
    // A writer that stops at the first failure; it returns the batches acknowledged.
    let writer = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let mut acked = Vec::new();
        for batch in 0..100_000u64 {
            let mut body = String::new();
            for s in 0..50 {
                body.push_str(&format!(
                    "m,host=h{s} v={batch}i,f={}.5 {}\n",
                    batch % 97,
                    1_600_000_000_000_000_000u64 + batch * 1_000_000_000
                ));
            }
            let ok = client
                .post(format!("http://{http}/write?db=crash"))
                .body(body)
                .send()
                .map(|r| r.status().as_u16() == 204)
                .unwrap_or(false);
            if !ok {
                break;
            }
            acked.push(batch);
        }
        acked
    });
    std::thread::sleep(Duration::from_millis(2500));
    c.datas[0].proc_.kill();
    let acked = writer.join().unwrap();
    assert!(
        acked.len() > 10,
        "the writer got {} batches acknowledged",
        acked.len()
    );
    // Restart with one core (the data was written by two) and read everything back.
    c.datas[0].set("data", "max-cores", "1");
    c.datas[0].start();
    let got = export(&c.datas[0], "crash");
    for batch in &acked {
        for s in 0..50 {
            let line = format!(
                "m,host=h{s} v={batch}i {}",
                1_600_000_000_000_000_000u64 + batch * 1_000_000_000
            );
            assert!(got.contains(&line), "acknowledged point lost: {line}");
        }
    }
    // The node still takes writes after recovery.
    assert!(wait_for(Duration::from_secs(5), || {
        (write(&c.datas[0], "db=crash", "m,host=x v=1i 1").0 == 204).then_some(())
    })
    .is_some());
}

#[test]
fn dropped_databases_and_expired_groups_leave_the_disk() {
    let c = Cluster::start(1, 1, "", "");
    let d = &c.datas[0];
    assert_eq!(query(d, "CREATE DATABASE gone").0, 200);
    assert_eq!(query(d, "CREATE DATABASE kept").0, 200);
    for db in ["gone", "kept"] {
        let (status, body) = write(
            d,
            &format!("db={db}"),
            "m,t=a v=1 1000000000\nm,t=b v=2 2000000000",
        );
        assert_eq!(status, 204, "{body}");
    }
    let data_dir = d.dir.join("data");
    assert!(data_dir.join("gone").exists() && data_dir.join("kept").exists());
    assert_eq!(query(d, "DROP DATABASE gone").0, 200);
    let cleaned = wait_for(Duration::from_secs(10), || {
        let left: usize = std::fs::read_dir(data_dir.join("gone/autogen"))
            .map(|rd| rd.count())
            .unwrap_or(0);
        (left == 0).then_some(())
    });
    assert!(
        cleaned.is_some(),
        "the dropped database's shards are still on disk"
    );
    assert_eq!(export(d, "kept").len(), 2);
    // Retention: a shard group older than its policy is deleted by housekeeping.
    let meta = c.metas[0].url("/execute");
    let (status, _) = tessera_tests::http::post(
        &meta,
        &serde_json::json!({"type": "create_retention_policy", "database": "kept",
            "policy": {"name": "short", "duration": 3_600_000_000_000u64, "shard_group_duration": 3_600_000_000_000u64, "replica_n": 1},
            "make_default": false}),
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, body) = tessera_tests::http::post(
        &meta,
        &serde_json::json!({"type": "create_shard_group", "database": "kept",
            "retention_policy": "short", "timestamp": 1_000_000_000i64}),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let deleted = wait_for(Duration::from_secs(15), || {
        let (_, snap) = tessera_tests::http::get(&c.metas[0].url("/?index=0")).ok()?;
        let groups = snap["data"]["databases"]["kept"]["retention_policies"]["short"]
            ["shard_groups"]
            .as_array()?
            .clone();
        groups
            .iter()
            .all(|g| !g["deleted_at"].is_null())
            .then_some(())
    });
    assert!(deleted.is_some(), "the expired shard group was not deleted");
}

#[test]
fn corrupt_files_are_reported_and_refused() {
    let mut c = Cluster::start(1, 1, "", "");
    assert_eq!(query(&c.datas[0], "CREATE DATABASE db").0, 200);
    let (status, body) = write(
        &c.datas[0],
        "db=db",
        "m,t=a v=1 1\nm,t=b v=2 2\nm,t=c v=3 3",
    );
    assert_eq!(status, 204, "{body}");
    // SIGTERM flushes caches into data files.
    let pid = c.datas[0].proc_.pid();
    // SAFETY: signalling the node this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    assert!(
        wait_for(Duration::from_secs(20), || (!c.datas[0].proc_.is_running())
            .then_some(()))
        .is_some(),
        "influxd did not stop on SIGTERM"
    );
    let tsm: Vec<std::path::PathBuf> = walk(&c.datas[0].dir.join("data"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "tsm"))
        .collect();
    assert!(!tsm.is_empty(), "no data files after a clean stop");
    let victim = &tsm[0];
    let mut bytes = std::fs::read(victim).unwrap();
    let n = bytes.len();
    bytes[n - 12] ^= 0xff; // inside the footer's index checksum
    std::fs::write(victim, bytes).unwrap();

    c.datas[0].start();
    // The cores open their files as they start serving: the report may follow /ping.
    let named = wait_for(Duration::from_secs(20), || {
        c.datas[0]
            .proc_
            .log_text()
            .contains(&victim.display().to_string())
            .then_some(())
    });
    let log = c.datas[0].proc_.log_text();
    assert!(
        named.is_some(),
        "the corrupt file is not named in the log:\n{log}"
    );
    let out = Command::new(bin("influxd"))
        .args(["export", "-config"])
        .arg(&c.datas[0].proc_.config)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "export served data from a corrupt file"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains(&victim.display().to_string()));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn body_limits_and_chunked_bodies() {
    let mut c = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    c.datas[0].set("http", "max-body-size", "1000");
    c.start_all();
    let d = &c.datas[0];
    assert_eq!(query(d, "CREATE DATABASE db").0, 200);
    // Over the limit: influxd 1.6.7's answer (recorded with max-body-size = 1000).
    let (status, body) = write(d, "db=db", &"cpu v=1\n".repeat(300));
    assert_eq!(
        (status, body.as_str()),
        (413, "{\"error\":\"Request Entity Too Large\"}\n")
    );
    // A chunked body (no Content-Length) is read and written.
    let url = format!("http://{}/write?db=db", d.http);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        vec![Ok(b"cpu v=1 1\n".to_vec()), Ok(b"cpu v=2 2\n".to_vec())];
    let body = reqwest::blocking::Body::new(std::io::Cursor::new(
        chunks.into_iter().flatten().flatten().collect::<Vec<u8>>(),
    ));
    let resp = reqwest::blocking::Client::new()
        .post(&url)
        .header("Transfer-Encoding", "chunked")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert_eq!(export(d, "db").len(), 2);
}
