//! Bad input to every meta endpoint and to `influxd-ctl`: a clear `{"error": …}` with the
//! right status (or a non-zero exit), and the metadata is unchanged.

use serde_json::{json, Value};
use tessera_tests::{ctl, http, text, Cluster};

/// The metadata without leases, which the data node keeps renewing in the background.
fn snapshot(c: &Cluster) -> Value {
    let mut snap = http::get(&c.metas[0].url("/?index=0")).expect("snapshot").1;
    snap["data"]
        .as_object_mut()
        .expect("snapshot data")
        .remove("leases");
    snap
}

#[test]
fn meta_api_rejects_bad_input_and_changes_nothing() {
    let c = Cluster::start(1, 1, "", "");
    let (status, _) = http::post(
        &c.metas[0].url("/execute"),
        &json!({"type": "create_database", "name": "db", "retention_policy": null}),
    )
    .unwrap();
    assert_eq!(status, 200);
    let before = snapshot(&c);

    let raw_posts: &[(&str, &[u8], u16, &str)] = &[
        ("/execute", b"{not json", 400, "invalid request body"),
        ("/execute", b"", 400, "invalid request body"),
        ("/execute", br#"{"type":"launch_missiles"}"#, 400, "unknown variant"),
        ("/execute", br#"{"type":"create_database"}"#, 400, "missing field"),
        ("/execute", br#"{"type":"create_database","name":"","retention_policy":null}"#, 400, "database name required"),
        ("/execute", br#"{"type":"create_retention_policy","database":"nope","policy":{"name":"rp"},"make_default":false}"#, 400, "database not found: nope"),
        ("/execute", br#"{"type":"create_retention_policy","database":"db","policy":{"name":"rp","duration":60000000000},"make_default":false}"#, 400, "retention policy duration must be at least 1h0m0s"),
        ("/execute", br#"{"type":"create_retention_policy","database":"db","policy":{"name":"rp","replica_n":0},"make_default":false}"#, 400, "replication factor must be greater than 0"),
        ("/execute", br#"{"type":"drop_user","name":"ghost"}"#, 400, "user not found"),
        ("/execute", br#"{"type":"drop_continuous_query","database":"db","name":"ghost"}"#, 400, "continuous query not found"),
        ("/execute", br#"{"type":"set_license","license":{"key":"","licensee":"me","max_data_nodes":999,"max_cores":999,"expires_at":0}}"#, 400, "own endpoint"),
        ("/execute", br#"{"type":"add_data_node","tcp_addr":"x:1","http_addr":"x:2"}"#, 400, "own endpoint"),
        ("/join", b"[]", 400, "invalid request body"),
        ("/join", br#"{"addr":"no-port"}"#, 400, "invalid address"),
        ("/join", br#"{"addr":"127.0.0.1:1"}"#, 400, "unable to reach meta node"),
        ("/remove", br#"{"addr":"127.0.0.1:1"}"#, 404, "meta node not found"),
        ("/add-data", br#"{"addr":""}"#, 400, "invalid address"),
        ("/add-data", br#"{"addr":"127.0.0.1:1"}"#, 400, "unable to reach data node"),
        ("/add-data", br#"{"address":"127.0.0.1:1"}"#, 400, "missing field"),
        ("/remove-data", br#"{"addr":"10.9.9.9:8088"}"#, 404, "data node not found"),
        ("/update-data", br#"{"old":"10.9.9.9:8088","new":"10.9.9.8:8088"}"#, 404, "data node not found"),
        ("/update-data", br#"{"old":"x"}"#, 400, "missing field"),
        ("/user", br#"{"name":"","password":"x"}"#, 400, "username required"),
        ("/assign", br#"{"id":0}"#, 400, "node id must be positive"),
        ("/assign", br#"{"id":77}"#, 409, "already node"),
    ];
    for (path, body, want_status, want_error) in raw_posts {
        let (status, resp) = http::post_raw(&c.metas[0].url(path), body).unwrap();
        assert_eq!(
            status,
            *want_status,
            "POST {path} {}: {resp}",
            String::from_utf8_lossy(body)
        );
        let err = resp["error"].as_str().unwrap_or_default();
        assert!(
            err.contains(want_error),
            "POST {path}: {err:?} lacks {want_error:?}"
        );
    }
    let gets: &[(&str, u16, &str)] = &[
        ("/?index=abc", 400, "invalid index"),
        ("/?index=1&timeout=soon", 400, "invalid timeout"),
        ("/lease", 400, "lease name required"),
        ("/lease?name=cq", 400, "node_id required"),
        ("/lease?name=cq&node_id=-1", 400, "invalid node_id"),
        ("/debug/pprof/profile?seconds=x", 400, "invalid seconds"),
        ("/no/such/endpoint", 404, "not found"),
    ];
    for (path, want_status, want_error) in gets {
        let (status, resp) = http::get(&c.metas[0].url(path)).unwrap();
        assert_eq!(status, *want_status, "GET {path}: {resp}");
        let err = resp["error"].as_str().unwrap_or_default();
        assert!(
            err.contains(want_error),
            "GET {path}: {err:?} lacks {want_error:?}"
        );
    }
    let after = snapshot(&c);
    assert_eq!(before, after, "bad input changed the metadata");
}

#[test]
fn ctl_rejects_bad_arguments_and_unreachable_meta() {
    let c = Cluster::start(1, 1, "", "");
    let before = snapshot(&c);
    for args in [
        vec!["add-data"],
        vec!["add-data", "no-port"],
        vec!["add-meta", "127.0.0.1:notaport"],
        vec!["remove-data"],
        vec!["update-data", "127.0.0.1:1"],
        vec!["frobnicate"],
        vec!["remove-data", "10.9.9.9:8088"],
    ] {
        let out = c.ctl(&args);
        assert!(
            !out.status.success(),
            "influxd-ctl {args:?} succeeded:\n{}",
            text(&out)
        );
        assert!(
            !text(&out).trim().is_empty(),
            "influxd-ctl {args:?} printed nothing"
        );
    }
    assert_eq!(
        before,
        snapshot(&c),
        "bad influxd-ctl arguments changed the metadata"
    );

    // Nothing listens on port 1: a clear error and a non-zero exit.
    let out = ctl("127.0.0.1:1", &["show"]);
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("127.0.0.1:1"), "{msg}");
    assert!(msg.to_lowercase().contains("unable to reach"), "{msg}");
}
