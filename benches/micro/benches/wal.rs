//! WAL append with fsync on a real directory: one write batch of the standard workload
//! per append (5000 points, about 1 MB encoded; and a small one of 100 points), each
//! returning only after its `fdatasync`. `workers/1` appends one at a time (one fsync per append); `workers/N` keeps
//! N appends in flight, as N concurrent requests do, so that they share group commits.
//! Throughput is WAL bytes/s; after each group the bench prints appends/s, points/s and
//! fsyncs per append.
//!
//! `cargo bench -p tessera-benches --bench wal` (set `TESSERA_BENCH_DIR` to measure a
//! particular disk; the default is the system temp directory).

use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tessera_benches::{bench_dir, devops_batch, executor};
use tessera_storage::wal::{Wal, DEFAULT_SEGMENT_SIZE};

/// (points per append, concurrent appenders): 5000 points is one of `gen_lp.py`'s
/// 5000-line requests (about 1 MB); 100 points (about 19 KB) is a small request, where the
/// fsync rather than the copying dominates.
const CASES: [(u64, &[u64]); 2] = [(5000, &[1, 4, 16]), (100, &[1, 16])];

/// Runs `workers` tasks that each append `batch` `rounds` times; returns the time taken.
async fn append_rounds(wal: &Wal, batch: &Rc<Vec<u8>>, workers: u64, rounds: u64) -> Duration {
    let start = Instant::now();
    if workers == 1 {
        for _ in 0..rounds {
            wal.append(batch).await.expect("WAL append");
        }
        return start.elapsed();
    }
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (wal, batch) = (wal.clone(), Rc::clone(batch));
            glommio::spawn_local(async move {
                for _ in 0..rounds {
                    wal.append(&batch).await.expect("WAL append");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await;
    }
    start.elapsed()
}

fn wal(c: &mut Criterion) {
    let ex = executor();
    let dir = bench_dir();
    let wal = ex.run(async {
        tessera_storage::probe_device(dir.path())
            .await
            .expect("probe the bench directory");
        Wal::open(&dir.path().join("wal"), DEFAULT_SEGMENT_SIZE)
            .await
            .expect("open the WAL")
            .0
    });
    for (points, workers) in CASES {
        let batch = Rc::new(devops_batch(0, points, 0));
        let mut g = c.benchmark_group(format!("wal_append_{points}_points"));
        // Each append of the big batch is a ~1 MB write and an fsync: few samples keep a
        // run to seconds and the bytes written to tens of MB.
        g.sample_size(10);
        for &workers in workers {
            g.throughput(Throughput::Bytes(workers * batch.len() as u64));
            let (mut appends, mut spent) = (0u64, Duration::ZERO);
            let (_, syncs_before) = wal.stats();
            g.bench_function(BenchmarkId::new("workers", workers), |b| {
                b.iter_custom(|rounds| {
                    let took = ex.run(append_rounds(&wal, &batch, workers, rounds));
                    appends += workers * rounds;
                    spent += took;
                    // Drop the segments written so far: bounds the disk a run uses.
                    let last = wal.rotate();
                    wal.remove_through(last).expect("remove WAL segments");
                    took
                })
            });
            let syncs = wal.stats().1 - syncs_before;
            let secs = spent.as_secs_f64().max(f64::MIN_POSITIVE);
            println!(
                "wal points={points} workers={workers}: {:.0} appends/s, {:.0} points/s, \
                 {:.2} fsyncs/append ({} B/append)",
                appends as f64 / secs,
                (appends * points) as f64 / secs,
                syncs as f64 / appends.max(1) as f64,
                batch.len(),
            );
        }
        g.finish();
    }
}

criterion_group!(benches, wal);
criterion_main!(benches);
