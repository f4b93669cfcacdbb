//! One destination node's queue: numbered segment files of records (see `record`)
//! written through glommio DMA files, and a head file (see `head`) saying how far
//! the destination has acknowledged.
//!
//! An append returns once its record is written and `fdatasync`ed. Appends that arrive
//! while a write is in flight form the next group, written and synced together (group
//! commit). O_DIRECT writes whole aligned blocks, so the writer keeps the partial last
//! block in memory and rewrites it with the next group. A write or fsync error fails every
//! append of its group and retires the segment; the next append starts a fresh one. Open
//! always starts a new segment, so a segment is never appended to after a restart.
//!
//! Only bytes up to a segment's durable size are ever read, so readers never see a group
//! whose fsync has not returned. Segments wholly before the head are deleted; the head
//! file is synced before a segment is deleted, so a crash can resend at most the batch that
//! was not acknowledged yet.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use glommio::io::{BufferedFile, DmaFile, OpenOptions};
use glommio::sync::Semaphore;

use crate::config::QueueConfig;
use crate::error::{io_err, HandoffError};
use crate::head::Head;
use crate::record::{self, HEADER, MAX_ENTRY};

mod open;
mod read;
#[cfg(test)]
mod tests;

const SEGMENT_SUFFIX: &str = ".hh";

/// Where an entry sits in its queue; pass it to [`HandoffQueue::advance`] to acknowledge
/// the entry and everything before it. Positions order like the entries they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    segment: u64,
    offset: u64,
    end: u64,
    /// Ordinal of the entry among the intact records of its segment.
    index: u64,
}

impl Position {
    /// The segment file's number.
    pub fn segment(&self) -> u64 {
        self.segment
    }

    /// The record's byte offset in its segment file.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

/// One queued entry, as [`HandoffQueue::peek`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub position: Position,
    /// Wall-clock time of the append (never earlier than the entry before it).
    pub appended_at: SystemTime,
    /// The caller's opaque payload (for the data node: shard id and points).
    pub payload: Bytes,
}

/// A damaged range of a segment file found by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub path: PathBuf,
    pub offset: u64,
    pub bytes: u64,
}

/// What [`HandoffQueue::open`] (and later reads) found wrong on disk. Nothing here is an
/// error: damaged records are skipped and torn tails cut, and each is also logged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Unreadable records with intact records after them; skipped.
    pub damaged: Vec<Damage>,
    /// Segment ends cut short by a crash; truncated away (never acknowledged).
    pub torn: Vec<Damage>,
}

/// A snapshot of a queue's size and progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Bytes of records in segment files, including the acknowledged start of the oldest.
    pub bytes_on_disk: u64,
    /// Unacknowledged bytes (what `max-size` bounds), including appends in flight.
    pub pending_bytes: u64,
    /// Unacknowledged entries written so far.
    pub pending_entries: u64,
    /// Age of the oldest unacknowledged entry.
    pub oldest_entry_age: Option<Duration>,
    pub segments: usize,
    /// Appends acknowledged and `fdatasync`s issued since open.
    pub appends: u64,
    pub syncs: u64,
}

struct SegmentMeta {
    path: PathBuf,
    /// Durable end: bytes of records written and synced.
    size: u64,
    entries: u64,
    first_ts: Option<u64>,
    last_ts: Option<u64>,
    /// Damaged ranges to step over: start → end.
    skips: BTreeMap<u64, u64>,
}

/// The segment being appended to.
struct Writer {
    seq: u64,
    file: Rc<DmaFile>,
    /// The bytes of the last, partial block (from its aligned start to the durable end).
    tail: Vec<u8>,
}

/// Where an append's result is delivered.
#[derive(Default)]
struct Slot {
    result: RefCell<Option<Result<(), HandoffError>>>,
}

#[derive(Default)]
struct Group {
    buf: Vec<u8>,
    slots: Vec<Rc<Slot>>,
    first_ts: u64,
    last_ts: u64,
}

