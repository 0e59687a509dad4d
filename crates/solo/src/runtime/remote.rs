//! Wakeups from other threads.
//!
//! Owns: the queue through which a waker used off the loop thread hands its
//! task back, and the registry that maps a loop id to that queue. A task's
//! header records only its loop's id, so a foreign thread finds the queue
//! here; once the loop has closed the lookup fails and the wake is dropped.
//! Must not: touch any loop-local state — everything here is `Send + Sync`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::task::Notified;

/// The loop's inbox for foreign wakes.
pub(crate) struct Remote {
    queue: Mutex<Vec<Notified>>,
    /// The root future (the one given to `run_until_complete`) was woken.
    root: AtomicBool,
    /// Something was pushed since the loop last drained; also tells pushers
    /// whether the poller was already nudged.
    notified: AtomicBool,
    waker: mio::Waker,
}

impl Remote {
    pub(crate) fn new(waker: mio::Waker) -> Remote {
        Remote {
            queue: Mutex::new(Vec::new()),
            root: AtomicBool::new(false),
            notified: AtomicBool::new(false),
            waker,
        }
    }

    pub(crate) fn push(&self, task: Notified) {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
        self.notify();
    }

    pub(crate) fn wake_root(&self) {
        self.root.store(true, Ordering::Release);
        self.notify();
    }

    /// Nudges the poller, once per drain.
    pub(crate) fn notify(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            // If the wake fails (it cannot for an eventfd short of resource
            // exhaustion) the loop still sees `notified` at its next turn.
            let _ = self.waker.wake();
        }
    }

    /// True when a drain would find something.
    pub(crate) fn has_pending(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// Takes everything pushed so far. The flag is cleared before the queue
    /// is taken, so a push racing with us either lands in this batch or
    /// sets the flag again.
    pub(crate) fn drain(&self, out: &mut Vec<Notified>) -> bool {
        if !self.notified.swap(false, Ordering::AcqRel) {
            return false;
        }
        out.append(&mut self.queue.lock().unwrap_or_else(|e| e.into_inner()));
        self.root.swap(false, Ordering::AcqRel)
    }
}

type Registry = Mutex<HashMap<u32, Weak<Remote>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Registers the inbox of loop `id` (its `LoopToken`'s id).
pub(crate) fn register(id: u32, remote: &Arc<Remote>) {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, Arc::downgrade(remote));
}

pub(crate) fn unregister(id: u32) {
    registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&id);
}

/// Hands `task` to its loop from any thread; dropped if that loop is gone.
pub(crate) fn send(loop_id: u32, task: Notified) {
    let remote = registry()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&loop_id)
        .and_then(Weak::upgrade);
    match remote {
        Some(r) => r.push(task),
        None => drop(task),
    }
}
