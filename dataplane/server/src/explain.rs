//! `EXPLAIN` and `EXPLAIN ANALYZE`: what a SELECT reads, in influxd 1.6's shapes.
//!
//! `EXPLAIN` answers one block of lines per iterator influxd would create (one per call
//! pushed to storage, or one for the fields of a raw query, times each measurement read):
//! `EXPRESSION`, `AUXILIARY FIELDS`, `NUMBER OF SHARDS`, `NUMBER OF SERIES`, `CACHED
//! VALUES`, `NUMBER OF FILES`, `NUMBER OF BLOCKS`, `SIZE OF BLOCKS`, blocks separated by an
//! empty line. The storage figures are Tessera's own (its files, blocks and cache), read
//! from the file indexes without reading data. `EXPLAIN ANALYZE` runs the query and
//! answers influxd's tree: times, the statement as planned, and per iterator and shard the
//! cursors and the blocks of each type read.

use std::collections::{BTreeMap, BTreeSet};

use tessera_influxql::{DataType, Expr, Source};
use tessera_query::exec::ExplainStat;
use tessera_query::output::Series;
use tessera_query::plan::{data_type, CallSpec, OExpr, SelectPlan};
use tessera_query::Value;
use tessera_storage::batch::FieldType;
use tessera_storage::partition::FieldStats;

use tessera_query::plan::Schema;

/// Calls influxd pushes down to storage (its iterator carries the call); every other
/// function reads the raw field and reduces it above storage.
const PUSHED: &[&str] = &["count", "min", "max", "sum", "first", "last", "mean"];

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Float => "float",
        FieldType::Integer => "integer",
        FieldType::Unsigned => "unsigned",
        FieldType::String => "string",
        FieldType::Boolean => "boolean",
    }
}

/// The type of a name in the schema: a field of any measurement read, else a tag.
fn resolve(schema: &Schema, name: &str) -> DataType {
    if let Some(t) = schema.values().find_map(|m| m.fields.get(name)) {
        return data_type(*t);
    }
    if schema.values().any(|m| m.tags.contains(name)) {
        return DataType::Tag;
    }
    DataType::Unknown
}

fn var(schema: &Schema, name: &str) -> Expr {
    Expr::VarRef {
        name: name.to_string(),
        data_type: resolve(schema, name),
    }
}

/// Every untyped variable of an expression typed from the schema (as influxd prints a
/// planned statement); in a condition (`tags_by_default`) a name that is no field is a tag.
pub fn typed(e: &Expr, schema: &Schema, tags_by_default: bool) -> Expr {
    let t = |x: &Expr| typed(x, schema, tags_by_default);
    match e {
        Expr::VarRef { name, data_type } if *data_type == DataType::Unknown => {
            match resolve(schema, name) {
                DataType::Unknown if tags_by_default && name != "time" => Expr::VarRef {
                    name: name.clone(),
                    data_type: DataType::Tag,
                },
                d => Expr::VarRef {
                    name: name.clone(),
                    data_type: d,
                },
            }
        }
        Expr::Call { name, args } => Expr::Call {
            name: name.clone(),
            args: args.iter().map(t).collect(),
        },
        Expr::Binary { op, lhs, rhs } => Expr::Binary {
            op: *op,
            lhs: Box::new(t(lhs)),
            rhs: Box::new(t(rhs)),
        },
        Expr::Paren(x) => Expr::Paren(Box::new(t(x))),
        other => other.clone(),
    }
}

/// The calls of the outputs in the order influxd creates their iterators: field by
/// field, each expression breadth first (`mean(x) * 2 + max(x)` → max, then mean).
fn call_order(plan: &SelectPlan) -> Vec<usize> {
    let mut order = Vec::new();
    for o in &plan.outputs {
        let mut queue = std::collections::VecDeque::from([o]);
        while let Some(x) = queue.pop_front() {
            match x {
                OExpr::Call(i) => {
                    if !order.contains(i) {
                        order.push(*i);
                    }
                }
                OExpr::Bin(_, a, b) => {
                    queue.push_back(a);
                    queue.push_back(b);
                }
                OExpr::Math(_, args) => queue.extend(args.iter()),
                OExpr::Cast(a, _) => queue.push_back(a),
                OExpr::Transform { inner, .. } => queue.push_back(inner),
                OExpr::Field(_) | OExpr::Tag(_) | OExpr::Lit(_) => {}
            }
        }
    }
    for i in 0..plan.calls.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    order
}

