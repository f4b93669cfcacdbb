//! Queries over shards that live on other data nodes.
//!
//! The coordinating node maps each shard to one owner — itself when it owns the shard,
//! otherwise one of the owners, spread by shard id — and asks each other node, in one
//! request per node, for the schema of its shards and then for its partial result of the
//! statement (aggregates already reduced there). A node that fails, refuses the
//! connection or does not answer within `[cluster] shard-reader-timeout` is skipped and its
//! shards asked of their other owners; when no owner of a shard answers, the query fails
//! naming the shard.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tessera_meta_types::{NodeId, Snapshot};
use tessera_query::plan::{plan_select, Schema};
use tessera_query::QueryError;
use tessera_storage::batch::FieldType;

use crate::handlers::Ctx;
use crate::rpc::{MeasurementSchema, Request, Response, SchemaRequest, SelectRequest};

/// Which node reads which shards.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Placement {
    pub local: Vec<u64>,
    /// Other nodes and their shards, by node id.
    pub remote: BTreeMap<NodeId, Vec<u64>>,
}

/// Owners of every shard of `db.rp`.
pub fn owners(snap: &Snapshot, db: &str, rp: &str) -> HashMap<u64, Vec<NodeId>> {
    let mut out = HashMap::new();
    if let Some(r) = snap.data.retention_policy(db, rp) {
        for g in &r.shard_groups {
            for s in &g.shards {
                out.insert(s.id, s.owners.clone());
            }
        }
    }
    out
}

/// Places `shards` on owners: this node where it owns a shard, else an owner not in
/// `failed`, chosen by shard id so that reads spread over the replicas. A shard no one
/// can serve is an error naming it.
pub fn place(
    me: NodeId,
    owners: &HashMap<u64, Vec<NodeId>>,
    shards: &[u64],
    failed: &HashSet<NodeId>,
    last_error: Option<&str>,
) -> Result<Placement, QueryError> {
    let mut out = Placement::default();
    for &shard in shards {
        let Some(o) = owners.get(&shard).filter(|o| !o.is_empty()) else {
            // A shard without owners holds nothing anyone can read (its nodes were
            // removed); influxd skips such shards too.
            tracing::warn!(shard, "shard has no owners; skipped");
            continue;
        };
        if o.contains(&me) && !failed.contains(&me) {
            out.local.push(shard);
            continue;
        }
        let start = shard as usize % o.len();
        let pick = (0..o.len())
            .map(|i| o[(start + i) % o.len()])
            .find(|n| !failed.contains(n));
        match pick {
            Some(n) => out.remote.entry(n).or_default().push(shard),
            None => {
                return Err(QueryError::msg(format!(
                    "shard {shard}: no data node owning it answered{}",
                    last_error.map(|e| format!(": {e}")).unwrap_or_default()
                )))
            }
        }
    }
    Ok(out)
}

/// Stable small numbers for the nodes of the cluster (1, 2, …), kept apart in aux row ids.
fn node_slot(snap: &Snapshot, node: NodeId) -> u32 {
    let mut ids: Vec<NodeId> = snap.data.data_nodes.iter().map(|n| n.id).collect();
    ids.sort_unstable();
    ids.iter()
        .position(|n| *n == node)
        .map_or(255, |i| i as u32 + 1)
}

