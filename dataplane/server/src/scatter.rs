//! A query's work spread over the cores: each core runs its share on the partitions it
//! owns and answers with one merged result; the coordinating core merges the answers.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tessera_influxql::Expr;
use tessera_query::cond::{CExpr, Resolver};
use tessera_query::exec::{escape_measurement, scan_partition, series_tags, unescape, Partial};
use tessera_query::plan::SelectPlan;
use tessera_query::QueryError;
use tessera_storage::index::TagPredicate;

use crate::catalog::CoreCatalog;
use crate::engine::{CoreMsg, Engine};

/// Which series an index request is about.
#[derive(Debug, Clone)]
pub struct SeriesFilter {
    /// Unescaped measurement names; `None` for all.
    pub measurements: Option<Vec<String>>,
    /// Tag-only condition (SHOW SERIES/TAG VALUES … WHERE).
    pub condition: Option<Expr>,
}

pub enum ScatterMsg {
    Select {
        plan: Arc<SelectPlan>,
        shards: Arc<Vec<u64>>,
        cancel: Arc<AtomicBool>,
        reply: flume::Sender<Result<Partial, QueryError>>,
    },
    /// Measurement (unescaped) → tag keys, for the named measurements or all.
    Tags {
        measurements: Option<Arc<Vec<String>>>,
        shards: Arc<Vec<u64>>,
        reply: flume::Sender<BTreeMap<String, BTreeSet<String>>>,
    },
    /// Deletes the points of the matching series within `[min, max]`.
    Delete {
        filter: Arc<SeriesFilter>,
        min: i64,
        max: i64,
        shards: Arc<Vec<u64>>,
        reply: flume::Sender<Result<(), QueryError>>,
    },
    /// (measurement, tag key, tag value) of the keys matching, straight from the indexes.
    TagValues {
        measurements: Option<Arc<Vec<String>>>,
        keys: Arc<KeyMatch>,
        /// Only the values of series matching this tag condition.
        condition: Option<Arc<Expr>>,
        shards: Arc<Vec<u64>>,
        reply: flume::Sender<Result<TagValueSet, QueryError>>,
    },
    /// How many series the core's partitions of the shards index, with their hashes
    /// when `hashes` (needed when the shards may share series).
    SeriesCount {
        shards: Arc<Vec<u64>>,
        hashes: bool,
        reply: flume::Sender<SeriesTally>,
    },
    /// The queries running on a core.
    ListQueries {
        reply: flume::Sender<Vec<crate::registry::QueryInfo>>,
    },
    /// Stops a query if it runs on the core; answers whether it did.
    Kill {
        qid: u64,
        reply: flume::Sender<bool>,
    },
    /// Series keys (escaped, as stored) of the shards matching a filter.
    Series {
        filter: Arc<SeriesFilter>,
        shards: Arc<Vec<u64>>,
        reply: flume::Sender<Result<BTreeSet<Vec<u8>>, QueryError>>,
    },
}

/// Sends the message `make` builds around a reply channel to every core but this one;
/// the channels the answers come on, in core order.
async fn ask_others<T>(
    engine: &Rc<Engine>,
    make: impl Fn(flume::Sender<T>) -> CoreMsg,
) -> Result<Vec<(usize, flume::Receiver<T>)>, QueryError> {
    ask_cores(engine, other_cores(engine), make).await
}

/// Every core but this one.
fn other_cores(engine: &Engine) -> Vec<usize> {
    (0..engine.cores).filter(|c| *c != engine.core).collect()
}

/// The other cores, but those whose current catalog shows that `may_hold` is false
/// there (see [`crate::catalog`]).
fn cores_that_may(engine: &Engine, may_hold: impl Fn(&CoreCatalog) -> bool) -> Vec<usize> {
    other_cores(engine)
        .into_iter()
        .filter(|c| {
            engine
                .catalogs
                .current(*c)
                .is_none_or(|catalog| may_hold(&catalog))
        })
        .collect()
}

