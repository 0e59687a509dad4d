//! Networking on the loop's reactor: TCP, UDP, Unix sockets and DNS.
//!
//! Owns: the public socket types. Each wraps a non-blocking std socket in
//! the reactor's `IoSource`, which parks the task until the socket is ready
//! in the direction it needs. Every error reaches the caller as the
//! `std::io::Error` the OS gave, kind intact; a closed peer is a read of 0
//! bytes (EOF). Name lookups run on threads of their own (`dns`: shared
//! per name, failures remembered briefly, an optional deadline). Must not:
//! block the loop thread.
//!
//! ```
//! use solo::net::{TcpListener, TcpStream};
//! solo::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     solo::spawn(async move {
//!         while let Ok((stream, _)) = listener.accept().await {
//!             solo::spawn(async move {
//!                 let mut buf = [0; 1024];
//!                 while let Ok(n @ 1..) = stream.read(&mut buf).await {
//!                     if stream.write_all(&buf[..n]).await.is_err() { break; }
//!                 }
//!             });
//!         }
//!     });
//!     let client = TcpStream::connect(addr).await?;
//!     client.write_all(b"echo").await?;
//!     let mut back = [0; 4];
//!     client.read_exact(&mut back).await?;
//!     assert_eq!(&back, b"echo");
//!     Ok::<_, std::io::Error>(())
//! }).unwrap();
//! ```

mod addr;
pub(crate) mod dns;
mod stream;
mod tcp;
mod udp;
mod unix;

pub use addr::{lookup_host, resolve, ToSocketAddrs};
pub use dns::{getaddrinfo, lookup_host_timeout, lookup_with, BlockingLookup, FAILED_TTL};
pub use tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, TcpListener, TcpStream, WriteHalf};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
