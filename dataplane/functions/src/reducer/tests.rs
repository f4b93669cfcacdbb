//! Merges, time rules and the quirks the corpus cannot isolate.

use super::*;
use crate::value::Arg;
use crate::window::Window;

fn floats(name: &str, args: &[Arg], times: &[i64], vals: &[f64]) -> Reducer {
    let mut r = reducer(name, args, ValueType::Float).expect("reducer");
    r.push_floats(times, vals, 0).expect("push");
    r
}

#[test]
fn merges_are_exact() {
    let t: Vec<i64> = (0..40).map(|i| i * 10).collect();
    let v: Vec<f64> = (0..40)
        .map(|i| ((i * 37) % 23) as f64 * 0.25 - 2.0)
        .collect();
    for name in [
        "count",
        "sum",
        "min",
        "max",
        "first",
        "last",
        "spread",
        "distinct",
        "count_distinct",
    ] {
        let whole = floats(name, &[], &t, &v).finish(0);
        let mut a = floats(name, &[], &t[..17], &v[..17]);
        let mut b = reducer(name, &[], ValueType::Float).expect("reducer");
        b.push_floats(&t[17..], &v[17..], 17).expect("push");
        a.merge(b).expect("merge");
        assert_eq!(a.finish(0), whole, "{name}");
    }
}

#[test]
fn mean_keeps_influxd_partial_arithmetic() {
    let v = [0.1, 0.2, 0.4];
    let r = floats("mean", &[], &[1, 2, 3], &v);
    let sum: f64 = v.iter().sum();
    let m = sum / 3.0;
    assert_eq!(
        r.finish(7),
        vec![Point::new(7, Value::Float((m * 3.0) / 3.0))]
    );
}

#[test]
fn selectors_carry_aux_and_time() {
    let r = floats("max", &[], &[10, 20, 30], &[1.0, 5.0, 5.0]);
    assert_eq!(r.time_rule(), TimeRule::Selector);
    assert_eq!(
        r.finish(0),
        vec![Point {
            time: 20,
            value: Value::Float(5.0),
            aux: 1
        }]
    );
    // first() at one timestamp prefers the larger value, whatever the order.
    let mut a = floats("first", &[], &[5], &[1.0]);
    a.merge(floats("first", &[], &[5], &[3.0])).expect("merge");
    assert_eq!(a.finish(0)[0].value, Value::Float(3.0));
}

#[test]
fn top_with_tags_ranks_the_best_point_per_tag() {
    let args = [Arg::Ident("host".into()), Arg::Integer(2)];
    let mut r = reducer("top", &args, ValueType::Integer).expect("top");
    r.set_tag_key("a");
    r.push_integers(&[1, 2, 3], &[9, 8, 7], 0).expect("push");
    r.set_tag_key("b");
    r.push_integers(&[4], &[1], 10).expect("push");
    let rows = r.finish(0);
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].time, rows[0].aux), (1, 0));
    assert_eq!((rows[1].time, rows[1].aux), (4, 10));
}

#[test]
fn sample_keeps_n_points_in_time_order() {
    let t: Vec<i64> = (0..100).collect();
    let v: Vec<f64> = t.iter().map(|&x| x as f64).collect();
    let mut a = floats("sample", &[Arg::Integer(5)], &t[..60], &v[..60]);
    a.merge(floats("sample", &[Arg::Integer(5)], &t[60..], &v[60..]))
        .expect("merge");
    let rows = a.finish(0);
    assert_eq!(rows.len(), 5);
    assert!(rows.windows(2).all(|w| w[0].time < w[1].time));
}

#[test]
fn types_and_errors() {
    assert!(reducer("sum", &[], ValueType::String).is_err());
    assert!(reducer("max", &[], ValueType::Boolean).is_ok());
    assert!(reducer("top", &[Arg::Integer(0)], ValueType::Float).is_err());
    assert!(reducer("nope", &[], ValueType::Float).is_err());
    let mut r = reducer("count", &[], ValueType::Float).expect("count");
    assert!(r.push_strings(&[1], &["x".to_string()], 0).is_err());
    assert_eq!(r.output_type(), ValueType::Integer);
    assert_eq!(r.null_fill(), Value::Integer(0));
}

