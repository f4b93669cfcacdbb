//! A three-node meta cluster: forming, losing its leader to SIGKILL, re-electing,
//! catching a restarted node up, and every node converging on the same metadata.

use std::time::{Duration, Instant};

use serde_json::json;
use tessera_tests::{http, wait_for, Cluster};

fn create_db(url: &str, name: &str) -> (u16, serde_json::Value) {
    http::post(
        url,
        &json!({"type": "create_database", "name": name, "retention_policy": null}),
    )
    .expect("execute")
}

#[test]
fn leader_failover_and_catch_up() {
    let mut c = Cluster::start(3, 0, "", "");
    let leader = c.leader(Duration::from_secs(10)).expect("a leader");
    for m in &c.metas {
        let s = m.status();
        assert_eq!(s["nodeType"], "meta");
        assert_eq!(s["peers"].as_array().map(|p| p.len()), Some(3), "{s}");
    }
    // A write through a follower is forwarded to the leader.
    let follower = (leader + 1) % 3;
    let (status, body) = create_db(&c.metas[follower].url("/execute"), "before");
    assert_eq!(status, 200, "{body}");

    // SIGKILL the leader: a new one is elected and writes succeed again within 5 s.
    c.metas[leader].proc_.kill();
    let killed_at = Instant::now();
    let survivor = (leader + 1) % 3;
    let recovered = wait_for(Duration::from_secs(5), || {
        let r = http::post(
            &c.metas[survivor].url("/execute"),
            &json!({"type": "create_database", "name": "after", "retention_policy": null}),
        );
        matches!(r, Ok((200, _))).then_some(())
    });
    assert!(
        recovered.is_some(),
        "no successful metadata write within 5 s of killing the leader"
    );
    eprintln!(
        "writes resumed {:?} after SIGKILL of the leader",
        killed_at.elapsed()
    );
    let new_leader = c.leader(Duration::from_secs(5)).expect("new leader");
    assert_ne!(new_leader, leader);

    // More changes while the old leader is down.
    for i in 0..5 {
        let (status, body) = create_db(&c.metas[survivor].url("/execute"), &format!("down{i}"));
        assert_eq!(status, 200, "{body}");
    }

    // The killed node restarts, catches up, and everyone agrees.
    c.metas[leader].start();
    let agreed = wait_for(Duration::from_secs(15), || {
        let snaps: Vec<serde_json::Value> = c
            .metas
            .iter()
            .map(|m| http::get(&m.url("/?index=0")).ok().map(|(_, v)| v))
            .collect::<Option<_>>()?;
        let clusters: Vec<serde_json::Value> = c
            .metas
            .iter()
            .map(|m| http::get(&m.url("/show-cluster")).ok().map(|(_, v)| v))
            .collect::<Option<_>>()?;
        let same =
            snaps.windows(2).all(|w| w[0] == w[1]) && clusters.windows(2).all(|w| w[0] == w[1]);
        (same && snaps[0]["data"]["databases"].get("down4").is_some()).then(|| snaps[0].clone())
    });
    let snap = agreed.expect("all meta nodes converge on the same snapshot and show-cluster");
    let dbs = snap["data"]["databases"].as_object().expect("databases");
    for name in ["before", "after", "down0", "down4"] {
        assert!(dbs.contains_key(name), "{name} missing from {snap}");
    }
    assert!(snap["index"].as_u64().unwrap() > 0);
}

#[test]
fn long_poll_wakes_on_change() {
    let c = Cluster::start(1, 0, "", "");
    let (_, snap) = http::get(&c.metas[0].url("/?index=0")).expect("snapshot");
    let index = snap["index"].as_u64().expect("index");
    let url = c.metas[0].url(&format!("/?index={index}&timeout=20s"));
    let poll = std::thread::spawn(move || {
        let started = Instant::now();
        let r = http::get(&url).expect("long poll");
        (started.elapsed(), r)
    });
    std::thread::sleep(Duration::from_millis(500));
    let (status, _) = create_db(&c.metas[0].url("/execute"), "wake");
    assert_eq!(status, 200);
    let (waited, (status, body)) = poll.join().expect("poll thread");
    assert_eq!(status, 200);
    assert!(body["index"].as_u64().unwrap() > index);
    assert!(body["data"]["databases"].get("wake").is_some());
    assert!(
        waited < Duration::from_secs(10),
        "long poll returned after {waited:?}"
    );

    // With nothing changing, it returns at the timeout with the same index.
    let started = Instant::now();
    let (_, body) = http::get(&c.metas[0].url(&format!(
        "/?index={}&timeout=300ms",
        body["index"].as_u64().unwrap()
    )))
    .expect("poll");
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(body["data"]["databases"].get("wake").is_some());
}

#[test]
fn remove_and_re_add_meta_node() {
    let c = Cluster::start(3, 0, "", "");
    let third = &c.metas[2];
    let (status, body) = http::post(
        &c.metas[0].url("/remove"),
        &json!({"addr": third.http, "force": false}),
    )
    .expect("remove");
    assert_eq!(status, 200, "{body}");
    let peers = wait_for(Duration::from_secs(10), || {
        let s = c.metas[0].status();
        (s["peers"].as_array()?.len() == 2).then_some(s)
    });
    assert!(peers.is_some(), "membership shrank to 2");
    // The removed node forgot the cluster and can be added again.
    wait_for(Duration::from_secs(10), || {
        (third.status()["id"].as_u64()? == 0).then_some(())
    })
    .expect("removed node resets");
    let (status, body) =
        http::post(&c.metas[1].url("/join"), &json!({"addr": third.http})).expect("re-add");
    assert_eq!(status, 200, "{body}");
    let (_, cluster) = http::get(&c.metas[0].url("/show-cluster")).expect("show-cluster");
    assert_eq!(cluster["meta"].as_array().unwrap().len(), 3, "{cluster}");
    // Removing an unknown node is a 404.
    let (status, body) = http::post(
        &c.metas[0].url("/remove"),
        &json!({"addr": "127.0.0.1:1", "force": true}),
    )
    .expect("remove unknown");
    assert_eq!(status, 404, "{body}");
}

#[test]
fn whole_cluster_sigkill_keeps_acknowledged_metadata() {
    let mut c = Cluster::start(3, 0, "", "");
    let mut acked = Vec::new();
    for i in 0..20 {
        let name = format!("db{i}");
        let (status, body) = create_db(&c.metas[i % 3].url("/execute"), &name);
        assert_eq!(status, 200, "{body}");
        acked.push(name);
    }
    for m in &mut c.metas {
        m.proc_.kill();
    }
    for m in &mut c.metas {
        m.start();
    }
    c.leader(Duration::from_secs(15))
        .expect("a leader after a full restart");
    for m in &c.metas {
        let snap = wait_for(Duration::from_secs(15), || {
            let (_, s) = http::get(&m.url("/?index=0")).ok()?;
            let dbs = s["data"]["databases"].as_object()?;
            acked.iter().all(|d| dbs.contains_key(d)).then_some(s)
        });
        assert!(snap.is_some(), "{} lost acknowledged databases", m.http);
    }
    let (status, body) = create_db(&c.metas[0].url("/execute"), "after_restart");
    assert_eq!(status, 200, "{body}");
}
