//! top() and bottom(): a bounded heap of candidates, as influxd's
//! `FloatTopReducer` (container/heap, same comparison), and the
//! `top(x, tag, …, N)` form, which first keeps the max (min) point per
//! distinct tag-value combination and then ranks those.
//!
//! The points are kept with their series keys and replayed at finish in
//! influxd's merge order of the series (`merge_order`, series in key order
//! whatever order the partials were merged in): with equal values at equal
//! times in several series, the heap's history decides which series' point
//! is returned.

use std::collections::BTreeMap;

use super::column::{Column, Kept, Scalar};
use super::selector::{Pick, Selector};
use crate::error::FunctionError;
use crate::gosort;
use crate::value::{Point, ValueType};
use crate::wire::{self, Reader};

#[derive(Debug, Clone)]
pub(crate) struct Cand {
    time: i64,
    aux: u64,
    value: Scalar,
}

/// The heap order: the root is the candidate pushed out first.
fn less(top: bool, a: &Cand, b: &Cand) -> bool {
    if a.value != b.value {
        return if top {
            a.value.lt(&b.value)
        } else {
            b.value.lt(&a.value)
        };
    }
    a.time > b.time
}

#[derive(Debug, Clone)]
pub(crate) struct TopBottom {
    top: bool,
    n: usize,
    heap: Vec<Cand>,
    /// With tag arguments: best point per tag-value key, fed to the heap at finish.
    by_tag: Option<BTreeMap<String, Selector>>,
    current_key: String,
    /// Without tag arguments: every pushed point, replayed at finish.
    kept: Option<Kept>,
}

impl TopBottom {
    pub(crate) fn new(top: bool, n: usize, tagged: bool, input: crate::value::ValueType) -> Self {
        TopBottom {
            top,
            n,
            heap: Vec::with_capacity(n.min(1024)),
            by_tag: tagged.then(BTreeMap::new),
            current_key: String::new(),
            kept: (!tagged).then(|| Kept::new(input)),
        }
    }

    pub(crate) fn set_tag_key(&mut self, key: &str) {
        if self.current_key != key {
            self.current_key.clear();
            self.current_key.push_str(key);
        }
    }

    fn aggregate(&mut self, c: Cand) {
        let top = self.top;
        if self.heap.len() == self.n {
            if self.n == 0 || !less(top, &self.heap[0], &c) {
                return;
            }
            self.heap[0] = c;
            gosort::heap_fix(&mut self.heap, 0, &mut |a: &Cand, b: &Cand| less(top, a, b));
            return;
        }
        gosort::heap_push(&mut self.heap, c, &mut |a: &Cand, b: &Cand| less(top, a, b));
    }

    fn tag_selector(&mut self) -> Option<&mut Selector> {
        let pick = if self.top { Pick::Max } else { Pick::Min };
        let key = &self.current_key;
        self.by_tag.as_mut().map(|m| {
            if !m.contains_key(key) {
                m.insert(key.clone(), Selector::new(pick));
            }
            m.get_mut(key).expect("inserted above")
        })
    }

    /// Pushes one batch of series `key` (see [`Kept::merged`] for why the key).
    pub(crate) fn push_column(&mut self, times: &[i64], c: Column<'_>, aux_base: u64, key: &[u8]) {
        if let Some(sel) = self.tag_selector() {
            sel.push_column(times, c, aux_base, key);
            return;
        }
        if let Some(k) = &mut self.kept {
            k.extend(times, c, aux_base, key);
            return;
        }
        for i in 0..times.len() {
            let value = match c {
                Column::Float(v) => Scalar::F(v[i]),
                Column::Integer(v) => Scalar::I(v[i]),
                Column::Unsigned(v) => Scalar::U(v[i]),
                Column::String(v) => Scalar::S(v[i].clone()),
                Column::Boolean(v) => Scalar::B(v[i]),
            };
            self.aggregate(Cand {
                time: times[i],
                aux: aux_base.wrapping_add(i as u64),
                value,
            });
        }
    }

    pub(crate) fn push(&mut self, time: i64, value: Scalar, aux: u64, key: &[u8]) {
        if let Some(sel) = self.tag_selector() {
            sel.push(time, value, aux, key);
            return;
        }
        if let Some(k) = &mut self.kept {
            k.push(time, value, aux, key);
            return;
        }
        self.aggregate(Cand { time, aux, value });
    }

