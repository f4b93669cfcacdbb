//! Time zones for `tz()`: the system's TZif files (`/usr/share/zoneinfo`, as Go reads
//! them), offsets at an instant, and InfluxDB's zone-aware GROUP BY time windows.

use std::sync::Arc;

/// A zone: transition instants (UTC seconds) and the offset (seconds east) from each.
#[derive(Debug, Clone, PartialEq)]
pub struct Tz {
    pub name: String,
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition.
    initial: i32,
}

fn be32(b: &[u8], at: usize) -> Option<i64> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as i64)
}

fn be64(b: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn parse_tzif(name: &str, b: &[u8]) -> Option<Tz> {
    if b.get(0..4)? != b"TZif" {
        return None;
    }
    let counts = |at: usize| -> Option<[usize; 6]> {
        let mut c = [0usize; 6];
        for (i, v) in c.iter_mut().enumerate() {
            *v = be32(b, at + 20 + 4 * i)? as u32 as usize;
        }
        Some(c)
    };
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(0)?;
    let v1_len = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
    // Version 2+ files repeat the data with 64-bit times after the v1 block.
    let (base, wide) = if b[4] >= b'2' {
        (44 + v1_len, true)
    } else {
        (0, false)
    };
    let [_, _, _, timecnt, typecnt, _] = counts(base)?;
    let data = base + 44;
    let tsize = if wide { 8 } else { 4 };
    let idx_at = data + timecnt * tsize;
    let types_at = idx_at + timecnt;
    let mut offsets = Vec::with_capacity(typecnt);
    for i in 0..typecnt {
        offsets.push(be32(b, types_at + 6 * i)? as i32);
    }
    let mut transitions = Vec::with_capacity(timecnt);
    for i in 0..timecnt {
        let t = if wide {
            be64(b, data + 8 * i)?
        } else {
            be32(b, data + 4 * i)?
        };
        let ty = *b.get(idx_at + i)? as usize;
        transitions.push((t, *offsets.get(ty)?));
    }
    let initial = offsets.first().copied().unwrap_or(0);
    Some(Tz {
        name: name.to_string(),
        transitions,
        initial,
    })
}

impl Tz {
    /// Loads a zone by IANA name; `None` if there is no such zone.
    pub fn load(name: &str) -> Option<Arc<Tz>> {
        if name.contains("..") || name.starts_with('/') {
            return None;
        }
        if name.is_empty() || name == "UTC" || name == "Etc/UTC" {
            return Some(Arc::new(Tz {
                name: name.into(),
                transitions: Vec::new(),
                initial: 0,
            }));
        }
        thread_local! {
            /// Zones read on this thread, by name: a statement with tz() asks for its zone
            /// several times (time range, shards, plan).
            static LOADED: crate::cache::CacheCell<Tz> = Default::default();
        }
        crate::cache::get_or_make(&LOADED, name, 64, || {
            let dir = std::env::var("ZONEINFO").unwrap_or_else(|_| "/usr/share/zoneinfo".into());
            let bytes = std::fs::read(std::path::Path::new(&dir).join(name)).map_err(|_| ())?;
            parse_tzif(name, &bytes).ok_or(())
        })
        .ok()
    }

    /// Seconds east of UTC in effect at `ns` (UTC nanoseconds).
    pub fn offset_at(&self, ns: i64) -> i32 {
        let s = ns.div_euclid(1_000_000_000);
        let i = self.transitions.partition_point(|(t, _)| *t <= s);
        if i == 0 {
            self.initial
        } else {
            self.transitions[i - 1].1
        }
    }

    /// The offset in effect at `secs` (UTC seconds) and the span `[start, end)` of it.
    fn period(&self, secs: i64) -> (i32, i64, i64) {
        let i = self.transitions.partition_point(|(t, _)| *t <= secs);
        let start = if i == 0 {
            i64::MIN
        } else {
            self.transitions[i - 1].0
        };
        let end = self.transitions.get(i).map_or(i64::MAX, |t| t.0);
        let off = if i == 0 {
            self.initial
        } else {
            self.transitions[i - 1].1
        };
        (off, start, end)
    }

    /// The instant (UTC nanoseconds) of a wall clock read in this zone, resolved as Go's
    /// `time.Date` does: the offset in effect at the wall clock taken as UTC, unless the
    /// instant it gives falls outside that offset's span (a wall clock near a change).
    pub fn local_to_utc(&self, wall_ns: i128) -> i128 {
        let secs = wall_ns.div_euclid(1_000_000_000);
        let secs = secs.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        let (mut off, start, end) = self.period(secs);
        if off != 0 {
            let utc = secs.saturating_sub(off as i64);
            if utc < start || utc >= end {
                off = self.period(utc).0;
            }
        }
        wall_ns - off as i128 * 1_000_000_000
    }

    /// The offset in effect at `ns` (UTC nanoseconds, any magnitude).
    pub fn offset_at_wide(&self, ns: i128) -> i32 {
        let secs = ns.div_euclid(1_000_000_000);
        self.period(secs.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
            .0
    }

    fn zone_ns(&self, ns: i64) -> i64 {
        self.offset_at(ns) as i64 * 1_000_000_000
    }
}

/// The GROUP BY time window holding `t`: `[start, end)`, with influxd's handling of zone
/// offsets (windows aligned to local time; a DST change moves the window's edge).
pub fn window(t: i64, every: i64, offset: i64, tz: Option<&Tz>) -> (i64, i64) {
    // influxd's IteratorOptions.Window: the zone is read at the time less the offset, and
    // the start and end move by the difference of the zone at them. Its int64 arithmetic
    // wraps at the ends of the time range; so does this.
    let t = t.wrapping_sub(offset);
    let zone = tz.map(|z| z.zone_ns(t)).unwrap_or(0);
    let dt = (t.wrapping_add(zone)).rem_euclid(every);
    // A window that would start before the first time starts at it (influxd's
    // `MinTime+dt >= t`), rather than wrap.
    let mut start = if crate::cond::MIN_TIME.saturating_add(dt) >= t {
        crate::cond::MIN_TIME
    } else {
        t.wrapping_sub(dt)
    };
    let mut end = start.saturating_add(every);
    if let Some(z) = tz {
        let start_zone = if start != t { z.zone_ns(start) } else { zone };
        let end_zone = if end != t { z.zone_ns(end) } else { zone };
        if zone != start_zone {
            start = start.wrapping_add(zone.wrapping_sub(start_zone));
        }
        if zone != end_zone {
            end = end.wrapping_add(zone.wrapping_sub(end_zone));
        }
    }
    (start.wrapping_add(offset), end.saturating_add(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_york_offsets_and_days() {
        let Some(ny) = Tz::load("America/New_York") else {
            return; // no zoneinfo on this machine
        };
        // 2023-01-01T00:00:00Z is 19:00 the day before in New York (EST, -5h).
        let t = 1_672_531_200_000_000_000;
        assert_eq!(ny.offset_at(t), -5 * 3600);
        // Summer: EDT, -4h.
        assert_eq!(ny.offset_at(1_688_169_600_000_000_000), -4 * 3600);
        let day = 86_400_000_000_000;
        let (s, e) = window(t, day, 0, Some(&ny));
        assert_eq!(s, t - 19 * 3_600_000_000_000);
        assert_eq!(e, s + day);
        assert!(Tz::load("Mars/Olympus").is_none());
        // tz('') is UTC, as in influxd.
        assert_eq!(Tz::load("").map(|z| z.offset_at(0)), Some(0));
    }
}
