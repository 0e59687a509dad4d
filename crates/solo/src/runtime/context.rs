//! The thread-local "running loop" pointer, and the loops open on this
//! thread.
//!
//! Owns: which [`Core`] (if any) is running on this thread. Everything that
//! asyncio reaches through `get_running_loop()` goes through [`with_core`].
//! Also which loops are open (made and not closed) on this thread, so that
//! a task's done callbacks reach its own loop while it is not running
//! ([`with_open_core`]). Must not: hold a borrow of the core across user
//! code.

use std::cell::{Cell, RefCell};
use std::ptr;
use std::rc::{Rc, Weak};

use super::Core;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
    static OPEN: RefCell<Vec<(u32, Weak<Core>)>> = const { RefCell::new(Vec::new()) };
}

/// Records `core` as open on this thread until [`closed`].
pub(crate) fn opened(core: &Rc<Core>) {
    OPEN.with(|o| o.borrow_mut().push((core.id, Rc::downgrade(core))));
}

/// Loop `id` is closed: it takes no more callbacks. (`try_with`: a loop
/// kept in a thread-local may close while this thread's are destroyed.)
pub(crate) fn closed(id: u32) {
    let _ = OPEN.try_with(|o| o.borrow_mut().retain(|(open, _)| *open != id));
}

/// Runs `f` with loop `id`, running or not, if it is open on this thread.
pub(crate) fn with_open_core<R>(id: u32, f: impl FnOnce(&Core) -> R) -> Option<R> {
    let core = OPEN
        .try_with(|o| {
            let open = o.borrow();
            open.iter()
                .find(|(i, _)| *i == id)
                .and_then(|(_, c)| c.upgrade())
        })
        .ok()??;
    Some(f(&core))
}

const NO_LOOP: &str = "no running event loop: this must be called from a task or \
callback running inside solo::run(..) or EventLoop::run_until_complete(..)";

/// Runs `f` with the running loop, or panics with asyncio's message.
#[track_caller]
pub(crate) fn with_core<R>(f: impl FnOnce(&Core) -> R) -> R {
    match try_with_core(f) {
        Some(r) => r,
        None => panic!("{NO_LOOP}"),
    }
}

/// Runs `f` with the running loop, if there is one on this thread.
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Core) -> R) -> Option<R> {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        None
    } else {
        // SAFETY: `p` is set only by `Enter`, which borrows the core for as
        // long as the pointer is installed, and is reset when it drops.
        Some(f(unsafe { &*p }))
    }
}

/// Marks `core` as this thread's running loop until dropped.
pub(crate) struct Enter<'a> {
    _core: &'a Core,
    prev: *const Core,
}

impl<'a> Enter<'a> {
    #[track_caller]
    pub(crate) fn new(core: &'a Core) -> Enter<'a> {
        CURRENT.with(|c| {
            if !c.get().is_null() {
                panic!(
                    "cannot start an event loop while another loop is running on this \
                     thread (asyncio: \"Cannot run the event loop while another loop is running\")"
                );
            }
            c.set(core as *const Core);
        });
        Enter {
            _core: core,
            prev: ptr::null(),
        }
    }

    /// Makes `core` current even if another loop is running, restoring
    /// that one when dropped. Only for closing a loop, which runs to the
    /// end synchronously and so cannot interleave with the outer loop.
    pub(crate) fn swap(core: &'a Core) -> Enter<'a> {
        let prev = CURRENT.with(|c| c.replace(core as *const Core));
        Enter { _core: core, prev }
    }
}

impl Drop for Enter<'_> {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}
