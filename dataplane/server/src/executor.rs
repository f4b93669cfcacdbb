//! One glommio executor per core, pinned to its CPU. Every core binds the HTTP and cluster
//! ports itself with SO_REUSEPORT ([`listener`]), so the kernel spreads connections over
//! the cores and each connection lives on one core for its lifetime.

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};

use crate::control::{self, ControlContext, ControlError, Served};
use crate::cores::IO_MEMORY_PER_CORE;
use crate::engine::{CoreMsg, Engine, EngineConfig};
use crate::handlers::Ctx;
use crate::meta_sync::MetaCommand;
use crate::state::{apply_pending, CoreEvent, CoreState, NodeFacts};
use crate::{handlers, http, listener};

/// Stack of each core's thread. Parsing, planning and dropping a statement recurse once
/// per level of its expression tree, and influxd (Go's growable stacks) accepts a WHERE of
/// tens of thousands of `OR` terms: a large stack keeps such a query from overflowing.
/// Only the pages a core touches take memory.
pub const CORE_STACK: usize = 512 << 20;

/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    #[error("cannot start the executor of core {core} on CPU {cpu}: {reason}")]
    Spawn {
        core: usize,
        cpu: usize,
        reason: String,
    },
    #[error("core {core} cannot listen for {what} on {addr}: {reason}")]
    Bind {
        core: usize,
        what: &'static str,
        addr: String,
        reason: String,
    },
    #[error("core {0} ended during start-up")]
    Died(usize),
    #[error("cannot start the thread of core {core}: {reason}")]
    Thread { core: usize, reason: String },
}

/// What every core needs to start.
#[derive(Debug, Clone)]
pub struct CoreSetup {
    /// CPU to pin each core to, in core order.
    pub cpus: Vec<usize>,
    pub facts: Arc<NodeFacts>,
    /// Socket addresses to bind, resolved and checked by [`listener::reserve`].
    pub http_bind: SocketAddr,
    pub cluster_bind: SocketAddr,
    pub commands: flume::Sender<MetaCommand>,
    pub engine: EngineConfig,
    pub max_body: usize,
    /// `[cluster] max-select-*`.
    pub limits: crate::select::SelectLimits,
    pub rpc: crate::rpc::ClientConfig,
    pub hinted_handoff: crate::config::HintedHandoffConfig,
    pub config: Arc<crate::config::Config>,
    /// `[data] spin-before-park`: how long an idle core polls before it sleeps.
    pub spin_before_park: Duration,
    pub cluster: crate::cluster::ClusterSettings,
    /// One sender per core: the mesh.
    pub mesh: Vec<flume::Sender<CoreMsg>>,
}

/// Starts the cores and waits until each has bound its ports. On error, cores that did
/// start keep running until the caller publishes a shutdown.
pub fn start(
    setup: CoreSetup,
    receivers: Vec<flume::Receiver<CoreEvent>>,
    inboxes: Vec<flume::Receiver<CoreMsg>>,
) -> (Vec<std::thread::JoinHandle<()>>, Result<(), ExecutorError>) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut handles = Vec::new();
    let catalogs = Arc::new(crate::catalog::Catalogs::new(setup.cpus.len()));
    for (core, ((cpu, events), inbox)) in setup
        .cpus
        .iter()
        .copied()
        .zip(receivers)
        .zip(inboxes)
        .enumerate()
    {
        let setup = setup.clone();
        let catalogs = Arc::clone(&catalogs);
        let ready = ready_tx.clone();
        let builder = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("core-{core}"))
            .io_memory(IO_MEMORY_PER_CORE)
            .spin_before_park(setup.spin_before_park);
        // The executor is made in a thread of our own, for its stack size.
        let spawned = std::thread::Builder::new()
            .name(format!("core-{core}"))
            .stack_size(CORE_STACK)
            .spawn(move || match builder.make() {
                Ok(ex) => ex.run(core_main(
                    core,
                    setup,
                    catalogs,
                    events,
                    inbox,
                    ready.clone(),
                )),
                Err(e) => {
                    let _ = ready.send(Err(ExecutorError::Spawn {
                        core,
                        cpu,
                        reason: e.to_string(),
                    }));
                }
            });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                let err = ExecutorError::Thread {
                    core,
                    reason: e.to_string(),
                };
                return (handles, Err(err));
            }
        }
    }
    drop(ready_tx);
    for core in 0..handles.len() {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return (handles, Err(e)),
            Err(_) => return (handles, Err(ExecutorError::Died(core))),
        }
    }
    (handles, Ok(()))
}

