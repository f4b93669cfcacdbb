//! `influxd-ctl` and `tessera` against a real cluster: every verb, Enterprise's output
//! shapes, and `tessera up` / `status` / `down`.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::json;
use tessera_tests::{bin, ctl, http, license, text, wait_for, Cluster};

fn ok(out: Output, what: &str) -> String {
    let t = text(&out);
    assert!(out.status.success(), "{what} failed:\n{t}");
    t
}

#[test]
fn influxd_ctl_verbs_on_a_real_cluster() {
    let mut c = Cluster::configure(3, 2, &license::valid(4, 4), "", "");
    for m in &mut c.metas {
        m.start();
    }
    for d in &mut c.datas {
        d.start();
    }
    let bind = c.metas[0].http.clone();
    for (i, m) in c.metas.iter().enumerate() {
        let out = ok(ctl(&bind, &["add-meta", &m.http]), "add-meta");
        assert!(
            out.contains(&format!("Added meta node {} at {}", i + 1, m.http)),
            "{out}"
        );
    }
    for (i, d) in c.datas.iter().enumerate() {
        let out = ok(ctl(&bind, &["add-data", &d.tcp]), "add-data");
        assert!(
            out.contains(&format!("Added data node {} at {}", i + 4, d.tcp)),
            "{out}"
        );
    }

    // `show` from a follower lists every node.
    let show = ok(ctl(&c.metas[2].http, &["show"]), "show");
    assert!(show.contains("Data Nodes\n=========="), "{show}");
    assert!(show.contains("Meta Nodes\n=========="), "{show}");
    for d in &c.datas {
        assert!(show.contains(&d.tcp), "{show}");
    }
    for m in &c.metas {
        assert!(show.contains(&m.http), "{show}");
    }

    // A shard, and show-shards with its owners.
    let (status, _) = http::post(
        &c.metas[0].url("/execute"),
        &json!({"type": "create_database", "name": "telegraf", "retention_policy": {
            "name": "rf2", "duration": null, "shard_group_duration": null, "replica_n": 2}}),
    )
    .unwrap();
    assert_eq!(status, 200);
    let (status, body) = http::post(
        &c.metas[0].url("/execute"),
        &json!({"type": "create_shard_group", "database": "telegraf",
                "retention_policy": "rf2", "timestamp": 1_577_836_800_000_000_000i64}),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let shards = ok(c.ctl(&["show-shards"]), "show-shards");
    assert!(shards.contains("Shards\n=========="), "{shards}");
    assert!(shards.contains("telegraf"), "{shards}");
    assert!(shards.contains("rf2"), "{shards}");
    assert!(
        shards.contains("2019-12-30T00:00:00Z   2020-01-06T00:00:00Z"),
        "a week from Monday, as Go's Time.Truncate aligns it: {shards}"
    );
    assert!(
        shards.contains(&format!("{{4 {}}}", c.datas[0].tcp)),
        "{shards}"
    );
    assert!(
        shards.contains(&format!("{{5 {}}}", c.datas[1].tcp)),
        "{shards}"
    );

    let lic = ok(c.ctl(&["license"]), "license");
    assert!(lic.contains("Tessera tests"), "{lic}");
    assert!(lic.contains('4'), "{lic}");

    // update-data to the same address is accepted; remove-data removes it everywhere.
    let out = ok(
        c.ctl(&["update-data", &c.datas[1].tcp, &c.datas[1].tcp]),
        "update-data",
    );
    assert!(out.contains("5"), "{out}");
    let out = ok(c.ctl(&["remove-data", &c.datas[1].tcp]), "remove-data");
    assert!(
        out.contains(&format!("Removed data node at {}", c.datas[1].tcp)),
        "{out}"
    );
    let show = ok(c.ctl(&["show"]), "show");
    assert!(!show.contains(&c.datas[1].tcp), "{show}");
    let shards = ok(c.ctl(&["show-shards"]), "show-shards");
    assert!(
        !shards.contains(&c.datas[1].tcp),
        "removed node still owns shards: {shards}"
    );
    // The removed node forgot the cluster and can be added back.
    assert!(
        wait_for(Duration::from_secs(5), || c.datas[1].vars()["node_id"]
            .is_null()
            .then_some(()))
        .is_some(),
        "{}",
        c.datas[1].vars()
    );
    let out = ok(c.ctl(&["add-data", &c.datas[1].tcp]), "re-add");
    assert!(out.contains("Added data node 6 at"), "{out}");

    // remove-data -force of a dead node.
    c.datas[1].proc_.kill();
    let out = c.ctl(&["remove-data", &c.datas[1].tcp]);
    assert!(
        !out.status.success(),
        "removing an unreachable node needs -force"
    );
    assert!(text(&out).contains("-force"), "{}", text(&out));
    ok(
        c.ctl(&["remove-data", "-force", &c.datas[1].tcp]),
        "remove-data -force",
    );

    // remove-meta, then the cluster still serves from the other two.
    let out = ok(c.ctl(&["remove-meta", &c.metas[2].http]), "remove-meta");
    assert!(
        out.contains(&format!("Removed meta node at {}", c.metas[2].http)),
        "{out}"
    );
    let show = ok(ctl(&c.metas[1].http, &["show"]), "show");
    assert!(!show.contains(&c.metas[2].http), "{show}");
}

fn tessera(args: &[&str]) -> Output {
    Command::new(bin("tessera"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tessera")
}

#[test]
fn tessera_up_status_down() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("cluster");
    let d = d.to_str().unwrap();
    // Above the kernel's ephemeral range, spread by pid.
    let base = 61_000 + (std::process::id() % 40) * 100;
    let base_s = base.to_string();
    let up = tessera(&["up", "--dir", d, "--base-port", &base_s, "--detach"]);
    let up_text = text(&up);
    let status = tessera(&["status", "--dir", d, "--json"]);
    let status_json: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap_or_default();
    // Use the cluster before tearing it down.
    let meta_http = format!("127.0.0.1:{}", base + 105);
    let show = ctl(&meta_http, &["show"]);
    let down = tessera(&["down", "--dir", d]);
    let after = tessera(&["status", "--dir", d]);

    assert!(up.status.success(), "tessera up failed:\n{up_text}");
    assert!(
        up_text.contains(&format!("127.0.0.1:{base}")),
        "endpoints printed: {up_text}"
    );
    assert!(status.status.success(), "{}", text(&status));
    assert_eq!(status_json["healthy"], true, "{status_json}");
    let nodes = status_json["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.iter().filter(|n| n["role"] == "meta").count(), 3);
    assert_eq!(nodes.iter().filter(|n| n["role"] == "data").count(), 2);
    for n in nodes {
        let http = n["http"].as_str().unwrap();
        assert!(!http.contains("://") && http.contains(':'), "{n}");
        assert!(n["pid"].as_u64().unwrap() > 0);
        assert!(n["id"].as_u64().unwrap() > 0);
        assert!(n["tcp"].is_string() && n["dir"].is_string(), "{n}");
    }
    assert!(nodes
        .iter()
        .any(|n| n["role"] == "data" && n["http"] == format!("127.0.0.1:{base}").as_str()));
    let show = text(&show);
    assert!(show.contains(&format!("127.0.0.1:{}", base + 2)), "{show}");
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        !after.status.success(),
        "status after down: {}",
        text(&after)
    );
}

#[test]
fn tessera_up_in_the_foreground_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("fg");
    let d = d.to_str().unwrap().to_string();
    let base = 61_000 + (std::process::id() % 40) * 100 + 50;
    // Started like `tessera up &`: no terminal, stdin closed.
    let mut up = Command::new(bin("tessera"))
        .args([
            "up",
            "--dir",
            &d,
            "--meta",
            "1",
            "--data",
            "1",
            "--base-port",
            &base.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tessera up");
    let healthy = wait_for(Duration::from_secs(60), || {
        let out = tessera(&["status", "--dir", &d, "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["healthy"] == true).then_some(v)
    });
    let pids: Vec<u64> = healthy
        .as_ref()
        .and_then(|v| v["nodes"].as_array())
        .map(|n| n.iter().filter_map(|n| n["pid"].as_u64()).collect())
        .unwrap_or_default();
    // SAFETY: signalling the child we spawned.
    unsafe {
        libc::kill(up.id() as libc::pid_t, libc::SIGTERM);
    }
    let exited = wait_for(Duration::from_secs(30), || up.try_wait().ok().flatten());
    if exited.is_none() {
        let _ = up.kill();
        let _ = tessera(&["down", "--dir", &d]);
    }
    assert!(
        healthy.is_some(),
        "the foreground cluster never became healthy"
    );
    assert_eq!(pids.len(), 2);
    assert!(exited.is_some(), "tessera up did not exit on SIGTERM");
    for pid in pids {
        let gone = wait_for(Duration::from_secs(15), || {
            // SAFETY: signal 0 only checks whether the pid exists.
            (unsafe { libc::kill(pid as libc::pid_t, 0) } != 0).then_some(())
        });
        assert!(
            gone.is_some(),
            "node {pid} still runs after tessera up stopped"
        );
    }
}
