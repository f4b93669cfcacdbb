//! The state-machine transition. `apply` validates first and mutates only when the whole
//! command is valid, so a refused command leaves the state exactly as it was.

use crate::command::{Command, Reply};
use crate::error::MetaError;
use crate::model::*;

/// One hour: InfluxDB's minimum retention-policy duration and shortest shard-group duration.
pub const HOUR: u64 = 3_600_000_000_000;
/// One day, the shard-group duration for retention policies up to six months.
pub const DAY: u64 = 24 * HOUR;
/// One week, the shard-group duration for infinite and long retention policies.
pub const WEEK: u64 = 7 * DAY;
/// The retention policy `CREATE DATABASE` makes unless told otherwise.
pub const DEFAULT_RETENTION_POLICY: &str = "autogen";

/// The shard-group duration InfluxDB picks for a retention-policy duration
/// (`meta.normalisedShardDuration` / `shardGroupDuration` in influxd 1.x).
pub fn default_shard_group_duration(duration: u64) -> u64 {
    if duration == 0 || duration >= 180 * DAY {
        WEEK
    } else if duration >= 2 * DAY {
        DAY
    } else {
        HOUR
    }
}

impl ClusterState {
    /// Applies `cmd` at raft log index `index`.
    ///
    /// Lease grants and renewals do not advance [`ClusterState::index`]: data nodes
    /// long-poll on the index for metadata changes, and a renewal every second per node
    /// would otherwise make every data node fetch the whole snapshot every second.
    pub fn apply(&mut self, index: u64, cmd: &Command) -> Result<Reply, MetaError> {
        let reply = self.apply_inner(cmd)?;
        if !matches!(cmd, Command::AcquireLease { .. }) {
            self.index = index;
        }
        Ok(reply)
    }

