//! The query set: built-in dashboard-like queries templated from the workload (so they hit
//! data that exists) — the same kinds as `../shared/peer/query_bench.py` — and the user's
//! own from a file.

use crate::load::Query;
use crate::workload::QueryContext;
use std::path::Path;

const HOUR_NS: i64 = 3_600_000_000_000;

/// `2020-01-01T00:00:00Z` for epoch ns (nanoseconds kept when not zero).
pub fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    if frac == 0 {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{frac:09}Z")
    }
}

/// The built-in set for a workload. Every SELECT has both time bounds: an open upper bound
/// would make GROUP BY time() run to now().
pub fn builtin(cx: &QueryContext) -> Vec<Query> {
    let m = format!("\"{}\"", cx.measurement);
    let f = &cx.float_fields[0];
    let f2 = &cx.float_fields[1 % cx.float_fields.len()];
    let key = &cx.key_tag;
    let one = &cx.key_values[0];
    let grp = &cx.group_tag;
    let gv = &cx.group_value;
    let range = format!(
        "time >= '{}' AND time <= '{}'",
        rfc3339(cx.start_ns),
        rfc3339(cx.end_ns)
    );
    let range1h = format!(
        "time >= '{}' AND time < '{}'",
        rfc3339(cx.start_ns),
        rfc3339(cx.start_ns + HOUR_NS)
    );
    let max5: Vec<String> = cx
        .float_fields
        .iter()
        .take(5)
        .map(|x| format!("max({x})"))
        .collect();
    let some: Vec<String> = cx
        .key_values
        .iter()
        .map(|v| format!("{key} = '{v}'"))
        .collect();
    let mut q: Vec<(&str, String)> = vec![
        ("last_1series", format!("SELECT last({f}) FROM {m} WHERE {key} = '{one}' AND {range}")),
        ("last_per_key_in_group", format!("SELECT last({f}) FROM {m} WHERE {grp} = '{gv}' AND {range} GROUP BY {key}")),
        ("last_per_key_all", format!("SELECT last({f}) FROM {m} WHERE {range} GROUP BY {key}")),
        ("mean_1m_1series_1h", format!("SELECT mean({f}) FROM {m} WHERE {key} = '{one}' AND {range1h} GROUP BY time(1m)")),
        ("max_fields_1m_1series_1h", format!("SELECT {} FROM {m} WHERE {key} = '{one}' AND {range1h} GROUP BY time(1m)", max5.join(", "))),
        ("mean_1m_8series_1h", format!("SELECT mean({f}) FROM {m} WHERE ({}) AND {range1h} GROUP BY time(1m), {key}", some.join(" OR "))),
        ("mean_1m_regex_1h", format!("SELECT mean({f}) FROM {m} WHERE {key} =~ /_1[0-9]$/ AND {range1h} GROUP BY time(1m)")),
        ("mean_5m_by_group", format!("SELECT mean({f}) FROM {m} WHERE {range} GROUP BY time(5m), {grp}")),
        ("mean_max_by_key_all", format!("SELECT mean({f}), max({f2}) FROM {m} WHERE {range} GROUP BY {key}")),
        ("count_all", format!("SELECT count({f}) FROM {m} WHERE {range}")),
        ("max_min_all", format!("SELECT max({f}), min({f}) FROM {m} WHERE {range}")),
        ("percentile_1series", format!("SELECT percentile({f}, 95), median({f}), max({f}), min({f}) FROM {m} WHERE {key} = '{one}' AND {range}")),
        ("percentile_group", format!("SELECT percentile({f}, 99) FROM {m} WHERE {grp} = '{gv}' AND {range}")),
        ("top5_all", format!("SELECT top({f}, 5) FROM {m} WHERE {range}")),
        ("field_filter_count", format!("SELECT count({f}) FROM {m} WHERE {f} > 90 AND {range}")),
        ("raw_1series", format!("SELECT * FROM {m} WHERE {key} = '{one}' AND {range}")),
        ("raw_1series_desc_limit", format!("SELECT {f} FROM {m} WHERE {key} = '{one}' AND {range} ORDER BY time DESC LIMIT 10")),
        ("subquery_max_of_mean", format!("SELECT max(mean) FROM (SELECT mean({f}) FROM {m} WHERE {grp} = '{gv}' AND {range} GROUP BY {key})")),
        ("show_measurements", "SHOW MEASUREMENTS".to_string()),
        ("show_tag_keys", format!("SHOW TAG KEYS FROM {m}")),
        ("show_field_keys", format!("SHOW FIELD KEYS FROM {m}")),
        ("show_tag_values_group", format!("SHOW TAG VALUES FROM {m} WITH KEY = \"{grp}\"")),
        ("show_tag_values_key_in_group", format!("SHOW TAG VALUES FROM {m} WITH KEY = \"{key}\" WHERE {grp} = '{gv}'")),
        ("show_series_1series", format!("SHOW SERIES FROM {m} WHERE {key} = '{one}'")),
        ("show_series_exact_cardinality", "SHOW SERIES EXACT CARDINALITY".to_string()),
        ("show_tag_values_exact_cardinality_key", format!("SHOW TAG VALUES EXACT CARDINALITY WITH KEY = \"{key}\"")),
    ];
    if let Some(i) = &cx.int_field {
        q.push(("derivative_1series", format!("SELECT non_negative_derivative(max({i}), 1s) FROM {m} WHERE {key} = '{one}' AND {range} GROUP BY time(1m)")));
    }
    if let Some((s, v)) = &cx.string_field {
        q.push((
            "string_filter_count",
            format!("SELECT count({s}) FROM {m} WHERE {s} = '{v}' AND {range}"),
        ));
    }
    q.into_iter()
        .map(|(name, text)| Query {
            name: name.to_string(),
            text,
        })
        .collect()
}

/// Statements that make sense for data nothing is known about (a line-protocol file).
pub fn generic() -> Vec<Query> {
    [
        ("show_measurements", "SHOW MEASUREMENTS"),
        (
            "show_series_exact_cardinality",
            "SHOW SERIES EXACT CARDINALITY",
        ),
        (
            "show_measurement_exact_cardinality",
            "SHOW MEASUREMENT EXACT CARDINALITY",
        ),
    ]
    .into_iter()
    .map(|(n, t)| Query {
        name: n.into(),
        text: t.into(),
    })
    .collect()
}

/// Reads a query file: one statement a line, optionally `name<TAB>statement`; blank lines
/// and `#` comments are skipped; unnamed statements are called `user_N`.
pub fn from_file(path: &Path) -> std::io::Result<Vec<Query>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .enumerate()
        .map(|(n, l)| match l.split_once('\t') {
            Some((name, q)) => Query {
                name: name.trim().to_string(),
                text: q.trim().to_string(),
            },
            None => Query {
                name: format!("user_{}", n + 1),
                text: l.to_string(),
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_577_836_800_000_000_000), "2020-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(951_782_400_000_000_001),
            "2000-02-29T00:00:00.000000001Z"
        );
    }

    #[test]
    fn query_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("q.txt");
        std::fs::write(
            &p,
            "# mine\nSHOW DATABASES\n\nlast\tSELECT last(v) FROM x\n",
        )
        .unwrap();
        let q = from_file(&p).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].name, "user_1");
        assert_eq!(q[1].name, "last");
        assert_eq!(q[1].text, "SELECT last(v) FROM x");
    }
}
