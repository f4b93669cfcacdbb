//! Query answers in InfluxDB 1.x's shapes: the JSON of `/query` (compact or `pretty`, Go's
//! encoder rules for floats and string escaping) and the CSV of `Accept: application/csv`.

use crate::timefmt::rfc3339_nano;
use crate::value::Value;

/// One series of a statement's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    pub name: String,
    /// Sorted by key.
    pub tags: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub values: Vec<Vec<Value>>,
    pub partial: bool,
}

/// The answer to one statement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatementResult {
    pub statement_id: usize,
    pub series: Vec<Series>,
    /// (level, text)
    pub messages: Vec<(String, String)>,
    pub partial: bool,
    pub error: Option<String>,
    /// `tz()` of the statement: times print at its offsets.
    pub tz: Option<std::sync::Arc<crate::tz::Tz>>,
}

impl StatementResult {
    pub fn error(statement_id: usize, e: impl Into<String>) -> StatementResult {
        StatementResult {
            statement_id,
            error: Some(e.into()),
            ..Default::default()
        }
    }
}

/// How timestamps are printed: RFC3339 (at an offset, for `tz()`) or an integer epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    Rfc3339,
    /// Nanoseconds per unit of the `epoch` parameter.
    Epoch(i64),
}

impl TimeFormat {
    /// From the `epoch` parameter as influxd reads it (unknown units print RFC3339).
    /// influxd: `u`, `ms`, `s`, `m`, `h` scale; any other non-empty value means ns.
    pub fn from_epoch_param(p: Option<&str>) -> TimeFormat {
        match p {
            None | Some("") => TimeFormat::Rfc3339,
            Some("u") => TimeFormat::Epoch(1_000),
            Some("ms") => TimeFormat::Epoch(1_000_000),
            Some("s") => TimeFormat::Epoch(1_000_000_000),
            Some("m") => TimeFormat::Epoch(60_000_000_000),
            Some("h") => TimeFormat::Epoch(3_600_000_000_000),
            Some(_) => TimeFormat::Epoch(1),
        }
    }
}

/// A small JSON tree, so that compact and indented output share one encoder.
enum J {
    Raw(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
    /// An object with owned keys (tags).
    Map(Vec<(String, J)>),
}

/// Go's `encoding/json` float rule: `'f'` formatting, `'e'` below 1e-6 or from 1e21, with
/// a one-digit negative exponent when it fits (`1e-07` → `1e-7`).
pub fn go_float(f: f64, out: &mut String) {
    use std::fmt::Write;
    if !f.is_finite() {
        // Go refuses to encode these; InfluxDB never stores them. Print null.
        out.push_str("null");
        return;
    }
    let a = f.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format!("{f:e}");
        let (mant, exp) = s.split_once('e').expect("exponent form");
        let exp: i32 = exp.parse().expect("exponent digits");
        let _ = if exp < 0 {
            write!(out, "{mant}e-{}", -exp)
        } else {
            write!(out, "{mant}e+{exp:02}")
        };
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Go's `encoding/json` string escaping (HTML-safe: `<`, `>`, `&` as `\u00XX`).
pub fn go_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn value_json(v: &Value, tf: TimeFormat, tz: Option<&crate::tz::Tz>) -> J {
    let mut s = String::new();
    match v {
        Value::Null => s.push_str("null"),
        Value::Float(f) => go_float(*f, &mut s),
        Value::Integer(i) => s = i.to_string(),
        Value::Unsigned(u) => s = u.to_string(),
        Value::Boolean(b) => s = b.to_string(),
        Value::String(t) => return J::Str(t.clone()),
        Value::Strings(v) => return J::Arr(v.iter().map(|t| J::Str(t.clone())).collect()),
        Value::Time(t) => match tf {
            TimeFormat::Epoch(unit) => s = (t / unit).to_string(),
            TimeFormat::Rfc3339 => {
                rfc3339_nano(*t, tz.map(|z| z.offset_at(*t)).unwrap_or(0), &mut s);
                return J::Str(s);
            }
        },
    }
    J::Raw(s)
}

fn series_json(s: &Series, tf: TimeFormat, tz: Option<&crate::tz::Tz>) -> J {
    let mut o = Vec::new();
    if !s.name.is_empty() {
        o.push(("name", J::Str(s.name.clone())));
    }
    if !s.tags.is_empty() {
        o.push((
            "tags",
            J::Map(
                s.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), J::Str(v.clone())))
                    .collect(),
            ),
        ));
    }
    if !s.columns.is_empty() {
        o.push((
            "columns",
            J::Arr(s.columns.iter().map(|c| J::Str(c.clone())).collect()),
        ));
    }
    if !s.values.is_empty() {
        o.push((
            "values",
            J::Arr(
                s.values
                    .iter()
                    .map(|row| J::Arr(row.iter().map(|v| value_json(v, tf, tz)).collect()))
                    .collect(),
            ),
        ));
    }
    if s.partial {
        o.push(("partial", J::Raw("true".into())));
    }
    J::Obj(o)
}

