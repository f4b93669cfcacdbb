//! Typed columns: what the engine pushes and what slice reducers keep.

use crate::error::FunctionError;
use crate::value::{Value, ValueType};
use crate::wire::{self, Reader};

/// A borrowed column of one type, as the storage scan produces it.
#[derive(Debug, Clone, Copy)]
pub enum Column<'a> {
    /// Floats.
    Float(&'a [f64]),
    /// Signed integers.
    Integer(&'a [i64]),
    /// Unsigned integers.
    Unsigned(&'a [u64]),
    /// Strings.
    String(&'a [String]),
    /// Booleans.
    Boolean(&'a [bool]),
}

impl Column<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Column::Float(v) => v.len(),
            Column::Integer(v) => v.len(),
            Column::Unsigned(v) => v.len(),
            Column::String(v) => v.len(),
            Column::Boolean(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as a scalar.
    pub(crate) fn scalar(&self, i: usize) -> Scalar {
        match self {
            Column::Float(v) => Scalar::F(v[i]),
            Column::Integer(v) => Scalar::I(v[i]),
            Column::Unsigned(v) => Scalar::U(v[i]),
            Column::String(v) => Scalar::S(v[i].clone()),
            Column::Boolean(v) => Scalar::B(v[i]),
        }
    }

    /// The column's type.
    pub fn value_type(&self) -> ValueType {
        match self {
            Column::Float(_) => ValueType::Float,
            Column::Integer(_) => ValueType::Integer,
            Column::Unsigned(_) => ValueType::Unsigned,
            Column::String(_) => ValueType::String,
            Column::Boolean(_) => ValueType::Boolean,
        }
    }
}

/// One scalar of a known type; the value a selector remembers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    F(f64),
    I(i64),
    U(u64),
    S(String),
    B(bool),
}

impl Scalar {
    pub(crate) fn into_value(self) -> Value {
        match self {
            Scalar::F(v) => Value::Float(v),
            Scalar::I(v) => Value::Integer(v),
            Scalar::U(v) => Value::Unsigned(v),
            Scalar::S(v) => Value::String(v),
            Scalar::B(v) => Value::Boolean(v),
        }
    }

    pub(crate) fn from_value(v: &Value) -> Option<Scalar> {
        Some(match v {
            Value::Null => return None,
            Value::Float(v) => Scalar::F(*v),
            Value::Integer(v) => Scalar::I(*v),
            Value::Unsigned(v) => Scalar::U(*v),
            Value::String(v) => Scalar::S(v.clone()),
            Value::Boolean(v) => Scalar::B(*v),
        })
    }

    /// Go's `a < b` for the numeric and string types; false < true for
    /// booleans (only used where influxd defines an order for them).
    pub(crate) fn lt(&self, other: &Scalar) -> bool {
        match (self, other) {
            (Scalar::F(a), Scalar::F(b)) => a < b,
            (Scalar::I(a), Scalar::I(b)) => a < b,
            (Scalar::U(a), Scalar::U(b)) => a < b,
            (Scalar::S(a), Scalar::S(b)) => a < b,
            (Scalar::B(a), Scalar::B(b)) => !a & b,
            _ => false,
        }
    }
}

/// Owned column storage for reducers that must see every point.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    F(Vec<f64>),
    I(Vec<i64>),
    U(Vec<u64>),
    S(Vec<String>),
    B(Vec<bool>),
}

impl Values {
    pub(crate) fn new(t: ValueType) -> Self {
        match t {
            ValueType::Float => Values::F(Vec::new()),
            ValueType::Integer => Values::I(Vec::new()),
            ValueType::Unsigned => Values::U(Vec::new()),
            ValueType::String => Values::S(Vec::new()),
            ValueType::Boolean => Values::B(Vec::new()),
        }
    }

    /// Appends a column; false when the types differ.
    pub(crate) fn extend(&mut self, c: Column<'_>) -> bool {
        match (self, c) {
            (Values::F(v), Column::Float(c)) => v.extend_from_slice(c),
            (Values::F(v), Column::Integer(c)) => v.extend(c.iter().map(|&x| x as f64)),
            (Values::F(v), Column::Unsigned(c)) => v.extend(c.iter().map(|&x| x as f64)),
            (Values::I(v), Column::Integer(c)) => v.extend_from_slice(c),
            (Values::U(v), Column::Unsigned(c)) => v.extend_from_slice(c),
            (Values::S(v), Column::String(c)) => v.extend(c.iter().cloned()),
            (Values::B(v), Column::Boolean(c)) => v.extend_from_slice(c),
            _ => return false,
        }
        true
    }

    pub(crate) fn value_type(&self) -> ValueType {
        match self {
            Values::F(_) => ValueType::Float,
            Values::I(_) => ValueType::Integer,
            Values::U(_) => ValueType::Unsigned,
            Values::S(_) => ValueType::String,
            Values::B(_) => ValueType::Boolean,
        }
    }

    pub(crate) fn push_scalar(&mut self, s: Scalar) -> bool {
        match (self, s) {
            (Values::F(v), Scalar::F(x)) => v.push(x),
            (Values::F(v), Scalar::I(x)) => v.push(x as f64),
            (Values::F(v), Scalar::U(x)) => v.push(x as f64),
            (Values::I(v), Scalar::I(x)) => v.push(x),
            (Values::U(v), Scalar::U(x)) => v.push(x),
            (Values::S(v), Scalar::S(x)) => v.push(x),
            (Values::B(v), Scalar::B(x)) => v.push(x),
            _ => return false,
        }
        true
    }

    pub(crate) fn append(&mut self, other: Values) -> bool {
        match (self, other) {
            (Values::F(v), Values::F(o)) => v.extend(o),
            (Values::I(v), Values::I(o)) => v.extend(o),
            (Values::U(v), Values::U(o)) => v.extend(o),
            (Values::S(v), Values::S(o)) => v.extend(o),
            (Values::B(v), Values::B(o)) => v.extend(o),
            _ => return false,
        }
        true
    }

    /// Orders the values at `i` and `j` as [`Scalar::lt`] does (`false` before `true`).
    pub(crate) fn cmp_at(&self, i: usize, j: usize) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match self {
            Values::F(v) => v[i].partial_cmp(&v[j]).unwrap_or(Ordering::Equal),
            Values::I(v) => v[i].cmp(&v[j]),
            Values::U(v) => v[i].cmp(&v[j]),
            Values::S(v) => v[i].cmp(&v[j]),
            Values::B(v) => v[i].cmp(&v[j]),
        }
    }

    pub(crate) fn scalar(&self, i: usize) -> Scalar {
        match self {
            Values::F(v) => Scalar::F(v[i]),
            Values::I(v) => Scalar::I(v[i]),
            Values::U(v) => Scalar::U(v[i]),
            Values::S(v) => Scalar::S(v[i].clone()),
            Values::B(v) => Scalar::B(v[i]),
        }
    }
}

/// The points kept by slice reducers: time, aux and value columns, plus
/// where each pushed run (one series' batch) starts and the series key of
/// each run. Keys are stored once per run, concatenated, never per point.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    pub(crate) times: Vec<i64>,
    pub(crate) aux: Vec<u64>,
    pub(crate) values: Values,
    runs: Vec<usize>,
    /// The runs' series keys back to back; run `i`'s key ends at `key_ends[i]`.
    keys: Vec<u8>,
    key_ends: Vec<usize>,
    /// Each run's segment: the shard it was read from (see [`Kept::set_segment`]).
    segs: Vec<u64>,
}

