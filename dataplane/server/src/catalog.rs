//! What each core's series indexes list, published for the other cores: a query leaves
//! out the cores that cannot hold a series it selects, and tag keys and measurements are
//! answered without asking the other cores at all.
//!
//! A core's catalog is an immutable snapshot — per partition, its series count, its
//! measurements, their tag keys, hashes of their (tag key, tag value) pairs and the
//! values of tag keys with few values — stamped with the core's catalog epoch. Only the
//! owning core writes its epoch: it adds one whenever one of its indexes gains or loses a
//! series, and whenever a partition opens or goes, always before the write or delete that
//! did so is answered. A reader trusts a snapshot only while its stamp equals the epoch
//! it reads; otherwise it asks the core, as without catalogs, and the core builds a new
//! snapshot once it has answered. Writes to known series leave the epoch alone, so under
//! steady ingest catalogs stay current.
//!
//! Why a stale-free read is safe: a write acknowledged before a query started bumped the
//! epoch before its acknowledgement, so the query reads that epoch or a later one, and a
//! snapshot stamped with it was built after the write changed the index.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tessera_influxql::Expr;
use tessera_query::exec::{escape_measurement, escape_tag, index_predicate_with, unescape};
use tessera_query::plan::SelectPlan;
use tessera_storage::index::{SeriesIndex, TagPredicate};

/// Every core's epoch and published catalog; shared by the cores of a node.
pub struct Catalogs {
    slots: Vec<Slot>,
}

#[derive(Default)]
struct Slot {
    epoch: AtomicU64,
    published: Mutex<Option<Arc<CoreCatalog>>>,
}

impl Catalogs {
    pub fn new(cores: usize) -> Catalogs {
        Catalogs {
            slots: (0..cores).map(|_| Slot::default()).collect(),
        }
    }

    /// Marks `core`'s catalog out of date (called by that core only, before it answers
    /// the request that changed its indexes).
    pub fn bump(&self, core: usize) {
        self.slots[core].epoch.fetch_add(1, Ordering::Release);
    }

    /// `core`'s epoch now.
    pub fn epoch(&self, core: usize) -> u64 {
        self.slots[core].epoch.load(Ordering::Acquire)
    }

    fn published(&self, core: usize) -> Option<Arc<CoreCatalog>> {
        self.slots[core]
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The epoch of `core`'s published catalog, if it published one.
    pub fn published_epoch(&self, core: usize) -> Option<u64> {
        self.published(core).map(|c| c.epoch)
    }

    pub fn publish(&self, core: usize, catalog: CoreCatalog) {
        *self.slots[core]
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(catalog));
    }

    /// `core`'s catalog when it lists what the core's indexes list now.
    pub fn current(&self, core: usize) -> Option<Arc<CoreCatalog>> {
        let catalog = self.published(core)?;
        (catalog.epoch == self.epoch(core)).then_some(catalog)
    }
}

/// (measurement, tag key), unescaped, and the key's values in one partition (escaped,
/// sorted).
pub type ListedValues = ((String, String), Vec<Vec<u8>>);

/// One core's indexes as of `epoch`.
#[derive(Debug, Default)]
pub struct CoreCatalog {
    epoch: u64,
    parts: Vec<PartCatalog>,
}

/// One partition's part of a [`CoreCatalog`].
#[derive(Debug)]
pub struct PartCatalog {
    shard: u64,
    /// Series indexed.
    series: u64,
    /// By escaped name; only measurements with series.
    measurements: HashMap<Vec<u8>, MeasurementCatalog>,
}

#[derive(Debug)]
struct MeasurementCatalog {
    /// Escaped, sorted.
    tag_keys: Vec<Vec<u8>>,
    /// [`pair_hash`] of every (tag key, tag value) of the measurement, sorted; `None`
    /// past [`MAX_PAIRS`].
    pairs: Option<Vec<u64>>,
    /// The values (escaped, sorted) of the tag keys with at most [`MAX_LISTED_VALUES`].
    values: HashMap<Vec<u8>, Vec<Vec<u8>>>,
}

/// A hash of an escaped tag key and value, the same in every core of the process (a
/// collision only makes a core look like it may hold a series).
fn pair_hash(key: &[u8], value: &[u8]) -> u64 {
    let mut h = ahash::RandomState::with_seeds(
        0x7465_7373_6572_6131,
        0x6361_7461_6c6f_6732,
        0x7061_6972_7368_6133,
        0x7368_6172_6431_3234,
    )
    .build_hasher();
    h.write_usize(key.len());
    h.write(key);
    h.write(value);
    h.finish()
}

