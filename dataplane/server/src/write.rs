//! `POST /write`, as InfluxDB 1.x answers it.
//!
//! The body is parsed in place (line protocol borrowed from the request buffer). Each point
//! finds its shard group (created through the meta plane when missing), its shard
//! (`fnv64a(series key) % shards`), its partition and the core that owns the partition.
//! Field types are checked against the shard's registry. Then one encoded batch per
//! partition goes to its core, which appends it to the partition's WAL (fsynced) before
//! answering; the request is acknowledged once every batch is durable.

use std::io::Read;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tessera_lineproto::{FieldValue, Precision};
use tessera_meta_types::{Command, Reply, ShardGroup};
use tessera_storage::batch::{measurement_of, BatchBuilder, FieldType, Value};

use crate::cluster::Consistency;
use crate::engine::ShardRef;
use crate::fields::{FieldRequest, RegisterError};
use crate::handlers::{error_json, Ctx};
use crate::http::{Request, Response};
use crate::meta_sync::ExecuteError;
use crate::router;

/// Answers a write; see the module doc.
pub async fn write(req: &Request, ctx: &Ctx, user: &crate::auth::Authenticated) -> Response {
    match write_inner(req, ctx, user).await {
        Ok(None) => Response::new(204),
        Ok(Some(partial)) => error_json(400, &partial),
        Err((status, msg)) => error_json(status, &msg),
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

type Failure = (u16, String);

async fn write_inner(
    req: &Request,
    ctx: &Ctx,
    user: &crate::auth::Authenticated,
) -> Result<Option<String>, Failure> {
    let head = &req.head;
    let db = head.query_decoded("db").unwrap_or_default();
    if db.is_empty() {
        return Err((400, "database is required".into()));
    }
    if ctx.config.http.auth_enabled {
        let state = ctx.state.state();
        if let Some(snapshot) = state.snapshot.as_ref() {
            if snapshot.data.database(&db).is_none() {
                return Err((404, format!("database not found: \"{db}\"")));
            }
        }
        crate::auth::authorize_write(user, &db)?;
    }
    let mut consistency = Consistency::One;
    if let Some(c) = head.query_decoded("consistency") {
        if let Some(level) = Consistency::parse(&c) {
            consistency = level;
        } else if !c.is_empty() {
            // Checked after the database, as influxd does.
            let state = ctx.state.state();
            if let Some(snapshot) = state.snapshot.as_ref() {
                if snapshot.data.database(&db).is_none() {
                    return Err((404, format!("database not found: \"{db}\"")));
                }
            }
            return Err((400, "invalid consistency level".into()));
        }
    }
    let precision = match head.query_decoded("precision") {
        None => Precision::Nanosecond,
        Some(p) => Precision::parse(&p).unwrap_or(Precision::Nanosecond),
    };
    let rp = head.query_decoded("rp").filter(|r| !r.is_empty());
    write_lines(
        ctx,
        &db,
        rp.as_deref(),
        precision,
        consistency,
        true,
        || decode_body(req),
    )
    .await
}

/// Writes line protocol to `db` (and `rp`, else the default): what `/write` and
/// `SELECT … INTO` share. `Ok(Some(text))` is a partial write (influxd's 400 text).
pub async fn write_lines(
    ctx: &Ctx,
    db: &str,
    rp: Option<&str>,
    precision: Precision,
    consistency: Consistency,
    from_http: bool,
    body: impl FnOnce() -> Result<Bytes, Failure>,
) -> Result<Option<String>, Failure> {
    let state = ctx.state.state();
    let Some(snapshot) = state.snapshot.clone() else {
        return Err((503, "data node has not joined a cluster yet".into()));
    };
    let Some(database) = snapshot.data.database(db) else {
        return Err((404, format!("database not found: \"{db}\"")));
    };
    let rp_name = rp
        .map(str::to_string)
        .unwrap_or_else(|| database.default_retention_policy.clone());
    let Some(rp) = database.retention_policies.get(&rp_name) else {
        return Err((500, format!("retention policy not found: {rp_name}")));
    };
    let Some(node_id) = state.node_id else {
        return Err((503, "data node has not joined a cluster yet".into()));
    };
    let body = body()?;
    if body.is_empty() {
        return Ok(None);
    }

    let now = now_nanos();
    let retention_floor = if rp.duration == 0 {
        i64::MIN
    } else {
        now.saturating_sub(rp.duration as i64)
    };
    let mut groups: Vec<ShardGroup> = rp
        .shard_groups
        .iter()
        .filter(|g| !g.is_deleted())
        .cloned()
        .collect();
    let mut parse_errors: Vec<String> = Vec::new();
    let mut dropped_retention = 0usize;
    // Points their shards refuse (InfluxDB's `PartialWriteError`).
    let mut drops = Drops::default();
    let mut out = Batches::default();
    // Points whose fields this core has not seen in their shard yet wait for one
    // registration round trip per shard; later points of such a shard wait too, so the
    // request's order (the last write wins) is kept.
    let mut deferred: Vec<Deferred> = Vec::new();
    let mut deferred_shards: ahash::AHashSet<u64> = Default::default();
    // A new shard's first write brought one field with two types (400, as influxd).
    let mut first_write_conflict = false;
    // Local shards' points dropped for their fields: influxd indexes their series all
    // the same (it creates a write's series before it checks the fields).
    let mut unwritten: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut key_buf = Vec::with_capacity(256);
    let mut parsed = 0usize;
    let mut last_group = 0usize;
    // Points of shards with owners on other nodes, one batch per shard, and the owners of
    // every shard this write touches.
    let mut remote: ahash::AHashMap<u64, BatchBuilder> = Default::default();
    let mut owners_of: ahash::AHashMap<u64, Vec<u64>> = Default::default();
    let default_ts = precision_truncate(now, precision);
    for line in tessera_lineproto::parse(&body, precision) {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                parse_errors.push(e.to_string());
                continue;
            }
        };
        parsed += 1;
        let ts = line.timestamp.unwrap_or(default_ts);
        if ts < retention_floor {
            dropped_retention += 1;
            continue;
        }
        key_buf.clear();
        tessera_lineproto::series_key(&line, &mut key_buf);
        let gi = if groups.get(last_group).is_some_and(|g| g.contains(ts)) {
            last_group
        } else if let Some(i) = groups.iter().position(|g| g.contains(ts)) {
            i
        } else {
            groups.push(create_group(ctx, db, &rp_name, ts).await?);
            groups.len() - 1
        };
        last_group = gi;
        let group = &groups[gi];
        if group.shards.is_empty() {
            return Err((500, format!("shard group {} has no shards", group.id)));
        }
        let shard = &group.shards[router::shard_index(&key_buf, group.shards.len())];
        // influxd refuses `time` as a tag key, and as the only field (other fields stay,
        // without it), in the shard the point maps to.
        let line_no = parsed - 1;
        if line.tags.iter().any(|(k, _)| &*k.unescaped() == b"time") {
            drops.add(shard.id, (TIME_TAG, line_no), || {
                format!(
                    "invalid tag key: input tag \"time\" on measurement \"{}\" is invalid",
                    String::from_utf8_lossy(&line.measurement.unescaped())
                )
            });
            continue;
        }
        if line.fields.iter().all(|(k, _)| &*k.unescaped() == b"time") {
            drops.add(shard.id, (FIELDS, line_no), || {
                format!(
                    "invalid field name: input field \"time\" on measurement \"{}\" is invalid",
                    String::from_utf8_lossy(&line.measurement.unescaped())
                )
            });
            if shard.owners.contains(&node_id) {
                unwritten.push((shard.id, key_buf.clone()));
            }
            continue;
        }
        let fields = line
            .fields
            .iter()
            .filter(|(k, _)| k.raw() != b"time" || &*k.unescaped() != b"time")
            .map(|(k, v)| (k.unescaped(), convert(v)));
        owners_of
            .entry(shard.id)
            .or_insert_with(|| shard.owners.clone());
        if shard.owners.iter().any(|o| *o != node_id) {
            // The other owners get the point over the cluster port; each checks types.
            let b = remote.entry(shard.id).or_default();
            b.point(&key_buf, ts).map_err(|e| (400, e.to_string()))?;
            for (name, (v, owned)) in fields.clone() {
                let v = match &owned {
                    Some(o) => Value::Str(o),
                    None => v,
                };
                b.field(&name, v).map_err(|e| (400, e.to_string()))?;
            }
        }
        if !shard.owners.contains(&node_id) {
            continue;
        }
        let known = ctx.engine.known_partitions(shard.id);
        match known {
            Some(partitions) if !deferred_shards.contains(&shard.id) => {
                let m = measurement_of(&key_buf);
                let mut unknown = false;
                let mut conflict = None;
                // A point with a field held with another type is dropped and registers
                // none of its new fields (as in influxd); one with new fields waits for
                // their registration (see `ShardFields::register`).
                for (name, (v, _)) in fields.clone() {
                    match ctx.engine.known_field(shard.id, m, &name) {
                        None => unknown = true,
                        Some(held) if held != v.field_type() => {
                            conflict = Some(conflict_text(&name, m, v.field_type(), held));
                            break;
                        }
                        Some(_) => {}
                    }
                }
                if conflict.is_none() && !unknown {
                    // (The same field twice in the point with two types.)
                    conflict = point_conflict(
                        m,
                        fields.clone().map(|(n, (v, _))| (n, v.field_type())),
                        |name| ctx.engine.known_field(shard.id, m, name),
                    );
                }
                if !unknown || conflict.is_some() {
                    if let Some(c) = conflict {
                        drops.add(shard.id, (FIELDS, line_no), || c);
                        unwritten.push((shard.id, key_buf.clone()));
                    } else {
                        out.add(shard.id, db, &rp_name, partitions, &key_buf, ts, fields)
                            .map_err(|e| (400, e))?;
                    }
                    continue;
                }
            }
            _ => {}
        }
        deferred_shards.insert(shard.id);
        deferred.push(Deferred {
            shard: shard.id,
            line: line_no,
            key: key_buf.clone(),
            ts,
            fields: fields
                .map(|(name, (v, owned))| (name.into_owned(), OwnedValue::from(v, owned)))
                .collect(),
        });
    }
    if parsed == 0 && !parse_errors.is_empty() {
        // Nothing parsed: influxd answers with the parse errors alone, not a partial write.
        return Err((400, parse_errors.join("\n")));
    }

    // Register what the deferred points brought, one round trip per shard, then place them.
    let mut shards: Vec<u64> = deferred.iter().map(|d| d.shard).collect();
    shards.sort_unstable();
    shards.dedup();
    for shard_id in shards {
        let shard = ShardRef {
            database: Arc::from(db),
            retention_policy: Arc::from(rp_name.as_str()),
            id: shard_id,
        };
        // Every field of every point, with the point's index: the home core registers
        // the new fields of the points that conflict with nothing it holds.
        let mut request: Vec<FieldRequest> = Vec::new();
        for (point, d) in deferred.iter().filter(|d| d.shard == shard_id).enumerate() {
            let m = measurement_of(&d.key);
            let point = u32::try_from(point).unwrap_or(u32::MAX);
            for (name, v) in &d.fields {
                request.push((
                    (m.into(), name.as_slice().into()),
                    v.as_value().field_type(),
                    point,
                ));
            }
        }
        let (partitions, _) = match ctx.engine.field_types(&shard, request).await {
            Ok(r) => r,
            // influxd's first write into a new shard fails whole when it brings one field
            // with two types: none of the shard's points is written.
            Err(RegisterError::FirstWriteConflict) => {
                first_write_conflict = true;
                unwritten.extend(
                    deferred
                        .iter()
                        .filter(|d| d.shard == shard_id)
                        .map(|d| (shard_id, d.key.clone())),
                );
                continue;
            }
            Err(e) => return Err((500, e.to_string())),
        };
        for d in deferred.iter().filter(|d| d.shard == shard_id) {
            let m = measurement_of(&d.key);
            let conflict = point_conflict(
                m,
                d.fields
                    .iter()
                    .map(|(name, v)| (name.as_slice(), v.as_value().field_type())),
                |name| ctx.engine.known_field(shard_id, m, name),
            );
            if let Some(c) = conflict {
                drops.add(shard_id, (FIELDS, d.line), || c);
                unwritten.push((shard_id, d.key.clone()));
                continue;
            }
            let fields = d.fields.iter().map(|(n, v)| {
                (
                    std::borrow::Cow::Borrowed(n.as_slice()),
                    (v.as_value(), None),
                )
            });
            out.add(shard.id, db, &rp_name, partitions, &d.key, d.ts, fields)
                .map_err(|e| (400, e))?;
        }
    }

    // Hand every local batch to its partition's core, every remote shard's batch to its
    // other owners, and wait until enough of them are durable.
    let writes = out.spawn(ctx);
    let remote_writes =
        crate::cluster::send_shard_writes(ctx, db, &rp_name, remote, &owners_of, node_id);
    index_unwritten(ctx, db, &rp_name, unwritten).await;
    let local_failed = Batches::failures(writes).await;
    let remote_results = remote_writes.await;
    let settled = crate::cluster::settle(
        ctx,
        consistency,
        node_id,
        &owners_of,
        local_failed,
        remote_results,
        &mut |shard, reason, count| drops.add_many(shard, (WRITE, 0), || reason, count),
    )
    .await;
    crate::stats::count_write(
        parsed,
        drops.total() + dropped_retention,
        settled.is_err(),
        from_http,
    );
    // (Before the other owners' verdict: they refuse that shard's first write alike.)
    if first_write_conflict {
        return Err((400, RegisterError::FirstWriteConflict.to_string()));
    }
    settled?;

    // influxd reports the shards' write error first, then points beyond the retention
    // policy, and lines that did not parse only when the write itself went through.
    if let Some((reason, count)) = drops.first() {
        return Ok(Some(format!("partial write: {reason} dropped={count}")));
    }
    if dropped_retention > 0 {
        return Ok(Some(format!(
            "partial write: points beyond retention policy dropped={dropped_retention}"
        )));
    }
    if !parse_errors.is_empty() {
        return Ok(Some(format!(
            "partial write: {} dropped=0",
            parse_errors.join("\n")
        )));
    }
    Ok(None)
}

