//! The TOML config files `tessera up` writes for each node: only what differs from the
//! node's defaults (addresses, directories, the license), in influxd's section names.

use std::path::Path;

/// A TOML basic string. JSON string escapes (`\"`, `\\`, `\n`, `\u001f`) are all valid
/// TOML basic-string escapes, so serde_json does the quoting.
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a str always serializes")
}

fn path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

/// `influxd-meta.toml` for a meta node living in `dir`.
pub fn meta_config(host: &str, dir: &Path, raft: u16, http: u16, license: &Path) -> String {
    format!(
        "# Written by `tessera up`.\n\
         hostname = {host_q}\n\
         \n\
         [meta]\n  \
           dir = {meta_dir}\n  \
           bind-address = {raft_q}\n  \
           http-bind-address = {http_q}\n\
         \n\
         [enterprise]\n  \
           license-path = {license}\n",
        host_q = quote(host),
        meta_dir = path(&dir.join("meta")),
        raft_q = quote(&format!("{host}:{raft}")),
        http_q = quote(&format!("{host}:{http}")),
        license = path(license),
    )
}

/// `influxd.toml` for a data node living in `dir`.
pub fn data_config(host: &str, dir: &Path, tcp: u16, http: u16, license: &Path) -> String {
    format!(
        "# Written by `tessera up`.\n\
         hostname = {host_q}\n\
         bind-address = {tcp_q}\n\
         \n\
         [meta]\n  \
           dir = {meta_dir}\n\
         \n\
         [data]\n  \
           dir = {data_dir}\n  \
           wal-dir = {wal_dir}\n\
         \n\
         [hinted-handoff]\n  \
           dir = {hh_dir}\n\
         \n\
         [http]\n  \
           bind-address = {http_q}\n\
         \n\
         # The `_internal` database of statistics (influxd's default: true). Off here,\n\
         # as on the reference peer, so a new cluster lists only your databases.\n\
         [monitor]\n  \
           store-enabled = false\n\
         \n\
         [enterprise]\n  \
           license-path = {license}\n",
        host_q = quote(host),
        tcp_q = quote(&format!("{host}:{tcp}")),
        meta_dir = path(&dir.join("meta")),
        data_dir = path(&dir.join("data")),
        wal_dir = path(&dir.join("wal")),
        hh_dir = path(&dir.join("hh")),
        http_q = quote(&format!("{host}:{http}")),
        license = path(license),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_config_text() {
        let text = meta_config(
            "127.0.0.1",
            Path::new("/t/meta-1"),
            18189,
            18191,
            Path::new("/t/trial.license"),
        );
        assert_eq!(
            text,
            "# Written by `tessera up`.\n\
             hostname = \"127.0.0.1\"\n\n\
             [meta]\n  dir = \"/t/meta-1/meta\"\n  bind-address = \"127.0.0.1:18189\"\n  \
             http-bind-address = \"127.0.0.1:18191\"\n\n\
             [enterprise]\n  license-path = \"/t/trial.license\"\n"
        );
    }

    #[test]
    fn data_config_text() {
        let text = data_config(
            "127.0.0.1",
            Path::new("/t/data-1"),
            18088,
            18086,
            Path::new("/t/trial.license"),
        );
        assert!(text.contains("hostname = \"127.0.0.1\"\nbind-address = \"127.0.0.1:18088\"\n"));
        assert!(text.contains("[meta]\n  dir = \"/t/data-1/meta\"\n"));
        assert!(
            text.contains("[data]\n  dir = \"/t/data-1/data\"\n  wal-dir = \"/t/data-1/wal\"\n")
        );
        assert!(text.contains("[http]\n  bind-address = \"127.0.0.1:18086\"\n"));
        assert!(text.contains("[enterprise]\n  license-path = \"/t/trial.license\"\n"));
        assert!(text.contains("[monitor]\n  store-enabled = false\n"));
    }

    #[test]
    fn odd_paths_are_quoted() {
        let text = meta_config("h", Path::new("/a \"b\"\\c"), 1, 2, Path::new("/l"));
        assert!(text.contains(r#"dir = "/a \"b\"\\c/meta""#));
    }
}
