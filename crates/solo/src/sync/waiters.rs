//! The wait list every primitive queues its waiters on.
//!
//! Owns: who is waiting, in arrival order, with each waiter's waker and
//! weight (how many permits it needs; 1 for everything but
//! [`Semaphore::acquire_many`](super::Semaphore::acquire_many)). Must not:
//! know what is being waited for; the primitive decides when to grant.
//!
//! Ids grow, and waiters join at the back, so the list is sorted by id and
//! a waiter finds itself by binary search. A waiter leaves the list only by
//! being granted ([`WaitList::pop_front`]) or by removing itself
//! ([`WaitList::remove`]), so "my id is no longer in the list" means "I was
//! granted": no per-waiter flag is stored. Granting pops the waker and
//! hands it to the caller, who wakes it after releasing its `RefCell`
//! borrow, so a waker that runs code cannot re-enter a borrowed primitive.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::task::Waker;

/// A waiter's ticket in one [`WaitList`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct WaiterId(u64);

#[derive(Debug)]
struct Entry {
    id: u64,
    waker: Waker,
    weight: usize,
}

/// FIFO list of waiters. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    next_id: u64,
    waiting: VecDeque<Entry>,
}

impl WaitList {
    pub(crate) const fn new() -> WaitList {
        WaitList {
            next_id: 0,
            waiting: VecDeque::new(),
        }
    }

    /// Queues a waiter at the back.
    pub(crate) fn push(&mut self, waker: &Waker, weight: usize) -> WaiterId {
        let id = self.next_id;
        self.next_id += 1;
        self.waiting.push_back(Entry {
            id,
            waker: waker.clone(),
            weight,
        });
        WaiterId(id)
    }

    fn find(&self, id: WaiterId) -> Option<usize> {
        self.waiting.binary_search_by_key(&id.0, |e| e.id).ok()
    }

    /// True if `id` has been granted. Otherwise stores `waker` (if it is a
    /// different one) to be woken on grant.
    pub(crate) fn poll(&mut self, id: WaiterId, waker: &Waker) -> bool {
        match self.find(id) {
            Some(i) => {
                let entry = &mut self.waiting[i];
                if !entry.waker.will_wake(waker) {
                    entry.waker = waker.clone();
                }
                false
            }
            None => true,
        }
    }

    /// Takes a waiter out of the list. False if it was no longer there,
    /// that is, it had been granted: the caller must pass the grant on.
    pub(crate) fn remove(&mut self, id: WaiterId) -> bool {
        match self.find(id) {
            Some(i) => {
                self.waiting.remove(i);
                true
            }
            None => false,
        }
    }

    /// The weight of the first waiter.
    pub(crate) fn front_weight(&self) -> Option<usize> {
        self.waiting.front().map(|e| e.weight)
    }

    /// Grants the first waiter: takes it out and returns its waker, to be
    /// woken once the caller's borrow is released.
    pub(crate) fn pop_front(&mut self) -> Option<Waker> {
        self.waiting.pop_front().map(|e| e.waker)
    }

    /// Grants every waiter at once: empties the list and returns each
    /// waiter's id and waker, first come first, for a primitive that tells
    /// each one an outcome of its own ([`Barrier`](super::Barrier)).
    pub(crate) fn pop_all(&mut self) -> Vec<(WaiterId, Waker)> {
        self.waiting
            .drain(..)
            .map(|e| (WaiterId(e.id), e.waker))
            .collect()
    }

    /// The wakers of every waiter, which stay queued (for closing: each
    /// waiter sees the close when it polls and removes itself).
    pub(crate) fn wakers(&self) -> Vec<Waker> {
        self.waiting.iter().map(|e| e.waker.clone()).collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// Grants up to `n` waiters of `list`, first come first, waking each
/// after the borrow is released (for [`Event`](super::Event) and
/// [`Condition`](super::Condition), whose waiters all weigh 1).
pub(crate) fn grant(list: &RefCell<WaitList>, n: usize) {
    for _ in 0..n {
        let waker = list.borrow_mut().pop_front();
        match waker {
            Some(w) => w.wake(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker;

    #[test]
    fn fifo_grant_and_removal() {
        let w = noop_waker();
        let mut list = WaitList::new();
        let a = list.push(&w, 1);
        let b = list.push(&w, 2);
        let c = list.push(&w, 3);
        assert_eq!(list.len(), 3);
        assert!(list.remove(b));
        assert!(!list.remove(b), "second removal finds nothing");
        assert_eq!(list.front_weight(), Some(1));
        assert!(list.pop_front().is_some());
        assert!(list.poll(a, &w), "a was granted");
        assert!(!list.poll(c, &w), "c still waits");
        assert_eq!(list.front_weight(), Some(3));
        assert!(!list.remove(a), "a is granted, not waiting");
        assert_eq!(list.wakers().len(), 1);
        assert!(list.pop_front().is_some());
        assert!(list.is_empty());
        assert!(list.pop_front().is_none());
    }

    #[test]
    fn pop_all_grants_everyone_in_order() {
        let w = noop_waker();
        let mut list = WaitList::new();
        let a = list.push(&w, 1);
        let b = list.push(&w, 1);
        let c = list.push(&w, 1);
        assert!(list.remove(b));
        let ids: Vec<_> = list.pop_all().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [a, c]);
        assert!(list.is_empty());
        assert!(list.poll(a, &w) && list.poll(c, &w), "both granted");
        let d = list.push(&w, 1);
        assert_ne!(d, a, "ids are never reused");
    }
}