/// Sends the message `make` builds to each of `cores`; the channels the answers come on.
async fn ask_cores<T>(
    engine: &Rc<Engine>,
    cores: Vec<usize>,
    make: impl Fn(flume::Sender<T>) -> CoreMsg,
) -> Result<Vec<(usize, flume::Receiver<T>)>, QueryError> {
    let mut waits = Vec::new();
    for core in cores {
        let (reply, rx) = flume::bounded(1);
        engine
            .send_to(core, make(reply))
            .await
            .map_err(|e| QueryError::Storage(e.to_string()))?;
        waits.push((core, rx));
    }
    Ok(waits)
}

/// How long a core polls for another core's answer before it sleeps until woken.
///
/// Small scatters are answered in tens of microseconds. Sleeping for them costs a
/// wake-up through the kernel (an eventfd write and an inter-processor interrupt, about
/// 40 µs on a virtual machine) on top of the other core's own wake-up, so the waiting
/// core polls the channel instead, for at most this long. Longer scans end in a sleep.
const ANSWER_SPIN: std::time::Duration = std::time::Duration::from_micros(250);

/// One core's answer.
async fn answer<T>(rx: flume::Receiver<T>) -> Result<T, QueryError> {
    let gone = || QueryError::Storage("a core stopped answering".into());
    let start = std::time::Instant::now();
    loop {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(flume::TryRecvError::Disconnected) => return Err(gone()),
            Err(flume::TryRecvError::Empty) => {}
        }
        if start.elapsed() >= ANSWER_SPIN {
            break;
        }
        // Lets this core's other tasks and I/O completions run between polls.
        glommio::executor().yield_task_queue_now().await;
    }
    rx.recv_async().await.map_err(|_| gone())
}

pub async fn serve(engine: &Rc<Engine>, m: ScatterMsg) {
    serve_one(engine, m).await;
    // A core is asked when its catalog was out of date (or it may hold what was asked
    // for): it publishes a current one once it has answered.
    engine.refresh_catalog();
}

async fn serve_one(engine: &Rc<Engine>, m: ScatterMsg) {
    match m {
        ScatterMsg::Select {
            plan,
            shards,
            cancel,
            reply,
        } => {
            let r = select_local(engine, &plan, &shards, &cancel).await;
            let _ = reply.send_async(r).await;
        }
        ScatterMsg::Delete {
            filter,
            min,
            max,
            shards,
            reply,
        } => {
            let r = delete_local(engine, &filter, min, max, &shards).await;
            let _ = reply.send_async(r).await;
        }
        ScatterMsg::TagValues {
            measurements,
            keys,
            condition,
            shards,
            reply,
        } => {
            let r = tag_values_local(
                engine,
                measurements.as_deref().map(|v| v.as_slice()),
                &keys,
                condition.as_deref(),
                &shards,
            );
            let _ = reply.send_async(r).await;
        }
        ScatterMsg::SeriesCount {
            shards,
            hashes,
            reply,
        } => {
            let _ = reply
                .send_async(series_count_local(engine, &shards, hashes))
                .await;
        }
        ScatterMsg::ListQueries { reply } => {
            let _ = reply.send_async(crate::registry::list()).await;
        }
        ScatterMsg::Kill { qid, reply } => {
            let _ = reply.send_async(crate::registry::kill(qid)).await;
        }
        ScatterMsg::Tags {
            measurements,
            shards,
            reply,
        } => {
            let r = tags_local(
                engine,
                measurements.as_deref().map(|v| v.as_slice()),
                &shards,
            );
            let _ = reply.send_async(r).await;
        }
        ScatterMsg::Series {
            filter,
            shards,
            reply,
        } => {
            let r = series_local(engine, &filter, &shards);
            let _ = reply.send_async(r).await;
        }
    }
}

