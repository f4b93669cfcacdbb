//! Client of the Tessera meta API (port 8091), used by data nodes and `influxd-ctl`, and
//! the tokio side of the data-node control protocol (port 8088) used by meta nodes.
//!
//! # Layout
//! - [`api`] — request and response bodies of every meta endpoint (the wire contract).
//! - [`client`] — [`MetaClient`]: calls any of several meta nodes, failing over.
//! - [`control`] — sends control messages to a data node's TCP port.

pub mod api;
pub mod client;
pub mod control;

pub use client::{ClientError, MetaClient};
