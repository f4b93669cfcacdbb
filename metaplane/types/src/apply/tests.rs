use super::*;

fn licensed(max: u32) -> ClusterState {
    ClusterState {
        license: Some(InstalledLicense {
            key: "k".into(),
            licensee: "test".into(),
            max_data_nodes: max,
            max_cores: 4,
            expires_at: i64::MAX,
        }),
        ..Default::default()
    }
}

fn with_nodes(n: usize) -> ClusterState {
    let mut s = licensed(16);
    for i in 0..n {
        s.apply(
            1,
            &Command::AddDataNode {
                tcp_addr: format!("h{i}:8088"),
                http_addr: format!("h{i}:8086"),
            },
        )
        .unwrap();
    }
    s
}

#[test]
fn refused_command_changes_nothing() {
    let mut s = with_nodes(2);
    let before = s.clone();
    let err = s
        .apply(
            9,
            &Command::CreateRetentionPolicy {
                database: "nope".into(),
                policy: RetentionPolicySpec {
                    name: "rp".into(),
                    ..Default::default()
                },
                make_default: false,
            },
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "database not found: nope");
    assert_eq!(s, before);
}

#[test]
fn license_caps_data_nodes() {
    let mut s = licensed(1);
    s.apply(
        1,
        &Command::AddDataNode {
            tcp_addr: "a:8088".into(),
            http_addr: "a:8086".into(),
        },
    )
    .unwrap();
    // Re-adding the same node is idempotent and not counted twice.
    assert_eq!(
        s.apply(
            2,
            &Command::AddDataNode {
                tcp_addr: "a:8088".into(),
                http_addr: "a:8086".into(),
            },
        ),
        Ok(Reply::Node { id: 1 })
    );
    let err = s
        .apply(
            3,
            &Command::AddDataNode {
                tcp_addr: "b:8088".into(),
                http_addr: "b:8086".into(),
            },
        )
        .unwrap_err();
    assert_eq!(err, MetaError::LicenseDataNodes { max: 1 });
    assert_eq!(s.data_nodes.len(), 1);
}

