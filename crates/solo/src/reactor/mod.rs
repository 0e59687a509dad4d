//! The reactor: readiness of sockets, turned into task wakeups.
//!
//! Owns: the table of registered file descriptors of one loop, with the
//! readiness last reported for each and the tasks waiting on each direction
//! ([`waiters`]). When the loop has nothing to run it calls
//! [`Reactor::park`], which blocks in the [`Backend`] until readiness, a
//! cross-thread wake or the next timer, and wakes every task waiting on the
//! ready sockets and directions (and only those).
//!
//! Registrations are edge-triggered: readiness is remembered until an
//! operation reports `WouldBlock`, which clears that direction. Because the
//! loop is single-threaded, an event can never arrive between a `WouldBlock`
//! and the clear, so no tick counter is needed.
//!
//! [`IoSource`] is what the socket types wrap: a file descriptor plus its
//! registration (reached through a [`ReactorHandle`], not the whole loop),
//! with `poll_io` doing "wait until ready, try, clear on `WouldBlock`,
//! repeat". A future that waits holds a [`Waiter`], which frees its slot
//! when the future is dropped. Must not: know what a TCP stream is.

pub(crate) mod backend;
mod waiters;

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use backend::{Backend, MioBackend};
use backend::{ERROR, READABLE, READ_CLOSED, WRITABLE, WRITE_CLOSED};

use crate::runtime::with_core;
pub(crate) use waiters::SlotKey;
use waiters::Waiters;

/// A direction of I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The bit an operation's `WouldBlock` clears.
    fn bit(self) -> u8 {
        match self {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        }
    }

    /// The bits that let an operation run: a closed or failed socket stays
    /// ready for good (its operations return EOF or the error, never
    /// `WouldBlock`, and no further edge will come).
    fn ready_mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

#[derive(Default)]
struct Entry {
    gen: u32,
    in_use: bool,
    ready: u8,
    reader: Waiters,
    writer: Waiters,
}

impl Entry {
    fn waiters(&mut self, dir: Direction) -> &mut Waiters {
        match dir {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

pub(crate) struct Reactor {
    backend: MioBackend,
    entries: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
    events: Vec<(usize, u8)>,
}

fn token(index: u32, gen: u32) -> usize {
    ((gen as usize) << 32) | index as usize
}

fn split(token: usize) -> (u32, u32) {
    (token as u32, (token >> 32) as u32)
}

impl Reactor {
    pub(crate) fn new() -> io::Result<(Reactor, mio::Waker)> {
        let (backend, waker) = MioBackend::new()?;
        Ok((
            Reactor {
                backend,
                entries: Vec::new(),
                free: Vec::new(),
                live: 0,
                events: Vec::with_capacity(1024),
            },
            waker,
        ))
    }

    /// Whether any descriptor is registered (else a zero-timeout poll can
    /// only find a wake, which the remote queue's flag already tells).
    pub(crate) fn has_io(&self) -> bool {
        self.live > 0
    }

    fn register(&mut self, fd: RawFd) -> io::Result<usize> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i != u32::MAX)
                    .ok_or_else(|| io::Error::other("too many registered sockets"))?;
                self.entries.push(Entry::default());
                i
            }
        };
        let e = &mut self.entries[index as usize];
        e.in_use = true;
        // Optimistic: try the first operation instead of waiting for an
        // event; `WouldBlock` clears what was not really ready.
        e.ready = READABLE | WRITABLE;
        let t = token(index, e.gen);
        if let Err(err) = self.backend.register(fd, t) {
            self.release(index);
            return Err(err);
        }
        self.live += 1;
        Ok(t)
    }

    fn release(&mut self, index: u32) {
        let e = &mut self.entries[index as usize];
        e.in_use = false;
        e.gen = e.gen.wrapping_add(1);
        e.reader.clear();
        e.writer.clear();
        self.free.push(index);
    }

    fn deregister(&mut self, fd: RawFd, token: usize) {
        let (index, gen) = split(token);
        // The descriptor is closed right after, which removes it from the
        // poller anyway; a failure here changes nothing.
        let _ = self.backend.deregister(fd);
        if let Some(e) = self.entries.get(index as usize) {
            if e.in_use && e.gen == gen {
                self.release(index);
                self.live -= 1;
            }
        }
    }

    fn entry(&mut self, token: usize) -> Option<&mut Entry> {
        let (index, gen) = split(token);
        self.entries
            .get_mut(index as usize)
            .filter(|e| e.in_use && e.gen == gen)
    }

    /// Blocks in the poller (see the module doc); the wakers of ready
    /// registrations are appended to `wake` for the caller to wake once it
    /// has let go of the reactor.
    pub(crate) fn park(&mut self, timeout: Option<Duration>, wake: &mut Vec<Waker>) {
        let mut events = std::mem::take(&mut self.events);
        if let Err(e) = self.backend.poll(timeout, &mut events) {
            tracing::error!(target: "solo", "poller failed: {e}");
            // Do not spin on a broken poller: wait out the timeout.
            std::thread::sleep(timeout.unwrap_or(Duration::from_millis(10)));
        }
        for (t, bits) in events.drain(..) {
            let Some(e) = self.entry(t) else { continue };
            e.ready |= bits;
            if bits & READABLE != 0 {
                e.reader.wake_all(wake);
            }
            if bits & WRITABLE != 0 {
                e.writer.wake_all(wake);
            }
        }
        self.events = events;
    }
}

