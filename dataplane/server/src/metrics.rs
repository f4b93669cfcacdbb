//! `/metrics`: the process's own metrics in the Prometheus text format, as influxd 1.6
//! serves them for scrapers. influxd's page holds the Go runtime's `go_*` metrics (none
//! apply to this process), the standard `process_*` metrics and the handler's own
//! `promhttp_metric_handler_*` counters; the last two are served here, with the values
//! read from `/proc` at each scrape.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::Response;

/// Scrapes being answered now, and answered (all with 200: nothing here can fail).
static IN_FLIGHT: AtomicU64 = AtomicU64::new(0);
static ANSWERED: AtomicU64 = AtomicU64::new(0);

/// The content type Prometheus's text format 0.0.4 is served with.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The scrape answer.
pub fn answer() -> Response {
    IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
    let body = render(&Process::read());
    IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    ANSWERED.fetch_add(1, Ordering::Relaxed);
    Response::new(200)
        .header("Content-Type", CONTENT_TYPE)
        .body(body.into_bytes())
}

/// What `/proc` says about this process (`None`: not readable here).
#[derive(Debug, Default, Clone, PartialEq)]
struct Process {
    cpu_seconds: Option<f64>,
    max_fds: Option<f64>,
    open_fds: Option<f64>,
    resident_bytes: Option<f64>,
    start_time: Option<f64>,
    virtual_bytes: Option<f64>,
    virtual_max_bytes: Option<f64>,
}

/// Clock ticks per second of `/proc/*/stat` times (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
const TICKS: f64 = 100.0;

impl Process {
    fn read() -> Process {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
        let boot = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let open_fds = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as f64);
        let page = page_size();
        Process::parse(&stat, &statm, &limits, &boot, open_fds, page)
    }

    fn parse(
        stat: &str,
        statm: &str,
        limits: &str,
        proc_stat: &str,
        open_fds: Option<f64>,
        page: f64,
    ) -> Process {
        // Fields after the command (which may hold spaces and parentheses): state is
        // field 3, utime 14, stime 15, starttime 22, vsize 23 (1-based, man proc).
        let after = stat.rfind(')').map(|i| &stat[i + 1..]).unwrap_or("");
        let f: Vec<&str> = after.split_whitespace().collect();
        let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<f64>().ok());
        let btime = proc_stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse::<f64>().ok());
        let limit = |name: &str| {
            limits.lines().find(|l| l.starts_with(name)).and_then(|l| {
                let soft = l[name.len()..].split_whitespace().next()?;
                Some(if soft == "unlimited" {
                    // What Go reports for no limit: the largest uint64 as a float.
                    u64::MAX as f64
                } else {
                    soft.parse::<f64>().ok()?
                })
            })
        };
        let resident = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse::<f64>().ok());
        Process {
            cpu_seconds: field(14).zip(field(15)).map(|(u, s)| (u + s) / TICKS),
            max_fds: limit("Max open files"),
            open_fds,
            resident_bytes: resident.map(|p| p * page),
            start_time: field(22).zip(btime).map(|(t, b)| b + t / TICKS),
            virtual_bytes: field(23),
            virtual_max_bytes: limit("Max address space"),
        }
    }
}

fn page_size() -> f64 {
    // SAFETY: sysconf reads a constant of the system and has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as f64
    } else {
        4096.0
    }
}

fn render(p: &Process) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                go_float(v)
            ));
        }
    };
    metric(
        "process_cpu_seconds_total",
        "counter",
        "User and system CPU time used by the process, in seconds.",
        p.cpu_seconds,
    );
    metric(
        "process_max_fds",
        "gauge",
        "The most file descriptors the process may open.",
        p.max_fds,
    );
    metric(
        "process_open_fds",
        "gauge",
        "File descriptors the process has open.",
        p.open_fds,
    );
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory of the process, in bytes.",
        p.resident_bytes,
    );
    metric(
        "process_start_time_seconds",
        "gauge",
        "When the process started, in seconds since the Unix epoch.",
        p.start_time,
    );
    metric(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory of the process, in bytes.",
        p.virtual_bytes,
    );
    metric(
        "process_virtual_memory_max_bytes",
        "gauge",
        "The most virtual memory the process may have, in bytes.",
        p.virtual_max_bytes,
    );
    out.push_str(&format!(
        "# HELP promhttp_metric_handler_requests_in_flight Scrapes of this page being answered.\n\
         # TYPE promhttp_metric_handler_requests_in_flight gauge\n\
         promhttp_metric_handler_requests_in_flight {}\n",
        IN_FLIGHT.load(Ordering::Relaxed)
    ));
    out.push_str(&format!(
        "# HELP promhttp_metric_handler_requests_total Scrapes of this page answered, by HTTP status.\n\
         # TYPE promhttp_metric_handler_requests_total counter\n\
         promhttp_metric_handler_requests_total{{code=\"200\"}} {}\n\
         promhttp_metric_handler_requests_total{{code=\"500\"}} 0\n\
         promhttp_metric_handler_requests_total{{code=\"503\"}} 0\n",
        ANSWERED.load(Ordering::Relaxed)
    ));
    out
}

/// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it (how the Prometheus
/// Go client writes values): the shortest digits, in exponent form (`6.71371264e+08`)
/// from an exponent of 6 up and below -4, plain between (`1232.37`, `20000`).
fn go_float(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if v == 0.0 {
        return "0".into();
    }
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_floats() {
        assert_eq!(go_float(1232.37), "1232.37");
        assert_eq!(go_float(20000.0), "20000");
        assert_eq!(go_float(123_456.0), "123456");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(671_371_264.0), "6.71371264e+08");
        assert_eq!(go_float(1_795_814_379.03), "1.79581437903e+09");
        assert_eq!(go_float(u64::MAX as f64), "1.8446744073709552e+19");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(0.0), "0");
    }

    #[test]
    fn proc_files_parse() {
        let stat = "4242 (in (flux) d) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
                    12345 678 0 0 20 0 9 0 5000 17343447040 163908 18446744073709551615";
        let statm = "4234240 163908 5000 1 0 400000 0\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            20000                20000                files     \n\
                      Max address space         unlimited            unlimited            bytes     \n";
        let proc_stat = "cpu  1 2 3\nbtime 1795800000\nprocesses 5\n";
        let p = Process::parse(stat, statm, limits, proc_stat, Some(35.0), 4096.0);
        assert_eq!(p.cpu_seconds, Some(130.23));
        assert_eq!(p.max_fds, Some(20000.0));
        assert_eq!(p.open_fds, Some(35.0));
        assert_eq!(p.resident_bytes, Some(163908.0 * 4096.0));
        assert_eq!(p.start_time, Some(1_795_800_050.0));
        assert_eq!(p.virtual_bytes, Some(17_343_447_040.0));
        assert_eq!(p.virtual_max_bytes, Some(u64::MAX as f64));
        let text = render(&p);
        assert!(text.contains("\nprocess_open_fds 35\n"), "{text}");
        assert!(text.contains(
            "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 130.23\n"
        ));
        assert!(text.contains("promhttp_metric_handler_requests_total{code=\"500\"} 0\n"));
        // Unreadable files leave their metrics out rather than guessing.
        let empty = render(&Process::parse("", "", "", "", None, 4096.0));
        assert!(!empty.contains("process_"), "{empty}");
    }
}
