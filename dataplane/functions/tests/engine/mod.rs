//! A miniature InfluxQL executor for the corpus: filters points, groups
//! and windows them, drives the crate's reducers and transforms the way the
//! query engine must, and applies fill().

use serde_json::Value as Json;
use tessera_functions::{
    binary, math, merge_order, reducer, transform, Arg, IntegralStream, Point, Reducer, TimeRule,
    TransformContext, Value, ValueType, Window,
};

mod fill;
mod ship;

/// An output row: time, value, and the tag column of top(x, tag, N).
pub(crate) type Row = (i64, Value, Option<String>);

pub(crate) struct Series {
    pub(crate) host: String,
    /// (time, one value per field)
    pub(crate) points: Vec<(i64, Vec<Value>)>,
}

pub(crate) struct Case {
    pub(crate) func: String,
    pub(crate) args: Vec<Json>,
    pub(crate) start: Option<i64>,
    pub(crate) end: Option<i64>,
    pub(crate) interval: Option<i64>,
    pub(crate) offset: i64,
    pub(crate) fill: String,
    pub(crate) by_host: bool,
    pub(crate) inner: Option<(String, Vec<Json>)>,
    pub(crate) expr: Option<String>,
    pub(crate) types: Vec<ValueType>,
    pub(crate) series: Vec<Series>,
    /// `SELECT f(v), host`: the host of the selected point is a column.
    pub(crate) with_host: bool,
    /// Intervals the inner aggregate of a transformation starts early.
    pub(crate) extra: std::cell::Cell<i64>,
    /// When above 1: reduce each window's series in this many partials,
    /// ship each through `Reducer::encode`/`decode`, merge (see `ship`).
    pub(crate) parts: std::cell::Cell<usize>,
}

/// One output series: host tag (empty without GROUP BY host), rows of
/// (time, value, extra tag column), output type.
pub(crate) struct Output {
    pub(crate) host: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) typ: Option<ValueType>,
}

pub(crate) const MATH: [&str; 17] = [
    "abs", "acos", "asin", "atan", "ceil", "cos", "exp", "floor", "ln", "log2", "log10", "round",
    "sin", "sqrt", "tan", "log", "pow",
];
pub(crate) const TRANSFORMS: [&str; 17] = [
    "derivative",
    "non_negative_derivative",
    "difference",
    "non_negative_difference",
    "moving_average",
    "cumulative_sum",
    "elapsed",
    "holt_winters",
    "holt_winters_with_fit",
    "exponential_moving_average",
    "double_exponential_moving_average",
    "triple_exponential_moving_average",
    "relative_strength_index",
    "triple_exponential_derivative",
    "kaufmans_efficiency_ratio",
    "kaufmans_adaptive_moving_average",
    "chande_momentum_oscillator",
];

pub(crate) fn value_type(s: &str) -> ValueType {
    match s {
        "float" => ValueType::Float,
        "integer" => ValueType::Integer,
        "string" => ValueType::String,
        _ => ValueType::Boolean,
    }
}

pub(crate) fn to_value(j: &Json, t: ValueType) -> Value {
    match t {
        ValueType::Float => Value::Float(j.as_f64().expect("float")),
        ValueType::Integer => Value::Integer(j.as_i64().expect("integer")),
        ValueType::String => Value::String(j.as_str().expect("string").to_string()),
        _ => Value::Boolean(j.as_bool().expect("bool")),
    }
}

pub(crate) fn parse_args(args: &[Json]) -> Vec<Arg> {
    args.iter()
        .map(|a| match a {
            Json::Number(n) if n.is_i64() => Arg::Integer(n.as_i64().expect("i64")),
            Json::Number(n) => Arg::Float(n.as_f64().expect("f64")),
            Json::String(s) if ["simple", "exponential", "none"].contains(&s.as_str()) => {
                Arg::String(s.clone())
            }
            Json::String(s) => match parse_duration(s) {
                Some(d) => Arg::Duration(d),
                None => Arg::Ident(s.clone()),
            },
            other => panic!("argument {other}"),
        })
        .collect()
}

fn parse_duration(s: &str) -> Option<i64> {
    let units = [
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ];
    for (u, ns) in units {
        if let Some(n) = s.strip_suffix(u) {
            if let Ok(n) = n.parse::<i64>() {
                return Some(n * ns);
            }
        }
    }
    None
}

