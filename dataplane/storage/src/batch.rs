//! The encoded write batch for one partition.
//!
//! Layout (little-endian): `u32 point count`, then per point
//! `u16 key len, series key, i64 timestamp, u16 field count`, then per field
//! `u16 name len, name, u8 type, value` where the value is 8 bytes for float, integer and
//! unsigned, 1 byte for boolean, and `u32 len` + bytes for strings. The series key is
//! InfluxDB's canonical form (`measurement,tag=value,…`, tags sorted, escaped).

use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("write batch truncated at byte {0}")]
    Truncated(usize),
    #[error("write batch has unknown field type {typ} at byte {at}")]
    BadType { typ: u8, at: usize },
    #[error("write batch has {0} trailing bytes")]
    Trailing(usize),
    #[error("series key of {0} bytes exceeds the limit of 65535")]
    KeyTooLong(usize),
    #[error("field name of {0} bytes exceeds the limit of 65535")]
    FieldTooLong(usize),
}

/// A field's type, as InfluxDB knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldType {
    Float = 1,
    Integer = 2,
    Unsigned = 3,
    Boolean = 4,
    String = 5,
}

impl FieldType {
    pub fn from_u8(v: u8) -> Option<FieldType> {
        Some(match v {
            1 => FieldType::Float,
            2 => FieldType::Integer,
            3 => FieldType::Unsigned,
            4 => FieldType::Boolean,
            5 => FieldType::String,
            _ => return None,
        })
    }

    /// The name InfluxDB uses in errors and `SHOW FIELD KEYS`.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Float => "float",
            FieldType::Integer => "integer",
            FieldType::Unsigned => "unsigned",
            FieldType::Boolean => "boolean",
            FieldType::String => "string",
        }
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field value borrowed from a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Boolean(bool),
    Str(&'a [u8]),
}

impl Value<'_> {
    pub fn field_type(&self) -> FieldType {
        match self {
            Value::Float(_) => FieldType::Float,
            Value::Integer(_) => FieldType::Integer,
            Value::Unsigned(_) => FieldType::Unsigned,
            Value::Boolean(_) => FieldType::Boolean,
            Value::Str(_) => FieldType::String,
        }
    }
}

