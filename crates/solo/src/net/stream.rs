//! Byte-stream operations shared by `TcpStream` and `UnixStream`.
//!
//! Owns: read/write on a registered stream socket, including the
//! edge-triggered shortcuts (a short read drained the receive buffer, a
//! short write filled the send buffer: the next call waits for the poller
//! instead of making a syscall that would only say `WouldBlock`). The
//! public types wrap these in documented methods. Must not: know which
//! kind of socket it drives.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};

use crate::reactor::{Direction, IoSource, SlotKey};

impl<S: AsRawFd> IoSource<S>
where
    for<'a> &'a S: Read + Write,
{
    /// `owner`: as for [`IoSource::poll_ready`].
    pub(crate) fn poll_read_bytes(
        &self,
        cx: &mut Context<'_>,
        owner: Option<&mut Option<SlotKey>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let want = buf.len();
        let r = self.poll_io(Direction::Read, cx, owner, |mut s| s.read(buf));
        if let Poll::Ready(Ok(n)) = r {
            if n > 0 && n < want {
                self.clear_ready(Direction::Read);
            }
        }
        r
    }

    pub(crate) fn poll_write_bytes(
        &self,
        cx: &mut Context<'_>,
        owner: Option<&mut Option<SlotKey>>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let want = buf.len();
        let r = self.poll_io(Direction::Write, cx, owner, |mut s| s.write(buf));
        if let Poll::Ready(Ok(n)) = r {
            if n < want {
                self.clear_ready(Direction::Write);
            }
        }
        r
    }

    pub(crate) fn poll_write_vectored_bytes(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_io(Direction::Write, cx, None, |mut s| s.write_vectored(bufs))
    }

    pub(crate) async fn read_bytes(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut w = self.waiter(Direction::Read);
        std::future::poll_fn(|cx| self.poll_read_bytes(cx, w.owner(), buf)).await
    }

    pub(crate) async fn write_bytes(&self, buf: &[u8]) -> io::Result<usize> {
        let mut w = self.waiter(Direction::Write);
        std::future::poll_fn(|cx| self.poll_write_bytes(cx, w.owner(), buf)).await
    }

    pub(crate) async fn read_exact_bytes(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_bytes(buf).await? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed before the buffer was filled",
                    ))
                }
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    pub(crate) async fn read_to_end_bytes(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let start = buf.len();
        loop {
            // Read straight into the vector, growing it geometrically; at
            // most 64 KiB is zeroed per read.
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(8192.max(buf.len() - start));
            }
            let len = buf.len();
            buf.resize((len + (64 << 10)).min(buf.capacity()), 0);
            let r = self.read_bytes(&mut buf[len..]).await;
            let n = *r.as_ref().unwrap_or(&0);
            buf.truncate(len + n);
            match r? {
                0 => return Ok(buf.len() - start),
                _ => continue,
            }
        }
    }

    pub(crate) async fn write_all_bytes(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_bytes(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }
}

/// Implements `futures_io::{AsyncRead, AsyncWrite}` for a type, given how
/// to reach its `IoSource` and how to shut down its write side.
macro_rules! stream_io_traits {
    ($ty:ty, |$s:ident| $io:expr, $shutdown:expr) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                {
                    let $s = &*self;
                    $io.poll_read_bytes(cx, None, buf)
                }
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                {
                    let $s = &*self;
                    $io.poll_write_bytes(cx, None, buf)
                }
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                {
                    let $s = &*self;
                    $io.poll_write_vectored_bytes(cx, bufs)
                }
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let $s = &*self;
                std::task::Poll::Ready($shutdown)
            }
        }
    };
}
pub(crate) use stream_io_traits;
