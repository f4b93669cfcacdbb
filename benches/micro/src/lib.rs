//! Criterion micro-benchmarks that cut across crates: WAL append with fsync, series index
//! lookups and query kernels. The per-crate benches (line protocol parsing, column codecs,
//! reducers) stay beside their crates; `docs/benchmarks.md` lists every bench and its
//! command.
//!
//! This library holds what the benches share: deterministic data in the standard
//! workload's shape and a glommio executor that runs on the bench's own thread.
//!
//! # Layout
//! - `src/lib.rs` — series keys and write batches shaped like `gen_lp.py`'s, the executor,
//!   the scratch directory.
//! - `benches/wal.rs` — WAL append with fsync, alone and with concurrent appends.
//! - `benches/index.rs` — series index build, selects and tag-value listing at 100k series.
//! - `benches/query.rs` — plan + per-partition scan + finish over a 1M-point partition.

use tessera_storage::batch::{BatchBuilder, Value};

/// io_uring buffer memory registered by the bench executor. glommio's default (10 MiB)
/// exceeds the usual 8 MiB `RLIMIT_MEMLOCK`; 512 KiB is what the storage tests and
/// `influxd export` use.
pub const IO_MEMORY: usize = 512 << 10;

/// 2020-01-01T00:00:00Z in nanoseconds: the first timestamp of every data set here, as in
/// the line protocol bench.
pub const T0: i64 = 1_577_836_800_000_000_000;

/// Spacing of a series' points: `gen_lp.py` writes one point per series every 10 s.
pub const STEP: i64 = 10_000_000_000;

/// The regions of the standard workload.
pub const REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
];

const FLOAT_FIELDS: [&[u8]; 5] = [
    b"usage_user",
    b"usage_system",
    b"usage_idle",
    b"usage_iowait",
    b"usage_nice",
];

/// The canonical series key of series `n`: `cpu,az=…,host=host_<n>,region=…` (tags sorted,
/// as the storage engine keys series).
pub fn series_key(n: u64) -> Vec<u8> {
    let region = REGIONS[(n % 6) as usize];
    let az = (b'a' + (n / 6 % 3) as u8) as char;
    format!("cpu,az={region}{az},host=host_{n},region={region}").into_bytes()
}

/// A xorshift generator: the same data on every run without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value with two decimals in [0, 100), as `gen_lp.py` writes them.
    pub fn decimal(&mut self) -> f64 {
        (self.next_u64() % 10_000) as f64 / 100.0
    }
}

/// One write batch of the standard workload: point `point` of series `first..first+count`,
/// each with 5 floats and an integer, a string every 10th and a boolean every 20th point.
/// This is what one 5000-line request puts in a partition's WAL record.
pub fn devops_batch(first: u64, count: u64, point: u64) -> Vec<u8> {
    let mut rng = Rng::new(first ^ (point << 32) ^ 0x2545_f491_4f6c_dd1d);
    let mut b = BatchBuilder::new();
    for series in first..first + count {
        b.point(&series_key(series), T0 + point as i64 * STEP)
            .expect("series keys are short");
        for f in FLOAT_FIELDS {
            b.field(f, Value::Float(rng.decimal()))
                .expect("field names are short");
        }
        let uptime = (series * 1000 + point * 10) as i64;
        b.field(b"uptime", Value::Integer(uptime))
            .expect("field names are short");
        if (series + point).is_multiple_of(10) {
            b.field(b"status", Value::Str(b"ok"))
                .expect("field names are short");
        }
        if (series + point).is_multiple_of(20) {
            b.field(b"throttled", Value::Boolean(false))
                .expect("field names are short");
        }
    }
    b.finish()
}

/// A glommio executor on the calling thread; drive it with [`glommio::LocalExecutor::run`]
/// from inside criterion's closures (it can be run again and again, and what one run opens
/// stays usable in the next).
pub fn executor() -> glommio::LocalExecutor {
    glommio::LocalExecutorBuilder::default()
        .io_memory(IO_MEMORY)
        .make()
        .unwrap_or_else(|e| {
            panic!("glommio executor: {e} (a locked-memory limit below {IO_MEMORY} bytes? see docs/operations.md)")
        })
}

/// A scratch directory for WALs and data files, removed on drop: under
/// `$TESSERA_BENCH_DIR` when set (to measure a particular disk), else the system's temp
/// directory. It must not be tmpfs: the WAL opens its files with O_DIRECT.
pub fn bench_dir() -> tempfile::TempDir {
    let base = std::env::var_os("TESSERA_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&base).unwrap_or_else(|e| panic!("{}: {e}", base.display()));
    tempfile::Builder::new()
        .prefix("tessera-bench-")
        .tempdir_in(&base)
        .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_storage::batch::for_each_point;

    #[test]
    fn batch_has_the_workload_shape() {
        let buf = devops_batch(0, 5000, 0);
        let (mut points, mut fields) = (0, 0);
        for_each_point(&buf, |p| {
            points += 1;
            fields += p.fields.len();
        })
        .unwrap();
        assert_eq!(points, 5000);
        // 6 fields per point, a string on every 10th and a boolean on every 20th.
        assert_eq!(fields, 5000 * 6 + 500 + 250);
        assert_eq!(
            series_key(7),
            b"cpu,az=us-west-1b,host=host_7,region=us-west-1"
        );
    }

    #[test]
    fn executor_runs_again_and_again() {
        let ex = executor();
        assert_eq!(ex.run(async { 1 }), 1);
        assert_eq!(ex.run(async { 2 }), 2);
    }
}
