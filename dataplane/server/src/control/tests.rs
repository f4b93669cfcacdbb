use std::sync::Arc;

use futures_lite::future::block_on;

use super::*;
use crate::state::{NodeFacts, NodeState};
use crate::test_io::Duplex;

fn core() -> CoreState {
    CoreState::new(
        0,
        Arc::new(NodeFacts {
            tcp_addr: "h:8088".into(),
            http_addr: "h:8086".into(),
            cores: 2,
            version: "v",
        }),
    )
}

fn run(
    input: &[&[u8]],
    commands: &flume::Sender<MetaCommand>,
) -> (Result<Served, ControlError>, Vec<u8>) {
    let core = core();
    core.set_state(Arc::new(NodeState {
        node_id: Some(7),
        ..NodeState::default()
    }));
    let ctx = ControlContext {
        core: &core,
        commands,
    };
    let mut conn = Duplex::new(input);
    let result = block_on(serve_connection(&mut conn, &ctx));
    (result, conn.written)
}

fn responses(mut out: &[u8]) -> Vec<ControlResponse> {
    let mut all = Vec::new();
    while !out.is_empty() {
        let header: [u8; FRAME_HEADER] = out[..FRAME_HEADER].try_into().unwrap();
        let (len, crc) = decode_header(&header).unwrap();
        all.push(decode_payload(&out[FRAME_HEADER..FRAME_HEADER + len], crc).unwrap());
        out = &out[FRAME_HEADER + len..];
    }
    all
}

#[test]
fn node_info_is_answered_locally() {
    let (tx, _rx) = flume::unbounded();
    let frame = encode(&ControlRequest::NodeInfo);
    // Split mid-header and mid-payload to exercise partial reads; two requests in a row.
    let (a, b) = frame.split_at(5);
    let (result, out) = run(&[&[SERVICE_CONTROL], a, b, &frame], &tx);
    result.unwrap();
    let answers = responses(&out);
    assert_eq!(answers.len(), 2);
    assert_eq!(
        answers[0],
        ControlResponse::NodeInfo {
            node_id: Some(7),
            tcp_addr: "h:8088".into(),
            http_addr: "h:8086".into(),
            version: "v".into(),
            cores: 2,
        }
    );
}

#[test]
fn join_goes_to_the_control_thread() {
    let (tx, rx) = flume::unbounded::<MetaCommand>();
    let answerer = std::thread::spawn(move || {
        let Ok(MetaCommand::Join {
            node_id,
            meta_servers,
            reply,
        }) = rx.recv()
        else {
            panic!("expected a join");
        };
        assert_eq!((node_id, meta_servers), (3, vec!["m:8091".to_string()]));
        reply.send(ControlResponse::Ok).unwrap();
    });
    let mut input = vec![SERVICE_CONTROL];
    input.extend(encode(&ControlRequest::Join {
        node_id: 3,
        meta_servers: vec!["m:8091".into()],
    }));
    let (result, out) = run(&[&input], &tx);
    result.unwrap();
    answerer.join().unwrap();
    assert_eq!(responses(&out), vec![ControlResponse::Ok]);
}

#[test]
fn leave_without_control_thread_is_refused_cleanly() {
    let (tx, rx) = flume::unbounded();
    drop(rx);
    let mut input = vec![SERVICE_CONTROL];
    input.extend(encode(&ControlRequest::Leave { node_id: 7 }));
    let (result, out) = run(&[&input], &tx);
    result.unwrap();
    assert!(matches!(responses(&out)[0], ControlResponse::Error { .. }));
}

#[test]
fn garbage_ends_the_connection_with_an_error() {
    let (tx, _rx) = flume::unbounded();
    // Unknown service byte.
    let (r, out) = run(&[b"GET / HTTP/1.1\r\n\r\n"], &tx);
    assert!(matches!(r, Err(ControlError::UnknownService(b'G'))));
    assert!(out.is_empty());
    // Oversized frame.
    let (r, _) = run(
        &[&[SERVICE_CONTROL, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]],
        &tx,
    );
    assert!(matches!(
        r,
        Err(ControlError::Frame(FrameError::TooLarge(_)))
    ));
    // Checksum mismatch.
    let mut frame = encode(&ControlRequest::NodeInfo);
    frame[FRAME_HEADER] ^= 0x55;
    let (r, _) = run(&[&[SERVICE_CONTROL], &frame], &tx);
    assert!(matches!(r, Err(ControlError::Frame(FrameError::Checksum))));
    // Valid checksum, payload that is not a request.
    let payload = b"\x00\x9f not json";
    let mut frame = (payload.len() as u32).to_be_bytes().to_vec();
    frame.extend(crc32c::crc32c(payload).to_be_bytes());
    frame.extend(payload);
    let (r, _) = run(&[&[SERVICE_CONTROL], &frame], &tx);
    assert!(matches!(r, Err(ControlError::Frame(FrameError::Decode(_)))));
    // Truncated header and payload.
    let (r, _) = run(&[&[SERVICE_CONTROL, 0, 0]], &tx);
    assert!(matches!(r, Err(ControlError::Truncated)));
    let frame = encode(&ControlRequest::NodeInfo);
    let (r, _) = run(&[&[SERVICE_CONTROL], &frame[..frame.len() - 1]], &tx);
    assert!(matches!(r, Err(ControlError::Truncated)));
    // Empty connection and a bare service byte are fine.
    let (r, _) = run(&[], &tx);
    r.unwrap();
    let (r, _) = run(&[&[SERVICE_CONTROL]], &tx);
    r.unwrap();
}
