//! The errors of the queue, one variant per cause.

use std::path::Path;

use crate::record::MAX_ENTRY;

/// What went wrong with a hinted-handoff queue. `Clone` because one failed group commit
/// fails every append of the group.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HandoffError {
    /// The queue holds `max-size` unacknowledged bytes already. The text is Enterprise's,
    /// which clients and operators match on.
    #[error("queue is full")]
    Full {
        /// The queue's directory.
        path: String,
        /// The configured `max-size`.
        max_size: u64,
    },
    #[error("hinted handoff entry of {0} bytes exceeds the limit of {MAX_ENTRY}")]
    TooLarge(usize),
    #[error("hinted handoff {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("hinted handoff queue {path} is closed")]
    Closed { path: String },
    #[error(
        "hinted handoff queue {path}: position {segment}:{offset} is past the end of the queue"
    )]
    InvalidPosition {
        path: String,
        segment: u64,
        offset: u64,
    },
    #[error("hinted handoff config: {0}")]
    Config(String),
}

impl HandoffError {
    /// True for [`HandoffError::Full`].
    pub fn is_full(&self) -> bool {
        matches!(self, HandoffError::Full { .. })
    }
}

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> HandoffError {
    HandoffError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}