/// Indexes the series of the points a write dropped for their fields in this node's
/// shards, as influxd does (a failure is logged: the points were refused anyway).
async fn index_unwritten(ctx: &Ctx, db: &str, rp: &str, unwritten: Vec<(u64, Vec<u8>)>) {
    let mut by_shard: std::collections::BTreeMap<u64, Vec<Vec<u8>>> = Default::default();
    for (id, key) in unwritten {
        by_shard.entry(id).or_default().push(key);
    }
    for (id, keys) in by_shard {
        let shard = ShardRef {
            database: Arc::from(db),
            retention_policy: Arc::from(rp),
            id,
        };
        // A shard only a dropped point reached is created, as influxd creates it.
        let partitions = match ctx.engine.known_partitions(id) {
            Some(p) => p,
            None => match ctx.engine.field_types(&shard, Vec::new()).await {
                Ok((p, _)) => p,
                Err(e) => {
                    tracing::warn!(shard = id, error = %e, "cannot index the series of dropped points");
                    continue;
                }
            },
        };
        let mut by_partition: std::collections::BTreeMap<u32, Vec<Vec<u8>>> = Default::default();
        for key in keys {
            by_partition
                .entry(router::partition_of(&key, partitions))
                .or_default()
                .push(key);
        }
        for (partition, mut keys) in by_partition {
            keys.sort_unstable();
            keys.dedup();
            if let Err(e) = ctx.engine.index_series(&shard, partition, keys).await {
                tracing::warn!(shard = id, error = %e, "cannot index the series of dropped points");
            }
        }
    }
}

