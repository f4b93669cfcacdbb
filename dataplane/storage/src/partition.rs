//! One partition of a shard, owned by one core: its WAL, cache, data files and their
//! compactions. Nothing here is shared with another core.
//!
//! Write: the batch is validated, appended to the WAL (returns after fsync), then applied
//! to the cache. When the cache passes `cache_snapshot_bytes` it is flushed: the WAL rolls
//! to a new segment, the cache becomes an immutable snapshot (still readable), the snapshot
//! is written as a new level-0 file, and the WAL segments it covered are deleted. Level-0
//! files are merged into larger files in the background ([`crate::compact`]).
//!
//! Files are named `<generation>-<level>.tsm`; a higher generation holds newer writes, so
//! reads merge files in generation order and the newest value wins for a timestamp.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::batch::{for_each_point, BatchError, FieldType};
use crate::cache::{Cache, SeriesData};
use crate::column::Column;
use crate::index::{SeriesIndex, TagPredicate};
use crate::tsm::{field_type_of, TsmError, TsmReader, TsmWriter};
use crate::wal::{Wal, WalError};

#[derive(Debug, Clone)]
pub struct PartitionConfig {
    /// Flush the cache to a file once it holds this much (`[data] cache-snapshot-memory-size`).
    pub cache_snapshot_bytes: usize,
    /// Refuse writes while the cache holds this much (`[data] cache-max-memory-size`).
    pub cache_max_bytes: usize,
    pub wal_segment_size: u64,
    /// Merge level-0 files once there are this many.
    pub level0_files: usize,
}

impl Default for PartitionConfig {
    fn default() -> Self {
        PartitionConfig {
            cache_snapshot_bytes: 25 << 20,
            cache_max_bytes: 1 << 30,
            wal_segment_size: crate::wal::DEFAULT_SEGMENT_SIZE,
            level0_files: 4,
        }
    }
}

/// Cache bytes per series a flush aims for (about 20 points of a 7-field series).
pub const SNAPSHOT_BYTES_PER_SERIES: usize = 2 << 10;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PartitionError {
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error(transparent)]
    File(#[from] TsmError),
    #[error("invalid write batch: {0}")]
    Batch(String),
    #[error("cache-max-memory-size exceeded: ({used}/{max})")]
    CacheFull { used: usize, max: usize },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error(transparent)]
    Tombstone(#[from] crate::tombstone::TombstoneError),
}

impl From<BatchError> for PartitionError {
    fn from(e: BatchError) -> Self {
        PartitionError::Batch(e.to_string())
    }
}

/// One series and its columns, as [`Partition::scan`] returns them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesColumns {
    pub series_key: Vec<u8>,
    pub fields: Vec<(Vec<u8>, Column)>,
}

/// A cache taken for flushing: series sorted by key.
type Snapshot = Vec<(Box<[u8]>, SeriesData)>;

/// A data file and where it sits in the generation order.
pub struct DataFile {
    pub generation: u64,
    pub level: u32,
    pub reader: TsmReader,
}

/// What reading one field of one series touches ([`Partition::field_stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldStats {
    pub files: u64,
    pub blocks: u64,
    pub bytes: u64,
    pub cached: u64,
}

pub struct Partition {
    data_dir: PathBuf,
    cfg: PartitionConfig,
    wal: Wal,
    cache: RefCell<Cache>,
    /// A cache being written to a file: still part of every read until the file is in.
    snapshot: RefCell<Option<Rc<Snapshot>>>,
    /// Oldest generation first.
    files: RefCell<Vec<Rc<DataFile>>>,
    next_generation: Cell<u64>,
    flushing: Cell<bool>,
    /// Writes whose WAL record is (being) written but not yet in the cache. A flush must
    /// not rotate the WAL past them: their record would be deleted with the segments the
    /// new file covers while their points are not in it.
    unapplied: Cell<usize>,
    /// A flush is waiting for `unapplied` to drain: new writes wait meanwhile.
    rotating: Cell<bool>,
    compacting: Cell<bool>,
    last_write: Cell<Option<std::time::Instant>>,
    index: RefCell<SeriesIndex>,
    tombstones: RefCell<crate::tombstone::Tombstones>,
}