/// One iterator: its expression, auxiliary fields, and the fields whose storage it reads.
struct Iter {
    expr: Option<Expr>,
    aux: Vec<Expr>,
    reads: BTreeSet<String>,
}

/// Fields and tags an output reads outside calls, as typed variables.
fn aux_refs(o: &OExpr, plan: &SelectPlan, schema: &Schema, out: &mut BTreeMap<String, Expr>) {
    match o {
        OExpr::Field(i) => {
            if let Some(f) = plan.fields.get(*i) {
                out.entry(f.clone()).or_insert_with(|| var(schema, f));
            }
        }
        OExpr::Tag(t) => {
            out.entry(t.clone()).or_insert_with(|| Expr::VarRef {
                name: t.clone(),
                data_type: DataType::Tag,
            });
        }
        OExpr::Cast(inner, t) => {
            if let OExpr::Field(i) = &**inner {
                if let Some(f) = plan.fields.get(*i) {
                    out.insert(
                        f.clone(),
                        Expr::VarRef {
                            name: f.clone(),
                            data_type: *t,
                        },
                    );
                    return;
                }
            }
            aux_refs(inner, plan, schema, out);
        }
        OExpr::Bin(_, a, b) => {
            aux_refs(a, plan, schema, out);
            aux_refs(b, plan, schema, out);
        }
        OExpr::Math(_, args) => {
            for a in args {
                aux_refs(a, plan, schema, out);
            }
        }
        OExpr::Transform { inner, .. } => aux_refs(inner, plan, schema, out),
        OExpr::Call(_) | OExpr::Lit(_) => {}
    }
}

fn iterators(plan: &SelectPlan, schema: &Schema) -> Vec<Iter> {
    let mut aux: BTreeMap<String, Expr> = BTreeMap::new();
    for o in &plan.outputs {
        aux_refs(o, plan, schema, &mut aux);
    }
    let known = |name: &str| resolve(schema, name) != DataType::Unknown;
    if !plan.aggregate {
        aux.retain(|n, _| known(n));
        if aux.is_empty() {
            return Vec::new();
        }
        let reads = aux
            .keys()
            .filter(|n| plan.field_names.contains(*n))
            .cloned()
            .collect();
        return vec![Iter {
            expr: None,
            aux: aux.into_values().collect(),
            reads,
        }];
    }
    call_order(plan)
        .into_iter()
        .map(|i| {
            let c: &CallSpec = &plan.calls[i];
            let field = var(schema, &c.field);
            let mut extra = aux.clone();
            let expr = if matches!(c.name.as_str(), "top" | "bottom") && !c.tags.is_empty() {
                for t in &c.tags {
                    extra.entry(t.clone()).or_insert_with(|| Expr::VarRef {
                        name: t.clone(),
                        data_type: DataType::Tag,
                    });
                }
                Expr::Call {
                    name: if c.name == "top" { "max" } else { "min" }.into(),
                    args: vec![field],
                }
            } else if PUSHED.contains(&c.name.as_str()) && !c.distinct_inner {
                Expr::Call {
                    name: c.name.clone(),
                    args: std::iter::once(field)
                        .chain(c.args.iter().cloned())
                        .collect(),
                }
            } else {
                field
            };
            let mut reads: BTreeSet<String> = aux
                .keys()
                .filter(|n| plan.field_names.contains(*n))
                .cloned()
                .collect();
            if plan.field_names.contains(&c.field) {
                reads.insert(c.field.clone());
            }
            Iter {
                expr: Some(expr),
                aux: extra.into_values().collect(),
                reads,
            }
        })
        .collect()
}