/// Writes a batch of points that a coordinating node routed to `shard` (a local shard of
/// this node): field types are registered and checked as for `/write`, points whose type
/// conflicts are dropped and counted, the rest made durable. Returns the drops.
pub async fn apply_shard(
    ctx: &Ctx,
    database: &str,
    retention_policy: &str,
    shard_id: u64,
    batch: &[u8],
) -> Result<(u64, Option<String>), Failure> {
    let state = ctx.state.state();
    let Some(node_id) = state.node_id else {
        return Err((503, "data node has not joined a cluster yet".into()));
    };
    if let Some(snapshot) = state.snapshot.as_ref() {
        let rp = snapshot
            .data
            .database(database)
            .and_then(|d| d.retention_policies.get(retention_policy));
        let Some(rp) = rp else {
            return Err((404, format!("database not found: \"{database}\"")));
        };
        // A shard this node's metadata does not know yet is accepted (the coordinator may
        // be ahead); one it knows to be deleted or owned by others is refused.
        for g in &rp.shard_groups {
            if let Some(s) = g.shards.iter().find(|s| s.id == shard_id) {
                if g.is_deleted() {
                    return Err((404, format!("shard {shard_id} is deleted")));
                }
                if !s.owners.contains(&node_id) {
                    return Err((
                        409,
                        format!("shard {shard_id} is not owned by node {node_id}"),
                    ));
                }
            }
        }
    }
    let shard = ShardRef {
        database: Arc::from(database),
        retention_policy: Arc::from(retention_policy),
        id: shard_id,
    };
    // The fields of the batch this core does not know yet, registered in one round trip.
    let mut request: Vec<FieldRequest> = Vec::new();
    let mut bad = None;
    let mut point = 0u32;
    let decoded = tessera_storage::batch::for_each_point(batch, |p| {
        let m = measurement_of(p.series_key);
        // Every field with its point's index (see `FieldRequest`).
        for (name, v) in &p.fields {
            request.push(((m.into(), (*name).into()), v.field_type(), point));
        }
        point = point.saturating_add(1);
        if p.fields.is_empty() && bad.is_none() {
            bad = Some("point without fields".to_string());
        }
    });
    if let Err(e) = decoded {
        return Err((400, format!("bad shard batch: {e}")));
    }
    if let Some(b) = bad {
        return Err((400, b));
    }
    let all_known = request
        .iter()
        .all(|((m, f), _, _)| ctx.engine.known_field(shard_id, m, f).is_some());
    let partitions = match ctx.engine.known_partitions(shard_id) {
        Some(p) if all_known => p,
        _ => match ctx.engine.field_types(&shard, request).await {
            Ok((p, _)) => p,
            // A new shard's first write with one field of two types is refused whole on
            // every owner alike (each creates the shard with it), its series indexed.
            Err(RegisterError::FirstWriteConflict) => {
                let mut keys = Vec::new();
                let _ = tessera_storage::batch::for_each_point(batch, |p| {
                    keys.push((shard_id, p.series_key.to_vec()));
                });
                index_unwritten(ctx, database, retention_policy, keys).await;
                return Err((400, RegisterError::FirstWriteConflict.to_string()));
            }
            Err(e) => return Err((500, e.to_string())),
        },
    };
    let mut unwritten: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut drops = Drops::default();
    let mut out = Batches::default();
    let mut failure = None;
    let mut line = 0usize;
    tessera_storage::batch::for_each_point(batch, |p| {
        let m = measurement_of(p.series_key);
        line += 1;
        let conflict = point_conflict(
            m,
            p.fields.iter().map(|(name, v)| (*name, v.field_type())),
            |name| ctx.engine.known_field(shard_id, m, name),
        );
        if let Some(c) = conflict {
            drops.add(shard_id, (FIELDS, line), || c);
            unwritten.push((shard_id, p.series_key.to_vec()));
            return;
        }
        let fields = p
            .fields
            .iter()
            .map(|(n, v)| (std::borrow::Cow::Borrowed(*n), (*v, None)));
        let r = out.add(
            shard_id,
            database,
            retention_policy,
            partitions,
            p.series_key,
            p.timestamp,
            fields,
        );
        if let Err(e) = r {
            failure.get_or_insert(e);
        }
    })
    .map_err(|e| (400, format!("bad shard batch: {e}")))?;
    if let Some(f) = failure {
        return Err((400, f));
    }
    let writes = out.spawn(ctx);
    index_unwritten(ctx, database, retention_policy, unwritten).await;
    if let Some(e) = Batches::failures(writes).await.remove(&shard_id) {
        return Err((500, e));
    }
    Ok((
        drops.total() as u64,
        drops.first().map(|(reason, _)| reason.to_string()),
    ))
}

