//! `host:port` addresses as `influxd-ctl` accepts them, and the local host name.

/// Why an address was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddrError {
    #[error("invalid address {0:?}: missing port (expected host:port)")]
    MissingPort(String),
    #[error("invalid address {0:?}: missing host (expected host:port)")]
    MissingHost(String),
    #[error("invalid address {addr:?}: bad port {port:?} (expected 1-65535)")]
    BadPort { addr: String, port: String },
}

/// Checks that `addr` is `host:port` (`[v6]:port` too) with a port in 1..=65535, so that
/// nothing is sent to a meta node on a typo.
pub fn validate_host_port(addr: &str) -> Result<(), AddrError> {
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err(AddrError::MissingPort(addr.to_string()));
    };
    // A bare IPv6 address ("::1") has colons but no port.
    if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
        return Err(AddrError::MissingPort(addr.to_string()));
    }
    if host.is_empty() || host == "[]" {
        return Err(AddrError::MissingHost(addr.to_string()));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        _ => Err(AddrError::BadPort {
            addr: addr.to_string(),
            port: port.to_string(),
        }),
    }
}

/// clap `value_parser` form of [`validate_host_port`].
pub fn parse_host_port(addr: &str) -> Result<String, AddrError> {
    validate_host_port(addr).map(|()| addr.to_string())
}

/// The host name of this machine (`gethostname(2)`), or `localhost` if it has none.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for writes of its full length; gethostname NUL-terminates
    // within it when the name fits and we cut at the first NUL either way.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_host_port() {
        for ok in ["localhost:8091", "10.0.0.1:8088", "[::1]:8091", "a.b-c:1"] {
            assert_eq!(validate_host_port(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_bad_addresses() {
        assert!(matches!(
            validate_host_port("localhost"),
            Err(AddrError::MissingPort(_))
        ));
        assert!(matches!(
            validate_host_port("::1"),
            Err(AddrError::MissingPort(_))
        ));
        assert!(matches!(
            validate_host_port(":8091"),
            Err(AddrError::MissingHost(_))
        ));
        for bad in ["h:", "h:0", "h:65536", "h:+80", "h:http"] {
            assert!(
                matches!(validate_host_port(bad), Err(AddrError::BadPort { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }
}