fn file_name(generation: u64, level: u32) -> String {
    format!("{generation:012}-{level:02}.tsm")
}

fn parse_file_name(name: &str) -> Option<(u64, u32)> {
    let stem = name.strip_suffix(".tsm")?;
    let (g, l) = stem.split_once('-')?;
    Some((g.parse().ok()?, l.parse().ok()?))
}

impl Partition {
    /// Opens the partition: validates every data file and replays the WAL into the cache.
    pub async fn open(
        data_dir: &Path,
        wal_dir: &Path,
        cfg: PartitionConfig,
    ) -> Result<Rc<Partition>, PartitionError> {
        let io = |path: &Path, e: std::io::Error| PartitionError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(data_dir).map_err(|e| io(data_dir, e))? {
            let entry = entry.map_err(|e| io(data_dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.ends_with(".tmp") {
                // A file whose writer never finished: never part of the partition.
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            if let Some((g, l)) = parse_file_name(&name) {
                found.push((g, l, entry.path()));
            }
        }
        found.sort();
        let mut files = Vec::new();
        for (generation, level, path) in found {
            let reader = TsmReader::open(&path).await?;
            files.push(Rc::new(DataFile {
                generation,
                level,
                reader,
            }));
        }
        let next_generation = files.last().map_or(1, |f| f.generation + 1);
        let (wal, replay) = Wal::open(wal_dir, cfg.wal_segment_size).await?;
        let mut cache = Cache::new();
        for record in &replay.records {
            let conflicts = cache.insert_batch(record)?;
            if !conflicts.is_empty() {
                tracing::warn!(
                    count = conflicts.len(),
                    "WAL replay skipped conflicting field types"
                );
            }
        }
        if !replay.records.is_empty() {
            tracing::debug!(
                dir = %wal_dir.display(),
                records = replay.records.len(),
                points = cache.points(),
                "replayed WAL"
            );
        }
        let tombstones = crate::tombstone::Tombstones::load(data_dir)?;
        // The persisted index, if it is in step with the files and tombstones; the series of
        // files newer than it (and of the WAL) are added, or it is rebuilt from the files.
        let newest = files.iter().map(|f| f.generation).max().unwrap_or(0);
        let loaded = match SeriesIndex::load(data_dir) {
            Ok(Some((index, stamp)))
                if stamp.generation <= newest && stamp.tombstones == tombstones.records() =>
            {
                Some((index, stamp.generation))
            }
            Ok(Some(_)) => {
                tracing::info!(dir = %data_dir.display(), "series index is out of step with the data files; rebuilding it");
                None
            }
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(path = %data_dir.join(crate::index::INDEX_FILE).display(), error = %e, "series index cannot be trusted; rebuilding it from the data files");
                None
            }
        };
        let rebuilt = loaded.is_none();
        let (mut index, covered) = loaded.unwrap_or_default();
        for f in files.iter().filter(|f| rebuilt || f.generation > covered) {
            for s in f.reader.index().series.iter() {
                if !tombstones.covers_all(&s.key, f.generation) {
                    index.insert(&s.key);
                }
            }
        }
        if (rebuilt || covered < newest) && !files.is_empty() {
            let stamp = crate::index::IndexStamp {
                generation: newest,
                tombstones: tombstones.records(),
            };
            if let Err(e) = index.save(data_dir, stamp) {
                tracing::warn!(dir = %data_dir.display(), error = %e, "series index not saved");
            }
        }
        for key in cache.take_new_series() {
            index.insert(&key);
        }
        Ok(Rc::new(Partition {
            index: RefCell::new(index),
            tombstones: RefCell::new(tombstones),
            data_dir: data_dir.to_path_buf(),
            cfg,
            wal,
            cache: RefCell::new(cache),
            snapshot: RefCell::new(None),
            files: RefCell::new(files),
            next_generation: Cell::new(next_generation),
            flushing: Cell::new(false),
            compacting: Cell::new(false),
            last_write: Cell::new(None),
            unapplied: Cell::new(0),
            rotating: Cell::new(false),
        }))
    }

    /// Writes an encoded batch: durable in the WAL before this returns.
    pub async fn write(self: &Rc<Self>, batch: &[u8]) -> Result<(), PartitionError> {
        for_each_point(batch, |_| {})?;
        let used = self.cache.borrow().bytes();
        if used > self.cfg.cache_max_bytes {
            return Err(PartitionError::CacheFull {
                used,
                max: self.cfg.cache_max_bytes,
            });
        }
        while self.rotating.get() {
            glommio::timer::sleep(std::time::Duration::from_micros(100)).await;
        }
        self.unapplied.set(self.unapplied.get() + 1);
        struct Applied<'a>(&'a Cell<usize>);
        impl Drop for Applied<'_> {
            fn drop(&mut self) {
                self.0.set(self.0.get() - 1);
            }
        }
        let applied = Applied(&self.unapplied);
        self.wal.append(batch).await?;
        self.last_write.set(Some(std::time::Instant::now()));
        let inserted = self.cache.borrow_mut().insert_batch(batch);
        drop(applied);
        let conflicts = inserted?;
        let new_series = self.cache.borrow_mut().take_new_series();
        if !new_series.is_empty() {
            let mut index = self.index.borrow_mut();
            for key in new_series {
                index.insert(&key);
            }
        }
        if !conflicts.is_empty() {
            tracing::warn!(
                count = conflicts.len(),
                "cache skipped conflicting field types"
            );
        }
        if self.cache.borrow().bytes() >= self.snapshot_threshold() && !self.flushing.get() {
            let me = Rc::clone(self);
            glommio::spawn_local(async move {
                if let Err(e) = me.flush().await {
                    tracing::error!(error = %e, dir = %me.data_dir.display(), "cache flush failed");
                }
            })
            .detach();
        }
        Ok(())
    }

