//! Reducers as the engine drives them: pushed columns or rows on the cores that own the
//! data, merged on the coordinator, finished per (group, window).
//!
//! Provisional: the hot reducers keep running states; the rest keep their points and
//! compute at `finish`.

use std::ops::Range;

use tessera_storage::batch::FieldType;
use tessera_storage::column::Values;

use crate::error::QueryError;
use crate::plan::CallSpec;
use crate::value::Value;

/// A point a reducer kept: time, value, aux row id, tag values (for `top`/`bottom`).
#[derive(Debug, Clone)]
pub struct Kept {
    pub time: i64,
    pub value: Value,
    pub aux: u64,
    pub tags: Vec<String>,
}

pub struct Reducer {
    name: String,
    args: Vec<f64>,
    /// Number of points for top/bottom/sample.
    n: usize,
    points: Vec<Kept>,
    count: i64,
}

/// One output of a finished reducer. `time` is `None` for aggregates (the window's time).
#[derive(Debug, Clone)]
pub struct Out {
    pub time: Option<i64>,
    pub value: Value,
    pub aux: u64,
}

fn num_arg(e: &tessera_influxql::Expr) -> Option<f64> {
    match e {
        tessera_influxql::Expr::Integer(i) => Some(*i as f64),
        tessera_influxql::Expr::Number(f) => Some(*f),
        tessera_influxql::Expr::Duration(d) => Some(*d as f64),
        _ => None,
    }
}

impl Reducer {
    pub fn new(spec: &CallSpec, _ty: Option<FieldType>) -> Result<Reducer, QueryError> {
        let args: Vec<f64> = spec.args.iter().filter_map(num_arg).collect();
        let n = args.last().copied().unwrap_or(1.0).max(0.0) as usize;
        let name = if spec.distinct_inner {
            "count_distinct".to_string()
        } else {
            spec.name.clone()
        };
        Ok(Reducer {
            name,
            args,
            n,
            points: Vec::new(),
            count: 0,
        })
    }

    pub fn push(&mut self, time: i64, v: &Value, aux: u64, tags: Vec<String>) {
        if self.name == "count" {
            self.count += 1;
            return;
        }
        self.points.push(Kept {
            time,
            value: v.clone(),
            aux,
            tags,
        });
    }

    pub fn push_column(&mut self, times: &[i64], values: &Values, range: Range<usize>) {
        if self.name == "count" {
            self.count += times.len() as i64;
            return;
        }
        self.points.reserve(times.len());
        for (t, i) in times.iter().zip(range) {
            let v = match values {
                Values::Float(v) => Value::Float(v[i]),
                Values::Integer(v) => Value::Integer(v[i]),
                Values::Unsigned(v) => Value::Unsigned(v[i]),
                Values::Boolean(v) => Value::Boolean(v[i]),
                Values::Str(v) => Value::String(String::from_utf8_lossy(&v[i]).into_owned()),
            };
            self.points.push(Kept {
                time: *t,
                value: v,
                aux: 0,
                tags: Vec::new(),
            });
        }
    }

    pub fn merge(&mut self, other: Reducer) {
        self.count += other.count;
        self.points.extend(other.points);
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.points.is_empty()
    }