fn join(exprs: &[Expr]) -> String {
    exprs
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The shards and series of `measurement` as influxd 1.6 (in-memory index) counts them:
/// every shard of the time range when the database holds the measurement, and in each
/// of them every matching series of the database; plus the storage of the fields read.
fn totals(
    stats: &[ExplainStat],
    measurement: &str,
    shards_in_range: usize,
    reads: &BTreeSet<String>,
) -> (usize, u64, FieldStats) {
    let mut series: BTreeSet<u64> = BTreeSet::new();
    let mut st = FieldStats::default();
    let mut exists = false;
    for e in stats.iter().filter(|e| e.measurement == measurement) {
        exists = true;
        series.extend(e.hashes.iter().copied());
        for (f, x) in &e.fields {
            if reads.contains(f) {
                add(&mut st, x);
            }
        }
    }
    let shards = if exists { shards_in_range } else { 0 };
    (shards, (shards * series.len()) as u64, st)
}

fn add(st: &mut FieldStats, x: &FieldStats) {
    st.files += x.files;
    st.blocks += x.blocks;
    st.bytes += x.bytes;
    st.cached += x.cached;
}

fn rows_series(column: &str, rows: Vec<String>) -> Vec<Series> {
    vec![Series {
        name: String::new(),
        tags: Vec::new(),
        columns: vec![column.to_string()],
        values: rows.into_iter().map(|r| vec![Value::String(r)]).collect(),
        partial: false,
    }]
}

/// The answer to `EXPLAIN`: a block per iterator and measurement.
pub fn plan_answer(
    plan: &SelectPlan,
    schema: &Schema,
    measurements: &[String],
    shards_in_range: &BTreeMap<String, usize>,
    stats: &[ExplainStat],
) -> Vec<Series> {
    let mut rows: Vec<String> = Vec::new();
    for it in iterators(plan, schema) {
        for m in measurements {
            if !rows.is_empty() {
                rows.push(String::new());
            }
            let n = shards_in_range.get(m).copied().unwrap_or(0);
            let (shards, series, st) = totals(stats, m, n, &it.reads);
            rows.push(format!(
                "EXPRESSION: {}",
                it.expr
                    .as_ref()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "<nil>".into())
            ));
            if !it.aux.is_empty() {
                rows.push(format!("AUXILIARY FIELDS: {}", join(&it.aux)));
            }
            rows.push(format!("NUMBER OF SHARDS: {shards}"));
            rows.push(format!("NUMBER OF SERIES: {series}"));
            rows.push(format!("CACHED VALUES: {}", st.cached));
            rows.push(format!("NUMBER OF FILES: {}", st.files));
            rows.push(format!("NUMBER OF BLOCKS: {}", st.blocks));
            rows.push(format!("SIZE OF BLOCKS: {}", st.bytes));
        }
    }
    if rows.is_empty() {
        rows.push(String::new());
    }
    rows_series("QUERY PLAN", rows)
}

/// A tree drawn as influxd's `EXPLAIN ANALYZE` draws it.
struct Node {
    name: String,
    labels: Vec<(String, String)>,
    values: Vec<(String, String)>,
    children: Vec<Node>,
}

impl Node {
    fn new(name: &str) -> Node {
        Node {
            name: name.into(),
            labels: Vec::new(),
            values: Vec::new(),
            children: Vec::new(),
        }
    }

