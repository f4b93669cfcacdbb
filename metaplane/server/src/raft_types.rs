//! The openraft type configuration of the meta plane.

use std::fmt;
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use tessera_meta_types::{Command, MetaError, Reply};

/// A meta node as raft sees it: where to send raft traffic and where its API lives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPeer {
    pub raft_addr: String,
    pub http_addr: String,
}

impl fmt::Display for MetaPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (api {})", self.raft_addr, self.http_addr)
    }
}

/// What applying one log entry produced; errors are part of the answer, not raft failures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome(pub Result<Reply, MetaError>);

openraft::declare_raft_types!(
    pub TypeConfig:
        D = Command,
        R = Outcome,
        NodeId = u64,
        Node = MetaPeer,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<u64>;
pub type Vote = openraft::Vote<u64>;
pub type StorageError = openraft::StorageError<u64>;
pub type StoredMembership = openraft::StoredMembership<u64, MetaPeer>;
pub type SnapshotMeta = openraft::SnapshotMeta<u64, MetaPeer>;
