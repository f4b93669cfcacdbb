//! Listening sockets that every core binds on the same port.
//!
//! glommio's own `TcpListener::bind` sets SO_REUSEPORT but not SO_REUSEADDR (so a restart
//! fails while the previous run's connections sit in TIME_WAIT) and panics on an address
//! that does not resolve. So the sockets are made here and handed to glommio.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use socket2::{Domain, Protocol, Socket, Type};

use crate::address::BindAddress;

/// Pending-connection queue per core (Go's and glommio's value).
const BACKLOG: i32 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot resolve the {what} bind address {addr}: {reason}")]
    Resolve {
        what: &'static str,
        addr: String,
        reason: String,
    },
    #[error("cannot listen for {what} on {addr}: {reason}")]
    Bind {
        what: &'static str,
        addr: String,
        reason: std::io::Error,
    },
}

/// Resolves `addr` and checks that the port is free, before any core binds it.
///
/// The check binds once without SO_REUSEPORT and lets go: that fails when another process
/// (another influxd included, which SO_REUSEPORT would otherwise let share the port) is
/// listening, and it turns port 0 into one concrete free port that every core then binds.
pub fn reserve(addr: &BindAddress, what: &'static str) -> Result<SocketAddr, ListenError> {
    let text = addr.socket_addr_text();
    let resolved = text
        .to_socket_addrs()
        .map_err(|e| e.to_string())
        .and_then(|mut it| it.next().ok_or_else(|| "no address found".to_string()))
        .map_err(|reason| ListenError::Resolve {
            what,
            addr: addr.to_string(),
            reason,
        })?;
    let bind_err = |reason| ListenError::Bind {
        what,
        addr: addr.to_string(),
        reason,
    };
    // std sets SO_REUSEADDR, so TIME_WAIT leftovers do not count as "in use". A previous
    // influxd killed a moment ago can still hold the port, though: the kernel tears down
    // an exited process's io_uring (and the sockets it references) asynchronously. So
    // "in use" is retried for a while before it is an error.
    let started = std::time::Instant::now();
    let deadline = started + PORT_RELEASE_WAIT;
    let mut told = false;
    loop {
        match TcpListener::bind(resolved) {
            Ok(probe) => return probe.local_addr().map_err(bind_err),
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse
                    && std::time::Instant::now() < deadline =>
            {
                if !told && started.elapsed() >= std::time::Duration::from_secs(2) {
                    told = true;
                    tracing::warn!(%addr, what, "port still in use (a previous process may still be exiting); waiting for it");
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(bind_err(e)),
        }
    }
}

/// How long a port held by a just-exited process may take to be released (the kernel
/// tears down a killed process's io_uring, and the sockets it holds, asynchronously).
const PORT_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// A listening socket with SO_REUSEADDR and SO_REUSEPORT, in blocking mode as glommio
/// expects of a socket it adopts.
pub fn bind_shared(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_share_a_port_and_others_are_detected() {
        let any = BindAddress::parse("127.0.0.1:0").unwrap();
        let addr = reserve(&any, "test").unwrap();
        assert_ne!(addr.port(), 0);
        let a = bind_shared(addr).unwrap();
        let b = bind_shared(addr).unwrap();
        assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
        // A port already served is refused before anything starts.
        let taken = BindAddress::parse(&addr.to_string()).unwrap();
        let e = reserve(&taken, "HTTP").unwrap_err().to_string();
        assert!(e.contains("HTTP") && e.contains(&addr.to_string()), "{e}");
    }

    #[test]
    fn unresolvable_hosts_are_errors() {
        let bad = BindAddress::parse("no-such-host.invalid:8086").unwrap();
        assert!(matches!(
            reserve(&bad, "HTTP"),
            Err(ListenError::Resolve { .. })
        ));
    }
}
