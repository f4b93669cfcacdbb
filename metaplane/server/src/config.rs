//! `influxd-meta` configuration: TOML in the shape of InfluxDB Enterprise's meta config,
//! environment overrides `INFLUXDB_<SECTION>_<KEY>`, then validation into typed values.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The file `influxd-meta config` prints.
pub const DEFAULT_CONFIG: &str = r#"### Tessera meta node (influxd-meta) configuration.
### Every key can be overridden with INFLUXDB_<SECTION>_<KEY>, e.g. INFLUXDB_META_DIR.

# The host name other nodes use to reach this one; advertised with the bind ports.
hostname = "localhost"

[meta]
  # Where the raft log, snapshots and node id live.
  dir = "/var/lib/influxdb/meta"
  # Raft traffic between meta nodes.
  bind-address = ":8089"
  # The meta API used by data nodes and influxd-ctl.
  http-bind-address = ":8091"
  # How long a lease (e.g. the continuous-query lease) lasts unless renewed.
  lease-duration = "1m0s"
  # Raft timing: a follower starts an election after election-timeout (randomised up to
  # twice that) without hearing from the leader; the leader sends a heartbeat every
  # heartbeat-timeout / 4.
  election-timeout = "1s"
  heartbeat-timeout = "1s"
  # Number of applied log entries between two state-machine snapshots.
  snapshot-threshold = 1000
  # Serve /debug/pprof on the HTTP port.
  pprof-enabled = true

[enterprise]
  # The license, inline or as a file. license-key wins when both are set.
  license-key = ""
  license-path = ""

[logging]
  # error, warn, info, debug or trace (RUST_LOG overrides).
  level = "info"
