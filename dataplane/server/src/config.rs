//! The data node's config (`influxd.conf`): TOML with influxd's sections and kebab-case
//! keys, then `INFLUXDB_<SECTION>_<KEY>` environment overrides as influxd applies them,
//! then validation into the typed [`Config`] before anything starts.
//!
//! Keys this slice does not know yet (whole sections such as `[hinted-handoff]` in a real
//! Enterprise config) are reported as warnings, not errors, so existing files keep working.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tessera_meta_types::duration;

use crate::address::BindAddress;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config: {path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error("config: {origin}: {key} must be a table of settings")]
    NotATable { origin: String, key: String },
    #[error("config: {origin}: {key}: expected {expected}, found {found}")]
    Type {
        origin: String,
        key: String,
        expected: &'static str,
        found: String,
    },
    #[error("config: {origin}: {key}: {reason}")]
    Invalid {
        origin: String,
        key: String,
        reason: String,
    },
}

/// Everything `influxd` is configured with, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hostname: String,
    /// Cluster port (RPC and control), `bind-address` at the top level.
    pub bind_address: BindAddress,
    pub meta: MetaConfig,
    pub data: DataConfig,
    pub http: HttpConfig,
    pub cluster: ClusterConfig,
    pub hinted_handoff: HintedHandoffConfig,
    pub housekeeping: crate::housekeeping::HousekeepingConfig,
    pub continuous_queries: ContinuousQueriesConfig,
    pub monitor: MonitorConfig,
    pub enterprise: EnterpriseConfig,
    pub logging: LoggingConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetaConfig {
    /// Where `node.json` (this node's cluster identity) lives.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataConfig {
    pub dir: PathBuf,
    pub wal_dir: PathBuf,
    /// 0: no limit beyond online CPUs and the license.
    pub max_cores: u32,
    /// Partitions a new shard is split into; 0: one per core.
    pub partitions_per_shard: u32,
    /// An idle core keeps polling this long before it sleeps: a core woken by a message
    /// from another core (every query's scatter) answers without a sleep/wake round trip.
    pub spin_before_park: Duration,
    /// A core that answered another core's part of a query keeps polling its inbox this
    /// long before it sleeps (a dashboard's next query is likely to ask it again).
    pub scatter_linger: Duration,
    /// Compactions running at once on the node (0: one per core); each core gets its share.
    pub max_concurrent_compactions: u64,
    /// Writes are refused while a partition's cache holds more than this.
    pub cache_max_memory_size: u64,
    /// A partition's cache is written to a file once it holds this much.
    pub cache_snapshot_memory_size: u64,
    /// Data files kept in memory for queries, for the whole node (split across cores).
    pub file_cache_max_memory_size: u64,
    /// A partition's cache that received no writes for this long is written to a file.
    pub cache_snapshot_write_cold_duration: Duration,
    /// A partition that received no writes for this long is compacted into one file.
    pub compact_full_write_cold_duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpConfig {
    pub bind_address: BindAddress,
    /// Largest request body in bytes; 0 is no limit (as influxd).
    pub max_body_size: u64,
    /// `/query` and `/write` need credentials (once an admin user exists).
    pub auth_enabled: bool,
    /// Key of HS256 bearer tokens (JWT); empty: bearer tokens are refused.
    pub shared_secret: String,
    /// `/debug/pprof` is served.
    pub pprof_enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterConfig {
    pub dial_timeout: Duration,
    /// How long a write waits for a remote owner of a shard.
    pub shard_writer_timeout: Duration,
    /// How long a query waits for a remote owner before trying another (0: no limit).
    pub shard_reader_timeout: Duration,
    /// Idle connections kept per remote data node and core.
    pub pool_max_idle_streams: u64,
    /// An idle pooled connection older than this is closed rather than reused.
    pub pool_max_idle_time: Duration,
    /// `max-select-point`: points a SELECT may read (0: no limit).
    pub max_select_point: u64,
    /// `max-select-series`: series a SELECT may read (0: no limit).
    pub max_select_series: u64,
    /// `max-select-buckets`: GROUP BY time windows a SELECT may make (0: no limit).
    pub max_select_buckets: u64,
    /// `chunked-slice-points`: a raw SELECT answered with `chunked=true` reads its time
    /// range in slices of about this many points, each sent before the next is read, so
    /// its memory stays bounded whatever the answer's size (0: one read).
    pub chunked_slice_points: u64,
}

/// `[hinted-handoff]`: writes for owners that did not answer wait here.
#[derive(Debug, Clone, PartialEq)]
pub struct HintedHandoffConfig {
    pub enabled: bool,
    pub dir: PathBuf,
    /// Bytes one destination's queue may hold; a full queue refuses writes.
    pub max_size: u64,
    /// Older entries are dropped.
    pub max_age: Duration,
    pub retry_concurrency: u64,
    /// Bytes per second a drain sends (0: no limit).
    pub retry_rate_limit: u64,
    pub retry_interval: Duration,
    pub retry_max_interval: Duration,
    pub purge_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousQueriesConfig {
    pub enabled: bool,
    /// How often the node asks the meta plane for the `continuous_querier` lease.
    pub run_interval: Duration,
}

/// `[monitor]`: the node's statistics stored as points in a database of the cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    pub store_enabled: bool,
    /// The database written to (created with a `monitor` policy if it does not exist).
    pub store_database: String,
    pub store_interval: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnterpriseConfig {
    pub license_key: String,
    pub license_path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggingConfig {
    /// One of `error`, `warn`, `info`, `debug`, `trace`.
    pub level: String,
}

const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Bool,
    /// A Go duration string such as `"1s"`.
    Duration,
    /// A byte size: an integer, or a string with a `k`, `m` or `g` suffix (`"25m"`), as
    /// influxd's `toml.Size`.
    Size,
}

/// Every key the data node reads: (section, key, kind, default). `""` is the top level.
/// Defaults are those of an InfluxDB Enterprise 1.3 data node.
const SCHEMA: &[(&str, &str, Kind, &str)] = &[
    ("", "hostname", Kind::Str, "localhost"),
    ("", "bind-address", Kind::Str, ":8088"),
    ("meta", "dir", Kind::Str, "/var/lib/influxdb/meta"),
    ("data", "dir", Kind::Str, "/var/lib/influxdb/data"),
    ("data", "wal-dir", Kind::Str, "/var/lib/influxdb/wal"),
    ("data", "max-cores", Kind::Int, "0"),
    ("data", "partitions-per-shard", Kind::Int, "0"),
    ("data", "spin-before-park", Kind::Duration, "0s"),
    ("data", "scatter-linger", Kind::Duration, "0s"),
    ("data", "max-concurrent-compactions", Kind::Int, "0"),
    ("data", "cache-max-memory-size", Kind::Size, "1g"),
    ("data", "file-cache-max-memory-size", Kind::Size, "1g"),
    ("data", "cache-snapshot-memory-size", Kind::Size, "25m"),
    (
        "data",
        "cache-snapshot-write-cold-duration",
        Kind::Duration,
        "10m",
    ),
    (
        "data",
        "compact-full-write-cold-duration",
        Kind::Duration,
        "4h",
    ),
    ("http", "bind-address", Kind::Str, ":8086"),
    ("http", "max-body-size", Kind::Int, "25000000"),
    ("http", "auth-enabled", Kind::Bool, "false"),
    ("http", "shared-secret", Kind::Str, ""),
    ("http", "pprof-enabled", Kind::Bool, "true"),
    ("cluster", "dial-timeout", Kind::Duration, "1s"),
    ("cluster", "shard-writer-timeout", Kind::Duration, "5s"),
    ("cluster", "shard-reader-timeout", Kind::Duration, "5s"),
    ("cluster", "pool-max-idle-streams", Kind::Int, "100"),
    ("cluster", "pool-max-idle-time", Kind::Duration, "60s"),
    ("cluster", "max-select-point", Kind::Int, "0"),
    ("cluster", "max-select-series", Kind::Int, "0"),
    ("cluster", "max-select-buckets", Kind::Int, "0"),
    ("cluster", "chunked-slice-points", Kind::Int, "250000"),
    ("hinted-handoff", "enabled", Kind::Bool, "true"),
    ("hinted-handoff", "dir", Kind::Str, "/var/lib/influxdb/hh"),
    ("hinted-handoff", "max-size", Kind::Size, "10737418240"),
    ("hinted-handoff", "max-age", Kind::Duration, "168h"),
    ("hinted-handoff", "retry-concurrency", Kind::Int, "20"),
    ("hinted-handoff", "retry-rate-limit", Kind::Int, "0"),
    ("hinted-handoff", "retry-interval", Kind::Duration, "1s"),
    (
        "hinted-handoff",
        "retry-max-interval",
        Kind::Duration,
        "10s",
    ),
    ("hinted-handoff", "purge-interval", Kind::Duration, "1m"),
    ("retention", "enabled", Kind::Bool, "true"),
    ("retention", "check-interval", Kind::Duration, "30m"),
    ("shard-precreation", "enabled", Kind::Bool, "true"),
    ("shard-precreation", "check-interval", Kind::Duration, "10m"),
    ("shard-precreation", "advance-period", Kind::Duration, "30m"),
    ("continuous_queries", "enabled", Kind::Bool, "true"),
    ("continuous_queries", "run-interval", Kind::Duration, "1s"),
    ("monitor", "store-enabled", Kind::Bool, "true"),
    ("monitor", "store-database", Kind::Str, "_internal"),
    ("monitor", "store-interval", Kind::Duration, "10s"),
    ("enterprise", "license-key", Kind::Str, ""),
    ("enterprise", "license-path", Kind::Str, ""),
    ("logging", "level", Kind::Str, "info"),
];

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// A value with where it came from, for error messages.
struct Setting {
    value: Value,
    origin: String,
}

/// The result of loading: the config and what was ignored in the file.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// Unknown sections and keys, to log once logging is set up.
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        load_from(None, "", &|_| None)
            .expect("the built-in defaults are valid")
            .config
    }
}

/// Loads `path` (or only the defaults) and applies the process environment.
pub fn load(path: Option<&Path>) -> Result<Loaded, ConfigError> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            p.display().to_string(),
        ),
        None => (String::new(), String::new()),
    };
    let file = path.map(|_| text.as_str());
    load_from(file, &name, &|var| std::env::var(var).ok())
}

