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
use crate::tie::TieKeys;
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

/// The `n` best kept points (by value, then earlier time), when which points those are
/// and how they rank does not depend on the order they reach the heap: no two of the
/// `n + 1` best tie in both value and time, or such ties cannot be told apart
/// (`anonymous`). `None` otherwise — then only influxd's merge order of the series
/// decides, and every point must be replayed in it.
fn decisive(k: &Kept, n: usize, top: bool, anonymous: bool) -> Option<Vec<usize>> {
    if n == 0 {
        return None;
    }
    let mut worse = |i: &usize, j: &usize| -> bool {
        match k.values.cmp_at(*i, *j) {
            std::cmp::Ordering::Equal => k.times[*i] > k.times[*j],
            o => (o == std::cmp::Ordering::Less) == top,
        }
    };
    // A heap of the n + 1 best so far, the worst at the root.
    let mut heap: Vec<usize> = Vec::with_capacity(n.min(k.len()).saturating_add(1));
    for i in 0..k.len() {
        if heap.len() <= n {
            gosort::heap_push(&mut heap, i, &mut worse);
        } else if worse(&heap[0], &i) {
            heap[0] = i;
            gosort::heap_fix(&mut heap, 0, &mut worse);
        }
    }
    heap.sort_by(|a, b| {
        if worse(b, a) {
            std::cmp::Ordering::Less
        } else if worse(a, b) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    let tie = !anonymous
        && heap
            .windows(2)
            .any(|w| !worse(&w[0], &w[1]) && !worse(&w[1], &w[0]));
    if tie {
        return None;
    }
    heap.truncate(n);
    Some(heap)
}

/// The per-tag-key selectors of `top(x, tag…, N)`. Points arrive series by series, so
/// the selector of the key being pushed is found once per series, not once per point
/// (`current`, reset when the key changes).
#[derive(Debug, Clone, Default)]
struct TagSelectors {
    keys: BTreeMap<String, usize>,
    sels: Vec<Selector>,
    current: Option<usize>,
}

impl TagSelectors {
    fn current(&mut self, key: &str, pick: Pick) -> &mut Selector {
        let i = match self.current {
            Some(i) => i,
            None => {
                let i = match self.keys.get(key) {
                    Some(&i) => i,
                    None => {
                        self.sels.push(Selector::new(pick));
                        self.keys.insert(key.to_string(), self.sels.len() - 1);
                        self.sels.len() - 1
                    }
                };
                self.current = Some(i);
                i
            }
        };
        &mut self.sels[i]
    }

    fn get(&self, key: &str) -> Option<&Selector> {
        self.keys.get(key).map(|&i| &self.sels[i])
    }

    /// Merges `sel` into the selector of `key` (a new one when there is none).
    fn merge(&mut self, key: String, sel: Selector) {
        match self.keys.get(&key) {
            Some(&i) => self.sels[i].merge(sel),
            None => {
                self.sels.push(sel);
                self.keys.insert(key, self.sels.len() - 1);
            }
        }
    }

    /// (key, selector) by key, ascending.
    fn sorted(&self) -> impl Iterator<Item = (&String, &Selector)> {
        self.keys.iter().map(|(k, &i)| (k, &self.sels[i]))
    }

    fn into_sorted(self) -> impl Iterator<Item = (String, Selector)> {
        let mut sels: Vec<Option<Selector>> = self.sels.into_iter().map(Some).collect();
        self.keys
            .into_iter()
            .map(move |(k, i)| (k, sels[i].take().expect("one key per selector")))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TopBottom {
    top: bool,
    n: usize,
    heap: Vec<Cand>,
    /// With tag arguments: best point per tag-value key, fed to the heap at finish.
    by_tag: Option<TagSelectors>,
    current_key: String,
    /// Without tag arguments: every pushed point, replayed at finish.
    kept: Option<Kept>,
    /// See [`super::Reducer::set_anonymous_ties`].
    pub(crate) anonymous_ties: bool,
    /// [`decisive`]'s answer over the kept points, once asked ([`TopBottom::replays`]):
    /// the best candidates, or `None` when the kept points must be replayed.
    best: Option<Option<Vec<Cand>>>,
}

impl TopBottom {
    pub(crate) fn new(top: bool, n: usize, tagged: bool, input: crate::value::ValueType) -> Self {
        TopBottom {
            top,
            n,
            heap: Vec::with_capacity(n.min(1024)),
            by_tag: tagged.then(TagSelectors::default),
            current_key: String::new(),
            kept: (!tagged).then(|| Kept::new(input)),
            anonymous_ties: false,
            best: None,
        }
    }

    pub(crate) fn set_tag_key(&mut self, key: &str) {
        if self.current_key != key {
            self.current_key.clear();
            self.current_key.push_str(key);
            if let Some(m) = &mut self.by_tag {
                m.current = None;
            }
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
        self.by_tag.as_mut().map(|m| m.current(key, pick))
    }

    /// The aux ids at or above `floor` it may answer with, where the current series'
    /// points can have gone: the current tag key's best, the heap, the newest kept points.
    pub(crate) fn aux_ids_since(&self, floor: u64, f: &mut dyn FnMut(u64)) {
        if let Some(sel) = self.by_tag.as_ref().and_then(|m| m.get(&self.current_key)) {
            sel.aux_ids(f);
        }
        self.heap.iter().for_each(|c| f(c.aux));
        if let Some(k) = &self.kept {
            k.aux_ids_since(floor, f);
        }
    }

    /// Pushes one batch of series `key` (see [`Kept::merged_in`] for why the key).
    pub(crate) fn push_column(&mut self, times: &[i64], c: Column<'_>, aux_base: u64, key: &[u8]) {
        self.best = None;
        if let Some(sel) = self.tag_selector() {
            sel.push_column(times, c, aux_base, key);
            return;
        }
        if let Some(k) = &mut self.kept {
            k.extend(times, c, aux_base, key);
            return;
        }
        for (i, &time) in times.iter().enumerate() {
            self.aggregate(Cand {
                time,
                aux: aux_base.wrapping_add(i as u64),
                value: c.scalar(i),
            });
        }
    }

    pub(crate) fn push(&mut self, time: i64, value: Scalar, aux: u64, key: &[u8]) {
        self.best = None;
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
        self.best = None;
        if let (Some(mine), Some(theirs)) = (&mut self.kept, other.kept) {
            mine.append(theirs);
            return;
        }
        match (&mut self.by_tag, other.by_tag) {
            (Some(mine), Some(theirs)) => {
                for (k, sel) in theirs.into_sorted() {
                    mine.merge(k, sel);
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

    /// The rows: the kept points replayed in influxd's sorted merge (newest first under
    /// ORDER BY time DESC: `latest_first`; equal times by their keys in `ties`), or
    /// `ordered`, the window's points as the merge of the whole range fed them (see
    /// [`super::feed_windows_in_one_merge`]).
    pub(crate) fn finish(
        self,
        latest_first: bool,
        ties: &dyn TieKeys,
        ordered: Option<Kept>,
    ) -> Vec<Point> {
        self.finish_with(true, latest_first, ties, ordered)
    }

    /// Marks the kept points as read from shard `seg` (see [`Kept::set_segment`]).
    pub(crate) fn set_segment(&mut self, seg: u64) {
        if let Some(k) = &mut self.kept {
            k.set_segment(seg);
        }
    }

    /// The best candidates when no replay can change them (see [`decisive`]).
    fn decide(k: &Kept, n: usize, top: bool, anonymous: bool) -> Option<Vec<Cand>> {
        decisive(k, n, top, anonymous).map(|best| {
            best.into_iter()
                .map(|i| Cand {
                    time: k.times[i],
                    aux: k.aux[i],
                    value: k.values.scalar(i),
                })
                .collect()
        })
    }

    /// Whether finishing replays the kept points in the merge's order: some of the N+1
    /// best tie in value and time (see [`decisive`]). The answer is kept for finishing.
    pub(crate) fn replays(&mut self) -> bool {
        if !self.heap.is_empty() {
            return false;
        }
        let (n, top, anonymous) = (self.n, self.top, self.anonymous_ties);
        let Some(k) = &self.kept else {
            return false;
        };
        self.best
            .get_or_insert_with(|| Self::decide(k, n, top, anonymous))
            .is_none()
    }

    /// The kept points (without tag arguments), taken out for a merge of several windows'
    /// points once [`TopBottom::replays`] has decided.
    pub(crate) fn kept_mut(&mut self) -> Option<&mut Kept> {
        self.kept.as_mut()
    }

    /// [`Self::finish`]; `fast` allows skipping the merge-order replay when it cannot
    /// change the answer.
    fn finish_with(
        mut self,
        fast: bool,
        latest_first: bool,
        ties: &dyn TieKeys,
        ordered: Option<Kept>,
    ) -> Vec<Point> {
        if let Some(k) = self.kept.take() {
            let best = match self.best.take() {
                Some(best) if fast => best,
                _ if fast && self.heap.is_empty() => {
                    Self::decide(&k, self.n, self.top, self.anonymous_ties)
                }
                _ => None,
            };
            match best {
                // No ties among the best: any feeding order keeps the same points.
                Some(best) => best.into_iter().for_each(|c| self.aggregate(c)),
                None => {
                    let k = ordered.unwrap_or_else(|| k.merged_by(latest_first, ties));
                    for i in 0..k.len() {
                        self.aggregate(Cand {
                            time: k.times[i],
                            aux: k.aux[i],
                            value: k.values.scalar(i),
                        });
                    }
                }
            }
        }
        if let Some(m) = self.by_tag.take() {
            // influxd feeds the per-tag winners in the order of their keys (its tag-set
            // ids), whatever their times and the statement's time order.
            let winners = m.into_sorted().flat_map(|(_, s)| s.finish(false));
            for p in winners {
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
            wire::put_uvarint(out, m.keys.len() as u64);
            for (k, sel) in m.sorted() {
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
            m.current = None;
            let pick = if self.top { Pick::Max } else { Pick::Min };
            // A tag entry takes at least a key length and a presence byte.
            let n = r.count(2, "tag count")?;
            for _ in 0..n {
                let key = r.str("tag key")?.to_string();
                if m.keys
                    .last_key_value()
                    .is_some_and(|(last, _)| *last >= key)
                {
                    return Err(r.error("tag key", "not in ascending order"));
                }
                let mut sel = Selector::new(pick);
                sel.load(r, t)?;
                m.merge(key, sel);
            }
        }
        if let Some(k) = &mut self.kept {
            *k = Kept::load(r, t)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tie::NoTies;

    /// The shortcut answers what the replay in merge order answers, ties or not.
    #[test]
    fn shortcut_matches_the_merge_order_replay() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let mut shortcuts = 0;
        for case in 0..400 {
            let top = case % 2 == 0;
            let n = 1 + next(6) as usize;
            let spread = [3, 50, 100_000][case % 3];
            let mut a = TopBottom::new(top, n, false, ValueType::Integer);
            for s in 0..(1 + next(8)) {
                let len = next(20) as usize;
                let mut times: Vec<i64> = (0..len).map(|_| next(30) as i64).collect();
                times.sort_unstable();
                times.dedup();
                let vals: Vec<i64> = times.iter().map(|_| next(spread) as i64).collect();
                let key = format!("m,s={s}");
                a.push_column(&times, Column::Integer(&vals), s * 1000, key.as_bytes());
            }
            let b = a.clone();
            if let Some(k) = &a.kept {
                shortcuts += usize::from(decisive(k, n, top, false).is_some());
            }
            let mut anon = a.clone();
            anon.anonymous_ties = true;
            let (fast, replayed) = (
                a.finish_with(true, false, &NoTies, None),
                b.finish_with(false, false, &NoTies, None),
            );
            assert_eq!(fast, replayed, "case {case}");
            // Without asking which series a point came from, ties look the same.
            let seen = |ps: Vec<Point>| -> Vec<(i64, crate::value::Value)> {
                ps.into_iter().map(|p| (p.time, p.value)).collect()
            };
            assert_eq!(
                seen(anon.finish_with(true, false, &NoTies, None)),
                seen(replayed),
                "case {case}"
            );
        }
        assert!(shortcuts > 50, "the shortcut was taken {shortcuts} times");
    }
}
