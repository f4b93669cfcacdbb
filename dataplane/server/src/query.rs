//! `/query`: InfluxDB 1.x's parameters (`q`, `db`, `rp`, `epoch`, `pretty`, `chunked`,
//! `chunk_size`, `params`), statements run in order (after a failed one the rest are "not
//! executed", with influxd's numbering), answers as JSON or CSV (`Accept`).

use std::collections::HashMap;
use std::rc::Rc;

use tessera_influxql::{ParamValue, Params};
use tessera_query::output::{results_json, CsvWriter, StatementResult, TimeFormat};
use tessera_query::QueryError;

use crate::handlers::Ctx;
use crate::http::{Request, Response};

struct QueryParams {
    q: Option<String>,
    db: String,
    rp: String,
    epoch: Option<String>,
    pretty: bool,
    chunked: bool,
    chunk_size: usize,
    params: Option<String>,
}

fn read_params(req: &Request) -> QueryParams {
    let form = if req.head.method == "POST"
        && req
            .head
            .header("content-type")
            .map(|v| v.starts_with(b"application/x-www-form-urlencoded"))
            .unwrap_or(false)
    {
        String::from_utf8_lossy(&req.body).into_owned()
    } else {
        String::new()
    };
    let get = |name: &str| -> Option<String> {
        crate::http::form_value(&form, name).or_else(|| req.head.query_decoded(name))
    };
    QueryParams {
        q: get("q"),
        db: get("db").unwrap_or_default(),
        rp: get("rp").unwrap_or_default(),
        epoch: get("epoch"),
        // influxd reads `pretty` from the URL only.
        pretty: req.head.query_decoded("pretty").as_deref() == Some("true"),
        chunked: get("chunked").as_deref() == Some("true"),
        chunk_size: get("chunk_size")
            .and_then(|s| s.parse().ok())
            .filter(|n: &usize| *n > 0)
            .unwrap_or(10_000),
        params: get("params"),
    }
}

fn error_response(status: u16, msg: &str) -> Response {
    crate::handlers::error_json(status, msg)
}