    pub(crate) fn merge(&mut self, other: TopBottom) {
        if let (Some(mine), Some(theirs)) = (&mut self.kept, other.kept) {
            mine.append(theirs);
            return;
        }
        match (&mut self.by_tag, other.by_tag) {
            (Some(mine), Some(theirs)) => {
                for (k, sel) in theirs {
                    match mine.get_mut(&k) {
                        Some(m) => m.merge(sel),
                        None => {
                            mine.insert(k, sel);
                        }
                    }
                }
            }
            _ => {
                let top = other.top;
                let mut h = other.heap;
                gosort::sort_by(&mut h, |a, b| less(top, b, a));
                for c in h {
                    self.aggregate(c);
                }
            }
        }
    }

    /// The kept points ordered by time; equal times in rank order.
    pub(crate) fn finish(mut self) -> Vec<Point> {
        if let Some(k) = self.kept.take() {
            let k = k.merged();
            for i in 0..k.len() {
                self.aggregate(Cand {
                    time: k.times[i],
                    aux: k.aux[i],
                    value: k.values.scalar(i),
                });
            }
        }
        if let Some(m) = self.by_tag.take() {
            // influxd feeds the per-tag winners ordered by time, then tag key.
            let mut winners: Vec<(String, Point)> = m
                .into_iter()
                .flat_map(|(k, s)| s.finish().into_iter().map(move |p| (k.clone(), p)))
                .collect();
            winners.sort_by(|a, b| a.1.time.cmp(&b.1.time).then_with(|| a.0.cmp(&b.0)));
            for (_, p) in winners {
                if let Some(value) = Scalar::from_value(&p.value) {
                    self.aggregate(Cand {
                        time: p.time,
                        aux: p.aux,
                        value,
                    });
                }
            }
        }
        let top = self.top;
        let mut h = self.heap;
        gosort::sort_by(&mut h, |a, b| less(top, b, a));
        let mut out: Vec<Point> = h
            .into_iter()
            .map(|c| Point {
                time: c.time,
                value: c.value.into_value(),
                aux: c.aux,
            })
            .collect();
        out.sort_by_key(|p| p.time);
        out
    }
}

// Wire encoding (see `crate::wire`). top/bottom, N and whether tags are
// used come from the function; the state is the heap (empty unless a
// merge mixed forms), the current tag key, then either the per-tag
// selectors (keys ascending) or the kept points.

impl TopBottom {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        wire::put_uvarint(out, self.heap.len() as u64);
        for c in &self.heap {
            wire::put_ivarint(out, c.time);
            wire::put_uvarint(out, c.aux);
            c.value.save(out);
        }
        wire::put_str(out, &self.current_key);
        if let Some(m) = &self.by_tag {
            wire::put_uvarint(out, m.len() as u64);
            for (k, sel) in m {
                wire::put_str(out, k);
                sel.save(out);
            }
        }
        if let Some(k) = &self.kept {
            k.save(out);
        }
    }

    pub(crate) fn load(&mut self, r: &mut Reader<'_>, t: ValueType) -> Result<(), FunctionError> {
        // A candidate takes at least a byte of time, aux and value.
        let n = r.count(3, "heap size")?;
        if n > self.n {
            return Err(r.error("heap size", "larger than N"));
        }
        self.heap = Vec::with_capacity(n);
        for _ in 0..n {
            self.heap.push(Cand {
                time: r.ivarint("candidate time")?,
                aux: r.uvarint("candidate aux")?,
                value: Scalar::load(r, t)?,
            });
        }
        self.current_key = r.str("tag key")?.to_string();
        if let Some(m) = &mut self.by_tag {
            let pick = if self.top { Pick::Max } else { Pick::Min };
            // A tag entry takes at least a key length and a presence byte.
            let n = r.count(2, "tag count")?;
            for _ in 0..n {
                let key = r.str("tag key")?.to_string();
                if m.last_key_value().is_some_and(|(last, _)| *last >= key) {
                    return Err(r.error("tag key", "not in ascending order"));
                }
                let mut sel = Selector::new(pick);
                sel.load(r, t)?;
                m.insert(key, sel);
            }
        }
        if let Some(k) = &mut self.kept {
            *k = Kept::load(r, t)?;
        }
        Ok(())
    }
}