struct State {
    segments: BTreeMap<u64, SegmentMeta>,
    writer: Option<Writer>,
    next_seq: u64,
    head: Head,
    /// Intact records of the head segment before the head.
    head_index: u64,
    /// Timestamp of the entry at the head, when known.
    head_ts: Option<u64>,
    head_file: Option<Rc<DmaFile>>,
    head_path: PathBuf,
    head_generation: u64,
    pending: Group,
    flushing: bool,
    waiters: Vec<Waker>,
    /// Bytes of appends accepted but not yet written.
    reserved: u64,
    last_ts: u64,
    closed: bool,
    reader: Option<(u64, Rc<BufferedFile>)>,
    appends: u64,
    syncs: u64,
    recovery: RecoveryReport,
}

struct Inner {
    dir: PathBuf,
    config: QueueConfig,
    state: RefCell<State>,
    /// Serializes head moves (advance, purge) and their head-file writes.
    head_lock: Semaphore,
}

/// One destination node's durable queue. Cheap to clone; all clones share one queue, which
/// lives on one core.
#[derive(Clone)]
pub struct HandoffQueue {
    inner: Rc<Inner>,
}

pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}{SEGMENT_SUFFIX}"))
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), HandoffError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err(dir, e))
}

fn remove_segment(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not delete an acknowledged hinted handoff segment");
        }
    }
}

impl HandoffQueue {
    /// The queue's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// Damage found by open and by reads since.
    pub fn recovery(&self) -> RecoveryReport {
        self.inner.state.borrow().recovery.clone()
    }

    fn closed_err(&self) -> HandoffError {
        HandoffError::Closed {
            path: self.inner.dir.display().to_string(),
        }
    }

