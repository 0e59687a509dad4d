//! Unix signals as async streams, for graceful shutdown.
//!
//! Owns: turning signal deliveries into task wakeups. Each [`Signal`] has
//! its own socket pair: the signal handler (installed through
//! `signal-hook`, which keeps it async-signal-safe) writes one byte to the
//! write end, and the read end is an ordinary socket on the loop's reactor,
//! so waiting for a signal costs nothing while no signal comes. Deliveries
//! that arrive while nobody waits are coalesced into one, as the OS does.
//! Must not: run user code inside the signal handler.
//!
//! While no [`Signal`] listens for a signal that once had one, its
//! default action is back (asyncio's `remove_signal_handler` restores
//! `SIG_DFL`): Ctrl-C or `SIGTERM` after the last listener is dropped ends
//! the process as if none had ever listened. signal-hook keeps its handler
//! installed, so the default is emulated from it
//! (`signal_hook::flag::register_conditional_default`); tokio instead
//! swallows such signals for good.
//!
//! ```
//! use solo::signal::{unix, SignalKind};
//! solo::run(async {
//!     let mut usr1 = unix(SignalKind::user_defined1()).unwrap();
//!     signal_hook::low_level::raise(libc::SIGUSR1).unwrap();
//!     usr1.recv().await;
//!     println!("got SIGUSR1");
//! });
//! ```

use std::io::{self, Read};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use signal_hook::SigId;

use crate::reactor::{Direction, IoSource};

/// Which signal to listen for.
///
/// ```
/// use solo::signal::SignalKind;
/// assert_eq!(SignalKind::interrupt().as_raw(), libc::SIGINT);
/// assert_eq!(SignalKind::from_raw(libc::SIGTERM), SignalKind::terminate());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignalKind(i32);

impl SignalKind {
    /// Any signal by number.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::from_raw(1).as_raw(), 1);
    /// ```
    pub const fn from_raw(signum: i32) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::hangup().as_raw(), libc::SIGHUP);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// `SIGINT` (Ctrl-C).
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::interrupt().as_raw(), libc::SIGINT);
    /// ```
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM` (polite termination request).
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::terminate().as_raw(), libc::SIGTERM);
    /// ```
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::hangup().as_raw(), libc::SIGHUP);
    /// ```
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::quit().as_raw(), libc::SIGQUIT);
    /// ```
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::user_defined1().as_raw(), libc::SIGUSR1);
    /// ```
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::user_defined2().as_raw(), libc::SIGUSR2);
    /// ```
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::child().as_raw(), libc::SIGCHLD);
    /// ```
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGPIPE`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::pipe().as_raw(), libc::SIGPIPE);
    /// ```
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGALRM`.
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::alarm().as_raw(), libc::SIGALRM);
    /// ```
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGWINCH` (terminal resized).
    ///
    /// ```
    /// assert_eq!(solo::signal::SignalKind::window_change().as_raw(), libc::SIGWINCH);
    /// ```
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }
}

/// A stream of deliveries of one signal; see [`unix`].
///
/// ```
/// use solo::signal::{unix, SignalKind};
/// solo::run(async {
///     let mut s = unix(SignalKind::user_defined2()).unwrap();
///     signal_hook::low_level::raise(libc::SIGUSR2).unwrap();
///     assert_eq!(s.recv().await, Some(()));
/// });
/// ```
pub struct Signal {
    kind: SignalKind,
    id: SigId,
    io: IoSource<StdUnixStream>,
}

/// Whether `kind` is ignored (`SIG_IGN`) in this process now: as `nohup`
/// starts a program with `SIGHUP`, which a program should then leave
/// ignored rather than listen to. A signal this process ever listened to
/// (with [`unix`]) is not ignored any more.
///
/// Read from the kernel's account of the process (`SigIgn` in
/// `/proc/self/status`), so no `unsafe` leaves the task core; where there
/// is no `/proc` (the BSDs, macOS) it says `false`.
///
/// ```
/// use solo::signal::{is_ignored, SignalKind};
/// assert!(!is_ignored(SignalKind::user_defined2()));
/// ```
pub fn is_ignored(kind: SignalKind) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    ignored_in(&status, kind.0)
}

/// Whether signal `signo` is in the `SigIgn` mask of a `/proc/PID/status`
/// text (hexadecimal, bit `signo - 1`).
fn ignored_in(status: &str, signo: i32) -> bool {
    let Some(mask) = status.lines().find_map(|l| l.strip_prefix("SigIgn:")) else {
        return false;
    };
    let Ok(mask) = u64::from_str_radix(mask.trim(), 16) else {
        return false;
    };
    (1..=64).contains(&signo) && mask & (1 << (signo - 1)) != 0
}

/// Starts listening for `kind`. Fails for signals that cannot be caught
/// (`SIGKILL`, `SIGSTOP`) or must not be (`SIGSEGV`, `SIGILL`, `SIGFPE`).
///
/// ```
/// use solo::signal::{unix, SignalKind};
/// solo::run(async {
///     assert!(unix(SignalKind::from_raw(libc::SIGKILL)).is_err());
///     assert!(unix(SignalKind::hangup()).is_ok());
/// });
/// ```
pub fn unix(kind: SignalKind) -> io::Result<Signal> {
    if signal_hook::consts::FORBIDDEN.contains(&kind.0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("signal {} cannot be handled", kind.0),
        ));
    }
    let (read, write) = StdUnixStream::pair()?;
    read.set_nonblocking(true)?;
    write.set_nonblocking(true)?;
    let io = IoSource::new(read)?;
    let id = signal_hook::low_level::pipe::register(kind.0, write)?;
    listening(kind.0, true);
    Ok(Signal { kind, id, io })
}

