//! The command line end to end against in-process null sinks: the JSON fields scripts rely
//! on, and an HTML report that is well-formed, self-contained and holds its plots.

mod common;

use common::{read_json, run, start_sink};

/// Checks that every tag is closed in order (the report uses XHTML-style empty elements),
/// attribute values are quoted and no stray `<`/`&` appear; returns the tag names seen.
fn well_formed(html: &str) -> Vec<String> {
    let body = html
        .strip_prefix("<!DOCTYPE html>")
        .expect("starts with the doctype");
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find(['<', '&']) {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "stray '>' in text {text:?}");
        rest = &rest[lt..];
        if rest.starts_with('&') {
            let end = rest.find(';').expect("entity ends with ';'");
            let ent = &rest[1..end];
            assert!(
                ["amp", "lt", "gt", "quot", "#39"].contains(&ent),
                "unknown entity &{ent};"
            );
            rest = &rest[end + 1..];
            continue;
        }
        let gt = rest.find('>').expect("tag closes");
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag}>");
        // Attributes: name="value" pairs only.
        let mut attrs = tag[name.len()..].trim();
        while !attrs.is_empty() {
            let eq = attrs
                .find("=\"")
                .unwrap_or_else(|| panic!("unquoted attribute in <{tag}>"));
            let close = attrs[eq + 2..].find('"').expect("attribute value closes") + eq + 2;
            assert!(!attrs[eq + 2..close].contains('<'));
            attrs = attrs[close + 1..].trim_start();
        }
        seen.push(name.clone());
        if !self_closing {
            // Style content is CSS; skip to its end tag.
            if name == "style" {
                let end = rest.find("</style>").expect("style closes");
                rest = &rest[end + "</style>".len()..];
                seen.push("style".into());
                continue;
            }
            stack.push(name);
        }
    }
    assert!(rest.trim().is_empty(), "text after </html>: {rest:?}");
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    seen
}

fn assert_self_contained(html: &str) {
    for bad in [
        "<script",
        "<link",
        " src=",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(
            !html.contains(bad),
            "report refers to something outside: {bad}"
        );
    }
}

#[test]
fn write_json_and_report() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = start_sink(&rt);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("w.json");
    let html = dir.path().join("w.html");
    let out = run(&[
        "write",
        "--url",
        &url,
        "--url",
        &url,
        "--series",
        "2000",
        "--points-per-series",
        "30",
        "--batch-size",
        "1000",
        "--concurrency",
        "3",
        "--gzip",
        "--json",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = read_json(&json);
    assert_eq!(j["tool"], "tessera-bench");
    assert_eq!(j["command"], "write");
    assert!(j["lines_per_s"].as_f64().unwrap() > 0.0);
    assert!(j["values_per_s"].as_f64().unwrap() > j["lines_per_s"].as_f64().unwrap());
    assert_eq!(j["errors"], 0);
    let w = &j["write"];
    assert_eq!(w["lines"], 60_000);
    assert_eq!(w["batches"], 60);
    assert_eq!(w["status_counts"]["204"], 60);
    assert!(
        w["bytes_wire"].as_u64().unwrap() < w["bytes_raw"].as_u64().unwrap(),
        "gzip"
    );
    for k in ["p50", "p90", "p99", "p999", "max"] {
        assert!(w["batch_latency_ms"][k].as_f64().is_some(), "{k}");
    }
    assert!(w["client"]["cpu_pct"].as_f64().is_some());
    assert_eq!(j["urls"].as_array().unwrap().len(), 2);
    let page = std::fs::read_to_string(&html).unwrap();
    let tags = well_formed(&page);
    assert_self_contained(&page);
    assert!(
        tags.iter().filter(|t| *t == "svg").count() >= 3,
        "throughput, latency, CPU plots"
    );
    assert!(page.contains("Write throughput") && page.contains("Batch latency percentiles"));
}

#[test]
fn errors_are_counted_and_fail_the_run() {
    // Nothing listens on this port: every batch is a transport error.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("e.json");
    let port = common::free_port();
    let out = run(&[
        "write",
        "--url",
        &format!("http://127.0.0.1:{port}"),
        "--no-create",
        "--series",
        "10",
        "--points-per-series",
        "3",
        "--batch-size",
        "10",
        "--timeout",
        "2s",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let j = read_json(&json);
    assert_eq!(j["errors"], 3);
    assert_eq!(j["write"]["lines"], 0);
    assert_eq!(j["write"]["status_counts"]["no_response"], 3);
    assert!(!j["write"]["first_errors"].as_array().unwrap().is_empty());
}

#[test]
fn mixed_query_and_file_workload() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = start_sink(&rt);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("m.json");
    let html = dir.path().join("m.html");
    let out = run(&[
        "mixed",
        "--url",
        &url,
        "--workload",
        "iot",
        "--series",
        "20000",
        "--points-per-series",
        "3",
        "--json",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = read_json(&json);
    assert_eq!(j["write"]["lines"], 60_000);
    assert!(j["query"]["queries"].as_u64().unwrap() > 0);
    assert!(j["queries_per_s"].as_f64().is_some());
    well_formed(&std::fs::read_to_string(&html).unwrap());

    let lp = dir.path().join("in.lp");
    std::fs::write(&lp, "a,t=1 v=1 1\na,t=2 v=2 2\n# c\na,t=3 v=3,w=\"x\" 3\n").unwrap();
    let qf = dir.path().join("q.txt");
    std::fs::write(&qf, "mine\tSELECT count(v) FROM a\n").unwrap();
    let json = dir.path().join("q.json");
    let html = dir.path().join("q.html");
    let out = run(&[
        "write",
        "--url",
        &url,
        "--file",
        lp.to_str().unwrap(),
        "--batch-size",
        "2",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = read_json(&json);
    assert_eq!(j["write"]["lines"], 3);
    assert_eq!(j["write"]["values"], 4);
    let out = run(&[
        "query",
        "--url",
        &url,
        "--file",
        lp.to_str().unwrap(),
        "--queries",
        qf.to_str().unwrap(),
        "--runs",
        "3",
        "--json",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = read_json(&json);
    let names: Vec<&str> = j["query"]["per_query"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"mine") && names.contains(&"show_measurements"),
        "{names:?}"
    );
    assert_eq!(
        j["query"]["queries"].as_u64().unwrap(),
        3 * names.len() as u64
    );
    let page = std::fs::read_to_string(&html).unwrap();
    well_formed(&page);
    assert!(page.contains("Median latency per query"));
}

#[test]
fn compare_reports_ratios() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (a, b) = (start_sink(&rt), start_sink(&rt));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c.json");
    let html = dir.path().join("c.html");
    let out = run(&[
        "compare",
        "--url",
        &a,
        "--url-b",
        &b,
        "--label-a",
        "one",
        "--label-b",
        "two",
        "--phases",
        "write,query",
        "--series",
        "1000",
        "--points-per-series",
        "20",
        "--batch-size",
        "1000",
        "--runs",
        "2",
        "--json",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let j = read_json(&json);
    assert_eq!(j["command"], "compare");
    assert_eq!(j["a"]["label"], "one");
    assert_eq!(j["b"]["write"]["lines"], 20_000);
    assert!(j["ratios"]["lines_per_s"].as_f64().unwrap() > 0.0);
    assert!(j["ratios"]["queries_per_s"].as_f64().is_some());
    assert!(!j["query_median_ratios"].as_object().unwrap().is_empty());
    let page = std::fs::read_to_string(&html).unwrap();
    well_formed(&page);
    assert_self_contained(&page);
    assert!(page.contains("two / one"));
}
