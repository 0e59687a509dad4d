//! The byte stream hyper reads and writes.
//!
//! Owns: [`HyperIo`], hyper's `rt::Read` and `rt::Write` over a
//! connection's futures-io stream (plain or TLS, through its tap). Must
//! not: hold bytes between calls, or change them.
//!
//! Design: hyper hands each read the free space of its read buffer,
//! uninitialized, and safe code may only read into initialized memory.
//! The bridge used before (solo's `TokioIo`, then hyper-util's) made the
//! space a tokio `ReadBuf` and zeroed all of it, 8 KiB or more, on every
//! poll, including the polls that found nothing to read: ~5 % of a
//! crawl's CPU on small pages. Here each read goes into one zeroed
//! scratch buffer per thread, and only the bytes read are copied into
//! hyper's buffer; a poll that finds nothing costs nothing. Writes pass
//! straight through.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// The most one read takes (hyper's buffer grows past 8 KiB for large
/// bodies; 64 KiB is as much as a loopback read brings).
const SCRATCH_BYTES: usize = 64 << 10;

thread_local! {
    /// Zeroed once, on a thread's first read; taken out while a read
    /// uses it.
    static SCRATCH: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A futures-io stream as hyper's I/O.
pub(crate) struct HyperIo<S>(pub(crate) S);

/// Runs `read` with initialized space for at most `want` bytes: the
/// thread's scratch buffer, or a new one where that is in use (a read
/// inside a read) or gone (at thread exit).
fn with_scratch<R>(want: usize, read: impl FnOnce(&mut [u8]) -> R) -> R {
    let mut buf = SCRATCH.try_with(Cell::take).unwrap_or_default();
    if buf.is_empty() {
        buf = vec![0; SCRATCH_BYTES];
    }
    let r = read(&mut buf[..want.min(SCRATCH_BYTES)]);
    let _gone_at_thread_exit = SCRATCH.try_with(|cell| cell.set(buf));
    r
}

impl<S: AsyncRead + Unpin> hyper::rt::Read for HyperIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let stream = &mut self.get_mut().0;
        with_scratch(buf.remaining(), |space| {
            match Pin::new(stream).poll_read(cx, space) {
                Poll::Ready(Ok(n)) => {
                    buf.put_slice(&space[..n.min(space.len())]);
                    Poll::Ready(Ok(()))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    }
}

impl<S: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_gets_at_most_the_room_hyper_gave_and_at_most_the_scratch() {
        assert_eq!(with_scratch(100, |b| b.len()), 100);
        assert_eq!(with_scratch(1 << 20, |b| b.len()), SCRATCH_BYTES);
        assert_eq!(with_scratch(0, |b| b.len()), 0);
    }

    #[test]
    fn a_read_inside_a_read_gets_a_buffer_of_its_own() {
        let (outer, inner) = with_scratch(64, |outer| {
            outer[0] = 7;
            let inner = with_scratch(64, |inner| {
                inner[0] = 9;
                inner.len()
            });
            (outer[0], inner)
        });
        assert_eq!((outer, inner), (7, 64));
    }
}