"#;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("invalid config file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("invalid value for {key}: {reason}")]
    Value { key: String, reason: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RawConfig {
    pub hostname: String,
    pub meta: RawMeta,
    pub enterprise: RawEnterprise,
    pub logging: RawLogging,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RawMeta {
    pub dir: String,
    pub bind_address: String,
    pub http_bind_address: String,
    pub lease_duration: String,
    pub election_timeout: String,
    pub heartbeat_timeout: String,
    pub snapshot_threshold: u64,
    pub pprof_enabled: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RawEnterprise {
    pub license_key: String,
    pub license_path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct RawLogging {
    pub level: String,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            hostname: "localhost".into(),
            meta: RawMeta::default(),
            enterprise: RawEnterprise::default(),
            logging: RawLogging::default(),
        }
    }
}

impl Default for RawMeta {
    fn default() -> Self {
        RawMeta {
            dir: "/var/lib/influxdb/meta".into(),
            bind_address: ":8089".into(),
            http_bind_address: ":8091".into(),
            lease_duration: "1m0s".into(),
            election_timeout: "1s".into(),
            heartbeat_timeout: "1s".into(),
            snapshot_threshold: 1000,
            pprof_enabled: true,
        }
    }
}

impl Default for RawLogging {
    fn default() -> Self {
        RawLogging {
            level: "info".into(),
        }
    }
}

/// The validated configuration a meta node runs with.
#[derive(Debug, Clone)]
pub struct MetaConfig {
    pub dir: PathBuf,
    /// Address to bind raft on, and the one peers use to reach it.
    pub raft_bind: String,
    pub raft_addr: String,
    pub http_bind: String,
    pub http_addr: String,
    pub lease_duration: Duration,
    pub election_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub snapshot_threshold: u64,
    pub pprof_enabled: bool,
    pub license_key: String,
    pub license_path: String,
    pub log_level: String,
}

impl RawConfig {
    /// Reads `path` (or the defaults when `None`) and applies environment overrides.
    /// Also returns the keys the file has that Tessera does not know: like influxd, they
    /// are ignored (so Enterprise config files load), but they are reported.
    pub fn load(path: Option<&Path>) -> Result<(RawConfig, Vec<String>), ConfigError> {
        let (mut raw, unknown) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?;
                let parse_err = |e: toml::de::Error| ConfigError::Parse {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                };
                let value: toml::Table = toml::from_str(&text).map_err(parse_err)?;
                let unknown = unknown_keys(&value);
                (toml::from_str(&text).map_err(parse_err)?, unknown)
            }
            None => (RawConfig::default(), Vec::new()),
        };
        raw.apply_env(|k| std::env::var(k).ok())?;
        Ok((raw, unknown))
    }

    /// `INFLUXDB_<SECTION>_<KEY>` overrides, as influxd: dashes become underscores.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn set_bool(v: &mut bool, key: &str, val: String) -> Result<(), ConfigError> {
            *v = val.parse().map_err(|_| ConfigError::Value {
                key: key.into(),
                reason: format!("{val:?} is not true or false"),
            })?;
            Ok(())
        }
        if let Some(v) = get("INFLUXDB_HOSTNAME") {
            self.hostname = v;
        }
        let m = &mut self.meta;
        let strings: [(&str, &mut String); 6] = [
            ("INFLUXDB_META_DIR", &mut m.dir),
            ("INFLUXDB_META_BIND_ADDRESS", &mut m.bind_address),
            ("INFLUXDB_META_HTTP_BIND_ADDRESS", &mut m.http_bind_address),
            ("INFLUXDB_META_LEASE_DURATION", &mut m.lease_duration),
            ("INFLUXDB_META_ELECTION_TIMEOUT", &mut m.election_timeout),
            ("INFLUXDB_META_HEARTBEAT_TIMEOUT", &mut m.heartbeat_timeout),
        ];
        for (key, slot) in strings {
            if let Some(v) = get(key) {
                *slot = v;
            }
        }
        if let Some(v) = get("INFLUXDB_META_SNAPSHOT_THRESHOLD") {
            m.snapshot_threshold = v.parse().map_err(|_| ConfigError::Value {
                key: "INFLUXDB_META_SNAPSHOT_THRESHOLD".into(),
                reason: format!("{v:?} is not a number"),
            })?;
        }
        if let Some(v) = get("INFLUXDB_META_PPROF_ENABLED") {
            set_bool(&mut m.pprof_enabled, "INFLUXDB_META_PPROF_ENABLED", v)?;
        }
        if let Some(v) = get("INFLUXDB_ENTERPRISE_LICENSE_KEY") {
            self.enterprise.license_key = v;
        }
        if let Some(v) = get("INFLUXDB_ENTERPRISE_LICENSE_PATH") {
            self.enterprise.license_path = v;
        }
        if let Some(v) = get("INFLUXDB_LOGGING_LEVEL") {
            self.logging.level = v;
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<MetaConfig, ConfigError> {
        let dur = |key: &str, v: &str| {
            tessera_meta_types::duration::parse(v)
                .map(Duration::from_nanos)
                .map_err(|e| ConfigError::Value {
                    key: format!("meta.{key}"),
                    reason: e.to_string(),
                })
        };
        let lease_duration = dur("lease-duration", &self.meta.lease_duration)?;
        let election_timeout = dur("election-timeout", &self.meta.election_timeout)?;
        let heartbeat_timeout = dur("heartbeat-timeout", &self.meta.heartbeat_timeout)?;
        if lease_duration.is_zero() {
            return Err(ConfigError::Value {
                key: "meta.lease-duration".into(),
                reason: "must be greater than 0s".into(),
            });
        }
        if election_timeout < Duration::from_millis(50) {
            return Err(ConfigError::Value {
                key: "meta.election-timeout".into(),
                reason: "must be at least 50ms".into(),
            });
        }
        // openraft needs heartbeats well inside the election timeout.
        let heartbeat_interval = (heartbeat_timeout / 4)
            .min(election_timeout / 3)
            .max(Duration::from_millis(10));
        if self.meta.dir.trim().is_empty() {
            return Err(ConfigError::Value {
                key: "meta.dir".into(),
                reason: "must not be empty".into(),
            });
        }
        if !matches!(
            self.logging.level.as_str(),
            "error" | "warn" | "info" | "debug" | "trace"
        ) {
            return Err(ConfigError::Value {
                key: "logging.level".into(),
                reason: format!(
                    "{:?} is not one of error, warn, info, debug, trace",
                    self.logging.level
                ),
            });
        }
        let (raft_bind, raft_addr) =
            addresses("meta.bind-address", &self.meta.bind_address, &self.hostname)?;
        let (http_bind, http_addr) = addresses(
            "meta.http-bind-address",
            &self.meta.http_bind_address,
            &self.hostname,
        )?;
        Ok(MetaConfig {
            dir: PathBuf::from(&self.meta.dir),
            raft_bind,
            raft_addr,
            http_bind,
            http_addr,
            lease_duration,
            election_timeout,
            heartbeat_interval,
            snapshot_threshold: self.meta.snapshot_threshold.max(1),
            pprof_enabled: self.meta.pprof_enabled,
            license_key: self.enterprise.license_key.clone(),
            license_path: self.enterprise.license_path.clone(),
            log_level: self.logging.level.clone(),
        })
    }
}

