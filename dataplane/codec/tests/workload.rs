//! Bytes per value on data shaped like the standard workload (1000 series × 1000
//! points). Run with `--nocapture` to see the table; the asserts keep the codecs within
//! the storage engine's budget.

mod common;

use tessera_codec::*;

/// The storage engine's block size.
const BLOCK: usize = 1000;

#[derive(Default)]
struct Tally {
    values: usize,
    value_bytes: usize,
    ts_bytes: usize,
}

impl Tally {
    fn add_ts(&mut self, ts: &[i64]) {
        for c in ts.chunks(BLOCK) {
            let mut out = Vec::new();
            encode_timestamps(c, &mut out);
            let mut back = Vec::new();
            decode_timestamps(&out, &mut back).unwrap();
            assert_eq!(back, c);
            self.ts_bytes += out.len();
        }
    }

    fn per_value(&self) -> (f64, f64, f64) {
        let n = self.values as f64;
        (
            self.value_bytes as f64 / n,
            self.ts_bytes as f64 / n,
            (self.value_bytes + self.ts_bytes) as f64 / n,
        )
    }
}

#[test]
fn bytes_per_value_on_the_standard_workload() {
    let (mut floats, mut ints, mut strs, mut bools) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    for g in 0..1000 {
        let s = common::series(g, 1000);
        for f in &s.floats {
            for c in f.chunks(BLOCK) {
                let mut out = Vec::new();
                encode_floats(c, &mut out);
                let mut back = Vec::new();
                decode_floats(&out, &mut back).unwrap();
                assert!(back.iter().zip(c).all(|(a, b)| a.to_bits() == b.to_bits()));
                floats.value_bytes += out.len();
                floats.values += c.len();
            }
            floats.add_ts(&s.ts);
        }
        for c in s.uptime.chunks(BLOCK) {
            let mut out = Vec::new();
            encode_integers(c, &mut out);
            ints.value_bytes += out.len();
            ints.values += c.len();
        }
        ints.add_ts(&s.ts);
        for c in s.status.chunks(BLOCK) {
            let mut out = Vec::new();
            encode_strings(c, &mut out);
            let mut back = Vec::new();
            decode_strings(&out, &mut back).unwrap();
            assert!(back.iter().zip(c).all(|(a, b)| a == b.as_bytes()));
            strs.value_bytes += out.len();
            strs.values += c.len();
        }
        strs.add_ts(&s.status_ts);
        for c in s.throttled.chunks(BLOCK) {
            let mut out = Vec::new();
            encode_bools(c, &mut out);
            bools.value_bytes += out.len();
            bools.values += c.len();
        }
        bools.add_ts(&s.throttled_ts);
    }
    println!("column      values   B/value  B/ts  B/(value+ts)");
    let mut total = (0usize, 0usize);
    for (name, t) in [
        ("float", &floats),
        ("integer", &ints),
        ("string", &strs),
        ("bool", &bools),
    ] {
        let (v, ts, all) = t.per_value();
        println!("{name:<10} {:>8} {v:>8.3} {ts:>6.3} {all:>8.3}", t.values);
        total.0 += t.values;
        total.1 += t.value_bytes + t.ts_bytes;
    }
    let overall = total.1 as f64 / total.0 as f64;
    println!("overall    {:>8} {overall:>31.3}", total.0);
    assert!(
        floats.per_value().2 <= 1.5,
        "floats {:?}",
        floats.per_value()
    );
    assert!(ints.per_value().2 <= 0.1, "integers {:?}", ints.per_value());
    assert!(overall <= 1.5, "overall {overall}");
}
