//! Reading the queue from its head, acknowledging, and purging by age.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use glommio::io::BufferedFile;

use super::{collect, Damage, HandoffQueue, Position};
use crate::error::{io_err, HandoffError};
use crate::head::{self, Head};
use crate::record::{self, Parsed, HEADER};
use crate::Entry;

/// Smallest read from a segment: small entries come many to a read.
const READ_CHUNK: usize = 64 << 10;
/// Batch size while purge looks for the first entry young enough to keep.
const PURGE_CHUNK: usize = 1 << 20;

impl HandoffQueue {
    /// The oldest unacknowledged entries, in order, without removing them: as many whole
    /// entries as fit in `max_bytes` of payload, but always at least one when the queue
    /// holds any (however large). Empty when nothing is pending.
    pub async fn peek(&self, max_bytes: usize) -> Result<Vec<Entry>, HandoffError> {
        let (head, index) = {
            let st = self.inner.state.borrow();
            if st.closed {
                return Err(self.closed_err());
            }
            (st.head, st.head_index)
        };
        self.read_from(head, index, max_bytes).await
    }

    /// Reads entries starting at `start` (the `index`th record of its segment).
    async fn read_from(
        &self,
        start: Head,
        index: u64,
        max_bytes: usize,
    ) -> Result<Vec<Entry>, HandoffError> {
        let segments: Vec<(u64, u64)> = {
            let st = self.inner.state.borrow();
            st.segments
                .range(start.segment..)
                .map(|(s, m)| (*s, m.size))
                .collect()
        };
        let mut out: Vec<Entry> = Vec::new();
        let mut total = 0usize;
        for (seq, size) in segments {
            let (mut off, mut index) = if seq == start.segment {
                (start.offset, index)
            } else {
                (0, 0)
            };
            let mut at_least = 0;
            while off < size {
                if let Some(end) = self.skip_at(seq, off) {
                    off = end;
                    continue;
                }
                let room = usize::try_from(size - off).unwrap_or(usize::MAX);
                let want = max_bytes
                    .saturating_sub(total)
                    .saturating_add(HEADER)
                    .max(READ_CHUNK)
                    .max(at_least)
                    .min(room);
                let buf = match self.read_bytes(seq, off, want).await {
                    Ok(buf) => buf,
                    // Purged or acknowledged meanwhile: the next peek starts past it.
                    Err(_) if !self.inner.state.borrow().segments.contains_key(&seq) => {
                        return Ok(out)
                    }
                    Err(e) => return Err(e),
                };
                at_least = 0;
                let mut at = 0;
                while at < buf.len() {
                    match record::parse(&buf, at) {
                        Parsed::Record { ts, payload, len } => {
                            if !out.is_empty() && total + payload.len() > max_bytes {
                                return Ok(out);
                            }
                            total += payload.len();
                            out.push(Entry {
                                position: Position {
                                    segment: seq,
                                    offset: off + at as u64,
                                    end: off + (at + len) as u64,
                                    index,
                                },
                                appended_at: record::from_nanos(ts),
                                payload: buf.slice(payload),
                            });
                            index += 1;
                            at += len;
                            if self.skip_at(seq, off + at as u64).is_some() {
                                break;
                            }
                        }
                        Parsed::Short { need } if (need as u64) <= size - off - at as u64 => {
                            if at == 0 {
                                at_least = need;
                            }
                            break;
                        }
                        // Damage found after open (or a record claiming to run past the
                        // durable end): step over it as open would have.
                        _ => {
                            let next = self.resync(seq, off + at as u64, size).await?;
                            at = (next - off) as usize;
                            break;
                        }
                    }
                }
                off += at as u64;
            }
        }
        Ok(out)
    }

    fn skip_at(&self, seq: u64, off: u64) -> Option<u64> {
        let st = self.inner.state.borrow();
        st.segments.get(&seq)?.skips.get(&off).copied()
    }

    /// `len` bytes of segment `seq` from `at`, all of them durable.
    async fn read_bytes(&self, seq: u64, at: u64, len: usize) -> Result<Bytes, HandoffError> {
        let cached = {
            let st = self.inner.state.borrow();
            let path = st.segments.get(&seq).map(|m| m.path.clone());
            match &st.reader {
                Some((s, f)) if *s == seq => Ok(Rc::clone(f)),
                _ => Err(path),
            }
        };
        let file = match cached {
            Ok(f) => f,
            Err(path) => {
                let path = path.unwrap_or_else(|| super::segment_path(&self.inner.dir, seq));
                let f = Rc::new(
                    BufferedFile::open(&path)
                        .await
                        .map_err(|e| io_err(&path, e))?,
                );
                self.inner.state.borrow_mut().reader = Some((seq, Rc::clone(&f)));
                f
            }
        };
        let path = super::segment_path(&self.inner.dir, seq);
        let got = file.read_at(at, len).await.map_err(|e| io_err(&path, e))?;
        if got.len() < len {
            return Err(io_err(
                &path,
                format!(
                    "segment ends at {} but {} bytes were written",
                    at + got.len() as u64,
                    at + len as u64
                ),
            ));
        }
        Ok(Bytes::copy_from_slice(&got))
    }

