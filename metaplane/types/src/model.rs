//! The cluster model the meta plane replicates. Every field here is the same on every
//! meta node once it has applied the same log prefix.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Node ids: meta and data nodes draw from one sequence, as in InfluxDB Enterprise.
pub type NodeId = u64;

/// Nanoseconds since the Unix epoch.
pub type Timestamp = i64;

/// The whole replicated cluster state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Raft log index of the last applied command: the metadata version data nodes poll for.
    pub index: u64,
    /// Highest node id handed out (meta and data nodes share the sequence).
    pub max_node_id: NodeId,
    pub max_shard_group_id: u64,
    pub max_shard_id: u64,
    pub meta_nodes: Vec<MetaNode>,
    pub data_nodes: Vec<DataNode>,
    pub databases: BTreeMap<String, Database>,
    pub users: BTreeMap<String, User>,
    pub leases: BTreeMap<String, Lease>,
    /// The license the cluster runs under, installed by the first meta node.
    pub license: Option<InstalledLicense>,
}

/// A meta node: raft on `addr`, API on `http_addr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaNode {
    pub id: NodeId,
    pub addr: String,
    pub http_addr: String,
}

/// A data node: cluster RPC on `tcp_addr`, client API on `http_addr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataNode {
    pub id: NodeId,
    pub tcp_addr: String,
    pub http_addr: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub default_retention_policy: String,
    pub retention_policies: BTreeMap<String, RetentionPolicy>,
    pub continuous_queries: BTreeMap<String, ContinuousQuery>,
    /// The log index before the one that created it: listings follow creation order, as
    /// influxd's do.
    #[serde(default)]
    pub created: u64,
}

impl Database {
    /// `name`, or the default policy's name when it is empty: influxd's `DatabaseInfo`
    /// looks an empty policy name up as the default policy (ALTER RETENTION POLICY "").
    pub fn policy_name<'a>(&'a self, name: &'a str) -> &'a str {
        if name.is_empty() {
            &self.default_retention_policy
        } else {
            name
        }
    }

    /// The retention policies in creation order, as influxd lists them.
    pub fn policies_in_order(&self) -> Vec<&RetentionPolicy> {
        in_creation_order(self.retention_policies.values(), |rp| rp.created)
    }
}

/// `items` sorted by when they were created; ties keep their order.
fn in_creation_order<'a, T>(
    items: impl Iterator<Item = &'a T>,
    created: impl Fn(&T) -> u64,
) -> Vec<&'a T> {
    let mut out: Vec<&T> = items.collect();
    out.sort_by_key(|t| created(t));
    out
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    pub name: String,
    /// Nanoseconds to keep data; 0 keeps it forever (`INF`).
    pub duration: u64,
    /// Nanoseconds covered by one shard group.
    pub shard_group_duration: u64,
    pub replica_n: u32,
    pub shard_groups: Vec<ShardGroup>,
    pub subscriptions: BTreeMap<String, Subscription>,
    /// The log index before the one that created it (listing order).
    #[serde(default)]
    pub created: u64,
}

impl RetentionPolicy {
    /// The subscriptions in creation order, as influxd lists them.
    pub fn subscriptions_in_order(&self) -> Vec<&Subscription> {
        in_creation_order(self.subscriptions.values(), |s| s.created)
    }
}

/// The options a retention policy is created or altered with; `None` keeps the current or
/// default value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionPolicySpec {
    pub name: String,
    pub duration: Option<u64>,
    pub shard_group_duration: Option<u64>,
    pub replica_n: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardGroup {
    pub id: u64,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub truncated_at: Option<Timestamp>,
    pub shards: Vec<Shard>,
}