/// Points refused by their shards (InfluxDB's `PartialWriteError`), per shard.
#[derive(Default)]
struct Drops {
    /// Per shard, in the order of their first drop: the reason of its first dropped
    /// point (see [`Drops::add`]) and a count.
    shards: Vec<(u64, (u8, usize), String, usize)>,
}

/// A `time` tag key: influxd refuses those points before it looks at any field.
const TIME_TAG: u8 = 0;
/// Refused for its fields (a `time` field alone, a type conflict).
const FIELDS: u8 = 1;
/// Points a failed partition write lost.
const WRITE: u8 = 2;

impl Drops {
    /// Counts a dropped point of `shard`. Each shard reports the reason of its first
    /// dropped point as influxd validates them: points with a `time` tag first, then the
    /// others in request order (`order` = (stage, line)).
    fn add(&mut self, shard: u64, order: (u8, usize), reason: impl FnOnce() -> String) {
        self.add_many(shard, order, reason, 1)
    }

    fn add_many(
        &mut self,
        shard: u64,
        order: (u8, usize),
        reason: impl FnOnce() -> String,
        count: usize,
    ) {
        match self.shards.iter_mut().find(|(s, _, _, _)| *s == shard) {
            Some(e) => {
                e.3 += count;
                if order < e.1 {
                    e.1 = order;
                    e.2 = reason();
                }
            }
            None => self.shards.push((shard, order, reason(), count)),
        }
    }

