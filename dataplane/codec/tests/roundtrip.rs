//! Round trips on edge cases and seeded random data, for every column type.

mod common;

use common::Rng;
use tessera_codec::*;

fn ts_rt(v: &[i64]) -> usize {
    let mut out = vec![0xAA]; // encoders append: a prefix must survive
    encode_timestamps(v, &mut out);
    let mut back = vec![7];
    decode_timestamps(&out[1..], &mut back).unwrap();
    assert_eq!(&back[1..], v);
    assert_eq!(block_len(&out[1..]).unwrap(), v.len());
    out.len() - 1
}

fn int_rt(v: &[i64]) -> usize {
    let mut out = Vec::new();
    encode_integers(v, &mut out);
    let mut back = Vec::new();
    decode_integers(&out, &mut back).unwrap();
    assert_eq!(back, v);
    assert_eq!(block_len(&out).unwrap(), v.len());
    let u: Vec<u64> = v.iter().map(|&x| x as u64).collect();
    let mut out = Vec::new();
    encode_unsigned(&u, &mut out);
    let mut back = Vec::new();
    decode_unsigned(&out, &mut back).unwrap();
    assert_eq!(back, u);
    ts_rt(v);
    out.len()
}

fn float_rt(v: &[f64]) -> usize {
    let mut out = Vec::new();
    encode_floats(v, &mut out);
    let mut back = Vec::new();
    decode_floats(&out, &mut back).unwrap();
    let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
    let b: Vec<u64> = back.iter().map(|x| x.to_bits()).collect();
    assert_eq!(a, b);
    assert_eq!(block_len(&out).unwrap(), v.len());
    out.len()
}

fn bool_rt(v: &[bool]) {
    let mut out = Vec::new();
    encode_bools(v, &mut out);
    let mut back = Vec::new();
    decode_bools(&out, &mut back).unwrap();
    assert_eq!(back, v);
    assert_eq!(block_len(&out).unwrap(), v.len());
}

fn str_rt<S: AsRef<[u8]>>(v: &[S]) -> usize {
    let mut out = Vec::new();
    encode_strings(v, &mut out);
    let mut back = Vec::new();
    decode_strings(&out, &mut back).unwrap();
    assert_eq!(back.len(), v.len());
    assert!(back.iter().zip(v).all(|(a, b)| a == b.as_ref()));
    let mut flat = Strings::default();
    decode_strings_flat(&out, &mut flat).unwrap();
    assert!(flat.iter().zip(v).all(|(a, b)| a == b.as_ref()));
    assert_eq!(block_len(&out).unwrap(), v.len());
    out.len()
}

const EDGE_INTS: [i64; 9] = [
    0,
    1,
    -1,
    i64::MIN,
    i64::MAX,
    i64::MIN + 1,
    i64::MAX - 1,
    42,
    -42,
];

#[test]
fn integers_edge_cases() {
    int_rt(&[]);
    for &x in &EDGE_INTS {
        int_rt(&[x]);
        int_rt(&[x, x]);
        int_rt(&[x, x, x]);
    }
    int_rt(&EDGE_INTS);
    int_rt(&[i64::MIN, i64::MAX, i64::MIN, i64::MAX, 0]); // overflowing deltas
    int_rt(&[i64::MAX, i64::MIN, 5, i64::MIN]);
    int_rt(&(0..1000).map(|i| i64::MAX - i * 3).collect::<Vec<_>>());
    int_rt(&(0..70_000i64).map(|i| i * i).collect::<Vec<_>>()); // > 65536 values
    int_rt(&vec![5; 70_000]);
    // Constant deltas beyond the RLE cap must still round-trip (packed with width 0).
    int_rt(&(0..(MAX_RLE_VALUES as i64 + 5)).collect::<Vec<_>>());
}

#[test]
fn unsigned_edge_cases() {
    for v in [
        vec![u64::MAX],
        vec![0, u64::MAX, 1, u64::MAX - 1],
        vec![u64::MAX; 10],
    ] {
        let mut out = Vec::new();
        encode_unsigned(&v, &mut out);
        let mut back = Vec::new();
        decode_unsigned(&out, &mut back).unwrap();
        assert_eq!(back, v);
    }
}

#[test]
fn timestamps_shapes() {
    let regular: Vec<i64> = (0..1000)
        .map(|i| common::START_NS + i * common::INTERVAL_NS)
        .collect();
    assert!(ts_rt(&regular) <= 20, "constant interval is RLE");
    let mut rng = Rng::new(3);
    let jitter: Vec<i64> = regular
        .iter()
        .map(|t| t + rng.range(-1_000_000, 1_000_000))
        .collect();
    ts_rt(&jitter);
    let seconds: Vec<i64> = (0..1000)
        .map(|i| (i * i % 7 + i * 10) * 1_000_000_000)
        .collect();
    assert!(ts_rt(&seconds) < 1000, "a common divisor is factored out");
    let mut gaps = regular.clone();
    gaps.retain(|t| (t / common::INTERVAL_NS) % 17 != 0);
    assert!(ts_rt(&gaps) < 400);
    // Unsorted and duplicate timestamps still round-trip.
    ts_rt(&[5, 3, 3, 9, -1, i64::MIN, i64::MAX, 0]);
    ts_rt(&(0..500).map(|_| rng.next() as i64).collect::<Vec<_>>());
}

