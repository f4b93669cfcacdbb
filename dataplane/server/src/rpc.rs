//! Cluster RPC between data nodes: the data service of the cluster port (8088).
//!
//! A connection opens with the service byte [`SERVICE_DATA`]; then the client sends one
//! request frame and reads one response frame, as many times as it likes. A frame is
//! `[u32 LE payload length][u32 LE crc32c of payload][payload]`, the payload an rkyv
//! archive of [`Request`] or [`Response`], validated before it is read. A frame that is too
//! long, fails its checksum or does not validate closes the connection with a logged error;
//! nothing in it can panic the node.
//!
//! Clients keep a small pool of idle connections per destination ([`RpcClient`]), dial with
//! `[cluster] dial-timeout` and give each call `[cluster] shard-writer-timeout` (writes) or
//! the caller's deadline (queries).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use glommio::net::TcpStream;
use rkyv::rancor::Error as RkyvError;
use rkyv::{Archive, Deserialize, Serialize};

/// The first byte a data node sends on another's cluster port to talk to the data service.
pub const SERVICE_DATA: u8 = 0x02;
/// Bytes before the payload.
pub const FRAME_HEADER: usize = 8;
/// Frames larger than this are refused: a write is bounded by `[http] max-body-size`, a
/// query's partial result by `max-select-*`; this bound only stops garbage.
pub const MAX_FRAME: usize = 512 << 20;

/// Points for one shard, in the storage batch encoding (`tessera_storage::batch`).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct WriteShard {
    pub database: String,
    pub retention_policy: String,
    pub shard_id: u64,
    pub batch: Vec<u8>,
}

/// Field types and tag keys of some of the receiver's shards (what a `SELECT` is planned
/// with).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SchemaRequest {
    pub database: String,
    pub retention_policy: String,
    pub shards: Vec<u64>,
    /// Tag keys of these measurements, or of all (`None`); none at all when `tags` is false.
    pub measurements: Option<Vec<String>>,
    pub tags: bool,
}

/// One measurement's part of a schema: fields with their storage type byte, tag keys.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct MeasurementSchema {
    pub name: String,
    pub fields: Vec<(String, u8)>,
    pub tags: Vec<String>,
    pub tags_unknown: bool,
}

/// A `SELECT` run over some of the receiver's shards: the receiver plans it exactly as the
/// coordinator did (same statement, schema, measurements and `now`) and answers with its
/// partial result ([`tessera_query::wire`]).
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct SelectRequest {
    pub database: String,
    pub retention_policy: String,
    pub shards: Vec<u64>,
    /// The statement as `Display` prints it (it parses back to the same statement).
    pub statement: String,
    /// All measurements of the statement's schema, and those this part reads.
    pub all_measurements: Vec<String>,
    pub measurements: Vec<String>,
    pub schema: Vec<MeasurementSchema>,
    pub id_base: u32,
    pub node_slot: u32,
    pub now: i64,
    /// The coordinator's node id and a token for this query: `Cancel` with the same pair
    /// stops it (the coordinator's query was killed).
    pub coordinator: u64,
    pub token: u64,
    /// The plan's EXPLAIN mode (0 none, 1 EXPLAIN, 2 EXPLAIN ANALYZE).
    pub explain: u8,
    /// A subquery's inner statement, and the range the coordinator's plan of it reads
    /// (`SelectPlan::as_inner`).
    pub inner: bool,
    pub inner_min: i64,
    pub inner_max: i64,
}

/// A request of the series index over some of the receiver's shards.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct IndexRequest {
    pub op: IndexOp,
    pub shards: Vec<u64>,
}

