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
