//! Hinted handoff on a data node: a shard write that another owner did not take waits in a
//! durable queue for that node (`[hinted-handoff] dir/<node id>/`, `tessera-handoff`) and
//! is sent to it, in order, when it answers again.
//!
//! Each destination's queue lives on one core (`node id % cores`); a write for it from
//! another core travels over the mesh. Every core runs a drainer for its queues: it sends
//! the oldest entries with the shard-writer timeout, acknowledges them once the node
//! answered, and backs off (`retry-interval` doubling to `retry-max-interval`) while the
//! node does not. Entries older than `max-age` are purged every `purge-interval`; a queue
//! that would pass `max-size` refuses writes with `queue is full`. Queue sizes are in
//! `/debug/vars` and `SHOW STATS` (`hh_processor`).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tessera_handoff::{drain_once, Backoff, DrainOutcome, HandoffQueue, QueueConfig, SendError};
use tessera_meta_types::NodeId;

use crate::config::HintedHandoffConfig;
use crate::engine::CoreMsg;
use crate::handlers::Ctx;
use crate::rpc::{Request, Response, WriteShard};

/// Counters and sizes of one destination's queue, for `/debug/vars` and `SHOW STATS`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct QueueVars {
    #[serde(rename = "queueBytes")]
    pub queue_bytes: u64,
    #[serde(rename = "queueDepth")]
    pub queue_depth: u64,
    #[serde(rename = "oldestEntryAgeSeconds")]
    pub oldest_age_s: f64,
    /// Writes queued.
    #[serde(rename = "writeShardReq")]
    pub write_shard_req: u64,
    /// Writes refused (queue full, disk error).
    #[serde(rename = "writeDropped")]
    pub write_dropped: u64,
    /// Batches sent to the node, and how many it took or refused.
    #[serde(rename = "writeNodeReq")]
    pub write_node_req: u64,
    #[serde(rename = "writeNodeReqOK")]
    pub write_node_req_ok: u64,
    #[serde(rename = "writeNodeReqFail")]
    pub write_node_req_fail: u64,
    /// Entries dropped by max-age.
    #[serde(rename = "purged")]
    pub purged: u64,
}

/// The node's queues as the owning cores last reported them.
static VARS: Mutex<BTreeMap<NodeId, QueueVars>> = Mutex::new(BTreeMap::new());

/// Every destination's counters and sizes.
pub fn vars() -> BTreeMap<NodeId, QueueVars> {
    VARS.lock().map(|v| v.clone()).unwrap_or_default()
}

fn update_vars(node: NodeId, f: impl FnOnce(&mut QueueVars)) {
    if let Ok(mut v) = VARS.lock() {
        f(v.entry(node).or_default());
    }
}

/// This core's queues.
pub struct HintedHandoff {
    config: HintedHandoffConfig,
    core: usize,
    cores: usize,
    queues: RefCell<HashMap<NodeId, HandoffQueue>>,
    /// One open at a time, so two writes never open one queue twice.
    opening: glommio::sync::Semaphore,
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<HintedHandoff>>> = const { RefCell::new(None) };
}

fn local() -> Option<Rc<HintedHandoff>> {
    LOCAL.with(|l| l.borrow().clone())
}

