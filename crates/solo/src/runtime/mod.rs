//! The event loop.
//!
//! Owns: the runtime's public surface (re-exports) and the free functions
//! that reach the running loop ([`run`], [`spawn`], [`current_task`],
//! [`all_tasks`]). The parts live in their own files:
//!
//! | file | owns |
//! |---|---|
//! | `scheduler.rs` | `Core`: ready queue, task table, timers, poller, pool; one turn of the loop; shutdown; the `Schedule` seam |
//! | `event_loop.rs` | [`EventLoop`]: `run_until_complete` (polling the root), `close` |
//! | `builder.rs` | [`Builder`] and the default settings |
//! | `callback.rs` | [`call_soon`], [`Handle`], the callback cell |
//! | `context.rs` | the thread-local running-loop pointer |
//! | `remote.rs` | wakes from other threads |
//! | `table.rs` | the table of live tasks |
//!
//! Must not: hold loop state or logic of its own (the files
//! above keep it), or know what a task's future is (that is `task::raw`'s).
//!
//! # One turn of the loop
//!
//! ```text
//!   run the items that were ready when the turn began (tasks, callbacks,
//!   the root future), at most EVENT_INTERVAL, FIFO, in the order they
//!   were spawned, scheduled or woken
//!        |
//!        v
//!   take foreign wakes from the remote queue
//!   nothing ready?  block in the poller until the next timer (paused clock:
//!                   jump the clock instead)
//!   else, I/O registered and EVENT_INTERVAL items run since the poller
//!   was last asked?  poll it without blocking
//!   move expired timers into the ready queue, in deadline order
//! ```
//!
//! Like asyncio, everything that becomes ready goes to the back of one FIFO
//! queue, so the order is deterministic, and due timers are queued at every
//! turn (asyncio's `_run_once`). Unlike asyncio, the poller is not asked on
//! every turn when nothing can come from it, which keeps a system call off
//! the path of pure task switching: it is asked when the loop is idle and
//! at least every EVENT_INTERVAL items otherwise.
//!
//! The root future is one of the items: when its turn comes the loop
//! returns to `run_until_complete` to poll it, and the turn resumes after,
//! so a root that never stops yielding still lets the turn end and timers,
//! I/O and foreign wakes be processed.

mod builder;
mod callback;
mod context;
mod event_loop;
pub(crate) mod remote;
mod scheduler;
mod table;

use std::future::Future;
use std::panic::Location;

pub use builder::Builder;
pub use callback::{call_soon, Handle};
pub(crate) use context::{try_with_core, with_core, with_open_core};
pub use event_loop::EventLoop;
pub(crate) use scheduler::Core;

use crate::task::{Task, TaskInfo};

/// Runs `future` on a new event loop and returns its output; then cancels
/// every task still alive, joins the blocking pool and closes the loop
/// (asyncio's `asyncio.run(main())`).
///
/// Panics if called while a loop is running on this thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let total = solo::run(async {
///     let a = solo::spawn(async { solo::sleep(Duration::from_millis(50)).await; 1 });
///     let b = solo::spawn(async { solo::sleep(Duration::from_millis(50)).await; 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(total, 3);
/// assert!(start.elapsed() < Duration::from_millis(95 * 2)); // concurrent, not 100 ms
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let mut lp = EventLoop::new().expect("solo::run: cannot create the OS poller");
    let out = lp.run_until_complete(future);
    lp.close();
    out
}

/// Schedules `future` to run as a task on the running loop and returns its
/// handle (asyncio's `create_task` / `ensure_future`).
///
/// The task starts at the loop's next turn, after the tasks already ready,
/// and runs whether or not the handle is awaited; dropping the handle
/// detaches it. The future need not be `Send`.
///
/// Panics outside a running loop.
///
/// ```
/// solo::run(async {
///     let shared = std::rc::Rc::new(std::cell::Cell::new(0)); // !Send is fine
///     let s = shared.clone();
///     let task = solo::spawn(async move { s.set(5); "done" });
///     assert_eq!(task.await.unwrap(), "done");
///     assert_eq!(shared.get(), 5);
/// });
/// ```
#[doc(alias = "create_task")]
#[doc(alias = "ensure_future")]
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    let location = Location::caller();
    with_core(|core| core.spawn(|| future, location))
}

/// Spawns the future that `make` builds, as [`spawn`] spawns `make()`,
/// but built right in the task's allocation. rustc moves a future by
/// copying all of its bytes, and a future that awaits deep call chains
/// holds kilobytes of state (a crawler's page task, ~9 KB): [`spawn`]
/// copies it once into the allocation, `spawn_with` not at all. Worth it
/// where such tasks are spawned by the thousand per second; otherwise
/// use [`spawn`].
///
/// Panics outside a running loop.
///
/// ```
/// async fn big(n: u64) -> u64 {
///     let state = [n; 1024]; // 8 KB held across the await
///     solo::sleep(std::time::Duration::ZERO).await;
///     state.iter().sum()
/// }
/// solo::run(async {
///     let task = solo::spawn_with(|| big(2));
///     assert_eq!(task.await.unwrap(), 2048);
/// });
/// ```
#[track_caller]
pub fn spawn_with<F>(make: impl FnOnce() -> F) -> Task<F::Output>
where
    F: Future + 'static,
{
    let location = Location::caller();
    with_core(|core| core.spawn(make, location))
}

/// The task running right now, if called from inside a task (asyncio's
/// `current_task()`).
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(async { solo::current_task().unwrap().name().to_owned() });
///     assert!(t.await.unwrap().starts_with("Task-"));
/// });
/// ```
pub fn current_task() -> Option<TaskInfo> {
    with_core(|core| core.current_task())
}

/// Every task of the running loop that has not finished (asyncio's
/// `all_tasks()`), each with its name, id, state and spawn location.
///
/// ```
/// solo::run(async {
///     let _t = solo::spawn(std::future::pending::<()>());
///     let all = solo::all_tasks();
///     assert_eq!(all.len(), 1);
///     assert!(all[0].location().file().ends_with(".rs"));
/// });
/// ```
pub fn all_tasks() -> Vec<TaskInfo> {
    with_core(|core| core.all_tasks())
}
