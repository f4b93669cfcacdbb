//! The load itself. Writes: generator threads render batches into a bounded channel and
//! `concurrency` async workers post them, round-robin over the endpoints, each on its own
//! keep-alive connection, optionally paced by a [`Pacer`]. Queries: workers walk the
//! query set.

use crate::http::{query_error, Conn, Endpoint};
use crate::stats::{Outcome, Recorder};
use crate::workload::{render_batch, Batch, Workload};
use bytes::Bytes;
use hyper::Method;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Where and how to write.
#[derive(Debug, Clone)]
pub struct WriteTarget {
    pub endpoints: Vec<Arc<Endpoint>>,
    pub db: String,
    pub rp: Option<String>,
    pub concurrency: usize,
    pub gen_threads: usize,
    pub gzip: bool,
    pub timeout: Duration,
}

/// Spaces batches so that lines go out at `rate` per second: a token bucket holding at
/// most `BURST` of credit, so workers that fall behind do not build up a debt they would
/// later fire all at once. Waiters queue on `gate` and only the one at its head sleeps,
/// re-reading the rate as it goes: a rate change takes effect at once instead of after
/// slots already promised to every worker at the old rate.
pub struct Pacer {
    /// (lines/s, when the next batch may go).
    state: Mutex<Option<(f64, Instant)>>,
    gate: tokio::sync::Mutex<()>,
}

/// Credit a late schedule may keep: enough to absorb scheduler jitter, too little to
/// hide a server that cannot keep up.
const BURST: Duration = Duration::from_millis(50);
/// How often the head waiter looks at the rate again.
const RECHECK: Duration = Duration::from_millis(20);