/// A loop's reactor as the loop and its sockets share it: the loop parks
/// on it, each [`IoSource`] registers with it and reads the readiness it
/// recorded. A socket reaches it in one pointer load, as it reached the
/// whole loop before, and keeps only the reactor alive, not the loop.
pub(crate) type ReactorHandle = Rc<RefCell<Reactor>>;

/// A registered file descriptor: the socket types are built on this.
pub(crate) struct IoSource<S: AsRawFd> {
    source: Option<S>,
    token: usize,
    reactor: ReactorHandle,
}

impl<S: AsRawFd> IoSource<S> {
    /// Registers `source` (already non-blocking) with the running loop.
    #[track_caller]
    pub(crate) fn new(source: S) -> io::Result<IoSource<S>> {
        let reactor = with_core(|c| c.io.reactor.clone());
        let token = reactor.borrow_mut().register(source.as_raw_fd())?;
        Ok(IoSource {
            source: Some(source),
            token,
            reactor,
        })
    }

    pub(crate) fn get_ref(&self) -> &S {
        self.source
            .as_ref()
            .expect("IoSource used after into_inner")
    }

    /// Waits until `dir` is ready (or was never found not ready). `owner`
    /// is the slot of a future's [`Waiter`]; `None` for a `poll_*` caller,
    /// which waits anonymously (see [`waiters`]).
    #[inline(always)]
    pub(crate) fn poll_ready(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        owner: Option<&mut Option<SlotKey>>,
    ) -> Poll<()> {
        let mut r = self.reactor.borrow_mut();
        let Some(e) = r.entry(self.token) else {
            // Deregistered: let the operation run and report its error.
            return Poll::Ready(());
        };
        if e.ready & dir.ready_mask() != 0 {
            if let Some(key) = owner.and_then(Option::take) {
                e.waiters(dir).remove(key);
            }
            return Poll::Ready(());
        }
        match owner {
            Some(key) => e.waiters(dir).wait_owned(key, cx.waker()),
            None => e.waiters(dir).wait_anonymous(cx.waker()),
        }
        Poll::Pending
    }

