//! The node's statistics in InfluxDB 1.x's modules and names, for `SHOW STATS` and
//! `/debug/vars` (where Telegraf's `influxdb` input and Chronograf read them).
//!
//! Counters are process-wide atomics that every core bumps (relaxed: they are
//! statistics, not synchronisation); gauges (series counts, bytes on disk, memory) are
//! read when asked for.

use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use tessera_query::output::Series;
use tessera_query::Value;

/// A struct of named counters with the names influxd gives them.
macro_rules! counters {
    ($(#[$doc:meta])* $ty:ident { $($field:ident => $name:literal),* $(,)? }) => {
        $(#[$doc])*
        pub struct $ty {
            $(pub $field: AtomicI64,)*
        }

        impl Default for $ty {
            fn default() -> Self {
                Self::new()
            }
        }

        impl $ty {
            pub const fn new() -> Self {
                Self { $($field: AtomicI64::new(0),)* }
            }

            /// The counters as `(influxd name, value)`.
            pub fn values(&self) -> Vec<(&'static str, i64)> {
                vec![$(($name, self.$field.load(Relaxed)),)*]
            }
        }
    };
}

counters! {
    /// influxd's `httpd` module: requests by kind, their durations and sizes.
    Httpd {
        req => "req",
        req_active => "reqActive",
        req_duration_ns => "reqDurationNs",
        query_req => "queryReq",
        query_req_duration_ns => "queryReqDurationNs",
        query_resp_bytes => "queryRespBytes",
        write_req => "writeReq",
        write_req_active => "writeReqActive",
        write_req_bytes => "writeReqBytes",
        write_req_duration_ns => "writeReqDurationNs",
        ping_req => "pingReq",
        status_req => "statusReq",
        points_written_ok => "pointsWrittenOK",
        points_written_dropped => "pointsWrittenDropped",
        points_written_fail => "pointsWrittenFail",
        auth_fail => "authFail",
        client_error => "clientError",
        server_error => "serverError",
        recovered_panics => "recoveredPanics",
        prom_read_req => "promReadReq",
        prom_write_req => "promWriteReq",
    }
}

counters! {
    /// influxd's `queryExecutor` module.
    QueryExecutor {
        queries_active => "queriesActive",
        queries_executed => "queriesExecuted",
        queries_finished => "queriesFinished",
        query_duration_ns => "queryDurationNs",
        recovered_panics => "recoveredPanics",
    }
}

counters! {
    /// influxd's `write` module (the points writer: `/write` and `SELECT … INTO`).
    Write {
        req => "req",
        point_req => "pointReq",
        write_ok => "writeOk",
        write_drop => "writeDrop",
        write_error => "writeError",
    }
}

pub static HTTPD: Httpd = Httpd::new();
pub static QUERY_EXECUTOR: QueryExecutor = QueryExecutor::new();
pub static WRITE: Write = Write::new();

/// Counts a finished write of `points` points, `dropped` of which were refused;
/// `failed`: the write as a whole was. `from_http`: it came to `/write`.
pub fn count_write(points: usize, dropped: usize, failed: bool, from_http: bool) {
    let (w, h) = (&WRITE, &HTTPD);
    add(&w.req, 1);
    add(&w.point_req, points as i64);
    if failed {
        add(&w.write_error, 1);
        if from_http {
            add(&h.points_written_fail, points as i64);
        }
        return;
    }
    add(&w.write_ok, 1);
    add(&w.write_drop, dropped as i64);
    if from_http {
        add(&h.points_written_ok, points.saturating_sub(dropped) as i64);
        add(&h.points_written_dropped, dropped as i64);
    }
}

/// Adds `n` to a counter.
pub fn add(counter: &AtomicI64, n: i64) {
    counter.fetch_add(n, Relaxed);
}

/// Counts one HTTP request from its start to its end (also when it is dropped half way).
pub struct RequestTimer {
    start: std::time::Instant,
    kind: RequestKind,
}

/// What an HTTP request was, for the `httpd` counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Query,
    Write { bytes: usize },
    Ping,
    Status,
    Other,
}

impl RequestTimer {
    pub fn start(kind: RequestKind) -> RequestTimer {
        let h = &HTTPD;
        add(&h.req, 1);
        add(&h.req_active, 1);
        match kind {
            RequestKind::Query => add(&h.query_req, 1),
            RequestKind::Write { bytes } => {
                add(&h.write_req, 1);
                add(&h.write_req_active, 1);
                add(&h.write_req_bytes, bytes as i64);
            }
            RequestKind::Ping => add(&h.ping_req, 1),
            RequestKind::Status => add(&h.status_req, 1),
            RequestKind::Other => {}
        }
        RequestTimer {
            start: std::time::Instant::now(),
            kind,
        }
    }

    /// The answer's status and size.
    pub fn answered(&self, status: u16, body_bytes: usize) {
        let h = &HTTPD;
        match status {
            401 => {
                add(&h.auth_fail, 1);
                add(&h.client_error, 1);
            }
            400..=499 => add(&h.client_error, 1),
            500..=599 => add(&h.server_error, 1),
            _ => {}
        }
        if self.kind == RequestKind::Query {
            add(&h.query_resp_bytes, body_bytes as i64);
        }
    }
}

impl Drop for RequestTimer {
    fn drop(&mut self) {
        let h = &HTTPD;
        let ns = self.start.elapsed().as_nanos() as i64;
        add(&h.req_active, -1);
        add(&h.req_duration_ns, ns);
        match self.kind {
            RequestKind::Query => add(&h.query_req_duration_ns, ns),
            RequestKind::Write { .. } => {
                add(&h.write_req_active, -1);
                add(&h.write_req_duration_ns, ns);
            }
            _ => {}
        }
    }
}

/// Counts one query from its start to its end.
pub struct QueryTimer {
    start: std::time::Instant,
}

impl QueryTimer {
    pub fn start() -> QueryTimer {
        add(&QUERY_EXECUTOR.queries_active, 1);
        add(&QUERY_EXECUTOR.queries_executed, 1);
        QueryTimer {
            start: std::time::Instant::now(),
        }
    }
}

impl Drop for QueryTimer {
    fn drop(&mut self) {
        let q = &QUERY_EXECUTOR;
        add(&q.queries_active, -1);
        add(&q.queries_finished, 1);
        add(&q.query_duration_ns, self.start.elapsed().as_nanos() as i64);
    }
}

/// One statistic: a module's values under its tags, as influxd's `models.Statistic`.
#[derive(Debug, Clone, PartialEq)]
pub struct Statistic {
    pub name: String,
    pub tags: Vec<(String, String)>,
    pub values: Vec<(String, Value)>,
}

impl Statistic {
    fn new(name: &str, tags: Vec<(String, String)>, values: Vec<(String, Value)>) -> Self {
        Statistic {
            name: name.to_string(),
            tags,
            values,
        }
    }

    fn counters(name: &str, tags: Vec<(String, String)>, values: Vec<(&str, i64)>) -> Self {
        let values = values
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::Integer(v)))
            .collect();
        Statistic::new(name, tags, values)
    }

    /// The `SHOW STATS` series: columns sorted by name, one row.
    pub fn to_series(&self) -> Series {
        let mut values = self.values.clone();
        values.sort_by(|a, b| a.0.cmp(&b.0));
        Series {
            name: self.name.clone(),
            tags: self.tags.clone(),
            columns: values.iter().map(|(k, _)| k.clone()).collect(),
            values: vec![values.into_iter().map(|(_, v)| v).collect()],
            partial: false,
        }
    }

    /// The `/debug/vars` entry: its key (influxd's: the name, then the path and id, the
    /// bind address or the database of its tags) and its JSON.
    pub fn to_expvar(&self) -> (String, serde_json::Value) {
        let tag = |k: &str| {
            self.tags
                .iter()
                .find(|(t, _)| t == k)
                .map(|(_, v)| v.as_str())
        };
        let mut key = self.name.clone();
        if let Some(path) = tag("path") {
            key.push(':');
            key.push_str(path);
            if let Some(id) = tag("id") {
                key.push(':');
                key.push_str(id);
            }
        } else if let Some(bind) = tag("bind") {
            key.push(':');
            key.push_str(bind);
        } else if let Some(db) = tag("database") {
            key.push(':');
            key.push_str(db);
        } else if let Some(node) = tag("node") {
            key.push(':');
            key.push_str(node);
        }
        let json = |v: &Value| match v {
            Value::Integer(i) => serde_json::json!(i),
            Value::Float(f) => serde_json::json!(f),
            Value::String(s) => serde_json::json!(s),
            Value::Boolean(b) => serde_json::json!(b),
            _ => serde_json::Value::Null,
        };
        let body = serde_json::json!({
            "name": self.name,
            "tags": self
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
            "values": self
                .values
                .iter()
                .map(|(k, v)| (k.clone(), json(v)))
                .collect::<serde_json::Map<_, _>>(),
        });
        (key, body)
    }
}