impl Case {
    fn in_range(&self, t: i64) -> bool {
        let extra = self.extra.get() * self.interval.unwrap_or(0);
        self.start.map(|s| t >= s - extra).unwrap_or(true)
            && self.end.map(|e| t < e).unwrap_or(true)
    }

    /// The groups: (host key, series indexes).
    fn groups(&self) -> Vec<(String, Vec<usize>)> {
        if !self.by_host {
            return vec![(String::new(), (0..self.series.len()).collect())];
        }
        let mut hosts: Vec<String> = self.series.iter().map(|s| s.host.clone()).collect();
        hosts.sort();
        hosts.dedup();
        hosts
            .into_iter()
            .map(|h| {
                let idx = (0..self.series.len())
                    .filter(|&i| self.series[i].host == h)
                    .collect();
                (h, idx)
            })
            .collect()
    }

    /// Points of a group merged by time the way influxd merges series
    /// (`merge_order`), with aux = series << 32 | index.
    fn merged(&self, series: &[usize], field: usize) -> Vec<Point> {
        let runs: Vec<Vec<(usize, i64)>> = series
            .iter()
            .map(|&s| {
                self.series[s]
                    .points
                    .iter()
                    .enumerate()
                    .filter(|(_, (t, _))| self.in_range(*t))
                    .map(|(i, (t, _))| (i, *t))
                    .collect()
            })
            .collect();
        let times: Vec<Vec<i64>> = runs
            .iter()
            .map(|r| r.iter().map(|p| p.1).collect())
            .collect();
        let slices: Vec<&[i64]> = times.iter().map(|t| t.as_slice()).collect();
        merge_order(&slices)
            .into_iter()
            .map(|(run, k)| {
                let s = series[run];
                let i = runs[run][k].0;
                let (t, vals) = &self.series[s].points[i];
                Point {
                    time: *t,
                    value: vals[field].clone(),
                    aux: ((s as u64) << 32) | i as u64,
                }
            })
            .collect()
    }

    pub(crate) fn host_of(&self, aux: u64) -> String {
        self.series[(aux >> 32) as usize].host.clone()
    }

    pub(crate) fn point_of(&self, aux: u64) -> Option<&(i64, Vec<Value>)> {
        self.series
            .get((aux >> 32) as usize)?
            .points
            .get((aux & 0xffff_ffff) as usize)
    }

    pub(crate) fn run(&self) -> Result<Vec<Output>, String> {
        if self.expr.is_some() || MATH.contains(&self.func.as_str()) {
            return self.run_math();
        }
        if TRANSFORMS.contains(&self.func.as_str()) {
            return self.run_transform();
        }
        let mut out = Vec::new();
        for (host, idx) in self.groups() {
            let (rows, typ) = self.aggregate(&self.func, &self.args, &idx)?;
            if !rows.is_empty() {
                out.push(Output { host, rows, typ });
            }
        }
        Ok(out)
    }

    fn windows(&self) -> Option<(Window, Vec<i64>)> {
        let iv = self.interval?;
        let w = Window::new(iv, self.offset);
        let s = self.start.expect("GROUP BY time needs a start") - self.extra.get() * iv;
        let e = self.end.expect("and an end");
        let mut starts = Vec::new();
        let mut t = w.start(s);
        while t < e {
            starts.push(t);
            t += iv;
        }
        Some((w, starts))
    }

