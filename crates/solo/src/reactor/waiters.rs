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
//! and the echo path) never allocates; further waiters spill into a boxed
//! `Vec`: a socket's two `Waiters` take 64 bytes of its entry, against 32
//! for two plain `Option<Waker>`s.
//! Must not: know about sockets or readiness bits.

use std::task::Waker;

/// The key of a slot owned by a future.
pub(crate) type SlotKey = u32;

/// What a slot holds.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Kind {
    #[default]
    Free,
    /// Owned by a future until it frees it; its waker is `None` once woken.
    Owned,
    /// A `poll_*` caller's waker, freed when woken.
    Anonymous,
}

/// A spilled slot (the inline one is split into two fields of `Waiters`,
/// which keeps a registered socket's entry small).
#[derive(Default)]
struct Slot {
    kind: Kind,
    waker: Option<Waker>,
}

#[derive(Default)]
pub(crate) struct Waiters {
    /// Slot 0's waker...
    first: Option<Waker>,
    /// ...and what it is.
    first_kind: Kind,
    /// Slots 1.. (key `i + 1` is `more[i]`), allocated when a second task
    /// waits.
    // Boxed on purpose: 8 bytes in every registered socket's entry instead
    // of 24, for a list that almost never exists.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<Slot>>>,
}

impl Waiters {
    fn slot(&mut self, key: SlotKey) -> Option<(&mut Kind, &mut Option<Waker>)> {
        match key {
            0 => Some((&mut self.first_kind, &mut self.first)),
            k => {
                let s = self.more.as_mut()?.get_mut(k as usize - 1)?;
                Some((&mut s.kind, &mut s.waker))
            }
        }
    }

    fn spilled(&self) -> &[Slot] {
        self.more.as_deref().map_or(&[], Vec::as_slice)
    }

    /// A free slot's key, made if need be.
    fn vacant(&mut self) -> SlotKey {
        if self.first_kind == Kind::Free {
            return 0;
        }
        let more = self.more.get_or_insert_with(Box::default);
        let i = match more.iter().position(|s| s.kind == Kind::Free) {
            Some(i) => i,
            None => {
                more.push(Slot::default());
                more.len() - 1
            }
        };
        i as SlotKey + 1
    }

    /// Stores the waker of the future that owns (or will own) `key`.
    #[inline(always)]
    pub(crate) fn wait_owned(&mut self, key: &mut Option<SlotKey>, waker: &Waker) {
        // The common case: the only waiter, in the inline slot.
        if self.first_kind != Kind::Anonymous {
            let inline = match *key {
                None => self.first_kind == Kind::Free,
                Some(k) => k == 0,
            };
            if inline {
                *key = Some(0);
                self.first_kind = Kind::Owned;
                match &self.first {
                    Some(w) if w.will_wake(waker) => {}
                    _ => self.first = Some(waker.clone()),
                }
                return;
            }
        }
        self.wait_owned_slow(key, waker);
    }

    #[inline(never)]
    fn wait_owned_slow(&mut self, key: &mut Option<SlotKey>, waker: &Waker) {
        let owned = |w: &mut Self, k| matches!(w.slot(k), Some((Kind::Owned, _)));
        let k = match *key {
            Some(k) if owned(self, k) => k,
            _ => {
                let k = self.vacant();
                *key = Some(k);
                k
            }
        };
        if let Some((kind, slot)) = self.slot(k) {
            *kind = Kind::Owned;
            match slot {
                Some(w) if w.will_wake(waker) => {}
                s => *s = Some(waker.clone()),
            }
        }
    }

    /// Stores the waker of a `poll_*` caller, once per task.
    pub(crate) fn wait_anonymous(&mut self, waker: &Waker) {
        let known = |kind: Kind, w: &Option<Waker>| {
            kind == Kind::Anonymous && w.as_ref().is_some_and(|w| w.will_wake(waker))
        };
        if known(self.first_kind, &self.first)
            || self.spilled().iter().any(|s| known(s.kind, &s.waker))
        {
            return;
        }
        let k = self.vacant();
        if let Some((kind, slot)) = self.slot(k) {
            *kind = Kind::Anonymous;
            *slot = Some(waker.clone());
        }
    }

    /// Frees a future's slot (it saw readiness, or it was dropped).
    #[inline(always)]
    pub(crate) fn remove(&mut self, key: SlotKey) {
        if key == 0 {
            self.first_kind = Kind::Free;
            self.first = None;
        } else {
            self.remove_spilled(key);
        }
    }

    #[inline(never)]
    fn remove_spilled(&mut self, key: SlotKey) {
        if let Some((kind, slot)) = self.slot(key) {
            *kind = Kind::Free;
            *slot = None;
        }
        if let Some(more) = &mut self.more {
            while more.last().is_some_and(|s| s.kind == Kind::Free) {
                more.pop();
            }
        }
    }

    /// Moves every waiting waker to `out`.
    #[inline(always)]
    pub(crate) fn wake_all(&mut self, out: &mut Vec<Waker>) {
        wake(&mut self.first_kind, &mut self.first, out);
        if self.more.is_some() {
            self.wake_spilled(out);
        }
    }

    #[inline(never)]
    fn wake_spilled(&mut self, out: &mut Vec<Waker>) {
        for s in self.more.iter_mut().flat_map(|m| m.iter_mut()) {
            wake(&mut s.kind, &mut s.waker, out);
        }
    }

    /// Drops every waker (the socket is deregistered).
    pub(crate) fn clear(&mut self) {
        *self = Waiters::default();
    }

    #[cfg(test)]
    fn slots(&self) -> usize {
        1 + self.spilled().len()
    }
}

/// Takes a slot's waker to wake; an anonymous slot is freed by it.
#[inline]
fn wake(kind: &mut Kind, waker: &mut Option<Waker>, out: &mut Vec<Waker>) {
    if let Some(w) = waker.take() {
        out.push(w);
    }
    if *kind == Kind::Anonymous {
        *kind = Kind::Free;
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
    fn stays_small() {
        // Every registered socket has two.
        assert!(std::mem::size_of::<Waiters>() <= 32);
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
        // `will_wake` is best effort: under Miri a clone's vtable address
        // may differ, so the second `a` may take a slot of its own there.
        let kept = if cfg!(miri) { w.slots() } else { 2 };
        assert_eq!(w.slots(), kept);
        assert_eq!(fire(&mut w), kept);
        assert_eq!(fire(&mut w), 0);
        assert_eq!(ca.0.load(Ordering::Relaxed), kept - 1);
        assert_eq!(cb.0.load(Ordering::Relaxed), 1);
        let mut k = None;
        w.wait_owned(&mut k, &a);
        assert_eq!(k, Some(0), "slots freed by the wake are reused");
    }
}
