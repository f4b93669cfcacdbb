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

/// The merge's order of points (`times[i]`, key `i` of `keys`, `width` ranks each) when
/// the keys decide every tie: every key is whole (a rank per column, see
/// [`crate::TieKeys`]) and no two points share both time and key. The heap then pops in
/// the one total order of (time, key) — its history cannot matter — so a sort gives the
/// same order for a fraction of the heap's comparisons. Positions into `times`; `None`
/// where the heap must decide.
pub(crate) fn order_by_keys(
    times: &[i64],
    keys: &[Option<u32>],
    width: usize,
    descending: bool,
) -> Option<Vec<usize>> {
    if width == 0 || keys.len() != times.len() * width || keys.contains(&None) {
        return None;
    }
    let mut order: Vec<usize> = if width == 1 {
        // One column: sort compact (time, rank, position) triples.
        let mut t: Vec<(i64, u32, u32)> = times
            .iter()
            .zip(keys)
            .enumerate()
            .map(|(i, (&t, k))| (t, k.unwrap_or(0), i as u32))
            .collect();
        t.sort_unstable();
        if t.windows(2).any(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1)) {
            return None;
        }
        t.into_iter().map(|(_, _, i)| i as usize).collect()
    } else {
        let key = |i: usize| &keys[i * width..(i + 1) * width];
        let cmp =
            |a: &usize, b: &usize| times[*a].cmp(&times[*b]).then_with(|| key(*a).cmp(key(*b)));
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_unstable_by(cmp);
        if order
            .windows(2)
            .any(|w| cmp(&w[0], &w[1]) == std::cmp::Ordering::Equal)
        {
            return None;
        }
        order
    };
    if descending {
        order.reverse();
    }
    Some(order)
}

/// The order in which influxd's engine delivers the per-series outputs of a call
/// under a `ParallelMergeIterator` (min(), max(), first() and last() of a tag set
/// in one shard): each series gives one point per window it has points in; the
/// tag set's series are cut into `parallelism` (GOMAXPROCS) consecutive parts,
/// the last taking the remainder; each part is merged on Go's heap by window
/// only, a popped series giving its points of that window before it goes back;
/// then the parts are merged the same way. Of points equal in time and value the
/// first delivered wins, so this order names the series a full tie answers.
///
/// `series` holds each series' windows (their starts) in the order it gives
/// them (newest first when `descending`), the series in the tag set's order
/// (series-key order, reversed under ORDER BY time DESC); a series without
/// points still counts in the cut. `visit(window, series)` is called in output
/// order until it returns false.
pub fn parallel_merge_windows(
    series: &[&[i64]],
    parallelism: usize,
    descending: bool,
    mut visit: impl FnMut(i64, usize) -> bool,
) {
    let n = series.len();
    if n == 0 {
        return;
    }
    let parts = parallelism.clamp(1, n);
    let per = n / parts;
    let mut streams: Vec<Vec<(i64, usize)>> = Vec::with_capacity(parts);
    for i in 0..parts {
        let lo = i * per;
        let hi = if i + 1 < parts { lo + per } else { n };
        let part = &series[lo..hi];
        let mut out = Vec::with_capacity(part.iter().map(|s| s.len()).sum());
        merge_windowed(
            &part.iter().map(|s| s.len()).collect::<Vec<_>>(),
            |run, at| part[run][at],
            descending,
            |run, at| out.push((part[run][at], lo + run)),
        );
        streams.push(out);
    }
    if streams.len() == 1 {
        for (w, s) in &streams[0] {
            if !visit(*w, *s) {
                return;
            }
        }
        return;
    }
    let mut go = true;
    merge_windowed(
        &streams.iter().map(Vec::len).collect::<Vec<_>>(),
        |run, at| streams[run][at].0,
        descending,
        |run, at| {
            if go {
                let (w, s) = streams[run][at];
                go = visit(w, s);
            }
        },
    );
}

