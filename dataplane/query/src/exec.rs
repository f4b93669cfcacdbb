//! The part of a `SELECT` that runs on the core owning a partition: find the series,
//! decide tag conditions once per series, read the field columns, filter rows, and either
//! keep the rows (raw queries) or fold them into per-(group, window) reducers.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use tessera_influxql::{BinaryOp, DataType, Expr};
use tessera_storage::column::{Column, Values};
use tessera_storage::index::{tags_of, TagPredicate};
use tessera_storage::partition::Partition;

use crate::agg::Reducer;
use crate::cond::{CExpr, Resolver};
use crate::error::QueryError;
use crate::plan::SelectPlan;
use crate::value::Value;

/// Which output series a row belongs to: measurement and the values of the GROUP BY tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    pub measurement: String,
    pub tags: Vec<String>,
}

/// Rows of one input series (raw queries): the plan's fields, aligned on `times`.
#[derive(Debug, Clone)]
pub struct RawSeries {
    pub group: GroupKey,
    /// The shard the rows were read from (0 for a subquery's rows): influxd merges the
    /// series of each shard on its own, then the shards.
    pub shard: u64,
    pub series_key: Vec<u8>,
    pub tags: Arc<Vec<(String, String)>>,
    pub times: Vec<i64>,
    /// One column per plan field.
    pub cols: Vec<Vec<Value>>,
    /// Each row's place in its source's stream, when the source fixes the order of its
    /// rows (a subquery over aggregates): rows of one shard are then taken in this order
    /// rather than merged by time. `None` for rows read from storage.
    pub seq: Option<Vec<u64>>,
    /// The shard group within the source a subquery's rows came from (0 for rows read
    /// from storage, whose `shard` says it): each group's series merge on their own.
    pub part: u32,
    /// Over a subquery: the rows come from a measurement named beside the subqueries,
    /// which influxd's outer statement reads as storage (tags are aux values in the
    /// merge of its series).
    pub measured: bool,
}

/// The row a selector picked, for aux columns: the plan's fields and the series' tags.
#[derive(Debug, Clone)]
pub struct AuxRow {
    pub fields: Vec<Value>,
    pub tags: Arc<Vec<(String, String)>>,
}

/// A hash map keyed by the engine's own values (group keys, aux row ids): hashed with
/// `ahash`, which costs a fraction of the default SipHash on the per-row paths.
pub type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;

/// What one partition (or one core, merged) contributes.
#[derive(Default)]
pub struct Partial {
    pub raw: Vec<RawSeries>,
    /// group → window start → one reducer per call.
    pub groups: FastMap<GroupKey, BTreeMap<i64, Vec<Reducer>>>,
    pub aux: FastMap<u64, AuxRow>,
    /// Points read (for `max-select-point`).
    pub points: u64,
    /// Series read (for `max-select-series`).
    pub series: u64,
    /// What EXPLAIN reports: per shard and measurement read, its series and the storage
    /// behind each field read (only when the plan asks for it).
    pub explain: Vec<ExplainStat>,
    /// The plan's reducers before any point, cloned for each new window (built once per
    /// partial; never sent).
    pub protos: Vec<Reducer>,
    /// Under SLIMIT/SOFFSET: the groups of every series the tag condition selects,
    /// whether or not they hold data (influxd limits its tag sets before it reads).
    pub tag_sets: std::collections::BTreeSet<GroupKey>,
    /// Where full ties name a series (`SelectPlan::series_ties`): every series the
    /// tag condition selects, with the windows it has points in.
    pub presence: Vec<SeriesWindows>,
    /// The scan stopped noting `presence` (too many windows): ties answer the first
    /// series in key order.
    pub presence_overflow: bool,
    /// Windows noted in `presence` (never sent: the receiver counts them again).
    pub presence_windows: usize,
    /// Series the tag condition selected, with points in the range or not: influxd types
    /// its iterators by the field for each, so a call that cannot take the field's type
    /// fails even where no point is read.
    pub selected: u64,
}

/// One series of a shard and the windows it gives a point in (see
/// `tessera_functions::parallel_merge_windows`).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesWindows {
    pub shard: u64,
    pub group: GroupKey,
    pub key: Vec<u8>,
    /// Window starts, ascending.
    pub windows: Vec<i64>,
    /// The series' first and last point in the shard (`i64::MAX`, `i64::MIN` when it has
    /// none): which shard a tied point is in, where a window spans shards.
    pub first: i64,
    pub last: i64,
}

/// The most windows a partial notes for [`Partial::presence`] (8 bytes each).
pub const PRESENCE_MAX_WINDOWS: usize = 4 << 20;

/// FNV-1a, 64 bit.
pub fn fnv64a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// One measurement of one shard as EXPLAIN sees it (summed over the shard's partitions
/// on one core; the coordinator adds up the rest).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExplainStat {
    pub shard: u64,
    pub measurement: String,
    /// Series of the measurement matching the condition.
    pub series: u64,
    /// Their 64-bit hashes (FNV-1a of the series key), to count them once across shards.
    pub hashes: Vec<u64>,
    /// Per field read: files, blocks, block bytes and cached values in the time range.
    pub fields: Vec<(String, tessera_storage::partition::FieldStats)>,
}

impl Partial {
    /// Past [`PRESENCE_MAX_WINDOWS`] (or once overflowed) the partial stops noting
    /// presence and drops what it holds.
    fn cap_presence(&mut self) {
        if self.presence_overflow || self.presence_windows > PRESENCE_MAX_WINDOWS {
            self.presence_overflow = true;
            self.presence = Vec::new();
            self.presence_windows = 0;
        }
    }

    pub fn merge(&mut self, other: Partial) {
        self.raw.extend(other.raw);
        self.tag_sets.extend(other.tag_sets);
        self.selected += other.selected;
        self.presence_overflow |= other.presence_overflow;
        self.presence_windows += other
            .presence
            .iter()
            .map(|p| p.windows.len())
            .sum::<usize>();
        self.presence.extend(other.presence);
        self.cap_presence();
        self.points += other.points;
        self.series += other.series;
        self.explain.extend(other.explain);
        self.aux.extend(other.aux);
        for (g, windows) in other.groups {
            let mine = self.groups.entry(g).or_default();
            for (w, reducers) in windows {
                match mine.get_mut(&w) {
                    None => {
                        mine.insert(w, reducers);
                    }
                    Some(have) => {
                        for (a, b) in have.iter_mut().zip(reducers) {
                            a.merge(b);
                        }
                    }
                }
            }
        }
    }
}

/// Measurement names as series keys hold them.
pub fn escape_measurement(m: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len());
    for b in m.bytes() {
        if b == b',' || b == b' ' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

/// Tag keys and values as series keys hold them.
pub fn escape_tag(t: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.len());
    for b in t.bytes() {
        if b == b',' || b == b' ' || b == b'=' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

pub fn unescape(b: &[u8]) -> String {
    let owned = |v: Vec<u8>| {
        String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    };
    if !b.contains(&b'\\') {
        return owned(b.to_vec());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() && matches!(b[i + 1], b',' | b' ' | b'=') {
            i += 1;
        }
        out.push(b[i]);
        i += 1;
    }
    owned(out)
}

/// The tags of a series key, unescaped, in key order.
pub fn series_tags(key: &[u8]) -> Vec<(String, String)> {
    tags_of(key)
        .into_iter()
        .map(|(k, v)| (unescape(k), unescape(v)))
        .collect()
}

struct PlanResolver<'a> {
    fields: &'a [String],
    schema_fields: &'a std::collections::BTreeSet<String>,
}

impl Resolver for PlanResolver<'_> {
    fn field(&self, name: &str, ty: DataType) -> Option<usize> {
        if ty == DataType::Tag {
            return None;
        }
        let i = self.fields.iter().position(|f| f == name)?;
        if ty != DataType::Field && !self.schema_fields.contains(name) {
            return None;
        }
        // A name that is a field of any measurement read is the field in every one of
        // them, even where it is also (or only) a tag: influxd types a condition's names
        // once for the statement, fields before tags.
        Some(i)
    }
    fn is_tag(&self, _name: &str, _ty: DataType) -> bool {
        true
    }
}

/// A superset of the series the tag terms of `cond` select, for the index. `is_tag` says
/// which names are tags in this measurement.
pub fn index_predicate(cond: &Expr, is_tag: &dyn Fn(&str) -> bool) -> TagPredicate {
    index_predicate_with(cond, is_tag, &|_, _, _| false)
}

