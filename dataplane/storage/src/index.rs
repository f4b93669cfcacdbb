//! The series index of a partition, for the query engine: measurement → tag key → tag
//! value → series, with roaring bitmaps of series ids as postings.
//!
//! Series ids are local to the partition (assigned in the order series are seen). The
//! index is persisted in the partition's `index.tsi` after every flush and delete (an rkyv
//! image with the postings as serialized roaring bitmaps, checksummed, written to a
//! temporary file, fsynced and renamed). A partition opening loads it, adds the series of
//! data files newer than the image and of the replayed WAL, and rebuilds it from the data
//! files' own indexes (which persist every series key) when it is missing, damaged or out
//! of step with the files and tombstones.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use rkyv::rancor::Error as RkyvError;
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
    /// The key has one of these (non-empty) values.
    In(Vec<u8>, Vec<Vec<u8>>),
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
    /// Counts changes to what the index lists (a series added or removed).
    catalog_version: u64,
}

/// Splits a series key into its tags (escaped `key`, `value` slices).
pub fn tags_of(series_key: &[u8]) -> Vec<(&[u8], &[u8])> {
    tag_pairs(series_key).collect()
}

/// The tags of a series key (escaped `key`, `value` slices), in order, without allocating.
pub fn tag_pairs(series_key: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let m = measurement_of(series_key).len();
    let mut rest = &series_key[m..];
    std::iter::from_fn(move || loop {
        let stripped = rest.strip_prefix(b",")?;
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
        rest = &stripped[end..];
        if let Some(e) = eq.filter(|e| *e < end) {
            return Some((&stripped[..e], &stripped[e + 1..end]));
        }
    })
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

    /// Series indexed now (removed ones not counted).
    pub fn live(&self) -> usize {
        self.ids.len()
    }

    /// Adds a series if it is new; returns its id.
    pub fn insert(&mut self, key: &[u8]) -> u32 {
        if let Some(id) = self.ids.get(key) {
            return *id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.into());
        self.ids.insert(key.into(), id);
        self.catalog_version += 1;
        let m = self
            .measurements
            .entry(measurement_of(key).to_vec())
            .or_default();
        m.series.insert(id);
        for (k, v) in tag_pairs(key) {
            m.tags
                .entry(k.to_vec())
                .or_default()
                .entry(v.to_vec())
                .or_default()
                .insert(id);
        }
        id
    }

    /// Changes so far to the series listed (and so to the measurements, tag keys and tag
    /// values): equal versions of one index list the same.
    pub fn catalog_version(&self) -> u64 {
        self.catalog_version
    }

    /// Forgets a series (its data was deleted). Its id is not reused.
    pub fn remove(&mut self, key: &[u8]) {
        let Some(id) = self.ids.remove(key) else {
            return;
        };
        self.catalog_version += 1;
        let m = measurement_of(key).to_vec();
        let mut empty = false;
        if let Some(mi) = self.measurements.get_mut(&m) {
            mi.series.remove(id);
            for (k, v) in tag_pairs(key) {
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

    /// Values of one tag key of a measurement that start with `prefix`, sorted.
    pub fn tag_values_with_prefix<'a>(
        &'a self,
        measurement: &[u8],
        key: &[u8],
        prefix: &'a [u8],
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.measurements
            .get(measurement)
            .and_then(|m| m.tags.get(key))
            .into_iter()
            .flat_map(move |vs| {
                vs.range::<[u8], _>((
                    std::ops::Bound::Included(prefix),
                    std::ops::Bound::Unbounded,
                ))
                .map(|(v, _)| v.as_slice())
                .take_while(move |v| v.starts_with(prefix))
            })
    }

    /// How many series `measurement` has (without copying its postings).
    pub fn series_count(&self, measurement: &[u8]) -> u64 {
        self.measurements
            .get(measurement)
            .map_or(0, |m| m.series.len())
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
            TagPredicate::In(k, values) => {
                let mut out = RoaringBitmap::new();
                if let Some(vs) = m.tags.get(k) {
                    for v in values {
                        if let Some(b) = vs.get(v) {
                            out |= b;
                        }
                    }
                }
                out
            }
            TagPredicate::And(a, b) => Self::eval(m, a) & Self::eval(m, b),
            TagPredicate::Or(a, b) => Self::eval(m, a) | Self::eval(m, b),
        }
    }
}

/// The file name of a partition's persisted index.
pub const INDEX_FILE: &str = "index.tsi";
const MAGIC: &[u8; 4] = b"TSI1";

/// What the persisted index reflects, besides the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IndexStamp {
    /// The newest data file generation whose series it holds.
    pub generation: u64,
    /// Tombstone records applied.
    pub tombstones: u64,
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
struct Image {
    generation: u64,
    tombstones: u64,
    /// Series keys by id; a removed series leaves an empty key.
    keys: Vec<Vec<u8>>,
    measurements: Vec<MeasurementImage>,
}

/// A tag key and its values, each with its serialized postings.
type TagImage = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>);

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
struct MeasurementImage {
    name: Vec<u8>,
    series: Vec<u8>,
    tags: Vec<TagImage>,
}

