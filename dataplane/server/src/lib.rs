//! The Tessera data node (`influxd`): glommio thread-per-core executors serving HTTP and
//! the cluster port on every core, and one small tokio control thread that follows the
//! meta plane. Each core owns the storage partitions that map to it and serves `/write`.
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
//! - [`handlers`] — HTTP endpoints (`/ping`, `/debug/vars`); [`diagnostics`] — `SHOW DIAGNOSTICS`.
//! - [`control`] — the cluster port's control service (`NodeInfo`, `Join`, `Leave`).
//! - [`rpc`] — the cluster port's data service: frames, messages, pooled client.
//! - [`cluster`] — answers to other data nodes, consistency levels, cluster-wide query
//!   management; [`cluster_query`] — queries over shards of other nodes;
//!   [`cluster_index`] — SHOW statements and deletes over every node's shards.
//! - [`meta_sync`] — the control thread: metadata long-poll, leases, signals.
//! - [`lease`] — whether this node holds a lease.
//! - [`node_identity`] — `node.json`, this node's cluster membership.
//! - [`router`] — point → shard → partition → core.
//! - [`engine`] — a core's partitions and field registries; the mesh between cores.
//! - [`fields`] — a shard's field registry; [`manifest`] — a shard's manifest.
//! - [`export`] — `influxd export`.
//! - [`housekeeping`] — retention and shard-group pre-creation.
//! - [`write`] — `/write`; [`query`] — `/query` (set-up statements until InfluxQL lands).

pub mod address;
pub mod auth;
pub mod catalog;
pub mod chunked;
pub mod cli;
pub mod cluster;
pub mod cluster_index;
pub mod cluster_query;
pub mod config;
pub mod control;
pub mod cores;
pub mod diagnostics;
pub mod engine;
pub mod executor;
pub mod explain;
pub mod export;
pub mod fields;
pub mod gojson;
pub mod handlers;
pub mod handoff;
pub mod housekeeping;
pub mod http;
pub mod into;
pub mod lease;
pub mod listener;
pub mod manifest;
pub mod meta_sync;
pub mod metrics;
pub mod monitor;
pub mod node;
pub mod node_identity;
pub mod pprof;
pub mod query;
pub mod registry;
pub mod requests;
pub mod router;
pub mod rpc;
pub mod scatter;
pub mod select;
pub mod state;
pub mod statements;
pub mod stats;
pub mod write;

#[cfg(test)]
mod test_io;