/// What to read (or delete) in the index. Conditions travel as InfluxQL text.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum IndexOp {
    /// Measurement → tag keys.
    Tags { measurements: Option<Vec<String>> },
    /// (measurement, key, value) of keys matching `key_op` (0 `=`, 1 `!=`, 2 `=~`, 3 `!~`)
    /// against `key_names` or `key_regex`.
    TagValues {
        measurements: Option<Vec<String>>,
        key_op: u8,
        key_names: Vec<String>,
        key_regex: Option<String>,
        /// Only series matching this tag condition (InfluxQL text).
        condition: Option<String>,
    },
    Series {
        measurements: Option<Vec<String>>,
        condition: Option<String>,
    },
    /// How many series the shards index, with the series' hashes when `hashes`.
    SeriesCount { hashes: bool },
    Delete {
        measurements: Option<Vec<String>>,
        condition: Option<String>,
        min: i64,
        max: i64,
        /// DROP MEASUREMENT: the shards also forget the measurements' fields.
        forget_fields: bool,
    },
}

/// A running query, as `SHOW QUERIES` lists it.
#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct QueryRow {
    pub qid: u64,
    pub query: String,
    pub database: String,
    /// Nanoseconds since the query started.
    pub duration_ns: i64,
    pub status: String,
}

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Request {
    /// Are you there, and who are you?
    Ping,
    WriteShard(WriteShard),
    Schema(SchemaRequest),
    Select(SelectRequest),
    Index(IndexRequest),
    /// The queries running on the receiver.
    ListQueries,
    /// Stops query `qid` on the receiver.
    KillQuery {
        qid: u64,
    },
    /// Stops the receiver's part of a coordinator's query (see [`SelectRequest::token`]).
    Cancel {
        coordinator: u64,
        token: u64,
    },
}

#[derive(Archive, Serialize, Deserialize, Debug, Clone, PartialEq)]
pub enum Response {
    Pong {
        node_id: u64,
    },
    /// The shard's owner made the points durable, except `dropped` of them refused for
    /// `reason` (a partial write, as influxd words it).
    Written {
        dropped: u64,
        reason: Option<String>,
    },
    Schema {
        measurements: Vec<MeasurementSchema>,
    },
    /// An encoded partial result ([`tessera_query::wire`]).
    Partial {
        bytes: Vec<u8>,
    },
    Queries {
        rows: Vec<QueryRow>,
    },
    Tags {
        tags: Vec<(String, Vec<String>)>,
    },
    /// (measurement, key, its values sorted without repeats).
    TagValues {
        values: Vec<(String, String, Vec<String>)>,
    },
    Series {
        keys: Vec<Vec<u8>>,
    },
    Hashes {
        count: u64,
        hashes: Vec<u64>,
    },
    Done,
    Killed,
    /// The request failed on the receiver: an HTTP-like status and influxd's text.
    Error {
        status: u16,
        message: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLarge(usize),
    #[error("frame checksum mismatch")]
    Checksum,
    #[error("frame is not valid: {0}")]
    Decode(String),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("connection closed")]
    Closed,
    #[error("dial {addr}: {reason}")]
    Dial { addr: String, reason: String },
    #[error("timeout")]
    Timeout,
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

impl RpcError {
    /// True when the remote node may never have seen the request (so a retry elsewhere or
    /// a hinted handoff is right), false for errors of the request itself.
    pub fn is_unreachable(&self) -> bool {
        !matches!(self, RpcError::TooLarge(_))
    }
}

/// Encodes a request as one frame.
pub fn encode_request(msg: &Request) -> Result<Vec<u8>, RpcError> {
    let payload = rkyv::to_bytes::<RkyvError>(msg).map_err(|e| RpcError::Decode(e.to_string()))?;
    frame(&payload)
}

/// Encodes a response as one frame.
pub fn encode_response(msg: &Response) -> Result<Vec<u8>, RpcError> {
    let payload = rkyv::to_bytes::<RkyvError>(msg).map_err(|e| RpcError::Decode(e.to_string()))?;
    frame(&payload)
}

fn frame(payload: &[u8]) -> Result<Vec<u8>, RpcError> {
    if payload.len() > MAX_FRAME {
        return Err(RpcError::TooLarge(payload.len()));
    }
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Reads one frame's payload (checked against its checksum), aligned for rkyv.
/// `Ok(None)` when the stream ends cleanly before a frame.
pub async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<rkyv::util::AlignedVec>, RpcError> {
    let mut header = [0u8; FRAME_HEADER];
    if !read_full(stream, &mut header).await? {
        return Ok(None);
    }
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if len > MAX_FRAME {
        return Err(RpcError::TooLarge(len));
    }
    let mut payload = rkyv::util::AlignedVec::<16>::with_capacity(len);
    payload.resize(len, 0);
    if len > 0 && !read_full(stream, &mut payload).await? {
        return Err(RpcError::Truncated);
    }
    if crc32c::crc32c(&payload) != crc {
        return Err(RpcError::Checksum);
    }
    Ok(Some(payload))
}

/// Validates and decodes a request payload.
pub fn decode_request(payload: &[u8]) -> Result<Request, RpcError> {
    rkyv::from_bytes::<Request, RkyvError>(payload).map_err(|e| RpcError::Decode(e.to_string()))
}

/// Validates and decodes a response payload.
pub fn decode_response(payload: &[u8]) -> Result<Response, RpcError> {
    rkyv::from_bytes::<Response, RkyvError>(payload).map_err(|e| RpcError::Decode(e.to_string()))
}

/// Fills `buf`; `Ok(false)` when the stream ends before the first byte, an error when it
/// ends part-way.
async fn read_full<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut [u8]) -> Result<bool, RpcError> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return if filled == 0 {
                Ok(false)
            } else {
                Err(RpcError::Truncated)
            };
        }
        filled += n;
    }
    Ok(true)
}

