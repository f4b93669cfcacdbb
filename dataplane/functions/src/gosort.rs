//! The unstable sort of Go 1.19's `sort.Sort` (pattern-defeating
//! quicksort: insertion sort up to 12 elements, median-of-three or Tukey
//! ninther pivots, pattern breaking with a length-seeded xorshift, heapsort
//! fallback), and `container/heap`'s sift operations.
//!
//! The reference influxd 1.6.7 binary was built with Go 1.19. It sorts
//! points with `sort.Sort` before picking the median, mode or a percentile
//! and keeps top()/bottom() candidates in a `container/heap`. Which of
//! several equal values ends up where decides mode()'s tie-breaking,
//! percentile()'s time and the output order of equal points, so the exact
//! sequence of swaps matters, not just the sorted result.

/// Sorts `v` exactly as Go 1.19's `sort.Sort` would with `less`.
pub(crate) fn sort_by<T, F: FnMut(&T, &T) -> bool>(v: &mut [T], mut less: F) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let limit = (usize::BITS - n.leading_zeros()) as usize;
    pdqsort(v, 0, n, limit, &mut less);
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
    for i in (0..hi.div_ceil(2)).rev() {
        sift_down(v, i, hi, first, less);
    }
    for i in (0..hi).rev() {
        v.swap(first, first + i);
        sift_down(v, 0, i, first, less);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Hint {
    Unknown,
    Increasing,
    Decreasing,
}

fn pdqsort<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    mut a: usize,
    mut b: usize,
    mut limit: usize,
    less: &mut F,
) {
    const MAX_INSERTION: usize = 12;
    let mut was_balanced = true;
    let mut was_partitioned = true;
    loop {
        let length = b - a;
        if length <= MAX_INSERTION {
            insertion_sort(v, a, b, less);
            return;
        }
        if limit == 0 {
            heap_sort(v, a, b, less);
            return;
        }
        if !was_balanced {
            break_patterns(v, a, b);
            limit -= 1;
        }
        let (mut pivot, mut hint) = choose_pivot(v, a, b, less);
        if hint == Hint::Decreasing {
            reverse_range(v, a, b);
            pivot = (b - 1) - (pivot - a);
            hint = Hint::Increasing;
        }
        if was_balanced
            && was_partitioned
            && hint == Hint::Increasing
            && partial_insertion_sort(v, a, b, less)
        {
            return;
        }
        if a > 0 && !less(&v[a - 1], &v[pivot]) {
            a = partition_equal(v, a, b, pivot, less);
            continue;
        }
        let (mid, already) = partition(v, a, b, pivot, less);
        was_partitioned = already;
        let (left, right) = (mid - a, b - mid);
        let threshold = length / 8;
        if left < right {
            was_balanced = left >= threshold;
            pdqsort(v, a, mid, limit, less);
            a = mid + 1;
        } else {
            was_balanced = right >= threshold;
            pdqsort(v, mid + 1, b, limit, less);
            b = mid;
        }
    }
}

fn partition<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    a: usize,
    b: usize,
    pivot: usize,
    less: &mut F,
) -> (usize, bool) {
    v.swap(a, pivot);
    let (mut i, mut j) = (a as isize + 1, b as isize - 1);
    let at = |x: isize| x as usize;
    while i <= j && less(&v[at(i)], &v[a]) {
        i += 1;
    }
    while i <= j && !less(&v[at(j)], &v[a]) {
        j -= 1;
    }
    if i > j {
        v.swap(at(j), a);
        return (at(j), true);
    }
    v.swap(at(i), at(j));
    i += 1;
    j -= 1;
    loop {
        while i <= j && less(&v[at(i)], &v[a]) {
            i += 1;
        }
        while i <= j && !less(&v[at(j)], &v[a]) {
            j -= 1;
        }
        if i > j {
            break;
        }
        v.swap(at(i), at(j));
        i += 1;
        j -= 1;
    }
    v.swap(at(j), a);
    (at(j), false)
}

fn partition_equal<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    a: usize,
    b: usize,
    pivot: usize,
    less: &mut F,
) -> usize {
    v.swap(a, pivot);
    let (mut i, mut j) = (a as isize + 1, b as isize - 1);
    let at = |x: isize| x as usize;
    loop {
        while i <= j && !less(&v[a], &v[at(i)]) {
            i += 1;
        }
        while i <= j && less(&v[a], &v[at(j)]) {
            j -= 1;
        }
        if i > j {
            break;
        }
        v.swap(at(i), at(j));
        i += 1;
        j -= 1;
    }
    at(i)
}

