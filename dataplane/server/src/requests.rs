//! `/debug/requests?seconds=N` (influxd 1.6): the `/write` and `/query` requests every
//! core answers during the next N seconds (default 10), counted per client (`user:ip`,
//! or the IP alone without a user). Several calls may watch at once, each with its own
//! counts. While none watches, a request costs one atomic load.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::http::{Request, Response};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    writes: u64,
    queries: u64,
}

/// Calls watching now.
static WATCHING: AtomicUsize = AtomicUsize::new(0);
/// Each watching call's counts, by its id.
static COUNTS: Mutex<Vec<(u64, BTreeMap<String, Counts>)>> = Mutex::new(Vec::new());
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counts a `/write` (`write` true) or `/query` request from `peer` by `user`.
pub fn record(write: bool, peer: Option<IpAddr>, user: Option<&str>) {
    if WATCHING.load(Ordering::Relaxed) == 0 {
        return;
    }
    let ip = peer.map(|p| p.to_string()).unwrap_or_default();
    let key = match user {
        Some(u) if !u.is_empty() => format!("{u}:{ip}"),
        _ => ip,
    };
    let Ok(mut all) = COUNTS.lock() else { return };
    for (_, counts) in all.iter_mut() {
        let c = counts.entry(key.clone()).or_default();
        if write {
            c.writes += 1;
        } else {
            c.queries += 1;
        }
    }
}

/// Stops watching when dropped (the client may go away mid-wait).
struct Watch(u64);

impl Drop for Watch {
    fn drop(&mut self) {
        if let Ok(mut all) = COUNTS.lock() {
            all.retain(|(id, _)| *id != self.0);
        }
        WATCHING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Answers `/debug/requests`.
pub async fn answer(req: &Request) -> Response {
    let seconds = match req.head.query_decoded("seconds") {
        None => 10,
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            // Go's strconv error, as influxd answers it here: JSON whatever the Accept
            // header, without the newline of its other errors.
            Err(_) => {
                let msg = format!("strconv.ParseInt: parsing {s:?}: invalid syntax");
                let body = serde_json::json!({ "error": msg }).to_string();
                return Response::json(400, body.into_bytes()).header("X-Influxdb-Error", msg);
            }
        },
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut all) = COUNTS.lock() {
        all.push((id, BTreeMap::new()));
    }
    WATCHING.fetch_add(1, Ordering::Relaxed);
    let watch = Watch(id);
    if seconds > 0 {
        glommio::timer::sleep(Duration::from_secs(seconds.min(3600) as u64)).await;
    }
    let counts = COUNTS
        .lock()
        .ok()
        .and_then(|all| all.iter().find(|(i, _)| *i == id).map(|(_, c)| c.clone()))
        .unwrap_or_default();
    drop(watch);
    Response::new(200)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(render(&counts).into_bytes())
}

/// influxd's layout: one client per line inside braces.
fn render(counts: &BTreeMap<String, Counts>) -> String {
    let lines: Vec<String> = counts
        .iter()
        .map(|(k, c)| {
            format!(
                "{}: {{\"writes\":{},\"queries\":{}}}",
                serde_json::Value::String(k.clone()),
                c.writes,
                c.queries
            )
        })
        .collect();
    format!("{{\n{}\n}}\n", lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_as_influxd() {
        let mut m = BTreeMap::new();
        assert_eq!(render(&m), "{\n\n}\n");
        m.insert(
            "127.0.0.1".to_string(),
            Counts {
                writes: 3,
                queries: 4,
            },
        );
        assert_eq!(
            render(&m),
            "{\n\"127.0.0.1\": {\"writes\":3,\"queries\":4}\n}\n"
        );
        m.insert("bob:127.0.0.2".to_string(), Counts::default());
        assert!(render(&m).contains("4},\n\"bob:127.0.0.2\""));
    }
}
