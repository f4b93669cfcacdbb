//! The data node's first slice: `/ping`, joining through `add-data`, keeping a current
//! copy of the metadata by long-polling any meta node (surviving the loss of the one it
//! talked to), and shrugging off garbage on its cluster port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;
use tessera_tests::{http, wait_for, Cluster};

fn create_db(c: &Cluster, meta: usize, name: &str) -> u64 {
    let (status, body) = http::post(
        &c.metas[meta].url("/execute"),
        &json!({"type": "create_database", "name": name, "retention_policy": null}),
    )
    .expect("execute");
    assert_eq!(status, 200, "{body}");
    body["index"].as_u64().expect("index")
}

#[test]
fn ping_answers_like_influxd() {
    let c = Cluster::start(1, 1, "", "");
    let resp = reqwest::blocking::get(format!("http://{}/ping", c.datas[0].http)).unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    assert!(resp.headers().contains_key("x-influxdb-version"));
    // influxd 1.6.7 answers `verbose=true` and `/status` the same way.
    for path in ["/ping?verbose=true", "/status"] {
        let resp = reqwest::blocking::get(format!("http://{}{path}", c.datas[0].http)).unwrap();
        assert_eq!(resp.status().as_u16(), 204, "{path}");
    }
}

/// The statistics a value of one `SHOW STATS` series, by module name and column.
fn stat(stats: &serde_json::Value, module: &str, column: &str) -> Option<i64> {
    let series = stats["results"][0]["series"].as_array()?;
    let s = series.iter().find(|s| s["name"] == module)?;
    let i = s["columns"].as_array()?.iter().position(|c| c == column)?;
    s["values"][0][i].as_i64()
}

#[test]
fn show_stats_and_debug_vars_count_what_the_node_did() {
    let c = Cluster::start(1, 1, "", "");
    let base = format!("http://{}", c.datas[0].http);
    let q = |q: &str| {
        http::get(&format!("{base}/query?db=st&q={}", q.replace(' ', "+")))
            .expect("query")
            .1
    };
    let (status, _) = http::post_raw(&format!("{base}/query?q=CREATE+DATABASE+st"), b"").unwrap();
    assert_eq!(status, 200);
    let before = q("SHOW STATS");
    let lines = "cpu,host=a v=1 1000000000\ncpu,host=b v=2 1000000000\nmem,host=a v=3 1000000000\n";
    let (status, _) = http::post_raw(&format!("{base}/write?db=st"), lines.as_bytes()).unwrap();
    assert_eq!(status, 204);
    // A refused write: the field type conflicts.
    let (status, _) = http::post_raw(
        &format!("{base}/write?db=st"),
        b"cpu,host=a v=\"x\" 2000000000",
    )
    .unwrap();
    assert_eq!(status, 400);
    let after = q("SHOW STATS");
    let grew = |module: &str, column: &str| {
        stat(&after, module, column).unwrap_or(0) - stat(&before, module, column).unwrap_or(0)
    };
    assert_eq!(grew("httpd", "writeReq"), 2, "{after}");
    assert_eq!(grew("httpd", "pointsWrittenOK"), 3, "{after}");
    assert_eq!(grew("httpd", "pointsWrittenDropped"), 1, "{after}");
    assert!(grew("httpd", "clientError") >= 1, "{after}");
    assert!(grew("queryExecutor", "queriesExecuted") >= 1, "{after}");
    assert!(grew("write", "pointReq") >= 4, "{after}");
    assert!(
        stat(&after, "runtime", "HeapAlloc").unwrap_or(0) > 0,
        "{after}"
    );
    // Per database and per shard on this node.
    let series = after["results"][0]["series"].as_array().unwrap();
    let db = series
        .iter()
        .find(|s| s["name"] == "database" && s["tags"]["database"] == "st")
        .expect("database st");
    assert_eq!(db["values"][0][0], 2, "numMeasurements: {db}");
    assert_eq!(db["values"][0][1], 3, "numSeries: {db}");
    let shard = series
        .iter()
        .find(|s| s["name"] == "shard" && s["tags"]["database"] == "st")
        .expect("shard of st");
    assert!(
        shard["values"][0][0].as_i64().unwrap_or(0) > 0,
        "diskBytes: {shard}"
    );
    // SHOW STATS FOR one module.
    let only = q("SHOW STATS FOR 'httpd'");
    let names: Vec<_> = only["results"][0]["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("httpd")], "{only}");
    // /debug/vars: influxd's expvar entries, as Telegraf's influxdb input reads them.
    let vars = c.datas[0].vars();
    let httpd = vars
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.starts_with("httpd:"))
        .map(|(_, v)| v.clone())
        .expect("httpd entry");
    assert_eq!(httpd["name"], "httpd");
    assert!(httpd["values"]["req"].as_i64().unwrap_or(0) >= 4, "{httpd}");
    assert_eq!(vars["database:st"]["values"]["numSeries"], 3, "{vars}");
    assert!(vars["memstats"]["HeapAlloc"].as_i64().unwrap_or(0) > 0);
    // influxd's store refuses to remove the policy "" (its path is the database's) once the
    // database has shards, naming that path; nothing is dropped.
    let (status, body) = http::post_raw(
        &format!("{base}/query?q=DROP+RETENTION+POLICY+%22%22+ON+st"),
        b"",
    )
    .unwrap();
    assert_eq!(status, 200);
    let expected = format!(
        "invalid path for database 'st', retention policy '': {}",
        c.datas[0].dir.join("data").join("st").display()
    );
    assert_eq!(body["results"][0]["error"], json!(expected), "{body}");
    let rps = q("SHOW RETENTION POLICIES ON st");
    assert_eq!(
        rps["results"][0]["series"][0]["values"][0][0], "autogen",
        "{rps}"
    );
}

