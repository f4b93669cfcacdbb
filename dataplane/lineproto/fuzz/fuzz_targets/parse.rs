//! Parses arbitrary bytes with every precision and touches everything a line holds.
//!
//! `cd dataplane/lineproto/fuzz && cargo +nightly fuzz run parse`
#![no_main]

use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    for p in PRECISIONS {
        let mut key = Vec::new();
        for r in parse(data, p) {
            match r {
                Ok(line) => {
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
                            FieldValue::Str(s) => {
                                let _ = s.unescaped();
                            }
                            FieldValue::Float(f) => assert!(f.is_finite()),
                            _ => {}
                        }
                    }
                    if let Some(t) = line.timestamp {
                        assert!((MIN_NANO_TIME..=MAX_NANO_TIME).contains(&t));
                    }
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
});
