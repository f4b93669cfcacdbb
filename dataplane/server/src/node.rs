//! Start-up and shutdown of a data node, in order: license, cores and locked memory,
//! membership, ports, control thread, executors. Nothing binds a port before the license
//! and the limits are known to be good.

use std::sync::Arc;

use tessera_license::{License, LicenseError};
use tessera_meta_client::api::VERSION;

use crate::config::Config;
use crate::cores::{self, CoresError};
use crate::engine::EngineConfig;
use crate::executor::{self, CoreSetup, ExecutorError};
use crate::listener::{self, ListenError};
use crate::meta_sync::{self, MetaCommand, MetaSyncError, SyncConfig};
use crate::node_identity::{self, IdentityError};
use crate::state::{self, NodeFacts};
use tessera_storage::partition::PartitionConfig;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Its text starts with `license: `.
    #[error(transparent)]
    License(#[from] LicenseError),
    #[error(transparent)]
    Cores(#[from] CoresError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Listen(#[from] ListenError),
    #[error(transparent)]
    Control(#[from] MetaSyncError),
    #[error(transparent)]
    Executor(#[from] ExecutorError),
    #[error("core {0} panicked")]
    CorePanicked(usize),
}

/// Runs the node until SIGTERM or SIGINT.
pub fn run(config: Config) -> Result<(), NodeError> {
    crate::diagnostics::started();
    let license = License::from_config(
        &config.enterprise.license_key,
        &config.enterprise.license_path,
    )?;
    tracing::info!(
        licensee = %license.claims.licensee,
        max_cores = license.claims.max_cores,
        max_data_nodes = license.claims.max_data_nodes,
        expires = %license.expires_rfc3339(),
        "license accepted"
    );
    let plan = cores::plan(license.claims.max_cores, config.data.max_cores)?;
    let memlock = cores::raise_memlock(plan.count())?;
    tracing::info!(memlock = %memlock, "{plan}");

    let identity = node_identity::load(&config.meta.dir)?;
    let http_bind = listener::reserve(&config.http.bind_address, "HTTP")?;
    let cluster_bind = listener::reserve(&config.bind_address, "cluster connections")?;
    let facts = Arc::new(NodeFacts {
        tcp_addr: (config.bind_address.with_port(cluster_bind.port())).advertised(&config.hostname),
        http_addr: (config.http.bind_address.with_port(http_bind.port()))
            .advertised(&config.hostname),
        cores: plan.count() as u32,
        version: VERSION,
    });

    let (publisher, receivers) = state::channels(plan.count());
    let (commands_tx, commands_rx) = flume::unbounded();
    let control = meta_sync::spawn(
        SyncConfig {
            meta_dir: config.meta.dir.clone(),
            cq_enabled: config.continuous_queries.enabled,
            run_interval: config.continuous_queries.run_interval,
            housekeeping: config.housekeeping,
        },
        identity,
        publisher.clone(),
        commands_rx,
    )?;
    let (mesh, inboxes): (Vec<_>, Vec<_>) = (0..plan.count()).map(|_| flume::unbounded()).unzip();
    let partitions_per_shard = match config.data.partitions_per_shard {
        0 => plan.count() as u32,
        n => n,
    };
    let setup = CoreSetup {
        cpus: plan.cpus.clone(),
        facts: Arc::clone(&facts),
        http_bind,
        cluster_bind,
        commands: commands_tx.clone(),
        engine: EngineConfig {
            data_dir: config.data.dir.clone(),
            wal_dir: config.data.wal_dir.clone(),
            partitions_per_shard,
            partition: PartitionConfig {
                cache_snapshot_bytes: config.data.cache_snapshot_memory_size as usize,
                cache_max_bytes: config.data.cache_max_memory_size as usize,
                ..PartitionConfig::default()
            },
            snapshot_cold: config.data.cache_snapshot_write_cold_duration,
            full_compaction_cold: config.data.compact_full_write_cold_duration,
            file_cache_bytes: config.data.file_cache_max_memory_size,
            scatter_linger: config.data.scatter_linger,
        },
        mesh,
        limits: crate::select::SelectLimits {
            points: config.cluster.max_select_point,
            series: config.cluster.max_select_series,
            buckets: config.cluster.max_select_buckets,
            slice_points: config.cluster.chunked_slice_points,
        },
        rpc: crate::rpc::ClientConfig {
            dial_timeout: config.cluster.dial_timeout,
            pool_max_idle_streams: config.cluster.pool_max_idle_streams as usize,
            pool_max_idle_time: config.cluster.pool_max_idle_time,
        },
        hinted_handoff: config.hinted_handoff.clone(),
        config: Arc::new(config.clone()),
        spin_before_park: config.data.spin_before_park,
        cluster: crate::cluster::ClusterSettings {
            shard_writer_timeout: config.cluster.shard_writer_timeout,
            shard_reader_timeout: config.cluster.shard_reader_timeout,
        },
        max_body: match config.http.max_body_size {
            0 => usize::MAX,
            n => n as usize,
        },
    };
    let (handles, started) = executor::start(setup, receivers, inboxes);
    if started.is_ok() {
        tracing::info!(
            http = %facts.http_addr,
            tcp = %facts.tcp_addr,
            version = VERSION,
            "influxd data node ready"
        );
    } else {
        publisher.shutdown();
        let _ = commands_tx.send(MetaCommand::Shutdown);
    }
    let mut result = started.map_err(NodeError::from);
    for (core, handle) in handles.into_iter().enumerate() {
        if handle.join().is_err() && result.is_ok() {
            result = Err(NodeError::CorePanicked(core));
        }
    }
    // Cores end only on shutdown or panic; either way the control thread must stop too.
    let _ = commands_tx.send(MetaCommand::Shutdown);
    let _ = control.join();
    if result.is_ok() {
        tracing::info!("influxd stopped");
    }
    result
}
