//! The order in which influxd merges the series of a group: a k-way merge
//! by time on Go's `container/heap` (its `SortedMergeIterator`), series in
//! series-key order. Points at equal times come out in whatever order the
//! heap's history gives — not simply series order — and that order decides
//! which point wins in derivative(), difference(), integral() and the
//! rounding of stddev() and friends over several series.

use crate::gosort;

/// The heap item: (run, next index in run, time at that index).
#[derive(Debug, Clone, Copy)]
struct Head {
    run: usize,
    at: usize,
    time: i64,
}

/// Merges `runs` (each ascending in time, given in series-key order) as
/// influxd does; returns `(run, index)` pairs in output order.
pub fn merge_order(runs: &[&[i64]]) -> Vec<(usize, usize)> {
    merge_order_by(runs, false, |_, _| false)
}

/// The same merge in either direction, with influxd's tie-break between points
/// at equal times: `tie(a, b)` says whether point `a` (run, index) sorts before
/// `b` (influxd compares the points' auxiliary values while both are strings).
/// For a descending merge each run is given newest first, the runs in reverse
/// series-key order (influxd reverses a tag set's series for `ORDER BY time
/// DESC`), and `tie` answers for the descending order.
pub fn merge_order_by<F>(runs: &[&[i64]], descending: bool, tie: F) -> Vec<(usize, usize)>
where
    F: FnMut((usize, usize), (usize, usize)) -> bool,
{
    merge_order_upto(runs, descending, tie, usize::MAX)
}

/// The first `limit` points of [`merge_order_by`]'s order (the heap stops there).
pub fn merge_order_upto<F>(
    runs: &[&[i64]],
    descending: bool,
    mut tie: F,
    limit: usize,
) -> Vec<(usize, usize)>
where
    F: FnMut((usize, usize), (usize, usize)) -> bool,
{
    let total: usize = runs.iter().map(|r| r.len()).sum();
    let mut out = Vec::with_capacity(total.min(limit));
    let mut less = |a: &Head, b: &Head| {
        if a.time != b.time {
            (a.time < b.time) != descending
        } else {
            tie((a.run, a.at), (b.run, b.at))
        }
    };
    let mut heap: Vec<Head> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(run, r)| Head {
            run,
            at: 0,
            time: r[0],
        })
        .collect();
    gosort::heap_init(&mut heap, &mut less);
    while !heap.is_empty() && out.len() < limit {
        let mut h = gosort::heap_pop(&mut heap, &mut less);
        out.push((h.run, h.at));
        h.at += 1;
        if let Some(&t) = runs[h.run].get(h.at) {
            h.time = t;
            gosort::heap_push(&mut heap, h, &mut less);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limited_merge_is_the_prefix_of_the_whole() {
        // Ties everywhere, runs of different lengths: the first n pops are the same
        // whether the heap runs to the end or stops.
        let runs: Vec<Vec<i64>> = (0..7)
            .map(|r| (0..(3 + r % 4)).map(|i| (i * (r % 3 + 1)) as i64).collect())
            .collect();
        let slices: Vec<&[i64]> = runs.iter().map(Vec::as_slice).collect();
        for descending in [false, true] {
            let rev: Vec<Vec<i64>> = runs
                .iter()
                .map(|r| r.iter().rev().copied().collect())
                .collect();
            let rslices: Vec<&[i64]> = rev.iter().map(Vec::as_slice).collect();
            let input = if descending { &rslices } else { &slices };
            let tie = |a: (usize, usize), b: (usize, usize)| a.0 % 2 < b.0 % 2;
            let whole = merge_order_by(input, descending, tie);
            for n in [0, 1, 5, 11, whole.len(), whole.len() + 3] {
                let part = merge_order_upto(input, descending, tie, n);
                assert_eq!(part, whole[..n.min(whole.len())], "n = {n}");
            }
        }
    }

    #[test]
    fn equal_times_follow_the_heap() {
        // influxd 1.6.7, derivative(v) over host=a (0, 10s, 20s, 40s, 50s)
        // and host=b (0, 5s, 20s): a's point comes first at 0, b's at 20s.
        let a = [0, 10, 20, 40, 50];
        let b = [0, 5, 20];
        let order = merge_order(&[&a, &b]);
        let runs: Vec<usize> = order.iter().map(|&(r, _)| r).collect();
        assert_eq!(runs, vec![0, 1, 1, 0, 1, 0, 0, 0]);
    }

    #[test]
    fn equal_times_without_a_string_tie_break_follow_the_heap() {
        // influxd 1.6.7, SELECT * over hosts a..e (first aux column a boolean): at
        // the first time a, e, b, d, c; then d, c, a, b.
        let t = [0, 10];
        let order = merge_order_by(&[&t, &t, &t, &t, &t], false, |_, _| false);
        let runs: Vec<usize> = order.iter().map(|&(r, _)| r).collect();
        assert_eq!(runs, vec![0, 4, 1, 3, 2, 3, 2, 0, 1, 4]);
    }

    #[test]
    fn a_string_tie_break_orders_equal_times_both_ways() {
        // Aux values compared as strings: series order whatever the heap does.
        let names = ["a", "b", "c", "d"];
        let t = [0, 10, 20];
        let up = merge_order_by(&[&t, &t, &t, &t], false, |x, y| names[x.0] < names[y.0]);
        let runs: Vec<usize> = up.iter().map(|&(r, _)| r).collect();
        assert_eq!(runs, vec![0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
        let d = [20, 10, 0];
        let down = merge_order_by(&[&d, &d, &d, &d], true, |x, y| names[x.0] > names[y.0]);
        let runs: Vec<usize> = down.iter().map(|&(r, _)| r).collect();
        assert_eq!(runs, vec![3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0]);
    }
}