/// Sends one request per node in `remote` (built by `make`), all at once, re-placing the
/// shards of nodes that fail on their other owners until every shard was answered.
pub async fn fan_out(
    ctx: &Ctx,
    owners: &HashMap<u64, Vec<NodeId>>,
    remote: BTreeMap<NodeId, Vec<u64>>,
    make: &dyn Fn(NodeId, &[u64]) -> Request,
) -> Result<Vec<(NodeId, Response)>, QueryError> {
    let me = ctx.state.state().node_id.unwrap_or(0);
    let timeout = crate::cluster::reader_timeout(ctx);
    let mut failed: HashSet<NodeId> = HashSet::new();
    // This node already read what it owns.
    failed.insert(me);
    let mut pending = remote;
    let mut out = Vec::new();
    while !pending.is_empty() {
        let calls: Vec<_> = pending
            .iter()
            .map(|(node, shards)| {
                let request = make(*node, shards);
                let node = *node;
                async move {
                    let r = crate::cluster::call(ctx, node, &request, timeout).await;
                    (node, r)
                }
            })
            .collect();
        let results = crate::cluster::join_all(calls).await;
        let mut retry: Vec<u64> = Vec::new();
        let mut last_error = None;
        for (node, r) in results {
            match r {
                Ok(Response::Error { message, .. }) => return Err(QueryError::msg(message)),
                Ok(resp) => out.push((node, resp)),
                Err(e) => {
                    tracing::warn!(node, error = %e, "data node did not answer a query; trying replicas");
                    failed.insert(node);
                    retry.extend(pending.get(&node).into_iter().flatten().copied());
                    last_error = Some(format!("node {node}: {e}"));
                }
            }
        }
        pending = if retry.is_empty() {
            BTreeMap::new()
        } else {
            place(me, owners, &retry, &failed, last_error.as_deref())?.remote
        };
    }
    Ok(out)
}

/// Field types and (when `tags`) tag keys of the shards, this node's and the others'.
pub async fn schema(
    ctx: &Ctx,
    db: &str,
    rp: &str,
    placement: &Placement,
    owners: &HashMap<u64, Vec<NodeId>>,
    measurements: Option<Vec<String>>,
    tags: bool,
) -> Result<(FieldTypes, TagsMap), QueryError> {
    let (mut fields, mut tag_map) =
        local_schema(ctx, db, rp, &placement.local, measurements.clone(), tags).await?;
    if placement.remote.is_empty() {
        return Ok((fields, tag_map));
    }
    let make = |_node: NodeId, shards: &[u64]| {
        Request::Schema(SchemaRequest {
            database: db.to_string(),
            retention_policy: rp.to_string(),
            shards: shards.to_vec(),
            measurements: measurements.clone(),
            tags,
        })
    };
    for (_, resp) in fan_out(ctx, owners, placement.remote.clone(), &make).await? {
        let Response::Schema { measurements } = resp else {
            return Err(QueryError::msg("unexpected answer to a schema request"));
        };
        for m in measurements {
            let e = fields.entry(m.name.clone()).or_default();
            // One pair per type a field has (a node of an older version sends one).
            for (f, t) in m.fields {
                if let Some(t) = FieldType::from_u8(t) {
                    e.entry(f).or_default().insert(t);
                }
            }
            if tags {
                tag_map.entry(m.name).or_default().extend(m.tags);
            }
        }
    }
    Ok((fields, tag_map))
}

pub type FieldsMap = BTreeMap<String, BTreeMap<String, FieldType>>;
/// Measurement → field → every type it has in the shards read.
pub type FieldTypes = BTreeMap<String, BTreeMap<String, BTreeSet<FieldType>>>;
pub type TagsMap = BTreeMap<String, BTreeSet<String>>;

async fn local_schema(
    ctx: &Ctx,
    db: &str,
    rp: &str,
    shards: &[u64],
    measurements: Option<Vec<String>>,
    tags: bool,
) -> Result<(FieldTypes, TagsMap), QueryError> {
    if shards.is_empty() {
        return Ok(Default::default());
    }
    let fields = crate::select::field_types_of(&ctx.engine, db, rp, shards);
    let tag_map = if tags {
        crate::scatter::tags(&ctx.engine, measurements, shards.to_vec()).await?
    } else {
        BTreeMap::new()
    };
    Ok((fields, tag_map))
}

/// Remote parts of other nodes' queries running here: (coordinator, token) → cancel flag.
static RUNNING: Mutex<BTreeMap<(NodeId, u64), Arc<AtomicBool>>> = Mutex::new(BTreeMap::new());
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Stops this node's part of a coordinator's query.
pub fn cancel(coordinator: NodeId, token: u64) {
    if let Some(flag) = RUNNING
        .lock()
        .ok()
        .and_then(|r| r.get(&(coordinator, token)).cloned())
    {
        flag.store(true, Ordering::Relaxed);
    }
}

