//! TCP: `TcpListener`, `TcpStream` and its halves.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::addr::{each_addr, no_addresses, resolve, ToSocketAddrs};
use super::stream::stream_io_traits;
use crate::reactor::{Direction, IoSource};

/// A TCP socket that accepts connections (asyncio's `start_server`).
///
/// ```
/// use solo::net::{TcpListener, TcpStream};
/// solo::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = solo::spawn(async move {
///         let s = TcpStream::connect(addr).await.unwrap();
///         s.write_all(b"ping").await.unwrap();
///     });
///     let (stream, _peer) = listener.accept().await.unwrap();
///     let mut buf = [0; 4];
///     stream.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
///     client.await.unwrap();
/// });
/// ```
pub struct TcpListener {
    io: IoSource<std::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) with
    /// `SO_REUSEADDR` and a backlog of 1024.
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    ///     assert!(l.local_addr().unwrap().port() > 0);
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let l = each_addr(resolve(addr).await?, bind_one)?;
        TcpListener::from_std(l)
    }

    /// Waits for a connection. Errors such as running out of file
    /// descriptors (`EMFILE`) are returned as they are; the listener keeps
    /// working and a later `accept` succeeds once descriptors free up.
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let _c = solo::spawn(solo::net::TcpStream::connect(addr));
    ///     let (_s, peer) = l.accept().await.unwrap();
    ///     assert!(peer.ip().is_loopback());
    /// });
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, addr) = self.io.io(Direction::Read, |l| l.accept()).await?;
        Ok((TcpStream::from_std(s)?, addr))
    }

    /// `accept` for hand-written futures.
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let _c = solo::spawn(solo::net::TcpStream::connect(addr));
    ///     let (_s, _) = std::future::poll_fn(|cx| l.poll_accept(cx)).await.unwrap();
    /// });
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.io.poll_io(Direction::Read, cx, None, |l| l.accept()) {
            Poll::Ready(Ok((s, a))) => Poll::Ready(TcpStream::from_std(s).map(|s| (s, a))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert!(l.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Wraps a bound std listener (made non-blocking here).
    ///
    /// ```
    /// solo::run(async {
    ///     let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let l = solo::net::TcpListener::from_std(std_l).unwrap();
    ///     let back = l.into_std().unwrap();
    ///     assert!(back.local_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        Ok(TcpListener {
            io: IoSource::new(listener)?,
        })
    }

    /// Deregisters and returns the std listener (still non-blocking).
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let std_l: std::net::TcpListener = l.into_std().unwrap();
    ///     drop(std_l);
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner())
    }

    /// Sets the IP time-to-live of accepted sockets.
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     l.set_ttl(64).unwrap();
    ///     assert_eq!(l.ttl().unwrap(), 64);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// ```
    /// solo::run(async { assert!(solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap().ttl().unwrap() > 0) });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    s.listen(1024)?;
    Ok(s.into())
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

/// A TCP connection.
///
/// The I/O methods take `&self`, so a reader task and a writer task can
/// share one stream (see also [`split`](TcpStream::split) and
/// [`into_split`](TcpStream::into_split)). One task at a time per
/// direction: a second reader replaces the first one's wakeup.
/// Implements `futures_io::AsyncRead`/`AsyncWrite`.
///
/// ```
/// use solo::net::{TcpListener, TcpStream};
/// solo::run(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = l.local_addr().unwrap();
///     let server = solo::spawn(async move {
///         let (s, _) = l.accept().await.unwrap();
///         let mut buf = vec![0; 5];
///         s.read_exact(&mut buf).await.unwrap();
///         s.write_all(&buf).await.unwrap(); // echo
///     });
///     let c = TcpStream::connect(addr).await.unwrap();
///     c.write_all(b"hello").await.unwrap();
///     let mut back = [0; 5];
///     c.read_exact(&mut back).await.unwrap();
///     assert_eq!(&back, b"hello");
///     server.await.unwrap();
/// });
/// ```
pub struct TcpStream {
    io: IoSource<std::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in order and
    /// returning the last error if none accepts.
    ///
    /// ```
    /// solo::run(async {
    ///     // Nothing listens on port 1 of localhost: refused.
    ///     let e = solo::net::TcpStream::connect("127.0.0.1:1").await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let mut last = None;
        for a in resolve(addr).await? {
            match TcpStream::connect_one(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(no_addresses))
    }