impl Kept {
    pub(crate) fn new(t: ValueType) -> Self {
        Kept {
            times: Vec::new(),
            aux: Vec::new(),
            values: Values::new(t),
            runs: Vec::new(),
            keys: Vec::new(),
            key_ends: Vec::new(),
            segs: Vec::new(),
        }
    }

    fn start_run(&mut self, key: &[u8]) {
        self.runs.push(self.times.len());
        self.keys.extend_from_slice(key);
        self.key_ends.push(self.keys.len());
        self.segs.push(0);
    }

    /// Marks every run as read from shard `seg`. influxd merges each shard's
    /// series on its own (a fresh heap per shard), then the shards in time
    /// order, so at [`Kept::merged_in`] runs of different segments are never
    /// merged together; shard ids grow with time as their groups do.
    pub(crate) fn set_segment(&mut self, seg: u64) {
        self.segs.iter_mut().for_each(|s| *s = seg);
    }

    /// The series key of run `i`.
    fn run_key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.keys[start..self.key_ends[i]]
    }

    /// Point range of run `i`.
    fn run_range(&self, i: usize) -> std::ops::Range<usize> {
        self.runs[i]..self.runs.get(i + 1).copied().unwrap_or(self.times.len())
    }

    /// Appends one batch of series `key` as a run of its own.
    pub(crate) fn extend(
        &mut self,
        times: &[i64],
        c: Column<'_>,
        aux_base: u64,
        key: &[u8],
    ) -> bool {
        if !self.values.extend(c) {
            return false;
        }
        if !times.is_empty() {
            self.start_run(key);
        }
        self.times.extend_from_slice(times);
        self.aux
            .extend((0..times.len() as u64).map(|i| aux_base.wrapping_add(i)));
        true
    }

    /// Adds one point of series `key`; it continues the last run unless
    /// the series changes or it goes back in time.
    pub(crate) fn push(&mut self, time: i64, s: Scalar, aux: u64, key: &[u8]) -> bool {
        if !self.values.push_scalar(s) {
            return false;
        }
        let last = self.runs.len().checked_sub(1);
        let continues = matches!(self.times.last(), Some(&t) if time >= t)
            && last.is_some_and(|i| self.run_key(i) == key);
        if !continues {
            self.start_run(key);
        }
        self.times.push(time);
        self.aux.push(aux);
        true
    }

    /// Appends `other`'s points and runs after `self`'s. The order does
    /// not matter: [`Kept::merged_in`] orders the runs by series key.
    pub(crate) fn append(&mut self, other: Kept) -> bool {
        if !self.values.append(other.values) {
            return false;
        }
        let base = self.times.len();
        self.runs.extend(other.runs.iter().map(|r| r + base));
        let kbase = self.keys.len();
        self.key_ends
            .extend(other.key_ends.iter().map(|e| e + kbase));
        self.keys.extend(other.keys);
        self.segs.extend(other.segs);
        self.times.extend(other.times);
        self.aux.extend(other.aux);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.times.len()
    }

    /// The aux ids at or above `floor` of the newest points (pushed points take
    /// consecutive ids, so the scan stops at the first older one).
    pub(crate) fn aux_ids_since(&self, floor: u64, f: &mut dyn FnMut(u64)) {
        for &a in self.aux.iter().rev() {
            if a < floor {
                break;
            }
            f(a);
        }
    }

    /// Every kept aux id.
    pub(crate) fn aux_ids(&self, f: &mut dyn FnMut(u64)) {
        self.aux.iter().for_each(|&a| f(a));
    }

    /// The points in the order influxd's time-ordered merge of the series
    /// would feed them (see [`crate::merge::merge_order`]).
    ///
    /// influxd merges the series in series-key order, whereas the runs
    /// arrive in whatever order partitions, cores and nodes were merged. So
    /// the runs are first ordered by (series key, first time) — stable, so
    /// runs without keys keep their push order — and runs of one series
    /// that follow each other in time (the same series in several shards, or
    /// a series cut into time chunks) are joined into one series again.
    ///
    /// In either direction: for `ORDER BY time DESC` influxd merges the series newest
    /// first, in reverse series-key order.
    pub(crate) fn merged_in(self, descending: bool) -> Kept {
        self.merged_by(descending, &crate::tie::NoTies)
    }

    /// [`Kept::merged_in`] where equal-time points of different series go in the order of
    /// their keys in `ties` (influxd's sorted merge compares the points' auxiliary values
    /// there; reversed newest first).
    pub(crate) fn merged_by(self, descending: bool, ties: &dyn crate::tie::TieKeys) -> Kept {
        let nruns = self.runs.len();
        if nruns <= 1 && !descending {
            return self;
        }
        let mut order: Vec<usize> = (0..nruns).collect();
        order.sort_by(|&a, &b| {
            self.segs[a]
                .cmp(&self.segs[b])
                .then_with(|| self.run_key(a).cmp(self.run_key(b)))
                .then(self.times[self.runs[a]].cmp(&self.times[self.runs[b]]))
        });
        // The points (indices) laid out series after series (a series' runs end to end),
        // with where each series and each segment (a run of series) starts.
        let mut perm: Vec<usize> = Vec::with_capacity(self.len());
        let mut series_starts: Vec<usize> = Vec::with_capacity(nruns);
        let mut seg_starts: Vec<usize> = Vec::new();
        let mut prev: Option<usize> = None;
        for &r in &order {
            let range = self.run_range(r);
            if prev.is_none_or(|p| self.segs[p] != self.segs[r]) {
                seg_starts.push(series_starts.len());
            }
            let joins = prev.is_some_and(|p| {
                self.segs[p] == self.segs[r]
                    && self.run_key(p) == self.run_key(r)
                    && self.times[self.run_range(p).end - 1] <= self.times[range.start]
            });
            if !joins {
                series_starts.push(perm.len());
            }
            perm.extend(range);
            prev = Some(r);
        }
        if descending {
            // Newest first: segments, their series and each series' points reversed.
            let mut rperm = Vec::with_capacity(perm.len());
            let mut rseries = Vec::with_capacity(series_starts.len());
            let mut rsegs = Vec::with_capacity(seg_starts.len());
            for k in (0..seg_starts.len()).rev() {
                rsegs.push(rseries.len());
                for i in (seg_starts[k]..end_of(&seg_starts, k, series_starts.len())).rev() {
                    rseries.push(rperm.len());
                    let end = end_of(&series_starts, i, perm.len());
                    rperm.extend(perm[series_starts[i]..end].iter().rev());
                }
            }
            (perm, series_starts, seg_starts) = (rperm, rseries, rsegs);
        }
        let times: Vec<i64> = perm.iter().map(|&j| self.times[j]).collect();
        // Each point's key, looked up once: equal times compare them at every heap step.
        let width = ties.width();
        let tie_keys = crate::tie::keys_of(ties, perm.iter().map(|&j| self.aux[j]));
        let key = |p: usize| &tie_keys[p * width..(p + 1) * width];
        let mut out = Kept::new(self.values.value_type());
        for (k, &first) in seg_starts.iter().enumerate() {
            let series_end = end_of(&seg_starts, k, series_starts.len());
            let span = series_starts[first]..end_of(&series_starts, series_end - 1, perm.len());
            // Positions into `perm`, in the merge's order.
            let keys = &tie_keys[span.start * width..span.end * width];
            let order: Vec<usize> =
                match crate::merge::order_by_keys(&times[span.clone()], keys, width, descending) {
                    Some(order) => order.into_iter().map(|p| span.start + p).collect(),
                    None => {
                        let slices: Vec<&[i64]> = (first..series_end)
                            .map(|i| {
                                &times[series_starts[i]..end_of(&series_starts, i, perm.len())]
                            })
                            .collect();
                        let at = |s: usize, i: usize| series_starts[first + s] + i;
                        crate::merge::merge_order_by(&slices, descending, |a, b| {
                            if width == 0 {
                                return false;
                            }
                            let (ka, kb) = (key(at(a.0, a.1)), key(at(b.0, b.1)));
                            if descending {
                                crate::tie::key_before(kb, ka)
                            } else {
                                crate::tie::key_before(ka, kb)
                            }
                        })
                        .into_iter()
                        .map(|(s, i)| at(s, i))
                        .collect()
                    }
                };
            for p in order {
                let j = perm[p];
                out.values.push_scalar(self.values.scalar(j));
                out.times.push(self.times[j]);
                out.aux.push(self.aux[j]);
            }
        }
        out.start_run_at_zero();
        out
    }

    /// Marks the whole of a merged Kept as one keyless run.
    fn start_run_at_zero(&mut self) {
        self.runs = vec![0];
        self.keys.clear();
        self.key_ends = vec![0];
        self.segs = vec![0];
    }
}