/// [`load`] over explicit inputs: the file text (if any), its name, and an environment.
fn load_from(
    file: Option<&str>,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let table: toml::Table = match file {
        Some(text) => text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax {
                path: name.to_string(),
                message: e.to_string().trim().to_string(),
            })?,
        None => toml::Table::new(),
    };
    let file_origin = format!("config file {name}");
    let mut warnings = Vec::new();
    for (key, value) in &table {
        let is_section = SCHEMA.iter().any(|(s, _, _, _)| !s.is_empty() && s == key);
        let is_top_key = SCHEMA.iter().any(|(s, k, _, _)| s.is_empty() && k == key);
        if is_section {
            let Some(section) = value.as_table() else {
                return Err(ConfigError::NotATable {
                    origin: file_origin,
                    key: format!("[{key}]"),
                });
            };
            for sub in section.keys() {
                if !SCHEMA.iter().any(|(s, k, _, _)| s == key && k == sub) {
                    warnings.push(format!(
                        "{file_origin}: ignoring unknown key {sub:?} in [{key}]"
                    ));
                }
            }
        } else if !is_top_key {
            warnings.push(format!(
                "{file_origin}: ignoring {} {key:?} (not used by this version)",
                if value.is_table() { "section" } else { "key" }
            ));
        }
    }

    let mut settings: BTreeMap<(&str, &str), Setting> = BTreeMap::new();
    for &(section, key, kind, default) in SCHEMA {
        let label = key_label(section, key);
        let var = env_var(section, key);
        let from_file = if section.is_empty() {
            table.get(key)
        } else {
            table.get(section).and_then(|t| t.get(key))
        };
        let setting = if let Some(raw) = env(&var).filter(|v| !v.is_empty()) {
            let origin = format!("environment {var}");
            Setting {
                value: from_text(&raw, kind, &origin, &label)?,
                origin,
            }
        } else if let Some(v) = from_file {
            Setting {
                value: from_toml(v, kind, &file_origin, &label)?,
                origin: file_origin.clone(),
            }
        } else {
            Setting {
                value: from_text(default, kind, "defaults", &label)?,
                origin: "defaults".to_string(),
            }
        };
        settings.insert((section, key), setting);
    }
    let config = validate(&settings)?;
    Ok(Loaded { config, warnings })
}

