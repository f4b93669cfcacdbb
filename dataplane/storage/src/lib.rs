//! Tessera's storage engine for one partition of a shard, owned by exactly one core.
//!
//! # Layout
//! - [`batch`] — the encoded write batch: one per partition per request; it is the WAL
//!   record payload and what crosses cores, so it is encoded once and never copied.
//! - [`wal`] — segment files on glommio DMA files; group commit; fsync before ack; replay
//!   that cuts a torn tail.
//! - [`column`] — one field of one series: sorted timestamps and typed values.
//! - [`cache`] — the in-memory writes since the last flush.
//! - [`tsm`] — immutable compressed columnar files with an rkyv index read in place.
//! - [`compact`] — merging files.
//! - [`partition`] — WAL + cache + files of one partition: write, flush, read.
//! - [`index`] — the series index (measurement → tag → value → series, roaring postings).
//! - [`export`] — line protocol out of a partition (`influxd export`).

pub mod batch;
pub mod cache;
pub mod column;
pub mod compact;
pub mod export;
pub mod index;
pub mod partition;
pub mod tombstone;
pub mod tsm;
pub mod wal;

pub use background::{set_background, spawn_background};

/// Background work of a core: compactions (and cold flushes) run in their own glommio task
/// queue with a smaller share of the CPU than requests, at most `[data]
/// max-concurrent-compactions` at a time per core.
mod background {
    use std::cell::RefCell;
    use std::future::Future;
    use std::rc::Rc;

    use glommio::sync::Semaphore;
    use glommio::{Latency, Shares, TaskQueueHandle};

    /// CPU shares of the background queue; requests run in the default queue (1000).
    pub(crate) const BACKGROUND_SHARES: usize = 250;

    thread_local! {
        static QUEUE: RefCell<Option<TaskQueueHandle>> = const { RefCell::new(None) };
        static COMPACTIONS: RefCell<Option<Rc<Semaphore>>> = const { RefCell::new(None) };
    }

    /// Sets up the calling core's background queue and its compaction limit (at least 1).
    pub fn set_background(max_compactions: usize) {
        let q = glommio::executor().create_task_queue(
            Shares::Static(BACKGROUND_SHARES),
            Latency::NotImportant,
            "background",
        );
        QUEUE.with(|c| *c.borrow_mut() = Some(q));
        COMPACTIONS.with(|c| {
            *c.borrow_mut() = Some(Rc::new(Semaphore::new(max_compactions.max(1) as u64)))
        });
    }

    /// Runs `fut` in the background queue (or the current one, before
    /// [`set_background`]), detached.
    pub fn spawn_background(fut: impl Future<Output = ()> + 'static) {
        let q = QUEUE.with(|c| *c.borrow());
        match q {
            Some(q) => match glommio::spawn_local_into(fut, q) {
                Ok(t) => {
                    t.detach();
                }
                Err(e) => tracing::error!(error = %e, "background task not started"),
            },
            None => {
                glommio::spawn_local(fut).detach();
            }
        }
    }

    /// Waits for a compaction slot of this core; held until dropped.
    pub(crate) async fn compaction_slot() -> Option<glommio::sync::StaticPermit> {
        let sem = COMPACTIONS.with(|c| c.borrow().clone())?;
        sem.acquire_static_permit(1).await.ok()
    }
}

/// Settles, for the calling executor thread, whether the disk under `dir` takes polled
/// O_DIRECT reads. glommio finds out by reading the first DMA file opened on a device; when
/// that file is empty (a new WAL segment) the read "succeeds" without touching the disk,
/// polled I/O is wrongly enabled, and every later DMA read on that device fails with
/// `EOPNOTSUPP`. Opening a file with real data first makes the probe honest. Call it once
/// per executor, before any other DMA file is opened under `dir`.
pub async fn probe_device(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(format!(".io-probe-{}-{n}", std::process::id()));
    std::fs::write(&path, vec![0u8; 64 << 10])?;
    let opened = glommio::io::DmaFile::open(&path).await;
    let _ = std::fs::remove_file(&path);
    let file = opened.map_err(|e| std::io::Error::other(e.to_string()))?;
    let _ = file.close().await;
    Ok(())
}

/// Runs `f` on a fresh glommio executor (with the disk probed), for tests.
#[cfg(test)]
pub(crate) fn run_test<F: std::future::Future<Output = ()> + 'static>(
    f: impl FnOnce() -> F + Send + 'static,
) {
    glommio::LocalExecutorBuilder::default()
        .io_memory(512 << 10)
        .spawn(move || async move {
            probe_device(&std::env::temp_dir()).await.expect("probe");
            f().await
        })
        .expect("executor")
        .join()
        .expect("join");
}
