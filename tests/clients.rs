//! Real clients against a Tessera data node, unchanged: the `influx` CLI of Debian's
//! `influxdb-client` (InfluxDB 1.6.7) and the `python3-influxdb` library.

use std::process::Command;

use tessera_tests::Cluster;

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
