//! Per data-directory checks: the filesystem under it, its mount options, free space.

use crate::finding::Finding;
use std::path::{Path, PathBuf};

/// Free space below which a data dir is flagged: room for a few full compactions of a
/// busy shard, which rewrite their inputs before deleting them.
const MIN_FREE_BYTES: u64 = 10 << 30;

/// The mount a path lives on, from one line of `/proc/self/mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) mount_point: PathBuf,
    pub(crate) fs_type: String,
    pub(crate) source: String,
    /// Per-mount options (field 6), e.g. `rw,noatime`.
    pub(crate) options: String,
}

/// Findings for the `index`th data dir.
pub(crate) fn findings(index: usize, dir: &Path) -> Vec<Finding> {
    let prefix = format!("data-dir[{index}]");
    let canonical = match std::fs::canonicalize(dir) {
        Ok(p) => p,
        Err(e) => {
            return vec![Finding::fail(
                format!("{prefix}.path"),
                format!("{} ({e})", dir.display()),
                "create the directory (owned by the influxdb user) before running the check",
            )]
        }
    };
    let mut out = vec![Finding::ok(
        format!("{prefix}.path"),
        canonical.display().to_string(),
    )];
    match std::fs::read_to_string("/proc/self/mountinfo") {
        Ok(info) => match mount_of(&info, &canonical) {
            Some(m) => {
                out.push(filesystem(&prefix, &m));
                out.push(atime(&prefix, &m));
            }
            None => out.push(Finding::warn(
                format!("{prefix}.filesystem"),
                "unknown",
                "no mount in /proc/self/mountinfo contains this path",
            )),
        },
        Err(e) => out.push(Finding::warn(
            format!("{prefix}.filesystem"),
            format!("unknown ({e})"),
            "cannot read /proc/self/mountinfo",
        )),
    }
    out.push(free_space(&prefix, &canonical));
    out
}

fn filesystem(prefix: &str, m: &Mount) -> Finding {
    let name = format!("{prefix}.filesystem");
    let value = format!(
        "{} on {} ({})",
        m.fs_type,
        m.mount_point.display(),
        m.source
    );
    match m.fs_type.as_str() {
        "xfs" | "ext4" => Finding::ok(name, value),
        "tmpfs" | "ramfs" => Finding::warn(
            name,
            value,
            "memory-backed: O_DIRECT is refused or meaningless and data is lost on reboot; \
             use a dir on an xfs or ext4 disk",
        ),
        "overlay" | "aufs" | "fuse" => Finding::warn(
            name,
            value,
            "a container layer: O_DIRECT and io_uring go through the overlay; mount a volume \
             (xfs or ext4) for the data dir",
        ),
        "nfs" | "nfs4" | "cifs" => Finding::warn(
            name,
            value,
            "network filesystem: fdatasync latency and O_DIRECT semantics vary; use local disk",
        ),
        _ => Finding::warn(
            name,
            value,
            "untested filesystem: Tessera is tested on xfs and ext4",
        ),
    }
}

fn atime(prefix: &str, m: &Mount) -> Finding {
    let name = format!("{prefix}.mount-options");
    let opts: Vec<&str> = m.options.split(',').collect();
    if opts.contains(&"noatime") || m.fs_type == "tmpfs" {
        Finding::ok(name, m.options.clone())
    } else {
        Finding::warn(
            name,
            m.options.clone(),
            format!(
                "add noatime to the mount options of {} (fstab) so reads of data files do not \
                 write inode updates",
                m.mount_point.display()
            ),
        )
    }
}

fn free_space(prefix: &str, dir: &Path) -> Finding {
    let name = format!("{prefix}.free-space");
    match statvfs_free(dir) {
        Ok((free, total)) => {
            let value = format!("{} free of {}", human(free), human(total));
            if free >= MIN_FREE_BYTES {
                Finding::ok(name, value)
            } else {
                Finding::warn(
                    name,
                    value,
                    format!(
                        "less than {}: compactions need room to rewrite files",
                        human(MIN_FREE_BYTES)
                    ),
                )
            }
        }
        Err(e) => Finding::warn(name, format!("unknown ({e})"), "statvfs failed"),
    }
}

/// (bytes available to unprivileged users, total bytes).
fn statvfs_free(dir: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs is plain data; the call fills it and reads a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let frsize = st.f_frsize as u64;
    Ok((st.f_bavail as u64 * frsize, st.f_blocks as u64 * frsize))
}

/// Bytes in binary units, one decimal.
pub(crate) fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The mount whose mount point is the longest ancestor of `path` (later lines win ties, as
/// they are mounted on top).
pub(crate) fn mount_of(mountinfo: &str, path: &Path) -> Option<Mount> {
    let mut best: Option<Mount> = None;
    for line in mountinfo.lines() {
        let Some(m) = parse_line(line) else { continue };
        if !path.starts_with(&m.mount_point) {
            continue;
        }
        let longer = match &best {
            None => true,
            Some(b) => m.mount_point.as_os_str().len() >= b.mount_point.as_os_str().len(),
        };
        if longer {
            best = Some(m);
        }
    }
    best
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let left: Vec<&str> = left.split(' ').collect();
    let mut right = right.split(' ');
    Some(Mount {
        mount_point: PathBuf::from(unescape(left.get(4)?)),
        options: (*left.get(5)?).to_string(),
        fs_type: right.next()?.to_string(),
        source: unescape(right.next()?),
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let digits = &b[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = digits
                    .iter()
                    .fold(0u32, |acc, d| acc * 8 + u32::from(d - b'0'));
                if let Ok(v) = u8::try_from(v) {
                    out.push(v);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw
23 22 0:21 / /proc rw,nosuid - proc proc rw
40 22 259:2 / /var/lib/influxdb rw,noatime shared:5 - xfs /dev/nvme1n1 rw,attr2
41 22 0:30 / /mnt/my\\040disk rw - tmpfs tmpfs rw
";

    #[test]
    fn longest_mount_point_wins() {
        let m = mount_of(INFO, Path::new("/var/lib/influxdb/data")).expect("mount");
        assert_eq!(m.fs_type, "xfs");
        assert_eq!(m.options, "rw,noatime");
        let root = mount_of(INFO, Path::new("/var/lib/influxdbx")).expect("mount");
        assert_eq!(root.mount_point, Path::new("/"));
    }

    #[test]
    fn escaped_mount_points_match() {
        let m = mount_of(INFO, Path::new("/mnt/my disk/x")).expect("mount");
        assert_eq!(m.fs_type, "tmpfs");
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(10 << 30), "10.0 GiB");
    }
}