/// Keys of `file` that the default config does not have, as `section.key`.
fn unknown_keys(file: &toml::Table) -> Vec<String> {
    let known = toml::Table::try_from(RawConfig::default()).expect("defaults serialize");
    let mut out = Vec::new();
    for (key, value) in file {
        match (known.get(key), value) {
            (None, _) => out.push(key.clone()),
            (Some(toml::Value::Table(k)), toml::Value::Table(v)) => {
                out.extend(
                    v.keys()
                        .filter(|sub| !k.contains_key(*sub))
                        .map(|sub| format!("{key}.{sub}")),
                );
            }
            _ => {}
        }
    }
    out
}

/// Splits a bind address into what to bind and what to advertise: `":8089"` binds all
/// interfaces and advertises `hostname:8089`; `"10.0.0.1:8089"` binds and advertises that.
pub fn addresses(key: &str, bind: &str, hostname: &str) -> Result<(String, String), ConfigError> {
    let bad = |reason: &str| ConfigError::Value {
        key: key.into(),
        reason: format!("{bind:?}: {reason}"),
    };
    let (host, port) = bind
        .rsplit_once(':')
        .ok_or_else(|| bad("expected host:port or :port"))?;
    let port: u16 = port.parse().map_err(|_| bad("port is not a number"))?;
    if host.is_empty() || host == "0.0.0.0" {
        Ok((format!("0.0.0.0:{port}"), format!("{hostname}:{port}")))
    } else {
        Ok((format!("{host}:{port}"), format!("{host}:{port}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_enterprise() {
        let cfg = RawConfig::default().validate().unwrap();
        assert_eq!(cfg.raft_addr, "localhost:8089");
        assert_eq!(cfg.http_addr, "localhost:8091");
        assert_eq!(cfg.lease_duration, Duration::from_secs(60));
        assert!(cfg.pprof_enabled);
        assert!(cfg.heartbeat_interval < cfg.election_timeout);
    }

    #[test]
    fn printed_defaults_are_the_defaults() {
        let printed: RawConfig = toml::from_str(DEFAULT_CONFIG).unwrap();
        assert_eq!(
            toml::to_string(&printed).unwrap(),
            toml::to_string(&RawConfig::default()).unwrap()
        );
    }

    #[test]
    fn env_overrides() {
        let mut raw = RawConfig::default();
        raw.apply_env(|k| match k {
            "INFLUXDB_META_HTTP_BIND_ADDRESS" => Some("127.0.0.1:9999".into()),
            "INFLUXDB_META_LEASE_DURATION" => Some("5s".into()),
            "INFLUXDB_META_PPROF_ENABLED" => Some("false".into()),
            _ => None,
        })
        .unwrap();
        let cfg = raw.validate().unwrap();
        assert_eq!(cfg.http_addr, "127.0.0.1:9999");
        assert_eq!(cfg.lease_duration, Duration::from_secs(5));
        assert!(!cfg.pprof_enabled);
        let mut raw = RawConfig::default();
        assert!(raw
            .apply_env(|k| (k == "INFLUXDB_META_PPROF_ENABLED").then(|| "maybe".into()))
            .is_err());
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut raw = RawConfig::default();
        raw.meta.lease_duration = "forever".into();
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("meta.lease-duration"), "{err}");
        let mut raw = RawConfig::default();
        raw.meta.http_bind_address = "8091".into();
        assert!(raw
            .validate()
            .unwrap_err()
            .to_string()
            .contains("http-bind-address"));
        assert!(toml::from_str::<RawConfig>("[meta]\ndir = 1\n").is_err());
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let file: toml::Table = toml::from_str(
            "reporting-disabled = true\n[meta]\ndir = \"/x\"\nlogging-enabled = true\n[tls]\n",
        )
        .unwrap();
        let mut unknown = unknown_keys(&file);
        unknown.sort();
        assert_eq!(
            unknown,
            vec!["meta.logging-enabled", "reporting-disabled", "tls"]
        );
    }
}
