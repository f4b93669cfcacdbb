//! The data node as a cluster member: answers of the data service (other nodes' shard
//! writes, remote queries, query management) and the helpers a coordinating node uses to
//! reach the other owners of a shard.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tessera_meta_types::NodeId;
use tessera_storage::batch::BatchBuilder;

use crate::handlers::Ctx;
use crate::rpc::{QueryRow, Request, Response, RpcError, WriteShard};

/// `consistency=` of `/write`: how many owners of each shard must make a point durable
/// before the write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// One owner, or a hinted-handoff queue on the coordinator.
    Any,
    One,
    /// A majority of the owners (`owners / 2 + 1`).
    Quorum,
    All,
}

impl Consistency {
    pub fn parse(s: &str) -> Option<Consistency> {
        match s {
            "any" => Some(Consistency::Any),
            "one" => Some(Consistency::One),
            "quorum" => Some(Consistency::Quorum),
            "all" => Some(Consistency::All),
            _ => None,
        }
    }

    /// Owners that must answer for a shard with `owners` owners.
    pub fn required(self, owners: usize) -> usize {
        match self {
            Consistency::Any | Consistency::One => 1,
            Consistency::Quorum => owners / 2 + 1,
            Consistency::All => owners,
        }
        .max(1)
    }
}

/// Cluster settings a core needs at hand.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSettings {
    pub shard_writer_timeout: Duration,
    pub shard_reader_timeout: Duration,
}

/// The cluster (TCP) address of data node `node`, from this core's metadata.
pub fn node_addr(ctx: &Ctx, node: NodeId) -> Option<String> {
    let state = ctx.state.state();
    let snapshot = state.snapshot.as_ref()?;
    snapshot
        .data
        .data_nodes
        .iter()
        .find(|n| n.id == node)
        .map(|n| n.tcp_addr.clone())
}

/// Sends `request` to data node `node`, waiting at most `timeout`.
pub async fn call(
    ctx: &Ctx,
    node: NodeId,
    request: &Request,
    timeout: Duration,
) -> Result<Response, RpcError> {
    let Some(addr) = node_addr(ctx, node) else {
        return Err(RpcError::Dial {
            addr: format!("node {node}"),
            reason: "unknown data node".into(),
        });
    };
    let r = ctx.rpc.call(&addr, request, timeout).await;
    if r.is_err() {
        ctx.rpc.forget(&addr);
    }
    r
}

/// Answers one request of another data node.
pub async fn answer(request: Request, ctx: &Ctx) -> Response {
    match request {
        Request::Ping => Response::Pong {
            node_id: ctx.state.state().node_id.unwrap_or(0),
        },
        Request::WriteShard(w) => {
            match crate::write::apply_shard(
                ctx,
                &w.database,
                &w.retention_policy,
                w.shard_id,
                &w.batch,
            )
            .await
            {
                Ok((dropped, reason)) => Response::Written { dropped, reason },
                Err((status, message)) => Response::Error { status, message },
            }
        }
        Request::Schema(q) => crate::cluster_query::answer_schema(ctx, q).await,
        Request::Select(q) => crate::cluster_query::answer_select(ctx, q).await,
        Request::Index(q) => crate::cluster_index::answer(ctx, q).await,
        Request::Cancel { coordinator, token } => {
            crate::cluster_query::cancel(coordinator, token);
            Response::Killed
        }
        Request::ListQueries => Response::Queries {
            rows: local_queries(ctx).await,
        },
        Request::KillQuery { qid } => {
            if crate::scatter::kill_query(&ctx.engine, qid).await {
                Response::Killed
            } else {
                Response::Error {
                    status: 400,
                    message: format!("no such query id: {qid}"),
                }
            }
        }
    }
}

/// The queries running on this node, all cores.
pub async fn local_queries(ctx: &Ctx) -> Vec<QueryRow> {
    crate::scatter::list_queries(&ctx.engine)
        .await
        .into_iter()
        .map(|q| QueryRow {
            qid: q.qid,
            query: q.query,
            database: q.database,
            duration_ns: q.elapsed.as_nanos() as i64,
            status: "running".into(),
        })
        .collect()
}

/// One row of a cluster-wide `SHOW QUERIES`.
pub struct ClusterQuery {
    pub node_id: NodeId,
    pub tcp_host: String,
    pub row: QueryRow,
}