    fn apply_inner(&mut self, cmd: &Command) -> Result<Reply, MetaError> {
        match cmd {
            Command::AddMetaNode { addr, http_addr } => {
                if let Some(n) = self.meta_nodes.iter().find(|n| &n.http_addr == http_addr) {
                    return Ok(Reply::Node { id: n.id });
                }
                self.max_node_id += 1;
                let id = self.max_node_id;
                self.meta_nodes.push(MetaNode {
                    id,
                    addr: addr.clone(),
                    http_addr: http_addr.clone(),
                });
                Ok(Reply::Node { id })
            }
            Command::SetMetaNode {
                id,
                addr,
                http_addr,
            } => {
                self.meta_nodes.retain(|n| n.id != *id);
                self.meta_nodes.push(MetaNode {
                    id: *id,
                    addr: addr.clone(),
                    http_addr: http_addr.clone(),
                });
                self.meta_nodes.sort_by_key(|n| n.id);
                self.max_node_id = self.max_node_id.max(*id);
                Ok(Reply::Node { id: *id })
            }
            Command::RemoveMetaNode { id } => {
                if self.meta_node(*id).is_none() {
                    return Err(MetaError::MetaNodeNotFound(id.to_string()));
                }
                self.meta_nodes.retain(|n| n.id != *id);
                Ok(Reply::Ok)
            }
            Command::AddDataNode {
                tcp_addr,
                http_addr,
            } => {
                if let Some(n) = self.data_node_by_tcp(tcp_addr) {
                    return Ok(Reply::Node { id: n.id });
                }
                if tcp_addr.is_empty() {
                    return Err(MetaError::Invalid("data node tcp address required".into()));
                }
                let license = self.license.as_ref().ok_or(MetaError::NoLicense)?;
                if self.data_nodes.len() as u64 >= u64::from(license.max_data_nodes) {
                    return Err(MetaError::LicenseDataNodes {
                        max: license.max_data_nodes,
                    });
                }
                self.max_node_id += 1;
                let id = self.max_node_id;
                self.data_nodes.push(DataNode {
                    id,
                    tcp_addr: tcp_addr.clone(),
                    http_addr: http_addr.clone(),
                });
                Ok(Reply::Node { id })
            }
            Command::UpdateDataNode {
                id,
                tcp_addr,
                http_addr,
            } => {
                if self.data_node(*id).is_none() {
                    return Err(MetaError::DataNodeNotFound(id.to_string()));
                }
                if let Some(other) = self.data_node_by_tcp(tcp_addr) {
                    if other.id != *id {
                        return Err(MetaError::DataNodeExists(tcp_addr.clone()));
                    }
                }
                let node = self
                    .data_nodes
                    .iter_mut()
                    .find(|n| n.id == *id)
                    .expect("checked above");
                node.tcp_addr = tcp_addr.clone();
                node.http_addr = http_addr.clone();
                Ok(Reply::Ok)
            }
            Command::RemoveDataNode { id } => {
                if self.data_node(*id).is_none() {
                    return Err(MetaError::DataNodeNotFound(id.to_string()));
                }
                self.data_nodes.retain(|n| n.id != *id);
                for db in self.databases.values_mut() {
                    for rp in db.retention_policies.values_mut() {
                        for sg in &mut rp.shard_groups {
                            for shard in &mut sg.shards {
                                shard.owners.retain(|o| o != id);
                            }
                        }
                    }
                }
                self.leases.retain(|_, l| l.owner != *id);
                Ok(Reply::Ok)
            }
            Command::CreateDatabase {
                name,
                retention_policy,
            } => self.create_database(name, retention_policy.as_ref()),
            Command::DropDatabase { name } => {
                // Like influxd, dropping a missing database is not an error.
                self.databases.remove(name);
                for user in self.users.values_mut() {
                    user.privileges.remove(name);
                }
                Ok(Reply::Ok)
            }
            Command::CreateRetentionPolicy {
                database,
                policy,
                make_default,
            } => self.create_retention_policy(database, policy, *make_default),
            Command::UpdateRetentionPolicy {
                database,
                name,
                policy,
                make_default,
            } => self.update_retention_policy(database, name, policy, *make_default),
            Command::DropRetentionPolicy { database, name } => {
                let db = self
                    .databases
                    .get_mut(database)
                    .ok_or_else(|| MetaError::DatabaseNotFound(database.clone()))?;
                // influxd ignores dropping a policy that does not exist, and keeps a dropped
                // default's name as the default (writes and queries then name it as missing).
                db.retention_policies.remove(name);
                Ok(Reply::Ok)
            }
            Command::CreateShardGroup {
                database,
                retention_policy,
                timestamp,
            } => self.create_shard_group(database, retention_policy, *timestamp),
            Command::DeleteShardGroup {
                database,
                retention_policy,
                id,
                deleted_at,
            } => {
                let rp = self.rp_mut(database, retention_policy)?;
                let sg = rp
                    .shard_groups
                    .iter_mut()
                    .find(|g| g.id == *id)
                    .ok_or(MetaError::ShardGroupNotFound)?;
                sg.deleted_at.get_or_insert(*deleted_at);
                Ok(Reply::Ok)
            }
            Command::TruncateShardGroups { timestamp } => {
                for db in self.databases.values_mut() {
                    for rp in db.retention_policies.values_mut() {
                        for sg in &mut rp.shard_groups {
                            if !sg.is_deleted()
                                && sg.end_time > *timestamp
                                && sg.truncated_at.is_none()
                            {
                                sg.truncated_at = Some((*timestamp).max(sg.start_time));
                            }
                        }
                    }
                }
                Ok(Reply::Ok)
            }
            Command::DropShard { id } => {
                let mut found = false;
                for db in self.databases.values_mut() {
                    for rp in db.retention_policies.values_mut() {
                        for sg in &mut rp.shard_groups {
                            let before = sg.shards.len();
                            sg.shards.retain(|s| s.id != *id);
                            found |= sg.shards.len() != before;
                        }
                        rp.shard_groups.retain(|g| !g.shards.is_empty());
                    }
                }
                if found {
                    Ok(Reply::Ok)
                } else {
                    Err(MetaError::ShardNotFound(*id))
                }
            }
            Command::CreateUser { name, hash, admin } => {
                if name.is_empty() {
                    return Err(MetaError::UsernameRequired);
                }
                if let Some(existing) = self.users.get(name) {
                    // influxd accepts re-creating an identical user.
                    if existing.hash == *hash && existing.admin == *admin {
                        return Ok(Reply::Ok);
                    }
                    return Err(MetaError::UserExists);
                }
                let created = self.index;
                self.users.insert(
                    name.clone(),
                    User {
                        name: name.clone(),
                        hash: hash.clone(),
                        admin: *admin,
                        privileges: Default::default(),
                        created,
                    },
                );
                Ok(Reply::Ok)
            }
            Command::DropUser { name } => {
                self.users.remove(name).ok_or(MetaError::UserNotFound)?;
                Ok(Reply::Ok)
            }
            Command::UpdateUser { name, hash } => {
                let user = self.users.get_mut(name).ok_or(MetaError::UserNotFound)?;
                user.hash = hash.clone();
                Ok(Reply::Ok)
            }
            Command::SetAdmin { name, admin } => {
                let user = self.users.get_mut(name).ok_or(MetaError::UserNotFound)?;
                user.admin = *admin;
                Ok(Reply::Ok)
            }
            Command::SetPrivilege {
                name,
                database,
                privilege,
            } => {
                // influxd looks the user up first.
                if !self.users.contains_key(name) {
                    return Err(MetaError::UserNotFound);
                }
                if !self.databases.contains_key(database) {
                    return Err(MetaError::DatabaseNotFound(database.clone()));
                }
                let user = self.users.get_mut(name).ok_or(MetaError::UserNotFound)?;
                user.privileges.insert(database.clone(), *privilege);
                Ok(Reply::Ok)
            }
            Command::CreateContinuousQuery {
                database,
                name,
                query,
            } => {
                let created = self.index;
                let db = self
                    .databases
                    .get_mut(database)
                    .ok_or_else(|| MetaError::DatabaseNotFound(database.clone()))?;
                if let Some(cq) = db.continuous_queries.get(name) {
                    if cq.query == *query {
                        return Ok(Reply::Ok);
                    }
                    return Err(MetaError::ContinuousQueryExists);
                }
                db.continuous_queries.insert(
                    name.clone(),
                    ContinuousQuery {
                        name: name.clone(),
                        query: query.clone(),
                        created,
                    },
                );
                Ok(Reply::Ok)
            }
            Command::DropContinuousQuery { database, name } => {
                let db = self
                    .databases
                    .get_mut(database)
                    .ok_or_else(|| MetaError::DatabaseNotFound(database.clone()))?;
                db.continuous_queries
                    .remove(name)
                    .ok_or(MetaError::ContinuousQueryNotFound)?;
                Ok(Reply::Ok)
            }
            Command::CreateSubscription {
                database,
                retention_policy,
                name,
                mode,
                destinations,
            } => {
                if destinations.is_empty() {
                    return Err(MetaError::Invalid(
                        "subscription requires at least one destination".into(),
                    ));
                }
                let created = self.index;
                let rp = self.rp_mut(database, retention_policy)?;
                if rp.subscriptions.contains_key(name) {
                    return Err(MetaError::SubscriptionExists);
                }
                rp.subscriptions.insert(
                    name.clone(),
                    Subscription {
                        name: name.clone(),
                        mode: *mode,
                        destinations: destinations.clone(),
                        created,
                    },
                );
                Ok(Reply::Ok)
            }
            Command::DropSubscription {
                database,
                retention_policy,
                name,
            } => {
                let rp = self.rp_mut(database, retention_policy)?;
                rp.subscriptions
                    .remove(name)
                    .ok_or(MetaError::SubscriptionNotFound)?;
                Ok(Reply::Ok)
            }
            Command::AcquireLease {
                name,
                node_id,
                now,
                duration,
            } => {
                if name.is_empty() {
                    return Err(MetaError::LeaseNameRequired);
                }
                if self.data_node(*node_id).is_none() {
                    return Err(MetaError::DataNodeNotFound(node_id.to_string()));
                }
                if let Some(lease) = self.leases.get(name) {
                    if lease.owner != *node_id && lease.expiration > *now {
                        return Err(MetaError::LeaseConflict {
                            lease: lease.clone(),
                        });
                    }
                }
                let lease = Lease {
                    name: name.clone(),
                    owner: *node_id,
                    expiration: now.saturating_add(*duration as i64),
                };
                self.leases.insert(name.clone(), lease.clone());
                Ok(Reply::Lease { lease })
            }
            Command::SetLicense { license } => {
                self.license = Some(license.clone());
                Ok(Reply::Ok)
            }
        }
    }