    fn total(&self) -> usize {
        self.shards.iter().map(|(_, _, _, n)| n).sum()
    }

    /// What influxd answers: one shard's error (the one whose write failed first: a race
    /// between its shards' writes; here the shard whose first dropped point comes first)
    /// with that shard's count.
    fn first(&self) -> Option<(&str, usize)> {
        self.shards
            .iter()
            .min_by_key(|(_, order, _, _)| *order)
            .map(|(_, _, r, n)| (r.as_str(), *n))
    }
}

/// One encoded batch per `(shard, partition)`.
#[derive(Default)]
struct Batches {
    batches: ahash::AHashMap<(u64, u32), (ShardRef, BatchBuilder)>,
}

/// Partition writes started by [`Batches::spawn`], by shard.
type Writes = Vec<(u64, glommio::Task<Result<(), String>>)>;

impl Batches {
    /// Hands every batch to its partition's core; the writes run while the caller goes on.
    fn spawn(self, ctx: &Ctx) -> Writes {
        let mut writes = Vec::new();
        for ((shard_id, part), (shard, b)) in self.batches {
            if b.is_empty() {
                continue;
            }
            let engine = Rc::clone(&ctx.engine);
            let batch = Bytes::from(b.finish());
            writes.push((
                shard_id,
                glommio::spawn_local(async move { engine.write(&shard, part, batch).await }),
            ));
        }
        writes
    }