impl Pacer {
    pub fn new(rate: Option<f64>) -> Pacer {
        let p = Pacer {
            state: Mutex::new(None),
            gate: tokio::sync::Mutex::new(()),
        };
        p.set_rate(rate);
        p
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(f64, Instant)>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the rate (lines/s; `None` = as fast as possible) from now on.
    pub fn set_rate(&self, rate: Option<f64>) {
        let mut g = self.lock();
        let now = Instant::now();
        *g = rate
            .filter(|r| *r > 0.0)
            .map(|r| (r, g.map_or(now, |(_, next)| next.min(now + RECHECK))));
    }

    /// The rate in force, lines/s.
    pub fn rate(&self) -> Option<f64> {
        self.lock().map(|(r, _)| r)
    }

    /// Waits until a batch of `lines` may go (at once when unpaced).
    pub async fn wait(&self, lines: u64) {
        if self.lock().is_none() {
            return;
        }
        let _turn = self.gate.lock().await;
        loop {
            if crate::run::interrupted() {
                return;
            }
            let at = {
                let mut g = self.lock();
                let Some((rate, next)) = g.as_mut() else {
                    return;
                };
                let now = Instant::now();
                if *next + BURST < now {
                    *next = now - BURST;
                }
                if *next <= now {
                    *next += Duration::from_secs_f64(lines as f64 / *rate);
                    return;
                }
                (*next).min(now + RECHECK)
            };
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

/// A running write load.
pub struct WriteLoad {
    pub recorder: Arc<Recorder>,
    pub pacer: Arc<Pacer>,
    stop: Arc<AtomicBool>,
    workers: JoinSet<u64>,
    generators: Vec<std::thread::JoinHandle<()>>,
}

impl WriteLoad {
    /// Starts writing batches `0..limit` (`None` = until [`WriteLoad::stop`]).
    ///
    /// With `prerendered` batches the generator threads only hand them out (`limit` is
    /// then their number): the timed run measures HTTP alone, as a replay of files does.
    pub fn start(
        workload: Arc<dyn Workload>,
        target: &WriteTarget,
        limit: Option<u64>,
        rate: Option<f64>,
        prerendered: Option<Arc<Vec<Batch>>>,
    ) -> WriteLoad {
        let recorder = Arc::new(Recorder::new(0));
        let pacer = Arc::new(Pacer::new(rate));
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = flume::bounded::<Batch>(target.concurrency * 2 + 2);
        let next = Arc::new(AtomicU64::new(0));
        let generators = (0..target.gen_threads.max(1))
            .map(|k| {
                let (w, tx, next, stop) = (
                    Arc::clone(&workload),
                    tx.clone(),
                    Arc::clone(&next),
                    Arc::clone(&stop),
                );
                let gzip = target.gzip;
                let pre = prerendered.clone();
                std::thread::Builder::new()
                    .name(format!("bench-gen-{k}"))
                    .spawn(move || {
                        let mut scratch = Vec::with_capacity(1 << 20);
                        loop {
                            let idx = next.fetch_add(1, Ordering::Relaxed);
                            if limit.is_some_and(|l| idx >= l)
                                || (stop.load(Ordering::Relaxed) || crate::run::interrupted())
                            {
                                break;
                            }
                            let batch = match &pre {
                                Some(all) => match all.get(idx as usize) {
                                    Some(b) => b.clone(),
                                    None => break,
                                },
                                None => render_batch(w.as_ref(), idx, &mut scratch, gzip),
                            };
                            if tx.send(batch).is_err() {
                                break;
                            }
                        }
                    })
                    .expect("spawning a generator thread")
            })
            .collect();
        drop(tx);
        let precision = workload.precision().param();
        let paths: Arc<Vec<String>> = Arc::new(
            target
                .endpoints
                .iter()
                .map(|e| e.write_path(&target.db, target.rp.as_deref(), precision))
                .collect(),
        );
        let mut workers = JoinSet::new();
        for _ in 0..target.concurrency.max(1) {
            let (rx, recorder, pacer, stop, paths) = (
                rx.clone(),
                Arc::clone(&recorder),
                Arc::clone(&pacer),
                Arc::clone(&stop),
                Arc::clone(&paths),
            );
            let mut conns: Vec<Conn> = target
                .endpoints
                .iter()
                .map(|e| Conn::new(Arc::clone(e), target.timeout))
                .collect();
            let gzip = target.gzip;
            workers.spawn(async move {
                while !(stop.load(Ordering::Relaxed) || crate::run::interrupted()) {
                    let Ok(batch) = rx.recv_async().await else {
                        break;
                    };
                    pacer.wait(batch.lines).await;
                    let k = (batch.idx % conns.len() as u64) as usize;
                    let t0 = Instant::now();
                    let res = conns[k]
                        .request(Method::POST, &paths[k], batch.body.clone(), gzip)
                        .await;
                    let latency = t0.elapsed();
                    let (status, error) = match res {
                        Ok(r) if (200..300).contains(&r.status) => (Some(r.status), None),
                        Ok(r) => (
                            Some(r.status),
                            Some(format!(
                                "{} answered {}: {}",
                                conns[k].endpoint().url,
                                r.status,
                                String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).trim()
                            )),
                        ),
                        Err(e) => (None, Some(e.to_string())),
                    };
                    recorder.record(Outcome {
                        latency,
                        lines: batch.lines,
                        values: batch.values,
                        raw_bytes: batch.raw_bytes,
                        wire_bytes: batch.body.len() as u64,
                        status,
                        error,
                        op: None,
                    });
                }
                conns.iter().map(|c| c.reconnects).sum()
            });
        }
        WriteLoad {
            recorder,
            pacer,
            stop,
            workers,
            generators,
        }
    }

    /// Waits until every batch was sent (or the load was stopped); returns reconnects.
    pub async fn wait(mut self) -> u64 {
        let mut reconnects = 0;
        while let Some(r) = self.workers.join_next().await {
            reconnects += r.unwrap_or(0);
        }
        // Generators exit once the channel has no receivers left.
        for g in self.generators.drain(..) {
            let _ = tokio::task::spawn_blocking(move || g.join()).await;
        }
        reconnects
    }

    /// Asks workers and generators to finish their current batch and end.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }
}

/// Renders batches `0..n` on `threads` threads, in order.
pub fn prerender(workload: &dyn Workload, n: u64, threads: usize, gzip: bool) -> Vec<Batch> {
    let threads = threads.max(1) as u64;
    let mut parts: Vec<Vec<Batch>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut scratch = Vec::with_capacity(1 << 20);
                    (t * n / threads..(t + 1) * n / threads)
                        .map(|idx| render_batch(workload, idx, &mut scratch, gzip))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts = handles
            .into_iter()
            .map(|h| h.join().expect("a render thread panicked"))
            .collect();
    });
    parts.into_iter().flatten().collect()
}

/// A named InfluxQL statement.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Query {
    pub name: String,
    pub text: String,
}

