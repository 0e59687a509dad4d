//! The seam between the loop and the OS poller.
//!
//! Owns: blocking the thread until I/O readiness, a cross-thread wake, or a
//! timeout. The loop only ever calls [`Driver::park`]; the backend behind it
//! is `mio` (epoll on Linux, kqueue on macOS). Must not: run user code.

use std::io;
use std::time::Duration;

/// Token of the cross-thread waker.
pub(crate) const WAKE_TOKEN: mio::Token = mio::Token(usize::MAX);

pub(crate) struct Driver {
    poll: mio::Poll,
    events: mio::Events,
}

impl Driver {
    pub(crate) fn new() -> io::Result<(Driver, mio::Waker)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        Ok((
            Driver {
                poll,
                events: mio::Events::with_capacity(1024),
            },
            waker,
        ))
    }

    /// Whether a zero-timeout poll could find anything besides a wake.
    pub(crate) fn has_io(&self) -> bool {
        false
    }

    /// Blocks until an event, a wake, or `timeout` (None: no limit).
    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::error!(target: "solo", "poller failed: {e}");
                // Do not spin: sleep out the timeout as a plain sleep would.
                std::thread::sleep(timeout.unwrap_or(Duration::from_millis(1)));
            }
        }
        for _event in self.events.iter() {
            // Only the wake token exists so far; the remote queue is
            // checked by the loop after every park.
        }
    }
}
