//! The HTTP endpoints (InfluxDB 1.x paths and answers). Every core serves them from its
//! own copy of the node state.

use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tessera_meta_client::api::ExecuteResponse;
use tessera_meta_types::Command;

use crate::engine::Engine;
use crate::http::{Request, Response};
use crate::meta_sync::{ExecuteError, MetaCommand};
use crate::state::CoreState;

/// What a request handler on one core can reach.
pub struct Ctx {
    /// `[http] max-body-size` (0 in the config: no limit).
    pub max_body: usize,
    /// `[cluster] max-select-*`.
    pub limits: crate::select::SelectLimits,
    pub state: Rc<CoreState>,
    pub engine: Rc<Engine>,
    pub commands: Rc<flume::Sender<MetaCommand>>,
    /// Connections to the other data nodes.
    pub rpc: Rc<crate::rpc::RpcClient>,
    pub cluster: crate::cluster::ClusterSettings,
    /// The node's configuration, for `SHOW DIAGNOSTICS`.
    pub config: std::sync::Arc<crate::config::Config>,
}

impl Ctx {
    /// Runs a metadata command through the meta plane and waits (up to 10 s) until this
    /// core's copy of the metadata includes it, so the next request sees the change.
    pub async fn execute(&self, command: Command) -> Result<ExecuteResponse, ExecuteError> {
        let (reply, answer) = flume::bounded(1);
        self.commands
            .send_async(MetaCommand::Execute { command, reply })
            .await
            .map_err(|_| ExecuteError::Unavailable("the control thread is gone".into()))?;
        let resp = answer
            .recv_async()
            .await
            .map_err(|_| ExecuteError::Unavailable("the control thread is gone".into()))??;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.state.state().meta_index() < resp.index && std::time::Instant::now() < deadline {
            glommio::timer::sleep(Duration::from_millis(2)).await;
        }
        Ok(resp)
    }
}

/// An error answer with InfluxDB's shape: `{"error":"…"}` (its body is written again
/// in the request's format by [`handle`]).
pub fn error_json(status: u16, message: &str) -> Response {
    let mut r = Response::json(
        status,
        tessera_query::output::error_json(message, false).into_bytes(),
    );
    r.error = Some(message.to_string());
    r
}

/// The format influxd 1.6 answers a request in: from its `Accept` header, matched
/// exactly (`application/csv` or `text/csv`, `application/x-msgpack`), else JSON,
/// indented when the URL (not a form body) says `pretty=true`. Errors of every endpoint
/// take it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json { pretty: bool },
    Csv,
    Msgpack,
}

impl Format {
    pub fn of(req: &Request) -> Format {
        match req.head.header("accept").map(<[u8]>::trim_ascii) {
            Some(b"application/csv" | b"text/csv") => Format::Csv,
            Some(b"application/x-msgpack") => Format::Msgpack,
            _ => Format::Json {
                pretty: req.head.query_decoded("pretty").as_deref() == Some("true"),
            },
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json { .. } => "application/json",
            Format::Csv => "text/csv",
            Format::Msgpack => "application/x-msgpack",
        }
    }

    /// An error answer's body in this format, with influxd's `X-Influxdb-Error` header
    /// (the message's first 1024 bytes) on every error but a 401.
    pub fn error(self, mut resp: Response) -> Response {
        let Some(message) = resp.error.take() else {
            return resp;
        };
        resp.body = match self {
            Format::Json { pretty } => {
                tessera_query::output::error_json(&message, pretty).into_bytes()
            }
            Format::Csv => tessera_query::output::error_csv(&message).into_bytes(),
            Format::Msgpack => tessera_query::msgpack::error(&message),
        };
        resp.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        resp = resp.header("Content-Type", self.content_type());
        if resp.status != 401 && resp.status / 100 != 2 {
            let mut end = message.len().min(1024);
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            resp = resp.header("X-Influxdb-Error", &message[..end]);
        }
        resp
    }
}

