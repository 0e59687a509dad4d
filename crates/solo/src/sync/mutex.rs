//! Mutual exclusion: [`Mutex<T>`] guards a value, [`Lock`] guards nothing
//! (asyncio's `Lock`).
//!
//! Owns: the lock types and their RAII guards. The waiting, the FIFO
//! hand-off and the cancellation rules are those of a one-permit
//! [`Semaphore`]: unlocking while others wait hands the lock straight to
//! the first of them, so a task that unlocks and locks again at once goes
//! to the back of the line. The value sits in a `RefCell` that only the
//! guard holding the permit borrows, so no `unsafe` is needed.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::{Semaphore, SemaphorePermit};

/// An async mutex: a value that one task at a time may use, also across
/// `.await` points.
///
/// [`lock`](Mutex::lock) waits for its turn (first come, first served) and
/// returns a [`MutexGuard`] that derefs to the value and unlocks when
/// dropped. Share it between tasks in an `Rc`.
///
/// ```
/// use std::{rc::Rc, time::Duration};
/// use solo::sync::Mutex;
/// solo::run(async {
///     let balance = Rc::new(Mutex::new(100));
///     let tasks: Vec<_> = (0..3).map(|_| {
///         let balance = balance.clone();
///         solo::spawn(async move {
///             let mut b = balance.lock().await;
///             let read = *b;
///             solo::sleep(Duration::from_millis(1)).await; // others wait
///             *b = read - 10;
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(*balance.lock().await, 70);
/// });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    value: RefCell<T>,
}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`.
    ///
    /// ```
    /// let m = solo::sync::Mutex::new(vec![1]);
    /// assert!(!m.locked());
    /// ```
    pub const fn new(value: T) -> Mutex<T> {
        Mutex {
            sem: Semaphore::new(1),
            value: RefCell::new(value),
        }
    }

    /// The value, taking the mutex apart.
    ///
    /// ```
    /// assert_eq!(solo::sync::Mutex::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits until the mutex is free and locks it. Waiters get the lock in
    /// the order they called `lock`. Dropping the future before it
    /// finishes leaves the line (and passes the lock on if it had just been
    /// handed over).
    ///
    /// ```
    /// solo::run(async {
    ///     let m = solo::sync::Mutex::new(1);
    ///     *m.lock().await += 1;
    ///     assert_eq!(*m.lock().await, 2);
    /// });
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        let permit = self.sem.acquire().await;
        MutexGuard::new(self, permit.expect("a mutex's semaphore is never closed"))
    }

    /// Locks the mutex if it is free and nobody waits for it.
    ///
    /// ```
    /// let m = solo::sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_err());
    /// drop(g);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(permit) => Ok(MutexGuard::new(self, permit)),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// True while some guard holds the lock (or it has been handed to a
    /// waiter that has not run yet).
    ///
    /// ```
    /// let m = solo::sync::Mutex::new(0);
    /// let g = m.try_lock().unwrap();
    /// assert!(m.locked());
    /// drop(g);
    /// assert!(!m.locked());
    /// ```
    #[doc(alias = "is_locked")]
    pub fn locked(&self) -> bool {
        self.sem.available_permits() == 0
    }

    /// The value, through a unique borrow: no locking needed.
    ///
    /// ```
    /// let mut m = solo::sync::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(m.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    /// A mutex holding `T::default()`.
    ///
    /// ```
    /// let m: solo::sync::Mutex<u8> = Default::default();
    /// assert_eq!(m.into_inner(), 0);
    /// ```
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    /// The same as [`Mutex::new`].
    ///
    /// ```
    /// let m: solo::sync::Mutex<i32> = 5.into();
    /// assert_eq!(m.into_inner(), 5);
    /// ```
    fn from(value: T) -> Mutex<T> {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.value.try_borrow() {
            Ok(v) if !self.locked() => d.field("value", &&*v),
            _ => d.field("value", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Proof of holding a [`Mutex`]: derefs to the value, unlocks on drop.
///
/// ```
/// solo::run(async {
///     let m = solo::sync::Mutex::new(String::new());
///     let mut g: solo::sync::MutexGuard<'_, String> = m.lock().await;
///     g.push_str("hi");
///     drop(g);
///     assert_eq!(m.into_inner(), "hi");
/// });
/// ```
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    // Field order is drop order: the borrow ends before the permit goes
    // back (and possibly to the next waiter).
    value: RefMut<'a, T>,
    _permit: SemaphorePermit<'a>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Wraps the permit just taken from `mutex.sem`.
    fn new(mutex: &'a Mutex<T>, permit: SemaphorePermit<'a>) -> MutexGuard<'a, T> {
        MutexGuard {
            mutex,
            value: mutex
                .value
                .try_borrow_mut()
                .expect("solo::sync::Mutex: value borrowed without the lock"),
            _permit: permit,
        }
    }

    /// The mutex this guard locks (for [`Condition`](super::Condition),
    /// which unlocks and locks it again).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.value, f)
    }
}

/// The error of [`Mutex::try_lock`] and [`Lock::try_lock`]: the lock is
/// held or others wait for it.
///
/// ```
/// let m = solo::sync::Mutex::new(0);
/// let _g = m.try_lock().unwrap();
/// let e: solo::sync::TryLockError = m.try_lock().unwrap_err();
/// assert_eq!(e.to_string(), "lock is held");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("lock is held")
    }
}