/// `params={"name": value}` as influxd 1.6 decodes it.
fn parse_params(raw: &str) -> Result<Params, String> {
    let fail = |text: String| format!("error parsing query parameters: {text}");
    // Go's json.Decoder: the first value only, its errors in Go's words.
    let end = crate::gojson::first_value(raw).map_err(fail)?;
    let v: serde_json::Value =
        serde_json::from_str(&raw[..end]).map_err(|e| fail(e.to_string()))?;
    let kind = match &v {
        serde_json::Value::Object(_) => None,
        serde_json::Value::Null => return Ok(HashMap::new()),
        serde_json::Value::Array(_) => Some("array"),
        serde_json::Value::String(_) => Some("string"),
        serde_json::Value::Number(_) => Some("number"),
        serde_json::Value::Bool(_) => Some("bool"),
    };
    if let Some(kind) = kind {
        return Err(fail(format!(
            "json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}"
        )));
    }
    let obj = v.as_object().ok_or_else(|| fail("not an object".into()))?;
    let mut out: Params = HashMap::new();
    for (k, v) in obj {
        let p = match v {
            serde_json::Value::String(s) => ParamValue::String(s.clone()),
            serde_json::Value::Bool(b) => ParamValue::Boolean(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => ParamValue::Integer(i),
                None => ParamValue::Number(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::Null => {
                ParamValue::Error("unable to bind parameter with type <nil>".into())
            }
            serde_json::Value::Array(_) => {
                ParamValue::Error("unable to bind parameter with type []interface {}".into())
            }
            // {"identifier": "x"}, {"regex": "..."}, {"duration": "1h"}.
            serde_json::Value::Object(o) => match o.iter().next() {
                Some((kind, serde_json::Value::String(v))) if o.len() == 1 => match kind.as_str() {
                    "identifier" => ParamValue::Identifier(v.clone()),
                    "regex" => ParamValue::Regex(v.clone()),
                    "duration" => ParamValue::Duration(v.clone()),
                    other => ParamValue::Error(format!("unknown bind object type: {other}")),
                },
                Some((kind, _)) => ParamValue::Error(format!("unknown bind object type: {kind}")),
                None => ParamValue::Error(
                    "unable to bind parameter with type map[string]interface {}".into(),
                ),
            },
        };
        out.insert(k.clone(), p);
    }
    Ok(out)
}

pub async fn query(
    req: &Request,
    ctx: &Rc<Ctx>,
    user: Option<&tessera_meta_types::User>,
) -> Response {
    let p = read_params(req);
    let format = crate::handlers::Format::of(req);
    let Some(q) = p.q.clone().filter(|q| !q.trim().is_empty()) else {
        return error_response(400, "missing required parameter \"q\"");
    };
    let params = match p.params.as_deref().filter(|s| !s.is_empty()) {
        Some(raw) => match parse_params(raw) {
            Ok(x) => x,
            Err(e) => return error_response(400, &e),
        },
        None => HashMap::new(),
    };
    // influxd trims the query before parsing (positions in errors depend on it).
    let query = match tessera_influxql::parse_query_with_params(q.trim(), &params) {
        Ok(q) => q,
        Err(e) => return error_response(400, &e.influxd_text()),
    };
    // influxd resolves tz() while parsing.
    for st in &query.statements {
        if let tessera_influxql::Statement::Select(s) = st {
            if let Some(name) = &s.location {
                if tessera_query::tz::Tz::load(name).is_none() {
                    return error_response(
                        400,
                        &format!("error parsing query: unable to find time zone {name}"),
                    );
                }
            }
        }
    }
    if ctx.config.http.auth_enabled {
        if let Some(snap) = ctx.state.state().snapshot.clone() {
            if let Err(e) = crate::auth::authorize_query(user, &query.statements, &p.db, &snap) {
                return error_response(403, &format!("error authorizing query: {e}"));
            }
        }
    }
    let n = query.statements.len();
    if n == 0 {
        // `q=";"`: influxd answers an empty JSON object, MessagePack `{"results": []}`,
        // and nothing at all in CSV or when chunked.
        use crate::handlers::Format;
        let body = match (p.chunked, format) {
            (true, _) | (false, Format::Csv) => Vec::new(),
            (false, Format::Json { .. }) => b"{}\n".to_vec(),
            (false, Format::Msgpack) => {
                tessera_query::msgpack::results(&[], TimeFormat::from_epoch_param(None))
            }
        };
        return Response::new(200)
            .header("Content-Type", format.content_type())
            .body(body);
    }
    if p.chunked {
        // Each result object goes out as it is made (a few waiting at most).
        let (tx, rx) = flume::bounded(STREAM_DEPTH);
        let job = Streamed {
            ctx: Rc::clone(ctx),
            user: user.cloned(),
            text: q,
            get: req.head.method == "GET",
            format,
            params: p,
        };
        glommio::spawn_local(job.run(query, tx)).detach();
        return Response::new(200)
            .header("Content-Type", format.content_type())
            .streamed(rx);
    }
    let registration = crate::registry::register(&q, &p.db);
    let _timer = crate::stats::QueryTimer::start();
    let mut results: Vec<StatementResult> = Vec::new();
    let mut i = 0;
    let mut failed = false;
    while i < n {
        let r = crate::statements::run(
            &query.statements[i],
            i,
            &p.db,
            &p.rp,
            &registration.cancel,
            ctx,
            user,
        )
        .await;
        let mut r = r;
        if req.head.method == "GET" {
            warn_get(&mut r, &query.statements[i], &p.db, &p.rp, ctx);
        }
        let err = r.error.is_some();
        results.push(r);
        if err {
            failed = true;
            break;
        }
        i += 1;
    }
    if failed {
        not_executed(&mut results, i, n);
    }
    drop(registration);
    let tf = TimeFormat::from_epoch_param(p.epoch.as_deref());
    // SELECT answers are cut into chunks (influxd's default size when not chunked, whose
    // parts stay in one answer marked partial); so are the SHOW statements influxd runs
    // as SELECTs. The others are never cut.
    for r in results.iter_mut() {
        if chunking(query.statements.get(r.statement_id)) != Chunking::Select {
            continue;
        }
        // influxd merges its 10000-row chunks back but keeps the flag.
        for s in r.series.iter_mut() {
            s.partial |= s.values.len() > 10_000;
        }
    }
    if format == crate::handlers::Format::Msgpack {
        return Response::new(200)
            .header("Content-Type", format.content_type())
            .body(tessera_query::msgpack::results(&results, tf));
    }
    if format == crate::handlers::Format::Csv {
        let mut out = String::new();
        let tf = if tf == TimeFormat::Rfc3339 {
            TimeFormat::Epoch(1)
        } else {
            tf
        };
        CsvWriter::default().write(&results, tf, &mut out);
        return Response::new(200)
            .header("Content-Type", "text/csv")
            .body(out.into_bytes());
    }
    if let Some(v) = tessera_query::output::unencodable_float(&results) {
        // influxd has sent 200 and its headers when its JSON encoder meets ±Inf or NaN;
        // the body is the encoder's error.
        let body = format!(
            "json: error calling MarshalJSON for type httpd.Response: json: error calling \
             MarshalJSON for type *query.Result: json: unsupported value: {v}\n"
        );
        return Response::json(200, body.into_bytes());
    }
    Response::json(200, results_json(&results, tf, p.pretty).into_bytes())
}

/// Statements influxd answers over GET with a deprecation warning (they change data).
fn needs_post(st: &tessera_influxql::Statement) -> bool {
    use tessera_influxql::Statement as S;
    match st {
        S::Select(s) => s.target.is_some(),
        S::Delete { .. }
        | S::KillQuery { .. }
        | S::Explain { .. }
        | S::ShowDatabases
        | S::ShowRetentionPolicies { .. }
        | S::ShowMeasurements { .. }
        | S::ShowSeries { .. }
        | S::ShowTagKeys { .. }
        | S::ShowTagValues { .. }
        | S::ShowFieldKeys { .. }
        | S::ShowCardinality { .. }
        | S::ShowUsers
        | S::ShowGrants { .. }
        | S::ShowContinuousQueries
        | S::ShowSubscriptions
        | S::ShowQueries
        | S::ShowShards
        | S::ShowShardGroups
        | S::ShowStats { .. }
        | S::ShowDiagnostics { .. } => false,
        _ => true,
    }
}

/// How influxd 1.6 chunks a statement's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunking {
    /// SELECT, and the SHOW statements it rewrites into SELECTs (series, field keys,
    /// cardinalities): cut into `chunk_size` rows, each part its own chunk, `partial`
    /// while more follows.
    Select,
    /// SHOW TAG KEYS / TAG VALUES: one chunk per measurement, never cut, never partial.
    PerSeries,
    /// Everything else: one chunk.
    Whole,
}

fn chunking(stmt: Option<&tessera_influxql::Statement>) -> Chunking {
    use tessera_influxql::Statement as S;
    match stmt {
        Some(
            S::Select(_)
            | S::ShowSeries { .. }
            | S::ShowFieldKeys { .. }
            | S::ShowCardinality { .. },
        ) => Chunking::Select,
        Some(S::ShowTagKeys { .. } | S::ShowTagValues { .. }) => Chunking::PerSeries,
        _ => Chunking::Whole,
    }
}

/// influxd's warning on a statement that changes data sent over GET.
fn warn_get(
    r: &mut StatementResult,
    st: &tessera_influxql::Statement,
    db: &str,
    rp: &str,
    ctx: &Ctx,
) {
    if !needs_post(st) || r.error.is_some() {
        return;
    }
    // influxd prints the statement as it ran it (a CQ's measurements qualified).
    let shown = match ctx.state.state().snapshot.clone() {
        Some(snap) => crate::statements::shown_statement(st, db, rp, &snap),
        None => st.clone(),
    };
    r.messages.push((
        "warning".into(),
        format!(
            "deprecated use of '{shown}' in a read only context, please use a POST request instead"
        ),
    ));
}

/// After statement `failed` of `n` failed (the answer not chunked).
fn not_executed(results: &mut [StatementResult], failed: usize, n: usize) {
    // influxd sends one "not executed" result per statement after the failed one, all
    // under the failed statement's id; merged into one answer they replace its error.
    if failed + 1 < n {
        if let Some(last) = results.last_mut().filter(|r| r.statement_id == failed) {
            last.error = Some("not executed".into());
        }
    }
}

/// The results a chunked answer sends after statement `failed` failed: as many "not
/// executed" as statements after it, each under the failed statement's id (influxd's).
fn not_executed_chunks(failed: usize, n: usize) -> Vec<StatementResult> {
    (failed + 1..n)
        .map(|_| StatementResult::error(failed, "not executed"))
        .collect()
}

/// Result objects waiting to be written, at most, before the statement waits.
const STREAM_DEPTH: usize = 4;

/// A `chunked=true` query, run apart from its request: it sends its result objects as
/// they are made and stops when the client goes away.
struct Streamed {
    ctx: Rc<Ctx>,
    user: Option<tessera_meta_types::User>,
    text: String,
    get: bool,
    format: crate::handlers::Format,
    params: QueryParams,
}

impl Streamed {
    async fn run(self, query: tessera_influxql::Query, tx: flume::Sender<Vec<u8>>) {
        let p = &self.params;
        let registration = crate::registry::register(&self.text, &p.db);
        let _timer = crate::stats::QueryTimer::start();
        let tf = TimeFormat::from_epoch_param(p.epoch.as_deref());
        let mut out = crate::chunked::Emitter::new(tx, tf, self.format);
        let n = query.statements.len();
        for (i, st) in query.statements.iter().enumerate() {
            let r = match self.statement(st, i, &registration.cancel, &mut out).await {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                // The client is gone.
                Err(()) => return,
            };
            // A failed statement ends the query.
            let mut results = vec![r];
            results.extend(not_executed_chunks(i, n));
            for r in &results {
                if out.emit(r).await.is_err() {
                    return;
                }
            }
            return;
        }
    }

    /// Runs one statement and sends its answer; its error result when it failed (`None`
    /// when it did not). `Err` when the client is gone.
    async fn statement(
        &self,
        st: &tessera_influxql::Statement,
        i: usize,
        cancel: &std::sync::Arc<std::sync::atomic::AtomicBool>,
        out: &mut crate::chunked::Emitter,
    ) -> Result<Option<StatementResult>, ()> {
        use tessera_influxql::Statement as S;
        let p = &self.params;
        let ctx = &*self.ctx;
        let user = self.user.as_ref();
        if let S::Select(sel) = st {
            if sel.target.is_none() {
                let tz = sel
                    .location
                    .as_deref()
                    .and_then(tessera_query::tz::Tz::load);
                let mut chunks = crate::chunked::Chunker::new(i, p.chunk_size, tz);
                let done = crate::statements::run_streamed(
                    sel,
                    &p.db,
                    &p.rp,
                    cancel,
                    ctx,
                    &mut chunks,
                    out,
                )
                .await;
                return match done {
                    Ok(()) => chunks.finish(out).await.map(|_| None).map_err(|_| ()),
                    Err(QueryError::Killed) if out.gone() => Err(()),
                    Err(e) => {
                        chunks.abort(out).await.map_err(|_| ())?;
                        Ok(Some(StatementResult::error(i, e.to_string())))
                    }
                };
            }
        }
        let mut r = crate::statements::run(st, i, &p.db, &p.rp, cancel, ctx, user).await;
        if self.get {
            warn_get(&mut r, st, &p.db, &p.rp, ctx);
        }
        if r.error.is_some() {
            return Ok(Some(r));
        }
        let sent = match chunking(Some(st)) {
            Chunking::Select => {
                crate::chunked::Chunker::new(i, p.chunk_size, None)
                    .result(out, r)
                    .await
            }
            Chunking::PerSeries if r.series.len() > 1 => {
                let mut sent = Ok(());
                let messages = std::mem::take(&mut r.messages);
                for (k, s) in r.series.into_iter().enumerate() {
                    let one = StatementResult {
                        statement_id: i,
                        series: vec![s],
                        messages: if k == 0 { messages.clone() } else { Vec::new() },
                        tz: r.tz.clone(),
                        ..Default::default()
                    };
                    sent = out.emit(&one).await;
                    if sent.is_err() {
                        break;
                    }
                }
                sent
            }
            _ => out.emit(&r).await,
        };
        sent.map(|_| None).map_err(|_| ())
    }
}
