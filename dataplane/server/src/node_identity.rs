//! `[meta] dir/node.json`: which cluster node this data node is, and the meta servers to
//! ask, so that a restart rejoins without help. Written atomically (temp file, fsync,
//! rename, fsync of the directory) so a crash leaves the old or the new file, never half.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tessera_meta_types::NodeId;

pub const FILE_NAME: &str = "node.json";

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is corrupt ({reason}); if this node should leave its cluster, move the file \
         away and add the node again"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// This node's membership, as the meta plane assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIdentity {
    pub id: NodeId,
    /// HTTP addresses of the meta nodes.
    pub meta_servers: Vec<String>,
}

pub fn path(meta_dir: &Path) -> PathBuf {
    meta_dir.join(FILE_NAME)
}

/// The stored identity, or `None` when the node has not joined a cluster.
pub fn load(meta_dir: &Path) -> Result<Option<NodeIdentity>, IdentityError> {
    let path = path(meta_dir);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(IdentityError::Read { path, source }),
    };
    let identity: NodeIdentity =
        serde_json::from_slice(&bytes).map_err(|e| IdentityError::Corrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    if identity.id == 0 {
        return Err(IdentityError::Corrupt {
            path,
            reason: "node id 0 is not a valid id".into(),
        });
    }
    Ok(Some(identity))
}

/// Replaces the stored identity atomically.
pub fn store(meta_dir: &Path, identity: &NodeIdentity) -> Result<(), IdentityError> {
    let path = path(meta_dir);
    let tmp = meta_dir.join(format!("{FILE_NAME}.tmp"));
    let write_err = |source| IdentityError::Write {
        path: path.clone(),
        source,
    };
    fs::create_dir_all(meta_dir).map_err(write_err)?;
    let mut body = serde_json::to_vec_pretty(identity).expect("identity serializes");
    body.push(b'\n');
    let mut f = File::create(&tmp).map_err(write_err)?;
    f.write_all(&body).map_err(write_err)?;
    f.sync_all().map_err(write_err)?;
    drop(f);
    fs::rename(&tmp, &path).map_err(write_err)?;
    sync_dir(meta_dir).map_err(write_err)
}

/// Forgets the identity (the node left its cluster). Missing is fine.
pub fn remove(meta_dir: &Path) -> Result<(), IdentityError> {
    let path = path(meta_dir);
    match fs::remove_file(&path) {
        Ok(()) => sync_dir(meta_dir).map_err(|source| IdentityError::Remove { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(IdentityError::Remove { path, source }),
    }
}

/// Makes a rename or unlink in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let meta = dir.path().join("meta");
        assert_eq!(load(&meta).unwrap(), None);
        let id = NodeIdentity {
            id: 4,
            meta_servers: vec!["m1:8091".into(), "m2:8091".into()],
        };
        store(&meta, &id).unwrap();
        assert_eq!(load(&meta).unwrap(), Some(id.clone()));
        let text = fs::read_to_string(path(&meta)).unwrap();
        assert!(
            text.contains("\"id\": 4") && text.contains("meta_servers"),
            "{text}"
        );
        assert!(!meta.join("node.json.tmp").exists());
        let id2 = NodeIdentity {
            id: 4,
            meta_servers: vec!["m3:8091".into()],
        };
        store(&meta, &id2).unwrap();
        assert_eq!(load(&meta).unwrap(), Some(id2));
        remove(&meta).unwrap();
        assert_eq!(load(&meta).unwrap(), None);
        remove(&meta).unwrap();
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(path(dir.path()), b"{\"id\": 3, \"meta_serv").unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("node.json") && e.contains("corrupt"), "{e}");
        fs::write(path(dir.path()), b"\xff\xfe garbage").unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(IdentityError::Corrupt { .. })
        ));
        fs::write(path(dir.path()), b"{\"id\": 0, \"meta_servers\": []}").unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(IdentityError::Corrupt { .. })
        ));
    }
}
