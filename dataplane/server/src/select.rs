//! `SELECT` on a data node: sources resolved against the metadata, the shards that hold
//! the time range found, the schema gathered from the cores, the plan run on every core
//! and the answers merged here.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use tessera_influxql::{SelectStatement, Source};
use tessera_meta_types::Snapshot;
use tessera_query::cond::split_statement_time;
use tessera_query::output::Series;
use tessera_query::plan::{plan_select, Schema};
use tessera_query::QueryError;

use crate::cluster_query;
use crate::engine::Engine;
use crate::fields::ShardFields;
use crate::handlers::Ctx;

/// `[cluster] max-select-point`, `max-select-series`, `max-select-buckets` (0: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SelectLimits {
    pub points: u64,
    pub series: u64,
    pub buckets: u64,
    /// `chunked-slice-points`: points a streamed SELECT reads at a time (0: all at once).
    pub slice_points: u64,
}

/// Where unqualified names point: the `db` and `rp` parameters.
pub struct Defaults<'a> {
    pub db: &'a str,
    pub rp: &'a str,
    pub limits: SelectLimits,
    /// Set by `KILL QUERY`.
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
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
    let db = resolve_db(snap, db, defaults)?;
    let d = snap.data.database(&db).expect("resolved above");
    let rp = rp
        .filter(|r| !r.is_empty())
        .or((!defaults.rp.is_empty()).then_some(defaults.rp))
        .unwrap_or(&d.default_retention_policy);
    if !d.retention_policies.contains_key(rp) {
        return Err(QueryError::RetentionPolicyNotFound(rp.to_string()));
    }
    Ok((db.clone(), rp.to_string()))
}

/// Resolves the database of a source (or the request's `db`), which must exist.
pub fn resolve_db(
    snap: &Snapshot,
    db: Option<&str>,
    defaults: &Defaults<'_>,
) -> Result<String, QueryError> {
    let db = db.filter(|d| !d.is_empty()).unwrap_or(defaults.db);
    if db.is_empty() {
        return Err(QueryError::DatabaseRequired);
    }
    if snap.data.database(db).is_none() {
        return Err(QueryError::DatabaseNotFound(db.to_string()));
    }
    Ok(db.to_string())
}

/// Shards of `db.rp` whose groups overlap `[min, max]`.
pub fn shards_for(snap: &Snapshot, db: &str, rp: &str, min: i64, max: i64) -> Vec<u64> {
    let Some(r) = snap.data.retention_policy(db, rp) else {
        return Vec::new();
    };
    r.shard_groups
        .iter()
        .filter(|g| group_in_range(g, min, max))
        .flat_map(|g| g.shards.iter().map(|s| s.id))
        .collect()
}

/// The names of a database's retention policies.
fn db_retention_policies(snap: &Snapshot, db: &str) -> Vec<String> {
    snap.data
        .database(db)
        .map(|d| d.retention_policies.keys().cloned().collect())
        .unwrap_or_default()
}

/// Whether a live shard group holds times within `[min, max]` (up to where it was
/// truncated).
pub fn group_in_range(g: &tessera_meta_types::ShardGroup, min: i64, max: i64) -> bool {
    !g.is_deleted() && g.start_time <= max && g.truncated_at.unwrap_or(g.end_time) > min
}

/// Every type each field has in the shards (a field can have a different type in each
/// shard group), per measurement (unescaped), from their registries.
pub fn field_types_of(
    engine: &Engine,
    db: &str,
    rp: &str,
    shards: &[u64],
) -> crate::cluster_query::FieldTypes {
    let mut out = crate::cluster_query::FieldTypes::new();
    for id in shards {
        let dir = engine.cfg.data_dir.join(db).join(rp).join(id.to_string());
        let Some(reg) = registry(&dir) else {
            continue;
        };
        for (m, fs) in reg.iter() {
            let e = out.entry(m.clone()).or_default();
            for (f, t) in fs {
                e.entry(f.clone()).or_default().insert(*t);
            }
        }
    }
    out
}

/// Records that field `name` has type `t` in some shard. A field written with different
/// types in different shards is read as influxd reads it: as the type that comes first in
/// influxql's order (float, integer, string, boolean, unsigned); values of the other
/// numeric types are converted, the others are not read.
pub fn keep_field_type(
    fields: &mut BTreeMap<String, tessera_storage::batch::FieldType>,
    name: &str,
    t: tessera_storage::batch::FieldType,
) {
    use tessera_query::exec::type_rank;
    match fields.get_mut(name) {
        Some(old) if type_rank(t) < type_rank(*old) => *old = t,
        Some(_) => {}
        None => {
            fields.insert(name.to_string(), t);
        }
    }
}

type Registry = BTreeMap<String, BTreeMap<String, tessera_storage::batch::FieldType>>;

/// A field registry as a core's queries read it: the epoch and file length it was read
/// at, and its fields.
type CachedRegistry = (u64, u64, Rc<Registry>);

thread_local! {
    /// Field registries read by this core's queries, by path.
    static REGISTRIES: std::cell::RefCell<std::collections::HashMap<std::path::PathBuf, CachedRegistry>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
    /// Bumped whenever a field registry of this node grew or a shard was deleted: until
    /// then every registry this core read is current, without looking at the file.
    static FIELDS_EPOCH: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Some field registry of this node changed: the next query on this core reads them
/// again (those whose file grew).
pub fn fields_changed() {
    FIELDS_EPOCH.with(|e| e.set(e.get() + 1));
}

fn registry(dir: &std::path::Path) -> Option<Rc<Registry>> {
    let path = dir.join("fields.log");
    let epoch = FIELDS_EPOCH.with(std::cell::Cell::get);
    let cached = REGISTRIES.with(|c| c.borrow().get(&path).cloned());
    if let Some((e, _, r)) = &cached {
        if *e == epoch {
            return Some(Rc::clone(r));
        }
    }
    // The registry only grows: a file of the same length holds the same fields.
    let len = std::fs::metadata(&path).ok()?.len();
    if let Some((_, l, r)) = cached.filter(|(_, l, _)| *l == len) {
        REGISTRIES.with(|c| c.borrow_mut().insert(path, (epoch, l, Rc::clone(&r))));
        return Some(r);
    }
    let reg = ShardFields::load(dir).ok()?;
    let mut out: Registry = BTreeMap::new();
    for ((m, f), t) in reg.all() {
        out.entry(tessera_query::exec::unescape(m))
            .or_default()
            .entry(String::from_utf8_lossy(f).into_owned())
            .or_insert(*t);
    }
    let out = Rc::new(out);
    REGISTRIES.with(|c| c.borrow_mut().insert(path, (epoch, len, Rc::clone(&out))));
    Some(out)
}

/// One (database, retention policy) of a statement's sources: where its shards are read
/// and which measurements.
struct Group {
    db: String,
    rp: String,
    owners: std::collections::HashMap<u64, Vec<tessera_meta_types::NodeId>>,
    placement: cluster_query::Placement,
    names: Vec<String>,
}

/// Runs a `SELECT` and returns its series.
pub async fn select(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
) -> Result<Vec<Series>, QueryError> {
    select_boxed(ctx, snap, stmt, defaults, 0, None).await
}

/// Runs a `SELECT` for a `chunked=true` answer, handing its series to `chunks` as they
/// are read. A raw statement over one retention policy whose answer would pass
/// `chunked-slice-points` reads its range in time slices, measurement by measurement,
/// each slice sent before the next is read; any other statement is answered whole.
pub async fn select_streamed(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    chunks: &mut crate::chunked::Chunker,
    out: &mut crate::chunked::Emitter,
) -> Result<(), QueryError> {
    let p = match prepare(ctx, snap, stmt, defaults, 0, None).await? {
        Planned::Done(series) => {
            for s in series {
                chunks.series(out, s).await?;
            }
            return Ok(());
        }
        Planned::Ready(p) => p,
    };
    let limits = defaults.limits;
    // LIMIT and OFFSET are counted across the parts (a small LIMIT reads little anyway:
    // see `SelectPlan::raw_row_cap`). OFFSET alone reads the first rows of each shard
    // (`SelectPlan::shard_take`), so it is read whole.
    let (limit, offset) = (stmt.limit, stmt.offset);
    let counted = (limit == 0 && offset == 0)
        || (limit > 0 && limit.saturating_add(offset) > limits.slice_points);
    let sliceable = limits.slice_points > 0
        && limits.series == 0
        && counted
        && stmt.slimit == 0
        && stmt.soffset == 0
        && p.groups.len() == 1
        && !p.plan.aggregate
        && !p.plan.raw_transforms
        && !p.plan.fields.is_empty()
        && !p
            .plan
            .outputs
            .iter()
            .any(tessera_query::plan::OExpr::has_transform);
    if !sliceable {
        for s in read_whole(ctx, snap, stmt, defaults, p).await? {
            chunks.series(out, s).await?;
        }
        return Ok(());
    }
    // The parts read one after the other, in the answer's order: ungrouped, each
    // measurement (one series each, in name order); grouped by tags, runs of the
    // groups (tag sets) of one measurement, as the count of each group fills a slice.
    // Each part is read whole, or in time slices when it holds more than a slice.
    let target = limits.slice_points;
    let mut parts: Vec<ReadPart> = Vec::new();
    if p.plan.group_tags.is_empty() {
        for name in &p.groups[0].names {
            parts.push(ReadPart {
                measurement: name.clone(),
                keys: None,
                points: u64::MAX,
            });
        }
    } else {
        let groups = group_counts(ctx, snap, stmt, defaults, &p).await?;
        if groups.iter().map(|g| g.points).sum::<u64>() <= target {
            for s in read_whole(ctx, snap, stmt, defaults, p).await? {
                chunks.series(out, s).await?;
            }
            return Ok(());
        }
        // Runs of consecutive groups of one measurement, up to a slice's points each.
        let mut from = 0;
        while from < groups.len() {
            let mut to = from + 1;
            let mut held = groups[from].points;
            while to < groups.len()
                && groups[to].measurement == groups[from].measurement
                && held + groups[to].points <= target
            {
                held += groups[to].points;
                to += 1;
            }
            parts.push(ReadPart {
                measurement: groups[from].measurement.clone(),
                keys: Some(any_tag_set(
                    groups[from..to].iter().map(|g| g.tags.as_slice()),
                )),
                points: held,
            });
            from = to;
        }
    }
    if p.plan.descending {
        parts.reverse();
    }
    let (db, rp) = (p.groups[0].db.clone(), p.groups[0].rp.clone());
    let mut points = 0u64;
    // Rows of each output series (name, tags) so far, for LIMIT and OFFSET.
    let mut counted_rows: std::collections::HashMap<(String, Vec<(String, String)>), u64> =
        std::collections::HashMap::new();
    for ReadPart {
        measurement: name,
        keys,
        points: held,
    } in parts
    {
        let mut slices = if held > target {
            time_slices(ctx, snap, stmt, defaults, &p, &name, keys.as_ref()).await?
        } else {
            vec![(p.plan.range.min, p.plan.range.max)]
        };
        tracing::debug!(measurement = %name, slices = slices.len(), "chunked read in parts");
        if p.plan.descending {
            slices.reverse();
        }
        let mut plan = p.plan.clone();
        plan.limit = 0;
        plan.offset = 0;
        if let Some(keys) = &keys {
            plan.condition = Some(match plan.condition.take() {
                Some(c) => and_expr(paren(c), paren(keys.clone())),
                None => keys.clone(),
            });
        }
        for (min, max) in slices {
            plan.range.min = min;
            plan.range.max = max;
            let only: std::collections::HashSet<u64> =
                shards_for(snap, &db, &rp, min, max).into_iter().collect();
            if only.is_empty() {
                continue;
            }
            let only = Only {
                shards: &only,
                measurement: &name,
            };
            let total = execute(ctx, snap, stmt, defaults, &p, &plan, Some(only)).await?;
            points += total.points;
            check_limits(limits, 0, points)?;
            for mut s in tessera_query::finish::finish(&plan, total)? {
                if limit > 0 || offset > 0 {
                    let seen = counted_rows
                        .entry((s.name.clone(), s.tags.clone()))
                        .or_insert(0);
                    let n = s.values.len() as u64;
                    let from = offset.saturating_sub(*seen).min(n);
                    let to = match limit {
                        0 => n,
                        l => offset.saturating_add(l).saturating_sub(*seen).min(n),
                    };
                    *seen += n;
                    if from >= to {
                        continue;
                    }
                    // (Both within the series' rows, which fit in memory.)
                    s.values.truncate(to as usize);
                    s.values.drain(..from as usize);
                }
                chunks.piece(out, s).await?;
            }
            if defaults.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(QueryError::Killed);
            }
            // Ungrouped, the measurement is one series: done once LIMIT is reached.
            if keys.is_none()
                && limit > 0
                && counted_rows
                    .get(&(name.clone(), Vec::new()))
                    .is_some_and(|seen| *seen >= offset.saturating_add(limit))
            {
                break;
            }
        }
    }
    Ok(())
}

fn paren(e: tessera_influxql::Expr) -> tessera_influxql::Expr {
    tessera_influxql::Expr::Paren(Box::new(e))
}

fn and_expr(a: tessera_influxql::Expr, b: tessera_influxql::Expr) -> tessera_influxql::Expr {
    tessera_influxql::Expr::Binary {
        op: tessera_influxql::BinaryOp::And,
        lhs: Box::new(a),
        rhs: Box::new(b),
    }
}

/// `(k1 = 'v1' AND k2 = 'v2') OR …`: the series of these tag sets (an empty value is a
/// series without the tag, as in influxd).
fn any_tag_set<'a>(sets: impl Iterator<Item = &'a [(String, String)]>) -> tessera_influxql::Expr {
    use tessera_influxql::{BinaryOp, DataType, Expr};
    let mut any: Option<Expr> = None;
    for set in sets {
        let mut all: Option<Expr> = None;
        for (k, v) in set {
            let eq = Expr::Binary {
                op: BinaryOp::Eq,
                lhs: Box::new(Expr::VarRef {
                    name: k.clone(),
                    data_type: DataType::Tag,
                }),
                rhs: Box::new(Expr::String(v.clone())),
            };
            all = Some(match all {
                Some(a) => and_expr(a, eq),
                None => eq,
            });
        }
        let all = all.unwrap_or(Expr::Boolean(true));
        any = Some(match any {
            Some(a) => Expr::Binary {
                op: BinaryOp::Or,
                lhs: Box::new(a),
                rhs: Box::new(paren(all)),
            },
            None => paren(all),
        });
    }
    any.unwrap_or(Expr::Boolean(false))
}

/// What a streamed SELECT reads at once (in time slices when it holds more than a
/// slice's points).
struct ReadPart {
    measurement: String,
    /// The tag sets read (all when `None`).
    keys: Option<tessera_influxql::Expr>,
    points: u64,
}

/// One group (output series) of a statement grouped by tags, and its points.
struct GroupCount {
    measurement: String,
    tags: Vec<(String, String)>,
    /// Its most counted field's points: the fewest rows they make.
    points: u64,
}

/// The statement's groups in the answer's (ascending) order.
async fn group_counts(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    p: &Prepared,
) -> Result<Vec<GroupCount>, QueryError> {
    let g = &p.groups[0];
    let count = SelectStatement {
        fields: count_fields(&p.plan.fields),
        sources: g
            .names
            .iter()
            .map(|n| measurement_source(&g.db, &g.rp, n))
            .collect(),
        condition: stmt.condition.clone(),
        dimensions: stmt.dimensions.clone(),
        ..Default::default()
    };
    let counted = select_boxed(ctx, snap, &count, defaults, 0, None).await?;
    Ok(counted
        .into_iter()
        .map(|s| GroupCount {
            points: s
                .values
                .iter()
                .map(|row| most_counted(row))
                .max()
                .unwrap_or(0),
            measurement: s.name,
            tags: s.tags,
        })
        .collect())
}

