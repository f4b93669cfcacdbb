//! Node processes: finding the binaries, starting them detached from the terminal's
//! process group, checking that a recorded pid is still our node, and stopping them
//! (SIGTERM, then SIGKILL after a grace period).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node gets to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(
        "cannot find the `{name}` binary next to this executable ({next_to}) or on PATH; \
         build it with `cargo build --bins` or put it on PATH"
    )]
    BinaryMissing { name: String, next_to: String },
    #[error("cannot open log file {path}: {source}")]
    Log {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
}

/// `name` next to the running executable (so `target/debug/tessera` finds
/// `target/debug/influxd`), else on `PATH`.
pub fn find_binary(name: &str) -> Result<PathBuf, ProcessError> {
    let next_to = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    if let Some(candidate) = next_to.as_ref().map(|d| d.join(name)) {
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    Err(ProcessError::BinaryMissing {
        name: name.to_string(),
        next_to: next_to
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "?".into()),
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Starts `bin -config <config>` with stdout and stderr appended to `log` and stdin
/// closed. The node gets its own process group, so a Ctrl-C on the terminal reaches only
/// `tessera`, which then stops the nodes in order.
pub fn spawn(bin: &Path, config: &Path, log: &Path) -> Result<Child, ProcessError> {
    let log_err = |source| ProcessError::Log {
        path: log.display().to_string(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(log_err)?;
    let _ = writeln!(
        file,
        "--- tessera: starting {} -config {} ---",
        bin.display(),
        config.display()
    );
    let stderr = file.try_clone().map_err(log_err)?;
    Command::new(bin)
        .arg("-config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|source| ProcessError::Spawn {
            bin: bin.display().to_string(),
            source,
        })
}

/// Whether `pid` is a running (not zombie) process.
pub fn is_alive(pid: u32) -> bool {
    let Ok(pid_t) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid_t <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid_t, 0) };
    let exists = rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    exists && !is_zombie(pid)
}

fn is_zombie(pid: u32) -> bool {
    // /proc/<pid>/stat is "pid (comm) S ..."; comm may contain spaces and parentheses,
    // so the state is the first field after the last ')'.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 1..];
            rest.split_whitespace()
                .next()
                .map(|st| st == "Z" || st == "X")
        })
        .unwrap_or(false)
}

/// Whether `pid` is alive and still the node started with `config` (and not another
/// process that inherited a recycled pid). Without `/proc` only liveness is checked.
pub fn is_our_node(pid: u32, config: &Path) -> bool {
    if !is_alive(pid) {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let want = config.as_os_str().as_encoded_bytes();
            cmdline.split(|&b| b == 0).any(|arg| arg == want)
        }
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

/// Sends `signal` to `pid`, ignoring a process that is already gone.
pub fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        if pid > 0 {
            // SAFETY: plain kill(2) on a positive pid we recorded ourselves.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }
}

/// A process to stop, with the words to report it by (e.g. `data node 4`).
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub pid: u32,
}

/// SIGTERMs every target, waits up to `grace` for them to exit and SIGKILLs the rest.
/// Reports each outcome on `out`; returns the labels that had to be killed.
pub async fn stop(targets: &[Target], grace: Duration, out: &mut dyn Write) -> Vec<String> {
    for t in targets {
        signal(t.pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    let mut pending: Vec<&Target> = targets.iter().collect();
    loop {
        pending.retain(|t| {
            if is_alive(t.pid) {
                return true;
            }
            let _ = writeln!(out, "Stopped {} (pid {})", t.label, t.pid);
            false
        });
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut killed = Vec::new();
    for t in pending {
        signal(t.pid, libc::SIGKILL);
        let _ = writeln!(
            out,
            "Killed {} (pid {}): it did not stop within {}s of SIGTERM",
            t.label,
            t.pid,
            grace.as_secs()
        );
        killed.push(t.label.clone());
    }
    killed
}

/// The last `lines` lines of a log file, for error reports.
pub fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_of_self_and_of_a_reaped_child() {
        assert!(is_alive(std::process::id()));
        let mut child = Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!is_alive(pid) || pid == std::process::id());
        assert!(!is_alive(0));
        assert!(!is_alive(u32::MAX));
    }

    #[test]
    fn our_node_is_recognised_by_its_config_argument() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        // Until exec completes /proc shows the forked test binary's arguments.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !is_our_node(child.id(), Path::new("30")) {
            assert!(Instant::now() < deadline, "sleep 30 never appeared");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!is_our_node(child.id(), Path::new("/other.toml")));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    #[tokio::test]
    async fn stop_terminates_and_reports() {
        let child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        // Reap in the background so the stopped child does not linger as a zombie.
        let reaper = std::thread::spawn(move || {
            let mut child = child;
            child.wait()
        });
        let mut out = Vec::new();
        let targets = [Target {
            label: "data node 7".into(),
            pid,
        }];
        let killed = stop(&targets, Duration::from_secs(5), &mut out).await;
        assert!(killed.is_empty());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("Stopped data node 7 (pid {pid})\n")
        );
        reaper.join().unwrap().unwrap();
    }

    #[test]
    fn tail_takes_last_lines() {
        let path = std::env::temp_dir().join(format!("tessera-tail-{}", std::process::id()));
        std::fs::write(&path, "a\nb\nc\nd\n").unwrap();
        assert_eq!(tail(&path, 2), "c\nd");
        assert_eq!(tail(&path, 10), "a\nb\nc\nd");
        std::fs::remove_file(&path).unwrap();
    }
}
