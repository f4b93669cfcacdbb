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
    let total = runs.iter().map(|r| r.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut less = |a: &Head, b: &Head| a.time < b.time;
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
    while !heap.is_empty() {
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
    fn equal_times_follow_the_heap() {
        // influxd 1.6.7, derivative(v) over host=a (0, 10s, 20s, 40s, 50s)
        // and host=b (0, 5s, 20s): a's point comes first at 0, b's at 20s.
        let a = [0, 10, 20, 40, 50];
        let b = [0, 5, 20];
        let order = merge_order(&[&a, &b]);
        let runs: Vec<usize> = order.iter().map(|&(r, _)| r).collect();
        assert_eq!(runs, vec![0, 1, 1, 0, 1, 0, 0, 0]);
    }
}