/// `X-Influxdb-Build` of an Enterprise build.
const BUILD: &str = "ENT";

/// Answers one request.
pub async fn handle(req: Request, ctx: &Rc<Ctx>, peer: Option<std::net::IpAddr>) -> Response {
    let core = &*ctx.state;
    let format = Format::of(&req);
    let req_gzip = req.head.path == "/query"
        && req
            .head
            .header("accept-encoding")
            .is_some_and(|v| v.windows(4).any(|w| w == b"gzip"));
    let kind = match req.head.path.as_str() {
        "/write" => crate::stats::RequestKind::Write {
            bytes: req.body.len(),
        },
        "/query" => crate::stats::RequestKind::Query,
        "/ping" => crate::stats::RequestKind::Ping,
        "/status" => crate::stats::RequestKind::Status,
        _ => crate::stats::RequestKind::Other,
    };
    let timer = crate::stats::RequestTimer::start(kind);
    let resp = match (req.head.method.as_str(), req.head.path.as_str()) {
        ("POST", "/write") => match crate::auth::authenticate(&req, ctx).await {
            Ok(user) => {
                crate::requests::record(true, peer, user.as_ref().map(|u| u.name.as_str()));
                crate::write::write(&req, ctx, &user).await
            }
            Err(refused) => refused,
        },
        ("GET" | "POST", "/query") => match crate::auth::authenticate(&req, ctx).await {
            Ok(user) => {
                crate::requests::record(false, peer, user.as_ref().map(|u| u.name.as_str()));
                crate::query::query(&req, ctx, user.as_ref()).await
            }
            Err(refused) => refused,
        },
        // influxd serves its /debug/ pages whatever the method.
        (_, "/debug/requests") => crate::requests::answer(&req).await,
        // influxd answers CORS preflights on every path with an empty 200.
        ("OPTIONS", _) => Response::new(200),
        (_, path) if path.starts_with("/debug/pprof") && ctx.config.http.pprof_enabled => {
            match crate::pprof::answer(&req).await {
                Some(r) => r,
                None => route(&req),
            }
        }
        ("GET", "/debug/shards") => debug_shards(ctx),
        (_, "/debug/vars") => debug_vars(ctx).await,
        ("GET", "/metrics") => crate::metrics::answer(),
        _ => route(&req),
    };
    let mut resp = format.error(resp);
    // influxd gzips `/query` answers (only) for a client that accepts it.
    resp.gzip = req_gzip && resp.status != 204;
    if resp.status == 204 && req.head.path == "/write" {
        // Its write handler sets the JSON content type before it answers.
        resp = resp.header("Content-Type", "application/json");
    }
    if let Some(origin) = req.head.header("origin").filter(|o| !o.is_empty()) {
        resp = cors(resp, &String::from_utf8_lossy(origin));
    }
    timer.answered(resp.status, resp.body.len());
    finish(resp, core)
}

/// influxd's CORS headers, on every answer to a request that names its `Origin`.
fn cors(resp: Response, origin: &str) -> Response {
    resp.header("Access-Control-Allow-Origin", origin)
        .header(
            "Access-Control-Allow-Methods",
            "DELETE, GET, OPTIONS, POST, PUT",
        )
        .header(
            "Access-Control-Allow-Headers",
            "Accept, Accept-Encoding, Authorization, Content-Length, Content-Type, \
             X-CSRF-Token, X-HTTP-Method-Override",
        )
        .header(
            "Access-Control-Expose-Headers",
            "Date, X-InfluxDB-Version, X-InfluxDB-Build",
        )
}

/// InfluxDB adds these to every answer, errors included.
fn finish(resp: Response, core: &CoreState) -> Response {
    resp.header("Request-Id", request_id(core))
        .header("X-Influxdb-Build", BUILD)
        .header("X-Influxdb-Version", core.facts.version)
}

