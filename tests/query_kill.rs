//! Query management on a real node: a long query is listed by `SHOW QUERIES` (with its
//! text and database) while it runs, `KILL QUERY <qid>` stops it mid-scan with influxd's
//! error, and the node keeps answering afterwards.

use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_tests::Cluster;

fn query(node: &str, db: &str, q: &str) -> Value {
    reqwest::blocking::Client::new()
        .post(format!("http://{node}/query"))
        .form(&[("db", db), ("q", q)])
        .timeout(Duration::from_secs(300))
        .send()
        .expect("query")
        .json()
        .expect("json")
}

/// Writes line protocol and expects 204.
fn write(node: &str, db: &str, body: String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("http://{node}/write?db={db}"))
        .body(body)
        .timeout(Duration::from_secs(300))
        .send()
        .expect("write");
    assert_eq!(r.status().as_u16(), 204);
}

#[test]
fn show_queries_lists_and_kill_query_stops_a_long_query() {
    let c = Cluster::start(1, 1, "", "");
    let node = c.datas[0].http.clone();
    query(&node, "", "CREATE DATABASE k");
    // Many series make a scan long enough to be seen and killed between series.
    for chunk in 0..12 {
        let body: String = (0..5000)
            .map(|i| format!("m,s=s{chunk}_{i} v={i} 1672531200000000000\n"))
            .collect();
        write(&node, "k", body);
    }
    // A scan of every series with a row filter, and a one-row answer: nearly all of its
    // time is the scan, where a KILL is noticed.
    let long = "SELECT count(v) FROM m WHERE v > -1 AND (s =~ /s1.*/ OR s =~ /s.*_1/ OR s !~ /x/)";
    let n2 = node.clone();
    let runner = std::thread::spawn(move || {
        let started = Instant::now();
        let mut last = Value::Null;
        // Run it until one run is killed (a fast machine may finish a run first).
        while started.elapsed() < Duration::from_secs(120) {
            last = query(&n2, "k", long);
            if last["results"][0]["error"].is_string() {
                break;
            }
        }
        last
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut killed = None;
    while Instant::now() < deadline && !runner.is_finished() {
        let shown = query(&node, "k", "SHOW QUERIES");
        let cols = &shown["results"][0]["series"][0]["columns"];
        assert_eq!(
            cols,
            &serde_json::json!([
                "qid", "node_id", "tcp_host", "query", "database", "duration", "status"
            ]),
            "{shown}"
        );
        let rows = shown["results"][0]["series"][0]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // SHOW QUERIES lists itself too.
        assert!(
            rows.iter().any(|r| r[3] == "SHOW QUERIES"),
            "SHOW QUERIES is not listed: {shown}"
        );
        if let Some(row) = rows.iter().find(|r| r[3] == long) {
            assert_eq!(row[4], "k");
            assert_eq!(row[6], "running");
            assert!(row[1].as_i64().is_some_and(|n| n > 0), "node_id: {row:?}");
            let qid = row[0].as_i64().expect("qid");
            let k = query(&node, "k", &format!("KILL QUERY {qid}"));
            if k["results"][0]["error"].is_null() {
                killed = Some(qid);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let answer = runner.join().expect("runner");
    let Some(qid) = killed else {
        panic!(
            "the long query was never seen running and killed; its last answer: {}",
            &answer.to_string().chars().take(300).collect::<String>()
        );
    };
    assert_eq!(
        answer["results"][0]["error"], "query interrupted",
        "killed query {qid} answered {answer}"
    );
    // A killed id is gone; the node still answers.
    let again = query(&node, "k", &format!("KILL QUERY {qid}"));
    assert_eq!(
        again["results"][0]["error"],
        format!("no such query id: {qid}")
    );
    let count = query(&node, "k", "SELECT count(v) FROM m");
    assert_eq!(
        count["results"][0]["series"][0]["values"][0][1], 60_000,
        "{count}"
    );
}

/// `[cluster] max-select-point`, `max-select-series` and `max-select-buckets` refuse a
/// SELECT that would read or make more, with influxd's texts; smaller ones still run.
#[test]
fn select_limits_refuse_big_queries() {
    let mut c = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    c.datas[0].set("cluster", "max-select-point", "10");
    c.datas[0].set("cluster", "max-select-series", "3");
    c.datas[0].set("cluster", "max-select-buckets", "5");
    c.start_all();
    let node = c.datas[0].http.clone();
    query(&node, "", "CREATE DATABASE lim");
    let body: String = (0..4)
        .flat_map(|s| {
            (0..4).map(move |t| {
                format!(
                    "m,s={s} v={t} {}\n",
                    1_672_531_200_000_000_000i64 + t * 1_000_000_000
                )
            })
        })
        .collect();
    write(&node, "lim", body);
    let err = |q: &str| query(&node, "lim", q)["results"][0]["error"].clone();
    // 4 series: over the series limit.
    assert_eq!(
        err("SELECT v FROM m"),
        "max-select-series limit exceeded: (4/3)"
    );
    // 3 series × 4 points = 12 points: over the point limit (influxd's spelling).
    assert_eq!(
        err("SELECT v FROM m WHERE s != '3'"),
        "max-select-point limit exceeed: (12/10)"
    );
    // 60 one-second windows: over the bucket limit.
    assert_eq!(
        err("SELECT count(v) FROM m WHERE time >= '2023-01-01T00:00:00Z' AND time < '2023-01-01T00:01:00Z' GROUP BY time(1s)"),
        "max-select-buckets limit exceeded: (60/5)"
    );
    // Within every limit.
    let ok = query(&node, "lim", "SELECT v FROM m WHERE s = '1'");
    assert_eq!(
        ok["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(4),
        "{ok}"
    );
}

/// A WHERE of tens of thousands of `OR` terms (influxd accepts them; Go's stacks grow)
/// is answered exactly, and the node keeps serving.
#[test]
fn huge_or_conditions_are_answered() {
    let c = Cluster::start(1, 1, "", "");
    let node = c.datas[0].http.clone();
    query(&node, "", "CREATE DATABASE wide");
    let body: String = (0..2000)
        .map(|i| format!("m,host=h{i},dc=d{} v={i} 1672531200000000000\n", i % 7))
        .collect();
    write(&node, "wide", body);
    // 60,000 terms naming every even host 60 times over, and one odd host under AND.
    let terms: Vec<String> = (0..60_000)
        .map(|i| format!("host = 'h{}'", (i * 2) % 2000))
        .collect();
    let q = format!(
        "SELECT count(v), sum(v) FROM m WHERE ({}) OR (host = 'h1' AND dc = 'd1')",
        terms.join(" OR ")
    );
    let answer = query(&node, "wide", &q);
    let evens: i64 = (0..2000).filter(|i| i % 2 == 0).sum();
    assert_eq!(
        answer["results"][0]["series"][0]["values"][0],
        serde_json::json!(["1970-01-01T00:00:00Z", 1001, evens + 1]),
        "{answer}"
    );
    let count = query(&node, "wide", "SELECT count(v) FROM m");
    assert_eq!(count["results"][0]["series"][0]["values"][0][1], 2000);
}
