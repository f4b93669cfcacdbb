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
fn floats_parse_exactly() {
    for s in [
        "0.1",
        "12.34",
        "-0.000001",
        "123456789012345",
        "1234567890123456789",
        "9007199254740993",
        "1e10",
        "1.7976931348623157e308",
        "4.9e-324",
        "0.30000000000000004",
        "1.",
        ".5",
    ] {
        let text = format!("m v={s}");
        let l = one(&text).unwrap();
        assert_eq!(l.fields[0].1, FieldValue::Float(s.parse().unwrap()), "{s}");
    }
}

#[test]
fn keys_sort_tags_and_canonicalize_escapes() {
    assert_eq!(key("cpu,b=1,a=2 v=1"), "cpu,a=2,b=1");
    assert_eq!(key("c\\ pu,t\\=k=v\\,x s=\"x\" 7"), "c\\ pu,t\\=k=v\\,x");
    assert_eq!(key("m\\=x\\\"y\\,z v=1"), "m=x\"y\\,z");
    assert_eq!(key("m,t==x v=1"), "m,t=\\=x");
    assert_eq!(key("m2,z=1,a\\ b=2,a!=3 v=1"), "m2,a!=3,a\\ b=2,z=1");
    let l = one("c\\ pu,t\\=k=v\\,x s=\"x\" 7").unwrap();
    assert_eq!(&*l.measurement.unescaped(), b"c pu");
    assert_eq!(&*l.tags[0].0.unescaped(), b"t=k");
    assert_eq!(&*l.tags[0].1.unescaped(), b"v,x");
    let l = one("m,b=1,a=2 v=1").unwrap();
    let mut pk = Vec::new();
    point_key(&l, &mut pk);
    assert_eq!(pk, b"m,a=2,b=1");
    assert_eq!(l.tags[0].0.raw(), b"b", "tags stay in input order");
}

#[test]
fn lines_comments_blank_and_multiline_strings() {
    let body = "# comment\n\n  cpu v=1 1\r\ncpu  v=1   2\ncpu v=\"multi\nline\" 3\nbad\ncpu v=2 4";
    let got: Vec<Result<Line<'_>, LineError>> =
        parse(body.as_bytes(), Precision::Nanosecond).collect();
    assert_eq!(got.len(), 5);
    assert_eq!(
        got[0].as_ref().unwrap_err().to_string(),
        "unable to parse 'cpu v=1 1\r': bad timestamp"
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
fn next_into_reuses_the_line() {
    let body = b"a,t=1 v=1 1\nb v=2i 2\nbad\n";
    let mut p = parse(body, Precision::Nanosecond);
    let mut line = Line::empty();
    assert!(p.next_into(&mut line).unwrap().is_ok());
    assert_eq!(line.tags.len(), 1);
    assert!(p.next_into(&mut line).unwrap().is_ok());
    assert_eq!(line.tags.len(), 0);
    assert_eq!(line.fields[0].1, FieldValue::Integer(2));
    assert!(p.next_into(&mut line).unwrap().is_err());
    assert!(p.next_into(&mut line).is_none());
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
    assert_eq!(
        e.unwrap_err().reason,
        "time outside range -9223372036854775806 - 9223372036854775806"
    );
    assert_eq!(Precision::parse("ms"), Some(Precision::Millisecond));
    assert_eq!(
        Precision::parse("us"),
        None,
        "influxd 1.6.7 reads `us` as ns"
    );
    assert_eq!(Precision::Second.truncate(1_999_999_999), 1_000_000_000);
    assert_eq!(Precision::Second.truncate(-1), -1_000_000_000);
}

#[test]
fn max_key_length() {
    let long = format!("cpu,t={} v=1", "x".repeat(70_000));
    let e = one(&long).unwrap_err();
    assert!(e.ends_with("max key length exceeded: 70006 > 65535"));
    // The key plus "#!~#" plus the field name counts too.
    let m = "x".repeat(65_530);
    let ok = format!("{m} v=1");
    assert!(one(&ok).is_ok());
    let bad = format!("{m} vv=1");
    let e = one(&bad).unwrap_err();
    assert!(e.ends_with("max key length exceeded: 65536 > 65535"));
}

#[test]
fn go_lossy_replaces_each_bad_byte() {
    assert_eq!(
        parser::go_lossy(b"a\xf0\x9fb\xff"),
        "a\u{FFFD}\u{FFFD}b\u{FFFD}"
    );
}
