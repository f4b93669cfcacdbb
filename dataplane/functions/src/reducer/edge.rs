//! first() and last() without GROUP BY time, as influxd 1.6.7's engine reads them.
//!
//! For these two calls the engine does not reduce each series: it merges the points of
//! a group's series in each shard by time (Go's `container/heap`, series in key order,
//! newest first and the series reversed for last()), and a limit iterator whose check
//! comes before its read lets LIMIT + 1 = 2 points of that merged stream through. The
//! selector then sees only those points of each shard. So when several series hold a
//! point at the group's first (last) time, the answer is the larger of only the first
//! two the heap pops, and which two those are depends on the heap's history — the
//! points of every other series in the shard included — and on the statement's
//! auxiliary values (compared while both are strings), not simply on the values.
//!
//! The state keeps the first (last) `take` points of each series per shard, which is
//! all the merge can pop among its first `take`, and replays the merge at finish.

use super::column::{Column, Scalar};
use super::selector::{Pick, Selector};
use crate::error::FunctionError;
use crate::value::{Point, ValueType};
use crate::wire::{self, Reader};

/// One series' kept points of one shard, oldest first.
#[derive(Debug, Clone)]
struct Run {
    key: Vec<u8>,
    seg: u64,
    /// (time, aux, value), at most `take` of them, times ascending.
    points: Vec<(i64, u64, Scalar)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Edge {
    /// `First` or `Last`.
    pick: Pick,
    /// How many points of each shard's merged stream the selector sees.
    take: usize,
    runs: Vec<Run>,
}

impl Edge {
    pub(crate) fn new(pick: Pick, take: usize) -> Self {
        Edge {
            pick,
            take: take.max(1),
            runs: Vec::new(),
        }
    }

    fn latest(&self) -> bool {
        self.pick == Pick::Last
    }

    /// The run points of series `key` go to: the last one when it is that series'.
    fn run_for(&mut self, key: &[u8]) -> &mut Run {
        let fresh = self.runs.last().is_none_or(|r| r.key != key || r.seg != 0);
        if fresh {
            self.runs.push(Run {
                key: key.to_vec(),
                seg: 0,
                points: Vec::with_capacity(self.take.min(4)),
            });
        }
        self.runs.last_mut().expect("pushed above")
    }

    /// Adds points of series `key` in ascending time (after any it already has).
    fn add(&mut self, key: &[u8], points: impl DoubleEndedIterator<Item = (i64, u64, Scalar)>) {
        let (take, latest) = (self.take, self.latest());
        let run = self.run_for(key);
        if latest {
            // Only the newest `take` can matter: the batch's last ones, then trim.
            let mut tail: Vec<_> = points.rev().take(take).collect();
            tail.reverse();
            run.points.extend(tail);
            let n = run.points.len();
            if n > take {
                run.points.drain(..n - take);
            }
        } else {
            let room = take.saturating_sub(run.points.len());
            run.points.extend(points.take(room));
        }
    }

    pub(crate) fn push_column(
        &mut self,
        times: &[i64],
        col: Column<'_>,
        aux_base: u64,
        key: &[u8],
    ) {
        let point = |i: usize| (times[i], aux_base.wrapping_add(i as u64), col.scalar(i));
        // Only the batch's first (last) `take` points are ever looked at.
        let n = times.len();
        let range = if self.latest() {
            n.saturating_sub(self.take)..n
        } else {
            0..n.min(self.take)
        };
        self.add(key, range.map(point));
    }

    pub(crate) fn push(&mut self, time: i64, value: Scalar, aux: u64, key: &[u8]) {
        self.add(key, std::iter::once((time, aux, value)));
    }

    /// The aux ids of the newest run (where a series' pushes go).
    pub(crate) fn aux_ids(&self, f: &mut dyn FnMut(u64)) {
        if let Some(r) = self.runs.last() {
            r.points.iter().for_each(|p| f(p.1));
        }
    }