impl MeasurementCatalog {
    fn has_tag_key(&self, key: &[u8]) -> bool {
        self.tag_keys
            .binary_search_by(|k| k.as_slice().cmp(key))
            .is_ok()
    }

    fn has_pair(&self, key: &[u8], value: &[u8]) -> bool {
        self.pairs
            .as_ref()
            .is_none_or(|p| p.binary_search(&pair_hash(key, value)).is_ok())
    }

    /// Whether a series of the measurement may satisfy `pred` (exact for `All` and tag
    /// equalities, "maybe" for everything else).
    fn may_match(&self, pred: &TagPredicate) -> bool {
        match pred {
            TagPredicate::All | TagPredicate::NotEq(..) => true,
            // An empty value matches the series without the tag.
            TagPredicate::Eq(k, v) => v.is_empty() || self.has_pair(k, v),
            TagPredicate::In(k, values) => values.iter().any(|v| self.has_pair(k, v)),
            TagPredicate::And(a, b) => self.may_match(a) && self.may_match(b),
            TagPredicate::Or(a, b) => self.may_match(a) || self.may_match(b),
        }
    }

    /// The index predicate a partition would derive from `condition` (tag regexes left
    /// unnarrowed: the catalog does not hold values), checked against the catalog.
    fn may_satisfy(&self, condition: Option<&Expr>, is_tag: &dyn Fn(&str) -> bool) -> bool {
        match condition {
            None => true,
            Some(c) => {
                let pred = index_predicate_with(
                    c,
                    is_tag,
                    &|_: &str, _: &[u8], _: &mut dyn FnMut(&[u8])| false,
                );
                self.may_match(&pred)
            }
        }
    }
}

/// Pairs a measurement's catalog holds at most per partition; past that it answers
/// "maybe" for every tag equality (bounds the memory and the time a build takes).
pub const MAX_PAIRS: usize = 100_000;

/// Tag keys with at most this many values in a partition have them listed in its
/// catalog (`SHOW TAG VALUES … WITH KEY = "region"` is then answered without asking).
pub const MAX_LISTED_VALUES: usize = 256;

impl PartCatalog {
    /// The catalog of one partition's index.
    pub fn build(shard: u64, index: &SeriesIndex) -> PartCatalog {
        let measurements = index
            .measurements()
            .filter(|m| index.series_count(m) > 0)
            .map(|m| {
                let tag_keys: Vec<Vec<u8>> =
                    index.tag_keys(m).into_iter().map(<[u8]>::to_vec).collect();
                let mut pairs = Some(Vec::new());
                let mut listed = HashMap::new();
                for k in &tag_keys {
                    let values = index.tag_values(m, k);
                    if values.len() <= MAX_LISTED_VALUES {
                        listed.insert(
                            k.clone(),
                            values.iter().map(|v| v.to_vec()).collect::<Vec<_>>(),
                        );
                    }
                    let Some(p) = pairs.as_mut() else { continue };
                    if p.len() + values.len() > MAX_PAIRS {
                        pairs = None;
                        break;
                    }
                    p.extend(values.into_iter().map(|v| pair_hash(k, v)));
                }
                if let Some(p) = pairs.as_mut() {
                    p.sort_unstable();
                    p.dedup();
                }
                (
                    m.to_vec(),
                    MeasurementCatalog {
                        tag_keys,
                        pairs,
                        values: listed,
                    },
                )
            })
            .collect();
        PartCatalog {
            shard,
            series: index.live() as u64,
            measurements,
        }
    }
}

impl CoreCatalog {
    /// A core's catalog at `epoch`: one [`PartCatalog`] per open partition.
    pub fn new(epoch: u64, parts: Vec<PartCatalog>) -> CoreCatalog {
        CoreCatalog { epoch, parts }
    }

