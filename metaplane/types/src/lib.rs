//! The pure cluster model of Tessera, shared by the meta plane, the data plane and
//! `influxd-ctl`. No runtime and no I/O: only data, the commands that change it and the
//! deterministic function that applies a command to the state.
//!
//! # Layout
//! - [`duration`] — Go-style durations (`1m0s`, `168h0m0s`) as influxd prints and parses them.
//! - [`model`] — nodes, databases, retention policies, shard groups, users, leases.
//! - [`command`] — every metadata change as a typed command, and its reply.
//! - [`apply`] — the state machine transition: `ClusterState::apply(command)`.
//! - [`error`] — [`MetaError`], with InfluxDB's texts.
//! - [`control`] — the control messages the meta plane sends a data node on its TCP port.

pub mod apply;
pub mod command;
pub mod control;
pub mod duration;
pub mod error;
pub mod model;

pub use command::{Command, Reply};
pub use error::MetaError;
pub use model::*;
