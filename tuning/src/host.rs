//! Host-wide checks: kernel, io_uring, locked memory, CPUs, THP, swap.

use crate::finding::Finding;
use std::path::Path;

/// Locked memory one executor needs, mirroring `dataplane/server/src/cores.rs`
/// (`MEMLOCK_PER_CORE`): glommio refuses to start below 512 KiB and the data node registers
/// 512 KiB of io_uring buffers (`io_memory`) per core.
pub(crate) const MEMLOCK_PER_CORE: u64 = 512 * 1024;

/// io_uring arrived in 5.1; glommio 0.9 needs 5.8 for the opcodes it uses.
const MIN_KERNEL: (u32, u32) = (5, 8);

/// All host-wide findings, in the order they are printed.
pub(crate) fn findings() -> Vec<Finding> {
    let cpus = cpus();
    [
        kernel(),
        io_uring(),
        memlock(cpus),
        cpu_finding(cpus),
        governor(),
        isolated(),
        transparent_hugepages(),
        swap(),
    ]
    .into_iter()
    .chain(swappiness())
    .collect()
}

/// CPUs this process may use (affinity and cgroup quota), as the data node counts cores.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn read_trim(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

fn kernel() -> Finding {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Finding::warn(
            "kernel",
            "unknown",
            "uname(2) failed; check the kernel is ≥ 5.8",
        );
    }
    // SAFETY: uname succeeded, so release is NUL-terminated within its array.
    let release = unsafe { std::ffi::CStr::from_ptr(uts.release.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    match parse_kernel(&release) {
        Some(v) if v >= MIN_KERNEL => Finding::ok("kernel", release),
        Some(_) => Finding::fail(
            "kernel",
            release,
            "glommio's io_uring needs Linux ≥ 5.8; upgrade the kernel",
        ),
        None => Finding::warn(
            "kernel",
            release,
            "cannot parse the version; need Linux ≥ 5.8",
        ),
    }
}

fn parse_kernel(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Creates (and closes) a one-entry ring: the only reliable test, since seccomp profiles
/// and `kernel.io_uring_disabled` can block io_uring on a kernel that has it.
fn io_uring() -> Finding {
    // struct io_uring_params is 120 bytes; all zero asks for the defaults.
    let mut params = [0u32; 30];
    // SAFETY: io_uring_setup writes at most sizeof(io_uring_params) into `params`.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd >= 0 {
        // SAFETY: fd is the ring we just created and own.
        unsafe { libc::close(fd as libc::c_int) };
        return Finding::ok("io_uring", "available");
    }
    let err = std::io::Error::last_os_error();
    let fix = match err.raw_os_error() {
        Some(libc::ENOSYS) => {
            "the kernel lacks io_uring: use Linux ≥ 5.8 built with CONFIG_IO_URING"
        }
        Some(libc::EPERM) => {
            "io_uring is forbidden: set sysctl kernel.io_uring_disabled=0, or allow io_uring_setup \
             in the container's seccomp profile"
        }
        Some(libc::ENOMEM) => "locked memory too low for a ring: raise RLIMIT_MEMLOCK",
        _ => "io_uring_setup failed; Tessera's data node cannot run here",
    };
    Finding::fail("io_uring", format!("unavailable ({err})"), fix)
}

fn memlock(cpus: usize) -> Finding {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Finding::warn("memlock", "unknown", "getrlimit(RLIMIT_MEMLOCK) failed");
    }
    let show = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            format!("{} KiB", v / 1024)
        }
    };
    let needed = MEMLOCK_PER_CORE * cpus as u64;
    let value = format!(
        "soft {}, hard {}; need {} KiB ({cpus} × {} KiB)",
        show(lim.rlim_cur),
        show(lim.rlim_max),
        needed / 1024,
        MEMLOCK_PER_CORE / 1024
    );
    // influxd raises the soft limit to the hard one itself, so only the hard limit matters.
    if lim.rlim_max == libc::RLIM_INFINITY || lim.rlim_max >= needed {
        Finding::ok("memlock", value)
    } else {
        Finding::fail(
            "memlock",
            value,
            format!(
                "raise it to at least {} KiB: LimitMEMLOCK=infinity in the systemd unit, \
                 `ulimit -l {}` in the starting shell, or a memlock line in \
                 /etc/security/limits.conf; or lower [data] max-cores",
                needed / 1024,
                needed / 1024
            ),
        )
    }
}