    /// Cache bytes at which a flush starts: `cache-snapshot-memory-size`, raised with the
    /// number of series so that a flush writes blocks of [`SNAPSHOT_BYTES_PER_SERIES`] per
    /// series on average (at high cardinality a fixed threshold writes a few points per
    /// series: large files of tiny blocks that compress badly and cost a compaction each),
    /// but never past a quarter of `cache-max-memory-size`.
    fn snapshot_threshold(&self) -> usize {
        let series = self.cache.borrow().series_count();
        let wanted = series.saturating_mul(SNAPSHOT_BYTES_PER_SERIES);
        self.cfg
            .cache_snapshot_bytes
            .max(wanted.min(self.cfg.cache_max_bytes / 4))
    }

    /// Writes the cache to a new level-0 file and drops the WAL segments it covered.
    pub async fn flush(self: &Rc<Self>) -> Result<(), PartitionError> {
        if self.flushing.replace(true) {
            return Ok(());
        }
        let result = self.flush_inner().await;
        self.flushing.set(false);
        if result.is_ok() && self.level0_count() >= self.cfg.level0_files && !self.compacting.get()
        {
            let me = Rc::clone(self);
            crate::spawn_background(async move {
                if let Err(e) = me.compact_level0().await {
                    tracing::error!(error = %e, dir = %me.data_dir.display(), "compaction failed");
                }
            });
        }
        result
    }