/// `count(f)` of each field, for the counts that cut an answer into parts.
fn count_fields(fields: &[String]) -> Vec<tessera_influxql::Field> {
    use tessera_influxql::{DataType, Expr, Field};
    fields
        .iter()
        .map(|f| Field {
            expr: Expr::Call {
                name: "count".into(),
                args: vec![Expr::VarRef {
                    name: f.clone(),
                    data_type: DataType::Field,
                }],
            },
            alias: None,
        })
        .collect()
}

fn measurement_source(db: &str, rp: &str, name: &str) -> Source {
    Source::Measurement(tessera_influxql::Measurement {
        database: Some(db.to_string()),
        retention_policy: Some(rp.to_string()),
        name: Some(name.to_string()),
        regex: None,
    })
}

/// The largest count of a `[time, count…]` row: the fewest rows the points make.
fn most_counted(row: &[tessera_query::value::Value]) -> u64 {
    row.iter()
        .skip(1)
        .filter_map(|v| match v {
            tessera_query::value::Value::Integer(n) => u64::try_from(*n).ok(),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Windows a count of the data is taken in, to cut a range into slices.
const SLICE_WINDOWS: i64 = 1024;

/// `[min, max]` slices of the statement's range, each holding about `slice_points`
/// points of measurement `name`. A window of the count that holds more is counted again
/// in finer windows, down to single timestamps. One slice when the whole range holds no
/// more than that.
async fn time_slices(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    p: &Prepared,
    name: &str,
    keys: Option<&tessera_influxql::Expr>,
) -> Result<Vec<(i64, i64)>, QueryError> {
    let range = p.plan.range;
    let whole = vec![(range.min, range.max)];
    let g = &p.groups[0];
    // Where the data can be: the shard groups in the range.
    let Some(r) = snap.data.retention_policy(&g.db, &g.rp) else {
        return Ok(whole);
    };
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for sg in r
        .shard_groups
        .iter()
        .filter(|sg| group_in_range(sg, range.min, range.max))
    {
        lo = lo.min(sg.start_time);
        hi = hi.max(sg.truncated_at.unwrap_or(sg.end_time).saturating_sub(1));
    }
    let (lo, hi) = (lo.max(range.min), hi.min(range.max));
    if lo >= hi {
        return Ok(whole);
    }
    let target = defaults.limits.slice_points;
    let count = WindowCount {
        ctx,
        snap,
        stmt,
        defaults,
        fields: &p.plan.fields,
        db: &g.db,
        rp: &g.rp,
        name,
        keys,
    };
    let mut windows = count.windows(lo, hi).await?;
    if windows.iter().map(|w| w.2).sum::<u64>() <= target {
        return Ok(whole);
    }
    loop {
        let mut finer = Vec::with_capacity(windows.len());
        let mut refined = false;
        for &(start, every, n) in &windows {
            if n > target && every > 1 {
                let end = start.saturating_add(every - 1);
                finer.extend(count.windows(start.max(lo), end.min(hi)).await?);
                refined = true;
            } else {
                finer.push((start, every, n));
            }
        }
        windows = finer;
        if !refined {
            break;
        }
    }
    let per_window: Vec<(i64, u64)> = windows.iter().map(|&(t, _, n)| (t, n)).collect();
    Ok(cut_slices(range.min, range.max, &per_window, target))
}

/// Counts a measurement's points per time window (for [`time_slices`]).
struct WindowCount<'a> {
    ctx: &'a Ctx,
    snap: &'a Snapshot,
    stmt: &'a SelectStatement,
    defaults: &'a Defaults<'a>,
    fields: &'a [String],
    db: &'a str,
    rp: &'a str,
    name: &'a str,
    /// The tag sets counted (all when `None`).
    keys: Option<&'a tessera_influxql::Expr>,
}

impl WindowCount<'_> {
    /// `(window start, window width, points)` of the windows of `[lo, hi]` that hold
    /// points (about `SLICE_WINDOWS` of them); a window's points are those of its most
    /// counted field, the fewest rows it can hold.
    async fn windows(&self, lo: i64, hi: i64) -> Result<Vec<(i64, i64, u64)>, QueryError> {
        use tessera_influxql::{BinaryOp, DataType, Dimension, Expr};
        use tessera_query::value::Value;
        let mut windows = SLICE_WINDOWS;
        if self.defaults.limits.buckets > 0 {
            windows = windows.min(self.defaults.limits.buckets as i64);
        }
        let span = (hi as i128 - lo as i128 + 1).max(1) as u128;
        let every = i64::try_from(span.div_ceil(windows.max(1) as u128))
            .unwrap_or(i64::MAX)
            .max(1);
        let time = |op: BinaryOp, t: i64| Expr::Binary {
            op,
            lhs: Box::new(Expr::VarRef {
                name: "time".into(),
                data_type: DataType::Unknown,
            }),
            rhs: Box::new(Expr::Time(t)),
        };
        let mut condition = and_expr(time(BinaryOp::Gte, lo), time(BinaryOp::Lte, hi));
        if let Some(keys) = self.keys {
            condition = and_expr(paren(keys.clone()), condition);
        }
        if let Some(c) = &self.stmt.condition {
            condition = and_expr(paren(c.clone()), condition);
        }
        let count = SelectStatement {
            fields: count_fields(self.fields),
            sources: vec![measurement_source(self.db, self.rp, self.name)],
            condition: Some(condition),
            dimensions: vec![Dimension {
                expr: Expr::Call {
                    name: "time".into(),
                    args: vec![Expr::Duration(every)],
                },
            }],
            fill: tessera_influxql::Fill::None,
            ..Default::default()
        };
        let counted = select_boxed(self.ctx, self.snap, &count, self.defaults, 0, None).await?;
        let mut out = Vec::new();
        for s in &counted {
            for row in &s.values {
                if let Some(Value::Time(t)) = row.first() {
                    out.push((*t, every, most_counted(row)));
                }
            }
        }
        Ok(out)
    }
}

/// Cuts `[min, max]` at window starts into slices of about `target` points, from the
/// points counted per window (`(start, points)`, ascending).
fn cut_slices(min: i64, max: i64, per_window: &[(i64, u64)], target: u64) -> Vec<(i64, i64)> {
    let total: u64 = per_window.iter().map(|w| w.1).sum();
    if total <= target {
        return vec![(min, max)];
    }
    let mut out = Vec::new();
    let mut from = min;
    let mut held = 0u64;
    for &(start, n) in per_window {
        if held > 0 && held + n > target && start > from {
            out.push((from, start - 1));
            from = start;
            held = 0;
        }
        held += n;
    }
    out.push((from, max));
    out
}

/// `EXPLAIN` (`analyze` false) or `EXPLAIN ANALYZE` of a SELECT. A statement reading
/// subqueries is explained by its first subquery (the iterators influxd creates are the
/// inner statement's).
pub async fn explain(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    analyze: bool,
) -> Result<Vec<Series>, QueryError> {
    let mut stmt = stmt.clone();
    while let Some(inner) = stmt.sources.iter().find_map(|s| match s {
        Source::Subquery(inner) => Some((**inner).clone()),
        _ => None,
    }) {
        let mut inner = inner;
        inherit_time(&mut inner, &time_terms(stmt.condition.as_ref()));
        stmt = inner;
    }
    select_boxed(
        ctx,
        snap,
        &stmt,
        defaults,
        if analyze { 2 } else { 1 },
        None,
    )
    .await
}

/// What an inner statement (a subquery) is told and tells: the outer statement's time
/// range and GROUP BY time interval (see `SelectPlan::as_inner`), and, filled in, the
/// names of its columns that answer tag values and the fields it reads that are integers.
#[derive(Default)]
struct InnerColumns {
    outer: tessera_query::cond::TimeRange,
    every: Option<i64>,
    tags: std::cell::RefCell<std::collections::BTreeSet<String>>,
    integer_fields: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// The types of the fields the inner statement reads.
    field_types: std::cell::RefCell<BTreeMap<String, tessera_storage::batch::FieldType>>,
    /// The outer statement's GROUP BY tags (`SelectPlan::merge_tags`).
    merge_tags: Option<Vec<String>>,
}

fn select_boxed<'a>(
    ctx: &'a Ctx,
    snap: &'a Snapshot,
    stmt: &'a SelectStatement,
    defaults: &'a Defaults<'a>,
    explain: u8,
    inner: Option<&'a InnerColumns>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Series>, QueryError>> + 'a>> {
    Box::pin(select_inner(ctx, snap, stmt, defaults, explain, inner))
}

async fn select_inner(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    explain: u8,
    inner: Option<&InnerColumns>,
) -> Result<Vec<Series>, QueryError> {
    let p = match prepare(ctx, snap, stmt, defaults, explain, inner).await? {
        Planned::Done(series) => return Ok(series),
        Planned::Ready(p) => p,
    };
    read_whole(ctx, snap, stmt, defaults, p).await
}

/// Reads a planned statement in one go: its answer.
async fn read_whole(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    p: Box<Prepared>,
) -> Result<Vec<Series>, QueryError> {
    let total = execute(ctx, snap, stmt, defaults, &p, &p.plan, None).await?;
    check_limits(defaults.limits, total.series, total.points)?;
    answer(snap, stmt, defaults, *p, total)
}

/// A statement planned: where each of its (db, rp) groups is read, its schema and plan.
struct Prepared {
    groups: Vec<Group>,
    schema: Schema,
    all_names: Vec<String>,
    plan: tessera_query::plan::SelectPlan,
    shards_in_range: BTreeMap<String, usize>,
    bare_condition: Option<tessera_influxql::Expr>,
    started: std::time::Instant,
    planned: std::time::Duration,
}

enum Planned {
    /// Answered while planning (nothing to read, or a statement over subqueries).
    Done(Vec<Series>),
    Ready(Box<Prepared>),
}

async fn prepare(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    explain: u8,
    inner: Option<&InnerColumns>,
) -> Result<Planned, QueryError> {
    let started = std::time::Instant::now();
    let now = now_ns();
    let (bare_condition, range) = split_statement_time(stmt, now)?;
    // Sources grouped by (db, rp), each group planned and run on its own.
    let mut by_rp: BTreeMap<(String, String), Vec<&tessera_influxql::Measurement>> =
        BTreeMap::new();
    if stmt
        .sources
        .iter()
        .any(|s| matches!(s, Source::Subquery(_)))
    {
        return select_subqueries(ctx, snap, stmt, defaults, now)
            .await
            .map(Planned::Done);
    }
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
    // Every (db, rp) group is read with one plan: same-named measurements of several
    // sources merge into one output series, as in influxd. Each shard is read by one of
    // its owners: this node when it owns it, another data node otherwise.
    let me = ctx.state.state().node_id.unwrap_or(0);
    let mut groups: Vec<Group> = Vec::new();
    let mut schema: Schema = BTreeMap::new();
    let mut shards_in_range: BTreeMap<String, usize> = BTreeMap::new();
    let mut read = tessera_query::plan::shard_range(stmt, range);
    if let Some(every) = inner.and_then(|c| c.every) {
        // A raw transformation of an inner statement reads back by the inherited
        // interval (`SelectPlan::as_inner`).
        if tessera_query::plan::statement_reads_back(stmt) && group_interval(stmt, now).is_none() {
            read.min = read.min.saturating_sub(every);
            read.max = read.max.saturating_add(every);
        }
    }
    // influxd ends an unbounded range at now only under GROUP BY time (its `compile`);
    // grouped by tags alone it reads to the last time.
    if read.max == tessera_query::cond::MAX_TIME && group_interval(stmt, now).is_some() {
        read.max = now;
    }
    for ((db, rp), ms) in by_rp {
        let shards = shards_for(snap, &db, &rp, read.min, read.max);
        if shards.is_empty() {
            continue;
        }
        let owners = cluster_query::owners(snap, &db, &rp);
        let placement = cluster_query::place(me, &owners, &shards, &Default::default(), None)?;
        let has_regex = ms.iter().any(|m| m.regex.is_some());
        let need_tags = has_regex || tessera_query::plan::needs_tag_keys(stmt);
        let tag_names = (!has_regex).then(|| ms.iter().filter_map(|m| m.name.clone()).collect());
        let (fields, mut tags) = cluster_query::schema(
            ctx,
            &db,
            &rp,
            &placement,
            &owners,
            tag_names.clone(),
            need_tags,
        )
        .await?;
        if need_tags {
            // influxd 1.6's in-memory index is one per database: wildcards and regexes
            // see the tag keys (and measurement names) of every retention policy and time
            // range, while fields come from the shards read.
            for other in db_retention_policies(snap, &db) {
                let mut extra = shards_for(
                    snap,
                    &db,
                    &other,
                    tessera_query::cond::MIN_TIME,
                    tessera_query::cond::MAX_TIME,
                );
                if other == rp {
                    extra.retain(|s| !shards.contains(s));
                }
                if extra.is_empty() {
                    continue;
                }
                // Best effort: these shards add column names only, so an owner that cannot
                // be reached costs those names, not the query.
                let owners = cluster_query::owners(snap, &db, &other);
                let Ok(placement) =
                    cluster_query::place(me, &owners, &extra, &Default::default(), None)
                else {
                    continue;
                };
                match cluster_query::schema(
                    ctx,
                    &db,
                    &other,
                    &placement,
                    &owners,
                    tag_names.clone(),
                    true,
                )
                .await
                {
                    Ok((_, more)) => {
                        for (m, t) in more {
                            tags.entry(m).or_default().extend(t);
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "tag keys of other shards not read"),
                }
            }
        }
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
        for n in &names {
            let e = schema.entry(n.clone()).or_default();
            if let Some(f) = fields.get(n) {
                for (k, ts) in f {
                    for t in ts {
                        keep_field_type(&mut e.fields, k, *t);
                    }
                }
            }
            if let Some(t) = tags.get(n) {
                e.tags.extend(t.iter().cloned());
            }
            e.tags_unknown |= !need_tags;
        }
        for n in &names {
            *shards_in_range.entry(n.clone()).or_default() += shards.len();
        }
        groups.push(Group {
            db,
            rp,
            owners,
            placement,
            names,
        });
    }
    if groups.is_empty() && explain == 0 {
        return Ok(Planned::Done(Vec::new()));
    }
    let all_names: Vec<String> = schema.keys().cloned().collect();
    let mut plan = plan_select(stmt, all_names.clone(), &schema, now)?;
    plan.explain = explain;
    if let Some(cols) = inner {
        plan.as_inner(cols.outer, cols.every);
        plan.merge_tags = cols.merge_tags.clone();
        cols.tags
            .borrow_mut()
            .extend(plan.tag_columns.iter().cloned());
        cols.integer_fields.borrow_mut().extend(
            plan.fields
                .iter()
                .zip(&plan.field_types)
                .filter(|(_, t)| *t == &Some(tessera_storage::batch::FieldType::Integer))
                .map(|(f, _)| f.clone()),
        );
        cols.field_types.borrow_mut().extend(
            plan.fields
                .iter()
                .zip(&plan.field_types)
                .filter_map(|(f, t)| t.map(|t| (f.clone(), t))),
        );
    }
    if plan.unreadable && explain == 0 {
        return Ok(Planned::Done(Vec::new()));
    }
    let planned = started.elapsed();
    let limits = defaults.limits;
    if let (Some(iv), true, true) = (plan.interval, limits.buckets > 0, plan.range.has_min()) {
        let first = plan.window(plan.range.min).0;
        let last = plan.window(plan.range.max).0;
        let n = ((last - first) / iv.every + 1) as u64;
        if n > limits.buckets {
            return Err(QueryError::MaxSelectBuckets(n, limits.buckets));
        }
    }
    Ok(Planned::Ready(Box::new(Prepared {
        groups,
        schema,
        all_names,
        plan,
        shards_in_range,
        bare_condition,
        started,
        planned,
    })))
}

/// `max-select-series` and `max-select-point` (influxd checks the series when it plans
/// the iterators, the points as it reads).
fn check_limits(limits: SelectLimits, series: u64, points: u64) -> Result<(), QueryError> {
    if limits.series > 0 && series > limits.series {
        return Err(QueryError::MaxSelectSeries(series, limits.series));
    }
    if limits.points > 0 && points > limits.points {
        return Err(QueryError::MaxSelectPoint(points, limits.points));
    }
    Ok(())
}

/// A part of what a plan reads: some of its shards, one of its measurements.
struct Only<'a> {
    shards: &'a std::collections::HashSet<u64>,
    measurement: &'a str,
}

/// Runs `plan` on every group's shards (only a part of them, when given) and merges what
/// the cores and the other data nodes answer.
async fn execute(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    prepared: &Prepared,
    plan: &tessera_query::plan::SelectPlan,
    only: Option<Only<'_>>,
) -> Result<tessera_query::exec::Partial, QueryError> {
    // The statement's text goes to the other data nodes only; most queries have none.
    let statement = std::cell::OnceCell::new();
    let mut total = tessera_query::exec::Partial::default();
    for (gi, g) in prepared.groups.iter().enumerate() {
        let mut placement = g.placement.clone();
        let mut p = plan.clone();
        p.measurements = g.names.clone();
        if let Some(only) = &only {
            placement.local.retain(|s| only.shards.contains(s));
            for shards in placement.remote.values_mut() {
                shards.retain(|s| only.shards.contains(s));
            }
            placement.remote.retain(|_, shards| !shards.is_empty());
            p.measurements.retain(|m| m == only.measurement);
        }
        p.id_base = gi as u32;
        let text = if placement.remote.is_empty() {
            ""
        } else {
            statement.get_or_init(|| stmt.to_string()).as_str()
        };
        let remote = cluster_query::select_remote(
            ctx,
            &defaults.cancel,
            snap,
            &g.db,
            &g.rp,
            &g.owners,
            placement.remote,
            text,
            &p,
            &prepared.all_names,
            &prepared.schema,
        );
        let local = async {
            if placement.local.is_empty() {
                return Ok(tessera_query::exec::Partial::default());
            }
            crate::scatter::select(
                &ctx.engine,
                Arc::new(p.clone()),
                placement.local,
                Arc::clone(&defaults.cancel),
            )
            .await
        };
        let (local, remote) = futures_lite::future::zip(local, remote).await;
        // influxd merges the FROM items' streams in the order the statement names them
        // (`FROM rp2.cpu, autogen.cpu`: rp2's point first at a tie), not in shard
        // order: each group's shards rank after the earlier items'.
        let rank = if prepared.groups.len() > 1 {
            source_rank(snap, stmt, defaults, &g.db, &g.rp) << 48
        } else {
            0
        };
        let mut parts = vec![local?];
        parts.extend(remote?);
        for mut part in parts {
            for r in &mut part.raw {
                r.shard |= rank;
            }
            total.merge(part);
        }
    }
    if defaults.cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(QueryError::Killed);
    }
    Ok(total)
}

