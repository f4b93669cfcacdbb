//! The cluster data path on real processes: writes replicated to every owner of a shard
//! per `consistency`, queries answered the same from every data node (remote shards read
//! over the cluster port, aggregates reduced where the data is), a killed or stopped
//! owner skipped for its replica, cluster-wide `SHOW QUERIES`, and garbage on the cluster
//! port shrugged off.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use tessera_tests::{wait_for, Cluster};

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

fn query(node: &str, db: &str, q: &str) -> Value {
    client()
        .post(format!("http://{node}/query"))
        .form(&[("db", db), ("q", q)])
        .send()
        .expect("query")
        .json()
        .expect("json")
}

fn write(node: &str, db: &str, consistency: &str, body: &str) -> (u16, String) {
    let r = client()
        .post(format!(
            "http://{node}/write?db={db}&consistency={consistency}"
        ))
        .body(body.to_string())
        .send()
        .expect("write");
    (r.status().as_u16(), r.text().unwrap_or_default())
}

/// The first value of the answer; `None` also when the node does not answer at all.
fn count(node: &str, db: &str, q: &str) -> Option<i64> {
    let v: Value = client()
        .post(format!("http://{node}/query"))
        .form(&[("db", db), ("q", q)])
        .send()
        .ok()?
        .json()
        .ok()?;
    v["results"][0]["series"][0]["values"][0][1].as_i64()
}

/// 100 series × 10 points at 2023-01-01.
fn points(tag: &str) -> String {
    let base = 1_672_531_200_000_000_000i64;
    let mut out = String::new();
    for s in 0..100 {
        for p in 0..10 {
            out.push_str(&format!(
                "cpu,host=h{s},batch={tag} v={}.5,n={p}i {}\n",
                s * 10 + p,
                base + p * 1_000_000_000
            ));
        }
    }
    out
}

/// `(shard id, owners)` of every shard of `db`, as a data node shows them.
fn shards(node: &str, db: &str) -> Vec<(i64, Vec<u64>)> {
    let v = query(node, "", "SHOW SHARDS");
    let mut out = Vec::new();
    for s in v["results"][0]["series"].as_array().into_iter().flatten() {
        if s["name"] != db {
            continue;
        }
        for row in s["values"].as_array().into_iter().flatten() {
            let owners = row[7]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter_map(|o| o.parse().ok())
                .collect();
            out.push((row[0].as_i64().unwrap_or(0), owners));
        }
    }
    out
}

/// Creates database `db` `WITH` the given clauses through the first node and waits until
/// every node's metadata has it.
fn create_everywhere(nodes: &[String], db: &str, with: &str) {
    let r = query(&nodes[0], "", &format!("CREATE DATABASE {db} WITH {with}"));
    assert!(r["results"][0]["error"].is_null(), "{r}");
    for n in nodes {
        wait_for(Duration::from_secs(10), || {
            let v = query(n, "", "SHOW DATABASES");
            v.to_string().contains(&format!("\"{db}\"")).then_some(())
        })
        .expect("database on every node");
    }
}

/// One meta node and `datas` one-core data nodes with `[cluster]` settings.
fn cluster(datas: usize, settings: &[(&str, &str)]) -> Cluster {
    let mut c = Cluster::configure(1, datas, &tessera_tests::license::valid(8, 4), "", "");
    for d in &c.datas {
        d.set("data", "max-cores", "1");
        for (k, v) in settings {
            d.set("cluster", k, &format!("\"{v}\""));
        }
    }
    c.start_all();
    c
}

