//! The write-ahead log of one partition: numbered segment files written through glommio
//! DMA files (O_DIRECT on io_uring).
//!
//! Records are `[u32 LE payload len][u32 LE crc32c(payload)][payload]`, back to back. An
//! append returns only after its record is written and `fdatasync`ed. Appends that arrive
//! while a write is in flight form the next group, written and synced together (group
//! commit), so one fsync acknowledges many writes.
//!
//! O_DIRECT writes whole aligned blocks, so the writer keeps the partial last block in
//! memory and rewrites it with the next group. Zeros follow the last record; a zero length
//! ends a segment.
//!
//! After a crash, replay stops at the first record that is cut short or fails its
//! checksum: nothing after it was acknowledged, because its group's fsync never returned.
//! A write or fsync error fails every append of that group and retires the segment; the
//! next append starts a fresh one. On open, a new segment is always started, so segments
//! written before are never appended to again.

use std::cell::RefCell;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use glommio::io::{DmaFile, OpenOptions};

/// Bytes before each payload.
const HEADER: usize = 8;
/// A segment is closed once it grows past this.
pub const DEFAULT_SEGMENT_SIZE: u64 = 16 << 20;
/// Largest single payload: a partition's share of one request.
pub const MAX_RECORD: usize = 256 << 20;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WalError {
    #[error("WAL {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("WAL record of {0} bytes exceeds the limit of {MAX_RECORD}")]
    TooLarge(usize),
    #[error("WAL segment {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        path: String,
        offset: u64,
        reason: String,
    },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> WalError {
    WalError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Where an append's result is delivered.
#[derive(Default)]
struct Slot {
    result: RefCell<Option<Result<(), WalError>>>,
}

#[derive(Default)]
struct Group {
    buf: Vec<u8>,
    slots: Vec<Rc<Slot>>,
}

struct Segment {
    file: Rc<DmaFile>,
    path: PathBuf,
    seq: u64,
    /// Logical end: bytes of records written.
    size: u64,
    /// The bytes of the last, partial block (from `align_down(size)` to `size`).
    tail: Vec<u8>,
}

struct State {
    dir: PathBuf,
    segment_size: u64,
    segment: Option<Segment>,
    next_seq: u64,
    pending: Group,
    flushing: bool,
    waiters: Vec<Waker>,
    bytes_written: u64,
    syncs: u64,
}

/// A partition's WAL. Cheap to clone; all clones share one log (one core only).
#[derive(Clone)]
pub struct Wal {
    state: Rc<RefCell<State>>,
}

/// What [`Wal::open`] found on disk.
pub struct Replay {
    /// Payloads of every intact record, oldest first.
    pub records: Vec<Vec<u8>>,
    /// Segment numbers found (all of them older than the segment the WAL now writes).
    pub segments: Vec<u64>,
    /// Bytes cut off after the last intact record of each segment (torn tails).
    pub discarded_bytes: u64,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.wal"))
}

/// Segment numbers in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, WalError> {
    let mut seqs = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(seqs),
        Err(e) => return Err(io_err(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".wal") {
            if let Ok(seq) = stem.parse::<u64>() {
                seqs.push(seq);
            }
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Splits a segment's bytes into record payloads; returns them and the intact length.
pub fn parse_segment(buf: &[u8]) -> (Vec<&[u8]>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + HEADER <= buf.len() {
        let len = u32::from_le_bytes(buf[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(buf[pos + 4..pos + 8].try_into().expect("4 bytes"));
        if len == 0 || len > MAX_RECORD || pos + HEADER + len > buf.len() {
            break;
        }
        let payload = &buf[pos + HEADER..pos + HEADER + len];
        if crc32c::crc32c(payload) != crc {
            break;
        }
        out.push(payload);
        pos += HEADER + len;
    }
    (out, pos)
}

fn sync_dir(dir: &Path) -> Result<(), WalError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

impl Wal {
    /// Opens the WAL in `dir`, reading every record of the existing segments.
    pub async fn open(dir: &Path, segment_size: u64) -> Result<(Wal, Replay), WalError> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let segments = list_segments(dir)?;
        let mut records = Vec::new();
        let mut discarded = 0u64;
        for &seq in &segments {
            let path = segment_path(dir, seq);
            let bytes = std::fs::read(&path).map_err(|e| io_err(&path, e))?;
            let (payloads, intact) = parse_segment(&bytes);
            let rest = &bytes[intact..];
            if rest.iter().any(|b| *b != 0) {
                let cut = rest.iter().rposition(|b| *b != 0).map_or(0, |p| p + 1);
                tracing::warn!(
                    path = %path.display(),
                    offset = intact,
                    bytes = cut,
                    "WAL segment ends in a torn write; discarding the unacknowledged tail"
                );
                discarded += cut as u64;
            }
            records.extend(payloads.into_iter().map(|p| p.to_vec()));
        }
        let next_seq = segments.last().map_or(1, |s| s + 1);
        let wal = Wal {
            state: Rc::new(RefCell::new(State {
                dir: dir.to_path_buf(),
                segment_size,
                segment: None,
                next_seq,
                pending: Group::default(),
                flushing: false,
                waiters: Vec::new(),
                bytes_written: 0,
                syncs: 0,
            })),
        };
        Ok((
            wal,
            Replay {
                records,
                segments,
                discarded_bytes: discarded,
            },
        ))
    }

    /// Appends one record and returns once it is durable.
    pub async fn append(&self, payload: &[u8]) -> Result<(), WalError> {
        if payload.is_empty() {
            return Ok(());
        }
        if payload.len() > MAX_RECORD {
            return Err(WalError::TooLarge(payload.len()));
        }
        let slot = Rc::new(Slot::default());
        {
            let mut st = self.state.borrow_mut();
            let g = &mut st.pending;
            g.buf
                .extend_from_slice(&(payload.len() as u32).to_le_bytes());
            g.buf
                .extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
            g.buf.extend_from_slice(payload);
            g.slots.push(Rc::clone(&slot));
        }
        loop {
            let waited = WaitTurn {
                state: &self.state,
                slot: &slot,
            }
            .await;
            match waited {
                Some(result) => return result,
                // Nobody is writing: this append writes the pending group itself.
                None => self.flush_group().await,
            }
        }
    }

    async fn flush_group(&self) {
        let group = {
            let mut st = self.state.borrow_mut();
            debug_assert!(!st.flushing);
            st.flushing = true;
            std::mem::take(&mut st.pending)
        };
        let result = if group.buf.is_empty() {
            Ok(())
        } else {
            self.write_and_sync(&group.buf).await
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "WAL write failed; its writes are refused");
            // The segment's state on disk is unknown: never append to it again.
            self.state.borrow_mut().segment = None;
        }
        for slot in &group.slots {
            *slot.result.borrow_mut() = Some(result.clone());
        }
        let waiters = {
            let mut st = self.state.borrow_mut();
            st.flushing = false;
            std::mem::take(&mut st.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }

    async fn open_segment(&self) -> Result<(), WalError> {
        let (dir, seq) = {
            let mut st = self.state.borrow_mut();
            let seq = st.next_seq;
            st.next_seq += 1;
            (st.dir.clone(), seq)
        };
        let path = segment_path(&dir, seq);
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create(true)
            .truncate(true)
            .dma_open(&path)
            .await
            .map_err(|e| io_err(&path, e))?;
        // The new name must survive a crash before records in it are acknowledged.
        sync_dir(&dir)?;
        self.state.borrow_mut().segment = Some(Segment {
            file: Rc::new(file),
            path,
            seq,
            size: 0,
            tail: Vec::new(),
        });
        Ok(())
    }

    async fn write_and_sync(&self, data: &[u8]) -> Result<(), WalError> {
        let needs_new = {
            let st = self.state.borrow();
            match &st.segment {
                None => true,
                Some(s) => s.size >= st.segment_size,
            }
        };
        if needs_new {
            self.open_segment().await?;
        }
        let (file, path, start, mut block) = {
            let st = self.state.borrow();
            let seg = st.segment.as_ref().expect("segment opened above");
            let start = seg.size - seg.tail.len() as u64;
            let mut block = Vec::with_capacity(seg.tail.len() + data.len());
            block.extend_from_slice(&seg.tail);
            block.extend_from_slice(data);
            (Rc::clone(&seg.file), seg.path.clone(), start, block)
        };
        let align = file.alignment() as usize;
        let logical = block.len();
        let padded = logical.div_ceil(align) * align;
        block.resize(padded, 0);
        // A short write (the disk filled part-way) is retried for the rest, so that a full
        // disk reports the system's own error (ENOSPC) rather than a byte count.
        let mut written = 0usize;
        while written < padded {
            let rest = padded - written;
            let mut buf = file.alloc_dma_buffer(rest);
            buf.as_bytes_mut().copy_from_slice(&block[written..]);
            let n = file
                .write_at(buf, start + written as u64)
                .await
                .map_err(|e| io_err(&path, e))?;
            if n == 0 || n % align != 0 {
                return Err(io_err(
                    &path,
                    format!("short write: {} of {padded} bytes", written + n),
                ));
            }
            written += n;
        }
        file.fdatasync().await.map_err(|e| io_err(&path, e))?;
        let mut st = self.state.borrow_mut();
        st.bytes_written += data.len() as u64;
        st.syncs += 1;
        // The segment may have been rotated out while this write was in flight; then the
        // next append opens a new one and there is no tail to keep.
        if let Some(seg) = st
            .segment
            .as_mut()
            .filter(|seg| Rc::ptr_eq(&seg.file, &file))
        {
            seg.size = start + logical as u64;
            let keep_from = (logical / align) * align;
            seg.tail = block[keep_from..logical].to_vec();
        }
        Ok(())
    }

    /// Closes the current segment so later appends go to a new one; returns the number of
    /// the last segment that holds data written so far (0 when none).
    pub fn rotate(&self) -> u64 {
        let mut st = self.state.borrow_mut();
        match st.segment.take() {
            Some(seg) => seg.seq,
            None => st.next_seq - 1,
        }
    }

    /// Deletes every segment numbered `seq` or lower (their data is in files now).
    pub fn remove_through(&self, seq: u64) -> Result<usize, WalError> {
        let dir = self.state.borrow().dir.clone();
        let current = self.state.borrow().segment.as_ref().map(|s| s.seq);
        let mut removed = 0;
        for s in list_segments(&dir)? {
            if s > seq || Some(s) == current {
                continue;
            }
            let path = segment_path(&dir, s);
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            removed += 1;
        }
        Ok(removed)
    }

    /// (bytes written, fsyncs) since open.
    pub fn stats(&self) -> (u64, u64) {
        let st = self.state.borrow();
        (st.bytes_written, st.syncs)
    }

    pub fn dir(&self) -> PathBuf {
        self.state.borrow().dir.clone()
    }
}

/// Resolves with the append's result, or with `None` when no write is in flight (the
/// caller should then write the pending group).
struct WaitTurn<'a> {
    state: &'a Rc<RefCell<State>>,
    slot: &'a Rc<Slot>,
}

impl Future for WaitTurn<'_> {
    type Output = Option<Result<(), WalError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(r) = self.slot.result.borrow_mut().take() {
            return Poll::Ready(Some(r));
        }
        let mut st = self.state.borrow_mut();
        if !st.flushing {
            return Poll::Ready(None);
        }
        st.waiters.push(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests;