/// `[monitor] store-enabled`: every node writes its statistics into `_internal`, created
/// with influxd 1.6.7's `monitor` policy (the answers asserted here are a real influxd's
/// with the store enabled), stamped on interval boundaries and tagged with the node.
#[test]
fn the_monitor_stores_statistics_in_internal() {
    let c = Cluster::start(1, 2, "", "[monitor]\n  store-interval = \"1s\"\n");
    let base = format!("http://{}", c.datas[0].http);
    let q = |q: &str| {
        let url = format!("{base}/query?db=_internal&q={}", urlencode(q));
        http::get(&url).expect("query").1
    };
    let values = |v: &serde_json::Value| v["results"][0]["series"][0]["values"].clone();
    wait_for(Duration::from_secs(20), || {
        values(&q("SHOW DATABASES"))
            .as_array()
            .filter(|dbs| dbs.contains(&json!(["_internal"])))
            .map(|_| ())
    })
    .expect("_internal is created");
    assert_eq!(
        values(&q("SHOW RETENTION POLICIES ON _internal")),
        json!([["monitor", "168h0m0s", "24h0m0s", 1, true]])
    );
    assert_eq!(
        q("SHOW DIAGNOSTICS FOR 'config-monitor'")["results"][0]["series"][0],
        json!({"name": "config-monitor",
               "columns": ["store-database", "store-enabled", "store-interval"],
               "values": [["_internal", true, "1s"]]})
    );
    // Both nodes write, each under its own nodeID.
    let per_node = wait_for(Duration::from_secs(20), || {
        let answer = q("SELECT count(NumGoroutine) FROM runtime GROUP BY nodeID, hostname");
        let series = answer["results"][0]["series"].as_array()?.clone();
        (series.len() == 2).then_some(series)
    })
    .expect("runtime points from both nodes");
    for s in &per_node {
        assert_eq!(s["tags"]["hostname"], "127.0.0.1", "{s}");
        assert!(s["values"][0][1].as_i64().unwrap_or(0) >= 1, "{s}");
    }
    // `shard` comes once the store's first shard is on disk, as in influxd.
    let expected = [
        "database",
        "httpd",
        "queryExecutor",
        "runtime",
        "shard",
        "write",
    ];
    let has_all = |m: &serde_json::Value| {
        let m = m.as_array()?;
        expected
            .iter()
            .all(|e| m.contains(&json!([e])))
            .then_some(())
    };
    wait_for(Duration::from_secs(20), || {
        has_all(&values(&q("SHOW MEASUREMENTS")))
    })
    .unwrap_or_else(|| panic!("{expected:?} in {}", q("SHOW MEASUREMENTS")));
    // Points sit on interval boundaries (whole seconds here).
    let times = q("SELECT \"req\" FROM httpd");
    let rows = values(&times);
    assert!(!rows.as_array().unwrap().is_empty(), "{times}");
    for row in rows.as_array().unwrap() {
        let t = row[0].as_str().unwrap();
        assert!(t.ends_with(":00Z") || !t.contains('.'), "{t}");
    }
    // The database statistics count the store itself.
    let db = q("SELECT last(numSeries) FROM \"database\" WHERE \"database\" = '_internal'");
    assert!(values(&db)[0][1].as_i64().unwrap_or(0) > 0, "{db}");
    // Dropped, it stays dropped until the node restarts, as influxd.
    let (status, _) =
        http::post_raw(&format!("{base}/query?q=DROP+DATABASE+_internal"), b"").unwrap();
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(2500));
    let dbs = values(&q("SHOW DATABASES"));
    assert!(
        !dbs.as_array()
            .is_some_and(|d| d.contains(&json!(["_internal"]))),
        "{dbs}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn data_node_follows_metadata_and_survives_meta_loss() {
    let mut c = Cluster::start(3, 1, "", "");
    let d = &c.datas[0];
    let id = wait_for(Duration::from_secs(10), || d.vars()["node_id"].as_u64()).expect("id");
    let (_, cluster) = http::get(&c.metas[0].url("/show-cluster")).unwrap();
    assert_eq!(cluster["data"][0]["id"].as_u64(), Some(id));
    assert_eq!(cluster["data"][0]["tcpAddr"], d.tcp.as_str());
    assert_eq!(cluster["data"][0]["httpAddr"], d.http.as_str());

    let index = create_db(&c, 1, "one");
    assert!(
        wait_for(Duration::from_secs(5), || (d.vars()["meta_index"]
            .as_u64()?
            >= index)
            .then_some(()))
        .is_some(),
        "data node did not see index {index}: {}",
        d.vars()
    );
    let servers = d.vars()["meta_servers"].clone();
    assert_eq!(servers.as_array().map(|a| a.len()), Some(3), "{servers}");

    // Kill the meta node the data node was added through (it polls that one first).
    c.metas[0].proc_.kill();
    let index = wait_for(Duration::from_secs(10), || {
        let r = http::post(
            &c.metas[1].url("/execute"),
            &json!({"type": "create_database", "name": "two", "retention_policy": null}),
        )
        .ok()?;
        (r.0 == 200).then(|| r.1["index"].as_u64()).flatten()
    })
    .expect("metadata writes after losing a meta node");
    let d = &c.datas[0];
    assert!(
        wait_for(Duration::from_secs(15), || (d.vars()["meta_index"]
            .as_u64()?
            >= index)
            .then_some(()))
        .is_some(),
        "data node did not fail over to another meta node: {}",
        d.vars()
    );

    // A restarted data node remembers its id and meta servers.
    c.datas[0].proc_.kill();
    c.datas[0].start();
    let d = &c.datas[0];
    assert_eq!(
        wait_for(Duration::from_secs(10), || d.vars()["node_id"].as_u64()),
        Some(id)
    );
    let index = create_db(&c, 2, "three");
    assert!(wait_for(Duration::from_secs(15), || (d.vars()["meta_index"]
        .as_u64()?
        >= index)
        .then_some(()))
    .is_some());
}

