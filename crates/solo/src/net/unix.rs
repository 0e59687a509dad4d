//! Unix domain sockets: `UnixListener`, `UnixStream`, `UnixDatagram`.

use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{self as unet, SocketAddr};
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::stream::stream_io_traits;
use crate::reactor::{Direction, IoSource};

/// A Unix stream socket that accepts connections.
///
/// ```
/// use solo::net::{UnixListener, UnixStream};
/// let dir = std::env::temp_dir().join(format!("solo-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("listener.sock");
/// # let _ = std::fs::remove_file(&path);
/// solo::run(async {
///     let l = UnixListener::bind(&path).unwrap();
///     let c = UnixStream::connect(&path).await.unwrap();
///     let (s, _) = l.accept().await.unwrap();
///     c.write_all(b"hi").await.unwrap();
///     let mut b = [0; 2];
///     s.read_exact(&mut b).await.unwrap();
///     assert_eq!(&b, b"hi");
/// });
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    io: IoSource<unet::UnixListener>,
}

impl UnixListener {
    /// Binds to the filesystem path `path` (which must not exist yet).
    ///
    /// ```
    /// solo::run(async {
    ///     let e = solo::net::UnixListener::bind("/nonexistent-dir/x.sock").unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::from_std(unet::UnixListener::bind(path)?)
    }

    /// Waits for a connection.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("solo-doc-acc-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// solo::run(async {
    ///     let l = solo::net::UnixListener::bind(&path).unwrap();
    ///     let _c = solo::net::UnixStream::connect(&path).await.unwrap();
    ///     let (_s, _addr) = l.accept().await.unwrap();
    /// });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, a) = self.io.io(Direction::Read, |l| l.accept()).await?;
        Ok((UnixStream::from_std(s)?, a))
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("solo-doc-la-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// solo::run(async {
    ///     let l = solo::net::UnixListener::bind(&path).unwrap();
    ///     assert_eq!(l.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Wraps a bound std listener (made non-blocking here).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("solo-doc-fs-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// solo::run(async {
    ///     let std_l = std::os::unix::net::UnixListener::bind(&path).unwrap();
    ///     let l = solo::net::UnixListener::from_std(std_l).unwrap();
    ///     assert!(l.into_std().is_ok());
    /// });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(listener: unet::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: IoSource::new(listener)?,
        })
    }

    /// Deregisters and returns the std listener (still non-blocking).
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("solo-doc-is-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// solo::run(async {
    ///     let l = solo::net::UnixListener::bind(&path).unwrap();
    ///     let std_l = l.into_std().unwrap();
    ///     assert!(std_l.local_addr().is_ok());
    /// });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<unet::UnixListener> {
        Ok(self.io.into_inner())
    }
}

