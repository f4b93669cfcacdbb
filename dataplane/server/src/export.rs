//! `influxd export`: every stored point of a database / retention policy / time range as
//! line protocol, read through the storage engine (data files, then WAL), like
//! `influx_inspect export`. It opens the partitions read-only on one executor, so it works
//! on a stopped node and alongside a running one.

use std::io::Write;
use std::path::{Path, PathBuf};

use tessera_storage::export::export_partition;
use tessera_storage::partition::{Partition, PartitionConfig};

use crate::engine::scan_partitions;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("export: invalid time {0:?}: use RFC 3339 or nanoseconds since the epoch")]
    Time(String),
    #[error("export: {0}")]
    Io(String),
    #[error("export: {0}")]
    Storage(String),
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub data_dir: PathBuf,
    pub wal_dir: PathBuf,
    pub database: Option<String>,
    pub retention: Option<String>,
    pub start: i64,
    pub end: i64,
}

/// Parses RFC 3339 or integer nanoseconds.
pub fn parse_time(s: &str) -> Result<i64, ExportError> {
    if let Ok(n) = s.trim().parse::<i64>() {
        return Ok(n);
    }
    let t = humantime::parse_rfc3339_weak(s.trim()).map_err(|_| ExportError::Time(s.into()))?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| ExportError::Time(s.into()))?;
    i64::try_from(d.as_nanos()).map_err(|_| ExportError::Time(s.into()))
}

/// Runs the export on a dedicated executor, writing to `out`.
pub fn run(spec: ExportSpec, out: &Path) -> Result<u64, ExportError> {
    let handle = glommio::LocalExecutorBuilder::default()
        .io_memory(512 << 10)
        .name("export")
        .spawn(move || async move { export(&spec).await })
        .map_err(|e| ExportError::Io(e.to_string()))?;
    let text = handle
        .join()
        .map_err(|e| ExportError::Io(e.to_string()))??;
    let lines = text.1;
    if out == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(&text.0)
            .and_then(|_| stdout.flush())
            .map_err(|e| ExportError::Io(e.to_string()))?;
    } else {
        std::fs::write(out, &text.0)
            .map_err(|e| ExportError::Io(format!("{}: {e}", out.display())))?;
    }
    Ok(lines)
}

async fn export(spec: &ExportSpec) -> Result<(Vec<u8>, u64), ExportError> {
    if let Err(e) = tessera_storage::probe_device(&spec.data_dir).await {
        tracing::debug!(error = %e, "disk probe");
    }
    let mut out = Vec::new();
    let _ = writeln!(out, "# INFLUXDB EXPORT: {} - {}", spec.start, spec.end);
    let _ = writeln!(out, "# DML");
    let mut lines = 0;
    let mut context: Option<(String, String)> = None;
    for (shard, p) in scan_partitions(&spec.data_dir, &spec.wal_dir) {
        if spec
            .database
            .as_deref()
            .is_some_and(|d| d != &*shard.database)
            || spec
                .retention
                .as_deref()
                .is_some_and(|r| r != &*shard.retention_policy)
        {
            continue;
        }
        let ctx = (
            shard.database.to_string(),
            shard.retention_policy.to_string(),
        );
        if context.as_ref() != Some(&ctx) {
            let _ = writeln!(out, "# CONTEXT-DATABASE:{}", ctx.0);
            let _ = writeln!(out, "# CONTEXT-RETENTION-POLICY:{}", ctx.1);
            context = Some(ctx);
        }
        let rel = Path::new(&*shard.database)
            .join(&*shard.retention_policy)
            .join(shard.id.to_string())
            .join(format!("p{p:03}"));
        let part = Partition::open(
            &spec.data_dir.join(&rel),
            &spec.wal_dir.join(&rel),
            PartitionConfig::default(),
        )
        .await
        .map_err(|e| ExportError::Storage(e.to_string()))?;
        lines += export_partition(&part, spec.start, spec.end, &mut out)
            .await
            .map_err(|e| ExportError::Storage(e.to_string()))?;
    }
    Ok((out, lines))
}