impl HintedHandoff {
    /// Sets up this core's part and opens the queues left on disk that it owns.
    pub async fn install(config: HintedHandoffConfig, core: usize, cores: usize) {
        let hh = Rc::new(HintedHandoff {
            config,
            core,
            cores: cores.max(1),
            queues: RefCell::new(HashMap::new()),
            opening: glommio::sync::Semaphore::new(1),
        });
        LOCAL.with(|l| *l.borrow_mut() = Some(Rc::clone(&hh)));
        if !hh.config.enabled {
            return;
        }
        let Ok(dir) = std::fs::read_dir(&hh.config.dir) else {
            return;
        };
        for entry in dir.flatten() {
            let Some(node) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<NodeId>().ok())
            else {
                continue;
            };
            if hh.owner_core(node) == core {
                if let Err(e) = hh.queue(node).await {
                    tracing::error!(node, error = %e, "hinted-handoff queue cannot be opened");
                }
            }
        }
    }

    fn owner_core(&self, node: NodeId) -> usize {
        (node as usize) % self.cores
    }

    fn queue_config(&self) -> QueueConfig {
        QueueConfig {
            max_size: self.config.max_size,
            max_age: self.config.max_age,
            ..QueueConfig::default()
        }
    }

    async fn queue(&self, node: NodeId) -> Result<HandoffQueue, String> {
        if let Some(q) = self.queues.borrow().get(&node) {
            return Ok(q.clone());
        }
        let _permit = self
            .opening
            .acquire_permit(1)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(q) = self.queues.borrow().get(&node) {
            return Ok(q.clone());
        }
        let dir = self.config.dir.join(node.to_string());
        let q = HandoffQueue::open(&dir, self.queue_config())
            .await
            .map_err(|e| e.to_string())?;
        for d in &q.recovery().damaged {
            tracing::error!(path = %d.path.display(), offset = d.offset, bytes = d.bytes, "damaged hinted-handoff record skipped");
        }
        self.queues.borrow_mut().insert(node, q.clone());
        publish(node, &q);
        Ok(q)
    }

    async fn append(&self, node: NodeId, payload: &[u8]) -> Result<(), String> {
        let r = match self.queue(node).await {
            Ok(q) => {
                let r = q.append(payload).await.map_err(|e| e.to_string());
                publish(node, &q);
                r
            }
            Err(e) => Err(e),
        };
        update_vars(node, |v| match r {
            Ok(()) => v.write_shard_req += 1,
            Err(_) => v.write_dropped += 1,
        });
        r
    }
}

fn publish(node: NodeId, q: &HandoffQueue) {
    let s = q.stats();
    update_vars(node, |v| {
        v.queue_bytes = s.pending_bytes;
        v.queue_depth = s.pending_entries;
        v.oldest_age_s = s.oldest_entry_age.map_or(0.0, |a| a.as_secs_f64());
    });
}

/// Queues `write` for data node `owner`, durable before it returns.
pub async fn enqueue(ctx: &Ctx, owner: NodeId, write: &WriteShard) -> Result<(), String> {
    let hh = local().ok_or("hinted handoff is not running")?;
    if !hh.config.enabled {
        return Err("hinted handoff is disabled".into());
    }
    let payload = crate::rpc::encode_request(&Request::WriteShard(write.clone()))
        .map_err(|e| e.to_string())?;
    let core = hh.owner_core(owner);
    if core == hh.core {
        return hh.append(owner, &payload).await;
    }
    let (reply, answer) = flume::bounded(1);
    ctx.engine
        .send_to(
            core,
            CoreMsg::Handoff {
                node: owner,
                payload,
                reply,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    answer
        .recv_async()
        .await
        .map_err(|_| format!("core {core} is not running"))?
}

/// A mesh message: append to a queue this core owns.
pub async fn append_local(node: NodeId, payload: &[u8]) -> Result<(), String> {
    match local() {
        Some(hh) => hh.append(node, payload).await,
        None => Err("hinted handoff is not running".into()),
    }
}

/// Drains this core's queues until the core stops.
pub async fn drain_forever(ctx: Rc<Ctx>) {
    let Some(hh) = local() else {
        return;
    };
    if !hh.config.enabled {
        return;
    }
    let mut backoff: HashMap<NodeId, (Backoff, Instant)> = HashMap::new();
    let mut last_purge = Instant::now();
    loop {
        glommio::timer::sleep(hh.config.retry_interval.max(Duration::from_millis(10))).await;
        let queues: Vec<(NodeId, HandoffQueue)> = hh
            .queues
            .borrow()
            .iter()
            .map(|(n, q)| (*n, q.clone()))
            .collect();
        let known = known_nodes(&ctx);
        for (node, q) in queues {
            if let Some(known) = &known {
                if !known.contains(&node) {
                    forget_node(&hh, node).await;
                    continue;
                }
            }
            if q.stats().pending_entries == 0 {
                continue;
            }
            let wait = backoff.entry(node).or_insert_with(|| {
                (
                    Backoff::new(hh.config.retry_interval, hh.config.retry_max_interval),
                    Instant::now(),
                )
            });
            if Instant::now() < wait.1 {
                continue;
            }
            match drain_node(&ctx, &hh, node, &q).await {
                Ok(()) => {
                    wait.0.reset();
                    wait.1 = Instant::now();
                }
                Err(e) => {
                    let delay = wait.0.next_delay();
                    wait.1 = Instant::now() + delay;
                    tracing::debug!(node, error = %e, retry_in = ?delay, "hinted handoff: node not reachable");
                }
            }
            publish(node, &q);
        }
        if last_purge.elapsed() >= hh.config.purge_interval {
            last_purge = Instant::now();
            let queues: Vec<(NodeId, HandoffQueue)> = hh
                .queues
                .borrow()
                .iter()
                .map(|(n, q)| (*n, q.clone()))
                .collect();
            for (node, q) in queues {
                match q.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::warn!(
                            node,
                            entries = n,
                            "hinted handoff: entries past max-age dropped"
                        );
                        update_vars(node, |v| v.purged += n);
                    }
                    Err(e) => tracing::error!(node, error = %e, "hinted handoff purge failed"),
                }
                publish(node, &q);
            }
        }
    }
}

