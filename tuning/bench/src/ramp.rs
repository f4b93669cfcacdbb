//! `ramp`: raise the offered write rate step by step until the objective breaks; the
//! capacity is the highest rate that met it.

use crate::load::WriteLoad;
use crate::procstat::CpuMeter;
use crate::progress::{si, Progress};
use crate::result::{RampResult, RampStep};
use crate::run::{interrupted, write_result, RunConfig};
use crate::sampler::Sampler;
use crate::stats::Span;
use crate::workload::Workload;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the ramp raises the load and judges a step.
#[derive(Debug, Clone)]
pub struct RampConfig {
    pub start_rate: f64,
    /// Next rate = rate × factor, or rate + add when `add` is set.
    pub factor: f64,
    pub add: Option<f64>,
    pub step: Duration,
    pub max_rate: f64,
    pub max_steps: usize,
    pub slo_p99: Duration,
    pub slo_error_rate: f64,
    pub min_achieved: f64,
    /// Bisection steps between the last good and the first bad rate.
    pub refine: usize,
}

/// Judges one step: the objectives and the share of the offered rate achieved.
fn judge(cfg: &RampConfig, offered: f64, secs: f64, span: &Span) -> (f64, Option<String>) {
    let achieved = span.c.lines as f64 / secs.max(1e-9);
    let p = span.hist.percentiles();
    let error_rate = span.c.errors as f64 / span.c.requests.max(1) as f64;
    let slo_ms = cfg.slo_p99.as_secs_f64() * 1e3;
    let broke = if span.c.requests == 0 {
        Some("no batch finished in the step".to_string())
    } else if error_rate > cfg.slo_error_rate {
        Some(format!(
            "error rate {:.4} > {}",
            error_rate, cfg.slo_error_rate
        ))
    } else if p.p99 > slo_ms {
        Some(format!("p99 {:.1} ms > {slo_ms:.1} ms", p.p99))
    } else if achieved < cfg.min_achieved * offered {
        Some(format!(
            "achieved {} lines/s < {:.0}% of offered {}",
            si(achieved),
            cfg.min_achieved * 100.0,
            si(offered)
        ))
    } else {
        None
    };
    (achieved, broke)
}

pub(crate) async fn ramp_phase(workload: &Arc<dyn Workload>, cfg: &RunConfig) -> RampResult {
    let rc = &cfg.ramp;
    let progress = Progress::new("ramp", None, cfg.quiet);
    let mut client = CpuMeter::start("self");
    let mut server = cfg.pid().and_then(|p| CpuMeter::start(&p));
    let t0 = Instant::now();
    let load = WriteLoad::start(
        Arc::clone(workload),
        &cfg.target(),
        None,
        Some(rc.start_rate),
        None,
    );
    let rec = Arc::clone(&load.recorder);
    let pacer = Arc::clone(&load.pacer);
    let sampler = Sampler::start(
        vec![Arc::clone(&rec)],
        Some(Arc::clone(&pacer)),
        cfg.pid(),
        progress.clone(),
        false,
    );
    let mut steps: Vec<RampStep> = Vec::new();
    let mut good: Option<(f64, f64, f64)> = None;
    let mut bad: Option<f64> = None;
    let mut rate = rc.start_rate;
    let mut limit_not_reached = false;
    let mut refine_left = rc.refine;
    loop {
        let refine = bad.is_some();
        pacer.set_rate(Some(rate));
        rec.take_step();
        let s0 = Instant::now();
        // Sleep in slices so that Ctrl-C ends the step early.
        while s0.elapsed() < rc.step && !interrupted() {
            tokio::time::sleep((rc.step - s0.elapsed()).min(Duration::from_millis(100))).await;
        }
        if interrupted() {
            break;
        }
        let span = rec.take_step();
        let secs = s0.elapsed().as_secs_f64();
        let (achieved, broke) = judge(rc, rate, secs, &span);
        let p = span.hist.percentiles();
        let step = RampStep {
            step: steps.len(),
            offered_lines_per_s: rate,
            achieved_lines_per_s: achieved,
            duration_s: secs,
            batches: span.c.requests,
            errors: span.c.errors,
            error_rate: span.c.errors as f64 / span.c.requests.max(1) as f64,
            batch_latency_ms: p,
            ok: broke.is_none(),
            broke: broke.clone(),
            refine,
        };
        progress.println(&format!(
            "ramp step {:>2}: offered {:>8} achieved {:>8} lines/s, p99 {:>8.1} ms, errors {} -> {}",
            step.step,
            si(rate),
            si(achieved),
            p.p99,
            step.errors,
            broke.as_deref().unwrap_or("ok"),
        ));
        steps.push(step);
        if broke.is_none() && good.is_none_or(|g| rate > g.0) {
            good = Some((rate, achieved, p.p99));
        }
        if broke.is_some() && bad.is_none_or(|b| rate < b) {
            bad = Some(rate);
        }
        match bad {
            None => {
                let next = match rc.add {
                    Some(a) => rate + a,
                    None => rate * rc.factor,
                };
                if rate >= rc.max_rate || steps.len() >= rc.max_steps {
                    limit_not_reached = true;
                    break;
                }
                rate = next.min(rc.max_rate);
            }
            Some(b) => {
                let Some((g, _, _)) = good else { break };
                if refine_left == 0 || b - g < 0.02 * g {
                    break;
                }
                refine_left -= 1;
                rate = (g + b) / 2.0;
            }
        }
    }
    load.stop();
    // Waiting also drains batches already in flight; their outcomes stay in the total.
    let reconnects = load.wait().await;
    let secs = t0.elapsed().as_secs_f64();
    let mut timeline = sampler.finish().await;
    progress.finish();
    let total = write_result(
        &rec,
        secs,
        reconnects,
        client.as_mut().map(CpuMeter::finish).unwrap_or_default(),
        server.as_mut().map(CpuMeter::finish),
        timeline.swap_remove(0),
    );
    let r = RampResult {
        slo_p99_ms: rc.slo_p99.as_secs_f64() * 1e3,
        slo_error_rate: rc.slo_error_rate,
        min_achieved_ratio: rc.min_achieved,
        step_duration_s: rc.step.as_secs_f64(),
        capacity_lines_per_s: good.map(|g| g.0),
        capacity_achieved_lines_per_s: good.map(|g| g.1),
        capacity_p99_ms: good.map(|g| g.2),
        limit_not_reached,
        steps,
        total,
    };
    progress.println(&match r.capacity_lines_per_s {
        Some(c) => format!(
            "ramp: capacity {} lines/s (achieved {}, p99 {:.1} ms){}; client cpu {:.0}%",
            si(c),
            si(r.capacity_achieved_lines_per_s.unwrap_or(0.0)),
            r.capacity_p99_ms.unwrap_or(0.0),
            if limit_not_reached {
                " — the objective never broke: raise --max-rate/--max-steps"
            } else {
                ""
            },
            r.total.client.cpu_pct
        ),
        None => "ramp: even the first step broke the objective; lower --start-rate".into(),
    });
    r
}