    /// Finds the next intact record after damage at `from`; records and logs the skip.
    async fn resync(&self, seq: u64, from: u64, size: u64) -> Result<u64, HandoffError> {
        let rest = usize::try_from(size - from).unwrap_or(usize::MAX);
        let buf = self.read_bytes(seq, from, rest).await?;
        let next = record::find_next(&buf, 0).map_or(size, |n| from + n as u64);
        let path = super::segment_path(&self.inner.dir, seq);
        tracing::error!(path = %path.display(), offset = from, bytes = next - from,
            "hinted handoff segment has a damaged record; skipping it");
        let mut st = self.inner.state.borrow_mut();
        if let Some(m) = st.segments.get_mut(&seq) {
            m.skips.insert(from, next);
            // Usually one record; the exact count is known again after the next open.
            m.entries = m.entries.saturating_sub(1);
        }
        st.recovery.damaged.push(Damage {
            path,
            offset: from,
            bytes: next - from,
        });
        Ok(next)
    }

    /// Acknowledges every entry up to and including `upto`. The new head is synced to the
    /// head file before this returns, and segments wholly acknowledged are deleted.
    /// Positions at or before the head are ignored (already acknowledged or purged).
    pub async fn advance(&self, upto: Position) -> Result<(), HandoffError> {
        let _permit = self
            .inner
            .head_lock
            .acquire_permit(1)
            .await
            .map_err(|_| self.closed_err())?;
        let to = Head {
            segment: upto.segment,
            offset: upto.end,
        };
        self.advance_locked(to, upto.index + 1).await
    }

    /// Moves the head to `to` (the `index`th record of its segment). Holds `head_lock`.
    async fn advance_locked(&self, to: Head, index: u64) -> Result<(), HandoffError> {
        let (file, path, generation) = {
            let st = self.inner.state.borrow();
            let file = match (&st.head_file, st.closed) {
                (Some(f), false) => Rc::clone(f),
                _ => return Err(self.closed_err()),
            };
            if to <= st.head {
                return Ok(());
            }
            let within = matches!(st.segments.get(&to.segment), Some(m) if to.offset <= m.size);
            if !within {
                return Err(HandoffError::InvalidPosition {
                    path: self.inner.dir.display().to_string(),
                    segment: to.segment,
                    offset: to.offset,
                });
            }
            (file, st.head_path.clone(), st.head_generation + 1)
        };
        head::write(&file, &path, generation, to).await?;
        let peek_ts = {
            let mut st = self.inner.state.borrow_mut();
            st.head_generation = generation;
            if to > st.head {
                st.head = to;
                st.head_index = index;
                st.head_ts = None;
            }
            collect(&mut st);
            let h = st.head;
            (st.head_index > 0
                && st
                    .segments
                    .get(&h.segment)
                    .is_some_and(|m| h.offset < m.size))
            .then_some(h)
        };
        if let Some(h) = peek_ts {
            // For stats: when the oldest pending entry was appended.
            if let Ok(buf) = self.read_bytes(h.segment, h.offset, HEADER).await {
                let ts = record::header_ts(&buf);
                let mut st = self.inner.state.borrow_mut();
                if st.head == h {
                    st.head_ts = ts;
                }
            }
        }
        Ok(())
    }

    /// Drops (acknowledges without sending) every entry appended more than `age` ago;
    /// returns how many. Whole segments go without being read; in the first segment that
    /// also holds younger entries, the old ones are found by reading from the head.
    pub async fn purge_older_than(&self, age: Duration) -> Result<u64, HandoffError> {
        let now = record::to_nanos(self.inner.config.clock.now());
        let cutoff = now.saturating_sub(u64::try_from(age.as_nanos()).unwrap_or(u64::MAX));
        let _permit = self
            .inner
            .head_lock
            .acquire_permit(1)
            .await
            .map_err(|_| self.closed_err())?;
        let (head, head_index, segments) = {
            let st = self.inner.state.borrow();
            if st.closed {
                return Err(self.closed_err());
            }
            let segs: Vec<(u64, u64, u64, Option<u64>)> = st
                .segments
                .range(st.head.segment..)
                .map(|(s, m)| (*s, m.size, m.entries, m.last_ts))
                .collect();
            (st.head, st.head_index, segs)
        };
        let mut dropped = 0u64;
        let mut target: Option<(Head, u64)> = None;
        for (seq, size, entries, last_ts) in segments {
            let (start, index) = if seq == head.segment {
                (head, head_index)
            } else {
                (
                    Head {
                        segment: seq,
                        offset: 0,
                    },
                    0,
                )
            };
            // A segment without entries (just started) goes with the old ones.
            let all_old = match last_ts {
                Some(t) => t < cutoff,
                None => true,
            };
            if all_old {
                dropped += entries.saturating_sub(index);
                target = Some((
                    Head {
                        segment: seq,
                        offset: size,
                    },
                    entries,
                ));
                continue;
            }
            let (mut start, mut index) = (start, index);
            'walk: loop {
                let batch = self.read_from(start, index, PURGE_CHUNK).await?;
                if batch.is_empty() {
                    break;
                }
                for e in &batch {
                    if e.position.segment != seq || record::to_nanos(e.appended_at) >= cutoff {
                        break 'walk;
                    }
                    dropped += 1;
                    start = Head {
                        segment: seq,
                        offset: e.position.end,
                    };
                    index = e.position.index + 1;
                    target = Some((start, index));
                }
            }
            break;
        }
        if let Some((to, index)) = target {
            self.advance_locked(to, index).await?;
        }
        if dropped > 0 {
            tracing::info!(dir = %self.inner.dir.display(), dropped, max_age = ?age,
                "hinted handoff dropped entries older than max-age");
        }
        Ok(dropped)
    }

    /// [`Self::purge_older_than`] with the configured `max_age`.
    pub async fn purge_expired(&self) -> Result<u64, HandoffError> {
        self.purge_older_than(self.inner.config.max_age).await
    }
}