#[test]
fn integral_integer_variant_keeps_influxd_quirk() {
    // Points at 0 (0) and 15 (30) with 10-unit windows: the float variant
    // restarts the next window from the interpolated point (10, 20); the
    // integer one pairs the interpolated value with the old value 0.
    let w = Some(Window::new(10, 0));
    let mut f = IntegralStream::new(1, w, Some(0), false);
    let mut i = IntegralStream::new(1, w, Some(0), true);
    for s in [&mut f, &mut i] {
        s.push(0, 0.0);
        s.push(15, 30.0);
    }
    let (f, i) = (f.finish(), i.finish());
    assert_eq!(f[0], Point::new(0, Value::Float(100.0)));
    assert_eq!(f[1], Point::new(10, Value::Float(125.0)));
    assert_eq!(i[1], Point::new(10, Value::Float(50.0)));
}

#[test]
fn integral_descending_runs_backwards_and_closes_a_window_twice() {
    // Points at 25 (10), 20 (20), 10 (20) and 5 (0), newest first, 10-unit
    // windows: influxd labels a window by its end, the areas are negative,
    // and the point exactly on window [20, 30)'s start closes it (-75), then
    // opens the same window again, which the next point closes empty (0).
    let mut s = IntegralStream::new(1, Some(Window::new(10, 0)), Some(0), false);
    s.set_descending(true);
    for (t, v) in [(25, 10.0), (20, 20.0), (10, 20.0), (5, 0.0)] {
        s.push(t, v);
    }
    let out = s.finish();
    let got: Vec<(i64, f64)> = out
        .iter()
        .map(|p| match p.value {
            Value::Float(v) => (p.time, v),
            _ => panic!("integral answers floats"),
        })
        .collect();
    assert_eq!(got, vec![(30, -75.0), (30, 0.0), (20, -200.0), (10, -50.0)]);
}

/// Four series whose values tie a lot: which of the equal points
/// percentile() returns depends on the order the series reach Go's sort.
fn tied_series() -> Vec<(Vec<u8>, Vec<i64>, Vec<f64>)> {
    (0..4u64)
        .map(|s| {
            let times: Vec<i64> = (0..12).map(|i| i * 10).collect();
            let vals: Vec<f64> = (0..12u64).map(|i| ((i * 7 + s * 3) % 4) as f64).collect();
            (format!("cpu,host=h{s}").into_bytes(), times, vals)
        })
        .collect()
}

/// One partial per list of series indexes, pushed in the given order;
/// `keyed` names each series' key first.
fn partial(name: &str, args: &[Arg], series: &[usize], keyed: bool) -> Reducer {
    let all = tied_series();
    let mut r = reducer(name, args, ValueType::Float).expect("reducer");
    for &s in series {
        let (key, times, vals) = &all[s];
        if keyed {
            r.set_series_key(key);
        }
        r.push_floats(times, vals, (s as u64) << 32).expect("push");
    }
    r
}

#[test]
fn percentile_ties_follow_series_key_order_across_partials() {
    let args = [Arg::Float(50.0)];
    // influxd: every series, in key order, through one merge.
    let want = partial("percentile", &args, &[0, 1, 2, 3], true).finish(0);
    // Partials holding series out of key order, merged either way round.
    for (a, b) in [([3, 1], [2, 0]), ([2, 0], [3, 1])] {
        let mut x = partial("percentile", &args, &a, true);
        x.merge(partial("percentile", &args, &b, true))
            .expect("merge");
        assert_eq!(x.finish(0), want, "{a:?} then {b:?}");
    }
    // Shipped partials keep their keys.
    let mut buf = Vec::new();
    partial("percentile", &args, &[3, 1], true).encode(&mut buf);
    partial("percentile", &args, &[2, 0], true).encode(&mut buf);
    let (mut x, used) = Reducer::decode(&buf).expect("decode");
    let (y, _) = Reducer::decode(&buf[used..]).expect("decode");
    x.merge(y).expect("merge");
    assert_eq!(x.finish(0), want);
    // Without keys the push order decides: the tie is real.
    let mut x = partial("percentile", &args, &[3, 1], false);
    x.merge(partial("percentile", &args, &[2, 0], false))
        .expect("merge");
    let got = x.finish(0);
    assert_eq!(got[0].value, want[0].value);
    assert_ne!(got[0].aux, want[0].aux, "the data must tie across series");
}