fn partial_insertion_sort<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    a: usize,
    b: usize,
    less: &mut F,
) -> bool {
    const MAX_STEPS: usize = 5;
    const SHORTEST_SHIFTING: usize = 50;
    let mut i = a + 1;
    for _ in 0..MAX_STEPS {
        while i < b && !less(&v[i], &v[i - 1]) {
            i += 1;
        }
        if i == b {
            return true;
        }
        if b - a < SHORTEST_SHIFTING {
            return false;
        }
        v.swap(i, i - 1);
        if i - a >= 2 {
            let mut j = i - 1;
            while j >= 1 {
                if !less(&v[j], &v[j - 1]) {
                    break;
                }
                v.swap(j, j - 1);
                j -= 1;
            }
        }
        if b - i >= 2 {
            let mut j = i + 1;
            while j < b {
                if !less(&v[j], &v[j - 1]) {
                    break;
                }
                v.swap(j, j - 1);
                j += 1;
            }
        }
    }
    false
}

fn break_patterns<T>(v: &mut [T], a: usize, b: usize) {
    let length = b - a;
    if length >= 8 {
        // Go 1.19's xorshift, seeded with the length.
        let mut r = length as u64;
        let modulus = 1usize << (usize::BITS - length.leading_zeros());
        let mid = a + (length / 4) * 2;
        for idx in mid - 1..=mid + 1 {
            r ^= r << 13;
            r ^= r >> 17;
            r ^= r << 5;
            let mut other = (r as usize) & (modulus - 1);
            if other >= length {
                other -= length;
            }
            v.swap(idx, a + other);
        }
    }
}

fn choose_pivot<T, F: FnMut(&T, &T) -> bool>(
    v: &mut [T],
    a: usize,
    b: usize,
    less: &mut F,
) -> (usize, Hint) {
    const SHORTEST_NINTHER: usize = 50;
    const MAX_SWAPS: usize = 4 * 3;
    let l = b - a;
    let mut swaps = 0;
    let mut i = a + l / 4;
    let mut j = a + l / 4 * 2;
    let mut k = a + l / 4 * 3;
    if l >= 8 {
        if l >= SHORTEST_NINTHER {
            i = median(v, i - 1, i, i + 1, &mut swaps, less);
            j = median(v, j - 1, j, j + 1, &mut swaps, less);
            k = median(v, k - 1, k, k + 1, &mut swaps, less);
        }
        j = median(v, i, j, k, &mut swaps, less);
    }
    match swaps {
        0 => (j, Hint::Increasing),
        MAX_SWAPS => (j, Hint::Decreasing),
        _ => (j, Hint::Unknown),
    }
}

fn order2<T, F: FnMut(&T, &T) -> bool>(
    v: &[T],
    a: usize,
    b: usize,
    swaps: &mut usize,
    less: &mut F,
) -> (usize, usize) {
    if less(&v[b], &v[a]) {
        *swaps += 1;
        return (b, a);
    }
    (a, b)
}

fn median<T, F: FnMut(&T, &T) -> bool>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    swaps: &mut usize,
    less: &mut F,
) -> usize {
    let (a, b) = order2(v, a, b, swaps, less);
    let (b, c) = order2(v, b, c, swaps, less);
    let (_, b) = order2(v, a, b, swaps, less);
    let _ = c;
    b
}

fn reverse_range<T>(v: &mut [T], a: usize, b: usize) {
    v[a..b].reverse();
}

/// `container/heap.Push`: append then sift up.
pub(crate) fn heap_push<T, F: FnMut(&T, &T) -> bool>(h: &mut Vec<T>, x: T, less: &mut F) {
    h.push(x);
    let n = h.len();
    heap_up(h, n - 1, less);
}

/// `container/heap.Init`.
pub(crate) fn heap_init<T, F: FnMut(&T, &T) -> bool>(h: &mut [T], less: &mut F) {
    let n = h.len();
    for i in (0..n / 2).rev() {
        heap_down(h, i, n, less);
    }
}

/// `container/heap.Pop`: swap the root to the end, sift down, remove it.
pub(crate) fn heap_pop<T, F: FnMut(&T, &T) -> bool>(h: &mut Vec<T>, less: &mut F) -> T {
    let n = h.len() - 1;
    h.swap(0, n);
    heap_down(h, 0, n, less);
    h.pop().expect("heap_pop on an empty heap")
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
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
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
    fn short_slices_sort_stably() {
        // Up to 12 elements Go 1.19 runs a plain insertion sort.
        let mut v = vec![
            (5, 'a'),
            (5, 'b'),
            (6, 'c'),
            (6, 'd'),
            (6, 'e'),
            (6, 'f'),
            (3, 'g'),
        ];
        sort_by(&mut v, |a, b| a.0 < b.0);
        assert_eq!(
            v,
            vec![
                (3, 'g'),
                (5, 'a'),
                (5, 'b'),
                (6, 'c'),
                (6, 'd'),
                (6, 'e'),
                (6, 'f')
            ]
        );
    }
}
