//! first(), last(), min(), max(): keep one point, ties resolved as influxd
//! 1.6.7's `*Reduce` functions do (query/call_iterator.go).
//!
//! influxd keeps the first point its merge delivers of points equal in time
//! and value; partials here arrive in partition, core and node order, so the
//! selected point remembers its series key and a full tie goes to the smaller
//! key (the larger one under DESC), whatever the push and merge order. Where
//! the statement selects other columns, which series that is shows: then the
//! selector keeps every series of a full tie (`track_ties`) and the caller
//! names the one influxd's merge delivers first ([`Selector::choose`]).

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
    /// The other points equal to it in time and value, (aux, series key), each key
    /// larger than `key`: all of them when the selector tracks ties, else only the
    /// one of the largest key (the choice under ORDER BY time DESC).
    pub(crate) ties: Vec<(u64, Vec<u8>)>,
}

/// A running selector.
#[derive(Debug, Clone)]
pub(crate) struct Selector {
    pub(crate) pick: Pick,
    pub(crate) best: Option<Best>,
    /// Keep every series of a full tie, not only the smallest and largest key.
    pub(crate) track_ties: bool,
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
        Selector {
            pick,
            best: None,
            track_ties: false,
        }
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
                    // A full tie: the smaller key answers until the caller chooses.
                    if key == b.key.as_slice() {
                        return;
                    }
                    if key < b.key.as_slice() {
                        let old_aux = std::mem::replace(&mut b.aux, aux);
                        let old_key = std::mem::replace(&mut b.key, key.to_vec());
                        b.ties.push((old_aux, old_key));
                    } else {
                        b.ties.push((aux, key.to_vec()));
                    }
                    if !self.track_ties && b.ties.len() > 1 {
                        // Only the largest key can still answer (under DESC).
                        let top = b
                            .ties
                            .iter()
                            .enumerate()
                            .max_by(|x, y| x.1 .1.cmp(&y.1 .1))
                            .map_or(0, |(i, _)| i);
                        let keep = b.ties.swap_remove(top);
                        b.ties.clear();
                        b.ties.push(keep);
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
                b.ties.clear();
            }
            None => {
                self.best = Some(Best {
                    time,
                    aux,
                    value,
                    key: key.to_vec(),
                    ties: Vec::new(),
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
        self.track_ties |= other.track_ties;
        if let Some(b) = other.best {
            for (aux, key) in b.ties {
                self.offer(b.time, b.value.clone(), aux, &key);
            }
            self.offer(b.time, b.value, b.aux, &b.key);
        }
    }

    /// The aux ids it may answer with.
    pub(crate) fn aux_ids(&self, f: &mut dyn FnMut(u64)) {
        if let Some(b) = &self.best {
            f(b.aux);
            for (aux, _) in &b.ties {
                f(*aux);
            }
        }
    }

    /// The time and the series keys of a full tie (the selected one first), or
    /// `None` when one series answers alone.
    pub(crate) fn tied_keys(&self) -> Option<(i64, Vec<&[u8]>)> {
        match &self.best {
            Some(b) if !b.ties.is_empty() => Some((
                b.time,
                std::iter::once(b.key.as_slice())
                    .chain(b.ties.iter().map(|(_, k)| k.as_slice()))
                    .collect(),
            )),
            _ => None,
        }
    }

    /// Answers with series `key` of a full tie, in either time order. False
    /// when no tied point is of that series.
    pub(crate) fn choose(&mut self, key: &[u8]) -> bool {
        let Some(b) = &mut self.best else {
            return false;
        };
        if b.key == key {
            b.ties.clear();
            return true;
        }
        match b.ties.iter().position(|(_, k)| k == key) {
            Some(i) => {
                let (aux, key) = b.ties.swap_remove(i);
                b.aux = aux;
                b.key = key;
                b.ties.clear();
                true
            }
            None => false,
        }
    }

    /// The selected point; `descending`: of points equal in time and value, the one of
    /// the largest series key (influxd reverses the series under ORDER BY time DESC).
    pub(crate) fn finish(self, descending: bool) -> Vec<Point> {
        match self.best {
            None => Vec::new(),
            Some(b) => {
                let largest = b.ties.into_iter().max_by(|x, y| x.1.cmp(&y.1));
                let aux = match (descending, largest) {
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
    /// Whether it tracks ties, then 0 when empty, else 1, time, aux, value and
    /// series key, then the count and the aux and key of each full tie.
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        wire::put_bool(out, self.track_ties);
        match &self.best {
            None => wire::put_bool(out, false),
            Some(b) => {
                wire::put_bool(out, true);
                wire::put_ivarint(out, b.time);
                wire::put_uvarint(out, b.aux);
                b.value.save(out);
                wire::put_bytes(out, &b.key);
                wire::put_uvarint(out, b.ties.len() as u64);
                for (aux, key) in &b.ties {
                    wire::put_uvarint(out, *aux);
                    wire::put_bytes(out, key);
                }
            }
        }
    }

    pub(crate) fn load(&mut self, r: &mut Reader<'_>, t: ValueType) -> Result<(), FunctionError> {
        self.track_ties = r.bool("selector tie tracking")?;
        self.best = if r.bool("selector presence")? {
            let time = r.ivarint("selected time")?;
            let aux = r.uvarint("selected aux")?;
            let value = Scalar::load(r, t)?;
            let key = r.bytes("selected series key")?.to_vec();
            let n = r.uvarint("full tie count")?;
            let mut ties = Vec::new();
            for _ in 0..n {
                // (Each tie takes at least two bytes: a hostile count ends at the input's end.)
                ties.push((
                    r.uvarint("full tie aux")?,
                    r.bytes("full tie series key")?.to_vec(),
                ));
            }
            Some(Best {
                time,
                aux,
                value,
                key,
                ties,
            })
        } else {
            None
        };
        Ok(())
    }
}