    pub(crate) fn merge(&mut self, other: Edge) {
        self.runs.extend(other.runs);
    }

    /// See [`super::Reducer::set_segment`].
    pub(crate) fn set_segment(&mut self, seg: u64) {
        self.runs.iter_mut().for_each(|r| r.seg = seg);
    }

    /// The selected point; equal-time points of different series go in the order of
    /// their keys in `ties`.
    pub(crate) fn finish(mut self, ties: &dyn crate::tie::TieKeys) -> Vec<Point> {
        let latest = self.latest();
        self.runs
            .sort_by(|a, b| a.seg.cmp(&b.seg).then_with(|| a.key.cmp(&b.key)));
        // One run per series and shard, with at most `take` points.
        let mut runs: Vec<Run> = Vec::with_capacity(self.runs.len());
        for r in self.runs {
            match runs.last_mut() {
                Some(last) if last.seg == r.seg && last.key == r.key => {
                    last.points.extend(r.points);
                    last.points.sort_by_key(|p| p.0);
                }
                _ => runs.push(r),
            }
        }
        for r in &mut runs {
            let n = r.points.len();
            if n > self.take {
                if latest {
                    r.points.drain(..n - self.take);
                } else {
                    r.points.truncate(self.take);
                }
            }
            if latest {
                // Newest first, as the merge reads them.
                r.points.reverse();
            }
        }
        let mut sel = Selector::new(self.pick);
        let mut start = 0;
        while start < runs.len() {
            let seg = runs[start].seg;
            let end = start + runs[start..].iter().take_while(|r| r.seg == seg).count();
            let mut shard: Vec<&Run> = runs[start..end].iter().collect();
            if latest {
                shard.reverse();
            }
            let times: Vec<Vec<i64>> = shard
                .iter()
                .map(|r| r.points.iter().map(|p| p.0).collect())
                .collect();
            let slices: Vec<&[i64]> = times.iter().map(Vec::as_slice).collect();
            let order = crate::merge::merge_order_by(&slices, latest, |a, b| {
                let (pa, pb) = (shard[a.0].points[a.1].1, shard[b.0].points[b.1].1);
                crate::tie::aux_before(ties, latest, pa, pb)
            });
            // The selector sees them in the order popped: of equal points the first stays.
            for (ri, pi) in order.into_iter().take(self.take) {
                let (time, aux, value) = shard[ri].points[pi].clone();
                sel.push(time, value, aux, &[]);
            }
            start = end;
        }
        sel.finish(false)
    }
}

// Wire encoding (see `crate::wire`): the take, then the runs, each its series key,
// segment and points (time, aux, value).

impl Edge {
    pub(crate) fn save(&self, out: &mut Vec<u8>) {
        wire::put_uvarint(out, self.take as u64);
        wire::put_uvarint(out, self.runs.len() as u64);
        for r in &self.runs {
            wire::put_bytes(out, &r.key);
            wire::put_uvarint(out, r.seg);
            wire::put_uvarint(out, r.points.len() as u64);
            for (t, a, v) in &r.points {
                wire::put_ivarint(out, *t);
                wire::put_uvarint(out, *a);
                v.save(out);
            }
        }
    }

