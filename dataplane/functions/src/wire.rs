//! The binary wire format for shipping reducer state between nodes
//! ([`crate::Reducer::encode`] / [`crate::Reducer::decode`]) and the
//! primitives it is built from, usable for values and points too.
//!
//! Little-endian, self-delimiting, no schema: unsigned integers are LEB128
//! varints (minimal form only), signed ones zigzag varints, floats their 8
//! IEEE bits (NaN payloads and -0.0 survive), strings a varint byte length
//! then UTF-8. Decoding never trusts a length: a count is refused unless
//! the remaining bytes can hold that many items, so no allocation exceeds
//! a small multiple of the input size.

use crate::error::FunctionError;
use crate::value::{Point, Value};

/// Appends `v` as an LEB128 varint (1 to 10 bytes).
pub fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded, so small magnitudes of either sign are short.
pub fn put_ivarint(out: &mut Vec<u8>, v: i64) {
    put_uvarint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends the 8 bits of `v`, little-endian.
pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

/// Appends `v` as one byte, 0 or 1.
pub fn put_bool(out: &mut Vec<u8>, v: bool) {
    out.push(u8::from(v));
}

/// Appends a varint byte length, then the bytes.
pub fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

/// Appends a varint byte length, then the bytes (not necessarily UTF-8).
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uvarint(out, b.len() as u64);
    out.extend_from_slice(b);
}

// Value tags; 0 is null.
const NULL: u8 = 0;
const FLOAT: u8 = 1;
const INTEGER: u8 = 2;
const UNSIGNED: u8 = 3;
const STRING: u8 = 4;
const BOOLEAN: u8 = 5;

/// Appends a tag byte, then the value.
pub fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(NULL),
        Value::Float(x) => {
            out.push(FLOAT);
            put_f64(out, *x);
        }
        Value::Integer(x) => {
            out.push(INTEGER);
            put_ivarint(out, *x);
        }
        Value::Unsigned(x) => {
            out.push(UNSIGNED);
            put_uvarint(out, *x);
        }
        Value::String(s) => {
            out.push(STRING);
            put_str(out, s);
        }
        Value::Boolean(b) => {
            out.push(BOOLEAN);
            put_bool(out, *b);
        }
    }
}

/// Appends time (zigzag), aux (varint) and value.
pub fn put_point(out: &mut Vec<u8>, p: &Point) {
    put_ivarint(out, p.time);
    put_uvarint(out, p.aux);
    put_value(out, &p.value);
}