#[test]
fn garbage_on_the_cluster_port_is_harmless() {
    let c = Cluster::start(1, 1, "", "");
    let d = &c.datas[0];
    let payloads: Vec<Vec<u8>> = vec![
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        vec![0xff; 64],
        // The control service with a frame claiming 4 GiB.
        vec![0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        // The control service with a bad checksum.
        [vec![0x01, 0, 0, 0, 2, 1, 2, 3, 4], b"{}".to_vec()].concat(),
        // A valid frame header, then the connection drops mid-payload.
        vec![0x01, 0, 0, 0, 100, 0, 0, 0, 0, b'{'],
        // Valid checksum, invalid JSON.
        {
            let payload = b"not json";
            let mut v = vec![0x01];
            v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            v.extend_from_slice(&crc32c(payload).to_be_bytes());
            v.extend_from_slice(payload);
            v
        },
    ];
    for p in payloads {
        if let Ok(mut s) = TcpStream::connect(&d.tcp) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(&p);
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
    }
    let (status, _) = http::get(&format!("http://{}/ping", d.http)).unwrap();
    assert_eq!(status, 204, "data node stopped serving HTTP after garbage");
    // And the control service still works: the meta node can reach it.
    let (status, body) = http::post(&c.metas[0].url("/add-data"), &json!({"addr": d.tcp})).unwrap();
    assert_eq!(status, 200, "{body}");
}

/// crc32c (Castagnoli), bitwise: enough for a test frame.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `/debug/pprof` on a data node: the index, a CPU profile of every core (pprof
/// protobuf) taken while the node serves queries, a flamegraph, and `pprof-enabled =
/// false` turning them off.
#[test]
fn debug_pprof_profiles_the_node() {
    let c = Cluster::start(1, 1, "", "");
    let node = c.datas[0].http.clone();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let index = client
        .get(format!("http://{node}/debug/pprof/"))
        .send()
        .unwrap();
    assert_eq!(index.status().as_u16(), 200);
    assert!(index.text().unwrap().contains("profile?seconds=30"));
    // Load beside the profile, so it has samples.
    let n2 = node.clone();
    let busy = std::thread::spawn(move || {
        let c = reqwest::blocking::Client::new();
        let until = std::time::Instant::now() + Duration::from_secs(2);
        while std::time::Instant::now() < until {
            let _ = c
                .post(format!("http://{n2}/query"))
                .form(&[("q", "SHOW DATABASES")])
                .send();
        }
    });
    let profile = client
        .get(format!("http://{node}/debug/pprof/profile?seconds=1"))
        .send()
        .unwrap();
    busy.join().unwrap();
    assert_eq!(profile.status().as_u16(), 200);
    let bytes = profile.bytes().unwrap();
    // A pprof `Profile` message opens with its sample types (field 1, length-delimited).
    assert!(
        bytes.len() > 100 && bytes[0] == 0x0a,
        "{} bytes",
        bytes.len()
    );
    let svg = client
        .get(format!("http://{node}/debug/pprof/flamegraph?seconds=1"))
        .send()
        .unwrap();
    assert_eq!(svg.status().as_u16(), 200);
    assert!(svg.text().unwrap().contains("<svg"));
    let bad = client
        .get(format!("http://{node}/debug/pprof/profile?seconds=x"))
        .send()
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    // /debug/requests: the writes and queries of the next seconds, per client.
    let n3 = node.clone();
    let watch = std::thread::spawn(move || {
        reqwest::blocking::Client::new()
            .get(format!("http://{n3}/debug/requests?seconds=2"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));
    let post = |path: &str, body: &str| {
        client
            .post(format!("http://{node}{path}"))
            .body(body.to_string())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post("/query", "q=CREATE+DATABASE+r"), 200);
    assert_eq!(post("/write?db=r", "m v=1"), 204);
    assert_eq!(post("/write?db=r", "m v=2"), 204);
    assert_eq!(post("/query", "q=SHOW+DATABASES"), 200);
    let seen: serde_json::Value = serde_json::from_str(&watch.join().unwrap()).unwrap();
    assert_eq!(seen, json!({"127.0.0.1": {"writes": 2, "queries": 2}}));

    // /metrics: the process metrics in Prometheus's text format, as influxd 1.6 serves
    // them (GET only).
    let metrics = client.get(format!("http://{node}/metrics")).send().unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    assert_eq!(
        metrics.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = metrics.text().unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .parse()
            .unwrap()
    };
    assert!(value("process_resident_memory_bytes") > 1e6, "{text}");
    assert!(value("process_open_fds") >= 3.0, "{text}");
    assert!(value("process_cpu_seconds_total") > 0.0, "{text}");
    let started = value("process_start_time_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        started <= now + 1.0 && started > now - 3600.0,
        "{started} {now}"
    );
    assert!(text.contains("# TYPE promhttp_metric_handler_requests_total counter\n"));
    assert_eq!(post("/metrics", ""), 405);

    let mut off = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    off.datas[0].set("http", "pprof-enabled", "false");
    off.start_all();
    let r = client
        .get(format!("http://{}/debug/pprof/", off.datas[0].http))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}
