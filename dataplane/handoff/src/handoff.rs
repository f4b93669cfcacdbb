//! Every destination node's queue under one directory: `dir/<node id>/`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use glommio::sync::Semaphore;

use crate::config::QueueConfig;
use crate::error::{io_err, HandoffError};
use crate::queue::{HandoffQueue, QueueStats};

/// The hinted-handoff queues of one core, keyed by destination node id.
pub struct Handoff {
    dir: PathBuf,
    config: QueueConfig,
    queues: RefCell<BTreeMap<u64, HandoffQueue>>,
    /// Serializes opening and removing, so one node never gets two queues.
    opening: Semaphore,
}

impl Handoff {
    /// Opens every queue found under `dir` (subdirectories named by node id; anything else
    /// is left alone and logged).
    pub async fn open_all(dir: &Path, config: QueueConfig) -> Result<Handoff, HandoffError> {
        config.validate()?;
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let mut nodes = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
            let entry = entry.map_err(|e| io_err(dir, e))?;
            let name = entry.file_name();
            let is_dir = entry.file_type().map_err(|e| io_err(dir, e))?.is_dir();
            match name.to_str().and_then(|n| n.parse::<u64>().ok()) {
                Some(node) if is_dir => nodes.push(node),
                _ => tracing::warn!(path = %entry.path().display(),
                    "not a hinted handoff queue (expected a directory named by node id); ignored"),
            }
        }
        nodes.sort_unstable();
        let mut queues = BTreeMap::new();
        for node in nodes {
            let q = HandoffQueue::open(&dir.join(node.to_string()), config.clone()).await?;
            queues.insert(node, q);
        }
        Ok(Handoff {
            dir: dir.to_path_buf(),
            config,
            queues: RefCell::new(queues),
            opening: Semaphore::new(1),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The queue of `node`, created (empty) on first use.
    pub async fn queue(&self, node: u64) -> Result<HandoffQueue, HandoffError> {
        if let Some(q) = self.get(node) {
            return Ok(q);
        }
        let _permit = self
            .opening
            .acquire_permit(1)
            .await
            .map_err(|_| HandoffError::Closed {
                path: self.dir.display().to_string(),
            })?;
        if let Some(q) = self.get(node) {
            return Ok(q);
        }
        let q = HandoffQueue::open(&self.dir.join(node.to_string()), self.config.clone()).await?;
        self.queues.borrow_mut().insert(node, q.clone());
        Ok(q)
    }

    /// The queue of `node` if it has one.
    pub fn get(&self, node: u64) -> Option<HandoffQueue> {
        self.queues.borrow().get(&node).cloned()
    }

    /// Nodes with a queue, ascending.
    pub fn nodes(&self) -> Vec<u64> {
        self.queues.borrow().keys().copied().collect()
    }

    pub fn stats(&self) -> BTreeMap<u64, QueueStats> {
        self.queues
            .borrow()
            .iter()
            .map(|(n, q)| (*n, q.stats()))
            .collect()
    }

    /// Closes and deletes the queue of `node` (it left the cluster: its entries can never
    /// be delivered). Clones held elsewhere fail with [`HandoffError::Closed`] from then on.
    /// Returns whether there was a queue.
    pub async fn remove(&self, node: u64) -> Result<bool, HandoffError> {
        let _permit = self
            .opening
            .acquire_permit(1)
            .await
            .map_err(|_| HandoffError::Closed {
                path: self.dir.display().to_string(),
            })?;
        let queue = self.queues.borrow_mut().remove(&node);
        let had = queue.is_some();
        if let Some(q) = queue {
            q.close().await;
        }
        let path = self.dir.join(node.to_string());
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(node, path = %path.display(), "hinted handoff queue removed");
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(had),
            Err(e) => Err(io_err(&path, e)),
        }
    }

    /// Purges entries older than `max_age` from every queue; returns how many went.
    pub async fn purge_expired(&self) -> Result<u64, HandoffError> {
        let queues: Vec<HandoffQueue> = self.queues.borrow().values().cloned().collect();
        let mut dropped = 0;
        for q in queues {
            dropped += q.purge_expired().await?;
        }
        Ok(dropped)
    }

    /// Closes every queue.
    pub async fn close(self) {
        let queues = std::mem::take(&mut *self.queues.borrow_mut());
        for q in queues.into_values() {
            q.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run_test as run;

    #[test]
    fn queues_per_node_survive_restart_and_removal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_path_buf();
        std::fs::create_dir_all(path.join("not-a-node")).unwrap();
        std::fs::write(path.join("README"), b"x").unwrap();
        run(move || async move {
            let h = Handoff::open_all(&path, QueueConfig::default())
                .await
                .unwrap();
            assert!(h.nodes().is_empty());
            let (a, b) = (h.queue(7).await.unwrap(), h.queue(3).await.unwrap());
            a.append(b"to seven").await.unwrap();
            b.append(b"to three").await.unwrap();
            b.append(b"to three again").await.unwrap();
            // The same queue on a second ask.
            h.queue(7).await.unwrap().append(b"seven 2").await.unwrap();
            assert_eq!(h.nodes(), [3, 7]);
            assert_eq!(h.stats()[&3].pending_entries, 2);
            assert_eq!(h.stats()[&7].pending_entries, 2);
            h.close().await;
            assert!(a.append(b"late").await.is_err(), "closed with its registry");

            let h = Handoff::open_all(&path, QueueConfig::default())
                .await
                .unwrap();
            assert_eq!(h.nodes(), [3, 7]);
            let three = h.get(3).unwrap().peek(usize::MAX).await.unwrap();
            assert_eq!(&three[1].payload[..], b"to three again");
            assert_eq!(h.purge_expired().await.unwrap(), 0);
            let held = h.get(7).unwrap();
            assert!(h.remove(7).await.unwrap());
            assert!(!path.join("7").exists());
            assert!(matches!(
                held.append(b"x").await,
                Err(HandoffError::Closed { .. })
            ));
            assert!(!h.remove(7).await.unwrap());
            assert_eq!(h.nodes(), [3]);
            assert!(path.join("not-a-node").exists());
        });
    }
}