#[test]
fn floats_edge_cases() {
    let specials = [
        0.0,
        -0.0,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN payload
        f64::from_bits(0xfff8_1234_5678_9abc),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 1024.0, // subnormal
        f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        1e300,
        -1e-300,
        9.007_199_254_740_993e15,
        0.1,
        0.3,
        26.43,
    ];
    float_rt(&[]);
    for &x in &specials {
        float_rt(&[x]);
        float_rt(&[x; 300]);
    }
    float_rt(&specials);
    // Decimal data with a few specials sprinkled in: exceptions, not a fallback.
    let mut v: Vec<f64> = (0..1000).map(|i| (i % 500) as f64 / 100.0).collect();
    v[10] = -0.0;
    v[500] = f64::NAN;
    v[999] = f64::INFINITY;
    assert!(float_rt(&v) < 1500);
    // Non-decimal data.
    let mut rng = Rng::new(9);
    float_rt(
        &(0..1000)
            .map(|_| f64::from_bits(rng.next()))
            .collect::<Vec<_>>(),
    );
    float_rt(
        &(0..1000)
            .map(|_| (rng.next() >> 11) as f64 / (1u64 << 53) as f64)
            .collect::<Vec<_>>(),
    );
    float_rt(&(0..1000).map(|i| (i as f64).sqrt()).collect::<Vec<_>>());
    float_rt(&(0..70_000).map(|i| i as f64 * 0.25).collect::<Vec<_>>());
    // Large magnitudes where `v * 10^e` leaves the exact-integer range.
    float_rt(&(0..1000).map(|i| 1e17 + i as f64 * 1e3).collect::<Vec<_>>());
    float_rt(
        &(0..1000)
            .map(|i| 123_456_789.123_456 + i as f64)
            .collect::<Vec<_>>(),
    );
}

#[test]
fn workload_floats_are_small() {
    let s = common::series(1, 1000);
    for f in &s.floats {
        assert!(
            float_rt(f) < 1200,
            "2-decimal random walk should be ~9 bits a value"
        );
    }
}

#[test]
fn bools_edge_cases() {
    bool_rt(&[]);
    bool_rt(&[true]);
    bool_rt(&[false; 1000]);
    bool_rt(&vec![true; 70_000]);
    for n in 1..40 {
        bool_rt(&(0..n).map(|i| i % 3 == 0).collect::<Vec<_>>());
    }
}

#[test]
fn strings_edge_cases() {
    str_rt::<&str>(&[]);
    str_rt(&[""]);
    str_rt(&["", "", ""]);
    str_rt(&["ok"]);
    let status = ["ok", "warn", "crit", "unknown"];
    let v: Vec<&str> = (0..1000).map(|i| status[(i * 7 % 16).min(3)]).collect();
    assert!(str_rt(&v) < 300, "dictionary");
    let unique: Vec<String> = (0..1000)
        .map(|i| format!("host-{i:05}.example.com"))
        .collect();
    let n = str_rt(&unique);
    assert!(n < 20_000, "lz4 should shrink repetitive text, got {n}");
    let mut rng = Rng::new(5);
    let random: Vec<Vec<u8>> = (0..300)
        .map(|_| (0..rng.range(0, 40)).map(|_| rng.next() as u8).collect())
        .collect();
    str_rt(&random);
    str_rt(&[vec![0u8; 100_000]]);
    str_rt(&vec!["x"; 70_000]);
}

#[test]
fn random_property_round_trips() {
    let mut rng = Rng::new(1);
    for round in 0..400 {
        let n = rng.range(0, 2100) as usize;
        let shape = round % 6;
        let mut acc = rng.next() as i64;
        let ints: Vec<i64> = (0..n)
            .map(|_| match shape {
                0 => rng.next() as i64,
                1 => {
                    acc = acc.wrapping_add(rng.range(-5, 5));
                    acc
                }
                2 => {
                    let bits = rng.range(0, 62);
                    acc = acc.wrapping_add(rng.range(0, 1 << bits));
                    acc
                }
                3 => rng.range(-3, 3) * 1_000_000,
                4 => (rng.next() >> rng.range(0, 63)) as i64,
                _ => acc,
            })
            .collect();
        int_rt(&ints);
        let floats: Vec<f64> = (0..n)
            .map(|i| match shape {
                0 => f64::from_bits(rng.next()),
                1 => rng.range(-100_000, 100_000) as f64 / 100.0,
                2 => {
                    let e = rng.range(0, 8) as i32;
                    rng.range(-1_000_000, 1_000_000) as f64 / 10f64.powi(e)
                }
                3 if i % 50 == 0 => f64::NAN,
                3 => rng.range(0, 1000) as f64 / 8.0,
                4 => (rng.next() as f64).ln(),
                _ => -0.0,
            })
            .collect();
        float_rt(&floats);
        let bools: Vec<bool> = (0..n).map(|_| rng.range(0, 6) == 0).collect();
        bool_rt(&bools);
        let card = rng.range(1, 1200) as u64;
        let strs: Vec<String> = (0..n / 4)
            .map(|_| format!("v{}", rng.next() % card))
            .collect();
        str_rt(&strs);
    }
}
