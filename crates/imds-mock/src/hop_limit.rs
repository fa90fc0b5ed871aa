//! The PUT response hop limit (EC2's `HttpPutResponseHopLimit`): the answer
//! to a token `PUT` leaves with IP TTL / IPv6 hop limit N, every other
//! answer with the system default. With N = 1 the answer dies at the first
//! router on its way (a container's bridge), so a client one hop further
//! away gets no token, while reads without one still reach it.
//!
//! The socket option applies to every packet a connection sends, so it is
//! set on the connection when a token `PUT` arrives and put back when the
//! next request on that connection arrives. HTTP/1 answers one request at
//! a time, so no other answer is in flight meanwhile, and the `PUT`'s
//! retransmissions keep the limit as they would on EC2. What else the
//! connection sends in that window carries N too: the ACK of the next
//! request (sent before the mock reads it) and the FIN when the client
//! closes after the `PUT`. The handshake's SYN-ACK comes from the listener
//! and always has the default.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use socket2::{SockRef, Socket};
use tokio::net::TcpStream;

/// One connection's hop limit switch.
#[derive(Debug)]
pub(crate) struct PutHopLimit {
    /// The connection's socket (a duplicate descriptor: hyper owns the
    /// stream, and options set here are the same socket's).
    socket: Socket,
    family: Family,
    limit: u32,
    /// The value to put back: what the socket had when accepted.
    default: u32,
    applied: AtomicBool,
}

/// Which option holds the limit: IPv4 (and IPv4-mapped IPv6) connections
/// use IP TTL, IPv6 ones the unicast hop limit.
#[derive(Debug, Clone, Copy)]
enum Family {
    V4,
    V6,
}

impl PutHopLimit {
    /// The switch for `stream`, whose token `PUT` answers leave with `limit`.
    pub(crate) fn new(stream: &TcpStream, limit: u8) -> io::Result<Self> {
        let family = match stream.local_addr()? {
            SocketAddr::V4(_) => Family::V4,
            SocketAddr::V6(addr) if addr.ip().to_ipv4_mapped().is_some() => Family::V4,
            SocketAddr::V6(_) => Family::V6,
        };
        let socket = SockRef::from(stream).try_clone()?;
        let default = match family {
            Family::V4 => socket.ttl_v4()?,
            Family::V6 => socket.unicast_hops_v6()?,
        };
        Ok(Self {
            socket,
            family,
            limit: u32::from(limit),
            default,
            applied: AtomicBool::new(false),
        })
    }

    /// Called as each request arrives, before it is answered: sets the
    /// limit for a token `PUT`, puts the default back for anything else.
    pub(crate) fn on_request(&self, token_put: bool) {
        if self.applied.load(Ordering::Relaxed) == token_put {
            return;
        }
        let value = if token_put { self.limit } else { self.default };
        let set = match self.family {
            Family::V4 => self.socket.set_ttl_v4(value),
            Family::V6 => self.socket.set_unicast_hops_v6(value),
        };
        match set {
            Ok(()) => self.applied.store(token_put, Ordering::Relaxed),
            Err(error) => tracing::warn!(%error, value, "cannot set the hop limit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use tokio::net::TcpListener;

    /// The server end of a loopback connection to `ip` through a listener
    /// on `listen`, and the client end.
    async fn connection(listen: &str, ip: &str) -> Option<(TcpStream, TcpStream)> {
        let listener = TcpListener::bind((listen, 0)).await.ok()?;
        let port = listener.local_addr().ok()?.port();
        let client = TcpStream::connect((ip, port)).await.ok()?;
        let (server, _) = listener.accept().await.ok()?;
        Some((server, client))
    }

    fn current(stream: &TcpStream, family: Family) -> u32 {
        let socket = SockRef::from(stream);
        match family {
            Family::V4 => socket.ttl_v4().unwrap(),
            Family::V6 => socket.unicast_hops_v6().unwrap(),
        }
    }

    #[tokio::test]
    async fn a_token_put_sets_the_limit_and_the_next_request_puts_the_default_back() {
        for (listen, ip, family) in [
            ("127.0.0.1", "127.0.0.1", Family::V4),
            ("::1", "::1", Family::V6),
            // IPv4 through a dual-stack IPv6 listener: IPv4-mapped, IP TTL.
            ("::", "127.0.0.1", Family::V4),
        ] {
            let Some((server, _client)) = connection(listen, ip).await else {
                // IPv6 may be missing on a developer's machine, never in CI.
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{ip} through {listen} not available (CI is set: a skip is a failure)"
                );
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped for {ip} through {listen}: not available here"
                );
                continue;
            };
            let default = current(&server, family);
            assert_ne!(default, 3, "{ip}");
            let hop_limit = PutHopLimit::new(&server, 3).unwrap();
            hop_limit.on_request(false);
            assert_eq!(current(&server, family), default, "{ip}: a read");
            hop_limit.on_request(true);
            assert_eq!(current(&server, family), 3, "{ip}: a token PUT");
            hop_limit.on_request(true);
            assert_eq!(current(&server, family), 3, "{ip}: another token PUT");
            hop_limit.on_request(false);
            assert_eq!(current(&server, family), default, "{ip}: a read after it");
        }
    }
}
