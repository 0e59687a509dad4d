//! UDP: `UdpSocket`.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::task::{Context, Poll};

use super::addr::{each_addr, no_addresses, resolve, ToSocketAddrs};
use crate::reactor::{Direction, IoSource};

/// A UDP socket (asyncio's `create_datagram_endpoint`, without the
/// protocol class: you `send_to` and `recv_from` directly).
///
/// All methods take `&self`: share one socket between a sending and a
/// receiving task through `Rc`.
///
/// ```
/// use solo::net::UdpSocket;
/// solo::run(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     a.send_to(b"ping", b.local_addr().unwrap()).await.unwrap();
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await.unwrap();
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
/// });
/// ```
pub struct UdpSocket {
    io: IoSource<std::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds to `addr` (the first resolved address that works).
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::net::UdpSocket::bind(("127.0.0.1", 0)).await.unwrap();
    ///     assert!(s.local_addr().unwrap().port() > 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let s = each_addr(resolve(addr).await?, std::net::UdpSocket::bind)?;
        UdpSocket::from_std(s)
    }

    /// Sets the default peer: `send` goes there and `recv` only takes its
    /// datagrams.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(b.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"hi").await.unwrap();
    ///     let mut buf = [0; 2];
    ///     assert_eq!(b.recv(&mut buf).await.unwrap(), 2);
    /// });
    /// ```
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        each_addr(resolve(addr).await?, |a| self.io.get_ref().connect(a))
    }

    /// Sends one datagram to `target` (resolved first); returns the bytes
    /// sent.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let port = a.local_addr().unwrap().port();
    ///     assert_eq!(a.send_to(b"me", ("localhost", port)).await.unwrap(), 2);
    /// });
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let addrs = resolve(target).await?;
        let to = *addrs.first().ok_or_else(no_addresses)?;
        self.io.io(Direction::Write, |s| s.send_to(buf, to)).await
    }

    /// Receives one datagram; returns its length and sender. A datagram
    /// longer than `buf` is truncated (the rest is lost, as in the OS).
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"self", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0; 8];
    ///     let (n, from) = a.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!((n, from), (4, a.local_addr().unwrap()));
    /// });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// `recv_from` for hand-written futures.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"x", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0; 1];
    ///     let (n, _) = std::future::poll_fn(|cx| a.poll_recv_from(cx, &mut buf)).await.unwrap();
    ///     assert_eq!(n, 1);
    /// });
    /// ```
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io
            .poll_io(Direction::Read, cx, None, |s| s.recv_from(buf))
    }

    /// Like `recv_from`, but leaves the datagram queued.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.send_to(b"x", a.local_addr().unwrap()).await.unwrap();
    ///     let mut buf = [0; 1];
    ///     a.peek_from(&mut buf).await.unwrap();
    ///     assert_eq!(a.recv_from(&mut buf).await.unwrap().0, 1);
    /// });
    /// ```
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.peek_from(buf)).await
    }

    /// Sends to the connected peer.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     // Not connected: the OS refuses.
    ///     assert!(a.send(b"x").await.is_err());
    /// });
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives from the connected peer.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"loop").await.unwrap();
    ///     let mut buf = [0; 4];
    ///     assert_eq!(a.recv(&mut buf).await.unwrap(), 4);
    /// });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// The bound address.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(a.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (`NotConnected` before `connect`).
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(a.peer_addr().is_err());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Allows sending to broadcast addresses.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    ///     a.set_broadcast(true).unwrap();
    ///     assert!(a.broadcast().unwrap());
    /// });
    /// ```
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether broadcast is allowed.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    ///     assert!(!a.broadcast().unwrap());
    /// });
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live of outgoing datagrams.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.set_ttl(5).unwrap();
    ///     assert_eq!(a.ttl().unwrap(), 5);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live of outgoing datagrams.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(a.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Joins an IPv4 multicast group on `interface`.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("0.0.0.0:5353").await.unwrap();
    ///     a.join_multicast_v4(Ipv4Addr::new(224, 0, 0, 251), Ipv4Addr::UNSPECIFIED).unwrap();
    /// });
    /// ```
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves an IPv4 multicast group.
    ///
    /// ```no_run
    /// use std::net::Ipv4Addr;
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("0.0.0.0:5353").await.unwrap();
    ///     let g = Ipv4Addr::new(224, 0, 0, 251);
    ///     a.join_multicast_v4(g, Ipv4Addr::UNSPECIFIED).unwrap();
    ///     a.leave_multicast_v4(g, Ipv4Addr::UNSPECIFIED).unwrap();
    /// });
    /// ```
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins an IPv6 multicast group on interface index `interface`.
    ///
    /// ```no_run
    /// use std::net::Ipv6Addr;
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("[::]:0").await.unwrap();
    ///     a.join_multicast_v6(&"ff02::fb".parse().unwrap(), 0).unwrap();
    /// });
    /// ```
    pub fn join_multicast_v6(&self, group: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(group, interface)
    }

    /// Whether multicast datagrams sent here loop back to this host.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    ///     a.set_multicast_loop_v4(false).unwrap();
    ///     assert!(!a.multicast_loop_v4().unwrap());
    /// });
    /// ```
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// See [`set_multicast_loop_v4`](Self::set_multicast_loop_v4).
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("0.0.0.0:0").await.unwrap();
    ///     assert!(a.multicast_loop_v4().unwrap());
    /// });
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Takes the pending socket error (`SO_ERROR`), e.g. a refused port
    /// reported by ICMP.
    ///
    /// ```
    /// solo::run(async {
    ///     let a = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(a.take_error().unwrap().is_none());
    /// });
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Wraps a bound std socket (made non-blocking here).
    ///
    /// ```
    /// solo::run(async {
    ///     let std_s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let s = solo::net::UdpSocket::from_std(std_s).unwrap();
    ///     assert!(s.into_std().is_ok());
    /// });
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            io: IoSource::new(socket)?,
        })
    }

    /// Deregisters and returns the std socket (still non-blocking).
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let std_s: std::net::UdpSocket = s.into_std().unwrap();
    ///     assert!(std_s.local_addr().is_ok());
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        Ok(self.io.into_inner())
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}