async fn core_main(
    core: usize,
    setup: CoreSetup,
    catalogs: Arc<crate::catalog::Catalogs>,
    events: flume::Receiver<CoreEvent>,
    inbox: flume::Receiver<CoreMsg>,
    ready: std::sync::mpsc::Sender<Result<(), ExecutorError>>,
) {
    // Storage first: partitions this core owns are opened (and their WALs replayed)
    // before it takes a request.
    for dir in [&setup.engine.data_dir, &setup.engine.wal_dir] {
        if let Err(e) = tessera_storage::probe_device(dir).await {
            tracing::warn!(core, dir = %dir.display(), error = %e, "cannot probe the data disk");
        }
    }
    tessera_storage::tsm::set_file_cache_limit(
        setup.engine.file_cache_bytes / setup.cpus.len().max(1) as u64,
    );
    let engine = Engine::new(
        core,
        setup.cpus.len(),
        setup.engine.clone(),
        setup.mesh.clone(),
        catalogs,
    );
    let mesh_task = glommio::spawn_local(Rc::clone(&engine).serve_mesh(inbox));
    engine.open_existing().await;
    // Compactions and cold flushes run in a background queue with a smaller CPU share.
    let cores = setup.cpus.len().max(1) as u64;
    let per_core = match setup.config.data.max_concurrent_compactions {
        0 => 1,
        n => n.div_ceil(cores),
    };
    tessera_storage::set_background(per_core as usize);
    let upkeep = Rc::clone(&engine);
    tessera_storage::spawn_background(async move { upkeep.maintenance().await });
    let bind = |what: &'static str, addr: SocketAddr| {
        let std_listener = listener::bind_shared(addr).map_err(|e| ExecutorError::Bind {
            core,
            what,
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
        // SAFETY: the fd is a bound, listening TCP socket whose ownership moves to glommio.
        Ok(unsafe { TcpListener::from_raw_fd(std_listener.into_raw_fd()) })
    };
    let listeners = bind("HTTP", setup.http_bind)
        .and_then(|h| Ok((h, bind("cluster connections", setup.cluster_bind)?)));
    let (http_listener, cluster_listener) = match listeners {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let _ = ready.send(Ok(()));
    drop(ready);

    let state = Rc::new(CoreState::new(core, Arc::clone(&setup.facts)));
    let commands = Rc::new(setup.commands);
    let ctx = Rc::new(Ctx {
        max_body: setup.max_body,
        limits: setup.limits,
        state: Rc::clone(&state),
        engine: Rc::clone(&engine),
        commands: Rc::clone(&commands),
        rpc: Rc::new(crate::rpc::RpcClient::new(setup.rpc)),
        cluster: setup.cluster,
        config: Arc::clone(&setup.config),
    });
    crate::handoff::HintedHandoff::install(setup.hinted_handoff.clone(), core, setup.cpus.len())
        .await;
    let drain_task = glommio::spawn_local(crate::handoff::drain_forever(Rc::clone(&ctx)));
    // The monitor's store writes the node's statistics from one core.
    let monitor_task =
        (core == 0).then(|| glommio::spawn_local(crate::monitor::store_forever(Rc::clone(&ctx))));
    let http_task = glommio::spawn_local(accept_http(http_listener, Rc::clone(&ctx)));
    let cluster_task = glommio::spawn_local(accept_cluster(cluster_listener, ctx));
    tracing::debug!(core, "core serving");
    while let Ok(event) = events.recv_async().await {
        if !apply_pending(&state, event, &events) {
            break;
        }
        if let Some(snapshot) = state.state().snapshot.clone() {
            engine.drop_deleted_shards(&snapshot);
        }
    }
    // Dropping the accept tasks cancels them and closes the listeners.
    drop(http_task);
    drop(drain_task);
    drop(monitor_task);
    drop(cluster_task);
    drop(mesh_task);
    engine.shutdown().await;
    tracing::debug!(core, "core stopped");
}

async fn accept_http(listener: TcpListener, ctx: Rc<Ctx>) {
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let ctx = Rc::clone(&ctx);
                glommio::spawn_local(serve_http(stream, ctx)).detach();
            }
            Err(e) => {
                tracing::warn!(error = %e, "HTTP accept failed");
                glommio::timer::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}

async fn serve_http(mut stream: TcpStream, ctx: Rc<Ctx>) {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(|a| a.ip());
    let result = http::serve_connection(&mut stream, ctx.max_body, |req| {
        let ctx = Rc::clone(&ctx);
        async move { handlers::handle(req, &ctx, peer).await }
    })
    .await;
    if let Err(e) = result {
        // Scanners and dropped clients are routine on a public port: not worth a warning.
        tracing::debug!(peer = ?stream.peer_addr().ok(), error = %e, "HTTP connection ended");
    }
}

async fn accept_cluster(listener: TcpListener, ctx: Rc<Ctx>) {
    loop {
        match listener.accept().await {
            Ok(mut stream) => {
                let ctx = Rc::clone(&ctx);
                glommio::spawn_local(async move {
                    let _ = stream.set_nodelay(true);
                    let control = ControlContext {
                        core: &ctx.state,
                        commands: &ctx.commands,
                    };
                    let served = match control::serve_connection(&mut stream, &control).await {
                        Ok(Served::Data) => crate::rpc::serve(&mut stream, |req| {
                            let ctx = Rc::clone(&ctx);
                            async move { crate::cluster::answer(req, &ctx).await }
                        })
                        .await
                        .map_err(ControlError::from),
                        Ok(Served::Control) => Ok(()),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = served {
                        tracing::warn!(
                            peer = ?stream.peer_addr().ok(),
                            error = %e,
                            "closing cluster connection"
                        );
                    }
                })
                .detach();
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster accept failed");
                glommio::timer::sleep(ACCEPT_RETRY).await;
            }
        }
    }
}