impl std::error::Error for TryLockError {}

/// asyncio's `Lock`: a [`Mutex`] with no value, for guarding a stretch of
/// code (`async with lock:` is `let _g = lock.lock().await;`).
///
/// ```
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// use solo::sync::Lock;
/// solo::run(async {
///     let lock = Rc::new(Lock::new());
///     let log = Rc::new(RefCell::new(Vec::new()));
///     let tasks: Vec<_> = (0..2).map(|i| {
///         let (lock, log) = (lock.clone(), log.clone());
///         solo::spawn(async move {
///             let _g = lock.lock().await;
///             log.borrow_mut().push(format!("enter {i}"));
///             solo::sleep(Duration::from_millis(1)).await;
///             log.borrow_mut().push(format!("leave {i}"));
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
///     assert_eq!(*log.borrow(), ["enter 0", "leave 0", "enter 1", "leave 1"]);
/// });
/// ```
#[derive(Debug, Default)]
pub struct Lock {
    inner: Mutex<()>,
}

/// The guard of a [`Lock`]: unlocks on drop.
///
/// ```
/// solo::run(async {
///     let lock = solo::sync::Lock::new();
///     let g: solo::sync::LockGuard<'_> = lock.lock().await;
///     assert!(lock.locked());
///     drop(g);
///     assert!(!lock.locked());
/// });
/// ```
pub type LockGuard<'a> = MutexGuard<'a, ()>;

impl Lock {
    /// An unlocked lock.
    ///
    /// ```
    /// assert!(!solo::sync::Lock::new().locked());
    /// ```
    pub const fn new() -> Lock {
        Lock {
            inner: Mutex::new(()),
        }
    }

    /// Waits for the lock, first come first served; see [`Mutex::lock`].
    ///
    /// ```
    /// solo::run(async {
    ///     let lock = solo::sync::Lock::new();
    ///     let _g = lock.lock().await;
    ///     assert!(lock.try_lock().is_err());
    /// });
    /// ```
    pub async fn lock(&self) -> LockGuard<'_> {
        self.inner.lock().await
    }

    /// Takes the lock if it is free and nobody waits; see
    /// [`Mutex::try_lock`].
    ///
    /// ```
    /// let lock = solo::sync::Lock::new();
    /// assert!(lock.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> Result<LockGuard<'_>, TryLockError> {
        self.inner.try_lock()
    }

    /// True while the lock is held.
    ///
    /// ```
    /// let lock = solo::sync::Lock::new();
    /// let _g = lock.try_lock().unwrap();
    /// assert!(lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.inner.locked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::testing::Probe;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use std::rc::Rc;

    #[test]
    fn unlock_hands_the_lock_to_the_first_waiter() {
        let m = Mutex::new(Vec::new());
        let mut g = m.try_lock().unwrap();
        let mut a = Probe::new(m.lock());
        let mut b = Probe::new(m.lock());
        a.pending();
        b.pending();
        g.push("owner");
        drop(g);
        assert!(m.locked(), "handed over, not released");
        assert!(m.try_lock().is_err(), "no barging past the waiter");
        assert_eq!((a.wakes(), b.wakes()), (1, 0));
        a.ready().push("a");
        assert_eq!(b.wakes(), 1);
        b.ready().push("b");
        assert!(!m.locked());
        drop((a, b));
        assert_eq!(m.into_inner(), ["owner", "a", "b"]);
    }

    #[test]
    fn granted_then_cancelled_waiter_passes_the_lock_on() {
        let m = Mutex::new(0);
        let g = m.try_lock().unwrap();
        let mut a = Probe::new(m.lock());
        let mut b = Probe::new(m.lock());
        a.pending();
        b.pending();
        drop(g);
        drop(a);
        *b.ready() += 1;
        assert!(!m.locked());
        let mut c = Probe::new(m.lock());
        drop(c.ready()); // free: taken at once
        assert_eq!(*m.try_lock().unwrap(), 1);
    }

    #[test]
    fn tasks_exclude_each_other_across_awaits() {
        let m = Rc::new(Mutex::new((0, 0)));
        let mut pool = LocalPool::new();
        for _ in 0..4 {
            let m = m.clone();
            pool.spawner()
                .spawn_local(async move {
                    for _ in 0..3 {
                        let mut g = m.lock().await;
                        let seen = g.0;
                        crate::yield_now().await; // others run, and wait
                        g.0 = seen + 1;
                        g.1 += 1;
                    }
                })
                .unwrap();
        }
        pool.run();
        assert_eq!(*m.try_lock().unwrap(), (12, 12), "no lost update");
    }

    #[test]
    fn lock_guards_nothing_the_same_way() {
        let lock = Lock::new();
        let g = lock.try_lock().unwrap();
        let mut w = Probe::new(lock.lock());
        w.pending();
        assert!(lock.locked());
        drop(g);
        let g2 = w.ready();
        assert_eq!(format!("{g2:?}"), "()");
        assert_eq!(lock.try_lock().unwrap_err(), TryLockError(()));
        drop(g2);
        assert!(!lock.locked());
    }

    #[test]
    fn debug_hides_a_locked_value() {
        let m = Mutex::new(5);
        assert_eq!(format!("{m:?}"), "Mutex { value: 5, .. }");
        let _g = m.try_lock().unwrap();
        assert_eq!(format!("{m:?}"), "Mutex { value: <locked>, .. }");
    }
}