/// Sends everything queued for `node`, oldest first, until the queue is empty or a send
/// fails.
async fn drain_node(
    ctx: &Ctx,
    hh: &HintedHandoff,
    node: NodeId,
    q: &HandoffQueue,
) -> Result<(), String> {
    let mut rate = tessera_handoff::RateLimit::new(hh.config.retry_rate_limit);
    loop {
        let outcome = drain_once(q, 4 << 20, |entries| async move {
            update_vars(node, |v| v.write_node_req += 1);
            let r = send_entries(ctx, node, entries).await;
            update_vars(node, |v| match r {
                Ok(()) => v.write_node_req_ok += 1,
                Err(_) => v.write_node_req_fail += 1,
            });
            r
        })
        .await
        .map_err(|e| e.to_string())?;
        match outcome {
            DrainOutcome::Empty => return Ok(()),
            DrainOutcome::Sent { entries, bytes } => {
                tracing::debug!(node, entries, bytes, "hinted handoff delivered");
                rate.acquire(bytes).await;
            }
            DrainOutcome::Failed(e) => return Err(e.reason),
        }
    }
}

async fn send_entries(
    ctx: &Ctx,
    node: NodeId,
    entries: Vec<tessera_handoff::Entry>,
) -> Result<(), SendError> {
    for e in entries {
        let Some(request) = decode_entry(&e.payload) else {
            tracing::error!(node, "hinted-handoff entry does not decode; dropped");
            continue;
        };
        match crate::cluster::call(ctx, node, &request, ctx.cluster.shard_writer_timeout).await {
            Ok(Response::Written { dropped, reason }) => {
                if dropped > 0 {
                    tracing::warn!(
                        node,
                        dropped,
                        reason = reason.as_deref().unwrap_or(""),
                        "hinted handoff: points refused by their owner"
                    );
                }
            }
            // The owner refuses the points themselves: resending cannot help.
            Ok(Response::Error { status, message }) if status < 500 => {
                tracing::warn!(
                    node,
                    status,
                    message,
                    "hinted handoff: write refused by its owner; dropped"
                );
            }
            Ok(Response::Error { message, .. }) => return Err(SendError::new(message)),
            Ok(other) => return Err(SendError::new(format!("unexpected answer {other:?}"))),
            Err(e) => return Err(SendError::new(e)),
        }
    }
    Ok(())
}

/// A queued frame back into its request (checksum and structure checked).
fn decode_entry(frame: &[u8]) -> Option<Request> {
    let payload =
        futures_lite::future::block_on(crate::rpc::read_frame(&mut &frame[..])).ok()??;
    crate::rpc::decode_request(&payload).ok()
}

fn known_nodes(ctx: &Ctx) -> Option<Vec<NodeId>> {
    let state = ctx.state.state();
    let snapshot = state.snapshot.as_ref()?;
    Some(snapshot.data.data_nodes.iter().map(|n| n.id).collect())
}

/// The node left the cluster: its queue is deleted.
async fn forget_node(hh: &HintedHandoff, node: NodeId) {
    let q = hh.queues.borrow_mut().remove(&node);
    if let Some(q) = q {
        let dir = q.dir().to_path_buf();
        q.close().await;
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(node, error = %e, "hinted-handoff queue of a removed node not deleted");
        } else {
            tracing::warn!(
                node,
                "data node left the cluster; its hinted-handoff queue is deleted"
            );
        }
    }
    if let Ok(mut v) = VARS.lock() {
        v.remove(&node);
    }
}