#[test]
fn database_defaults_and_conflicts() {
    let mut s = with_nodes(1);
    s.apply(
        2,
        &Command::CreateDatabase {
            name: "db".into(),
            retention_policy: None,
        },
    )
    .unwrap();
    let rp = s.retention_policy("db", "autogen").unwrap();
    assert_eq!(rp.duration, 0);
    assert_eq!(rp.shard_group_duration, WEEK);
    assert_eq!(
        s.database("db").unwrap().default_retention_policy,
        "autogen"
    );
    // Same again: no-op.
    s.apply(
        3,
        &Command::CreateDatabase {
            name: "db".into(),
            retention_policy: None,
        },
    )
    .unwrap();
    let err = s
        .apply(
            4,
            &Command::CreateDatabase {
                name: "db".into(),
                retention_policy: Some(RetentionPolicySpec {
                    name: "autogen".into(),
                    duration: Some(2 * HOUR),
                    ..Default::default()
                }),
            },
        )
        .unwrap_err();
    assert_eq!(err, MetaError::RetentionPolicyConflict);
    let err = s
        .apply(
            5,
            &Command::CreateRetentionPolicy {
                database: "db".into(),
                policy: RetentionPolicySpec {
                    name: "short".into(),
                    duration: Some(HOUR / 2),
                    ..Default::default()
                },
                make_default: false,
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "retention policy duration must be at least 1h0m0s"
    );
}

#[test]
fn shard_groups_spread_owners() {
    let mut s = with_nodes(4);
    s.apply(
        2,
        &Command::CreateDatabase {
            name: "db".into(),
            retention_policy: Some(RetentionPolicySpec {
                name: "rf2".into(),
                duration: Some(0),
                shard_group_duration: Some(HOUR),
                replica_n: Some(2),
            }),
        },
    )
    .unwrap();
    let Reply::ShardGroup { group } = s
        .apply(
            3,
            &Command::CreateShardGroup {
                database: "db".into(),
                retention_policy: "rf2".into(),
                timestamp: (HOUR as i64) * 10 + 5,
            },
        )
        .unwrap()
    else {
        panic!("expected a shard group");
    };
    assert_eq!(group.start_time, (HOUR as i64) * 10);
    assert_eq!(group.end_time, (HOUR as i64) * 11);
    assert_eq!(group.shards.len(), 2, "4 nodes / RF 2");
    let mut owners: Vec<_> = group.shards.iter().flat_map(|s| s.owners.clone()).collect();
    owners.sort();
    assert_eq!(owners, vec![1, 2, 3, 4], "every node owns one replica");
    // The same timestamp maps to the same group.
    let again = s
        .apply(
            4,
            &Command::CreateShardGroup {
                database: "db".into(),
                retention_policy: "rf2".into(),
                timestamp: (HOUR as i64) * 10 + 99,
            },
        )
        .unwrap();
    assert_eq!(again, Reply::ShardGroup { group });
    // Removing a node removes its ownerships.
    s.apply(5, &Command::RemoveDataNode { id: 1 }).unwrap();
    assert!(s
        .shards()
        .iter()
        .all(|sh| !sh.owners.iter().any(|o| o.id == 1)));
}

#[test]
fn leases_have_one_holder() {
    let mut s = with_nodes(2);
    let acquire = |node, now| Command::AcquireLease {
        name: "cq".into(),
        node_id: node,
        now,
        duration: 10,
    };
    assert!(s.apply(1, &acquire(1, 0)).is_ok());
    match s.apply(2, &acquire(2, 5)) {
        Err(MetaError::LeaseConflict { lease }) => assert_eq!(lease.owner, 1),
        other => panic!("unexpected {other:?}"),
    }
    // Renewal by the holder extends it.
    assert_eq!(
        s.apply(3, &acquire(1, 8)),
        Ok(Reply::Lease {
            lease: Lease {
                name: "cq".into(),
                owner: 1,
                expiration: 18
            }
        })
    );
    assert!(s.apply(4, &acquire(2, 17)).is_err());
    assert!(s.apply(5, &acquire(2, 18)).is_ok(), "expired lease moves");
    assert_eq!(s.index, 1, "leases do not advance the metadata index");
    assert_eq!(
        s.apply(6, &acquire(9, 100)),
        Err(MetaError::DataNodeNotFound("9".into())),
        "only data nodes of the cluster get leases"
    );
}

#[test]
fn users_and_privileges() {
    let mut s = ClusterState::default();
    s.apply(
        1,
        &Command::CreateDatabase {
            name: "db".into(),
            retention_policy: None,
        },
    )
    .unwrap();
    s.apply(
        2,
        &Command::CreateUser {
            name: "u".into(),
            hash: "h".into(),
            admin: false,
        },
    )
    .unwrap();
    assert_eq!(
        s.apply(
            3,
            &Command::CreateUser {
                name: "u".into(),
                hash: "other".into(),
                admin: false,
            },
        ),
        Err(MetaError::UserExists)
    );
    s.apply(
        4,
        &Command::SetPrivilege {
            name: "u".into(),
            database: "db".into(),
            privilege: Privilege::Read,
        },
    )
    .unwrap();
    s.apply(5, &Command::DropDatabase { name: "db".into() })
        .unwrap();
    assert!(s.users["u"].privileges.is_empty());
    assert_eq!(s.index, 5);
}

#[test]
fn shard_groups_start_where_go_truncates() {
    const DAY: i64 = 86_400 * 1_000_000_000;
    // 2023-01-01T00:00:00Z (a Sunday): its week-long group starts Monday 2022-12-26, as
    // influxd's; day and hour groups align to the epoch as well.
    let t = 1_672_531_200 * 1_000_000_000;
    assert_eq!(group_start(t, 7 * DAY), t - 6 * DAY);
    assert_eq!(group_start(t + 5, DAY), t);
    assert_eq!(group_start(t + 3_599_000_000_000, 3_600_000_000_000), t);
    // Before the epoch too: 1969-12-31T12:00:00Z is in the day starting 1969-12-31.
    assert_eq!(group_start(-DAY / 2, DAY), -DAY);
    // Monday 1969-12-29 starts the week holding the epoch.
    assert_eq!(group_start(0, 7 * DAY), -3 * DAY);
    // At the ends of the time range: the first week starts before i64::MIN (held
    // there, its end counted from the true start), the last ends at i64::MAX.
    let first = i64::MIN + 2;
    let (start, end) = group_bounds(first, 7 * DAY);
    assert_eq!(start, i64::MIN);
    assert!(end > first && end - first < 7 * DAY);
    assert_eq!(end.rem_euclid(DAY), 0);
    let last = i64::MAX - 1;
    let (start, end) = group_bounds(last, 7 * DAY);
    assert!(start < last && last - start < 7 * DAY);
    assert_eq!(end, i64::MAX);
}

fn create_db(s: &mut ClusterState, index: u64, name: &str, spec: Option<RetentionPolicySpec>) {
    s.apply(
        index,
        &Command::CreateDatabase {
            name: name.into(),
            retention_policy: spec,
        },
    )
    .unwrap();
}

fn spec(name: &str, duration: Option<u64>, shard: Option<u64>) -> RetentionPolicySpec {
    RetentionPolicySpec {
        name: name.into(),
        duration,
        shard_group_duration: shard,
        replica_n: None,
    }
}

#[test]
fn recreating_a_database_with_a_policy_follows_influxd() {
    let mut s = with_nodes(1);
    create_db(&mut s, 2, "db", None);
    let create = |s: &mut ClusterState, index, spec| {
        s.apply(
            index,
            &Command::CreateDatabase {
                name: "db".into(),
                retention_policy: Some(spec),
            },
        )
    };
    // Options left out match whatever the default policy has.
    create(&mut s, 3, spec("autogen", None, Some(WEEK))).unwrap();
    // A conflicting policy is refused before its durations are checked.
    let err = create(&mut s, 4, spec("autogen", Some(HOUR), Some(1000 * DAY))).unwrap_err();
    assert_eq!(err, MetaError::RetentionPolicyConflict);
    // A matching policy that is not the default conflicts too.
    s.apply(
        5,
        &Command::CreateRetentionPolicy {
            database: "db".into(),
            policy: spec("other", Some(2 * HOUR), None),
            make_default: false,
        },
    )
    .unwrap();
    let err = create(&mut s, 6, spec("other", Some(2 * HOUR), None)).unwrap_err();
    assert_eq!(err, MetaError::RetentionPolicyConflict);
    // So does asking to make it the default through CREATE RETENTION POLICY.
    let err = s
        .apply(
            7,
            &Command::CreateRetentionPolicy {
                database: "db".into(),
                policy: spec("other", Some(2 * HOUR), None),
                make_default: true,
            },
        )
        .unwrap_err();
    assert_eq!(err, MetaError::RetentionPolicyConflict);
    // With every policy dropped, the spec becomes the new default policy.
    for (i, rp) in ["autogen", "other"].into_iter().enumerate() {
        s.apply(
            8 + i as u64,
            &Command::DropRetentionPolicy {
                database: "db".into(),
                name: rp.into(),
            },
        )
        .unwrap();
    }
    let err = create(&mut s, 10, spec("x", Some(HOUR), Some(1000 * DAY))).unwrap_err();
    assert_eq!(err, MetaError::IncompatibleDurations);
    create(&mut s, 11, spec("x", Some(2 * HOUR), None)).unwrap();
    let d = s.database("db").unwrap();
    assert_eq!(d.default_retention_policy, "x");
    assert_eq!(d.retention_policies["x"].shard_group_duration, HOUR);
}

#[test]
fn listings_follow_creation_order() {
    let mut s = with_nodes(1);
    for (i, name) in ["zeta", "alpha", "mid"].into_iter().enumerate() {
        create_db(&mut s, 2 + i as u64, name, None);
    }
    s.apply(
        5,
        &Command::DropDatabase {
            name: "zeta".into(),
        },
    )
    .unwrap();
    create_db(&mut s, 6, "zeta", None);
    for (i, rp) in ["r9", "r1"].into_iter().enumerate() {
        s.apply(
            7 + i as u64,
            &Command::CreateRetentionPolicy {
                database: "alpha".into(),
                policy: spec(rp, None, None),
                make_default: false,
            },
        )
        .unwrap();
    }
    let dbs: Vec<_> = s
        .databases_in_order()
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(dbs, ["alpha", "mid", "zeta"]);
    let rps: Vec<_> = s.database("alpha").unwrap().policies_in_order();
    let rps: Vec<_> = rps.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(rps, ["autogen", "r9", "r1"]);
}