    /// Rows of `func(field)` for one group, filled; null rows kept.
    #[allow(clippy::type_complexity)]
    fn aggregate(
        &self,
        func: &str,
        args: &[Json],
        idx: &[usize],
    ) -> Result<(Vec<Row>, Option<ValueType>), String> {
        let input = self.types[0];
        let name = if func == "count_distinct" {
            "count_distinct"
        } else {
            func
        };
        let proto = reducer(name, &parse_args(args), input).map_err(|e| e.to_string())?;
        let typ = Some(proto.output_type());
        let rule = proto.time_rule();
        let tagged = !proto.tag_keys().is_empty();
        let pts = self.merged(idx, 0);
        if pts.is_empty() {
            return Ok((Vec::new(), typ));
        }
        let Some((w, starts)) = self.windows() else {
            let ws = self.start.unwrap_or(0);
            let rows = self.reduce_window(&proto, idx, ws, None, rule, tagged)?;
            return Ok((rows, typ));
        };
        // integral with GROUP BY time streams across windows.
        let integral = if name == "integral" {
            let unit = match parse_args(args).first() {
                Some(Arg::Duration(d)) => *d,
                _ => 1_000_000_000,
            };
            let mut s = IntegralStream::new(unit, Some(w), self.start, input != ValueType::Float);
            for p in &pts {
                s.push(p.time, p.value.as_f64().expect("numeric"));
            }
            Some(s.finish())
        } else {
            None
        };
        let mut per_window: Vec<(i64, Vec<Row>)> = Vec::new();
        let mut stopped = false;
        for &ws in &starts {
            let rows = match &integral {
                Some(all) => all
                    .iter()
                    .filter(|p| p.time == ws)
                    .map(|p| (ws, p.value.clone(), None))
                    .collect(),
                None => self.reduce_window(&proto, idx, ws, Some(ws + w.interval), rule, tagged)?,
            };
            // influxd's reduce iterator ends at the first window whose
            // reducer saw points but emitted nothing (percentile rank out of
            // range): the group's later windows only get fill values.
            let had_points = pts.iter().any(|p| p.time >= ws && p.time < ws + w.interval);
            if proto.empty_result_ends_group() && had_points && rows.is_empty() {
                stopped = true;
            }
            per_window.push((ws, if stopped { Vec::new() } else { rows }));
        }
        // A group whose windows all came out empty (percentile rank out of
        // range everywhere) has no series at all: fill never sees it.
        if per_window.iter().all(|(_, r)| r.is_empty()) {
            return Ok((Vec::new(), typ));
        }
        if proto.is_multi_row() {
            return Ok((per_window.into_iter().flat_map(|(_, r)| r).collect(), typ));
        }
        let filled = self.fill(per_window, &proto, proto.output_type());
        Ok((filled, typ))
    }

    fn reduce_window(
        &self,
        proto: &Reducer,
        idx: &[usize],
        ws: i64,
        we: Option<i64>,
        rule: TimeRule,
        tagged: bool,
    ) -> Result<Vec<Row>, String> {
        let mut batches = Vec::new();
        for &s in idx {
            let mut times = Vec::new();
            let mut vals = Vec::new();
            let mut first = None;
            for (i, (t, v)) in self.series[s].points.iter().enumerate() {
                if self.in_range(*t) && *t >= ws && we.map(|e| *t < e).unwrap_or(true) {
                    first.get_or_insert(i);
                    times.push(*t);
                    vals.push(v[0].clone());
                }
            }
            let Some(first) = first else { continue };
            batches.push(ship::Batch {
                series: s,
                times,
                vals,
                aux: ((s as u64) << 32) | first as u64,
            });
        }
        let acc = if self.parts.get() > 1 {
            self.shipped(proto, tagged, &batches, self.parts.get())?
        } else {
            let mut acc: Option<Reducer> = None;
            for b in &batches {
                let r = self.reduce_batch(proto, tagged, b, 0..b.times.len())?;
                match &mut acc {
                    None => acc = Some(r),
                    Some(a) => a.merge(r).map_err(|e| e.to_string())?,
                }
            }
            acc
        };
        let Some(r) = acc else { return Ok(Vec::new()) };
        let grouped = we.is_some();
        let rows = r.finish(ws);
        if rule != TimeRule::WindowStart && proto.name() != "integral" {
            // A selected row's aux must lead back to the input point.
            for p in &rows {
                match self.point_of(p.aux) {
                    Some((t, v)) if *t == p.time && v[0] == p.value => {}
                    other => return Err(format!("aux {:#x} of {p:?} points at {other:?}", p.aux)),
                }
            }
        }
        Ok(rows
            .into_iter()
            .map(|p| {
                let t = match rule {
                    TimeRule::Selector if grouped => ws,
                    _ => p.time,
                };
                let tag = (tagged || self.with_host).then(|| self.host_of(p.aux));
                (t, p.value, tag)
            })
            .collect())
    }

