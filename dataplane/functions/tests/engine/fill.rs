//! fill(): what the engine shows for empty windows.

use super::{Case, Row};
use tessera_functions::{Reducer, Value, ValueType};

impl Case {
    pub(super) fn fill(
        &self,
        per_window: Vec<(i64, Vec<Row>)>,
        proto: &Reducer,
        typ: ValueType,
    ) -> Vec<Row> {
        let mut out = Vec::new();
        let known: Vec<(i64, Value)> = per_window
            .iter()
            .filter(|(_, r)| r.len() == 1)
            .map(|(ws, r)| (*ws, r[0].1.clone()))
            .collect();
        let mut prev: Option<Value> = None;
        for (ws, rows) in per_window {
            if !rows.is_empty() {
                prev = rows.last().map(|r| r.1.clone());
                out.extend(rows);
                continue;
            }
            let v = match self.fill.as_str() {
                "none" => continue,
                "null" => proto.null_fill(),
                "previous" => prev.clone().unwrap_or(Value::Null),
                "linear" => {
                    let before = known.iter().rev().find(|(t, _)| *t < ws);
                    let after = known.iter().find(|(t, _)| *t > ws);
                    match (before, after) {
                        (Some((t0, v0)), Some((t1, v1))) => {
                            linear(ws, *t0, *t1, v0, v1, self.interval.unwrap_or(1))
                        }
                        _ => Value::Null,
                    }
                }
                n => {
                    let f: f64 = n.parse().expect("fill number");
                    match typ {
                        ValueType::Integer => Value::Integer(f as i64),
                        _ => Value::Float(f),
                    }
                }
            };
            out.push((ws, v, None));
        }
        out
    }
}

/// fill(linear): influxd interpolates on times divided by the interval.
fn linear(t: i64, t0: i64, t1: i64, v0: &Value, v1: &Value, iv: i64) -> Value {
    let (x, x0, x1) = (t / iv, t0 / iv, t1 / iv);
    match (v0, v1) {
        (Value::Integer(a), Value::Integer(b)) => {
            let m = (b - a) as f64 / (x1 - x0) as f64;
            Value::Integer((m * (x - x0) as f64 + *a as f64) as i64)
        }
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => Value::Float((b - a) / (x1 - x0) as f64 * (x - x0) as f64 + a),
            _ => Value::Null,
        },
    }
}
