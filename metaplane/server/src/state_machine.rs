//! The raft state machine: applies committed commands to the [`ClusterState`], builds and
//! installs snapshots (persisted as a checksummed file, `snapshot`), and publishes every
//! applied index so API readers and long-polls see changes at once.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use openraft::storage::RaftStateMachine;
use openraft::{
    EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder, Snapshot,
    StorageIOError,
};
use serde::{Deserialize, Serialize};
use tessera_meta_types::{ClusterState, Reply};
use tokio::sync::watch;

use crate::raft_types::{
    Entry, LogId, Outcome, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::record_file::{self, RecordError};

/// The replicated state as readers see it, shared between the state machine and the API.
pub struct SharedState {
    state: RwLock<ClusterState>,
    index_tx: watch::Sender<u64>,
}

impl SharedState {
    fn new(state: ClusterState) -> Arc<SharedState> {
        let (index_tx, _) = watch::channel(state.index);
        Arc::new(SharedState {
            state: RwLock::new(state),
            index_tx,
        })
    }

    /// Reads the state under the lock.
    pub fn read<T>(&self, f: impl FnOnce(&ClusterState) -> T) -> T {
        f(&self.state.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn index(&self) -> u64 {
        *self.index_tx.borrow()
    }

    /// A receiver that wakes when the metadata index changes.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.index_tx.subscribe()
    }

    fn replace(&self, state: ClusterState) {
        let index = state.index;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
        self.index_tx.send_replace(index);
    }
}

#[derive(Serialize, Deserialize)]
struct SnapshotData {
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    state: ClusterState,
}

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

struct Inner {
    dir: PathBuf,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    current: Option<SnapshotFile>,
    snapshot_seq: u64,
}

#[derive(Clone)]
pub struct StateMachineStore {
    inner: Arc<Mutex<Inner>>,
    shared: Arc<SharedState>,
}

fn sm_err<E: std::error::Error + 'static>(verb: ErrorVerb, e: &E) -> StorageError {
    StorageIOError::new(ErrorSubject::StateMachine, verb, openraft::AnyError::new(e)).into()
}

impl StateMachineStore {
    /// Opens the state machine in `dir`, starting from the persisted snapshot if any.
    pub fn open(dir: &Path) -> Result<StateMachineStore, RecordError> {
        std::fs::create_dir_all(dir).map_err(|e| RecordError::io(dir, e))?;
        let path = dir.join("snapshot");
        let records = record_file::read_all(&path)?;
        let corrupt = |reason: String| RecordError::Corrupt {
            path: path.clone(),
            offset: 0,
            reason,
        };
        let (state, last_applied, last_membership, current) = match records.first() {
            None => (
                ClusterState::default(),
                None,
                StoredMembership::default(),
                None,
            ),
            Some(raw) => {
                let file: SnapshotFile = serde_json::from_slice(raw)
                    .map_err(|e| corrupt(format!("snapshot does not decode: {e}")))?;
                let data: SnapshotData = serde_json::from_slice(&file.data)
                    .map_err(|e| corrupt(format!("snapshot data does not decode: {e}")))?;
                (
                    data.state,
                    data.last_applied,
                    data.last_membership,
                    Some(file),
                )
            }
        };
        Ok(StateMachineStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                last_applied,
                last_membership,
                current,
                snapshot_seq: 0,
            })),
            shared: SharedState::new(state),
        })
    }

    pub fn shared(&self) -> Arc<SharedState> {
        Arc::clone(&self.shared)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    fn persist(&mut self, file: SnapshotFile) -> Result<(), RecordError> {
        let raw = serde_json::to_vec(&file).expect("snapshots serialize");
        record_file::write_atomic(&self.dir.join("snapshot"), &[raw])?;
        self.current = Some(file);
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        // Same lock order as `apply` (inner, then state) so the copy matches last_applied.
        let mut inner = self.lock();
        let state = self.shared.read(|s| s.clone());
        let data = SnapshotData {
            last_applied: inner.last_applied,
            last_membership: inner.last_membership.clone(),
            state,
        };
        let bytes = serde_json::to_vec(&data).map_err(|e| sm_err(ErrorVerb::Read, &e))?;
        inner.snapshot_seq += 1;
        let snapshot_id = match inner.last_applied {
            Some(l) => format!("{}-{}-{}", l.leader_id, l.index, inner.snapshot_seq),
            None => format!("--{}", inner.snapshot_seq),
        };
        let meta = SnapshotMeta {
            last_log_id: inner.last_applied,
            last_membership: inner.last_membership.clone(),
            snapshot_id,
        };
        inner
            .persist(SnapshotFile {
                meta: meta.clone(),
                data: bytes.clone(),
            })
            .map_err(|e| sm_err(ErrorVerb::Write, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let inner = self.lock();
        Ok((inner.last_applied, inner.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Outcome>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut replies = Vec::new();
        let mut inner = self.lock();
        let mut state = self.shared.state.write().unwrap_or_else(|p| p.into_inner());
        for entry in entries {
            inner.last_applied = Some(entry.log_id);
            let outcome = match &entry.payload {
                EntryPayload::Blank => Outcome(Ok(Reply::Ok)),
                EntryPayload::Normal(cmd) => Outcome(state.apply(entry.log_id.index, cmd)),
                EntryPayload::Membership(m) => {
                    inner.last_membership = StoredMembership::new(Some(entry.log_id), m.clone());
                    Outcome(Ok(Reply::Ok))
                }
            };
            replies.push(outcome);
        }
        let index = state.index;
        drop(state);
        self.shared.index_tx.send_replace(index);
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let bytes = snapshot.into_inner();
        let data: SnapshotData = serde_json::from_slice(&bytes).map_err(|e| {
            StorageError::from(StorageIOError::new(
                ErrorSubject::Snapshot(Some(meta.signature())),
                ErrorVerb::Read,
                openraft::AnyError::new(&e),
            ))
        })?;
        let mut inner = self.lock();
        inner.last_applied = meta.last_log_id;
        inner.last_membership = meta.last_membership.clone();
        inner
            .persist(SnapshotFile {
                meta: meta.clone(),
                data: bytes,
            })
            .map_err(|e| sm_err(ErrorVerb::Write, &e))?;
        drop(inner);
        self.shared.replace(data.state);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let inner = self.lock();
        Ok(inner.current.as_ref().map(|f| Snapshot {
            meta: f.meta.clone(),
            snapshot: Box::new(Cursor::new(f.data.clone())),
        }))
    }
}