    async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
        let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        s.set_nonblocking(true)?;
        match s.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let stream = TcpStream {
            io: IoSource::new(std::net::TcpStream::from(s))?,
        };
        // Writable means the handshake finished, one way or the other.
        stream.io.clear_ready(Direction::Write);
        stream.io.ready(Direction::Write).await;
        if let Some(e) = stream.io.get_ref().take_error()? {
            return Err(e);
        }
        stream.io.get_ref().peer_addr()?;
        Ok(stream)
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// ```
    /// solo::run(async {
    ///     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    ///     let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    ///     let s = solo::net::TcpStream::from_std(s).unwrap();
    ///     assert!(s.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            io: IoSource::new(stream)?,
        })
    }

    /// Deregisters and returns the std stream (still non-blocking).
    ///
    /// ```
    /// solo::run(async {
    ///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let s = solo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let std_s: std::net::TcpStream = s.into_std().unwrap();
    ///     assert!(std_s.peer_addr().is_ok());
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner())
    }

    /// Reads into `buf`; `Ok(0)` means the peer closed its side (EOF).
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     drop(c);
    ///     assert_eq!(s.read(&mut [0; 16]).await.unwrap(), 0);
    /// });
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_bytes(buf).await
    }

    /// Reads exactly `buf.len()` bytes; EOF before that is an
    /// `UnexpectedEof` error.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     c.write_all(b"ab").await.unwrap();
    ///     drop(c);
    ///     let e = s.read_exact(&mut [0; 3]).await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    /// });
    /// ```
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact_bytes(buf).await
    }

    /// Reads until EOF, appending to `buf`; returns how many bytes came.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     c.write_all(b"all of it").await.unwrap();
    ///     drop(c);
    ///     let mut v = Vec::new();
    ///     assert_eq!(s.read_to_end(&mut v).await.unwrap(), 9);
    /// });
    /// ```
    pub async fn read_to_end(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.read_to_end_bytes(buf).await
    }

    /// Reads without removing the data from the socket.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     c.write_all(b"x").await.unwrap();
    ///     let mut b = [0; 1];
    ///     assert_eq!(s.peek(&mut b).await.unwrap(), 1);
    ///     assert_eq!(s.read(&mut b).await.unwrap(), 1);
    /// });
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.peek(buf)).await
    }

    /// Writes some of `buf`; returns how much.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert!(c.write(b"hi").await.unwrap() > 0);
    /// });
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_bytes(buf).await
    }

    /// Writes all of `buf`, waiting for the socket as often as needed.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     let big = vec![7u8; 4 << 20];
    ///     let reader = solo::spawn(async move {
    ///         let mut v = Vec::new();
    ///         s.read_to_end(&mut v).await.unwrap();
    ///         v.len()
    ///     });
    ///     c.write_all(&big).await.unwrap();
    ///     drop(c);
    ///     assert_eq!(reader.await.unwrap(), 4 << 20);
    /// });
    /// ```
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.io.write_all_bytes(buf).await
    }

    /// Shuts down reading, writing or both (half-close with `Write`).
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     c.shutdown(std::net::Shutdown::Write).unwrap();
    ///     assert_eq!(s.read(&mut [0; 4]).await.unwrap(), 0); // EOF
    ///     s.write_all(b"still open").await.unwrap();       // other way works
    ///     let mut b = [0; 10];
    ///     c.read_exact(&mut b).await.unwrap();
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Borrowed read and write halves, for a reader and a writer task that
    /// both borrow the stream (e.g. inside `gather!`).
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     c.write_all(b"in!").await.unwrap();
    ///     let (r, w) = s.split();
    ///     let (got, ()) = solo::gather!(
    ///         async { let mut b = [0; 3]; r.read_exact(&mut b).await.unwrap(); b },
    ///         async { w.write_all(b"out").await.unwrap() },
    ///     );
    ///     assert_eq!(&got, b"in!");
    ///     let mut back = [0; 3];
    ///     c.read_exact(&mut back).await.unwrap();
    ///     assert_eq!(&back, b"out");
    /// });
    /// ```
    pub fn split(&self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Owned halves that can move into two spawned tasks. Dropping the
    /// write half shuts down the write side; [`OwnedReadHalf::reunite`]
    /// puts them back together.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     let (r, w) = s.into_split();
    ///     let writer = solo::spawn(async move { w.write_all(b"bye").await.unwrap() });
    ///     writer.await.unwrap(); // w dropped: the peer sees EOF after "bye"
    ///     let mut v = Vec::new();
    ///     c.read_to_end(&mut v).await.unwrap();
    ///     assert_eq!(v, b"bye");
    ///     drop(r);
    /// });
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let s = Rc::new(self);
        (
            OwnedReadHalf(s.clone()),
            OwnedWriteHalf {
                stream: s,
                shutdown_on_drop: true,
            },
        )
    }

    /// The local address.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert!(c.local_addr().unwrap().ip().is_loopback());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let c = TcpStream::connect(addr).await.unwrap();
    ///     assert_eq!(c.peer_addr().unwrap(), addr);
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Disables (true) or enables Nagle's algorithm.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     c.set_nodelay(true).unwrap();
    ///     assert!(c.nodelay().unwrap());
    /// });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    /// Whether Nagle's algorithm is disabled.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert!(!c.nodelay().unwrap());
    /// });
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets the IP time-to-live.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     c.set_ttl(10).unwrap();
    ///     assert_eq!(c.ttl().unwrap(), 10);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert!(c.ttl().unwrap() > 0);
    /// });
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// `SO_LINGER` (through socket2): `Some(0)` makes `drop` reset the
    /// connection instead of closing it gracefully.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     c.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    ///     assert_eq!(c.linger().unwrap(), Some(std::time::Duration::ZERO));
    /// });
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// `SO_LINGER`.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     assert_eq!(c.linger().unwrap(), None);
    /// });
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.io.get_ref()).linger()
    }

    /// `SO_KEEPALIVE` (through socket2).
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     c.set_keepalive(true).unwrap();
    /// });
    /// ```
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_keepalive(on)
    }

    /// Sizes of the kernel's receive and send buffers (`SO_RCVBUF`,
    /// `SO_SNDBUF`), through socket2.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     c.set_buffer_sizes(Some(64 * 1024), Some(64 * 1024)).unwrap();
    /// });
    /// ```
    pub fn set_buffer_sizes(&self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        let s = SockRef::from(self.io.get_ref());
        if let Some(n) = recv {
            s.set_recv_buffer_size(n)?;
        }
        if let Some(n) = send {
            s.set_send_buffer_size(n)?;
        }
        Ok(())
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &self.as_raw_fd())
            .finish()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

