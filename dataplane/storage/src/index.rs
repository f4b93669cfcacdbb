//! The series index of a partition, for the query engine: measurement → tag key → tag
//! value → series, with roaring bitmaps of series ids as postings.
//!
//! Series ids are local to the partition and to the life of the process (assigned in the
//! order series are seen). The index is rebuilt when the partition opens from the data
//! files' own indexes (which persist every series key) and the replayed WAL, and kept
//! current on every new series written.

use std::collections::BTreeMap;

use roaring::RoaringBitmap;

use crate::batch::measurement_of;

/// A condition on tags, the part of a WHERE clause the index answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagPredicate {
    /// Every series of the measurement.
    All,
    /// `key = 'value'` (an empty value matches series without the tag, as InfluxQL does).
    Eq(Vec<u8>, Vec<u8>),
    /// `key != 'value'`.
    NotEq(Vec<u8>, Vec<u8>),
    And(Box<TagPredicate>, Box<TagPredicate>),
    Or(Box<TagPredicate>, Box<TagPredicate>),
}

#[derive(Debug, Default)]
struct MeasurementIndex {
    series: RoaringBitmap,
    tags: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, RoaringBitmap>>,
}

#[derive(Debug, Default)]
pub struct SeriesIndex {
    keys: Vec<Box<[u8]>>,
    ids: ahash::AHashMap<Box<[u8]>, u32>,
    measurements: BTreeMap<Vec<u8>, MeasurementIndex>,
}

/// Splits a series key into its tags (escaped `key`, `value` slices).
pub fn tags_of(series_key: &[u8]) -> Vec<(&[u8], &[u8])> {
    let m = measurement_of(series_key).len();
    let mut out = Vec::new();
    let mut rest = &series_key[m..];
    while let Some(stripped) = rest.strip_prefix(b",") {
        let mut i = 0;
        let mut eq = None;
        while i < stripped.len() {
            match stripped[i] {
                b'\\' => i += 1,
                b'=' if eq.is_none() => eq = Some(i),
                b',' => break,
                _ => {}
            }
            i += 1;
        }
        let end = i.min(stripped.len());
        if let Some(e) = eq.filter(|e| *e < end) {
            out.push((&stripped[..e], &stripped[e + 1..end]));
        }
        rest = &stripped[end..];
    }
    out
}

