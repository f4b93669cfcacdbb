//! The cluster port (8088): the first byte of a connection names its service. Only the
//! control service ([`SERVICE_CONTROL`]) exists so far: framed JSON requests from the meta
//! plane (`NodeInfo`, `Join`, `Leave`), each answered with one frame.
//!
//! Anything else (another service byte, an oversized or corrupt frame, garbage) ends that
//! connection with an error the caller logs; the node keeps serving.

use futures_lite::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tessera_meta_types::control::{
    decode_header, decode_payload, encode, ControlRequest, ControlResponse, FrameError,
    FRAME_HEADER, SERVICE_CONTROL,
};

use crate::meta_sync::MetaCommand;
use crate::state::CoreState;

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("unknown service byte 0x{0:02x}")]
    UnknownService(u8),
    #[error("bad control frame: {0}")]
    Frame(#[from] FrameError),
    #[error("connection closed in the middle of a frame")]
    Truncated,
    #[error("data service: {0}")]
    Data(#[from] crate::rpc::RpcError),
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
}

/// What a connection needs: the core's state and the way to the control thread.
pub struct ControlContext<'a> {
    pub core: &'a CoreState,
    pub commands: &'a flume::Sender<MetaCommand>,
}

/// What a cluster-port connection turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Served {
    /// A control connection, served until it closed.
    Control,
    /// The data service ([`crate::rpc`]): its service byte is read, the caller serves it.
    Data,
}

/// Reads the service byte of a cluster-port connection and serves the control service
/// until the connection closes; for the data service it returns [`Served::Data`].
pub async fn serve_connection<S>(
    stream: &mut S,
    ctx: &ControlContext<'_>,
) -> Result<Served, ControlError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut service = [0u8; 1];
    if !read_full(stream, &mut service).await? {
        return Ok(Served::Control);
    }
    match service[0] {
        SERVICE_CONTROL => serve_control(stream, ctx).await.map(|_| Served::Control),
        crate::rpc::SERVICE_DATA => Ok(Served::Data),
        other => Err(ControlError::UnknownService(other)),
    }
}

async fn serve_control<S>(stream: &mut S, ctx: &ControlContext<'_>) -> Result<(), ControlError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let mut header = [0u8; FRAME_HEADER];
        if !read_full(stream, &mut header).await? {
            return Ok(());
        }
        let (len, crc) = decode_header(&header)?;
        let mut payload = vec![0u8; len];
        if len > 0 && !read_full(stream, &mut payload).await? {
            return Err(ControlError::Truncated);
        }
        let request: ControlRequest = decode_payload(&payload, crc)?;
        tracing::debug!(?request, "control request");
        let response = answer(request, ctx).await;
        stream.write_all(&encode(&response)).await?;
        stream.flush().await?;
    }
}

async fn answer(request: ControlRequest, ctx: &ControlContext<'_>) -> ControlResponse {
    let (reply, replied) = flume::bounded(1);
    let command = match request {
        ControlRequest::NodeInfo => {
            let facts = &ctx.core.facts;
            return ControlResponse::NodeInfo {
                node_id: ctx.core.state().node_id,
                tcp_addr: facts.tcp_addr.clone(),
                http_addr: facts.http_addr.clone(),
                version: facts.version.to_string(),
                cores: facts.cores,
            };
        }
        // Membership changes go to the control thread, the one writer of node.json.
        ControlRequest::Join {
            node_id,
            meta_servers,
        } => MetaCommand::Join {
            node_id,
            meta_servers,
            reply,
        },
        ControlRequest::Leave { node_id } => MetaCommand::Leave { node_id, reply },
    };
    let shutting_down = || ControlResponse::Error {
        message: "data node is shutting down".into(),
    };
    if ctx.commands.send_async(command).await.is_err() {
        return shutting_down();
    }
    replied
        .recv_async()
        .await
        .unwrap_or_else(|_| shutting_down())
}

/// Fills `buf`; `Ok(false)` when the stream ends before the first byte, an error when it
/// ends part-way.
async fn read_full<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
) -> Result<bool, ControlError> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return if filled == 0 {
                Ok(false)
            } else {
                Err(ControlError::Truncated)
            };
        }
        filled += n;
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
