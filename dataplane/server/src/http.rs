//! A small HTTP/1.1 server: request heads parsed with `httparse`, `Content-Length`
//! bodies, keep-alive and pipelining, size caps, and `400`/`413`/`431`/`501` answers to
//! what it cannot take. It never panics on input; a broken connection is just closed.

use bytes::Bytes;
use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head (request line and headers) accepted.
pub const MAX_HEAD: usize = 64 * 1024;
/// influxd's `[http] max-body-size` default (25 MB); the server takes its limit from the
/// config, this is the default and the cap used when the config says 0 (no limit) for
/// a gzip body's expansion.
pub const MAX_BODY: usize = 25_000_000;
/// What a request head may announce at all; the configured limit is checked after.
const HARD_MAX_BODY: u64 = 1 << 34;
/// Most headers in one request.
const MAX_HEADERS: usize = 64;
/// How much the read buffer grows by.
const READ_CHUNK: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request head exceeds {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("request body of {0} bytes exceeds the limit")]
    BodyTooLarge(u64),
    #[error("malformed chunked body: {0}")]
    BadChunk(&'static str),
    #[error("invalid Content-Length")]
    BadContentLength,
    #[error("Transfer-Encoding {0:?} is not supported")]
    UnsupportedEncoding(String),
    #[error("connection closed in the middle of a request")]
    Truncated,
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

impl HttpError {
    /// The answer to send before closing, if the peer can still take one.
    fn response(&self) -> Option<Response> {
        let (status, text) = match self {
            HttpError::Malformed(_) | HttpError::BadContentLength => (400, "Bad Request"),
            HttpError::HeadTooLarge => (431, "Request Header Fields Too Large"),
            // influxd answers an oversized body through its JSON error writer.
            HttpError::BodyTooLarge(_) => {
                return Some(
                    Response::json(413, b"{\"error\":\"Request Entity Too Large\"}\n".to_vec())
                        .header("X-Influxdb-Error", "Request Entity Too Large"),
                )
            }
            HttpError::BadChunk(_) => (400, "Bad Request"),
            HttpError::UnsupportedEncoding(_) => (501, "Not Implemented"),
            HttpError::Truncated | HttpError::Io(_) => return None,
        };
        Some(Response::text(status, format!("{status} {text}\n")))
    }
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string without `?`, empty when absent.
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, Vec<u8>)>,
    pub content_length: usize,
    /// `Transfer-Encoding: chunked`: the body's length is known only once read.
    pub chunked: bool,
    pub keep_alive: bool,
    /// An HTTP/1.0 request: a streamed answer goes without chunked encoding, its end
    /// being the connection's.
    pub http10: bool,
    pub expect_continue: bool,
    /// Bytes of the head, including the blank line.
    pub len: usize,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The first value of a query parameter (no percent-decoding yet).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// A query parameter, percent-decoded (`+` is a space, as in forms).
    pub fn query_decoded(&self, name: &str) -> Option<String> {
        form_value(&self.query, name)
    }
}

/// The first value of `name` in an `application/x-www-form-urlencoded` string.
pub fn form_value(form: &str, name: &str) -> Option<String> {
    form.split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .find(|(k, _)| percent_decode(k) == name)
        .map(|(_, v)| percent_decode(v))
}

/// Decodes `%XX` escapes and `+`; invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A whole request.
#[derive(Debug, Clone)]
pub struct Request {
    pub head: Head,
    pub body: Bytes,
}