    /// A wait on `dir` for a future to hold across its polls.
    pub(crate) fn waiter(&self, dir: Direction) -> Waiter<'_, S> {
        Waiter {
            io: self,
            dir,
            key: None,
        }
    }

    /// Waits until `dir` is ready, as a future.
    pub(crate) async fn ready(&self, dir: Direction) {
        let mut w = self.waiter(dir);
        std::future::poll_fn(|cx| self.poll_ready(dir, cx, w.owner())).await
    }

    /// Forgets that `dir` was ready: the next wait goes to the poller
    /// (unless the socket is closed in that direction, which is final).
    pub(crate) fn clear_ready(&self, dir: Direction) {
        if let Some(e) = self.reactor.borrow_mut().entry(self.token) {
            e.ready &= !dir.bit();
        }
    }

    /// Runs `op` when `dir` is ready; on `WouldBlock` clears readiness and
    /// waits again. Spends one unit of the task's budget.
    /// `owner` as for [`poll_ready`](IoSource::poll_ready).
    pub(crate) fn poll_io<R>(
        &self,
        dir: Direction,
        cx: &mut Context<'_>,
        mut owner: Option<&mut Option<SlotKey>>,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        if !self.on_running_loop() {
            return Poll::Ready(Err(io::Error::other(
                "solo: this socket belongs to another event loop (it was made in an earlier \
                 solo::run or on another EventLoop, whose poller no one polls now): make \
                 sockets in the loop that uses them",
            )));
        }
        if crate::coop::poll_proceed(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            if self.poll_ready(dir, cx, owner.as_deref_mut()).is_pending() {
                return Poll::Pending;
            }
            match op(self.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_ready(dir),
                r => return Poll::Ready(r),
            }
        }
    }

    /// Whether the loop running now is the one this source is registered
    /// with (only that loop's poller reports its readiness).
    pub(crate) fn on_running_loop(&self) -> bool {
        crate::runtime::try_with_core(|c| Rc::ptr_eq(&c.io.reactor, &self.reactor)) == Some(true)
    }

    /// `poll_io` as an `async fn`.
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut w = self.waiter(dir);
        std::future::poll_fn(|cx| self.poll_io(dir, cx, w.owner(), &mut op)).await
    }

    /// Deregisters and gives the descriptor back.
    pub(crate) fn into_inner(mut self) -> S {
        let s = self.source.take().expect("IoSource used after into_inner");
        self.reactor
            .borrow_mut()
            .deregister(s.as_raw_fd(), self.token);
        s
    }
}

impl<S: AsRawFd> Drop for IoSource<S> {
    fn drop(&mut self) {
        if let Some(s) = &self.source {
            // `try_borrow_mut`: a socket dropped while the loop itself is
            // being torn down must not panic; the fd closes either way.
            if let Ok(mut r) = self.reactor.try_borrow_mut() {
                r.deregister(s.as_raw_fd(), self.token);
            }
        }
    }
}

impl<S: AsRawFd> AsRawFd for IoSource<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_raw_fd()
    }
}

/// A future's wait on one direction of an [`IoSource`]: the slot it holds
/// among that direction's waiters, freed when the future is dropped, so a
/// cancelled wait (a timeout, a `select`) leaves nothing behind.
pub(crate) struct Waiter<'a, S: AsRawFd> {
    io: &'a IoSource<S>,
    dir: Direction,
    key: Option<SlotKey>,
}

impl<S: AsRawFd> Waiter<'_, S> {
    /// What to pass as `owner` to the `IoSource`'s polls.
    pub(crate) fn owner(&mut self) -> Option<&mut Option<SlotKey>> {
        Some(&mut self.key)
    }
}

impl<S: AsRawFd> Waiter<'_, S> {
    #[inline(never)]
    fn free_slot(&mut self, key: SlotKey) {
        if let Ok(mut r) = self.io.reactor.try_borrow_mut() {
            if let Some(e) = r.entry(self.io.token) {
                e.waiters(self.dir).remove(key);
            }
        }
    }
}

impl<S: AsRawFd> Drop for Waiter<'_, S> {
    #[inline]
    fn drop(&mut self) {
        // A wait that saw readiness has already freed its slot: the common
        // path does nothing here.
        if let Some(key) = self.key.take() {
            self.free_slot(key);
        }
    }
}