    /// Waits for the writes; the first failure of each shard that had one.
    async fn failures(writes: Writes) -> ahash::AHashMap<u64, String> {
        let mut failed: ahash::AHashMap<u64, String> = Default::default();
        for (shard_id, w) in writes {
            if let Err(e) = w.await {
                tracing::error!(shard = shard_id, error = %e, "write failed");
                failed.entry(shard_id).or_insert(e);
            }
        }
        failed
    }

    #[allow(clippy::too_many_arguments)]
    fn add<'v>(
        &mut self,
        shard: u64,
        db: &str,
        rp: &str,
        partitions: u32,
        key: &[u8],
        ts: i64,
        fields: impl Iterator<Item = (std::borrow::Cow<'v, [u8]>, (Value<'v>, Option<Vec<u8>>))>,
    ) -> Result<(), String> {
        let part = router::partition_of(key, partitions);
        let (_, b) = self.batches.entry((shard, part)).or_insert_with(|| {
            (
                ShardRef {
                    database: Arc::from(db),
                    retention_policy: Arc::from(rp),
                    id: shard,
                },
                BatchBuilder::new(),
            )
        });
        b.point(key, ts).map_err(|e| e.to_string())?;
        for (name, (v, owned)) in fields {
            let v = match &owned {
                Some(o) => Value::Str(o),
                None => v,
            };
            b.field(&name, v).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// A point waiting for its shard's field registration.
struct Deferred {
    shard: u64,
    /// The point's line among the request's parsed lines.
    line: usize,
    key: Vec<u8>,
    ts: i64,
    fields: Vec<(Vec<u8>, OwnedValue)>,
}

enum OwnedValue {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    Str(Vec<u8>),
}

impl OwnedValue {
    fn from(v: Value<'_>, owned: Option<Vec<u8>>) -> OwnedValue {
        match (v, owned) {
            (_, Some(s)) => OwnedValue::Str(s),
            (Value::Float(f), None) => OwnedValue::Float(f),
            (Value::Integer(i), None) => OwnedValue::Integer(i),
            (Value::Unsigned(u), None) => OwnedValue::Unsigned(u),
            (Value::Boolean(b), None) => OwnedValue::Boolean(b),
            (Value::Str(s), None) => OwnedValue::Str(s.to_vec()),
        }
    }

    fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Float(f) => Value::Float(*f),
            OwnedValue::Integer(i) => Value::Integer(*i),
            OwnedValue::Unsigned(u) => Value::Unsigned(*u),
            OwnedValue::Boolean(b) => Value::Boolean(*b),
            OwnedValue::Str(s) => Value::Str(s),
        }
    }
}

