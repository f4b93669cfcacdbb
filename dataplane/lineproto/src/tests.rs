use super::*;

fn one(s: &str) -> Result<Line<'_>, String> {
    let mut p = parse(s.as_bytes(), Precision::Nanosecond);
    let r = p.next().expect("a line");
    assert!(p.next().is_none(), "one line");
    r.map_err(|e| e.to_string())
}

fn key(s: &str) -> String {
    let l = one(s).unwrap();
    let mut out = Vec::new();
    series_key(&l, &mut out);
    String::from_utf8(out).unwrap()
}

/// Error texts recorded from influxd 1.6.7 (`POST /write` answers).
#[test]
fn errors_match_influxd() {
    let cases = [
        ("cpu", "missing fields"),
        ("cpu ", "invalid field format"),
        ("cpu,host v=1", "missing tag value"),
        ("cpu,host= v=1", "missing tag value"),
        ("cpu,=a v=1", "missing tag key"),
        (",host=a v=1", "missing measurement"),
        ("cpu v=1u", "invalid number"),
        ("cpu v=99999999999999999999i", "unable to parse integer 99999999999999999999: strconv.ParseInt: parsing \"99999999999999999999\": value out of range"),
        ("cpu v=NaN", "invalid number"),
        ("cpu v=nan", "invalid number"),
        ("cpu v=inf", "invalid boolean"),
        ("cpu v=+1", "invalid boolean"),
        ("cpu v=abc", "invalid boolean"),
        ("cpu v=tru", "invalid boolean"),
        ("cpu v=\"abc", "unbalanced quotes"),
        ("cpu v=1 abc", "bad timestamp"),
        ("cpu v=1 1.5", "bad timestamp"),
        ("cpu v=1 1e9", "bad timestamp"),
        ("cpu v=1 99999999999999999999", "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"),
        ("cpu =1", "missing field key"),
        ("cpu v", "invalid field format"),
        ("cpu v=1,", "invalid field format"),
        ("cpu v=1,w=2,=3 11", "missing field key"),
        ("cpu v=1 1 2", "point is invalid"),
        ("cpu,a=1,a=2 v=1", "duplicate tags"),
        ("cpu v=1e", "invalid float"),
        ("cpu v=0x10", "invalid number"),
        ("cpu v=1_000", "invalid number"),
        ("cpu v=-", "invalid number"),
        ("cpu v=--1", "invalid number"),
        ("cpu v=1ii", "invalid number"),
        ("cpu v=9223372036854775808i", "unable to parse integer 9223372036854775808: strconv.ParseInt: parsing \"9223372036854775808\": value out of range"),
        ("cpu v=1 9223372036854775807", "time outside range -9223372036854775806 - 9223372036854775806"),
        ("cpu,a=b, v=1", "missing tag key"),
        ("cpu, v=1", "missing tag key"),
        ("cpu\\\\ v=1 13", "invalid field format"),
        ("cpu v=1 1\r", "bad timestamp"),
    ];
    for (input, reason) in cases {
        let err = one(input)
            .err()
            .unwrap_or_else(|| panic!("{input:?} parsed"));
        assert_eq!(
            err,
            format!("unable to parse '{input}': {reason}"),
            "input {input:?}"
        );
    }
}

#[test]
fn values_of_every_type() {
    let l = one("cpu,host=a f=1.5,n=-2.5e3,i=-9223372036854775808i,b=TRUE,c=f,s=\"a\\\"b\\\\c\",d=.5,e=1. 123").unwrap();
    assert_eq!(l.timestamp, Some(123));
    let v: Vec<FieldValue<'_>> = l.fields.iter().map(|(_, v)| *v).collect();
    assert_eq!(v[0], FieldValue::Float(1.5));
    assert_eq!(v[1], FieldValue::Float(-2500.0));
    assert_eq!(v[2], FieldValue::Integer(i64::MIN));
    assert_eq!(v[3], FieldValue::Boolean(true));
    assert_eq!(v[4], FieldValue::Boolean(false));
    match v[5] {
        FieldValue::Str(s) => assert_eq!(&*s.unescaped(), b"a\"b\\c"),
        other => panic!("{other:?}"),
    }
    assert_eq!(v[6], FieldValue::Float(0.5));
    assert_eq!(v[7], FieldValue::Float(1.0));
}