#[test]
fn slice_functions_and_top_ignore_partial_order() {
    for (name, args) in [
        ("median", vec![]),
        ("mode", vec![]),
        ("stddev", vec![]),
        ("integral", vec![]),
        ("top", vec![Arg::Integer(5)]),
        ("bottom", vec![Arg::Integer(5)]),
    ] {
        let want = partial(name, &args, &[0, 1, 2, 3], true).finish(0);
        let mut x = partial(name, &args, &[3, 1], true);
        x.merge(partial(name, &args, &[2, 0], true)).expect("merge");
        let got = x.finish(0);
        assert_eq!(got.len(), want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.time, g.aux), (w.time, w.aux), "{name}");
            match (&g.value, &w.value) {
                (Value::Float(a), Value::Float(b)) => {
                    assert_eq!(a.to_bits(), b.to_bits(), "{name}")
                }
                (a, b) => assert_eq!(a, b, "{name}"),
            }
        }
    }
}

#[test]
fn selector_full_ties_go_to_the_smaller_series_key() {
    // Identical series: every point ties in time and value across series,
    // so the earliest series in key order must win (influxd pushes series
    // in that order and keeps the first of equal points).
    let times = [0, 10, 20];
    let vals = [1.0, 3.0, 2.0];
    let one = |name: &str, series: &[u64]| {
        let mut r = reducer(name, &[], ValueType::Float).expect("reducer");
        for &s in series {
            r.set_series_key(format!("cpu,host=h{s}").as_bytes());
            r.push_floats(&times, &vals, s << 32).expect("push");
        }
        r
    };
    for name in ["max", "min", "first", "last"] {
        let want = one(name, &[0, 1, 2, 3]).finish(0);
        assert_eq!(want[0].aux >> 32, 0, "{name}");
        let mut x = one(name, &[3, 1]);
        x.merge(one(name, &[2, 0])).expect("merge");
        assert_eq!(x.finish(0), want, "{name}");
        // The key travels with the selected point.
        let mut buf = Vec::new();
        one(name, &[3, 1]).encode(&mut buf);
        let (mut y, _) = Reducer::decode(&buf).expect("decode");
        y.merge(one(name, &[2, 0])).expect("merge");
        assert_eq!(y.finish(0), want, "{name}");
    }
}

#[test]
fn a_series_split_in_time_is_one_series_again() {
    // The same series in two shards (or cut in time): its runs join, so the
    // result equals pushing it whole, whichever partial comes first.
    let all = tied_series();
    let whole = partial("percentile", &[Arg::Float(50.0)], &[0, 1], true).finish(0);
    let (key, times, vals) = &all[0];
    let mut a = partial("percentile", &[Arg::Float(50.0)], &[1], true);
    a.set_series_key(key);
    a.push_floats(&times[6..], &vals[6..], 6).expect("push");
    let mut b = reducer("percentile", &[Arg::Float(50.0)], ValueType::Float).expect("reducer");
    b.set_series_key(key);
    b.push_floats(&times[..6], &vals[..6], 0).expect("push");
    a.merge(b).expect("merge");
    assert_eq!(a.finish(0), whole);
}

