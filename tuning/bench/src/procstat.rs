//! CPU and memory of this process and of the server under test, from `/proc`: the tool
//! shows its own CPU so a reader can tell whether the client was the bottleneck.

use serde::Serialize;
use std::time::Instant;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux in practice).
fn ticks_per_s() -> f64 {
    // SAFETY: sysconf only reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// utime + stime of `pid` ("self" for this process), in seconds.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its closing parenthesis.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / ticks_per_s())
}

/// VmRSS and VmHWM of `pid` in bytes.
pub fn memory(pid: &str) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|v| v * 1024)
    };
    Some((kb("VmRSS:")?, kb("VmHWM:").unwrap_or(0)))
}

/// Online CPUs.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Measures the CPU of a process between `start` and `finish`, and samples its RSS.
#[derive(Debug, Clone)]
pub struct CpuMeter {
    pid: String,
    t0: Instant,
    cpu0: f64,
    peak_rss: u64,
}

/// What a [`CpuMeter`] found.
#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct CpuUse {
    /// Percent of one core (200 = two cores busy).
    pub cpu_pct: f64,
    pub cpu_s: f64,
    /// Largest RSS seen by [`CpuMeter::sample`] and the kernel's high-water mark.
    pub peak_rss_bytes: u64,
}

impl CpuMeter {
    /// `None` when the process is not there (or not Linux).
    pub fn start(pid: &str) -> Option<CpuMeter> {
        Some(CpuMeter {
            cpu0: cpu_seconds(pid)?,
            pid: pid.to_string(),
            t0: Instant::now(),
            peak_rss: memory(pid).map_or(0, |m| m.0),
        })
    }

    /// Percent of a core since the last call (or start); updates the RSS peak.
    pub fn sample(&mut self) {
        if let Some((rss, _)) = memory(&self.pid) {
            self.peak_rss = self.peak_rss.max(rss);
        }
    }

    pub fn finish(&mut self) -> CpuUse {
        self.sample();
        let wall = self.t0.elapsed().as_secs_f64().max(1e-9);
        let cpu_s = cpu_seconds(&self.pid).map_or(0.0, |c| c - self.cpu0);
        let hwm = memory(&self.pid).map_or(0, |m| m.1);
        CpuUse {
            cpu_pct: 100.0 * cpu_s / wall,
            cpu_s,
            peak_rss_bytes: self.peak_rss.max(hwm),
        }
    }

    /// CPU seconds used so far.
    pub fn cpu_so_far(&self) -> f64 {
        cpu_seconds(&self.pid).map_or(0.0, |c| c - self.cpu0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let mut m = CpuMeter::start("self").expect("/proc/self exists on Linux");
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let u = m.finish();
        assert!(u.cpu_s >= 0.0 && u.peak_rss_bytes > 0, "{u:?}");
    }
}
