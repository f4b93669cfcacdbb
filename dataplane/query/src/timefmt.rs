//! Timestamps as InfluxDB prints them: RFC3339 with nanoseconds and trailing zeros cut
//! (Go's `time.RFC3339Nano`), in UTC or at a fixed offset (for `tz()`).

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `ns` since the epoch as RFC3339Nano, shown at `offset_s` seconds east of UTC.
pub fn rfc3339_nano(ns: i64, offset_s: i32, out: &mut String) {
    use std::fmt::Write;
    let local = ns as i128 + offset_s as i128 * 1_000_000_000;
    let secs = local.div_euclid(1_000_000_000) as i64;
    let frac = local.rem_euclid(1_000_000_000) as u32;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let sod = sod as u32;
    let (h, mi, se) = (sod / 3600, (sod / 60) % 60, sod % 60);
    if (0..=9999).contains(&y) {
        // The common case without the formatter: 2020-01-01T00:00:00.
        let y = y as u32;
        let b = [
            digit(y / 1000),
            digit(y / 100),
            digit(y / 10),
            digit(y),
            b'-',
            digit(mo / 10),
            digit(mo),
            b'-',
            digit(d / 10),
            digit(d),
            b'T',
            digit(h / 10),
            digit(h),
            b':',
            digit(mi / 10),
            digit(mi),
            b':',
            digit(se / 10),
            digit(se),
        ];
        out.push_str(std::str::from_utf8(&b).expect("ASCII digits"));
    } else {
        let _ = write!(out, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{se:02}");
    }
    if frac != 0 {
        // Nine digits, trailing zeros cut.
        let mut f = [0u8; 9];
        let mut v = frac;
        for i in (0..9).rev() {
            f[i] = digit(v);
            v /= 10;
        }
        let len = 9 - f.iter().rev().take_while(|&&c| c == b'0').count();
        out.push('.');
        out.push_str(std::str::from_utf8(&f[..len]).expect("ASCII digits"));
    }
    if offset_s == 0 {
        out.push('Z');
    } else {
        let sign = if offset_s < 0 { '-' } else { '+' };
        let a = offset_s.unsigned_abs();
        let _ = write!(out, "{sign}{:02}:{:02}", a / 3600, (a / 60) % 60);
    }
}

/// The last decimal digit of `v` as ASCII.
fn digit(v: u32) -> u8 {
    b'0' + (v % 10) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        let mut s = String::new();
        rfc3339_nano(0, 0, &mut s);
        assert_eq!(s, "1970-01-01T00:00:00Z");
        s.clear();
        rfc3339_nano(1_672_531_200_500_000_000, 0, &mut s);
        assert_eq!(s, "2023-01-01T00:00:00.5Z");
        s.clear();
        rfc3339_nano(-1, 0, &mut s);
        assert_eq!(s, "1969-12-31T23:59:59.999999999Z");
        s.clear();
        rfc3339_nano(1_577_836_800_000_001_000, 0, &mut s);
        assert_eq!(s, "2020-01-01T00:00:00.000001Z");
        s.clear();
        rfc3339_nano(i64::MIN + 2, 0, &mut s);
        assert_eq!(s, "1677-09-21T00:12:43.145224194Z");
        s.clear();
        rfc3339_nano(1_672_531_200_000_000_000, -5 * 3600, &mut s);
        assert_eq!(s, "2022-12-31T19:00:00-05:00");
        for d in [-800_000, -1, 0, 1, 19_000, 2_000_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