/// The process's memory and threads from `/proc/self/status` (bytes, count).
fn process_memory() -> (i64, i64, i64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0)
    };
    (
        field("VmRSS:") * 1024,
        field("VmSize:") * 1024,
        field("Threads:"),
    )
}

/// influxd's `runtime` module, with Go's names: the heap figures are the process's
/// resident memory (Tessera has no garbage collector, so the GC counts are 0), the
/// goroutines its threads.
fn runtime() -> Statistic {
    let (rss, virt, threads) = process_memory();
    Statistic::counters(
        "runtime",
        Vec::new(),
        vec![
            ("Alloc", rss),
            ("Frees", 0),
            ("HeapAlloc", rss),
            ("HeapIdle", 0),
            ("HeapInUse", rss),
            ("HeapObjects", 0),
            ("HeapReleased", 0),
            ("HeapSys", virt),
            ("Lookups", 0),
            ("Mallocs", 0),
            ("NumGC", 0),
            ("NumGoroutine", threads),
            ("PauseTotalNs", 0),
            ("Sys", virt),
            ("TotalAlloc", rss),
        ],
    )
}

/// The counters and gauges that need no I/O: `runtime`, `queryExecutor`, `httpd`
/// (tagged with the bind address), `write` and `hh_processor`.
pub fn process_stats(bind: &str) -> Vec<Statistic> {
    let mut out = vec![
        runtime(),
        Statistic::counters("queryExecutor", Vec::new(), QUERY_EXECUTOR.values()),
        Statistic::counters(
            "httpd",
            vec![("bind".into(), bind.to_string())],
            HTTPD.values(),
        ),
        Statistic::counters("write", Vec::new(), WRITE.values()),
    ];
    for (node, v) in crate::handoff::vars() {
        let fields = serde_json::to_value(&v).unwrap_or_default();
        let Some(obj) = fields.as_object() else {
            continue;
        };
        let values = obj
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::Number(n) if n.is_u64() => {
                        Value::Integer(n.as_u64().unwrap_or(0) as i64)
                    }
                    serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
                    _ => Value::Null,
                };
                (k.clone(), v)
            })
            .collect();
        out.push(Statistic::new(
            "hh_processor",
            vec![("node".into(), node.to_string())],
            values,
        ));
    }
    out
}

