//! Replays `corpus/influxd.json`: bodies sent to a real influxd 1.6.7 with its answers
//! (recorded by `gen_corpus.py`). For each body this checks that the parser refuses
//! exactly the lines influxd refused, with influxd's text, and, where influxd stored what
//! it parsed, that the points (names and values unescaped) and `SHOW SERIES` keys
//! ([`series_key`]) agree.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use tessera_lineproto::{parse, series_key, FieldValue, Line, Precision};

/// Cases where what influxd shows after the write is not a parser matter.
const STORED_NOT_COMPARED: &[(&str, &str)] = &[(
    "same_series_two_spellings",
    "one series in SHOW SERIES, but influxd loses the second spelling's point in SELECT",
)];

type Tags = BTreeMap<String, String>;
type PointKey = (String, Tags, Option<i64>);

#[derive(Debug, Clone, PartialEq)]
enum V {
    Float(f64),
    Other(String, String),
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn input(case: &Value) -> Vec<u8> {
    if let Some(s) = case["input"].as_str() {
        return s.as_bytes().to_vec();
    }
    let hex = case["input_hex"].as_str().expect("input or input_hex");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// influxd's parse-error text in a response body, `Some("")` when there is none, `None`
/// when another error (field type conflict, invalid tag key, ...) hides it.
fn expected_parse_errors(status: u64, body: &str) -> Option<String> {
    if status == 204 {
        return Some(String::new());
    }
    let v: Value = serde_json::from_str(body).unwrap();
    let e = v["error"].as_str().unwrap();
    if e.starts_with("unable to parse '") {
        return Some(e.to_string());
    }
    let rest = e.strip_prefix("partial write: ")?;
    if !rest.starts_with("unable to parse '") {
        return None;
    }
    let cut = rest.rfind(" dropped=").unwrap();
    Some(rest[..cut].to_string())
}

fn our_points(lines: &[Line<'_>]) -> BTreeMap<PointKey, BTreeMap<String, V>> {
    let mut out: BTreeMap<PointKey, BTreeMap<String, V>> = BTreeMap::new();
    for l in lines {
        let tags: Tags = l
            .tags
            .iter()
            .map(|(k, v)| (lossy(&k.unescaped()), lossy(&v.unescaped())))
            .collect();
        let time = l.timestamp;
        let fields = out
            .entry((lossy(&l.measurement.unescaped()), tags, time))
            .or_default();
        for (k, v) in &l.fields {
            let k = lossy(&k.unescaped());
            if k == "time" {
                continue; // influxd drops a field named time
            }
            if k.is_empty() {
                continue; // stored, but SELECT shows it as a column "val0" of no type
            }
            let v = match v {
                FieldValue::Float(f) => V::Float(*f),
                FieldValue::Integer(i) => V::Other("integer".into(), i.to_string()),
                FieldValue::Unsigned(u) => V::Other("unsigned".into(), u.to_string()),
                FieldValue::Boolean(b) => V::Other("boolean".into(), b.to_string()),
                FieldValue::Str(s) => V::Other("string".into(), lossy(&s.unescaped())),
            };
            fields.insert(k, v);
        }
    }
    out
}

/// `now_time`: whether a recorded time is influxd's clock rather than a line's timestamp.
fn recorded_points(
    case: &Value,
    now_time: impl Fn(i64) -> bool,
) -> BTreeMap<PointKey, BTreeMap<String, V>> {
    let mut out = BTreeMap::new();
    for p in case["points"].as_array().unwrap() {
        let tags: Tags = p["tags"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let time = p["time"].as_i64().filter(|&t| !now_time(t));
        let fields = p["fields"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, tv)| !(k.as_str() == "val0" && tv[0] == "?"))
            .map(|(k, tv)| {
                let (t, v) = (tv[0].as_str().unwrap(), tv[1].as_str().unwrap());
                let v = if t == "float" {
                    V::Float(v.parse().unwrap())
                } else {
                    V::Other(t.to_string(), v.to_string())
                };
                (k.clone(), v)
            })
            .collect();
        out.insert(
            (p["measurement"].as_str().unwrap().to_string(), tags, time),
            fields,
        );
    }
    out
}

#[test]
fn corpus_matches_influxd() {
    // LP_CORPUS=path replays another recording (e.g. one of a fuzz corpus).
    let text = match std::env::var("LP_CORPUS") {
        Ok(path) => std::fs::read_to_string(path).unwrap(),
        Err(_) => include_str!("corpus/influxd.json").to_string(),
    };
    let doc: Value = serde_json::from_str(&text).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let builtin = std::env::var("LP_CORPUS").is_err();
    assert!(!builtin || cases.len() >= 150, "{} cases", cases.len());
    let (mut errors_checked, mut stored_checked) = (0, 0);
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let body = input(case);
        let precision = case["precision"]
            .as_str()
            .map_or(Precision::Nanosecond, |p| {
                Precision::parse(p).unwrap_or(Precision::Nanosecond)
            });
        let mut lines = Vec::new();
        let mut errors = Vec::new();
        for r in parse(&body, precision) {
            match r {
                Ok(l) => lines.push(l),
                Err(e) => errors.push(e.to_string()),
            }
        }
        let status = case["status"].as_u64().unwrap();
        let Some(expected) = expected_parse_errors(status, case["body"].as_str().unwrap()) else {
            continue;
        };
        errors_checked += 1;
        let got = errors.join("\n");
        if got != expected {
            failures.push(format!(
                "{name}: errors\n  got:      {got:?}\n  influxd:  {expected:?}"
            ));
            continue;
        }
        if STORED_NOT_COMPARED.iter().any(|(n, _)| *n == name) {
            continue;
        }
        stored_checked += 1;
        let mut ours = BTreeSet::new();
        for l in &lines {
            let mut k = Vec::new();
            series_key(l, &mut k);
            ours.insert(lossy(&k));
        }
        let theirs: BTreeSet<String> = case["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        if ours != theirs {
            failures.push(format!(
                "{name}: series\n  got:     {ours:?}\n  influxd: {theirs:?}"
            ));
        }
        if case.get("unreadable_measurements").is_some() {
            continue;
        }
        // Lines without a timestamp got influxd's clock: a recorded time no line gave.
        let untimed = lines.iter().any(|l| l.timestamp.is_none());
        let given: BTreeSet<i64> = lines.iter().filter_map(|l| l.timestamp).collect();
        let (ours, theirs) = (
            our_points(&lines),
            recorded_points(case, |t| untimed && !given.contains(&t)),
        );
        if ours != theirs {
            failures.push(format!(
                "{name}: points\n  got:     {ours:?}\n  influxd: {theirs:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from influxd:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} cases: {errors_checked} error lists and {stored_checked} stored results compared",
        cases.len()
    );
    assert!(!builtin || (errors_checked >= 150 && stored_checked >= 100));
}