#[test]
fn replicated_writes_and_queries_from_every_node_with_failover() {
    let mut c = cluster(
        3,
        &[
            ("shard-writer-timeout", "2s"),
            ("shard-reader-timeout", "2s"),
        ],
    );
    let nodes: Vec<String> = c.datas.iter().map(|d| d.http.clone()).collect();
    let ids = node_ids(&c);
    create_everywhere(&nodes, "rep", "DURATION INF REPLICATION 2");

    // consistency=all: both owners hold the points before the answer.
    let (status, body) = write(&nodes[0], "rep", "all", &points("a"));
    assert_eq!(status, 204, "{body}");
    let sh = shards(&nodes[0], "rep");
    assert_eq!(
        sh.len(),
        1,
        "3 data nodes / RF 2 = 1 shard per group: {sh:?}"
    );
    let owners = sh[0].1.clone();
    assert_eq!(owners.len(), 2, "{sh:?}");

    // Every node answers the same, whether it owns the shard or not.
    for n in &nodes {
        assert_eq!(
            count(n, "rep", "SELECT count(v) FROM cpu"),
            Some(1000),
            "{n}"
        );
        let v = query(n, "rep", "SELECT sum(n), max(v) FROM cpu GROUP BY host");
        let series = v["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(series.len(), 100, "{n}: {v}");
        let h7 = series
            .iter()
            .find(|s| s["tags"]["host"] == "h7")
            .expect("h7");
        assert_eq!(h7["values"][0][1], 45, "{n}: {h7}");
        assert_eq!(h7["values"][0][2], 79.5, "{n}: {h7}");
        let raw = query(
            n,
            "rep",
            "SELECT v FROM cpu WHERE host = 'h3' ORDER BY time DESC LIMIT 2",
        );
        assert_eq!(
            raw["results"][0]["series"][0]["values"],
            serde_json::json!([
                ["2023-01-01T00:00:09Z", 39.5],
                ["2023-01-01T00:00:08Z", 38.5]
            ]),
            "{n}"
        );
        let tags = query(n, "rep", "SELECT * FROM cpu WHERE host = 'h1' LIMIT 1");
        assert_eq!(
            tags["results"][0]["series"][0]["columns"],
            serde_json::json!(["time", "batch", "host", "n", "v"]),
            "{n}: {tags}"
        );
    }

    // show-shards -v: each owner's bytes, and the state of the (past) group.
    let verbose = tessera_tests::text(&c.ctl(&["show-shards", "-v"]));
    assert!(verbose.contains("cold"), "{verbose}");
    assert_eq!(verbose.matches(" kB}").count(), 2, "{verbose}");

    // The index statements answer the same everywhere, from the owners' indexes.
    let shows = [
        "SHOW MEASUREMENTS",
        "SHOW TAG KEYS FROM cpu",
        "SHOW TAG VALUES FROM cpu WITH KEY = host WHERE host =~ /h1./",
        "SHOW SERIES FROM cpu WHERE host = 'h42'",
        "SHOW FIELD KEYS",
        "SHOW SERIES CARDINALITY",
        "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host",
    ];
    for q in shows {
        let first = query(&nodes[0], "rep", q);
        assert!(first["results"][0]["error"].is_null(), "{q}: {first}");
        for n in &nodes[1..] {
            assert_eq!(query(n, "rep", q), first, "{q} on {n}");
        }
    }
    let tv = query(
        &nodes[2],
        "rep",
        "SHOW TAG VALUES FROM cpu WITH KEY = host WHERE host =~ /h1./",
    );
    assert_eq!(
        tv["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(10),
        "{tv}"
    );
    let card = query(&nodes[1], "rep", "SHOW SERIES CARDINALITY");
    assert_eq!(
        card["results"][0]["series"][0]["values"][0][0], 100,
        "{card}"
    );
    let fk = query(&nodes[2], "rep", "SHOW FIELD KEYS");
    assert_eq!(
        fk["results"][0]["series"][0]["values"],
        serde_json::json!([["n", "integer"], ["v", "float"]]),
        "{fk}"
    );

    // The owner that did not coordinate is killed: the coordinator (an owner) still takes
    // consistency=one writes, refuses consistency=all ones with Enterprise's error, and
    // every live node still answers from the remaining replica.
    let coord = ids
        .iter()
        .position(|id| owners.contains(id))
        .expect("an owner");
    let victim = ids
        .iter()
        .position(|id| owners.contains(id) && *id != ids[coord])
        .expect("second owner");
    c.datas[victim].proc_.kill();
    let show = tessera_tests::text(&c.ctl(&["show"]));
    assert_eq!(show.matches("healthy").count(), 2, "{show}");
    assert!(show.contains("unreachable"), "{show}");
    let (status, body) = write(&nodes[coord], "rep", "one", &points("b"));
    assert_eq!(status, 204, "{body}");
    let (status, body) = write(&nodes[coord], "rep", "all", &points("c"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("partial write"), "{body}");
    for (i, n) in nodes.iter().enumerate() {
        if i == victim {
            continue;
        }
        let got = count(
            n,
            "rep",
            "SELECT count(v) FROM cpu WHERE batch = 'a' OR batch = 'b'",
        );
        assert_eq!(got, Some(2000), "node {n} after the kill");
    }

    // A stopped (hung) owner: the replica answers once the reader timeout passes.
    c.datas[victim].proc_.start();
    wait_for(Duration::from_secs(20), || {
        count(
            &nodes[victim],
            "rep",
            "SELECT count(v) FROM cpu WHERE batch = 'a'",
        )
        .filter(|n| *n == 1000)
    })
    .expect("restarted owner serves again");
    c.datas[victim].proc_.stop();
    let third = (0..3)
        .find(|i| *i != victim && *i != coord)
        .expect("non-owner");
    let started = std::time::Instant::now();
    // The non-owner may pick either replica; several runs hit the stopped one.
    for _ in 0..4 {
        let answered = count(
            &nodes[third],
            "rep",
            "SELECT count(v) FROM cpu WHERE batch = 'a'",
        );
        assert_eq!(answered, Some(1000));
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "queries around a stopped node took {:?}",
        started.elapsed()
    );
    c.datas[victim].proc_.cont();

    // Hinted handoff: batch c (refused at consistency=all, but durable on the coordinator
    // and queued for the victim) reaches the victim once it is back. Then the replica of
    // each owner alone holds the same points (count and sum per batch).
    let victim_id = ids[victim].to_string();
    wait_for(Duration::from_secs(60), || {
        let v = c.datas[coord].vars();
        (v["hh_processor"][&victim_id]["queueDepth"] == 0
            && v["hh_processor"][&victim_id]["writeNodeReqOK"].as_u64() > Some(0))
        .then_some(())
    })
    .unwrap_or_else(|| panic!("hinted handoff did not drain: {}", c.datas[coord].vars()));
    let digest = |n: &str| {
        let v = query(
            n,
            "rep",
            "SELECT count(v), sum(v), sum(n) FROM cpu GROUP BY batch",
        );
        v["results"][0]["series"].to_string()
    };
    let both = digest(&nodes[third]);
    assert!(both.contains("\"c\""), "batch c missing: {both}");
    c.datas[coord].proc_.kill();
    assert_eq!(digest(&nodes[third]), both, "the victim's replica differs");
    c.datas[coord].proc_.start();
    c.datas[victim].proc_.kill();
    wait_for(Duration::from_secs(20), || {
        (digest(&nodes[third]) == both).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the coordinator's replica differs: {}",
            digest(&nodes[third])
        )
    });

    // Every owner down: consistency=any still takes the write into hinted handoff, one
    // refuses it; the points arrive once the owners are back.
    c.datas[coord].proc_.kill();
    let (status, body) = write(&nodes[third], "rep", "one", &points("d"));
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("write failed"), "{body}");
    let (status, body) = write(&nodes[third], "rep", "any", &points("e"));
    assert_eq!(status, 204, "{body}");
    c.datas[coord].proc_.start();
    c.datas[victim].proc_.start();
    wait_for(Duration::from_secs(60), || {
        let de = "SELECT count(v) FROM cpu WHERE batch = 'd' OR batch = 'e'";
        (count(&nodes[coord], "rep", de) == Some(2000)
            && count(&nodes[victim], "rep", de) == Some(2000))
        .then_some(())
    })
    .expect("writes queued while every owner was down arrive");
    let stats = query(&nodes[third], "", "SHOW STATS FOR 'hh_processor'");
    assert_eq!(
        stats["results"][0]["series"][0]["name"], "hh_processor",
        "{stats}"
    );

    // Garbage on the cluster port: the node logs it and keeps serving.
    for garbage in [
        &b"\x02\xff\xff\xff\xff\x00\x00\x00\x00"[..],
        b"\x02\x10\x00\x00\x00\x01\x02\x03\x04abc",
        b"\x07hello",
        b"\x02",
    ] {
        if let Ok(mut s) = std::net::TcpStream::connect(&c.datas[coord].tcp) {
            let _ = s.write_all(garbage);
        }
    }
    assert_eq!(
        count(
            &nodes[coord],
            "rep",
            "SELECT count(v) FROM cpu WHERE batch = 'a'"
        ),
        Some(1000)
    );

    // A delete through a node that owns nothing reaches both replicas.
    let r = query(
        &nodes[third],
        "rep",
        "DROP SERIES FROM cpu WHERE host = 'h99'",
    );
    assert!(r["results"][0]["error"].is_null(), "{r}");
    let h99 = "SELECT count(v) FROM cpu WHERE host = 'h99'";
    let h98 = "SELECT count(v) FROM cpu WHERE host = 'h98'";
    for (down, up) in [(coord, victim), (victim, coord)] {
        c.datas[down].proc_.kill();
        let left = wait_for(Duration::from_secs(20), || count(&nodes[third], "rep", h98));
        assert_eq!(left, Some(50), "node {up} alone lost h98");
        assert_eq!(count(&nodes[third], "rep", h99), None, "node {up} kept h99");
        c.datas[down].proc_.start();
    }
}

#[test]
fn show_queries_spans_the_cluster_and_kill_on_host_stops_a_remote_query() {
    let c = cluster(2, &[]);
    let a = c.datas[0].http.clone();
    let b = c.datas[1].http.clone();
    let b_tcp = c.datas[1].tcp.clone();
    query(&a, "", "CREATE DATABASE k");
    wait_for(Duration::from_secs(10), || {
        query(&b, "", "SHOW DATABASES")
            .to_string()
            .contains("\"k\"")
            .then_some(())
    })
    .expect("database on b");
    // Enough series on b's shards that a filtered scan takes a while.
    for chunk in 0..6 {
        let body: String = (0..5000)
            .map(|i| format!("m,s=s{chunk}_{i} v={i} 1672531200000000000\n"))
            .collect();
        let (status, text) = write(&b, "k", "one", &body);
        assert_eq!(status, 204, "{text}");
    }
    let long = "SELECT count(v) FROM m WHERE v > -1 AND (s =~ /s1.*/ OR s =~ /s.*_1/ OR s !~ /x/)";
    let b2 = b.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = std::sync::Arc::clone(&stop);
    let runner = std::thread::spawn(move || {
        let mut answers = Vec::new();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) && answers.len() < 200 {
            answers.push(query(&b2, "k", long));
        }
        answers
    });
    let mut killed = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline && !killed {
        let shown = query(&a, "", "SHOW QUERIES");
        let rows = shown["results"][0]["series"][0]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // b coordinates it (and a may run b's request for a's shards under the same text).
        if let Some(row) = rows.iter().find(|r| r[3] == long && r[2] == b_tcp.as_str()) {
            let qid = row[0].as_i64().expect("qid");
            let k = query(&a, "", &format!("KILL QUERY {qid} ON \"{b_tcp}\""));
            killed = k["results"][0]["error"].is_null();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answers = runner.join().expect("runner");
    assert!(
        killed,
        "the long query on b was never listed by a and killed"
    );
    assert!(
        answers
            .iter()
            .any(|a| a["results"][0]["error"] == "query interrupted"),
        "no run of the long query was interrupted"
    );
    // SHOW DIAGNOSTICS: influxd's modules, one node's view.
    let diag = query(&a, "", "SHOW DIAGNOSTICS");
    let names: Vec<&str> = diag["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    for m in ["build", "config-data", "network", "runtime", "system"] {
        assert!(names.contains(&m), "{m} missing: {names:?}");
    }
    let sys = query(&a, "", "SHOW DIAGNOSTICS FOR 'system'");
    assert_eq!(sys["results"][0]["series"][0]["columns"][0], "PID", "{sys}");
    assert_eq!(
        sys["results"][0]["series"].as_array().map(Vec::len),
        Some(1),
        "{sys}"
    );
    let none = query(&a, "", "SHOW DIAGNOSTICS FOR 'nope'");
    assert_eq!(none, serde_json::json!({"results": [{"statement_id": 0}]}));

    // Killing on an unknown host is an error, not a crash.
    let bad = query(&a, "", "KILL QUERY 1 ON \"nowhere:1\"");
    assert!(bad["results"][0]["error"].is_string(), "{bad}");
}

/// The issue's fault test: 3 meta and 3 data nodes, RF 2, shard groups of a day rotating
/// their owners. A writer at consistency=quorum and a reader run while an owner is
/// SIGKILLed and later restarted. Every acknowledged batch is readable from every live
/// node during and after the fault; after hinted handoff drains, each replica alone holds
/// every point (checked by taking each node down in turn and comparing digests).
#[test]
fn quorum_writer_and_reader_survive_an_owner_kill() {
    let mut c = Cluster::configure(3, 3, &tessera_tests::license::valid(8, 4), "", "");
    for d in &c.datas {
        d.set("data", "max-cores", "1");
        d.set("cluster", "shard-writer-timeout", "\"2s\"");
        d.set("cluster", "shard-reader-timeout", "\"2s\"");
        d.set("hinted-handoff", "retry-interval", "\"100ms\"");
        d.set("hinted-handoff", "retry-max-interval", "\"1s\"");
    }
    c.start_all();
    let nodes: Vec<String> = c.datas.iter().map(|d| d.http.clone()).collect();
    let r = query(
        &nodes[0],
        "",
        "CREATE DATABASE f WITH DURATION INF REPLICATION 2 SHARD DURATION 1d",
    );
    assert!(r["results"][0]["error"].is_null(), "{r}");
    for n in &nodes {
        wait_for(Duration::from_secs(10), || {
            query(n, "", "SHOW DATABASES")
                .to_string()
                .contains("\"f\"")
                .then_some(())
        })
        .expect("database on every node");
    }
    const DAY: i64 = 86_400_000_000_000;
    let base = 1_672_531_200_000_000_000i64;
    // Batch i: measurement m<i>, 50 series on day i % 3, through node i % 3.
    let batch = move |i: usize| -> String {
        let t = base + (i as i64 % 3) * DAY + i as i64 * 1_000_000_000;
        (0..50)
            .map(|s| format!("m{i},host=h{s} v={s}.25,i={i}i {t}\n"))
            .collect()
    };
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<usize>::new()));
    let down = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(usize::MAX));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (nodes, acked, down, stop) = (
            nodes.clone(),
            std::sync::Arc::clone(&acked),
            std::sync::Arc::clone(&down),
            std::sync::Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let via = (0..3)
                    .map(|k| (i + k) % 3)
                    .find(|n| *n != down.load(std::sync::atomic::Ordering::Relaxed))
                    .expect("a live node");
                let r = client()
                    .post(format!(
                        "http://{}/write?db=f&consistency=quorum",
                        nodes[via]
                    ))
                    .body(batch(i))
                    .send();
                if r.is_ok_and(|r| r.status().as_u16() == 204) {
                    acked.lock().expect("acked").push(i);
                }
                i += 1;
            }
            i
        })
    };
    // The reader: the newest acknowledged batch, from a live node, must be whole.
    let reader = {
        let (nodes, acked, down, stop) = (
            nodes.clone(),
            std::sync::Arc::clone(&acked),
            std::sync::Arc::clone(&down),
            std::sync::Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            let mut checks = 0usize;
            let mut k = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let last = acked.lock().expect("acked").last().copied();
                let Some(i) = last else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                k += 1;
                let n = k % 3;
                if n == down.load(std::sync::atomic::Ordering::Relaxed) {
                    continue;
                }
                let got = count(&nodes[n], "f", &format!("SELECT count(v) FROM m{i}"));
                // A node being killed right now may drop the connection; only an answer
                // that is not the whole batch is a failure.
                if let Some(got) = got {
                    assert_eq!(got, 50, "acknowledged batch {i} read from node {n}");
                    checks += 1;
                }
            }
            checks
        })
    };
    std::thread::sleep(Duration::from_secs(4));
    // Kill an owner of day 0's shard that is not node 0.
    let sh = shards(&nodes[0], "f");
    assert!(sh.len() >= 3, "one shard per day: {sh:?}");
    let ids = node_ids(&c);
    let victim = (1..3)
        .find(|v| sh.iter().any(|(_, o)| o.contains(&ids[*v])))
        .expect("an owner to kill");
    down.store(victim, std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(200));
    c.datas[victim].proc_.kill();
    let acked_before = acked.lock().expect("acked").len();
    std::thread::sleep(Duration::from_secs(5));
    let acked_during = acked.lock().expect("acked").len() - acked_before;
    c.datas[victim].proc_.start();
    down.store(usize::MAX, std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(4));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.join().expect("writer");
    let checks = reader.join().expect("reader");
    let acked: Vec<usize> = acked.lock().expect("acked").clone();
    assert!(
        acked_during > 0,
        "no write was acknowledged while a node was down"
    );
    assert!(checks > 10, "the reader checked only {checks} times");
    assert!(
        acked.len() < written,
        "some writes must have failed at quorum"
    );

    // Hinted handoff drains on every node.
    wait_for(Duration::from_secs(60), || {
        c.datas
            .iter()
            .all(|d| {
                let v = d.vars();
                v["hh_processor"]
                    .as_object()
                    .is_none_or(|q| q.values().all(|s| s["queueDepth"] == 0))
            })
            .then_some(())
    })
    .expect("hinted handoff drained");
    // Every acknowledged batch from every node.
    let digest = |n: &str| -> std::collections::BTreeMap<String, (i64, f64)> {
        let v = query(n, "f", "SELECT count(v), sum(v) FROM /m.*/");
        v["results"][0]["series"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["name"].as_str().unwrap_or("").to_string(),
                    (
                        s["values"][0][1].as_i64().unwrap_or(-1),
                        s["values"][0][2].as_f64().unwrap_or(-1.0),
                    ),
                )
            })
            .collect()
    };
    let full = digest(&nodes[0]);
    for n in &nodes {
        let d = digest(n);
        assert_eq!(d, full, "node {n} answers differently");
        for i in &acked {
            assert_eq!(
                d.get(&format!("m{i}")).map(|x| x.0),
                Some(50),
                "batch {i} on {n}"
            );
        }
    }
    // Each replica alone: take each node down in turn.
    for down_node in 0..3 {
        c.datas[down_node].proc_.kill();
        let other = (down_node + 1) % 3;
        let got = wait_for(Duration::from_secs(20), || {
            let d = digest(&nodes[other]);
            (d == full).then_some(d)
        });
        assert!(
            got.is_some(),
            "without node {down_node}: {:?}",
            digest(&nodes[other])
        );
        c.datas[down_node].proc_.start();
    }
}

