//! Shared by the integration tests and the benches: a seeded PRNG and a generator of
//! columns shaped like the standard workload (`/work/shared/peer/gen_lp.py`).
#![allow(dead_code, unreachable_pub)]

/// xorshift64*: deterministic, dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

pub const START_NS: i64 = 1_577_836_800_000_000_000;
pub const INTERVAL_NS: i64 = 10_000_000_000;
pub const FLOAT_FIELDS: usize = 5;
const STATUS: [&str; 16] = [
    "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "warn", "crit",
    "unknown",
];

/// One series' columns, each with its own timestamps (as the storage engine stores them).
pub struct Series {
    pub ts: Vec<i64>,
    pub floats: Vec<Vec<f64>>,
    pub uptime: Vec<i64>,
    pub status_ts: Vec<i64>,
    pub status: Vec<&'static str>,
    pub throttled_ts: Vec<i64>,
    pub throttled: Vec<bool>,
}

/// Series `g` with `points` points: five bounded random walks in hundredths over
/// [0, 100] (steps of ±1.50), an uptime counter ticking 10 a point, `status` on every
/// 10th point and `throttled` on every 20th, timestamps every 10 s — as gen_lp.py.
pub fn series(g: u64, points: usize) -> Series {
    let ts: Vec<i64> = (0..points as i64)
        .map(|i| START_NS + i * INTERVAL_NS)
        .collect();
    let floats = (0..FLOAT_FIELDS as u64)
        .map(|f| {
            let mut rng = Rng::new(g * 31 + f + 1);
            let mut v = rng.range(0, 10_000);
            (0..points)
                .map(|_| {
                    v += rng.range(-150, 150);
                    if v < 0 {
                        v = -v;
                    } else if v > 10_000 {
                        v = 20_000 - v;
                    }
                    // Same f64 as parsing the line protocol's "%d.%02d".
                    v as f64 / 100.0
                })
                .collect()
        })
        .collect();
    let base = (Rng::new(g + 7).next() >> 40) as i64;
    let uptime = (0..points as i64).map(|i| base + i * 10).collect();
    let g = g as i64;
    let (mut status_ts, mut status, mut throttled_ts, mut throttled) =
        (vec![], vec![], vec![], vec![]);
    for i in 0..points as i64 {
        if (i + g) % 10 == 0 {
            status_ts.push(ts[i as usize]);
            status.push(STATUS[((i * 7 + g) % 16) as usize]);
        }
        if (i + 2 * g + 1) % 20 == 0 {
            throttled_ts.push(ts[i as usize]);
            throttled.push(((i / 20 + g) & 3) == 0);
        }
    }
    Series {
        ts,
        floats,
        uptime,
        status_ts,
        status,
        throttled_ts,
        throttled,
    }
}
