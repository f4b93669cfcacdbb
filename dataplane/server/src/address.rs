//! Bind addresses in influxd's form (`":8086"`, `"127.0.0.1:18088"`, `"[::1]:8086"`) and the
//! addresses a node advertises to the cluster (its hostname with each bind port).

use std::fmt;
use std::net::IpAddr;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("{0:?} is not an address of the form [host]:port")]
    MissingPort(String),
    #[error("{input:?} has an invalid port {port:?}")]
    BadPort { input: String, port: String },
}

/// An address to listen on, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindAddress {
    /// Empty when the config gives only a port (`":8086"`): every interface.
    host: String,
    port: u16,
}

impl BindAddress {
    pub fn parse(input: &str) -> Result<BindAddress, AddressError> {
        let s = input.trim();
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| AddressError::MissingPort(input.to_string()))?;
        let port_num = port.parse::<u16>().map_err(|_| AddressError::BadPort {
            input: input.to_string(),
            port: port.to_string(),
        })?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        Ok(BindAddress {
            host: host.to_string(),
            port: port_num,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The same host with another port (after binding port 0 picked a free one).
    pub fn with_port(&self, port: u16) -> BindAddress {
        BindAddress {
            host: self.host.clone(),
            port,
        }
    }

    /// What to hand to `bind`: an empty host means every IPv4 interface, as Go's `:port`.
    pub fn socket_addr_text(&self) -> String {
        let host = if self.host.is_empty() {
            "0.0.0.0"
        } else {
            &self.host
        };
        join_host_port(host, self.port)
    }

    /// The address other nodes use to reach this one: the configured host when it names one
    /// interface, else `hostname` (`":8088"` with hostname `h` gives `h:8088`).
    pub fn advertised(&self, hostname: &str) -> String {
        let unspecified = self.host.is_empty()
            || self
                .host
                .parse::<IpAddr>()
                .map(|ip| ip.is_unspecified())
                .unwrap_or(false);
        let host = if unspecified { hostname } else { &self.host };
        join_host_port(host, self.port)
    }
}

impl fmt::Display for BindAddress {
    /// The config form: `":8086"` stays `":8086"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.is_empty() {
            write!(f, ":{}", self.port)
        } else {
            f.write_str(&join_host_port(&self.host, self.port))
        }
    }
}

/// `host:port`, bracketing IPv6 literals as Go's `net.JoinHostPort` does.
fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_addresses() {
        let a = BindAddress::parse(":8088").unwrap();
        assert_eq!(a.advertised("h"), "h:8088");
        assert_eq!(a.socket_addr_text(), "0.0.0.0:8088");
        assert_eq!(a.to_string(), ":8088");
        let b = BindAddress::parse("127.0.0.1:18088").unwrap();
        assert_eq!(b.advertised("h"), "127.0.0.1:18088");
        assert_eq!(b.to_string(), "127.0.0.1:18088");
        let c = BindAddress::parse("0.0.0.0:8086").unwrap();
        assert_eq!(c.advertised("node1"), "node1:8086");
        let d = BindAddress::parse("[::1]:8086").unwrap();
        assert_eq!(d.advertised("h"), "[::1]:8086");
        assert_eq!(d.socket_addr_text(), "[::1]:8086");
        assert_eq!(a.with_port(1).advertised("h"), "h:1");
    }

    #[test]
    fn bad_addresses() {
        assert!(matches!(
            BindAddress::parse("8086"),
            Err(AddressError::MissingPort(_))
        ));
        assert!(matches!(
            BindAddress::parse(":http"),
            Err(AddressError::BadPort { .. })
        ));
        assert!(matches!(
            BindAddress::parse(":70000"),
            Err(AddressError::BadPort { .. })
        ));
    }
}
