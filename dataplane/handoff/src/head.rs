//! The head file: how far the destination has acknowledged the queue.
//!
//! Two 4 KiB slots, written alternately through a DMA file and `fdatasync`ed; each holds
//! `[magic u32][generation u64][segment u64][offset u64][crc32c u32]`. A torn write can
//! only damage the slot being written, so the other one still holds the previous head;
//! open takes the valid slot with the higher generation. One write and one fsync per
//! acknowledgement, no rename and no directory sync.

use std::io::Write;
use std::path::{Path, PathBuf};

use glommio::io::{DmaFile, OpenOptions};

use crate::error::{io_err, HandoffError};

pub(crate) const HEAD_FILE: &str = "head";
/// One slot: a multiple of every O_DIRECT alignment in use (512 or 4096).
const SLOT: usize = 4096;
const HEAD_MAGIC: u32 = u32::from_le_bytes(*b"THHD");
const SLOT_BYTES: usize = 32;

/// The first unacknowledged byte: `offset` in segment `segment`. Segment 0 never exists
/// (numbers start at 1), so the default head means "from the start".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Head {
    pub(crate) segment: u64,
    pub(crate) offset: u64,
}

fn encode_slot(generation: u64, head: Head) -> [u8; SLOT_BYTES] {
    let mut b = [0u8; SLOT_BYTES];
    b[0..4].copy_from_slice(&HEAD_MAGIC.to_le_bytes());
    b[4..12].copy_from_slice(&generation.to_le_bytes());
    b[12..20].copy_from_slice(&head.segment.to_le_bytes());
    b[20..28].copy_from_slice(&head.offset.to_le_bytes());
    let crc = crc32c::crc32c(&b[0..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    b
}

fn decode_slot(b: &[u8]) -> Option<(u64, Head)> {
    let b = b.get(..SLOT_BYTES)?;
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    if u32_at(0) != HEAD_MAGIC || crc32c::crc32c(&b[0..28]) != u32_at(28) {
        return None;
    }
    let head = Head {
        segment: u64_at(12),
        offset: u64_at(20),
    };
    Some((u64_at(4), head))
}

/// The newest valid slot of a head file's bytes.
fn decode(bytes: &[u8]) -> Option<(u64, Head)> {
    let a = decode_slot(bytes);
    let b = bytes.get(SLOT..).and_then(decode_slot);
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The open head file.
pub(crate) struct HeadFile {
    pub(crate) file: DmaFile,
    pub(crate) path: PathBuf,
    /// Generation of the last slot written.
    pub(crate) generation: u64,
}

impl HeadFile {
    /// Reads the head of the queue in `dir` (the default head when there is none) and opens
    /// the file for writing. A missing, short or unreadable file is rewritten first, so the
    /// first DMA file this opens always holds data: glommio decides whether a device takes
    /// polled reads by reading the first DMA file opened on it, and an empty one misleads it.
    pub(crate) async fn open(dir: &Path) -> Result<(HeadFile, Head), HandoffError> {
        let path = dir.join(HEAD_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io_err(&path, e)),
        };
        let found = decode(&bytes);
        if found.is_none() && !bytes.is_empty() {
            tracing::warn!(
                path = %path.display(),
                "hinted handoff head file is unreadable; the queue is resent from its start"
            );
        }
        let (generation, head) = found.unwrap_or_default();
        if bytes.len() != 2 * SLOT || found.is_none() {
            let mut fresh = vec![0u8; 2 * SLOT];
            let at = (generation % 2) as usize * SLOT;
            fresh[at..at + SLOT_BYTES].copy_from_slice(&encode_slot(generation, head));
            std::fs::File::create(&path)
                .and_then(|mut f| {
                    f.write_all(&fresh)?;
                    f.sync_all()
                })
                .map_err(|e| io_err(&path, e))?;
            crate::queue::sync_dir(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .dma_open(&path)
            .await
            .map_err(|e| io_err(&path, e))?;
        let hf = HeadFile {
            file,
            path,
            generation,
        };
        Ok((hf, head))
    }
}

/// Writes `head` as generation `generation` into its slot and syncs it.
pub(crate) async fn write(
    file: &DmaFile,
    path: &Path,
    generation: u64,
    head: Head,
) -> Result<(), HandoffError> {
    let mut buf = file.alloc_dma_buffer(SLOT);
    let bytes = buf.as_bytes_mut();
    bytes.fill(0);
    bytes[..SLOT_BYTES].copy_from_slice(&encode_slot(generation, head));
    let at = (generation % 2) * SLOT as u64;
    let written = file.write_at(buf, at).await.map_err(|e| io_err(path, e))?;
    if written < SLOT {
        return Err(io_err(
            path,
            format!("short write: {written} of {SLOT} bytes"),
        ));
    }
    file.fdatasync().await.map_err(|e| io_err(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_valid_slot_wins() {
        let mut bytes = vec![0u8; 2 * SLOT];
        let h = |segment, offset| Head { segment, offset };
        bytes[..SLOT_BYTES].copy_from_slice(&encode_slot(4, h(2, 100)));
        bytes[SLOT..SLOT + SLOT_BYTES].copy_from_slice(&encode_slot(5, h(3, 0)));
        assert_eq!(decode(&bytes), Some((5, h(3, 0))));
        // A torn newer slot falls back to the older one.
        bytes[SLOT + 14] ^= 1;
        assert_eq!(decode(&bytes), Some((4, h(2, 100))));
        assert_eq!(decode(&bytes[..10]), None);
        assert_eq!(decode(&[]), None);
    }
}
