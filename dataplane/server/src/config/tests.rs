use std::collections::HashMap;

use super::*;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn defaults_are_enterprise_data_node_defaults() {
    let c = Config::default();
    assert_eq!(c.hostname, "localhost");
    assert_eq!(c.tcp_addr(), "localhost:8088");
    assert_eq!(c.http_addr(), "localhost:8086");
    assert_eq!(c.meta.dir, PathBuf::from("/var/lib/influxdb/meta"));
    assert_eq!(c.data.dir, PathBuf::from("/var/lib/influxdb/data"));
    assert_eq!(c.data.wal_dir, PathBuf::from("/var/lib/influxdb/wal"));
    assert_eq!(c.data.max_cores, 0);
    assert_eq!(c.cluster.dial_timeout, Duration::from_secs(1));
    assert!(c.continuous_queries.enabled);
    assert_eq!(c.continuous_queries.run_interval, Duration::from_secs(1));
    assert_eq!(c.enterprise.license_key, "");
    assert_eq!(c.logging.level, "info");
    assert!(c.monitor.store_enabled);
    assert_eq!(c.monitor.store_database, "_internal");
    assert_eq!(c.monitor.store_interval, Duration::from_secs(10));
}

#[test]
fn monitor_section() {
    let file = "[monitor]\n  store-enabled = false\n  store-database = \"mon\"\n  store-interval = \"1m\"\n";
    let loaded = load_from(Some(file), "f.toml", &no_env).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let m = loaded.config.monitor;
    assert!(!m.store_enabled);
    assert_eq!(m.store_database, "mon");
    assert_eq!(m.store_interval, Duration::from_secs(60));
    let env = env_of(&[("INFLUXDB_MONITOR_STORE_ENABLED", "false")]);
    assert!(
        !load_from(None, "", &env)
            .unwrap()
            .config
            .monitor
            .store_enabled
    );
    let e = err("[monitor]\nstore-database = \"  \"");
    assert!(e.contains("[monitor] store-database"), "{e}");
    let e = err("[monitor]\nstore-interval = \"0s\"");
    assert!(
        e.contains("[monitor] store-interval") && e.contains("greater than 0"),
        "{e}"
    );
}

#[test]
fn printed_defaults_parse_back() {
    let c = Config::default();
    let text = c.to_toml();
    assert!(text.contains("[continuous_queries]"));
    assert!(text.contains("bind-address = \":8086\""));
    let back = load_from(Some(&text), "printed", &no_env).unwrap();
    assert_eq!(back.config, c);
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
}

#[test]
fn file_values_and_env_overrides() {
    let file = r#"
hostname = "node1"
bind-address = "127.0.0.1:18088"
[data]
  max-cores = 3
[http]
  bind-address = ":18086"
[continuous_queries]
  run-interval = "250ms"
"#;
    let env = env_of(&[
        ("INFLUXDB_HTTP_BIND_ADDRESS", ":28086"),
        ("INFLUXDB_DATA_MAX_CORES", "2"),
        ("INFLUXDB_ENTERPRISE_LICENSE_PATH", "/etc/lic"),
        ("INFLUXDB_CONTINUOUS_QUERIES_ENABLED", "false"),
        ("INFLUXDB_LOGGING_LEVEL", "DEBUG"),
    ]);
    let c = load_from(Some(file), "f.toml", &env).unwrap().config;
    assert_eq!(c.hostname, "node1");
    assert_eq!(c.tcp_addr(), "127.0.0.1:18088");
    assert_eq!(c.http_addr(), "node1:28086");
    assert_eq!(c.data.max_cores, 2);
    assert_eq!(c.enterprise.license_path, "/etc/lic");
    assert!(!c.continuous_queries.enabled);
    assert_eq!(
        c.continuous_queries.run_interval,
        Duration::from_millis(250)
    );
    assert_eq!(c.logging.level, "debug");

    let env = env_of(&[("INFLUXDB_HOSTNAME", "h2"), ("INFLUXDB_BIND_ADDRESS", ":9")]);
    let c = load_from(None, "", &env).unwrap().config;
    assert_eq!(c.tcp_addr(), "h2:9");
}

#[test]
fn env_var_names() {
    assert_eq!(env_var("", "bind-address"), "INFLUXDB_BIND_ADDRESS");
    assert_eq!(
        env_var("continuous_queries", "run-interval"),
        "INFLUXDB_CONTINUOUS_QUERIES_RUN_INTERVAL"
    );
}

#[test]
fn unknown_keys_are_warnings() {
    let file =
        "reporting-disabled = true\n[data]\n  cache-max = 1\n[anti-entropy]\n  enabled = true\n";
    let loaded = load_from(Some(file), "f.toml", &no_env).unwrap();
    assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
    assert!(loaded.warnings.iter().any(|w| w.contains("cache-max")));
}

fn err(file: &str) -> String {
    load_from(Some(file), "/tmp/bad.toml", &no_env)
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_configs_name_the_file_and_key() {
    let e = err("[data\nmax-cores = 1");
    assert!(
        e.contains("/tmp/bad.toml") && e.contains("not valid TOML"),
        "{e}"
    );

    let e = err("[data]\nmax-cores = \"four\"");
    assert!(e.contains("/tmp/bad.toml"), "{e}");
    assert!(
        e.contains("[data] max-cores") && e.contains("integer"),
        "{e}"
    );

    let e = err("[cluster]\ndial-timeout = \"5 parsecs\"");
    assert!(e.contains("[cluster] dial-timeout"), "{e}");

    let e = err("[cluster]\ndial-timeout = 5");
    assert!(
        e.contains("[cluster] dial-timeout") && e.contains("duration"),
        "{e}"
    );

    let e = err("[data]\nmax-cores = -1");
    assert!(
        e.contains("[data] max-cores") && e.contains("out of range"),
        "{e}"
    );

    let e = err("[http]\nbind-address = \"8086\"");
    assert!(e.contains("[http] bind-address"), "{e}");

    let e = err("[logging]\nlevel = \"loud\"");
    assert!(e.contains("[logging] level"), "{e}");

    let e = err("data = 3");
    assert!(e.contains("[data]") && e.contains("table"), "{e}");

    let e = err("[continuous_queries]\nrun-interval = \"0s\"");
    assert!(e.contains("greater than 0"), "{e}");
}

#[test]
fn bad_env_values_name_the_variable() {
    let env = env_of(&[("INFLUXDB_DATA_MAX_CORES", "lots")]);
    let e = load_from(None, "", &env).unwrap_err().to_string();
    assert!(
        e.contains("INFLUXDB_DATA_MAX_CORES") && e.contains("lots"),
        "{e}"
    );
    let env = env_of(&[("INFLUXDB_CONTINUOUS_QUERIES_ENABLED", "yes")]);
    let e = load_from(None, "", &env).unwrap_err().to_string();
    assert!(e.contains("INFLUXDB_CONTINUOUS_QUERIES_ENABLED"), "{e}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let e = load(Some(Path::new("/nonexistent/influxd.conf")))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/influxd.conf"), "{e}");
}
