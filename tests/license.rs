//! License entitlements: every way a license can be wrong stops `influxd-meta` and
//! `influxd` before they bind a port, each with its own message; the data-node count
//! and the cores per data node are capped by the license.

use std::net::TcpListener;
use std::process::Output;
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;
use tessera_license::{issue, Claims};
use tessera_tests::{http, license, wait_for, Cluster, DataNode, MetaNode};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// Starts a meta node with `license` (written to its license file, or no license at all
/// when `None`) and expects it to exit non-zero with `message` and without listening.
fn meta_refuses(license: Option<&str>, message: &str) {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("license");
    let node = MetaNode::configure(root.path(), 1, &path, "");
    match license {
        Some(text) => std::fs::write(&path, text).unwrap(),
        None => {
            // No license-path either: rewrite the config without it.
            let cfg = std::fs::read_to_string(&node.proc_.config).unwrap();
            let cfg = cfg
                .lines()
                .filter(|l| !l.contains("license-path"))
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(&node.proc_.config, cfg).unwrap();
        }
    }
    let out = node.proc_.run_to_exit(Duration::from_secs(20));
    assert!(
        !out.status.success(),
        "influxd-meta started with a bad license"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("influxd-meta: {message}")),
        "expected {message:?} in:\n{err}"
    );
    assert!(!err.contains("listening"), "it bound ports first:\n{err}");
    // Neither port was taken.
    for addr in [&node.http, &node.raft] {
        assert!(TcpListener::bind(addr).is_ok(), "{addr} is in use");
    }
}

fn altered(text: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let mut payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    f(&mut payload);
    let payload = B64.encode(serde_json::to_vec(&payload).unwrap());
    format!("{}.{}.{}", parts[0], payload, parts[2])
}

#[test]
fn meta_refuses_a_missing_license() {
    meta_refuses(
        None,
        "license: no license configured: set license-key or license-path in the [enterprise] \
         section (or INFLUXDB_ENTERPRISE_LICENSE_KEY / INFLUXDB_ENTERPRISE_LICENSE_PATH)",
    );
}

#[test]
fn meta_refuses_a_garbage_license() {
    meta_refuses(
        Some("this is not a license"),
        "license: malformed license: expected TESSERA1.<payload>.<signature>",
    );
    meta_refuses(
        Some("TESSERA1.%%%.abc"),
        "license: malformed license: payload is not base64url",
    );
}

#[test]
fn meta_refuses_a_forged_license() {
    let forger = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]);
    let mut claims = license::claims(100, 64);
    claims.key_id = "my-own-key".into();
    meta_refuses(
        Some(&issue(&forger, &claims)),
        "license: the license is signed by an untrusted key \"my-own-key\"",
    );
    // Claiming a trusted key id does not help without its private key.
    meta_refuses(
        Some(&issue(&forger, &license::claims(100, 64))),
        "license: invalid license signature: the license was altered or was not issued by a \
         trusted key",
    );
}

#[test]
fn meta_refuses_an_altered_license() {
    let good = license::valid(1, 1);
    let more_nodes = altered(&good, |p| p["max_data_nodes"] = json!(1000));
    meta_refuses(
        Some(&more_nodes),
        "license: invalid license signature: the license was altered or was not issued by a \
         trusted key",
    );
    let later = altered(&good, |p| p["expires_at"] = json!(4_000_000_000u64));
    meta_refuses(
        Some(&later),
        "license: invalid license signature: the license was altered or was not issued by a \
         trusted key",
    );
}