    /// The catalog of the indexes of `parts` (shard id, index) at `epoch`.
    pub fn build<'a>(epoch: u64, parts: impl Iterator<Item = (u64, &'a SeriesIndex)>) -> Self {
        CoreCatalog::new(
            epoch,
            parts.map(|(s, i)| PartCatalog::build(s, i)).collect(),
        )
    }

    /// The measurements of `shards` named (all when `None`), escaped, with their catalog.
    fn measurements<'a>(
        &'a self,
        names: Option<&'a [Vec<u8>]>,
        shards: &'a [u64],
    ) -> impl Iterator<Item = (&'a [u8], &'a MeasurementCatalog)> + 'a {
        self.parts
            .iter()
            .filter(move |p| shards.contains(&p.shard))
            .flat_map(move |p| -> Box<dyn Iterator<Item = _> + 'a> {
                match names {
                    Some(ns) => Box::new(ns.iter().filter_map(|n| {
                        p.measurements
                            .get_key_value(n)
                            .map(|(k, v)| (k.as_slice(), v))
                    })),
                    None => Box::new(p.measurements.iter().map(|(k, v)| (k.as_slice(), v))),
                }
            })
    }

    /// Whether a scan of `plan` over `shards` could select a series on this core (as
    /// `exec::scan_partition` selects them: names that are fields are not tags).
    pub fn may_select(&self, plan: &SelectPlan, shards: &[u64]) -> bool {
        let names: Vec<Vec<u8>> = plan
            .measurements
            .iter()
            .map(|m| escape_measurement(m))
            .collect();
        let may = self.measurements(Some(&names), shards).any(|(_, mc)| {
            let is_tag = |n: &str| !plan.field_names.contains(n) && mc.has_tag_key(&escape_tag(n));
            mc.may_satisfy(plan.condition.as_ref(), &is_tag)
        });
        may
    }

    /// Whether a series of `measurements` (unescaped; all when `None`) of `shards` could
    /// satisfy the tag condition on this core (every name in it read as a tag).
    pub fn may_match_tags(
        &self,
        measurements: Option<&[String]>,
        condition: Option<&Expr>,
        shards: &[u64],
    ) -> bool {
        let names: Option<Vec<Vec<u8>>> =
            measurements.map(|ms| ms.iter().map(|m| escape_measurement(m)).collect());
        let may = self.measurements(names.as_deref(), shards).any(|(_, mc)| {
            let is_tag = |n: &str| mc.has_tag_key(&escape_tag(n));
            mc.may_satisfy(condition, &is_tag)
        });
        may
    }

    /// Series of `shards` on this core (each partition's count; a series of two shards
    /// counts twice, as the core itself counts them).
    pub fn series(&self, shards: &[u64]) -> u64 {
        self.parts
            .iter()
            .filter(|p| shards.contains(&p.shard))
            .map(|p| p.series)
            .sum()
    }

    /// (measurement, tag key) (unescaped) → values (escaped, sorted) of the tag keys
    /// `wanted` picks (by unescaped name) of `measurements` (all when `None`) in `shards`,
    /// one list per partition; `None` when one of those keys has too many values to be
    /// listed here.
    pub fn tag_values(
        &self,
        measurements: Option<&[String]>,
        wanted: &dyn Fn(&str) -> bool,
        shards: &[u64],
    ) -> Option<Vec<ListedValues>> {
        let names: Option<Vec<Vec<u8>>> =
            measurements.map(|ms| ms.iter().map(|m| escape_measurement(m)).collect());
        let mut out = Vec::new();
        for (m, mc) in self.measurements(names.as_deref(), shards) {
            for k in &mc.tag_keys {
                let ku = unescape(k);
                if !wanted(&ku) {
                    continue;
                }
                out.push(((unescape(m), ku), mc.values.get(k)?.clone()));
            }
        }
        Some(out)
    }

    /// Adds measurement → tag keys (unescaped) of `measurements` (all when `None`) in
    /// `shards`, as the core itself would answer them.
    pub fn tags(
        &self,
        measurements: Option<&[String]>,
        shards: &[u64],
        out: &mut BTreeMap<String, BTreeSet<String>>,
    ) {
        let names: Option<Vec<Vec<u8>>> =
            measurements.map(|ms| ms.iter().map(|m| escape_measurement(m)).collect());
        for (m, mc) in self.measurements(names.as_deref(), shards) {
            let e = out.entry(unescape(m)).or_default();
            for k in &mc.tag_keys {
                e.insert(unescape(k));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(keys: &[&str]) -> SeriesIndex {
        let mut i = SeriesIndex::new();
        for k in keys {
            i.insert(k.as_bytes());
        }
        i
    }

    fn cond(s: &str) -> Expr {
        tessera_influxql::parse_expr(s).expect("parses")
    }

    #[test]
    fn tag_equalities_rule_out_cores_without_the_pair() {
        let a = index(&["cpu,host=a,region=east", "cpu,host=b,region=west"]);
        let cat = CoreCatalog::build(3, [(1u64, &a)].into_iter());
        let ms = vec!["cpu".to_string()];
        let may = |c: &str| cat.may_match_tags(Some(&ms), Some(&cond(c)), &[1]);
        assert!(may("host = 'a'"));
        assert!(!may("host = 'c'"));
        assert!(may("host = 'a' OR host = 'c'"));
        assert!(!may("host = 'c' OR host = 'd'"));
        assert!(!may("host = 'a' AND region = 'north'"));
        assert!(may("host != 'a'"));
        assert!(may("host =~ /c/"));
        // A key no series has: the partition reads every series and filters them.
        assert!(may("dc = 'x'"));
        // Series without the tag.
        assert!(may("host = ''"));
        // Other shards and other measurements are not looked at.
        assert!(!cat.may_match_tags(Some(&ms), Some(&cond("host = 'a'")), &[2]));
        assert!(!cat.may_match_tags(Some(&["mem".to_string()]), None, &[1]));
        assert!(cat.may_match_tags(None, None, &[1]));
    }

    #[test]
    fn tags_lists_measurements_and_keys_unescaped() {
        let a = index(&["cpu,host=a", r"my\ m,my\ key=v"]);
        let b = index(&["cpu,region=x"]);
        let cat = CoreCatalog::build(0, [(1u64, &a), (2u64, &b)].into_iter());
        let mut out = BTreeMap::new();
        cat.tags(None, &[1, 2], &mut out);
        assert_eq!(
            out.get("cpu")
                .map(|s| s.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["host".to_string(), "region".to_string()])
        );
        assert_eq!(
            out.get("my m")
                .map(|s| s.iter().cloned().collect::<Vec<_>>()),
            Some(vec!["my key".to_string()])
        );
        let mut only = BTreeMap::new();
        cat.tags(Some(&["cpu".to_string()]), &[2], &mut only);
        assert_eq!(only.len(), 1);
        assert_eq!(only["cpu"].len(), 1);
    }

    #[test]
    fn series_counts_and_listed_values() {
        let many: Vec<String> = (0..=MAX_LISTED_VALUES)
            .map(|i| format!("cpu,host=h{i},region=r{}", i % 3))
            .collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let a = index(&refs);
        let b = index(&["cpu,region=r9", "mem,region=r1"]);
        let cat = CoreCatalog::build(0, [(1u64, &a), (2u64, &b)].into_iter());
        assert_eq!(cat.series(&[1, 2]), MAX_LISTED_VALUES as u64 + 3);
        assert_eq!(cat.series(&[2]), 2);
        let region = |k: &str| k == "region";
        let got = cat.tag_values(None, &region, &[1, 2]).expect("few values");
        let mut flat: Vec<(String, Vec<u8>)> = got
            .into_iter()
            .flat_map(|((m, _), vs)| vs.into_iter().map(move |v| (m.clone(), v)))
            .collect();
        flat.sort();
        let want: Vec<(String, Vec<u8>)> = [
            ("cpu", "r0"),
            ("cpu", "r1"),
            ("cpu", "r2"),
            ("cpu", "r9"),
            ("mem", "r1"),
        ]
        .iter()
        .map(|(m, v)| (m.to_string(), v.as_bytes().to_vec()))
        .collect();
        assert_eq!(flat, want);
        // host has one value too many in shard 1: the core must be asked.
        let host = |k: &str| k == "host";
        assert!(cat.tag_values(None, &host, &[1]).is_none());
        assert!(cat.tag_values(None, &host, &[2]).is_some());
    }

    #[test]
    fn past_max_pairs_every_equality_may_match() {
        let keys: Vec<String> = (0..=MAX_PAIRS).map(|i| format!("cpu,host=h{i}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let big = index(&refs);
        let small = index(&["cpu,host=h1"]);
        let cat = CoreCatalog::build(0, [(1u64, &big), (2u64, &small)].into_iter());
        let ms = vec!["cpu".to_string()];
        let nobody = cond("host = 'nobody'");
        // Too many pairs to hold: a value no series has cannot be ruled out there.
        assert!(cat.may_match_tags(Some(&ms), Some(&nobody), &[1]));
        assert!(!cat.may_match_tags(Some(&ms), Some(&nobody), &[2]));
        // Tag keys and counts are still exact.
        assert_eq!(cat.series(&[1]), MAX_PAIRS as u64 + 1);
        let mut out = BTreeMap::new();
        cat.tags(None, &[1], &mut out);
        assert_eq!(out["cpu"].len(), 1);
    }

    #[test]
    fn a_catalog_is_current_only_at_its_epoch() {
        let cats = Catalogs::new(2);
        assert!(cats.current(1).is_none());
        cats.publish(1, CoreCatalog::build(cats.epoch(1), std::iter::empty()));
        assert!(cats.current(1).is_some());
        cats.bump(1);
        assert!(cats.current(1).is_none());
        assert_eq!(cats.published_epoch(1), Some(0));
        cats.publish(1, CoreCatalog::build(cats.epoch(1), std::iter::empty()));
        assert!(cats.current(1).is_some());
        assert!(cats.current(0).is_none());
    }
}
