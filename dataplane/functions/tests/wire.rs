//! The wire encoding of reducers: every function and type round-trips to
//! the same bytes and the same answers, and random damage to valid
//! encodings is refused (or read as some other valid state, which then
//! merges and finishes) without a panic or an allocation out of proportion
//! to the input. The corpus replay with shipped partials is in `corpus.rs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tessera_functions::{reducer, Arg, Point, Reducer, Value, ValueType};

/// Records the largest single allocation made while a thread tracks.
struct Tracking;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: the allocator also runs while thread-locals are torn down.
    let _ = TRACK.try_with(|t| {
        if t.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// SplitMix64, seeded: the same cases on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TYPES: [ValueType; 5] = [
    ValueType::Float,
    ValueType::Integer,
    ValueType::Unsigned,
    ValueType::String,
    ValueType::Boolean,
];

/// Every function with representative arguments.
fn functions() -> Vec<(&'static str, Vec<Arg>)> {
    let id = |s: &str| Arg::Ident(s.to_string());
    vec![
        ("count", vec![]),
        ("distinct", vec![]),
        ("count_distinct", vec![]),
        ("count(distinct)", vec![]),
        ("integral", vec![]),
        ("integral", vec![Arg::Duration(10_000_000_000)]),
        ("mean", vec![]),
        ("median", vec![]),
        ("mode", vec![]),
        ("spread", vec![]),
        ("stddev", vec![]),
        ("sum", vec![]),
        ("first", vec![]),
        ("last", vec![]),
        ("max", vec![]),
        ("min", vec![]),
        ("percentile", vec![Arg::Integer(90)]),
        ("percentile", vec![Arg::Float(33.3)]),
        ("sample", vec![Arg::Integer(3)]),
        ("sample", vec![Arg::Integer(1000)]),
        ("top", vec![Arg::Integer(2)]),
        ("top", vec![id("host"), Arg::Integer(2)]),
        ("bottom", vec![Arg::Integer(3)]),
        ("bottom", vec![id("host"), id("région"), Arg::Integer(3)]),
    ]
}

/// Values of type `t`, awkward ones included (NaN with a payload, -0.0,
/// integer extremes, empty and non-ASCII strings).
fn value(rng: &mut Rng, t: ValueType) -> Value {
    let pick = rng.below(8);
    match t {
        ValueType::Float => Value::Float(match pick {
            0 => -0.0,
            1 => 0.0,
            2 => f64::from_bits(0x7ff8_0000_0bad_f00d),
            3 => f64::MAX,
            _ => (rng.below(50) as f64 - 25.0) * 0.1,
        }),
        ValueType::Integer => Value::Integer(match pick {
            0 => i64::MIN,
            1 => i64::MAX,
            _ => rng.below(20) as i64 - 10,
        }),
        ValueType::Unsigned => Value::Unsigned(match pick {
            0 => u64::MAX,
            _ => rng.below(20) as u64,
        }),
        ValueType::String => Value::String(
            ["", "a", "b", "ünï", "☃ snow", "a much longer string value"][rng.below(6)].to_string(),
        ),
        ValueType::Boolean => Value::Boolean(pick & 1 == 1),
    }
}

/// A reducer fed `batches` series of a few points, each its own tag key.
fn fed(name: &str, args: &[Arg], t: ValueType, rng: &mut Rng, batches: usize) -> Reducer {
    let mut r = reducer(name, args, t).expect("valid function");
    for b in 0..batches {
        r.set_tag_key(["a", "b", "c", "a,b"][b % 4]);
        let n = 1 + rng.below(12);
        let mut time = rng.below(100) as i64 - 50;
        let mut times = Vec::new();
        let mut vals = Vec::new();
        for _ in 0..n {
            time += rng.below(3) as i64 + 1;
            times.push(time);
            vals.push(value(rng, t));
        }
        let aux = (b as u64) << 32;
        let res = match t {
            ValueType::Float => r.push_floats(&times, &floats(&vals), aux),
            ValueType::Integer => r.push_integers(&times, &get(&vals, |v| v.as_i64()), aux),
            ValueType::Unsigned => r.push_unsigneds(&times, &get(&vals, |v| v.as_u64()), aux),
            ValueType::String => r.push_strings(&times, &get(&vals, |v| v.as_string()), aux),
            ValueType::Boolean => r.push_booleans(&times, &get(&vals, |v| v.as_bool()), aux),
        };
        res.expect("push");
        // Single points too (Reducer::push), after the batch.
        r.push(time + 1, &value(rng, t), aux + 99)
            .expect("push one");
    }
    r
}

trait As {
    fn as_i64(&self) -> Option<i64>;
    fn as_u64(&self) -> Option<u64>;
    fn as_string(&self) -> Option<String>;
    fn as_bool(&self) -> Option<bool>;
}

impl As for Value {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
    fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Unsigned(v) => Some(*v),
            _ => None,
        }
    }
    fn as_string(&self) -> Option<String> {
        match self {
            Value::String(v) => Some(v.clone()),
            _ => None,
        }
    }
    fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(v) => Some(*v),
            _ => None,
        }
    }
}

fn floats(v: &[Value]) -> Vec<f64> {
    v.iter().map(|x| x.as_f64().expect("float")).collect()
}