/// The (database, retention policy) each FROM item of `stmt` reads, in order (`None` for
/// a subquery or one that does not resolve).
fn source_policies<'a>(
    snap: &'a Snapshot,
    stmt: &'a SelectStatement,
    defaults: &'a Defaults<'_>,
) -> impl Iterator<Item = Option<(String, String)>> + 'a {
    stmt.sources.iter().map(|src| match src {
        Source::Measurement(m) => resolve_db_rp(
            snap,
            m.database.as_deref(),
            m.retention_policy.as_deref(),
            defaults,
        )
        .ok(),
        Source::Subquery(_) => None,
    })
}

/// The place among the statement's FROM items of the first one read from `db`.`rp`.
fn source_rank(
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    db: &str,
    rp: &str,
) -> u64 {
    source_policies(snap, stmt, defaults)
        .position(|p| p.is_some_and(|(d, r)| d == db && r == rp))
        .map_or(0, |i| i as u64)
}

/// The answer from what was read: EXPLAIN's, or the statement's series.
fn answer(
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
    p: Prepared,
    mut total: tessera_query::exec::Partial,
) -> Result<Vec<Series>, QueryError> {
    let Prepared {
        schema,
        all_names,
        plan,
        shards_in_range,
        bare_condition,
        started,
        planned,
        ..
    } = p;
    let explain = plan.explain;
    let killed = || defaults.cancel.load(std::sync::atomic::Ordering::Relaxed);
    if explain != 0 {
        let stats = std::mem::take(&mut total.explain);
        if explain == 1 {
            return Ok(crate::explain::plan_answer(
                &plan,
                &schema,
                &all_names,
                &shards_in_range,
                &stats,
            ));
        }
        // The query runs to the end (its answer is dropped), as influxd's does.
        tessera_query::finish::finish(&plan, total)?;
        let qualify = |m: &tessera_influxql::Measurement| {
            resolve_db_rp(
                snap,
                m.database.as_deref(),
                m.retention_policy.as_deref(),
                defaults,
            )
            .unwrap_or_default()
        };
        let statement =
            crate::explain::planned_statement(stmt, &schema, &qualify, bare_condition.clone());
        let condition =
            bare_condition.map(|c| crate::explain::typed(&c, &schema, true).to_string());
        let total_ns = started.elapsed();
        return Ok(crate::explain::analyze_answer(
            &plan,
            &schema,
            &all_names,
            &stats,
            statement,
            condition,
            crate::explain::Timings {
                planning: planned.as_nanos() as u64,
                execution: (total_ns - planned).as_nanos() as u64,
            },
        ));
    }
    let all = tessera_query::finish::finish(&plan, total)?;
    // A KILL that came while the answer was being put together still stops it.
    if killed() {
        return Err(QueryError::Killed);
    }
    Ok(all)
}

/// The outer query of `SELECT … FROM (SELECT …)`: inner answers become the outer
/// query's input series (their columns its fields, their tags its tags).
fn select_subqueries<'a>(
    ctx: &'a Ctx,
    snap: &'a Snapshot,
    stmt: &'a SelectStatement,
    defaults: &'a Defaults<'a>,
    now: i64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<Series>, QueryError>> + 'a>> {
    Box::pin(async move {
        let outer_every = group_interval(stmt, now).map(|(every, _)| every);
        let mut outer_range = split_statement_time(stmt, now)?.1;
        if outer_every.is_some() && !outer_range.has_max() {
            outer_range.max = now;
        }
        // The outer statement's transformations that read back read their inner
        // statements one interval further too (the outer plan holds those rows back as
        // input only).
        let outer_range = tessera_query::plan::shard_range(stmt, outer_range);
        let outer_time = range_terms(outer_range);
        let outer_interval = stmt
            .dimensions
            .iter()
            .find(|d| is_time_dimension(d))
            .cloned();
        let mut frames = Vec::new();
        let mut schema: Schema = BTreeMap::new();
        let mut declared: Declared = BTreeMap::new();
        let mut declared_tags: BTreeMap<String, std::collections::BTreeSet<String>> =
            BTreeMap::new();
        let ascending = |s: &SelectStatement| s.sort_fields.first().is_none_or(|f| f.ascending);
        for src in &stmt.sources {
            if let Source::Subquery(inner) = src {
                // An inner statement without ORDER BY follows the outer one.
                if !inner.sort_fields.is_empty() && ascending(inner) != ascending(stmt) {
                    return Err(QueryError::msg(
                        "subqueries must be ordered in the same direction as the query itself",
                    ));
                }
            }
            // A measurement next to subqueries is read as `SELECT * FROM m GROUP BY *`.
            let mut inner = match src {
                Source::Subquery(inner) => (**inner).clone(),
                Source::Measurement(m) => SelectStatement {
                    fields: vec![tessera_influxql::Field {
                        expr: tessera_influxql::Expr::Wildcard(tessera_influxql::WildcardKind::All),
                        alias: None,
                    }],
                    sources: vec![Source::Measurement(m.clone())],
                    dimensions: vec![tessera_influxql::Dimension {
                        expr: tessera_influxql::Expr::Wildcard(tessera_influxql::WildcardKind::All),
                    }],
                    ..Default::default()
                },
            };
            inherit_time(&mut inner, &outer_time);
            inherit_interval(&mut inner, outer_interval.as_ref());
            // influxd runs an aggregating inner statement's fill(null) as fill(none): the
            // outer statement drops null rows anyway, but a LIMIT or a transformation
            // inside then sees only the windows with data.
            if inner.fill == tessera_influxql::Fill::Null && !tessera_influxql::is_raw_query(&inner)
            {
                inner.fill = tessera_influxql::Fill::None;
            }
            // An inner statement grouped by tags the outer one does not group by is
            // limited in the outer statement's grouping (see `limit_in_outer_groups`).
            // influxd hands the outer SLIMIT and SOFFSET to the inner statement, added to
            // its own, and applies them nowhere else (the outer statement's series come
            // from the inner answers, which it does not limit again).
            inner.slimit += stmt.slimit;
            inner.soffset += stmt.soffset;
            let regroup = inner_limits_regroup(&inner, stmt);
            let inner_limits = (inner.limit, inner.offset, inner.slimit, inner.soffset);
            if regroup {
                (inner.limit, inner.offset, inner.slimit, inner.soffset) = (0, 0, 0, 0);
            }
            let kind = stream_kind(&inner);
            // influxd builds the inner statement's iterators in the outer statement's
            // direction: a LIMIT inside keeps the last rows for DESC, and transformations
            // run newest first (derivative() changes sign, cumulative_sum() sums from the
            // end).
            if inner.sort_fields.is_empty() {
                inner.sort_fields = stmt.sort_fields.clone();
            }
            // A tag the inner statement groups by only because the outer one does is no
            // column of the inner answer: the outer statement groups by it, but reads it
            // as null (`SELECT host … GROUP BY host` over an inner without host).
            let own_dims: Option<Vec<String>> = (!inner.dimensions.iter().any(|d| {
                matches!(
                    d.expr,
                    tessera_influxql::Expr::Wildcard(_) | tessera_influxql::Expr::Regex(_)
                )
            }))
            .then(|| group_tag_names(&inner));
            inherit_dimensions(&mut inner, stmt);
            keep_inherited_tag_columns(&mut inner, own_dims.as_deref());
            let named_outer_dims = stmt.dimensions.iter().all(|d| {
                matches!(d.expr, tessera_influxql::Expr::VarRef { .. }) || is_time_dimension(d)
            });
            let tag_columns = InnerColumns {
                outer: outer_range,
                every: outer_every,
                merge_tags: named_outer_dims.then(|| group_tag_names(stmt)),
                ..InnerColumns::default()
            };
            // An inner aggregate that fills is read in blocks: run it without the fill,
            // which `fill_in_blocks` then applies as influxd's outer statement sees it.
            // Its LIMIT and OFFSET count the rows of each block (each run of one series
            // in the stream, whatever the outer grouping).
            let filled = fills_in_blocks(&inner, kind, now);
            let blocks = filled.filter(|_| group_interval(stmt, now).is_none());
            // An outer aggregate under GROUP BY time over those blocks reduces each run of
            // one window in the stream on its own.
            // (SLIMIT and SOFFSET pick the inner series first, the outer statement's
            // among its tag sets when they were moved into the inner one.)
            let runs = filled.zip(BlockRuns::of(stmt, now)).filter(|(_, runs)| {
                (inner_limits.0, inner_limits.1) == (0, 0) && runs.fits(&inner, now)
            });
            let in_blocks = blocks.is_some() || runs.is_some();
            let (fill, block_limits) = (inner.fill, (inner_limits.0, inner_limits.1));
            if in_blocks {
                inner.fill = tessera_influxql::Fill::None;
                (inner.limit, inner.offset) = (0, 0);
            }
            let mut series =
                select_boxed(ctx, snap, &inner, defaults, 0, Some(&tag_columns)).await?;
            inner.fill = fill;
            if regroup {
                // A raw inner statement's storage limits each series per shard: the
                // start times of the shard groups it reads.
                let raw_shards = tessera_influxql::is_raw_query(&inner)
                    .then(|| shard_group_starts(snap, &inner, defaults));
                let (limit, offset, slimit, soffset) = inner_limits;
                let counted = if in_blocks { (0, 0) } else { (limit, offset) };
                let groups = outer_group_tags(stmt, &series);
                series = limit_in_outer_groups(
                    series,
                    &groups,
                    (counted.0, counted.1, slimit, soffset),
                    !ascending(stmt),
                    raw_shards.as_deref(),
                );
            }
            let outer_dims = outer_group_tags(stmt, &series);
            // The inner rows filled in blocks, as the runs or the outer statement read them.
            let read_in_blocks = |series, interval, reading| {
                fill_in_blocks(&inner, series, &outer_dims, interval, reading, now)
            };
            if let Some((interval, runs)) = runs {
                let reading = BlockReading {
                    limits: (0, 0),
                    descending: runs.descending,
                    sparse_ok: false,
                };
                let (series, seqs) = read_in_blocks(series, interval, reading)?;
                return runs.answer(stmt, &series, &seqs, now);
            }
            integer_math_columns(&inner, &mut series, &tag_columns.integer_fields.borrow());
            if series.is_empty() {
                declare_unanswered(&inner, &mut declared, &mut declared_tags);
            }
            let inner_types = tag_columns.field_types.into_inner();
            let tag_columns = tag_columns.tags.into_inner();
            let source = frames.len() as u64;
            let zipped = zip_calls(kind, &inner, &series, &outer_dims, !ascending(stmt));
            let group_starts = (kind == StreamKind::Merged
                && zipped.is_none()
                && tessera_influxql::is_raw_query(&inner))
            .then(|| shard_group_starts(snap, &inner, defaults));
            let (series, seqs) = match (zipped, blocks) {
                (Some((zipped, seqs)), _) => (zipped, Some(seqs)),
                (None, Some(interval)) => {
                    let reading = BlockReading {
                        limits: block_limits,
                        descending: !ascending(stmt),
                        sparse_ok: outer_reduces(stmt),
                    };
                    let (series, seqs) = read_in_blocks(series, interval, reading)?;
                    (series, Some(seqs))
                }
                (None, None) => {
                    let mut seqs = stream_order(kind, &inner, &series, !ascending(stmt), now);
                    if seqs.is_none() && kind == StreamKind::Merged && outer_dims.is_empty() {
                        seqs = transform_input_order(
                            ctx,
                            snap,
                            &inner,
                            &series,
                            defaults,
                            !ascending(stmt),
                        )
                        .await?;
                    }
                    (series, seqs)
                }
            };
            for (si, s) in series.into_iter().enumerate() {
                let names = outer_names(&inner, &s.columns);
                // The inner statement's fields are the outer one's, answered or not (a raw
                // field keeps the type it was read with; one without values reads as a
                // float).
                let columns = names.iter().skip(1);
                if names.len() == inner.fields.len() + 1 {
                    for (f, n) in inner.fields.iter().zip(columns) {
                        let t = match &f.expr {
                            tessera_influxql::Expr::VarRef { name, .. } => inner_types.get(name),
                            tessera_influxql::Expr::Wildcard(_)
                            | tessera_influxql::Expr::Regex(_) => continue,
                            _ => None,
                        };
                        if !n.is_empty() && !tag_columns.contains(n) {
                            declare(&mut declared, &s.name, n, t.copied());
                        }
                    }
                } else if inner
                    .fields
                    .iter()
                    .any(|f| matches!(f.expr, tessera_influxql::Expr::Wildcard(_)))
                {
                    // A wildcard's columns are the fields it listed, answered or not.
                    for n in columns.filter(|n| !n.is_empty() && !tag_columns.contains(*n)) {
                        declare(&mut declared, &s.name, n, inner_types.get(n).copied());
                    }
                }
                let entry = schema.entry(s.name.clone()).or_default();
                entry.answer_columns = true;
                for (k, _) in &s.tags {
                    if own_dims.as_ref().is_none_or(|own| own.contains(k)) {
                        entry.tags.insert(k.clone());
                    }
                }
                for c in s.columns.iter().filter(|c| tag_columns.contains(*c)) {
                    entry.tag_fields.insert(c.clone());
                }
                entry.tag_args.extend(top_tag_args(&inner));
                // Rows of one inner series may share a time (several series merged, or
                // GROUP BY with selectors): the k-th row at a time goes to sub-frame k,
                // so every frame has unique times and no row is lost.
                // Rows the outer statement merges by time come from the inner statement's
                // shard groups, which influxd merges one by one: each group is a frame.
                let group_of = |t: i64| match &group_starts {
                    Some(starts) => starts.partition_point(|s| *s <= t).saturating_sub(1),
                    None => 0,
                };
                let mut seen: std::collections::HashMap<i64, usize> = Default::default();
                let mut parts: BTreeMap<(usize, usize), Vec<&Vec<tessera_query::Value>>> =
                    BTreeMap::new();
                let mut part_seqs: BTreeMap<(usize, usize), Vec<(i64, u64)>> = BTreeMap::new();
                for (ri, r) in s.values.iter().enumerate() {
                    let Some(tessera_query::Value::Time(t)) = r.first() else {
                        continue;
                    };
                    let k = seen.entry(*t).or_insert(0);
                    let at = (group_of(*t), *k);
                    parts.entry(at).or_default().push(r);
                    if let Some(seqs) = &seqs {
                        part_seqs.entry(at).or_default().push((*t, seqs[si][ri]));
                    }
                    *k += 1;
                }
                for (at, part) in parts {
                    let columns = frame_columns(&names, &part, &mut entry.fields);
                    let mut points: Vec<i64> = part.iter().filter_map(|r| row_time(r)).collect();
                    points.sort_unstable();
                    let seq = seqs.is_some().then(|| {
                        let mut seq = part_seqs.remove(&at).unwrap_or_default();
                        seq.sort_unstable();
                        seq
                    });
                    frames.push(tessera_query::exec::Frame {
                        measurement: s.name.clone(),
                        tags: s.tags.clone(),
                        columns,
                        source,
                        seq,
                        part: u32::try_from(at.0).unwrap_or(u32::MAX),
                        measured: matches!(src, Source::Measurement(_)),
                        points,
                    });
                }
            }
        }
        // The inner statement's fields are the outer one's fields whether or not they
        // answered anything (influxd takes them from the statement): a field without
        // values is read as a float.
        for (m, tags) in declared_tags {
            if let Some(entry) = schema.get_mut(&m) {
                entry.tags.extend(tags);
            }
        }
        for (m, fields) in declared {
            if let Some(entry) = schema.get_mut(&m) {
                for (f, t) in fields {
                    if !entry.tags.contains(&f) {
                        let t = t.unwrap_or(tessera_storage::batch::FieldType::Float);
                        entry.fields.entry(f).or_insert(t);
                    }
                }
            }
        }
        let names: Vec<String> = schema.keys().cloned().collect();
        let mut plan = plan_select(stmt, names, &schema, now)?;
        if plan.unreadable {
            return Ok(Vec::new());
        }
        (plan.slimit, plan.soffset) = (0, 0);
        plan.mark_over_subquery();
        plan.keep_uncastable_fields();
        let partial = tessera_query::exec::scan_frames(&plan, frames)?;
        tessera_query::finish::finish(&plan, partial)
    })
}

