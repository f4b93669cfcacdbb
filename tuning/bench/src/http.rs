//! The HTTP side: one keep-alive HTTP/1.1 connection per worker and endpoint (hyper's
//! connection-level client, no pool in the way), `/write`, `/query` and `/ping`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("bad URL {url:?}: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("HTTP handshake with {addr} failed: {source}")]
    Handshake { addr: String, source: hyper::Error },
    #[error("request to {url} failed: {source}")]
    Request { url: String, source: hyper::Error },
    #[error("request to {url} timed out after {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("cannot build a request: {0}")]
    Build(#[from] hyper::http::Error),
}

/// A base URL such as `http://127.0.0.1:8086` (an optional path prefix is kept).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    addr: String,
    host: HeaderValue,
    prefix: String,
    /// `&u=…&p=…` when credentials were given.
    auth: String,
}

impl Endpoint {
    pub fn parse(url: &str) -> Result<Endpoint, HttpError> {
        let bad = |reason| HttpError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let rest = if let Some(r) = url.strip_prefix("http://") {
            r
        } else if url.contains("://") {
            return Err(bad("only http:// is supported"));
        } else {
            url
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() {
            return Err(bad("no host"));
        }
        let addr = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:8086")
        };
        Ok(Endpoint {
            url: format!("http://{addr}{}", path.trim_end_matches('/')),
            host: HeaderValue::from_str(&addr).map_err(|_| bad("host is not a valid header"))?,
            addr,
            prefix: path.trim_end_matches('/').to_string(),
            auth: String::new(),
        })
    }

    pub fn with_auth(mut self, user: Option<&str>, password: Option<&str>) -> Endpoint {
        if let Some(u) = user {
            self.auth = format!(
                "&u={}&p={}",
                urlencode(u),
                urlencode(password.unwrap_or(""))
            );
        }
        self
    }

    /// `/write?db=…&precision=…[&rp=…]`.
    pub fn write_path(&self, db: &str, rp: Option<&str>, precision: &str) -> String {
        let mut s = format!(
            "{}/write?db={}&precision={precision}",
            self.prefix,
            urlencode(db)
        );
        if let Some(rp) = rp {
            s.push_str("&rp=");
            s.push_str(&urlencode(rp));
        }
        s.push_str(&self.auth);
        s
    }

    /// `/query?db=…&q=…&epoch=ns` (GET) for `q`.
    pub fn query_path(&self, db: Option<&str>, q: &str) -> String {
        let mut s = format!("{}/query?q={}&epoch=ns", self.prefix, urlencode(q));
        if let Some(db) = db {
            s.push_str("&db=");
            s.push_str(&urlencode(db));
        }
        s.push_str(&self.auth);
        s
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    out
}

/// One keep-alive connection, re-opened after any failure.
pub struct Conn {
    ep: Arc<Endpoint>,
    sender: Option<SendRequest<Full<Bytes>>>,
    timeout: Duration,
    pub reconnects: u64,
}

/// A response: status and the whole body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Conn {
    pub fn new(ep: Arc<Endpoint>, timeout: Duration) -> Conn {
        Conn {
            ep,
            sender: None,
            timeout,
            reconnects: 0,
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    async fn connect(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, HttpError> {
        if self.sender.as_ref().is_some_and(|s| !s.is_closed()) {
            return Ok(self.sender.as_mut().expect("checked just above"));
        }
        if self.sender.take().is_some() {
            self.reconnects += 1;
        }
        let addr = &self.ep.addr;
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| HttpError::Connect {
                addr: addr.clone(),
                source,
            })?;
        // Batches are written whole; Nagle would only add a delay to the last segment.
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| HttpError::Handshake {
                addr: addr.clone(),
                source,
            })?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors surface on send.
            let _ = conn.await;
        });
        Ok(self.sender.insert(sender))
    }

    /// Sends one request and reads the whole answer. Any transport error drops the
    /// connection so the next call opens a fresh one.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        gzip: bool,
    ) -> Result<Response, HttpError> {
        let timeout = self.timeout;
        let url = format!("{}{}", self.ep.url, path.split('?').next().unwrap_or(""));
        let res = tokio::time::timeout(timeout, self.request_inner(method, path, body, gzip)).await;
        match res {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(HttpError::Timeout { url, timeout })
            }
        }
    }

    async fn request_inner(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        gzip: bool,
    ) -> Result<Response, HttpError> {
        let host = self.ep.host.clone();
        let url = self.ep.url.clone();
        let sender = self.connect().await?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, host);
        if !body.is_empty() {
            req = req.header(CONTENT_TYPE, "text/plain; charset=utf-8");
        }
        if gzip {
            req = req.header(CONTENT_ENCODING, "gzip");
        }
        let req = req.body(Full::new(body))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|source| HttpError::Request {
                url: url.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|source| HttpError::Request { url, source })?
            .to_bytes();
        Ok(Response { status, body })
    }

    /// Runs one InfluxQL statement with GET (POST for statements that change things, as
    /// InfluxDB 1.x asks).
    pub async fn query(&mut self, db: Option<&str>, q: &str) -> Result<Response, HttpError> {
        let upper = q.trim_start().to_ascii_uppercase();
        let method = if upper.starts_with("SELECT") || upper.starts_with("SHOW") {
            Method::GET
        } else {
            Method::POST
        };
        let path = self.ep.query_path(db, q);
        self.request(method, &path, Bytes::new(), false).await
    }
}

/// The first `"error":"…"` of a /query answer (top level or a statement's), if any.
pub fn query_error(body: &[u8]) -> Option<String> {
    const NEEDLE: &[u8] = b"\"error\":";
    let at = body.windows(NEEDLE.len()).position(|w| w == NEEDLE)?;
    let rest = &body[at + NEEDLE.len()..];
    // The JSON string's content: up to the first unescaped quote.
    let text = rest.strip_prefix(b"\"").map_or(rest, |s| {
        let mut end = s.len();
        let mut escaped = false;
        for (i, &b) in s.iter().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        &s[..end]
    });
    Some(String::from_utf8_lossy(&text[..text.len().min(300)]).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = Endpoint::parse("http://127.0.0.1:8086/").unwrap();
        assert_eq!(e.url, "http://127.0.0.1:8086");
        assert_eq!(
            e.write_path("bench", None, "ns"),
            "/write?db=bench&precision=ns"
        );
        let e = Endpoint::parse("localhost/influx").unwrap();
        assert_eq!(e.url, "http://localhost:8086/influx");
        assert_eq!(
            e.query_path(Some("b b"), "SELECT * FROM \"x\""),
            "/influx/query?q=SELECT%20%2A%20FROM%20%22x%22&epoch=ns&db=b%20b"
        );
        assert!(Endpoint::parse("https://x").is_err());
        assert_eq!(
            query_error(br#"{"results":[{"statement_id":0,"error":"boom \"x\""}]}"#).as_deref(),
            Some(r#"boom \"x\""#)
        );
        assert!(query_error(br#"{"results":[{"statement_id":0}]}"#).is_none());
    }
}
