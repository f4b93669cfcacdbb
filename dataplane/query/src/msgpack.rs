//! `/query` answers as MessagePack (`Accept: application/x-msgpack`), byte for byte as
//! influxd 1.6's `msgpackFormatter` writes them with `tinylib/msgp`: the smallest
//! encoding of each integer (signed forms for signed values), float64 for floats, times
//! as msgp's time extension (type 5: seconds and nanoseconds, big-endian), a `series`
//! array in every result that has no error, and only the `error` of one that has.

use crate::output::{StatementResult, TimeFormat};
use crate::value::Value;

/// msgp's extension type for `time.Time`.
const TIME_EXTENSION: u8 = 5;

/// `{"results": […]}`.
pub fn results(results: &[StatementResult], tf: TimeFormat) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    map_header(&mut out, 1);
    string(&mut out, "results");
    array_header(&mut out, results.len());
    for r in results {
        result(&mut out, r, tf);
    }
    out
}

/// `{"error": "…"}`: a request that failed as a whole.
pub fn error(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    map_header(&mut out, 1);
    string(&mut out, "error");
    string(&mut out, message);
    out
}

fn result(out: &mut Vec<u8>, r: &StatementResult, tf: TimeFormat) {
    // influxd's msgpack writer gives a failed statement its error only, no id.
    if let Some(e) = &r.error {
        map_header(out, 1);
        string(out, "error");
        string(out, e);
        return;
    }
    let size = 2 + usize::from(!r.messages.is_empty()) + usize::from(r.partial);
    map_header(out, size);
    string(out, "statement_id");
    int(out, r.statement_id as i64);
    if !r.messages.is_empty() {
        string(out, "messages");
        array_header(out, r.messages.len());
        for (level, text) in &r.messages {
            map_header(out, 2);
            string(out, "level");
            string(out, level);
            string(out, "text");
            string(out, text);
        }
    }
    string(out, "series");
    array_header(out, r.series.len());
    for s in &r.series {
        let size = 2
            + usize::from(!s.name.is_empty())
            + usize::from(!s.tags.is_empty())
            + usize::from(s.partial);
        map_header(out, size);
        if !s.name.is_empty() {
            string(out, "name");
            string(out, &s.name);
        }
        if !s.tags.is_empty() {
            string(out, "tags");
            map_header(out, s.tags.len());
            for (k, v) in &s.tags {
                string(out, k);
                string(out, v);
            }
        }
        string(out, "columns");
        array_header(out, s.columns.len());
        for c in &s.columns {
            string(out, c);
        }
        string(out, "values");
        array_header(out, s.values.len());
        for row in &s.values {
            array_header(out, row.len());
            for v in row {
                value(out, v, tf);
            }
        }
        if s.partial {
            string(out, "partial");
            out.push(0xc3);
        }
    }
    if r.partial {
        string(out, "partial");
        out.push(0xc3);
    }
}

fn value(out: &mut Vec<u8>, v: &Value, tf: TimeFormat) {
    match v {
        Value::Null => out.push(0xc0),
        // A NaN is influxd's null (its functions answer null where Tessera's float is NaN).
        Value::Float(f) if f.is_nan() => out.push(0xc0),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Integer(i) => int(out, *i),
        Value::Unsigned(u) => uint(out, *u),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::String(s) => string(out, s),
        Value::Strings(v) => {
            array_header(out, v.len());
            for s in v {
                string(out, s);
            }
        }
        Value::Time(t) => match tf {
            TimeFormat::Epoch(unit) => int(out, t / unit),
            TimeFormat::Rfc3339 => {
                out.extend_from_slice(&[0xc7, 12, TIME_EXTENSION]);
                out.extend_from_slice(&t.div_euclid(1_000_000_000).to_be_bytes());
                out.extend_from_slice(&(t.rem_euclid(1_000_000_000) as i32).to_be_bytes());
            }
        },
    }
}

fn map_header(out: &mut Vec<u8>, n: usize) {
    header(out, n, 0x80, 0xde, 0xdf);
}

fn array_header(out: &mut Vec<u8>, n: usize) {
    header(out, n, 0x90, 0xdc, 0xdd);
}