/// Measurement → the inner statements' field names the outer statement reads, with the
/// type of a raw field (the others read as floats when they have no values).
type Declared = BTreeMap<String, BTreeMap<String, Option<tessera_storage::batch::FieldType>>>;

/// Declares a field of a subquery's measurement; a known type wins over none.
fn declare(d: &mut Declared, m: &str, name: &str, t: Option<tessera_storage::batch::FieldType>) {
    let slot = d
        .entry(m.to_string())
        .or_default()
        .entry(name.to_string())
        .or_default();
    if slot.is_none() {
        *slot = t;
    }
}

/// The columns an inner statement that answered nothing still gives the outer one (its
/// fields, and the tags it groups by by name), under the measurements it names: influxd
/// takes them from the statement, so a FROM item without data still adds its (empty)
/// columns beside another's.
fn declare_unanswered(
    inner: &SelectStatement,
    fields: &mut Declared,
    tags: &mut BTreeMap<String, std::collections::BTreeSet<String>>,
) {
    use tessera_influxql::Expr;
    let expands = inner
        .fields
        .iter()
        .any(|f| matches!(f.expr, Expr::Wildcard(_) | Expr::Regex(_)));
    let columns: Vec<String> = if expands {
        Vec::new()
    } else {
        tessera_influxql::column_names(inner)
            .into_iter()
            .skip(1)
            .filter(|c| !c.is_empty())
            .collect()
    };
    let dims: Vec<String> = inner
        .dimensions
        .iter()
        .filter_map(|d| match &d.expr {
            Expr::VarRef { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    for src in &inner.sources {
        if let Source::Measurement(m) = src {
            if let Some(name) = &m.name {
                for c in &columns {
                    declare(fields, name, c, None);
                }
                tags.entry(name.clone())
                    .or_default()
                    .extend(dims.iter().cloned());
            }
        }
    }
}

/// The tag arguments of an inner statement's top() and bottom() calls.
fn top_tag_args(inner: &SelectStatement) -> Vec<String> {
    use tessera_influxql::Expr;
    let mut out = Vec::new();
    for f in &inner.fields {
        if let Expr::Call { name, args } = &f.expr {
            if matches!(name.as_str(), "top" | "bottom") && args.len() > 2 {
                for a in &args[1..args.len() - 1] {
                    if let Expr::VarRef { name, .. } = a {
                        out.push(name.clone());
                    }
                }
            }
        }
    }
    out
}

/// How influxd's outer query reads the rows of an inner statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    /// Aggregates and selectors: window by window, then series by series.
    Windows,
    /// Raw rows without GROUP BY: as the inner statement answers them.
    Answered,
    /// Grouped raw rows and transformations: merged by time.
    Merged,
}

/// The names of the calls in an expression, outer ones first.
fn call_names<'a>(e: &'a tessera_influxql::Expr, out: &mut Vec<&'a str>) {
    use tessera_influxql::Expr;
    match e {
        Expr::Call { name, args } => {
            out.push(name);
            args.iter().for_each(|a| call_names(a, out));
        }
        Expr::Binary { lhs, rhs, .. } => {
            call_names(lhs, out);
            call_names(rhs, out);
        }
        Expr::Paren(e) => call_names(e, out),
        _ => {}
    }
}

/// Whether every transformation call in `e` transforms an aggregate or selector (and
/// there is at least one call).
fn transforms_reducers(e: &tessera_influxql::Expr) -> bool {
    use tessera_influxql::Expr;
    match e {
        // holt_winters answers its predictions once its input ends.
        Expr::Call { name, .. } if name.starts_with("holt_winters") => false,
        Expr::Call { name, args } if tessera_query::plan::is_transform(name) => {
            matches!(args.first(), Some(Expr::Call { name, .. }) if is_reducer_call(name))
        }
        Expr::Call { name, args } if tessera_query::plan::MATH.contains(&name.as_str()) => {
            args.first().is_some_and(transforms_reducers)
        }
        Expr::Call { name, .. } => is_reducer_call(name),
        Expr::Binary { lhs, rhs, .. } => {
            let with_calls: Vec<&Expr> = [&**lhs, &**rhs]
                .into_iter()
                .filter(|e| {
                    let mut n = Vec::new();
                    call_names(e, &mut n);
                    !n.is_empty()
                })
                .collect();
            !with_calls.is_empty() && with_calls.into_iter().all(transforms_reducers)
        }
        Expr::Paren(e) => transforms_reducers(e),
        _ => false,
    }
}

fn is_reducer_call(name: &str) -> bool {
    use tessera_query::plan::{AGGREGATES, SELECTORS};
    AGGREGATES.contains(&name) || SELECTORS.contains(&name)
}

fn stream_kind(inner: &SelectStatement) -> StreamKind {
    let mut names = Vec::new();
    inner
        .fields
        .iter()
        .for_each(|f| call_names(&f.expr, &mut names));
    if names.iter().any(|n| tessera_query::plan::is_transform(n)) {
        // A transformation of aggregates streams as the aggregates do: influxd's
        // transformation iterator passes over their stream, keeping each series' state.
        if inner.fields.iter().all(|f| transforms_reducers(&f.expr)) {
            StreamKind::Windows
        } else {
            StreamKind::Merged
        }
    } else if names.iter().any(|n| is_reducer_call(n)) {
        StreamKind::Windows
    } else if inner.dimensions.is_empty() {
        StreamKind::Answered
    } else {
        StreamKind::Merged
    }
}

/// Where each row of an inner answer stands in the stream influxd's outer query reads
/// (`None` when the outer query merges the rows by time): for aggregates window by
/// window in the query's direction, then series by series in ascending order, then the
/// rows of one series and window as answered; raw rows as answered. The inner answer
/// was read in the same direction as the outer statement.
fn stream_order(
    kind: StreamKind,
    inner: &SelectStatement,
    series: &[Series],
    descending: bool,
    now: i64,
) -> Option<Vec<Vec<u64>>> {
    if kind == StreamKind::Merged {
        return None;
    }
    let interval = group_interval(inner, now);
    let tz = inner
        .location
        .as_deref()
        .and_then(tessera_query::tz::Tz::load);
    let window = |t: i64| match (kind, interval) {
        (StreamKind::Windows, Some((every, offset))) => {
            tessera_query::tz::window(t, every, offset, tz.as_deref()).0
        }
        _ => 0,
    };
    let mut rows: Vec<(i64, usize, usize)> = Vec::new();
    for (si, s) in series.iter().enumerate() {
        for (ri, r) in s.values.iter().enumerate() {
            if let Some(tessera_query::Value::Time(t)) = r.first() {
                rows.push((window(*t), si, ri));
            }
        }
    }
    sort_window_major(&mut rows, descending);
    let mut out: Vec<Vec<u64>> = series
        .iter()
        .map(|s| vec![u64::MAX; s.values.len()])
        .collect();
    for (pos, (_, si, ri)) in rows.into_iter().enumerate() {
        out[si][ri] = pos as u64;
    }
    Some(out)
}

/// An inner series' values of the outer statement's GROUP BY tags ("" where it has none).
fn dim_values<'a>(s: &'a Series, dims: &[String]) -> Vec<&'a str> {
    dims.iter()
        .map(|d| {
            s.tags
                .iter()
                .find(|(k, _)| k == d)
                .map_or("", |(_, v)| v.as_str())
        })
        .collect()
}

/// Sorts (window, series, row) entries of an inner answer into the order influxd's
/// outer statement streams them: window by window in the query's direction, then series
/// ascending (a descending answer lists its series in reverse), then rows as answered.
fn sort_window_major(rows: &mut [(i64, usize, usize)], descending: bool) {
    rows.sort_by(|a, b| {
        let (w, s) = if descending {
            (b.0.cmp(&a.0), b.1.cmp(&a.1))
        } else {
            (a.0.cmp(&b.0), a.1.cmp(&b.1))
        };
        w.then(s).then(a.2.cmp(&b.2))
    });
}

/// A statement's GROUP BY time interval and offset (within the interval), if any.
fn group_interval(stmt: &SelectStatement, now: i64) -> Option<(i64, i64)> {
    use tessera_influxql::Expr;
    let mut interval = None;
    for d in &stmt.dimensions {
        if let Expr::Call { name, args } = &d.expr {
            if let (true, Some(Expr::Duration(every))) = (name == "time", args.first()) {
                let offset = match args.get(1) {
                    Some(Expr::Duration(o)) => *o,
                    Some(Expr::Call { name, .. }) if name == "now" => {
                        tessera_query::plan::now_offset(now, *every)
                    }
                    _ => 0,
                };
                if *every > 0 {
                    interval = Some((*every, offset.rem_euclid(*every)));
                }
            }
        }
    }
    interval
}

/// The most rows the fill blocks of one inner statement may make (each block walks all
/// the windows); past them the inner statement is filled per series instead.
const MAX_BLOCK_ROWS: u64 = 1_000_000;

/// The inner statement's GROUP BY time interval when influxd's outer statement reads its
/// fill in blocks (see
/// [`fill_in_blocks`]): the inner statement groups by time, fills with a value, the
/// previous or linear values, and every field is a call that reduces to one row per
/// window.
fn fills_in_blocks(inner: &SelectStatement, kind: StreamKind, now: i64) -> Option<(i64, i64)> {
    use tessera_influxql::{Expr, Fill};
    let fills = kind == StreamKind::Windows
        && matches!(
            inner.fill,
            Fill::Number(_) | Fill::Integer(_) | Fill::Previous | Fill::Linear
        )
        && inner.fields.iter().all(|f| {
            matches!(&f.expr, Expr::Call { name, .. } if is_reducer_call(name)
                // influxd never fills the calls that answer several rows per window.
                && !matches!(name.as_str(), "top" | "bottom" | "sample" | "distinct"))
        });
    group_interval(inner, now).filter(|_| fills)
}

/// An outer aggregate under `GROUP BY time` over an inner statement read in fill blocks
/// ([`fill_in_blocks`]), as influxd answers it: its reduce iterator takes each run of
/// consecutive points of one outer window in the stream as a row of its own (so a window
/// comes once per block), and its fill iterator walks one window forward per row it
/// emits, filling only where a row is ahead of that walk. The outer statements this
/// covers: calls of one inner column (several only where each answers every run, so
/// their rows pair), `GROUP BY time` (and named tags), either direction, without
/// SLIMIT, SOFFSET, INTO or a condition beside time.
struct BlockRuns {
    /// ORDER BY time DESC: the blocks stream newest first and the walk goes down.
    descending: bool,
    tz: Option<std::sync::Arc<tessera_query::tz::Tz>>,
    /// Each call's name, literal arguments and column label.
    calls: Vec<(String, Vec<tessera_functions::Arg>, String)>,
    /// What each call shows for an empty window under `fill(null)` (0 for count).
    null_fills: Vec<tessera_query::Value>,
    /// The outer statement's time range.
    range: tessera_query::cond::TimeRange,
    /// The calls influxd builds over the column's own iterator (median, mode, spread,
    /// stddev, percentile) see the inner rows without a value as points: such a row
    /// counts for nothing but ends a run when its window differs. The others
    /// (count, mean, sum, min, max, first, last) never see them.
    null_points: bool,
    column: String,
    every: i64,
    offset: i64,
    tags: Vec<String>,
    /// A transformation over the one call (`derivative(mean(u))`): its name, literal
    /// arguments and column label; it runs over the filled rows in stream order.
    transform: Option<(String, Vec<tessera_functions::Arg>, String)>,
    /// Math over the calls: the fields' expressions and their column names (the calls'
    /// labels are then their text).
    math: Option<(Vec<tessera_influxql::Expr>, Vec<String>)>,
    /// Calls of both kinds (see [`BlockRuns::fits`]).
    mixed_kinds: bool,
}