/// A signal that ever had a listener: its number, how many listen now,
/// and the flag that lets its default action run while none does.
type Listened = (i32, usize, Option<Arc<AtomicBool>>);

static LISTENERS: Mutex<Vec<Listened>> = Mutex::new(Vec::new());

/// One more (`more`) or one fewer listener of `signum`.
fn listening(signum: i32, more: bool) {
    let mut all = LISTENERS.lock().unwrap_or_else(|e| e.into_inner());
    let i = match all.iter().position(|(s, ..)| *s == signum) {
        Some(i) => i,
        None => {
            let flag = Arc::new(AtomicBool::new(false));
            // An unknown signal (one with no default to emulate) keeps
            // signal-hook's handler alone, as before.
            let ok = signal_hook::flag::register_conditional_default(signum, flag.clone()).is_ok();
            all.push((signum, 0, ok.then_some(flag)));
            all.len() - 1
        }
    };
    let (_, count, flag) = &mut all[i];
    *count = match more {
        true => *count + 1,
        false => count.saturating_sub(1),
    };
    if let Some(flag) = flag {
        flag.store(*count == 0, Ordering::SeqCst);
    }
}

impl Signal {
    /// Waits for the next delivery. Several deliveries since the last
    /// `recv` count as one. Returns `Some(())` (an `Option` so the stream
    /// shape matches channels; it never ends on its own).
    ///
    /// A `Signal` is not tied to the loop it was made in: received in
    /// another loop (made during setup on one `EventLoop`, used in
    /// `solo::run`), it moves its registration to the loop that receives,
    /// and deliveries since the last `recv` are kept.
    ///
    /// # Panics
    ///
    /// If it cannot be registered with the receiving loop (the process is
    /// out of file descriptors).
    ///
    /// ```
    /// use solo::signal::{unix, SignalKind};
    /// solo::run(async {
    ///     let mut s = unix(SignalKind::window_change()).unwrap();
    ///     signal_hook::low_level::raise(libc::SIGWINCH).unwrap();
    ///     signal_hook::low_level::raise(libc::SIGWINCH).unwrap();
    ///     s.recv().await; // both, coalesced
    /// });
    /// ```
    pub async fn recv(&mut self) -> Option<()> {
        let mut buf = [0u8; 64];
        let got = loop {
            if !self.io.on_running_loop() {
                self.move_to_running_loop();
            }
            let got = self.io.io(Direction::Read, |mut s| s.read(&mut buf)).await;
            // A `recv` future itself moved to another loop while waiting.
            if got.is_err() && !self.io.on_running_loop() {
                continue;
            }
            break got;
        };
        // Coalesce the rest of what is queued without waiting.
        while let Ok(64) = self.io.get_ref().read(&mut buf) {}
        match got {
            Ok(n) if n > 0 => Some(()),
            // The write end lives in the handler registry: EOF or an
            // error here means the registration is gone.
            _ => None,
        }
    }

    /// Registers the read end with the running loop instead of the one it
    /// was made in (whose poller does not run now): a duplicate of the
    /// descriptor joins this loop, the old one leaves the other.
    fn move_to_running_loop(&mut self) {
        let moved = self.io.get_ref().try_clone().and_then(IoSource::new);
        match moved {
            Ok(io) => self.io = io,
            Err(e) => panic!(
                "solo::signal: cannot move the {:?} listener to this event loop ({e}); \
                 make the Signal in the loop that receives it",
                self.kind
            ),
        }
    }

    /// The signal this stream listens for.
    ///
    /// ```
    /// use solo::signal::{unix, SignalKind};
    /// solo::run(async {
    ///     let s = unix(SignalKind::hangup()).unwrap();
    ///     assert_eq!(s.kind(), SignalKind::hangup());
    /// });
    /// ```
    pub fn kind(&self) -> SignalKind {
        self.kind
    }
}

impl std::fmt::Debug for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        signal_hook::low_level::unregister(self.id);
        listening(self.kind.0, false);
    }
}

/// Waits for Ctrl-C (`SIGINT`), asyncio's `loop.add_signal_handler(SIGINT,
/// ..)` for the common case of a graceful shutdown.
///
/// ```no_run
/// solo::run(async {
///     let server = solo::spawn(async { /* serve */ });
///     solo::signal::ctrl_c().await.unwrap();
///     server.cancel();
///     println!("shutting down");
/// });
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let mut s = unix(SignalKind::interrupt())?;
    s.recv().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sigign_mask_is_read_bit_by_signal_number() {
        let status = "Name:\tx\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\n";
        // Bits 0 and 12: SIGHUP (1) and SIGPIPE (13).
        assert!(super::ignored_in(status, 1) && super::ignored_in(status, 13));
        assert!(!super::ignored_in(status, 2) && !super::ignored_in(status, 15));
        assert!(!super::ignored_in("Name:\tx\n", 1));
        assert!(!super::ignored_in(status, 0) && !super::ignored_in(status, 65));
    }
}
