//! Hinted handoff: writes for owners that did not answer wait on this node's disk.

use tessera_meta_types::NodeId;

use crate::handlers::Ctx;
use crate::rpc::WriteShard;

/// Queues `write` for data node `owner`, durable before it returns.
pub async fn enqueue(_ctx: &Ctx, owner: NodeId, write: &WriteShard) -> Result<(), String> {
    Err(format!(
        "hinted handoff is not available: shard {} write for node {owner} not queued",
        write.shard_id
    ))
}