/// The queries of every data node: this one's, then each other node's (a node that does
/// not answer within the reader timeout is left out).
pub async fn cluster_queries(ctx: &Ctx) -> Vec<ClusterQuery> {
    let state = ctx.state.state();
    let me = state.node_id.unwrap_or(0);
    let mut out: Vec<ClusterQuery> = local_queries(ctx)
        .await
        .into_iter()
        .map(|row| ClusterQuery {
            node_id: me,
            tcp_host: ctx.state.facts.tcp_addr.clone(),
            row,
        })
        .collect();
    let Some(snapshot) = state.snapshot.as_ref() else {
        return out;
    };
    let timeout = reader_timeout(ctx);
    let asks: Vec<_> = snapshot
        .data
        .data_nodes
        .iter()
        .filter(|n| n.id != me)
        .map(|n| {
            let (id, addr) = (n.id, n.tcp_addr.clone());
            async move {
                let r = call(ctx, id, &Request::ListQueries, timeout).await;
                (id, addr, r)
            }
        })
        .collect();
    for ask in asks {
        match ask.await {
            (id, addr, Ok(Response::Queries { rows })) => {
                out.extend(rows.into_iter().map(|row| ClusterQuery {
                    node_id: id,
                    tcp_host: addr.clone(),
                    row,
                }));
            }
            (id, _, other) => {
                tracing::warn!(node = id, answer = ?other.map(|_| ()), "SHOW QUERIES: node did not answer");
            }
        }
    }
    out
}

/// Kills query `qid` on the data node whose cluster address (or hostname) is `host`.
pub async fn kill_on(ctx: &Ctx, qid: u64, host: &str) -> Result<(), String> {
    let state = ctx.state.state();
    let me = state.node_id.unwrap_or(0);
    let snapshot = state
        .snapshot
        .as_ref()
        .ok_or("data node has not joined a cluster yet")?;
    let matches =
        |addr: &str| addr == host || addr.rsplit_once(':').is_some_and(|(h, _)| h == host);
    let node = snapshot
        .data
        .data_nodes
        .iter()
        .find(|n| matches(&n.tcp_addr) || matches(&n.http_addr))
        .ok_or_else(|| format!("no data node at host {host}"))?;
    if node.id == me {
        return if crate::scatter::kill_query(&ctx.engine, qid).await {
            Ok(())
        } else {
            Err(format!("no such query id: {qid}"))
        };
    }
    match call(
        ctx,
        node.id,
        &Request::KillQuery { qid },
        reader_timeout(ctx),
    )
    .await
    {
        Ok(Response::Killed) => Ok(()),
        Ok(Response::Error { message, .. }) => Err(message),
        Ok(other) => Err(format!("unexpected answer {other:?}")),
        Err(e) => Err(format!("node {} ({}): {e}", node.id, node.tcp_addr)),
    }
}

/// The wait for another node's answer to a read: `[cluster] shard-reader-timeout`, or 30 s
/// when it is 0 (no limit would let one hung node hang every query).
pub fn reader_timeout(ctx: &Ctx) -> Duration {
    match ctx.cluster.shard_reader_timeout {
        d if d.is_zero() => Duration::from_secs(30),
        d => d,
    }
}

/// What one other owner of a shard answered to its part of a write.
pub struct RemoteWrite {
    pub shard: u64,
    pub owner: NodeId,
    pub request: WriteShard,
    pub result: Result<Response, RpcError>,
}

/// Sends each shard's batch to every owner other than `me`, all at once; resolves when
/// every owner answered or timed out (`[cluster] shard-writer-timeout`).
pub async fn send_shard_writes(
    ctx: &Ctx,
    database: &str,
    retention_policy: &str,
    batches: ahash::AHashMap<u64, BatchBuilder>,
    owners_of: &ahash::AHashMap<u64, Vec<NodeId>>,
    me: NodeId,
) -> Vec<RemoteWrite> {
    let mut calls = Vec::new();
    for (shard, b) in batches {
        if b.is_empty() {
            continue;
        }
        let batch = b.finish();
        let owners = owners_of.get(&shard).cloned().unwrap_or_default();
        for owner in owners.into_iter().filter(|o| *o != me) {
            let request = WriteShard {
                database: database.to_string(),
                retention_policy: retention_policy.to_string(),
                shard_id: shard,
                batch: batch.clone(),
            };
            calls.push(async move {
                let msg = Request::WriteShard(request);
                let result = call(ctx, owner, &msg, ctx.cluster.shard_writer_timeout).await;
                let Request::WriteShard(request) = msg else {
                    unreachable!("built above")
                };
                RemoteWrite {
                    shard,
                    owner,
                    request,
                    result,
                }
            });
        }
    }
    join_all(calls).await
}

