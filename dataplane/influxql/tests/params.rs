//! Bound parameters, checked against what influxd 1.6.7 answered for the same
//! `params={...}` (recorded by hand while building the crate).

use tessera_influxql::{parse_query, parse_query_with_params, ParamValue, Params};

fn params(list: &[(&str, ParamValue)]) -> Params {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn with(q: &str, list: &[(&str, ParamValue)]) -> Result<String, String> {
    parse_query_with_params(q, &params(list))
        .map(|q| q.to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn values_become_tokens() {
    let q = "SELECT a FROM m WHERE x = $h";
    assert_eq!(
        with(q, &[("h", ParamValue::String("srv".into()))]),
        Ok("SELECT a FROM m WHERE x = 'srv'".into())
    );
    assert_eq!(
        with(q, &[("h", ParamValue::Integer(5))]),
        Ok("SELECT a FROM m WHERE x = 5".into())
    );
    assert_eq!(
        with(q, &[("h", ParamValue::Number(5.5))]),
        Ok("SELECT a FROM m WHERE x = 5.500".into())
    );
    assert_eq!(
        with(q, &[("h", ParamValue::Boolean(true))]),
        Ok("SELECT a FROM m WHERE x = true".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM $m",
            &[("m", ParamValue::Identifier("cpu".into()))]
        ),
        Ok("SELECT a FROM cpu".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM m WHERE x =~ $r",
            &[("r", ParamValue::Regex("cpu".into()))]
        ),
        Ok("SELECT a FROM m WHERE x =~ /cpu/".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM m WHERE time > now() - $d",
            &[("d", ParamValue::Duration("1h".into()))]
        ),
        Ok("SELECT a FROM m WHERE time > now() - 1h".into())
    );
}

#[test]
fn influxd_errors() {
    assert_eq!(
        with(
            "SELECT a FROM $m",
            &[("m", ParamValue::String("cpu".into()))]
        ),
        Err("found cpu, expected identifier at line 1, char 15".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM m WHERE x =~ $r",
            &[("r", ParamValue::String("cpu".into()))]
        ),
        Err("found cpu, expected regex at line 1, char 28".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM m WHERE x =~ $d",
            &[("d", ParamValue::Regex("(".into()))]
        ),
        Err("error parsing regexp: missing closing ): `(` at line 1, char 28".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM m WHERE x = $h",
            &[(
                "h",
                ParamValue::Error("unable to bind parameter with type <nil>".into())
            )]
        ),
        Err("missing parameter: unable to bind parameter with type <nil>".into())
    );
    assert_eq!(
        with(
            "SELECT a FROM m WHERE x = $d",
            &[("d", ParamValue::Duration("xx".into()))]
        ),
        Err("invalid duration".into())
    );
    assert_eq!(
        parse_query("SELECT a FROM m WHERE x = $h").map_err(|e| e.to_string()),
        Err("missing parameter: h".into())
    );
    assert_eq!(
        parse_query("SELECT a FROM m WHERE x = $").map_err(|e| e.to_string()),
        Err("empty bound parameter".into())
    );
    assert_eq!(
        parse_query("SELECT a FROM m WHERE x = $h")
            .map_err(|e| e.influxd_text())
            .err(),
        Some("error parsing query: missing parameter: h".into())
    );
}
