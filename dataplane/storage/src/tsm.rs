//! Immutable columnar data files (`*.tsm`): compressed blocks of up to
//! [`MAX_BLOCK_POINTS`] values of one field of one series, followed by an rkyv index that
//! readers validate once at open and then use in place.
//!
//! ```text
//! "TSMF" u8 version, 3 zero bytes
//! blocks…            each: u32 LE timestamp-block length, timestamp block, value block
//! zero padding       up to a 16-byte boundary
//! index              rkyv FileIndex: series sorted by key, fields by name, blocks by time
//! footer (24 bytes)  u64 LE index offset, u64 LE index length, u32 LE crc32c(index), "TSMF"
//! ```
//! Every block's crc32c is in the index and checked on each read, so a damaged file is
//! reported (with its path) instead of answering wrong data.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use futures_lite::AsyncWriteExt;
use glommio::io::{DmaFile, ImmutableFileBuilder};
use rkyv::rancor::Error as RkyvError;
use rkyv::util::AlignedVec;
use rkyv::{Archive, Deserialize, Serialize};

use crate::batch::FieldType;
use crate::column::{Column, Values};

const MAGIC: &[u8; 4] = b"TSMF";
const VERSION: u8 = 1;
const HEADER_LEN: u64 = 8;
const FOOTER_LEN: u64 = 24;
/// Values per block, as InfluxDB's TSM (`tsdb.DefaultMaxPointsPerBlock`).
pub const MAX_BLOCK_POINTS: usize = 1000;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TsmError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path} is corrupt: {reason}")]
    Corrupt { path: String, reason: String },
}

