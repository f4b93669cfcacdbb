//! Authentication and authorization differentially: the same requests, in order, to a
//! real InfluxDB 1.6.7 (`/usr/bin/influxd`) and to a Tessera data node, both with
//! `[http] auth-enabled = true`; status codes and JSON bodies must be the same. Covers
//! the bootstrap (no admin yet), credentials in URL parameters and basic auth, wrong and
//! missing credentials, bearer tokens without a shared secret, per-database READ/WRITE
//! grants on /query and /write, admin-only statements, and SHOW DATABASES filtered to
//! what a user may read.

use serde_json::Value;
use tessera_tests::{Cluster, RealInfluxd};

/// One request: method, path with query string, basic-auth user/password, an
/// `Authorization` header as is, and a form or line-protocol body.
struct Step {
    method: &'static str,
    path: String,
    basic: Option<(&'static str, &'static str)>,
    authorization: Option<&'static str>,
    body: Option<String>,
    form: bool,
}

/// Percent-encodes a query-string value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn q(method: &'static str, user: Option<(&str, &str)>, db: &str, query: &str) -> Step {
    let mut path = format!("/query?q={}", encode(query));
    if !db.is_empty() {
        path.push_str(&format!("&db={db}"));
    }
    if let Some((u, p)) = user {
        path.push_str(&format!("&u={u}&p={p}"));
    }
    Step {
        method,
        path,
        basic: None,
        authorization: None,
        body: None,
        form: false,
    }
}

fn w(user: Option<(&str, &str)>, db: &str, lines: &str) -> Step {
    let mut path = format!("/write?db={db}");
    if let Some((u, p)) = user {
        path.push_str(&format!("&u={u}&p={p}"));
    }
    Step {
        method: "POST",
        path,
        basic: None,
        authorization: None,
        body: Some(lines.to_string()),
        form: false,
    }
}

fn send(base: &str, s: &Step) -> (u16, Value, bool) {
    let client = reqwest::blocking::Client::new();
    let url = format!("{base}{}", s.path);
    let mut r = match s.method {
        "GET" => client.get(&url),
        _ => client.post(&url),
    };
    if let Some((u, p)) = s.basic {
        r = r.basic_auth(u, Some(p));
    }
    if let Some(a) = s.authorization {
        r = r.header("Authorization", a);
    }
    if let Some(b) = &s.body {
        if s.form {
            r = r.header("Content-Type", "application/x-www-form-urlencoded");
        }
        r = r.body(b.clone());
    }
    let resp = r.send().expect("request");
    let status = resp.status().as_u16();
    let challenge = resp.headers().contains_key("www-authenticate");
    let text = resp.text().unwrap_or_default();
    let body = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body, challenge)
}

