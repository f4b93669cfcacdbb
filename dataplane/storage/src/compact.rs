//! Compaction: merges a run of data files into one, newest value winning on equal
//! timestamps, re-encoding full blocks. The result takes the newest input's generation,
//! so it keeps its place in the generation order. The points tombstones delete from an
//! input are left out: the merged file is as new as its newest input, so a tombstone that
//! masked only the older inputs would no longer mask them there.

use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

use crate::column::Column;
use crate::partition::DataFile;
use crate::tombstone::Tombstones;
use crate::tsm::{field_type_of, TsmError, TsmReader, TsmWriter};

/// Merges `inputs` (oldest first) into a new file of `level`.
///
/// The inputs' series indexes are sorted by key, so the merge walks them side by side
/// (a k-way merge): each key is visited once and its blocks are read straight from the
/// index entries, without looking anything up.
pub async fn merge_files(
    dir: &Path,
    inputs: &[Rc<DataFile>],
    level: u32,
    tombstones: &Tombstones,
) -> Result<DataFile, TsmError> {
    let generation = inputs.iter().map(|f| f.generation).max().unwrap_or(0);
    let path = dir.join(format!("{generation:012}-{level:02}.tsm"));
    let indexes: Vec<_> = inputs.iter().map(|f| f.reader.index()).collect();
    let mut cursor = vec![0usize; inputs.len()];
    let mut w = TsmWriter::create(&path).await?;
    let mut visited = 0u64;
    loop {
        // Let requests run between series: compaction is background work.
        visited += 1;
        if visited.is_multiple_of(256) {
            glommio::executor().yield_now().await;
        }
        // The smallest key under any cursor, and the inputs holding it (oldest first).
        let mut key: Option<&[u8]> = None;
        for (i, idx) in indexes.iter().enumerate() {
            if let Some(s) = idx.series.get(cursor[i]) {
                let k = s.key.as_slice();
                if key.is_none_or(|m| k < m) {
                    key = Some(k);
                }
            }
        }
        let Some(key) = key else {
            break;
        };
        let mut members = Vec::with_capacity(inputs.len());
        for (i, idx) in indexes.iter().enumerate() {
            if let Some(s) = idx.series.get(cursor[i]) {
                if s.key.as_slice() == key {
                    members.push((i, s));
                    cursor[i] += 1;
                }
            }
        }
        let mut names: BTreeSet<&[u8]> = BTreeSet::new();
        for (_, s) in &members {
            for fe in s.fields.iter() {
                if field_type_of(fe).is_some() {
                    names.insert(fe.name.as_slice());
                }
            }
        }
        let mut fields: Vec<(Box<[u8]>, Column)> = Vec::with_capacity(names.len());
        for name in names {
            let mut merged: Option<Column> = None;
            for (i, s) in &members {
                let Some(fe) = s.fields.iter().find(|f| f.name.as_slice() == name) else {
                    continue;
                };
                let Some(t) = field_type_of(fe) else {
                    continue;
                };
                if merged.as_ref().is_some_and(|m| m.field_type() != t) {
                    continue;
                }
                for b in fe.blocks.iter() {
                    let mut col = inputs[*i].reader.read_block(t, b).await?;
                    tombstones.apply(key, inputs[*i].generation, &mut col);
                    // Deleted points do not type the field: after DROP MEASUREMENT it
                    // may come back with another type, in a newer input.
                    if col.is_empty() {
                        continue;
                    }
                    match &mut merged {
                        None => merged = Some(col),
                        Some(m) => m.merge_newer(&col),
                    }
                }
            }
            if let Some(m) = merged.filter(|m| !m.is_empty()) {
                fields.push((name.into(), m));
            }
        }
        if !fields.is_empty() {
            w.write_series(key, &fields).await?;
        }
    }
    w.finish().await?;
    let reader = TsmReader::open(&path).await?;
    Ok(DataFile {
        generation,
        level,
        reader,
    })
}