/// Where part `i` of consecutive parts starting at `starts` ends (`total` for the last).
fn end_of(starts: &[usize], i: usize, total: usize) -> usize {
    starts.get(i + 1).copied().unwrap_or(total)
}

// Wire encoding (see `crate::wire`). Scalars and values carry no type tag:
// a reducer's values always have its input type, which the header gives.

impl Scalar {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        match self {
            Scalar::F(v) => wire::put_f64(out, *v),
            Scalar::I(v) => wire::put_ivarint(out, *v),
            Scalar::U(v) => wire::put_uvarint(out, *v),
            Scalar::S(v) => wire::put_str(out, v),
            Scalar::B(v) => wire::put_bool(out, *v),
        }
    }

    pub(crate) fn load(r: &mut Reader<'_>, t: ValueType) -> Result<Scalar, FunctionError> {
        Ok(match t {
            ValueType::Float => Scalar::F(r.f64("float")?),
            ValueType::Integer => Scalar::I(r.ivarint("integer")?),
            ValueType::Unsigned => Scalar::U(r.uvarint("unsigned")?),
            ValueType::String => Scalar::S(r.str("string")?.to_string()),
            ValueType::Boolean => Scalar::B(r.bool("boolean")?),
        })
    }
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::F(v) => v.len(),
            Values::I(v) => v.len(),
            Values::U(v) => v.len(),
            Values::S(v) => v.len(),
            Values::B(v) => v.len(),
        }
    }
}

