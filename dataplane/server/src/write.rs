//! `POST /write`, as InfluxDB 1.x answers it.
//!
//! The body is parsed in place (line protocol borrowed from the request buffer). Each point
//! finds its shard group (created through the meta plane when missing), its shard
//! (`fnv64a(series key) % shards`), its partition and the core that owns the partition.
//! Field types are checked against the shard's registry. Then one encoded batch per
//! partition goes to its core, which appends it to the partition's WAL (fsynced) before
//! answering; the request is acknowledged once every batch is durable.

use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tessera_lineproto::{FieldValue, Precision};
use tessera_meta_types::{Command, Reply, ShardGroup};
use tessera_storage::batch::{measurement_of, BatchBuilder, FieldType, Value};

use crate::engine::ShardRef;
use crate::fields::FieldKey;
use crate::handlers::{error_json, Ctx};
use crate::http::{Request, Response};
use crate::meta_sync::ExecuteError;
use crate::router;

/// Answers a write; see the module doc.
pub async fn write(req: &Request, ctx: &Ctx) -> Response {
    match write_inner(req, ctx).await {
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

/// Per-shard batches being built, keyed by `(shard id, partition)`.
struct Pending {
    shard: ShardRef,
    batches: HashMap<u32, BatchBuilder>,
}

async fn write_inner(req: &Request, ctx: &Ctx) -> Result<Option<String>, Failure> {
    let head = &req.head;
    let db = head.query_decoded("db").unwrap_or_default();
    if db.is_empty() {
        return Err((400, "database is required".into()));
    }
    let state = ctx.state.state();
    let Some(snapshot) = state.snapshot.clone() else {
        return Err((503, "data node has not joined a cluster yet".into()));
    };
    let Some(database) = snapshot.data.database(&db) else {
        return Err((404, format!("database not found: \"{db}\"")));
    };
    let rp_name = head
        .query_decoded("rp")
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| database.default_retention_policy.clone());
    let Some(rp) = database.retention_policies.get(&rp_name) else {
        return Err((500, format!("retention policy not found: {rp_name}")));
    };
    if let Some(c) = head.query_decoded("consistency") {
        if !c.is_empty() && !matches!(c.as_str(), "any" | "one" | "quorum" | "all") {
            return Err((400, "invalid consistency level".into()));
        }
    }
    let precision = match head.query_decoded("precision") {
        None => Precision::Nanosecond,
        Some(p) => Precision::parse(&p).unwrap_or(Precision::Nanosecond),
    };
    let Some(node_id) = state.node_id else {
        return Err((503, "data node has not joined a cluster yet".into()));
    };
    let body = decode_body(req)?;
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
    // Points the shard refuses (InfluxDB's `PartialWriteError`): the first reason and a count.
    let mut drop_reason: Option<String> = None;
    let mut dropped = 0usize;
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut key_buf = Vec::with_capacity(256);

    // Points are grouped per shard first so field types are checked once per shard.
    /// A field: its unescaped name, its value, and the unescaped string when it had escapes.
    type ParsedField<'a> = (std::borrow::Cow<'a, [u8]>, Value<'a>, Option<Vec<u8>>);
    struct ParsedPoint<'a> {
        key: Vec<u8>,
        ts: i64,
        fields: Vec<ParsedField<'a>>,
    }
    let mut by_shard: HashMap<u64, (ShardRef, usize, Vec<ParsedPoint<'_>>)> = HashMap::new();
    let mut parsed = 0usize;
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
        // influxd refuses `time` as a tag key, and as the only field (other fields stay,
        // without it).
        if line.tags.iter().any(|(k, _)| &*k.unescaped() == b"time") {
            dropped += 1;
            drop_reason.get_or_insert_with(|| {
                format!(
                    "invalid tag key: input tag \"time\" on measurement \"{}\" is invalid",
                    String::from_utf8_lossy(&line.measurement.unescaped())
                )
            });
            continue;
        }
        if line.fields.iter().all(|(k, _)| &*k.unescaped() == b"time") {
            dropped += 1;
            drop_reason.get_or_insert_with(|| {
                format!(
                    "invalid field name: input field \"time\" on measurement \"{}\" is invalid",
                    String::from_utf8_lossy(&line.measurement.unescaped())
                )
            });
            continue;
        }
        key_buf.clear();
        tessera_lineproto::series_key(&line, &mut key_buf);
        let group = match groups.iter().find(|g| g.contains(ts)) {
            Some(g) => g.clone(),
            None => {
                let g = create_group(ctx, &db, &rp_name, ts).await?;
                groups.push(g.clone());
                g
            }
        };
        if group.shards.is_empty() {
            return Err((500, format!("shard group {} has no shards", group.id)));
        }
        let shard = &group.shards[router::shard_index(&key_buf, group.shards.len())];
        if !shard.owners.contains(&node_id) {
            return Err((
                500,
                format!(
                    "shard {} is owned by node(s) {:?}; writes to remote shards are not supported yet",
                    shard.id, shard.owners
                ),
            ));
        }
        let entry = by_shard.entry(shard.id).or_insert_with(|| {
            (
                ShardRef {
                    database: Arc::from(db.as_str()),
                    retention_policy: Arc::from(rp_name.as_str()),
                    id: shard.id,
                },
                0,
                Vec::new(),
            )
        });
        let mut fields = Vec::with_capacity(line.fields.len());
        for (name, value) in &line.fields {
            if &*name.unescaped() == b"time" {
                continue;
            }
            let (v, owned) = match value {
                FieldValue::Float(f) => (Value::Float(*f), None),
                FieldValue::Integer(i) => (Value::Integer(*i), None),
                FieldValue::Unsigned(u) => (Value::Unsigned(*u), None),
                FieldValue::Boolean(b) => (Value::Boolean(*b), None),
                FieldValue::Str(s) => match s.unescaped() {
                    std::borrow::Cow::Borrowed(b) => (Value::Str(b), None),
                    std::borrow::Cow::Owned(o) => (Value::Str(&[]), Some(o)),
                },
            };
            fields.push((name.unescaped(), v, owned));
        }
        entry.1 += 1;
        entry.2.push(ParsedPoint {
            key: key_buf.clone(),
            ts,
            fields,
        });
    }

    if parsed == 0 && !parse_errors.is_empty() {
        // Nothing parsed: influxd answers with the parse errors alone, not a partial write.
        return Err((400, parse_errors.join("\n")));
    }
    for (shard_id, (shard, _, pts)) in by_shard {
        // Register or look up every field of the batch with the shard.
        let mut seen: HashMap<(&[u8], &[u8]), FieldType> = HashMap::new();
        for p in &pts {
            let m = measurement_of(&p.key);
            for (name, v, _) in &p.fields {
                seen.entry((m, name.as_ref())).or_insert(v.field_type());
            }
        }
        let request: Vec<(FieldKey, FieldType)> = seen
            .iter()
            .map(|((m, f), t)| (((*m).into(), (*f).into()), *t))
            .collect();
        let (partitions, types) = ctx
            .engine
            .field_types(&shard, request.clone())
            .await
            .map_err(|e| (500, e))?;
        let shard_types: HashMap<(&[u8], &[u8]), FieldType> = request
            .iter()
            .zip(&types)
            .map(|(((m, f), _), t)| ((&**m, &**f), *t))
            .collect();
        let p = pending.entry(shard_id).or_insert_with(|| Pending {
            shard: shard.clone(),
            batches: HashMap::new(),
        });
        'point: for pt in &pts {
            let m = measurement_of(&pt.key);
            for (name, v, _) in &pt.fields {
                let held = shard_types[&(m, name.as_ref())];
                if held != v.field_type() {
                    dropped += 1;
                    if drop_reason.is_none() {
                        drop_reason = Some(format!(
                            "field type conflict: input field \"{}\" on measurement \"{}\" is type {}, already exists as type {}",
                            String::from_utf8_lossy(name),
                            String::from_utf8_lossy(&unescape_measurement(m)),
                            v.field_type(),
                            held
                        ));
                    }
                    continue 'point;
                }
            }
            let part = router::partition_of(&pt.key, partitions);
            let b = p.batches.entry(part).or_default();
            b.point(&pt.key, pt.ts).map_err(|e| (400, e.to_string()))?;
            for (name, v, owned) in &pt.fields {
                let v = match owned {
                    Some(o) => Value::Str(o),
                    None => *v,
                };
                b.field(name, v).map_err(|e| (400, e.to_string()))?;
            }
        }
    }

    // Hand every batch to its partition's core and wait until all are durable.
    let mut writes = Vec::new();
    for (_, p) in pending {
        for (part, b) in p.batches {
            if b.is_empty() {
                continue;
            }
            let engine = Rc::clone(&ctx.engine);
            let shard = p.shard.clone();
            let batch = Bytes::from(b.finish());
            writes.push(glommio::spawn_local(async move {
                engine.write(&shard, part, batch).await
            }));
        }
    }
    let mut failure = None;
    for w in writes {
        if let Err(e) = w.await {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        tracing::error!(error = %e, "write failed");
        return Err((500, e));
    }

    if !parse_errors.is_empty() {
        return Ok(Some(format!(
            "partial write: {} dropped=0",
            parse_errors.join("\n")
        )));
    }
    if let Some(reason) = drop_reason {
        return Ok(Some(format!("partial write: {reason} dropped={dropped}")));
    }
    if dropped_retention > 0 {
        return Ok(Some(format!(
            "partial write: points beyond retention policy dropped={dropped_retention}"
        )));
    }
    Ok(None)
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
        .map_err(|e| (400, e.to_string()))?;
    if out.len() > crate::http::MAX_BODY {
        return Err((413, "request entity too large".into()));
    }
    Ok(Bytes::from(out))
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
