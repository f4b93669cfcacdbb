//! The one error type of every decoder: what was wrong and where in the block.

/// Why a block could not be decoded. Offsets are byte offsets from the start of the
/// block handed to the decoder, so a corrupt file can be located precisely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The block has no bytes at all, not even the header byte.
    #[error("empty block: no header byte")]
    Empty,
    /// The header byte names no scheme this crate knows.
    #[error("unknown block header byte {header:#04x}")]
    UnknownHeader {
        /// The header byte found.
        header: u8,
    },
    /// The block holds another column type than the decoder was asked for.
    #[error("block holds {found} values but {expected} were asked for")]
    WrongType {
        /// The type the decoder decodes.
        expected: &'static str,
        /// The type named by the block's header byte.
        found: &'static str,
    },
    /// The block ends before `what` could be read.
    #[error("block truncated: {what} at offset {offset} runs past the end")]
    Truncated {
        /// The part of the block being read.
        what: &'static str,
        /// Where the part starts.
        offset: usize,
    },
    /// A field holds a value that no encoder writes.
    #[error("invalid {what} at offset {offset}: {value}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Where the field starts.
        offset: usize,
        /// The value found.
        value: u64,
    },
    /// The value count is larger than the block's bytes could possibly hold.
    #[error("block claims {count} values, more than its {limit} possible")]
    TooManyValues {
        /// The count in the block.
        count: u64,
        /// The most values a block of this size and scheme can hold.
        limit: u64,
    },
    /// Bytes are left over after the last value.
    #[error("{extra} trailing bytes after the block's end at offset {offset}")]
    TrailingBytes {
        /// Where the block's content ended.
        offset: usize,
        /// How many bytes follow it.
        extra: usize,
    },
    /// The LZ4-compressed string payload does not decompress to its recorded size.
    #[error("string payload at offset {offset} does not decompress: {reason}")]
    Decompress {
        /// Where the compressed payload starts.
        offset: usize,
        /// The decompressor's reason.
        reason: String,
    },
}