/// `database` (per database: the measurements and series of the shards this node owns)
/// and `shard` (per shard stored on this node: bytes on disk) statistics. Nothing here
/// asks another node, so a node down elsewhere does not slow them.
pub async fn storage_stats(ctx: &crate::handlers::Ctx) -> Vec<Statistic> {
    let mut out = Vec::new();
    let (snapshot, me) = {
        let state = ctx.state.state();
        (state.snapshot.clone(), state.node_id)
    };
    if let (Some(snap), Some(me)) = (snapshot, me) {
        for d in snap.data.databases_in_order() {
            let shards: Vec<u64> = d
                .retention_policies
                .values()
                .flat_map(|rp| &rp.shard_groups)
                .filter(|g| !g.is_deleted())
                .flat_map(|g| &g.shards)
                .filter(|s| s.owners.contains(&me))
                .map(|s| s.id)
                .collect();
            let (measurements, series) = if shards.is_empty() {
                (0, 0)
            } else {
                let one_group = crate::statements::in_one_group(&snap, &shards);
                let series = crate::cluster_index::series_count(ctx, shards.clone(), one_group)
                    .await
                    .unwrap_or(0);
                let measurements = crate::cluster_index::tags(ctx, None, shards)
                    .await
                    .map(|m| m.len())
                    .unwrap_or(0);
                (measurements, series)
            };
            out.push(Statistic::counters(
                "database",
                vec![("database".into(), d.name.clone())],
                vec![
                    ("numMeasurements", measurements as i64),
                    ("numSeries", series as i64),
                ],
            ));
        }
    }
    let cfg = &ctx.engine.cfg;
    for (db, rp, id, dir) in crate::handlers::shard_dirs(&cfg.data_dir) {
        let wal = cfg.wal_dir.join(&db).join(&rp).join(id.to_string());
        let bytes = crate::handlers::dir_bytes(&dir) + crate::handlers::dir_bytes(&wal);
        out.push(Statistic::counters(
            "shard",
            vec![
                ("database".into(), db),
                ("engine".into(), "tessera".into()),
                ("id".into(), id.to_string()),
                ("path".into(), dir.display().to_string()),
                ("retentionPolicy".into(), rp),
                ("walPath".into(), wal.display().to_string()),
            ],
            vec![("diskBytes", bytes as i64)],
        ));
    }
    out
}

/// `SHOW STATS [FOR 'module']`.
pub async fn show(ctx: &crate::handlers::Ctx, module: Option<&str>) -> Vec<Series> {
    let mut stats = process_stats(&ctx.state.facts.http_addr);
    if module.is_none_or(|m| m == "database" || m == "shard") {
        stats.extend(storage_stats(ctx).await);
    }
    stats
        .iter()
        .filter(|s| module.is_none_or(|m| m == s.name))
        .map(Statistic::to_series)
        .collect()
}