    fn rp_mut(&mut self, db: &str, rp: &str) -> Result<&mut RetentionPolicy, MetaError> {
        self.databases
            .get_mut(db)
            .ok_or_else(|| MetaError::DatabaseNotFound(db.to_string()))?
            .retention_policies
            .get_mut(rp)
            .ok_or_else(|| MetaError::RetentionPolicyNotFound(rp.to_string()))
    }

    fn create_database(
        &mut self,
        name: &str,
        spec: Option<&RetentionPolicySpec>,
    ) -> Result<Reply, MetaError> {
        if name.is_empty() {
            return Err(MetaError::DatabaseNameRequired);
        }
        let default_spec = RetentionPolicySpec {
            name: DEFAULT_RETENTION_POLICY.into(),
            ..Default::default()
        };
        if let Some(db) = self.databases.get(name) {
            // influxd: re-creating a database is a no-op. With a policy spec, a too-short
            // duration is refused first; then a database that still has policies must
            // already hold one matching the spec as its default, and one whose policies
            // were all dropped gets the spec as its new default policy.
            let Some(spec) = spec else {
                return Ok(Reply::Ok);
            };
            if matches!(spec.duration, Some(d) if d != 0 && d < HOUR) {
                return Err(MetaError::RetentionPolicyDurationTooLow);
            }
            if !db.retention_policies.is_empty() {
                // The matching policy must also be the default: CREATE DATABASE … WITH
                // only ever makes default policies.
                return match db.retention_policies.get(&spec.name) {
                    Some(existing)
                        if spec_matches(spec, existing)
                            && db.default_retention_policy == spec.name =>
                    {
                        Ok(Reply::Ok)
                    }
                    _ => Err(MetaError::RetentionPolicyConflict),
                };
            }
            let mut rp = build_policy(spec)?;
            rp.created = self.index;
            let db = self.databases.get_mut(name).expect("checked above");
            db.default_retention_policy = rp.name.clone();
            db.retention_policies.insert(rp.name.clone(), rp);
            return Ok(Reply::Ok);
        }
        let mut rp = build_policy(spec.unwrap_or(&default_spec))?;
        rp.created = self.index;
        let mut db = Database {
            name: name.to_string(),
            default_retention_policy: rp.name.clone(),
            created: self.index,
            ..Default::default()
        };
        db.retention_policies.insert(rp.name.clone(), rp);
        self.databases.insert(name.to_string(), db);
        Ok(Reply::Ok)
    }