fn io(path: &Path, e: impl std::fmt::Display) -> TsmError {
    TsmError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn corrupt(path: &Path, reason: impl Into<String>) -> TsmError {
    TsmError::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct BlockEntry {
    pub offset: u64,
    pub len: u32,
    pub crc: u32,
    pub count: u32,
    pub min_time: i64,
    pub max_time: i64,
}

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FieldEntry {
    pub name: Vec<u8>,
    pub field_type: u8,
    pub blocks: Vec<BlockEntry>,
}

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SeriesEntry {
    pub key: Vec<u8>,
    pub fields: Vec<FieldEntry>,
}

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub struct FileIndex {
    pub series: Vec<SeriesEntry>,
    pub min_time: i64,
    pub max_time: i64,
    pub points: u64,
}

/// Encodes one block of a column's `range`.
fn encode_block(col: &Column, range: std::ops::Range<usize>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    tessera_codec::encode_timestamps(&col.ts[range.clone()], out);
    let ts_len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&ts_len.to_le_bytes());
    match &col.values {
        Values::Float(v) => tessera_codec::encode_floats(&v[range], out),
        Values::Integer(v) => tessera_codec::encode_integers(&v[range], out),
        Values::Unsigned(v) => tessera_codec::encode_unsigned(&v[range], out),
        Values::Boolean(v) => tessera_codec::encode_bools(&v[range], out),
        Values::Str(v) => tessera_codec::encode_strings(&v[range], out),
    }
}

/// Decodes a block into a column.
fn decode_block(t: FieldType, block: &[u8]) -> Result<Column, String> {
    if block.len() < 4 {
        return Err("block shorter than its header".into());
    }
    let ts_len = u32::from_le_bytes(block[0..4].try_into().expect("4 bytes")) as usize;
    let rest = &block[4..];
    if ts_len > rest.len() {
        return Err("timestamp block overruns the block".into());
    }
    let (ts_bytes, val_bytes) = rest.split_at(ts_len);
    let mut ts = Vec::new();
    tessera_codec::decode_timestamps(ts_bytes, &mut ts).map_err(|e| e.to_string())?;
    let values = match t {
        FieldType::Float => {
            let mut v = Vec::new();
            tessera_codec::decode_floats(val_bytes, &mut v).map_err(|e| e.to_string())?;
            Values::Float(v)
        }
        FieldType::Integer => {
            let mut v = Vec::new();
            tessera_codec::decode_integers(val_bytes, &mut v).map_err(|e| e.to_string())?;
            Values::Integer(v)
        }
        FieldType::Unsigned => {
            let mut v = Vec::new();
            tessera_codec::decode_unsigned(val_bytes, &mut v).map_err(|e| e.to_string())?;
            Values::Unsigned(v)
        }
        FieldType::Boolean => {
            let mut v = Vec::new();
            tessera_codec::decode_bools(val_bytes, &mut v).map_err(|e| e.to_string())?;
            Values::Boolean(v)
        }
        FieldType::String => {
            let mut v = Vec::new();
            tessera_codec::decode_strings(val_bytes, &mut v).map_err(|e| e.to_string())?;
            Values::Str(v.into_iter().map(Vec::into_boxed_slice).collect())
        }
    };
    if values.len() != ts.len() {
        return Err(format!(
            "block has {} timestamps but {} values",
            ts.len(),
            values.len()
        ));
    }
    Ok(Column::from_sorted(ts, values))
}

/// Writes a new file from series sorted by key, each with fields sorted by name and
/// columns normalized. The file appears under `path` only once complete and synced.
pub struct TsmWriter {
    path: PathBuf,
    tmp: PathBuf,
    sink: glommio::io::ImmutableFilePreSealSink,
    pos: u64,
    buf: Vec<u8>,
    index: FileIndex,
}

impl TsmWriter {
    pub async fn create(path: &Path) -> Result<TsmWriter, TsmError> {
        let tmp = path.with_extension("tsm.tmp");
        let mut sink = ImmutableFileBuilder::new(&tmp)
            .build_sink()
            .await
            .map_err(|e| io(&tmp, e))?;
        let mut header = Vec::with_capacity(HEADER_LEN as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&[VERSION, 0, 0, 0]);
        sink.write_all(&header).await.map_err(|e| io(&tmp, e))?;
        Ok(TsmWriter {
            path: path.to_path_buf(),
            tmp,
            sink,
            pos: HEADER_LEN,
            buf: Vec::with_capacity(1 << 20),
            index: FileIndex {
                min_time: i64::MAX,
                max_time: i64::MIN,
                ..Default::default()
            },
        })
    }

    /// Adds one series (key must sort after the previous one).
    pub async fn write_series(
        &mut self,
        key: &[u8],
        fields: &[(Box<[u8]>, Column)],
    ) -> Result<(), TsmError> {
        let mut entry = SeriesEntry {
            key: key.to_vec(),
            fields: Vec::with_capacity(fields.len()),
        };
        for (name, col) in fields {
            if col.is_empty() {
                continue;
            }
            let mut fe = FieldEntry {
                name: name.to_vec(),
                field_type: col.field_type() as u8,
                blocks: Vec::new(),
            };
            let mut start = 0;
            while start < col.len() {
                let end = (start + MAX_BLOCK_POINTS).min(col.len());
                let at = self.buf.len();
                encode_block(col, start..end, &mut self.buf);
                let block = &self.buf[at..];
                fe.blocks.push(BlockEntry {
                    offset: self.pos + at as u64,
                    len: block.len() as u32,
                    crc: crc32c::crc32c(block),
                    count: (end - start) as u32,
                    min_time: col.ts[start],
                    max_time: col.ts[end - 1],
                });
                self.index.min_time = self.index.min_time.min(col.ts[start]);
                self.index.max_time = self.index.max_time.max(col.ts[end - 1]);
                self.index.points += (end - start) as u64;
                start = end;
            }
            entry.fields.push(fe);
        }
        if !entry.fields.is_empty() {
            self.index.series.push(entry);
        }
        if self.buf.len() >= 1 << 20 {
            self.flush_buf().await?;
        }
        Ok(())
    }

    async fn flush_buf(&mut self) -> Result<(), TsmError> {
        self.sink
            .write_all(&self.buf)
            .await
            .map_err(|e| io(&self.tmp, e))?;
        self.pos += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes the index and footer, syncs, and renames the file into place.
    pub async fn finish(mut self) -> Result<FileIndex, TsmError> {
        let pad = (16 - (self.pos + self.buf.len() as u64) % 16) % 16;
        self.buf.extend(std::iter::repeat_n(0u8, pad as usize));
        let index_offset = self.pos + self.buf.len() as u64;
        let index = rkyv::to_bytes::<RkyvError>(&self.index).map_err(|e| io(&self.tmp, e))?;
        self.buf.extend_from_slice(&index);
        self.buf.extend_from_slice(&index_offset.to_le_bytes());
        self.buf
            .extend_from_slice(&(index.len() as u64).to_le_bytes());
        self.buf
            .extend_from_slice(&crc32c::crc32c(&index).to_le_bytes());
        self.buf.extend_from_slice(MAGIC);
        self.flush_buf().await?;
        let file = self.sink.seal().await.map_err(|e| io(&self.tmp, e))?;
        file.rename(&self.path)
            .await
            .map_err(|e| io(&self.path, e))?;
        file.close().await.map_err(|e| io(&self.path, e))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))?;
        Ok(self.index)
    }
}

/// Per core: bytes of data files held in memory by [`TsmReader`]s, and the budget.
/// Queries read many small blocks; O_DIRECT reads bypass the page cache, so without this
/// every query would wait on the disk once per block.
mod file_cache {
    use std::cell::Cell;

    thread_local! {
        static USED: Cell<u64> = const { Cell::new(0) };
        static LIMIT: Cell<u64> = const { Cell::new(256 << 20) };
    }

