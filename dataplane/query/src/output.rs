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
        let mut b = ryu::Buffer::new();
        let s = b.format_finite(f);
        let (mant, exp) = s.split_once('e').expect("exponent form");
        let exp: i32 = exp.parse().expect("exponent digits");
        let _ = if exp < 0 {
            write!(out, "{mant}e-{}", -exp)
        } else {
            write!(out, "{mant}e+{exp:02}")
        };
    } else {
        push_fixed(ryu::Buffer::new().format_finite(f), out);
    }
}

/// Writes ryu's shortest digits (`1.5`, `100.0`, `1e-5`, `1.5e17`) in fixed notation, as
/// Go's `'f'` format with the shortest precision prints them.
fn push_fixed(s: &str, out: &mut String) {
    let Some((mant, exp)) = s.split_once('e') else {
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
        return;
    };
    let exp: i64 = exp.parse().expect("ryu writes a decimal exponent");
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = || int.bytes().chain(frac.bytes()).map(char::from);
    let n = (int.len() + frac.len()) as i64;
    let point = int.len() as i64 + exp;
    if neg {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.extend(digits());
    } else if point >= n {
        out.extend(digits());
        out.extend(std::iter::repeat_n('0', (point - n) as usize));
    } else {
        out.extend(digits().take(point as usize));
        out.push('.');
        out.extend(digits().skip(point as usize));
    }
}

/// Go's `encoding/json` string escaping (HTML-safe: `<`, `>`, `&` as `\u00XX`). Runs of
/// bytes that need no escape are copied whole.
pub fn go_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !JSON_SPECIAL[c as usize] {
            i += 1;
            continue;
        }
        let esc: &str = match c {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            // U+2028 and U+2029 (E2 80 A8 / E2 80 A9); other E2 sequences pass.
            0xE2 if !(b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xA8 | 0xA9))) => {
                i += 1;
                continue;
            }
            _ => "",
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            let ch = s[i..].chars().next().expect("a char starts here");
            let _ = write!(out, "\\u{:04x}", ch as u32);
            i += ch.len_utf8();
        } else {
            out.push_str(esc);
            i += 1;
        }
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Bytes `go_string` looks at: controls, `"`, `\\`, `<`, `>`, `&`, and 0xE2 (the lead
/// byte of U+2028/U+2029).
const JSON_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

/// Writes JSON straight into a string: compact, or indented as Go's
/// `json.MarshalIndent(v, "", "    ")` for `pretty`.
struct Enc<'a> {
    out: &'a mut String,
    pretty: bool,
}

/// An object being written: whether a field was written yet, and its depth.
struct Obj {
    empty: bool,
    depth: usize,
}

impl Obj {
    fn at(depth: usize) -> Obj {
        Obj { empty: true, depth }
    }
}

