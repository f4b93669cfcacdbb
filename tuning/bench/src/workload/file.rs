//! A user's line-protocol file, cut into batches of whole lines. Read once into memory;
//! a batch index past the end starts over (the same points again: overwrites).

use super::{Precision, QueryContext, Workload};
use std::path::{Path, PathBuf};

pub struct LpFile {
    path: PathBuf,
    data: Vec<u8>,
    /// Byte offset where each batch starts; the last entry is the end.
    bounds: Vec<usize>,
    /// (lines, values) per batch.
    counts: Vec<(u64, u64)>,
    precision: Precision,
}

impl LpFile {
    /// Reads `path` and cuts it into batches of `batch_size` lines. Blank lines and `#`
    /// comments are kept (servers skip them) but not counted.
    pub fn open(path: &Path, batch_size: u64, precision: Precision) -> std::io::Result<LpFile> {
        let mut data = std::fs::read(path)?;
        if !data.is_empty() && !data.ends_with(b"\n") {
            data.push(b'\n');
        }
        let mut bounds = vec![0];
        let mut counts = Vec::new();
        let (mut lines, mut values) = (0u64, 0u64);
        let mut start = 0;
        for end in memchr_iter(&data) {
            let line = &data[start..end];
            start = end + 1;
            let trimmed = line.trim_ascii_start();
            if trimmed.is_empty() || trimmed[0] == b'#' {
                continue;
            }
            lines += 1;
            values += field_count(trimmed);
            if lines == batch_size {
                bounds.push(start);
                counts.push((lines, values));
                lines = 0;
                values = 0;
            }
        }
        if lines > 0 {
            bounds.push(data.len());
            counts.push((lines, values));
        }
        Ok(LpFile {
            path: path.to_path_buf(),
            data,
            bounds,
            counts,
            precision,
        })
    }
}

fn memchr_iter(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    data.iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
}

/// Commas + 1 in the field set: the second unescaped space-separated section, quotes
/// respected. Only for the values/s figure; the server is the judge of validity.
fn field_count(line: &[u8]) -> u64 {
    let mut section = 0;
    let mut in_quote = false;
    let mut escaped = false;
    let mut commas = 0;
    for &b in line {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' => escaped = true,
            b'"' if section == 1 => in_quote = !in_quote,
            b' ' if !in_quote => {
                section += 1;
                if section == 2 {
                    break;
                }
            }
            b',' if section == 1 && !in_quote => commas += 1,
            _ => {}
        }
    }
    if section >= 1 {
        commas + 1
    } else {
        0
    }
}

impl Workload for LpFile {
    fn batches(&self) -> u64 {
        self.counts.len() as u64
    }

    fn lines(&self) -> u64 {
        self.counts.iter().map(|c| c.0).sum()
    }

    fn render(&self, idx: u64, out: &mut Vec<u8>) -> (u64, u64) {
        out.clear();
        if self.counts.is_empty() {
            return (0, 0);
        }
        let k = (idx % self.counts.len() as u64) as usize;
        out.extend_from_slice(&self.data[self.bounds[k]..self.bounds[k + 1]]);
        self.counts[k]
    }

    fn precision(&self) -> Precision {
        self.precision
    }

    fn query_context(&self) -> Option<QueryContext> {
        None
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "shape": "file",
            "path": self.path.display().to_string(),
            "bytes": self.data.len(),
            "lines": self.lines(),
            "batches": self.batches(),
            "precision": self.precision,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_whole_lines_and_counts_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lp");
        std::fs::write(
            &path,
            "# comment\na,t=1 v=1 1\n\na v=2,w=\"x, y\" 2\nb\\ c v=3 3\nd v=4",
        )
        .unwrap();
        let f = LpFile::open(&path, 2, Precision::Ns).unwrap();
        assert_eq!(f.batches(), 2);
        assert_eq!(f.lines(), 4);
        let mut out = Vec::new();
        assert_eq!(f.render(0, &mut out), (2, 3));
        assert_eq!(out, b"# comment\na,t=1 v=1 1\n\na v=2,w=\"x, y\" 2\n");
        assert_eq!(f.render(1, &mut out), (2, 2));
        assert_eq!(out, b"b\\ c v=3 3\nd v=4\n");
        assert_eq!(f.render(2, &mut out), (2, 3), "starts over");
    }
}