    /// Sets this core's budget (`[data] file-cache-max-memory-size` divided by cores).
    pub fn set_limit(bytes: u64) {
        LIMIT.with(|l| l.set(bytes));
    }

    pub(super) fn try_charge(bytes: u64) -> bool {
        let ok = USED.with(|u| u.get() + bytes <= LIMIT.with(Cell::get));
        if ok {
            USED.with(|u| u.set(u.get() + bytes));
        }
        ok
    }

    pub(super) fn release(bytes: u64) {
        USED.with(|u| u.set(u.get().saturating_sub(bytes)));
    }
}

pub use file_cache::set_limit as set_file_cache_limit;

/// An open data file: its validated index (kept in memory, accessed in place) and the file;
/// the whole file is also kept in memory once read, while the core's budget allows.
pub struct TsmReader {
    path: PathBuf,
    file: Rc<DmaFile>,
    index: AlignedVec,
    size: u64,
    /// The file's bytes, once loaded (`None`: not yet, or over budget).
    data: std::cell::RefCell<Option<Rc<Vec<u8>>>>,
    /// Whether loading was tried (and failed or was refused): read blocks one by one.
    uncached: std::cell::Cell<bool>,
    /// The index entry [`TsmReader::series`] found last: a scan asks for each field of a
    /// series in turn, so most lookups are answered by one comparison.
    last_series: std::cell::Cell<usize>,
}

impl Drop for TsmReader {
    fn drop(&mut self) {
        if self.data.get_mut().is_some() {
            file_cache::release(self.size);
        }
    }
}