fn result_json(r: &StatementResult, tf: TimeFormat) -> J {
    let tz = r.tz.as_deref();
    let mut o = vec![("statement_id", J::Raw(r.statement_id.to_string()))];
    if !r.series.is_empty() {
        o.push((
            "series",
            J::Arr(r.series.iter().map(|s| series_json(s, tf, tz)).collect()),
        ));
    }
    if !r.messages.is_empty() {
        o.push((
            "messages",
            J::Arr(
                r.messages
                    .iter()
                    .map(|(l, t)| {
                        J::Obj(vec![
                            ("level", J::Str(l.clone())),
                            ("text", J::Str(t.clone())),
                        ])
                    })
                    .collect(),
            ),
        ));
    }
    if r.partial {
        o.push(("partial", J::Raw("true".into())));
    }
    if let Some(e) = &r.error {
        o.push(("error", J::Str(e.clone())));
    }
    J::Obj(o)
}

fn write(j: &J, indent: Option<usize>, out: &mut String) {
    let nl = |out: &mut String, depth: usize| {
        if let Some(_d) = indent {
            out.push('\n');
            for _ in 0..depth {
                out.push_str("    ");
            }
        }
    };
    let depth = indent.unwrap_or(0);
    let next = indent.map(|d| d + 1);
    match j {
        J::Raw(s) => out.push_str(s),
        J::Str(s) => go_string(s, out),
        J::Arr(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, depth + 1);
                write(it, next, out);
            }
            nl(out, depth);
            out.push(']');
        }
        J::Obj(fields) => {
            let pairs: Vec<(&str, &J)> = fields.iter().map(|(k, v)| (*k, v)).collect();
            write_obj(&pairs, indent, out);
        }
        J::Map(fields) => {
            let pairs: Vec<(&str, &J)> = fields.iter().map(|(k, v)| (k.as_str(), v)).collect();
            write_obj(&pairs, indent, out);
        }
    }
}

fn write_obj(fields: &[(&str, &J)], indent: Option<usize>, out: &mut String) {
    if fields.is_empty() {
        out.push_str("{}");
        return;
    }
    let depth = indent.unwrap_or(0);
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if indent.is_some() {
            out.push('\n');
            for _ in 0..=depth {
                out.push_str("    ");
            }
        }
        go_string(k, out);
        out.push(':');
        if indent.is_some() {
            out.push(' ');
        }
        write(v, indent.map(|d| d + 1), out);
    }
    if indent.is_some() {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("    ");
        }
    }
    out.push('}');
}

/// `{"results":[…]}` as influxd writes it (a trailing newline after the object).
/// An infinite float in any result, as Go's `strconv` prints it (`+Inf`, `-Inf`):
/// influxd's JSON encoder fails on it and answers its error text. (NaN never gets that
/// far in influxd — its functions answer null instead — and prints as null here.)
pub fn unencodable_float(results: &[StatementResult]) -> Option<&'static str> {
    for r in results {
        for s in &r.series {
            for row in &s.values {
                for v in row {
                    if let Value::Float(f) = v {
                        if f.is_infinite() {
                            return Some(if *f > 0.0 { "+Inf" } else { "-Inf" });
                        }
                    }
                }
            }
        }
    }
    None
}

pub fn results_json(results: &[StatementResult], tf: TimeFormat, pretty: bool) -> String {
    let j = J::Obj(vec![(
        "results",
        J::Arr(results.iter().map(|r| result_json(r, tf)).collect()),
    )]);
    let mut out = String::new();
    write(&j, pretty.then_some(0), &mut out);
    out.push('\n');
    out
}

/// `{"error":"…"}` for a request that failed as a whole.
pub fn error_json(message: &str, pretty: bool) -> String {
    let j = J::Obj(vec![("error", J::Str(message.to_string()))]);
    let mut out = String::new();
    write(&j, pretty.then_some(0), &mut out);
    out.push('\n');
    out
}