impl Enc<'_> {
    fn nl(&mut self, depth: usize) {
        if self.pretty {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("    ");
            }
        }
    }

    /// Starts a field; its value follows at `o.depth + 1`.
    fn key(&mut self, o: &mut Obj, k: &str) {
        self.out.push(if o.empty { '{' } else { ',' });
        o.empty = false;
        self.nl(o.depth + 1);
        go_string(k, self.out);
        self.out.push(':');
        if self.pretty {
            self.out.push(' ');
        }
    }

    fn close(&mut self, o: Obj) {
        if o.empty {
            self.out.push_str("{}");
        } else {
            self.nl(o.depth);
            self.out.push('}');
        }
    }

    /// An array at `depth` whose items `each` writes (at `depth + 1`).
    fn seq<I: IntoIterator>(
        &mut self,
        depth: usize,
        items: I,
        mut each: impl FnMut(&mut Self, I::Item, usize),
    ) {
        let mut any = false;
        for it in items {
            self.out.push(if any { ',' } else { '[' });
            any = true;
            self.nl(depth + 1);
            each(self, it, depth + 1);
        }
        if any {
            self.nl(depth);
            self.out.push(']');
        } else {
            self.out.push_str("[]");
        }
    }

    fn value(&mut self, v: &Value, tf: TimeFormat, tz: Option<&crate::tz::Tz>, depth: usize) {
        match v {
            Value::Null => self.out.push_str("null"),
            Value::Float(f) => go_float(*f, self.out),
            Value::Integer(i) => self.out.push_str(itoa::Buffer::new().format(*i)),
            Value::Unsigned(u) => self.out.push_str(itoa::Buffer::new().format(*u)),
            Value::Boolean(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::String(t) => go_string(t, self.out),
            Value::Strings(v) => self.seq(depth, v, |e, t, _| go_string(t, e.out)),
            Value::Time(t) => match tf {
                TimeFormat::Epoch(unit) => self.out.push_str(itoa::Buffer::new().format(t / unit)),
                TimeFormat::Rfc3339 => {
                    // RFC 3339 text holds nothing JSON escapes.
                    self.out.push('"');
                    rfc3339_nano(*t, tz.map(|z| z.offset_at(*t)).unwrap_or(0), self.out);
                    self.out.push('"');
                }
            },
        }
    }

    fn series(&mut self, s: &Series, tf: TimeFormat, tz: Option<&crate::tz::Tz>, depth: usize) {
        let mut o = Obj::at(depth);
        if !s.name.is_empty() {
            self.key(&mut o, "name");
            go_string(&s.name, self.out);
        }
        if !s.tags.is_empty() {
            self.key(&mut o, "tags");
            let mut t = Obj::at(depth + 1);
            for (k, v) in &s.tags {
                self.key(&mut t, k);
                go_string(v, self.out);
            }
            self.close(t);
        }
        if !s.columns.is_empty() {
            self.key(&mut o, "columns");
            self.seq(depth + 1, &s.columns, |e, c, _| go_string(c, e.out));
        }
        if !s.values.is_empty() {
            self.key(&mut o, "values");
            self.seq(depth + 1, &s.values, |e, row, d| {
                e.seq(d, row, |e, v, d| e.value(v, tf, tz, d))
            });
        }
        if s.partial {
            self.key(&mut o, "partial");
            self.out.push_str("true");
        }
        self.close(o);
    }

    fn result(&mut self, r: &StatementResult, tf: TimeFormat, depth: usize) {
        let tz = r.tz.as_deref();
        let mut o = Obj::at(depth);
        self.key(&mut o, "statement_id");
        self.out
            .push_str(itoa::Buffer::new().format(r.statement_id));
        if !r.series.is_empty() {
            self.key(&mut o, "series");
            self.seq(depth + 1, &r.series, |e, s, d| e.series(s, tf, tz, d));
        }
        if !r.messages.is_empty() {
            self.key(&mut o, "messages");
            self.seq(depth + 1, &r.messages, |e, (l, t), d| {
                let mut m = Obj::at(d);
                e.key(&mut m, "level");
                go_string(l, e.out);
                e.key(&mut m, "text");
                go_string(t, e.out);
                e.close(m);
            });
        }
        if r.partial {
            self.key(&mut o, "partial");
            self.out.push_str("true");
        }
        if let Some(e) = &r.error {
            self.key(&mut o, "error");
            go_string(e, self.out);
        }
        self.close(o);
    }
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
    // A first guess at the size saves most of the regrowing copies of big answers.
    let cells: usize = results
        .iter()
        .flat_map(|r| &r.series)
        .map(|s| s.values.len() * s.columns.len())
        .sum();
    let mut out = String::with_capacity(64 + cells * 12);
    let mut e = Enc {
        out: &mut out,
        pretty,
    };
    let mut o = Obj::at(0);
    e.key(&mut o, "results");
    e.seq(1, results, |e, r, d| e.result(r, tf, d));
    e.close(o);
    out.push('\n');
    out
}

/// `{"error":"…"}` for a request that failed as a whole.
pub fn error_json(message: &str, pretty: bool) -> String {
    let mut out = String::new();
    let mut e = Enc {
        out: &mut out,
        pretty,
    };
    let mut o = Obj::at(0);
    e.key(&mut o, "error");
    go_string(message, e.out);
    e.close(o);
    out.push('\n');
    out
}