impl TsmReader {
    /// Opens and validates `path`: magic, footer, index checksum and structure.
    pub async fn open(path: &Path) -> Result<TsmReader, TsmError> {
        let file = DmaFile::open(path).await.map_err(|e| io(path, e))?;
        let size = file.file_size().await.map_err(|e| io(path, e))?;
        if size < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt(path, format!("only {size} bytes long")));
        }
        let head = file
            .read_at(0, HEADER_LEN as usize)
            .await
            .map_err(|e| io(path, e))?;
        if &head[0..4] != MAGIC || head[4] != VERSION {
            return Err(corrupt(path, "bad magic or version in the header"));
        }
        let foot = file
            .read_at(size - FOOTER_LEN, FOOTER_LEN as usize)
            .await
            .map_err(|e| io(path, e))?;
        if &foot[20..24] != MAGIC {
            return Err(corrupt(path, "bad magic in the footer"));
        }
        let index_offset = u64::from_le_bytes(foot[0..8].try_into().expect("8 bytes"));
        let index_len = u64::from_le_bytes(foot[8..16].try_into().expect("8 bytes"));
        let index_crc = u32::from_le_bytes(foot[16..20].try_into().expect("4 bytes"));
        if index_offset < HEADER_LEN
            || index_offset.checked_add(index_len) != Some(size - FOOTER_LEN)
        {
            return Err(corrupt(
                path,
                "index position in the footer is out of range",
            ));
        }
        let raw = file
            .read_at(index_offset, index_len as usize)
            .await
            .map_err(|e| io(path, e))?;
        if crc32c::crc32c(&raw) != index_crc {
            return Err(corrupt(path, "index checksum mismatch"));
        }
        let mut index = AlignedVec::with_capacity(raw.len());
        index.extend_from_slice(&raw);
        rkyv::access::<ArchivedFileIndex, RkyvError>(&index)
            .map_err(|e| corrupt(path, format!("index does not validate: {e}")))?;
        Ok(TsmReader {
            path: path.to_path_buf(),
            file: Rc::new(file),
            index,
            size,
            data: std::cell::RefCell::new(None),
            uncached: std::cell::Cell::new(false),
            last_series: std::cell::Cell::new(0),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The index, in place (validated at open).
    pub fn index(&self) -> &ArchivedFileIndex {
        // SAFETY: `open` validated these exact bytes with `rkyv::access`, and they are
        // never modified afterwards.
        unsafe { rkyv::access_unchecked::<ArchivedFileIndex>(&self.index) }
    }

    /// The entry of `key`, if this file has that series.
    pub fn series(&self, key: &[u8]) -> Option<&ArchivedSeriesEntry> {
        let series = &self.index().series;
        if let Some(s) = series.get(self.last_series.get()) {
            if s.key.as_slice() == key {
                return Some(s);
            }
        }
        let i = series
            .binary_search_by(|s| s.key.as_slice().cmp(key))
            .ok()?;
        self.last_series.set(i);
        Some(&series[i])
    }

    /// Reads and decodes one block, checking its checksum.
    pub async fn read_block(
        &self,
        field_type: FieldType,
        block: &ArchivedBlockEntry,
    ) -> Result<Column, TsmError> {
        let offset = block.offset.to_native();
        let len = block.len.to_native() as usize;
        if offset + len as u64 > self.size {
            return Err(corrupt(
                &self.path,
                format!("block at {offset} runs past the end"),
            ));
        }
        let cached = self.cached().await;
        let read;
        let bytes: &[u8] = match &cached {
            Some(d) => &d[offset as usize..offset as usize + len],
            None => {
                read = self
                    .file
                    .read_at(offset, len)
                    .await
                    .map_err(|e| io(&self.path, e))?;
                &read
            }
        };
        if crc32c::crc32c(bytes) != block.crc.to_native() {
            return Err(corrupt(
                &self.path,
                format!("block at byte {offset}: checksum mismatch"),
            ));
        }
        decode_block(field_type, bytes)
            .map_err(|e| corrupt(&self.path, format!("block at byte {offset}: {e}")))
    }

    /// The whole file in memory, loading it on first use if the core's budget allows.
    async fn cached(&self) -> Option<Rc<Vec<u8>>> {
        if let Some(d) = self.data.borrow().as_ref() {
            return Some(Rc::clone(d));
        }
        if self.uncached.get() || !file_cache::try_charge(self.size) {
            self.uncached.set(true);
            return None;
        }
        match self.file.read_at(0, self.size as usize).await {
            Ok(buf) if buf.len() as u64 == self.size => {
                let d = Rc::new(buf.to_vec());
                if self.data.borrow().is_some() {
                    // Another read loaded it meanwhile.
                    file_cache::release(self.size);
                    return self.data.borrow().clone();
                }
                *self.data.borrow_mut() = Some(Rc::clone(&d));
                Some(d)
            }
            _ => {
                file_cache::release(self.size);
                self.uncached.set(true);
                None
            }
        }
    }

    /// Every value of one field of one series within `[min, max]`, merged across blocks.
    pub async fn read_field(
        &self,
        key: &[u8],
        field: &[u8],
        min: i64,
        max: i64,
    ) -> Result<Option<Column>, TsmError> {
        let Some(series) = self.series(key) else {
            return Ok(None);
        };
        let Some(fe) = series.fields.iter().find(|f| f.name.as_slice() == field) else {
            return Ok(None);
        };
        let t = FieldType::from_u8(fe.field_type)
            .ok_or_else(|| corrupt(&self.path, format!("unknown field type {}", fe.field_type)))?;
        let mut out = Column::new(t);
        for b in fe.blocks.iter() {
            if b.max_time.to_native() < min || b.min_time.to_native() > max {
                continue;
            }
            let mut col = self.read_block(t, b).await?;
            col.retain_range(min, max);
            out.merge_newer(&col);
        }
        Ok(Some(out))
    }

    /// From the block index alone: a time by which the field of the series surely has
    /// `n` points within `[min, max]` in this file (from which, when `descending`),
    /// counting only blocks wholly inside the range: `Some(None)` when the file holds
    /// fewer there or its blocks overlap; `None` when it stores the field with another
    /// type than `want` (a read would keep one type only, so no bound holds).
    pub fn nth_time(
        &self,
        key: &[u8],
        field: &[u8],
        (min, max): (i64, i64),
        n: usize,
        descending: bool,
        want: Option<FieldType>,
    ) -> Option<Option<i64>> {
        let Some(fe) = self
            .series(key)
            .and_then(|s| s.fields.iter().find(|f| f.name.as_slice() == field))
        else {
            return Some(None);
        };
        if want.is_some_and(|w| w as u8 != fe.field_type) {
            return None;
        }
        let blocks = &fe.blocks;
        if blocks
            .windows(2)
            .any(|w| w[0].max_time.to_native() >= w[1].min_time.to_native())
        {
            return Some(None);
        }
        let inside =
            |b: &ArchivedBlockEntry| b.min_time.to_native() >= min && b.max_time.to_native() <= max;
        let mut held = 0usize;
        if descending {
            for b in blocks.iter().rev() {
                if b.max_time.to_native() < min {
                    break;
                }
                if inside(b) {
                    held += b.count.to_native() as usize;
                    if held >= n {
                        return Some(Some(b.min_time.to_native()));
                    }
                }
            }
        } else {
            for b in blocks.iter() {
                if b.min_time.to_native() > max {
                    break;
                }
                if inside(b) {
                    held += b.count.to_native() as usize;
                    if held >= n {
                        return Some(Some(b.max_time.to_native()));
                    }
                }
            }
        }
        Some(None)
    }

    pub async fn close(self) {
        let file = Rc::clone(&self.file);
        drop(self);
        if let Ok(f) = Rc::try_unwrap(file) {
            let _ = f.close().await;
        }
    }
}

/// The field type stored for an archived field entry.
pub fn field_type_of(fe: &ArchivedFieldEntry) -> Option<FieldType> {
    FieldType::from_u8(fe.field_type)
}

#[cfg(test)]
mod tests;
