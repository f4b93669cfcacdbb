//! Core catalogs (a query leaves out the cores whose published index catalog shows they
//! hold nothing it selects, and answers tag keys and measurements from the catalogs)
//! never hide what an acknowledged write brought, nor show what a delete took away.
//! Each request goes on a new connection, so the cores that coordinate vary; the series
//! spread over every core of the node.

use serde_json::Value;
use tessera_tests::{http, Cluster};

fn query(base: &str, q: &str) -> Value {
    let url = reqwest::Url::parse_with_params(&format!("{base}/query"), &[("db", "cat"), ("q", q)])
        .expect("url");
    let (status, body) = http::get(url.as_str()).expect("query");
    assert_eq!(status, 200, "{q}: {body}");
    body
}

/// A one-node cluster with database `cat`; the node's base URL.
fn node_with_db() -> (Cluster, String) {
    let c = Cluster::start(1, 1, "", "");
    let base = format!("http://{}", c.datas[0].http);
    let (status, _) = http::post_raw(&format!("{base}/query?q=CREATE+DATABASE+cat"), b"")
        .expect("create database");
    assert_eq!(status, 200);
    (c, base)
}

fn write(base: &str, lines: &str) {
    let (status, body) =
        http::post_raw(&format!("{base}/write?db=cat"), lines.as_bytes()).expect("write");
    assert_eq!(status, 204, "{lines}: {body}");
}