impl Kept {
    /// Point count, then the time column (deltas), the aux column (deltas),
    /// the values, the run starts (deltas), each run's series key, and each
    /// run's segment.
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        wire::put_uvarint(out, self.len() as u64);
        let mut prev = 0i64;
        for &t in &self.times {
            wire::put_ivarint(out, t.wrapping_sub(prev));
            prev = t;
        }
        let mut prev = 0u64;
        for &a in &self.aux {
            wire::put_ivarint(out, a.wrapping_sub(prev) as i64);
            prev = a;
        }
        match &self.values {
            Values::F(v) => v.iter().for_each(|&x| wire::put_f64(out, x)),
            Values::I(v) => v.iter().for_each(|&x| wire::put_ivarint(out, x)),
            Values::U(v) => v.iter().for_each(|&x| wire::put_uvarint(out, x)),
            Values::S(v) => v.iter().for_each(|x| wire::put_str(out, x)),
            Values::B(v) => v.iter().for_each(|&x| wire::put_bool(out, x)),
        }
        wire::put_uvarint(out, self.runs.len() as u64);
        let mut prev = 0usize;
        for &r in &self.runs {
            wire::put_uvarint(out, (r - prev) as u64);
            prev = r;
        }
        // Whole keys, not prefix-compressed: a decoded key then never
        // outgrows the bytes that carried it.
        for i in 0..self.runs.len() {
            wire::put_bytes(out, self.run_key(i));
        }
        for &seg in &self.segs {
            wire::put_uvarint(out, seg);
        }
    }

    /// Reads what [`Kept::save`] wrote, values of type `t`, and checks the
    /// run starts (0 first, strictly increasing, inside the points): the
    /// merge at finish indexes by them.
    pub(crate) fn load(r: &mut Reader<'_>, t: ValueType) -> Result<Kept, FunctionError> {
        // Each point takes at least a byte of time, aux and value.
        let n = r.count(3, "point count")?;
        let mut k = Kept::new(t);
        k.times.reserve_exact(n);
        let mut prev = 0i64;
        for _ in 0..n {
            prev = prev.wrapping_add(r.ivarint("time")?);
            k.times.push(prev);
        }
        k.aux.reserve_exact(n);
        let mut prev = 0u64;
        for _ in 0..n {
            prev = prev.wrapping_add(r.ivarint("aux")? as u64);
            k.aux.push(prev);
        }
        for _ in 0..n {
            let s = Scalar::load(r, t)?;
            if !k.values.push_scalar(s) {
                return Err(r.error("value", "type differs from the reducer's input"));
            }
        }
        debug_assert_eq!(k.values.len(), n);
        let runs = r.count(1, "run count")?;
        if (runs == 0) != (n == 0) || runs > n {
            return Err(r.error("run count", "inconsistent with the point count"));
        }
        k.runs.reserve_exact(runs);
        let mut at = 0usize;
        for i in 0..runs {
            let d = r.uvarint("run start")?;
            let next = usize::try_from(d).ok().and_then(|d| at.checked_add(d));
            match next {
                Some(s) if (i == 0 && s == 0) || (i > 0 && s > at && s < n) => at = s,
                _ => return Err(r.error("run start", "not increasing inside the points")),
            }
            k.runs.push(at);
        }
        for _ in 0..runs {
            let key = r.bytes("series key")?;
            k.keys.extend_from_slice(key);
            k.key_ends.push(k.keys.len());
        }
        k.segs.reserve_exact(runs);
        for _ in 0..runs {
            k.segs.push(r.uvarint("segment")?);
        }
        Ok(k)
    }
}