async fn select_local(
    engine: &Rc<Engine>,
    plan: &SelectPlan,
    shards: &[u64],
    cancel: &AtomicBool,
) -> Result<Partial, QueryError> {
    let mut out = Partial::default();
    let mut n = 0u32;
    // In shard and partition order, so that ties between series resolve the same way
    // every time.
    let mut parts = engine.open_partitions();
    parts.sort_by_key(|(s, p, _)| (s.id, *p));
    for (shard, _p, part) in parts {
        if !shards.contains(&shard.id) {
            continue;
        }
        // Aux row ids: node slot (8 bits), core (4), partition of this core (12).
        if plan.aux && (n >= 1 << 12 || engine.core >= 1 << 4 || plan.node_slot >= 1 << 8) {
            return Err(QueryError::msg(
                "query reads too many partitions on one core to keep its selected rows apart",
            ));
        }
        let id = (plan.node_slot & 0xff) << 16 | ((engine.core as u32) & 0xf) << 12 | (n & 0xfff);
        n += 1;
        let mut partial = scan_partition(plan, &part, id, cancel).await?;
        for e in &mut partial.explain {
            e.shard = shard.id;
        }
        for r in &mut partial.raw {
            r.shard = shard.id;
        }
        for p in &mut partial.presence {
            p.shard = shard.id;
        }
        for r in partial
            .groups
            .values_mut()
            .flat_map(|w| w.values_mut())
            .flatten()
        {
            r.set_segment(shard.id);
        }
        out.merge(partial);
        glommio::yield_if_needed().await;
    }
    tessera_query::exec::cut_raw_to_cap(plan, &mut out.raw);
    Ok(out)
}

/// The measurements (escaped) to look at in one index: the named ones, or all it holds.
fn measurement_names(
    index: &tessera_storage::index::SeriesIndex,
    measurements: Option<&[String]>,
) -> Vec<Vec<u8>> {
    match measurements {
        Some(ms) => ms.iter().map(|m| escape_measurement(m)).collect(),
        None => index.measurements().map(<[u8]>::to_vec).collect(),
    }
}

fn tags_local(
    engine: &Rc<Engine>,
    measurements: Option<&[String]>,
    shards: &[u64],
) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (shard, _p, part) in engine.open_partitions() {
        if !shards.contains(&shard.id) {
            continue;
        }
        let index = part.index();
        let names = measurement_names(&index, measurements);
        for m in names {
            if index.series_count(&m) == 0 {
                continue;
            }
            let e = out.entry(unescape(&m)).or_default();
            for k in index.tag_keys(&m) {
                e.insert(unescape(k));
            }
        }
    }
    out
}

/// Measurement → tag keys on every core (all measurements when `measurements` is `None`).
pub async fn tags(
    engine: &Rc<Engine>,
    measurements: Option<Vec<String>>,
    shards: Vec<u64>,
) -> Result<BTreeMap<String, BTreeSet<String>>, QueryError> {
    let measurements = measurements.map(Arc::new);
    let shards = Arc::new(shards);
    // Cores with a current catalog are answered from it; the others are asked.
    let mut known = Vec::new();
    let mut ask = Vec::new();
    for core in other_cores(engine) {
        match engine.catalogs.current(core) {
            Some(catalog) => known.push(catalog),
            None => ask.push(core),
        }
    }
    let waits = ask_cores(engine, ask, |reply| {
        CoreMsg::Scatter(ScatterMsg::Tags {
            measurements: measurements.clone(),
            shards: Arc::clone(&shards),
            reply,
        })
    })
    .await?;
    let mut out = tags_local(
        engine,
        measurements.as_deref().map(|v| v.as_slice()),
        &shards,
    );
    for catalog in known {
        catalog.tags(
            measurements.as_deref().map(|v| v.as_slice()),
            &shards,
            &mut out,
        );
    }
    for (_, rx) in waits {
        for (m, t) in answer(rx).await? {
            out.entry(m).or_default().extend(t);
        }
    }
    Ok(out)
}

/// (measurement, tag key, tag value) triples.
/// (measurement, tag key) → its values, sorted and without repeats (unescaped).
pub type TagValueSet = BTreeMap<(String, String), Vec<String>>;

/// Adds `more` to `into`, keeping every value list sorted and without repeats (a linear
/// merge of sorted lists: values of 100k-series tags merge in a few milliseconds).
pub fn merge_tag_values(into: &mut TagValueSet, more: TagValueSet) {
    for (mk, values) in more {
        match into.get_mut(&mk) {
            None => {
                into.insert(mk, values);
            }
            Some(have) => {
                let mine = std::mem::take(have);
                *have = merge_sorted(mine, values);
            }
        }
    }
}