    pub fn finish(mut self) -> Vec<Out> {
        self.points.sort_by_key(|p| p.time);
        let agg = |v: Value| {
            vec![Out {
                time: None,
                value: v,
                aux: 0,
            }]
        };
        let sel = |p: &Kept| Out {
            time: Some(p.time),
            value: p.value.clone(),
            aux: p.aux,
        };
        let pts = &self.points;
        let floats = || {
            pts.iter()
                .filter_map(|p| p.value.as_f64())
                .collect::<Vec<f64>>()
        };
        let all_int = pts.iter().all(|p| matches!(p.value, Value::Integer(_)));
        match self.name.as_str() {
            "count" => agg(Value::Integer(self.count)),
            "sum" => {
                if all_int {
                    agg(Value::Integer(
                        pts.iter()
                            .map(|p| match p.value {
                                Value::Integer(i) => i,
                                _ => 0,
                            })
                            .fold(0i64, i64::wrapping_add),
                    ))
                } else {
                    agg(Value::Float(floats().iter().sum()))
                }
            }
            "mean" => {
                let f = floats();
                if f.is_empty() {
                    return Vec::new();
                }
                agg(Value::Float(f.iter().sum::<f64>() / f.len() as f64))
            }
            "spread" => {
                if pts.is_empty() {
                    return Vec::new();
                }
                if all_int {
                    let it = pts.iter().filter_map(|p| match p.value {
                        Value::Integer(i) => Some(i),
                        _ => None,
                    });
                    let (mn, mx) = it.fold((i64::MAX, i64::MIN), |(a, b), x| (a.min(x), b.max(x)));
                    agg(Value::Integer(mx - mn))
                } else {
                    let f = floats();
                    let mn = f.iter().copied().fold(f64::INFINITY, f64::min);
                    let mx = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    agg(Value::Float(mx - mn))
                }
            }
            "stddev" => {
                let f = floats();
                if f.len() < 2 {
                    return if f.is_empty() {
                        Vec::new()
                    } else {
                        agg(Value::Null)
                    };
                }
                let mean = f.iter().sum::<f64>() / f.len() as f64;
                let var =
                    f.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (f.len() - 1) as f64;
                agg(Value::Float(var.sqrt()))
            }
            "median" => {
                let mut f = floats();
                if f.is_empty() {
                    return Vec::new();
                }
                f.sort_by(f64::total_cmp);
                let n = f.len();
                let m = if n % 2 == 1 {
                    f[n / 2]
                } else {
                    (f[n / 2 - 1] + f[n / 2]) / 2.0
                };
                agg(Value::Float(m))
            }
            "first" => pts.first().map(sel).into_iter().collect(),
            "last" => pts
                .iter()
                .rev()
                .max_by_key(|p| p.time)
                .map(sel)
                .into_iter()
                .collect(),
            "max" | "min" => {
                let mut best: Option<&Kept> = None;
                for p in pts {
                    best = match best {
                        None => Some(p),
                        Some(b) => {
                            let o = p.value.total_cmp(&b.value);
                            let better = if self.name == "max" {
                                o.is_gt()
                            } else {
                                o.is_lt()
                            };
                            if better {
                                Some(p)
                            } else {
                                Some(b)
                            }
                        }
                    };
                }
                best.map(sel).into_iter().collect()
            }
            "percentile" => {
                let pct = self.args.first().copied().unwrap_or(50.0);
                let mut s: Vec<&Kept> = pts.iter().filter(|p| p.value.as_f64().is_some()).collect();
                if s.is_empty() {
                    return Vec::new();
                }
                s.sort_by(|a, b| a.value.total_cmp(&b.value));
                let i = ((s.len() as f64) * pct / 100.0 + 0.5).floor() as i64 - 1;
                if i < 0 || i as usize >= s.len() {
                    return Vec::new();
                }
                vec![sel(s[i as usize])]
            }
            "top" | "bottom" => {
                let mut s: Vec<&Kept> = pts.iter().collect();
                if self.name == "top" {
                    s.sort_by(|a, b| b.value.total_cmp(&a.value).then(a.time.cmp(&b.time)));
                } else {
                    s.sort_by(|a, b| a.value.total_cmp(&b.value).then(a.time.cmp(&b.time)));
                }
                let mut seen: Vec<&Vec<String>> = Vec::new();
                let mut chosen: Vec<&Kept> = Vec::new();
                for p in s {
                    if chosen.len() >= self.n {
                        break;
                    }
                    if !p.tags.is_empty() {
                        if seen.contains(&&p.tags) {
                            continue;
                        }
                        seen.push(&p.tags);
                    }
                    chosen.push(p);
                }
                chosen.sort_by_key(|p| p.time);
                chosen.into_iter().map(sel).collect()
            }
            "distinct" | "count_distinct" => {
                let mut vals: Vec<Value> = pts.iter().map(|p| p.value.clone()).collect();
                vals.sort_by(|a, b| a.total_cmp(b));
                vals.dedup();
                if self.name == "count_distinct" {
                    return agg(Value::Integer(vals.len() as i64));
                }
                vals.into_iter()
                    .map(|v| Out {
                        time: None,
                        value: v,
                        aux: 0,
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}
