//! Bodies of the meta HTTP API. Field names follow InfluxDB Enterprise's meta API
//! (`httpAddr`, `tcpAddr`, `nodeType`), because tools written for it read them.

use serde::{Deserialize, Serialize};
use tessera_meta_types::{Lease, NodeId, Reply};

/// Version string every Tessera node reports (`X-Influxdb-Version`, `show`).
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-tessera");

/// Every error response: `{"error": "..."}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// `GET /status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    pub node_type: String,
    /// Raft address of the leader; empty while there is none.
    pub leader: String,
    pub http_addr: String,
    pub raft_addr: String,
    /// Raft addresses of the voters.
    pub peers: Vec<String>,
    /// This node's id, 0 before it has joined a cluster.
    #[serde(default)]
    pub id: NodeId,
    /// Metadata index this node has applied.
    #[serde(default)]
    pub index: u64,
}

/// `GET /node-info`: who this meta node is, used when another node adds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub id: Option<NodeId>,
    pub http_addr: String,
    pub raft_addr: String,
    pub version: String,
}

/// `GET /show-cluster`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShowClusterResponse {
    pub data: Vec<DataNodeInfo>,
    pub meta: Vec<MetaNodeInfo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DataNodeInfo {
    pub id: NodeId,
    pub tcp_addr: String,
    pub http_addr: String,
    pub version: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetaNodeInfo {
    pub id: NodeId,
    pub addr: String,
    pub http_addr: String,
    pub version: String,
}

/// `POST /join`: add the meta node whose HTTP address is `addr` (`add-meta`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinRequest {
    pub addr: String,
}

/// `POST /remove`: remove the meta node whose HTTP address is `addr` (`remove-meta`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveMetaRequest {
    pub addr: String,
    #[serde(default)]
    pub force: bool,
}

/// `POST /add-data`: add the data node whose TCP address is `addr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AddDataRequest {
    pub addr: String,
}

/// `POST /remove-data`: remove the data node whose TCP address is `addr`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveDataRequest {
    pub addr: String,
    #[serde(default)]
    pub force: bool,
}

/// `POST /update-data`: the data node at TCP address `old` now answers at `new`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateDataRequest {
    pub old: String,
    pub new: String,
}

/// Answer of `/join`, `/add-data` and `/update-data`: the node as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeResponse {
    pub id: NodeId,
    /// Raft address for meta nodes, TCP address for data nodes.
    pub addr: String,
    pub http_addr: String,
}

/// `POST /execute` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecuteResponse {
    /// Metadata index after the command was applied.
    pub index: u64,
    pub reply: Reply,
}

/// `POST /user`: create a user, or (with `update`) set a user's password. The meta node
/// hashes the password; only the hash enters the log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRequest {
    pub name: String,
    pub password: String,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub update: bool,
}

/// `GET /lease` answer, and the body of its 409.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseResponse {
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub expiration: String,
    pub owner: NodeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LeaseResponse {
    pub fn from_lease(lease: &Lease, error: Option<String>) -> Self {
        LeaseResponse {
            name: lease.name.clone(),
            expiration: format_time(lease.expiration),
            owner: lease.owner,
            error,
        }
    }
}

/// `GET /license`: the entitlements in force.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseResponse {
    pub licensee: String,
    pub max_data_nodes: u32,
    pub max_cores: u32,
    pub expires_at: String,
    pub data_nodes: usize,
}

/// Formats nanoseconds since the epoch as RFC 3339 with nanoseconds (Go's RFC3339Nano).
pub fn format_time(nanos: i64) -> String {
    let nanos = nanos.max(0) as u64;
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(nanos);
    let s = humantime_rfc3339_nanos(t);
    // Go trims trailing zeros of the fraction.
    match s.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('Z').trim_end_matches('0');
            if frac.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{frac}Z")
            }
        }
        None => s,
    }
}

fn humantime_rfc3339_nanos(t: std::time::SystemTime) -> String {
    // Civil-from-days (Howard Hinnant's algorithm), to stay free of a time crate here.
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let nanos = d.subsec_nanos();
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_like_go() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_time(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(
            format_time(1_577_836_800_000_000_123),
            "2020-01-01T00:00:00.000000123Z"
        );
    }
}
