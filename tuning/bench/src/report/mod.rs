//! The outputs: the JSON result (serde of [`crate::result`]) and a self-contained HTML
//! page with inline SVG plots.
//!
//! - `svg` — line and bar charts.
//! - `html` — the page for one run or a comparison.

mod html;
pub mod svg;

pub use html::{compare_html, run_html};

use serde::Serialize;
use std::path::Path;

/// Writes `value` as pretty JSON to `path`.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), crate::BenchError> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").map_err(|source| crate::BenchError::Output {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes an HTML page to `path`.
pub fn write_html(path: &Path, page: &str) -> Result<(), crate::BenchError> {
    std::fs::write(path, page).map_err(|source| crate::BenchError::Output {
        path: path.to_path_buf(),
        source,
    })
}