#[test]
fn authentication_and_privileges_match_influxd() {
    let influxd = RealInfluxd::start("  auth-enabled = true");
    let cluster = Cluster::start(1, 1, "", "[http]\n  auth-enabled = true\n");
    let theirs = format!("http://127.0.0.1:{}", influxd.port);
    let ours = format!("http://{}", cluster.datas[0].http);

    let admin = Some(("root", "s3cret"));
    let bob = Some(("bob", "pw1"));
    let wally = Some(("wally", "pw2"));
    let mut steps: Vec<(&str, Step)> = vec![
        ("ping needs no credentials", {
            let mut s = q("GET", None, "", "x");
            s.path = "/ping".into();
            s
        }),
        (
            "no users: only an admin can be created",
            q("GET", None, "", "SHOW DATABASES"),
        ),
        (
            "no users: a plain user cannot be the first",
            q("POST", None, "", "CREATE USER bob WITH PASSWORD 'pw1'"),
        ),
        (
            "no users: write to a missing database",
            w(None, "db0", "cpu v=1"),
        ),
        (
            "bootstrap admin",
            q(
                "POST",
                None,
                "",
                "CREATE USER root WITH PASSWORD 's3cret' WITH ALL PRIVILEGES",
            ),
        ),
        ("no credentials", q("GET", None, "", "SHOW DATABASES")),
        (
            "wrong password",
            q("GET", Some(("root", "nope")), "", "SHOW DATABASES"),
        ),
        (
            "unknown user",
            q("GET", Some(("nobody", "x")), "", "SHOW DATABASES"),
        ),
        ("empty password parameter", {
            let mut s = q("GET", None, "", "SHOW DATABASES");
            s.path.push_str("&u=root&p=");
            s
        }),
        ("basic auth", {
            let mut s = q("GET", None, "", "SHOW DATABASES");
            s.basic = Some(("root", "s3cret"));
            s
        }),
        ("basic auth, wrong password", {
            let mut s = q("GET", None, "", "SHOW DATABASES");
            s.basic = Some(("root", "bad"));
            s
        }),
        ("malformed authorization header", {
            let mut s = q("GET", None, "", "SHOW DATABASES");
            s.authorization = Some("Basic %%%");
            s
        }),
        ("bearer token without a shared secret", {
            let mut s = q("GET", None, "", "SHOW DATABASES");
            s.authorization = Some("Bearer abc.def.ghi");
            s
        }),
        ("credentials in a form body do not count", {
            let mut s = q("POST", None, "", "SHOW DATABASES");
            s.path = "/query".into();
            s.body = Some("q=SHOW+DATABASES&u=root&p=s3cret".into());
            s.form = true;
            s
        }),
        (
            "admin sets up",
            q(
                "POST",
                admin,
                "",
                "CREATE DATABASE db0; CREATE DATABASE db1; CREATE USER bob WITH PASSWORD 'pw1'; \
                 GRANT READ ON db0 TO bob; CREATE USER wally WITH PASSWORD 'pw2'; \
                 GRANT WRITE ON db1 TO wally",
            ),
        ),
        ("admin writes", w(admin, "db0", "cpu,host=a v=1 1000000000")),
        (
            "reader sees the databases it may read",
            q("GET", bob, "", "SHOW DATABASES"),
        ),
        ("reader reads", q("GET", bob, "db0", "SELECT * FROM cpu")),
        (
            "reader reads another database",
            q("GET", bob, "db0", "SELECT * FROM db1..cpu"),
        ),
        (
            "reader runs an admin statement",
            q("GET", bob, "db0", "SHOW USERS"),
        ),
        (
            "reader: one refused statement refuses the query",
            q("GET", bob, "db0", "SELECT * FROM cpu; SHOW USERS"),
        ),
        (
            "reader shows measurements of another database",
            q("GET", bob, "db1", "SHOW MEASUREMENTS"),
        ),
        (
            "reader drops series",
            q("POST", bob, "db0", "DROP SERIES FROM cpu"),
        ),
        (
            "reader creates a database",
            q("POST", bob, "", "CREATE DATABASE nope"),
        ),
        ("reader writes", w(bob, "db0", "cpu,host=b v=2 2000000000")),
        (
            "writer writes",
            w(wally, "db1", "cpu,host=c v=3 3000000000"),
        ),
        ("writer reads", q("GET", wally, "db1", "SELECT * FROM cpu")),
        (
            "writer sees no database",
            q("GET", wally, "", "SHOW DATABASES"),
        ),
        (
            "writer drops a retention policy of its database",
            q("POST", wally, "", "DROP RETENTION POLICY nosuch ON db1"),
        ),
        (
            "reader cannot drop a retention policy",
            q("POST", bob, "", "DROP RETENTION POLICY nosuch ON db0"),
        ),
        (
            "reader creates a continuous query on its database",
            q(
                "POST",
                bob,
                "",
                "CREATE CONTINUOUS QUERY c ON db0 BEGIN SELECT count(v) INTO c2 FROM cpu \
                 GROUP BY time(1h) END",
            ),
        ),
        (
            "reader: a continuous query into another database needs WRITE there",
            q(
                "POST",
                bob,
                "",
                "CREATE CONTINUOUS QUERY d ON db0 BEGIN SELECT count(v) INTO db1..c2 FROM cpu \
                 GROUP BY time(1h) END",
            ),
        ),
        (
            "writer: a continuous query needs READ",
            q(
                "POST",
                wally,
                "",
                "CREATE CONTINUOUS QUERY e ON db1 BEGIN SELECT count(v) INTO c2 FROM cpu \
                 GROUP BY time(1h) END",
            ),
        ),
        (
            "reader cannot drop a continuous query",
            q("POST", bob, "", "DROP CONTINUOUS QUERY c ON db0"),
        ),
        (
            "admin drops the continuous query",
            q("POST", admin, "", "DROP CONTINUOUS QUERY c ON db0"),
        ),
        (
            "writer counts tag keys without READ",
            q("GET", wally, "db1", "SHOW TAG KEY CARDINALITY"),
        ),
        (
            "writer counts series exactly without READ",
            q("GET", wally, "db1", "SHOW SERIES EXACT CARDINALITY"),
        ),
        (
            "writer: the series estimate needs READ",
            q("GET", wally, "db1", "SHOW SERIES CARDINALITY"),
        ),
        (
            "write without credentials",
            w(None, "db1", "cpu,host=d v=4 4000000000"),
        ),
        ("write to a missing database", w(wally, "nosuch", "cpu v=1")),
        (
            "admin reads what the writer wrote",
            q("GET", admin, "db1", "SELECT * FROM cpu"),
        ),
        (
            "admin lists grants",
            q("GET", admin, "", "SHOW GRANTS FOR bob"),
        ),
        (
            "admin revokes",
            q("POST", admin, "", "REVOKE READ ON db0 FROM bob"),
        ),
        ("revoked reader", q("GET", bob, "db0", "SELECT * FROM cpu")),
        (
            "password change takes effect",
            q("POST", admin, "", "SET PASSWORD FOR bob = 'new'"),
        ),
        ("old password", q("GET", bob, "", "SHOW DATABASES")),
        (
            "new password",
            q("GET", Some(("bob", "new")), "", "SHOW DATABASES"),
        ),
    ];
    let mut failures = Vec::new();
    for (name, step) in steps.drain(..) {
        let a = send(&theirs, &step);
        let b = send(&ours, &step);
        // Both refuse or both answer; bodies and the basic-auth challenge header alike.
        if a != b {
            failures.push(format!(
                "{name}: {} {}\n  influxd: {a:?}\n  tessera: {b:?}",
                step.method, step.path
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the requests differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
