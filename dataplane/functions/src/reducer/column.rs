//! Typed columns: what the engine pushes and what slice reducers keep.

use crate::value::{Value, ValueType};

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
/// where each pushed run (one series' batch) starts.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    pub(crate) times: Vec<i64>,
    pub(crate) aux: Vec<u64>,
    pub(crate) values: Values,
    runs: Vec<usize>,
}

impl Kept {
    pub(crate) fn new(t: ValueType) -> Self {
        Kept {
            times: Vec::new(),
            aux: Vec::new(),
            values: Values::new(t),
            runs: Vec::new(),
        }
    }

    pub(crate) fn extend(&mut self, times: &[i64], c: Column<'_>, aux_base: u64) -> bool {
        if !self.values.extend(c) {
            return false;
        }
        if !times.is_empty() {
            self.runs.push(self.times.len());
        }
        self.times.extend_from_slice(times);
        self.aux
            .extend((0..times.len() as u64).map(|i| aux_base.wrapping_add(i)));
        true
    }

    /// Adds one point; it continues the last run unless it goes back in time.
    pub(crate) fn push(&mut self, time: i64, s: Scalar, aux: u64) -> bool {
        if !self.values.push_scalar(s) {
            return false;
        }
        if !matches!(self.times.last(), Some(&t) if time >= t) {
            self.runs.push(self.times.len());
        }
        self.times.push(time);
        self.aux.push(aux);
        true
    }

    pub(crate) fn append(&mut self, other: Kept) -> bool {
        if !self.values.append(other.values) {
            return false;
        }
        let base = self.times.len();
        self.runs.extend(other.runs.iter().map(|r| r + base));
        self.times.extend(other.times);
        self.aux.extend(other.aux);
        true
    }

    pub(crate) fn len(&self) -> usize {
        self.times.len()
    }

    /// The points in the order influxd's time-ordered merge of the runs
    /// (series) would feed them (see [`crate::merge::merge_order`]).
    pub(crate) fn merged(self) -> Kept {
        if self.runs.len() <= 1 {
            return self;
        }
        let bounds: Vec<usize> = self
            .runs
            .iter()
            .copied()
            .chain([self.times.len()])
            .collect();
        let slices: Vec<&[i64]> = bounds.windows(2).map(|w| &self.times[w[0]..w[1]]).collect();
        let order = crate::merge::merge_order(&slices);
        let mut out = Kept::new(self.values.value_type());
        for (run, i) in order {
            let j = bounds[run] + i;
            out.push(self.times[j], self.values.scalar(j), self.aux[j]);
        }
        out.runs = vec![0];
        out
    }
}
