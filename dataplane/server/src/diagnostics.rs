//! `SHOW DIAGNOSTICS [FOR '<module>']`: what the node is and how it is configured, in
//! influxd 1.6.7's modules and column names (`build`, `config`, `config-coordinator`,
//! `config-cqs`, `config-data`, `config-httpd`, `config-meta`, `config-monitor`,
//! `config-precreator`, `config-retention`, `config-subscriber`, `network`, `runtime`,
//! `system`), plus Tessera's `config-cluster` and `config-hinted-handoff`. An unknown
//! module answers nothing, as influxd.

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tessera_meta_client::api::VERSION;
use tessera_meta_types::duration;
use tessera_query::output::Series;
use tessera_query::Value;

use crate::handlers::Ctx;

/// When the process started (first asked, which is at start-up through `started()`).
static STARTED: OnceLock<(SystemTime, Instant)> = OnceLock::new();

/// Records the start time; called when the node starts.
pub fn started() {
    STARTED.get_or_init(|| (SystemTime::now(), Instant::now()));
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

fn i(v: u64) -> Value {
    Value::Integer(v as i64)
}

fn d(v: std::time::Duration) -> Value {
    s(duration::format(v.as_nanos() as u64))
}

fn rfc3339(t: SystemTime) -> Value {
    let ns = t
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    s(tessera_influxql::format_rfc3339_nano(ns))
}

fn module(name: &str, columns: &[&str], values: Vec<Value>) -> Series {
    Series {
        name: name.to_string(),
        tags: Vec::new(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        values: vec![values],
        partial: false,
    }
}

/// The modules, sorted by name, filtered to `only` when given.
pub fn show(ctx: &Ctx, only: Option<&str>) -> Vec<Series> {
    let c = &ctx.config;
    let (started_at, started) = *STARTED.get_or_init(|| (SystemTime::now(), Instant::now()));
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let path = |p: &std::path::Path| s(p.display().to_string());
    let all = vec![
        module(
            "build",
            &["Branch", "Build Time", "Commit", "Version"],
            vec![s("main"), s(""), s("unknown"), s(VERSION)],
        ),
        module(
            "config",
            &["bind-address", "reporting-enabled"],
            vec![s(c.bind_address.to_string()), Value::Boolean(false)],
        ),
        module(
            "config-cluster",
            &[
                "dial-timeout",
                "pool-max-idle-streams",
                "pool-max-idle-time",
                "shard-reader-timeout",
                "shard-writer-timeout",
            ],
            vec![
                d(c.cluster.dial_timeout),
                i(c.cluster.pool_max_idle_streams),
                d(c.cluster.pool_max_idle_time),
                d(c.cluster.shard_reader_timeout),
                d(c.cluster.shard_writer_timeout),
            ],
        ),
        module(
            "config-coordinator",
            &[
                "log-queries-after",
                "max-concurrent-queries",
                "max-select-buckets",
                "max-select-point",
                "max-select-series",
                "query-timeout",
                "write-timeout",
            ],
            vec![
                s("0s"),
                i(0),
                i(c.cluster.max_select_buckets),
                i(c.cluster.max_select_point),
                i(c.cluster.max_select_series),
                s("0s"),
                d(c.cluster.shard_writer_timeout),
            ],
        ),
        module(
            "config-cqs",
            &["enabled"],
            vec![Value::Boolean(c.continuous_queries.enabled)],
        ),
        module(
            "config-data",
            &[
                "cache-max-memory-size",
                "cache-snapshot-memory-size",
                "cache-snapshot-write-cold-duration",
                "compact-full-write-cold-duration",
                "dir",
                "max-concurrent-compactions",
                "max-series-per-database",
                "max-values-per-tag",
                "wal-dir",
                "wal-fsync-delay",
            ],
            vec![
                i(c.data.cache_max_memory_size),
                i(c.data.cache_snapshot_memory_size),
                d(c.data.cache_snapshot_write_cold_duration),
                d(c.data.compact_full_write_cold_duration),
                path(&c.data.dir),
                i(0),
                i(0),
                i(0),
                path(&c.data.wal_dir),
                s("0s"),
            ],
        ),
        module(
            "config-hinted-handoff",
            &[
                "dir",
                "enabled",
                "max-age",
                "max-size",
                "retry-interval",
                "retry-max-interval",
            ],
            vec![
                path(&c.hinted_handoff.dir),
                Value::Boolean(c.hinted_handoff.enabled),
                d(c.hinted_handoff.max_age),
                i(c.hinted_handoff.max_size),
                d(c.hinted_handoff.retry_interval),
                d(c.hinted_handoff.retry_max_interval),
            ],
        ),
        module(
            "config-httpd",
            &[
                "access-log-path",
                "bind-address",
                "enabled",
                "https-enabled",
                "max-connection-limit",
                "max-row-limit",
            ],
            vec![
                s(""),
                s(c.http.bind_address.to_string()),
                Value::Boolean(true),
                Value::Boolean(false),
                i(0),
                i(0),
            ],
        ),
        module("config-meta", &["dir"], vec![path(&c.meta.dir)]),
        // influxd lists the store's database and interval only when it is enabled.
        if c.monitor.store_enabled {
            module(
                "config-monitor",
                &["store-database", "store-enabled", "store-interval"],
                vec![
                    s(c.monitor.store_database.clone()),
                    Value::Boolean(true),
                    d(c.monitor.store_interval),
                ],
            )
        } else {
            module(
                "config-monitor",
                &["store-enabled"],
                vec![Value::Boolean(false)],
            )
        },
        module(
            "config-precreator",
            &["enabled"],
            vec![Value::Boolean(c.housekeeping.precreation_enabled)],
        ),
        module(
            "config-retention",
            &["enabled"],
            vec![Value::Boolean(c.housekeeping.retention_enabled)],
        ),
        module(
            "config-subscriber",
            &["enabled"],
            vec![Value::Boolean(false)],
        ),
        module("network", &["hostname"], vec![s(c.hostname.clone())]),
        module(
            "runtime",
            &["GOARCH", "GOMAXPROCS", "GOOS", "version"],
            vec![
                s(arch),
                i(ctx.state.facts.cores as u64),
                s(std::env::consts::OS),
                s(format!("tessera {VERSION}")),
            ],
        ),
        module(
            "system",
            &["PID", "currentTime", "started", "uptime"],
            vec![
                i(std::process::id() as u64),
                rfc3339(SystemTime::now()),
                rfc3339(started_at),
                d(started.elapsed()),
            ],
        ),
    ];
    all.into_iter()
        .filter(|m| only.is_none_or(|o| o == m.name))
        .collect()
}
