//! Text output of `influxd-ctl`: a small tabwriter and the shapes of `show`,
//! `show-shards` and `license`, as Enterprise prints them.

use std::fmt::Write as _;

use tessera_meta_client::api::{format_time, LicenseResponse, ShowClusterResponse};
use tessera_meta_types::ShardInfo;

/// Spaces between columns at minimum (Go `tabwriter` padding as `influxd-ctl` uses it).
pub const COLUMN_GAP: usize = 3;

/// Aligns rows of cells like Go's `text/tabwriter` with space padding: every column but
/// the last is padded to its widest cell plus [`COLUMN_GAP`]; the last is not padded, so
/// lines carry no trailing spaces.
#[derive(Debug, Default, Clone)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        let mut t = Table::default();
        t.row(header);
        t
    }

    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let mut widths = vec![0usize; columns];
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if i + 1 < row.len() {
                    let pad = widths[i] - cell.chars().count() + COLUMN_GAP;
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

fn heading(out: &mut String, title: &str, underline: usize) {
    let _ = writeln!(out, "{title}\n{}", "=".repeat(underline));
}

/// `influxd-ctl show`: data nodes then meta nodes, each `ID  TCP Address  Version`
/// (for meta nodes the address shown is the HTTP address, which is what operators pass
/// to `add-meta`/`remove-meta`).
pub fn render_cluster(cluster: &ShowClusterResponse) -> String {
    let mut out = String::new();
    heading(&mut out, "Data Nodes", 10);
    // Enterprise's columns, then the node's health as the meta node sees it.
    let mut data = Table::new(["ID", "TCP Address", "Version", "Status"]);
    let mut nodes: Vec<_> = cluster.data.iter().collect();
    nodes.sort_by_key(|n| n.id);
    for n in nodes {
        data.row([
            n.id.to_string(),
            n.tcp_addr.clone(),
            n.version.clone(),
            n.status.clone(),
        ]);
    }
    out.push_str(&data.render());
    out.push('\n');
    heading(&mut out, "Meta Nodes", 10);
    let mut meta = Table::new(["ID", "TCP Address", "Version"]);
    let mut nodes: Vec<_> = cluster.meta.iter().collect();
    nodes.sort_by_key(|n| n.id);
    for n in nodes {
        meta.row([n.id.to_string(), n.http_addr.clone(), n.version.clone()]);
    }
    out.push_str(&meta.render());
    out
}

/// `influxd-ctl show-shards`. A truncated shard shows its truncation time with a `*` as
/// end and expiry, as Enterprise does.
pub fn render_shards(shards: &[ShardInfo]) -> String {
    shards_table(shards, None)
}

/// The shard table; with `verbose` (the owners' sizes and now) a `State` column and each
/// owner's bytes on disk.
fn shards_table(shards: &[ShardInfo], verbose: Option<(&ShardSizes, i64)>) -> String {
    let mut out = String::new();
    heading(&mut out, "Shards", 10);
    let mut header = vec![
        "ID",
        "Database",
        "Retention Policy",
        "Desired Replicas",
        "Shard Group",
        "Start",
        "End",
        "Expires",
    ];
    if verbose.is_some() {
        header.push("State");
    }
    header.push("Owners");
    let mut table = Table::new(header);
    for s in shards {
        let (end, expires) = match s.truncated_at {
            Some(t) => (
                format!("{}*", format_time(t)),
                format!("{}*", format_time(t)),
            ),
            None => (
                format_time(s.end_time),
                s.expire_time.map(format_time).unwrap_or_default(),
            ),
        };
        let owners: Vec<String> = s
            .owners
            .iter()
            .map(|o| match verbose {
                None => format!("{{{} {}}}", o.id, o.tcp_addr),
                Some((sizes, _)) => {
                    let size = match (sizes.get(&(s.id, o.id)), sizes.get(&(u64::MAX, o.id))) {
                        (Some(Ok(b)), _) => human_bytes(*b),
                        (_, Some(Err(_))) | (_, None) => "unreachable".to_string(),
                        _ => human_bytes(0),
                    };
                    format!("{{{} {} {}}}", o.id, o.tcp_addr, size)
                }
            })
            .collect();
        let mut row = vec![
            s.id.to_string(),
            s.database.clone(),
            s.retention_policy.clone(),
            s.replica_n.to_string(),
            s.shard_group_id.to_string(),
            format_time(s.start_time),
            end,
            expires,
        ];
        if let Some((_, now)) = verbose {
            let end = s.truncated_at.unwrap_or(s.end_time);
            row.push(
                if s.start_time <= now && now < end {
                    "hot"
                } else if now < s.start_time {
                    "future"
                } else {
                    "cold"
                }
                .to_string(),
            );
        }
        row.push(format!("[{}]", owners.join(" ")));
        table.row(row);
    }
    out.push_str(&table.render());
    out
}

/// Bytes each data node holds per shard: `(shard, node) → bytes`, or the reason the node
/// could not say.
pub type ShardSizes = std::collections::HashMap<(u64, u64), Result<u64, String>>;

pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

/// Asks every data node (its `/debug/shards`) for the bytes of its shards.
pub async fn fetch_shard_sizes(cluster: &ShowClusterResponse) -> ShardSizes {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap_or_default();
    let mut out = ShardSizes::new();
    for n in &cluster.data {
        let url = format!("http://{}/debug/shards", n.http_addr);
        let answer = async {
            let v: serde_json::Value = client
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(v)
        }
        .await;
        match answer {
            Ok(v) => {
                for s in v["shards"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(size)) = (s["id"].as_u64(), s["size"].as_u64()) {
                        out.insert((id, n.id), Ok(size));
                    }
                }
                out.insert((u64::MAX, n.id), Ok(0));
            }
            Err(e) => {
                out.insert((u64::MAX, n.id), Err(e));
            }
        }
    }
    out
}

