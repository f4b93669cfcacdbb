//! Compaction: merges a run of data files into one, newest value winning on equal
//! timestamps, re-encoding full blocks. The result takes the newest input's generation,
//! so it keeps its place in the generation order.

use std::collections::BTreeSet;
use std::path::Path;
use std::rc::Rc;

use crate::column::Column;
use crate::partition::DataFile;
use crate::tsm::{field_type_of, TsmError, TsmReader, TsmWriter};

/// Merges `inputs` (oldest first) into a new file of `level`.
pub async fn merge_files(
    dir: &Path,
    inputs: &[Rc<DataFile>],
    level: u32,
) -> Result<DataFile, TsmError> {
    let generation = inputs.iter().map(|f| f.generation).max().unwrap_or(0);
    let path = dir.join(format!("{generation:012}-{level:02}.tsm"));
    let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    for f in inputs {
        for s in f.reader.index().series.iter() {
            keys.insert(s.key.to_vec());
        }
    }
    let mut w = TsmWriter::create(&path).await?;
    for key in &keys {
        let mut names: BTreeSet<Vec<u8>> = BTreeSet::new();
        for f in inputs {
            if let Some(s) = f.reader.series(key) {
                for fe in s.fields.iter() {
                    if field_type_of(fe).is_some() {
                        names.insert(fe.name.to_vec());
                    }
                }
            }
        }
        let mut fields: Vec<(Box<[u8]>, Column)> = Vec::with_capacity(names.len());
        for name in names {
            let mut merged: Option<Column> = None;
            for f in inputs {
                if let Some(col) = f.reader.read_field(key, &name, i64::MIN, i64::MAX).await? {
                    match &mut merged {
                        None => merged = Some(col),
                        Some(m) if m.field_type() == col.field_type() => m.merge_newer(&col),
                        Some(_) => {}
                    }
                }
            }
            if let Some(m) = merged {
                fields.push((name.into_boxed_slice(), m));
            }
        }
        w.write_series(key, &fields).await?;
    }
    w.finish().await?;
    let reader = TsmReader::open(&path).await?;
    Ok(DataFile {
        generation,
        level,
        reader,
    })
}
