//! The on-disk record format of queue segments, and the scan that recovers them.
//!
//! A record is `[magic u32][payload len u32][appended-at u64 ns since the epoch]
//! [crc32c u32][payload]`, little-endian, back to back. The checksum covers the length,
//! the timestamp and the payload, so a flipped length is caught too. The magic lets a scan
//! find the next record after a damaged one: a checksum alone cannot tell where the next
//! record starts once a length is wrong, and without a marker every byte offset would be a
//! candidate. Zeros follow the last record (O_DIRECT pads to whole blocks), and a zero
//! magic is never valid, so a zero run ends a segment cleanly.

use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Marks the start of every record ("THH1").
pub(crate) const MAGIC: u32 = u32::from_le_bytes(*b"THH1");
/// Bytes before each payload.
pub(crate) const HEADER: usize = 20;
/// Largest single entry. A shard write is one request's points for one shard, far below
/// this; the bound keeps a corrupt length from asking for gigabytes.
pub const MAX_ENTRY: usize = 256 << 20;

/// Appends the record of `payload` stamped `ts` (ns since the epoch) to `out`.
pub(crate) fn encode(out: &mut Vec<u8>, ts: u64, payload: &[u8]) {
    let len = (payload.len() as u32).to_le_bytes();
    let ts = ts.to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c_append(crc32c::crc32c(&len), &ts), payload);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&len);
    out.extend_from_slice(&ts);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
}

/// What starts at some offset of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// An intact record of `len` bytes in all.
    Record {
        ts: u64,
        payload: Range<usize>,
        len: usize,
    },
    /// Possibly a record, but the buffer ends first; `need` bytes from the offset would
    /// settle it.
    Short { need: usize },
    /// Not a record: wrong magic, impossible length or checksum mismatch.
    Bad,
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"))
}

/// Parses the record starting at `buf[at..]`.
pub(crate) fn parse(buf: &[u8], at: usize) -> Parsed {
    let rest = &buf[at.min(buf.len())..];
    if rest.len() < 4 {
        return Parsed::Short { need: HEADER };
    }
    if u32_at(rest, 0) != MAGIC {
        return Parsed::Bad;
    }
    if rest.len() < HEADER {
        return Parsed::Short { need: HEADER };
    }
    let len = u32_at(rest, 4) as usize;
    if len > MAX_ENTRY {
        return Parsed::Bad;
    }
    let total = HEADER + len;
    if rest.len() < total {
        return Parsed::Short { need: total };
    }
    let crc = crc32c::crc32c_append(crc32c::crc32c(&rest[4..16]), &rest[HEADER..total]);
    if crc != u32_at(rest, 16) {
        return Parsed::Bad;
    }
    Parsed::Record {
        ts: u64_at(rest, 8),
        payload: at + HEADER..at + total,
        len: total,
    }
}

/// The timestamp in a record header, unchecked beyond its magic (for statistics only).
pub(crate) fn header_ts(buf: &[u8]) -> Option<u64> {
    (buf.len() >= HEADER && u32_at(buf, 0) == MAGIC).then(|| u64_at(buf, 8))
}

/// The offset of the first intact record after `from`, if any.
pub(crate) fn find_next(buf: &[u8], from: usize) -> Option<usize> {
    let magic = MAGIC.to_le_bytes();
    let mut at = from + 1;
    while at + HEADER <= buf.len() {
        if buf[at..at + 4] == magic {
            if let Parsed::Record { .. } = parse(buf, at) {
                return Some(at);
            }
        }
        at += 1;
    }
    None
}

/// What a full scan of one segment found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Intact records.
    pub(crate) entries: u64,
    pub(crate) first_ts: Option<u64>,
    pub(crate) last_ts: Option<u64>,
    /// The end of the last intact record: everything after it is zeros or a torn tail.
    pub(crate) end: u64,
    /// Damaged byte ranges with intact records after them (skipped).
    pub(crate) damaged: Vec<Range<u64>>,
    /// A non-zero tail after `end` that holds no intact record: a write cut short.
    pub(crate) torn: Option<Range<u64>>,
    /// Intact records that start before `head`, and the timestamp of the first at or after.
    pub(crate) before_head: u64,
    pub(crate) head_offset: u64,
    pub(crate) head_ts: Option<u64>,
}

