//! `DIR/cluster.json`: what `tessera up` started, so that `tessera status` and
//! `tessera down` find every node again. Scripts read it too: `http` and `tcp` are
//! `host:port` without a scheme.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name inside the cluster directory.
pub const FILE_NAME: &str = "cluster.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Meta,
    Data,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Meta => "meta",
            Role::Data => "data",
        })
    }
}

/// One node process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    pub role: Role,
    /// Cluster node id; 0 until the node has joined.
    pub id: u64,
    pub pid: u32,
    /// HTTP API, `host:port`.
    pub http: String,
    /// Raft address for meta nodes, cluster RPC address for data nodes.
    pub tcp: String,
    pub dir: PathBuf,
    pub log: PathBuf,
    pub config: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFile {
    /// Absolute cluster directory.
    pub dir: PathBuf,
    pub license: PathBuf,
    /// Meta nodes first, in start order, then data nodes.
    pub nodes: Vec<NodeEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterFileError {
    #[error(
        "no cluster in {dir}: {path} does not exist (start one with `tessera up --dir {dir}`)"
    )]
    Missing { dir: String, path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a valid cluster file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl ClusterFile {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE_NAME)
    }

    pub fn meta_nodes(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.iter().filter(|n| n.role == Role::Meta)
    }

    pub fn data_nodes(&self) -> impl Iterator<Item = &NodeEntry> {
        self.nodes.iter().filter(|n| n.role == Role::Data)
    }

    pub fn load(dir: &Path) -> Result<Self, ClusterFileError> {
        let path = Self::path(dir);
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ClusterFileError::Missing {
                    dir: dir.display().to_string(),
                    path: shown,
                })
            }
            Err(source) => {
                return Err(ClusterFileError::Read {
                    path: shown,
                    source,
                })
            }
        };
        serde_json::from_str(&text).map_err(|source| ClusterFileError::Parse {
            path: shown,
            source,
        })
    }

    /// Writes through a temporary file and a rename, so a reader never sees half a file.
    pub fn save(&self, dir: &Path) -> Result<(), ClusterFileError> {
        let path = Self::path(dir);
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        let write = |p: &Path, source| ClusterFileError::Write {
            path: p.display().to_string(),
            source,
        };
        let mut text = serde_json::to_string_pretty(self).expect("cluster file serializes");
        text.push('\n');
        std::fs::write(&tmp, text).map_err(|e| write(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| write(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> ClusterFile {
        let node = |role, id, pid, http: &str, tcp: &str, name: &str| NodeEntry {
            role,
            id,
            pid,
            http: http.into(),
            tcp: tcp.into(),
            dir: dir.join(name),
            log: dir.join(name).join("x.log"),
            config: dir.join(name).join("x.toml"),
        };
        ClusterFile {
            dir: dir.to_path_buf(),
            license: dir.join("trial.license"),
            nodes: vec![
                node(
                    Role::Meta,
                    1,
                    100,
                    "127.0.0.1:18191",
                    "127.0.0.1:18189",
                    "meta-1",
                ),
                node(
                    Role::Data,
                    2,
                    101,
                    "127.0.0.1:18086",
                    "127.0.0.1:18088",
                    "data-1",
                ),
            ],
        }
    }

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("tessera-cf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = sample(&dir);
        file.save(&dir).unwrap();
        assert_eq!(ClusterFile::load(&dir).unwrap(), file);
        assert_eq!(file.meta_nodes().count(), 1);
        assert_eq!(file.data_nodes().next().unwrap().id, 2);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            ClusterFile::load(&dir),
            Err(ClusterFileError::Missing { .. })
        ));
    }

    #[test]
    fn json_shape_for_scripts() {
        let v = serde_json::to_value(sample(Path::new("/t"))).unwrap();
        let node = &v["nodes"][1];
        assert_eq!(node["role"], "data");
        assert_eq!(node["http"], "127.0.0.1:18086");
        assert_eq!(node["tcp"], "127.0.0.1:18088");
        assert_eq!(node["dir"], "/t/data-1");
        assert_eq!(node["pid"], 101);
    }
}
