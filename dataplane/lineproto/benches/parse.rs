//! Parsing throughput on the standard workload, against the `influxdb-line-protocol` crate.
//!
//! The body is `gen_lp.py`'s shape (10 000 series × 10 points, 5 floats, an integer, a
//! string every 10th and a boolean every 20th point), made here deterministically; set
//! `LP_FILE=/tmp/lp.txt` to parse a file instead, e.g. one written by
//! `python3 shared/peer/gen_lp.py --series 10000 --points-per-series 10 --stdout`.
//!
//! `cargo bench -p tessera-lineproto --bench parse`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tessera_lineproto::{parse, series_key, FieldValue, Line, Precision};

const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
];
const FIELDS: [&str; 5] = [
    "usage_user",
    "usage_system",
    "usage_idle",
    "usage_iowait",
    "usage_nice",
];

fn workload() -> Vec<u8> {
    if let Ok(path) = std::env::var("LP_FILE") {
        return std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out = Vec::with_capacity(18 << 20);
    let start: i64 = 1_577_836_800_000_000_000;
    for point in 0..10u64 {
        for series in 0..10_000u64 {
            let region = REGIONS[(series % 6) as usize];
            let az = (b'a' + (series / 6 % 3) as u8) as char;
            out.extend_from_slice(
                format!("cpu,az={region}{az},host=host_{series},region={region} ").as_bytes(),
            );
            for f in FIELDS {
                let v = rnd() % 10_000;
                out.extend_from_slice(format!("{f}={}.{:02},", v / 100, v % 100).as_bytes());
            }
            out.extend_from_slice(format!("uptime={}i", series * 1000 + point * 10).as_bytes());
            if (series + point) % 10 == 0 {
                out.extend_from_slice(b",status=\"ok\"");
            }
            if (series + point) % 20 == 0 {
                out.extend_from_slice(b",throttled=false");
            }
            out.extend_from_slice(
                format!(" {}\n", start + point as i64 * 10_000_000_000).as_bytes(),
            );
        }
    }
    out
}

fn ours(body: &[u8]) -> usize {
    let mut p = parse(body, Precision::Nanosecond);
    let mut line = Line::empty();
    let mut n = 0;
    while let Some(r) = p.next_into(&mut line) {
        r.expect("valid workload");
        n += line.fields.len();
    }
    n
}

fn ours_with_key(body: &[u8]) -> usize {
    let mut p = parse(body, Precision::Nanosecond);
    let mut line = Line::empty();
    let mut key = Vec::with_capacity(256);
    let mut n = 0;
    while let Some(r) = p.next_into(&mut line) {
        r.expect("valid workload");
        key.clear();
        series_key(&line, &mut key);
        n += key.len();
        for (_, v) in &line.fields {
            if let FieldValue::Float(f) = v {
                n += *f as usize;
            }
        }
    }
    n
}

fn theirs(body: &str) -> usize {
    let mut n = 0;
    for l in influxdb_line_protocol::parse_lines(body) {
        n += l.expect("valid workload").field_set.len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let body = workload();
    let text = std::str::from_utf8(&body).expect("workload is UTF-8");
    let lines = body.iter().filter(|&&b| b == b'\n').count() as u64;
    assert_eq!(
        ours(&body),
        theirs(text),
        "both parsers see the same fields"
    );
    for (name, tp) in [
        ("bytes", Throughput::Bytes(body.len() as u64)),
        ("lines", Throughput::Elements(lines)),
    ] {
        let mut g = c.benchmark_group(format!("parse_{name}"));
        g.throughput(tp);
        g.sample_size(20);
        g.bench_function("tessera", |b| b.iter(|| ours(black_box(&body))));
        g.bench_function("tessera_with_series_key", |b| {
            b.iter(|| ours_with_key(black_box(&body)))
        });
        g.bench_function("influxdb_line_protocol", |b| {
            b.iter(|| theirs(black_box(text)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