/// `INFLUXDB_<SECTION>_<KEY>`: upper case, `-` as `_`; top-level keys have no section.
fn env_var(section: &str, key: &str) -> String {
    let mut name = String::from("INFLUXDB_");
    if !section.is_empty() {
        name.push_str(section);
        name.push('_');
    }
    name.push_str(key);
    name.to_uppercase().replace('-', "_")
}

fn key_label(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("[{section}] {key}")
    }
}

fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Int => "an integer",
        Kind::Bool => "a boolean",
        Kind::Duration => "a duration string such as \"1s\"",
        Kind::Size => "a size such as 1048576, \"25m\" or \"1g\"",
    }
}

fn from_toml(v: &toml::Value, kind: Kind, origin: &str, label: &str) -> Result<Value, ConfigError> {
    match (kind, v) {
        (Kind::Str | Kind::Duration, toml::Value::String(s)) => Ok(Value::Str(s.clone())),
        (Kind::Size, toml::Value::String(s)) => from_text(s, kind, origin, label),
        (Kind::Int | Kind::Size, toml::Value::Integer(i)) => Ok(Value::Int(*i)),
        (Kind::Bool, toml::Value::Boolean(b)) => Ok(Value::Bool(*b)),
        _ => Err(ConfigError::Type {
            origin: origin.to_string(),
            key: label.to_string(),
            expected: expected(kind),
            found: format!("{} {v}", v.type_str()),
        }),
    }
}