    pub(crate) fn load(
        r: &mut Reader<'_>,
        pick: Pick,
        t: ValueType,
    ) -> Result<Edge, FunctionError> {
        let take = usize::try_from(r.uvarint("edge take")?)
            .ok()
            .filter(|n| (1..=1 << 20).contains(n))
            .ok_or_else(|| r.error("edge take", "out of range"))?;
        let mut e = Edge::new(pick, take);
        // A run takes at least a key length, a segment and a point count.
        let n = r.count(3, "edge run count")?;
        e.runs.reserve_exact(n);
        for _ in 0..n {
            let key = r.bytes("edge series key")?.to_vec();
            let seg = r.uvarint("edge segment")?;
            // A point takes at least a byte of time, aux and value.
            let k = r.count(3, "edge point count")?;
            if k > take {
                return Err(r.error("edge point count", "more than the take"));
            }
            let mut points = Vec::with_capacity(k);
            for _ in 0..k {
                let time = r.ivarint("edge time")?;
                if points
                    .last()
                    .is_some_and(|p: &(i64, u64, Scalar)| p.0 > time)
                {
                    return Err(r.error("edge time", "not ascending"));
                }
                points.push((time, r.uvarint("edge aux")?, Scalar::load(r, t)?));
            }
            e.runs.push(Run { key, seg, points });
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn values(e: Edge) -> Vec<(i64, Value)> {
        e.finish(&crate::tie::NoTies)
            .into_iter()
            .map(|p| (p.time, p.value))
            .collect()
    }

    #[test]
    fn ties_are_the_larger_of_the_first_two_pops() {
        // influxd 1.6.7: four single-point series a=9 b=37 c=49 d=5 at one time give
        // first(v) = 9: the heap pops a, then d.
        let mut e = Edge::new(Pick::First, 2);
        for (k, v) in [("m,h=a", 9), ("m,h=b", 37), ("m,h=c", 49), ("m,h=d", 5)] {
            e.push_column(&[0], Column::Integer(&[v]), 0, k.as_bytes());
        }
        assert_eq!(values(e), vec![(0, Value::Integer(9))]);
    }

    #[test]
    fn only_the_edge_points_of_each_series_are_kept() {
        let mut e = Edge::new(Pick::Last, 2);
        e.push_column(
            &[1, 2, 3, 4],
            Column::Float(&[1.0, 2.0, 3.0, 4.0]),
            10,
            b"m,h=a",
        );
        e.push(5, Scalar::F(5.0), 20, b"m,h=a");
        assert_eq!(e.runs.len(), 1);
        let kept: Vec<i64> = e.runs[0].points.iter().map(|p| p.0).collect();
        assert_eq!(kept, vec![4, 5]);
        let mut f = Edge::new(Pick::First, 2);
        f.push_column(&[1, 2, 3], Column::Float(&[1.0, 2.0, 3.0]), 0, b"m,h=a");
        f.push(4, Scalar::F(4.0), 9, b"m,h=a");
        let kept: Vec<i64> = f.runs[0].points.iter().map(|p| p.0).collect();
        assert_eq!(kept, vec![1, 2]);
    }

    #[test]
    fn string_aux_values_order_the_tie() {
        // With a tag column beside first(), the heap pops equal times by tag value.
        let mut e = Edge::new(Pick::First, 2);
        for (i, v) in [9, 37, 49, 5].into_iter().enumerate() {
            let key = format!("m,h={}", ["a", "b", "c", "d"][i]);
            e.push_column(&[0], Column::Integer(&[v]), i as u64, key.as_bytes());
        }
        let got = e.finish(&crate::tie::ById::new(4));
        assert_eq!(got[0].value, Value::Integer(37), "a and b are popped");
        assert_eq!(got[0].aux, 1);
    }

    #[test]
    fn shards_are_merged_apart_and_encode_round_trips() {
        let mut e = Edge::new(Pick::Last, 2);
        e.push_column(&[5], Column::Integer(&[1]), 0, b"m,h=a");
        e.push_column(&[5], Column::Integer(&[7]), 1, b"m,h=b");
        e.set_segment(1);
        let mut later = Edge::new(Pick::Last, 2);
        later.push_column(&[9], Column::Integer(&[3]), 2, b"m,h=a");
        later.set_segment(2);
        e.merge(later);
        let mut bytes = Vec::new();
        e.save(&mut bytes);
        let mut r = Reader::new(&bytes);
        let back = Edge::load(&mut r, Pick::Last, ValueType::Integer).unwrap();
        assert_eq!(values(back), vec![(9, Value::Integer(3))]);
        assert_eq!(values(e), vec![(9, Value::Integer(3))]);
    }
}