fn bitmap_bytes(b: &RoaringBitmap) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.serialized_size());
    b.serialize_into(&mut out).expect("writing to a Vec");
    out
}

impl SeriesIndex {
    /// Writes the index to `dir/index.tsi` durably (temporary file, fsync, rename, fsync of
    /// the directory).
    pub fn save(&self, dir: &Path, stamp: IndexStamp) -> std::io::Result<()> {
        let image = Image {
            generation: stamp.generation,
            tombstones: stamp.tombstones,
            keys: self
                .keys
                .iter()
                .enumerate()
                .map(|(id, k)| {
                    if self.ids.get(&**k) == Some(&(id as u32)) {
                        k.to_vec()
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            measurements: self
                .measurements
                .iter()
                .map(|(name, m)| MeasurementImage {
                    name: name.clone(),
                    series: bitmap_bytes(&m.series),
                    tags: m
                        .tags
                        .iter()
                        .map(|(k, vs)| {
                            (
                                k.clone(),
                                vs.iter()
                                    .map(|(v, b)| (v.clone(), bitmap_bytes(b)))
                                    .collect(),
                            )
                        })
                        .collect(),
                })
                .collect(),
        };
        let body = rkyv::to_bytes::<RkyvError>(&image)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let path = dir.join(INDEX_FILE);
        let tmp = dir.join(format!("{INDEX_FILE}.tmp"));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(MAGIC)?;
            f.write_all(&crc32c::crc32c(&body).to_le_bytes())?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    }

    /// Loads `dir/index.tsi`: `Ok(None)` when there is none, an error naming what is wrong
    /// when it cannot be trusted.
    pub fn load(dir: &Path) -> Result<Option<(SeriesIndex, IndexStamp)>, String> {
        let path = dir.join(INDEX_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        if bytes.len() < 8 || &bytes[..4] != MAGIC {
            return Err("not a series index file".into());
        }
        let crc = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
        let body = &bytes[8..];
        if crc32c::crc32c(body) != crc {
            return Err("checksum mismatch".into());
        }
        let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(body.len());
        aligned.extend_from_slice(body);
        let image =
            rkyv::access::<ArchivedImage, RkyvError>(&aligned).map_err(|e| e.to_string())?;
        let mut index = SeriesIndex::new();
        for (id, k) in image.keys.iter().enumerate() {
            let key: Box<[u8]> = k.as_slice().into();
            if !key.is_empty() {
                index.ids.insert(key.clone(), id as u32);
            }
            index.keys.push(key);
        }
        let bitmap =
            |b: &[u8]| RoaringBitmap::deserialize_from(b).map_err(|e| format!("postings: {e}"));
        for m in image.measurements.iter() {
            let mut mi = MeasurementIndex {
                series: bitmap(&m.series)?,
                tags: BTreeMap::new(),
            };
            for t in m.tags.iter() {
                let values = mi.tags.entry(t.0.to_vec()).or_default();
                for v in t.1.iter() {
                    values.insert(v.0.to_vec(), bitmap(&v.1)?);
                }
            }
            if mi
                .series
                .iter()
                .any(|id| index.key(id).is_none_or(<[u8]>::is_empty))
            {
                return Err("postings name a series the index does not hold".into());
            }
            index.measurements.insert(m.name.to_vec(), mi);
        }
        let stamp = IndexStamp {
            generation: image.generation.to_native(),
            tombstones: image.tombstones.to_native(),
        };
        Ok(Some((index, stamp)))
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

    #[test]
    fn series_keys_split_into_tags() {
        let pairs = |k: &'static str| {
            tag_pairs(k.as_bytes())
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(k).into(),
                        String::from_utf8_lossy(v).into(),
                    )
                })
                .collect::<Vec<(String, String)>>()
        };
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(pairs("cpu"), vec![]);
        assert_eq!(pairs("cpu,a=1,b=2"), vec![p("a", "1"), p("b", "2")]);
        assert_eq!(
            pairs("d\\,isk,pa\\=th=/a\\,b=c,x=y\\ z"),
            vec![p("pa\\=th", "/a\\,b=c"), p("x", "y\\ z")]
        );
        assert_eq!(pairs("m,novalue,k=v"), vec![p("k", "v")]);
        assert_eq!(tags_of(b"m,k=v,j=w").len(), 2);
    }

    #[test]
    fn value_sets_and_prefix_ranges() {
        let mut i = idx();
        i.insert(b"cpu,host=ab");
        i.insert(b"cpu,host=b2");
        let within = TagPredicate::In("host".into(), vec!["a".into(), "b".into(), "zz".into()]);
        assert_eq!(
            keys(&i, "cpu", &within),
            vec!["cpu,host=a,region=west", "cpu,host=b,region=east"]
        );
        assert!(keys(
            &i,
            "cpu",
            &TagPredicate::In("nope".into(), vec!["a".into()])
        )
        .is_empty());
        let with = |p: &'static [u8]| {
            i.tag_values_with_prefix(b"cpu", b"host", p)
                .collect::<Vec<_>>()
        };
        assert_eq!(with(b"a"), vec![&b"a"[..], b"ab"]);
        assert_eq!(with(b"b"), vec![&b"b"[..], b"b2"]);
        assert_eq!(with(b""), vec![&b"a"[..], b"ab", b"b", b"b2", b"c"]);
        assert!(with(b"d").is_empty());
        assert_eq!(i.tag_values_with_prefix(b"mem", b"nokey", b"").count(), 0);
    }

