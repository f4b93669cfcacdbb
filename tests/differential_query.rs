//! `/query` differentially, against answers recorded from real InfluxDB 1.6.7.
//!
//! `cases/query/dataset.lp` is loaded into one meta + one data node with exactly the
//! requests `record_query.py` sends to influxd (the `# DDL` statements one by one as POST
//! /query, then every `# DML` context as POST /write?db=..&rp=..&precision=ns in chunks of
//! at most 5000 lines). Then every case of `cases/query/*.jsonl` is replayed in `FILES`
//! order, cases in file order, and each answer is compared with the recorded one. Every
//! mismatch is printed (name, query, the first differing path, both answers truncated),
//! then a pass count per file, then the test fails if anything differed.
//!
//! What a case's `compare` checks (the status always; the content type family — json, csv
//! or other — unless `status`):
//! - `exact` (default): the body structurally. Numbers that are both integers must be
//!   equal; otherwise they are equal within 1e-9 relative (or 1e-12 absolute). In a series
//!   whose first column is `time`, rows sharing a time are compared as a multiset:
//!   influxd's merge leaves their order to heap internals. CSV answers are parsed and
//!   compared the same way (cells, numbers with the tolerance, rows of one series sharing
//!   a time in any order); other text bodies must be identical.
//! - `unordered`: as exact, but every `series` list and every `values` list is a multiset
//!   (CSV: the rows of each block).
//! - `columns`: only the shape — names, tags, columns, errors, row counts.
//! - `plan`: as exact, but the figures of EXPLAIN lines that describe storage (cached
//!   values, files, blocks, their sizes) and of EXPLAIN ANALYZE's times and blocks are
//!   masked: the layout of the data on disk is each engine's own.
//! - `text`: the raw body text, byte for byte.
//! - `status`: only the status.
//!
//! For the engine author's inner loop:
//! - `TESSERA_QUERY_CASES=select_raw,where` runs only those files;
//! - `TESSERA_QUERY_CASE_FILTER=derivative` runs only cases whose name contains it (cases
//!   that set up state for later ones may then be skipped: mind ddl and into);
//! - `TESSERA_QUERY_FULL=1` prints whole answers instead of truncating them;
//! - `TESSERA_QUERY_AGAINST=http://127.0.0.1:8086` replays against a server you started
//!   (empty: the dataset is loaded into it) instead of a fresh Tessera cluster. Pointed at
//!   a throwaway influxd 1.6.7 every case must pass: that checks the runner and the corpus.
//!
//! Re-record with `python3 tests/record_query.py` (see its header).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use tessera_tests::Cluster;

/// The order files run in; `record_query.py` has the same list.
const FILES: &[&str] = &[
    "select_raw",
    "where",
    "aggregates",
    "selectors",
    "group_by_time",
    "fill",
    "group_by_tags",
    "order_limit",
    "math",
    "transformations",
    "subqueries",
    "tz",
    "multi_statement",
    "params",
    "csv",
    "msgpack",
    "show",
    "explain",
    "errors",
    "combinations",
    "into",
    "ddl",
];

/// The most lines in one /write request while loading the dataset (as the recorder).
const CHUNK_LINES: usize = 5000;

/// Relative float tolerance: sums and means may be accumulated in another order.
const REL_TOLERANCE: f64 = 1e-9;
/// Absolute tolerance for values that should be 0 but carry rounding residue.
const ABS_TOLERANCE: f64 = 1e-12;

/// How much of an answer a mismatch report shows.
const SHOWN_CHARS: usize = 400;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases/query")
}

/// One client for every request: keep-alive connections, and no per-case set-up cost.
fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("http client")
    })
}

/// One recorded case.
struct Case {
    name: String,
    method: String,
    params: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    form: bool,
    compare: String,
    status: u16,
    content_type: String,
    body: Value,
}