/// A connected Unix stream socket. Same reading and writing methods as
/// [`TcpStream`](super::TcpStream); all take `&self`, so a reader and a
/// writer task can share one stream (through `Rc`, or a borrow inside
/// `gather!`).
///
/// ```
/// solo::run(async {
///     let (a, b) = solo::net::UnixStream::pair().unwrap();
///     a.write_all(b"ping").await.unwrap();
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await.unwrap();
///     assert_eq!(&buf, b"ping");
/// });
/// ```
pub struct UnixStream {
    io: IoSource<unet::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// ```
    /// solo::run(async {
    ///     let e = solo::net::UnixStream::connect("/nonexistent-dir/x.sock").await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let s = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        s.set_nonblocking(true)?;
        let pending = match s.connect(&SockAddr::unix(path)?) {
            Ok(()) => false,
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => true,
            Err(e) => return Err(e),
        };
        let stream = UnixStream {
            io: IoSource::new(unet::UnixStream::from(std::os::fd::OwnedFd::from(s)))?,
        };
        if pending {
            stream.io.clear_ready(Direction::Write);
            stream.io.ready(Direction::Write).await;
            if let Some(e) = stream.io.get_ref().take_error()? {
                return Err(e);
            }
        }
        Ok(stream)
    }

    /// A connected pair of anonymous sockets (`socketpair`).
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixStream::pair().unwrap();
    ///     drop(a);
    ///     assert_eq!(b.read(&mut [0; 1]).await.unwrap(), 0); // EOF
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = unet::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a connected std stream (made non-blocking here).
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     let a = solo::net::UnixStream::from_std(a).unwrap();
    ///     assert!(a.into_std().is_ok());
    /// });
    /// ```
    pub fn from_std(stream: unet::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            io: IoSource::new(stream)?,
        })
    }

    /// Deregisters and returns the std stream (still non-blocking).
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, _b) = solo::net::UnixStream::pair().unwrap();
    ///     let std_a = a.into_std().unwrap();
    ///     assert!(std_a.local_addr().is_ok());
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<unet::UnixStream> {
        Ok(self.io.into_inner())
    }

    /// Reads into `buf`; `Ok(0)` is EOF.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixStream::pair().unwrap();
    ///     a.write_all(b"x").await.unwrap();
    ///     assert_eq!(b.read(&mut [0; 8]).await.unwrap(), 1);
    /// });
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_bytes(buf).await
    }

    /// Reads exactly `buf.len()` bytes (`UnexpectedEof` if the peer closes
    /// first).
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixStream::pair().unwrap();
    ///     a.write_all(b"a").await.unwrap();
    ///     drop(a);
    ///     let e = b.read_exact(&mut [0; 2]).await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
    /// });
    /// ```
    pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
        self.io.read_exact_bytes(buf).await
    }

    /// Reads until EOF, appending to `buf`.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixStream::pair().unwrap();
    ///     a.write_all(b"abc").await.unwrap();
    ///     drop(a);
    ///     let mut v = Vec::new();
    ///     assert_eq!(b.read_to_end(&mut v).await.unwrap(), 3);
    /// });
    /// ```
    pub async fn read_to_end(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        self.io.read_to_end_bytes(buf).await
    }

    /// Writes some of `buf`; returns how much.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, _b) = solo::net::UnixStream::pair().unwrap();
    ///     assert_eq!(a.write(b"xy").await.unwrap(), 2);
    /// });
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_bytes(buf).await
    }

    /// Writes all of `buf`.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixStream::pair().unwrap();
    ///     let reader = solo::spawn(async move {
    ///         let mut v = Vec::new();
    ///         b.read_to_end(&mut v).await.unwrap();
    ///         v.len()
    ///     });
    ///     a.write_all(&vec![1; 1 << 20]).await.unwrap();
    ///     drop(a);
    ///     assert_eq!(reader.await.unwrap(), 1 << 20);
    /// });
    /// ```
    pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
        self.io.write_all_bytes(buf).await
    }

    /// Shuts down reading, writing or both.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixStream::pair().unwrap();
    ///     a.shutdown(std::net::Shutdown::Write).unwrap();
    ///     assert_eq!(b.read(&mut [0; 1]).await.unwrap(), 0);
    /// });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// This end's address.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, _b) = solo::net::UnixStream::pair().unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, _b) = solo::net::UnixStream::pair().unwrap();
    ///     assert!(a.peer_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}

stream_io_traits!(UnixStream, |s| &s.io, s.shutdown(Shutdown::Write));
stream_io_traits!(&UnixStream, |s| &s.io, s.shutdown(Shutdown::Write));

/// A Unix datagram socket.
///
/// ```
/// solo::run(async {
///     let (a, b) = solo::net::UnixDatagram::pair().unwrap();
///     a.send(b"one").await.unwrap();
///     a.send(b"two").await.unwrap();
///     let mut buf = [0; 8];
///     assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
///     assert_eq!(&buf[..3], b"one"); // message boundaries are kept
/// });
/// ```
pub struct UnixDatagram {
    io: IoSource<unet::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds to the filesystem path `path`.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("solo-doc-dg-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// solo::run(async {
    ///     let a = solo::net::UnixDatagram::bind(dir.join("a")).unwrap();
    ///     let b = solo::net::UnixDatagram::unbound().unwrap();
    ///     b.send_to(b"hello", dir.join("a")).await.unwrap();
    ///     let mut buf = [0; 5];
    ///     let (n, _from) = a.recv_from(&mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hello");
    /// });
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(unet::UnixDatagram::bind(path)?)
    }