/// A map or array header: the fix form up to 15 entries, else the 16- or 32-bit one.
fn header(out: &mut Vec<u8>, n: usize, fix: u8, m16: u8, m32: u8) {
    match n {
        0..=15 => out.push(fix | n as u8),
        16..=0xffff => {
            out.push(m16);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(m32);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    match n {
        0..=31 => out.push(0xa0 | n as u8),
        32..=0xff => out.extend_from_slice(&[0xd9, n as u8]),
        0x100..=0xffff => {
            out.push(0xda);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdb);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(s.as_bytes());
}

/// msgp's `WriteInt64`: a fixint when it fits, else the smallest signed form.
fn int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        if i <= i64::from(i8::MAX) {
            out.push(i as u8);
        } else if i <= i64::from(i16::MAX) {
            out.push(0xd1);
            out.extend_from_slice(&(i as i16).to_be_bytes());
        } else if i <= i64::from(i32::MAX) {
            out.push(0xd2);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

/// msgp's `WriteUint64`: a fixint when it fits, else the smallest unsigned form.
fn uint(out: &mut Vec<u8>, u: u64) {
    if u <= 0x7f {
        out.push(u as u8);
    } else if u <= 0xff {
        out.extend_from_slice(&[0xcc, u as u8]);
    } else if u <= 0xffff {
        out.push(0xcd);
        out.extend_from_slice(&(u as u16).to_be_bytes());
    } else if u <= 0xffff_ffff {
        out.push(0xce);
        out.extend_from_slice(&(u as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&u.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Series;

    fn enc(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn integers_take_msgp_forms() {
        assert_eq!(enc(|o| int(o, 0)), [0x00]);
        assert_eq!(enc(|o| int(o, 127)), [0x7f]);
        assert_eq!(enc(|o| int(o, 128)), [0xd1, 0x00, 0x80]);
        // influxd 1.6.7 answered `uptime` 1010 as d1 03 f2.
        assert_eq!(enc(|o| int(o, 1010)), [0xd1, 0x03, 0xf2]);
        assert_eq!(enc(|o| int(o, 40_000)), [0xd2, 0, 0, 0x9c, 0x40]);
        assert_eq!(enc(|o| int(o, -1)), [0xff]);
        assert_eq!(enc(|o| int(o, -32)), [0xe0]);
        assert_eq!(enc(|o| int(o, -33)), [0xd0, 0xdf]);
        assert_eq!(enc(|o| int(o, -129)), [0xd1, 0xff, 0x7f]);
        assert_eq!(enc(|o| int(o, i64::MIN))[0], 0xd3);
        assert_eq!(enc(|o| uint(o, 200)), [0xcc, 200]);
        assert_eq!(enc(|o| uint(o, u64::MAX))[0], 0xcf);
    }

    #[test]
    fn strings_and_headers_by_length() {
        assert_eq!(enc(|o| string(o, "cpu")), b"\xa3cpu");
        let s32 = "x".repeat(32);
        assert_eq!(enc(|o| string(o, &s32))[..2], [0xd9, 32]);
        let s300 = "x".repeat(300);
        assert_eq!(enc(|o| string(o, &s300))[..3], [0xda, 0x01, 0x2c]);
        assert_eq!(enc(|o| array_header(o, 18)), [0xdc, 0, 18]);
        assert_eq!(enc(|o| map_header(o, 2)), [0x82]);
    }

    #[test]
    fn a_result_as_influxd_writes_it() {
        // influxd 1.6.7: `SELECT * FROM cpu LIMIT 1` (two columns kept here), its bytes.
        let r = StatementResult {
            statement_id: 0,
            series: vec![Series {
                name: "cpu".into(),
                columns: vec!["time".into(), "uptime".into()],
                values: vec![vec![
                    Value::Time(1_672_531_200_000_000_000),
                    Value::Integer(1010),
                ]],
                ..Default::default()
            }],
            ..Default::default()
        };
        let got = results(&[r], TimeFormat::Rfc3339);
        let mut want =
            b"\x81\xa7results\x91\x82\xacstatement_id\x00\xa6series\x91\x83\xa4name\xa3cpu\
\xa7columns\x92\xa4time\xa6uptime\xa6values\x91\x92\xc7\x0c\x05"
                .to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0x63, 0xb0, 0xcd, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0xd1, 0x03, 0xf2]);
        assert_eq!(got, want);
        // A failed statement: its error only (influxd 1.6.7's bytes).
        let e = StatementResult::error(1, "not executed");
        assert_eq!(
            results(&[e], TimeFormat::Rfc3339),
            b"\x81\xa7results\x91\x81\xa5error\xacnot executed".to_vec()
        );
        // Times before 1970: seconds floor, nanoseconds positive.
        let mut out = Vec::new();
        value(&mut out, &Value::Time(-1), TimeFormat::Rfc3339);
        assert_eq!(&out[3..11], &(-1i64).to_be_bytes());
        assert_eq!(&out[11..], &999_999_999i32.to_be_bytes());
    }
}
