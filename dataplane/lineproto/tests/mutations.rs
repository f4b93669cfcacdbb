//! Deterministic stand-in for the fuzz target (`fuzz/`), run by `cargo test`: 100 000
//! mutations of corpus bodies, parsed with every precision; nothing may panic and every
//! accepted line must hold what the parser promises.

use serde_json::Value;
use tessera_lineproto::{
    parse, point_key, series_key, FieldValue, Precision, MAX_NANO_TIME, MIN_NANO_TIME,
};

const PRECISIONS: [Precision; 6] = [
    Precision::Nanosecond,
    Precision::Microsecond,
    Precision::Millisecond,
    Precision::Second,
    Precision::Minute,
    Precision::Hour,
];

/// Bytes the line protocol gives meaning to, and a few it does not.
const ALPHABET: &[u8] = b" ,=\\\"\n\r\t.-+eEiIuUnN0123456789tfTFab#\x00\xff";

fn check(body: &[u8]) {
    for p in PRECISIONS {
        let mut key = Vec::new();
        for r in parse(body, p) {
            let Ok(line) = r else { continue };
            key.clear();
            series_key(&line, &mut key);
            point_key(&line, &mut key);
            let _ = line.measurement.unescaped();
            for (k, v) in &line.tags {
                let _ = (k.unescaped(), v.unescaped());
            }
            assert!(!line.fields.is_empty());
            for (k, v) in &line.fields {
                let _ = k.unescaped();
                match v {
                    FieldValue::Str(s) => drop(s.unescaped()),
                    FieldValue::Float(f) => assert!(f.is_finite(), "{body:?}"),
                    _ => {}
                }
            }
            if let Some(t) = line.timestamp {
                assert!((MIN_NANO_TIME..=MAX_NANO_TIME).contains(&t));
            }
        }
    }
}

#[test]
fn mutated_corpus_never_panics() {
    let doc: Value = serde_json::from_str(include_str!("corpus/influxd.json")).unwrap();
    let seeds: Vec<Vec<u8>> = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["input"].as_str())
        .filter(|s| s.len() < 300)
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..100_000 {
        let mut body = seeds[(next() % seeds.len() as u64) as usize].clone();
        // Sometimes splice two bodies together.
        if next() % 8 == 0 {
            body.push(b'\n');
            body.extend_from_slice(&seeds[(next() % seeds.len() as u64) as usize]);
        }
        for _ in 0..=(next() % 6) {
            let pos = (next() % (body.len() as u64 + 1)) as usize;
            let c = ALPHABET[(next() % ALPHABET.len() as u64) as usize];
            match next() % 3 {
                0 if pos < body.len() => body[pos] = c,
                1 if pos < body.len() => {
                    body.remove(pos);
                }
                _ => body.insert(pos, c),
            }
        }
        check(&body);
    }
}