fn merge_sorted(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => match x.cmp(y) {
                std::cmp::Ordering::Less => a.next(),
                std::cmp::Ordering::Greater => b.next(),
                std::cmp::Ordering::Equal => {
                    b.next();
                    a.next()
                }
            },
            (Some(_), None) => a.next(),
            (None, Some(_)) => b.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

type KeyFilter = Box<dyn Fn(&str) -> bool>;

/// Which tag keys `SHOW TAG VALUES … WITH KEY …` asks for.
#[derive(Debug, Clone)]
pub struct KeyMatch {
    pub op: tessera_influxql::BinaryOp,
    pub key: tessera_influxql::TagKeyExpr,
}

impl KeyMatch {
    fn matcher(&self) -> Result<KeyFilter, QueryError> {
        use tessera_influxql::{BinaryOp, TagKeyExpr};
        let neg = matches!(self.op, BinaryOp::Neq | BinaryOp::NeqRegex);
        Ok(match &self.key {
            TagKeyExpr::Names(names) => {
                let names = names.clone();
                Box::new(move |k: &str| names.iter().any(|n| n == k) != neg)
            }
            TagKeyExpr::Regex(re) => {
                let re = tessera_query::cond::compile_regex(&re.0)?;
                Box::new(move |k: &str| re.is_match(k) != neg)
            }
        })
    }
}

fn tag_values_local(
    engine: &Rc<Engine>,
    measurements: Option<&[String]>,
    keys: &KeyMatch,
    condition: Option<&Expr>,
    shards: &[u64],
) -> Result<TagValueSet, QueryError> {
    let matches = keys.matcher()?;
    let mut out = TagValueSet::new();
    if let Some(c) = condition {
        // The values of the matching keys in the series matching the condition.
        let cond = CExpr::compile(c, &TagsOnly)?;
        for (shard, _p, part) in engine.open_partitions() {
            if !shards.contains(&shard.id) {
                continue;
            }
            let index = part.index();
            for m in measurement_names(&index, measurements) {
                let wanted: Vec<&[u8]> = index
                    .tag_keys(&m)
                    .into_iter()
                    .filter(|k| matches(&unescape(k)))
                    .collect();
                if wanted.is_empty() {
                    continue;
                }
                let mut found: Vec<Vec<&[u8]>> = vec![Vec::new(); wanted.len()];
                visit_keys(&index, &m, Some(c), Some(&cond), &mut |key| {
                    for (k, v) in tessera_storage::index::tag_pairs(key) {
                        if let Some(i) = wanted.iter().position(|w| *w == k) {
                            found[i].push(v);
                        }
                    }
                });
                let mu = unescape(&m);
                for (k, mut values) in wanted.into_iter().zip(found) {
                    if values.is_empty() {
                        continue;
                    }
                    values.sort_unstable();
                    values.dedup();
                    add_sorted(&mut out, (mu.clone(), unescape(k)), values);
                }
            }
        }
    } else {
        for (shard, _p, part) in engine.open_partitions() {
            if !shards.contains(&shard.id) {
                continue;
            }
            let index = part.index();
            let names = measurement_names(&index, measurements);
            for m in names {
                let mu = unescape(&m);
                for k in index.tag_keys(&m) {
                    let ku = unescape(k);
                    if !matches(&ku) {
                        continue;
                    }
                    add_sorted(&mut out, (mu.clone(), ku), index.tag_values(&m, k));
                }
            }
        }
    }
    Ok(out)
}

/// Adds values sorted as stored (escaped) to the sorted list of `mk`.
fn add_sorted(out: &mut TagValueSet, mk: (String, String), stored: Vec<&[u8]>) {
    // Unescaping can only reorder values that held `\`-escapes.
    let escaped = stored.iter().any(|v| v.contains(&b'\\'));
    let mut values: Vec<String> = stored.into_iter().map(unescape).collect();
    if escaped {
        values.sort_unstable();
        values.dedup();
    }
    let have = out.entry(mk).or_default();
    *have = merge_sorted(std::mem::take(have), values);
}

/// Tag values on every core.
pub async fn tag_values(
    engine: &Rc<Engine>,
    measurements: Option<Vec<String>>,
    keys: KeyMatch,
    condition: Option<Expr>,
    shards: Vec<u64>,
) -> Result<TagValueSet, QueryError> {
    let measurements = measurements.map(Arc::new);
    let keys = Arc::new(keys);
    let condition = condition.map(Arc::new);
    let shards = Arc::new(shards);
    let ms = measurements.as_deref().map(|v| v.as_slice());
    // Without a condition, the values of keys with few values come from current
    // catalogs; with one, cores whose catalog rules out every series are left out.
    let mut ask = Vec::new();
    let mut listed = Vec::new();
    let matcher = keys.matcher()?;
    for core in other_cores(engine) {
        let Some(catalog) = engine.catalogs.current(core) else {
            ask.push(core);
            continue;
        };
        if condition.is_none() {
            if let Some(values) = catalog.tag_values(ms, &*matcher, &shards) {
                listed.extend(values);
                continue;
            }
        }
        if catalog.may_match_tags(ms, condition.as_deref(), &shards) {
            ask.push(core);
        }
    }
    let waits = ask_cores(engine, ask, |reply| {
        CoreMsg::Scatter(ScatterMsg::TagValues {
            measurements: measurements.clone(),
            keys: Arc::clone(&keys),
            condition: condition.clone(),
            shards: Arc::clone(&shards),
            reply,
        })
    })
    .await?;
    let mut out = tag_values_local(
        engine,
        measurements.as_deref().map(|v| v.as_slice()),
        &keys,
        condition.as_deref(),
        &shards,
    )?;
    for (mk, values) in listed {
        add_sorted(&mut out, mk, values.iter().map(Vec::as_slice).collect());
    }
    for (_, rx) in waits {
        merge_tag_values(&mut out, answer(rx).await??);
    }
    Ok(out)
}

/// Resolves every name of a condition as a tag (series conditions).
pub(crate) struct TagsOnly;
impl Resolver for TagsOnly {
    fn field(&self, _: &str, _: tessera_influxql::DataType) -> Option<usize> {
        None
    }
    fn is_tag(&self, _: &str, _: tessera_influxql::DataType) -> bool {
        true
    }
}

fn matching_keys(
    part: &tessera_storage::partition::Partition,
    filter: &SeriesFilter,
    cond: Option<&CExpr>,
) -> Vec<Vec<u8>> {
    let index = part.index();
    let names = measurement_names(&index, filter.measurements.as_deref());
    let mut out = Vec::new();
    for m in names {
        visit_keys(&index, &m, filter.condition.as_ref(), cond, &mut |key| {
            out.push(key.to_vec())
        });
    }
    out
}

/// Calls `f` with each series key (as stored) of measurement `m` (escaped) that the tag
/// condition matches (`condition` as written, `cond` compiled from it).
fn visit_keys<'i>(
    index: &'i tessera_storage::index::SeriesIndex,
    m: &[u8],
    condition: Option<&Expr>,
    cond: Option<&CExpr>,
    f: &mut dyn FnMut(&'i [u8]),
) {
    let mut exact = false;
    let pred = match condition {
        Some(c) => {
            let keys: Vec<Vec<u8>> = index.tag_keys(m).into_iter().map(<[u8]>::to_vec).collect();
            let is_tag = |n: &str| {
                let e = tessera_query::exec::escape_tag(n);
                keys.contains(&e)
            };
            exact = tessera_query::exec::index_exact(c, &is_tag);
            tessera_query::exec::index_predicate_with(
                c,
                &is_tag,
                &|t: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8])| {
                    let key = tessera_query::exec::escape_tag(t);
                    for v in index.tag_values_with_prefix(m, &key, prefix) {
                        f(v);
                    }
                    true
                },
            )
        }
        None => TagPredicate::All,
    };
    for id in index.select(m, &pred).iter() {
        let Some(key) = index.key(id) else { continue };
        if let Some(c) = cond.filter(|_| !exact) {
            if !tags_match(c, key) {
                continue;
            }
        }
        f(key);
    }
}

