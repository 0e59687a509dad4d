//! Settings for a new loop.
//!
//! Owns: [`Builder`] and the defaults of a loop's settings (debug mode,
//! slow-callback threshold, paused clock, blocking and DNS pool sizes). Must not:
//! make anything but the [`EventLoop`] it builds (the core reads the
//! settings in `Core::new`).

use std::time::Duration;

use super::scheduler::Core;
use super::EventLoop;

/// Default threshold of the debug mode's slow-callback warning.
const DEFAULT_SLOW: Duration = Duration::from_millis(100);

/// Settings for an [`EventLoop`].
///
/// ```
/// use std::time::Duration;
/// let lp = solo::EventLoop::builder()
///     .debug(true)
///     .slow_callback_duration(Duration::from_millis(50))
///     .paused_clock()
///     .max_blocking_threads(4)
///     .build()
///     .unwrap();
/// drop(lp);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    pub(super) debug: bool,
    pub(super) slow_callback: Duration,
    pub(super) paused: bool,
    pub(super) max_blocking_threads: usize,
    pub(super) max_dns_threads: usize,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: debug mode from `SOLO_DEBUG`, 100 ms threshold, real
    /// clock, up to 64 blocking threads and 256 DNS threads.
    ///
    /// ```
    /// let b = solo::Builder::new();
    /// drop(b.build().unwrap());
    /// ```
    pub fn new() -> Builder {
        let debug = std::env::var("SOLO_DEBUG")
            .map(|v| !v.is_empty() && v != "0")
            .unwrap_or(false);
        Builder {
            debug,
            slow_callback: DEFAULT_SLOW,
            paused: false,
            max_blocking_threads: 64,
            max_dns_threads: 256,
        }
    }

    /// Debug mode: warn (through `tracing`, target `solo::debug`, or on
    /// stderr when no subscriber is installed) when one poll or callback holds
    /// the loop longer than the threshold, naming the task and where it was
    /// spawned; at close, warn about panics nobody retrieved.
    ///
    /// ```
    /// assert!(solo::EventLoop::builder().debug(true).build().unwrap().is_debug());
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = on;
        self
    }

    /// The debug mode's threshold (asyncio's `slow_callback_duration`).
    ///
    /// ```
    /// let b = solo::Builder::new().slow_callback_duration(std::time::Duration::from_millis(10));
    /// drop(b);
    /// ```
    pub fn slow_callback_duration(mut self, d: Duration) -> Builder {
        self.slow_callback = d;
        self
    }

    /// A virtual clock that starts paused: when nothing is ready, no socket
    /// has anything for the loop right now and no blocking work
    /// ([`to_thread`](crate::to_thread)) is pending, time jumps to the next
    /// timer. An hour of timeouts runs in milliseconds, in the order real
    /// time would give. Sockets do not hold the clock (as with tokio's
    /// paused time): a local server in the same loop answers before the
    /// jump, but a peer elsewhere that has not answered yet when the loop
    /// runs out of work is overtaken by the next timer. A deadline more
    /// than about 584 years after the loop was built (`sleep` of 1000
    /// years as "forever") comes due at that point, as the loop's timers
    /// cannot count further: on the paused clock it is reached at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut lp = solo::EventLoop::builder().paused_clock().build().unwrap();
    /// let wall = std::time::Instant::now();
    /// lp.run_until_complete(async { solo::sleep(Duration::from_secs(3600)).await });
    /// assert!(wall.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn paused_clock(mut self) -> Builder {
        self.paused = true;
        self
    }

    /// Upper bound on threads of the blocking pool used by
    /// [`to_thread`](crate::to_thread) (at least 1).
    ///
    /// ```
    /// drop(solo::Builder::new().max_blocking_threads(2).build().unwrap());
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n.max(1);
        self
    }

    /// Upper bound on threads that run name lookups (`getaddrinfo`, for
    /// [`lookup_host`](crate::net::lookup_host) and so every connect by
    /// name), apart from [`to_thread`](crate::to_thread)'s (at least 1).
    /// A lookup whose name servers never answer holds its thread for the
    /// system resolver's whole timeout (glibc: 5 s per try and server),
    /// so a crawl of many dead domains needs many; lookups beyond the
    /// limit wait in turn, and one given up while it waits never runs.
    ///
    /// ```
    /// drop(solo::Builder::new().max_dns_threads(16).build().unwrap());
    /// ```
    pub fn max_dns_threads(mut self, n: usize) -> Builder {
        self.max_dns_threads = n.max(1);
        self
    }

    /// Makes the loop. Fails only if the OS poller cannot be created.
    ///
    /// ```
    /// let lp = solo::Builder::new().build().unwrap();
    /// drop(lp);
    /// ```
    pub fn build(&self) -> std::io::Result<EventLoop> {
        let core = Core::new(self)?;
        super::context::opened(&core);
        Ok(EventLoop {
            core,
            closed: false,
        })
    }
}
