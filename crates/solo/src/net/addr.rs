//! Addresses and DNS: what `bind`/`connect` accept, and `lookup_host`.
//!
//! Owns: turning `"host:port"`, `(host, port)` or a `SocketAddr` into
//! socket addresses. Names are resolved with the system resolver
//! (`getaddrinfo`) on the loop's DNS threads (see `dns`), never on the
//! loop thread.

use std::io;
use std::net::{IpAddr, SocketAddr};

/// What the socket types accept as an address: a `SocketAddr`, an
/// `(IpAddr, u16)`, a `(&str, u16)` / `(String, u16)` host and port, or a
/// `"host:port"` string. Host names are resolved off the loop thread.
///
/// ```
/// solo::run(async {
///     let addrs = solo::net::resolve("127.0.0.1:80").await.unwrap();
///     assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
///     let addrs = solo::net::resolve(("localhost", 8080)).await.unwrap();
///     assert!(addrs.iter().all(|a| a.port() == 8080));
/// });
/// ```
pub trait ToSocketAddrs {
    /// Splits the address into one that needs no lookup, or a host name
    /// and port to look up.
    #[doc(hidden)]
    fn to_target(&self) -> io::Result<Target>;
}

#[doc(hidden)]
#[derive(Debug)]
pub enum Target {
    Addrs(Vec<SocketAddr>),
    Lookup(String, u16),
}

impl ToSocketAddrs for SocketAddr {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(vec![*self]))
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(self.to_vec()))
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(vec![SocketAddr::new(self.0, self.1)]))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_target(&self) -> io::Result<Target> {
        Ok(match self.0.parse::<IpAddr>() {
            Ok(ip) => Target::Addrs(vec![SocketAddr::new(ip, self.1)]),
            Err(_) => Target::Lookup(self.0.to_owned(), self.1),
        })
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_target(&self) -> io::Result<Target> {
        (self.0.as_str(), self.1).to_target()
    }
}

impl ToSocketAddrs for str {
    fn to_target(&self) -> io::Result<Target> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Ok(Target::Addrs(vec![a]));
        }
        let (host, port) = self.rsplit_once(':').ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address '{self}': expected host:port"),
            )
        })?;
        let port: u16 = port.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid port in socket address '{self}'"),
            )
        })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (host, port).to_target()
    }
}

impl ToSocketAddrs for String {
    fn to_target(&self) -> io::Result<Target> {
        self.as_str().to_target()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_target(&self) -> io::Result<Target> {
        (**self).to_target()
    }
}

/// Resolves `addr` to socket addresses (see [`ToSocketAddrs`]).
///
/// ```
/// solo::run(async {
///     assert!(solo::net::resolve("no-port-here").await.is_err());
/// });
/// ```
pub async fn resolve(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    match addr.to_target()? {
        Target::Addrs(a) => Ok(a),
        Target::Lookup(host, port) => lookup_host(&host, port).await,
    }
}

/// Looks `host` up with the system resolver on the loop's DNS threads
/// and pairs each address with `port` (asyncio's `loop.getaddrinfo`).
/// Concurrent requests for one name share its lookup, and a failure is
/// remembered for a short while (see [`lookup_with`](crate::net::lookup_with));
/// [`lookup_host_timeout`](crate::net::lookup_host_timeout) bounds the wait.
///
/// An unknown host is an error of kind `NotFound` that names the host.
///
/// ```
/// solo::run(async {
///     let addrs = solo::net::lookup_host("localhost", 80).await.unwrap();
///     assert!(addrs.iter().any(|a| a.ip().is_loopback()));
///     let err = solo::net::lookup_host("no-such-host.invalid", 80).await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
///     assert!(err.to_string().contains("no-such-host.invalid"));
/// });
/// ```
pub async fn lookup_host(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let ips = super::dns::lookup_with(host, super::dns::getaddrinfo, None).await?;
    Ok(ips
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// The error for an address that resolved to no socket address at all.
pub(crate) fn no_addresses() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
}

/// Tries `f` on each address in turn: the first success, else the last
/// error.
pub(crate) fn each_addr<T>(
    addrs: Vec<SocketAddr>,
    mut f: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addrs {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_addresses))
}