/// Whether the tags of series `key` satisfy the compiled tag condition `cond`.
/// `_name` is the series' measurement.
pub(crate) fn tags_match(cond: &CExpr, key: &[u8]) -> bool {
    let tags = series_tags(key);
    let bound = cond.bind(&|k: &str| {
        if k == "_name" {
            return Some(unescape(tessera_storage::batch::measurement_of(key)));
        }
        tags.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone())
    });
    matches!(bound.constant(), Some(tessera_query::Value::Boolean(true)))
}

async fn delete_local(
    engine: &Rc<Engine>,
    filter: &SeriesFilter,
    min: i64,
    max: i64,
    shards: &[u64],
) -> Result<(), QueryError> {
    let cond = match &filter.condition {
        Some(c) => Some(CExpr::compile(c, &TagsOnly)?),
        None => None,
    };
    for (shard, _p, part) in engine.open_partitions() {
        if !shards.contains(&shard.id) {
            continue;
        }
        let keys = matching_keys(&part, filter, cond.as_ref());
        let version = part.catalog_version();
        let deleted = part.delete_series(&keys, min, max).await;
        if part.catalog_version() != version {
            engine.catalog_changed();
        }
        deleted.map_err(|e| QueryError::Storage(e.to_string()))?;
    }
    Ok(())
}

