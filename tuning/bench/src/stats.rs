//! What the workers measured: every request's [`Outcome`] goes into a [`Recorder`], which
//! keeps the whole run, the current second (for the timeline) and the current ramp step.

use crate::hist::{Histogram, Percentiles};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most error texts kept (the count is always exact).
const KEEP_ERRORS: usize = 10;

/// One request's result.
#[derive(Debug)]
pub struct Outcome {
    pub latency: Duration,
    pub lines: u64,
    pub values: u64,
    pub raw_bytes: u64,
    pub wire_bytes: u64,
    /// HTTP status, or `None` when no answer came (connect error, reset, timeout).
    pub status: Option<u16>,
    /// Set for non-2xx answers, transport errors and /query errors in a 200 body.
    pub error: Option<String>,
    /// Which query of the set (query phases).
    pub op: Option<usize>,
}

/// Sums over a span of time. Lines and values count only acknowledged writes.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Counters {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub lines: u64,
    pub values: u64,
    pub raw_bytes: u64,
    pub wire_bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Span {
    pub hist: Histogram,
    pub c: Counters,
}

impl Span {
    fn add(&mut self, o: &Outcome) {
        self.hist.record(o.latency);
        self.c.requests += 1;
        if o.error.is_some() {
            self.c.errors += 1;
        } else {
            self.c.ok += 1;
            self.c.lines += o.lines;
            self.c.values += o.values;
            self.c.raw_bytes += o.raw_bytes;
            self.c.wire_bytes += o.wire_bytes;
        }
    }
}

#[derive(Default)]
struct Inner {
    total: Span,
    interval: Span,
    step: Span,
    per_op: Vec<Span>,
    status: BTreeMap<String, u64>,
    first_errors: Vec<String>,
}

/// Shared by the workers of one load; cheap enough to lock once per request (batches are
/// thousands of lines, so at most a few thousand locks a second).
pub struct Recorder {
    pub started: Instant,
    inner: Mutex<Inner>,
    /// Acknowledged lines and finished requests so far, for the progress bar.
    pub lines: AtomicU64,
    pub requests: AtomicU64,
    pub errors: AtomicU64,
}

impl Recorder {
    pub fn new(ops: usize) -> Recorder {
        Recorder {
            started: Instant::now(),
            inner: Mutex::new(Inner {
                per_op: vec![Span::default(); ops],
                ..Inner::default()
            }),
            lines: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A worker that panicked while holding the lock left counters, not broken invariants.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, o: Outcome) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if o.error.is_none() {
            self.lines.fetch_add(o.lines, Ordering::Relaxed);
        } else {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut g = self.lock();
        g.total.add(&o);
        g.interval.add(&o);
        g.step.add(&o);
        if let Some(op) = o.op {
            if let Some(s) = g.per_op.get_mut(op) {
                s.add(&o);
            }
        }
        let key = o
            .status
            .map_or_else(|| "no_response".to_string(), |s| s.to_string());
        *g.status.entry(key).or_default() += 1;
        if let Some(e) = o.error {
            if g.first_errors.len() < KEEP_ERRORS {
                g.first_errors.push(e);
            }
        }
    }

    /// The current second's span, reset.
    pub fn take_interval(&self) -> Span {
        std::mem::take(&mut self.lock().interval)
    }

    /// The current ramp step's span, reset.
    pub fn take_step(&self) -> Span {
        std::mem::take(&mut self.lock().step)
    }

    pub fn total(&self) -> Span {
        self.lock().total.clone()
    }

    pub fn per_op(&self) -> Vec<Span> {
        self.lock().per_op.clone()
    }

    pub fn status_counts(&self) -> BTreeMap<String, u64> {
        self.lock().status.clone()
    }

    pub fn first_errors(&self) -> Vec<String> {
        self.lock().first_errors.clone()
    }
}

/// One second of a run, for the plots.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Sample {
    /// Seconds since the phase started (end of the interval).
    pub t: f64,
    pub requests_per_s: f64,
    pub lines_per_s: f64,
    pub errors: u64,
    pub latency_ms: Percentiles,
    /// Percent of one core used by this tool (and the server, with `--server-pid`).
    pub client_cpu_pct: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_pct: Option<f64>,
    /// The rate the pacer aimed at, if any (ramp steps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_lines_per_s: Option<f64>,
}

impl Sample {
    pub fn from_span(t: f64, secs: f64, s: &Span) -> Sample {
        let secs = secs.max(1e-9);
        Sample {
            t,
            requests_per_s: s.c.requests as f64 / secs,
            lines_per_s: s.c.lines as f64 / secs,
            errors: s.c.errors,
            latency_ms: s.hist.percentiles(),
            ..Sample::default()
        }
    }
}
