//! Test harness: real `influxd-meta`, `influxd`, `influxd-ctl` and `tessera` processes on
//! 127.0.0.1, in temporary directories, killed on drop. Logs are printed when a test fails
//! (or always with `TEST_LOG=1`).
//!
//! # Layout
//! - [`bin`] — where the binaries under test are.
//! - [`MetaNode`], [`DataNode`] — one process each, with start/kill/stop/continue.
//! - [`Cluster`] — meta and data nodes formed into a cluster through the meta API.
//! - [`http`] — small blocking HTTP helpers returning status and JSON.
//! - [`license`] — licenses signed with the published test key.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

pub mod http;
pub mod license;

/// The directory holding the binaries built by `cargo build` for this test run.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> -> target/debug
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf()
}

/// Path of a workspace binary; panics with how to build it when it is missing.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --bins` before the tests",
        p.display()
    );
    p
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A port that was free a moment ago. Ports are spread by process id so that test
/// binaries running at the same time do not collide.
pub fn free_port() -> u16 {
    // Below the kernel's ephemeral range (32768 and up by default): a port of a node
    // killed a moment ago must not become the source port of some connection while the
    // node is down, or its restart finds the port taken. Each test process walks its
    // own block of 1000 ports without reusing one.
    loop {
        let base = 10_000 + (std::process::id() % 22) as u16 * 1000;
        let n = NEXT_PORT.fetch_add(1, Ordering::SeqCst) % 1000;
        let port = base + n;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid this harness started; no memory is involved.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

fn show_log(name: &str, path: &Path) {
    let text = fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(60).collect();
    eprintln!("----- {name} log ({}) -----", path.display());
    for line in tail.into_iter().rev() {
        eprintln!("{line}");
    }
}

/// One server process with its config, data directory and log.
pub struct Process {
    pub name: String,
    pub binary: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
    pub env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Process {
    fn new(name: &str, binary: PathBuf, config: PathBuf, log: PathBuf) -> Process {
        Process {
            name: name.into(),
            binary,
            config,
            log,
            env: Vec::new(),
            child: None,
        }
    }

    /// Starts the process (again); its log is appended to.
    pub fn start(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let mut cmd = Command::new(&self.binary);
        // The recorded answers come from an influxd with GOMAXPROCS=2 (where it cuts a
        // tag set's series decides which of several tied series a selector answers).
        cmd.arg("-config")
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .env("GOMAXPROCS", "2")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawn server"));
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGSTOP: the process hangs with its sockets open.
    pub fn stop(&self) {
        signal(self.pid(), libc::SIGSTOP);
    }

    pub fn cont(&self) {
        signal(self.pid(), libc::SIGCONT);
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs the binary to completion with this config (for start-up failures).
    pub fn run_to_exit(&self, timeout: Duration) -> Output {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-config").arg(&self.config).stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return child.wait_with_output().expect("output");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let out = child.wait_with_output().expect("output");
        panic!(
            "{} did not exit within {timeout:?}; stderr: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(c) = &self.child {
            // A stopped process must be continued to die promptly.
            signal(c.id(), libc::SIGCONT);
        }
        self.kill();
        if std::thread::panicking() || std::env::var("TEST_LOG").is_ok() {
            show_log(&self.name, &self.log);
        }
    }
}

/// A meta node on free loopback ports.
pub struct MetaNode {
    pub proc_: Process,
    pub http: String,
    pub raft: String,
    pub dir: PathBuf,
}

impl MetaNode {
    /// Writes the config; does not start. `extra` is appended to the `[meta]` section.
    pub fn configure(root: &Path, n: usize, license_path: &Path, extra: &str) -> MetaNode {
        let dir = root.join(format!("meta-{n}"));
        fs::create_dir_all(&dir).expect("meta dir");
        let http = format!("127.0.0.1:{}", free_port());
        let raft = format!("127.0.0.1:{}", free_port());
        let config = dir.join("influxd-meta.toml");
        fs::write(
            &config,
            format!(
                "hostname = \"127.0.0.1\"\n[meta]\n  dir = \"{}\"\n  bind-address = \"{raft}\"\n  \
                 http-bind-address = \"{http}\"\n{extra}\n[enterprise]\n  license-path = \"{}\"\n",
                dir.join("data").display(),
                license_path.display()
            ),
        )
        .expect("write config");
        let proc_ = Process::new(
            &format!("meta-{n}"),
            bin("influxd-meta"),
            config,
            dir.join("influxd-meta.log"),
        );
        MetaNode {
            proc_,
            http,
            raft,
            dir,
        }
    }

    pub fn start(&mut self) {
        self.proc_.start();
        let url = format!("http://{}/ping", self.http);
        wait_for(Duration::from_secs(20), || {
            http::get(&url).ok().filter(|(s, _)| *s == 204)
        })
        .unwrap_or_else(|| panic!("meta node {} did not answer /ping", self.http));
    }

    pub fn status(&self) -> serde_json::Value {
        http::get(&format!("http://{}/status", self.http))
            .expect("status")
            .1
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }
}

/// Splits the lines of `section` (up to the next `[…]` header) out of a config snippet:
/// (those lines, the rest).
pub fn split_section(text: &str, section: &str) -> (String, String) {
    let (mut inside, mut rest) = (String::new(), String::new());
    let mut in_section = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_section = t == section;
            if in_section {
                continue;
            }
        }
        let out = if in_section { &mut inside } else { &mut rest };
        out.push_str(line);
        out.push('\n');
    }
    (inside, rest)
}

/// A data node on free loopback ports.
pub struct DataNode {
    pub proc_: Process,
    pub http: String,
    pub tcp: String,
    pub dir: PathBuf,
}

impl DataNode {
    /// Writes the config; `extra` is appended at the end (sections allowed).
    pub fn configure(root: &Path, n: usize, license_path: &Path, extra: &str) -> DataNode {
        let dir = root.join(format!("data-{n}"));
        fs::create_dir_all(&dir).expect("data dir");
        let http = format!("127.0.0.1:{}", free_port());
        let tcp = format!("127.0.0.1:{}", free_port());
        let config = dir.join("influxd.toml");
        // Keys of an `[http]` section in `extra` join the template's own `[http]`.
        let (http_extra, extra) = split_section(extra, "[http]");
        // The monitor's `_internal` store is off unless `extra` has a `[monitor]` section
        // (as the reference peer runs), so SHOW DATABASES answers alike.
        let (mut monitor, extra) = split_section(&extra, "[monitor]");
        if monitor.trim().is_empty() {
            monitor = "  store-enabled = false\n".to_string();
        }
        fs::write(
            &config,
            format!(
                "hostname = \"127.0.0.1\"\nbind-address = \"{tcp}\"\n[meta]\n  dir = \"{d}/meta\"\n\
                 [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  spin-before-park = \"0s\"\n[http]\n  bind-address = \"{http}\"\n{http_extra}\n\
                 [retention]\n  check-interval = \"1s\"\n[monitor]\n{monitor}\
                 [hinted-handoff]\n  dir = \"{d}/hh\"\n\
                 [enterprise]\n  license-path = \"{}\"\n{extra}\n",
                license_path.display(),
                d = dir.display(),
            ),
        )
        .expect("write config");
        let proc_ = Process::new(
            &format!("data-{n}"),
            bin("influxd"),
            config,
            dir.join("influxd.log"),
        );
        DataNode {
            proc_,
            http,
            tcp,
            dir,
        }
    }

    pub fn start(&mut self) {
        self.proc_.start();
        let url = format!("http://{}/ping", self.http);
        // A restart may wait up to 10 s for a killed predecessor's port.
        wait_for(Duration::from_secs(30), || {
            http::get(&url).ok().filter(|(s, _)| *s == 204)
        })
        .unwrap_or_else(|| panic!("data node {} did not answer /ping", self.http));
    }

    /// Sets `key = value` (TOML) in `[section]` of the config file.
    pub fn set(&self, section: &str, key: &str, value: &str) {
        let cfg = fs::read_to_string(&self.proc_.config).expect("config");
        let header = format!("[{section}]\n");
        let line = format!("  {key} = {value}\n");
        let cfg = if cfg.contains(&header) {
            cfg.replacen(&header, &format!("{header}{line}"), 1)
        } else {
            format!("{cfg}\n{header}{line}")
        };
        fs::write(&self.proc_.config, cfg).expect("write config");
    }

    /// The node id the meta plane gave this node (from `node.json`), once it joined.
    pub fn node_id(&self) -> Option<u64> {
        let bytes = fs::read(self.dir.join("meta").join("node.json")).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        v["id"].as_u64()
    }

    pub fn vars(&self) -> serde_json::Value {
        http::get(&format!("http://{}/debug/vars", self.http))
            .map(|(_, v)| v)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Meta and data nodes formed into one cluster.
pub struct Cluster {
    // Field order is drop order: processes stop (and print their logs) before the
    // directory they write to is deleted.
    pub datas: Vec<DataNode>,
    pub metas: Vec<MetaNode>,
    pub license_path: PathBuf,
    pub root: tempfile::TempDir,
}

impl Cluster {
    /// Writes `license` and the configs; starts nothing.
    pub fn configure(
        metas: usize,
        datas: usize,
        license: &str,
        meta_extra: &str,
        data_extra: &str,
    ) -> Cluster {
        let root = tempfile::tempdir().expect("temp dir");
        let license_path = root.path().join("license");
        fs::write(&license_path, license).expect("license");
        let metas = (1..=metas)
            .map(|n| MetaNode::configure(root.path(), n, &license_path, meta_extra))
            .collect();
        let datas = (1..=datas)
            .map(|n| DataNode::configure(root.path(), n, &license_path, data_extra))
            .collect();
        Cluster {
            root,
            license_path,
            metas,
            datas,
        }
    }

    /// Starts every node and forms the cluster through the first meta node.
    pub fn start(metas: usize, datas: usize, meta_extra: &str, data_extra: &str) -> Cluster {
        let mut c = Cluster::configure(metas, datas, &license::valid(8, 4), meta_extra, data_extra);
        c.start_all();
        c
    }

    /// Starts every configured node and forms the cluster through the first meta node.
    pub fn start_all(&mut self) {
        let c = self;
        for m in &mut c.metas {
            m.start();
        }
        for d in &mut c.datas {
            d.start();
        }
        let first = c.metas[0].url("/join");
        for m in &c.metas {
            let (status, body) =
                http::post(&first, &serde_json::json!({ "addr": m.http })).expect("join");
            assert_eq!(status, 200, "add-meta {}: {body}", m.http);
        }
        for d in &c.datas {
            let (status, body) = http::post(
                &c.metas[0].url("/add-data"),
                &serde_json::json!({ "addr": d.tcp }),
            )
            .expect("add-data");
            assert_eq!(status, 200, "add-data {}: {body}", d.tcp);
        }
    }

    /// Index of the meta node that leads, as the live nodes agree.
    pub fn leader(&self, timeout: Duration) -> Option<usize> {
        wait_for(timeout, || {
            for m in &self.metas {
                if let Ok((200, s)) = http::get(&m.url("/status")) {
                    let leader = s["leader"].as_str().unwrap_or("");
                    if let Some(i) = self.metas.iter().position(|x| x.raft == leader) {
                        return Some(i);
                    }
                }
            }
            None
        })
    }

    /// Runs `influxd-ctl -bind <first meta> args…`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        ctl(&self.metas[0].http, args)
    }
}

/// Runs `influxd-ctl -bind <bind> args…` to completion.
pub fn ctl(bind: &str, args: &[&str]) -> Output {
    Command::new(bin("influxd-ctl"))
        .arg("-bind")
        .arg(bind)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run influxd-ctl")
}

/// stdout + stderr of a finished command, for assertions and messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The reference peer's binary (Debian's `influxdb` package, InfluxDB 1.6.7).
pub const INFLUXD: &str = "/usr/bin/influxd";

/// A throwaway real influxd on loopback, stopped on drop.
pub struct RealInfluxd {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RealInfluxd {
    /// Starts one with `http_extra` (lines of its `[http]` section, e.g.
    /// `auth-enabled = true`) and waits for `/ping`.
    pub fn start(http_extra: &str) -> RealInfluxd {
        assert!(
            Path::new(INFLUXD).exists(),
            "{INFLUXD} is missing: install the reference peer with \
             `apt-get install -y influxdb influxdb-client python3-influxdb` (.ci/run does)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let rpc = free_port();
        let d = dir.path().display();
        let conf = format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n  logging-enabled = false\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [monitor]\n  store-enabled = false\n[subscriber]\n  enabled = false\n\
             [http]\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n{http_extra}\n\
             [logging]\n  level = \"error\"\n  suppress-logo = true\n"
        );
        let path = dir.path().join("influxdb.conf");
        fs::write(&path, conf).expect("write influxd config");
        let child = Command::new(INFLUXD)
            .arg("-config")
            .arg(&path)
            .env("GOMAXPROCS", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start influxd");
        let url = format!("http://127.0.0.1:{port}/ping");
        wait_for(Duration::from_secs(30), || {
            http::get(&url).ok().filter(|(s, _)| *s == 204)
        })
        .expect("influxd answers /ping");
        RealInfluxd {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for RealInfluxd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