fn csv_field(s: &str, out: &mut String) {
    let needs = s.contains([',', '"', '\r', '\n']) || s.starts_with(' ') || s.starts_with('\t');
    if needs {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

fn csv_row(fields: &[String], out: &mut String) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(f, out);
    }
    out.push('\n');
}

/// Stateful CSV writer (influxd's `csvFormatter`): a header whenever the columns change, a
/// blank line between statements.
#[derive(Default)]
pub struct CsvWriter {
    statement_id: Option<usize>,
    columns: Option<Vec<String>>,
}

impl CsvWriter {
    pub fn write(&mut self, results: &[StatementResult], tf: TimeFormat, out: &mut String) {
        for r in results {
            // influxd's CSV writer leaves statement errors out.
            if r.error.is_some() {
                continue;
            }
            if self.statement_id != Some(r.statement_id) {
                if r.series.is_empty() {
                    continue;
                }
                self.statement_id = Some(r.statement_id);
                if self.columns.is_some() {
                    out.push('\n');
                }
                self.columns = None;
            }
            for s in &r.series {
                let mut header = vec!["name".to_string(), "tags".to_string()];
                header.extend(s.columns.iter().cloned());
                if self.columns.as_ref() != Some(&header) {
                    csv_row(&header, out);
                    self.columns = Some(header);
                }
                let esc = |t: &str| {
                    t.replace(',', "\\,")
                        .replace('=', "\\=")
                        .replace(' ', "\\ ")
                };
                let tags = s
                    .tags
                    .iter()
                    .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
                    .collect::<Vec<_>>()
                    .join(",");
                for row in &s.values {
                    let mut cells = vec![s.name.clone(), tags.clone()];
                    for (ci, v) in row.iter().enumerate() {
                        // influxd's CSV writer leaves a Go `int` cell (SHOW RETENTION
                        // POLICIES' replicaN) holding the header's text.
                        if s.columns.get(ci).is_some_and(|c| c == "replicaN") {
                            cells.push("replicaN".into());
                            continue;
                        }
                        cells.push(match v {
                            Value::Null => String::new(),
                            Value::Float(f) => {
                                let mut t = String::new();
                                if f.is_finite() {
                                    use std::fmt::Write;
                                    let _ = write!(t, "{f}");
                                }
                                t
                            }
                            Value::Integer(i) => i.to_string(),
                            Value::Unsigned(u) => u.to_string(),
                            Value::Boolean(b) => b.to_string(),
                            Value::String(s) => s.clone(),
                            // Go's `%v` of a string slice.
                            Value::Strings(v) => format!("[{}]", v.join(" ")),
                            Value::Time(t) => match tf {
                                TimeFormat::Epoch(unit) => (t / unit).to_string(),
                                TimeFormat::Rfc3339 => t.to_string(),
                            },
                        });
                    }
                    csv_row(&cells, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        let f = |x: f64| {
            let mut s = String::new();
            go_float(x, &mut s);
            s
        };
        assert_eq!(f(26.0), "26");
        assert_eq!(f(0.1), "0.1");
        assert_eq!(f(1e21), "1e+21");
        assert_eq!(f(1.5e-7), "1.5e-7");
        assert_eq!(f(1e-10), "1e-10");
        assert_eq!(f(123456789012.5), "123456789012.5");
        assert_eq!(f(-0.000001), "-0.000001");
    }

    #[test]
    fn json_shape() {
        let r = StatementResult {
            statement_id: 0,
            series: vec![Series {
                name: "cpu".into(),
                tags: vec![("host".into(), "a<b".into())],
                columns: vec!["time".into(), "v".into()],
                values: vec![vec![Value::Time(0), Value::Float(1.0)]],
                partial: false,
            }],
            ..Default::default()
        };
        assert_eq!(
            results_json(std::slice::from_ref(&r), TimeFormat::Rfc3339, false),
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu\",\"tags\":{\"host\":\"a\\u003cb\"},\"columns\":[\"time\",\"v\"],\"values\":[[\"1970-01-01T00:00:00Z\",1]]}]}]}\n"
        );
        let pretty = results_json(&[r], TimeFormat::Epoch(1), true);
        assert!(pretty
            .starts_with("{\n    \"results\": [\n        {\n            \"statement_id\": 0,"));
    }
}
