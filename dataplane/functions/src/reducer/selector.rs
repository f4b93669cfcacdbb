//! first(), last(), min(), max(): keep one point, ties resolved as influxd
//! 1.6.7's `*Reduce` functions do (query/call_iterator.go).
//!
//! influxd keeps the first pushed of points equal in time and value, and
//! pushes series in series-key order (reversed under ORDER BY time DESC);
//! partials here arrive in partition, core and node order, so the selected
//! point remembers its series key and a full tie goes to the smaller key (the
//! larger one under DESC), whatever the push and merge order.

use super::column::{Column, Scalar};
use crate::error::FunctionError;
use crate::value::{Point, ValueType};
use crate::wire::{self, Reader};

/// Which point a selector keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Smallest value; equal values: earliest time.
    Min,
    /// Largest value; equal values: earliest time.
    Max,
    /// Earliest time; equal times: largest value (bool: false).
    First,
    /// Latest time; equal times: largest value (bool: true).
    Last,
}

#[derive(Debug, Clone)]
pub(crate) struct Best {
    pub(crate) time: i64,
    pub(crate) aux: u64,
    pub(crate) value: Scalar,
    /// The series key of the selected point.
    pub(crate) key: Vec<u8>,
    /// Of the points equal to it in time and value, the one of the largest series key
    /// (aux, key) when that is not `key`: the choice under ORDER BY time DESC.
    pub(crate) last: Option<(u64, Vec<u8>)>,
}

/// A running selector.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub(crate) pick: Pick,
    pub(crate) best: Option<Best>,
}

/// Does `(ct, cv)` replace `(pt, pv)` under `pick`? Go's exact conditions.
#[inline]
fn better<T: PartialOrd>(pick: Pick, ct: i64, cv: &T, pt: i64, pv: &T) -> bool {
    match pick {
        Pick::Min => cv < pv || (cv == pv && ct < pt),
        Pick::Max => cv > pv || (cv == pv && ct < pt),
        Pick::First => ct < pt || (ct == pt && cv > pv),
        Pick::Last => ct > pt || (ct == pt && cv > pv),
    }
}

#[inline]
fn better_bool(pick: Pick, ct: i64, cv: bool, pt: i64, pv: bool) -> bool {
    match pick {
        Pick::Min => (cv != pv && !cv) || (cv == pv && ct < pt),
        Pick::Max => (cv != pv && cv) || (cv == pv && ct < pt),
        Pick::First => ct < pt || (ct == pt && !cv && pv),
        Pick::Last => ct > pt || (ct == pt && cv && !pv),
    }
}

/// Index of the winning point of one batch, in push order.
#[inline]
fn best_index<T: PartialOrd>(pick: Pick, times: &[i64], values: &[T]) -> usize {
    let mut bi = 0;
    for i in 1..values.len() {
        if better(pick, times[i], &values[i], times[bi], &values[bi]) {
            bi = i;
        }
    }
    bi
}

/// first/last over a batch with non-decreasing times: only the points at
/// the first (last) timestamp compete, so this is O(1) for a series.
#[inline]
fn edge_index<T: PartialOrd>(pick: Pick, times: &[i64], values: &[T]) -> usize {
    debug_assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "batch times must not decrease"
    );
    let n = times.len();
    if pick == Pick::First {
        let mut bi = 0;
        let mut i = 1;
        while i < n && times[i] == times[0] {
            if better(pick, times[i], &values[i], times[bi], &values[bi]) {
                bi = i;
            }
            i += 1;
        }
        bi
    } else {
        let mut bi = n - 1;
        let mut i = n - 1;
        while i > 0 && times[i - 1] == times[n - 1] {
            i -= 1;
            if better(pick, times[i], &values[i], times[bi], &values[bi]) {
                bi = i;
            }
        }
        bi
    }
}

/// Lane width of the min/max scans: eight independent accumulators let
/// the compiler use packed min/max instructions.
pub(crate) const LANES: usize = 8;

/// min/max of a float batch, then the earliest point holding it (times are
/// non-decreasing, so the first position is the earliest time).
fn extreme_f64(pick: Pick, values: &[f64]) -> usize {
    let init = if pick == Pick::Min {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let mut lanes = [init; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = if pick == Pick::Min {
                if x < *l {
                    x
                } else {
                    *l
                }
            } else if x > *l {
                x
            } else {
                *l
            };
        }
    }
    let mut m = init;
    for &x in lanes.iter().chain(rest) {
        if (pick == Pick::Min && x < m) || (pick == Pick::Max && x > m) {
            m = x;
        }
    }
    // All NaN (never written by line protocol): fall back to Go's scan.
    values.iter().position(|&x| x == m).unwrap_or(0)
}

fn extreme_i64(pick: Pick, values: &[i64]) -> usize {
    let m = if pick == Pick::Min {
        values.iter().copied().min()
    } else {
        values.iter().copied().max()
    };
    m.and_then(|m| values.iter().position(|&x| x == m))
        .unwrap_or(0)
}

impl Selector {
    pub(crate) fn new(pick: Pick) -> Self {
        Selector { pick, best: None }
    }