fn from_text(raw: &str, kind: Kind, origin: &str, label: &str) -> Result<Value, ConfigError> {
    let bad = || ConfigError::Type {
        origin: origin.to_string(),
        key: label.to_string(),
        expected: expected(kind),
        found: format!("{raw:?}"),
    };
    match kind {
        Kind::Str | Kind::Duration => Ok(Value::Str(raw.to_string())),
        Kind::Int => raw.trim().parse().map(Value::Int).map_err(|_| bad()),
        Kind::Size => parse_size(raw).map(Value::Int).ok_or_else(bad),
        // Go's strconv.ParseBool, which influxd uses for environment values.
        Kind::Bool => match raw.trim() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            _ => Err(bad()),
        },
    }
}

/// `1048576`, `"64k"`, `"25m"`, `"1g"` (powers of 1024, as influxd).
fn parse_size(raw: &str) -> Option<i64> {
    let t = raw.trim().to_ascii_lowercase();
    let (num, mult) = match t.as_bytes().last()? {
        b'k' => (&t[..t.len() - 1], 1i64 << 10),
        b'm' => (&t[..t.len() - 1], 1 << 20),
        b'g' => (&t[..t.len() - 1], 1 << 30),
        _ => (&t[..], 1),
    };
    num.parse::<i64>()
        .ok()?
        .checked_mul(mult)
        .filter(|n| *n >= 0)
}