fn route(req: &Request) -> Response {
    let head = &req.head;
    let get_or_head = matches!(head.method.as_str(), "GET" | "HEAD");
    match head.path.as_str() {
        "/ping" | "/status" if get_or_head => ping(),
        // InfluxDB's router (bmizerany/pat) answers a known path with another method so,
        // naming the path's methods (in Go map order: any order is influxd's).
        "/ping" | "/status" => {
            Response::text(405, "Method Not Allowed\n").header("Allow", "GET, HEAD")
        }
        "/write" => Response::text(405, "Method Not Allowed\n").header("Allow", "OPTIONS, POST"),
        "/query" => {
            Response::text(405, "Method Not Allowed\n").header("Allow", "OPTIONS, GET, POST")
        }
        "/metrics" => Response::text(405, "Method Not Allowed\n").header("Allow", "GET"),
        // Go's http.NotFound.
        _ => Response::text(404, "404 page not found\n"),
    }
}

/// `/ping` and `/status`: 204 (influxd 1.6 answers `verbose=true` the same), with the
/// JSON content type influxd puts on it.
fn ping() -> Response {
    Response::new(204).header("Content-Type", "application/json")
}

/// `/debug/vars`: what this node knows about itself and its cluster, and its statistics
/// as influxd's expvar page has them (`memstats` and one `"name:tag"` entry per statistic
/// with its `name`, `tags` and `values`), which Telegraf's `influxdb` input reads.
async fn debug_vars(ctx: &Ctx) -> Response {
    let core = &*ctx.state;
    let mut body = node_vars(core);
    let mut stats = crate::stats::process_stats(&core.facts.http_addr);
    stats.extend(crate::stats::storage_stats(ctx).await);
    if let Some(obj) = body.as_object_mut() {
        for s in stats {
            let (key, value) = s.to_expvar();
            if s.name == "runtime" {
                obj.insert("memstats".into(), value["values"].clone());
            }
            obj.insert(key, value);
        }
    }
    Response::json(200, body.to_string().into_bytes())
}

/// What this node publishes about itself in `/debug/vars`.
fn node_vars(core: &CoreState) -> serde_json::Value {
    let state = core.state();
    serde_json::json!({
        "node_id": state.node_id,
        "meta_index": state.meta_index(),
        "cores": core.facts.cores,
        "core": core.core,
        "tcp_addr": core.facts.tcp_addr,
        "http_addr": core.facts.http_addr,
        "version": core.facts.version,
        "meta_servers": state.meta_servers,
        "leases": { "continuous_querier": state.cq_lease_held },
        "hh_processor": crate::handoff::vars()
            .into_iter()
            .map(|(node, v)| (node.to_string(), v))
            .collect::<std::collections::BTreeMap<_, _>>(),
        "cmdline": std::env::args().collect::<Vec<_>>(),
    })
}

/// `/debug/shards`: the shards stored on this node and their bytes on disk (data files
/// and WAL), for `influxd-ctl show-shards -v`.
fn debug_shards(ctx: &Ctx) -> Response {
    let mut sizes: std::collections::BTreeMap<u64, (String, String, u64)> = Default::default();
    for root in [&ctx.engine.cfg.data_dir, &ctx.engine.cfg.wal_dir] {
        for (db, rp, id, dir) in shard_dirs(root) {
            let e = sizes.entry(id).or_insert((db, rp, 0));
            e.2 += dir_bytes(&dir);
        }
    }
    let shards: Vec<_> = sizes
        .into_iter()
        .map(|(id, (db, rp, size))| {
            serde_json::json!({ "id": id, "database": db, "retentionPolicy": rp, "size": size })
        })
        .collect();
    let body = serde_json::json!({ "shards": shards });
    Response::json(200, body.to_string().into_bytes())
}

