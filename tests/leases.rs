//! Leases: two data nodes ask for the continuous-query lease every second; exactly one
//! holds it at any time, the holder keeps renewing it, and when the holder hangs the other
//! node gets it only once the lease has run out.

use std::time::{Duration, Instant};

use serde_json::Value;
use tessera_tests::{http, wait_for, Cluster};

const LEASE: &str = "continuous_querier";
/// The lease duration the test configures (`[meta] lease-duration`).
const LEASE_NANOS: i64 = 3_000_000_000;

fn lease(c: &Cluster, meta: usize) -> Option<Value> {
    let (_, snap) = http::get(&c.metas[meta].url("/?index=0")).ok()?;
    let l = snap["data"]["leases"][LEASE].clone();
    (!l.is_null()).then_some(l)
}

fn held_by(c: &Cluster, data: usize) -> bool {
    c.datas[data].vars()["leases"][LEASE].as_bool() == Some(true)
}

#[test]
fn one_holder_renewal_and_takeover() {
    let c = Cluster::start(
        3,
        2,
        "  lease-duration = \"3s\"",
        "[continuous_queries]\n  enabled = true\n  run-interval = \"1s\"",
    );
    let ids: Vec<u64> = c
        .datas
        .iter()
        .map(|d| {
            wait_for(Duration::from_secs(10), || d.vars()["node_id"].as_u64())
                .expect("data node learns its id")
        })
        .collect();
    let first =
        wait_for(Duration::from_secs(10), || lease(&c, 0)).expect("someone takes the lease");
    let owner = first["owner"].as_u64().unwrap();
    let holder = ids
        .iter()
        .position(|id| *id == owner)
        .expect("owner is a data node");
    let other = 1 - holder;

    // For 6 s: one holder, never two, and the lease keeps being renewed.
    let started = Instant::now();
    let mut last_expiration = first["expiration"].as_i64().unwrap();
    let mut renewals = 0;
    while started.elapsed() < Duration::from_secs(6) {
        let l = lease(&c, (renewals % 3) as usize).expect("lease");
        assert_eq!(
            l["owner"].as_u64(),
            Some(owner),
            "the lease moved while its holder lived"
        );
        let exp = l["expiration"].as_i64().unwrap();
        if exp > last_expiration {
            renewals += 1;
            last_expiration = exp;
        }
        assert!(
            !(held_by(&c, 0) && held_by(&c, 1)),
            "both data nodes believe they hold the lease"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        renewals >= 3,
        "the holder renewed only {renewals} times in 6 s"
    );
    assert!(wait_for(Duration::from_secs(3), || held_by(&c, holder).then_some(())).is_some());
    assert!(!held_by(&c, other));

    // Hang the holder. The other node must wait for the lease to expire, then take it.
    c.datas[holder].proc_.stop();
    let stopped_at = Instant::now();
    let expiration_at_stop = lease(&c, 0).unwrap()["expiration"].as_i64().unwrap();
    let taken = wait_for(Duration::from_secs(10), || {
        let l = lease(&c, 1)?;
        (l["owner"].as_u64() == Some(ids[other])).then_some(l)
    })
    .expect("the other data node takes the lease after it expires");
    let waited = stopped_at.elapsed();
    let acquired_at = taken["expiration"].as_i64().unwrap() - LEASE_NANOS;
    assert!(
        acquired_at >= expiration_at_stop,
        "taken over at {acquired_at}, before the old lease expired at {expiration_at_stop}"
    );
    assert!(
        waited <= Duration::from_secs(3 + 3),
        "takeover took {waited:?}"
    );
    assert!(
        wait_for(Duration::from_secs(3), || held_by(&c, other).then_some(())).is_some(),
        "the new holder reports it holds the lease"
    );
    c.datas[holder].proc_.cont();
}
