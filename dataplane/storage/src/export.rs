//! Line protocol out of a partition, as `influx_inspect export` writes it: one line per
//! field value, `series_key field=value timestamp`, series in key order, values in time
//! order.

use std::io::Write;

use crate::batch::Value;
use crate::partition::{Partition, PartitionError};

/// Escapes a field key as line protocol needs (`,`, `=` and space).
fn write_field_key(out: &mut Vec<u8>, key: &[u8]) {
    for &b in key {
        if matches!(b, b',' | b'=' | b' ') {
            out.push(b'\\');
        }
        out.push(b);
    }
}

/// Appends one field value in line-protocol form.
pub fn write_value(out: &mut Vec<u8>, v: Value<'_>) {
    match v {
        Value::Float(f) => {
            // Shortest digits that read back to the same f64, never an exponent, as
            // influxd prints floats (`strconv.FormatFloat(v, 'f', -1, 64)`): `3`, `1.5`.
            let _ = write!(out, "{f}");
        }
        Value::Integer(i) => {
            let _ = write!(out, "{i}i");
        }
        Value::Unsigned(u) => {
            let _ = write!(out, "{u}u");
        }
        Value::Boolean(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Str(s) => {
            out.push(b'"');
            for &b in s {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
    }
}

/// Writes every value of the partition with `min <= time <= max` to `out`.
pub async fn export_partition(
    p: &Partition,
    min: i64,
    max: i64,
    out: &mut Vec<u8>,
) -> Result<u64, PartitionError> {
    let mut lines = 0;
    for key in p.series_keys() {
        for (field, _) in p.fields_of(&key) {
            let Some(col) = p.read_field(&key, &field, min, max).await? else {
                continue;
            };
            for i in 0..col.len() {
                out.extend_from_slice(&key);
                out.push(b' ');
                write_field_key(out, &field);
                out.push(b'=');
                write_value(out, col.values.get(i));
                let _ = writeln!(out, " {}", col.ts[i]);
                lines += 1;
            }
        }
    }
    Ok(lines)
}