/// A request's error as influxd's CSV writer puts it: an `error` header and the message.
pub fn error_csv(message: &str) -> String {
    let mut out = String::from("error\n");
    csv_field(message, &mut out);
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
                // influxd writes the tags' hash key, which leaves out empty values.
                let tags = s
                    .tags
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
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
                                    // Go's 'f' format: fixed notation at any size.
                                    push_fixed(ryu::Buffer::new().format_finite(*f), &mut t);
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
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(1e20), "100000000000000000000");
        assert_eq!(f(1.5e17), "150000000000000000");
        assert_eq!(f(0.00001234), "0.00001234");
        // A tie between two shortest forms: influxd 1.6.7 prints the lower (as ryu does;
        // Rust's own formatter picks ...250.3).
        let fixed = |x: f64| {
            let mut s = String::new();
            push_fixed(ryu::Buffer::new().format_finite(x), &mut s);
            s
        };
        assert_eq!(fixed(1.5e-7), "0.00000015");
        assert_eq!(fixed(-1e22), "-10000000000000000000000");
        assert_eq!(fixed(12.25), "12.25");
        let tie: f64 = "1389203678596250.25".parse().unwrap();
        assert_eq!(f(tie), "1389203678596250.2");
        assert_eq!(f(5e-324), "5e-324");
        assert_eq!(f(-2.5e300), "-2.5e+300");
        // Everywhere in the fixed range: as short as Rust's shortest form, and reads back
        // as the same float.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = match i % 3 {
                0 => f64::from_bits(x),
                1 => (x % 1_000_000) as f64 / 1000.0,
                _ => (x >> 11) as f64 * 10f64.powi((x % 40) as i32 - 20) / (1u64 << 53) as f64,
            };
            if v.is_finite() && (v == 0.0 || (1e-6..1e21).contains(&v.abs())) {
                let got = f(v);
                assert_eq!(got.parse::<f64>().unwrap(), v, "{v:e}");
                assert_eq!(got.len(), format!("{v}").len(), "{v:e}");
            }
        }
    }

    #[test]
    fn strings_escaped_like_go() {
        let f = |x: &str| {
            let mut s = String::new();
            go_string(x, &mut s);
            s
        };
        assert_eq!(f("plain"), "\"plain\"");
        assert_eq!(f(""), "\"\"");
        assert_eq!(f("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(f("x\ny\rz\t"), "\"x\\ny\\rz\\t\"");
        assert_eq!(f("<&>"), "\"\\u003c\\u0026\\u003e\"");
        assert_eq!(
            f("\u{1}é\u{2028}ü\u{2029}€"),
            "\"\\u0001é\\u2028ü\\u2029€\""
        );
        assert_eq!(f("\u{7f}\u{2027}"), "\"\u{7f}\u{2027}\"");
    }

    #[test]
    fn pretty_nesting_and_empty_arrays() {
        let r = StatementResult {
            statement_id: 1,
            series: vec![Series {
                name: "m".into(),
                columns: vec!["time".into(), "v".into()],
                values: vec![vec![Value::Time(1), Value::Strings(vec![])]],
                ..Default::default()
            }],
            messages: vec![("warning".into(), "w".into())],
            ..Default::default()
        };
        assert_eq!(
            results_json(std::slice::from_ref(&r), TimeFormat::Epoch(1), true),
            "{\n    \"results\": [\n        {\n            \"statement_id\": 1,\n            \"series\": [\n                {\n                    \"name\": \"m\",\n                    \"columns\": [\n                        \"time\",\n                        \"v\"\n                    ],\n                    \"values\": [\n                        [\n                            1,\n                            []\n                        ]\n                    ]\n                }\n            ],\n            \"messages\": [\n                {\n                    \"level\": \"warning\",\n                    \"text\": \"w\"\n                }\n            ]\n        }\n    ]\n}\n"
        );
        assert_eq!(error_json("e<", false), "{\"error\":\"e\\u003c\"}\n");
        assert_eq!(
            results_json(&[], TimeFormat::Rfc3339, false),
            "{\"results\":[]}\n"
        );
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
