use futures_lite::future::block_on;

use super::*;
use crate::test_io::Duplex;

#[test]
fn parses_a_simple_head() {
    let raw = b"GET /ping?verbose=true&x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    let head = parse_head(raw).unwrap().unwrap();
    assert_eq!(head.method, "GET");
    assert_eq!(head.path, "/ping");
    assert_eq!(head.query_param("verbose"), Some("true"));
    assert_eq!(head.query_param("x"), Some(""));
    assert_eq!(head.query_param("y"), None);
    assert_eq!(head.content_length, 3);
    assert!(head.keep_alive);
    assert_eq!(head.header("host"), Some(&b"a"[..]));
    assert_eq!(head.len, raw.len() - 3);
}

#[test]
fn partial_heads_wait_for_more() {
    let raw = b"GET /ping HTTP/1.1\r\nHost: a\r\n";
    for i in 0..raw.len() {
        assert!(parse_head(&raw[..i]).unwrap().is_none(), "prefix {i}");
    }
}

#[test]
fn keep_alive_rules() {
    let h = parse_head(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
    assert!(!h.keep_alive);
    let h = parse_head(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(h.keep_alive);
    let h = parse_head(b"GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n")
        .unwrap()
        .unwrap();
    assert!(!h.keep_alive);
}

#[test]
fn garbage_and_oversize_are_refused() {
    assert!(matches!(
        parse_head(b"\x00\x01\x02garbage\r\n\r\n"),
        Err(HttpError::Malformed(_))
    ));
    assert!(matches!(
        parse_head(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
        Err(HttpError::BadContentLength)
    ));
    assert!(matches!(
        parse_head(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
        Err(HttpError::BadContentLength)
    ));
    assert!(matches!(
        parse_head(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n"),
        Err(HttpError::BodyTooLarge(_))
    ));
    assert!(matches!(
        parse_head(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        Err(HttpError::UnsupportedEncoding(_))
    ));
    let mut big = b"GET / HTTP/1.1\r\nX: ".to_vec();
    big.resize(MAX_HEAD + 10, b'a');
    assert!(matches!(parse_head(&big), Err(HttpError::HeadTooLarge)));
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100 {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert!(matches!(parse_head(&many), Err(HttpError::HeadTooLarge)));
}

async fn echo(req: Request) -> Response {
    Response::text(200, format!("{} {}", req.head.path, req.body.len()))
}

#[test]
fn serves_pipelined_and_split_requests() {
    let mut conn = Duplex::new(&[
        b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Le",
        b"ngth: 5\r\n\r\nhel",
        b"lo",
        b"HEAD /c HTTP/1.1\r\nConnection: close\r\n\r\n",
    ]);
    block_on(serve_connection(&mut conn, MAX_BODY, echo)).unwrap();
    let out = conn.written_text();
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3, "{out}");
    assert!(out.contains("/a 0"), "{out}");
    assert!(out.contains("/b 5"), "{out}");
    // HEAD: length of the body it would have had, but no body.
    assert!(out.ends_with("Connection: close\r\n\r\n"), "{out}");
}

#[test]
fn garbage_gets_400_and_close() {
    let mut conn = Duplex::new(&[b"\x16\x03\x01\x02\x00garbage\r\n\r\n"]);
    let err = block_on(serve_connection(&mut conn, MAX_BODY, echo)).unwrap_err();
    assert!(matches!(err, HttpError::Malformed(_)));
    let out = conn.written_text();
    assert!(out.starts_with("HTTP/1.1 400 Bad Request"), "{out}");
    assert!(out.contains("Connection: close"), "{out}");
}

#[test]
fn oversized_body_gets_413() {
    let mut conn = Duplex::new(&[b"POST /write HTTP/1.1\r\nContent-Length: 30000000\r\n\r\n"]);
    assert!(block_on(serve_connection(&mut conn, MAX_BODY, echo)).is_err());
    assert!(conn.written_text().starts_with("HTTP/1.1 413"));
}

#[test]
fn truncated_requests_end_quietly() {
    let mut conn = Duplex::new(&[b"POST /b HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"]);
    let err = block_on(serve_connection(&mut conn, MAX_BODY, echo)).unwrap_err();
    assert!(matches!(err, HttpError::Truncated));
    assert!(conn.written.is_empty());
    let mut conn = Duplex::new(&[b"GET /a HT"]);
    assert!(block_on(serve_connection(&mut conn, MAX_BODY, echo)).is_err());
    let mut conn = Duplex::new(&[]);
    block_on(serve_connection(&mut conn, MAX_BODY, echo)).unwrap();
}

#[test]
fn expect_continue_is_answered() {
    let mut conn = Duplex::new(&[
        b"POST /w HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n",
        b"ok",
    ]);
    block_on(serve_connection(&mut conn, MAX_BODY, echo)).unwrap();
    assert!(conn
        .written_text()
        .starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"));
}

#[test]
fn no_content_has_no_length_or_body() {
    let mut out = Vec::new();
    Response::new(204)
        .body(b"x".to_vec())
        .encode(false, true, &mut out);
    assert_eq!(out, b"HTTP/1.1 204 No Content\r\n\r\n");
}

#[test]
fn chunked_bodies_are_assembled() {
    let mut conn = Duplex::new(&[
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        b"6;ext=1\r\n world\r\n0\r\n\r\nGET /n HTTP/1.1\r\n\r\n",
    ]);
    block_on(serve_connection(&mut conn, MAX_BODY, echo)).unwrap();
    let out = String::from_utf8_lossy(&conn.written).to_string();
    assert!(out.contains("/c 11"), "{out}");
    assert!(out.contains("/n 0"), "{out}");
}

#[test]
fn bodies_over_the_limit_get_influxdb_json_413() {
    let mut conn = Duplex::new(&[b"POST /w HTTP/1.1\r\nContent-Length: 100\r\n\r\n"]);
    assert!(block_on(serve_connection(&mut conn, 10, echo)).is_err());
    let out = String::from_utf8_lossy(&conn.written).to_string();
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(
        out.contains(r#"{"error":"Request Entity Too Large"}"#),
        "{out}"
    );
    let mut conn = Duplex::new(&[b"POST /w HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nff\r\n"]);
    assert!(block_on(serve_connection(&mut conn, 10, echo)).is_err());
    assert!(String::from_utf8_lossy(&conn.written).starts_with("HTTP/1.1 413"));
}

/// A handler whose answer streams three pieces.
async fn streamed(_req: Request) -> Response {
    let (tx, rx) = flume::bounded(4);
    for piece in ["ab", "", "cde"] {
        tx.send(piece.as_bytes().to_vec()).unwrap();
    }
    drop(tx);
    Response::json(200, Vec::new()).streamed(rx)
}

#[test]
fn streamed_bodies_go_in_http_chunks_or_plain_to_http10() {
    let mut conn = Duplex::new(&[b"GET /q HTTP/1.1\r\n\r\nGET /q HTTP/1.1\r\n\r\n"]);
    block_on(serve_connection(&mut conn, MAX_BODY, streamed)).unwrap();
    let out = String::from_utf8_lossy(&conn.written).to_string();
    // Both answers on the kept connection, each ended by the last chunk.
    assert_eq!(
        out.matches("Transfer-Encoding: chunked\r\n").count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n")
            .count(),
        2,
        "{out}"
    );
    assert!(!out.contains("Content-Length"), "{out}");

    // HTTP/1.0 knows no chunked encoding: the body as it is, then the close.
    let mut conn = Duplex::new(&[b"GET /q HTTP/1.0\r\n\r\nGET /q HTTP/1.0\r\n\r\n"]);
    block_on(serve_connection(&mut conn, MAX_BODY, streamed)).unwrap();
    let out = String::from_utf8_lossy(&conn.written).to_string();
    assert!(!out.contains("Transfer-Encoding"), "{out}");
    assert!(out.ends_with("Connection: close\r\n\r\nabcde"), "{out}");
    assert_eq!(out.matches("HTTP/1.1 200").count(), 1, "{out}");
}

#[test]
fn gzipped_streams_unzip_to_the_pieces() {
    use std::io::Read;
    async fn zipped(req: Request) -> Response {
        let mut r = streamed(req).await;
        r.gzip = true;
        r
    }
    let mut conn = Duplex::new(&[b"GET /q HTTP/1.0\r\n\r\n"]);
    block_on(serve_connection(&mut conn, MAX_BODY, zipped)).unwrap();
    let split = conn
        .written
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap();
    let head = String::from_utf8_lossy(&conn.written[..split]).to_string();
    assert!(head.contains("Content-Encoding: gzip"), "{head}");
    let mut body = String::new();
    flate2::read::GzDecoder::new(&conn.written[split + 4..])
        .read_to_string(&mut body)
        .unwrap();
    assert_eq!(body, "abcde");
}