    async fn flush_inner(self: &Rc<Self>) -> Result<(), PartitionError> {
        if self.cache.borrow().is_empty() {
            return Ok(());
        }
        // Every write acknowledged from the segments rotated out must be in the cache
        // taken below: let the in-flight ones land first, holding new ones back.
        self.rotating.set(true);
        while self.unapplied.get() > 0 {
            glommio::timer::sleep(std::time::Duration::from_micros(100)).await;
        }
        let covered = self.wal.rotate();
        self.rotating.set(false);
        let data = Rc::new(self.cache.borrow_mut().take_sorted());
        *self.snapshot.borrow_mut() = Some(Rc::clone(&data));
        let generation = self.next_generation.get();
        self.next_generation.set(generation + 1);
        let path = self.data_dir.join(file_name(generation, 0));
        let written = async {
            let mut w = TsmWriter::create(&path).await?;
            for (key, series) in data.iter() {
                w.write_series(key, &series.fields).await?;
            }
            w.finish().await?;
            TsmReader::open(&path).await
        }
        .await;
        let reader = match written {
            Ok(r) => r,
            Err(e) => {
                // Put the data back so it stays readable; the WAL still has it.
                let snap = self.snapshot.borrow_mut().take();
                if let Some(snap) = snap {
                    let mut cache = self.cache.borrow_mut();
                    let newer = std::mem::take(&mut *cache);
                    for (key, series) in snap.iter() {
                        cache.restore(key, series);
                    }
                    cache.absorb(newer);
                }
                return Err(e.into());
            }
        };
        self.files.borrow_mut().push(Rc::new(DataFile {
            generation,
            level: 0,
            reader,
        }));
        *self.snapshot.borrow_mut() = None;
        self.wal.remove_through(covered)?;
        self.save_index(generation);
        Ok(())
    }

    /// Persists the series index as of data file `generation` (a failure is logged: the
    /// index can always be rebuilt from the files).
    fn save_index(&self, generation: u64) {
        let stamp = crate::index::IndexStamp {
            generation,
            tombstones: self.tombstones.borrow().records(),
        };
        if let Err(e) = self.index.borrow().save(&self.data_dir, stamp) {
            tracing::warn!(dir = %self.data_dir.display(), error = %e, "series index not saved");
        }
    }

    fn level0_count(&self) -> usize {
        self.files.borrow().iter().filter(|f| f.level == 0).count()
    }

    /// Merges the level-0 files (the newest run of files) into one level-1 file.
    pub async fn compact_level0(self: &Rc<Self>) -> Result<(), PartitionError> {
        let inputs: Vec<Rc<DataFile>> = {
            let files = self.files.borrow();
            let start = files
                .iter()
                .position(|f| f.level == 0)
                .unwrap_or(files.len());
            files[start..].to_vec()
        };
        if inputs.len() < 2 {
            return Ok(());
        }
        self.compact(inputs, 1).await
    }

    /// Merges every file into one (a full compaction), when there is more than one.
    pub async fn compact_full(self: &Rc<Self>) -> Result<(), PartitionError> {
        let inputs: Vec<Rc<DataFile>> = self.files.borrow().clone();
        if inputs.len() < 2 {
            return Ok(());
        }
        let level = inputs.iter().map(|f| f.level).max().unwrap_or(0) + 1;
        self.compact(inputs, level).await
    }

    /// Replaces a contiguous run of files (oldest first) with their merge.
    async fn compact(
        self: &Rc<Self>,
        inputs: Vec<Rc<DataFile>>,
        level: u32,
    ) -> Result<(), PartitionError> {
        if self.compacting.replace(true) {
            return Ok(());
        }
        let slot = crate::background::compaction_slot().await;
        // The tombstones as they are now; one recorded while the merge runs masks the
        // merged file still, as it is older than the tombstone.
        let tombstones = self.tombstones.borrow().clone();
        let result = crate::compact::merge_files(&self.data_dir, &inputs, level, &tombstones).await;
        drop(slot);
        let merged = match result {
            Ok(m) => m,
            Err(e) => {
                self.compacting.set(false);
                return Err(e.into());
            }
        };
        {
            let mut files = self.files.borrow_mut();
            let gens: BTreeSet<u64> = inputs.iter().map(|f| f.generation).collect();
            let at = files
                .iter()
                .position(|f| gens.contains(&f.generation))
                .unwrap_or(files.len());
            files.retain(|f| !gens.contains(&f.generation));
            files.insert(at, Rc::new(merged));
        }
        for f in &inputs {
            if let Err(e) = std::fs::remove_file(f.reader.path()) {
                tracing::warn!(path = %f.reader.path().display(), error = %e, "cannot remove a compacted file");
            }
        }
        self.compacting.set(false);
        Ok(())
    }