/// A cursor over an encoding. Every read checks the remaining length and
/// returns [`FunctionError::Decode`] naming what it was reading and where.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// An error at the current position.
    pub fn error(&self, what: &str, why: &str) -> FunctionError {
        FunctionError::Decode(format!("{what} at byte {}: {why}", self.pos))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FunctionError> {
        if n > self.remaining() {
            return Err(self.error(what, "truncated"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// One byte.
    pub fn u8(&mut self, what: &str) -> Result<u8, FunctionError> {
        Ok(self.take(1, what)?[0])
    }

    /// An LEB128 varint; overlong or non-minimal forms are refused, so an
    /// accepted encoding re-encodes to the same bytes.
    pub fn uvarint(&mut self, what: &str) -> Result<u64, FunctionError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8(what)?;
            if i == 9 && b > 1 {
                return Err(self.error(what, "varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(self.error(what, "varint not in minimal form"));
                }
                return Ok(v);
            }
        }
        Err(self.error(what, "varint longer than 10 bytes"))
    }

    /// A zigzag varint.
    pub fn ivarint(&mut self, what: &str) -> Result<i64, FunctionError> {
        let u = self.uvarint(what)?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    /// 8 little-endian bytes as float bits.
    pub fn f64(&mut self, what: &str) -> Result<f64, FunctionError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    /// A byte that must be 0 or 1.
    pub fn bool(&mut self, what: &str) -> Result<bool, FunctionError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.error(what, "boolean byte is neither 0 nor 1")),
        }
    }

    /// A length-prefixed UTF-8 string, borrowed from the input.
    pub fn str(&mut self, what: &str) -> Result<&'a str, FunctionError> {
        let b = self.bytes(what)?;
        std::str::from_utf8(b).map_err(|_| self.error(what, "invalid UTF-8"))
    }

    /// Length-prefixed bytes, borrowed from the input.
    pub fn bytes(&mut self, what: &str) -> Result<&'a [u8], FunctionError> {
        let n = self.count(1, what)?;
        self.take(n, what)
    }

    /// A varint count of items that follow, each taking at least
    /// `min_item` bytes: refused when the rest of the input cannot hold
    /// them, so `Vec::with_capacity(count)` is safe.
    pub fn count(&mut self, min_item: usize, what: &str) -> Result<usize, FunctionError> {
        let n = self.uvarint(what)?;
        let fits = n
            .checked_mul(min_item.max(1) as u64)
            .is_some_and(|bytes| bytes <= self.remaining() as u64);
        if !fits {
            return Err(self.error(what, "count exceeds the remaining input"));
        }
        Ok(n as usize)
    }

    /// A value written by [`put_value`].
    pub fn value(&mut self) -> Result<Value, FunctionError> {
        Ok(match self.u8("value tag")? {
            NULL => Value::Null,
            FLOAT => Value::Float(self.f64("float value")?),
            INTEGER => Value::Integer(self.ivarint("integer value")?),
            UNSIGNED => Value::Unsigned(self.uvarint("unsigned value")?),
            STRING => Value::String(self.str("string value")?.to_string()),
            BOOLEAN => Value::Boolean(self.bool("boolean value")?),
            _ => return Err(self.error("value tag", "unknown tag")),
        })
    }

    /// A point written by [`put_point`].
    pub fn point(&mut self) -> Result<Point, FunctionError> {
        let time = self.ivarint("point time")?;
        let aux = self.uvarint("point aux")?;
        let value = self.value()?;
        Ok(Point { time, value, aux })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_refuse_junk() {
        for v in [0, 1, 127, 128, 300, u64::MAX / 3, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            let mut r = Reader::new(&b);
            assert_eq!(r.uvarint("v"), Ok(v));
            assert_eq!(r.remaining(), 0);
        }
        for v in [0, -1, 1, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            put_ivarint(&mut b, v);
            assert_eq!(Reader::new(&b).ivarint("v"), Ok(v));
        }
        for junk in [&[0x80u8][..], &[0x80, 0x00], &[0xff; 10], &[0xff; 11]] {
            assert!(Reader::new(junk).uvarint("v").is_err(), "{junk:?}");
        }
    }

    #[test]
    fn values_and_points_round_trip_to_the_bit() {
        let nan = f64::from_bits(0x7ff8_0000_dead_beef);
        let vals = [
            Value::Null,
            Value::Float(-0.0),
            Value::Float(nan),
            Value::Integer(i64::MIN),
            Value::Unsigned(u64::MAX),
            Value::String("héllo ☃".into()),
            Value::Boolean(true),
        ];
        let mut b = Vec::new();
        for (i, v) in vals.iter().enumerate() {
            put_point(
                &mut b,
                &Point {
                    time: -(i as i64),
                    value: v.clone(),
                    aux: i as u64,
                },
            );
        }
        let mut r = Reader::new(&b);
        for (i, v) in vals.iter().enumerate() {
            let p = r.point().expect("point");
            assert_eq!((p.time, p.aux), (-(i as i64), i as u64));
            match (&p.value, v) {
                (Value::Float(a), Value::Float(b)) => assert_eq!(a.to_bits(), b.to_bits()),
                (a, b) => assert_eq!(a, b),
            }
        }
        assert_eq!(r.remaining(), 0);
        // A string whose length runs past the end, and invalid UTF-8.
        assert!(Reader::new(&[STRING, 5, b'a']).value().is_err());
        assert!(Reader::new(&[STRING, 1, 0xff]).value().is_err());
    }
}
