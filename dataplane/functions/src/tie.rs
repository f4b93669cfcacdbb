//! How influxd's sorted merge orders points of equal time from different series.
//!
//! Past the time, its heap compares the points' auxiliary values (the statement's other
//! columns) in order while both are strings; the first pair that is not two strings ends
//! the comparison (the points are then equal). Which of two tied points a selector keeps,
//! and the order top()/bottom()'s heap and percentile()'s sort see, follow from it.
//!
//! The engine knows the values, this crate the points: each point's aux id maps to a
//! [`TieKeys::key`], one rank per column (equal strings, equal ranks; `None` for a value
//! that is not a string), so that the merge compares integers.

/// Each aux id's key: per auxiliary column, the rank of its string value among the
/// column's values, or `None` where the value is not a string. An id without a row has
/// no ranks at all (all `None`): it ties with every other point.
pub trait TieKeys {
    /// How many columns a key has; 0: no key (the merge skips the lookups).
    fn width(&self) -> usize;
    /// Writes the key of aux id `aux` into `out` (`width()` long).
    fn key(&self, aux: u64, out: &mut [Option<u32>]);
}

/// No auxiliary columns: equal-time points keep the merge's series order.
pub struct NoTies;

impl TieKeys for NoTies {
    fn width(&self) -> usize {
        0
    }

    fn key(&self, _: u64, _: &mut [Option<u32>]) {}
}

/// The keys of `aux` ids, `ties.width()` per id back to back.
pub(crate) fn keys_of(ties: &dyn TieKeys, aux: impl Iterator<Item = u64>) -> Vec<Option<u32>> {
    let width = ties.width();
    let mut flat = Vec::with_capacity(aux.size_hint().0 * width);
    for a in aux {
        let at = flat.len();
        flat.resize(at + width, None);
        ties.key(a, &mut flat[at..]);
    }
    flat
}

/// Whether key `a` goes before key `b` in an ascending merge: the ranks compared in
/// order while both are present.
pub fn key_before(a: &[Option<u32>], b: &[Option<u32>]) -> bool {
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => return x < y,
            _ => return false,
        }
    }
    false
}

/// Whether the point of aux `a` goes before the point of aux `b` at equal times, in the
/// merge's direction (`descending`: newest first, the comparison reversed).
pub(crate) fn aux_before(ties: &dyn TieKeys, descending: bool, a: u64, b: u64) -> bool {
    let width = ties.width();
    if width == 0 {
        return false;
    }
    let (mut ka, mut kb) = (vec![None; width], vec![None; width]);
    ties.key(a, &mut ka);
    ties.key(b, &mut kb);
    if descending {
        key_before(&kb, &ka)
    } else {
        key_before(&ka, &kb)
    }
}

/// For tests: aux id `i`'s key is the one rank `i` (ids below the length given).
#[cfg(test)]
pub(crate) struct ById(pub(crate) Vec<Option<u32>>);

#[cfg(test)]
impl ById {
    pub(crate) fn new(n: u32) -> ById {
        ById((0..n).map(Some).collect())
    }
}

#[cfg(test)]
impl TieKeys for ById {
    fn width(&self) -> usize {
        1
    }

    fn key(&self, aux: u64, out: &mut [Option<u32>]) {
        out[0] = self.0.get(aux as usize).copied().flatten();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_while_both_are_strings() {
        assert!(key_before(&[Some(1)], &[Some(2)]));
        assert!(!key_before(&[Some(2)], &[Some(1)]));
        assert!(key_before(&[Some(1), Some(5)], &[Some(1), Some(6)]));
        // A value that is not a string ends the comparison: equal.
        assert!(!key_before(&[None, Some(1)], &[Some(0), Some(2)]));
        assert!(!key_before(&[Some(1), None], &[Some(1), Some(0)]));
        assert!(!key_before(&[], &[Some(0)]));
        assert!(!key_before(&[Some(3)], &[Some(3)]));
    }
}
