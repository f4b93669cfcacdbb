//! The Tessera data node (`influxd`): glommio thread-per-core executors serving HTTP and
//! the cluster port on every core, and one small tokio control thread that follows the
//! meta plane. This first slice has no storage yet: it starts, joins and leaves a
//! cluster, follows metadata and leases, and answers `/ping` and `/debug/vars`.
//!
//! # Layout
//! - [`cli`] — command line (`influxd [run] -config`, `config`, `version`).
//! - [`config`] — `influxd.conf` parsing, `INFLUXDB_*` overrides, validation.
//! - [`address`] — bind addresses and the addresses the node advertises.
//! - [`cores`] — how many cores (CPUs, license, `max-cores`) and the memlock limit.
//! - [`node`] — the start-up sequence and shutdown.
//! - [`executor`] — one pinned glommio executor per core and its accept loops.
//! - [`listener`] — the SO_REUSEPORT listening sockets every core binds.
//! - [`state`] — node state published by the control thread, each core's copy.
//! - [`http`] — the HTTP/1.1 server (parsing, keep-alive, limits).
//! - [`handlers`] — HTTP endpoints (`/ping`, `/debug/vars`).
//! - [`control`] — the cluster port's control service (`NodeInfo`, `Join`, `Leave`).
//! - [`meta_sync`] — the control thread: metadata long-poll, leases, signals.
//! - [`lease`] — whether this node holds a lease.
//! - [`node_identity`] — `node.json`, this node's cluster membership.

pub mod address;
pub mod cli;
pub mod config;
pub mod control;
pub mod cores;
pub mod executor;
pub mod handlers;
pub mod http;
pub mod lease;
pub mod listener;
pub mod meta_sync;
pub mod node;
pub mod node_identity;
pub mod state;

#[cfg(test)]
mod test_io;