/// The calls of a field made of calls, numbers and arithmetic (`max(u) - min(u)`), each
/// once; `false` when it holds anything else.
fn collect_calls(
    e: &tessera_influxql::Expr,
    out: &mut Vec<(tessera_influxql::Expr, Option<String>)>,
) -> bool {
    use tessera_influxql::Expr;
    match e {
        Expr::Paren(x) => collect_calls(x, out),
        Expr::Integer(_) | Expr::Number(_) => true,
        Expr::Binary { op, lhs, rhs } => {
            op.is_arithmetic() && collect_calls(lhs, out) && collect_calls(rhs, out)
        }
        call @ Expr::Call { .. } => {
            if !out.iter().any(|(c, _)| c == call) {
                out.push((call.clone(), None));
            }
            true
        }
        _ => false,
    }
}

impl BlockRuns {
    fn of(stmt: &SelectStatement, now: i64) -> Option<BlockRuns> {
        use tessera_influxql::Expr;
        let mut calls = Vec::new();
        let mut column: Option<&String> = None;
        let null_points =
            |n: &str| matches!(n, "median" | "mode" | "spread" | "stddev" | "percentile");
        // One transformation of one call: it runs over the call's filled rows.
        let mut transform = None;
        let mut fields: Vec<(Expr, Option<String>)> = stmt
            .fields
            .iter()
            .map(|f| (f.expr.clone(), f.alias.clone()))
            .collect();
        if let [(Expr::Call { name, args }, alias)] = fields.as_slice() {
            let transforms = matches!(
                name.as_str(),
                "derivative"
                    | "non_negative_derivative"
                    | "difference"
                    | "non_negative_difference"
                    | "cumulative_sum"
                    | "moving_average"
            );
            if transforms {
                let inner @ Expr::Call { .. } = args.first()? else {
                    return None;
                };
                transform = Some((
                    name.clone(),
                    tessera_query::agg::args_of(&args[1..]),
                    alias.clone().unwrap_or_else(|| name.clone()),
                ));
                fields = vec![(inner.clone(), None)];
            }
        }
        // Math over the calls (`mean(u) * 2`, `max(u) - min(u)`): each field's value is
        // its expression over the calls' values of the row.
        let math =
            transform.is_none() && fields.iter().any(|(e, _)| !matches!(e, Expr::Call { .. }));
        let mut math_fields = Vec::new();
        if math {
            let mut leaves: Vec<(Expr, Option<String>)> = Vec::new();
            for (e, _) in &fields {
                if !collect_calls(e, &mut leaves) {
                    return None;
                }
                math_fields.push(e.clone());
            }
            fields = leaves;
        }
        for (expr, alias) in &fields {
            let Expr::Call { name, args } = expr else {
                return None;
            };
            let answers_every_run = matches!(
                name.as_str(),
                "count"
                    | "mean"
                    | "sum"
                    | "min"
                    | "max"
                    | "first"
                    | "last"
                    | "spread"
                    | "stddev"
                    | "median"
                    | "mode"
            );
            // top()/bottom() answer their run's points, at their own times, never filled
            // (over the column alone: no tag arguments).
            let selects_points = matches!(name.as_str(), "top" | "bottom") && args.len() == 2;
            let alone = stmt.fields.len() == 1 && (name == "percentile" || selects_points);
            let Some(Expr::VarRef { name: col, .. }) = args.first() else {
                return None;
            };
            if !(answers_every_run || alone) || column.is_some_and(|c| c != col) {
                return None;
            }
            column = Some(col);
            let label = if math {
                expr.to_string()
            } else {
                alias.clone().unwrap_or_else(|| name.clone())
            };
            if calls.iter().any(|(_, _, l)| *l == label) {
                return None;
            }
            calls.push((name.clone(), tessera_query::agg::args_of(&args[1..]), label));
        }
        let (rest, range) = split_statement_time(stmt, now).ok()?;
        let plain = stmt.target.is_none() && stmt.sources.len() == 1 && rest.is_none();
        let named = stmt
            .dimensions
            .iter()
            .all(|d| matches!(d.expr, Expr::VarRef { .. }) || is_time_dimension(d));
        let (every, offset) = group_interval(stmt, now)?;
        let tz = match stmt.location.as_deref() {
            Some(name) => Some(tessera_query::tz::Tz::load(name)?),
            None => None,
        };
        (plain && named).then_some(())?;
        // Calls of both kinds pair their rows only where no row lacks a value (an inner
        // fill with a number): see `fits`.
        let nulls = calls.first().is_some_and(|(n, _, _)| null_points(n));
        let mixed_kinds = calls.iter().any(|(n, _, _)| null_points(n) != nulls);
        if (math || mixed_kinds)
            && calls
                .iter()
                .any(|(n, _, _)| matches!(n.as_str(), "top" | "bottom" | "percentile"))
        {
            return None;
        }
        let nulls = nulls && !mixed_kinds;
        let null_fills = calls
            .iter()
            .map(|(n, a, _)| {
                tessera_functions::reducer(n, a, tessera_functions::ValueType::Float)
                    .map_or(tessera_query::Value::Null, |r| {
                        tessera_query::agg::from_fvalue(r.null_fill())
                    })
            })
            .collect();
        Some(BlockRuns {
            descending: stmt.sort_fields.first().is_some_and(|f| !f.ascending),
            tz,
            null_points: nulls,
            calls,
            null_fills,
            range,
            column: column?.clone(),
            every,
            offset,
            tags: group_tag_names(stmt),
            transform,
            math: math.then(|| {
                let names = tessera_influxql::column_names(stmt);
                (math_fields, names.into_iter().skip(1).collect())
            }),
            mixed_kinds,
        })
    }

    /// Whether the runs answer over this inner statement: the fill walk fits, and calls
    /// of both kinds only over a fill with a number (no row without a value).
    fn fits(&self, inner: &SelectStatement, now: i64) -> bool {
        use tessera_influxql::Fill;
        self.walk_fits(inner, now)
            && (!self.mixed_kinds || matches!(inner.fill, Fill::Number(_) | Fill::Integer(_)))
    }

    /// The outer answer over the inner rows `series` in stream order `seqs`.
    fn answer(
        &self,
        stmt: &SelectStatement,
        series: &[Series],
        seqs: &[Vec<u64>],
        now: i64,
    ) -> Result<Vec<Series>, QueryError> {
        use tessera_query::Value as V;
        let range = self.range;
        let window = |t: i64| self.window(t);
        type Group<'a> = (String, Vec<&'a str>);
        let mut groups: BTreeMap<Group<'_>, Vec<(u64, i64, &V)>> = BTreeMap::new();
        for (s, seq) in series.iter().zip(seqs) {
            let Some(ci) = s.columns.iter().position(|c| *c == self.column) else {
                continue;
            };
            let rows = groups
                .entry((s.name.clone(), dim_values(s, &self.tags)))
                .or_default();
            for (r, q) in s.values.iter().zip(seq) {
                if let (Some(t), Some(v)) = (row_time(r), r.get(ci)) {
                    // (A row without a value still ends top()'s or bottom()'s run when
                    // its window differs: influxd's reduce reads it before skipping it.)
                    if self.null_points || self.selects_points() || !matches!(v, V::Null) {
                        rows.push((*q, t, v));
                    }
                }
            }
        }
        // The walk runs from the range's first window to its last (the last to the
        // first under DESC, where without a lower bound it stops with the rows).
        let upper = window(if range.has_max() { range.max } else { now });
        let lower = range.has_min().then(|| window(range.min));
        let fail = |e: tessera_functions::FunctionError| QueryError::msg(e.to_string());
        // influxd widens the range of a statement with a transformation by an interval
        // before its start: without a lower bound that overflows and nothing is read.
        // (Its walk starts an interval early for those that read back.)
        if self.transform.is_some() && !self.descending && !range.has_min() {
            return Ok(Vec::new());
        }
        let reads_back = self
            .transform
            .as_ref()
            .is_some_and(|(n, _, _)| tessera_query::plan::reads_back(n));
        let mut out = Vec::new();
        for ((name, tags), mut rows) in groups {
            rows.sort_by_key(|r| r.0);
            // The reduce iterator: a row per run of one window.
            let mut reduced: Vec<(i64, Vec<V>)> = Vec::new();
            let mut i = 0;
            while i < rows.len() {
                let Some(t) = tessera_query::agg::value_type_of(rows[i].2) else {
                    i += 1;
                    continue;
                };
                let w = window(rows[i].1);
                let mut reducers = self
                    .calls
                    .iter()
                    .map(|(n, a, _)| tessera_functions::reducer(n, a, t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(fail)?;
                while i < rows.len() && window(rows[i].1) == w {
                    if !matches!(rows[i].2, V::Null) {
                        let v = tessera_query::agg::to_fvalue(rows[i].2);
                        for r in &mut reducers {
                            r.push(rows[i].1, &v, 0).map_err(fail)?;
                        }
                    }
                    i += 1;
                }
                if self.selects_points() {
                    // (One call: each of its points is a row at the point's time.)
                    for r in reducers {
                        for p in r.finish(w) {
                            reduced.push((p.time, vec![tessera_query::agg::from_fvalue(p.value)]));
                        }
                    }
                    continue;
                }
                let values: Vec<Option<V>> = reducers
                    .into_iter()
                    .map(|r| {
                        let p = r.finish(w).into_iter().next()?;
                        Some(tessera_query::agg::from_fvalue(p.value))
                    })
                    .collect();
                if values.iter().all(Option::is_some) {
                    reduced.push((w, values.into_iter().flatten().collect()));
                }
            }
            let Some(first) = reduced.first().map(|r| r.0) else {
                continue;
            };
            // The walk starts at the range's first window, else at the first row's (a
            // transformation that reads back starts it one interval earlier).
            let back = reads_back;
            let (start, end) = if self.descending {
                let upper = if back && range.has_max() {
                    window(upper.saturating_add(self.every))
                } else {
                    upper
                };
                (upper, lower)
            } else {
                let lower = match lower {
                    Some(l) if back => Some(window(l.saturating_sub(self.every))),
                    l => l,
                };
                (lower.unwrap_or(first), Some(upper))
            };
            // LIMIT and OFFSET count each series' rows after the fill (and after the
            // transformation).
            let take = match stmt.limit {
                0 => usize::MAX,
                l => usize::try_from(l).unwrap_or(usize::MAX),
            };
            let filled = self.fill(stmt, reduced, start, end);
            let filled = match &self.transform {
                Some((name, args, _)) => self.transformed(name, args, filled)?,
                None => filled,
            };
            let values: Vec<_> = filled
                .into_iter()
                .skip(usize::try_from(stmt.offset).unwrap_or(usize::MAX))
                .take(take)
                .collect();
            if values.is_empty() {
                continue;
            }
            let mut columns = vec!["time".to_string()];
            let values = match &self.math {
                Some((exprs, names)) => {
                    columns.extend(names.iter().cloned());
                    values
                        .into_iter()
                        .map(|r| self.evaluated(exprs, r))
                        .collect()
                }
                None => {
                    match &self.transform {
                        Some((_, _, label)) => columns.push(label.clone()),
                        None => columns.extend(self.calls.iter().map(|(_, _, l)| l.clone())),
                    }
                    values
                }
            };
            out.push(Series {
                name,
                tags: self
                    .tags
                    .iter()
                    .zip(tags)
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
                columns,
                values,
                partial: false,
            });
        }
        // Under DESC influxd answers the series in reverse tag order too.
        if self.descending {
            out.reverse();
        }
        Ok(out)
    }

    fn window(&self, t: i64) -> i64 {
        tessera_query::tz::window(t, self.every, self.offset, self.tz.as_deref()).0
    }

    /// The transformation over the call's filled rows, in their order (rows without a
    /// value are skipped; the rows may step back in time, from one block to the next).
    fn transformed(
        &self,
        name: &str,
        args: &[tessera_functions::Arg],
        rows: Vec<Vec<tessera_query::Value>>,
    ) -> Result<Vec<Vec<tessera_query::Value>>, QueryError> {
        use tessera_query::Value as V;
        let input = rows
            .iter()
            .find_map(|r| r.get(1).and_then(tessera_query::agg::value_type_of))
            .unwrap_or(tessera_functions::ValueType::Float);
        let ctx = tessera_functions::TransformContext {
            interval: Some(self.every),
            ascending: !self.descending,
        };
        let mut t = tessera_functions::transform(name, args, input, ctx)
            .map_err(|e| tessera_query::agg::err_over(e, "Interval"))?;
        let mut out = Vec::new();
        for r in &rows {
            let (Some(V::Time(time)), Some(v)) = (r.first(), r.get(1)) else {
                continue;
            };
            let p = tessera_functions::Point {
                time: *time,
                value: tessera_query::agg::to_fvalue(v),
                aux: 0,
            };
            t.push(&p, &mut out);
        }
        t.finish(&mut out);
        Ok(out
            .into_iter()
            .map(|p| vec![V::Time(p.time), tessera_query::agg::from_fvalue(p.value)])
            .collect())
    }

    /// A row of the calls' values as the fields' expressions over them.
    fn evaluated(
        &self,
        exprs: &[tessera_influxql::Expr],
        row: Vec<tessera_query::Value>,
    ) -> Vec<tessera_query::Value> {
        use tessera_influxql::Expr;
        use tessera_query::Value as V;
        fn eval(e: &Expr, calls: &[(String, Vec<tessera_functions::Arg>, String)], row: &[V]) -> V {
            match e {
                Expr::Paren(x) => eval(x, calls, row),
                Expr::Integer(i) => V::Integer(*i),
                Expr::Number(n) => V::Float(*n),
                Expr::Binary { op, lhs, rhs } => {
                    tessera_query::cond::binary(*op, &eval(lhs, calls, row), &eval(rhs, calls, row))
                }
                call @ Expr::Call { .. } => {
                    let key = call.to_string();
                    calls
                        .iter()
                        .position(|(_, _, l)| *l == key)
                        .and_then(|i| row.get(i + 1).cloned())
                        .unwrap_or(V::Null)
                }
                _ => V::Null,
            }
        }
        let mut out = Vec::with_capacity(exprs.len() + 1);
        out.push(row.first().cloned().unwrap_or(V::Null));
        out.extend(exprs.iter().map(|e| eval(e, &self.calls, &row)));
        out
    }

    /// The call is top() or bottom(): several rows per run, never filled.
    fn selects_points(&self) -> bool {
        matches!(self.calls.first(), Some((n, _, _)) if n == "top" || n == "bottom")
    }

    /// Whether the fill walk stays within [`MAX_BLOCK_ROWS`] windows (it starts at the
    /// outer range's start, else at the inner statement's first row, and runs to the
    /// outer range's end, else now); past that the outer statement is answered per
    /// window.
    fn walk_fits(&self, inner: &SelectStatement, now: i64) -> bool {
        let outer = self.range;
        let Ok((_, own)) = split_statement_time(inner, now) else {
            return false;
        };
        let from = match (outer.has_min(), own.has_min()) {
            (true, _) => outer.min,
            (false, true) => own.min,
            (false, false) => return false,
        };
        let to = if outer.has_max() { outer.max } else { now };
        u64::try_from(to.saturating_sub(from) / self.every).is_ok_and(|n| n <= MAX_BLOCK_ROWS)
    }

    /// The zone offset (ns) in effect at `t` (0 without `tz()`).
    fn zone(&self, t: i64) -> i64 {
        self.tz
            .as_deref()
            .map_or(0, |z| z.offset_at(t) as i64 * 1_000_000_000)
    }

    /// influxd's fill iterator (one per call, walking alike) over the reduced rows, from
    /// window `start` to `end`.
    fn fill(
        &self,
        stmt: &SelectStatement,
        rows: Vec<(i64, Vec<tessera_query::Value>)>,
        start: i64,
        end: Option<i64>,
    ) -> Vec<Vec<tessera_query::Value>> {
        use tessera_influxql::Fill;
        use tessera_query::Value as V;
        let row = |t: i64, vs: Vec<V>| {
            let mut r = Vec::with_capacity(vs.len() + 1);
            r.push(V::Time(t));
            r.extend(vs);
            r
        };
        if stmt.fill == Fill::None || self.selects_points() {
            return rows.into_iter().map(|(t, v)| row(t, v)).collect();
        }
        let integer: Vec<bool> = (0..self.calls.len())
            .map(|c| rows.iter().any(|r| matches!(r.1[c], V::Integer(_))))
            .collect();
        let mut out = Vec::new();
        let mut prev: Option<(i64, Vec<V>)> = None;
        let mut at = 0;
        let mut w = start;
        let mut zone = self.zone(w);
        loop {
            let next = rows.get(at);
            let past = match end {
                Some(e) if self.descending => w < e,
                Some(e) => w > e,
                None => true,
            };
            if next.is_none() && past {
                break;
            }
            // A row ahead of the walk waits while the walk fills up to it.
            let ahead = |t: i64| if self.descending { t < w } else { t > w };
            match next {
                Some((t, v)) if !ahead(*t) => {
                    out.push(row(*t, v.clone()));
                    prev = Some((*t, v.clone()));
                    at += 1;
                }
                _ => {
                    let filled = (0..self.calls.len())
                        .map(|c| match &stmt.fill {
                            Fill::Number(n) if integer[c] => V::Integer(*n as i64),
                            Fill::Number(n) => V::Float(*n),
                            Fill::Integer(n) if integer[c] => V::Integer(*n),
                            Fill::Integer(n) => V::Float(*n as f64),
                            Fill::Previous => prev.as_ref().map_or(V::Null, |p| p.1[c].clone()),
                            Fill::Linear => linear(
                                prev.as_ref().map(|(t, v)| (*t, &v[c])),
                                next.map(|(t, v)| (*t, &v[c])),
                                w,
                                self.every,
                            ),
                            _ => self.null_fills[c].clone(),
                        })
                        .collect();
                    out.push(row(w, filled));
                }
            }
            let step = if self.descending {
                w.checked_sub(self.every)
            } else {
                w.checked_add(self.every)
            };
            match step {
                Some(n) => w = n,
                None => break,
            }
            // Past a change of the zone's offset the walk moves by the difference.
            if self.tz.is_some() {
                let z = self.zone(w - 1);
                if z != zone {
                    let diff = zone - z;
                    if diff.abs() < self.every {
                        w += diff;
                    }
                    zone = z;
                }
            }
        }
        out
    }
}

/// influxd's linear fill at window `w` between the last row it emitted and the next one
/// (times in whole intervals).
fn linear(
    prev: Option<(i64, &tessera_query::Value)>,
    next: Option<(i64, &tessera_query::Value)>,
    w: i64,
    every: i64,
) -> tessera_query::Value {
    use tessera_query::Value as V;
    let (Some((pt, pv)), Some((nt, nv))) = (prev, next) else {
        return V::Null;
    };
    let (x0, x1, x) = (pt / every, nt / every, w / every);
    if x1 == x0 {
        return V::Null;
    }
    let slope = |a: f64, b: f64| (b - a) / (x1 - x0) as f64;
    match (pv, nv) {
        (V::Integer(a), V::Integer(b)) => {
            V::Integer((slope(*a as f64, *b as f64) * (x - x0) as f64 + *a as f64) as i64)
        }
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => V::Float(slope(a, b) * (x - x0) as f64 + a),
            _ => V::Null,
        },
    }
}