/// Serves the data service on one connection (after its service byte) until it closes:
/// each request is answered by `answer` with one response frame.
pub async fn serve<S, F, Fut>(stream: &mut S, mut answer: F) -> Result<(), RpcError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnMut(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    loop {
        let Some(payload) = read_frame(stream).await? else {
            return Ok(());
        };
        let request = decode_request(&payload)?;
        drop(payload);
        let response = answer(request).await;
        let frame = match encode_response(&response) {
            Ok(f) => f,
            Err(e) => encode_response(&Response::Error {
                status: 500,
                message: e.to_string(),
            })?,
        };
        stream.write_all(&frame).await?;
        stream.flush().await?;
    }
}

/// Runs `fut` for at most `dur`.
pub async fn with_timeout<T>(dur: Duration, fut: impl Future<Output = T>) -> Option<T> {
    futures_lite::future::or(async { Some(fut.await) }, async {
        glommio::timer::sleep(dur).await;
        None
    })
    .await
}

/// Settings of the client side (`[cluster]`).
#[derive(Debug, Clone, Copy)]
pub struct ClientConfig {
    pub dial_timeout: Duration,
    pub pool_max_idle_streams: usize,
    pub pool_max_idle_time: Duration,
}

/// A core's connections to other data nodes: idle streams pooled per address.
pub struct RpcClient {
    config: ClientConfig,
    idle: RefCell<HashMap<String, Vec<(TcpStream, Instant)>>>,
}

impl RpcClient {
    pub fn new(config: ClientConfig) -> RpcClient {
        RpcClient {
            config,
            idle: RefCell::new(HashMap::new()),
        }
    }

    /// Sends `request` to the data node at `addr` and waits at most `timeout` (dial
    /// included) for its answer.
    pub async fn call(
        &self,
        addr: &str,
        request: &Request,
        timeout: Duration,
    ) -> Result<Response, RpcError> {
        let frame = encode_request(request)?;
        match with_timeout(timeout, self.call_frame(addr, &frame)).await {
            Some(r) => r,
            None => Err(RpcError::Timeout),
        }
    }