impl SeriesIndex {
    pub fn new() -> SeriesIndex {
        SeriesIndex::default()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds a series if it is new; returns its id.
    pub fn insert(&mut self, key: &[u8]) -> u32 {
        if let Some(id) = self.ids.get(key) {
            return *id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.into());
        self.ids.insert(key.into(), id);
        let m = self
            .measurements
            .entry(measurement_of(key).to_vec())
            .or_default();
        m.series.insert(id);
        for (k, v) in tags_of(key) {
            m.tags
                .entry(k.to_vec())
                .or_default()
                .entry(v.to_vec())
                .or_default()
                .insert(id);
        }
        id
    }

    /// Forgets a series (its data was deleted). Its id is not reused.
    pub fn remove(&mut self, key: &[u8]) {
        let Some(id) = self.ids.remove(key) else {
            return;
        };
        let m = measurement_of(key).to_vec();
        let mut empty = false;
        if let Some(mi) = self.measurements.get_mut(&m) {
            mi.series.remove(id);
            for (k, v) in tags_of(key) {
                if let Some(vs) = mi.tags.get_mut(k) {
                    if let Some(b) = vs.get_mut(v) {
                        b.remove(id);
                        if b.is_empty() {
                            vs.remove(v);
                        }
                    }
                    if vs.is_empty() {
                        mi.tags.remove(k);
                    }
                }
            }
            empty = mi.series.is_empty();
        }
        if empty {
            self.measurements.remove(&m);
        }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.ids.contains_key(key)
    }

    pub fn key(&self, id: u32) -> Option<&[u8]> {
        self.keys.get(id as usize).map(|k| &**k)
    }

    /// Measurements (escaped), sorted.
    pub fn measurements(&self) -> impl Iterator<Item = &[u8]> {
        self.measurements.keys().map(|k| k.as_slice())
    }

    /// Tag keys of a measurement, sorted.
    pub fn tag_keys(&self, measurement: &[u8]) -> Vec<&[u8]> {
        self.measurements
            .get(measurement)
            .map(|m| m.tags.keys().map(|k| k.as_slice()).collect())
            .unwrap_or_default()
    }

    /// Values of one tag key of a measurement, sorted.
    pub fn tag_values(&self, measurement: &[u8], key: &[u8]) -> Vec<&[u8]> {
        self.measurements
            .get(measurement)
            .and_then(|m| m.tags.get(key))
            .map(|vs| vs.keys().map(|v| v.as_slice()).collect())
            .unwrap_or_default()
    }

    /// Ids of the series of `measurement` matching `pred`.
    pub fn select(&self, measurement: &[u8], pred: &TagPredicate) -> RoaringBitmap {
        let Some(m) = self.measurements.get(measurement) else {
            return RoaringBitmap::new();
        };
        Self::eval(m, pred)
    }

    fn eval(m: &MeasurementIndex, pred: &TagPredicate) -> RoaringBitmap {
        let with = |k: &[u8], v: &[u8]| -> RoaringBitmap {
            if v.is_empty() {
                // Series without the tag.
                let mut has = RoaringBitmap::new();
                if let Some(vs) = m.tags.get(k) {
                    for b in vs.values() {
                        has |= b;
                    }
                }
                return &m.series - &has;
            }
            m.tags
                .get(k)
                .and_then(|vs| vs.get(v))
                .cloned()
                .unwrap_or_default()
        };
        match pred {
            TagPredicate::All => m.series.clone(),
            TagPredicate::Eq(k, v) => with(k, v),
            TagPredicate::NotEq(k, v) => &m.series - &with(k, v),
            TagPredicate::And(a, b) => Self::eval(m, a) & Self::eval(m, b),
            TagPredicate::Or(a, b) => Self::eval(m, a) | Self::eval(m, b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> SeriesIndex {
        let mut i = SeriesIndex::new();
        for k in [
            "cpu,host=a,region=west",
            "cpu,host=b,region=east",
            "cpu,host=c",
            "mem,host=a",
            "d\\,isk,path=/a\\,b",
        ] {
            i.insert(k.as_bytes());
        }
        i
    }

    fn keys(i: &SeriesIndex, m: &str, p: &TagPredicate) -> Vec<String> {
        i.select(m.as_bytes(), p)
            .iter()
            .map(|id| String::from_utf8_lossy(i.key(id).unwrap()).to_string())
            .collect()
    }

    #[test]
    fn postings_answer_predicates() {
        let mut i = idx();
        let eq = |k: &str, v: &str| TagPredicate::Eq(k.into(), v.into());
        assert_eq!(
            keys(&i, "cpu", &eq("host", "a")),
            vec!["cpu,host=a,region=west"]
        );
        assert_eq!(keys(&i, "cpu", &eq("region", "")), vec!["cpu,host=c"]);
        assert_eq!(
            keys(&i, "cpu", &TagPredicate::NotEq("host".into(), "a".into())),
            vec!["cpu,host=b,region=east", "cpu,host=c"]
        );
        let or = TagPredicate::Or(Box::new(eq("host", "a")), Box::new(eq("region", "east")));
        assert_eq!(keys(&i, "cpu", &or).len(), 2);
        let and = TagPredicate::And(Box::new(eq("host", "a")), Box::new(eq("region", "east")));
        assert!(keys(&i, "cpu", &and).is_empty());
        assert_eq!(i.tag_keys(b"cpu"), vec![&b"host"[..], b"region"]);
        assert_eq!(i.tag_values(b"cpu", b"host").len(), 3);
        assert_eq!(i.tag_values(b"d\\,isk", b"path"), vec![&b"/a\\,b"[..]]);
        assert_eq!(i.measurements().count(), 3);
        assert_eq!(i.insert(b"cpu,host=c"), 2, "known series keep their id");
    }
}
