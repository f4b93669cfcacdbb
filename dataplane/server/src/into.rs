//! `SELECT … INTO`: the answer of the query written back as points (GROUP BY tags and
//! the tag arguments of top()/bottom() are tags, every other column becomes a field) through the same path as `/write`; the
//! answer is influxd's `result` series with the number of points written.

use bytes::Bytes;
use tessera_influxql::SelectStatement;
use tessera_lineproto::Precision;
use tessera_meta_types::Snapshot;
use tessera_query::output::Series;
use tessera_query::{QueryError, Value};

use crate::handlers::Ctx;
use crate::select::Defaults;

fn escape(s: &str, specials: &[char], out: &mut String) {
    for c in s.chars() {
        if specials.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

fn field_value(v: &Value, out: &mut String) -> bool {
    use std::fmt::Write;
    match v {
        Value::Float(f) if f.is_finite() => {
            let _ = write!(out, "{f:?}");
        }
        Value::Integer(i) => {
            let _ = write!(out, "{i}i");
        }
        Value::Unsigned(u) => {
            let _ = write!(out, "{u}u");
        }
        Value::Boolean(b) => {
            let _ = write!(out, "{b}");
        }
        Value::String(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        _ => return false,
    }
    true
}

/// Which answer columns (after `time`) are the tag arguments of top()/bottom(): influxd
/// writes those as tags of the points, with the row's values.
fn tag_argument_columns(stmt: &SelectStatement) -> Vec<bool> {
    let mut out = Vec::new();
    for f in &stmt.fields {
        out.push(false);
        let tags = tessera_query::plan::tag_argument_columns(&f.expr);
        out.extend(tags.iter().map(|_| true));
    }
    out
}

/// Line protocol for the series, into `measurement` (`None`: each series' own name);
/// `tag_columns[i]`: answer column `i + 1` is written as a tag.
pub(crate) fn to_lines(
    series: &[Series],
    measurement: Option<&str>,
    tag_columns: &[bool],
) -> (String, usize) {
    let mut out = String::new();
    let mut points = 0;
    let is_tag = |i: usize| tag_columns.get(i).copied().unwrap_or(false);
    for s in series {
        let mut name = String::new();
        escape(measurement.unwrap_or(&s.name), &[',', ' '], &mut name);
        for row in &s.values {
            let Some(Value::Time(t)) = row.first() else {
                continue;
            };
            let mut tags: Vec<(&str, String)> = s
                .tags
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (k.as_str(), v.clone()))
                .collect();
            for (i, (c, v)) in s.columns.iter().zip(row.iter()).skip(1).enumerate() {
                if is_tag(i) {
                    if let Value::String(v) = v {
                        tags.retain(|(k, _)| *k != c.as_str());
                        if !v.is_empty() {
                            tags.push((c.as_str(), v.clone()));
                        }
                    }
                }
            }
            tags.sort();
            let mut line = name.clone();
            for (k, v) in &tags {
                line.push(',');
                escape(k, &[',', '=', ' '], &mut line);
                line.push('=');
                escape(v, &[',', '=', ' '], &mut line);
            }
            let mut any = false;
            for (i, (c, v)) in s.columns.iter().zip(row.iter()).skip(1).enumerate() {
                if is_tag(i) {
                    continue;
                }
                let mut f = String::new();
                escape(c, &[',', '=', ' '], &mut f);
                f.push('=');
                if field_value(v, &mut f) {
                    line.push(if any { ',' } else { ' ' });
                    line.push_str(&f);
                    any = true;
                }
            }
            if any {
                line.push(' ');
                line.push_str(&t.to_string());
                line.push('\n');
                out.push_str(&line);
                points += 1;
            }
        }
    }
    (out, points)
}

pub async fn select_into(
    ctx: &Ctx,
    snap: &Snapshot,
    stmt: &SelectStatement,
    defaults: &Defaults<'_>,
) -> Result<Vec<Series>, QueryError> {
    let target = stmt.target.clone().expect("INTO has a target");
    let db = target
        .database
        .clone()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| defaults.db.to_string());
    if db.is_empty() {
        return Err(QueryError::DatabaseRequired);
    }
    let d = snap
        .data
        .database(&db)
        .ok_or_else(|| QueryError::DatabaseNotFound(db.clone()))?;
    let rp = target
        .retention_policy
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| d.default_retention_policy.clone());
    if !d.retention_policies.contains_key(&rp) {
        return Err(QueryError::RetentionPolicyNotFound(rp));
    }
    let mut read = stmt.clone();
    read.target = None;
    // influxd writes no point for an empty window: `fill(null)` (the default) runs as
    // `fill(none)`, so a count() of nothing writes no 0 and OFFSET counts written rows.
    if read.fill == tessera_influxql::Fill::Null {
        read.fill = tessera_influxql::Fill::None;
    }
    let series = crate::select::select(ctx, snap, &read, defaults).await?;
    let tag_columns = tag_argument_columns(stmt);
    let (lines, points) = to_lines(&series, target.name.as_deref(), &tag_columns);
    if points > 0 {
        let body = Bytes::from(lines);
        match crate::write::write_lines(
            ctx,
            &db,
            Some(&rp),
            Precision::Nanosecond,
            crate::cluster::Consistency::One,
            false,
            move || Ok(body),
        )
        .await
        {
            Ok(None) => {}
            Ok(Some(partial)) => return Err(QueryError::Influx(partial)),
            Err((_, msg)) => return Err(QueryError::Influx(msg)),
        }
    }
    Ok(vec![Series {
        name: "result".into(),
        tags: Vec::new(),
        columns: vec!["time".into(), "written".into()],
        values: vec![vec![Value::Time(0), Value::Integer(points as i64)]],
        partial: false,
    }])
}
