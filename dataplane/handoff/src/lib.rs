//! Hinted handoff: when a data node writes to a shard whose remote owner does not answer,
//! the write goes into a durable queue on local disk, one per destination node, and a
//! drainer sends it there in order once the node is back (Enterprise's `[hinted-handoff]`).
//!
//! A queue lives on one core (glommio, `Rc`/`RefCell`); clones of [`HandoffQueue`] share
//! it. The capabilities:
//! - [`HandoffQueue::open`] recovers the queue in a directory: damaged records are skipped
//!   and reported by path and offset ([`HandoffQueue::recovery`], and the log), torn tails
//!   truncated, acknowledged segments deleted. It never panics on bad files.
//! - [`HandoffQueue::append`] stamps an opaque payload with the wall clock and returns once
//!   it is `fdatasync`ed; concurrent appends share one write and fsync (group commit). It
//!   fails with [`HandoffError::Full`], whose text is Enterprise's `queue is full`, when
//!   the unacknowledged bytes would pass `max-size`.
//! - [`HandoffQueue::peek`] reads the oldest entries without removing them;
//!   [`HandoffQueue::advance`] acknowledges through a [`Position`], syncs it to the head
//!   file and deletes segments wholly behind it. After a crash, at most the batch in flight
//!   is sent again.
//! - [`HandoffQueue::purge_older_than`] / [`HandoffQueue::purge_expired`] drop entries past
//!   `max-age`; [`HandoffQueue::stats`] reports size, pending entries and the oldest age.
//! - [`Handoff`] holds every node's queue under `dir/<node id>/`, opening them on start
//!   and on first use, and deletes a queue when its node leaves the cluster.
//! - [`drain_once`] sends one batch through a caller's sender and acknowledges it only on
//!   success; [`Backoff`] (`retry-interval` doubling to `retry-max-interval`) and
//!   [`RateLimit`] (`retry-rate-limit`) pace the retries.
//!
//! A drainer is a loop around those three:
//!
//! ```text
//! let mut backoff = Backoff::new(cfg.retry_interval, cfg.retry_max_interval);
//! let mut rate = RateLimit::new(cfg.retry_rate_limit);
//! loop {
//!     match drain_once(&queue, 4 << 20, |batch| send_to(node, batch)).await? {
//!         DrainOutcome::Sent { bytes, .. } => { backoff.reset(); rate.acquire(bytes).await }
//!         DrainOutcome::Empty => sleep(cfg.retry_interval).await,
//!         DrainOutcome::Failed(_) => sleep(backoff.next_delay()).await,
//!     }
//! }
//! ```
//!
//! # Layout
//! - [`config`] — [`QueueConfig`], the `[hinted-handoff]` defaults, the injectable [`Clock`].
//! - `record` — the checksummed record format and the scan that recovers a segment.
//! - `head` — the two-slot head file holding the acknowledged position.
//! - [`queue`] — one destination's queue: segments, group commit and stats; `queue/open`
//!   recovers it from disk, `queue/read` peeks, acknowledges and purges.
//! - [`handoff`] — all destinations' queues under one directory.
//! - [`drain`] — [`drain_once`], [`Backoff`], [`RateLimit`].

pub mod config;
pub mod drain;
mod error;
pub mod handoff;
mod head;
pub mod queue;
mod record;

pub use config::{Clock, QueueConfig};
pub use drain::{drain_once, Backoff, DrainOutcome, RateLimit, SendError};
pub use error::HandoffError;
pub use handoff::Handoff;
pub use queue::{Damage, Entry, HandoffQueue, Position, QueueStats, RecoveryReport};
pub use record::MAX_ENTRY;

/// Runs `f` on a fresh glommio executor, for tests. Small I/O memory: CI's locked-memory
/// limit is low.
#[cfg(test)]
pub(crate) fn run_test<F: std::future::Future<Output = ()> + 'static>(
    f: impl FnOnce() -> F + Send + 'static,
) {
    glommio::LocalExecutorBuilder::default()
        .io_memory(512 << 10)
        .spawn(f)
        .expect("executor")
        .join()
        .expect("join");
}