/// `root/<db>/<rp>/<shard id>` directories.
pub(crate) fn shard_dirs(root: &std::path::Path) -> Vec<(String, String, u64, std::path::PathBuf)> {
    let mut out = Vec::new();
    let list = |p: &std::path::Path| {
        std::fs::read_dir(p)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().is_dir())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    for db in list(root) {
        for rp in list(&db.path()) {
            for shard in list(&rp.path()) {
                if let Some(id) = shard.file_name().to_str().and_then(|n| n.parse().ok()) {
                    out.push((
                        db.file_name().to_string_lossy().into_owned(),
                        rp.file_name().to_string_lossy().into_owned(),
                        id,
                        shard.path(),
                    ));
                }
            }
        }
    }
    out
}

pub(crate) fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        match e.metadata() {
            Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
            Ok(m) => total += m.len(),
            Err(_) => {}
        }
    }
    total
}

/// A request id shaped like the UUID v1 InfluxDB sends: time, core and a per-core counter,
/// so ids are unique per node without coordination between cores.
fn request_id(core: &CoreState) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seq = core.next_request();
    format!(
        "{:08x}-{:04x}-1{:03x}-{:04x}-{:012x}",
        (nanos >> 32) as u32,
        (nanos >> 16) as u16,
        (nanos & 0xfff) as u16,
        (core.core as u16) | 0x8000,
        seq & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::http::parse_head;
    use crate::state::{NodeFacts, NodeState};

    fn core() -> CoreState {
        CoreState::new(
            0,
            Arc::new(NodeFacts {
                tcp_addr: "h:8088".into(),
                http_addr: "h:8086".into(),
                cores: 2,
                version: "9.9.9-tessera",
            }),
        )
    }

    fn get(core: &CoreState, raw: &str) -> Response {
        let head = parse_head(raw.as_bytes()).unwrap().unwrap();
        finish(
            route(&Request {
                head,
                body: Bytes::new(),
            }),
            core,
        )
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn ping() {
        let c = core();
        let r = get(&c, "GET /ping HTTP/1.1\r\n\r\n");
        assert_eq!(r.status, 204);
        assert_eq!(header(&r, "X-Influxdb-Version"), Some("9.9.9-tessera"));
        assert_eq!(header(&r, "X-Influxdb-Build"), Some("ENT"));
        let id = header(&r, "Request-Id").unwrap();
        assert_eq!(id.len(), 36);
        let r2 = get(&c, "HEAD /ping HTTP/1.1\r\n\r\n");
        assert_eq!(r2.status, 204);
        assert_ne!(header(&r2, "Request-Id"), Some(id));
        // influxd 1.6.7 has no verbose ping.
        let r = get(&c, "GET /ping?verbose=true HTTP/1.1\r\n\r\n");
        assert_eq!(r.status, 204);
        assert!(r.body.is_empty());
        assert_eq!(get(&c, "GET /status HTTP/1.1\r\n\r\n").status, 204);
        assert_eq!(get(&c, "HEAD /status HTTP/1.1\r\n\r\n").status, 204);
        assert_eq!(get(&c, "POST /ping HTTP/1.1\r\n\r\n").status, 405);
    }

    #[test]
    fn not_found_like_go() {
        let r = get(&core(), "GET /nope HTTP/1.1\r\n\r\n");
        assert_eq!(r.status, 404);
        assert_eq!(r.body, b"404 page not found\n");
    }

    #[test]
    fn debug_vars_show_published_state() {
        let c = core();
        let v = node_vars(&c);
        assert_eq!(v["node_id"], serde_json::Value::Null);
        assert_eq!(v["meta_index"], 0);
        assert_eq!(v["cores"], 2);
        assert_eq!(v["leases"]["continuous_querier"], false);
        c.set_state(Arc::new(NodeState {
            node_id: Some(5),
            meta_servers: vec!["m:8091".into()],
            snapshot: Some(Arc::new(tessera_meta_types::Snapshot {
                index: 42,
                ..Default::default()
            })),
            cq_lease_held: true,
        }));
        let v = node_vars(&c);
        assert_eq!(v["node_id"], 5);
        assert_eq!(v["meta_index"], 42);
        assert_eq!(v["meta_servers"][0], "m:8091");
        assert_eq!(v["leases"]["continuous_querier"], true);
    }
}