    async fn call_frame(&self, addr: &str, frame: &[u8]) -> Result<Response, RpcError> {
        // A pooled stream may have been closed by the other side since; one retry on a
        // fresh stream covers that without resending twice to a live connection.
        if let Some(mut stream) = self.take_idle(addr) {
            match exchange(&mut stream, frame).await {
                Ok(r) => {
                    self.put_idle(addr, stream);
                    return Ok(r);
                }
                Err(RpcError::Closed | RpcError::Io(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let mut stream = self.dial(addr).await?;
        let r = exchange(&mut stream, frame).await?;
        self.put_idle(addr, stream);
        Ok(r)
    }

    async fn dial(&self, addr: &str) -> Result<TcpStream, RpcError> {
        let dial_err = |reason: String| RpcError::Dial {
            addr: addr.to_string(),
            reason,
        };
        let mut stream = TcpStream::connect_timeout(addr, self.config.dial_timeout)
            .await
            .map_err(|e| dial_err(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        stream.write_all(&[SERVICE_DATA]).await?;
        Ok(stream)
    }

    fn take_idle(&self, addr: &str) -> Option<TcpStream> {
        let mut idle = self.idle.borrow_mut();
        let list = idle.get_mut(addr)?;
        let max_idle = self.config.pool_max_idle_time;
        while let Some((stream, since)) = list.pop() {
            if since.elapsed() < max_idle {
                return Some(stream);
            }
        }
        None
    }

    fn put_idle(&self, addr: &str, stream: TcpStream) {
        let mut idle = self.idle.borrow_mut();
        let list = idle.entry(addr.to_string()).or_default();
        if list.len() < self.config.pool_max_idle_streams {
            list.push((stream, Instant::now()));
        }
    }

    /// Drops every pooled stream to `addr` (after it failed).
    pub fn forget(&self, addr: &str) {
        self.idle.borrow_mut().remove(addr);
    }
}

async fn exchange(stream: &mut TcpStream, frame: &[u8]) -> Result<Response, RpcError> {
    stream.write_all(frame).await?;
    stream.flush().await?;
    match read_frame(stream).await? {
        Some(payload) => decode_response(&payload),
        None => Err(RpcError::Closed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_request() -> Request {
        Request::WriteShard(WriteShard {
            database: "db".into(),
            retention_policy: "autogen".into(),
            shard_id: 7,
            batch: vec![1, 2, 3, 4, 5],
        })
    }

    #[test]
    fn frames_round_trip() {
        let req = write_request();
        let frame = encode_request(&req).unwrap();
        let payload = futures_lite::future::block_on(read_frame(&mut &frame[..]))
            .unwrap()
            .unwrap();
        assert_eq!(decode_request(&payload).unwrap(), req);
        let resp = Response::Written {
            dropped: 2,
            reason: Some("field type conflict".into()),
        };
        let frame = encode_response(&resp).unwrap();
        let payload = futures_lite::future::block_on(read_frame(&mut &frame[..]))
            .unwrap()
            .unwrap();
        assert_eq!(decode_response(&payload).unwrap(), resp);
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let frame = encode_request(&write_request()).unwrap();
        // Truncated anywhere.
        for cut in 1..frame.len() {
            let r = futures_lite::future::block_on(read_frame(&mut &frame[..cut]));
            assert!(r.is_err(), "cut at {cut} accepted");
        }
        // Any flipped byte of the payload fails the checksum.
        for i in FRAME_HEADER..frame.len() {
            let mut f = frame.clone();
            f[i] ^= 0x55;
            let r = futures_lite::future::block_on(read_frame(&mut &f[..]));
            assert!(matches!(r, Err(RpcError::Checksum)), "byte {i}");
        }
        // A huge length is refused before any allocation.
        let mut f = frame.clone();
        f[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        let r = futures_lite::future::block_on(read_frame(&mut &f[..]));
        assert!(matches!(r, Err(RpcError::TooLarge(_))));
        // Garbage with a valid checksum fails validation, never panics.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in 0..2000usize {
            let len = n % 97;
            let mut payload = rkyv::util::AlignedVec::<16>::new();
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                payload.push(seed as u8);
            }
            let _ = decode_request(&payload);
            let _ = decode_response(&payload);
        }
    }
}
