//! Partial reducers shipped between nodes: each window's input is reduced
//! in several partials, each partial goes through `Reducer::encode` and
//! `Reducer::decode` (as a remote node's answer would), and the
//! coordinator merges them in order.
//!
//! Three splits run for every window. By consecutive series, and by series
//! shuffled (a series lives in one shard, so this is how a cluster divides
//! a group; series are spread over partitions, cores and nodes by hash, so
//! a partial holds any subset of the series and pushes them in any order):
//! both must finish to the same bits (sample aside: it is random), and the
//! shuffled result is the one the corpus compares with influxd. By time
//! (every series cut into consecutive chunks, chunk `j` in partial `j`):
//! float sums round differently from influxd's single pass there, so that
//! split is only required to give, shipped, the same bits as never shipped.

use std::ops::Range;

use super::{bools, floats, ints, strings, Case};
use tessera_functions::{Point, Reducer, Value, ValueType};

/// One series' points of a window.
pub(crate) struct Batch {
    pub(crate) series: usize,
    pub(crate) times: Vec<i64>,
    pub(crate) vals: Vec<Value>,
    /// aux of the first point.
    pub(crate) aux: u64,
}

impl Case {
    /// A fresh reducer fed `range` of the batch's points.
    pub(super) fn reduce_batch(
        &self,
        proto: &Reducer,
        tagged: bool,
        b: &Batch,
        range: Range<usize>,
    ) -> Result<Reducer, String> {
        let mut r = proto.clone();
        r.set_series_key(series_key(b.series).as_bytes());
        if tagged {
            r.set_tag_key(&self.series[b.series].host);
        }
        let times = &b.times[range.clone()];
        let vals = &b.vals[range.clone()];
        let aux = b.aux + range.start as u64;
        let res = match proto.input_type() {
            ValueType::Float => r.push_floats(times, &floats(vals), aux),
            ValueType::Integer => r.push_integers(times, &ints(vals), aux),
            ValueType::String => r.push_strings(times, &strings(vals), aux),
            ValueType::Boolean => r.push_booleans(times, &bools(vals), aux),
            ValueType::Unsigned => unreachable!(),
        };
        res.map_err(|e| e.to_string())?;
        Ok(r)
    }

    /// The window's reducer merged from `k` shipped partials (split by
    /// series); also checks the split by time.
    pub(super) fn shipped(
        &self,
        proto: &Reducer,
        tagged: bool,
        batches: &[Batch],
        k: usize,
    ) -> Result<Option<Reducer>, String> {
        if batches.is_empty() {
            return Ok(None);
        }
        // Consecutive series per partial, series order kept; with fewer
        // series than partials the first partials are empty (a node that
        // holds nothing of the group still answers).
        let n = batches.len();
        let mut parts: Vec<Vec<Reducer>> = (0..k).map(|_| Vec::new()).collect();
        for (i, b) in batches.iter().enumerate() {
            let p = if n < k { k - n + i } else { i * k / n };
            parts[p].push(self.reduce_batch(proto, tagged, b, 0..b.times.len())?);
        }
        let by_series = merge_partials(proto, parts)?;
        // Shuffled: a pseudo-random partial per series, pushed in reverse
        // order of appearance within the partial, partials merged last first.
        let mut parts: Vec<Vec<Reducer>> = (0..k).map(|_| Vec::new()).collect();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ n as u64;
        for b in batches {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let p = (seed % k as u64) as usize;
            parts[p].insert(0, self.reduce_batch(proto, tagged, b, 0..b.times.len())?);
        }
        parts.reverse();
        let shuffled = merge_partials(proto, parts)?;
        if proto.name() != "sample" {
            let (x, y) = (by_series.clone().finish(0), shuffled.clone().finish(0));
            if !same_bits(&x, &y) {
                return Err(format!(
                    "{}: series shuffled over partials give {y:?}, consecutive {x:?}",
                    proto.name()
                ));
            }
        }
        let mut parts: Vec<Vec<Reducer>> = (0..k).map(|_| Vec::new()).collect();
        for (j, part) in parts.iter_mut().enumerate() {
            for b in batches {
                let m = b.times.len();
                part.push(self.reduce_batch(proto, tagged, b, j * m / k..(j + 1) * m / k)?);
            }
        }
        merge_partials(proto, parts)?;
        Ok(Some(shuffled))
    }
}

/// A stand-in series key: the corpus lists a group's series in influxd's
/// series-key order, so the index, zero-padded, sorts the same way.
pub(crate) fn series_key(series: usize) -> String {
    format!("m,s={series:08}")
}

/// Folds each part into one partial and merges the partials in order, once
/// as they are and once shipped: both must encode and finish identically.
/// Returns the shipped result.
fn merge_partials(proto: &Reducer, parts: Vec<Vec<Reducer>>) -> Result<Reducer, String> {
    let mut local: Option<Reducer> = None;
    let mut remote: Option<Reducer> = None;
    for part in parts {
        let mut p: Option<Reducer> = None;
        for r in part {
            fold(&mut p, r)?;
        }
        let p = p.unwrap_or_else(|| proto.clone());
        let q = ship(&p)?;
        fold(&mut local, p)?;
        fold(&mut remote, q)?;
    }
    let (local, remote) = (local.expect("k > 1"), remote.expect("k > 1"));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    local.encode(&mut a);
    remote.encode(&mut b);
    if a != b {
        return Err(format!(
            "{}: merged shipped state differs from the local merge",
            proto.name()
        ));
    }
    let (x, y) = (local.finish(0), remote.clone().finish(0));
    if !same_bits(&x, &y) {
        return Err(format!("{}: shipped {y:?}, local {x:?}", proto.name()));
    }
    Ok(remote)
}

fn fold(acc: &mut Option<Reducer>, r: Reducer) -> Result<(), String> {
    match acc {
        None => *acc = Some(r),
        Some(a) => a.merge(r).map_err(|e| e.to_string())?,
    }
    Ok(())
}

/// Encode, decode (with trailing bytes after the encoding), re-encode.
fn ship(r: &Reducer) -> Result<Reducer, String> {
    let mut buf = Vec::new();
    r.encode(&mut buf);
    let len = buf.len();
    buf.extend_from_slice(b"next reducer");
    let (d, used) = Reducer::decode(&buf).map_err(|e| format!("{}: {e}", r.name()))?;
    if used != len {
        return Err(format!("{}: decode read {used} of {len} bytes", r.name()));
    }
    let mut again = Vec::new();
    d.encode(&mut again);
    if again != buf[..len] {
        return Err(format!("{}: re-encoding differs", r.name()));
    }
    Ok(d)
}

fn same_bits(a: &[Point], b: &[Point]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(p, q)| {
            p.time == q.time
                && p.aux == q.aux
                && match (&p.value, &q.value) {
                    (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
                    (x, y) => x == y,
                }
        })
}