impl Case {
    fn parse(line: &str, file: &str) -> Case {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{file}: a line is not JSON ({e}): {line:.200}"));
        let strings = |key: &str| -> Vec<(String, String)> {
            v[key]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, x)| (k.clone(), x.as_str().expect("string values").to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let name = v["name"].as_str().expect("case name").to_string();
        Case {
            method: v["method"].as_str().unwrap_or("GET").to_string(),
            params: strings("params"),
            headers: strings("headers"),
            form: v["form"].as_bool().unwrap_or(true),
            compare: v["compare"].as_str().unwrap_or("exact").to_string(),
            status: v["status"]
                .as_u64()
                .unwrap_or_else(|| panic!("{file}/{name}: not recorded; run tests/record_query.py"))
                as u16,
            content_type: v["content_type"].as_str().unwrap_or("").to_string(),
            body: v["body"].clone(),
            name,
        }
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer as the recorder stores it.
struct Answer {
    status: u16,
    content_type: String,
    body: Value,
}

/// Sends a case as `record_query.py` does; `Err` when no answer came back.
fn send(base: &str, case: &Case) -> Result<Answer, String> {
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("HTTP method");
    let url = format!("{base}/query");
    let mut req = if method == reqwest::Method::POST && case.form {
        client().post(&url).form(&case.params)
    } else {
        let url = reqwest::Url::parse_with_params(&url, &case.params).expect("query URL");
        client().request(method, url)
    };
    for (k, v) in &case.headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let resp = req.send().map_err(|e| format!("no answer: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = resp.bytes().map_err(|e| format!("answer cut short: {e}"))?;
    let text = if content_type.contains("msgpack") {
        // MessagePack is binary: stored (and compared) as hex.
        let mut hex = String::from("hex:");
        for b in bytes.iter() {
            hex.push_str(&format!("{b:02x}"));
        }
        hex
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let body = decode(case, &content_type, text);
    Ok(Answer {
        status,
        content_type,
        body,
    })
}

/// The body as stored: JSON when it is JSON (a list of objects when chunked), else text.
fn decode(case: &Case, content_type: &str, text: String) -> Value {
    if case.compare == "text" || !content_type.contains("json") || text.trim().is_empty() {
        return Value::String(text);
    }
    let values: Result<Vec<Value>, _> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .collect();
    match values {
        Err(_) => Value::String(text),
        Ok(mut values) => {
            if case.param("chunked") == Some("true") || values.len() != 1 {
                Value::Array(values)
            } else {
                values.pop().expect("one value")
            }
        }
    }
}

fn family(content_type: &str) -> &'static str {
    if content_type.contains("json") {
        "json"
    } else if content_type.contains("csv") {
        "csv"
    } else if content_type.contains("msgpack") {
        "msgpack"
    } else if content_type.is_empty() {
        "none"
    } else {
        "other"
    }
}

/// Everything but the rows' values: each `values` list becomes its length.
fn shape(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(shape).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let y = match (k.as_str(), x) {
                        ("values", Value::Array(rows)) => Value::from(rows.len()),
                        _ => shape(x),
                    };
                    (k.clone(), y)
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    let (x, y) = (
        a.as_f64().unwrap_or(f64::NAN),
        b.as_f64().unwrap_or(f64::NAN),
    );
    let diff = (x - y).abs();
    diff <= REL_TOLERANCE * x.abs().max(y.abs()) || diff <= ABS_TOLERANCE
}

/// Structural equality; `Err` names the first differing path. `unordered` makes every
/// `series` and `values` list a multiset.
fn same(expected: &Value, got: &Value, unordered: bool, path: &str) -> Result<(), String> {
    match (expected, got) {
        (Value::Number(a), Value::Number(b)) if numbers_equal(a, b) => Ok(()),
        (Value::Array(a), Value::Array(b)) => {
            same_len(a, b, path)?;
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same(x, y, unordered, &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Object(a), Value::Object(b)) => {
            let (ka, kb): (Vec<_>, Vec<_>) = (a.keys().collect(), b.keys().collect());
            if ka != kb {
                return Err(format!("{path}: keys {ka:?}, got {kb:?}"));
            }
            // Rows may share a time only in series whose first column is the time.
            let timed = a
                .get("columns")
                .and_then(|c| c.get(0))
                .is_some_and(|c| c == "time");
            for (k, x) in a {
                let (y, p) = (&b[k], format!("{path}.{k}"));
                match (k.as_str(), x, y) {
                    ("series" | "values", Value::Array(xa), Value::Array(ya)) if unordered => {
                        same_len(xa, ya, &p)?;
                        same_multiset(xa, ya, unordered, &p)?;
                    }
                    ("values", Value::Array(xa), Value::Array(ya)) if timed => {
                        same_len(xa, ya, &p)?;
                        same_rows(xa, ya, &p)?;
                    }
                    _ => same(x, y, unordered, &p)?,
                }
            }
            Ok(())
        }
        _ if expected == got => Ok(()),
        _ => Err(format!(
            "{path}: {}, got {}",
            clip(&expected.to_string(), 80),
            clip(&got.to_string(), 80)
        )),
    }
}

fn same_len(a: &[Value], b: &[Value], path: &str) -> Result<(), String> {
    if a.len() == b.len() {
        Ok(())
    } else {
        Err(format!("{path}: {} items, got {}", a.len(), b.len()))
    }
}

/// A CSV answer as JSON, so that it is compared like a JSON one: one `{columns, values}`
/// per block (statements are separated by a blank line), numbers as numbers. When the
/// block starts `name,tags,time` the row's first cell becomes `[name, tags, time]`, so
/// rows of one series sharing a time may come in any order, as in JSON answers.
fn csv_value(text: &str) -> Value {
    let mut blocks = Vec::new();
    for block in csv_blocks(text) {
        let Some((header, rows)) = block.split_first() else {
            continue;
        };
        let timed = header.len() >= 3 && header[..3] == ["name", "tags", "time"];
        let (columns, rows): (Vec<Value>, Vec<Value>) = if timed {
            let columns = std::iter::once(Value::from("time"))
                .chain(header[3..].iter().map(|c| Value::from(c.as_str())))
                .collect();
            let rows = rows
                .iter()
                .map(|r| {
                    let key: Vec<Value> = r.iter().take(3).map(|c| csv_cell(c)).collect();
                    let rest = r.iter().skip(3).map(|c| csv_cell(c));
                    Value::Array(std::iter::once(Value::Array(key)).chain(rest).collect())
                })
                .collect();
            (columns, rows)
        } else {
            let columns = header.iter().map(|c| Value::from(c.as_str())).collect();
            let rows = rows
                .iter()
                .map(|r| Value::Array(r.iter().map(|c| csv_cell(c)).collect()))
                .collect();
            (columns, rows)
        };
        blocks.push(serde_json::json!({ "columns": columns, "values": rows }));
    }
    Value::Array(blocks)
}

fn csv_cell(cell: &str) -> Value {
    let numeric = !cell.is_empty()
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'));
    if numeric {
        if let Ok(i) = cell.parse::<i64>() {
            return Value::from(i);
        }
        if let Some(n) = cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    Value::from(cell)
}

/// Records of a CSV text (RFC 4180 quoting), grouped into blocks at blank lines.
fn csv_blocks(text: &str) -> Vec<Vec<Vec<String>>> {
    let (mut blocks, mut block, mut record) = (Vec::new(), Vec::new(), Vec::new());
    let (mut field, mut quoted, mut started) = (String::new(), false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if field.is_empty() => (quoted, started) = (true, true),
            ',' if !quoted => {
                record.push(std::mem::take(&mut field));
                started = true;
            }
            '\n' if !quoted => {
                if started || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    block.push(std::mem::take(&mut record));
                } else if !block.is_empty() {
                    blocks.push(std::mem::take(&mut block));
                }
                started = false;
            }
            _ => {
                field.push(c);
                started = true;
            }
        }
    }
    if started || !field.is_empty() {
        record.push(field);
        block.push(record);
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

/// Rows in order, except that rows sharing a time (their first column) may come in any
/// order among themselves.
fn same_rows(a: &[Value], b: &[Value], path: &str) -> Result<(), String> {
    let mut i = 0;
    while i < a.len() {
        let time = a[i].get(0);
        let mut j = i + 1;
        while j < a.len() && a[j].get(0) == time {
            j += 1;
        }
        if j - i == 1 {
            same(&a[i], &b[i], false, &format!("{path}[{i}]"))?;
        } else {
            same_multiset(&a[i..j], &b[i..j], false, &format!("{path}[{i}..{j}]"))?;
        }
        i = j;
    }
    Ok(())
}

fn same_multiset(a: &[Value], b: &[Value], unordered: bool, path: &str) -> Result<(), String> {
    let mut used = vec![false; b.len()];
    for (i, x) in a.iter().enumerate() {
        let hit = b
            .iter()
            .enumerate()
            .position(|(k, y)| !used[k] && same(x, y, unordered, path).is_ok());
        match hit {
            Some(k) => used[k] = true,
            None => {
                return Err(format!(
                    "{path}: expected item {i} ({}) is missing",
                    clip(&x.to_string(), 120)
                ))
            }
        }
    }
    Ok(())
}

/// `Err` describes the first difference between the recorded answer and ours.
fn compare(case: &Case, got: &Answer) -> Result<(), String> {
    if case.status != got.status {
        return Err(format!("status {}, got {}", case.status, got.status));
    }
    if case.compare == "status" {
        return Ok(());
    }
    let (fe, fg) = (family(&case.content_type), family(&got.content_type));
    if fe != fg {
        return Err(format!(
            "content type {:?}, got {:?}",
            case.content_type, got.content_type
        ));
    }
    let csv = fe == "csv" && case.body.is_string() && got.body.is_string();
    match case.compare.as_str() {
        "text" => same(&case.body, &got.body, false, "body"),
        "exact" | "unordered" if csv => same(
            &csv_value(case.body.as_str().unwrap_or("")),
            &csv_value(got.body.as_str().unwrap_or("")),
            case.compare == "unordered",
            "csv",
        ),
        "exact" => same(&case.body, &got.body, false, "body"),
        "unordered" => same(&case.body, &got.body, true, "body"),
        "columns" => same(&shape(&case.body), &shape(&got.body), false, "body"),
        "shard_ids" => same(
            &mask_shard_ids(&case.body),
            &mask_shard_ids(&got.body),
            false,
            "body",
        ),
        "plan" => same(
            &plan_lines(&mask_plan(&case.body)),
            &plan_lines(&mask_plan(&got.body)),
            false,
            "body",
        ),
        other => Err(format!("unknown compare mode {other:?}")),
    }
}

/// The body with every `shard <id>` in its strings as `shard N`: shard ids count every
/// shard the server ever made, which differs between two servers' histories.
fn mask_shard_ids(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(at) = rest.find("shard ") {
                out.push_str(&rest[..at + 6]);
                rest = &rest[at + 6..];
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 {
                    out.push('N');
                    rest = &rest[digits..];
                }
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(mask_shard_ids).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), mask_shard_ids(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// An EXPLAIN [ANALYZE] body as the sorted list of its lines without their tree drawing:
/// influxd prints one block (subtree) per call in Go map order, so the order of blocks —
/// and with it which one is drawn last — changes from run to run.
fn plan_lines(v: &Value) -> Value {
    let mut lines: Vec<String> = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(
                s.trim_start_matches(|c: char| "├└│─ \u{a0}".contains(c))
                    .to_string(),
            ),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut lines);
    lines.sort();
    Value::Array(lines.into_iter().map(Value::String).collect())
}

/// A body with the engine-specific figures of EXPLAIN [ANALYZE] lines replaced by `#`.
fn mask_plan(v: &Value) -> Value {
    const STORAGE: &[&str] = &[
        "CACHED VALUES: ",
        "NUMBER OF FILES: ",
        "NUMBER OF BLOCKS: ",
        "SIZE OF BLOCKS: ",
        "_time: ",
        "_blocks_decoded: ",
        "_blocks_size_bytes: ",
    ];
    match v {
        Value::String(s) => match STORAGE.iter().find_map(|p| s.find(p).map(|i| i + p.len())) {
            Some(end) => Value::String(format!("{}#", &s[..end])),
            None => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(mask_plan).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), mask_plan(x))).collect())
        }
        other => other.clone(),
    }
}

fn clip(s: &str, n: usize) -> String {
    if std::env::var_os("TESSERA_QUERY_FULL").is_some() || s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Loads dataset.lp with the recorder's requests.
fn load_dataset(base: &str) {
    let text = std::fs::read_to_string(cases_dir().join("dataset.lp")).expect("dataset.lp");
    let (mut section, mut db, mut rp) = ("", String::new(), String::new());
    let mut lines: Vec<&str> = Vec::new();
    let flush = |db: &str, rp: &str, lines: &mut Vec<&str>| {
        for chunk in lines.chunks(CHUNK_LINES) {
            let resp = client()
                .post(format!("{base}/write"))
                .query(&[("db", db), ("rp", rp), ("precision", "ns")])
                .body(chunk.join("\n"))
                .send()
                .expect("write dataset");
            let status = resp.status().as_u16();
            let body = resp.text().unwrap_or_default();
            assert_eq!(status, 204, "loading {db}.{rp}: {body}");
        }
        lines.clear();
    };
    for line in text.lines() {
        if line == "# DDL" || line == "# DML" {
            section = &line[2..];
        } else if let Some(v) = line.strip_prefix("# CONTEXT-DATABASE:") {
            flush(&db, &rp, &mut lines);
            db = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("# CONTEXT-RETENTION-POLICY:") {
            flush(&db, &rp, &mut lines);
            rp = v.trim().to_string();
        } else if line.trim().is_empty() || line.starts_with('#') {
            continue;
        } else if section == "DDL" {
            let resp = client()
                .post(format!("{base}/query"))
                .form(&[("q", line)])
                .send()
                .expect("dataset DDL");
            let status = resp.status().as_u16();
            let body = resp.text().unwrap_or_default();
            assert!(
                status == 200 && !body.contains("\"error\""),
                "{line}: {status} {body}"
            );
        } else {
            lines.push(line);
        }
    }
    flush(&db, &rp, &mut lines);
}

fn selected_files() -> Vec<&'static str> {
    let present: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("cases/query")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".jsonl"))
                .map(str::to_string)
        })
        .collect();
    for p in &present {
        assert!(
            FILES.contains(&p.as_str()),
            "cases/query/{p}.jsonl is not in FILES: add it (here and in record_query.py)"
        );
    }
    let wanted: Option<Vec<String>> = std::env::var("TESSERA_QUERY_CASES").ok().map(|v| {
        v.split(',')
            .map(|s| s.trim().trim_end_matches(".jsonl").to_string())
            .filter(|s| !s.is_empty())
            .collect()
    });
    if let Some(w) = &wanted {
        for name in w {
            assert!(
                FILES.contains(&name.as_str()),
                "TESSERA_QUERY_CASES: no file {name}"
            );
        }
    }
    FILES
        .iter()
        .copied()
        .filter(|f| present.iter().any(|p| p == f))
        .filter(|f| match &wanted {
            None => true,
            Some(w) => w.iter().any(|x| x == f),
        })
        .collect()
}

#[test]
fn query_answers_match_influxd() {
    let files = selected_files();
    let filter = std::env::var("TESSERA_QUERY_CASE_FILTER").unwrap_or_default();
    let against = std::env::var("TESSERA_QUERY_AGAINST").ok();
    let mut cluster = match against {
        Some(_) => None,
        None => Some(Cluster::start(1, 1, "", "")),
    };
    let base = match (&against, &cluster) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(c)) => format!("http://{}", c.datas[0].http),
        (None, None) => unreachable!("a cluster is started when no server is given"),
    };
    load_dataset(&base);

    let known = known_differences();
    let mut mismatches: Vec<String> = Vec::new();
    let mut known_seen: Vec<String> = Vec::new();
    let mut known_fixed: Vec<String> = Vec::new();
    let mut tally: Vec<(&str, usize, usize)> = Vec::new();
    'files: for file in &files {
        let path = cases_dir().join(format!("{file}.jsonl"));
        let text = std::fs::read_to_string(&path).expect("case file");
        let (mut run, mut passed) = (0, 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case = Case::parse(line, file);
            if !case.name.contains(&filter) {
                continue;
            }
            run += 1;
            let verdict = send(&base, &case).map(|got| {
                let why = compare(&case, &got);
                (got, why)
            });
            let id = format!("{file}/{}", case.name);
            let (got, why) = match verdict {
                Ok((_, Ok(()))) => {
                    passed += 1;
                    if known.get(&id).is_some_and(|why| !why.starts_with('~')) {
                        known_fixed.push(id);
                    }
                    continue;
                }
                Ok((_, Err(why))) if known.contains_key(&id) => {
                    known_seen.push(format!("  {id}: {} ({why})", known[&id]));
                    continue;
                }
                Ok((got, Err(why))) => (
                    format!(
                        "{} {:?} {}",
                        got.status,
                        got.content_type,
                        clip(&got.body.to_string(), SHOWN_CHARS)
                    ),
                    why,
                ),
                Err(e) => (e.clone(), e),
            };
            mismatches.push(format!(
                "✗ {file}/{}: {} {}\n  params:  {}\n  differs: {why}\n  influxd: {} {:?} {}\n  tessera: {got}",
                case.name,
                case.method,
                clip(case.param("q").unwrap_or("(no q)"), 300),
                clip(
                    &format!(
                        "{:?}",
                        case.params.iter().filter(|(k, _)| k != "q").collect::<Vec<_>>()
                    ),
                    200
                ),
                case.status,
                case.content_type,
                clip(&case.body.to_string(), SHOWN_CHARS),
            ));
            let node_died = cluster
                .as_mut()
                .is_some_and(|c| !c.datas[0].proc_.is_running());
            if node_died {
                mismatches.push(format!(
                    "✗ the data node exited during {file}/{}: the remaining cases were not run \
                     (its log is printed below)",
                    case.name
                ));
                tally.push((file, passed, run));
                break 'files;
            }
        }
        tally.push((file, passed, run));
    }

    for m in &mismatches {
        eprintln!("{m}");
    }
    if !known_seen.is_empty() {
        eprintln!(
            "---- {} known differences (cases/query/known_differences.txt) ----",
            known_seen.len()
        );
        for k in &known_seen {
            eprintln!("{}", clip(k, 300));
        }
    }
    let (mut passed, mut run) = (0, 0);
    eprintln!("---- /query cases passing, per file ----");
    for (file, p, r) in &tally {
        eprintln!("{file:>16}: {p:>4} / {r}");
        passed += p;
        run += r;
    }
    eprintln!("{:>16}: {passed:>4} / {run}", "total");
    assert!(
        mismatches.is_empty(),
        "{} of {run} /query answers differ from influxd 1.6.7 (listed above)",
        mismatches.len()
    );
    assert!(
        known_fixed.is_empty(),
        "these cases now match influxd: remove them from cases/query/known_differences.txt: {known_fixed:?}"
    );
    if filter.is_empty() && files.len() == FILES.len() {
        assert!(run >= 500, "only {run} cases: is cases/query complete?");
    }
}