/// A running query load: `concurrency` workers walk the set, `runs` times over
/// (`None` = until stopped), each query's runs spread over the workers.
pub struct QueryLoad {
    pub recorder: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    workers: JoinSet<()>,
}

impl QueryLoad {
    pub fn start(
        queries: Arc<Vec<Query>>,
        endpoints: &[Arc<Endpoint>],
        db: &str,
        concurrency: usize,
        runs: Option<u64>,
        timeout: Duration,
    ) -> QueryLoad {
        let recorder = Arc::new(Recorder::new(queries.len()));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(0));
        let total = runs.map(|r| r * queries.len() as u64);
        let mut workers = JoinSet::new();
        for _ in 0..concurrency.max(1) {
            let (queries, recorder, stop, next) = (
                Arc::clone(&queries),
                Arc::clone(&recorder),
                Arc::clone(&stop),
                Arc::clone(&next),
            );
            let mut conns: Vec<Conn> = endpoints
                .iter()
                .map(|e| Conn::new(Arc::clone(e), timeout))
                .collect();
            let db = db.to_string();
            workers.spawn(async move {
                while !(stop.load(Ordering::Relaxed)
                    || crate::run::interrupted()
                    || queries.is_empty())
                {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if total.is_some_and(|t| k >= t) {
                        break;
                    }
                    let op = (k % queries.len() as u64) as usize;
                    let c = (k % conns.len() as u64) as usize;
                    let t0 = Instant::now();
                    let res = conns[c].query(Some(&db), &queries[op].text).await;
                    let latency = t0.elapsed();
                    let name = &queries[op].name;
                    let (status, error, bytes) = match res {
                        Ok(r) if (200..300).contains(&r.status) => {
                            let e = query_error(&r.body).map(|e| format!("{name}: {e}"));
                            (Some(r.status), e, r.body.len() as u64)
                        }
                        Ok(r) => (
                            Some(r.status),
                            Some(format!(
                                "{name}: HTTP {}: {}",
                                r.status,
                                String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).trim()
                            )),
                            r.body.len() as u64,
                        ),
                        Err(e) => (None, Some(format!("{name}: {e}")), 0),
                    };
                    recorder.record(Outcome {
                        latency,
                        lines: 0,
                        values: 0,
                        raw_bytes: bytes,
                        wire_bytes: bytes,
                        status,
                        error,
                        op: Some(op),
                    });
                }
            });
        }
        QueryLoad {
            recorder,
            stop,
            workers,
        }
    }

    pub async fn wait(mut self) {
        while self.workers.join_next().await.is_some() {}
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs one statement on the first endpoint that answers, e.g. `CREATE DATABASE`.
/// Errors (transport, non-2xx, an `"error"` in the body) come back as text.
pub async fn admin_query(
    ep: &Arc<Endpoint>,
    db: Option<&str>,
    q: &str,
    timeout: Duration,
) -> Result<Bytes, String> {
    let mut c = Conn::new(Arc::clone(ep), timeout);
    match c.query(db, q).await {
        Ok(r) if (200..300).contains(&r.status) => match query_error(&r.body) {
            Some(e) => Err(format!("{q}: {e}")),
            None => Ok(r.body),
        },
        Ok(r) => Err(format!(
            "{q}: HTTP {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body).trim()
        )),
        Err(e) => Err(format!("{q}: {e}")),
    }
}
