//! One [`Sample`] a second per recorder for the plots, and the progress line.

use crate::load::Pacer;
use crate::procstat::cpu_seconds;
use crate::progress::{si, Progress};
use crate::stats::{Recorder, Sample, Span};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Samples the recorders once a second into timelines and drives the progress line.
pub(crate) struct Sampler {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<Vec<Sample>>>,
}

impl Sampler {
    pub(crate) fn start(
        recorders: Vec<Arc<Recorder>>,
        pacer: Option<Arc<Pacer>>,
        pid: Option<String>,
        progress: Progress,
        query_progress: bool,
    ) -> Sampler {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let t0 = Instant::now();
            let mut timelines = vec![Vec::new(); recorders.len()];
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            let mut last = Instant::now();
            let mut own_cpu = cpu_seconds("self").unwrap_or(0.0);
            let mut srv_cpu = pid.as_deref().and_then(cpu_seconds);
            loop {
                let done = tokio::select! {
                    _ = tick.tick() => false,
                    _ = &mut stopped => true,
                };
                let now = Instant::now();
                let secs = (now - last).as_secs_f64();
                last = now;
                let own = cpu_seconds("self").unwrap_or(0.0);
                let client_pct = 100.0 * (own - own_cpu) / secs.max(1e-9);
                own_cpu = own;
                let srv = pid.as_deref().and_then(cpu_seconds);
                let srv_pct = match (srv, srv_cpu) {
                    (Some(a), Some(b)) => Some(100.0 * (a - b) / secs.max(1e-9)),
                    _ => None,
                };
                srv_cpu = srv;
                let t = (now - t0).as_secs_f64();
                let mut msg = String::new();
                for (k, r) in recorders.iter().enumerate() {
                    let span: Span = r.take_interval();
                    // A final sliver shorter than 0.2 s would show a meaningless rate.
                    if done && secs < 0.2 {
                        continue;
                    }
                    let mut s = Sample::from_span(t, secs, &span);
                    s.client_cpu_pct = client_pct;
                    s.server_cpu_pct = srv_pct;
                    s.offered_lines_per_s = pacer.as_ref().and_then(|p| p.rate());
                    if k == 0 && !query_progress {
                        msg.push_str(&format!(
                            "{} lines/s p99 {:.1} ms",
                            si(s.lines_per_s),
                            s.latency_ms.p99
                        ));
                    } else {
                        if !msg.is_empty() {
                            msg.push_str(" | ");
                        }
                        msg.push_str(&format!(
                            "{:.1} q/s p99 {:.1} ms",
                            s.requests_per_s, s.latency_ms.p99
                        ));
                    }
                    timelines[k].push(s);
                }
                let errors: u64 = recorders
                    .iter()
                    .map(|r| r.errors.load(std::sync::atomic::Ordering::Relaxed))
                    .sum();
                msg.push_str(&format!(" | errors {errors} | cpu {client_pct:.0}%"));
                if let Some(p) = srv_pct {
                    msg.push_str(&format!(" server {p:.0}%"));
                }
                let pos = if query_progress {
                    recorders[0]
                        .requests
                        .load(std::sync::atomic::Ordering::Relaxed)
                } else {
                    recorders[0]
                        .lines
                        .load(std::sync::atomic::Ordering::Relaxed)
                };
                progress.update(pos, msg);
                if done {
                    break;
                }
            }
            timelines
        });
        Sampler { stop, task }
    }

    pub(crate) async fn finish(self) -> Vec<Vec<Sample>> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}
