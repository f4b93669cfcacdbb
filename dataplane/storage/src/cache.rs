//! The in-memory cache of a partition: every write since the last flush, by series and
//! field. A flush takes the whole cache as an immutable snapshot while new writes go on
//! into a fresh one.

use crate::batch::{for_each_point, BatchError, FieldType, PointRef};
use crate::column::Column;

/// One series' fields.
#[derive(Debug, Default, Clone)]
pub struct SeriesData {
    pub fields: Vec<(Box<[u8]>, Column)>,
}

impl SeriesData {
    pub fn field(&self, name: &[u8]) -> Option<&Column> {
        self.fields
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, c)| c)
    }
}

/// A write the cache refused because its field already has another type here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeConflict {
    pub series_key: Vec<u8>,
    pub field: Vec<u8>,
    pub existing: FieldType,
    pub given: FieldType,
}

/// Series keys hash with ahash: this map is on the write path of every point.
type SeriesMap = std::collections::HashMap<Box<[u8]>, SeriesData, ahash::RandomState>;

#[derive(Debug, Default)]
pub struct Cache {
    series: SeriesMap,
    /// Series that entered this cache since the last [`Cache::take_new_series`].
    new_series: Vec<Box<[u8]>>,
    bytes: usize,
    points: u64,
}

impl Cache {
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Approximate memory held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    pub fn points(&self) -> u64 {
        self.points
    }

    /// Adds one decoded point; fields whose type conflicts with the cache are skipped and
    /// reported.
    pub fn insert(&mut self, p: &PointRef<'_>, conflicts: &mut Vec<TypeConflict>) {
        let series = match self.series.get_mut(p.series_key) {
            Some(s) => s,
            None => {
                self.bytes += p.series_key.len() + 64;
                self.new_series.push(p.series_key.into());
                self.series.entry(p.series_key.into()).or_default()
            }
        };
        for (i, (name, value)) in p.fields.iter().enumerate() {
            // Points of a series usually carry their fields in the same order: try the same
            // position first, then search.
            let at = match series.fields.get(i) {
                Some((n, _)) if **n == **name => Some(i),
                _ => series.fields.iter().position(|(n, _)| &**n == *name),
            };
            let col = match at {
                Some(i) => &mut series.fields[i].1,
                None => {
                    self.bytes += name.len() + 64;
                    series
                        .fields
                        .push(((*name).into(), Column::new(value.field_type())));
                    &mut series.fields.last_mut().expect("just pushed").1
                }
            };
            if col.push(p.timestamp, *value) {
                self.bytes += 16
                    + if let crate::batch::Value::Str(s) = value {
                        s.len()
                    } else {
                        0
                    };
                self.points += 1;
            } else {
                conflicts.push(TypeConflict {
                    series_key: p.series_key.to_vec(),
                    field: name.to_vec(),
                    existing: col.field_type(),
                    given: value.field_type(),
                });
            }
        }
    }

    /// Adds every point of an encoded batch.
    pub fn insert_batch(&mut self, batch: &[u8]) -> Result<Vec<TypeConflict>, BatchError> {
        let mut conflicts = Vec::new();
        for_each_point(batch, |p| self.insert(p, &mut conflicts))?;
        Ok(conflicts)
    }

    /// Series first seen by this cache since the last call.
    pub fn take_new_series(&mut self) -> Vec<Box<[u8]>> {
        std::mem::take(&mut self.new_series)
    }

    pub fn get(&self, series_key: &[u8]) -> Option<&SeriesData> {
        self.series.get(series_key)
    }

    pub fn series_keys(&self) -> impl Iterator<Item = &[u8]> {
        self.series.keys().map(|k| &**k)
    }

    /// The field type this cache holds for `field` of `series_key`, if any.
    pub fn field_type(&self, series_key: &[u8], field: &[u8]) -> Option<FieldType> {
        self.get(series_key)?.field(field).map(|c| c.field_type())
    }

    /// Puts a series back after a failed flush, into an emptied cache (then [`Cache::absorb`]
    /// the writes that came since, which are newer).
    pub fn restore(&mut self, key: &[u8], data: &SeriesData) {
        let entry = self.series.entry(key.into()).or_default();
        for (name, col) in &data.fields {
            self.bytes += col.heap_bytes();
            self.points += col.len() as u64;
            entry.fields.push((name.clone(), col.clone()));
        }
    }

    /// Adds everything of `newer` after what this cache holds (newer writes win).
    pub fn absorb(&mut self, newer: Cache) {
        for (key, series) in newer.series {
            let entry = self.series.entry(key).or_default();
            for (name, col) in series.fields {
                self.bytes += col.heap_bytes();
                self.points += col.len() as u64;
                match entry.fields.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, existing)) if existing.field_type() == col.field_type() => {
                        existing.normalize();
                        let mut c = col;
                        c.normalize();
                        existing.merge_newer(&c);
                    }
                    Some(_) => {}
                    None => entry.fields.push((name, col)),
                }
            }
        }
    }

    /// Takes everything, sorted by series key with each column normalized, leaving the
    /// cache empty.
    pub fn take_sorted(&mut self) -> Vec<(Box<[u8]>, SeriesData)> {
        let series = std::mem::take(&mut self.series);
        self.bytes = 0;
        self.points = 0;
        let mut out: Vec<(Box<[u8]>, SeriesData)> = series.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, s) in &mut out {
            for (_, c) in &mut s.fields {
                c.normalize();
            }
            s.fields.sort_by(|a, b| a.0.cmp(&b.0));
        }
        out
    }
}