/// Whether the series [`index_predicate_with`] selects for `c` are exactly those `c`
/// matches: `c` is only `tag = 'value'` terms (tags the measurement has, non-empty
/// values) joined by AND and OR. Then no series needs the condition evaluated again —
/// which matters when it has thousands of terms.
pub fn index_exact(c: &Expr, is_tag: &dyn Fn(&str) -> bool) -> bool {
    match c {
        Expr::Paren(x) => index_exact(x, is_tag),
        Expr::Binary {
            op: BinaryOp::And | BinaryOp::Or,
            lhs,
            rhs,
        } => index_exact(lhs, is_tag) && index_exact(rhs, is_tag),
        Expr::Binary {
            op: BinaryOp::Eq,
            lhs,
            rhs,
        } => match (&**lhs, &**rhs) {
            (Expr::VarRef { name, data_type }, Expr::String(v))
            | (Expr::String(v), Expr::VarRef { name, data_type }) => {
                !v.is_empty()
                    && is_tag(name)
                    && matches!(data_type, DataType::Unknown | DataType::Tag)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Visits the stored (escaped) values of a tag that start with a prefix (escaped) with the
/// function given; false when they are not known.
pub type TagValues<'a> = &'a dyn Fn(&str, &[u8], &mut dyn FnMut(&[u8])) -> bool;

/// The text every match of `pattern` must start with (escaped as tag values are stored):
/// its literal prefix when it is anchored at the start (`^…`), else empty.
fn match_prefix(pattern: &str) -> Vec<u8> {
    escape_tag(&String::from_utf8_lossy(&literal_prefix(pattern)))
}

/// The longest literal text every match of a start-anchored pattern begins with.
fn literal_prefix(pattern: &str) -> Vec<u8> {
    use regex_syntax::hir::{literal::Extractor, Hir, HirKind, Look};
    let Ok(hir) = regex_syntax::Parser::new().parse(pattern) else {
        return Vec::new();
    };
    let HirKind::Concat(parts) = hir.kind() else {
        return Vec::new();
    };
    if !matches!(
        parts.first().map(Hir::kind),
        Some(HirKind::Look(Look::Start))
    ) {
        return Vec::new();
    }
    let rest = Hir::concat(parts[1..].to_vec());
    let seq = Extractor::new().extract(&rest);
    let Some(lits) = seq.literals() else {
        return Vec::new();
    };
    let mut lits = lits.iter().map(|l| l.as_bytes());
    let Some(first) = lits.next() else {
        return Vec::new();
    };
    let mut len = first.len();
    for l in lits {
        len = len.min(first.iter().zip(l).take_while(|(a, b)| a == b).count());
    }
    // Whole characters only.
    while len > 0 && std::str::from_utf8(&first[..len]).is_err() {
        len -= 1;
    }
    first[..len].to_vec()
}

/// A tag regex compiled, with the escaped prefix all its matches start with
/// ([`match_prefix`]).
type TagRegex = (regex::Regex, std::rc::Rc<[u8]>);

thread_local! {
    /// Tag regexes compiled on this core, by pattern (a dashboard repeats its queries).
    static REGEXES: std::cell::RefCell<std::collections::HashMap<String, TagRegex>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// `pattern` compiled with its prefix, from this core's cache when it was compiled before.
fn cached_regex(pattern: &str) -> Option<TagRegex> {
    if let Some(re) = REGEXES.with(|c| c.borrow().get(pattern).cloned()) {
        return Some(re);
    }
    let re = (
        regex::Regex::new(pattern).ok()?,
        match_prefix(pattern).into(),
    );
    REGEXES.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 256 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Some(re)
}

/// [`index_predicate`] that also narrows `tag =~ /re/` with the tag's values in this
/// measurement (`values(tag, visit)` visits the escaped values and answers false when
/// they are unknown).
pub fn index_predicate_with(
    cond: &Expr,
    is_tag: &dyn Fn(&str) -> bool,
    values: TagValues<'_>,
) -> TagPredicate {
    let index_predicate = |e: &Expr, t: &dyn Fn(&str) -> bool| index_predicate_with(e, t, values);
    match cond {
        Expr::Paren(e) => index_predicate(e, is_tag),
        Expr::Binary { op, lhs, rhs } => match op {
            BinaryOp::EqRegex => match (&**lhs, &**rhs) {
                (Expr::VarRef { name, data_type }, Expr::Regex(re))
                    if *data_type != DataType::Field && is_tag(name) =>
                {
                    let Some((compiled, prefix)) = cached_regex(&re.0) else {
                        return TagPredicate::All;
                    };
                    // A pattern that matches "" also matches series without the tag.
                    if compiled.is_match("") {
                        return TagPredicate::All;
                    }
                    let key = escape_tag(name);
                    let mut hits: Vec<Vec<u8>> = Vec::new();
                    let known = values(name, &prefix, &mut |v: &[u8]| {
                        // Stored values are escaped only where they hold `\`-escapes.
                        let hit = match std::str::from_utf8(v) {
                            Ok(s) if !v.contains(&b'\\') => compiled.is_match(s),
                            _ => compiled.is_match(&unescape(v)),
                        };
                        if hit {
                            hits.push(v.to_vec());
                        }
                    });
                    if !known {
                        return TagPredicate::All;
                    }
                    if hits.is_empty() {
                        // No value matches: a value no series has.
                        return TagPredicate::Eq(key, b"\0".to_vec());
                    }
                    TagPredicate::In(key, hits)
                }
                _ => TagPredicate::All,
            },
            BinaryOp::And => {
                let (a, b) = (index_predicate(lhs, is_tag), index_predicate(rhs, is_tag));
                match (a, b) {
                    (TagPredicate::All, x) | (x, TagPredicate::All) => x,
                    (a, b) => TagPredicate::And(Box::new(a), Box::new(b)),
                }
            }
            BinaryOp::Or => {
                let (a, b) = (index_predicate(lhs, is_tag), index_predicate(rhs, is_tag));
                match (a, b) {
                    (TagPredicate::All, _) | (_, TagPredicate::All) => TagPredicate::All,
                    (a, b) => TagPredicate::Or(Box::new(a), Box::new(b)),
                }
            }
            BinaryOp::Eq => match (&**lhs, &**rhs) {
                (Expr::VarRef { name, data_type }, Expr::String(v))
                | (Expr::String(v), Expr::VarRef { name, data_type })
                    if *data_type != DataType::Field && is_tag(name) =>
                {
                    TagPredicate::Eq(escape_tag(name), escape_tag(v))
                }
                _ => TagPredicate::All,
            },
            _ => TagPredicate::All,
        },
        _ => TagPredicate::All,
    }
}

fn to_values(c: &Column) -> Vec<Value> {
    match &c.values {
        Values::Float(v) => v.iter().map(|x| Value::Float(*x)).collect(),
        Values::Integer(v) => v.iter().map(|x| Value::Integer(*x)).collect(),
        Values::Unsigned(v) => v.iter().map(|x| Value::Unsigned(*x)).collect(),
        Values::Boolean(v) => v.iter().map(|x| Value::Boolean(*x)).collect(),
        Values::Str(v) => v
            .iter()
            .map(|x| Value::String(String::from_utf8_lossy(x).into_owned()))
            .collect(),
    }
}

/// Joins columns on time: the union of their timestamps, nulls where a column has none.
/// Aligned columns (`align`) with a row at every time of `points` too, null where no
/// column has a value.
fn with_points(
    times: Vec<i64>,
    rows: Vec<Vec<Value>>,
    points: &[i64],
) -> (Vec<i64>, Vec<Vec<Value>>) {
    let mut all: Vec<i64> = times.iter().chain(points).copied().collect();
    all.sort_unstable();
    all.dedup();
    if all.len() == times.len() {
        return (times, rows);
    }
    let rows = rows
        .into_iter()
        .map(|col| spread(&times, col, &all))
        .collect();
    (all, rows)
}

/// Values at `times` placed at their times in `all` (a sorted superset), null elsewhere.
fn spread(times: &[i64], values: Vec<Value>, all: &[i64]) -> Vec<Value> {
    let mut out = vec![Value::Null; all.len()];
    let mut j = 0;
    for (t, v) in times.iter().zip(values) {
        while all[j] < *t {
            j += 1;
        }
        out[j] = v;
    }
    out
}

pub fn align(cols: &[Option<Column>]) -> (Vec<i64>, Vec<Vec<Value>>) {
    let present: Vec<&Column> = cols.iter().flatten().collect();
    let same = present.windows(2).all(|w| w[0].ts == w[1].ts);
    if same {
        let times = present.first().map(|c| c.ts.clone()).unwrap_or_default();
        let n = times.len();
        let out = cols
            .iter()
            .map(|c| match c {
                Some(c) => to_values(c),
                None => vec![Value::Null; n],
            })
            .collect();
        return (times, out);
    }
    let mut times: Vec<i64> = present.iter().flat_map(|c| c.ts.iter().copied()).collect();
    times.sort_unstable();
    times.dedup();
    let out = cols
        .iter()
        .map(|c| match c {
            Some(c) => spread(&c.ts, to_values(c), &times),
            None => vec![Value::Null; times.len()],
        })
        .collect();
    (times, out)
}

/// Runs the partition's part of `plan`. `part_id` makes aux row ids unique across partitions.
pub async fn scan_partition(
    plan: &SelectPlan,
    part: &Partition,
    part_id: u32,
    cancel: &std::sync::atomic::AtomicBool,
) -> Result<Partial, QueryError> {
    let mut out = Partial::default();
    let resolver = PlanResolver {
        fields: &plan.fields,
        schema_fields: &plan.field_names,
    };
    let cond = match &plan.condition {
        Some(c) => Some(CExpr::compile(c, &resolver)?),
        None => None,
    };
    let mut aux_next: u64 = ((plan.id_base as u64) << 56) | ((part_id as u64) << 32);
    for m in &plan.measurements {
        let m_esc = escape_measurement(m);
        let exact: bool;
        let keys: Vec<Vec<u8>> = {
            let index = part.index();
            let tag_keys: Vec<Vec<u8>> = index
                .tag_keys(&m_esc)
                .into_iter()
                .map(<[u8]>::to_vec)
                .collect();
            // A name that is a field is read as the field, even where it is a tag too.
            let is_tag = |n: &str| {
                !plan.field_names.contains(n)
                    && tag_keys
                        .iter()
                        .any(|k| k.as_slice() == escape_tag(n).as_slice())
            };
            // A name that is also a field may be read as the field: not exact then.
            exact = plan
                .condition
                .as_ref()
                .is_some_and(|c| index_exact(c, &is_tag));
            let pred = match &plan.condition {
                Some(c) => index_predicate_with(
                    c,
                    &is_tag,
                    &|t: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8])| {
                        for v in index.tag_values_with_prefix(&m_esc, &escape_tag(t), prefix) {
                            f(v);
                        }
                        true
                    },
                ),
                None => TagPredicate::All,
            };
            // A condition that folded to `false` selects no series (EXPLAIN counts none).
            let never = matches!(plan.condition, Some(Expr::Boolean(false)));
            let mut keys: Vec<Vec<u8>> = if never {
                Vec::new()
            } else {
                index
                    .select(&m_esc, &pred)
                    .iter()
                    .filter_map(|id| index.key(id).map(<[u8]>::to_vec))
                    .collect()
            };
            keys.sort();
            if plan.explain != 0 && index.series_count(&m_esc) > 0 {
                let (min, max) = (plan.range.min, plan.range.max);
                let fields = plan
                    .fields
                    .iter()
                    .filter(|f| plan.field_names.contains(*f))
                    .map(|f| {
                        let name = f.as_bytes();
                        let mut st = tessera_storage::partition::FieldStats::default();
                        for k in &keys {
                            let x = part.field_stats(k, name, min, max);
                            st.files += x.files;
                            st.blocks += x.blocks;
                            st.bytes += x.bytes;
                            st.cached += x.cached;
                        }
                        (f.clone(), st)
                    })
                    .collect();
                out.explain.push(ExplainStat {
                    shard: 0,
                    measurement: m.clone(),
                    series: keys.len() as u64,
                    hashes: keys.iter().map(|k| fnv64a(k)).collect(),
                    fields,
                });
            }
            keys
        };
        if plan.explain == 1 {
            continue;
        }
        // The index selected exactly the matching series: nothing left to evaluate.
        let cond = if exact { &None } else { &cond };
        let bounded = (
            plan.raw_row_cap().filter(|_| plan.fields_answer_plainly()),
            plan.edge_calls(),
        );
        for (n, key) in keys.into_iter().enumerate() {
            if n % 64 == 63 {
                // Long scans let the core's other work (requests, mesh messages such as
                // SHOW QUERIES and KILL QUERY) run in between.
                glommio::executor().yield_now().await;
            }
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(QueryError::Killed);
            }
            let tags = Arc::new(series_tags(&key));
            let constant = series_constant(cond, m, &tags);
            if matches!(&constant, Some(v) if *v != Value::Boolean(true)) {
                continue;
            }
            // Under LIMIT with a condition on fields: the first rows that meet it, read
            // in growing windows from the range's start (end, descending).
            if let (Some(n), None) = (plan.raw_row_cap(), &constant) {
                if let Some(done) =
                    scan_growing(plan, part, cond, (m, &key, &tags), n, &mut aux_next).await?
                {
                    out.merge(done);
                    continue;
                }
            }
            let ranges = field_ranges(plan, part, &key, bounded, constant.is_none());
            let cols = read_fields(plan, part, &key, &ranges).await?;
            process_series(plan, cond, m, key, tags, cols, &[], &mut aux_next, &mut out)?;
        }
    }
    cut_raw_to_cap(plan, &mut out.raw);
    Ok(out)
}

/// A series' tags (key, value), unescaped, shared by the rows read from it.
type SeriesTags = Arc<Vec<(String, String)>>;

/// The plan's fields of a series, each within its ranges (ascending and apart).
async fn read_fields(
    plan: &SelectPlan,
    part: &Partition,
    key: &[u8],
    ranges: &[Vec<(i64, i64)>],
) -> Result<Vec<Option<Column>>, QueryError> {
    let mut cols: Vec<Option<Column>> = Vec::with_capacity(plan.fields.len());
    for (f, ranges) in plan.fields.iter().zip(ranges) {
        let mut col: Option<Column> = None;
        for (min, max) in ranges {
            let c = part
                .read_field(key, f.as_bytes(), *min, *max)
                .await
                .map_err(|e| QueryError::Storage(e.to_string()))?;
            extend_column(&mut col, c, false);
        }
        cols.push(col.filter(|c| !c.is_empty()));
    }
    Ok(cols)
}

/// The fewest points of a field a first window of [`scan_growing`] holds.
const GROWING_FROM: usize = 4096;

/// A series' first `n` rows under a condition on fields (LIMIT + OFFSET of a raw
/// statement): the fields are read in windows from the range's start (end, descending)
/// that grow to hold 4n points of some field (at least [`GROWING_FROM`]), then four
/// times as many, … until the rows read reach `n`;
/// when the files and memory cannot bound the next window, the rest of the range is
/// read. Every row up to the window's edge is read whole, so its first `n` rows are the
/// series'. Each part is read once. `None` when not even a first window is bounded
/// (then the whole range is read as usual).
async fn scan_growing(
    plan: &SelectPlan,
    part: &Partition,
    cond: &Option<CExpr>,
    (m, key, tags): (&str, &[u8], &SeriesTags),
    n: usize,
    aux_next: &mut u64,
) -> Result<Option<Partial>, QueryError> {
    let range = (plan.range.min, plan.range.max);
    // (A series of fewer points is read whole at once.)
    let mut want = n.saturating_mul(4).max(GROWING_FROM);
    // The columns read so far, and up to (from) where.
    let mut have: Option<(Vec<Option<Column>>, i64)> = None;
    loop {
        let bound = series_bound(plan, part, key, want);
        let edge = match (bound, &have) {
            (None, None) => return Ok(None),
            (None, Some(_)) if plan.descending => range.0,
            (None, Some(_)) => range.1,
            (Some(b), _) => b,
        };
        // The part not read yet.
        let fresh = match &have {
            Some((_, at)) if plan.descending => (edge, at.saturating_sub(1)),
            Some((_, at)) => (at.saturating_add(1), edge),
            None if plan.descending => (edge, range.1),
            None => (range.0, edge),
        };
        if fresh.0 > fresh.1 {
            // (One block holds them all: the same window again.)
            want = want.saturating_mul(4);
            continue;
        }
        let more = read_fields(plan, part, key, &vec![vec![fresh]; plan.fields.len()]).await?;
        let cols = match have.take() {
            None => more,
            Some((mut cols, _)) => {
                for (c, m) in cols.iter_mut().zip(more) {
                    extend_column(c, m, plan.descending);
                }
                cols
            }
        };
        let mut got = Partial::default();
        process_series(
            plan,
            cond,
            m,
            key.to_vec(),
            Arc::clone(tags),
            cols.clone(),
            &[],
            aux_next,
            &mut got,
        )?;
        let rows: usize = got.raw.iter().map(|r| r.times.len()).sum();
        if rows >= n
            || bound.is_none()
            || edge == range.0 && plan.descending
            || edge == range.1 && !plan.descending
        {
            return Ok(Some(got));
        }
        have = Some((cols, edge));
        want = want.saturating_mul(4);
        glommio::executor().yield_now().await;
    }
}

/// Adds a column's values read past what it holds (later ones; earlier ones when
/// `descending`). As one read does, the first column with values gives the type: a
/// column of another type is left out.
fn extend_column(have: &mut Option<Column>, more: Option<Column>, descending: bool) {
    match (have.as_mut(), more) {
        (_, None) => {}
        (None, more) => *have = more,
        (Some(h), Some(m)) if h.is_empty() => *h = m,
        (Some(h), Some(m)) if h.field_type() != m.field_type() => {}
        (Some(h), Some(mut m)) => {
            if descending {
                m.merge_newer(h);
                *h = m;
            } else {
                h.merge_newer(&m);
            }
        }
    }
}

/// The first time by which some field of the series surely has `n` values in the
/// query's range (from which, descending), from what the partition knows unread.
fn series_bound(plan: &SelectPlan, part: &Partition, key: &[u8], n: usize) -> Option<i64> {
    let range = (plan.range.min, plan.range.max);
    plan.fields
        .iter()
        .zip(&plan.field_types)
        .filter_map(|(f, want)| part.nth_time(key, f.as_bytes(), range, n, plan.descending, *want))
        .reduce(|a, b| if plan.descending { a.max(b) } else { a.min(b) })
}

/// Keeps a column's first `n` values in the query's time order (the last `n` when
/// descending).
fn keep_first_values(c: &mut Column, n: usize, descending: bool) {
    if c.len() <= n {
        return;
    }
    if n == 0 {
        c.retain_range(i64::MAX, i64::MIN);
    } else if descending {
        c.retain_range(c.ts[c.len() - n], i64::MAX);
    } else {
        c.retain_range(i64::MIN, c.ts[n - 1]);
    }
}

/// first() and last() without GROUP BY time (`SelectPlan::edge_calls`: `(firsts,
/// lasts)`) see only each series' first (last) two points of their field: a called
/// field keeps those at the ends its calls read; with aux values every field keeps the
/// rows from the start up to the latest second point of a first() call's field, and
/// from the earliest next-to-last point of a last() call's field, so those rows are
/// whole. (What was read is bounded by blocks; this cuts it to the points.)
fn trim_to_edges(plan: &SelectPlan, cols: &mut [Option<Column>], edge: (bool, bool)) {
    let all = (i64::MIN, i64::MAX);
    // A column of two points or fewer keeps all of them (an unknown bound).
    let bounds: Vec<(Needed, Needed)> = plan
        .fields
        .iter()
        .zip(cols.iter())
        .map(|(f, c)| {
            let Some(c) = c else {
                return (None, None);
            };
            let n = c.len();
            (
                called(plan, f, "first").then(|| (n > 2).then(|| c.ts[1])),
                called(plan, f, "last").then(|| (n > 2).then(|| c.ts[n - 2])),
            )
        })
        .collect();
    for (c, w) in cols.iter_mut().zip(edge_windows(plan, all, &bounds, edge)) {
        let Some(c) = c else { continue };
        match w.as_slice() {
            [(lo, hi)] if (*lo, *hi) != all => c.retain_range(*lo, *hi),
            [(_, upto), (from, _)] => c.remove_range(upto + 1, from - 1),
            _ => {}
        }
    }
}

/// A raw series' rows under LIMIT: only those that answer (some output reads a value
/// of the row), the first `n` of them in the query's time order. Every row kept then
/// counts towards the answer, which [`cut_raw_to_cap`] relies on.
fn first_answering_rows(
    plan: &SelectPlan,
    tags: &[(String, String)],
    rows: &mut [Vec<Value>],
    times: Vec<i64>,
    n: usize,
) -> Vec<i64> {
    let mut fields = vec![Value::Null; rows.len()];
    let mut keep = vec![false; times.len()];
    let order: Box<dyn Iterator<Item = usize>> = if plan.descending {
        Box::new((0..times.len()).rev())
    } else {
        Box::new(0..times.len())
    };
    let mut kept = 0;
    for i in order {
        if kept == n {
            break;
        }
        for (f, col) in fields.iter_mut().zip(rows.iter()) {
            *f = col[i].clone();
        }
        if plan
            .outputs
            .iter()
            .any(|o| crate::finish::present(o, &fields, tags))
        {
            keep[i] = true;
            kept += 1;
        }
    }
    if kept == times.len() {
        return times;
    }
    retain_rows(rows, &times, &keep)
}

/// Keeps the aligned rows (`rows[column][row]`) whose flag is set; their times.
fn retain_rows(rows: &mut [Vec<Value>], times: &[i64], keep: &[bool]) -> Vec<i64> {
    for c in rows.iter_mut() {
        let mut it = keep.iter();
        c.retain(|_| *it.next().expect("one flag per row"));
    }
    times
        .iter()
        .zip(keep)
        .filter(|(_, k)| **k)
        .map(|(t, _)| *t)
        .collect()
}

/// Under LIMIT (`SelectPlan::raw_row_cap`), cuts the raw rows of each output series to
/// what can reach its answer: with `n` = LIMIT + OFFSET and `c` the time of the group's
/// n-th row in the query's time order, every row up to `c` stays, and of each series
/// the one row after — the row the merge would take next from that series, so that
/// the merge (Go's heap, whose order of equal-time rows depends on what it holds)
/// orders the rows up to `c` exactly as over all rows. Every row kept must answer
/// (see [`first_answering_rows`]); the rows up to `c` must be all of them, which holds
/// for the output of this function too, so it can be applied at every level.
pub fn cut_raw_to_cap(plan: &SelectPlan, raw: &mut [RawSeries]) {
    let Some(n) = plan.raw_row_cap() else {
        return;
    };
    let mut by_group: FastMap<&GroupKey, Vec<usize>> = FastMap::default();
    for (i, r) in raw.iter().enumerate() {
        by_group.entry(&r.group).or_default().push(i);
    }
    let groups: Vec<Vec<usize>> = by_group.into_values().collect();
    for members in groups {
        let runs: Vec<&[i64]> = members.iter().map(|&i| raw[i].times.as_slice()).collect();
        let Some(keep) = cut_runs(&runs, n, plan.descending) else {
            continue;
        };
        for (i, k) in members.into_iter().zip(keep) {
            let r = &mut raw[i];
            r.times.truncate(k.end);
            r.times.drain(..k.start);
            for col in r.cols.iter_mut() {
                col.truncate(k.end);
                col.drain(..k.start);
            }
        }
    }
}

/// What [`cut_raw_to_cap`] keeps of each run (ascending times): `None` when the runs
/// hold at most `n` rows.
fn cut_runs(runs: &[&[i64]], n: usize, descending: bool) -> Option<Vec<std::ops::Range<usize>>> {
    let total: usize = runs.iter().map(|r| r.len()).sum();
    if n == 0 || total <= n {
        return None;
    }
    let mut all: Vec<i64> = runs.iter().flat_map(|r| r.iter().copied()).collect();
    let c = if descending {
        *all.select_nth_unstable_by(n - 1, |a, b| b.cmp(a)).1
    } else {
        *all.select_nth_unstable(n - 1).1
    };
    Some(
        runs.iter()
            .map(|r| {
                if descending {
                    r.partition_point(|&t| t < c).saturating_sub(1)..r.len()
                } else {
                    0..(r.partition_point(|&t| t <= c) + 1).min(r.len())
                }
            })
            .collect(),
    )
}

/// Keeps the first `n` points of column `fi` in scan order (the last `n` when
/// descending), and the other columns' points within the same times.
fn take_first_points(cols: &mut [Option<Column>], fi: usize, n: usize, descending: bool) {
    let Some(c) = cols.get(fi).and_then(Option::as_ref) else {
        return;
    };
    if c.len() <= n || n == 0 {
        return;
    }
    let (lo, hi) = if descending {
        (c.ts[c.len() - n], i64::MAX)
    } else {
        (i64::MIN, c.ts[n - 1])
    };
    for col in cols.iter_mut().flatten() {
        col.retain_range(lo, hi);
    }
}

/// [`take_first_points`] over aligned rows (`rows[column][row]`): the first `n` rows
/// where column `fi` has a value (the last `n` when descending), and the rows of other
/// columns within the same times.
fn take_first_rows(
    rows: &mut [Vec<Value>],
    times: Vec<i64>,
    fi: usize,
    n: usize,
    descending: bool,
) -> Vec<i64> {
    let Some(col) = rows.get(fi) else {
        return times;
    };
    let with: Vec<usize> = (0..times.len()).filter(|&i| !col[i].is_null()).collect();
    if with.len() <= n || n == 0 {
        return times;
    }
    let (lo, hi) = if descending {
        (times[with[with.len() - n]], i64::MAX)
    } else {
        (i64::MIN, times[with[n - 1]])
    };
    let keep: Vec<bool> = times.iter().map(|t| (lo..=hi).contains(t)).collect();
    for c in rows.iter_mut() {
        let mut it = keep.iter();
        c.retain(|_| *it.next().expect("one flag per row"));
    }
    times
        .into_iter()
        .filter(|t| (lo..=hi).contains(t))
        .collect()
}

/// One input series that is not in storage (a subquery's output series).
pub struct Frame {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    /// Field name → column.
    pub columns: Vec<(String, Column)>,
    /// The source (FROM item) the frame comes from: sources are merged by time like
    /// shards.
    pub source: u64,
    /// Time → place in the source's stream, sorted by time (a frame's times are unique),
    /// when the source fixes its row order.
    pub seq: Option<Vec<(i64, u64)>>,
    /// The shard group of the inner statement the rows were read from, when the outer
    /// statement merges them by time (0 otherwise).
    pub part: u32,
    /// The rows come from a measurement named beside the subqueries.
    pub measured: bool,
    /// The times of all the frame's rows, sorted: every row of an inner answer is a point
    /// to the outer statement, even one whose values are all null.
    pub points: Vec<i64>,
}

/// Runs `plan` over in-memory series (the outer query of a subquery).
pub fn scan_frames(plan: &SelectPlan, frames: Vec<Frame>) -> Result<Partial, QueryError> {
    let mut out = Partial::default();
    let resolver = PlanResolver {
        fields: &plan.fields,
        schema_fields: &plan.field_names,
    };
    let cond = match &plan.condition {
        Some(c) => Some(CExpr::compile(c, &resolver)?),
        None => None,
    };
    let mut aux_next: u64 = 1 << 60;
    // The inner statements read within the outer range; a row labelled before it (an
    // inner window that starts earlier) still counts, as in influxd, which does not
    // filter its subqueries' rows by time — except in an aggregate without GROUP BY
    // time, whose one window is the range (see `cut_groups`).
    let whole_range = plan.aggregate && plan.interval.is_none();
    let min = if whole_range {
        plan.range.min
    } else {
        crate::cond::MIN_TIME
    };
    let max = plan.range.max;
    let cut = if whole_range && plan.range.has_min() {
        cut_groups(plan, &cond, &frames)
    } else {
        Default::default()
    };
    for (i, f) in frames.into_iter().enumerate() {
        if !plan.measurements.contains(&f.measurement) || cut.contains(&i) {
            continue;
        }
        let tags = Arc::new(f.tags);
        if skip_series(&cond, &f.measurement, &tags) {
            continue;
        }
        let cols: Vec<Option<Column>> = plan
            .fields
            .iter()
            .map(|name| {
                f.columns.iter().find(|(n, _)| n == name).map(|(_, c)| {
                    let mut c = c.clone();
                    c.retain_range(min, max);
                    c
                })
            })
            .map(|c| c.filter(|c| !c.is_empty()))
            .collect();
        let key = format!("{}\0{i:08}", f.measurement).into_bytes();
        let pushed = out.raw.len();
        let points: Vec<i64> = f
            .points
            .iter()
            .copied()
            .filter(|t| (min..=max).contains(t))
            .collect();
        process_series(
            plan,
            &cond,
            &f.measurement,
            key,
            tags,
            cols,
            &points,
            &mut aux_next,
            &mut out,
        )?;
        for r in &mut out.raw[pushed..] {
            r.shard = f.source;
            r.part = f.part;
            r.measured = f.measured;
            r.seq = f.seq.as_ref().map(|seq| {
                r.times
                    .iter()
                    .map(|t| match seq.binary_search_by_key(t, |e| e.0) {
                        Ok(at) => seq[at].1,
                        Err(_) => u64::MAX,
                    })
                    .collect()
            });
        }
    }
    Ok(out)
}

/// The values of the tags `names` (empty for a tag the series does not have).
pub fn tag_values(tags: &[(String, String)], names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| tag_value(tags, n).to_string())
        .collect()
}

/// The value of tag `name` ("" when the series does not have it).
fn tag_value<'a>(tags: &'a [(String, String)], name: &str) -> &'a str {
    tags.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The frames an aggregate without GROUP BY time over subqueries never reads. influxd
