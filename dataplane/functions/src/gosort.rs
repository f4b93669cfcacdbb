//! The unstable sort of Go 1.10's `sort.Sort` (quicksort with a ninther
//! pivot, heapsort fallback, gap-6 shell pass and insertion sort under 13
//! elements), and `container/heap`'s sift operations.
//!
//! influxd 1.6.7 sorts points with `sort.Sort` before picking the median,
//! mode or a percentile and keeps top()/bottom() candidates in a
//! `container/heap`. Which of several equal values ends up where decides
//! mode()'s tie-breaking and the output order of equal points, so the exact
//! sequence of swaps matters, not just the sorted result.

/// Sorts `v` exactly as Go 1.10's `sort.Sort` would with `less`.
pub(crate) fn sort_by<T, F: FnMut(&T, &T) -> bool>(v: &mut [T], mut less: F) {
    let n = v.len();
    let mut depth = 0;
    let mut i = n;
    while i > 0 {
        depth += 1;
        i >>= 1;
    }
    quick_sort(v, 0, n, depth * 2, &mut less);
}

fn insertion_sort<T, F: FnMut(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, less: &mut F) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&v[j], &v[j - 1]) {
            v.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn sift_down<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    lo: usize,
    hi: usize,
    first: usize,
    less: &mut F,
) {
    let mut root = lo;
    loop {
        let mut child = 2 * root + 1;
        if child >= hi {
            return;
        }
        if child + 1 < hi && less(&v[first + child], &v[first + child + 1]) {
            child += 1;
        }
        if !less(&v[first + root], &v[first + child]) {
            return;
        }
        v.swap(first + root, first + child);
        root = child;
    }
}

fn heap_sort<T, F: FnMut(&T, &T) -> bool>(v: &mut [T], a: usize, b: usize, less: &mut F) {
    let first = a;
    let hi = b - a;
    let mut i = (hi as isize - 1) / 2;
    while i >= 0 {
        sift_down(v, i as usize, hi, first, less);
        i -= 1;
    }
    let mut i = hi as isize - 1;
    while i >= 0 {
        v.swap(first, first + i as usize);
        sift_down(v, 0, i as usize, first, less);
        i -= 1;
    }
}

/// Moves the median of v[m0], v[m1], v[m2] into v[m1].
fn median_of_three<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    m1: usize,
    m0: usize,
    m2: usize,
    less: &mut F,
) {
    if less(&v[m1], &v[m0]) {
        v.swap(m1, m0);
    }
    if less(&v[m2], &v[m1]) {
        v.swap(m2, m1);
        if less(&v[m1], &v[m0]) {
            v.swap(m1, m0);
        }
    }
}

fn do_pivot<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    lo: usize,
    hi: usize,
    less: &mut F,
) -> (usize, usize) {
    let m = (lo + hi) / 2;
    if hi - lo > 40 {
        let s = (hi - lo) / 8;
        median_of_three(v, lo, lo + s, lo + 2 * s, less);
        median_of_three(v, m, m - s, m + s, less);
        median_of_three(v, hi - 1, hi - 1 - s, hi - 1 - 2 * s, less);
    }
    median_of_three(v, lo, m, hi - 1, less);

    let pivot = lo;
    let (mut a, mut c) = (lo + 1, hi - 1);
    while a < c && less(&v[a], &v[pivot]) {
        a += 1;
    }
    let mut b = a;
    loop {
        while b < c && !less(&v[pivot], &v[b]) {
            b += 1;
        }
        while b < c && less(&v[pivot], &v[c - 1]) {
            c -= 1;
        }
        if b >= c {
            break;
        }
        v.swap(b, c - 1);
        b += 1;
        c -= 1;
    }
    let mut protect = hi - c < 5;
    if !protect && hi - c < (hi - lo) / 4 {
        let mut dups = 0;
        if !less(&v[pivot], &v[hi - 1]) {
            v.swap(c, hi - 1);
            c += 1;
            dups += 1;
        }
        if !less(&v[b - 1], &v[pivot]) {
            b -= 1;
            dups += 1;
        }
        if !less(&v[m], &v[pivot]) {
            v.swap(m, b - 1);
            b -= 1;
            dups += 1;
        }
        protect = dups > 1;
    }
    if protect {
        loop {
            while a < b && !less(&v[b - 1], &v[pivot]) {
                b -= 1;
            }
            while a < b && less(&v[a], &v[pivot]) {
                a += 1;
            }
            if a >= b {
                break;
            }
            v.swap(a, b - 1);
            a += 1;
            b -= 1;
        }
    }
    v.swap(pivot, b - 1);
    (b - 1, c)
}

fn quick_sort<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    mut a: usize,
    mut b: usize,
    mut max_depth: usize,
    less: &mut F,
) {
    while b - a > 12 {
        if max_depth == 0 {
            heap_sort(v, a, b, less);
            return;
        }
        max_depth -= 1;
        let (mlo, mhi) = do_pivot(v, a, b, less);
        if mlo - a < b - mhi {
            quick_sort(v, a, mlo, max_depth, less);
            a = mhi;
        } else {
            quick_sort(v, mhi, b, max_depth, less);
            b = mlo;
        }
    }
    if b - a > 1 {
        for i in a + 6..b {
            if less(&v[i], &v[i - 6]) {
                v.swap(i, i - 6);
            }
        }
        insertion_sort(v, a, b, less);
    }
}

/// `container/heap.Push`: append then sift up.
pub(crate) fn heap_push<T, F: FnMut(&T, &T) -> bool>(h: &mut Vec<T>, x: T, less: &mut F) {
    h.push(x);
    let n = h.len();
    heap_up(h, n - 1, less);
}

/// `container/heap.Fix(h, i)`.
pub(crate) fn heap_fix<T, F: FnMut(&T, &T) -> bool>(h: &mut [T], i: usize, less: &mut F) {
    let n = h.len();
    if !heap_down(h, i, n, less) {
        heap_up(h, i, less);
    }
}

fn heap_up<T, F: FnMut(&T, &T) -> bool>(h: &mut [T], mut j: usize, less: &mut F) {
    while j > 0 {
        let i = (j - 1) / 2;
        if i == j || !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        j = i;
    }
}

fn heap_down<T, F: FnMut(&T, &T) -> bool>(h: &mut [T], i0: usize, n: usize, less: &mut F) -> bool {
    let mut i = i0;
    loop {
        let j1 = 2 * i + 1;
        if j1 >= n {
            break;
        }
        let mut j = j1;
        let j2 = j1 + 1;
        if j2 < n && less(&h[j2], &h[j1]) {
            j = j2;
        }
        if !less(&h[j], &h[i]) {
            break;
        }
        h.swap(i, j);
        i = j;
    }
    i > i0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_a_sort() {
        let mut seed = 12345u64;
        for n in [0usize, 1, 2, 5, 12, 13, 40, 41, 100, 1000] {
            let mut v: Vec<i64> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((seed >> 33) % 17) as i64
                })
                .collect();
            let mut w = v.clone();
            sort_by(&mut v, |a, b| a < b);
            w.sort();
            assert_eq!(v, w);
        }
    }

    #[test]
    fn gap_six_pass_is_not_stable() {
        // Go: the shell pass swaps index 6 with index 0, so the two 5s trade places.
        let mut v = vec![(5, 'a'), (5, 'b'), (6, 'c'), (6, 'd'), (6, 'e'), (6, 'f'), (3, 'g')];
        sort_by(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v[1], (5, 'b'));
        assert_eq!(v[2], (5, 'a'));
    }
}