/// Deletes on every core; `forget_fields` (DROP MEASUREMENT): the shards then forget the
/// fields of the filter's measurements.
pub async fn delete(
    engine: &Rc<Engine>,
    filter: SeriesFilter,
    min: i64,
    max: i64,
    shards: Vec<u64>,
    forget_fields: bool,
) -> Result<(), QueryError> {
    let filter = Arc::new(filter);
    let shards = Arc::new(shards);
    let waits = ask_others(engine, |reply| {
        CoreMsg::Scatter(ScatterMsg::Delete {
            filter: Arc::clone(&filter),
            min,
            max,
            shards: Arc::clone(&shards),
            reply,
        })
    })
    .await?;
    let mine = delete_local(engine, &filter, min, max, &shards).await;
    for (_, rx) in waits {
        answer(rx).await??;
    }
    mine?;
    if forget_fields {
        for m in filter.measurements.iter().flatten() {
            let escaped = escape_measurement(m);
            for &shard in shards.iter() {
                engine
                    .forget_fields(shard, &escaped)
                    .await
                    .map_err(|e| QueryError::Storage(e.to_string()))?;
            }
        }
    }
    Ok(())
}

fn series_local(
    engine: &Rc<Engine>,
    filter: &SeriesFilter,
    shards: &[u64],
) -> Result<BTreeSet<Vec<u8>>, QueryError> {
    let cond = match &filter.condition {
        Some(c) => Some(CExpr::compile(c, &TagsOnly)?),
        None => None,
    };
    let mut out = BTreeSet::new();
    for (shard, _p, part) in engine.open_partitions() {
        if !shards.contains(&shard.id) {
            continue;
        }
        out.extend(matching_keys(&part, filter, cond.as_ref()));
    }
    Ok(out)
}

/// Runs `plan` on every core over `shards` and merges the answers.
pub async fn select(
    engine: &Rc<Engine>,
    plan: Arc<SelectPlan>,
    shards: Vec<u64>,
    cancel: Arc<AtomicBool>,
) -> Result<Partial, QueryError> {
    let shards = Arc::new(shards);
    // EXPLAIN reports every partition holding the measurement, matching or not.
    let cores = cores_that_may(engine, |catalog| {
        plan.explain != 0 || catalog.may_select(&plan, &shards)
    });
    let waits = ask_cores(engine, cores, |reply| {
        CoreMsg::Scatter(ScatterMsg::Select {
            plan: Arc::clone(&plan),
            shards: Arc::clone(&shards),
            cancel: Arc::clone(&cancel),
            reply,
        })
    })
    .await?;
    // Merged in core order whichever core coordinates, so answers are deterministic.
    let mine = select_local(engine, &plan, &shards, &cancel).await?;
    let mut parts: Vec<Option<Partial>> = (0..engine.cores).map(|_| None).collect();
    parts[engine.core] = Some(mine);
    for (core, rx) in waits {
        parts[core] = Some(answer(rx).await??);
    }
    let mut out = Partial::default();
    for p in parts.into_iter().flatten() {
        out.merge(p);
    }
    Ok(out)
}