fn validate(settings: &BTreeMap<(&str, &str), Setting>) -> Result<Config, ConfigError> {
    let get = |section: &'static str, key: &'static str| -> &Setting {
        settings
            .get(&(section, key))
            .expect("every schema key has a setting")
    };
    let invalid = |s: &Setting, section: &str, key: &str, reason: String| ConfigError::Invalid {
        origin: s.origin.clone(),
        key: key_label(section, key),
        reason,
    };
    let string = |section: &'static str, key: &'static str| -> String {
        match &get(section, key).value {
            Value::Str(s) => s.clone(),
            other => format!("{other:?}"),
        }
    };
    let address = |section: &'static str, key: &'static str| {
        BindAddress::parse(&string(section, key))
            .map_err(|e| invalid(get(section, key), section, key, e.to_string()))
    };
    let dur = |section: &'static str, key: &'static str| {
        let s = get(section, key);
        let text = string(section, key);
        match duration::parse(&text) {
            Ok(0) => Err(invalid(s, section, key, "must be greater than 0".into())),
            Ok(n) => Ok(Duration::from_nanos(n)),
            Err(e) => Err(invalid(s, section, key, e.to_string())),
        }
    };
    // A duration where 0 means "off".
    let dur_or_zero = |section: &'static str, key: &'static str| {
        duration::parse(&string(section, key))
            .map(Duration::from_nanos)
            .map_err(|e| invalid(get(section, key), section, key, e.to_string()))
    };
    let dir = |section: &'static str, key: &'static str| {
        let text = string(section, key);
        if text.trim().is_empty() {
            Err(invalid(
                get(section, key),
                section,
                key,
                "must not be empty".into(),
            ))
        } else {
            Ok(PathBuf::from(text))
        }
    };

    let hostname = string("", "hostname").trim().to_string();
    if hostname.is_empty() {
        return Err(invalid(
            get("", "hostname"),
            "",
            "hostname",
            "must not be empty".into(),
        ));
    }
    let max_cores = match get("data", "max-cores").value {
        Value::Int(n) => u32::try_from(n).map_err(|_| {
            invalid(
                get("data", "max-cores"),
                "data",
                "max-cores",
                format!("{n} is out of range: use 0 (no limit) or a positive number of cores"),
            )
        })?,
        _ => 0,
    };
    let int = |section: &'static str, key: &'static str| match get(section, key).value {
        Value::Int(n) => n,
        _ => 0,
    };
    let non_negative = |section: &'static str, key: &'static str| {
        u64::try_from(int(section, key)).map_err(|_| {
            invalid(
                get(section, key),
                section,
                key,
                "must not be negative".into(),
            )
        })
    };
    let partitions_per_shard =
        u32::try_from(int("data", "partitions-per-shard")).map_err(|_| {
            invalid(
                get("data", "partitions-per-shard"),
                "data",
                "partitions-per-shard",
                "use 0 (one per core) or a positive count".into(),
            )
        })?;
    let enabled = matches!(
        get("continuous_queries", "enabled").value,
        Value::Bool(true)
    );
    let store_database = string("monitor", "store-database").trim().to_string();
    if store_database.is_empty() {
        return Err(invalid(
            get("monitor", "store-database"),
            "monitor",
            "store-database",
            "must be specified".into(),
        ));
    }
    let level = string("logging", "level").trim().to_lowercase();
    if !LEVELS.contains(&level.as_str()) {
        return Err(invalid(
            get("logging", "level"),
            "logging",
            "level",
            format!("unknown level {level:?}: use one of {}", LEVELS.join(", ")),
        ));
    }
    Ok(Config {
        hostname,
        bind_address: address("", "bind-address")?,
        meta: MetaConfig {
            dir: dir("meta", "dir")?,
        },
        data: DataConfig {
            dir: dir("data", "dir")?,
            wal_dir: dir("data", "wal-dir")?,
            max_cores,
            partitions_per_shard,
            spin_before_park: dur_or_zero("data", "spin-before-park")?,
            scatter_linger: dur_or_zero("data", "scatter-linger")?,
            max_concurrent_compactions: non_negative("data", "max-concurrent-compactions")?,
            cache_max_memory_size: non_negative("data", "cache-max-memory-size")?,
            cache_snapshot_memory_size: non_negative("data", "cache-snapshot-memory-size")?,
            file_cache_max_memory_size: non_negative("data", "file-cache-max-memory-size")?,
            cache_snapshot_write_cold_duration: dur("data", "cache-snapshot-write-cold-duration")?,
            compact_full_write_cold_duration: dur("data", "compact-full-write-cold-duration")?,
        },
        http: HttpConfig {
            bind_address: address("http", "bind-address")?,
            max_body_size: non_negative("http", "max-body-size")?,
            auth_enabled: matches!(get("http", "auth-enabled").value, Value::Bool(true)),
            shared_secret: string("http", "shared-secret"),
            pprof_enabled: matches!(get("http", "pprof-enabled").value, Value::Bool(true)),
        },
        cluster: ClusterConfig {
            dial_timeout: dur("cluster", "dial-timeout")?,
            shard_writer_timeout: dur("cluster", "shard-writer-timeout")?,
            shard_reader_timeout: dur("cluster", "shard-reader-timeout")?,
            pool_max_idle_streams: non_negative("cluster", "pool-max-idle-streams")?,
            pool_max_idle_time: dur("cluster", "pool-max-idle-time")?,
            max_select_point: non_negative("cluster", "max-select-point")?,
            max_select_series: non_negative("cluster", "max-select-series")?,
            max_select_buckets: non_negative("cluster", "max-select-buckets")?,
            chunked_slice_points: non_negative("cluster", "chunked-slice-points")?,
        },
        hinted_handoff: HintedHandoffConfig {
            enabled: matches!(get("hinted-handoff", "enabled").value, Value::Bool(true)),
            dir: dir("hinted-handoff", "dir")?,
            max_size: non_negative("hinted-handoff", "max-size")?,
            max_age: dur("hinted-handoff", "max-age")?,
            retry_concurrency: non_negative("hinted-handoff", "retry-concurrency")?,
            retry_rate_limit: non_negative("hinted-handoff", "retry-rate-limit")?,
            retry_interval: dur("hinted-handoff", "retry-interval")?,
            retry_max_interval: dur("hinted-handoff", "retry-max-interval")?,
            purge_interval: dur("hinted-handoff", "purge-interval")?,
        },
        housekeeping: crate::housekeeping::HousekeepingConfig {
            retention_enabled: matches!(get("retention", "enabled").value, Value::Bool(true)),
            retention_check: dur("retention", "check-interval")?,
            precreation_enabled: matches!(
                get("shard-precreation", "enabled").value,
                Value::Bool(true)
            ),
            precreation_check: dur("shard-precreation", "check-interval")?,
            advance_period: dur("shard-precreation", "advance-period")?,
        },
        continuous_queries: ContinuousQueriesConfig {
            enabled,
            run_interval: dur("continuous_queries", "run-interval")?,
        },
        monitor: MonitorConfig {
            store_enabled: matches!(get("monitor", "store-enabled").value, Value::Bool(true)),
            store_database,
            store_interval: dur("monitor", "store-interval")?,
        },
        enterprise: EnterpriseConfig {
            license_key: string("enterprise", "license-key"),
            license_path: string("enterprise", "license-path"),
        },
        logging: LoggingConfig { level },
    })
}

