//! `chunked=true` answers are streamed: a raw SELECT larger than `[cluster]
//! chunked-slice-points` is read in time slices, each sent before the next is read. The
//! answer is the same as the one read whole (rows, chunk cuts, `partial` flags); a KILL
//! or a client that goes away stops the query.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_tests::Cluster;

const HOUR: i64 = 3_600_000_000_000;
/// 2023-01-02T00:00:00Z, a Monday: three shard groups of a week each below.
const START: i64 = 1_672_617_600_000_000_000;

fn post(node: &str, params: &[(&str, &str)]) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .post(format!("http://{node}/query"))
        .form(params)
        .timeout(Duration::from_secs(300))
        .send()
        .expect("query")
}

/// The result objects of a chunked answer, one per line.
fn chunked(node: &str, db: &str, q: &str, size: usize) -> Vec<Value> {
    let size = size.to_string();
    let r = post(
        node,
        &[
            ("db", db),
            ("q", q),
            ("chunked", "true"),
            ("chunk_size", &size),
        ],
    );
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("transfer-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("chunked"),
        "a chunked answer is streamed"
    );
    let body = r.text().expect("body");
    body.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn write(node: &str, db: &str, body: String) {
    let r = reqwest::blocking::Client::new()
        .post(format!("http://{node}/write?db={db}"))
        .body(body)
        .timeout(Duration::from_secs(300))
        .send()
        .expect("write");
    assert_eq!(r.status().as_u16(), 204);
}

/// The answer read whole (not chunked), cut as influxd cuts a chunked answer: every
/// series in parts of `size` rows, each part its own result object.
fn expected_chunks(node: &str, db: &str, q: &str, size: usize) -> Vec<Value> {
    let whole: Value = post(node, &[("db", db), ("q", q)]).json().expect("json");
    let mut out = Vec::new();
    for r in whole["results"].as_array().expect("results") {
        let id = r["statement_id"].clone();
        if let Some(e) = r.get("error") {
            out.push(serde_json::json!({"results": [{"statement_id": id, "error": e}]}));
            continue;
        }
        let mut parts = Vec::new();
        for s in r["series"].as_array().cloned().unwrap_or_default() {
            let values = s["values"].as_array().expect("values").clone();
            let n = values.len().div_ceil(size);
            for (i, rows) in values.chunks(size).enumerate() {
                let mut part = s.clone();
                part["values"] = Value::Array(rows.to_vec());
                if i + 1 < n {
                    part["partial"] = Value::Bool(true);
                } else if let Some(o) = part.as_object_mut() {
                    o.remove("partial");
                }
                parts.push(part);
            }
        }
        if parts.is_empty() {
            out.push(serde_json::json!({"results": [{"statement_id": id}]}));
        }
        let k = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            let mut obj = serde_json::json!({"statement_id": id, "series": [part]});
            if i + 1 < k {
                obj["partial"] = Value::Bool(true);
            }
            out.push(serde_json::json!({ "results": [obj] }));
        }
    }
    out
}