fn get<T>(v: &[Value], f: impl Fn(&Value) -> Option<T>) -> Vec<T> {
    v.iter().map(|x| f(x).expect("typed value")).collect()
}

fn encode(r: &Reducer) -> Vec<u8> {
    let mut b = Vec::new();
    r.encode(&mut b);
    b
}

fn same_bits(a: &[Point], b: &[Point]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(p, q)| {
            p.time == q.time
                && p.aux == q.aux
                && match (&p.value, &q.value) {
                    (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
                    (x, y) => x == y,
                }
        })
}

/// Every accepted (function, type) in several states: empty, fed, merged;
/// with the function's arguments.
fn states(rng: &mut Rng) -> Vec<(Reducer, Vec<Arg>)> {
    let mut out = Vec::new();
    for (name, args) in functions() {
        for t in TYPES {
            if reducer(name, &args, t).is_err() {
                continue;
            }
            out.push((fed(name, &args, t, rng, 0), args.clone()));
            out.push((fed(name, &args, t, rng, 1), args.clone()));
            let mut m = fed(name, &args, t, rng, 3);
            m.merge(fed(name, &args, t, rng, 2)).expect("merge");
            out.push((m, args.clone()));
        }
    }
    out
}

#[test]
fn every_function_and_type_round_trips() {
    let mut rng = Rng(0x7e55e7a);
    let all = states(&mut rng);
    assert!(all.len() > 200, "{} states", all.len());
    for (r, args) in &all {
        let what = format!("{}({})", r.name(), r.input_type());
        let b = encode(r);
        let (d, used) = Reducer::decode(&b).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(used, b.len(), "{what}");
        assert_eq!(encode(&d), b, "{what}: re-encoding differs");
        assert_eq!(
            (d.name(), d.input_type(), d.tag_keys()),
            (r.name(), r.input_type(), r.tag_keys())
        );
        // Self-delimiting: trailing bytes are left alone, every strict
        // prefix is refused.
        let mut longer = b.clone();
        longer.extend_from_slice(&b);
        assert_eq!(Reducer::decode(&longer).map(|x| x.1), Ok(b.len()), "{what}");
        for l in 0..b.len() {
            assert!(Reducer::decode(&b[..l]).is_err(), "{what}: prefix {l}");
        }
        // Same answer as never shipped, and the same after a merge.
        let (x, y) = (r.clone().finish(1000), d.clone().finish(1000));
        assert!(same_bits(&x, &y), "{what}: {x:?} vs {y:?}");
        let other = fed(r.name(), args, r.input_type(), &mut Rng(7), 2);
        let (mut a, mut c) = (r.clone(), d);
        a.merge(other.clone()).expect("merge");
        c.merge(other).expect("merge");
        assert_eq!(encode(&a), encode(&c), "{what}: merged");
        assert!(same_bits(&a.finish(5), &c.finish(5)), "{what}: merged");
    }
}

#[test]
fn damaged_encodings_never_panic_nor_overallocate() {
    let mut rng = Rng(0xdeca_fbad);
    let valid: Vec<Vec<u8>> = states(&mut rng).iter().map(|s| encode(&s.0)).collect();
    let (mut ok, mut refused) = (0usize, 0usize);
    for _ in 0..100_000 {
        let mut b = valid[rng.below(valid.len())].clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(b.len() + 1);
            match rng.below(8) {
                0 => b.truncate(at),
                1 if at < b.len() => b[at] ^= 1 << rng.below(8),
                2 if at < b.len() => b[at] = rng.next() as u8,
                3 => b.insert(at, rng.next() as u8),
                4 if at < b.len() => {
                    b.remove(at);
                }
                5 => {
                    // A huge varint: a hostile length or count.
                    let end = (at + 1 + rng.below(10)).min(b.len());
                    b[at.min(end)..end].fill(0xff);
                }
                6 => {
                    let other = &valid[rng.below(valid.len())];
                    let from = rng.below(other.len());
                    b.truncate(at);
                    b.extend_from_slice(&other[from..]);
                }
                _ => {
                    let n = rng.below(16);
                    for _ in 0..n {
                        b.insert(at.min(b.len()), rng.next() as u8);
                    }
                }
            }
        }
        LARGEST.with(|l| l.set(0));
        TRACK.with(|t| t.set(true));
        let res = Reducer::decode(&b);
        TRACK.with(|t| t.set(false));
        let largest = LARGEST.with(|l| l.get());
        // hashbrown and Vec sizes per input byte, plus top/bottom's fixed
        // heap reserve.
        assert!(
            largest <= 256 * b.len() + 64 * 1024,
            "allocated {largest} bytes decoding {} bytes",
            b.len()
        );
        match res {
            Ok((r, used)) => {
                ok += 1;
                assert!(used <= b.len());
                // Accepted bytes are canonical.
                assert_eq!(encode(&r), b[..used], "re-encoding differs");
                // And the state is usable: merging and finishing it do not
                // panic either (decode checks what they index by).
                let mut twice = r.clone();
                // percentile(NaN) never equals itself, so it cannot merge.
                if twice.merge(r.clone()).is_ok() {
                    twice.finish(0);
                }
                r.finish(0);
            }
            Err(_) => refused += 1,
        }
    }
    eprintln!("damaged encodings: {ok} read as valid states, {refused} refused");
    assert!(refused > 50_000, "{refused}");
}
