//! A shard's manifest: the facts fixed when the shard was created, chiefly its partition
//! count, so a later change of `[data] partitions-per-shard` or of the core count never
//! moves a series to another partition. Stored as a checksummed rkyv record, read in place.

use std::path::Path;

use rkyv::rancor::Error as RkyvError;
use rkyv::{Archive, Deserialize, Serialize};

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ShardManifest {
    pub version: u32,
    pub partitions: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("shard manifest {path}: {reason}")]
pub struct ManifestError {
    pub path: String,
    pub reason: String,
}

/// The partition count recorded in `dir/manifest`, writing the manifest with
/// `default_partitions` when the shard is new.
/// Whether the shard directory `dir` holds a manifest (the shard was written to before).
pub fn exists(dir: &Path) -> bool {
    dir.join("manifest").exists()
}

pub fn load_or_create(dir: &Path, default_partitions: u32) -> Result<u32, ManifestError> {
    let path = dir.join("manifest");
    let err = |reason: String| ManifestError {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            if bytes.len() < 4 {
                return Err(err("too short".into()));
            }
            let (crc, body) = bytes.split_at(4);
            if u32::from_le_bytes(crc.try_into().expect("4 bytes")) != crc32c::crc32c(body) {
                return Err(err("checksum mismatch".into()));
            }
            let mut aligned = rkyv::util::AlignedVec::<16>::new();
            aligned.extend_from_slice(body);
            let m = rkyv::access::<ArchivedShardManifest, RkyvError>(&aligned)
                .map_err(|e| err(e.to_string()))?;
            let partitions = m.partitions.to_native();
            if partitions == 0 {
                return Err(err("zero partitions".into()));
            }
            Ok(partitions)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let m = ShardManifest {
                version: 1,
                partitions: default_partitions.max(1),
            };
            let body = rkyv::to_bytes::<RkyvError>(&m).map_err(|e| err(e.to_string()))?;
            let mut bytes = crc32c::crc32c(&body).to_le_bytes().to_vec();
            bytes.extend_from_slice(&body);
            std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &bytes)
                .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
                .and_then(|_| std::fs::rename(&tmp, &path))
                .and_then(|_| std::fs::File::open(dir)?.sync_all())
                .map_err(|e| err(e.to_string()))?;
            Ok(m.partitions)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load_or_create(dir.path(), 8).unwrap(), 8);
        assert_eq!(
            load_or_create(dir.path(), 4).unwrap(),
            8,
            "the recorded count wins"
        );
        let path = dir.path().join("manifest");
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert!(load_or_create(dir.path(), 8).is_err());
    }
}