    /// Appends one entry, stamped with the clock, and returns once it is durable. Fails with
    /// [`HandoffError::Full`] (`queue is full`) when it would take the unacknowledged bytes
    /// past `max_size`; nothing already queued is touched.
    pub async fn append(&self, entry: &[u8]) -> Result<(), HandoffError> {
        if entry.len() > MAX_ENTRY {
            return Err(HandoffError::TooLarge(entry.len()));
        }
        let slot = Rc::new(Slot::default());
        {
            let mut st = self.inner.state.borrow_mut();
            if st.closed {
                return Err(self.closed_err());
            }
            let size = (HEADER + entry.len()) as u64;
            let max_size = self.inner.config.max_size;
            if pending_bytes(&st).saturating_add(size) > max_size {
                return Err(HandoffError::Full {
                    path: self.inner.dir.display().to_string(),
                    max_size,
                });
            }
            // Never earlier than the entry before: purge relies on timestamps in order.
            let ts = record::to_nanos(self.inner.config.clock.now()).max(st.last_ts);
            st.last_ts = ts;
            st.reserved += size;
            let g = &mut st.pending;
            if g.slots.is_empty() {
                g.first_ts = ts;
            }
            g.last_ts = ts;
            record::encode(&mut g.buf, ts, entry);
            g.slots.push(Rc::clone(&slot));
        }
        loop {
            let waited = WaitTurn {
                state: &self.inner.state,
                slot: Some(&slot),
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
            let mut st = self.inner.state.borrow_mut();
            debug_assert!(!st.flushing);
            st.flushing = true;
            std::mem::take(&mut st.pending)
        };
        let result = if group.slots.is_empty() {
            Ok(())
        } else {
            self.write_group(&group).await
        };
        if let Err(e) = &result {
            tracing::error!(dir = %self.inner.dir.display(), error = %e,
                "hinted handoff write failed; its appends are refused");
        }
        for slot in &group.slots {
            *slot.result.borrow_mut() = Some(result.clone());
        }
        let waiters = {
            let mut st = self.inner.state.borrow_mut();
            st.reserved -= group.buf.len() as u64;
            if result.is_err() {
                // The segment's state on disk is unknown: never append to it again.
                st.writer = None;
                collect(&mut st);
            } else {
                st.appends += group.slots.len() as u64;
            }
            st.flushing = false;
            std::mem::take(&mut st.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }

    /// Starts a new segment and retires the current one.
    async fn roll(&self) -> Result<(), HandoffError> {
        let seq = {
            let mut st = self.inner.state.borrow_mut();
            st.writer = None;
            collect(&mut st);
            st.next_seq += 1;
            st.next_seq - 1
        };
        let path = segment_path(&self.inner.dir, seq);
        let file = OpenOptions::new()
            .write(true)
            .read(true)
            .create(true)
            .truncate(true)
            .dma_open(&path)
            .await
            .map_err(|e| io_err(&path, e))?;
        // The new name must survive a crash before records in it are acknowledged.
        sync_dir(&self.inner.dir)?;
        let mut st = self.inner.state.borrow_mut();
        st.segments.insert(
            seq,
            SegmentMeta {
                path,
                size: 0,
                entries: 0,
                first_ts: None,
                last_ts: None,
                skips: BTreeMap::new(),
            },
        );
        st.writer = Some(Writer {
            seq,
            file: Rc::new(file),
            tail: Vec::new(),
        });
        // A head left at the end of the retired segment moves here.
        collect(&mut st);
        Ok(())
    }

    async fn write_group(&self, group: &Group) -> Result<(), HandoffError> {
        let needs_new = {
            let st = self.inner.state.borrow();
            match &st.writer {
                None => true,
                Some(w) => {
                    let size = st.segments.get(&w.seq).map_or(0, |m| m.size);
                    size > 0 && size + group.buf.len() as u64 > self.inner.config.segment_size
                }
            }
        };
        if needs_new {
            self.roll().await?;
        }
        let (file, seq, path, start, mut block) = {
            let st = self.inner.state.borrow();
            let w = st.writer.as_ref().expect("a segment was opened above");
            let meta = st
                .segments
                .get(&w.seq)
                .expect("the segment being written is never deleted");
            let start = meta.size - w.tail.len() as u64;
            let mut block = Vec::with_capacity(w.tail.len() + group.buf.len());
            block.extend_from_slice(&w.tail);
            block.extend_from_slice(&group.buf);
            (Rc::clone(&w.file), w.seq, meta.path.clone(), start, block)
        };
        let align = file.alignment() as usize;
        let logical = block.len();
        let padded = logical.div_ceil(align) * align;
        block.resize(padded, 0);
        let mut buf = file.alloc_dma_buffer(padded);
        buf.as_bytes_mut().copy_from_slice(&block);
        let written = file
            .write_at(buf, start)
            .await
            .map_err(|e| io_err(&path, e))?;
        if written < padded {
            return Err(io_err(
                &path,
                format!("short write: {written} of {padded} bytes"),
            ));
        }
        file.fdatasync().await.map_err(|e| io_err(&path, e))?;
        let mut st = self.inner.state.borrow_mut();
        st.syncs += 1;
        if let Some(w) = st.writer.as_mut().filter(|w| w.seq == seq) {
            let keep_from = (logical / align) * align;
            w.tail = block[keep_from..logical].to_vec();
        }
        let meta = st
            .segments
            .get_mut(&seq)
            .expect("the segment being written is never deleted");
        meta.size = start + logical as u64;
        meta.entries += group.slots.len() as u64;
        meta.first_ts.get_or_insert(group.first_ts);
        meta.last_ts = Some(group.last_ts);
        Ok(())
    }

    /// Size and progress now.
    pub fn stats(&self) -> QueueStats {
        let st = self.inner.state.borrow();
        let mut pending_entries = 0;
        for (seq, m) in st.segments.range(st.head.segment..) {
            pending_entries += m.entries;
            if *seq == st.head.segment {
                pending_entries = pending_entries.saturating_sub(st.head_index);
            }
        }
        let now = record::to_nanos(self.inner.config.clock.now());
        QueueStats {
            bytes_on_disk: st.segments.values().map(|m| m.size).sum(),
            pending_bytes: pending_bytes(&st),
            pending_entries,
            oldest_entry_age: oldest_ts(&st).map(|ts| Duration::from_nanos(now.saturating_sub(ts))),
            segments: st.segments.len(),
            appends: st.appends,
            syncs: st.syncs,
        }
    }

    /// Waits for appends in flight, then closes the files. Appends and moves of the head
    /// made afterwards through other clones fail with [`HandoffError::Closed`].
    pub async fn close(self) {
        self.inner.state.borrow_mut().closed = true;
        loop {
            WaitTurn {
                state: &self.inner.state,
                slot: None,
            }
            .await;
            if self.inner.state.borrow().pending.slots.is_empty() {
                break;
            }
            self.flush_group().await;
        }
        // No head write in flight either.
        let permit = self.inner.head_lock.acquire_permit(1).await;
        let (writer, head, reader) = {
            let mut st = self.inner.state.borrow_mut();
            (st.writer.take(), st.head_file.take(), st.reader.take())
        };
        let dma = writer.map(|w| w.file).into_iter().chain(head);
        for file in dma {
            if let Ok(file) = Rc::try_unwrap(file) {
                if let Err(e) = file.close().await {
                    tracing::warn!(dir = %self.inner.dir.display(), error = %e, "closing a hinted handoff file");
                }
            }
        }
        if let Some(Ok(file)) = reader.map(|(_, f)| Rc::try_unwrap(f)) {
            let _ = file.close().await;
        }
        drop(permit);
    }
}

/// Unacknowledged bytes, appends in flight included.
fn pending_bytes(st: &State) -> u64 {
    let written: u64 = st
        .segments
        .range(st.head.segment..)
        .map(|(_, m)| m.size)
        .sum();
    let acked = st
        .segments
        .get(&st.head.segment)
        .map_or(0, |_| st.head.offset);
    written.saturating_sub(acked) + st.reserved
}

/// Timestamp of the oldest unacknowledged entry.
fn oldest_ts(st: &State) -> Option<u64> {
    for (seq, m) in st.segments.range(st.head.segment..) {
        if *seq == st.head.segment && st.head_index > 0 {
            if st.head.offset < m.size {
                return st.head_ts.or(m.first_ts);
            }
        } else if m.entries > 0 {
            return m.first_ts;
        }
    }
    None
}

/// Deletes segments the head has passed, and moves a head that sits at the end of a
/// retired segment to the start of the next. The head file is not rewritten: open treats a
/// head in a missing segment as the start of the next one.
fn collect(st: &mut State) {
    let behind: Vec<u64> = st
        .segments
        .range(..st.head.segment)
        .map(|(s, _)| *s)
        .collect();
    for seq in behind {
        if let Some(m) = st.segments.remove(&seq) {
            remove_segment(&m.path);
        }
    }
    loop {
        let seq = st.head.segment;
        let active = st.writer.as_ref().map(|w| w.seq);
        match st.segments.get(&seq) {
            Some(m) if st.head.offset >= m.size && active != Some(seq) => {
                if let Some(m) = st.segments.remove(&seq) {
                    remove_segment(&m.path);
                }
                if st.reader.as_ref().is_some_and(|(s, _)| *s == seq) {
                    st.reader = None;
                }
            }
            Some(_) => return,
            None => {}
        }
        // The head is in a missing segment: it means the start of the next one.
        let next = st.segments.range(seq..).next().map(|(s, _)| *s);
        st.head = Head {
            segment: next.unwrap_or(st.next_seq.max(seq)),
            offset: 0,
        };
        st.head_index = 0;
        st.head_ts = None;
        if next.is_none() {
            return;
        }
    }
}

/// With a slot: resolves with the append's result, or with `None` when no write is in
/// flight (the caller should then write the pending group). Without: resolves once no
/// write is in flight.
struct WaitTurn<'a> {
    state: &'a RefCell<State>,
    slot: Option<&'a Rc<Slot>>,
}

impl Future for WaitTurn<'_> {
    type Output = Option<Result<(), HandoffError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(r) = self.slot.and_then(|s| s.result.borrow_mut().take()) {
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