#[test]
fn csv_answers_parse_into_blocks_and_cells() {
    let text = "name,tags,time,s,n\nprecise,,1,\"say \"\"hi\"\", ok\",2.50\n\n\
                name,tags,time,count\nb,\"k=a\\,b\",0,8\n";
    let v = csv_value(text);
    assert_eq!(
        v,
        serde_json::json!([
            {"columns": ["time", "s", "n"], "values": [[["precise", "", 1], "say \"hi\", ok", 2.5]]},
            {"columns": ["time", "count"], "values": [[["b", "k=a\\,b", 0], 8]]}
        ])
    );
    assert_eq!(
        csv_value("error\n\"boom\"\n"),
        serde_json::json!([{"columns": ["error"], "values": [["boom"]]}])
    );
    assert_eq!(csv_value(""), serde_json::json!([]));
}

/// `cases/query/known_differences.txt`: `file/case  reason` per line — answers Tessera
/// does not match yet, each with why. They are reported, not failed; a listed case that
/// starts matching fails the run so that the list only shrinks — except reasons starting
/// with `~`, which mark answers that depend on tie-breaking order and match only sometimes.
fn known_differences() -> std::collections::BTreeMap<String, String> {
    let path = cases_dir().join("known_differences.txt");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, why)) => (id.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}
