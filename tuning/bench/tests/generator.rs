//! The generators' output is deterministic and every line parses with our line-protocol
//! parser, with the field counts the generator reports.

use tessera_bench::workload::{DevOps, DevOpsParams, Iot, IotParams, Order, Precision, Workload};
use tessera_lineproto::{parse, FieldValue, Line, Precision as LpPrecision};

fn devops(order: Order, precision: Precision, batch: u64, seed: u64) -> DevOps {
    DevOps::new(DevOpsParams {
        series: 120,
        measurements: 3,
        points_per_series: 25,
        fields: 12,
        int_fields: 3,
        string_every: 4,
        bool_every: 5,
        start_ns: 1_577_836_800_000_000_000,
        interval_ns: 10_000_000_000,
        precision,
        seed,
        batch_size: batch,
        order,
    })
}

fn lp_precision(p: Precision) -> LpPrecision {
    match p {
        Precision::Ns => LpPrecision::Nanosecond,
        Precision::Us => LpPrecision::Microsecond,
        Precision::Ms => LpPrecision::Millisecond,
        Precision::S => LpPrecision::Second,
    }
}

/// Renders every batch, parses it, checks counts; returns the lines.
fn check(w: &dyn Workload) -> Vec<String> {
    let mut out = Vec::new();
    let mut all = Vec::new();
    let mut total_lines = 0;
    for idx in 0..w.batches() {
        let (lines, values) = w.render(idx, &mut out);
        let mut parser = parse(&out, lp_precision(w.precision()));
        let mut line = Line::empty();
        let (mut n, mut v) = (0u64, 0u64);
        while let Some(r) = parser.next_into(&mut line) {
            r.unwrap_or_else(|e| panic!("batch {idx}: {e}"));
            assert!(line.timestamp.is_some());
            assert!(!line.tags.is_empty());
            for (_, f) in &line.fields {
                match f {
                    FieldValue::Float(x) => assert!((0.0..=100.0).contains(x)),
                    FieldValue::Integer(x) => assert!(*x >= 0),
                    FieldValue::Str(_) | FieldValue::Boolean(_) => {}
                    FieldValue::Unsigned(_) => panic!("influxd 1.x refuses unsigned"),
                }
            }
            n += 1;
            v += line.fields.len() as u64;
        }
        assert_eq!((n, v), (lines, values), "batch {idx}");
        total_lines += n;
        all.extend(
            String::from_utf8(out.clone())
                .expect("ASCII")
                .lines()
                .map(String::from),
        );
    }
    assert_eq!(total_lines, w.lines());
    all
}

#[test]
fn devops_parses_and_is_deterministic() {
    let mut reference: Option<Vec<String>> = None;
    for (order, batch) in [
        (Order::Time, 50),
        (Order::Time, 7),
        (Order::Series, 60),
        (Order::Series, 10),
    ] {
        let mut lines = check(&devops(order, Precision::Ns, batch, 9));
        assert_eq!(
            lines,
            check(&devops(order, Precision::Ns, batch, 9)),
            "same run twice"
        );
        lines.sort();
        match &reference {
            None => reference = Some(lines),
            Some(r) => assert_eq!(&lines, r, "order/batching change only the order"),
        }
    }
    let mut other = check(&devops(Order::Time, Precision::Ns, 50, 10));
    other.sort();
    assert_ne!(Some(other), reference, "another seed, other values");
    for p in [Precision::Us, Precision::Ms, Precision::S] {
        check(&devops(Order::Time, p, 50, 9));
    }
}

#[test]
fn devops_counts_match_gen_lp_rules() {
    // The string and boolean fields follow gen_lp.py's rules, so its manifest's counts
    // apply: per series g, status on points with (i + g) % 4 == 0.
    let w = devops(Order::Time, Precision::Ns, 1000, 1);
    let lines = check(&w);
    let status = lines.iter().filter(|l| l.contains(",status=")).count();
    let expected: usize = (0..120u64)
        .map(|g| (0..25u64).filter(|i| (i + g) % 4 == 0).count())
        .sum();
    assert_eq!(status, expected);
    let throttled = lines.iter().filter(|l| l.contains(",throttled=")).count();
    let expected: usize = (0..120u64)
        .map(|g| (0..25u64).filter(|i| (i + 2 * g + 1) % 5 == 0).count())
        .sum();
    assert_eq!(throttled, expected);
}

#[test]
fn iot_parses_with_high_cardinality() {
    let w = Iot::new(IotParams {
        devices: 20_000,
        points_per_device: 2,
        start_ns: 1_577_836_800_000_000_000,
        interval_ns: 60_000_000_000,
        precision: Precision::Ms,
        seed: 3,
        batch_size: 5000,
        bool_every: 3,
        string_every: 7,
    });
    let lines = check(&w);
    let series: std::collections::HashSet<&str> =
        lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(series.len(), 20_000);
}
