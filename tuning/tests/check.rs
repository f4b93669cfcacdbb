//! Runs the built `tessera-tune` binary against a temp data dir and checks its JSON report,
//! its probe numbers and its config fragment.

use serde_json::Value;
use std::process::{Command, Output};

fn tune(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera-tune"))
        .args(args)
        .output()
        .expect("run tessera-tune");
    if !out.stderr.is_empty() {
        eprintln!("stderr: {}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn finding<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} finding in {report:#}"))
}

fn any_fail(report: &Value) -> bool {
    report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .any(|f| f["status"] == "fail")
}

#[test]
fn json_report_has_sane_findings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tune(&[
        "check",
        "--json",
        "--data-dir",
        dir.path().to_str().expect("utf-8 path"),
    ]);
    let r = report(&out);
    // Exit code 0 exactly when nothing failed.
    assert_eq!(out.status.success(), !any_fail(&r), "{r:#}");

    let cpus: usize = finding(&r, "cpus")["value"]
        .as_str()
        .expect("cpus value")
        .parse()
        .expect("cpus is a number");
    assert!(cpus >= 1);
    assert_eq!(
        cpus,
        std::thread::available_parallelism()
            .expect("parallelism")
            .get()
    );
    assert!(!finding(&r, "kernel")["value"]
        .as_str()
        .expect("kernel value")
        .is_empty());
    let memlock = finding(&r, "memlock");
    assert!(memlock["value"]
        .as_str()
        .expect("memlock value")
        .contains("need"));
    for f in r["findings"].as_array().expect("findings") {
        let status = f["status"].as_str().expect("status");
        assert!(["ok", "warn", "fail"].contains(&status), "{f}");
        assert_eq!(
            status != "ok",
            f.get("fix").is_some(),
            "fix iff not ok: {f}"
        );
    }
    assert_eq!(finding(&r, "data-dir[0].path")["status"], "ok");
    finding(&r, "data-dir[0].filesystem");
    finding(&r, "data-dir[0].free-space");
    assert!(r["probe"].is_null(), "no probe without --probe");
}

#[test]
fn probe_measures_the_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tune(&[
        "check",
        "--json",
        "--data-dir",
        dir.path().to_str().expect("utf-8 path"),
        "--probe",
        "--probe-size",
        "16",
        "--probe-seconds",
        "2",
    ]);
    let r = report(&out);
    let io_uring = finding(&r, "io_uring");
    if io_uring["status"] != "ok" {
        // No io_uring here: the report must say so, and the probe must not pretend.
        assert_eq!(io_uring["status"], "fail");
        assert!(io_uring["value"]
            .as_str()
            .expect("value")
            .contains("unavailable"));
        assert!(r["probe"].is_null());
        assert!(r["probe_error"]
            .as_str()
            .expect("probe_error")
            .contains("io_uring"));
        assert!(!out.status.success());
        return;
    }
    assert!(r.get("probe_error").is_none(), "{r:#}");
    let p = &r["probe"];
    let num = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{k} in {p:#}"));
    assert!(num("write_mb_per_s") > 0.0);
    assert!(num("write_bytes") > 0.0 && num("write_bytes") <= (16u64 << 20) as f64);
    assert!(num("fsync_samples") >= 1.0);
    let (p50, p99, max) = (
        num("fsync_p50_us"),
        num("fsync_p99_us"),
        num("fsync_max_us"),
    );
    assert!(p50 > 0.0 && p50 <= p99 && p99 <= max, "{p50} {p99} {max}");
    let reads = p["read_iops"].as_array().expect("read_iops");
    let depths: Vec<u64> = reads
        .iter()
        .map(|d| d["depth"].as_u64().expect("depth"))
        .collect();
    assert_eq!(depths, [1, 4, 16]);
    for d in reads {
        assert!(d["iops"].as_f64().expect("iops") > 0.0, "{d}");
    }
    // The temp files are gone.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "probe left files behind: {left:?}");
}

#[test]
fn config_out_is_a_data_fragment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tuned.toml");
    let out = tune(&["check", "--config-out", path.to_str().expect("utf-8 path")]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("CHECK"));
    let text = std::fs::read_to_string(&path).expect("fragment written");
    let doc: toml::Table = text.parse().expect("fragment is TOML");
    let data = doc["data"].as_table().expect("[data] table");
    let cores = data["max-cores"].as_integer().expect("max-cores");
    assert_eq!(
        cores as usize,
        std::thread::available_parallelism()
            .expect("parallelism")
            .get()
    );
    for key in [
        "cache-max-memory-size",
        "cache-snapshot-memory-size",
        "file-cache-max-memory-size",
    ] {
        let v = data[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is a string"));
        let (n, unit) = v.split_at(v.len() - 1);
        assert!(unit == "m" || unit == "g", "{key} = {v}");
        assert!(n.parse::<u64>().expect("size number") > 0, "{key} = {v}");
    }
}

#[test]
fn probe_without_data_dir_is_an_error() {
    let out = tune(&["check", "--probe"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
}
