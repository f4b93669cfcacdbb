//! The series index across the cluster: `SHOW MEASUREMENTS/TAG KEYS/TAG VALUES/SERIES`,
//! the cardinality statements and deletes over every shard, wherever it lives.
//!
//! Reads go to one owner per shard (this node first, a replica when an owner fails), as
//! `SELECT` does ([`crate::cluster_query`]); the answers are sets, merged by union.
//! Deletes go to every owner of every shard: a delete that misses an owner fails and
//! names it, so a replica never keeps points the user deleted without being told.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use tessera_influxql::{BinaryOp, TagKeyExpr};
use tessera_meta_types::NodeId;
use tessera_query::QueryError;

use crate::cluster_query::place;
use crate::handlers::Ctx;
use crate::rpc::{IndexOp, IndexRequest, Request, Response};
use crate::scatter::{KeyMatch, SeriesFilter};

/// Owners of every shard this node's metadata knows.
fn all_owners(ctx: &Ctx) -> HashMap<u64, Vec<NodeId>> {
    let mut out = HashMap::new();
    let state = ctx.state.state();
    if let Some(snap) = state.snapshot.as_ref() {
        for db in snap.data.databases.values() {
            for rp in db.retention_policies.values() {
                for g in &rp.shard_groups {
                    for s in &g.shards {
                        out.insert(s.id, s.owners.clone());
                    }
                }
            }
        }
    }
    out
}

fn me(ctx: &Ctx) -> NodeId {
    ctx.state.state().node_id.unwrap_or(0)
}

