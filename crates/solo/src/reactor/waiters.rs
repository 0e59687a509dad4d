//! The tasks waiting for one direction (read or write) of one socket.
//!
//! Owns: their wakers, in slots. Every waiter is woken when the direction
//! becomes ready (tokio's `ScheduledIo` does the same): an `accept` loop
//! per task on one shared listener, or two tasks reading one UDP socket,
//! each get their turn, and none takes another's wakeup.
//!
//! Two kinds of waiter:
//! - a future (`accept()`, `read()`, ...) owns its slot from its first
//!   `Pending` until it sees readiness or is dropped, and frees it then, so
//!   a cancelled wait leaves nothing behind;
//! - a `poll_*` caller has no state between calls, so its slot is
//!   anonymous: freed when woken, and one waker is kept once per task
//!   (`will_wake`), so polling again does not add a second slot.
//!
//! The first slot is inline: one waiter per direction (the common case,
//! and the echo path) never allocates; further waiters spill into a `Vec`.
//! Must not: know about sockets or readiness bits.

use std::task::Waker;

/// The key of a slot owned by a future.
pub(crate) type SlotKey = u32;

#[derive(Default)]
enum Slot {
    #[default]
    Free,
    /// Owned by a future until it frees it; `None` once woken.
    Owned(Option<Waker>),
    /// A `poll_*` caller's waker, freed when woken.
    Anonymous(Waker),
}

impl Slot {
    fn wake_into(&mut self, out: &mut Vec<Waker>) {
        match self {
            Slot::Free => {}
            Slot::Owned(w) => out.extend(w.take()),
            Slot::Anonymous(_) => {
                if let Slot::Anonymous(w) = std::mem::take(self) {
                    out.push(w);
                }
            }
        }
    }
}

#[derive(Default)]
pub(crate) struct Waiters {
    /// Slot 0.
    first: Slot,
    /// Slots 1.. (key `i + 1` is `more[i]`).
    more: Vec<Slot>,
}

impl Waiters {
    fn slot(&mut self, key: SlotKey) -> Option<&mut Slot> {
        match key {
            0 => Some(&mut self.first),
            k => self.more.get_mut(k as usize - 1),
        }
    }

    /// A free slot's key, made if need be.
    fn vacant(&mut self) -> SlotKey {
        if matches!(self.first, Slot::Free) {
            return 0;
        }
        if let Some(i) = self.more.iter().position(|s| matches!(s, Slot::Free)) {
            return i as SlotKey + 1;
        }
        self.more.push(Slot::Free);
        self.more.len() as SlotKey
    }

    /// Stores the waker of the future that owns (or will own) `key`.
    pub(crate) fn wait_owned(&mut self, key: &mut Option<SlotKey>, waker: &Waker) {
        let k = match key.filter(|&k| matches!(self.slot(k), Some(Slot::Owned(_)))) {
            Some(k) => k,
            None => {
                let k = self.vacant();
                *key = Some(k);
                k
            }
        };
        if let Some(slot) = self.slot(k) {
            match slot {
                Slot::Owned(Some(w)) if w.will_wake(waker) => {}
                s => *s = Slot::Owned(Some(waker.clone())),
            }
        }
    }

    /// Stores the waker of a `poll_*` caller, once per task.
    pub(crate) fn wait_anonymous(&mut self, waker: &Waker) {
        let known = |s: &Slot| matches!(s, Slot::Anonymous(w) if w.will_wake(waker));
        if known(&self.first) || self.more.iter().any(known) {
            return;
        }
        let k = self.vacant();
        if let Some(s) = self.slot(k) {
            *s = Slot::Anonymous(waker.clone());
        }
    }

    /// Frees a future's slot (it saw readiness, or it was dropped).
    pub(crate) fn remove(&mut self, key: SlotKey) {
        if let Some(s) = self.slot(key) {
            *s = Slot::Free;
        }
        while matches!(self.more.last(), Some(Slot::Free)) {
            self.more.pop();
        }
    }

    /// Moves every waiting waker to `out`.
    pub(crate) fn wake_all(&mut self, out: &mut Vec<Waker>) {
        self.first.wake_into(out);
        for s in &mut self.more {
            s.wake_into(out);
        }
    }

    /// Drops every waker (the socket is deregistered).
    pub(crate) fn clear(&mut self) {
        self.first = Slot::Free;
        self.more = Vec::new();
    }

    #[cfg(test)]
    fn slots(&self) -> usize {
        1 + self.more.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn fire(w: &mut Waiters) -> usize {
        let mut out = Vec::new();
        w.wake_all(&mut out);
        let n = out.len();
        out.into_iter().for_each(Waker::wake);
        n
    }

    #[test]
    fn every_owner_is_woken_and_keeps_its_slot_until_it_frees_it() {
        let mut w = Waiters::default();
        let (ca, a) = counter();
        let (cb, b) = counter();
        let (mut ka, mut kb) = (None, None);
        w.wait_owned(&mut ka, &a);
        w.wait_owned(&mut kb, &b);
        w.wait_owned(&mut ka, &a); // polled again: same slot
        assert_eq!((ka, kb), (Some(0), Some(1)));
        assert_eq!(fire(&mut w), 2);
        assert_eq!(fire(&mut w), 0, "woken once");
        // A woken owner that finds the direction taken waits in its slot.
        w.wait_owned(&mut kb, &b);
        assert_eq!(kb, Some(1));
        w.remove(0);
        let mut kc = None;
        w.wait_owned(&mut kc, &a);
        assert_eq!(kc, Some(0), "a freed slot is reused");
        assert_eq!(fire(&mut w), 2);
        assert_eq!(ca.0.load(Ordering::Relaxed), 2);
        assert_eq!(cb.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_removed_waiter_strands_nobody() {
        let mut w = Waiters::default();
        let (_, a) = counter();
        let (cb, b) = counter();
        let (mut ka, mut kb) = (None, None);
        w.wait_owned(&mut ka, &a);
        w.wait_owned(&mut kb, &b);
        w.remove(ka.unwrap());
        assert_eq!(fire(&mut w), 1);
        assert_eq!(cb.0.load(Ordering::Relaxed), 1);
        w.remove(kb.unwrap());
        assert_eq!(w.slots(), 1, "trailing free slots are given back");
    }

    #[test]
    fn anonymous_waiters_are_kept_once_per_task_and_freed_when_woken() {
        let mut w = Waiters::default();
        let (ca, a) = counter();
        let (cb, b) = counter();
        w.wait_anonymous(&a);
        w.wait_anonymous(&a);
        w.wait_anonymous(&b);
        assert_eq!(w.slots(), 2);
        assert_eq!(fire(&mut w), 2);
        assert_eq!(fire(&mut w), 0);
        assert_eq!(ca.0.load(Ordering::Relaxed), 1);
        assert_eq!(cb.0.load(Ordering::Relaxed), 1);
        let mut k = None;
        w.wait_owned(&mut k, &a);
        assert_eq!(k, Some(0), "slots freed by the wake are reused");
    }
}