/// A line-protocol value as a storage value; a string with escapes comes unescaped in the
/// second element (the common string without escapes is borrowed).
fn convert<'a>(v: &FieldValue<'a>) -> (Value<'a>, Option<Vec<u8>>) {
    match v {
        FieldValue::Float(f) => (Value::Float(*f), None),
        FieldValue::Integer(i) => (Value::Integer(*i), None),
        FieldValue::Unsigned(u) => (Value::Unsigned(*u), None),
        FieldValue::Boolean(b) => (Value::Boolean(*b), None),
        FieldValue::Str(s) => match s.unescaped() {
            std::borrow::Cow::Borrowed(b) => (Value::Str(b), None),
            std::borrow::Cow::Owned(o) => (Value::Str(&[]), Some(o)),
        },
    }
}

/// influxd's validation of one point: its first field whose type differs from the one
/// the shard holds (`held`) or from the same field earlier in the point.
fn point_conflict<N: AsRef<[u8]>>(
    measurement: &[u8],
    fields: impl Iterator<Item = (N, FieldType)>,
    held: impl Fn(&[u8]) -> Option<FieldType>,
) -> Option<String> {
    let mut given: Vec<(N, FieldType)> = Vec::new();
    for (name, t) in fields {
        let h = held(name.as_ref()).or_else(|| {
            given
                .iter()
                .find(|(n, _)| n.as_ref() == name.as_ref())
                .map(|(_, t)| *t)
        });
        match h {
            Some(h) if h != t => return Some(conflict_text(name.as_ref(), measurement, t, h)),
            Some(_) => {}
            None => given.push((name, t)),
        }
    }
    None
}