/// The first write into a new shard that brings one field with two types is refused
/// whole by every owner (influxd's new-shard path: `400 field type conflict`, nothing
/// written, the series indexed), also when the node the client wrote to owns no copy;
/// the next conflicting write into the same shard is a partial write on every owner.
/// The cluster ids of the data nodes, in `c.datas` order.
fn node_ids(c: &Cluster) -> Vec<u64> {
    c.datas
        .iter()
        .map(|d| d.node_id().expect("joined"))
        .collect()
}

#[test]
fn a_new_shards_conflicting_first_write_is_refused_by_every_owner() {
    let c = cluster(3, &[]);
    let nodes: Vec<String> = c.datas.iter().map(|d| d.http.clone()).collect();
    let ids = node_ids(&c);
    create_everywhere(&nodes, "fw", "DURATION INF REPLICATION 2");
    // A shard group is created by the first write; a point of another measurement makes
    // it without conflict so that its owners are known before the test's write.
    let (status, body) = write(&nodes[0], "fw", "all", "seed v=1 1672531200000000000\n");
    assert_eq!(status, 204, "{body}");
    let first = shards(&nodes[0], "fw");
    assert_eq!(first.len(), 1);
    let (seed_shard, seed_owners) = first[0].clone();
    // The next group's owners start one node further (groups rotate their first owner):
    // the seed group's first owner owns no copy of it. Written through that node.
    let outsider = ids
        .iter()
        .position(|id| *id == seed_owners[0])
        .expect("an owner's node");
    let body = "n,host=c v=1 1700000000000000000\nn,host=d v=\"s\" 1700000000000000001\n";
    let (status, text) = write(&nodes[outsider], "fw", "all", body);
    assert_eq!(
        (status, text.trim()),
        (400, r#"{"error":"field type conflict"}"#)
    );
    let owners = shards(&nodes[0], "fw")
        .into_iter()
        .find(|(id, _)| *id != seed_shard)
        .expect("the new group's shard")
        .1;
    assert_eq!(owners.len(), 2);
    assert!(
        !owners.contains(&ids[outsider]),
        "the write went through an owner of {owners:?}: the test needs another node"
    );
    let insider = ids
        .iter()
        .position(|id| owners.contains(id))
        .expect("an owner");
    for (i, id) in ids.iter().enumerate() {
        if !owners.contains(id) {
            continue;
        }
        // Each owner answers from its own copy.
        assert_eq!(count(&nodes[i], "fw", "SELECT count(v) FROM n"), None);
        let series = query(&nodes[i], "fw", "SHOW SERIES FROM n");
        assert_eq!(
            series["results"][0]["series"][0]["values"],
            serde_json::json!([["n,host=c"], ["n,host=d"]]),
            "node {id}: {series}"
        );
    }
    // The shard exists now: a conflict is a partial write, the rest written everywhere.
    let body = "n,host=c v=1 1700000000000000002\nn,host=d v=\"s\" 1700000000000000003\n";
    let (status, text) = write(&nodes[insider], "fw", "all", body);
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("partial write") && text.contains("dropped=1"),
        "{text}"
    );
    for (i, id) in ids.iter().enumerate() {
        if owners.contains(id) {
            assert_eq!(
                count(&nodes[i], "fw", "SELECT count(v) FROM n"),
                Some(1),
                "node {id}"
            );
        }
    }
}