#[test]
fn keys_sort_tags_and_keep_escapes() {
    assert_eq!(key("cpu,b=1,a=2 v=1"), "cpu,a=2,b=1");
    assert_eq!(key("c\\ pu,t\\=k=v\\,x s=\"x\" 7"), "c\\ pu,t\\=k=v\\,x");
    let l = one("c\\ pu,t\\=k=v\\,x s=\"x\" 7").unwrap();
    assert_eq!(&*l.measurement.unescaped(), b"c pu");
    assert_eq!(&*l.tags[0].0.unescaped(), b"t=k");
    assert_eq!(&*l.tags[0].1.unescaped(), b"v,x");
}

#[test]
fn lines_comments_blank_and_multiline_strings() {
    let body = "# comment\n\n  cpu v=1 1\r\ncpu  v=1   2\ncpu v=\"multi\nline\" 3\nbad\ncpu v=2 4";
    let got: Vec<Result<Line<'_>, LineError>> =
        parse(body.as_bytes(), Precision::Nanosecond).collect();
    assert_eq!(got.len(), 5);
    assert!(
        got[0].is_err(),
        "CRLF leaves \\r in the timestamp, as influxd says"
    );
    assert_eq!(got[1].as_ref().unwrap().timestamp, Some(2));
    match got[2].as_ref().unwrap().fields[0].1 {
        FieldValue::Str(s) => assert_eq!(s.raw(), b"multi\nline"),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(
        got[3].as_ref().unwrap_err().to_string(),
        "unable to parse 'bad': missing fields"
    );
    assert_eq!(got[4].as_ref().unwrap().timestamp, Some(4));
}

#[test]
fn precision_scales_and_checks_range() {
    let l = parse(b"cpu v=1 5", Precision::Second)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(l.timestamp, Some(5_000_000_000));
    let e = parse(b"cpu v=1 9223372036854775", Precision::Hour)
        .next()
        .unwrap();
    assert!(e.unwrap_err().reason.starts_with("time outside range"));
    let l = parse(b"cpu v=1 -1", Precision::Nanosecond)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(l.timestamp, Some(-1));
    assert_eq!(Precision::parse("ms"), Some(Precision::Millisecond));
    assert_eq!(Precision::parse("xx"), None);
}

#[test]
fn max_key_length() {
    let long = format!("cpu,t={} v=1", "x".repeat(70_000));
    let e = one(&long).unwrap_err();
    assert!(
        e.contains("max key length exceeded: 70006 > 65535"),
        "{}",
        &e[e.len() - 60..]
    );
}

#[test]
fn never_panics_on_mutations() {
    // Deterministic xorshift over mutations of valid and invalid lines.
    let seeds: &[&[u8]] = &[
        b"cpu,host=a,region=b f=1.5,i=2i,s=\"x y\",b=t 1000",
        b"m\\ x,t\\,k=v\\=w v=\"q\\\"\" -5",
        b"cpu v=1e5,w=-.5 9",
    ];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let alphabet = b" ,=\\\"\n.-+eEiu0123456789tfTFabc#\r\t";
    for _ in 0..20_000 {
        let mut line = seeds[(next() % seeds.len() as u64) as usize].to_vec();
        for _ in 0..(next() % 6) {
            let pos = (next() % (line.len() as u64 + 1)) as usize;
            let c = alphabet[(next() % alphabet.len() as u64) as usize];
            match next() % 3 {
                0 if pos < line.len() => line[pos] = c,
                1 if pos < line.len() => {
                    line.remove(pos);
                }
                _ => line.insert(pos, c),
            }
        }
        for p in [Precision::Nanosecond, Precision::Hour] {
            for r in parse(&line, p).flatten() {
                let mut k = Vec::new();
                series_key(&r, &mut k);
                let _ = r.measurement.unescaped();
                for (_, v) in &r.fields {
                    if let FieldValue::Str(s) = v {
                        let _ = s.unescaped();
                    }
                }
            }
        }
    }
}