impl Config {
    /// Advertised cluster (TCP) address: hostname with the cluster port.
    pub fn tcp_addr(&self) -> String {
        self.bind_address.advertised(&self.hostname)
    }

    /// Advertised HTTP address.
    pub fn http_addr(&self) -> String {
        self.http.bind_address.advertised(&self.hostname)
    }

    /// The config as TOML in influxd's shape (`influxd config`).
    pub fn to_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let d = |v: Duration| q(&duration::format(v.as_nanos() as u64));
        let p = |v: &Path| q(&v.display().to_string());
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "hostname = {}", q(&self.hostname));
        let _ = writeln!(out, "bind-address = {}", q(&self.bind_address.to_string()));
        let _ = writeln!(out, "\n[meta]\n  dir = {}", p(&self.meta.dir));
        let _ = writeln!(
            out,
            "\n[data]\n  dir = {}\n  wal-dir = {}\n  max-cores = {}\n  partitions-per-shard = {}\n  \
             spin-before-park = {}\n  scatter-linger = {}\n  max-concurrent-compactions = {}\n  \
             cache-max-memory-size = {}\n  cache-snapshot-memory-size = {}\n  \
             file-cache-max-memory-size = {}\n  \
             cache-snapshot-write-cold-duration = {}\n  compact-full-write-cold-duration = {}",
            p(&self.data.dir),
            p(&self.data.wal_dir),
            self.data.max_cores,
            self.data.partitions_per_shard,
            d(self.data.spin_before_park),
            d(self.data.scatter_linger),
            self.data.max_concurrent_compactions,
            self.data.cache_max_memory_size,
            self.data.cache_snapshot_memory_size,
            self.data.file_cache_max_memory_size,
            d(self.data.cache_snapshot_write_cold_duration),
            d(self.data.compact_full_write_cold_duration)
        );
        let _ = writeln!(
            out,
            "\n[http]\n  bind-address = {}\n  max-body-size = {}\n  auth-enabled = {}\n  \
             shared-secret = {}\n  pprof-enabled = {}",
            q(&self.http.bind_address.to_string()),
            self.http.max_body_size,
            self.http.auth_enabled,
            q(if self.http.shared_secret.is_empty() {
                ""
            } else {
                "<set>"
            }),
            self.http.pprof_enabled
        );
        let _ = writeln!(
            out,
            "\n[cluster]\n  dial-timeout = {}\n  shard-writer-timeout = {}\n  \
             shard-reader-timeout = {}\n  pool-max-idle-streams = {}\n  \
             pool-max-idle-time = {}\n  max-select-point = {}\n  \
             max-select-series = {}\n  max-select-buckets = {}\n  \
             chunked-slice-points = {}",
            d(self.cluster.dial_timeout),
            d(self.cluster.shard_writer_timeout),
            d(self.cluster.shard_reader_timeout),
            self.cluster.pool_max_idle_streams,
            d(self.cluster.pool_max_idle_time),
            self.cluster.max_select_point,
            self.cluster.max_select_series,
            self.cluster.max_select_buckets,
            self.cluster.chunked_slice_points
        );
        let hh = &self.hinted_handoff;
        let _ = writeln!(
            out,
            "\n[hinted-handoff]\n  enabled = {}\n  dir = {}\n  max-size = {}\n  max-age = {}\n  \
             retry-concurrency = {}\n  retry-rate-limit = {}\n  retry-interval = {}\n  \
             retry-max-interval = {}\n  purge-interval = {}",
            hh.enabled,
            p(&hh.dir),
            hh.max_size,
            d(hh.max_age),
            hh.retry_concurrency,
            hh.retry_rate_limit,
            d(hh.retry_interval),
            d(hh.retry_max_interval),
            d(hh.purge_interval)
        );
        let h = &self.housekeeping;
        let _ = writeln!(
            out,
            "\n[retention]\n  enabled = {}\n  check-interval = {}",
            h.retention_enabled,
            d(h.retention_check)
        );
        let _ = writeln!(
            out,
            "\n[shard-precreation]\n  enabled = {}\n  check-interval = {}\n  advance-period = {}",
            h.precreation_enabled,
            d(h.precreation_check),
            d(h.advance_period)
        );
        let _ = writeln!(
            out,
            "\n[continuous_queries]\n  enabled = {}\n  run-interval = {}",
            self.continuous_queries.enabled,
            d(self.continuous_queries.run_interval)
        );
        let m = &self.monitor;
        let _ = writeln!(
            out,
            "\n[monitor]\n  store-enabled = {}\n  store-database = {}\n  store-interval = {}",
            m.store_enabled,
            q(&m.store_database),
            d(m.store_interval)
        );
        let _ = writeln!(
            out,
            "\n[enterprise]\n  license-key = {}\n  license-path = {}",
            q(&self.enterprise.license_key),
            q(&self.enterprise.license_path)
        );
        let _ = writeln!(out, "\n[logging]\n  level = {}", q(&self.logging.level));
        out
    }
}

#[cfg(test)]
mod tests;