    fn run_transform(&self) -> Result<Vec<Output>, String> {
        let ctx = TransformContext {
            interval: self.inner.as_ref().and(self.interval),
            ascending: true,
        };
        if self.inner.is_some() {
            // The transformation's argument check decides how far back the
            // inner aggregate starts; its input type does not matter here.
            let probe = transform(&self.func, &parse_args(&self.args), ValueType::Float, ctx)
                .map_err(|e| e.to_string())?;
            self.extra.set(probe.extra_intervals());
        }
        let mut out = Vec::new();
        for (host, idx) in self.groups() {
            let (rows, input) = match &self.inner {
                Some((f, a)) => {
                    let (rows, t) = self.aggregate(f, a, &idx)?;
                    let rows: Vec<Point> =
                        rows.into_iter().map(|(t, v, _)| Point::new(t, v)).collect();
                    (rows, t.expect("type"))
                }
                None => (self.merged(&idx, 0), self.types[0]),
            };
            let tr = transform(&self.func, &parse_args(&self.args), input, ctx)
                .map_err(|e| e.to_string())?;
            let typ = Some(tr.output_type());
            let start = self.start.unwrap_or(i64::MIN);
            let rows: Vec<_> = tr
                .apply(&rows)
                .into_iter()
                .filter(|p| p.time >= start)
                .map(|p| (p.time, p.value, None))
                .collect();
            if !rows.is_empty() {
                out.push(Output { host, rows, typ });
            }
        }
        Ok(out)
    }

    fn run_math(&self) -> Result<Vec<Output>, String> {
        let mut rows = Vec::new();
        let mut typ = None;
        for s in &self.series {
            for (t, vals) in &s.points {
                if !self.in_range(*t) {
                    continue;
                }
                let (v, ty) = self.eval(vals)?;
                typ = Some(ty);
                rows.push((*t, v, None));
            }
        }
        rows.sort_by_key(|r| r.0);
        Ok(vec![Output {
            host: String::new(),
            rows,
            typ,
        }])
    }

    fn eval(&self, vals: &[Value]) -> Result<(Value, ValueType), String> {
        let lit = |s: &str| -> Value {
            if s == "a" {
                vals[0].clone()
            } else if s == "b" {
                vals[1].clone()
            } else if s.contains('.') {
                Value::Float(s.parse().expect("float literal"))
            } else {
                Value::Integer(s.parse().expect("integer literal"))
            }
        };
        let ty = |v: &Value| v.value_type().unwrap_or(ValueType::Float);
        match (self.func.as_str(), &self.expr) {
            ("binary" | "binary_lit", Some(e)) => {
                let parts: Vec<&str> = e.split(' ').collect();
                let (l, r) = (lit(parts[0]), lit(parts[2]));
                let op = binary::Op::parse(parts[1]).expect("operator");
                let out = binary::output_type(ty(&l), op, ty(&r)).map_err(|e| e.to_string())?;
                Ok((binary::apply(&l, op, &r).map_err(|e| e.to_string())?, out))
            }
            (f, _) => {
                let name = match f {
                    "pow_fields" => "pow",
                    "log_fields" => "log",
                    n => n,
                };
                let mut args = vec![vals[0].clone()];
                if self.expr.is_some() {
                    args.push(vals[1].clone());
                } else if let Some(a) = self.args.first() {
                    args.push(if a.is_i64() {
                        Value::Integer(a.as_i64().expect("int"))
                    } else {
                        Value::Float(a.as_f64().expect("float"))
                    });
                }
                let out = math::output_type(name, ty(&args[0]));
                Ok((math::apply(name, &args).map_err(|e| e.to_string())?, out))
            }
        }
    }
}

pub(crate) fn floats(v: &[Value]) -> Vec<f64> {
    v.iter().map(|x| x.as_f64().expect("float")).collect()
}
pub(crate) fn ints(v: &[Value]) -> Vec<i64> {
    v.iter()
        .map(|x| match x {
            Value::Integer(i) => *i,
            _ => panic!("integer"),
        })
        .collect()
}
pub(crate) fn strings(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|x| match x {
            Value::String(s) => s.clone(),
            _ => panic!("string"),
        })
        .collect()
}
pub(crate) fn bools(v: &[Value]) -> Vec<bool> {
    v.iter()
        .map(|x| match x {
            Value::Boolean(b) => *b,
            _ => panic!("bool"),
        })
        .collect()
}
