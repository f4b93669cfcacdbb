//! `SELECT` on a data node: sources resolved against the metadata, the shards that hold
//! the time range found, the schema gathered from the cores, the plan run on every core
//! and the answers merged here.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use tessera_influxql::{SelectStatement, Source};
use tessera_meta_types::Snapshot;
use tessera_query::cond::split_time;
use tessera_query::output::Series;
use tessera_query::plan::{plan_select, MeasurementSchema, Schema};
use tessera_query::QueryError;

use crate::engine::Engine;
use crate::fields::ShardFields;

/// Where unqualified names point: the `db` and `rp` parameters.
pub struct Defaults<'a> {
    pub db: &'a str,
    pub rp: &'a str,
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Resolves `(database, retention policy)` of a source.
pub fn resolve_db_rp(
    snap: &Snapshot,
    db: Option<&str>,
    rp: Option<&str>,
    defaults: &Defaults<'_>,
) -> Result<(String, String), QueryError> {
    let db = db.filter(|d| !d.is_empty()).unwrap_or(defaults.db);
    if db.is_empty() {
        return Err(QueryError::DatabaseRequired);
    }
    let d = snap
        .data
        .database(db)
        .ok_or_else(|| QueryError::DatabaseNotFound(db.to_string()))?;
    let rp = rp
        .filter(|r| !r.is_empty())
        .or((!defaults.rp.is_empty()).then_some(defaults.rp))
        .unwrap_or(&d.default_retention_policy);
    if !d.retention_policies.contains_key(rp) {
        return Err(QueryError::RetentionPolicyNotFound(rp.to_string()));
    }
    Ok((db.to_string(), rp.to_string()))
}

/// Shards of `db.rp` whose groups overlap `[min, max]`.
pub fn shards_for(snap: &Snapshot, db: &str, rp: &str, min: i64, max: i64) -> Vec<u64> {
    let Some(r) = snap.data.retention_policy(db, rp) else {
        return Vec::new();
    };
    r.shard_groups
        .iter()
        .filter(|g| !g.is_deleted())
        .filter(|g| {
            (g.start_time as i64) <= max && (g.truncated_at.unwrap_or(g.end_time) as i64) > min
        })
        .flat_map(|g| g.shards.iter().map(|s| s.id))
        .collect()
}

/// Field types of the shards, per measurement (unescaped), from their registries.
pub fn fields_of(
    engine: &Engine,
    db: &str,
    rp: &str,
    shards: &[u64],
) -> BTreeMap<String, BTreeMap<String, tessera_storage::batch::FieldType>> {
    let mut out: BTreeMap<String, BTreeMap<String, _>> = BTreeMap::new();
    for id in shards {
        let dir = engine.cfg.data_dir.join(db).join(rp).join(id.to_string());
        if !dir.join("fields.log").exists() {
            continue;
        }
        let Ok(reg) = ShardFields::load(&dir) else {
            continue;
        };
        for ((m, f), t) in reg.all() {
            out.entry(tessera_query::exec::unescape(m))
                .or_default()
                .entry(String::from_utf8_lossy(f).into_owned())
                .or_insert(*t);
        }
    }
    out
}

/// Runs a `SELECT` and returns its series.
pub async fn select(
    engine: &Rc<Engine>,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
) -> Result<Vec<Series>, QueryError> {
    let now = now_ns();
    let (_, range) = match &stmt.condition {
        Some(c) => split_time(c, now)?,
        None => (None, Default::default()),
    };
    // Sources grouped by (db, rp), each group planned and run on its own.
    let mut by_rp: BTreeMap<(String, String), Vec<&tessera_influxql::Measurement>> =
        BTreeMap::new();
    for s in &stmt.sources {
        match s {
            Source::Measurement(m) => {
                let key = resolve_db_rp(
                    snap,
                    m.database.as_deref(),
                    m.retention_policy.as_deref(),
                    defaults,
                )?;
                by_rp.entry(key).or_default().push(m);
            }
            Source::Subquery(_) => {
                return Err(QueryError::msg("subqueries are not supported yet"));
            }
        }
    }
    let mut all = Vec::new();
    for ((db, rp), ms) in by_rp {
        let max = if range.max == tessera_query::cond::MAX_TIME && !stmt.dimensions.is_empty() {
            now
        } else {
            range.max
        };
        let shards = shards_for(snap, &db, &rp, range.min, max);
        if shards.is_empty() {
            continue;
        }
        let has_regex = ms.iter().any(|m| m.regex.is_some());
        let tags = tessera_query_tags(engine, &ms, has_regex, &shards).await?;
        let mut names: Vec<String> = Vec::new();
        for m in &ms {
            if let Some(n) = &m.name {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
            if let Some(re) = &m.regex {
                let re = tessera_query::cond::compile_regex(&re.0)?;
                for n in tags.keys() {
                    if re.is_match(n) && !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
        }
        names.sort();
        let fields = fields_of(engine, &db, &rp, &shards);
        let mut schema: Schema = BTreeMap::new();
        for n in &names {
            schema.insert(
                n.clone(),
                MeasurementSchema {
                    fields: fields.get(n).cloned().unwrap_or_default(),
                    tags: tags.get(n).cloned().unwrap_or_default(),
                },
            );
        }
        let plan = Arc::new(plan_select(stmt, names, &schema, now)?);
        let partial = crate::scatter::select(engine, Arc::clone(&plan), shards).await?;
        all.extend(tessera_query::finish::finish(&plan, partial));
    }
    Ok(all)
}

async fn tessera_query_tags(
    engine: &Rc<Engine>,
    ms: &[&tessera_influxql::Measurement],
    all: bool,
    shards: &[u64],
) -> Result<BTreeMap<String, std::collections::BTreeSet<String>>, QueryError> {
    let names = if all {
        None
    } else {
        Some(ms.iter().filter_map(|m| m.name.clone()).collect())
    };
    crate::scatter::tags(engine, names, shards.to_vec()).await
}