    #[test]
    fn saved_index_loads_back_identically() {
        let dir = tempfile::tempdir().unwrap();
        let mut i = idx();
        i.remove(b"cpu,host=b,region=east");
        let stamp = IndexStamp {
            generation: 7,
            tombstones: 1,
        };
        i.save(dir.path(), stamp).unwrap();
        let (j, got) = SeriesIndex::load(dir.path()).unwrap().unwrap();
        assert_eq!(got, stamp);
        let eq = |k: &str, v: &str| TagPredicate::Eq(k.into(), v.into());
        for p in [
            TagPredicate::All,
            eq("host", "a"),
            eq("region", ""),
            TagPredicate::NotEq("host".into(), "a".into()),
        ] {
            assert_eq!(keys(&i, "cpu", &p), keys(&j, "cpu", &p), "{p:?}");
        }
        assert!(!j.contains(b"cpu,host=b,region=east"));
        assert_eq!(j.tag_values(b"cpu", b"region"), vec![&b"west"[..]]);
        assert_eq!(j.measurements().count(), 3);
        // New series after a load get fresh ids, never a removed one's.
        let mut j = j;
        assert_eq!(j.insert(b"cpu,host=z"), 5);
        // Damage is refused, not trusted.
        let path = dir.path().join(INDEX_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(SeriesIndex::load(dir.path()).is_err());
        std::fs::write(&path, b"TSI1").unwrap();
        assert!(SeriesIndex::load(dir.path()).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(SeriesIndex::load(dir.path()).unwrap().is_none());
    }
}