    fn create_retention_policy(
        &mut self,
        database: &str,
        spec: &RetentionPolicySpec,
        make_default: bool,
    ) -> Result<Reply, MetaError> {
        let mut rp = build_policy(spec)?;
        rp.created = self.index;
        let db = self
            .databases
            .get_mut(database)
            .ok_or_else(|| MetaError::DatabaseNotFound(database.to_string()))?;
        if let Some(existing) = db.retention_policies.get(&rp.name) {
            // influxd 1.6: CREATE RETENTION POLICY over a different one of that name is
            // refused; over the same one it is a no-op, unless it asks to make a
            // policy that is not the default the default.
            if !same_policy(existing, &rp) {
                return Err(MetaError::RetentionPolicyExists);
            }
            if make_default && db.default_retention_policy != rp.name {
                return Err(MetaError::RetentionPolicyConflict);
            }
            return Ok(Reply::Ok);
        }
        if make_default || db.default_retention_policy.is_empty() {
            db.default_retention_policy = rp.name.clone();
        }
        db.retention_policies.insert(rp.name.clone(), rp);
        Ok(Reply::Ok)
    }

    fn update_retention_policy(
        &mut self,
        database: &str,
        name: &str,
        spec: &RetentionPolicySpec,
        make_default: bool,
    ) -> Result<Reply, MetaError> {
        let db = self
            .databases
            .get(database)
            .ok_or_else(|| MetaError::DatabaseNotFound(database.to_string()))?;
        let missing = || MetaError::RetentionPolicyNotFound(name.to_string());
        let name = db.policy_name(name).to_string();
        let name = name.as_str();
        let current = db.retention_policies.get(name).ok_or_else(missing)?;
        let new_name = if spec.name.is_empty() {
            name.to_string()
        } else {
            spec.name.clone()
        };
        if new_name != name && db.retention_policies.contains_key(&new_name) {
            return Err(MetaError::RetentionPolicyExists);
        }
        let mut updated = current.clone();
        updated.name = new_name.clone();
        if let Some(d) = spec.duration {
            if d != 0 && d < HOUR {
                return Err(MetaError::RetentionPolicyDurationTooLow);
            }
            updated.duration = d;
        }
        if let Some(sgd) = spec.shard_group_duration {
            updated.shard_group_duration = normalise_shard_duration(sgd, updated.duration);
        }
        if let Some(n) = spec.replica_n {
            if n == 0 {
                return Err(MetaError::ReplicationFactorTooLow);
            }
            updated.replica_n = n;
        }
        if updated.duration != 0 && updated.duration < updated.shard_group_duration {
            return Err(MetaError::IncompatibleDurations);
        }
        let db = self
            .databases
            .get_mut(database)
            .expect("database checked above");
        db.retention_policies.remove(name);
        if db.default_retention_policy == name || make_default {
            db.default_retention_policy = new_name.clone();
        }
        db.retention_policies.insert(new_name, updated);
        Ok(Reply::Ok)
    }