/// Go's `MergeIterator` over runs of windowed points: `window(run, at)` is the
/// window of a run's point `at` (runs ordered by window); the heap orders runs
/// by their next point's window alone, and a popped run gives all its points of
/// that window (`emit(run, at)`) before it is pushed back.
fn merge_windowed(
    lens: &[usize],
    window: impl Fn(usize, usize) -> i64,
    descending: bool,
    mut emit: impl FnMut(usize, usize),
) {
    // (window of the next point, run, its index): the window rides along so that
    // the heap's comparisons read no run.
    let mut heap: Vec<(i64, usize, usize)> = (0..lens.len())
        .filter(|&r| lens[r] > 0)
        .map(|r| (window(r, 0), r, 0))
        .collect();
    let mut less = |a: &(i64, usize, usize), b: &(i64, usize, usize)| {
        if descending {
            a.0 > b.0
        } else {
            a.0 < b.0
        }
    };
    gosort::heap_init(&mut heap, &mut less);
    while !heap.is_empty() {
        let (w, run, mut at) = gosort::heap_pop(&mut heap, &mut less);
        while at < lens[run] && window(run, at) == w {
            emit(run, at);
            at += 1;
        }
        if at < lens[run] {
            gosort::heap_push(&mut heap, (window(run, at), run, at), &mut less);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_merge_pops_equal_windows_in_go_heap_order() {
        // Eight single-window series, two parts: each part's heap pops its first
        // series, then its last, then backwards (influxd answers `max(v), h` with
        // c when b and c tie: a d c b, then e h g f).
        let one: Vec<i64> = vec![0];
        let series: Vec<&[i64]> = vec![&one; 8];
        let mut got = Vec::new();
        parallel_merge_windows(&series, 2, false, |w, s| {
            got.push((w, s));
            true
        });
        let order: Vec<usize> = got.iter().map(|x| x.1).collect();
        assert_eq!(order, vec![0, 3, 2, 1, 4, 7, 6, 5]);
        // One part: the plain heap order; more parts than series: one each, and
        // the merge of the parts pops them in heap order too.
        let mut got = Vec::new();
        parallel_merge_windows(&series[..4], 1, false, |_, s| {
            got.push(s);
            true
        });
        assert_eq!(got, vec![0, 3, 2, 1]);
        let mut got = Vec::new();
        parallel_merge_windows(&series[..3], 8, false, |_, s| {
            got.push(s);
            true
        });
        assert_eq!(got, vec![0, 2, 1]);
    }

    #[test]
    fn parallel_merge_keeps_windows_in_order_and_stops_when_asked() {
        // Series with holes: every window comes out whole before the next, in
        // either direction, and the empty series still counts in the cut.
        let a: Vec<i64> = vec![0, 10, 20];
        let b: Vec<i64> = vec![10];
        let c: Vec<i64> = vec![];
        let d: Vec<i64> = vec![0, 20];
        let series: Vec<&[i64]> = vec![&a, &b, &c, &d];
        let mut got = Vec::new();
        parallel_merge_windows(&series, 2, false, |w, s| {
            got.push((w, s));
            true
        });
        let windows: Vec<i64> = got.iter().map(|x| x.0).collect();
        assert_eq!(windows, vec![0, 0, 10, 10, 20, 20]);
        let mut seen: Vec<(i64, usize)> = got.clone();
        seen.sort_unstable();
        assert_eq!(
            seen,
            vec![(0, 0), (0, 3), (10, 0), (10, 1), (20, 0), (20, 3)]
        );
        // Part one (a, b) before part two (c, d) within each window.
        assert_eq!(got[0], (0, 0));
        assert_eq!(got[1], (0, 3));
        let rev: Vec<Vec<i64>> = series
            .iter()
            .rev()
            .map(|s| s.iter().rev().copied().collect())
            .collect();
        let rev: Vec<&[i64]> = rev.iter().map(Vec::as_slice).collect();
        let mut got = Vec::new();
        parallel_merge_windows(&rev, 2, true, |w, _| {
            got.push(w);
            got.len() < 3
        });
        assert_eq!(got, vec![20, 20, 10]);
    }

    #[test]
    fn whole_distinct_keys_sort_as_the_heap_merges() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        let mut sorted = 0;
        for case in 0..300 {
            let nruns = 1 + next(9) as usize;
            // Runs of shared times (every run's points on one grid), keys one per run
            // or drawn per point from a small range (then equal keys at equal times
            // happen and the heap must decide).
            let per_point = case % 3 == 0;
            let width = 1 + (case % 2);
            let runs: Vec<Vec<i64>> = (0..nruns)
                .map(|_| {
                    let mut t: Vec<i64> = (0..next(12)).map(|_| next(8) as i64).collect();
                    t.sort_unstable();
                    t.dedup();
                    t
                })
                .collect();
            let keys: Vec<Vec<Vec<Option<u32>>>> = runs
                .iter()
                .enumerate()
                .map(|(r, t)| {
                    t.iter()
                        .map(|_| {
                            (0..width)
                                .map(|c| {
                                    Some(if per_point {
                                        next(3) as u32
                                    } else {
                                        (r as u32 + c as u32 * 7) % 11
                                    })
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            for descending in [false, true] {
                type Keys<'a> = Vec<Vec<&'a [Option<u32>]>>;
                let (rt, rk): (Vec<Vec<i64>>, Keys<'_>) = runs
                    .iter()
                    .zip(&keys)
                    .map(|(t, k)| {
                        let mut t = t.clone();
                        let mut k: Vec<&[Option<u32>]> = k.iter().map(Vec::as_slice).collect();
                        if descending {
                            t.reverse();
                            k.reverse();
                        }
                        (t, k)
                    })
                    .unzip();
                let slices: Vec<&[i64]> = rt.iter().map(Vec::as_slice).collect();
                let heap: Vec<(usize, usize)> = merge_order_by(&slices, descending, |a, b| {
                    let (ka, kb) = (rk[a.0][a.1], rk[b.0][b.1]);
                    if descending {
                        crate::tie::key_before(kb, ka)
                    } else {
                        crate::tie::key_before(ka, kb)
                    }
                });
                let flat: Vec<(usize, usize)> = (0..rt.len())
                    .flat_map(|r| (0..rt[r].len()).map(move |i| (r, i)))
                    .collect();
                let times: Vec<i64> = flat.iter().map(|&(r, i)| rt[r][i]).collect();
                let fkeys: Vec<Option<u32>> = flat
                    .iter()
                    .flat_map(|&(r, i)| rk[r][i].iter().copied())
                    .collect();
                if let Some(order) = order_by_keys(&times, &fkeys, width, descending) {
                    sorted += 1;
                    let got: Vec<(usize, usize)> = order.into_iter().map(|p| flat[p]).collect();
                    assert_eq!(got, heap, "case {case}, descending {descending}");
                }
            }
        }
        assert!(sorted > 100, "the sort answered {sorted} times");
    }

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