fn cpu_finding(cpus: usize) -> Finding {
    // SAFETY: sysconf has no memory effects.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if online > 0 && online as usize != cpus {
        Finding::warn(
            "cpus",
            cpus.to_string(),
            format!(
                "{online} CPUs are online but this process may use {cpus} (affinity, cpuset or \
                 CPU quota); the data node runs one executor per usable CPU"
            ),
        )
    } else {
        Finding::ok("cpus", cpus.to_string())
    }
}

fn governor() -> Finding {
    let mut governors: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/sys/devices/system/cpu") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_cpu = name
                .strip_prefix("cpu")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !is_cpu {
                continue;
            }
            if let Some(g) = read_trim(e.path().join("cpufreq/scaling_governor")) {
                if !governors.contains(&g) {
                    governors.push(g);
                }
            }
        }
    }
    governors.sort();
    if governors.is_empty() {
        return Finding::ok("cpu-governor", "not exposed (VM?)");
    }
    let value = governors.join(",");
    if governors.iter().all(|g| g == "performance") {
        Finding::ok("cpu-governor", value)
    } else {
        Finding::warn(
            "cpu-governor",
            value,
            "polling executors suffer from frequency scaling: \
             `cpupower frequency-set -g performance` (or tuned-adm profile latency-performance)",
        )
    }
}

fn isolated() -> Finding {
    match read_trim("/sys/devices/system/cpu/isolated") {
        Some(s) if !s.is_empty() => Finding::ok("isolated-cpus", s),
        Some(_) => Finding::ok(
            "isolated-cpus",
            "none (optional: isolcpus= for dedicated cores)",
        ),
        None => Finding::ok("isolated-cpus", "not exposed"),
    }
}

fn transparent_hugepages() -> Finding {
    let Some(raw) = read_trim("/sys/kernel/mm/transparent_hugepage/enabled") else {
        return Finding::ok("transparent-hugepages", "not exposed");
    };
    // The active mode is the bracketed one: "always [madvise] never".
    let mode = raw
        .split_whitespace()
        .find_map(|w| w.strip_prefix('[').and_then(|w| w.strip_suffix(']')))
        .unwrap_or(raw.as_str())
        .to_string();
    if mode == "always" {
        Finding::warn(
            "transparent-hugepages",
            mode,
            "khugepaged compaction stalls cores: \
             `echo madvise > /sys/kernel/mm/transparent_hugepage/enabled` (or never)",
        )
    } else {
        Finding::ok("transparent-hugepages", mode)
    }
}

fn swap() -> Finding {
    let Some(raw) = read_trim("/proc/swaps") else {
        return Finding::ok("swap", "not exposed");
    };
    let devices: Vec<&str> = raw
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if devices.is_empty() {
        Finding::ok("swap", "off")
    } else {
        Finding::warn(
            "swap",
            devices.join(","),
            "a swapped-out cache page stalls a whole core: `swapoff -a`, or set vm.swappiness=1",
        )
    }
}

/// Only reported while swap is on: with no swap device the value has no effect.
fn swappiness() -> Option<Finding> {
    let swap_on = read_trim("/proc/swaps").is_some_and(|s| s.lines().count() > 1);
    if !swap_on {
        return None;
    }
    Some(
        match read_trim("/proc/sys/vm/swappiness").and_then(|s| s.parse::<u32>().ok()) {
            Some(v) if v <= 10 => Finding::ok("swappiness", v.to_string()),
            Some(v) => Finding::warn(
                "swappiness",
                v.to_string(),
                "sysctl vm.swappiness=1 so the cache is not swapped out",
            ),
            None => Finding::ok("swappiness", "not exposed"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions_parse() {
        assert_eq!(parse_kernel("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(parse_kernel("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_kernel("garbage"), None);
        assert!(parse_kernel("5.4.0").expect("parses") < MIN_KERNEL);
    }
}
