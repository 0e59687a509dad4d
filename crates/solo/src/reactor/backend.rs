//! The OS poller behind a small trait.
//!
//! Owns: talking to epoll/kqueue (through `mio`). The reactor speaks to it
//! only through [`Backend`], in terms of raw file descriptors, tokens and
//! readiness, so another readiness backend can replace it without touching
//! the public API. Must not: know about tasks or wakers.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

use mio::unix::SourceFd;

/// Readiness bits reported for a token.
pub(crate) const READABLE: u8 = 1;
pub(crate) const WRITABLE: u8 = 1 << 1;
pub(crate) const READ_CLOSED: u8 = 1 << 2;
pub(crate) const WRITE_CLOSED: u8 = 1 << 3;
pub(crate) const ERROR: u8 = 1 << 4;

/// A readiness poller: epoll-like, edge-triggered.
pub(crate) trait Backend {
    /// Starts watching `fd` in both directions, reporting it as `token`.
    fn register(&self, fd: RawFd, token: usize) -> io::Result<()>;
    /// Stops watching `fd`.
    fn deregister(&self, fd: RawFd) -> io::Result<()>;
    /// Blocks until readiness, a wake, or `timeout`; appends what happened
    /// as `(token, readiness bits)`. The wake token is not reported.
    fn poll(&mut self, timeout: Option<Duration>, out: &mut Vec<(usize, u8)>) -> io::Result<()>;
}

/// Token of the cross-thread waker.
const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

/// The mio backend: epoll on Linux, kqueue on the BSDs and macOS.
pub(crate) struct MioBackend {
    poll: mio::Poll,
    events: mio::Events,
}

impl MioBackend {
    /// The backend and the waker other threads use to interrupt `poll`.
    pub(crate) fn new() -> io::Result<(MioBackend, mio::Waker)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok((
            MioBackend {
                poll,
                events: mio::Events::with_capacity(1024),
            },
            waker,
        ))
    }
}

impl Backend for MioBackend {
    fn register(&self, fd: RawFd, token: usize) -> io::Result<()> {
        self.poll.registry().register(
            &mut SourceFd(&fd),
            mio::Token(token),
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )
    }

    fn deregister(&self, fd: RawFd) -> io::Result<()> {
        self.poll.registry().deregister(&mut SourceFd(&fd))
    }

    fn poll(&mut self, timeout: Option<Duration>, out: &mut Vec<(usize, u8)>) -> io::Result<()> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        for ev in self.events.iter() {
            if ev.token() == WAKE_TOKEN {
                continue;
            }
            let mut bits = 0;
            if ev.is_readable() {
                bits |= READABLE;
            }
            if ev.is_writable() {
                bits |= WRITABLE;
            }
            if ev.is_read_closed() {
                bits |= READ_CLOSED | READABLE;
            }
            if ev.is_write_closed() {
                bits |= WRITE_CLOSED | WRITABLE;
            }
            if ev.is_error() {
                bits |= ERROR | READABLE | WRITABLE;
            }
            out.push((ev.token().0, bits));
        }
        Ok(())
    }
}