#[test]
fn meta_refuses_an_expired_license() {
    let text = license::expired();
    let claims: Claims =
        serde_json::from_slice(&B64.decode(text.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let when = humantime_secs(claims.expires_at);
    meta_refuses(
        Some(&text),
        &format!("license: the license for \"Tessera tests\" expired at {when}"),
    );
}

fn humantime_secs(secs: u64) -> String {
    // Same RFC 3339 form the license crate prints.
    let t = std::time::UNIX_EPOCH + Duration::from_secs(secs);
    let lic = tessera_license::License {
        claims: Claims {
            key_id: String::new(),
            licensee: String::new(),
            max_data_nodes: 1,
            max_cores: 1,
            issued_at: 0,
            expires_at: t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
        },
        key: String::new(),
    };
    lic.expires_rfc3339()
}

#[test]
fn data_node_refuses_bad_licenses() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("license");
    let node = DataNode::configure(root.path(), 1, &path, "");
    let cases = [
        ("garbage".to_string(), "license: malformed license"),
        (
            license::expired(),
            "license: the license for \"Tessera tests\" expired at",
        ),
        (
            altered(&license::valid(1, 1), |p| p["max_cores"] = json!(64)),
            "license: invalid license signature",
        ),
    ];
    for (text, message) in cases {
        std::fs::write(&path, text).unwrap();
        let out = node.proc_.run_to_exit(Duration::from_secs(20));
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(message), "expected {message:?} in:\n{err}");
        assert!(TcpListener::bind(&node.http).is_ok(), "http port was bound");
        assert!(TcpListener::bind(&node.tcp).is_ok(), "tcp port was bound");
    }
}

#[test]
fn add_data_beyond_the_license_is_refused() {
    let mut c = Cluster::configure(1, 2, &license::valid(1, 4), "", "");
    c.metas[0].start();
    for d in &mut c.datas {
        d.start();
    }
    let (status, body) =
        http::post(&c.metas[0].url("/join"), &json!({"addr": c.metas[0].http})).unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = http::post(
        &c.metas[0].url("/add-data"),
        &json!({"addr": c.datas[0].tcp}),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (_, before) = http::get(&c.metas[0].url("/?index=0")).unwrap();
    let (status, body) = http::post(
        &c.metas[0].url("/add-data"),
        &json!({"addr": c.datas[1].tcp}),
    )
    .unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"],
        "license: adding data node would exceed the licensed maximum of 1 data node(s); \
         remove a data node or install a license with more data nodes"
    );
    let (_, after) = http::get(&c.metas[0].url("/?index=0")).unwrap();
    assert_eq!(before["data"]["data_nodes"], after["data"]["data_nodes"]);
    // The refused node did not learn it belongs to the cluster.
    assert!(
        c.datas[1].vars()["node_id"].is_null(),
        "{}",
        c.datas[1].vars()
    );
    // influxd-ctl reports the same, with a non-zero exit.
    let out = c.ctl(&["add-data", &c.datas[1].tcp]);
    assert!(!out.status.success());
    assert!(
        tessera_tests::text(&out).contains("exceed the licensed maximum of 1 data node(s)"),
        "{}",
        tessera_tests::text(&out)
    );
    let (_, lic) = http::get(&c.metas[0].url("/license")).unwrap();
    assert_eq!(lic["maxDataNodes"], 1);
    assert_eq!(lic["dataNodes"], 1);
}

#[test]
fn cores_are_capped_by_the_license() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("license");
    std::fs::write(&path, license::valid(3, 1)).unwrap();
    let mut node = DataNode::configure(root.path(), 1, &path, "");
    node.start();
    let cores = wait_for(Duration::from_secs(5), || node.vars()["cores"].as_u64());
    assert_eq!(cores, Some(1), "{}", node.vars());
    let log = node.proc_.log_text();
    assert!(
        log.contains("licensed 1"),
        "the core choice is logged:\n{log}"
    );

    // [data] max-cores caps further than the license.
    let root2 = tempfile::tempdir().unwrap();
    let path2 = root2.path().join("license");
    std::fs::write(&path2, license::valid(3, 64)).unwrap();
    let mut node2 = DataNode::configure(root2.path(), 1, &path2, "");
    let cfg = std::fs::read_to_string(&node2.proc_.config).unwrap();
    let cfg = cfg.replace("[data]\n", "[data]\n  max-cores = 1\n");
    std::fs::write(&node2.proc_.config, cfg).unwrap();
    node2.start();
    let cores = wait_for(Duration::from_secs(5), || node2.vars()["cores"].as_u64());
    assert_eq!(cores, Some(1));
}
