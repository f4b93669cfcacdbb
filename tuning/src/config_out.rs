//! The recommended `[data]` fragment for influxd.conf, sized from this host.

/// Upper bound for `cache-max-memory-size`: influxd's own default (1g). Past it a
/// partition's snapshot takes long enough to stall its core's writes.
const CACHE_MAX_CAP: u64 = 1 << 30;
/// Lower bound: below this a busy partition refuses writes between snapshots.
const CACHE_MAX_FLOOR: u64 = 64 << 20;
/// influxd's default `cache-snapshot-memory-size`.
const SNAPSHOT_FLOOR: u64 = 25 << 20;
/// Bigger snapshots write bigger files but hold the core longer while they are encoded.
const SNAPSHOT_CAP: u64 = 256 << 20;

/// Values chosen for this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recommendation {
    pub(crate) cores: usize,
    pub(crate) mem_total: u64,
    pub(crate) cache_max: u64,
    pub(crate) cache_snapshot: u64,
    pub(crate) file_cache: u64,
}

/// `MemTotal` from /proc/meminfo, in bytes.
pub(crate) fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub(crate) fn recommend(cores: usize, mem_total: u64) -> Recommendation {
    let cores = cores.max(1);
    // An eighth of RAM for write caches; each core's partitions share it, and the setting
    // is per partition, so divide by the cores.
    let cache_max = round_mib((mem_total / 8 / cores as u64).clamp(CACHE_MAX_FLOOR, CACHE_MAX_CAP));
    let cache_snapshot = round_mib((cache_max / 16).clamp(SNAPSHOT_FLOOR, SNAPSHOT_CAP));
    // A quarter of RAM for the node-wide file cache (split across cores by influxd); the
    // rest stays for queries, the index and the kernel.
    let file_cache = round_mib((mem_total / 4).max(64 << 20));
    Recommendation {
        cores,
        mem_total,
        cache_max,
        cache_snapshot,
        file_cache,
    }
}

fn round_mib(b: u64) -> u64 {
    (b >> 20).max(1) << 20
}

/// A size as influxd writes one: `1g` when whole gibibytes, else `256m`.
pub(crate) fn size(b: u64) -> String {
    if b >= 1 << 30 && b & ((1 << 30) - 1) == 0 {
        format!("{}g", b >> 30)
    } else {
        format!("{}m", b >> 20)
    }
}

/// The TOML fragment, with comments saying where each value comes from.
pub(crate) fn render(r: &Recommendation) -> String {
    format!(
        "# Recommended by `tessera-tune check` for this host: {cores} usable CPU(s), {mem} MiB of RAM.\n\
         # Merge into the [data] section of influxd.conf.\n\
         [data]\n\
         # One executor per usable CPU. Lower it to leave CPUs to other processes; each core\n\
         # needs 512 KiB of RLIMIT_MEMLOCK.\n\
         max-cores = {cores}\n\
         # Per partition: writes are refused above this. An eighth of RAM split across the\n\
         # cores, between 64m and 1g.\n\
         cache-max-memory-size = \"{cache_max}\"\n\
         # Per partition: the cache is written to a file at this size; a sixteenth of the\n\
         # cache limit, between 25m and 256m.\n\
         cache-snapshot-memory-size = \"{snapshot}\"\n\
         # Whole node (split across cores): data files kept in memory for queries. A quarter\n\
         # of RAM.\n\
         file-cache-max-memory-size = \"{file_cache}\"\n",
        cores = r.cores,
        mem = r.mem_total >> 20,
        cache_max = size(r.cache_max),
        snapshot = size(r.cache_snapshot),
        file_cache = size(r.file_cache),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_total() {
        let info = "MemTotal:       16303448 kB\nMemFree:         1000 kB\n";
        assert_eq!(mem_total(info), Some(16_303_448 * 1024));
        assert_eq!(mem_total("nothing"), None);
    }

    #[test]
    fn sizes_like_influxd() {
        assert_eq!(size(1 << 30), "1g");
        assert_eq!(size(256 << 20), "256m");
        assert_eq!(size(1536 << 20), "1536m");
    }

    #[test]
    fn sizing_is_bounded() {
        let small = recommend(2, 1 << 30);
        assert_eq!(small.cache_max, CACHE_MAX_FLOOR);
        assert_eq!(small.cache_snapshot, SNAPSHOT_FLOOR);
        assert_eq!(small.file_cache, 256 << 20);
        let big = recommend(4, 256 << 30);
        assert_eq!(big.cache_max, CACHE_MAX_CAP);
        assert_eq!(big.cache_snapshot, 64 << 20);
        assert_eq!(big.file_cache, 64 << 30);
        assert!(render(&big).contains("file-cache-max-memory-size = \"64g\""));
    }
}