/// The first column of every row of the first series, as strings.
fn first_column(body: &Value) -> Vec<String> {
    body["results"][0]["series"]
        .as_array()
        .map(|series| {
            series
                .iter()
                .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
                .map(|row| match &row[0] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first value column of the first row of the first series.
fn first_value(body: &Value) -> &Value {
    &body["results"][0]["series"][0]["values"][0][1]
}

fn columns(body: &Value) -> Vec<String> {
    body["results"][0]["series"][0]["columns"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn catalogs_never_hide_a_write_or_show_a_delete() {
    let (_c, base) = node_with_db();
    for i in 0..120u64 {
        let m = format!("m{}", i % 4);
        let key = format!("k{}", i % 9);
        // A new series, a new tag value, sometimes a new tag key or measurement.
        write(
            &base,
            &format!("{m},host=h{i},{key}=v{i} v={i} {}\n", 1_000_000_000 + i),
        );
        let rows = query(&base, &format!("SELECT v FROM {m} WHERE host = 'h{i}'"));
        assert_eq!(
            first_value(&rows),
            &serde_json::json!(i),
            "series h{i} right after its write: {rows}"
        );
        let rows = query(
            &base,
            &format!("SELECT v FROM {m} WHERE {key} = 'v{i}' OR host = 'nobody'"),
        );
        assert_eq!(first_column(&rows).len(), 1, "{key}=v{i}: {rows}");
        let series = query(&base, &format!("SHOW SERIES FROM {m} WHERE host = 'h{i}'"));
        assert_eq!(
            first_column(&series),
            vec![format!("{m},host=h{i},{key}=v{i}")],
            "{series}"
        );
        let values = query(
            &base,
            &format!("SHOW TAG VALUES FROM {m} WITH KEY = \"{key}\" WHERE host = 'h{i}'"),
        );
        assert_eq!(first_column(&values), vec![key.clone()], "{values}");
        let keys = query(&base, &format!("SHOW TAG KEYS FROM {m}"));
        assert!(first_column(&keys).contains(&key), "{key} of {m}: {keys}");
        let all_values = query(&base, &format!("SHOW TAG VALUES WITH KEY = \"{key}\""));
        let listed: Vec<&Value> = all_values["results"][0]["series"]
            .as_array()
            .map(|ss| {
                ss.iter()
                    .flat_map(|s| s["values"].as_array().into_iter().flatten())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            listed.iter().any(|row| row[1] == format!("v{i}").as_str()),
            "v{i} of {key}: {all_values}"
        );
        let cardinality = query(&base, "SHOW SERIES CARDINALITY");
        assert_eq!(
            cardinality["results"][0]["series"][0]["values"][0][0],
            serde_json::json!(i + 1),
            "{cardinality}"
        );
        let measurements = query(&base, "SHOW MEASUREMENTS");
        assert!(first_column(&measurements).contains(&m), "{measurements}");
        let all = query(&base, &format!("SELECT * FROM {m} WHERE host = 'h{i}'"));
        assert!(columns(&all).contains(&key), "SELECT * of {m}: {all}");
    }

    // Deletes: what went is no longer listed.
    write(&base, "m1,host=solo,only=x v=1 1000000000\n");
    let keys = query(&base, "SHOW TAG KEYS FROM m1");
    assert!(first_column(&keys).contains(&"only".to_string()), "{keys}");
    let gone = query(&base, "DROP SERIES FROM m1 WHERE host = 'solo'");
    assert!(gone["results"][0]["error"].is_null(), "{gone}");
    let rows = query(&base, "SELECT v FROM m1 WHERE host = 'solo'");
    assert!(rows["results"][0]["series"].is_null(), "{rows}");
    let series = query(&base, "SHOW SERIES FROM m1 WHERE host = 'solo'");
    assert!(first_column(&series).is_empty(), "{series}");
    // `only` was on that series alone: the tag key goes with it.
    let keys = query(&base, "SHOW TAG KEYS FROM m1");
    assert!(!first_column(&keys).contains(&"only".to_string()), "{keys}");
    let all = query(&base, "SELECT * FROM m1");
    assert!(!columns(&all).contains(&"only".to_string()), "{all}");
    let dropped = query(&base, "DROP MEASUREMENT m2");
    assert!(dropped["results"][0]["error"].is_null(), "{dropped}");
    let measurements = query(&base, "SHOW MEASUREMENTS");
    assert_eq!(
        first_column(&measurements),
        vec!["m0".to_string(), "m1".into(), "m3".into()],
        "{measurements}"
    );
    let all = query(&base, "SELECT * FROM m2");
    assert!(all["results"][0]["series"].is_null(), "{all}");

    // A measurement and tag key brought back after the delete are seen again.
    write(&base, "m2,host=back,k1=again v=7 5000000000\n");
    let keys = query(&base, "SHOW TAG KEYS FROM m2");
    assert_eq!(
        first_column(&keys),
        vec!["host".to_string(), "k1".into()],
        "{keys}"
    );
    let rows = query(&base, "SELECT v FROM m2 WHERE k1 = 'again'");
    assert_eq!(first_column(&rows).len(), 1, "{rows}");
}

#[test]
fn concurrent_writers_see_their_new_series_at_once() {
    let (_c, base) = node_with_db();
    // Catalogs are rebuilt in the background while other writers add series and other
    // readers use them.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let base = base.clone();
            std::thread::spawn(move || {
                for i in 0..60u64 {
                    let host = format!("t{t}_{i}");
                    write(
                        &base,
                        &format!("mc,host={host},t{t}=x{i} v={i} {}\n", 1_000_000_000 + i),
                    );
                    let rows = query(&base, &format!("SELECT v FROM mc WHERE host = '{host}'"));
                    assert_eq!(first_value(&rows), &serde_json::json!(i), "{host}: {rows}");
                    let keys = query(&base, "SHOW TAG KEYS FROM mc");
                    assert!(first_column(&keys).contains(&format!("t{t}")), "{keys}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let series = query(&base, "SHOW SERIES FROM mc");
    assert_eq!(first_column(&series).len(), 240, "{series}");
}

/// influxd creates a write's series before it checks the fields: a point refused for a
/// type conflict (or a lone `time` field) still lists its series, tag keys and values;
/// one refused for a `time` tag does not. (`tests/differential_write.rs` checks the
/// answers against influxd; this checks what is listed afterwards, as influxd lists it.)
#[test]
fn series_of_dropped_points_are_listed() {
    let (_c, base) = node_with_db();
    write(&base, "cpu,host=a v=1 1000000000\n");
    let lines = "cpu,host=b,dc=x v=\"s\" 2000000000\ncpu,host=t time=1 2000000000\ncpu,host=u,time=x v=2 2000000000\n";
    let (status, body) =
        http::post_raw(&format!("{base}/write?db=cat"), lines.as_bytes()).expect("write");
    assert_eq!(status, 400, "{body}");
    let series = query(&base, "SHOW SERIES");
    assert_eq!(
        first_column(&series),
        vec!["cpu,dc=x,host=b", "cpu,host=a", "cpu,host=t"],
        "{series}"
    );
    let keys = query(&base, "SHOW TAG KEYS FROM cpu");
    assert_eq!(first_column(&keys), vec!["dc", "host"], "{keys}");
    let grouped = query(&base, "SELECT * FROM cpu GROUP BY *");
    assert_eq!(
        grouped["results"][0]["series"][0]["tags"],
        serde_json::json!({"dc": "", "host": "a"}),
        "{grouped}"
    );
    // Only the point that was written has data.
    let count = query(&base, "SELECT count(v) FROM cpu");
    assert_eq!(
        count["results"][0]["series"][0]["values"][0][1], 1,
        "{count}"
    );
    // The first write into a new shard that brings a field with two types fails whole,
    // its series indexed all the same.
    let lines = "n,host=c v=1 1700000000000000000\nn,host=d v=\"s\" 1700000000000000001\n";
    let (status, body) =
        http::post_raw(&format!("{base}/write?db=cat"), lines.as_bytes()).expect("write");
    assert_eq!(
        (status, body),
        (400, serde_json::json!({"error": "field type conflict"}))
    );
    let series = query(&base, "SHOW SERIES FROM n");
    assert_eq!(
        first_column(&series),
        vec!["n,host=c", "n,host=d"],
        "{series}"
    );
    let rows = query(&base, "SELECT count(v) FROM n");
    assert!(rows["results"][0]["series"].is_null(), "{rows}");
}