    fn offer(&mut self, time: i64, value: Scalar, aux: u64, key: &[u8]) {
        let replace = match &mut self.best {
            None => true,
            Some(b) => {
                let wins = match (&value, &b.value) {
                    (Scalar::F(c), Scalar::F(p)) => better(self.pick, time, c, b.time, p),
                    (Scalar::I(c), Scalar::I(p)) => better(self.pick, time, c, b.time, p),
                    (Scalar::U(c), Scalar::U(p)) => better(self.pick, time, c, b.time, p),
                    (Scalar::S(c), Scalar::S(p)) => better(self.pick, time, c, b.time, p),
                    (Scalar::B(c), Scalar::B(p)) => better_bool(self.pick, time, *c, b.time, *p),
                    _ => false,
                };
                if !wins && time == b.time && value == b.value {
                    // A full tie: the earlier series in key order, as influxd's push
                    // order; the later one under DESC.
                    let top = b.last.as_ref().map_or(b.key.as_slice(), |l| l.1.as_slice());
                    if key > top {
                        b.last = Some((aux, key.to_vec()));
                    }
                    if key < b.key.as_slice() {
                        let (old_aux, old_key) = (b.aux, std::mem::take(&mut b.key));
                        if b.last.is_none() {
                            b.last = Some((old_aux, old_key));
                        }
                        b.aux = aux;
                        b.key.extend_from_slice(key);
                    }
                    return;
                }
                wins
            }
        };
        if !replace {
            return;
        }
        match &mut self.best {
            Some(b) => {
                b.time = time;
                b.aux = aux;
                b.value = value;
                b.key.clear();
                b.key.extend_from_slice(key);
                b.last = None;
            }
            None => {
                self.best = Some(Best {
                    time,
                    aux,
                    value,
                    key: key.to_vec(),
                    last: None,
                })
            }
        }
    }

    /// Offers the best point of one batch of series `key`.
    pub(crate) fn push_column(
        &mut self,
        times: &[i64],
        col: Column<'_>,
        aux_base: u64,
        key: &[u8],
    ) {
        if times.is_empty() {
            return;
        }
        // Batches are non-decreasing in time (Reducer::push_column's contract).
        let ascending = true;
        let (i, s) = match col {
            Column::Float(v) => {
                let i = match self.pick {
                    Pick::First | Pick::Last if ascending => edge_index(self.pick, times, v),
                    Pick::Min | Pick::Max if ascending => extreme_f64(self.pick, v),
                    _ => best_index(self.pick, times, v),
                };
                (i, Scalar::F(v[i]))
            }
            Column::Integer(v) => {
                let i = match self.pick {
                    Pick::First | Pick::Last if ascending => edge_index(self.pick, times, v),
                    Pick::Min | Pick::Max if ascending => extreme_i64(self.pick, v),
                    _ => best_index(self.pick, times, v),
                };
                (i, Scalar::I(v[i]))
            }
            Column::Unsigned(v) => {
                let i = best_index(self.pick, times, v);
                (i, Scalar::U(v[i]))
            }
            Column::String(v) => {
                let i = best_index(self.pick, times, v);
                (i, Scalar::S(v[i].clone()))
            }
            Column::Boolean(v) => {
                let mut bi = 0;
                for i in 1..v.len() {
                    if better_bool(self.pick, times[i], v[i], times[bi], v[bi]) {
                        bi = i;
                    }
                }
                (bi, Scalar::B(v[bi]))
            }
        };
        self.offer(times[i], s, aux_base.wrapping_add(i as u64), key);
    }

    pub(crate) fn push(&mut self, time: i64, value: Scalar, aux: u64, key: &[u8]) {
        self.offer(time, value, aux, key);
    }

    pub(crate) fn merge(&mut self, other: Selector) {
        if let Some(b) = other.best {
            if let Some((aux, key)) = b.last {
                self.offer(b.time, b.value.clone(), aux, &key);
            }
            self.offer(b.time, b.value, b.aux, &b.key);
        }
    }

    /// The aux ids it may answer with.
    pub(crate) fn aux_ids(&self, f: &mut dyn FnMut(u64)) {
        if let Some(b) = &self.best {
            f(b.aux);
            if let Some((aux, _)) = &b.last {
                f(*aux);
            }
        }
    }

    /// The selected point; `descending`: of points equal in time and value, the one of
    /// the largest series key (influxd reverses the series under ORDER BY time DESC).
    pub(crate) fn finish(self, descending: bool) -> Vec<Point> {
        match self.best {
            None => Vec::new(),
            Some(b) => {
                let aux = match (descending, b.last) {
                    (true, Some((aux, _))) => aux,
                    _ => b.aux,
                };
                vec![Point {
                    time: b.time,
                    value: b.value.into_value(),
                    aux,
                }]
            }
        }
    }
}

// Wire encoding (see `crate::wire`); the pick comes from the function.

impl Selector {
    /// 0 when empty, else 1, time, aux, value and series key, then 0, or 1 and the
    /// aux and key of the largest-key full tie.
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        match &self.best {
            None => wire::put_bool(out, false),
            Some(b) => {
                wire::put_bool(out, true);
                wire::put_ivarint(out, b.time);
                wire::put_uvarint(out, b.aux);
                b.value.save(out);
                wire::put_bytes(out, &b.key);
                wire::put_bool(out, b.last.is_some());
                if let Some((aux, key)) = &b.last {
                    wire::put_uvarint(out, *aux);
                    wire::put_bytes(out, key);
                }
            }
        }
    }

    pub(crate) fn load(&mut self, r: &mut Reader<'_>, t: ValueType) -> Result<(), FunctionError> {
        self.best = if r.bool("selector presence")? {
            Some(Best {
                time: r.ivarint("selected time")?,
                aux: r.uvarint("selected aux")?,
                value: Scalar::load(r, t)?,
                key: r.bytes("selected series key")?.to_vec(),
                last: if r.bool("full tie presence")? {
                    Some((
                        r.uvarint("full tie aux")?,
                        r.bytes("full tie series key")?.to_vec(),
                    ))
                } else {
                    None
                },
            })
        } else {
            None
        };
        Ok(())
    }
}