/// Series keys matching `filter` on every core.
pub async fn series(
    engine: &Rc<Engine>,
    filter: SeriesFilter,
    shards: Vec<u64>,
) -> Result<BTreeSet<Vec<u8>>, QueryError> {
    let filter = Arc::new(filter);
    let shards = Arc::new(shards);
    let cores = cores_that_may(engine, |catalog| {
        catalog.may_match_tags(
            filter.measurements.as_deref(),
            filter.condition.as_ref(),
            &shards,
        )
    });
    let waits = ask_cores(engine, cores, |reply| {
        CoreMsg::Scatter(ScatterMsg::Series {
            filter: Arc::clone(&filter),
            shards: Arc::clone(&shards),
            reply,
        })
    })
    .await?;
    let mut out = series_local(engine, &filter, &shards)?;
    for (_, rx) in waits {
        out.extend(answer(rx).await??);
    }
    Ok(out)
}

/// Every running query of the node (all cores).
pub async fn list_queries(engine: &Rc<Engine>) -> Vec<crate::registry::QueryInfo> {
    let mut out = crate::registry::list();
    // A core that is gone has no queries to list.
    let waits = ask_others(engine, |reply| {
        CoreMsg::Scatter(ScatterMsg::ListQueries { reply })
    })
    .await
    .unwrap_or_default();
    for (_, rx) in waits {
        if let Ok(more) = answer(rx).await {
            out.extend(more);
        }
    }
    out.sort_by_key(|q| q.qid);
    out
}

/// Kills a query on whichever core runs it; whether one did.
pub async fn kill_query(engine: &Rc<Engine>, qid: u64) -> bool {
    if crate::registry::kill(qid) {
        return true;
    }
    for core in 0..engine.cores {
        if core == engine.core {
            continue;
        }
        let (reply, rx) = flume::bounded(1);
        if engine
            .send_to(core, CoreMsg::Scatter(ScatterMsg::Kill { qid, reply }))
            .await
            .is_ok()
            && rx.recv_async().await == Ok(true)
        {
            return true;
        }
    }
    false
}

/// 64-bit hashes of the series the core's partitions of the shards index (a sketch:
/// cheap to ship, and a series in several shards counts once).
fn series_count_local(engine: &Rc<Engine>, shards: &[u64], hashes: bool) -> SeriesTally {
    let mut out = SeriesTally::default();
    for (s, _, p) in engine.open_partitions() {
        if !shards.contains(&s.id) {
            continue;
        }
        let index = p.index();
        out.count += index.live() as u64;
        if !hashes {
            continue;
        }
        let names: Vec<Vec<u8>> = index.measurements().map(<[u8]>::to_vec).collect();
        for m in names {
            for id in index.select(&m, &TagPredicate::All).iter() {
                if let Some(k) = index.key(id) {
                    out.hashes.push(crate::router::fnv64a(k));
                }
            }
        }
    }
    out
}

/// Series counted by one core or node: `count` series in all, and their hashes when asked
/// for them.
#[derive(Debug, Default)]
pub struct SeriesTally {
    pub count: u64,
    pub hashes: Vec<u64>,
}

/// The series indexed on every core for the shards: their number, and their hashes
/// when `hashes` (the partitions of one shard never share a series, so without hashes the
/// count is exact only when no two shards of `shards` can hold the same series).
pub async fn series_tally(
    engine: &Rc<Engine>,
    shards: Vec<u64>,
    hashes: bool,
) -> Result<SeriesTally, QueryError> {
    let shards = Arc::new(shards);
    // Counts come from current catalogs; hashes only from the cores.
    let mut counted = 0;
    let mut ask = Vec::new();
    for core in other_cores(engine) {
        match engine.catalogs.current(core).filter(|_| !hashes) {
            Some(catalog) => counted += catalog.series(&shards),
            None => ask.push(core),
        }
    }
    let waits = ask_cores(engine, ask, |reply| {
        CoreMsg::Scatter(ScatterMsg::SeriesCount {
            shards: Arc::clone(&shards),
            hashes,
            reply,
        })
    })
    .await?;
    let mut all = series_count_local(engine, &shards, hashes);
    all.count += counted;
    for (_, rx) in waits {
        let t = answer(rx).await?;
        all.count += t.count;
        all.hashes.extend(t.hashes);
    }
    Ok(all)
}
