//! Retention and shard-group pre-creation, decided from the metadata snapshot.
//!
//! Every data node checks periodically (`[retention] check-interval`,
//! `[shard-precreation] check-interval`) and proposes what is due through the meta plane.
//! Both commands are idempotent (a group already deleted stays deleted at its first time; a
//! group that exists is returned as is), so several nodes doing the same is harmless. Each
//! node deletes its own files of deleted groups when its cores see the new snapshot.

use std::time::Duration;

use tessera_meta_types::{Command, Snapshot};

/// What housekeeping does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HousekeepingConfig {
    pub retention_enabled: bool,
    pub retention_check: Duration,
    pub precreation_enabled: bool,
    pub precreation_check: Duration,
    pub advance_period: Duration,
}

impl HousekeepingConfig {
    /// How often to look: the shorter of the enabled check intervals.
    pub fn tick(&self) -> Option<Duration> {
        let r = self.retention_enabled.then_some(self.retention_check);
        let p = self.precreation_enabled.then_some(self.precreation_check);
        match (r, p) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// The commands due at `now` (nanoseconds).
pub fn due(snapshot: &Snapshot, now: i64, cfg: &HousekeepingConfig) -> Vec<Command> {
    let mut out = Vec::new();
    for db in snapshot.data.databases.values() {
        for rp in db.retention_policies.values() {
            let live = rp.shard_groups.iter().filter(|g| !g.is_deleted());
            if cfg.retention_enabled && rp.duration > 0 {
                let floor = now.saturating_sub(rp.duration as i64);
                for g in live.clone().filter(|g| g.end_time <= floor) {
                    out.push(Command::DeleteShardGroup {
                        database: db.name.clone(),
                        retention_policy: rp.name.clone(),
                        id: g.id,
                        deleted_at: now,
                    });
                }
            }
            if cfg.precreation_enabled {
                // The group being written now ends soon: create the next one ahead of time.
                let advance = cfg.advance_period.as_nanos() as i64;
                if let Some(current) = live.clone().find(|g| g.contains(now)) {
                    let next_exists = live.clone().any(|g| g.contains(current.end_time));
                    if !next_exists && current.end_time - now <= advance {
                        out.push(Command::CreateShardGroup {
                            database: db.name.clone(),
                            retention_policy: rp.name.clone(),
                            timestamp: current.end_time,
                        });
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use tessera_meta_types::apply::HOUR;
    use tessera_meta_types::{ClusterState, InstalledLicense, RetentionPolicySpec};

    use super::*;

    fn state() -> ClusterState {
        let mut s = ClusterState {
            license: Some(InstalledLicense {
                key: String::new(),
                licensee: String::new(),
                max_data_nodes: 4,
                max_cores: 4,
                expires_at: i64::MAX,
            }),
            ..Default::default()
        };
        s.apply(
            1,
            &Command::AddDataNode {
                tcp_addr: "a:1".into(),
                http_addr: "a:2".into(),
            },
        )
        .unwrap();
        s.apply(
            2,
            &Command::CreateDatabase {
                name: "db".into(),
                retention_policy: Some(RetentionPolicySpec {
                    name: "rp".into(),
                    duration: Some(2 * HOUR),
                    shard_group_duration: Some(HOUR),
                    replica_n: Some(1),
                }),
            },
        )
        .unwrap();
        s
    }

    fn cfg() -> HousekeepingConfig {
        HousekeepingConfig {
            retention_enabled: true,
            retention_check: Duration::from_secs(1),
            precreation_enabled: true,
            precreation_check: Duration::from_secs(1),
            advance_period: Duration::from_secs(30 * 60),
        }
    }

    #[test]
    fn expired_groups_are_deleted_and_next_groups_precreated() {
        let mut s = state();
        let h = HOUR as i64;
        for (i, t) in [0, h, 5 * h].into_iter().enumerate() {
            s.apply(
                3 + i as u64,
                &Command::CreateShardGroup {
                    database: "db".into(),
                    retention_policy: "rp".into(),
                    timestamp: t,
                },
            )
            .unwrap();
        }
        // At 5h40m: groups [0,1h) and [1h,2h) ended more than 2h ago; [5h,6h) ends in 20m.
        let now = 5 * h + 40 * 60_000_000_000;
        let snap = Snapshot {
            index: s.index,
            data: s.clone(),
        };
        let cmds = due(&snap, now, &cfg());
        let deleted: Vec<u64> = cmds
            .iter()
            .filter_map(|c| match c {
                Command::DeleteShardGroup { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        assert_eq!(deleted, vec![1, 2]);
        assert!(cmds.iter().any(
            |c| matches!(c, Command::CreateShardGroup { timestamp, .. } if *timestamp == 6 * h)
        ));
        // Early in the hour nothing is precreated.
        let cmds = due(&snap, 5 * h + 60_000_000_000, &cfg());
        assert!(!cmds
            .iter()
            .any(|c| matches!(c, Command::CreateShardGroup { .. })));
    }
}