/// Runs the planned statement over the other nodes' shards; their partial results. When
/// `cancel` is set meanwhile (KILL QUERY on the coordinator), the other nodes are told to
/// stop their parts and the query ends with `query interrupted`.
#[allow(clippy::too_many_arguments)]
pub async fn select_remote(
    ctx: &Ctx,
    cancel_flag: &Arc<AtomicBool>,
    snap: &Snapshot,
    db: &str,
    rp: &str,
    owners: &HashMap<u64, Vec<NodeId>>,
    remote: BTreeMap<NodeId, Vec<u64>>,
    statement: &str,
    plan: &tessera_query::plan::SelectPlan,
    all_measurements: &[String],
    schema: &Schema,
) -> Result<Vec<tessera_query::exec::Partial>, QueryError> {
    if remote.is_empty() {
        return Ok(Vec::new());
    }
    let schema: Vec<MeasurementSchema> = schema
        .iter()
        .map(|(name, m)| MeasurementSchema {
            name: name.clone(),
            fields: m
                .fields
                .iter()
                .map(|(f, t)| (f.clone(), *t as u8))
                .collect(),
            tags: m.tags.iter().cloned().collect(),
            tags_unknown: m.tags_unknown,
        })
        .collect();
    let me = ctx.state.state().node_id.unwrap_or(0);
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    let make = |node: NodeId, shards: &[u64]| {
        Request::Select(SelectRequest {
            database: db.to_string(),
            retention_policy: rp.to_string(),
            shards: shards.to_vec(),
            statement: statement.to_string(),
            all_measurements: all_measurements.to_vec(),
            measurements: plan.measurements.clone(),
            schema: schema.clone(),
            id_base: plan.id_base,
            node_slot: node_slot(snap, node),
            now: plan.now,
            coordinator: me,
            token,
            explain: plan.explain,
            inner: plan.inner,
            inner_min: plan.range.min,
            inner_max: plan.range.max,
        })
    };
    let nodes: Vec<NodeId> = snap
        .data
        .data_nodes
        .iter()
        .map(|n| n.id)
        .filter(|n| *n != me)
        .collect();
    let watch = async {
        while !cancel_flag.load(Ordering::Relaxed) {
            glommio::timer::sleep(Duration::from_millis(20)).await;
        }
        let timeout = crate::cluster::reader_timeout(ctx);
        let stops: Vec<_> = nodes
            .iter()
            .map(|n| {
                let request = Request::Cancel {
                    coordinator: me,
                    token,
                };
                async move {
                    let _ = crate::cluster::call(ctx, *n, &request, timeout).await;
                }
            })
            .collect();
        crate::cluster::join_all(stops).await;
        Err(QueryError::Killed)
    };
    let answers = futures_lite::future::or(fan_out(ctx, owners, remote, &make), watch).await?;
    let mut out = Vec::new();
    for (node, resp) in answers {
        let Response::Partial { bytes } = resp else {
            return Err(QueryError::msg("unexpected answer to a select request"));
        };
        let p = tessera_query::wire::decode(&bytes)
            .map_err(|e| QueryError::msg(format!("partial result of node {node}: {e}")))?;
        out.push(p);
    }
    Ok(out)
}