/// Whether every field of the outer statement reduces its rows with calls (a row without
/// a value is a nil point to each of them, which they skip).
fn outer_reduces(stmt: &SelectStatement) -> bool {
    fn reduced(e: &tessera_influxql::Expr) -> bool {
        use tessera_influxql::Expr;
        match e {
            Expr::Call { name, .. } => is_reducer_call(name),
            Expr::Binary { lhs, rhs, .. } => reduced(lhs) && reduced(rhs),
            Expr::Paren(e) => reduced(e),
            Expr::Integer(_) | Expr::Number(_) => true,
            _ => false,
        }
    }
    !stmt.fields.is_empty() && stmt.fields.iter().all(|f| reduced(&f.expr))
}

/// How [`fill_in_blocks`] reads the blocks.
#[derive(Debug, Clone, Copy)]
struct BlockReading {
    /// The inner statement's (LIMIT, OFFSET), counted per block.
    limits: (u64, u64),
    /// ORDER BY time DESC: the stream runs newest first.
    descending: bool,
    /// The outer statement only reduces (every call skips rows without a value), so
    /// fill(linear) blocks may leave those rows out.
    sparse_ok: bool,
}

/// The inner aggregate's rows as influxd's outer statement reads them when the inner one
/// fills (`series`: the inner answer without fill). The inner stream goes window by
/// window, then series by series within each outer group, and influxd's fill iterator
/// starts a series over whenever the series changes from one point to the next: it
/// fills the rest of the windows of the one it leaves, then all windows of the next
/// from the first. So every run of consecutive points of one series becomes a block of
/// all the windows (usually one point and the fill around it; `fill(previous)` starts
/// each block with nothing). influxd's limit iterator starts over with every series
/// change as well: `(limit, skip)` (LIMIT, OFFSET) count the rows of each block. Blocks
/// that would make more than [`MAX_BLOCK_ROWS`] rows are not reproduced: the inner
/// statement is then filled per series, as a top-level statement is. Returns the series
/// with their blocks' rows and each row's place in the stream.
fn fill_in_blocks(
    inner: &SelectStatement,
    series: Vec<Series>,
    outer_dims: &[String],
    (every, offset): (i64, i64),
    how: BlockReading,
    now: i64,
) -> Result<(Vec<Series>, Vec<Vec<u64>>), QueryError> {
    use tessera_query::Value as V;
    let BlockReading {
        limits: (limit, skip),
        descending,
        sparse_ok,
    } = how;
    let tz = inner
        .location
        .as_deref()
        .and_then(tessera_query::tz::Tz::load);
    let window = |t: i64| tessera_query::tz::window(t, every, offset, tz.as_deref());
    let (_, range) = split_statement_time(inner, now)?;
    let first = (range.min != tessera_query::cond::MIN_TIME).then(|| window(range.min).0);
    let last = window(if range.max == tessera_query::cond::MAX_TIME {
        now
    } else {
        range.max
    })
    .0;
    let time_of = |r: &Vec<V>| row_time(r);
    // The outer groups, each with its rows window by window, then series by series.
    let mut groups: BTreeMap<Vec<&str>, Vec<(i64, usize, usize)>> = BTreeMap::new();
    for (si, s) in series.iter().enumerate() {
        let rows = groups.entry(dim_values(s, outer_dims)).or_default();
        for (ri, r) in s.values.iter().enumerate() {
            if let Some(t) = time_of(r) {
                rows.push((window(t).0, si, ri));
            }
        }
    }
    // The blocks in stream order: an inner series and its (window, row) entries.
    let mut blocks: Vec<(usize, BTreeMap<i64, usize>)> = Vec::new();
    for (_, mut rows) in groups {
        sort_window_major(&mut rows, descending);
        let mut at = 0;
        while at < rows.len() {
            let si = rows[at].1;
            let end = at + rows[at..].iter().take_while(|r| r.1 == si).count();
            blocks.push((si, rows[at..end].iter().map(|r| (r.0, r.2)).collect()));
            at = end;
        }
    }
    // The windows a block walks: from the range's first (the block's own first without a
    // lower bound) to the last.
    let span = |block: &BTreeMap<i64, usize>| -> Option<(i64, i64)> {
        let (lo, hi) = (*block.keys().next()?, *block.keys().next_back()?);
        Some((first.unwrap_or(lo).min(lo), last.max(hi)))
    };
    let rows_needed: u64 = blocks
        .iter()
        .filter_map(|(_, b)| span(b))
        .map(|(from, to)| u64::try_from((to - from) / every).unwrap_or(0) + 1)
        .fold(0, u64::saturating_add);
    // Under fill(linear) a block has values only from its first point to its last: when
    // only those matter (an outer aggregate, whose reducers skip the rows without a
    // value, and no inner LIMIT or OFFSET counting the others), the rest need not be
    // made, and the blocks fit where walking all their windows would not.
    let values_only = |block: &BTreeMap<i64, usize>| -> Option<(i64, i64)> {
        Some((*block.keys().next()?, *block.keys().next_back()?))
    };
    let sparse = rows_needed > MAX_BLOCK_ROWS
        && sparse_ok
        && inner.fill == tessera_influxql::Fill::Linear
        && (limit, skip) == (0, 0)
        && blocks
            .iter()
            .filter_map(|(_, b)| values_only(b))
            .map(|(from, to)| u64::try_from((to - from) / every).unwrap_or(0) + 1)
            .fold(0, u64::saturating_add)
            <= MAX_BLOCK_ROWS;
    let span = |block: &BTreeMap<i64, usize>| -> Option<(i64, i64)> {
        if sparse {
            values_only(block)
        } else {
            span(block)
        }
    };
    // Blocks can multiply the rows by the windows: past a bound, the inner statement is
    // filled per series as a top-level one is (one block per series).
    let per_series = rows_needed > MAX_BLOCK_ROWS && !sparse;
    if per_series {
        let mut whole: Vec<BTreeMap<i64, usize>> = vec![BTreeMap::new(); series.len()];
        for (si, b) in blocks {
            whole[si].extend(b);
        }
        blocks = whole
            .into_iter()
            .enumerate()
            .filter(|(_, b)| !b.is_empty())
            .collect();
    }
    let mut values: Vec<Vec<Vec<V>>> = vec![Vec::new(); series.len()];
    let mut seqs: Vec<Vec<u64>> = vec![Vec::new(); series.len()];
    let skip = usize::try_from(skip).unwrap_or(usize::MAX);
    let take = match limit {
        0 => usize::MAX,
        l => usize::try_from(l).unwrap_or(usize::MAX),
    };
    let mut pos = 0u64;
    for (si, block) in blocks {
        let Some((from, to)) = span(&block) else {
            continue;
        };
        let mut times = Vec::new();
        let mut w = from;
        while w <= to {
            times.push(w);
            let next = window(w.saturating_add(every)).0;
            if next <= w {
                break;
            }
            w = next;
        }
        if descending {
            times.reverse();
        }
        let s = &series[si];
        let width = s.columns.len();
        let mut block_rows: Vec<Vec<V>> = times
            .iter()
            .map(|w| match block.get(w) {
                Some(ri) => s.values[*ri].clone(),
                None => {
                    let mut r = vec![V::Null; width];
                    r[0] = V::Time(*w);
                    r
                }
            })
            .collect();
        let fillable: Vec<bool> = (0..width).map(|c| c > 0).collect();
        let mut m: Vec<&mut Vec<V>> = block_rows.iter_mut().collect();
        tessera_query::finish::fill_matrix(&inner.fill, &times, &mut m, &fillable, every);
        for r in block_rows.into_iter().skip(skip).take(take) {
            values[si].push(r);
            seqs[si].push(pos);
            pos += 1;
        }
    }
    let series: Vec<Series> = series
        .into_iter()
        .zip(values)
        .map(|(mut s, v)| {
            s.values = v;
            s
        })
        .collect();
    if per_series {
        // Filled per series, the rows stream window by window as any inner aggregate's.
        if let Some(seqs) = stream_order(StreamKind::Windows, inner, &series, descending, now) {
            return Ok((series, seqs));
        }
    }
    Ok((series, seqs))
}

/// influxd types a math function by its argument, and arithmetic between two integers as
/// an integer, when an outer statement reads it: over integers (`sqrt(uptime)`,
/// `log2(count(x))`, `sin(sum(i))`, `count(x) / 2`, `humidity / 3`) the inner column is an
/// integer one, and its values reach the outer statement truncated (`log2(360)` → 8,
/// `70 / 3` → 23).
fn integer_math_columns(
    inner: &SelectStatement,
    series: &mut [Series],
    integer_fields: &std::collections::BTreeSet<String>,
) {
    use tessera_influxql::{DataType, Expr};
    fn integer(e: &Expr, ints: &std::collections::BTreeSet<String>) -> bool {
        match e {
            Expr::VarRef { name, data_type } => match data_type {
                DataType::Integer => true,
                DataType::Unknown | DataType::Field => ints.contains(name),
                _ => false,
            },
            Expr::Paren(e) => integer(e, ints),
            Expr::Integer(_) => true,
            Expr::Binary { op, lhs, rhs } => {
                op.is_arithmetic() && integer(lhs, ints) && integer(rhs, ints)
            }
            Expr::Call { name, args } => match name.as_str() {
                "count" | "elapsed" => true,
                n if tessera_query::plan::KEEPS_ARGUMENT_TYPE.contains(&n)
                    || tessera_query::plan::MATH.contains(&n) =>
                {
                    args.first().is_some_and(|a| integer(a, ints))
                }
                _ => false,
            },
            _ => false,
        }
    }
    let columns: Vec<usize> = inner
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| match &f.expr {
            Expr::Call { name, args } => {
                tessera_query::plan::MATH.contains(&name.as_str())
                    && args.first().is_some_and(|a| integer(a, integer_fields))
            }
            e @ Expr::Binary { .. } => integer(e, integer_fields),
            _ => false,
        })
        .map(|(i, _)| i + 1)
        .collect();
    if columns.is_empty() {
        return;
    }
    for s in series.iter_mut() {
        if s.columns.len() != inner.fields.len() + 1 {
            continue;
        }
        for row in s.values.iter_mut() {
            for &c in &columns {
                if let Some(tessera_query::Value::Float(v)) = row.get(c) {
                    // Go's float-to-integer conversion truncates.
                    row[c] = tessera_query::Value::Integer(*v as i64);
                }
            }
        }
    }
}

