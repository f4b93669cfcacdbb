//! Errors of metadata commands. The texts are InfluxDB 1.x's where InfluxDB has one,
//! because clients match on them.

use serde::{Deserialize, Serialize};

/// Why a command was refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum MetaError {
    #[error("database name required")]
    DatabaseNameRequired,
    #[error("database not found: {0}")]
    DatabaseNotFound(String),
    #[error("retention policy name required")]
    RetentionPolicyNameRequired,
    #[error("retention policy not found: {0}")]
    RetentionPolicyNotFound(String),
    #[error("retention policy already exists")]
    RetentionPolicyExists,
    #[error("retention policy conflicts with an existing policy")]
    RetentionPolicyConflict,
    #[error("retention policy duration must be at least 1h0m0s")]
    RetentionPolicyDurationTooLow,
    #[error("retention policy duration must be greater than the shard duration")]
    IncompatibleDurations,
    #[error("replication factor must be greater than 0")]
    ReplicationFactorTooLow,
    #[error("shard group not found")]
    ShardGroupNotFound,
    #[error("shard not found: {0}")]
    ShardNotFound(u64),
    #[error("no data nodes available to own shards")]
    NoDataNodes,
    #[error("username required")]
    UsernameRequired,
    #[error("user already exists")]
    UserExists,
    #[error("user not found")]
    UserNotFound,
    #[error("continuous query already exists")]
    ContinuousQueryExists,
    #[error("continuous query not found")]
    ContinuousQueryNotFound,
    #[error("subscription already exists")]
    SubscriptionExists,
    #[error("subscription not found")]
    SubscriptionNotFound,
    #[error("data node not found: {0}")]
    DataNodeNotFound(String),
    #[error("data node already exists at {0}")]
    DataNodeExists(String),
    #[error("meta node not found: {0}")]
    MetaNodeNotFound(String),
    #[error("meta node already exists at {0}")]
    MetaNodeExists(String),
    #[error(
        "license: adding data node would exceed the licensed maximum of {max} data node(s); \
         remove a data node or install a license with more data nodes"
    )]
    LicenseDataNodes { max: u32 },
    #[error("license: no license is installed in the cluster")]
    NoLicense,
    #[error("another node has the lease")]
    LeaseConflict { lease: crate::model::Lease },
    #[error("lease name required")]
    LeaseNameRequired,
    #[error("invalid command: {0}")]
    Invalid(String),
}
