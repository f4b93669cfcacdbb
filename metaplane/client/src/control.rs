//! The meta side of the data-node control protocol ([`tessera_meta_types::control`]):
//! one request per connection over tokio TCP, with a deadline.

use std::time::Duration;

use tessera_meta_types::control::{
    decode_header, decode_payload, encode, ControlRequest, ControlResponse, FRAME_HEADER,
    SERVICE_CONTROL,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("unable to reach data node at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("data node at {addr} did not answer in time")]
    Timeout { addr: String },
    #[error("data node at {addr} sent a bad answer: {reason}")]
    Protocol { addr: String, reason: String },
    #[error("data node at {addr} refused: {message}")]
    Refused { addr: String, message: String },
}

/// Sends one control request to the data node at `addr` (`host:port`) and waits for the answer.
pub async fn send(
    addr: &str,
    request: &ControlRequest,
    timeout: Duration,
) -> Result<ControlResponse, ControlError> {
    match tokio::time::timeout(timeout, exchange(addr, request)).await {
        Ok(result) => result,
        Err(_) => Err(ControlError::Timeout {
            addr: addr.to_string(),
        }),
    }
}

async fn exchange(addr: &str, request: &ControlRequest) -> Result<ControlResponse, ControlError> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| ControlError::Unreachable {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
    let proto = |reason: String| ControlError::Protocol {
        addr: addr.to_string(),
        reason,
    };
    let mut out = vec![SERVICE_CONTROL];
    out.extend_from_slice(&encode(request));
    stream
        .write_all(&out)
        .await
        .map_err(|e| proto(e.to_string()))?;
    let mut header = [0u8; FRAME_HEADER];
    stream
        .read_exact(&mut header)
        .await
        .map_err(|e| proto(e.to_string()))?;
    let (len, crc) = decode_header(&header).map_err(|e| proto(e.to_string()))?;
    let mut payload = vec![0u8; len];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(|e| proto(e.to_string()))?;
    let response: ControlResponse =
        decode_payload(&payload, crc).map_err(|e| proto(e.to_string()))?;
    if let ControlResponse::Error { message } = response {
        return Err(ControlError::Refused {
            addr: addr.to_string(),
            message,
        });
    }
    Ok(response)
}
