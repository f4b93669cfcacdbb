//! Checksummed record files, the on-disk form of the raft log and of snapshots.
//!
//! A record is `[u32 LE length][u32 LE crc32c of payload][payload]`. Reading stops at the
//! first record that is incomplete or fails its checksum: when nothing valid follows it,
//! that is a torn tail from a crash mid-append and is cut off; when more data follows, the
//! file is corrupt and the caller is told where.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const HEADER: usize = 8;
/// Larger records are certainly garbage: metadata entries are kilobytes.
const MAX_RECORD: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: corrupt record at byte {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
}

impl RecordError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        RecordError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Encodes one record.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The records of a buffer and the length of its valid prefix.
pub struct Scan<'a> {
    pub records: Vec<&'a [u8]>,
    pub valid_len: usize,
    /// Set when an invalid record is followed by more bytes than a torn append explains.
    pub corrupt_at: Option<(usize, String)>,
}

pub fn scan(buf: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        if rest.len() < HEADER {
            break;
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            return Scan {
                records,
                valid_len: pos,
                corrupt_at: Some((pos, format!("record length {len} is implausible")))
                    .filter(|_| rest.len() > HEADER),
            };
        }
        if rest.len() < HEADER + len {
            // An append that did not finish: the torn tail.
            break;
        }
        let payload = &rest[HEADER..HEADER + len];
        if crc32c::crc32c(payload) != crc {
            let is_tail = rest.len() == HEADER + len;
            return Scan {
                records,
                valid_len: pos,
                corrupt_at: (!is_tail).then(|| (pos, "checksum mismatch".to_string())),
            };
        }
        records.push(payload);
        pos += HEADER + len;
    }
    Scan {
        records,
        valid_len: pos,
        corrupt_at: None,
    }
}

/// Reads a whole record file; cuts a torn tail off (and logs it), refuses corruption.
pub fn read_all(path: &Path) -> Result<Vec<Vec<u8>>, RecordError> {
    let mut buf = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.read_to_end(&mut buf)
                .map_err(|e| RecordError::io(path, e))?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RecordError::io(path, e)),
    }
    let scan = scan(&buf);
    if let Some((offset, reason)) = scan.corrupt_at {
        return Err(RecordError::Corrupt {
            path: path.to_path_buf(),
            offset: offset as u64,
            reason,
        });
    }
    if scan.valid_len < buf.len() {
        tracing::warn!(
            path = %path.display(),
            valid = scan.valid_len,
            size = buf.len(),
            "cutting off a torn tail left by an interrupted write"
        );
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| RecordError::io(path, e))?;
        f.set_len(scan.valid_len as u64)
            .and_then(|_| f.sync_all())
            .map_err(|e| RecordError::io(path, e))?;
    }
    Ok(scan.records.into_iter().map(|r| r.to_vec()).collect())
}

/// Replaces `path` with `records` atomically: temp file, fsync, rename, fsync of the dir.
pub fn write_atomic(path: &Path, records: &[Vec<u8>]) -> Result<(), RecordError> {
    let tmp = path.with_extension("tmp");
    let mut buf = Vec::new();
    for r in records {
        encode(r, &mut buf);
    }
    let mut f = File::create(&tmp).map_err(|e| RecordError::io(&tmp, e))?;
    f.write_all(&buf)
        .and_then(|_| f.sync_all())
        .map_err(|e| RecordError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| RecordError::io(path, e))?;
    sync_dir(path)
}

/// fsyncs the directory holding `path`, so a rename or create survives a crash.
pub fn sync_dir(path: &Path) -> Result<(), RecordError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RecordError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_is_cut_and_corruption_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut buf = Vec::new();
        encode(b"one", &mut buf);
        encode(b"two", &mut buf);
        let good = buf.len();
        encode(b"three-partial", &mut buf);
        buf.truncate(buf.len() - 4);
        std::fs::write(&path, &buf).unwrap();
        let recs = read_all(&path).unwrap();
        assert_eq!(recs, vec![b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, good);

        // A flipped byte in the middle with valid data after it is corruption.
        let mut buf = Vec::new();
        encode(b"one", &mut buf);
        encode(b"two", &mut buf);
        encode(b"three", &mut buf);
        buf[9] ^= 0x40;
        std::fs::write(&path, &buf).unwrap();
        let err = read_all(&path).unwrap_err().to_string();
        assert!(err.contains("corrupt record at byte 0"), "{err}");

        // A bad checksum on the very last record is a torn tail.
        let mut buf = Vec::new();
        encode(b"one", &mut buf);
        encode(b"two", &mut buf);
        let n = buf.len();
        buf[n - 1] ^= 1;
        std::fs::write(&path, &buf).unwrap();
        assert_eq!(read_all(&path).unwrap(), vec![b"one".to_vec()]);
    }

    #[test]
    fn atomic_write_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("snap");
        write_atomic(&path, &[b"a".to_vec(), b"bc".to_vec()]).unwrap();
        assert_eq!(
            read_all(&path).unwrap(),
            vec![b"a".to_vec(), b"bc".to_vec()]
        );
    }
}
