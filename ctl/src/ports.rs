//! Port layout of a local cluster started by `tessera up`, from one base port `P`:
//!
//! | node | HTTP | TCP |
//! |---|---|---|
//! | data node i (0-based) | `P + 10*i` | cluster RPC `P + 10*i + 2` |
//! | meta node j (0-based) | `P + 100 + 10*j + 5` | raft `P + 100 + 10*j + 3` |
//!
//! With the default `P = 18086` the data nodes answer on 18086/18088, 18096/18098, … and
//! the meta nodes on 18191 (raft 18189), 18201 (18199), 18211 (18209): the same last
//! digits as InfluxDB's 8086/8088 and 8089/8091, so they are easy to recognise. Up to 10
//! data nodes fit below the meta block.

/// Default base port: InfluxDB's 8086 plus 10000.
pub const DEFAULT_BASE_PORT: u16 = 18086;
/// Data nodes that fit below the meta block (10 ports each).
pub const MAX_DATA_NODES: usize = 10;
/// Meta nodes the launcher starts at most (raft wants 1, 3 or 5).
pub const MAX_META_NODES: usize = 9;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PortError {
    #[error("--meta must be between 1 and {MAX_META_NODES}, not {0}")]
    MetaCount(usize),
    #[error("--data must be between 1 and {MAX_DATA_NODES}, not {0}")]
    DataCount(usize),
    #[error("--base-port {base} is too high: meta node {meta} would need port {needed}")]
    TooHigh { base: u16, meta: usize, needed: u32 },
    #[error("--base-port must be at least 1024, not {0}")]
    TooLow(u16),
}

/// The ports of every node of a cluster with `meta` meta nodes and `data` data nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortLayout {
    base: u16,
}

impl PortLayout {
    /// Checks that every port of the cluster exists.
    pub fn new(base: u16, meta: usize, data: usize) -> Result<Self, PortError> {
        if !(1..=MAX_META_NODES).contains(&meta) {
            return Err(PortError::MetaCount(meta));
        }
        if !(1..=MAX_DATA_NODES).contains(&data) {
            return Err(PortError::DataCount(data));
        }
        if base < 1024 {
            return Err(PortError::TooLow(base));
        }
        let needed = u32::from(base) + 100 + 10 * (meta as u32 - 1) + 5;
        if needed > u32::from(u16::MAX) {
            return Err(PortError::TooHigh { base, meta, needed });
        }
        Ok(PortLayout { base })
    }

    pub fn data_http(&self, i: usize) -> u16 {
        self.base + 10 * i as u16
    }

    pub fn data_tcp(&self, i: usize) -> u16 {
        self.data_http(i) + 2
    }

    pub fn meta_raft(&self, j: usize) -> u16 {
        self.base + 100 + 10 * j as u16 + 3
    }

    pub fn meta_http(&self, j: usize) -> u16 {
        self.meta_raft(j) + 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_layout() {
        let p = PortLayout::new(DEFAULT_BASE_PORT, 3, 2).unwrap();
        assert_eq!((p.data_http(0), p.data_tcp(0)), (18086, 18088));
        assert_eq!((p.data_http(1), p.data_tcp(1)), (18096, 18098));
        assert_eq!((p.meta_raft(0), p.meta_http(0)), (18189, 18191));
        assert_eq!((p.meta_raft(1), p.meta_http(1)), (18199, 18201));
        assert_eq!((p.meta_raft(2), p.meta_http(2)), (18209, 18211));
    }

    #[test]
    fn ports_never_collide() {
        let p = PortLayout::new(20000, MAX_META_NODES, MAX_DATA_NODES).unwrap();
        let mut all = Vec::new();
        for i in 0..MAX_DATA_NODES {
            all.extend([p.data_http(i), p.data_tcp(i)]);
        }
        for j in 0..MAX_META_NODES {
            all.extend([p.meta_raft(j), p.meta_http(j)]);
        }
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n);
    }

    #[test]
    fn refuses_impossible_layouts() {
        assert_eq!(PortLayout::new(18086, 0, 1), Err(PortError::MetaCount(0)));
        assert_eq!(PortLayout::new(18086, 1, 11), Err(PortError::DataCount(11)));
        assert_eq!(PortLayout::new(80, 1, 1), Err(PortError::TooLow(80)));
        assert!(matches!(
            PortLayout::new(65500, 3, 1),
            Err(PortError::TooHigh { .. })
        ));
        assert!(PortLayout::new(65535 - 105, 1, 1).is_ok());
    }
}