/// Runs `op` over the other nodes' shards, one owner per shard with failover.
async fn ask_remote(
    ctx: &Ctx,
    owners: &HashMap<u64, Vec<NodeId>>,
    remote: BTreeMap<NodeId, Vec<u64>>,
    op: &IndexOp,
) -> Result<Vec<Response>, QueryError> {
    let make = |_: NodeId, shards: &[u64]| {
        Request::Index(IndexRequest {
            op: op.clone(),
            shards: shards.to_vec(),
        })
    };
    Ok(crate::cluster_query::fan_out(ctx, owners, remote, &make)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

fn unexpected() -> QueryError {
    QueryError::msg("unexpected answer from a data node")
}

/// Measurement → field → every type it has, from the field registries of the shards.
pub async fn fields(
    ctx: &Ctx,
    db: &str,
    rp: &str,
    shards: &[u64],
) -> Result<crate::cluster_query::FieldTypes, QueryError> {
    let owners = all_owners(ctx);
    let p = place(me(ctx), &owners, shards, &HashSet::new(), None)?;
    let (fields, _) = crate::cluster_query::schema(ctx, db, rp, &p, &owners, None, false).await?;
    Ok(fields)
}

/// Measurement → tag keys.
pub async fn tags(
    ctx: &Ctx,
    measurements: Option<Vec<String>>,
    shards: Vec<u64>,
) -> Result<BTreeMap<String, BTreeSet<String>>, QueryError> {
    let owners = all_owners(ctx);
    let p = place(me(ctx), &owners, &shards, &HashSet::new(), None)?;
    let op = IndexOp::Tags {
        measurements: measurements.clone(),
    };
    let (local, remote) = futures_lite::future::zip(
        async {
            if p.local.is_empty() {
                return Ok(BTreeMap::new());
            }
            crate::scatter::tags(&ctx.engine, measurements.clone(), p.local.clone()).await
        },
        ask_remote(ctx, &owners, p.remote.clone(), &op),
    )
    .await;
    let mut out = local?;
    for r in remote? {
        let Response::Tags { tags } = r else {
            return Err(unexpected());
        };
        for (m, keys) in tags {
            out.entry(m).or_default().extend(keys);
        }
    }
    Ok(out)
}

/// (measurement, tag key, tag value) of the keys matching.
pub async fn tag_values(
    ctx: &Ctx,
    measurements: Option<Vec<String>>,
    keys: KeyMatch,
    condition: Option<tessera_influxql::Expr>,
    shards: Vec<u64>,
) -> Result<crate::scatter::TagValueSet, QueryError> {
    let owners = all_owners(ctx);
    let p = place(me(ctx), &owners, &shards, &HashSet::new(), None)?;
    let op = IndexOp::TagValues {
        measurements: measurements.clone(),
        key_op: key_op_code(keys.op),
        key_names: match &keys.key {
            TagKeyExpr::Names(n) => n.clone(),
            TagKeyExpr::Regex(_) => Vec::new(),
        },
        key_regex: match &keys.key {
            TagKeyExpr::Regex(r) => Some(r.0.clone()),
            TagKeyExpr::Names(_) => None,
        },
        condition: condition.as_ref().map(|c| c.to_string()),
    };
    let remote = ask_remote(ctx, &owners, p.remote.clone(), &op);
    let local = async {
        if p.local.is_empty() {
            return Ok(Default::default());
        }
        crate::scatter::tag_values(
            &ctx.engine,
            measurements.clone(),
            keys,
            condition.clone(),
            p.local.clone(),
        )
        .await
    };
    let (local, remote) = futures_lite::future::zip(local, remote).await;
    let mut out = local?;
    for r in remote? {
        let Response::TagValues { values } = r else {
            return Err(unexpected());
        };
        let set = values.into_iter().map(|(m, k, v)| ((m, k), v)).collect();
        crate::scatter::merge_tag_values(&mut out, set);
    }
    Ok(out)
}

/// Series keys (escaped, as stored) matching `filter`.
pub async fn series(
    ctx: &Ctx,
    filter: SeriesFilter,
    shards: Vec<u64>,
) -> Result<BTreeSet<Vec<u8>>, QueryError> {
    let owners = all_owners(ctx);
    let p = place(me(ctx), &owners, &shards, &HashSet::new(), None)?;
    let op = IndexOp::Series {
        measurements: filter.measurements.clone(),
        condition: filter.condition.as_ref().map(|c| c.to_string()),
    };
    let remote = ask_remote(ctx, &owners, p.remote.clone(), &op);
    let local = async {
        if p.local.is_empty() {
            return Ok(BTreeSet::new());
        }
        crate::scatter::series(&ctx.engine, filter, p.local.clone()).await
    };
    let (local, remote) = futures_lite::future::zip(local, remote).await;
    let mut out = local?;
    for r in remote? {
        let Response::Series { keys } = r else {
            return Err(unexpected());
        };
        out.extend(keys);
    }
    Ok(out)
}

/// Distinct series of the shards. When the shards are all of one shard group no two of
/// them hold the same series (a series goes to one shard of its group, one partition of
/// its shard), so their counts add up; otherwise series are told apart by their 64-bit
/// hashes (a series in several shard groups counts once).
pub async fn series_count(ctx: &Ctx, shards: Vec<u64>, one_group: bool) -> Result<u64, QueryError> {
    let owners = all_owners(ctx);
    let p = place(me(ctx), &owners, &shards, &HashSet::new(), None)?;
    let hashes = !one_group;
    let op = IndexOp::SeriesCount { hashes };
    let remote = ask_remote(ctx, &owners, p.remote.clone(), &op);
    let local = async {
        if p.local.is_empty() {
            return Ok(Default::default());
        }
        crate::scatter::series_tally(&ctx.engine, p.local.clone(), hashes).await
    };
    let (local, remote) = futures_lite::future::zip(local, remote).await;
    let local = local?;
    let mut count = local.count;
    let mut all: ahash::AHashSet<u64> = local.hashes.into_iter().collect();
    for r in remote? {
        let Response::Hashes { count: n, hashes } = r else {
            return Err(unexpected());
        };
        count += n;
        all.extend(hashes);
    }
    Ok(if one_group { count } else { all.len() as u64 })
}

/// Deletes the points of the matching series within `[min, max]` on every owner of every
/// shard.
pub async fn delete(
    ctx: &Ctx,
    filter: SeriesFilter,
    min: i64,
    max: i64,
    shards: Vec<u64>,
    forget_fields: bool,
) -> Result<(), QueryError> {
    let owners = all_owners(ctx);
    let me = me(ctx);
    let mut local = Vec::new();
    let mut remote: BTreeMap<NodeId, Vec<u64>> = BTreeMap::new();
    for s in &shards {
        for o in owners.get(s).into_iter().flatten() {
            if *o == me {
                local.push(*s);
            } else {
                remote.entry(*o).or_default().push(*s);
            }
        }
    }
    let op = IndexOp::Delete {
        measurements: filter.measurements.clone(),
        condition: filter.condition.as_ref().map(|c| c.to_string()),
        min,
        max,
        forget_fields,
    };
    let timeout = crate::cluster::reader_timeout(ctx);
    let calls: Vec<_> = remote
        .into_iter()
        .map(|(node, shards)| {
            let request = Request::Index(IndexRequest {
                op: op.clone(),
                shards,
            });
            async move {
                let r = crate::cluster::call(ctx, node, &request, timeout).await;
                (node, r)
            }
        })
        .collect();
    let local = async {
        if local.is_empty() {
            return Ok(());
        }
        crate::scatter::delete(&ctx.engine, filter, min, max, local, forget_fields).await
    };
    let (local, remote) = futures_lite::future::zip(local, crate::cluster::join_all(calls)).await;
    local?;
    for (node, r) in remote {
        match r {
            Ok(Response::Done) => {}
            Ok(Response::Error { message, .. }) => return Err(QueryError::msg(message)),
            Ok(_) => return Err(unexpected()),
            Err(e) => {
                return Err(QueryError::msg(format!(
                    "delete did not reach data node {node}: {e}"
                )))
            }
        }
    }
    Ok(())
}

fn key_op_code(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Neq => 1,
        BinaryOp::EqRegex => 2,
        BinaryOp::NeqRegex => 3,
        _ => 0,
    }
}

fn key_op_of(code: u8) -> BinaryOp {
    match code {
        1 => BinaryOp::Neq,
        2 => BinaryOp::EqRegex,
        3 => BinaryOp::NeqRegex,
        _ => BinaryOp::Eq,
    }
}

fn parse_condition(c: Option<&String>) -> Result<Option<tessera_influxql::Expr>, QueryError> {
    c.map(|c| {
        tessera_influxql::parse_expr(c)
            .map_err(|e| QueryError::msg(format!("remote condition: {}", e.influxd_text())))
    })
    .transpose()
}

/// Answers another node's index request over this node's shards.
pub async fn answer(ctx: &Ctx, q: IndexRequest) -> Response {
    match answer_inner(ctx, q).await {
        Ok(r) => r,
        Err(e) => Response::Error {
            status: 500,
            message: e.to_string(),
        },
    }
}

async fn answer_inner(ctx: &Ctx, q: IndexRequest) -> Result<Response, QueryError> {
    let engine = &ctx.engine;
    Ok(match q.op {
        IndexOp::Tags { measurements } => Response::Tags {
            tags: crate::scatter::tags(engine, measurements, q.shards)
                .await?
                .into_iter()
                .map(|(m, k)| (m, k.into_iter().collect()))
                .collect(),
        },
        IndexOp::TagValues {
            measurements,
            key_op,
            key_names,
            key_regex,
            condition,
        } => {
            let keys = KeyMatch {
                op: key_op_of(key_op),
                key: match key_regex {
                    Some(r) => TagKeyExpr::Regex(tessera_influxql::Regex(r)),
                    None => TagKeyExpr::Names(key_names),
                },
            };
            let condition = parse_condition(condition.as_ref())?;
            Response::TagValues {
                values: crate::scatter::tag_values(engine, measurements, keys, condition, q.shards)
                    .await?
                    .into_iter()
                    .map(|((m, k), v)| (m, k, v))
                    .collect(),
            }
        }
        IndexOp::Series {
            measurements,
            condition,
        } => {
            let filter = SeriesFilter {
                measurements,
                condition: parse_condition(condition.as_ref())?,
            };
            Response::Series {
                keys: crate::scatter::series(engine, filter, q.shards)
                    .await?
                    .into_iter()
                    .collect(),
            }
        }
        IndexOp::SeriesCount { hashes } => {
            let t = crate::scatter::series_tally(engine, q.shards, hashes).await?;
            Response::Hashes {
                count: t.count,
                hashes: t.hashes,
            }
        }
        IndexOp::Delete {
            measurements,
            condition,
            min,
            max,
            forget_fields,
        } => {
            let filter = SeriesFilter {
                measurements,
                condition: parse_condition(condition.as_ref())?,
            };
            crate::scatter::delete(engine, filter, min, max, q.shards, forget_fields).await?;
            Response::Done
        }
    })
}