/// A `/query` answer's body over a raw connection (HTTP chunks joined, gunzipped when
/// asked for gzip, which the answer must then say).
fn raw_query(node: &str, db: &str, q: &str, chunked: bool, gzip: bool) -> Vec<u8> {
    let mut params = format!("db={db}&q={}", q.replace(' ', "+").replace('*', "%2A"));
    if chunked {
        params.push_str("&chunked=true&chunk_size=500");
    }
    let mut stream = std::net::TcpStream::connect(node).expect("connect");
    let accept = if gzip {
        "Accept-Encoding: gzip\r\n"
    } else {
        ""
    };
    write!(
        stream,
        "GET /query?{params} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{accept}\r\n"
    )
    .expect("send");
    let mut all = Vec::new();
    stream.read_to_end(&mut all).expect("read");
    let split = all.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    let head = String::from_utf8_lossy(&all[..split]).to_ascii_lowercase();
    let mut body = all[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        let mut joined = Vec::new();
        let mut at = 0;
        loop {
            let eol = at
                + body[at..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .expect("size");
            let size = usize::from_str_radix(std::str::from_utf8(&body[at..eol]).expect("hex"), 16)
                .expect("chunk size");
            if size == 0 {
                break;
            }
            joined.extend_from_slice(&body[eol + 2..eol + 2 + size]);
            at = eol + 2 + size + 2;
        }
        body = joined;
    }
    assert_eq!(head.contains("content-encoding: gzip"), gzip, "{head}");
    if gzip {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .expect("gunzip");
        body = out;
    }
    body
}

/// Every row of a chunked answer, as text, sorted.
fn row_set(chunks: &[Value]) -> Vec<String> {
    let mut rows: Vec<String> = chunks
        .iter()
        .flat_map(|c| c["results"].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["series"].as_array().cloned().unwrap_or_default())
        .flat_map(|s| {
            let name = s["name"].clone();
            s["values"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |v| format!("{name}{v}"))
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn chunked_select_read_in_slices_answers_as_read_whole() {
    let mut c = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    // A few hundred points a slice: the answers below take many slices.
    c.datas[0].set("cluster", "chunked-slice-points", "300");
    c.start_all();
    let node = c.datas[0].http.clone();
    post(&node, &[("q", "CREATE DATABASE s")]);
    // 12 hosts in 2 data centres every 30 minutes over three weeks (three shard groups),
    // the tag `a_host` first in column order (it orders rows of equal time, as in
    // influxd), and a second measurement, sparser, with a field only some points have.
    let mut body = String::new();
    for step in 0..(21 * 48) {
        let t = START + step * HOUR / 2;
        for h in 0..12 {
            body.push_str(&format!(
                "m,a_host=h{h:02},b_dc=dc{} v={},i={}i {t}\n",
                h % 2,
                (step * 7 + h) % 101,
                step * 12 + h
            ));
        }
        if step % 5 == 0 {
            let extra = if step % 2 == 0 { ",s=\"x\"" } else { "" };
            body.push_str(&format!("n,a_host=h00 w={step}{extra} {t}\n"));
        }
    }
    write(&node, "s", body);
    let statements = [
        "SELECT * FROM m",
        "SELECT * FROM m ORDER BY time DESC",
        "SELECT * FROM m WHERE v > 50 AND a_host != 'h03'",
        "SELECT * FROM m, n",
        "SELECT * FROM /./ ORDER BY time DESC",
        "SELECT * FROM m WHERE time >= '2023-01-05T00:00:00Z' AND time < '2023-01-12T12:00:00Z'",
        "SELECT s, a_host FROM n",
        "SELECT i * 2, a_host FROM m WHERE time > now() - 100000d",
        // Grouped: runs of groups, a group larger than a slice in time slices.
        "SELECT * FROM m GROUP BY a_host",
        "SELECT * FROM m GROUP BY b_dc ORDER BY time DESC",
        "SELECT * FROM /./ GROUP BY *",
        "SELECT v, a_host FROM m WHERE a_host =~ /h0[1-4]/ GROUP BY /dc/",
        // LIMIT and OFFSET past a slice: counted across the parts.
        "SELECT * FROM m LIMIT 1000 OFFSET 10",
        "SELECT * FROM m ORDER BY time DESC LIMIT 2000 OFFSET 150",
        "SELECT v, a_host FROM m WHERE v > 20 LIMIT 5000",
        "SELECT * FROM m GROUP BY a_host LIMIT 400 OFFSET 7",
        "SELECT * FROM m, n GROUP BY b_dc ORDER BY time DESC LIMIT 350",
        // Not read in slices (answered whole), cut the same way.
        "SELECT * FROM m LIMIT 200 OFFSET 10",
        "SELECT * FROM m OFFSET 3000",
        "SELECT mean(v) FROM m GROUP BY time(1h)",
        "SELECT * FROM m; SELECT * FROM nope; SHOW MEASUREMENTS",
    ];
    for q in statements {
        for size in [1000, 4096, 10000] {
            let got = chunked(&node, "s", q, size);
            let want = expected_chunks(&node, "s", q, size);
            assert_eq!(
                got.len(),
                want.len(),
                "{q} (chunk_size {size}): result objects"
            );
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{q} (chunk_size {size}): result object {i}");
            }
        }
    }
    // Gzipped (`Accept-Encoding: gzip`, as influxd gzips /query answers), streamed or
    // not, the same answer once unzipped.
    for (q, chunked) in [
        ("SELECT * FROM m", true),
        ("SELECT * FROM m GROUP BY b_dc", false),
    ] {
        let plain = raw_query(&node, "s", q, chunked, false);
        let zipped = raw_query(&node, "s", q, chunked, true);
        assert!(!plain.is_empty());
        assert_eq!(zipped, plain, "{q}: gzipped");
    }
    // A float alone does not order rows of equal time (influxd's heap does, from its
    // history): the rows are the same, their order at equal times may differ.
    let q = "SELECT v FROM m";
    let got = chunked(&node, "s", q, 5000);
    let want = expected_chunks(&node, "s", q, 5000);
    assert_eq!(row_set(&got), row_set(&want));
    assert_eq!(row_set(&got).len(), 21 * 48 * 12);
}

#[test]
fn a_streamed_query_stops_when_killed_or_when_its_client_goes() {
    let mut c = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    c.datas[0].set("cluster", "chunked-slice-points", "2000");
    c.start_all();
    let node = c.datas[0].http.clone();
    post(&node, &[("q", "CREATE DATABASE s")]);
    // 200k points: an answer of ~15 MB, far more than the socket buffers hold.
    for part in 0..4 {
        let body: String = (0..50_000)
            .map(|i| {
                let k = part * 50_000 + i;
                format!(
                    "m,host=h{} v={k},pad=\"{}\" {}\n",
                    k % 50,
                    "p".repeat(20),
                    START + (k / 50) * 1_000_000_000
                )
            })
            .collect();
        write(&node, "s", body);
    }
    let running = |node: &str| -> Vec<Value> {
        let v: Value = post(node, &[("q", "SHOW QUERIES")]).json().expect("json");
        v["results"][0]["series"][0]["values"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r[3].as_str().is_some_and(|q| q.starts_with("SELECT")))
            .collect()
    };
    let request = |stream: &mut std::net::TcpStream| {
        let body = "db=s&chunked=true&q=SELECT+*+FROM+m";
        write!(
            stream,
            "POST /query HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut first = [0u8; 4096];
        let n = stream.read(&mut first).expect("read");
        assert!(n > 0 && first.starts_with(b"HTTP/1.1 200"));
    };

    // A client that reads a little and goes away: the query ends.
    let mut stream = std::net::TcpStream::connect(&node).expect("connect");
    request(&mut stream);
    assert_eq!(running(&node).len(), 1, "listed while it streams");
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !running(&node).is_empty() {
        assert!(Instant::now() < deadline, "the query outlived its client");
        std::thread::sleep(Duration::from_millis(50));
    }

    // KILL QUERY mid-stream: the client reads what was sent, then influxd's error.
    let mut stream = std::net::TcpStream::connect(&node).expect("connect");
    request(&mut stream);
    let listed = running(&node);
    let qid = listed[0][0].as_u64().expect("qid");
    post(&node, &[("q", &format!("KILL QUERY {qid}"))]);
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).ok();
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.contains(r#"{"results":[{"statement_id":0,"error":"query interrupted"}]}"#),
        "the stream ends with the KILL's error"
    );
    assert!(running(&node).is_empty());
    // The node answers on.
    let v: Value = post(&node, &[("db", "s"), ("q", "SELECT count(v) FROM m")])
        .json()
        .expect("json");
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], 200_000);
}

/// Each series' rows `offset..offset + limit` of a whole answer (the columns and tags
/// as they are), leaving out series with none: what LIMIT and OFFSET answer.
fn sliced(whole: &Value, limit: usize, offset: usize) -> Value {
    let mut out = whole.clone();
    for r in out["results"].as_array_mut().expect("results") {
        let Some(series) = r.get_mut("series").and_then(Value::as_array_mut) else {
            continue;
        };
        for s in series.iter_mut() {
            let values: Vec<Value> = s["values"].as_array().expect("values").clone();
            s["values"] = Value::Array(values.into_iter().skip(offset).take(limit).collect());
        }
        series.retain(|s| !s["values"].as_array().expect("values").is_empty());
        if series.is_empty() {
            r.as_object_mut().expect("result").remove("series");
        }
    }
    out
}

#[test]
fn limit_reads_only_the_first_rows_and_answers_as_the_whole_cut() {
    // Under LIMIT each series is read only up to its first LIMIT + OFFSET answering
    // rows (bounded from the files' block index, sorted columns in memory), and each
    // level cuts the rows to what can reach the answer. The answer must be the whole
    // answer's rows, cut: in files (small snapshots), the cache, behind a delete,
    // across shard groups, with ties at every time.
    let mut c = Cluster::configure(1, 1, &tessera_tests::license::valid(8, 4), "", "");
    c.datas[0].set("data", "cache-snapshot-memory-size", "\"64k\"");
    c.start_all();
    let node = c.datas[0].http.clone();
    post(&node, &[("q", "CREATE DATABASE l")]);
    let mut body = String::new();
    for step in 0..(21 * 24) {
        let t = START + step * HOUR;
        for h in 0..6 {
            let sparse = if (step + h) % 7 == 0 {
                format!(",s=\"x{step}\"")
            } else {
                String::new()
            };
            body.push_str(&format!(
                "m,a_host=h{h},b_dc=dc{} v={},i={}i{sparse} {t}\n",
                h % 2,
                (step * 7 + h) % 101,
                step * 6 + h
            ));
        }
        if step % 500 == 499 {
            write(&node, "l", std::mem::take(&mut body));
        }
    }
    write(&node, "l", body);
    let deleted = post(
        &node,
        &[
            ("db", "l"),
            (
                "q",
                "DELETE FROM m WHERE a_host = 'h1' AND time < '2023-01-09T00:00:00Z'",
            ),
        ],
    );
    assert_eq!(deleted.status().as_u16(), 200);
    // Written last: in the cache, beside the files.
    let mut body = String::new();
    for step in 0..48 {
        let t = START + 21 * 24 * HOUR + step * HOUR;
        body.push_str(&format!("m,a_host=h0,b_dc=dc0 v={step},i={step}i {t}\n"));
    }
    write(&node, "l", body);
    // One long series (read in growing windows under a condition).
    for part in 0..4 {
        let mut body = String::new();
        for k in 0..5000 {
            let step = part * 5000 + k;
            let t = START + step * HOUR / 60;
            let s = if step % 13 == 0 { ",s=\"y\"" } else { "" };
            body.push_str(&format!("g,a_host=h0 v={}{s} {t}\n", (step * 37) % 1000));
        }
        write(&node, "l", body);
    }
    let statements = [
        "SELECT * FROM g WHERE v >= 990",
        "SELECT v, s FROM g WHERE v = 7 OR v = 500",
        "SELECT * FROM m",
        "SELECT v FROM m",
        "SELECT s FROM m",
        "SELECT s, i FROM m",
        "SELECT v, a_host FROM m WHERE a_host != 'h2'",
        "SELECT * FROM m WHERE v > 50",
        // Few rows meet these: read in growing windows.
        "SELECT v, s FROM m WHERE v > 95",
        "SELECT i FROM m WHERE v < 3 AND a_host = 'h0'",
        "SELECT v::integer, i FROM m",
        "SELECT i * 2 FROM m WHERE time >= '2023-01-04T00:00:00Z' AND time < '2023-01-16T00:00:00Z'",
        "SELECT * FROM m GROUP BY a_host",
        "SELECT v FROM m GROUP BY b_dc",
        "SELECT i FROM m WHERE a_host = 'h1' GROUP BY *",
    ];
    let mut rows = 0;
    for q in statements {
        for order in ["", " ORDER BY time DESC"] {
            let q = format!("{q}{order}");
            let whole: Value = post(&node, &[("db", "l"), ("q", &q)]).json().expect("json");
            for (limit, offset) in [
                (1, 0),
                (5, 3),
                (40, 0),
                (100, 250),
                (7, 3020),
                (9, 1_000_000),
            ] {
                let lq = format!("{q} LIMIT {limit} OFFSET {offset}");
                let got: Value = post(&node, &[("db", "l"), ("q", &lq)])
                    .json()
                    .expect("json");
                let want = sliced(&whole, limit, offset);
                assert_eq!(got, want, "{lq}");
                rows += got["results"][0]["series"].as_array().map_or(0, |s| {
                    s.iter()
                        .map(|s| s["values"].as_array().map_or(0, Vec::len))
                        .sum()
                });
            }
        }
    }
    assert!(rows > 2000, "{rows}");
    // first() and last() alone read each series' first (last) two points of each field;
    // a condition every row meets (every point has `i`) makes the engine read all rows,
    // and the answer must be the same.
    for (select, group) in [
        ("last(v)", ""),
        ("first(v)", ""),
        ("last(*)", ""),
        ("first(*)", " GROUP BY a_host"),
        ("last(s), last(i)", " GROUP BY b_dc"),
        ("first(s)", ""),
        ("last(v)", " GROUP BY *"),
        // Aux values: the rows at the selected times, read whole.
        ("last(v), i, s", ""),
        ("first(s), v, a_host", " GROUP BY b_dc"),
        // first() and last() of one field: both ends.
        ("first(v), last(v)", ""),
        ("last(i) - first(i)", " GROUP BY a_host"),
        ("first(s), last(v)", " GROUP BY b_dc"),
    ] {
        for range in [
            "",
            "time >= '2023-01-05T00:00:00Z' AND time < '2023-01-19T00:00:00Z'",
        ] {
            let q = |extra: &str| {
                let cond: Vec<&str> = [range, extra]
                    .into_iter()
                    .filter(|c| !c.is_empty())
                    .collect();
                let cond = if cond.is_empty() {
                    String::new()
                } else {
                    format!(" WHERE {}", cond.join(" AND "))
                };
                format!("SELECT {select} FROM m{cond}{group}")
            };
            let got: Value = post(&node, &[("db", "l"), ("q", &q(""))])
                .json()
                .expect("json");
            let want: Value = post(&node, &[("db", "l"), ("q", &q("i >= 0"))])
                .json()
                .expect("json");
            assert!(got["results"][0]["series"].is_array(), "{}: {got}", q(""));
            assert_eq!(got, want, "{}", q(""));
        }
    }
}