/// Decides, shard by shard, whether the write reached as many owners as `consistency`
/// asks, queueing what other owners missed for hinted handoff. `drop` receives points the
/// owners refused (a partial write) for shards this node does not own itself.
///
/// The errors are Enterprise's: `timeout` when an owner did not answer in time,
/// `partial write` when some but too few owners wrote, `write failed: <reason>` when none
/// did; a lone local owner's storage error is passed through as influxd words it.
pub async fn settle(
    ctx: &Ctx,
    consistency: Consistency,
    me: NodeId,
    owners_of: &ahash::AHashMap<u64, Vec<NodeId>>,
    local_failed: ahash::AHashMap<u64, String>,
    remote: Vec<RemoteWrite>,
    drop: &mut dyn FnMut(u64, String, usize),
) -> Result<(), (u16, String)> {
    let mut by_shard: ahash::AHashMap<u64, Vec<RemoteWrite>> = Default::default();
    for r in remote {
        by_shard.entry(r.shard).or_default().push(r);
    }
    let mut failure: Option<(u16, String)> = None;
    let mut shards: Vec<&u64> = owners_of.keys().collect();
    shards.sort_unstable();
    for shard in shards {
        let owners = &owners_of[shard];
        let mut ok = 0usize;
        let mut hinted = 0usize;
        let mut timed_out = false;
        let mut first_err: Option<String> = None;
        // Owners that refused the points themselves (a 4xx): when all did, the client
        // gets that refusal as a lone owner would answer it.
        let mut refused: Option<(u16, String)> = None;
        let mut refusals = 0usize;
        let local_owner = owners.contains(&me);
        if local_owner {
            match local_failed.get(shard) {
                Some(e) if owners.len() == 1 => {
                    failure.get_or_insert((500, e.clone()));
                    continue;
                }
                Some(e) => {
                    first_err.get_or_insert_with(|| e.clone());
                }
                None => ok += 1,
            }
        }
        let mut dropped_reported = local_owner;
        for r in by_shard.remove(shard).unwrap_or_default() {
            let missed = match r.result {
                Ok(Response::Written { dropped, reason }) => {
                    ok += 1;
                    if !dropped_reported && dropped > 0 {
                        drop(*shard, reason.unwrap_or_default(), dropped as usize);
                    }
                    dropped_reported = true;
                    false
                }
                Ok(Response::Error { status, message }) => {
                    if status < 500 {
                        refusals += 1;
                        refused.get_or_insert((status, message.clone()));
                    }
                    first_err.get_or_insert(message);
                    // A refusal of the request itself (bad points) is not retried later.
                    status >= 500
                }
                Ok(other) => {
                    first_err.get_or_insert_with(|| format!("unexpected answer {other:?}"));
                    true
                }
                Err(e) => {
                    timed_out |= matches!(e, RpcError::Timeout);
                    tracing::warn!(shard, owner = r.owner, error = %e, "shard write to owner failed");
                    first_err.get_or_insert_with(|| e.to_string());
                    true
                }
            };
            if missed {
                match crate::handoff::enqueue(ctx, r.owner, &r.request).await {
                    Ok(()) => hinted += 1,
                    Err(e) => {
                        tracing::warn!(shard, owner = r.owner, error = %e, "hinted handoff refused the write");
                        first_err = Some(e);
                    }
                }
            }
        }
        let acks = ok
            + if consistency == Consistency::Any {
                hinted
            } else {
                0
            };
        if acks >= consistency.required(owners.len()) {
            continue;
        }
        if let Some(r) = refused.filter(|_| !local_owner && refusals == owners.len()) {
            failure.get_or_insert(r);
            continue;
        }
        let text = if timed_out {
            "timeout".to_string()
        } else if ok > 0 {
            "partial write".to_string()
        } else {
            format!("write failed: {}", first_err.unwrap_or_default())
        };
        failure.get_or_insert((500, text));
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Polls every future until all are done; results in input order.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("all ready")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_required_per_level() {
        let cases = [
            (Consistency::Any, [1, 1, 1, 1]),
            (Consistency::One, [1, 1, 1, 1]),
            (Consistency::Quorum, [1, 2, 2, 3]),
            (Consistency::All, [1, 2, 3, 4]),
        ];
        for (level, want) in cases {
            let got: Vec<usize> = (1..=4).map(|n| level.required(n)).collect();
            assert_eq!(got, want, "{level:?}");
        }
        assert_eq!(Consistency::parse("quorum"), Some(Consistency::Quorum));
        assert_eq!(Consistency::parse("QUORUM"), None);
    }

    #[test]
    fn join_all_keeps_order() {
        let out = futures_lite::future::block_on(join_all(vec![
            Box::pin(async { 1 }) as Pin<Box<dyn Future<Output = i32>>>,
            Box::pin(async {
                futures_lite::future::yield_now().await;
                2
            }),
            Box::pin(async { 3 }),
        ]));
        assert_eq!(out, vec![1, 2, 3]);
    }
}