impl ShardGroup {
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Whether `ts` falls into this group's (possibly truncated) time range.
    pub fn contains(&self, ts: Timestamp) -> bool {
        let end = self.truncated_at.unwrap_or(self.end_time);
        ts >= self.start_time && ts < end
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub id: u64,
    pub owners: Vec<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinuousQuery {
    pub name: String,
    pub query: String,
    /// The log index before the one that created it: listings follow creation order, as
    /// influxd's do.
    #[serde(default)]
    pub created: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SubscriptionMode {
    All,
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub name: String,
    pub mode: SubscriptionMode,
    pub destinations: Vec<String>,
    /// The log index before the one that created it (listing order).
    #[serde(default)]
    pub created: u64,
}

/// A database privilege, as `GRANT` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Privilege {
    NoPrivileges,
    Read,
    Write,
    All,
}

impl Privilege {
    /// The text `SHOW GRANTS` prints.
    pub fn as_influx_str(self) -> &'static str {
        match self {
            Privilege::NoPrivileges => "NO PRIVILEGES",
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL PRIVILEGES",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    /// bcrypt hash; the clear password never enters the log.
    pub hash: String,
    pub admin: bool,
    pub privileges: BTreeMap<String, Privilege>,
    /// The log index before the one that created it: `SHOW USERS` lists in creation order.
    #[serde(default)]
    pub created: u64,
}

/// A named lease (e.g. `continuous_querier`) held by one data node until `expiration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub owner: NodeId,
    /// Nanoseconds since the epoch.
    pub expiration: Timestamp,
}

/// The license in force, as the first meta node installed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledLicense {
    pub key: String,
    pub licensee: String,
    pub max_data_nodes: u32,
    pub max_cores: u32,
    /// Nanoseconds since the epoch.
    pub expires_at: Timestamp,
}

impl ClusterState {
    pub fn database(&self, name: &str) -> Option<&Database> {
        self.databases.get(name)
    }

    /// The databases in creation order, as influxd lists them.
    pub fn databases_in_order(&self) -> Vec<&Database> {
        in_creation_order(self.databases.values(), |d| d.created)
    }

    pub fn retention_policy(&self, db: &str, rp: &str) -> Option<&RetentionPolicy> {
        self.databases.get(db)?.retention_policies.get(rp)
    }

    pub fn data_node(&self, id: NodeId) -> Option<&DataNode> {
        self.data_nodes.iter().find(|n| n.id == id)
    }

    pub fn data_node_by_tcp(&self, tcp_addr: &str) -> Option<&DataNode> {
        self.data_nodes.iter().find(|n| n.tcp_addr == tcp_addr)
    }

    pub fn meta_node(&self, id: NodeId) -> Option<&MetaNode> {
        self.meta_nodes.iter().find(|n| n.id == id)
    }

    /// Every shard with where it lives, for `show-shards`.
    pub fn shards(&self) -> Vec<ShardInfo> {
        let mut out = Vec::new();
        for db in self.databases.values() {
            for rp in db.retention_policies.values() {
                for sg in &rp.shard_groups {
                    if sg.is_deleted() {
                        continue;
                    }
                    for shard in &sg.shards {
                        out.push(ShardInfo {
                            id: shard.id,
                            database: db.name.clone(),
                            retention_policy: rp.name.clone(),
                            replica_n: rp.replica_n,
                            shard_group_id: sg.id,
                            start_time: sg.start_time,
                            end_time: sg.end_time,
                            expire_time: if rp.duration == 0 {
                                None
                            } else {
                                Some(sg.end_time.saturating_add(rp.duration as i64))
                            },
                            truncated_at: sg.truncated_at,
                            owners: shard
                                .owners
                                .iter()
                                .map(|id| ShardOwner {
                                    id: *id,
                                    tcp_addr: self
                                        .data_node(*id)
                                        .map(|n| n.tcp_addr.clone())
                                        .unwrap_or_default(),
                                })
                                .collect(),
                        });
                    }
                }
            }
        }
        out.sort_by_key(|s| s.id);
        out
    }
}

/// One row of `show-shards`, in the JSON shape of Enterprise's `/show-shards`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ShardInfo {
    pub id: u64,
    pub database: String,
    pub retention_policy: String,
    pub replica_n: u32,
    pub shard_group_id: u64,
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub expire_time: Option<Timestamp>,
    pub truncated_at: Option<Timestamp>,
    pub owners: Vec<ShardOwner>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardOwner {
    pub id: NodeId,
    #[serde(rename = "tcpAddr")]
    pub tcp_addr: String,
}

/// The full metadata snapshot the meta API serves to data nodes (`GET /?index=N`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub index: u64,
    pub data: ClusterState,
}