/// Answers another node's schema request over this node's shards.
pub async fn answer_schema(ctx: &Ctx, q: SchemaRequest) -> Response {
    match local_schema(
        ctx,
        &q.database,
        &q.retention_policy,
        &q.shards,
        q.measurements,
        q.tags,
    )
    .await
    {
        Ok((fields, tags)) => {
            let names: BTreeSet<&String> = fields.keys().chain(tags.keys()).collect();
            let measurements = names
                .into_iter()
                .map(|n| MeasurementSchema {
                    name: n.clone(),
                    fields: fields
                        .get(n)
                        .map(|f| {
                            f.iter()
                                .flat_map(|(k, ts)| ts.iter().map(|t| (k.clone(), *t as u8)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    tags: tags
                        .get(n)
                        .map(|t| t.iter().cloned().collect())
                        .unwrap_or_default(),
                    tags_unknown: !q.tags,
                })
                .collect();
            Response::Schema { measurements }
        }
        Err(e) => Response::Error {
            status: 500,
            message: e.to_string(),
        },
    }
}

/// Answers another node's select over this node's shards with the partial result.
pub async fn answer_select(ctx: &Ctx, q: SelectRequest) -> Response {
    match select_here(ctx, &q).await {
        Ok(bytes) => Response::Partial { bytes },
        Err(e) => Response::Error {
            status: 500,
            message: e.to_string(),
        },
    }
}

async fn select_here(ctx: &Ctx, q: &SelectRequest) -> Result<Vec<u8>, QueryError> {
    let parsed = tessera_influxql::parse_query(&q.statement)
        .map_err(|e| QueryError::msg(format!("remote statement: {}", e.influxd_text())))?;
    let Some(tessera_influxql::Statement::Select(stmt)) = parsed.statements.into_iter().next()
    else {
        return Err(QueryError::msg("remote statement is not a SELECT"));
    };
    let mut schema: Schema = BTreeMap::new();
    for m in &q.schema {
        let e = schema.entry(m.name.clone()).or_default();
        for (f, t) in &m.fields {
            if let Some(t) = FieldType::from_u8(*t) {
                e.fields.insert(f.clone(), t);
            }
        }
        e.tags.extend(m.tags.iter().cloned());
        e.tags_unknown = m.tags_unknown;
    }
    let mut plan = plan_select(&stmt, q.all_measurements.clone(), &schema, q.now)?;
    plan.measurements = q.measurements.clone();
    plan.id_base = q.id_base;
    plan.node_slot = q.node_slot;
    plan.explain = q.explain;
    if q.inner {
        plan.inner_range(tessera_query::cond::TimeRange {
            min: q.inner_min,
            max: q.inner_max,
        });
    }
    let registration = crate::registry::register(&q.statement, &q.database);
    let key = (q.coordinator, q.token);
    if let Ok(mut r) = RUNNING.lock() {
        r.insert(key, Arc::clone(&registration.cancel));
    }
    let partial = crate::scatter::select(
        &ctx.engine,
        Arc::new(plan),
        q.shards.clone(),
        Arc::clone(&registration.cancel),
    )
    .await;
    if let Ok(mut r) = RUNNING.lock() {
        r.remove(&key);
    }
    if registration.cancel.load(Ordering::Relaxed) {
        return Err(QueryError::Killed);
    }
    Ok(tessera_query::wire::encode(&partial?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_first_then_spread_then_failover() {
        let owners: HashMap<u64, Vec<NodeId>> = [
            (10, vec![1, 2]),
            (11, vec![2, 3]),
            (12, vec![3, 2]),
            (13, vec![]),
        ]
        .into_iter()
        .collect();
        let shards = [10, 11, 12, 13];
        let p = place(1, &owners, &shards, &HashSet::new(), None).unwrap();
        assert_eq!(p.local, vec![10]);
        // 11 % 2 = 1 → owners[1] = 3; 12 % 2 = 0 → owners[0] = 3.
        assert_eq!(p.remote, BTreeMap::from([(3, vec![11, 12])]));
        let failed: HashSet<NodeId> = [3].into_iter().collect();
        let p = place(1, &owners, &[11, 12], &failed, None).unwrap();
        assert_eq!(p.remote, BTreeMap::from([(2, vec![11, 12])]));
        let failed: HashSet<NodeId> = [2, 3].into_iter().collect();
        let e = place(1, &owners, &[11], &failed, Some("node 2: timeout")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shard 11: no data node owning it answered: node 2: timeout"
        );
    }
}
