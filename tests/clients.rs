//! Real clients against a Tessera data node, unchanged: the `influx` CLI of Debian's
//! `influxdb-client` (InfluxDB 1.6.7) and the `python3-influxdb` library.

use std::process::Command;

use tessera_tests::{Cluster, RealInfluxd};

const INFLUX: &str = "/usr/bin/influx";
/// Debian's interpreter, which has `python3-influxdb`.
const PYTHON: &str = "/usr/bin/python3";

fn influx(host_port: &str, args: &[&str]) -> (bool, String) {
    let (host, port) = host_port.rsplit_once(':').expect("host:port");
    let out = Command::new(INFLUX)
        .args(["-host", host, "-port", port])
        .args(args)
        .output()
        .expect("run the influx CLI (apt-get install influxdb-client)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn influx_cli_and_python_client_work_unchanged() {
    assert!(
        std::path::Path::new(INFLUX).exists(),
        "{INFLUX} is missing: apt-get install -y influxdb-client (.ci/run does)"
    );
    let c = Cluster::start(1, 1, "", "");
    let node = &c.datas[0].http;

    // The CLI: DDL, INSERT (line protocol through /write), queries in every format.
    let (ok, out) = influx(node, &["-execute", "CREATE DATABASE cli"]);
    assert!(ok, "{out}");
    for line in [
        "cpu,host=a,region=us usage=1.5,count=3i",
        "cpu,host=b,region=eu usage=2.5,count=4i",
    ] {
        let (ok, out) = influx(
            node,
            &["-database", "cli", "-execute", &format!("INSERT {line}")],
        );
        assert!(ok, "INSERT {line}: {out}");
    }
    let (ok, out) = influx(
        node,
        &[
            "-database",
            "cli",
            "-format",
            "json",
            "-execute",
            "SELECT sum(usage), sum(count) FROM cpu",
        ],
    );
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("influx -format json");
    assert_eq!(v["results"][0]["series"][0]["values"][0][1], 4.0, "{out}");
    assert_eq!(v["results"][0]["series"][0]["values"][0][2], 7, "{out}");
    let (ok, out) = influx(
        node,
        &[
            "-database",
            "cli",
            "-format",
            "csv",
            "-execute",
            "SHOW TAG VALUES WITH KEY = host",
        ],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("cpu,host,a") && out.contains("cpu,host,b"),
        "{out}"
    );
    let (ok, out) = influx(
        node,
        &[
            "-database",
            "cli",
            "-precision",
            "rfc3339",
            "-execute",
            "SELECT usage FROM cpu WHERE host = 'b'",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("2.5"), "{out}");
    // A bad query: the CLI prints influxd's error text.
    let (_, out) = influx(node, &["-database", "cli", "-execute", "SELECT FROM"]);
    assert!(out.contains("error parsing query"), "{out}");

    // python3-influxdb: create, write points (JSON → line protocol), query (MessagePack,
    // which it asks for), drop.
    let (host, port) = node.rsplit_once(':').expect("host:port");
    let script = format!(
        r#"
from influxdb import InfluxDBClient
c = InfluxDBClient(host="{host}", port={port}, database="py")
c.create_database("py")
assert "py" in [d["name"] for d in c.get_list_database()]
c.write_points([
    {{"measurement": "temp", "tags": {{"room": "a"}}, "time": "2023-01-01T00:00:00Z", "fields": {{"v": 20.5}}}},
    {{"measurement": "temp", "tags": {{"room": "a"}}, "time": "2023-01-01T00:01:00Z", "fields": {{"v": 21.5}}}},
    {{"measurement": "temp", "tags": {{"room": "b"}}, "time": "2023-01-01T00:00:00Z", "fields": {{"v": 18.0}}}},
])
rs = c.query("SELECT mean(v) FROM temp GROUP BY room")
means = {{tags["room"]: list(points)[0]["mean"] for (_, tags), points in rs.items()}}
assert means == {{"a": 21.0, "b": 18.0}}, means
rows = list(c.query("SELECT v FROM temp WHERE room = 'a'").get_points())
assert [r["time"] for r in rows] == ["2023-01-01T00:00:00Z", "2023-01-01T00:01:00Z"], rows
# The client asks for MessagePack (as from influxd 1.6) and decodes its time extension.
r = c.request(url="query", method="GET", params={{"q": "SHOW DATABASES"}}, expected_response_code=200)
assert r.headers["Content-Type"] == "application/x-msgpack", r.headers
rows = list(c.query("SELECT v FROM temp WHERE room = 'a'", epoch="ms").get_points())
assert [r["time"] for r in rows] == [1672531200000, 1672531260000], rows
try:
    c.query("SELECT v FROM")
    raise SystemExit("a bad query did not raise")
except Exception as e:
    assert "error parsing query" in str(e), e
c.drop_database("py")
assert "py" not in [d["name"] for d in c.get_list_database()]
print("python ok")
"#
    );
    let out = Command::new(PYTHON)
        .args(["-c", &script])
        .output()
        .expect("run python3 (apt-get install python3-influxdb)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("python ok"), "{text}");
}

/// Runs a python3 command that must succeed (its stderr is the failure message) and
/// returns its stdout.
fn python_stdout(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .expect("run python3 (apt-get install python3-influxdb)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Drives the `influx` CLI's interactive mode through a pseudo-terminal (it reads stdin
/// as one statement when stdin is no terminal): each command is typed once the previous
/// one's prompt is back, and the whole transcript is printed.
const PTY_DRIVER: &str = r#"
import os, pty, select, sys, time
port, cmds = sys.argv[1], open(sys.argv[2]).read().splitlines()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[3], [sys.argv[3], "-host", "127.0.0.1", "-port", port])
out = b""
def until_prompt(limit=20.0):
    global out
    end = time.time() + limit
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
        elif out.endswith(b"> "):
            return
until_prompt()
for c in cmds:
    os.write(fd, (c + "\n").encode())
    until_prompt()
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
"#;

/// A transcript without the line naming the server's address and version.
fn interactive(port: &str, commands: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let (driver, input) = (
        dir.path().join("influx_session.py"),
        dir.path().join("in.txt"),
    );
    std::fs::write(&driver, PTY_DRIVER).expect("write driver");
    std::fs::write(&input, commands).expect("write commands");
    let stdout = python_stdout(
        Command::new(PYTHON)
            .arg(&driver)
            .arg(port)
            .arg(&input)
            .arg(INFLUX),
    );
    stdout
        .lines()
        .filter(|l| !l.starts_with("Connected to "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `influx -import` output without the log lines' date and time.
fn import(port: &str, path: &std::path::Path) -> String {
    let (_, out) = influx(
        &format!("127.0.0.1:{port}"),
        &[
            "-import",
            &format!("-path={}", path.display()),
            "-precision=s",
        ],
    );
    out.lines()
        .map(|l| {
            // `2026/11/29 08:57:03 error writing batch: …`
            let dated = l.len() > 20 && l.as_bytes()[4] == b'/' && l.as_bytes()[13] == b':';
            if dated {
                &l[20..]
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A Tessera node and a real influxd side by side, with their HTTP ports.
fn side_by_side() -> (Cluster, RealInfluxd, String, String) {
    let c = Cluster::start(1, 1, "", "");
    let ours = c.datas[0]
        .http
        .rsplit_once(':')
        .expect("host:port")
        .1
        .to_string();
    let real = RealInfluxd::start("");
    let theirs = real.port.to_string();
    (c, real, ours, theirs)
}

#[test]
fn influx_cli_interactive_mode_and_import_answer_as_influxd() {
    let (_c, _real, ours, theirs) = side_by_side();

    // Every mode the shell has: use (db, db.rp, missing), INSERT (good, bad, with a
    // consistency), precision, the three formats, errors, DDL.
    let session = "CREATE DATABASE clix\nuse clix\n\
        INSERT m,t=a v=1 1672531200000000000\nINSERT m,t=b v=2,s=\"x\" 1672531260000000000\n\
        precision rfc3339\nSELECT * FROM m\nformat json\nSELECT * FROM m\n\
        format csv\nSELECT * FROM m GROUP BY t\nformat column\nSHOW TAG VALUES WITH KEY = t\n\
        INSERT bad line here\nSELECT nope FROM\nuse nope\nuse clix.autogen\nSHOW MEASUREMENTS\n\
        precision ms\nSELECT v FROM m\nconsistency all\nINSERT m,t=c v=3 1672531320000\n\
        SELECT count(v) FROM m\nDROP DATABASE clix\nexit\n";
    let (got, want) = (interactive(&ours, session), interactive(&theirs, session));
    assert_eq!(got, want, "Tessera's transcript, then influxd's");
    // Not two empty transcripts: the writes landed and were read back in each format.
    for seen in [
        "Using database clix",
        "2023-01-01T00:01:00Z x b 2",
        "\"values\":[[\"2023-01-01T00:00:00Z\",null,\"a\",1]",
        "m,t=b,2023-01-01T00:01:00Z,x,2",
        "1672531260000 2",
        "0    3",
        "ERR: {\"error\":\"unable to parse 'bad line here': invalid field format\"}",
        "DB does not exist!",
    ] {
        assert!(got.contains(seen), "{seen:?} missing from:\n{got}");
    }

    // -import: DDL, a context, a bad line and a batch refused for a type conflict, then
    // a file that imports cleanly.
    let dir = tempfile::tempdir().expect("temp dir");
    let refused = dir.path().join("refused.txt");
    std::fs::write(
        &refused,
        "# DDL\nCREATE DATABASE impx\nCREATE RETENTION POLICY two ON impx DURATION 0s REPLICATION 1\n\
         # DML\n# CONTEXT-DATABASE: impx\n# CONTEXT-RETENTION-POLICY: two\n\
         m,t=a v=1 1672531200\nbad line\nm,t=c v=\"s\" 1672531320\n",
    )
    .expect("write import file");
    let clean = dir.path().join("clean.txt");
    std::fs::write(
        &clean,
        "# DML\n# CONTEXT-DATABASE: impx\nm,t=a v=1 1672531200\nm,t=b v=2 1672531260\n",
    )
    .expect("write import file");
    for file in [&refused, &clean] {
        assert_eq!(
            import(&ours, file),
            import(&theirs, file),
            "{}",
            file.display()
        );
    }
    let read = |port: &str| {
        influx(
            &format!("127.0.0.1:{port}"),
            &[
                "-database",
                "impx",
                "-execute",
                "SELECT * FROM m; SELECT * FROM two.m",
            ],
        )
        .1
    };
    let got = read(&ours);
    assert_eq!(got, read(&theirs));
    assert!(got.contains("1672531260000000000 b 2"), "{got}");
}

/// One session of `python3-influxdb` calls (databases, retention policies, writes in
/// batches and as line protocol, queries with epoch, bound parameters, several
/// statements, chunks, errors, users and grants, deletions), each call's result or
/// error printed as JSON.
const PY_SESSION: &str = r#"import sys, json
from influxdb import InfluxDBClient
def session(port):
    c = InfluxDBClient("127.0.0.1", int(port), database="pyx")
    out = []
    def rec(name, f):
        try: r = f(); out.append((name, "ok", r if not hasattr(r, "raw") else r.raw))
        except Exception as e: out.append((name, "err", type(e).__name__, str(e)))
    rec("create_db", lambda: c.create_database("pyx"))
    rec("dbs", lambda: sorted(d["name"] for d in c.get_list_database()))
    rec("rp_create", lambda: c.create_retention_policy("short", "1d", 1, database="pyx", shard_duration="1h"))
    rec("rp_alter", lambda: c.alter_retention_policy("short", database="pyx", duration="2d", default=False))
    rec("rps", lambda: c.get_list_retention_policies("pyx"))
    pts = [{"measurement": "cpu", "tags": {"host": h}, "time": "2023-01-01T00:0%d:00Z" % i, "fields": {"v": float(i), "n": i, "s": "x%d" % i, "b": i % 2 == 0}} for i in range(5) for h in ("a", "b")]
    rec("write", lambda: c.write_points(pts))
    rec("write_batch", lambda: c.write_points(pts, batch_size=3, time_precision="s", retention_policy="short"))
    rec("write_lp", lambda: c.write(["cpu,host=c v=9 1672531200000000000"], params={"db": "pyx"}, protocol="line"))
    rec("bad_write", lambda: c.write_points([{"measurement": "cpu", "fields": {"v": "str"}, "time": "2023-01-01T00:00:00Z"}]))
    rec("q_points", lambda: list(c.query("SELECT * FROM cpu GROUP BY host").get_points(tags={"host": "a"})))
    rec("q_multi", lambda: [r.raw for r in c.query("SELECT count(v) FROM cpu; SELECT mean(n) FROM cpu GROUP BY host")])
    rec("q_epoch", lambda: c.query("SELECT v FROM cpu LIMIT 2", epoch="ms").raw)
    rec("q_params", lambda: c.query("SELECT v FROM cpu WHERE host = $h", bind_params={"h": "b"}).raw)
    rec("q_chunked", lambda: c.query("SELECT v FROM cpu", chunked=True, chunk_size=3).raw)
    rec("q_err", lambda: c.query("SELECT FROM cpu"))
    rec("q_rp", lambda: c.query("SELECT count(v) FROM short.cpu").raw)
    rec("measurements", lambda: c.get_list_measurements())
    rec("series", lambda: c.get_list_series("pyx") if hasattr(c, "get_list_series") else None)
    rec("user_create", lambda: c.create_user("pyu", "pw", admin=False))
    rec("grant", lambda: c.grant_privilege("read", "pyx", "pyu"))
    rec("privs", lambda: c.get_list_privileges("pyu"))
    rec("users", lambda: [u for u in c.get_list_users() if u["user"] == "pyu"])
    rec("set_pw", lambda: c.set_user_password("pyu", "pw2"))
    rec("revoke", lambda: c.revoke_privilege("read", "pyx", "pyu"))
    rec("drop_user", lambda: c.drop_user("pyu"))
    rec("delete_series", lambda: c.delete_series(database="pyx", measurement="cpu", tags={"host": "c"}))
    rec("after_delete", lambda: c.query("SHOW SERIES").raw)
    rec("drop_meas", lambda: c.drop_measurement("cpu"))
    rec("rp_drop", lambda: c.drop_retention_policy("short", database="pyx"))
    rec("ping", lambda: bool(c.ping()))
    rec("drop_db", lambda: c.drop_database("pyx"))
    return out
print(json.dumps(session(sys.argv[1]), default=str))
"#;

#[test]
fn python_client_session_answers_as_influxd() {
    let (_c, _real, ours, theirs) = side_by_side();
    let run = |port: &str| {
        let stdout = python_stdout(Command::new(PYTHON).args(["-c", PY_SESSION, port]));
        let v: serde_json::Value = serde_json::from_str(&stdout).expect("the session prints JSON");
        v
    };
    let (got, want) = (run(&ours), run(&theirs));
    assert_eq!(got, want, "Tessera's results, then influxd's");
    // The calls did something: 31 of them, the points read back by tag.
    let calls = got.as_array().expect("a list of calls");
    assert_eq!(calls.len(), 31);
    let points = calls.iter().find(|c| c[0] == "q_points").expect("q_points");
    assert_eq!(points[1], "ok", "{points}");
    assert_eq!(points[2].as_array().map(Vec::len), Some(5), "{points}");
}
