//! Compressed column codecs for Tessera's immutable columnar files.
//!
//! Each column block (the storage engine writes ~1000 values a block; any count from 0
//! up works) is self-describing: one header byte whose high nibble names the column
//! type and low nibble the scheme, then the value count as a varint, then the scheme's
//! body. The encoder picks the smallest scheme per block; decoders dispatch on the
//! header, validate everything and return [`CodecError`] on corrupt input, never panic,
//! and never allocate more than the block's size can justify.
//!
//! | column | schemes |
//! |---|---|
//! | timestamps, integers, unsigned | constant delta (RLE); 0/1/2-times differenced, frame-of-reference, GCD-scaled, bit-packed |
//! | floats | decimal (ALP-style scaled integers + exceptions); Gorilla XOR; raw |
//! | bools | all-equal; bit-packed |
//! | strings | dictionary + packed indexes; packed lengths + raw bytes; + LZ4 |
//!
//! # Layout
//! - `lib.rs` — the public API, block header and dispatch.
//! - `error.rs` — [`CodecError`].
//! - `wire.rs` — varints, zigzag, the bounds-checked reader.
//! - `pack.rs` — miniblock bit-packing shared by all schemes.
//! - `int64.rs` — the integer body (timestamps, integers, unsigned, decimal floats).
//! - `float.rs` — float schemes and decimal detection; `gorilla.rs` — XOR fallback.
//! - `bools.rs`, `strings.rs` — bool and string schemes; [`Strings`] is the zero-copy
//!   (one buffer plus offsets) decode target.

mod bools;
mod error;
mod float;
mod gorilla;
mod int64;
mod pack;
mod strings;
mod wire;

pub use error::CodecError;
pub use strings::Strings;

use wire::{put_varint, Reader};

/// The most values an all-equal (RLE) block may claim. RLE blocks are a few bytes
/// whatever their count, so this caps what a corrupt count can make a decoder allocate
/// (8 MiB of `i64`); encoders use a packed scheme for larger blocks.
pub const MAX_RLE_VALUES: u64 = 1 << 20;

/// Column types, the header byte's high nibble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Timestamp = 1,
    Float = 2,
    Integer = 3,
    Unsigned = 4,
    Bool = 5,
    String = 6,
}

impl Column {
    fn from_nibble(n: u8) -> Option<Column> {
        Some(match n {
            1 => Column::Timestamp,
            2 => Column::Float,
            3 => Column::Integer,
            4 => Column::Unsigned,
            5 => Column::Bool,
            6 => Column::String,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Column::Timestamp => "timestamp",
            Column::Float => "float",
            Column::Integer => "integer",
            Column::Unsigned => "unsigned",
            Column::Bool => "bool",
            Column::String => "string",
        }
    }

    /// The most values a body of `scheme` in `remaining` bytes can hold, or `None` when
    /// the scheme does not exist for this column type.
    fn max_count(self, scheme: u8, remaining: usize) -> Option<u64> {
        match self {
            Column::Timestamp | Column::Integer | Column::Unsigned => {
                int64::max_count(scheme, remaining)
            }
            Column::Float => float::max_count(scheme, remaining),
            Column::Bool => bools::max_count(scheme, remaining),
            Column::String => strings::max_count(scheme, remaining),
        }
    }
}

/// Writes a header placeholder and the count, runs `body`, then fills in the scheme.
fn encode_block(
    column: Column,
    count: usize,
    out: &mut Vec<u8>,
    body: impl FnOnce(&mut Vec<u8>) -> u8,
) {
    let at = out.len();
    out.push(0);
    put_varint(out, count as u64);
    let scheme = body(out);
    out[at] = (column as u8) << 4 | scheme;
}

/// A parsed header: the scheme, the validated count and a reader at the body.
struct Header<'a> {
    scheme: u8,
    count: usize,
    reader: Reader<'a>,
}

fn open(block: &[u8], want: Option<Column>) -> Result<Header<'_>, CodecError> {
    let mut reader = Reader::new(block);
    let header = reader.byte("header").map_err(|_| CodecError::Empty)?;
    let column = Column::from_nibble(header >> 4).ok_or(CodecError::UnknownHeader { header })?;
    if let Some(want) = want {
        if want != column {
            return Err(CodecError::WrongType {
                expected: want.name(),
                found: column.name(),
            });
        }
    }
    let scheme = header & 0x0f;
    // The count's own bytes are part of `remaining` here: a slight overestimate, harmless.
    let limit = column
        .max_count(scheme, reader.remaining())
        .ok_or(CodecError::UnknownHeader { header })?;
    let count = reader.count(limit)?;
    Ok(Header {
        scheme,
        count,
        reader,
    })
}

/// Runs `decode` and, on error, removes whatever it appended to `out`.
fn atomically<T>(
    out: &mut Vec<T>,
    decode: impl FnOnce(&mut Vec<T>) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let len = out.len();
    let res = decode(out);
    if res.is_err() {
        out.truncate(len);
    }
    res
}

