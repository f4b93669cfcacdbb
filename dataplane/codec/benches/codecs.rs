//! Encode and decode throughput (values/s) of every column codec on 1000-value blocks
//! (the storage engine's block size) shaped like the standard workload; prints the
//! encoded bytes per value of each data set first.
//!
//! `cargo bench -p tessera-codec --bench codecs`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tessera_codec::*;

#[path = "../tests/common/mod.rs"]
mod common;

const N: usize = 1000;

struct Data {
    ts_regular: Vec<i64>,
    ts_jitter: Vec<i64>,
    floats_decimal: Vec<f64>,
    floats_xor: Vec<f64>,
    ints_counter: Vec<i64>,
    ints_walk: Vec<i64>,
    unsigned: Vec<u64>,
    bools: Vec<bool>,
    strings_dict: Vec<&'static str>,
    strings_lz4: Vec<String>,
}

fn data() -> Data {
    let s = common::series(42, N);
    let mut rng = common::Rng::new(42);
    let mut walk = 300i64;
    let ints_walk: Vec<i64> = (0..N)
        .map(|_| {
            walk = (walk + rng.range(-3, 3)).clamp(1, 5000);
            walk
        })
        .collect();
    let statuses = [
        "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "warn",
        "crit", "unknown",
    ];
    Data {
        ts_jitter: s
            .ts
            .iter()
            .map(|t| t + rng.range(-5_000_000, 5_000_000))
            .collect(),
        ts_regular: s.ts,
        floats_decimal: s.floats[0].clone(),
        // Non-decimal values that repeat: what Gorilla is for.
        floats_xor: (0..N).map(|i| ((i / 4) as f64).sqrt()).collect(),
        ints_counter: s.uptime,
        unsigned: ints_walk.iter().map(|&x| x as u64 * 1024).collect(),
        ints_walk,
        bools: (0..N).map(|_| rng.range(0, 4) == 0).collect(),
        strings_dict: (0..N).map(|i| statuses[(i * 7) % 16]).collect(),
        strings_lz4: (0..N)
            .map(|i| {
                format!(
                    "GET /api/v1/items/{} HTTP/1.1",
                    rng.next() % 100 + i as u64 % 3
                )
            })
            .collect(),
    }
}

fn report(name: &str, block: &[u8]) {
    println!(
        "{name:<16} {:>6} bytes {:>7.3} B/value",
        block.len(),
        block.len() as f64 / block_len(block).unwrap_or(1).max(1) as f64
    );
}

macro_rules! bench_pair {
    ($c:expr, $name:expr, $input:expr, $enc:ident, $dec:ident, $out:ty) => {{
        let input = $input;
        let mut block = Vec::new();
        $enc(input, &mut block);
        report($name, &block);
        let mut g = $c.benchmark_group($name);
        g.throughput(Throughput::Elements(input.len() as u64));
        g.bench_function("encode", |b| {
            let mut out = Vec::with_capacity(block.len() * 2);
            b.iter(|| {
                out.clear();
                $enc(black_box(input), &mut out);
                out.len()
            })
        });
        g.bench_function("decode", |b| {
            let mut out: Vec<$out> = Vec::with_capacity(N);
            b.iter(|| {
                out.clear();
                $dec(black_box(&block), &mut out).expect("valid block");
                out.len()
            })
        });
        g.finish();
    }};
}

fn codecs(c: &mut Criterion) {
    let d = data();
    bench_pair!(
        c,
        "ts_regular",
        &d.ts_regular,
        encode_timestamps,
        decode_timestamps,
        i64
    );
    bench_pair!(
        c,
        "ts_jitter",
        &d.ts_jitter,
        encode_timestamps,
        decode_timestamps,
        i64
    );
    bench_pair!(
        c,
        "float_decimal",
        &d.floats_decimal,
        encode_floats,
        decode_floats,
        f64
    );
    bench_pair!(
        c,
        "float_xor",
        &d.floats_xor,
        encode_floats,
        decode_floats,
        f64
    );
    bench_pair!(
        c,
        "int_counter",
        &d.ints_counter,
        encode_integers,
        decode_integers,
        i64
    );
    bench_pair!(
        c,
        "int_walk",
        &d.ints_walk,
        encode_integers,
        decode_integers,
        i64
    );
    bench_pair!(
        c,
        "unsigned_walk",
        &d.unsigned,
        encode_unsigned,
        decode_unsigned,
        u64
    );
    bench_pair!(c, "bool_bits", &d.bools, encode_bools, decode_bools, bool);
    bench_pair!(
        c,
        "string_dict",
        &d.strings_dict,
        encode_strings,
        decode_strings,
        Vec<u8>
    );
    bench_pair!(
        c,
        "string_lz4",
        &d.strings_lz4,
        encode_strings,
        decode_strings,
        Vec<u8>
    );
    let mut block = Vec::new();
    encode_strings(&d.strings_dict, &mut block);
    let mut g = c.benchmark_group("string_dict");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("decode_flat", |b| {
        let mut out = Strings::default();
        b.iter(|| {
            out.clear();
            decode_strings_flat(black_box(&block), &mut out).expect("valid block");
            out.len()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(1));
    targets = codecs
}
criterion_main!(benches);