fn conflict_text(field: &[u8], measurement: &[u8], given: FieldType, held: FieldType) -> String {
    format!(
        "field type conflict: input field \"{}\" on measurement \"{}\" is type {given}, already exists as type {held}",
        String::from_utf8_lossy(field),
        String::from_utf8_lossy(&unescape_measurement(measurement)),
    )
}

fn unescape_measurement(m: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len());
    let mut i = 0;
    while i < m.len() {
        if m[i] == b'\\' && i + 1 < m.len() && matches!(m[i + 1], b',' | b' ') {
            i += 1;
        }
        out.push(m[i]);
        i += 1;
    }
    out
}

fn precision_truncate(ts: i64, p: Precision) -> i64 {
    let m = p.multiplier();
    ts - ts.rem_euclid(m)
}

/// The body, gunzipped when `Content-Encoding: gzip`.
fn decode_body(req: &Request) -> Result<Bytes, Failure> {
    let gzip = req
        .head
        .header("content-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case(b"gzip"));
    if !gzip {
        return Ok(req.body.clone());
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&req.body[..])
        .take(crate::http::MAX_BODY as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| (400, go_gzip_error(&e)))?;
    if out.len() > crate::http::MAX_BODY {
        return Err((413, "request entity too large".into()));
    }
    Ok(Bytes::from(out))
}

/// A gunzip failure in the words of Go's `compress/gzip`, which influxd answers with.
fn go_gzip_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "unexpected EOF".into()
    } else if text.contains("header") {
        "gzip: invalid header".into()
    } else if text.contains("checksum") {
        "gzip: invalid checksum".into()
    } else if text.contains("deflate") {
        // Go names the input offset, which its decoder alone knows.
        "flate: corrupt input".into()
    } else {
        text
    }
}

/// Creates (or finds) the shard group covering `ts` through the meta plane.
async fn create_group(ctx: &Ctx, db: &str, rp: &str, ts: i64) -> Result<ShardGroup, Failure> {
    let command = Command::CreateShardGroup {
        database: db.to_string(),
        retention_policy: rp.to_string(),
        timestamp: ts,
    };
    match ctx.execute(command).await {
        Ok(resp) => match resp.reply {
            Reply::ShardGroup { group } => Ok(group),
            other => Err((500, format!("unexpected meta reply {other:?}"))),
        },
        Err(ExecuteError::Refused(m)) => Err((500, m)),
        Err(e) => Err((500, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_answer_one_shards_reason_and_count() {
        let mut d = Drops::default();
        d.add(7, (FIELDS, 0), || "a".into());
        d.add(9, (FIELDS, 1), || "b".into());
        d.add(7, (FIELDS, 2), || "c".into());
        d.add_many(9, (WRITE, 0), || "d".into(), 3);
        assert_eq!(d.first(), Some(("a", 2)));
        assert_eq!(d.total(), 6);
        assert_eq!(Drops::default().first(), None);
        // A shard's reason is its first point's as influxd validates them: a `time` tag
        // before anything else, then request order.
        let mut d = Drops::default();
        d.add(7, (FIELDS, 5), || "time field".into());
        d.add(7, (FIELDS, 2), || "conflict".into());
        assert_eq!(d.first(), Some(("conflict", 2)));
        d.add(7, (TIME_TAG, 9), || "time tag".into());
        assert_eq!(d.first(), Some(("time tag", 3)));
    }
}
