//! How many cores the node runs, on which CPUs, and the locked-memory limit their
//! executors need.
//!
//! Cores = min(online CPUs this process may run on, licensed cores, `[data] max-cores`).

use std::fmt;

/// io_uring memory registered per executor (glommio's `io_memory`). glommio's default
/// (10 MiB) would need more locked memory than common `ulimit -l` defaults (8 MiB) allow.
pub const IO_MEMORY_PER_CORE: usize = 512 * 1024;
/// Locked memory one executor needs: glommio refuses to start below 512 KiB and locks
/// `io_memory` for its registered buffers.
pub const MEMLOCK_PER_CORE: u64 = 512 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CoresError {
    #[error("cannot read the CPU affinity of this process: {0}")]
    Affinity(std::io::Error),
    #[error("this process may not run on any CPU")]
    NoCpus,
    #[error("cannot read RLIMIT_MEMLOCK: {0}")]
    GetLimit(std::io::Error),
    #[error("cannot raise the RLIMIT_MEMLOCK soft limit to {hard}: {source}")]
    SetLimit { hard: Limit, source: std::io::Error },
    #[error(
        "the locked-memory limit (RLIMIT_MEMLOCK) is {hard}, but {cores} core(s) need {needed} \
         ({per} each for io_uring). Raise it: `ulimit -l {needed_kib}` (or `unlimited`) in the \
         shell that starts influxd, LimitMEMLOCK=infinity in its systemd unit, or a `memlock` \
         line in /etc/security/limits.conf; or lower [data] max-cores"
    )]
    MemlockTooLow {
        hard: Limit,
        cores: usize,
        needed: Limit,
        per: Limit,
        needed_kib: u64,
    },
}

/// A resource limit in bytes, printed in KiB as `ulimit -l` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(pub Option<u64>);

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("unlimited"),
            Some(b) => write!(f, "{} KiB", b / 1024),
        }
    }
}

/// The cores chosen and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorePlan {
    /// CPU ids to pin one executor each to.
    pub cpus: Vec<usize>,
    pub online: usize,
    pub licensed: u32,
    /// `[data] max-cores`, 0 for no limit.
    pub max_cores: u32,
}

impl CorePlan {
    pub fn count(&self) -> usize {
        self.cpus.len()
    }
}

impl fmt::Display for CorePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "using {} cores (online CPUs {}, licensed {}, max-cores ",
            self.count(),
            self.online,
            self.licensed
        )?;
        if self.max_cores == 0 {
            f.write_str("unlimited)")
        } else {
            write!(f, "{})", self.max_cores)
        }
    }
}

/// Chooses the cores from the CPUs this process may run on.
pub fn plan(licensed: u32, max_cores: u32) -> Result<CorePlan, CoresError> {
    Ok(plan_from(allowed_cpus()?, licensed, max_cores))
}

fn plan_from(allowed: Vec<usize>, licensed: u32, max_cores: u32) -> CorePlan {
    let online = allowed.len();
    let mut n = online.min(licensed.max(1) as usize);
    if max_cores > 0 {
        n = n.min(max_cores as usize);
    }
    CorePlan {
        cpus: allowed.into_iter().take(n).collect(),
        online,
        licensed,
        max_cores,
    }
}

/// CPU ids in this process's affinity mask (respects `taskset` and cgroup cpusets).
fn allowed_cpus() -> Result<Vec<usize>, CoresError> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(CoresError::Affinity(std::io::Error::last_os_error()));
    }
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: the index is below CPU_SETSIZE.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect();
    if cpus.is_empty() {
        return Err(CoresError::NoCpus);
    }
    Ok(cpus)
}

/// Raises the RLIMIT_MEMLOCK soft limit to the hard limit and checks that it covers
/// `cores` executors. Returns the limit now in force.
pub fn raise_memlock(cores: usize) -> Result<Limit, CoresError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Err(CoresError::GetLimit(std::io::Error::last_os_error()));
    }
    let hard = to_limit(lim.rlim_max);
    check_memlock(hard, cores)?;
    if lim.rlim_cur != lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads one rlimit; a soft limit equal to the hard one is allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) } != 0 {
            return Err(CoresError::SetLimit {
                hard,
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(hard)
}

fn to_limit(raw: libc::rlim_t) -> Limit {
    if raw == libc::RLIM_INFINITY {
        Limit(None)
    } else {
        Limit(Some(raw))
    }
}

fn check_memlock(hard: Limit, cores: usize) -> Result<(), CoresError> {
    let needed = MEMLOCK_PER_CORE * cores as u64;
    match hard.0 {
        Some(h) if h < needed => Err(CoresError::MemlockTooLow {
            hard,
            cores,
            needed: Limit(Some(needed)),
            per: Limit(Some(MEMLOCK_PER_CORE)),
            needed_kib: needed / 1024,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_count_is_the_smallest_limit() {
        let p = plan_from(vec![0, 1, 2, 3], 8, 0);
        assert_eq!(p.cpus, vec![0, 1, 2, 3]);
        assert_eq!(
            p.to_string(),
            "using 4 cores (online CPUs 4, licensed 8, max-cores unlimited)"
        );
        let p = plan_from(vec![2, 3, 5, 7], 2, 0);
        assert_eq!(p.cpus, vec![2, 3]);
        let p = plan_from(vec![0, 1, 2, 3], 8, 1);
        assert_eq!(p.cpus, vec![0]);
        assert!(p.to_string().ends_with("max-cores 1)"));
    }

    #[test]
    fn allowed_cpus_are_found() {
        let plan = plan(u32::MAX, 0).unwrap();
        assert!(plan.count() >= 1);
    }

    #[test]
    fn memlock_check() {
        assert!(check_memlock(Limit(None), 64).is_ok());
        assert!(check_memlock(Limit(Some(8192 * 1024)), 2).is_ok());
        let e = check_memlock(Limit(Some(64 * 1024)), 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("64 KiB") && e.contains("ulimit -l 1024"), "{e}");
        assert!(e.contains("LimitMEMLOCK"), "{e}");
    }
}
