//! The monitor's store (`[monitor] store-enabled`, influxd's `_internal` database): every
//! `store-interval` the node writes its statistics, the same ones `SHOW STATS` answers, as
//! points of the store database.
//!
//! As in influxd, the database is created once per process with a `monitor` retention
//! policy (7 days, replication 1) when it does not exist, and the points go to that
//! policy, stamped with the time truncated to the interval. Each point carries the
//! statistic's own tags plus `hostname` and `nodeID`, so the nodes of a cluster write
//! series of their own into the one database. The task runs on core 0 only.

use std::rc::Rc;
use std::time::Duration;

use tessera_meta_types::{Command, RetentionPolicySpec};
use tessera_query::Value;

use crate::config::MonitorConfig;
use crate::handlers::Ctx;
use crate::stats::Statistic;

/// The policy influxd creates for the store database and writes to.
pub const MONITOR_POLICY: &str = "monitor";
/// Its duration: 7 days.
const MONITOR_DURATION: u64 = 7 * 24 * 3600 * 1_000_000_000;

/// The nanoseconds to wait from `now` until the next multiple of `interval`.
fn until_next(now: i64, interval: i64) -> i64 {
    interval - now.rem_euclid(interval)
}

/// Line protocol for `stats` at `time`: each statistic one point, its tags plus
/// `extra_tags`. Returns the text and the number of points.
pub fn to_lines(
    stats: &[Statistic],
    time: i64,
    extra_tags: &[(String, String)],
) -> (String, usize) {
    let series: Vec<_> = stats
        .iter()
        .map(|s| {
            let mut series = s.to_series();
            series.columns.insert(0, "time".to_string());
            for row in &mut series.values {
                row.insert(0, Value::Time(time));
            }
            for (k, v) in extra_tags {
                if !series.tags.iter().any(|(t, _)| t == k) {
                    series.tags.push((k.clone(), v.clone()));
                }
            }
            series
        })
        .collect();
    crate::into::to_lines(&series, None, &[])
}

/// Makes sure the store database exists: `true` once it does (found or created).
async fn ensure_database(ctx: &Ctx, name: &str) -> bool {
    let exists = {
        let state = ctx.state.state();
        match (&state.snapshot, state.node_id) {
            (Some(snap), Some(_)) => snap.data.database(name).is_some(),
            // Not in a cluster yet: try again at the next interval.
            _ => return false,
        }
    };
    if exists {
        return true;
    }
    let command = Command::CreateDatabase {
        name: name.to_string(),
        retention_policy: Some(RetentionPolicySpec {
            name: MONITOR_POLICY.to_string(),
            duration: Some(MONITOR_DURATION),
            shard_group_duration: None,
            replica_n: Some(1),
        }),
    };
    match ctx.execute(command).await {
        Ok(_) => {
            tracing::info!(database = name, "created the monitor's store database");
            true
        }
        Err(e) => {
            tracing::warn!(database = name, error = %e, "cannot create the monitor's store database");
            false
        }
    }
}

/// Writes one interval's statistics stamped `time`.
async fn store_once(ctx: &Ctx, cfg: &MonitorConfig, time: i64) {
    let (host, node_id) = {
        let state = ctx.state.state();
        (ctx.config.hostname.clone(), state.node_id)
    };
    let Some(node_id) = node_id else {
        return;
    };
    let mut stats = crate::stats::process_stats(&ctx.state.facts.http_addr);
    stats.extend(crate::stats::storage_stats(ctx).await);
    let tags = [
        ("hostname".to_string(), host),
        ("nodeID".to_string(), node_id.to_string()),
    ];
    let (body, points) = to_lines(&stats, time, &tags);
    if points == 0 {
        return;
    }
    let written = crate::write::write_lines(
        ctx,
        &cfg.store_database,
        Some(MONITOR_POLICY),
        tessera_lineproto::Precision::Nanosecond,
        crate::cluster::Consistency::Any,
        false,
        move || Ok(bytes::Bytes::from(body)),
    )
    .await;
    match written {
        Ok(None) => tracing::debug!(points, "stored statistics"),
        Ok(Some(partial)) => tracing::warn!(error = %partial, "storing statistics: partial write"),
        Err((_, e)) => tracing::warn!(error = %e, "cannot store statistics"),
    }
}

/// The store loop (core 0): create the database once, then write every interval until
/// the core stops (dropping the task ends it).
pub async fn store_forever(ctx: Rc<Ctx>) {
    let cfg = ctx.config.monitor.clone();
    if !cfg.store_enabled {
        return;
    }
    let interval = (cfg.store_interval.as_nanos() as i64).max(1);
    tracing::info!(database = %cfg.store_database, policy = MONITOR_POLICY, interval = ?cfg.store_interval, "storing statistics");
    let mut created = false;
    loop {
        if !created {
            created = ensure_database(&ctx, &cfg.store_database).await;
        }
        let now = crate::select::now_ns();
        let wait = until_next(now, interval);
        glommio::timer::sleep(Duration::from_nanos(wait as u64)).await;
        if created {
            store_once(&ctx, &cfg, now + wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_the_next_multiple_of_the_interval() {
        assert_eq!(until_next(25, 10), 5);
        assert_eq!(until_next(30, 10), 10);
        assert_eq!(until_next(-5, 10), 5);
    }

    #[test]
    fn statistics_become_points_with_the_node_tags() {
        let stats = vec![
            Statistic {
                name: "httpd".into(),
                tags: vec![("bind".into(), "127.0.0.1:8086".into())],
                values: vec![
                    ("req".into(), Value::Integer(3)),
                    ("queryReqDurationNs".into(), Value::Integer(7)),
                ],
            },
            Statistic {
                name: "runtime".into(),
                tags: Vec::new(),
                values: vec![("NumGC".into(), Value::Integer(0))],
            },
            Statistic {
                name: "hh_processor".into(),
                tags: Vec::new(),
                values: vec![
                    ("ratio".into(), Value::Float(0.5)),
                    ("x".into(), Value::Null),
                ],
            },
        ];
        let tags = [
            ("hostname".to_string(), "host a".to_string()),
            ("nodeID".to_string(), "4".to_string()),
        ];
        let (text, points) = to_lines(&stats, 1_000, &tags);
        assert_eq!(points, 3);
        assert_eq!(
            text,
            "httpd,bind=127.0.0.1:8086,hostname=host\\ a,nodeID=4 queryReqDurationNs=7i,req=3i 1000\n\
             runtime,hostname=host\\ a,nodeID=4 NumGC=0i 1000\n\
             hh_processor,hostname=host\\ a,nodeID=4 ratio=0.5 1000\n"
        );
    }
}
