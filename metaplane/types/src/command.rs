//! Every metadata change is one of these commands, proposed to the raft leader and applied
//! in log order by every meta node. Commands carry everything they need (timestamps,
//! password hashes), so applying one is deterministic.

use serde::{Deserialize, Serialize};

use crate::model::{
    InstalledLicense, Lease, NodeId, Privilege, RetentionPolicySpec, ShardGroup, SubscriptionMode,
    Timestamp,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// Records a meta node that joined raft; returns its id.
    AddMetaNode {
        addr: String,
        http_addr: String,
    },
    /// Records a meta node under a known id (the node that bootstraps the cluster).
    SetMetaNode {
        id: NodeId,
        addr: String,
        http_addr: String,
    },
    RemoveMetaNode {
        id: NodeId,
    },
    /// Adds a data node, or returns the existing id for the same TCP address.
    AddDataNode {
        tcp_addr: String,
        http_addr: String,
    },
    UpdateDataNode {
        id: NodeId,
        tcp_addr: String,
        http_addr: String,
    },
    /// Removes a data node and its shard ownerships.
    RemoveDataNode {
        id: NodeId,
    },
    CreateDatabase {
        name: String,
        /// The retention policy to create with it (`CREATE DATABASE … WITH …`); `autogen` if absent.
        retention_policy: Option<RetentionPolicySpec>,
    },
    DropDatabase {
        name: String,
    },
    CreateRetentionPolicy {
        database: String,
        policy: RetentionPolicySpec,
        make_default: bool,
    },
    UpdateRetentionPolicy {
        database: String,
        name: String,
        /// New values; `policy.name` renames when it differs from `name` and is non-empty.
        policy: RetentionPolicySpec,
        make_default: bool,
    },
    DropRetentionPolicy {
        database: String,
        name: String,
    },
    /// Returns the shard group covering `timestamp`, creating it if needed.
    CreateShardGroup {
        database: String,
        retention_policy: String,
        timestamp: Timestamp,
    },
    DeleteShardGroup {
        database: String,
        retention_policy: String,
        id: u64,
        deleted_at: Timestamp,
    },
    /// Ends every shard group that extends past `timestamp` at `timestamp`.
    TruncateShardGroups {
        timestamp: Timestamp,
    },
    DropShard {
        id: u64,
    },
    CreateUser {
        name: String,
        hash: String,
        admin: bool,
    },
    DropUser {
        name: String,
    },
    UpdateUser {
        name: String,
        hash: String,
    },
    SetAdmin {
        name: String,
        admin: bool,
    },
    SetPrivilege {
        name: String,
        database: String,
        privilege: Privilege,
    },
    CreateContinuousQuery {
        database: String,
        name: String,
        query: String,
    },
    DropContinuousQuery {
        database: String,
        name: String,
    },
    CreateSubscription {
        database: String,
        retention_policy: String,
        name: String,
        mode: SubscriptionMode,
        destinations: Vec<String>,
    },
    DropSubscription {
        database: String,
        retention_policy: String,
        name: String,
    },
    /// Grants or renews a lease; `now` is the leader's clock when it proposed the command.
    AcquireLease {
        name: String,
        node_id: NodeId,
        now: Timestamp,
        duration: u64,
    },
    SetLicense {
        license: InstalledLicense,
    },
}

impl Command {
    /// Whether this command touches node membership; used by the API to decide whether the
    /// license must be checked before proposing.
    pub fn is_node_change(&self) -> bool {
        matches!(
            self,
            Command::AddMetaNode { .. }
                | Command::SetMetaNode { .. }
                | Command::RemoveMetaNode { .. }
                | Command::AddDataNode { .. }
                | Command::UpdateDataNode { .. }
                | Command::RemoveDataNode { .. }
        )
    }
}

/// What a successfully applied command returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    Ok,
    Node { id: NodeId },
    ShardGroup { group: ShardGroup },
    Lease { lease: Lease },
}
