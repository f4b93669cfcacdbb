//! Deletes: tombstones over the data files of a partition.
//!
//! A delete first flushes the cache (so the WAL no longer holds the points), then records
//! `(series, min, max, upto)`: points of that series in `[min, max]` in files older than
//! generation `upto` are gone. Reads apply the tombstones; compaction keeps a file's
//! newest input generation, so tombstones stay true across compactions. Records are
//! appended to `tombstones.log` (length, crc32c, payload) and fsynced before the delete is
//! answered; a torn last record is ignored on load.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::column::Column;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub min: i64,
    pub max: i64,
    /// Applies to files with a generation below this.
    pub upto: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("tombstones {path}: {reason}")]
pub struct TombstoneError {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Default, Clone)]
pub struct Tombstones {
    path: PathBuf,
    by_key: HashMap<Box<[u8]>, Vec<Tombstone>>,
}

fn encode(key: &[u8], t: &Tombstone, out: &mut Vec<u8>) {
    let mut p = Vec::with_capacity(key.len() + 28);
    p.extend_from_slice(&t.min.to_le_bytes());
    p.extend_from_slice(&t.max.to_le_bytes());
    p.extend_from_slice(&t.upto.to_le_bytes());
    p.extend_from_slice(&(key.len() as u32).to_le_bytes());
    p.extend_from_slice(key);
    out.extend_from_slice(&(p.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&p).to_le_bytes());
    out.extend_from_slice(&p);
}

fn decode(p: &[u8]) -> Option<(Vec<u8>, Tombstone)> {
    let i = |a: usize| -> Option<[u8; 8]> { p.get(a..a + 8)?.try_into().ok() };
    let min = i64::from_le_bytes(i(0)?);
    let max = i64::from_le_bytes(i(8)?);
    let upto = u64::from_le_bytes(i(16)?);
    let kl = u32::from_le_bytes(p.get(24..28)?.try_into().ok()?) as usize;
    let key = p.get(28..28 + kl)?.to_vec();
    Some((key, Tombstone { min, max, upto }))
}

impl Tombstones {
    pub fn load(dir: &Path) -> Result<Tombstones, TombstoneError> {
        let path = dir.join("tombstones.log");
        let mut t = Tombstones {
            path: path.clone(),
            by_key: HashMap::new(),
        };
        let data = match std::fs::read(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(t),
            Err(e) => {
                return Err(TombstoneError {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })
            }
        };
        let mut at = 0;
        while at + 8 <= data.len() {
            let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
            let crc = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
            let Some(p) = data.get(at + 8..at + 8 + len) else {
                break; // torn tail
            };
            if crc32c::crc32c(p) != crc {
                if at + 8 + len == data.len() {
                    break; // torn tail
                }
                return Err(TombstoneError {
                    path: path.display().to_string(),
                    reason: format!("record at offset {at} fails its checksum"),
                });
            }
            if let Some((k, ts)) = decode(p) {
                t.by_key.entry(k.into()).or_default().push(ts);
            }
            at += 8 + len;
        }
        Ok(t)
    }

    /// Records tombstones durably (fsync) before they take effect.
    pub fn append(&mut self, entries: &[(Vec<u8>, Tombstone)]) -> Result<(), TombstoneError> {
        if entries.is_empty() {
            return Ok(());
        }
        let err = |e: std::io::Error| TombstoneError {
            path: self.path.display().to_string(),
            reason: e.to_string(),
        };
        let mut buf = Vec::new();
        for (k, t) in entries {
            encode(k, t, &mut buf);
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(err)?;
        f.write_all(&buf).map_err(err)?;
        f.sync_data().map_err(err)?;
        for (k, t) in entries {
            self.by_key
                .entry(k.clone().into())
                .or_default()
                .push(t.clone());
        }
        Ok(())
    }

    /// Tombstone records held (a persisted series index notes how many it reflects).
    pub fn records(&self) -> u64 {
        self.by_key.values().map(|v| v.len() as u64).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Removes from `col` (read from a file of `generation`) what tombstones cover.
    pub fn apply(&self, key: &[u8], generation: u64, col: &mut Column) {
        if let Some(ts) = self.by_key.get(key) {
            for t in ts.iter().filter(|t| generation < t.upto) {
                col.remove_range(t.min, t.max);
            }
        }
    }

    /// Whether some tombstone removes points of the series from a file of `generation`.
    pub fn touches(&self, key: &[u8], generation: u64) -> bool {
        self.by_key
            .get(key)
            .is_some_and(|ts| ts.iter().any(|t| generation < t.upto))
    }

    /// Whether every point of the series in files older than `generation` is deleted.
    pub fn covers_all(&self, key: &[u8], generation: u64) -> bool {
        self.by_key.get(key).is_some_and(|ts| {
            ts.iter()
                .any(|t| t.min <= i64::MIN + 2 && t.max >= i64::MAX - 1 && generation < t.upto)
        })
    }
}
