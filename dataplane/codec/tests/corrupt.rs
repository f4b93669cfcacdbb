//! Corrupt input: truncated blocks, flipped bits, wrong headers, absurd counts and
//! random bytes must give `Err`, never a panic or a huge allocation.

mod common;

use common::Rng;
use tessera_codec::*;

/// Runs every decoder on `block`; any panic fails the test. Returns how many succeeded.
fn decode_all(block: &[u8]) -> usize {
    let n = block_len(block);
    let mut ok = 0;
    let mut check = |r: Result<(), CodecError>, len: usize| {
        if r.is_ok() {
            ok += 1;
            assert_eq!(Ok(len), n, "a decoded block yields block_len values");
        } else {
            assert_eq!(len, 0, "a failed decode leaves the output as it was");
        }
    };
    let mut a = Vec::new();
    check(decode_timestamps(block, &mut a), a.len());
    let mut a = Vec::new();
    check(decode_integers(block, &mut a), a.len());
    let mut a = Vec::new();
    check(decode_unsigned(block, &mut a), a.len());
    let mut a = Vec::new();
    check(decode_floats(block, &mut a), a.len());
    let mut a = Vec::new();
    check(decode_bools(block, &mut a), a.len());
    let mut a = Vec::new();
    check(decode_strings(block, &mut a), a.len());
    let mut s = Strings::default();
    check(decode_strings_flat(block, &mut s), s.len());
    ok
}

/// Valid blocks of every type and scheme.
fn corpus() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(11);
    let s = common::series(3, 300);
    let mut blocks = Vec::new();
    let mut push = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        f(&mut out);
        blocks.push(out);
    };
    let noise: Vec<i64> = (0..300).map(|_| rng.next() as i64).collect();
    let jitter: Vec<i64> = s.ts.iter().map(|t| t + rng.range(-999, 999)).collect();
    let walk: Vec<i64> = s.uptime.iter().map(|u| u + rng.range(0, 3)).collect();
    let bits: Vec<f64> = noise.iter().map(|&x| f64::from_bits(x as u64)).collect();
    let mut dec = s.floats[0].clone();
    dec[7] = f64::NAN;
    dec[8] = -0.0;
    let flags: Vec<bool> = noise.iter().map(|x| x & 1 == 0).collect();
    let words: Vec<String> = (0..200).map(|i| format!("value-{}", i * 37)).collect();
    push(&|o| encode_timestamps(&s.ts, o));
    push(&|o| encode_timestamps(&jitter, o));
    push(&|o| encode_timestamps(&noise, o));
    push(&|o| encode_integers(&s.uptime, o));
    push(&|o| encode_integers(&walk, o));
    push(&|o| encode_unsigned(&[u64::MAX, 0, 1, 5], o));
    push(&|o| encode_floats(&s.floats[1], o));
    push(&|o| encode_floats(&dec, o));
    push(&|o| encode_floats(&bits, o));
    push(&|o| encode_floats(&bits[..3], o));
    push(&|o| encode_floats(&(0..300).map(|i| (i as f64).sqrt()).collect::<Vec<_>>(), o));
    push(&|o| encode_bools(&flags, o));
    push(&|o| encode_bools(&[true; 9], o));
    push(&|o| encode_strings(&s.status, o));
    push(&|o| encode_strings(&words, o));
    push(&|o| encode_strings(&["a", "bc", "", "def"], o));
    push(&|o| encode_strings(&[String::from("z").repeat(500)], o));
    blocks
}

#[test]
fn corpus_decodes_only_as_its_own_type() {
    for b in corpus() {
        assert_eq!(decode_all(&b), if b[0] >> 4 == 6 { 2 } else { 1 }, "{b:x?}");
    }
}

#[test]
fn truncated_blocks_are_errors() {
    for b in corpus() {
        for len in 0..b.len() {
            assert_eq!(
                decode_all(&b[..len]),
                0,
                "prefix {len} of {:x?}",
                &b[..len.min(16)]
            );
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(decode_all(&longer), 0, "a trailing byte is an error");
    }
}

#[test]
fn flipped_bits_never_panic() {
    for b in corpus() {
        for bit in 0..b.len() * 8 {
            let mut m = b.clone();
            m[bit / 8] ^= 1 << (bit % 8);
            decode_all(&m);
        }
    }
}

#[test]
fn mutated_and_random_bytes_never_panic() {
    let corpus = corpus();
    // CODEC_FUZZ_ITERS / CODEC_FUZZ_SEED make a longer or different fuzz run.
    let iters = std::env::var("CODEC_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let seed = std::env::var("CODEC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(77);
    let mut rng = Rng::new(seed);
    for _ in 0..iters {
        let mut m = corpus[(rng.next() % corpus.len() as u64) as usize].clone();
        for _ in 0..rng.range(1, 8) {
            let at = (rng.next() % m.len() as u64) as usize;
            match rng.next() % 4 {
                0 => m[at] = rng.next() as u8,
                1 => m[at] = 0xff,
                2 => m.truncate(at.max(1)),
                _ => m.insert(at, rng.next() as u8),
            }
        }
        decode_all(&m);
    }
    for _ in 0..iters {
        let len = rng.range(0, 64) as usize;
        let mut m: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if let Some(h) = m.first_mut() {
            // Mostly valid header nibbles so the bodies get exercised.
            *h = ((rng.range(1, 6) as u8) << 4) | (rng.range(0, 4) as u8);
        }
        decode_all(&m);
    }
}

#[test]
fn absurd_counts_are_rejected_without_allocating() {
    // header, then a count of u64::MAX / 2^40, for every type and scheme.
    for ty in 1..=6u8 {
        for scheme in 0..=15u8 {
            for count in [u64::MAX, 1 << 40, MAX_RLE_VALUES + 1] {
                let mut b = vec![ty << 4 | scheme];
                let mut c = count;
                while c >= 0x80 {
                    b.push(c as u8 | 0x80);
                    c >>= 7;
                }
                b.push(c as u8);
                b.extend_from_slice(&[1, 2, 3, 0, 0, 0, 0, 0, 0, 0]);
                assert!(block_len(&b).is_err(), "{b:x?}");
                assert_eq!(decode_all(&b), 0);
            }
        }
    }
    // A string block claiming a gigabyte of LZ4 output from a few bytes.
    let mut b = Vec::new();
    encode_strings(&[String::from("q").repeat(1000)], &mut b);
    let mut flat = Strings::default();
    decode_strings_flat(&b, &mut flat).unwrap();
    b[3] = 30; // the single length's miniblock width: now 30 bits, reads garbage
    decode_all(&b);
}

#[test]
fn wrong_header_and_type_are_named() {
    let mut b = Vec::new();
    encode_integers(&[1, 2, 3], &mut b);
    let mut f = Vec::new();
    assert!(matches!(
        decode_floats(&b, &mut f),
        Err(CodecError::WrongType {
            expected: "float",
            found: "integer"
        })
    ));
    b[0] = 0xf1;
    assert!(matches!(
        block_len(&b),
        Err(CodecError::UnknownHeader { header: 0xf1 })
    ));
    assert_eq!(block_len(&[]), Err(CodecError::Empty));
    let mut keep = vec![1.5];
    assert!(decode_floats(&[0x21, 0x05], &mut keep).is_err());
    assert_eq!(keep, vec![1.5], "failed decodes leave earlier values alone");
}
