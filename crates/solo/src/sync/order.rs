//! The orders a [`GenericQueue`](super::GenericQueue) can hand items out in.
//!
//! Owns: the sealed [`Order`] trait and its three markers, each naming the
//! container that stores the items: [`Fifo`] (a `VecDeque`), [`Lifo`] (a
//! `Vec`) and [`Priority`] (a min-heap, like asyncio's `heapq`). The
//! waiting, counting and `join` logic is written once, in `queue`, over
//! this trait.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

mod sealed {
    pub trait Sealed {}
}

/// How a [`GenericQueue`](super::GenericQueue) orders its items:
/// [`Fifo`], [`Lifo`] or [`Priority`]. Sealed: these three are all there
/// is.
///
/// ```
/// use solo::sync::{GenericQueue, Lifo};
/// let q: GenericQueue<u8, Lifo> = GenericQueue::new(0);
/// q.put_nowait(1).unwrap();
/// q.put_nowait(2).unwrap();
/// assert_eq!(q.get_nowait().unwrap(), 2);
/// ```
pub trait Order<T>: sealed::Sealed {
    /// The container.
    #[doc(hidden)]
    type Store: Default;
    /// Adds an item.
    #[doc(hidden)]
    fn push(store: &mut Self::Store, item: T);
    /// Takes the next item out.
    #[doc(hidden)]
    fn pop(store: &mut Self::Store) -> Option<T>;
    /// How many items are stored.
    #[doc(hidden)]
    fn len(store: &Self::Store) -> usize;
}

/// First in, first out: [`Queue`](super::Queue)'s default order.
///
/// ```
/// let q: solo::sync::GenericQueue<u8, solo::sync::Fifo> = solo::sync::Queue::new(0);
/// q.put_nowait(1).unwrap();
/// q.put_nowait(2).unwrap();
/// assert_eq!(q.get_nowait().unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Fifo;

/// Last in, first out: [`LifoQueue`](super::LifoQueue).
///
/// ```
/// let q = solo::sync::LifoQueue::new(0);
/// q.put_nowait('a').unwrap();
/// q.put_nowait('b').unwrap();
/// assert_eq!(q.get_nowait().unwrap(), 'b');
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifo;

/// Smallest first: [`PriorityQueue`](super::PriorityQueue). Put
/// `(priority, item)` tuples to rank by priority, as with asyncio.
///
/// ```
/// let q = solo::sync::PriorityQueue::new(0);
/// q.put_nowait((2, "low")).unwrap();
/// q.put_nowait((1, "high")).unwrap();
/// assert_eq!(q.get_nowait().unwrap(), (1, "high"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Priority;

impl sealed::Sealed for Fifo {}
impl sealed::Sealed for Lifo {}
impl sealed::Sealed for Priority {}

impl<T> Order<T> for Fifo {
    type Store = VecDeque<T>;

    fn push(store: &mut VecDeque<T>, item: T) {
        store.push_back(item);
    }

    fn pop(store: &mut VecDeque<T>) -> Option<T> {
        store.pop_front()
    }

    fn len(store: &VecDeque<T>) -> usize {
        store.len()
    }
}

impl<T> Order<T> for Lifo {
    type Store = Vec<T>;

    fn push(store: &mut Vec<T>, item: T) {
        store.push(item);
    }

    fn pop(store: &mut Vec<T>) -> Option<T> {
        store.pop()
    }

    fn len(store: &Vec<T>) -> usize {
        store.len()
    }
}

impl<T: Ord> Order<T> for Priority {
    type Store = BinaryHeap<Reverse<T>>;

    fn push(store: &mut BinaryHeap<Reverse<T>>, item: T) {
        store.push(Reverse(item));
    }

    fn pop(store: &mut BinaryHeap<Reverse<T>>) -> Option<T> {
        store.pop().map(|Reverse(item)| item)
    }

    fn len(store: &BinaryHeap<Reverse<T>>) -> usize {
        store.len()
    }
}
