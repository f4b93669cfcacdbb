//! The series index of one partition at 100k series (`cpu`, tags `az`, `host`, `region`
//! as in the standard workload): building it, selecting series for the tag predicates a
//! WHERE clause turns into (equality, regex, all), and listing tag values (what
//! `SHOW TAG VALUES` reads).
//!
//! Regex predicates go through the query engine's `index_predicate_with`, as a query's
//! do: the pattern is matched against the tag's values and the matches become postings to
//! union, so those cases include compiling the regex and scanning the values.
//!
//! `cargo bench -p tessera-benches --bench index`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tessera_benches::series_key;
use tessera_query::exec::{escape_tag, index_predicate_with};
use tessera_storage::index::{SeriesIndex, TagPredicate};

/// Series in the index: the "100k series" ingest case of docs/benchmarks.md.
const SERIES: u64 = 100_000;

fn build(keys: &[Vec<u8>]) -> SeriesIndex {
    let mut idx = SeriesIndex::new();
    for k in keys {
        idx.insert(k);
    }
    idx
}

/// The index predicate of a WHERE clause, built as `exec::scan_partition` builds it.
fn predicate(idx: &SeriesIndex, cond: &str) -> TagPredicate {
    let expr = tessera_influxql::parse_expr(cond).expect("valid condition");
    let tag_keys = idx.tag_keys(b"cpu");
    let is_tag = |n: &str| tag_keys.iter().any(|k| *k == escape_tag(n).as_slice());
    index_predicate_with(
        &expr,
        &is_tag,
        &|t: &str, prefix: &[u8], f: &mut dyn FnMut(&[u8])| {
            for v in idx.tag_values_with_prefix(b"cpu", &escape_tag(t), prefix) {
                f(v);
            }
            true
        },
    )
}

fn index(c: &mut Criterion) {
    let keys: Vec<Vec<u8>> = (0..SERIES).map(series_key).collect();

    let mut g = c.benchmark_group("index_build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(SERIES));
    g.bench_function("insert_100k_series", |b| {
        b.iter(|| build(black_box(&keys)).len())
    });
    g.finish();

    let idx = build(&keys);
    let eq = |k: &str, v: &str| TagPredicate::Eq(k.into(), v.into());
    let cases: [(&str, &str, u64); 6] = [
        ("eq_host", "host = 'host_4242'", 1),
        ("eq_region", "region = 'us-west-2'", 16_667),
        (
            "eq_host_and_region",
            "host = 'host_4242' AND region = 'us-west-2'",
            0,
        ),
        ("regex_host_prefix", "host =~ /^host_424/", 111),
        ("regex_region", "region =~ /^us-/", 50_001),
        ("all", "", SERIES),
    ];
    let mut g = c.benchmark_group("index_select_100k");
    for (name, cond, expect) in cases {
        let pred = if cond.is_empty() {
            TagPredicate::All
        } else {
            predicate(&idx, cond)
        };
        assert_eq!(idx.select(b"cpu", &pred).len(), expect, "{name}");
        if cond.contains("=~") {
            // The regex is matched anew by every query: time the whole path.
            g.bench_function(name, |b| {
                b.iter(|| idx.select(b"cpu", &predicate(&idx, black_box(cond))).len())
            });
        } else {
            g.bench_function(name, |b| {
                b.iter(|| idx.select(b"cpu", black_box(&pred)).len())
            });
        }
    }
    // The same select resolved to sorted series keys, as a scan needs them.
    let pred = eq("region", "us-west-2");
    g.bench_function("eq_region_keys_sorted", |b| {
        b.iter(|| {
            let mut keys: Vec<&[u8]> = idx
                .select(b"cpu", black_box(&pred))
                .iter()
                .filter_map(|id| idx.key(id))
                .collect();
            keys.sort_unstable();
            keys.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("index_tag_values_100k");
    g.bench_function("region_6_values", |b| {
        b.iter(|| idx.tag_values(b"cpu", black_box(b"region")).len())
    });
    g.bench_function("host_100k_values", |b| {
        b.iter(|| idx.tag_values(b"cpu", black_box(b"host")).len())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = index
}
criterion_main!(benches);
