//! A query kernel: one `SELECT` planned (`plan::plan_select`), run over one partition
//! (`exec::scan_partition`: index select, column reads, folding into reducers) and
//! finished into output series (`finish::finish`) — what one core does for a query that
//! reads only its own data, without HTTP, the scatter to other cores and JSON.
//!
//! The partition holds 1000 series × 1000 points of one float field `v` (a 10 s step,
//! 2h46m of data), flushed to one data file, which stays in the core's file cache as
//! after a compaction. Throughput is points read per second.
//!
//! `cargo bench -p tessera-benches --bench query`

use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tessera_benches::{bench_dir, executor, series_key, Rng, STEP, T0};
use tessera_influxql::{SelectStatement, Statement};
use tessera_query::plan::{plan_select, MeasurementSchema, Schema};
use tessera_query::Value;
use tessera_storage::batch::{BatchBuilder, FieldType, Value as BValue};
use tessera_storage::partition::{Partition, PartitionConfig};

const SERIES: u64 = 1000;
const POINTS: u64 = 1000;
/// Series per write batch while loading (100k points, about 6 MB per WAL record).
const SERIES_PER_BATCH: u64 = 100;

/// Writes the data set through the partition's write path and flushes it to one file.
async fn load(part: &Rc<Partition>) {
    for first in (0..SERIES).step_by(SERIES_PER_BATCH as usize) {
        let mut b = BatchBuilder::new();
        for s in first..first + SERIES_PER_BATCH {
            let key = series_key(s);
            let mut rng = Rng::new(s + 1);
            let mut v = 50.0;
            for p in 0..POINTS {
                v = (v + rng.decimal() / 10.0 - 5.0).clamp(0.0, 100.0);
                b.point(&key, T0 + p as i64 * STEP).expect("short key");
                b.field(b"v", BValue::Float((v * 100.0).round() / 100.0))
                    .expect("short name");
            }
        }
        part.write(&b.finish()).await.expect("write");
    }
    part.flush().await.expect("flush");
}

fn statement(q: &str) -> SelectStatement {
    match tessera_influxql::parse_statement(q).expect("valid query") {
        Statement::Select(s) => *s,
        other => panic!("not a SELECT: {other}"),
    }
}

/// Plan, scan, finish: returns the output series' row counts and the first row.
async fn run(
    stmt: &SelectStatement,
    schema: &Schema,
    part: &Partition,
) -> (Vec<usize>, Vec<Value>) {
    let now = T0 + (POINTS * STEP as u64) as i64;
    let plan = plan_select(stmt, vec!["cpu".into()], schema, now).expect("plan");
    let cancel = AtomicBool::new(false);
    let partial = tessera_query::exec::scan_partition(&plan, part, 0, &cancel)
        .await
        .expect("scan");
    let series = tessera_query::finish::finish(&plan, partial).expect("finish");
    let first = series
        .first()
        .and_then(|s| s.values.first().cloned())
        .unwrap_or_default();
    (series.iter().map(|s| s.values.len()).collect(), first)
}

fn query(c: &mut Criterion) {
    let ex = executor();
    let dir = bench_dir();
    let part = ex.run(async {
        tessera_storage::probe_device(dir.path())
            .await
            .expect("probe the bench directory");
        let cfg = PartitionConfig {
            // One flush at the end, not one every 25 MB: the data lands in one file.
            cache_snapshot_bytes: 1 << 30,
            cache_max_bytes: 2 << 30,
            ..PartitionConfig::default()
        };
        let part = Partition::open(&dir.path().join("data"), &dir.path().join("wal"), cfg)
            .await
            .expect("open partition");
        load(&part).await;
        part
    });
    let schema: Schema = [(
        "cpu".to_string(),
        MeasurementSchema {
            fields: [("v".to_string(), FieldType::Float)].into(),
            tags: ["az", "host", "region"].map(String::from).into(),
            tags_unknown: false,
            ..Default::default()
        },
    )]
    .into();
    let all = SERIES * POINTS;
    // 10000 s of data: 167 one-minute windows.
    let cases: [(&str, &str, u64, usize); 4] = [
        ("count", "SELECT count(v) FROM cpu", all, 1),
        (
            "mean_group_by_time_1m",
            "SELECT mean(v) FROM cpu WHERE time >= '2020-01-01T00:00:00Z' \
             AND time < '2020-01-01T02:46:40Z' GROUP BY time(1m)",
            all,
            167,
        ),
        (
            "max_group_by_host",
            "SELECT max(v) FROM cpu GROUP BY host",
            all,
            1,
        ),
        (
            "raw_one_host",
            "SELECT v FROM cpu WHERE host = 'host_1'",
            POINTS,
            1000,
        ),
    ];
    let mut g = c.benchmark_group("query_1000x1000");
    g.sample_size(20);
    for (name, q, points, rows) in cases {
        let stmt = statement(q);
        let (got, first) = ex.run(run(&stmt, &schema, &part));
        assert_eq!(got[0], rows, "{name}: rows of the first series");
        if name == "count" {
            assert_eq!(first.get(1), Some(&Value::Integer(all as i64)), "{name}");
        }
        if name == "max_group_by_host" {
            assert_eq!(got.len(), SERIES as usize, "{name}: one series per host");
        }
        g.throughput(Throughput::Elements(points));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                ex.run(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        std::hint::black_box(run(&stmt, &schema, &part).await);
                    }
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
    drop(part);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = query
}
criterion_main!(benches);
