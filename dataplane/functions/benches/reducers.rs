//! Throughput of the hot reducers over one column, in points/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera_functions::{reducer, ValueType};

const N: usize = 64 * 1024;

fn columns() -> (Vec<i64>, Vec<f64>, Vec<i64>) {
    let times: Vec<i64> = (0..N as i64).map(|i| i * 1_000_000_000).collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let floats: Vec<f64> = (0..N).map(|_| (next() % 100_000) as f64 / 100.0).collect();
    let ints: Vec<i64> = (0..N).map(|_| (next() % 100_000) as i64 - 50_000).collect();
    (times, floats, ints)
}

fn bench(c: &mut Criterion) {
    let (times, floats, ints) = columns();
    let mut g = c.benchmark_group("reducer");
    g.throughput(Throughput::Elements(N as u64));
    for name in [
        "count", "sum", "mean", "min", "max", "first", "last", "spread",
    ] {
        g.bench_with_input(BenchmarkId::new("float", name), &name, |b, name| {
            b.iter(|| {
                let mut r = reducer(name, &[], ValueType::Float).expect("known function");
                r.push_floats(&times, &floats, 0).expect("float column");
                r.finish(0)
            })
        });
        g.bench_with_input(BenchmarkId::new("integer", name), &name, |b, name| {
            b.iter(|| {
                let mut r = reducer(name, &[], ValueType::Integer).expect("known function");
                r.push_integers(&times, &ints, 0).expect("integer column");
                r.finish(0)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
