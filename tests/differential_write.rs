//! `/write` differentially: every request of `cases/write.jsonl` goes, in order, to real
//! InfluxDB 1.6.7 (`/usr/bin/influxd`, from Debian's `influxdb` package) and to a Tessera
//! data node; status codes and JSON bodies must be the same.

use serde_json::Value;
use tessera_tests::{Cluster, RealInfluxd};

fn send(base: &str, params: &str, body: &str) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{base}/write?{params}"))
        .body(body.to_string())
        .send()
        .expect("write");
    let status = resp.status().as_u16();
    let text = resp.text().unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

fn create_db(base: &str) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{base}/query"))
        .form(&[("q", "CREATE DATABASE db")])
        .send()
        .expect("create database");
    assert_eq!(resp.status().as_u16(), 200);
}

#[test]
fn write_answers_match_influxd() {
    let real = RealInfluxd::start("");
    let ours = Cluster::start(1, 1, "", "");
    let real_url = format!("http://127.0.0.1:{}", real.port);
    let our_url = format!("http://{}", ours.datas[0].http);
    create_db(&real_url);
    create_db(&our_url);
    let cases = include_str!("cases/write.jsonl");
    let mut mismatches = Vec::new();
    let mut n = 0;
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("case is JSON");
        let params = case["params"].as_str().unwrap();
        let body = case["body"].as_str().unwrap();
        let expected = send(&real_url, params, body);
        let got = send(&our_url, params, body);
        n += 1;
        if expected != got {
            mismatches.push(format!(
                "POST /write?{params} {body:?}\n  influxd: {} {}\n  tessera: {} {}",
                expected.0, expected.1, got.0, got.1
            ));
        }
    }
    assert!(n >= 60, "only {n} cases");
    assert!(
        mismatches.is_empty(),
        "{} of {n} answers differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