/// The start times of the live shard groups of the retention policies `stmt` reads
/// measurements from, ascending.
fn shard_group_starts(
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
) -> Vec<i64> {
    let mut starts: Vec<i64> = source_policies(snap, stmt, defaults)
        .flatten()
        .filter_map(|(db, rp)| snap.data.retention_policy(&db, &rp))
        .flat_map(|r| r.shard_groups.iter().filter(|g| !g.is_deleted()))
        .map(|g| g.start_time)
        .collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// Whether an inner statement's LIMIT/OFFSET/SLIMIT/SOFFSET act in the outer
/// statement's grouping: it has some, groups by a tag (or `*`, a regex) the outer one
/// does not group by, and the outer one names its tags.
fn inner_limits_regroup(inner: &SelectStatement, outer: &SelectStatement) -> bool {
    use tessera_influxql::Expr;
    if inner.limit == 0 && inner.offset == 0 && inner.slimit == 0 && inner.soffset == 0 {
        return false;
    }
    if outer
        .dimensions
        .iter()
        .any(|d| matches!(d.expr, Expr::Wildcard(_) | Expr::Regex(_)))
    {
        return false;
    }
    let outer_dims = group_tag_names(outer);
    inner.dimensions.iter().any(|d| match &d.expr {
        Expr::VarRef { name, .. } => !outer_dims.contains(name),
        Expr::Wildcard(_) | Expr::Regex(_) => true,
        _ => false,
    })
}

/// The inner answer as influxd's outer statement reads it when the inner one groups by
/// tags the outer one does not (influxd gives the inner statement the outer one's
/// dimensions): SLIMIT/SOFFSET count the outer statement's groups; LIMIT/OFFSET count
/// points per run of consecutive points of one inner series in the merged stream of an
/// outer group (by time, series in key order at equal times), so with series
/// interleaved point by point a LIMIT keeps everything and an OFFSET nothing. A raw
/// inner statement's storage reads at most LIMIT+OFFSET+1 points per series and shard
/// first, and with an OFFSET applies the OFFSET and LIMIT to those too (`raw_shards`: the
/// start times of its shard groups, ascending).
fn limit_in_outer_groups(
    series: Vec<Series>,
    outer_dims: &[String],
    (limit, offset, slimit, soffset): (u64, u64, u64, u64),
    descending: bool,
    raw_shards: Option<&[i64]>,
) -> Vec<Series> {
    let time_of = |r: &Vec<tessera_query::Value>| match r.first() {
        Some(tessera_query::Value::Time(t)) => *t,
        _ => 0,
    };
    let group_of = |s: &Series| -> (String, Vec<String>) {
        (
            s.name.clone(),
            tessera_query::exec::tag_values(&s.tags, outer_dims),
        )
    };
    // (Each series keeps its place in the answer.)
    // (measurement, outer tag values) → (place in the answer, series).
    type Groups = BTreeMap<(String, Vec<String>), Vec<(usize, Series)>>;
    let mut groups = Groups::new();
    for (at, mut s) in series.into_iter().enumerate() {
        if let (Some(starts), true) = (raw_shards, limit > 0 || offset > 0) {
            // The first points of each shard in the read direction (newest under DESC).
            let mut order: Vec<usize> = (0..s.values.len()).collect();
            order.sort_by_key(|&i| time_of(&s.values[i]));
            if descending {
                order.reverse();
            }
            // With an OFFSET, each shard's series iterator also applies the OFFSET and
            // LIMIT to those points itself, before the outer groups apply them again.
            let mut taken: BTreeMap<usize, u64> = BTreeMap::new();
            let mut keep = vec![false; s.values.len()];
            for i in order {
                let shard = starts.partition_point(|&g| g <= time_of(&s.values[i]));
                let n = taken.entry(shard).or_default();
                *n += 1;
                keep[i] = *n <= limit + offset + 1
                    && (offset == 0 || (*n > offset && (limit == 0 || *n <= offset + limit)));
            }
            let mut it = keep.into_iter();
            s.values.retain(|_| it.next().unwrap_or(false));
        }
        groups.entry(group_of(&s)).or_default().push((at, s));
    }
    // As influxd's engine limits tag sets: SOFFSET without SLIMIT keeps none.
    if soffset > 0 && slimit == 0 {
        groups.clear();
    }
    let keep_groups = groups
        .into_values()
        .skip(soffset as usize)
        .take(if slimit > 0 {
            slimit as usize
        } else {
            usize::MAX
        });
    let mut out = Vec::new();
    for mut members in keep_groups {
        if limit > 0 || offset > 0 {
            members.sort_by(|a, b| a.1.tags.cmp(&b.1.tags));
            // (time, member, row) in the merged stream's order.
            let mut order: Vec<(i64, usize, usize)> = members
                .iter()
                .enumerate()
                .flat_map(|(m, (_, s))| {
                    s.values
                        .iter()
                        .enumerate()
                        .map(move |(i, r)| (time_of(r), m, i))
                })
                .collect();
            order.sort_by(|a, b| {
                let by_time = if descending {
                    b.0.cmp(&a.0)
                } else {
                    a.0.cmp(&b.0)
                };
                by_time.then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
            });
            let mut kept: Vec<Vec<bool>> = members
                .iter()
                .map(|(_, s)| vec![false; s.values.len()])
                .collect();
            let mut prev: Option<usize> = None;
            let mut n = 0u64;
            for (_, m, i) in order {
                if prev != Some(m) {
                    prev = Some(m);
                    n = 0;
                }
                n += 1;
                kept[m][i] = n > offset && (limit == 0 || n - offset <= limit);
            }
            for ((_, s), k) in members.iter_mut().zip(kept) {
                let mut it = k.into_iter();
                s.values.retain(|_| it.next().unwrap_or(false));
            }
        }
        out.extend(members.into_iter().filter(|(_, s)| !s.values.is_empty()));
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, s)| s).collect()
}

/// The tag keys a statement groups by (`GROUP BY host, time(1m)` → `host`).
/// The tags the outer statement groups an inner answer by: its named tags, and for
/// `GROUP BY *` (or a regex) those of the inner series' tags (the ones the inner
/// statement groups by) it takes.
fn outer_group_tags(stmt: &SelectStatement, series: &[Series]) -> Vec<String> {
    use tessera_influxql::Expr;
    let mut tags = group_tag_names(stmt);
    let patterns: Vec<Option<std::sync::Arc<regex::Regex>>> = stmt
        .dimensions
        .iter()
        .filter_map(|d| match &d.expr {
            Expr::Wildcard(_) => Some(None),
            Expr::Regex(re) => tessera_query::cond::compile_regex(&re.0).ok().map(Some),
            _ => None,
        })
        .collect();
    if patterns.is_empty() {
        return tags;
    }
    let mut more: std::collections::BTreeSet<&str> = Default::default();
    for s in series {
        for (k, _) in &s.tags {
            if patterns
                .iter()
                .any(|p| p.as_ref().is_none_or(|re| re.is_match(k)))
            {
                more.insert(k);
            }
        }
    }
    for k in more {
        if !tags.iter().any(|t| t == k) {
            tags.push(k.to_string());
        }
    }
    tags
}