/// Bytes in the units `influxd-ctl` prints (`1.2 MB`, base 1000 as Go's humanize).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `influxd-ctl show-shards -v`: as `show-shards`, each owner with its bytes on disk
/// (`unreachable` when its node did not answer), and the shard's state (hot, cold, future).
pub fn render_shards_verbose(shards: &[ShardInfo], sizes: &ShardSizes, now: i64) -> String {
    shards_table(shards, Some((sizes, now)))
}

/// `influxd-ctl license`: the entitlements in force.
pub fn render_license(license: &LicenseResponse) -> String {
    let mut table = Table::default();
    table
        .row(["Licensee:", license.licensee.as_str()])
        .row(["Max data nodes:", &license.max_data_nodes.to_string()])
        .row(["Data nodes in use:", &license.data_nodes.to_string()])
        .row(["Max cores per data node:", &license.max_cores.to_string()])
        .row(["Expires:", license.expires_at.as_str()]);
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_meta_client::api::{DataNodeInfo, MetaNodeInfo};
    use tessera_meta_types::ShardOwner;

    #[test]
    fn table_pads_like_tabwriter() {
        let mut t = Table::new(["ID", "TCP Address", "Version"]);
        t.row(["4", "host:8088", "0.1.0"]);
        t.row(["12", "h:1", ""]);
        assert_eq!(
            t.render(),
            "ID   TCP Address   Version\n\
             4    host:8088     0.1.0\n\
             12   h:1\n"
        );
    }

    #[test]
    fn show_has_enterprise_shape() {
        let cluster = ShowClusterResponse {
            data: vec![
                DataNodeInfo {
                    id: 5,
                    tcp_addr: "data-2:8088".into(),
                    http_addr: "data-2:8086".into(),
                    version: "v".into(),
                    status: "unreachable: timeout".into(),
                },
                DataNodeInfo {
                    id: 4,
                    tcp_addr: "data-1:8088".into(),
                    http_addr: "data-1:8086".into(),
                    version: "v".into(),
                    status: "healthy".into(),
                },
            ],
            meta: vec![MetaNodeInfo {
                id: 1,
                addr: "meta-1:8089".into(),
                http_addr: "meta-1:8091".into(),
                version: "v".into(),
            }],
        };
        assert_eq!(
            render_cluster(&cluster),
            "Data Nodes\n==========\n\
             ID   TCP Address   Version   Status\n\
             4    data-1:8088   v         healthy\n\
             5    data-2:8088   v         unreachable: timeout\n\
             \n\
             Meta Nodes\n==========\n\
             ID   TCP Address   Version\n\
             1    meta-1:8091   v\n"
        );
    }

    #[test]
    fn shards_show_times_and_owners() {
        const DAY: i64 = 86_400_000_000_000;
        let start = 1_578_268_800_000_000_000; // 2020-01-06T00:00:00Z
        let shard = |id, expire_time, truncated_at| ShardInfo {
            id,
            database: "telegraf".into(),
            retention_policy: "autogen".into(),
            replica_n: 2,
            shard_group_id: 1,
            start_time: start,
            end_time: start + 7 * DAY,
            expire_time,
            truncated_at,
            owners: vec![
                ShardOwner {
                    id: 4,
                    tcp_addr: "h1:8088".into(),
                },
                ShardOwner {
                    id: 5,
                    tcp_addr: "h2:8088".into(),
                },
            ],
        };
        let text = render_shards(&[
            shard(1, None, None),
            shard(2, Some(start + 14 * DAY), None),
            shard(3, None, Some(start + DAY / 2)),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Shards");
        assert_eq!(lines[1], "==========");
        assert!(lines[2].starts_with("ID   Database   Retention Policy   Desired Replicas"));
        assert_eq!(
            lines[3],
            "1    telegraf   autogen            2                  1             \
             2020-01-06T00:00:00Z   2020-01-13T00:00:00Z                            \
             [{4 h1:8088} {5 h2:8088}]"
        );
        assert!(lines[4].contains("2020-01-13T00:00:00Z    2020-01-20T00:00:00Z    [{4"));
        assert!(lines[5].contains("2020-01-06T12:00:00Z*   2020-01-06T12:00:00Z*   [{4"));
    }

    #[test]
    fn license_lines() {
        let text = render_license(&LicenseResponse {
            licensee: "Acme".into(),
            max_data_nodes: 4,
            max_cores: 8,
            expires_at: "2030-01-01T00:00:00Z".into(),
            data_nodes: 2,
        });
        assert_eq!(
            text,
            "Licensee:                  Acme\n\
             Max data nodes:            4\n\
             Data nodes in use:         2\n\
             Max cores per data node:   8\n\
             Expires:                   2030-01-01T00:00:00Z\n"
        );
    }
}