/// reduces each FROM item's stream on its own, its groups in order (descending under
/// ORDER BY time DESC); a point before the range's start (an inner window labelled before
/// it) ends that stream: under ORDER BY time ASC it is the group's first point and the
/// group answers nothing, under DESC its last and the group answers the points before
/// it. The groups after it answer nothing either way.
fn cut_groups(
    plan: &SelectPlan,
    cond: &Option<CExpr>,
    frames: &[Frame],
) -> std::collections::HashSet<usize> {
    let group_of = |f: &Frame| GroupKey {
        measurement: f.measurement.clone(),
        tags: tag_values(&f.tags, &plan.group_tags),
    };
    let read = |f: &Frame| {
        plan.measurements.contains(&f.measurement) && !skip_series(cond, &f.measurement, &f.tags)
    };
    // The points the calls read: influxd's reduce iterator skips the rows without a
    // value in its column (a `fill(previous)` window with nothing before it), so where
    // every call reads one column only its values count; otherwise every row does.
    let column = plan
        .calls
        .first()
        .map(|c| c.field.as_str())
        .filter(|f| plan.calls.iter().all(|c| c.field == *f));
    fn read_times<'a>(f: &'a Frame, column: Option<&str>) -> &'a [i64] {
        match column {
            Some(name) => f
                .columns
                .iter()
                .find(|(n, _)| n == name)
                .map_or(&[], |(_, c)| c.ts.as_slice()),
            None => &f.points,
        }
    }
    let times = |f| read_times(f, column);
    // Per source: group → its earliest point.
    let mut earliest: BTreeMap<u64, BTreeMap<GroupKey, i64>> = BTreeMap::new();
    for f in frames.iter().filter(|f| read(f)) {
        if let Some(first) = times(f).iter().min() {
            let e = earliest
                .entry(f.source)
                .or_default()
                .entry(group_of(f))
                .or_insert(i64::MAX);
            *e = (*e).min(*first);
        }
    }
    let mut ends: BTreeMap<u64, GroupKey> = BTreeMap::new();
    for (source, groups) in earliest {
        let early = |(_, t): &(GroupKey, i64)| *t < plan.range.min;
        let end = if plan.descending {
            groups.into_iter().rev().find(early)
        } else {
            groups.into_iter().find(early)
        };
        if let Some((g, _)) = end {
            ends.insert(source, g);
        }
    }
    // Under DESC the ending group's stream stops at its early point: where the source
    // fixes the order (an inner fill read in blocks), the frames it streams after that
    // point answer nothing either.
    let mut stops: BTreeMap<u64, u64> = BTreeMap::new();
    if plan.descending {
        for f in frames.iter().filter(|f| read(f)) {
            let (Some(end), Some(seq)) = (ends.get(&f.source), &f.seq) else {
                continue;
            };
            if group_of(f) != *end {
                continue;
            }
            let read_times = times(f);
            if let Some(s) = seq
                .iter()
                .filter(|(t, _)| *t < plan.range.min && read_times.contains(t))
                .map(|(_, s)| *s)
                .min()
            {
                let stop = stops.entry(f.source).or_insert(u64::MAX);
                *stop = (*stop).min(s);
            }
        }
    }
    frames
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            ends.get(&f.source).is_some_and(|end| {
                let g = group_of(f);
                if plan.descending {
                    g < *end
                        || (g == *end
                            && stops.get(&f.source).is_some_and(|stop| {
                                f.seq
                                    .as_ref()
                                    .and_then(|seq| seq.iter().map(|(_, s)| *s).min())
                                    .is_some_and(|first| first > *stop)
                            }))
                } else {
                    g >= *end
                }
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether the tag terms of the condition rule the series out.
/// What the condition is for every row of a series when its tags alone decide it (no
/// condition: true); `None` when it reads the rows' fields.
fn series_constant(cond: &Option<CExpr>, m: &str, tags: &[(String, String)]) -> Option<Value> {
    match cond {
        Some(c) => {
            let b = c.bind(&|k: &str| {
                if k == "_name" {
                    return Some(m.to_string());
                }
                tags.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone())
            });
            b.constant().cloned()
        }
        None => Some(Value::Boolean(true)),
    }
}

fn skip_series(cond: &Option<CExpr>, m: &str, tags: &[(String, String)]) -> bool {
    matches!(series_constant(cond, m, tags), Some(v) if v != Value::Boolean(true))
}

/// The parts of the query's range each field of a series is read in (one or two,
/// ascending and apart), as far as the partition knows without reading (see
/// `Partition::nth_time`):
/// - under LIMIT (`cap`), when every value of a field read answers (no condition on
///   fields), the first time by which some field surely has LIMIT + OFFSET values bounds
///   the series' first LIMIT + OFFSET answering rows, for every field;
/// - for calls that are all first() or last() (`edge`, see `SelectPlan::edge_calls`),
///   each call's field's first (last) two points are all its call can see: each field
///   is read up to its own bound (from it, for last()), or with aux values every field
///   up to the widest bound of the calls' fields, so the rows there are whole.
fn field_ranges(
    plan: &SelectPlan,
    part: &Partition,
    key: &[u8],
    (cap, edge): (Option<usize>, Option<(bool, bool)>),
    field_cond: bool,
) -> Vec<Vec<(i64, i64)>> {
    let range = (plan.range.min, plan.range.max);
    let whole = vec![vec![range]; plan.fields.len()];
    if field_cond {
        return whole;
    }
    if let Some(n) = cap {
        let capped = match series_bound(plan, part, key, n) {
            Some(b) if plan.descending => (b, range.1),
            Some(b) => (range.0, b),
            None => range,
        };
        return vec![vec![capped]; plan.fields.len()];
    }
    let Some((firsts, lasts)) = edge else {
        return whole;
    };
    let bounds: Vec<(Needed, Needed)> = plan
        .fields
        .iter()
        .zip(&plan.field_types)
        .map(|(f, want)| {
            let bound = |latest| part.nth_time(key, f.as_bytes(), range, 2, latest, *want);
            (
                called(plan, f, "first").then(|| bound(false)),
                called(plan, f, "last").then(|| bound(true)),
            )
        })
        .collect();
    edge_windows(plan, range, &bounds, (firsts, lasts))
}

/// Where a call needs a field's first (last) two points: the bound of them, `None` when
/// unknown (`None` overall: no call needs that end).
type Needed = Option<Option<i64>>;

/// Whether a call named `name` reads field `f`.
fn called(plan: &SelectPlan, f: &str, name: &str) -> bool {
    plan.calls.iter().any(|c| c.name == name && c.field == f)
}

/// The parts of `range` each field keeps for first()/last() calls (`(firsts, lasts)`),
/// from each field's bounds (`bounds`, in the plan's field order): up to its first
/// two points, from its last two, both, or all of it where a needed bound is unknown.
/// With aux values every field keeps the widest parts the calls' fields need, so the
/// rows there are whole.
fn edge_windows(
    plan: &SelectPlan,
    range: (i64, i64),
    bounds: &[(Needed, Needed)],
    (firsts, lasts): (bool, bool),
) -> Vec<Vec<(i64, i64)>> {
    let windows = |first: Needed, last: Needed| -> Vec<(i64, i64)> {
        match (first, last) {
            (Some(None), _) | (_, Some(None)) | (None, None) => vec![range],
            (Some(Some(f)), None) => vec![(range.0, f)],
            (None, Some(Some(l))) => vec![(l, range.1)],
            (Some(Some(f)), Some(Some(l))) if f < l => vec![(range.0, f), (l, range.1)],
            _ => vec![range],
        }
    };
    if plan.aux {
        // (A call's field with no bound known: everything.)
        let widest = |latest: bool| -> Option<i64> {
            let mut out = None;
            for b in bounds.iter().filter_map(|b| if latest { b.1 } else { b.0 }) {
                let b = b?;
                out = Some(match out {
                    None => b,
                    Some(o) if latest => b.min(o),
                    Some(o) => b.max(o),
                });
            }
            out
        };
        let first = firsts.then(|| widest(false));
        let last = lasts.then(|| widest(true));
        return vec![windows(first, last); bounds.len()];
    }
    bounds.iter().map(|(f, l)| windows(*f, *l)).collect()
}

/// influxql's order of data types (float, integer, string, boolean, unsigned): a field
/// stored with several types across shards is read as the first of them.
pub fn type_rank(t: tessera_storage::batch::FieldType) -> u8 {
    use tessera_storage::batch::FieldType as F;
    match t {
        F::Float => 1,
        F::Integer => 2,
        F::String => 3,
        F::Boolean => 4,
        F::Unsigned => 9,
    }
}

/// A column read as type `want`: numbers converted as influxd's cursors convert them,
/// anything else not read at all (influxd drops an iterator it cannot cast).
pub fn coerce(col: Column, want: tessera_storage::batch::FieldType) -> Option<Column> {
    use tessera_storage::batch::FieldType as F;
    use tessera_storage::column::Values as V;
    if col.field_type() == want {
        return Some(col);
    }
    let Column { ts, values, .. } = col;
    let vals = match (values, want) {
        (V::Integer(v), F::Float) => V::Float(v.into_iter().map(|x| x as f64).collect()),
        (V::Unsigned(v), F::Float) => V::Float(v.into_iter().map(|x| x as f64).collect()),
        (V::Unsigned(v), F::Integer) => V::Integer(v.into_iter().map(|x| x as i64).collect()),
        (V::Float(v), F::Integer) => V::Integer(v.into_iter().map(|x| x as i64).collect()),
        _ => return None,
    };
    Some(Column::from_sorted(ts, vals))
}

/// A call's argument `x::type` as influxd's engine reads it: float, integer and unsigned
/// convert into each other; any other type that is not the column's reads nothing.
fn cast_column(col: &Column, ty: tessera_influxql::DataType) -> Option<Column> {
    use tessera_influxql::DataType as T;
    use tessera_storage::batch::FieldType as F;
    use tessera_storage::column::Values as V;
    let want = match ty {
        T::Float => F::Float,
        T::Integer => F::Integer,
        T::Unsigned => F::Unsigned,
        T::String => F::String,
        T::Boolean => F::Boolean,
        _ => return None,
    };
    if col.field_type() == want {
        return Some(col.clone());
    }
    let vals = match (&col.values, want) {
        (V::Integer(v), F::Float) => V::Float(v.iter().map(|&x| x as f64).collect()),
        (V::Unsigned(v), F::Float) => V::Float(v.iter().map(|&x| x as f64).collect()),
        (V::Float(v), F::Integer) => V::Integer(v.iter().map(|&x| x as i64).collect()),
        (V::Unsigned(v), F::Integer) => V::Integer(v.iter().map(|&x| x as i64).collect()),
        (V::Float(v), F::Unsigned) => V::Unsigned(v.iter().map(|&x| x as u64).collect()),
        (V::Integer(v), F::Unsigned) => V::Unsigned(v.iter().map(|&x| x as u64).collect()),
        _ => return None,
    };
    Some(Column::from_sorted(col.ts.clone(), vals))
}

/// `points`: times the series has a row at even where the columns have no value (the
/// rows of an inner answer, sorted; empty for storage).
#[allow(clippy::too_many_arguments)]
fn process_series(
    plan: &SelectPlan,
    cond: &Option<CExpr>,
    m: &str,
    key: Vec<u8>,
    tags: Arc<Vec<(String, String)>>,
    cols: Vec<Option<Column>>,
    points: &[i64],
    aux_next: &mut u64,
    out: &mut Partial,
) -> Result<(), QueryError> {
    let lookup = |k: &str| {
        if k == "_name" {
            return Some(m.to_string());
        }
        tags.iter().find(|(tk, _)| tk == k).map(|(_, v)| v.clone())
    };
    let row_cond = match cond {
        Some(c) => {
            let b = c.bind(&lookup);
            match b.constant() {
                Some(Value::Boolean(true)) => None,
                Some(_) => return Ok(()),
                None => Some(b),
            }
        }
        None => None,
    };
    let group = GroupKey {
        measurement: m.to_string(),
        tags: plan
            .group_tags
            .iter()
            .map(|t| lookup(t).unwrap_or_default())
            .collect(),
    };
    if plan.slimit > 0 || plan.soffset > 0 {
        out.tag_sets.insert(group.clone());
    }
    out.selected += 1;
    if plan.series_ties() && !out.presence_overflow {
        // Every series the condition selects counts where influxd cuts a tag set's
        // series into parts, with points in the range or not (`fold_rows` adds its
        // windows).
        out.presence.push(SeriesWindows {
            shard: 0,
            group: group.clone(),
            key: key.clone(),
            windows: Vec::new(),
            first: i64::MAX,
            last: i64::MIN,
        });
    }
    // top()/bottom() under LIMIT read the first points of a series per shard — of the
    // points a field condition keeps, so with one the take waits for the condition.
    let mut cols = cols;
    if let (Some((fi, n)), None) = (plan.top_take, &row_cond) {
        take_first_points(&mut cols, fi, n, plan.descending);
    }
    let cols: Vec<Option<Column>> = if cols
        .iter()
        .zip(&plan.field_types)
        .any(|(c, t)| matches!((c, t), (Some(c), Some(t)) if c.field_type() != *t))
    {
        cols.into_iter()
            .zip(&plan.field_types)
            .map(|(c, t)| match (c, t) {
                (Some(c), Some(t)) => coerce(c, *t),
                (c, _) => c,
            })
            .collect()
    } else {
        cols
    };
    // Under LIMIT a series gives at most its first LIMIT + OFFSET answering rows; when
    // every value read answers, those lie within each column's first as many values.
    let cap = plan.raw_row_cap();
    let mut cols = cols;
    if let (Some(n), None) = (cap, &row_cond) {
        if plan.fields_answer_plainly() {
            for c in cols.iter_mut().flatten() {
                keep_first_values(c, n, plan.descending);
            }
        }
    }
    if let (Some(edge), None) = (plan.edge_calls(), &row_cond) {
        trim_to_edges(plan, &mut cols, edge);
    }
    // (Only a statement that selects a field the inner one answers reads its rows.)
    let points = if plan.aggregate
        || plan.outputs.is_empty()
        || plan.field_types.iter().all(Option::is_none)
    {
        &[]
    } else {
        points
    };
    if cols.iter().all(Option::is_none) && points.is_empty() {
        return Ok(());
    }
    out.series += 1;
    if plan.aggregate
        && row_cond.is_none()
        && !plan.aux
        && !plan.raw_transforms
        && plan.top_take.is_none()
    {
        return fold_columns(plan, &group, &key, &cols, out);
    }
    let (times, rows) = align(&cols);
    let (times, mut rows) = if points.is_empty() || plan.aggregate {
        (times, rows)
    } else {
        with_points(times, rows, points)
    };
    out.points += times.len() as u64 * cols.iter().flatten().count() as u64;
    let keep: Option<Vec<bool>> = row_cond.as_ref().map(|c| {
        let mut row = vec![Value::Null; rows.len()];
        (0..times.len())
            .map(|i| {
                for (j, col) in rows.iter().enumerate() {
                    row[j] = col[i].clone();
                }
                c.truthy(&row)
            })
            .collect()
    });
    let times: Vec<i64> = match &keep {
        Some(k) => retain_rows(&mut rows, &times, k),
        None => times,
    };
    let times = match (plan.top_take, &keep) {
        (Some((fi, n)), Some(_)) => take_first_rows(&mut rows, times, fi, n, plan.descending),
        _ => times,
    };
    let times = match cap {
        Some(n) => first_answering_rows(plan, &tags, &mut rows, times, n),
        None => times,
    };
    if times.is_empty() {
        return Ok(());
    }
    // top()/bottom() under LIMIT: influxd's take is over the group's points of each
    // shard merged by time, so the rows wait for the group's other series
    // (`take_group_rows`).
    let deferred = plan.aggregate && plan.top_take.is_some();
    if plan.aggregate && !deferred {
        fold_rows(plan, &group, &key, &times, &rows, &tags, aux_next, out)?;
    }
    // Raw answers keep the rows; so do aggregates beside transformations of raw values.
    if !plan.aggregate || plan.raw_transforms || deferred {
        out.raw.push(RawSeries {
            group,
            shard: 0,
            series_key: key,
            tags,
            times,
            cols: rows,
            seq: None,
            part: 0,
            measured: false,
        });
    }
    Ok(())
}

fn window_of(plan: &SelectPlan, t: i64) -> i64 {
    match &plan.interval {
        Some(_) => plan.window(t).0,
        None => plan.range.min,
    }
}

/// The narrower range call `ci` reads when the plan's range was widened for others.
fn call_range(plan: &SelectPlan, ci: usize) -> Option<crate::cond::TimeRange> {
    match plan.own_range {
        Some(r) if !plan.call_reads_back.get(ci).copied().unwrap_or(true) => Some(r),
        _ => None,
    }
}

fn reducers_for<'a>(
    plan: &SelectPlan,
    out: &'a mut Partial,
    group: &GroupKey,
    window: i64,
) -> Result<&'a mut Vec<Reducer>, QueryError> {
    // Looked up before inserting: a query reaches the same group once per window and
    // series, and cloning its key each time costs more than the lookup.
    if !out.groups.contains_key(group) {
        out.groups.insert(group.clone(), BTreeMap::new());
    }
    let windows = out.groups.get_mut(group).expect("inserted above");
    match windows.entry(window) {
        std::collections::btree_map::Entry::Occupied(e) => Ok(e.into_mut()),
        std::collections::btree_map::Entry::Vacant(e) => {
            if out.protos.len() != plan.calls.len() {
                out.protos = plan
                    .calls
                    .iter()
                    .map(|c| {
                        Reducer::new(c).map(|r| {
                            let mut r = r
                                .with_anonymous_ties(!plan.aux)
                                .with_edge_take(edge_take(plan))
                                .with_deferred_type_errors(plan.slimit > 0 || plan.soffset > 0);
                            if plan.series_ties() {
                                r.track_series_ties();
                            }
                            r
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
            }
            let rs = out.protos.clone();
            Ok(e.insert(rs))
        }
    }
}

/// first() and last() of a statement that reads a measurement without GROUP BY time:
/// influxd's engine lets LIMIT + 1 = 2 points of each shard's merged series through
/// (see `tessera_functions::Reducer::set_edge_take`).
fn edge_take(plan: &SelectPlan) -> Option<usize> {
    (plan.interval.is_none() && !plan.over_subquery).then_some(2)
}

/// Fast path: no row condition and no aux columns, so each call reads its column directly.
/// Every push names the series (`key`): the reducers order series by key, so the result
/// does not depend on how series are spread over partitions, cores and nodes.
fn fold_columns(
    plan: &SelectPlan,
    group: &GroupKey,
    key: &[u8],
    cols: &[Option<Column>],
    out: &mut Partial,
) -> Result<(), QueryError> {
    for (ci, call) in plan.calls.iter().enumerate() {
        let fi = plan
            .fields
            .iter()
            .position(|f| *f == call.field)
            .expect("call fields are plan fields");
        let Some(col) = &cols[fi] else { continue };
        out.points += col.ts.len() as u64;
        let cast;
        let col = match call.cast {
            Some(ty) => match cast_column(col, ty) {
                Some(c) => {
                    cast = c;
                    &cast
                }
                None => continue,
            },
            None => col,
        };
        // Calls that do not feed a transformation reading back read the range as written.
        let (mut start, stop) = match call_range(plan, ci) {
            Some(r) => (
                col.ts.partition_point(|t| *t < r.min),
                col.ts.partition_point(|t| *t <= r.max),
            ),
            None => (0, col.ts.len()),
        };
        while start < stop {
            let w = window_of(plan, col.ts[start]);
            let end = match &plan.interval {
                Some(_) => {
                    let next = plan.window(col.ts[start]).1;
                    start + col.ts[start..stop].partition_point(|t| *t < next)
                }
                None => stop,
            };
            let rs = reducers_for(plan, out, group, w)?;
            rs[ci].push_column(&col.ts[start..end], &col.values, start..end, 0, key)?;
            start = end;
        }
    }
    Ok(())
}

/// General path over aligned, filtered rows of series `key`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fold_rows(
    plan: &SelectPlan,
    group: &GroupKey,
    key: &[u8],
    times: &[i64],
    rows: &[Vec<Value>],
    tags: &Arc<Vec<(String, String)>>,
    aux_next: &mut u64,
    out: &mut Partial,
) -> Result<(), QueryError> {
    let call_fields: Vec<usize> = plan
        .calls
        .iter()
        .map(|c| {
            plan.fields
                .iter()
                .position(|f| *f == c.field)
                .expect("call fields are plan fields")
        })
        .collect();
    // top(x, tag…, N)'s key: the series' values of the call's tags, the same for every row,
    // in the order of the tags' names (influxd ranks the per-tag winners by its tag-set id,
    // which lists the values so).
    let tag_keys: Vec<String> = plan
        .calls
        .iter()
        .map(|c| {
            let mut names: Vec<&String> = c.tags.iter().collect();
            names.sort();
            names
                .into_iter()
                .map(|k| tag_value(tags, k))
                .collect::<Vec<&str>>()
                .join("\u{0}")
        })
        .collect();
    // Row i's aux id is floor + i. Only the rows some reducer still holds get their
    // AuxRow, once the series is pushed: a selector keeps one row of many.
    let floor = *aux_next;
    let mut touched: Vec<i64> = Vec::new();
    let note_windows = plan.series_ties() && !out.presence_overflow;
    let mut pushed_windows: Vec<i64> = Vec::new();
    for (i, t) in times.iter().enumerate() {
        let aux = if plan.aux {
            let id = *aux_next;
            *aux_next += 1;
            id
        } else {
            0
        };
        let w = window_of(plan, *t);
        if plan.aux && touched.last() != Some(&w) {
            touched.push(w);
        }
        let rs = reducers_for(plan, out, group, w)?;
        for (ci, fi) in call_fields.iter().enumerate() {
            let cast;
            let v = match plan.calls[ci].cast {
                Some(ty) => {
                    cast = crate::finish::cast(rows[*fi][i].clone(), ty);
                    &cast
                }
                None => &rows[*fi][i],
            };
            if matches!(call_range(plan, ci), Some(r) if *t < r.min || *t > r.max) {
                continue;
            }
            if !v.is_null() {
                rs[ci].push(*t, v, aux, &tag_keys[ci], key)?;
                if note_windows && pushed_windows.last() != Some(&w) {
                    pushed_windows.push(w);
                }
            }
        }
    }
    if note_windows {
        if let Some(p) = out.presence.last_mut().filter(|p| p.key == key) {
            if !pushed_windows.is_empty() {
                if let (Some(a), Some(b)) = (times.first(), times.last()) {
                    p.first = p.first.min(*a.min(b));
                    p.last = p.last.max(*a.max(b));
                }
            }
            out.presence_windows += pushed_windows.len();
            p.windows.extend(pushed_windows);
            out.cap_presence();
        }
    }
    if plan.aux {
        touched.sort_unstable();
        touched.dedup();
        let mut live: Vec<u64> = Vec::new();
        if let Some(windows) = out.groups.get(group) {
            for w in &touched {
                for r in windows.get(w).into_iter().flatten() {
                    r.retained_aux_since(floor, &mut |id| live.push(id));
                }
            }
        }
        live.sort_unstable();
        live.dedup();
        for id in live {
            let Some(i) = usize::try_from(id - floor)
                .ok()
                .filter(|i| *i < times.len())
            else {
                continue;
            };
            out.aux.insert(
                id,
                AuxRow {
                    fields: rows.iter().map(|c| c[i].clone()).collect(),
                    tags: Arc::clone(tags),
                },
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_equalities_are_exact_in_the_index() {
        let exact = |c: &str| {
            let e = tessera_influxql::parse_expr(c).unwrap();
            index_exact(&e, &|n: &str| n == "host" || n == "region")
        };
        assert!(exact("host = 'a'"));
        assert!(exact("(host = 'a' OR host = 'b') AND region = 'r'"));
        assert!(exact("'a' = host OR (region = 'x')"));
        assert!(!exact("host = ''"), "empty value: series without the tag");
        assert!(!exact("host != 'a'"));
        assert!(!exact("host =~ /a/"));
        assert!(!exact("usage > 1 OR host = 'a'"), "not a tag");
        assert!(!exact("host = 'a' AND time > 0"));
        assert!(!exact("host::field = 'a'"));
    }

    #[test]
    fn cut_runs_keep_the_merge_order_of_the_first_rows() {
        // Random runs with many equal times, merged as influxd's heap merges them
        // (no tie-break: the heap's history decides): the first n rows of the merge of
        // the cut runs are those of the merge of all rows.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for round in 0..400 {
            let runs: Vec<Vec<i64>> = (0..1 + rand(12))
                .map(|_| {
                    let mut r: Vec<i64> = (0..rand(15)).map(|_| rand(20) as i64).collect();
                    r.sort_unstable();
                    r.dedup();
                    r
                })
                .collect();
            let descending = round % 2 == 1;
            let n = 1 + rand(25) as usize;
            let order = |runs: &[Vec<i64>]| -> Vec<(usize, i64)> {
                let ordered: Vec<Vec<i64>> = runs
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        if descending {
                            r.reverse();
                        }
                        r
                    })
                    .collect();
                let refs: Vec<&[i64]> = ordered.iter().map(Vec::as_slice).collect();
                tessera_functions::merge_order_by(&refs, descending, |_, _| false)
                    .into_iter()
                    .map(|(run, at)| (run, ordered[run][at]))
                    .collect()
            };
            let refs: Vec<&[i64]> = runs.iter().map(Vec::as_slice).collect();
            let Some(keep) = cut_runs(&refs, n, descending) else {
                assert!(runs.iter().map(Vec::len).sum::<usize>() <= n);
                continue;
            };
            let cut: Vec<Vec<i64>> = runs
                .iter()
                .zip(&keep)
                .map(|(r, k)| r[k.clone()].to_vec())
                .collect();
            let (full, part) = (order(&runs), order(&cut));
            assert!(part.len() >= n, "{runs:?} {n}");
            assert_eq!(full[..n], part[..n], "{runs:?} {n} {descending}");
            // Applied again to its own output, the cut keeps the same first rows.
            let refs: Vec<&[i64]> = cut.iter().map(Vec::as_slice).collect();
            if let Some(again) = cut_runs(&refs, n, descending) {
                let twice: Vec<Vec<i64>> = cut
                    .iter()
                    .zip(&again)
                    .map(|(r, k)| r[k.clone()].to_vec())
                    .collect();
                assert_eq!(full[..n], order(&twice)[..n], "{runs:?} {n} {descending}");
            }
        }
    }

    /// A plan of `q` over measurement `m` with float fields `v` and `w` and tag `host`.
    fn plan_of(q: &str) -> SelectPlan {
        let tessera_influxql::Statement::Select(stmt) =
            tessera_influxql::parse_statement(q).expect("parses")
        else {
            panic!("not a SELECT: {q}");
        };
        let mut m = crate::plan::MeasurementSchema::default();
        for f in ["v", "w"] {
            m.fields
                .insert(f.to_string(), tessera_storage::batch::FieldType::Float);
        }
        m.tags.insert("host".to_string());
        let schema: crate::plan::Schema = [("m".to_string(), m)].into_iter().collect();
        crate::plan::plan_select(&stmt, vec!["m".to_string()], &schema, 0).expect("plans")
    }

    fn column(ts: &[i64]) -> Option<Column> {
        Some(Column::from_sorted(
            ts.to_vec(),
            Values::Float(ts.iter().map(|t| *t as f64).collect()),
        ))
    }

    fn times(cols: &[Option<Column>]) -> Vec<Vec<i64>> {
        cols.iter()
            .map(|c| c.as_ref().map(|c| c.ts.clone()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn edges_keep_the_two_points_the_selector_sees() {
        // The edge selector keeps each series' first (last) two points of its field
        // (`tessera_functions` edge.rs), so the cut keeps exactly those: with aux
        // values, every field's rows from (up to) the call field's second point.
        let cut = |q: &str, cols: Vec<Option<Column>>| {
            let plan = plan_of(q);
            let edge = plan.edge_calls().expect("edge calls");
            let mut cols = cols;
            // Columns in the plan's field order.
            assert!(cols.len() >= plan.fields.len(), "{:?}", plan.fields);
            cols.truncate(plan.fields.len());
            trim_to_edges(&plan, &mut cols, edge);
            (plan.fields.clone(), times(&cols))
        };
        let v = [10, 20, 30, 40, 50, 60];
        let (_, t) = cut("SELECT last(v) FROM m", vec![column(&v)]);
        assert_eq!(t, vec![vec![50, 60]]);
        let (_, t) = cut("SELECT first(v) FROM m", vec![column(&v)]);
        assert_eq!(t, vec![vec![10, 20]]);
        let (_, t) = cut("SELECT first(v), last(v) FROM m", vec![column(&v)]);
        assert_eq!(t, vec![vec![10, 20, 50, 60]]);
        // Two points or fewer: all kept.
        let (_, t) = cut("SELECT last(v) FROM m", vec![column(&[5, 7])]);
        assert_eq!(t, vec![vec![5, 7]]);
        // Aux values: the other field keeps the rows at and after v's next-to-last point.
        let (fields, t) = cut(
            "SELECT last(v), w FROM m",
            vec![column(&v), column(&[15, 35, 45, 55, 65])],
        );
        assert_eq!(fields, vec!["v".to_string(), "w".to_string()]);
        assert_eq!(t, vec![vec![50, 60], vec![55, 65]]);
        let (_, t) = cut(
            "SELECT first(v), w FROM m",
            vec![column(&v), column(&[5, 15, 25, 35])],
        );
        assert_eq!(t, vec![vec![10, 20], vec![5, 15]]);
        // Without aux values each call's field is cut on its own.
        let (fields, t) = cut(
            "SELECT first(v), last(w) FROM m",
            vec![column(&v), column(&[1, 2, 3, 4])],
        );
        assert_eq!(fields, vec!["v".to_string(), "w".to_string()]);
        assert_eq!(t, vec![vec![10, 20], vec![3, 4]]);
    }

    #[test]
    fn regex_prefixes_bound_the_values_visited() {
        let p = |re: &str| String::from_utf8(literal_prefix(re)).unwrap();
        assert_eq!(p("^host_1[0-9]$"), "host_1");
        assert_eq!(p("^(abc|abd)"), "ab");
        assert_eq!(p("^a.*"), "a");
        assert_eq!(p("^é[12]"), "é");
        assert_eq!(p("host_1"), "", "not anchored");
        assert_eq!(p("(?m)^abc"), "", "line anchor");
        assert_eq!(p("^a|^b"), "");
        assert_eq!(p("(?i)^host"), "");
        assert_eq!(p("^"), "");
        assert_eq!(p("^[a-z]x"), "");
        assert_eq!(p("^("), "", "unparsable");
        assert_eq!(match_prefix("^a b,c"), b"a\\ b\\,c".to_vec());
    }
}