/// For socket options this type has no method for (e.g. through
/// `socket2::SockRef`).
///
/// ```
/// use std::os::fd::AsFd;
/// solo::run(async {
///     let l = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = solo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let _fd = c.as_fd();
/// });
/// ```
impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

stream_io_traits!(TcpStream, |s| &s.io, s.shutdown(Shutdown::Write));
stream_io_traits!(&TcpStream, |s| &s.io, s.shutdown(Shutdown::Write));
stream_io_traits!(ReadHalf<'_>, |s| &s.0.io, s.0.shutdown(Shutdown::Write));
stream_io_traits!(WriteHalf<'_>, |s| &s.0.io, s.0.shutdown(Shutdown::Write));
stream_io_traits!(OwnedReadHalf, |s| &s.0.io, s.0.shutdown(Shutdown::Write));
stream_io_traits!(
    OwnedWriteHalf,
    |s| &s.stream.io,
    s.stream.shutdown(Shutdown::Write)
);

/// The read half of [`TcpStream::split`].
///
/// ```
/// # use solo::net::{TcpListener, TcpStream};
/// solo::run(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (r, _w) = c.split();
///     let _: &TcpStream = r.as_ref();
/// });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of [`TcpStream::split`].
///
/// ```
/// # use solo::net::{TcpListener, TcpStream};
/// solo::run(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (_r, w) = c.split();
///     w.write_all(b"x").await.unwrap();
/// });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The owned read half of [`TcpStream::into_split`].
///
/// ```
/// # use solo::net::{TcpListener, TcpStream};
/// solo::run(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (r, w) = c.into_split();
///     let c: TcpStream = r.reunite(w).unwrap();
///     drop(c);
/// });
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf(Rc<TcpStream>);

/// The owned write half of [`TcpStream::into_split`]; dropping it shuts
/// down the write side.
///
/// ```
/// # use solo::net::{TcpListener, TcpStream};
/// solo::run(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (_r, w) = c.into_split();
///     w.write_all(b"x").await.unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Rc<TcpStream>,
    shutdown_on_drop: bool,
}

impl OwnedReadHalf {
    /// Joins the halves back into the stream. Fails (giving them back) if
    /// they come from different streams.
    ///
    /// ```
    /// # use solo::net::{TcpListener, TcpStream};
    /// solo::run(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let b = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (ra, _wa) = a.into_split();
    ///     let (_rb, wb) = b.into_split();
    ///     assert!(ra.reunite(wb).is_err());
    /// });
    /// ```
    pub fn reunite(
        self,
        mut other: OwnedWriteHalf,
    ) -> Result<TcpStream, (OwnedReadHalf, OwnedWriteHalf)> {
        if !Rc::ptr_eq(&self.0, &other.stream) {
            return Err((self, other));
        }
        other.shutdown_on_drop = false;
        let rc = other.stream.clone();
        drop(other);
        drop(self);
        Ok(Rc::try_unwrap(rc).unwrap_or_else(|_| unreachable!("both halves were given back")))
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

macro_rules! half_deref {
    ($ty:ty, $get:expr) => {
        impl std::ops::Deref for $ty {
            type Target = TcpStream;
            fn deref(&self) -> &TcpStream {
                let f: fn(&Self) -> &TcpStream = $get;
                f(self)
            }
        }

        impl AsRef<TcpStream> for $ty {
            fn as_ref(&self) -> &TcpStream {
                self
            }
        }
    };
}

half_deref!(ReadHalf<'_>, |s| s.0);
half_deref!(WriteHalf<'_>, |s| s.0);
half_deref!(OwnedReadHalf, |s| &s.0);
half_deref!(OwnedWriteHalf, |s| &s.stream);
