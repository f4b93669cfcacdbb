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