/// Parses a request head from the start of `buf`: `Ok(None)` while incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() >= MAX_HEAD {
                Err(HttpError::HeadTooLarge)
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeadTooLarge),
        Err(e) => return Err(HttpError::Malformed(e.to_string())),
    };
    if len > MAX_HEAD {
        return Err(HttpError::HeadTooLarge);
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(HttpError::Malformed("incomplete request line".into()));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut head = Head {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: Vec::with_capacity(req.headers.len()),
        content_length: 0,
        chunked: false,
        // HTTP/1.1 keeps the connection by default, HTTP/1.0 closes it.
        keep_alive: version >= 1,
        http10: version == 0,
        expect_continue: false,
        len,
    };
    let mut seen_length: Option<u64> = None;
    for h in req.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = trim(h.value);
        match name.as_str() {
            "content-length" => {
                let n = std::str::from_utf8(value)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or(HttpError::BadContentLength)?;
                // Differing duplicate lengths are a request-smuggling vector.
                if seen_length.is_some_and(|prev| prev != n) {
                    return Err(HttpError::BadContentLength);
                }
                seen_length = Some(n);
            }
            "transfer-encoding" if value.eq_ignore_ascii_case(b"chunked") => head.chunked = true,
            "transfer-encoding" if !value.eq_ignore_ascii_case(b"identity") => {
                return Err(HttpError::UnsupportedEncoding(
                    String::from_utf8_lossy(value).into_owned(),
                ));
            }
            "connection" => {
                if has_token(value, b"close") {
                    head.keep_alive = false;
                } else if has_token(value, b"keep-alive") {
                    head.keep_alive = true;
                }
            }
            "expect" => head.expect_continue = value.eq_ignore_ascii_case(b"100-continue"),
            _ => {}
        }
        head.headers.push((name, value.to_vec()));
    }
    if let Some(n) = seen_length {
        if n > HARD_MAX_BODY {
            return Err(HttpError::BodyTooLarge(n));
        }
        head.content_length = n as usize;
    }
    Ok(Some(head))
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &v[start..end]
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token))
}

/// A response to write.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// A body that follows in pieces as its producer makes them (`Transfer-Encoding:
    /// chunked`, each piece one HTTP chunk, sent as soon as it comes); `body` is then
    /// unused.
    pub stream: Option<BodyStream>,
    /// An error answer's message: its body is written in the format the request asked
    /// for (see `handlers::Format`) before it is sent.
    pub error: Option<String>,
    /// Send the body gzipped (`Content-Encoding: gzip`), a streamed one piece by piece.
    pub gzip: bool,
}

