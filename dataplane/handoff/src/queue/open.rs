//! Opening a queue: reading the head, scanning and repairing the segments.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use glommio::io::BufferedFile;
use glommio::sync::Semaphore;

use super::{
    remove_segment, segment_path, Damage, Group, HandoffQueue, Inner, RecoveryReport, SegmentMeta,
    State, SEGMENT_SUFFIX,
};
use crate::config::QueueConfig;
use crate::error::{io_err, HandoffError};
use crate::head::{Head, HeadFile};
use crate::record;

/// Segment numbers in `dir`, ascending.
fn list_segments(dir: &Path) -> Result<Vec<u64>, HandoffError> {
    let mut seqs = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let entry = entry.map_err(|e| io_err(dir, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(seq) = name
            .strip_suffix(SEGMENT_SUFFIX)
            .and_then(|s| s.parse::<u64>().ok())
        {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

async fn read_whole(path: &Path) -> Result<Vec<u8>, HandoffError> {
    let file = BufferedFile::open(path)
        .await
        .map_err(|e| io_err(path, e))?;
    let size = file.file_size().await.map_err(|e| io_err(path, e))?;
    let mut out = Vec::with_capacity(size as usize);
    // Chunked: one huge read would need one huge kernel buffer.
    const CHUNK: u64 = 4 << 20;
    let mut at = 0;
    while at < size {
        let want = (size - at).min(CHUNK) as usize;
        let got = file.read_at(at, want).await.map_err(|e| io_err(path, e))?;
        if got.is_empty() {
            break;
        }
        out.extend_from_slice(&got);
        at += got.len() as u64;
    }
    let _ = file.close().await;
    Ok(out)
}

impl HandoffQueue {
    /// Opens (creating if needed) the queue in `dir`: reads the head, scans every segment
    /// after it, skips damaged records (logged and listed in [`Self::recovery`]), truncates
    /// torn tails and deletes acknowledged segments. Later appends go to a new segment.
    pub async fn open(dir: &Path, config: QueueConfig) -> Result<HandoffQueue, HandoffError> {
        config.validate()?;
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let (head_file, mut head) = HeadFile::open(dir).await?;
        let seqs = list_segments(dir)?;
        let next_seq = seqs.last().copied().unwrap_or(0).max(head.segment) + 1;
        let mut segments = BTreeMap::new();
        let mut recovery = RecoveryReport::default();
        let (mut head_index, mut head_ts) = (0, None);
        let mut last_ts = 0;
        for seq in seqs {
            let path = segment_path(dir, seq);
            if seq < head.segment {
                // Acknowledged before a crash that came before its deletion.
                remove_segment(&path);
                continue;
            }
            let bytes = read_whole(&path).await?;
            let is_head = seq == head.segment;
            let scan = record::scan(&bytes, is_head.then_some(head.offset));
            for r in &scan.damaged {
                tracing::error!(path = %path.display(), offset = r.start, bytes = r.end - r.start,
                    "hinted handoff segment has a damaged record; skipping it");
                recovery.damaged.push(Damage {
                    path: path.clone(),
                    offset: r.start,
                    bytes: r.end - r.start,
                });
            }
            if let Some(r) = &scan.torn {
                tracing::warn!(path = %path.display(), offset = r.start, bytes = r.end - r.start,
                    "hinted handoff segment ends in a torn write; truncating the unacknowledged tail");
                recovery.torn.push(Damage {
                    path: path.clone(),
                    offset: r.start,
                    bytes: r.end - r.start,
                });
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .and_then(|f| {
                        f.set_len(scan.end)?;
                        f.sync_all()
                    })
                    .map_err(|e| io_err(&path, e))?;
            }
            let fully_acked = is_head && scan.head_offset >= scan.end;
            if fully_acked || scan.entries == 0 {
                remove_segment(&path);
                continue;
            }
            if is_head {
                head.offset = scan.head_offset;
                head_index = scan.before_head;
                head_ts = scan.head_ts;
            }
            last_ts = last_ts.max(scan.last_ts.unwrap_or(0));
            segments.insert(
                seq,
                SegmentMeta {
                    path,
                    size: scan.end,
                    entries: scan.entries,
                    first_ts: scan.first_ts,
                    last_ts: scan.last_ts,
                    skips: scan.damaged.iter().map(|r| (r.start, r.end)).collect(),
                },
            );
        }
        if !segments.contains_key(&head.segment) {
            head = Head {
                segment: segments.keys().next().copied().unwrap_or(next_seq),
                offset: 0,
            };
            head_index = 0;
            head_ts = None;
        }
        let queue = HandoffQueue {
            inner: Rc::new(Inner {
                dir: dir.to_path_buf(),
                config,
                state: RefCell::new(State {
                    segments,
                    writer: None,
                    next_seq,
                    head,
                    head_index,
                    head_ts,
                    head_file: Some(Rc::new(head_file.file)),
                    head_path: head_file.path,
                    head_generation: head_file.generation,
                    pending: Group::default(),
                    flushing: false,
                    waiters: Vec::new(),
                    reserved: 0,
                    last_ts,
                    closed: false,
                    reader: None,
                    appends: 0,
                    syncs: 0,
                    recovery,
                }),
                head_lock: Semaphore::new(1),
            }),
        };
        let stats = queue.stats();
        tracing::debug!(dir = %dir.display(), entries = stats.pending_entries,
            bytes = stats.pending_bytes, segments = stats.segments, "hinted handoff queue opened");
        Ok(queue)
    }
}
