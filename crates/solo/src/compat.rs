//! tokio's I/O traits for solo's sockets (feature `tokio-io`).
//!
//! Owns: one adapter, [`TokioIo`], that gives anything implementing
//! `futures_io::{AsyncRead, AsyncWrite}` (every solo stream does) the
//! `tokio::io::{AsyncRead, AsyncWrite}` traits, so crates written against
//! tokio's traits (codecs, TLS wrappers, protocol libraries) run on solo.
//! Only the traits are used: no tokio runtime is started or needed.
//!
//! ```
//! use solo::compat::TokioIo;
//! use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
//! solo::run(async {
//!     let (a, b) = solo::net::UnixStream::pair().unwrap();
//!     let mut a = TokioIo::new(a);
//!     let mut b = TokioIo::new(b);
//!     let n = std::future::poll_fn(|cx| std::pin::Pin::new(&mut a).poll_write(cx, b"tokio"))
//!         .await
//!         .unwrap();
//!     assert_eq!(n, 5);
//!     let mut raw = [0u8; 5];
//!     let mut buf = ReadBuf::new(&mut raw);
//!     std::future::poll_fn(|cx| std::pin::Pin::new(&mut b).poll_read(cx, &mut buf))
//!         .await
//!         .unwrap();
//!     assert_eq!(buf.filled(), b"tokio");
//! });
//! ```

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wraps a futures-io stream so it implements tokio's I/O traits.
///
/// ```
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// solo::run(async move {
///     let s = solo::net::UnixStream::from_std(a).unwrap();
///     let io = solo::compat::TokioIo::new(s);
///     let _s: solo::net::UnixStream = io.into_inner();
/// });
/// ```
#[derive(Debug)]
pub struct TokioIo<T> {
    inner: T,
}

impl<T> TokioIo<T> {
    /// Wraps `inner`.
    ///
    /// ```
    /// let io = solo::compat::TokioIo::new(());
    /// let () = io.into_inner();
    /// ```
    pub fn new(inner: T) -> TokioIo<T> {
        TokioIo { inner }
    }

    /// The wrapped value.
    ///
    /// ```
    /// let io = solo::compat::TokioIo::new(7);
    /// assert_eq!(*io.get_ref(), 7);
    /// ```
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped value, mutably.
    ///
    /// ```
    /// let mut io = solo::compat::TokioIo::new(7);
    /// *io.get_mut() += 1;
    /// assert_eq!(io.into_inner(), 8);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps.
    ///
    /// ```
    /// assert_eq!(solo::compat::TokioIo::new("x").into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: futures_io::AsyncRead + Unpin> tokio::io::AsyncRead for TokioIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let dst = buf.initialize_unfilled();
        match Pin::new(&mut self.inner).poll_read(cx, dst) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: futures_io::AsyncWrite + Unpin> tokio::io::AsyncWrite for TokioIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