fn group_tag_names(stmt: &SelectStatement) -> Vec<String> {
    stmt.dimensions
        .iter()
        .filter_map(|d| match &d.expr {
            tessera_influxql::Expr::VarRef { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// The rows influxd's outer query reads from an inner statement of several aggregates
/// (`max(a) AS m, min(b) AS s … GROUP BY time(…), host`), in its order. Each call is read
/// as its own stream (window by window, series ascending in each, points only where the
/// call has a value) and the streams are zipped by (series, time): the next row is the
/// smallest head (the largest for DESC), and a call whose head is elsewhere is null in
/// it. When one call lacks a value in some series and window, its later rows pair with
/// other series and windows than in the inner answer; influxd does that. `None` when
/// the inner statement is not such a statement (the answer's rows are read as they are).
fn zip_calls(
    kind: StreamKind,
    inner: &SelectStatement,
    series: &[Series],
    outer_dims: &[String],
    descending: bool,
) -> Option<(Vec<Series>, Vec<Vec<u64>>)> {
    if kind != StreamKind::Windows
        || inner.fields.len() < 2
        || !matches!(
            inner.fill,
            tessera_influxql::Fill::Null | tessera_influxql::Fill::None
        )
    {
        return None;
    }
    // One aggregate or selector per column (math around it allowed), none that answers
    // several rows per window.
    let simple = inner.fields.iter().all(|f| {
        let mut names = Vec::new();
        call_names(&f.expr, &mut names);
        names.retain(|n| is_reducer_call(n));
        names.len() == 1 && !matches!(names[0], "top" | "bottom" | "sample" | "distinct")
    });
    if !simple {
        return None;
    }
    let ncols = inner.fields.len();
    let nseries = series.len();
    // Series in ascending order (a descending answer lists them in reverse).
    let asc = |si: usize| if descending { nseries - 1 - si } else { si };
    // The outer statement's GROUP BY tags come first in every stream (influxd sorts the
    // inner points by them), so the rank of each series' values of those tags.
    let mut dim_keys: Vec<Vec<&str>> = series.iter().map(|s| dim_values(s, outer_dims)).collect();
    let mut ranks: Vec<Vec<&str>> = dim_keys.clone();
    ranks.sort();
    ranks.dedup();
    let dim_rank: Vec<usize> = dim_keys
        .drain(..)
        .map(|k| ranks.binary_search(&k).unwrap_or(0))
        .collect();
    // Each column's stream: (time, ascending series index, series, row) where it has a
    // value: by the outer GROUP BY tags, then window by window in the query's direction,
    // series ascending in each.
    let mut streams: Vec<Vec<(i64, usize, usize, usize)>> = vec![Vec::new(); ncols];
    for (si, s) in series.iter().enumerate() {
        if s.columns.len() != ncols + 1 {
            return None;
        }
        for (ri, r) in s.values.iter().enumerate() {
            let Some(tessera_query::Value::Time(t)) = r.first() else {
                continue;
            };
            for (c, stream) in streams.iter_mut().enumerate() {
                if !r[c + 1].is_null() {
                    stream.push((*t, asc(si), si, ri));
                }
            }
        }
    }
    for stream in &mut streams {
        stream.sort_by(|a, b| {
            let w = if descending {
                b.0.cmp(&a.0)
            } else {
                a.0.cmp(&b.0)
            };
            dim_rank[a.2]
                .cmp(&dim_rank[b.2])
                .then(w)
                .then(a.1.cmp(&b.1))
        });
    }
    // The zip: the smallest (series, time) head, the largest for DESC.
    let mut at = vec![0usize; ncols];
    let mut rows: Vec<Vec<(Vec<tessera_query::Value>, u64)>> = vec![Vec::new(); nseries];
    let mut pos = 0u64;
    loop {
        let mut next: Option<(usize, i64, usize)> = None;
        for (c, stream) in streams.iter().enumerate() {
            let Some(&(t, a, si, _)) = stream.get(at[c]) else {
                continue;
            };
            let better = match next {
                None => true,
                Some((na, nt, _)) => {
                    let o = (a, t).cmp(&(na, nt));
                    if descending {
                        o.is_gt()
                    } else {
                        o.is_lt()
                    }
                }
            };
            if better {
                next = Some((a, t, si));
            }
        }
        let Some((a, t, si)) = next else { break };
        let mut row = vec![tessera_query::Value::Time(t)];
        for (c, stream) in streams.iter().enumerate() {
            match stream.get(at[c]) {
                Some(&(ht, ha, hs, ri)) if ht == t && ha == a => {
                    row.push(series[hs].values[ri][c + 1].clone());
                    at[c] += 1;
                }
                _ => row.push(tessera_query::Value::Null),
            }
        }
        rows[si].push((row, pos));
        pos += 1;
    }
    let mut out = Vec::with_capacity(nseries);
    let mut seqs = Vec::with_capacity(nseries);
    for (s, rs) in series.iter().zip(rows) {
        let (values, seq): (Vec<_>, Vec<_>) = rs.into_iter().unzip();
        out.push(Series {
            name: s.name.clone(),
            tags: s.tags.clone(),
            columns: s.columns.clone(),
            values,
            partial: s.partial,
        });
        seqs.push(seq);
    }
    Some((out, seqs))
}

/// The names an outer statement reads an inner statement's columns by: influxd maps
/// a name to the first inner field of that name (`Field.Name()`: `max(a), max(b)` are
/// both `max`), so a later field whose name repeats is not read at all (its column
/// here is named `""`). A wildcard's columns are fields named by their keys there, so
/// `*, usage_user / 2` reads `usage_user` from the wildcard and never the quotient.
/// Columns of top()/bottom() tags keep their answer names.
fn outer_names(inner: &SelectStatement, columns: &[String]) -> Vec<String> {
    use tessera_influxql::{Expr, Field};
    let expands = |f: &Field| matches!(f.expr, Expr::Wildcard(_) | Expr::Regex(_));
    let plain = inner.fields.iter().all(|f| match &f.expr {
        Expr::VarRef { name, .. } => name != "time",
        Expr::Call { name, args } => !(matches!(name.as_str(), "top" | "bottom") && args.len() > 2),
        _ => true,
    });
    let wildcards: Vec<usize> = (0..inner.fields.len())
        .filter(|&i| expands(&inner.fields[i]))
        .collect();
    let answered = &columns[1.min(columns.len())..];
    let others = inner.fields.len() - wildcards.len();
    if !plain || wildcards.len() > 1 || answered.len() < others {
        return columns.to_vec();
    }
    // The fields with the wildcard written out: its columns are named by their keys,
    // which the answer may have suffixed (`_1`) after a name claimed elsewhere.
    let fields: Vec<Field> = match wildcards.first() {
        None => inner.fields.clone(),
        Some(&w) => {
            let claimed: std::collections::HashSet<String> = inner
                .fields
                .iter()
                .filter(|f| !expands(f))
                .map(tessera_influxql::field_name)
                .collect();
            let span = &answered[w..w + (answered.len() - others)];
            // A suffixed key repeats one claimed elsewhere, or one of the wildcard's own
            // (a tag named like a field).
            let keys = span.iter().map(|c| {
                let key = c
                    .rsplit_once('_')
                    .filter(|(base, n)| {
                        (claimed.contains(*base) || span.iter().any(|s| s == base))
                            && n.bytes().all(|b| b.is_ascii_digit())
                    })
                    .map_or(c.as_str(), |(base, _)| base);
                Field {
                    expr: Expr::VarRef {
                        name: key.to_string(),
                        data_type: tessera_influxql::DataType::Unknown,
                    },
                    alias: None,
                }
            });
            let mut fields = inner.fields[..w].to_vec();
            fields.extend(keys);
            fields.extend_from_slice(&inner.fields[w + 1..]);
            fields
        }
    };
    if tessera_query::plan::column_names(&fields) != answered {
        return columns.to_vec();
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![columns[0].clone()];
    for f in &fields {
        let n = tessera_influxql::field_name(f);
        out.push(if seen.insert(n.clone()) {
            n
        } else {
            String::new()
        });
    }
    out
}

/// The columns of one sub-frame of an inner answer: each non-time column's non-null
/// values, typed by the first value (integers mixed with floats become floats).
fn frame_columns(
    names: &[String],
    rows: &[&Vec<tessera_query::Value>],
    fields: &mut BTreeMap<String, tessera_storage::batch::FieldType>,
) -> Vec<(String, tessera_storage::column::Column)> {
    use tessera_query::Value as V;
    use tessera_storage::batch::FieldType;
    use tessera_storage::column::{Column, Values};
    let mut columns = Vec::new();
    for (ci, name) in names.iter().enumerate().skip(1) {
        if name.is_empty() {
            continue;
        }
        let mut col: Vec<(i64, &V)> = rows
            .iter()
            .filter_map(|r| match (&r[0], r.get(ci)) {
                (V::Time(t), Some(v)) if !v.is_null() => Some((*t, v)),
                _ => None,
            })
            .collect();
        col.sort_by_key(|r| r.0);
        if col.is_empty() {
            continue;
        }
        let all_int = col.iter().all(|r| matches!(r.1, V::Integer(_)));
        let ts: Vec<i64> = col.iter().map(|r| r.0).collect();
        let (t, vals) = match col[0].1 {
            V::String(_) => (
                FieldType::String,
                Values::Str(
                    col.iter()
                        .map(|r| match r.1 {
                            V::String(x) => x.as_bytes().into(),
                            _ => Box::default(),
                        })
                        .collect(),
                ),
            ),
            V::Boolean(_) => (
                FieldType::Boolean,
                Values::Boolean(
                    col.iter()
                        .map(|r| matches!(r.1, V::Boolean(true)))
                        .collect(),
                ),
            ),
            V::Unsigned(_) => (
                FieldType::Unsigned,
                Values::Unsigned(
                    col.iter()
                        .map(|r| match r.1 {
                            V::Unsigned(x) => *x,
                            _ => 0,
                        })
                        .collect(),
                ),
            ),
            _ if all_int => (
                FieldType::Integer,
                Values::Integer(
                    col.iter()
                        .map(|r| match r.1 {
                            V::Integer(x) => *x,
                            _ => 0,
                        })
                        .collect(),
                ),
            ),
            _ => (
                FieldType::Float,
                Values::Float(col.iter().map(|r| r.1.as_f64().unwrap_or(0.0)).collect()),
            ),
        };
        fields.entry(name.clone()).or_insert(t);
        columns.push((name.clone(), Column::from_sorted(ts, vals)));
    }
    columns
}

/// The outer statement's GROUP BY tags reach into the inner statement (influxd groups
/// the inner statement by its own dimensions and the outer ones), so an outer `GROUP BY
/// host` over `SELECT max(x) FROM m` takes each host's max. Named tags only.
fn inherit_dimensions(inner: &mut SelectStatement, outer: &SelectStatement) {
    use tessera_influxql::Expr;
    if inner
        .dimensions
        .iter()
        .any(|d| matches!(d.expr, Expr::Wildcard(_)))
    {
        return;
    }
    for d in &outer.dimensions {
        // `GROUP BY *` and regexes expand against the subquery's own dimensions.
        let tag = match &d.expr {
            Expr::VarRef { .. } => &d.expr,
            _ => continue,
        };
        if !inner.dimensions.iter().any(|i| &i.expr == tag) {
            inner.dimensions.push(d.clone());
        }
    }
}

/// An inner wildcard expands against the inner statement's own GROUP BY in influxd: a
/// tag it groups by only because the outer statement does (`SELECT * FROM (SELECT * FROM
/// m) GROUP BY host`) is still one of its columns. The inherited tags the wildcard would
/// have listed are selected explicitly.
fn keep_inherited_tag_columns(inner: &mut SelectStatement, own_dims: Option<&[String]>) {
    use tessera_influxql::{Expr, WildcardKind};
    let Some(own) = own_dims else {
        return;
    };
    let mut extra = Vec::new();
    for tag in group_tag_names(inner) {
        if own.contains(&tag) {
            continue;
        }
        let listed = inner.fields.iter().any(|f| match &f.expr {
            Expr::Wildcard(k) => *k != WildcardKind::Field,
            Expr::Regex(r) => {
                tessera_query::cond::compile_regex(&r.0).is_ok_and(|re| re.is_match(&tag))
            }
            _ => false,
        });
        if listed {
            extra.push(tessera_influxql::Field {
                expr: Expr::VarRef {
                    name: tag,
                    data_type: tessera_influxql::DataType::Tag,
                },
                alias: None,
            });
        }
    }
    inner.fields.extend(extra);
}

/// influxd reads a raw transformation of an inner statement grouped by tags the outer
/// statement does not group by (`SELECT m FROM (SELECT derivative(x) AS m FROM cpu GROUP
/// BY host)`) over one storage merge of all the inner series' points by time (its engine
/// groups by the outer statement's dimensions; the transformation keeps a state per
/// inner group), so the rows several series answer at one time come out in the order
/// that merge — Go's heap over the series in key order, one per shard group — pops the
/// points they were computed at. Reads the inner statement's input points again and
/// numbers the answer's rows in that order; `None` where it does not apply.
async fn transform_input_order(
    ctx: &Ctx,
    snap: &Snapshot,
    inner: &SelectStatement,
    series: &[Series],
    defaults: &Defaults<'_>,
    descending: bool,
) -> Result<Option<Vec<Vec<u64>>>, QueryError> {
    use tessera_influxql::{Expr, WildcardKind};
    let [field] = inner.fields.as_slice() else {
        return Ok(None);
    };
    let arg = match &field.expr {
        Expr::Call { name, args } if tessera_query::plan::is_transform(name) => {
            match args.first() {
                Some(a @ Expr::VarRef { .. }) => a.clone(),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    if series.len() < 2 || series.iter().any(|s| s.name != series[0].name) {
        return Ok(None);
    }
    // The input points: the argument field of every series, in the inner direction.
    let mut input = inner.clone();
    input.fields = vec![tessera_influxql::Field {
        expr: arg,
        alias: None,
    }];
    input.dimensions = vec![tessera_influxql::Dimension {
        expr: Expr::Wildcard(WildcardKind::All),
    }];
    (input.limit, input.offset) = (0, 0);
    let raw = select_boxed(ctx, snap, &input, defaults, 0, None).await?;
    if raw.iter().any(|s| s.name != series[0].name) {
        return Ok(None);
    }
    // Each input series' key (as stored) and the answered group it feeds.
    let group_keys: Vec<Vec<(String, String)>> = series.iter().map(|s| s.tags.clone()).collect();
    let mut runs: Vec<(Vec<u8>, usize, Vec<i64>)> = Vec::new();
    for r in &raw {
        let Some(g) = group_keys.iter().position(|gk| {
            gk.iter()
                .all(|(k, v)| r.tags.iter().any(|(rk, rv)| rk == k && rv == v))
        }) else {
            continue;
        };
        let mut key = tessera_query::exec::escape_measurement(&r.name);
        for (k, v) in r.tags.iter().filter(|(_, v)| !v.is_empty()) {
            key.push(b',');
            key.extend(tessera_query::exec::escape_tag(k));
            key.push(b'=');
            key.extend(tessera_query::exec::escape_tag(v));
        }
        let mut times: Vec<i64> = r.values.iter().filter_map(|row| row_time(row)).collect();
        times.sort_unstable();
        runs.push((key, g, times));
    }
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    if descending {
        runs.reverse();
    }
    // One merge per shard group, in the query's direction.
    let starts = shard_group_starts(snap, inner, defaults);
    let shard_of = |t: i64| starts.partition_point(|s| *s <= t);
    let mut shards: Vec<usize> = runs
        .iter()
        .flat_map(|r| r.2.iter().map(|t| shard_of(*t)))
        .collect();
    shards.sort_unstable();
    shards.dedup();
    if descending {
        shards.reverse();
    }
    let mut place: tessera_query::exec::FastMap<(usize, i64), u64> = Default::default();
    let mut next: u64 = 0;
    for shard in shards {
        let parts: Vec<Vec<i64>> = runs
            .iter()
            .map(|r| {
                let mut v: Vec<i64> =
                    r.2.iter()
                        .copied()
                        .filter(|t| shard_of(*t) == shard)
                        .collect();
                if descending {
                    v.reverse();
                }
                v
            })
            .collect();
        let slices: Vec<&[i64]> = parts.iter().map(Vec::as_slice).collect();
        for (run, at) in tessera_functions::merge_order_by(&slices, descending, |_, _| false) {
            place.entry((runs[run].1, parts[run][at])).or_insert(next);
            next += 1;
        }
    }
    Ok(Some(
        series
            .iter()
            .enumerate()
            .map(|(g, s)| {
                s.values
                    .iter()
                    .map(|row| {
                        row_time(row)
                            .and_then(|t| place.get(&(g, t)).copied())
                            .unwrap_or(u64::MAX)
                    })
                    .collect()
            })
            .collect(),
    ))
}

/// The time of an answer's row (its first column).
fn row_time(row: &[tessera_query::Value]) -> Option<i64> {
    match row.first() {
        Some(tessera_query::Value::Time(t)) => Some(*t),
        _ => None,
    }
}

/// `GROUP BY time(…)`.
fn is_time_dimension(d: &tessera_influxql::Dimension) -> bool {
    matches!(&d.expr, tessera_influxql::Expr::Call { name, .. } if name == "time")
}

/// influxd's subquery takes the outer statement's GROUP BY time interval (and offset)
/// when it has none of its own (its compiler's inherited interval): an aggregating inner
/// statement then answers per window of that interval (`SELECT max(m) FROM (SELECT
/// max(x) AS m FROM cpu) GROUP BY time(1m)` takes the max of per-minute maxima), and
/// derivative() and non_negative_derivative() of a field without a unit take the
/// interval as their unit. A raw statement passes the interval on to its own
/// subqueries, so the whole tree below is rewritten here.
fn inherit_interval(stmt: &mut SelectStatement, inherited: Option<&tessera_influxql::Dimension>) {
    use tessera_influxql::{Expr, Source};
    let own = stmt
        .dimensions
        .iter()
        .find(|d| is_time_dimension(d))
        .cloned();
    if let (None, Some(dim)) = (&own, inherited) {
        let mut names = Vec::new();
        stmt.fields
            .iter()
            .for_each(|f| call_names(&f.expr, &mut names));
        if names.iter().any(|n| is_reducer_call(n)) {
            stmt.dimensions.push(dim.clone());
        } else if let Expr::Call { args, .. } = &dim.expr {
            if let Some(every @ Expr::Duration(_)) = args.first() {
                for f in &mut stmt.fields {
                    derivative_unit(&mut f.expr, every);
                }
            }
        }
    }
    let passed = own.or_else(|| inherited.cloned());
    for src in &mut stmt.sources {
        if let Source::Subquery(inner) = src {
            inherit_interval(inner, passed.as_ref());
        }
    }
}

/// Gives derivative() and non_negative_derivative() of a field written without a unit
/// the unit `every`.
fn derivative_unit(e: &mut tessera_influxql::Expr, every: &tessera_influxql::Expr) {
    use tessera_influxql::Expr;
    match e {
        Expr::Call { name, args } => {
            if matches!(name.as_str(), "derivative" | "non_negative_derivative")
                && args.len() == 1
                && !matches!(args[0], Expr::Call { .. })
            {
                args.push(every.clone());
            }
            for a in args.iter_mut() {
                derivative_unit(a, every);
            }
        }
        Expr::Binary { lhs, rhs, .. } => {
            derivative_unit(lhs, every);
            derivative_unit(rhs, every);
        }
        Expr::Paren(x) => derivative_unit(x, every),
        _ => {}
    }
}

/// An inner statement reads within the outer statement's range: the outer time terms are
/// added to its own (influxd intersects the two ranges).
fn inherit_time(inner: &mut SelectStatement, outer_time: &[tessera_influxql::Expr]) {
    for t in outer_time {
        inner.condition = Some(match inner.condition.take() {
            Some(c) => tessera_influxql::Expr::Binary {
                op: tessera_influxql::BinaryOp::And,
                lhs: Box::new(c),
                rhs: Box::new(t.clone()),
            },
            None => t.clone(),
        });
    }
}

/// `time >= min AND time <= max` as terms, for the bounds `range` has.
fn range_terms(range: tessera_query::cond::TimeRange) -> Vec<tessera_influxql::Expr> {
    use tessera_influxql::{BinaryOp, DataType, Expr};
    let term = |op, t| Expr::Binary {
        op,
        lhs: Box::new(Expr::VarRef {
            name: "time".into(),
            data_type: DataType::Unknown,
        }),
        rhs: Box::new(Expr::Time(t)),
    };
    let mut out = Vec::new();
    if range.has_min() {
        out.push(term(BinaryOp::Gte, range.min));
    }
    if range.has_max() {
        out.push(term(BinaryOp::Lte, range.max));
    }
    out
}

/// The `time` comparisons at the top level of a condition (ANDed terms).
fn time_terms(cond: Option<&tessera_influxql::Expr>) -> Vec<tessera_influxql::Expr> {
    use tessera_influxql::{BinaryOp, Expr};
    let mut out = Vec::new();
    fn walk(e: &Expr, out: &mut Vec<Expr>) {
        match e {
            Expr::Paren(x) => walk(x, out),
            Expr::Binary {
                op: BinaryOp::And,
                lhs,
                rhs,
            } => {
                walk(lhs, out);
                walk(rhs, out);
            }
            Expr::Binary { .. } if tessera_query::cond::mentions_time(e) => out.push(e.clone()),
            _ => {}
        }
    }
    if let Some(c) = cond {
        walk(c, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_query::Value as V;

    fn inner(q: &str) -> SelectStatement {
        match tessera_influxql::parse_statement(q).expect("valid statement") {
            tessera_influxql::Statement::Select(s) => *s,
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    fn series(host: &str, rows: Vec<(i64, Option<f64>, Option<f64>)>) -> Series {
        let opt = |v: Option<f64>| v.map_or(V::Null, V::Float);
        Series {
            name: "cpu".into(),
            tags: vec![("host".into(), host.into())],
            columns: vec!["time".into(), "m".into(), "s".into()],
            values: rows
                .into_iter()
                .map(|(t, m, s)| vec![V::Time(t), opt(m), opt(s)])
                .collect(),
            partial: false,
        }
    }

    #[test]
    fn stream_kinds() {
        let kind = |q: &str| stream_kind(&inner(q));
        assert_eq!(
            kind("SELECT max(x) FROM m GROUP BY time(1m), h"),
            StreamKind::Windows
        );
        assert_eq!(kind("SELECT x FROM m"), StreamKind::Answered);
        assert_eq!(kind("SELECT x FROM m GROUP BY h"), StreamKind::Merged);
        assert_eq!(kind("SELECT derivative(x) FROM m"), StreamKind::Merged);
    }

    #[test]
    fn aggregates_stream_window_by_window_then_series() {
        let st = inner("SELECT max(x) AS m FROM cpu GROUP BY time(10ns), host");
        let a = series("a", vec![(0, Some(1.0), None), (10, Some(2.0), None)]);
        let b = series("b", vec![(0, Some(3.0), None), (10, Some(4.0), None)]);
        let seqs = stream_order(StreamKind::Windows, &st, &[a, b], false, 0).expect("ordered");
        assert_eq!(seqs, vec![vec![0, 2], vec![1, 3]]);
    }

    #[test]
    fn zipped_calls_pair_by_series_and_time() {
        // s is missing for host b: its later values pair with other windows, as in
        // influxd, where each call is a stream of its own.
        let st = inner("SELECT max(x) AS m, min(y) AS s FROM cpu GROUP BY time(10ns), host");
        let a = series(
            "a",
            vec![(0, Some(1.0), Some(5.0)), (10, Some(2.0), Some(6.0))],
        );
        let b = series("b", vec![(0, Some(3.0), None), (10, Some(4.0), None)]);
        let (out, seqs) = zip_calls(StreamKind::Windows, &st, &[a, b], &[], false).expect("zipped");
        // Stream m: a0 b0 a10 b10; stream s: a0 a10. Rows: a0 (m, s), a10 (-, s), b0 (m),
        // a10 (m), b10 (m).
        let values = |s: &Series| -> Vec<(i64, V, V)> {
            s.values
                .iter()
                .map(|r| match &r[0] {
                    V::Time(t) => (*t, r[1].clone(), r[2].clone()),
                    _ => unreachable!(),
                })
                .collect()
        };
        assert_eq!(
            values(&out[0]),
            vec![
                (0, V::Float(1.0), V::Float(5.0)),
                (10, V::Null, V::Float(6.0)),
                (10, V::Float(2.0), V::Null),
            ]
        );
        assert_eq!(
            values(&out[1]),
            vec![(0, V::Float(3.0), V::Null), (10, V::Float(4.0), V::Null)]
        );
        assert_eq!(seqs, vec![vec![0, 1, 3], vec![2, 4]]);
    }

    #[test]
    fn one_aggregate_is_not_zipped() {
        let st = inner("SELECT max(x) AS m FROM cpu GROUP BY time(10ns), host");
        let a = series("a", vec![(0, Some(1.0), None)]);
        assert!(zip_calls(StreamKind::Windows, &st, &[a], &[], false).is_none());
    }
}