fn decode_int_column<T>(
    block: &[u8],
    column: Column,
    out: &mut Vec<T>,
    conv: impl Fn(i64) -> T + Copy,
) -> Result<(), CodecError> {
    let mut h = open(block, Some(column))?;
    atomically(out, |out| {
        int64::decode_body(h.scheme, &mut h.reader, h.count, out, conv)?;
        h.reader.finish()
    })
}

/// Encodes timestamps (nanoseconds), appending one block to `out`. Sorted input with a
/// constant interval costs a few bytes per block; any input round-trips.
pub fn encode_timestamps(ts: &[i64], out: &mut Vec<u8>) {
    encode_block(Column::Timestamp, ts.len(), out, |out| {
        int64::encode_body(ts, out)
    });
}

/// Decodes a timestamp block, appending its values to `out` (on error `out` is left as
/// it was).
pub fn decode_timestamps(block: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
    decode_int_column(block, Column::Timestamp, out, |v| v)
}

/// Encodes floats bit-exactly, appending one block to `out`.
pub fn encode_floats(v: &[f64], out: &mut Vec<u8>) {
    encode_block(Column::Float, v.len(), out, |out| {
        float::encode_body(v, out)
    });
}

/// Decodes a float block, appending its values to `out` (on error `out` is left as it
/// was).
pub fn decode_floats(block: &[u8], out: &mut Vec<f64>) -> Result<(), CodecError> {
    let mut h = open(block, Some(Column::Float))?;
    atomically(out, |out| {
        float::decode_body(h.scheme, &mut h.reader, h.count, out)?;
        h.reader.finish()
    })
}

/// Encodes signed integers, appending one block to `out`.
pub fn encode_integers(v: &[i64], out: &mut Vec<u8>) {
    encode_block(Column::Integer, v.len(), out, |out| {
        int64::encode_body(v, out)
    });
}

/// Decodes an integer block, appending its values to `out` (on error `out` is left as
/// it was).
pub fn decode_integers(block: &[u8], out: &mut Vec<i64>) -> Result<(), CodecError> {
    decode_int_column(block, Column::Integer, out, |v| v)
}

/// Encodes unsigned integers, appending one block to `out`.
pub fn encode_unsigned(v: &[u64], out: &mut Vec<u8>) {
    // Bit-cast: the integer body's arithmetic wraps, so every u64 survives.
    let signed: Vec<i64> = v.iter().map(|&x| x as i64).collect();
    encode_block(Column::Unsigned, v.len(), out, |out| {
        int64::encode_body(&signed, out)
    });
}

/// Decodes an unsigned block, appending its values to `out` (on error `out` is left as
/// it was).
pub fn decode_unsigned(block: &[u8], out: &mut Vec<u64>) -> Result<(), CodecError> {
    decode_int_column(block, Column::Unsigned, out, |v| v as u64)
}

/// Encodes booleans, appending one block to `out`.
pub fn encode_bools(v: &[bool], out: &mut Vec<u8>) {
    encode_block(Column::Bool, v.len(), out, |out| bools::encode_body(v, out));
}

/// Decodes a bool block, appending its values to `out` (on error `out` is left as it
/// was).
pub fn decode_bools(block: &[u8], out: &mut Vec<bool>) -> Result<(), CodecError> {
    let mut h = open(block, Some(Column::Bool))?;
    atomically(out, |out| {
        bools::decode_body(h.scheme, &mut h.reader, h.count, out)?;
        h.reader.finish()
    })
}

/// Encodes strings (any bytes), appending one block to `out`.
pub fn encode_strings<S: AsRef<[u8]>>(v: &[S], out: &mut Vec<u8>) {
    encode_block(Column::String, v.len(), out, |out| {
        strings::encode_body(v, out)
    });
}

/// Decodes a string block, appending one `Vec<u8>` per value to `out` (on error `out`
/// is left as it was). [`decode_strings_flat`] avoids the per-value allocations.
pub fn decode_strings(block: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), CodecError> {
    let mut flat = Strings::default();
    decode_strings_flat(block, &mut flat)?;
    out.reserve(flat.len());
    out.extend(flat.iter().map(<[u8]>::to_vec));
    Ok(())
}

/// Decodes a string block into one buffer plus end offsets, appending to `out` (on
/// error `out` is left as it was).
pub fn decode_strings_flat(block: &[u8], out: &mut Strings) -> Result<(), CodecError> {
    let mut h = open(block, Some(Column::String))?;
    let (values, bytes) = (out.ends.len(), out.data.len());
    let res = strings::decode_body(h.scheme, &mut h.reader, h.count, out)
        .and_then(|()| h.reader.finish());
    if res.is_err() {
        out.ends.truncate(values);
        out.data.truncate(bytes);
    }
    res
}

/// The number of values in a block of any column type, read from its header without
/// decoding the body (which may still turn out to be corrupt).
pub fn block_len(block: &[u8]) -> Result<usize, CodecError> {
    open(block, None).map(|h| h.count)
}