/// Scans a whole segment. `head` is the acknowledged offset when this segment holds the
/// queue's head (records starting before it count as acknowledged).
pub(crate) fn scan(buf: &[u8], head: Option<u64>) -> Scan {
    let mut s = Scan::default();
    let head = head.unwrap_or(0);
    let mut head_found = false;
    let mut at = 0usize;
    while at < buf.len() {
        match parse(buf, at) {
            Parsed::Record { ts, len, .. } => {
                s.entries += 1;
                s.first_ts.get_or_insert(ts);
                s.last_ts = Some(ts);
                if (at as u64) < head {
                    s.before_head += 1;
                } else if !head_found {
                    head_found = true;
                    s.head_offset = at as u64;
                    s.head_ts = Some(ts);
                }
                at += len;
            }
            Parsed::Short { .. } | Parsed::Bad => {
                if buf[at..].iter().all(|b| *b == 0) {
                    break;
                }
                match find_next(buf, at) {
                    Some(next) => {
                        s.damaged.push(at as u64..next as u64);
                        at = next;
                    }
                    None => {
                        let cut = buf.iter().rposition(|b| *b != 0).map_or(at, |p| p + 1);
                        s.torn = Some(at as u64..cut as u64);
                        break;
                    }
                }
            }
        }
    }
    s.end = at.min(buf.len()) as u64;
    if !head_found {
        s.head_offset = s.end;
    }
    s
}

pub(crate) fn to_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

pub(crate) fn from_nanos(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(items: &[(u64, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (ts, p) in items {
            encode(&mut out, *ts, p);
        }
        out
    }

    #[test]
    fn round_trip_and_clean_zero_end() {
        let mut buf = records(&[(1, b"a"), (2, b""), (3, &[9u8; 1000])]);
        let intact = buf.len() as u64;
        buf.resize(4096, 0);
        let s = scan(&buf, None);
        assert_eq!(s.entries, 3);
        assert_eq!((s.first_ts, s.last_ts), (Some(1), Some(3)));
        assert_eq!(s.end, intact);
        assert!(s.damaged.is_empty() && s.torn.is_none());
    }

    #[test]
    fn torn_tail_and_damaged_middle() {
        let buf = records(&[(1, b"one"), (2, b"two"), (3, b"three")]);
        let second = HEADER + 3;
        let third = second + HEADER + 3;
        // Cut inside the third record: torn tail.
        let s = scan(&buf[..buf.len() - 2], None);
        assert_eq!(s.entries, 2);
        assert_eq!(s.end, third as u64);
        assert_eq!(s.torn, Some(third as u64..(buf.len() - 2) as u64));
        // Flip a payload byte of the second: it is skipped, the third survives.
        let mut bad = buf.clone();
        bad[second + HEADER] ^= 0x55;
        let s = scan(&bad, None);
        assert_eq!(s.entries, 2);
        assert_eq!(s.damaged, vec![second as u64..third as u64]);
        assert_eq!(s.end, buf.len() as u64);
        // Flip a length byte: the magic still finds the third.
        let mut bad = buf.clone();
        bad[second + 5] ^= 0x01;
        assert_eq!(scan(&bad, None).entries, 2);
    }

    #[test]
    fn head_offset_counts_acknowledged() {
        let buf = records(&[(1, b"one"), (2, b"two"), (3, b"three")]);
        let second = (HEADER + 3) as u64;
        let s = scan(&buf, Some(second));
        assert_eq!(
            (s.before_head, s.head_offset, s.head_ts),
            (1, second, Some(2))
        );
        // A head inside a record moves to the next boundary.
        let s = scan(&buf, Some(second + 1));
        assert_eq!(s.before_head, 2);
        assert_eq!(s.head_ts, Some(3));
        let s = scan(&buf, Some(buf.len() as u64));
        assert_eq!((s.before_head, s.head_offset, s.head_ts), (3, s.end, None));
    }

    #[test]
    fn garbage_never_panics() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..200 {
            let mut buf = records(&[(1, b"x"), (2, &[7u8; 300])]);
            for _ in 0..(round % 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % buf.len();
                buf[at] = (x >> 32) as u8;
            }
            buf.truncate(buf.len() - round % 40);
            let s = scan(&buf, Some(round as u64));
            assert!(s.entries <= 2);
            assert!(s.end <= buf.len() as u64);
        }
    }
}
