//! The persistent raft log: one append-only record file (`raft.log`) holding entries,
//! votes, commit marks, truncations and purges, replayed into memory at start. A vote or
//! an entry is acknowledged only after the file is fsynced. When purged records make up
//! most of the file, it is rewritten compactly (atomic replace).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    ErrorSubject, ErrorVerb, LogState, OptionalSend, RaftLogId, RaftLogReader, StorageIOError,
};
use serde::{Deserialize, Serialize};

use crate::raft_types::{Entry, LogId, StorageError, TypeConfig, Vote};
use crate::record_file::{self, RecordError};

/// Rewrite the file once it holds this many records more than the live entries need.
const COMPACT_SLACK: usize = 4096;

#[derive(Serialize, Deserialize)]
enum LogRecord {
    Entry(Entry),
    Vote(Vote),
    Committed(Option<LogId>),
    /// Drop every entry at or after this index.
    Truncate(u64),
    /// Drop every entry up to and including this log id.
    Purge(LogId),
}

struct Inner {
    path: PathBuf,
    file: File,
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
    records_in_file: usize,
}

/// The log store; clones share the same log (one is handed to openraft as the reader).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

fn io_err<E: std::error::Error + 'static>(
    subject: ErrorSubject<u64>,
    verb: ErrorVerb,
    e: &E,
) -> StorageError {
    StorageIOError::new(subject, verb, openraft::AnyError::new(e)).into()
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, recovering from a torn tail.
    pub fn open(dir: &Path) -> Result<LogStore, RecordError> {
        std::fs::create_dir_all(dir).map_err(|e| RecordError::io(dir, e))?;
        let path = dir.join("raft.log");
        let records = record_file::read_all(&path)?;
        let mut inner_entries = BTreeMap::new();
        let mut vote = None;
        let mut committed = None;
        let mut last_purged: Option<LogId> = None;
        for (i, raw) in records.iter().enumerate() {
            let rec: LogRecord = serde_json::from_slice(raw).map_err(|e| RecordError::Corrupt {
                path: path.clone(),
                offset: i as u64,
                reason: format!("record {i} does not decode: {e}"),
            })?;
            match rec {
                LogRecord::Entry(e) => {
                    inner_entries.insert(e.log_id.index, e);
                }
                LogRecord::Vote(v) => vote = Some(v),
                LogRecord::Committed(c) => committed = c,
                LogRecord::Truncate(index) => {
                    inner_entries.split_off(&index);
                }
                LogRecord::Purge(log_id) => {
                    inner_entries = inner_entries.split_off(&(log_id.index + 1));
                    last_purged = Some(log_id);
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| RecordError::io(&path, e))?;
        record_file::sync_dir(&path)?;
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                path,
                file,
                entries: inner_entries,
                vote,
                committed,
                last_purged,
                records_in_file: records.len(),
            })),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock means a panic mid-write; the file is still the truth.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn write(&mut self, records: &[LogRecord], sync: bool) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for r in records {
            let payload = serde_json::to_vec(r).map_err(std::io::Error::other)?;
            record_file::encode(&payload, &mut buf);
        }
        self.file.write_all(&buf)?;
        if sync {
            self.file.sync_data()?;
        }
        self.records_in_file += records.len();
        Ok(())
    }

    /// Rewrites the file with only what is live, when purges left it mostly dead.
    fn maybe_compact(&mut self) -> Result<(), RecordError> {
        if self.records_in_file < self.entries.len() + COMPACT_SLACK {
            return Ok(());
        }
        let mut live = Vec::new();
        let mut push = |r: &LogRecord| {
            live.push(serde_json::to_vec(r).expect("log records serialize"));
        };
        if let Some(v) = &self.vote {
            push(&LogRecord::Vote(*v));
        }
        if let Some(p) = &self.last_purged {
            push(&LogRecord::Purge(*p));
        }
        push(&LogRecord::Committed(self.committed));
        for e in self.entries.values() {
            push(&LogRecord::Entry(e.clone()));
        }
        record_file::write_atomic(&self.path, &live)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|e| RecordError::io(&self.path, e))?;
        self.records_in_file = live.len();
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let inner = self.lock();
        Ok(inner.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let inner = self.lock();
        let last = inner
            .entries
            .values()
            .next_back()
            .map(|e| *e.get_log_id())
            .or(inner.last_purged);
        Ok(LogState {
            last_purged_log_id: inner.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let mut inner = self.lock();
        inner
            .write(&[LogRecord::Vote(*vote)], true)
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, &e))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not fsynced on its own: losing it only means re-applying from the snapshot.
        let mut inner = self.lock();
        inner
            .write(&[LogRecord::Committed(committed)], false)
            .map_err(|e| io_err(ErrorSubject::Store, ErrorVerb::Write, &e))?;
        inner.committed = committed;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut inner = self.lock();
        let records: Vec<LogRecord> = entries.iter().cloned().map(LogRecord::Entry).collect();
        let result = inner.write(&records, true);
        match result {
            Ok(()) => {
                for e in entries {
                    inner.entries.insert(e.log_id.index, e);
                }
                callback.log_io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                let err = io_err(ErrorSubject::Logs, ErrorVerb::Write, &e);
                callback.log_io_completed(Err(e));
                Err(err)
            }
        }
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut inner = self.lock();
        inner
            .write(&[LogRecord::Truncate(log_id.index)], true)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
        inner.entries.split_off(&log_id.index);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut inner = self.lock();
        inner
            .write(&[LogRecord::Purge(log_id)], true)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
        let keep = inner.entries.split_off(&(log_id.index + 1));
        inner.entries = keep;
        inner.last_purged = Some(log_id);
        inner
            .maybe_compact()
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use openraft::storage::RaftLogStorage;
    use openraft::{CommittedLeaderId, EntryPayload, RaftLogReader};

    use super::*;

    fn entry(term: u64, index: u64) -> Entry {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    async fn append(store: &mut LogStore, entries: Vec<Entry>) {
        // `LogFlushed` has no public constructor; go through the same write path.
        let mut inner = store.lock();
        let records: Vec<LogRecord> = entries.iter().cloned().map(LogRecord::Entry).collect();
        inner.write(&records, true).unwrap();
        for e in entries {
            inner.entries.insert(e.log_id.index, e);
        }
    }

    #[tokio::test]
    async fn survives_reopen_with_truncate_and_purge() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = LogStore::open(dir.path()).unwrap();
            append(&mut s, (1..=10).map(|i| entry(1, i)).collect()).await;
            s.save_vote(&Vote::new(2, 1)).await.unwrap();
            s.truncate(LogId::new(CommittedLeaderId::new(1, 1), 8))
                .await
                .unwrap();
            append(&mut s, vec![entry(2, 8)]).await;
            s.purge(LogId::new(CommittedLeaderId::new(1, 1), 3))
                .await
                .unwrap();
            s.save_committed(Some(LogId::new(CommittedLeaderId::new(2, 1), 8)))
                .await
                .unwrap();
        }
        let mut s = LogStore::open(dir.path()).unwrap();
        assert_eq!(s.read_vote().await.unwrap(), Some(Vote::new(2, 1)));
        let state = s.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(3));
        assert_eq!(
            state.last_log_id.map(|l| (l.leader_id.term, l.index)),
            Some((2, 8))
        );
        let entries = s.try_get_log_entries(0..100).await.unwrap();
        let ids: Vec<(u64, u64)> = entries
            .iter()
            .map(|e| (e.log_id.leader_id.term, e.log_id.index))
            .collect();
        assert_eq!(ids, vec![(1, 4), (1, 5), (1, 6), (1, 7), (2, 8)]);
        assert_eq!(s.read_committed().await.unwrap().map(|l| l.index), Some(8));
    }

    #[tokio::test]
    async fn compaction_keeps_the_live_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = LogStore::open(dir.path()).unwrap();
            append(
                &mut s,
                (1..=COMPACT_SLACK as u64 + 50)
                    .map(|i| entry(1, i))
                    .collect(),
            )
            .await;
            s.save_vote(&Vote::new(1, 1)).await.unwrap();
            s.purge(LogId::new(
                CommittedLeaderId::new(1, 1),
                COMPACT_SLACK as u64,
            ))
            .await
            .unwrap();
            assert!(s.lock().records_in_file < 100, "the file was rewritten");
        }
        let mut s = LogStore::open(dir.path()).unwrap();
        let entries = s.try_get_log_entries(0..u64::MAX).await.unwrap();
        assert_eq!(entries.len(), 50);
        assert_eq!(s.read_vote().await.unwrap(), Some(Vote::new(1, 1)));
    }
}
