//! The HTTP edges of a data node, side by side with a real influxd 1.6.7: CORS headers,
//! the methods each path takes (`405` and its `Allow`), the content type of a write's
//! `204`, `/debug/` pages under any method, and the texts of a gzip body that does not
//! decode.

use std::collections::BTreeSet;

use tessera_tests::{Cluster, RealInfluxd};

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

fn send(base: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let client = reqwest::blocking::Client::new();
    let mut req = client.request(
        reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
        format!("{base}{path}"),
    );
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.body(body.to_vec()).send().expect("send");
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().expect("body").to_vec(),
    }
}

/// A request: method, path, headers, body.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>);

fn header(a: &Answer, name: &str) -> Option<String> {
    a.headers
        .get(name)
        .map(|v| v.to_str().expect("ascii").to_string())
}

/// `Allow` as a set: influxd's router lists a path's methods in Go map order.
fn allowed(a: &Answer) -> BTreeSet<String> {
    header(a, "allow")
        .unwrap_or_default()
        .split(", ")
        .map(str::to_string)
        .collect()
}

#[test]
fn http_edges_answer_as_influxd() {
    let c = Cluster::start(1, 1, "", "");
    let ours = format!("http://{}", c.datas[0].http);
    let real = RealInfluxd::start("");
    let theirs = format!("http://127.0.0.1:{}", real.port);
    for base in [&ours, &theirs] {
        let a = send(base, "POST", "/query?q=CREATE+DATABASE+edges", &[], b"");
        assert_eq!(a.status, 200);
    }
    let gz = |data: &[u8]| {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("gzip");
        e.finish().expect("gzip")
    };
    let whole = gz(b"m v=1 1\nm v=2 2\n");
    let cases: Vec<Case> = vec![
        (
            "OPTIONS",
            "/query",
            vec![
                ("Origin", "http://ui.example"),
                ("Access-Control-Request-Method", "GET"),
            ],
            vec![],
        ),
        (
            "GET",
            "/ping",
            vec![("Origin", "http://ui.example")],
            vec![],
        ),
        (
            "POST",
            "/write?db=edges",
            vec![("Origin", "http://ui.example")],
            b"m v=1 1".to_vec(),
        ),
        ("POST", "/write?db=edges", vec![], b"m v=1 1".to_vec()),
        (
            "POST",
            "/write?db=edges",
            vec![("Content-Encoding", "gzip")],
            whole.clone(),
        ),
        (
            "POST",
            "/write?db=edges",
            vec![("Content-Encoding", "gzip")],
            b"this is not gzip at all".to_vec(),
        ),
        (
            "POST",
            "/write?db=edges",
            vec![("Content-Encoding", "gzip")],
            whole[..20].to_vec(),
        ),
        (
            "POST",
            "/write?db=edges",
            vec![("Content-Encoding", "gzip")],
            whole[..whole.len() - 4].to_vec(),
        ),
        ("GET", "/write", vec![], vec![]),
        ("PUT", "/query", vec![], vec![]),
        ("DELETE", "/query", vec![], vec![]),
        ("PUT", "/ping", vec![], vec![]),
        ("POST", "/status", vec![], vec![]),
        ("GET", "/nowhere", vec![], vec![]),
    ];
    for (method, path, headers, body) in &cases {
        let (got, want) = (
            send(&ours, method, path, headers, body),
            send(&theirs, method, path, headers, body),
        );
        let what = format!("{method} {path} {headers:?}");
        assert_eq!(got.status, want.status, "{what}");
        assert_eq!(
            String::from_utf8_lossy(&got.body),
            String::from_utf8_lossy(&want.body),
            "{what}"
        );
        assert_eq!(allowed(&got), allowed(&want), "{what}");
        for h in [
            "content-type",
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
            "access-control-expose-headers",
            "x-influxdb-error",
        ] {
            assert_eq!(header(&got, h), header(&want, h), "{what}: {h}");
        }
    }
    // The CORS headers are there at all (not two answers without them).
    let a = send(
        &ours,
        "OPTIONS",
        "/query",
        &[("Origin", "http://ui.example")],
        b"",
    );
    assert_eq!(
        header(&a, "access-control-allow-origin").as_deref(),
        Some("http://ui.example")
    );
    // influxd serves /debug/vars whatever the method.
    for base in [&ours, &theirs] {
        assert_eq!(
            send(base, "POST", "/debug/vars", &[], b"").status,
            200,
            "{base}"
        );
    }
}
