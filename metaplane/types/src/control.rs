//! Control messages between the meta plane and a data node's cluster port (8088).
//!
//! A connection starts with one service byte ([`SERVICE_CONTROL`] here; later services
//! such as shard writes take other values). Then each request and each response is one
//! frame: `[u32 BE payload length][u32 BE crc32c of payload][payload]`. Control traffic is
//! rare and small, so its payload is JSON. A frame that is too long or fails its checksum
//! is refused and the connection closed.

use serde::{Deserialize, Serialize};

use crate::model::NodeId;

/// The first byte a client sends on 8088 to talk to the control service.
pub const SERVICE_CONTROL: u8 = 0x01;
/// Control frames are tiny; anything bigger is garbage.
pub const MAX_CONTROL_FRAME: usize = 1 << 20;
/// Bytes before the payload.
pub const FRAME_HEADER: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlRequest {
    /// Who are you? Sent by `add-data` before the node is recorded.
    NodeInfo,
    /// You are data node `node_id` of the cluster served by `meta_servers` (HTTP addresses).
    Join {
        node_id: NodeId,
        meta_servers: Vec<String>,
    },
    /// You were removed from the cluster: forget it.
    Leave { node_id: NodeId },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlResponse {
    NodeInfo {
        node_id: Option<NodeId>,
        tcp_addr: String,
        http_addr: String,
        version: String,
        cores: u32,
    },
    Ok,
    Error {
        message: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("control frame of {0} bytes exceeds the limit of {MAX_CONTROL_FRAME}")]
    TooLarge(usize),
    #[error("control frame checksum mismatch")]
    Checksum,
    #[error("control frame is not valid: {0}")]
    Decode(String),
}

/// Encodes one message as a frame.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let payload = serde_json::to_vec(msg).expect("control messages serialize");
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&payload).to_be_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Reads a frame header: the payload length and checksum, or an error for an oversized frame.
pub fn decode_header(header: &[u8; FRAME_HEADER]) -> Result<(usize, u32), FrameError> {
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    if len > MAX_CONTROL_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    Ok((len, crc))
}

/// Checks a payload against its checksum and decodes it.
pub fn decode_payload<T: for<'de> Deserialize<'de>>(
    payload: &[u8],
    crc: u32,
) -> Result<T, FrameError> {
    if crc32c::crc32c(payload) != crc {
        return Err(FrameError::Checksum);
    }
    serde_json::from_slice(payload).map_err(|e| FrameError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trip_and_corruption() {
        let msg = ControlRequest::Join {
            node_id: 4,
            meta_servers: vec!["a:8091".into()],
        };
        let mut frame = encode(&msg);
        let header: [u8; FRAME_HEADER] = frame[..FRAME_HEADER].try_into().unwrap();
        let (len, crc) = decode_header(&header).unwrap();
        assert_eq!(len, frame.len() - FRAME_HEADER);
        let back: ControlRequest = decode_payload(&frame[FRAME_HEADER..], crc).unwrap();
        assert_eq!(back, msg);
        frame[FRAME_HEADER + 2] ^= 0xff;
        assert_eq!(
            decode_payload::<ControlRequest>(&frame[FRAME_HEADER..], crc),
            Err(FrameError::Checksum)
        );
        assert!(decode_header(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
    }
}
