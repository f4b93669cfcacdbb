//! Where a point goes: its shard within a shard group, its partition within the shard,
//! and the core that owns the partition. All pure functions of the key and a few counts,
//! so every core computes the same answer and a change of core count only re-maps
//! partitions to cores (their files stay where they are).

/// FNV-1a, 64 bit: the hash InfluxDB Enterprise uses to pick a shard within a group.
pub fn fnv64a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A second, independent spread of the same hash (splitmix64's finaliser), so that the
/// partition within a shard does not correlate with the shard choice.
fn remix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Index of the shard within its group for a series key.
pub fn shard_index(series_key: &[u8], shards: usize) -> usize {
    (fnv64a(series_key) % shards.max(1) as u64) as usize
}

/// Partition of a series within a shard of `partitions` partitions.
pub fn partition_of(series_key: &[u8], partitions: u32) -> u32 {
    (remix(fnv64a(series_key)) % u64::from(partitions.max(1))) as u32
}

/// The core owning a partition. Offsetting by shard id spreads the shards' partition 0
/// (each shard's home, which keeps its field registry) over the cores.
pub fn core_of(shard_id: u64, partition: u32, cores: usize) -> usize {
    ((shard_id + u64::from(partition)) % cores.max(1) as u64) as usize
}

/// The core that keeps a shard's field registry and manifest: the owner of partition 0.
pub fn home_core(shard_id: u64, cores: usize) -> usize {
    core_of(shard_id, 0, cores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_values() {
        // Reference values of FNV-1a 64.
        assert_eq!(fnv64a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv64a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv64a(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn partitions_spread_over_cores() {
        let mut per_core = [0usize; 2];
        let mut per_partition = [0usize; 8];
        for i in 0..10_000 {
            let key = format!("cpu,host=host_{i}");
            let p = partition_of(key.as_bytes(), 8);
            per_partition[p as usize] += 1;
            per_core[core_of(7, p, 2)] += 1;
        }
        assert!(per_partition.iter().all(|&n| n > 1000), "{per_partition:?}");
        assert!(per_core.iter().all(|&n| n > 4000), "{per_core:?}");
    }
}
