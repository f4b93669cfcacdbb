//! Running queries, per core: what `SHOW QUERIES` lists and `KILL QUERY` stops. Each core
//! keeps its own (no shared lock); the node-wide view is gathered over the mesh. Query ids
//! come from one node-wide counter.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

static NEXT_QID: AtomicU64 = AtomicU64::new(1);

struct Entry {
    query: String,
    database: String,
    started: Instant,
    cancel: Arc<AtomicBool>,
}

thread_local! {
    static RUNNING: RefCell<BTreeMap<u64, Entry>> = const { RefCell::new(BTreeMap::new()) };
}

/// One running query as `SHOW QUERIES` shows it.
#[derive(Debug, Clone)]
pub struct QueryInfo {
    pub qid: u64,
    pub query: String,
    pub database: String,
    /// Go's `time.Duration` text, truncated as influxd does (`53µs`, `12ms`, `3s`).
    pub duration: String,
    pub elapsed: std::time::Duration,
}

/// Registered while alive; unregisters on drop.
pub struct Registration {
    pub qid: u64,
    pub cancel: Arc<AtomicBool>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        RUNNING.with(|r| r.borrow_mut().remove(&self.qid));
    }
}

pub fn register(query: &str, database: &str) -> Registration {
    let qid = NEXT_QID.fetch_add(1, Ordering::Relaxed);
    let cancel = Arc::new(AtomicBool::new(false));
    RUNNING.with(|r| {
        r.borrow_mut().insert(
            qid,
            Entry {
                query: query.to_string(),
                database: database.to_string(),
                started: Instant::now(),
                cancel: Arc::clone(&cancel),
            },
        )
    });
    Registration { qid, cancel }
}

pub fn list() -> Vec<QueryInfo> {
    RUNNING.with(|r| {
        r.borrow()
            .iter()
            .map(|(qid, e)| QueryInfo {
                qid: *qid,
                query: e.query.clone(),
                database: e.database.clone(),
                duration: go_duration(e.started.elapsed()),
                elapsed: e.started.elapsed(),
            })
            .collect()
    })
}

pub fn kill(qid: u64) -> bool {
    RUNNING.with(|r| match r.borrow().get(&qid) {
        Some(e) => {
            e.cancel.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    })
}

/// influxd's truncation (whole seconds, else ms, else µs) and Go's `Duration.String`.
pub fn go_duration(d: std::time::Duration) -> String {
    let ns = d.as_nanos() as u64;
    let ns = if ns >= 1_000_000_000 {
        ns - ns % 1_000_000_000
    } else if ns >= 1_000_000 {
        ns - ns % 1_000_000
    } else if ns >= 1_000 {
        ns - ns % 1_000
    } else {
        ns
    };
    tessera_influxql::go_duration(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_influxd() {
        use std::time::Duration as D;
        assert_eq!(go_duration(D::from_nanos(53_400)), "53µs");
        assert_eq!(go_duration(D::from_micros(12_345)), "12ms");
        assert_eq!(go_duration(D::from_millis(3_900)), "3s");
        assert_eq!(go_duration(D::from_secs(65)), "1m5s");
        assert_eq!(go_duration(D::from_secs(3_725)), "1h2m5s");
    }

    #[test]
    fn register_list_kill() {
        let r = register("SELECT 1", "db");
        assert!(list().iter().any(|q| q.qid == r.qid && q.database == "db"));
        assert!(kill(r.qid));
        assert!(r.cancel.load(Ordering::Relaxed));
        let qid = r.qid;
        drop(r);
        assert!(!kill(qid));
    }
}
