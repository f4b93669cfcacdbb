//! Shared by the integration tests: the binary, free ports, in-process HTTP servers.

#![allow(dead_code)]

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

pub(crate) fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tessera-bench"));
    c.arg("--quiet").env("TESSERA_BENCH_LOG", "warn");
    c
}

pub(crate) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs the binary with `args`, prints its output on failure.
pub(crate) fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("run tessera-bench");
    if !out.status.success() {
        eprintln!(
            "tessera-bench {args:?} failed: {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub(crate) fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A null sink on a background runtime; returns its URL. Lives as long as the runtime.
pub(crate) fn start_sink(rt: &tokio::runtime::Runtime) -> String {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counters = Arc::new(tessera_bench::sink::SinkCounters::default());
    rt.spawn(tessera_bench::sink::serve(listener, counters, true));
    url
}