#[test]
fn distinct_orders_by_first_or_last_sight_and_ships_both() {
    // 3 is seen at 10 and 40, 1 at 20, 2 at 30.
    let t = [10, 20, 30, 40];
    let v = [3.0, 1.0, 2.0, 3.0];
    let values = |r: Reducer| -> Vec<f64> {
        r.finish(0)
            .into_iter()
            .map(|p| match p.value {
                Value::Float(f) => f,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    assert_eq!(values(floats("distinct", &[], &t, &v)), vec![3.0, 1.0, 2.0]);
    let mut latest = floats("distinct", &[], &t, &v);
    latest.set_latest_first();
    assert_eq!(values(latest), vec![1.0, 2.0, 3.0]);
    // Both sightings survive a trip over the wire and a merge.
    let mut bytes = Vec::new();
    floats("distinct", &[], &t[2..], &v[2..]).encode(&mut bytes);
    let (shipped, _) = Reducer::decode(&bytes).expect("decode");
    let mut merged = floats("distinct", &[], &t[..2], &v[..2]);
    merged.merge(shipped).expect("merge");
    merged.set_latest_first();
    assert_eq!(values(merged), vec![1.0, 2.0, 3.0]);
}

#[test]
fn kept_points_merge_shard_by_shard() {
    // Series a (0, 10 | 20, 40, 50) and b (0, 5 | 20) in two shards: influxd
    // merges each shard's series with a fresh heap, then the shards in time
    // order, so at 20 a's point comes first; one heap over both shards would
    // put b's first (see merge::tests). The order must survive the partials
    // travelling (encode/decode) and merging in reverse order.
    let unit = [Arg::Duration(1)];
    let shard = |a: &[i64], b: &[i64], id: u64| {
        let mut r = reducer("integral", &unit, ValueType::Float).expect("integral");
        for (key, times, base) in [(&b"m,h=a"[..], a, 1.0), (&b"m,h=b"[..], b, 100.0)] {
            r.set_series_key(key);
            let vals: Vec<f64> = times.iter().map(|t| base + *t as f64).collect();
            r.push_floats(times, &vals, 0).expect("push");
        }
        r.set_segment(id);
        r
    };
    let order =
        |r: Reducer| -> Vec<(i64, f64)> { r.into_integral_input().expect("integral input").2 };
    let mut want = order(shard(&[0, 10], &[0, 5], 1));
    want.extend(order(shard(&[20, 40, 50], &[20], 2)));
    assert_eq!(&want[4..6], &[(20, 21.0), (20, 120.0)]);
    let mut buf = Vec::new();
    shard(&[20, 40, 50], &[20], 2).encode(&mut buf);
    shard(&[0, 10], &[0, 5], 1).encode(&mut buf);
    let (mut x, used) = Reducer::decode(&buf).expect("decode");
    let (y, _) = Reducer::decode(&buf[used..]).expect("decode");
    x.merge(y).expect("merge");
    assert_eq!(order(x), want);
    // One heap over both shards orders the equal-time points otherwise.
    let mut flat = shard(&[0, 10], &[0, 5], 1);
    flat.merge(shard(&[20, 40, 50], &[20], 1)).expect("merge");
    assert_eq!(&order(flat)[4..6], &[(20, 120.0), (20, 21.0)]);
}

#[test]
fn full_ties_go_to_the_first_series_in_key_order_and_the_last_under_desc() {
    // influxd 1.6.7: three series with v=5 at one time; max(v), h answers a, and c
    // under ORDER BY time DESC (it reverses the series), whatever the push order.
    for order in [["m,h=b", "m,h=c", "m,h=a"], ["m,h=c", "m,h=a", "m,h=b"]] {
        let mut parts = Vec::new();
        for key in order {
            let mut r = reducer("max", &[], ValueType::Integer).unwrap();
            r.set_series_key(key.as_bytes());
            let aux = u64::from(key.as_bytes()[4]);
            r.push_integers(&[0], &[5], aux).unwrap();
            parts.push(r);
        }
        let mut all = parts.remove(0);
        for p in parts {
            all.merge(p).unwrap();
        }
        let mut bytes = Vec::new();
        all.encode(&mut bytes);
        let (decoded, _) = Reducer::decode(&bytes).unwrap();
        assert_eq!(all.clone().finish(0)[0].aux, u64::from(b'a'));
        let mut desc = decoded;
        desc.set_latest_first();
        assert_eq!(desc.finish(0)[0].aux, u64::from(b'c'));
    }
}

#[test]
fn retained_aux_ids_are_those_a_series_left_behind() {
    // max(): of a series' three points only the best stays.
    let mut r = reducer("max", &[], ValueType::Float).unwrap();
    r.set_series_key(b"m,h=a");
    r.push_floats(&[0, 1, 2], &[1.0, 5.0, 2.0], 100).unwrap();
    let mut got = Vec::new();
    r.retained_aux_since(100, &mut |id| got.push(id));
    assert_eq!(got, vec![101]);
    // A later series that does not win leaves nothing of its own.
    r.set_series_key(b"m,h=b");
    r.push_floats(&[0], &[0.5], 200).unwrap();
    got.clear();
    r.retained_aux_since(200, &mut |id| got.push(id));
    assert!(got.is_empty(), "{got:?}");
    // top(x, tag, N): only the current tag key's best is looked at.
    let mut t = reducer(
        "top",
        &[Arg::Ident("h".into()), Arg::Integer(2)],
        ValueType::Float,
    )
    .unwrap();
    for (k, base) in [("a", 10), ("b", 20)] {
        t.set_tag_key(k);
        t.set_series_key(format!("m,h={k}").as_bytes());
        t.push_floats(&[0, 1], &[1.0, 3.0], base).unwrap();
    }
    got.clear();
    t.retained_aux_since(20, &mut |id| got.push(id));
    assert_eq!(got, vec![21]);
}

#[test]
fn windows_take_their_block_of_the_one_merge_of_the_range() {
    // Four series of equal values with points in both windows, some series missing
    // from one: each window's points must come in the order the merge of the whole
    // range (Go's heap, series in key order) pops them, not a merge of the window alone.
    let series: [(&[u8], &[i64]); 4] = [
        (b"m,h=a", &[0, 5, 10, 15]),
        (b"m,h=b", &[5, 10, 15]),
        (b"m,h=c", &[0, 10]),
        (b"m,h=d", &[0, 5, 15]),
    ];
    let window_of = |t: i64| t - t % 10;
    for descending in [false, true] {
        let mut windows: Vec<(i64, Reducer)> = [0, 10]
            .into_iter()
            .map(|w| (w, reducer("mode", &[], ValueType::Float).expect("reducer")))
            .collect();
        for (s, (key, times)) in series.iter().enumerate() {
            for (w, r) in windows.iter_mut() {
                let at: Vec<usize> = (0..times.len())
                    .filter(|&i| window_of(times[i]) == *w)
                    .collect();
                if at.is_empty() {
                    continue;
                }
                let ts: Vec<i64> = at.iter().map(|&i| times[i]).collect();
                r.set_series_key(key);
                r.push_floats(&ts, &vec![1.0; ts.len()], ((s as u64) << 32) + at[0] as u64)
                    .expect("push");
            }
        }
        let mut refs: Vec<(i64, &mut Reducer)> = windows.iter_mut().map(|(w, r)| (*w, r)).collect();
        feed_windows_in_one_merge(&mut refs, &window_of, descending, &crate::tie::NoTies, true);
        // The oracle: the whole range merged (newest first under DESC).
        let runs: Vec<Vec<i64>> = series
            .iter()
            .map(|(_, t)| {
                let mut t = t.to_vec();
                if descending {
                    t.reverse();
                }
                t
            })
            .collect();
        let mut order: Vec<usize> = (0..runs.len()).collect();
        if descending {
            order.reverse();
        }
        let slices: Vec<&[i64]> = order.iter().map(|&s| runs[s].as_slice()).collect();
        let merged: Vec<(u64, i64)> =
            crate::merge::merge_order_by(&slices, descending, |_, _| false)
                .into_iter()
                .map(|(r, i)| {
                    let s = order[r];
                    let at = if descending { runs[s].len() - 1 - i } else { i };
                    (((s as u64) << 32) + at as u64, runs[s][i])
                })
                .collect();
        for (w, r) in &windows {
            let want: Vec<u64> = merged
                .iter()
                .filter(|(_, t)| window_of(*t) == *w)
                .map(|(aux, _)| *aux)
                .collect();
            let got = r.ordered.as_ref().expect("fed").aux.clone();
            assert_eq!(got, want, "window {w}, descending {descending}");
        }
    }
}

#[test]
fn an_n_past_the_points_answers_them_all() {
    // N is the user's: it may be far more than any memory holds.
    let t: Vec<i64> = (0..5).collect();
    let v: Vec<f64> = t.iter().map(|&x| x as f64).collect();
    for name in ["top", "bottom", "sample"] {
        let rows = floats(name, &[Arg::Integer(i64::MAX)], &t, &v).finish(0);
        assert_eq!(rows.len(), 5, "{name}");
    }
}