    /// The series index (measurements, tag keys and values, postings).
    pub fn index(&self) -> std::cell::Ref<'_, SeriesIndex> {
        self.index.borrow()
    }

    /// Adds series to the index without data (influxd indexes the series of the points
    /// a write drops for their fields). They stay until deleted, and are saved with the
    /// index; a rebuild from the data files leaves them out.
    pub fn index_series(&self, keys: &[Vec<u8>]) {
        let mut index = self.index.borrow_mut();
        for k in keys {
            index.insert(k);
        }
    }

    /// The index's [`SeriesIndex::catalog_version`]: it changes when a write or delete
    /// adds or removes a series.
    pub fn catalog_version(&self) -> u64 {
        self.index.borrow().catalog_version()
    }

    /// The series of `measurement` matching `pred`, each with the requested fields (all
    /// fields when `fields` is `None`) within `[min, max]`, merged across files, snapshot
    /// and cache; series in key order, fields by name. Series without values in the range
    /// are left out.
    pub async fn scan(
        &self,
        measurement: &[u8],
        pred: &TagPredicate,
        fields: Option<&[Vec<u8>]>,
        min: i64,
        max: i64,
    ) -> Result<Vec<SeriesColumns>, PartitionError> {
        let mut keys: Vec<Vec<u8>> = {
            let index = self.index.borrow();
            index
                .select(measurement, pred)
                .iter()
                .filter_map(|id| index.key(id).map(<[u8]>::to_vec))
                .collect()
        };
        keys.sort();
        let mut out = Vec::new();
        for key in keys {
            let names: Vec<Vec<u8>> = match fields {
                Some(f) => f.to_vec(),
                None => self.fields_of(&key).into_iter().map(|(n, _)| n).collect(),
            };
            let mut cols = Vec::new();
            for name in names {
                if let Some(c) = self.read_field(&key, &name, min, max).await? {
                    if !c.is_empty() {
                        cols.push((name, c));
                    }
                }
            }
            if !cols.is_empty() {
                out.push(SeriesColumns {
                    series_key: key,
                    fields: cols,
                });
            }
        }
        Ok(out)
    }

    /// Every series key in the partition, sorted.
    pub fn series_keys(&self) -> Vec<Vec<u8>> {
        let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
        for f in self.files.borrow().iter() {
            for s in f.reader.index().series.iter() {
                keys.insert(s.key.to_vec());
            }
        }
        if let Some(snap) = self.snapshot.borrow().as_ref() {
            keys.extend(snap.iter().map(|(k, _)| k.to_vec()));
        }
        keys.extend(self.cache.borrow().series_keys().map(|k| k.to_vec()));
        keys.into_iter().collect()
    }

    /// The fields (with types) of a series, sorted by name.
    pub fn fields_of(&self, key: &[u8]) -> Vec<(Vec<u8>, FieldType)> {
        let mut out: Vec<(Vec<u8>, FieldType)> = Vec::new();
        let mut add = |name: &[u8], t: FieldType| {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((name.to_vec(), t));
            }
        };
        let tombstones = self.tombstones.borrow();
        for f in self.files.borrow().iter() {
            // A file whose points of the series are all deleted does not type its fields
            // (the series may have come back with other types).
            if tombstones.covers_all(key, f.generation) {
                continue;
            }
            if let Some(s) = f.reader.series(key) {
                for fe in s.fields.iter() {
                    if let Some(t) = field_type_of(fe) {
                        add(fe.name.as_slice(), t);
                    }
                }
            }
        }
        if let Some(snap) = self.snapshot.borrow().as_ref() {
            if let Ok(i) = snap.binary_search_by(|(k, _)| (**k).cmp(key)) {
                for (n, c) in &snap[i].1.fields {
                    add(n, c.field_type());
                }
            }
        }
        if let Some(s) = self.cache.borrow().get(key) {
            for (n, c) in &s.fields {
                add(n, c.field_type());
            }
        }
        out.sort();
        out
    }

    /// One field of one series within `[min, max]`: files, then the snapshot, then the
    /// cache, newest winning on equal timestamps.
    pub async fn read_field(
        &self,
        key: &[u8],
        field: &[u8],
        min: i64,
        max: i64,
    ) -> Result<Option<Column>, PartitionError> {
        if min > max {
            return Ok(None);
        }
        let files: Vec<Rc<DataFile>> = self.files.borrow().clone();
        let mut out: Option<Column> = None;
        // The first column with points gives the type: one whose points were all deleted
        // does not (the series may have come back with another type).
        let mut merge = |col: Column| match &mut out {
            None => out = Some(col),
            Some(o) if o.is_empty() && !col.is_empty() => *o = col,
            Some(o) if o.field_type() == col.field_type() => o.merge_newer(&col),
            Some(_) => {}
        };
        for f in &files {
            if let Some(mut col) = f.reader.read_field(key, field, min, max).await? {
                self.tombstones.borrow().apply(key, f.generation, &mut col);
                merge(col);
            }
        }
        let snap = self.snapshot.borrow().clone();
        if let Some(snap) = snap {
            if let Ok(i) = snap.binary_search_by(|(k, _)| (**k).cmp(key)) {
                if let Some(c) = snap[i].1.field(field) {
                    merge(c.range_copy(min, max));
                }
            }
        }
        let cached = self
            .cache
            .borrow()
            .get(key)
            .and_then(|s| s.field(field).map(|c| c.range_copy(min, max)));
        if let Some(c) = cached {
            merge(c);
        }
        Ok(out)
    }

    /// A time by which the field of the series surely has `n` points within `[min, max]`
    /// (from which, when `descending`), known without reading values: from the block
    /// index of a file no tombstone touches, or a sorted column in memory. `None` when
    /// no single source holds `n` there, or some source holds the field as another type
    /// than `want`. Reading `[min, bound]` (`[bound, max]`) then gives the field's first
    /// `n` points.
    pub fn nth_time(
        &self,
        key: &[u8],
        field: &[u8],
        (min, max): (i64, i64),
        n: usize,
        descending: bool,
        want: Option<FieldType>,
    ) -> Option<i64> {
        if min > max || n == 0 {
            return None;
        }
        let mut best: Option<i64> = None;
        let mut offer = |t: Option<i64>| {
            if let Some(t) = t {
                best = Some(match best {
                    None => t,
                    Some(b) if descending => b.max(t),
                    Some(b) => b.min(t),
                });
            }
        };
        let tombstones = self.tombstones.borrow();
        for f in self.files.borrow().iter() {
            let t = f
                .reader
                .nth_time(key, field, (min, max), n, descending, want)?;
            if !tombstones.touches(key, f.generation) {
                offer(t);
            }
        }
        let typed = |c: &Column| want.is_none_or(|w| c.field_type() == w);
        if let Some(snap) = self.snapshot.borrow().as_ref() {
            if let Ok(i) = snap.binary_search_by(|(k, _)| (**k).cmp(key)) {
                if let Some(c) = snap[i].1.field(field) {
                    if !typed(c) {
                        return None;
                    }
                    offer(c.nth_time(min, max, n, descending));
                }
            }
        }
        if let Some(c) = self.cache.borrow().get(key).and_then(|s| s.field(field)) {
            if !typed(c) {
                return None;
            }
            offer(c.nth_time(min, max, n, descending));
        }
        best
    }

    /// What reading one field of one series within `[min, max]` touches: the files and
    /// blocks overlapping the range, their bytes, and values in memory (cache and
    /// snapshot). Reads nothing from disk (for EXPLAIN).
    pub fn field_stats(&self, key: &[u8], field: &[u8], min: i64, max: i64) -> FieldStats {
        let mut st = FieldStats::default();
        if min > max {
            return st;
        }
        for f in self.files.borrow().iter() {
            let Some(s) = f.reader.series(key) else {
                continue;
            };
            let Some(fe) = s.fields.iter().find(|fe| fe.name.as_slice() == field) else {
                continue;
            };
            let mut hit = false;
            for b in fe.blocks.iter() {
                let (bmin, bmax) = (i64::from(b.min_time), i64::from(b.max_time));
                if bmax >= min && bmin <= max {
                    hit = true;
                    st.blocks += 1;
                    st.bytes += u64::from(u32::from(b.len));
                }
            }
            st.files += u64::from(hit);
        }
        let in_range = |c: &Column| c.ts.iter().filter(|t| **t >= min && **t <= max).count();
        if let Some(snap) = self.snapshot.borrow().as_ref() {
            if let Ok(i) = snap.binary_search_by(|(k, _)| (**k).cmp(key)) {
                if let Some(c) = snap[i].1.field(field) {
                    st.cached += in_range(c) as u64;
                }
            }
        }
        if let Some(c) = self.cache.borrow().get(key).and_then(|s| s.field(field)) {
            st.cached += in_range(c) as u64;
        }
        st
    }

    /// Deletes the points of `keys` within `[min, max]`: the cache is flushed first (so
    /// the WAL no longer holds them), then tombstones are recorded durably. Series left
    /// without data leave the index.
    pub async fn delete_series(
        self: &Rc<Self>,
        keys: &[Vec<u8>],
        min: i64,
        max: i64,
    ) -> Result<(), PartitionError> {
        if keys.is_empty() {
            return Ok(());
        }
        while self.flushing.get() {
            glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
        }
        self.flush().await?;
        let upto = self.next_generation.get();
        let entries: Vec<(Vec<u8>, crate::tombstone::Tombstone)> = keys
            .iter()
            .map(|k| (k.clone(), crate::tombstone::Tombstone { min, max, upto }))
            .collect();
        self.tombstones.borrow_mut().append(&entries)?;
        for k in keys {
            let mut alive = false;
            for (f, _) in self.fields_of(k) {
                if let Some(c) = self.read_field(k, &f, i64::MIN, i64::MAX).await? {
                    if !c.is_empty() {
                        alive = true;
                        break;
                    }
                }
            }
            if !alive {
                self.index.borrow_mut().remove(k);
            }
        }
        let newest = self.files.borrow().iter().map(|f| f.generation).max();
        if let Some(g) = newest {
            self.save_index(g);
        }
        Ok(())
    }

    /// How long since the last write, if there was one since open.
    pub fn idle_for(&self) -> Option<std::time::Duration> {
        self.last_write.get().map(|t| t.elapsed())
    }

    /// Cold-partition upkeep: flush a cache that received no writes for `snapshot_cold`,
    /// and merge everything into one file after `full_cold` without writes (InfluxDB's
    /// `cache-snapshot-write-cold-duration` and `compact-full-write-cold-duration`).
    pub async fn maintain(
        self: &Rc<Self>,
        snapshot_cold: std::time::Duration,
        full_cold: std::time::Duration,
    ) -> Result<(), PartitionError> {
        let idle = self.idle_for().unwrap_or(std::time::Duration::MAX);
        if idle >= snapshot_cold && !self.cache.borrow().is_empty() {
            self.flush().await?;
        }
        if idle >= full_cold && self.files.borrow().len() > 1 && self.cache.borrow().is_empty() {
            self.compact_full().await?;
        }
        Ok(())
    }

    /// (files, bytes on disk, cache bytes, WAL fsyncs).
    pub fn stats(&self) -> (usize, u64, usize, u64) {
        let files = self.files.borrow();
        (
            files.len(),
            files.iter().map(|f| f.reader.size()).sum(),
            self.cache.borrow().bytes(),
            self.wal.stats().1,
        )
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

#[cfg(test)]
mod tests;