    /// A socket bound to no path (it can still send).
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::net::UnixDatagram::unbound().unwrap();
    ///     assert!(s.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_std(unet::UnixDatagram::unbound()?)
    }

    /// A connected pair of anonymous datagram sockets.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixDatagram::pair().unwrap();
    ///     b.send(b"x").await.unwrap();
    ///     assert_eq!(a.recv(&mut [0; 1]).await.unwrap(), 1);
    /// });
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = unet::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    /// Sets the default peer.
    ///
    /// ```
    /// # let path = std::env::temp_dir().join(format!("solo-doc-dgc-{}", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// solo::run(async {
    ///     let a = solo::net::UnixDatagram::bind(&path).unwrap();
    ///     let b = solo::net::UnixDatagram::unbound().unwrap();
    ///     b.connect(&path).unwrap();
    ///     b.send(b"hi").await.unwrap();
    ///     assert_eq!(a.recv(&mut [0; 2]).await.unwrap(), 2);
    /// });
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        self.io.get_ref().connect(path)
    }

    /// Sends one datagram to the connected peer.
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::net::UnixDatagram::unbound().unwrap();
    ///     assert!(s.send(b"x").await.is_err()); // not connected
    /// });
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixDatagram::pair().unwrap();
    ///     a.send(b"abc").await.unwrap();
    ///     let mut buf = [0; 3];
    ///     assert_eq!(b.recv(&mut buf).await.unwrap(), 3);
    /// });
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::net::UnixDatagram::unbound().unwrap();
    ///     let e = s.send_to(b"x", "/nonexistent-dir/sock").await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    /// });
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.io(Direction::Write, |s| s.send_to(buf, path)).await
    }

    /// Receives one datagram and its sender's address.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, b) = solo::net::UnixDatagram::pair().unwrap();
    ///     a.send(b"x").await.unwrap();
    ///     let (n, from) = b.recv_from(&mut [0; 1]).await.unwrap();
    ///     assert_eq!(n, 1);
    ///     assert!(from.is_unnamed());
    /// });
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// This socket's address.
    ///
    /// ```
    /// solo::run(async {
    ///     let (a, _b) = solo::net::UnixDatagram::pair().unwrap();
    ///     assert!(a.local_addr().unwrap().is_unnamed());
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Wraps a std datagram socket (made non-blocking here).
    ///
    /// ```
    /// solo::run(async {
    ///     let std_s = std::os::unix::net::UnixDatagram::unbound().unwrap();
    ///     let s = solo::net::UnixDatagram::from_std(std_s).unwrap();
    ///     assert!(s.into_std().is_ok());
    /// });
    /// ```
    pub fn from_std(socket: unet::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        Ok(UnixDatagram {
            io: IoSource::new(socket)?,
        })
    }

    /// Deregisters and returns the std socket (still non-blocking).
    ///
    /// ```
    /// solo::run(async {
    ///     let s = solo::net::UnixDatagram::unbound().unwrap();
    ///     let std_s = s.into_std().unwrap();
    ///     assert!(std_s.local_addr().is_ok());
    /// });
    /// ```
    pub fn into_std(self) -> io::Result<unet::UnixDatagram> {
        Ok(self.io.into_inner())
    }
}

macro_rules! fd_and_debug {
    ($($ty:ident),*) => {$(
        impl AsRawFd for $ty {
            fn as_raw_fd(&self) -> RawFd {
                self.io.as_raw_fd()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("local", &self.io.get_ref().local_addr().ok())
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    )*};
}

fd_and_debug!(UnixListener, UnixStream, UnixDatagram);