    fn draw(&self, prefix: &str, last: bool, out: &mut Vec<String>) {
        out.push(format!(
            "{prefix}{}{}",
            if last { "└── " } else { "├── " },
            self.name
        ));
        let inner = format!("{prefix}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
        let mut items: Vec<Item<'_>> = Vec::new();
        if !self.labels.is_empty() {
            items.push(Item::Labels(&self.labels));
        }
        items.extend(self.values.iter().map(|(k, v)| Item::Value(k, v)));
        items.extend(self.children.iter().map(Item::Child));
        let n = items.len();
        for (i, item) in items.into_iter().enumerate() {
            let last = i + 1 == n;
            let branch = if last { "└── " } else { "├── " };
            match item {
                Item::Labels(labels) => {
                    out.push(format!("{inner}{branch}labels"));
                    let deeper = format!("{inner}{}", if last { "    " } else { "│\u{a0}\u{a0} " });
                    for (j, (k, v)) in labels.iter().enumerate() {
                        let b = if j + 1 == labels.len() {
                            "└── "
                        } else {
                            "├── "
                        };
                        out.push(format!("{deeper}{b}{k}: {v}"));
                    }
                }
                Item::Value(k, v) => out.push(format!("{inner}{branch}{k}: {v}")),
                Item::Child(c) => c.draw(&inner, last, out),
            }
        }
    }
}

enum Item<'a> {
    Labels(&'a [(String, String)]),
    Value(&'a String, &'a String),
    Child(&'a Node),
}

use tessera_influxql::go_duration;

/// Timings of an analyzed query, in nanoseconds.
pub struct Timings {
    pub planning: u64,
    pub execution: u64,
}

/// The statement as influxd prints it once planned: variables typed, sources qualified,
/// time terms gone from the condition.
pub fn planned_statement(
    stmt: &tessera_influxql::SelectStatement,
    schema: &Schema,
    qualify: &dyn Fn(&tessera_influxql::Measurement) -> (String, String),
    condition: Option<Expr>,
) -> String {
    let mut s = stmt.clone();
    for f in &mut s.fields {
        f.expr = typed(&f.expr, schema, false);
    }
    for src in &mut s.sources {
        if let Source::Measurement(m) = src {
            let (db, rp) = qualify(m);
            m.database = Some(db);
            m.retention_policy = Some(rp);
        }
    }
    s.condition = condition.map(|c| typed(&c, schema, true));
    s.to_string()
}

/// The answer to `EXPLAIN ANALYZE`.
pub fn analyze_answer(
    plan: &SelectPlan,
    schema: &Schema,
    measurements: &[String],
    stats: &[ExplainStat],
    statement: String,
    condition: Option<String>,
    t: Timings,
) -> Vec<Series> {
    let mut cursor = Node::new("build_cursor");
    cursor.labels.push(("statement".into(), statement));
    for it in iterators(plan, schema) {
        let mut scanner = Node::new("iterator_scanner");
        match &it.expr {
            Some(e) => scanner.labels.push(("expr".into(), e.to_string())),
            None => scanner
                .labels
                .push(("auxiliary_fields".into(), join(&it.aux))),
        }
        for m in measurements {
            let shards: BTreeSet<u64> = stats
                .iter()
                .filter(|e| &e.measurement == m)
                .map(|e| e.shard)
                .collect();
            for shard in shards {
                let mut create = Node::new("create_iterator");
                if let Some(c) = &condition {
                    create.labels.push(("cond".into(), c.clone()));
                }
                create.labels.push(("measurement".into(), m.clone()));
                create.labels.push(("shard_id".into(), shard.to_string()));
                let mut series = 0;
                let mut per_type: BTreeMap<&'static str, FieldStats> = BTreeMap::new();
                for e in stats
                    .iter()
                    .filter(|e| &e.measurement == m && e.shard == shard)
                {
                    series += e.series;
                    for (f, x) in &e.fields {
                        if !it.reads.contains(f) {
                            continue;
                        }
                        let ty = schema
                            .get(m)
                            .and_then(|s| s.fields.get(f))
                            .map(|t| type_name(*t))
                            .unwrap_or("float");
                        add(per_type.entry(ty).or_default(), x);
                    }
                }
                let aux_fields = it
                    .aux
                    .iter()
                    .filter(|e| matches!(e, Expr::VarRef { data_type, .. } if *data_type != DataType::Tag))
                    .count() as u64;
                let (refs, aux) = match it.expr {
                    Some(_) => (series, series * aux_fields),
                    None => (0, series * aux_fields),
                };
                let v = &mut create.values;
                v.push(("cursors_ref".into(), refs.to_string()));
                v.push(("cursors_aux".into(), aux.to_string()));
                v.push(("cursors_cond".into(), "0".into()));
                for ty in ["float", "integer", "unsigned", "string", "boolean"] {
                    let st = per_type.get(ty).copied().unwrap_or_default();
                    v.push((format!("{ty}_blocks_decoded"), st.blocks.to_string()));
                    v.push((format!("{ty}_blocks_size_bytes"), st.bytes.to_string()));
                }
                v.push(("planning_time".into(), go_duration(t.planning)));
                scanner.children.push(create);
            }
        }
        cursor.children.push(scanner);
    }
    let mut select = Node::new("select");
    select
        .values
        .push(("execution_time".into(), go_duration(t.execution)));
    select
        .values
        .push(("planning_time".into(), go_duration(t.planning)));
    select
        .values
        .push(("total_time".into(), go_duration(t.planning + t.execution)));
    select.children.push(cursor);
    let mut rows = vec![".".to_string()];
    select.draw("", true, &mut rows);
    rows.push(String::new());
    rows_series("EXPLAIN ANALYZE", rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(999), "999ns");
        assert_eq!(go_duration(18_858), "18.858µs");
        assert_eq!(go_duration(1_000), "1µs");
        assert_eq!(go_duration(245_185_846), "245.185846ms");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(62_500_000_000), "1m2.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
    }

    #[test]
    fn tree_is_drawn_like_influxd() {
        let mut select = Node::new("select");
        select.values.push(("execution_time".into(), "1µs".into()));
        let mut cursor = Node::new("build_cursor");
        cursor.labels.push(("statement".into(), "SELECT a".into()));
        select.children.push(cursor);
        let mut rows = vec![".".to_string()];
        select.draw("", true, &mut rows);
        assert_eq!(
            rows,
            [
                ".",
                "└── select",
                "    ├── execution_time: 1µs",
                "    └── build_cursor",
                "        └── labels",
                "            └── statement: SELECT a",
            ]
        );
    }
}