/// Builds a batch point by point.
#[derive(Debug)]
pub struct BatchBuilder {
    buf: Vec<u8>,
    points: u32,
    /// Where the current point's field count lives, and how many fields it has so far.
    open_point: Option<(usize, u16)>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchBuilder {
    pub fn new() -> Self {
        BatchBuilder {
            buf: vec![0; 4],
            points: 0,
            open_point: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    pub fn len(&self) -> usize {
        self.points as usize
    }

    /// Starts a point; add its fields with [`BatchBuilder::field`].
    pub fn point(&mut self, series_key: &[u8], timestamp: i64) -> Result<(), BatchError> {
        let len = u16::try_from(series_key.len())
            .map_err(|_| BatchError::KeyTooLong(series_key.len()))?;
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(series_key);
        self.buf.extend_from_slice(&timestamp.to_le_bytes());
        self.open_point = Some((self.buf.len(), 0));
        self.buf.extend_from_slice(&0u16.to_le_bytes());
        self.points += 1;
        Ok(())
    }

    /// Adds a field to the point started last.
    pub fn field(&mut self, name: &[u8], value: Value<'_>) -> Result<(), BatchError> {
        let len = u16::try_from(name.len()).map_err(|_| BatchError::FieldTooLong(name.len()))?;
        let (at, count) = self
            .open_point
            .as_mut()
            .expect("BatchBuilder::field called before point");
        *count += 1;
        let (at, count) = (*at, *count);
        self.buf[at..at + 2].copy_from_slice(&count.to_le_bytes());
        self.buf.extend_from_slice(&len.to_le_bytes());
        self.buf.extend_from_slice(name);
        self.buf.push(value.field_type() as u8);
        match value {
            Value::Float(v) => self.buf.extend_from_slice(&v.to_bits().to_le_bytes()),
            Value::Integer(v) => self.buf.extend_from_slice(&v.to_le_bytes()),
            Value::Unsigned(v) => self.buf.extend_from_slice(&v.to_le_bytes()),
            Value::Boolean(v) => self.buf.push(v as u8),
            Value::Str(s) => {
                self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                self.buf.extend_from_slice(s);
            }
        }
        Ok(())
    }

    /// The encoded batch.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf[0..4].copy_from_slice(&self.points.to_le_bytes());
        self.buf
    }
}

/// One point read from a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRef<'a> {
    pub series_key: &'a [u8],
    pub timestamp: i64,
    pub fields: Vec<(&'a [u8], Value<'a>)>,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BatchError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or(BatchError::Truncated(self.pos))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, BatchError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, BatchError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, BatchError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, BatchError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Decodes a whole batch, validating every length and type; calls `f` per point. The
/// point passed is reused from one call to the next (no allocation per point).
pub fn for_each_point<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(&PointRef<'a>),
) -> Result<(), BatchError> {
    let mut r = Reader { buf, pos: 0 };
    let count = r.u32()?;
    let mut point = PointRef {
        series_key: &[],
        timestamp: 0,
        fields: Vec::new(),
    };
    for _ in 0..count {
        let key_len = r.u16()? as usize;
        point.series_key = r.take(key_len)?;
        point.timestamp = r.u64()? as i64;
        let nfields = r.u16()?;
        point.fields.clear();
        for _ in 0..nfields {
            let name_len = r.u16()? as usize;
            let name = r.take(name_len)?;
            let at = r.pos;
            let typ = r.u8()?;
            let value = match FieldType::from_u8(typ) {
                Some(FieldType::Float) => Value::Float(f64::from_bits(r.u64()?)),
                Some(FieldType::Integer) => Value::Integer(r.u64()? as i64),
                Some(FieldType::Unsigned) => Value::Unsigned(r.u64()?),
                Some(FieldType::Boolean) => Value::Boolean(r.u8()? != 0),
                Some(FieldType::String) => {
                    let n = r.u32()? as usize;
                    Value::Str(r.take(n)?)
                }
                None => return Err(BatchError::BadType { typ, at }),
            };
            point.fields.push((name, value));
        }
        f(&point);
    }
    if r.pos != buf.len() {
        return Err(BatchError::Trailing(buf.len() - r.pos));
    }
    Ok(())
}

/// The measurement part of a series key (up to the first unescaped comma).
pub fn measurement_of(series_key: &[u8]) -> &[u8] {
    let mut i = 0;
    while i < series_key.len() {
        match series_key[i] {
            b'\\' => i += 2,
            b',' => return &series_key[..i],
            _ => i += 1,
        }
    }
    series_key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_type() {
        let mut b = BatchBuilder::new();
        b.point(b"cpu,host=a", 10).unwrap();
        b.field(b"f", Value::Float(1.5)).unwrap();
        b.field(b"i", Value::Integer(-3)).unwrap();
        b.field(b"u", Value::Unsigned(u64::MAX)).unwrap();
        b.field(b"b", Value::Boolean(true)).unwrap();
        b.field(b"s", Value::Str(b"hello")).unwrap();
        b.point(b"mem", -5).unwrap();
        b.field(b"x", Value::Float(f64::NEG_INFINITY)).unwrap();
        let buf = b.finish();
        let mut points = Vec::new();
        for_each_point(&buf, |p| points.push(p.clone())).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].series_key, b"cpu,host=a");
        assert_eq!(points[0].fields[2], (&b"u"[..], Value::Unsigned(u64::MAX)));
        assert_eq!(points[0].fields[4], (&b"s"[..], Value::Str(b"hello")));
        assert_eq!(points[1].timestamp, -5);
    }

    #[test]
    fn corrupt_batches_are_errors() {
        let mut b = BatchBuilder::new();
        b.point(b"cpu", 1).unwrap();
        b.field(b"s", Value::Str(b"abc")).unwrap();
        let buf = b.finish();
        for cut in 0..buf.len() {
            assert!(for_each_point(&buf[..cut], |_| {}).is_err(), "cut at {cut}");
        }
        let mut bad = buf.clone();
        let type_at = 4 + 2 + 3 + 8 + 2 + 2 + 1;
        bad[type_at] = 99;
        assert!(matches!(
            for_each_point(&bad, |_| {}),
            Err(BatchError::BadType { .. })
        ));
        let mut long = buf;
        long.push(0);
        assert_eq!(for_each_point(&long, |_| {}), Err(BatchError::Trailing(1)));
    }

    #[test]
    fn measurement_respects_escapes() {
        assert_eq!(measurement_of(b"cpu,host=a"), b"cpu");
        assert_eq!(measurement_of(br"c\,pu,host=a"), br"c\,pu");
        assert_eq!(measurement_of(b"cpu"), b"cpu");
    }
}