    fn create_shard_group(
        &mut self,
        database: &str,
        retention_policy: &str,
        timestamp: Timestamp,
    ) -> Result<Reply, MetaError> {
        let mut nodes: Vec<NodeId> = self.data_nodes.iter().map(|n| n.id).collect();
        nodes.sort_unstable();
        let next_group_id = self.max_shard_group_id + 1;
        let first_shard_id = self.max_shard_id + 1;
        let rp = self.rp_mut(database, retention_policy)?;
        if let Some(existing) = rp
            .shard_groups
            .iter()
            .find(|g| !g.is_deleted() && g.contains(timestamp))
        {
            return Ok(Reply::ShardGroup {
                group: existing.clone(),
            });
        }
        if nodes.is_empty() {
            return Err(MetaError::NoDataNodes);
        }
        let sgd = rp.shard_group_duration.max(1) as i64;
        let (start, end) = group_bounds(timestamp, sgd);
        let replica_n = (rp.replica_n.max(1) as usize).min(nodes.len());
        // Enterprise: a group holds `data nodes / RF` shards, each owned by RF nodes.
        let shard_count = (nodes.len() / replica_n).max(1);
        // Rotate the starting node per group so ownership spreads across nodes over time.
        let offset = (next_group_id as usize) % nodes.len();
        let shards = (0..shard_count)
            .map(|i| Shard {
                id: first_shard_id + i as u64,
                owners: (0..replica_n)
                    .map(|j| nodes[(offset + i * replica_n + j) % nodes.len()])
                    .collect(),
            })
            .collect();
        let group = ShardGroup {
            id: next_group_id,
            start_time: start,
            end_time: end,
            deleted_at: None,
            truncated_at: None,
            shards,
        };
        rp.shard_groups.push(group.clone());
        rp.shard_groups.sort_by_key(|g| g.start_time);
        self.max_shard_group_id = next_group_id;
        self.max_shard_id = first_shard_id + shard_count as u64 - 1;
        Ok(Reply::ShardGroup { group })
    }
}

/// Nanoseconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch.
const GO_ZERO_TO_EPOCH_NS: i128 = 62_135_596_800 * 1_000_000_000;

/// The start of the shard group holding `timestamp`: influxd truncates with Go's
/// `Time.Truncate`, which counts from Go's zero time, not from the Unix epoch — so week
/// long groups start on Mondays (the epoch was a Thursday).
/// Near the ends of the time range the start may fall before the first nanosecond an
/// i64 holds (a point at 1677-09-21 is in the week from 1677-09-20): it is held at
/// `i64::MIN` then.
pub fn group_start(timestamp: i64, duration: i64) -> i64 {
    group_bounds(timestamp, duration).0
}

/// The start and end of the shard group holding `timestamp` (see [`group_start`]): the
/// end is the true start plus `duration`, held at `i64::MAX` past the last time as
/// influxd holds it (`MaxNanoTime + 1`).
pub fn group_bounds(timestamp: i64, duration: i64) -> (i64, i64) {
    if duration <= 0 {
        return (timestamp, timestamp);
    }
    let r = (i128::from(timestamp) + GO_ZERO_TO_EPOCH_NS).rem_euclid(i128::from(duration));
    let start = i128::from(timestamp) - r;
    let clamp = |t: i128| t.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    (clamp(start), clamp(start + i128::from(duration)))
}

fn normalise_shard_duration(sgd: u64, duration: u64) -> u64 {
    match sgd {
        0 => default_shard_group_duration(duration),
        // influxd raises shard durations below an hour to an hour.
        d if d < HOUR => HOUR,
        d => d,
    }
}

fn build_policy(spec: &RetentionPolicySpec) -> Result<RetentionPolicy, MetaError> {
    if spec.name.is_empty() {
        return Err(MetaError::RetentionPolicyNameRequired);
    }
    let duration = spec.duration.unwrap_or(0);
    if duration != 0 && duration < HOUR {
        return Err(MetaError::RetentionPolicyDurationTooLow);
    }
    let replica_n = spec.replica_n.unwrap_or(1);
    if replica_n == 0 {
        return Err(MetaError::ReplicationFactorTooLow);
    }
    let shard_group_duration =
        normalise_shard_duration(spec.shard_group_duration.unwrap_or(0), duration);
    if duration != 0 && duration < shard_group_duration {
        return Err(MetaError::IncompatibleDurations);
    }
    Ok(RetentionPolicy {
        name: spec.name.clone(),
        duration,
        shard_group_duration,
        replica_n,
        shard_groups: Vec::new(),
        subscriptions: Default::default(),
        created: 0,
    })
}

/// influxd's `RetentionPolicySpec.Matches`: the options the spec names equal the policy's,
/// with the shard duration normalised against the policy's own duration.
fn spec_matches(spec: &RetentionPolicySpec, rp: &RetentionPolicy) -> bool {
    spec.duration.is_none_or(|d| d == rp.duration)
        && spec.replica_n.is_none_or(|n| n == rp.replica_n)
        && normalise_shard_duration(spec.shard_group_duration.unwrap_or(0), rp.duration)
            == rp.shard_group_duration
}

fn same_policy(a: &RetentionPolicy, b: &RetentionPolicy) -> bool {
    a.duration == b.duration
        && a.shard_group_duration == b.shard_group_duration
        && a.replica_n == b.replica_n
}

#[cfg(test)]
mod tests;