/// The receiving end of a streamed body. The producer stops when it is dropped (the
/// client went away).
#[derive(Debug, Clone)]
pub struct BodyStream(pub flume::Receiver<Vec<u8>>);

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
            error: None,
            gzip: false,
        }
    }

    pub fn text(status: u16, body: impl Into<String>) -> Response {
        Response::new(status)
            .header("Content-Type", "text/plain; charset=utf-8")
            .header("X-Content-Type-Options", "nosniff")
            .body(body.into().into_bytes())
    }

    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response::new(status)
            .header("Content-Type", "application/json")
            .body(body)
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(mut self, body: Vec<u8>) -> Response {
        self.body = body;
        self
    }

    /// A body streamed from `pieces` (see [`Response::stream`]).
    pub fn streamed(mut self, pieces: flume::Receiver<Vec<u8>>) -> Response {
        self.stream = Some(BodyStream(pieces));
        self
    }

    /// Serializes the response; `head_only` for `HEAD` requests keeps the length header.
    /// (A gzipped whole body is compressed by [`Response::send`] before.)
    pub fn encode(&self, head_only: bool, keep_alive: bool, out: &mut Vec<u8>) {
        self.encode_head(head_only, keep_alive, false, out)
    }

    /// [`Response::encode`]; `plain_stream`: a streamed body goes as it is, ended by the
    /// connection's close (an HTTP/1.0 client knows no chunked encoding).
    fn encode_head(
        &self,
        head_only: bool,
        keep_alive: bool,
        plain_stream: bool,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(reason(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            // Header values are built by this server; strip line breaks all the same.
            out.extend(value.bytes().filter(|&b| b != b'\r' && b != b'\n'));
            out.extend_from_slice(b"\r\n");
        }
        // 204 and 304 carry no body and no length (RFC 9110 8.6).
        if self.stream.is_some() {
            if !plain_stream {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
            }
        } else if self.status != 204 && self.status != 304 {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(self.body.len().to_string().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        if self.gzip {
            out.extend_from_slice(b"Content-Encoding: gzip\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if !head_only && self.status != 204 && self.status != 304 && self.stream.is_none() {
            out.extend_from_slice(&self.body);
        }
    }

    /// Writes the response; a streamed body piece by piece, each flushed as it comes.
    pub async fn send<S: AsyncWrite + Unpin>(
        mut self,
        stream: &mut S,
        head_only: bool,
        keep_alive: bool,
        http10: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), HttpError> {
        out.clear();
        // A whole body is gzipped in place (a stream is, piece by piece, below).
        if self.gzip && self.stream.is_none() {
            self.body = gzip_all(&self.body);
            self.gzip = false;
            self.headers.push(("Content-Encoding", "gzip".into()));
        }
        // An HTTP/1.0 client gets a streamed body as it is, then the close.
        let plain = http10 && self.stream.is_some();
        let keep_alive = keep_alive && !plain;
        self.encode_head(head_only, keep_alive, plain, out);
        let Some(BodyStream(pieces)) = self.stream else {
            stream.write_all(out).await?;
            stream.flush().await?;
            return Ok(());
        };
        if head_only {
            if !plain {
                out.extend_from_slice(b"0\r\n\r\n");
            }
            stream.write_all(out).await?;
            stream.flush().await?;
            return Ok(());
        }
        // A gzipped stream is one gzip member, flushed after each piece so the client
        // can read every piece as it comes.
        let mut gz = self
            .gzip
            .then(|| flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let chunk = |out: &mut Vec<u8>, data: &[u8]| {
            if plain {
                out.extend_from_slice(data);
            } else if !data.is_empty() {
                out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
            }
        };
        // The head goes out with the first piece.
        while let Ok(piece) = pieces.recv_async().await {
            if piece.is_empty() {
                continue;
            }
            match gz.as_mut() {
                Some(gz) => {
                    use std::io::Write;
                    gz.write_all(&piece)?;
                    // Only a piece with nothing behind it is flushed (a sync flush costs
                    // a few bytes each).
                    if pieces.is_empty() {
                        gz.flush()?;
                    }
                    let done = std::mem::take(gz.get_mut());
                    chunk(out, &done);
                }
                None => chunk(out, &piece),
            }
            // Pieces already waiting go out in the same write.
            if pieces.is_empty() || out.len() >= WRITE_BATCH {
                stream.write_all(out).await?;
                stream.flush().await?;
                out.clear();
            }
        }
        if let Some(gz) = gz {
            let rest = gz.finish()?;
            chunk(out, &rest);
        }
        if !plain {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        stream.write_all(out).await?;
        stream.flush().await?;
        Ok(())
    }
}

/// `body` gzipped at the fastest level (the client only needs to read it).
fn gzip_all(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(body);
    gz.finish().unwrap_or_default()
}

/// A streamed body's pieces are gathered into writes of about this size.
const WRITE_BATCH: usize = 256 * 1024;

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Request Entity Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// Serves requests on one connection until the peer closes, asks to close, or errs.
pub async fn serve_connection<S, H, F>(
    stream: &mut S,
    max_body: usize,
    mut handler: H,
) -> Result<(), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: FnMut(Request) -> F,
    F: std::future::Future<Output = Response>,
{
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        let head = loop {
            match parse_head(&buf) {
                Ok(Some(head)) => break head,
                Ok(None) => {}
                Err(e) => return reject(stream, e).await,
            }
            if read_more(stream, &mut buf).await? == 0 {
                // A close between requests is the normal end of a keep-alive connection.
                return if buf.is_empty() {
                    Ok(())
                } else {
                    Err(HttpError::Truncated)
                };
            }
        };
        if head.chunked {
            let body = match read_chunked(stream, &mut buf, head.len, max_body).await {
                Ok(b) => b,
                Err(e) => return reject(stream, e).await,
            };
            let keep_alive = head.keep_alive;
            let (head_only, http10) = (head.method == "HEAD", head.http10);
            let response = handler(Request { head, body }).await;
            let keep_alive = keep_alive && !(http10 && response.stream.is_some());
            response
                .send(stream, head_only, keep_alive, http10, &mut out)
                .await?;
            if !keep_alive {
                return Ok(());
            }
            continue;
        }
        if head.content_length > max_body {
            return reject(stream, HttpError::BodyTooLarge(head.content_length as u64)).await;
        }
        let total = head.len + head.content_length;
        if buf.len() < total && head.expect_continue {
            stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
        }
        let body = if buf.len() >= total {
            let body = Bytes::copy_from_slice(&buf[head.len..total]);
            buf.drain(..total);
            body
        } else {
            // A large body is read straight into its own buffer, in one piece, and handed
            // on without another copy.
            let mut body = Vec::with_capacity(head.content_length);
            body.extend_from_slice(&buf[head.len..]);
            buf.clear();
            let mut filled = body.len();
            body.resize(head.content_length, 0);
            while filled < head.content_length {
                let n = stream.read(&mut body[filled..]).await?;
                if n == 0 {
                    return Err(HttpError::Truncated);
                }
                filled += n;
            }
            Bytes::from(body)
        };
        let keep_alive = head.keep_alive;
        let (head_only, http10) = (head.method == "HEAD", head.http10);
        let request = Request { head, body };
        let response = handler(request).await;
        let keep_alive = keep_alive && !(http10 && response.stream.is_some());
        response
            .send(stream, head_only, keep_alive, http10, &mut out)
            .await?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// Reads a chunked body that starts at `buf[start..]`, leaving in `buf` whatever follows it.
async fn read_chunked<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    start: usize,
    max_body: usize,
) -> Result<Bytes, HttpError> {
    let mut pos = start;
    let mut body = Vec::new();
    loop {
        // The chunk-size line.
        let line_end = loop {
            if let Some(i) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                break pos + i;
            }
            if buf.len() - pos > 1024 {
                return Err(HttpError::BadChunk("chunk size line too long"));
            }
            if read_more(stream, buf).await? == 0 {
                return Err(HttpError::Truncated);
            }
        };
        let line = &buf[pos..line_end];
        let size_text = line.split(|b| *b == b';').next().unwrap_or(b"");
        let size = std::str::from_utf8(size_text)
            .ok()
            .and_then(|t| usize::from_str_radix(t.trim(), 16).ok())
            .ok_or(HttpError::BadChunk("bad chunk size"))?;
        pos = line_end + 2;
        if size == 0 {
            // Trailers, up to an empty line.
            loop {
                if let Some(i) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                    let empty = i == 0;
                    pos += i + 2;
                    if empty {
                        buf.drain(..pos);
                        return Ok(Bytes::from(body));
                    }
                    continue;
                }
                if buf.len() - pos > 8192 {
                    return Err(HttpError::BadChunk("trailers too long"));
                }
                if read_more(stream, buf).await? == 0 {
                    return Err(HttpError::Truncated);
                }
            }
        }
        if body.len() + size > max_body {
            return Err(HttpError::BodyTooLarge((body.len() + size) as u64));
        }
        while buf.len() < pos + size + 2 {
            if read_more(stream, buf).await? == 0 {
                return Err(HttpError::Truncated);
            }
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        if &buf[pos + size..pos + size + 2] != b"\r\n" {
            return Err(HttpError::BadChunk("chunk not followed by CRLF"));
        }
        pos += size + 2;
        // Keep the buffer from growing with consumed chunks.
        if pos > (1 << 20) {
            buf.drain(..pos);
            pos = 0;
        }
    }
}

/// Answers a request that cannot be served and ends the connection.
async fn reject<S: AsyncWrite + Unpin>(stream: &mut S, err: HttpError) -> Result<(), HttpError> {
    if let Some(resp) = err.response() {
        let mut out = Vec::new();
        resp.encode(false, false, &mut out);
        // The peer may be gone already; the original error is what matters.
        let _ = stream.write_all(&out).await;
        let _ = stream.flush().await;
    }
    Err(err)
}

/// Reads what is available into the end of `buf`; 0 at end of stream.
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let start = buf.len();
    buf.resize(start + READ_CHUNK, 0);
    let n = stream.read(&mut buf[start..]).await;
    buf.truncate(start + *n.as_ref().unwrap_or(&0));
    n
}

#[cfg(test)]
mod tests;
