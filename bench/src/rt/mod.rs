//! The three runtimes behind one small trait, so that every workload is
//! written once and does the same work on each of them.
//!
//! Each adapter only forwards to the runtime's own, idiomatic API for a
//! single-threaded program:
//!
//! | operation | solo | tokio | smol |
//! |---|---|---|---|
//! | run | `solo::run` | current_thread runtime + `LocalSet::block_on` | thread-local `LocalExecutor` + `async_io::block_on(ex.run(..))` |
//! | spawn | `solo::spawn` | `task::spawn_local` | `LocalExecutor::spawn` |
//! | yield | `solo::yield_now` | `task::yield_now` | `futures_lite::future::yield_now` |
//! | sleep | `solo::sleep_until` | `time::sleep_until` | `async_io::Timer::at` |
//! | channel | `solo::sync::mpsc::channel` | `sync::mpsc::channel` | `async_channel::bounded` |
//! | TCP | `solo::net` | `tokio::net` | `async_io::Async<std::net::Tcp*>` |
//!
//! The returned futures are the runtimes' own (no boxing, no extra
//! wrapping), except smol's join handle, whose output is mapped to `Ok`.

mod smol;
mod solo;
mod tokio;

use std::fmt::Display;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

pub use self::smol::Smol;
pub use self::solo::Solo;
pub use self::tokio::Tokio;

/// What a workload needs from a runtime.
pub trait Rt: 'static {
    /// The name used on the command line and in the results.
    const NAME: &'static str;

    /// Why a joined task has no result (it panicked or was cancelled).
    type JoinError: Display;
    /// The handle of a spawned task.
    type Join<T: 'static>: Future<Output = Result<T, Self::JoinError>> + Unpin + 'static;
    /// Sending half of a bounded channel.
    type Tx<T: 'static>: 'static;
    /// Receiving half of a bounded channel.
    type Rx<T: 'static>: 'static;
    /// A listening TCP socket.
    type Listener: 'static;
    /// A connected TCP socket.
    type Stream: 'static;

    /// Runs `f` to completion on a fresh single-threaded runtime.
    fn block_on<F: Future + 'static>(f: F) -> F::Output;

    /// Spawns `f` as a task on the running runtime.
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static;

    /// Lets the other ready tasks run.
    fn yield_now() -> impl Future<Output = ()>;

    /// Sleeps until `deadline`.
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()>;

    /// A channel with room for `capacity` values.
    fn channel<T: 'static>(capacity: usize) -> (Self::Tx<T>, Self::Rx<T>);

    /// Sends `value`, waiting for room; false if the receiver is gone.
    fn send<T: 'static>(tx: &Self::Tx<T>, value: T) -> impl Future<Output = bool> + '_;

    /// The next value; `None` once every sender is gone.
    fn recv<T: 'static>(rx: &mut Self::Rx<T>) -> impl Future<Output = Option<T>> + '_;

    /// Wraps a bound, listening std socket.
    fn listener(l: std::net::TcpListener) -> io::Result<Self::Listener>;

    /// Accepts one connection (with `TCP_NODELAY` set on it).
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + '_;

    /// Connects to `addr` (with `TCP_NODELAY` set).
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>>;

    /// Reads what is there (at least one byte; 0 at end of stream).
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a;

    /// Reads exactly `buf.len()` bytes.
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a;

    /// Writes all of `buf`.
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a;
}

/// The runtimes by name, in the order the benchmark alternates them.
pub const NAMES: [&str; 3] = [Solo::NAME, Tokio::NAME, Smol::NAME];

/// Something generic over the runtime, to be run on one chosen by name.
pub trait OnRuntime {
    /// What running it gives.
    type Output;

    /// Runs it on `R`.
    fn run<R: Rt>(self) -> Self::Output;
}

/// Runs `job` on the runtime called `name`; `None` for an unknown name.
pub fn dispatch<J: OnRuntime>(name: &str, job: J) -> Option<J::Output> {
    match name {
        Solo::NAME => Some(job.run::<Solo>()),
        Tokio::NAME => Some(job.run::<Tokio>()),
        Smol::NAME => Some(job.run::<Smol>()),
        _ => None,
    }
}

/// A listening socket on 127.0.0.1 (any port), made the same way for every
/// runtime: `SO_REUSEADDR` and a backlog of 1024 (solo's and tokio's own
/// `bind` use 1024; std's, which async-io uses, 128 — too few for 1,000
/// clients that connect at once, whose SYNs would then be dropped and
/// retried a second later).
pub fn std_listener() -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
    s.listen(1024)?;
    Ok(s.into())
}
