//! # solo — asyncio's model, in Rust, on one thread
//!
//! solo is a single-threaded async runtime: one thread, one event loop,
//! many tasks that run concurrently because each one suspends at `.await`
//! while it waits, and the loop switches to the next ready task in the
//! order tasks were spawned or woken. Futures need not be `Send`: use `Rc`
//! and `RefCell` freely.
//!
//! ```
//! use std::time::{Duration, Instant};
//!
//! async fn get_request(url: &'static str) -> &'static str {
//!     println!("requesting {url}");
//!     solo::sleep(Duration::from_millis(100)).await; // suspends; others run
//!     println!("done {url}");
//!     url
//! }
//!
//! let start = Instant::now();
//! let pages = solo::run(async {
//!     solo::gather(["1.com", "2.com", "3.com"].map(get_request)).await
//! });
//! assert_eq!(pages, ["1.com", "2.com", "3.com"]);
//! assert!(start.elapsed() < Duration::from_millis(250)); // ~100 ms, not 300
//! ```
//!
//! | asyncio | solo |
//! |---|---|
//! | `asyncio.run(main())` | [`run`] |
//! | `create_task` / `ensure_future` | [`spawn`] → [`Task`] |
//! | `gather`, `wait`, `as_completed`, `TaskGroup` | [`gather()`], [`gather!`], [`try_gather`], [`wait()`], [`as_completed`], [`TaskGroup`] |
//! | `timeout`, `wait_for`, `shield`, cancelling what a task awaits | [`timeout`], [`wait_for()`], [`shield`], [`Task::cancel_on_drop`] |
//! | `sleep`, `sleep(0)` | [`sleep`], [`yield_now`] |
//! | `call_soon`, `call_later`, `call_at`, `loop.time()` | [`call_soon`], [`call_later`], [`call_at`], [`time::now`] |
//! | `to_thread` | [`to_thread`] |
//! | `Queue`, `Lock`, `Event`, `Condition`, `Semaphore`, `Barrier` | [`sync`] |
//!
//! See `docs/asyncio-to-solo.md` in the repository for the full guide.

#![warn(missing_docs)]
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::missing_safety_doc,
    unsafe_op_in_unsafe_fn
)]

mod blocking;
mod cancel;
mod combine;
#[cfg(feature = "tokio-io")]
pub mod compat;
pub mod coop;
mod debug;
pub mod net;
mod reactor;
mod runtime;
pub mod signal;
pub mod sync;
mod task;
pub mod time;

pub use blocking::{spawn_blocking, to_thread, ToThread};
pub use cancel::{shield, wait_for, CancelOnDrop};
pub use combine::{
    as_completed, gather, try_gather, wait, AsCompleted, ChildError, Gather, ReturnWhen, TaskGroup,
    TaskGroupError, TryGather,
};
pub use coop::yield_now;
pub use runtime::{
    all_tasks, call_soon, current_task, run, spawn, spawn_with, Builder, EventLoop, Handle,
};
pub use solo_macros::{main, test};
pub use task::{Task, TaskError, TaskId, TaskInfo, TaskState};
pub use time::{call_at, call_later, sleep, sleep_until, timeout, Elapsed, TimerHandle};

/// The snippets of `docs/asyncio-to-solo.md`, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/asyncio-to-solo.md")]
mod guide_doctests {}

/// The taste in `README.md`, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme_doctests {}

#[doc(hidden)]
pub mod __private {
    pub use crate::combine::MaybeDone;
}
