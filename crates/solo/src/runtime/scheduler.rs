//! The scheduler core: the state of one loop and the order in which
//! things run.
//!
//! Owns: [`Core`] (the ready queue, the table of live tasks, the timer
//! wheel, the poller, the blocking pool, the debug settings), one turn of
//! the loop (`tick`: running tasks and callbacks, `maintain`: foreign
//! wakes, I/O and timers), a task's completion bookkeeping, shutdown, and
//! the runtime's side of the task core's `Schedule` seam. Must not: know
//! what a task's future is (that is `task::raw`'s), or a flag bit (that is
//! `task::state`'s); expose itself to users (that is [`EventLoop`]'s).
//!
//! [`EventLoop`]: super::EventLoop

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use super::callback::{CallbackFn, Handle};
use super::context::try_with_core;
use super::remote::{self, Remote};
use super::table::TaskTable;
use super::Builder;
use crate::blocking::Pool;
use crate::reactor::{Reactor, ReactorHandle};
use crate::task::{
    new_task, CancelRequest, Current, Kind, LocalTask, LoopToken, Notified, Ran, Schedule, Task,
    TaskInfo,
};
use crate::time::clock::Clock;
use crate::time::wheel::{Fired, Wheel};

/// The most ready items one turn runs, and how many may run between two
/// looks at the poller.
const EVENT_INTERVAL: u32 = 61;

/// How much a task may do in one poll before solo's own primitives make it
/// yield (see [`crate::coop`]).
pub(crate) const BUDGET: u32 = 128;

/// The state of one loop, in parts grouped by who uses them. Lives in an
/// `Rc` owned by [`EventLoop`](super::EventLoop); the running thread
/// reaches it through `context`.
pub(crate) struct Core {
    /// This loop's id, as wakers and the remote registry know it.
    pub(crate) id: u32,
    /// The ready queue and the task table: what `tick`, spawn and wakes on
    /// the loop thread use.
    pub(crate) sched: Scheduling,
    /// What other threads hand to this loop: woken tasks and the root.
    pub(super) inbox: Inbox,
    /// The timer wheel and the clock: `sleep`, timeouts, `call_later`.
    pub(crate) timers: Timers,
    /// The poller: `IoSource`s register there, `maintain` parks on it.
    pub(crate) io: Io,
    /// The threads of `to_thread`.
    pub(super) pool: Pool,
    /// The threads of name lookups (`getaddrinfo`), apart from `pool`:
    /// lookups that hang must not hold up `to_thread` work, nor it them.
    pub(super) dns_pool: Pool,
    pub(super) lookups: crate::net::dns::Lookups,
    /// Debug mode: the slow-callback threshold and panics to report.
    pub(super) debug: DebugMode,
    pub(super) weak_self: RefCell<Weak<Core>>,
}

/// The ready queue and the table of live tasks, with the counters of the
/// current turn.
pub(crate) struct Scheduling {
    /// Proof that this is the loop's thread: turns wakes into local tasks.
    pub(super) token: LoopToken,
    /// Ready tasks, callbacks and the root marker, in FIFO order.
    pub(super) queue: RefCell<VecDeque<LocalTask>>,
    /// Items left to run in this turn (asyncio's `ntodo`), kept while the
    /// root is polled; only `tick` uses it.
    pub(super) turn_left: Cell<u32>,
    /// Items run since the poller was last asked; only `tick` uses it.
    pub(super) since_poll: Cell<u32>,
    /// Queued to mean "poll the root future" (`Kind::Root`).
    pub(super) root_marker: LocalTask,
    pub(super) tasks: RefCell<TaskTable>,
    pub(super) next_task_id: Cell<u64>,
    /// The task being polled, for `current_task()`.
    pub(super) current: Current,
    /// What the running task may still do before it must yield.
    pub(crate) budget: Cell<u32>,
}

/// Wakes that come from other threads.
pub(super) struct Inbox {
    pub(super) remote: Arc<Remote>,
    pub(super) root: Arc<RootWaker>,
    /// Reused buffer for draining `remote`.
    pub(super) foreign: RefCell<Vec<Notified>>,
}

/// The timers of one loop.
pub(crate) struct Timers {
    pub(crate) wheel: RefCell<Wheel>,
    pub(crate) clock: Clock,
    /// Reused buffer for the timers that expired in one turn.
    pub(super) fired: RefCell<Vec<Fired>>,
}

/// The poller of one loop.
pub(crate) struct Io {
    pub(crate) reactor: ReactorHandle,
    /// Reused buffer for the wakers one park returns.
    pub(super) woken: RefCell<Vec<Waker>>,
}

/// Debug mode's state (asyncio's debug mode).
pub(super) struct DebugMode {
    /// The slow-callback threshold; `None` outside debug mode.
    pub(super) slow: Option<Duration>,
    /// Panicked tasks, checked at close in debug mode.
    pub(super) panicked: RefCell<Vec<LocalTask>>,
}

/// Wakes the root future. Same thread: a `Root` entry in the ready queue;
/// other threads: through the remote queue.
pub(super) struct RootWaker {
    loop_id: u32,
    pub(super) queued: AtomicBool,
    remote: Arc<Remote>,
}

impl Wake for RootWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let local = try_with_core(|core| {
            if core.id == self.loop_id {
                core.sched
                    .queue
                    .borrow_mut()
                    .push_back(core.sched.root_marker.clone());
                true
            } else {
                false
            }
        });
        if local != Some(true) {
            self.remote.wake_root();
        }
    }
}

/// The runtime's side of the task core's scheduling seam.
pub(crate) struct Scheduler;

impl Schedule for Scheduler {
    /// Hands a woken task back to its loop (called by the waker, any
    /// thread): straight onto the ready queue on the loop's own thread,
    /// through the remote queue from anywhere else.
    fn schedule(task: Notified) {
        let mut task = Some(task);
        try_with_core(|core| {
            if let Some(t) = task.take() {
                match core.sched.token.claim(t) {
                    Ok(local) => core.schedule_local(local),
                    Err(t) => task = Some(t),
                }
            }
        });
        if let Some(t) = task {
            remote::send(t.loop_id(), t);
        }
    }

    fn is_open(loop_id: u32) -> bool {
        super::with_open_core(loop_id, |_| ()).is_some()
    }

    /// Queues `f` on loop `loop_id`, running or not (a done callback
    /// added between two `run_until_complete`s runs at its next turn).
    fn call_soon(loop_id: u32, f: Box<dyn FnOnce()>) {
        // Dropped if that loop is closed: `Task::add_done_callback` refuses
        // that case before the task core gets here.
        super::with_open_core(loop_id, |core| {
            drop(core.call_soon(f, crate::debug::unnamed()))
        });
    }
}

impl Core {
    pub(super) fn new(builder: &Builder) -> std::io::Result<Rc<Core>> {
        let (reactor, waker) = Reactor::new()?;
        let remote = Arc::new(Remote::new(waker));
        let token = LoopToken::new();
        let id = token.id();
        remote::register(id, &remote);
        let clock = Clock::new(builder.paused);
        let root_marker = LocalTask::new::<_, Scheduler>(
            std::future::pending::<()>,
            &token,
            Kind::Root,
            0,
            Location::caller(),
        );
        let core = Rc::new(Core {
            id,
            sched: Scheduling {
                token,
                queue: RefCell::new(VecDeque::new()),
                turn_left: Cell::new(0),
                since_poll: Cell::new(0),
                root_marker,
                tasks: RefCell::new(TaskTable::default()),
                next_task_id: Cell::new(1),
                current: Current::default(),
                budget: Cell::new(BUDGET),
            },
            inbox: Inbox {
                root: Arc::new(RootWaker {
                    loop_id: id,
                    queued: AtomicBool::new(false),
                    remote: remote.clone(),
                }),
                remote,
                foreign: RefCell::new(Vec::new()),
            },
            timers: Timers {
                wheel: RefCell::new(Wheel::new(clock.base())),
                clock,
                fired: RefCell::new(Vec::new()),
            },
            io: Io {
                reactor: Rc::new(RefCell::new(reactor)),
                woken: RefCell::new(Vec::new()),
            },
            pool: Pool::new("solo-blocking", builder.max_blocking_threads),
            dns_pool: Pool::new("solo-dns", builder.max_dns_threads),
            lookups: crate::net::dns::Lookups::default(),
            debug: DebugMode {
                slow: builder.debug.then_some(builder.slow_callback),
                panicked: RefCell::new(Vec::new()),
            },
            weak_self: RefCell::new(Weak::new()),
        });
        *core.weak_self.borrow_mut() = Rc::downgrade(&core);
        Ok(core)
    }

    pub(crate) fn weak(&self) -> Weak<Core> {
        self.weak_self.borrow().clone()
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn dns_pool(&self) -> &Pool {
        &self.dns_pool
    }

    pub(crate) fn lookups(&self) -> &crate::net::dns::Lookups {
        &self.lookups
    }

    /// Spawns the future `make` builds, built in the task's allocation.
    pub(crate) fn spawn<F>(
        &self,
        make: impl FnOnce() -> F,
        location: &'static Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let id = self.sched.next_task_id.get();
        self.sched.next_task_id.set(id + 1);
        let (handle, task) = new_task::<_, Scheduler>(make, &self.sched.token, id, location);
        self.sched.tasks.borrow_mut().insert(task.clone());
        self.sched.queue.borrow_mut().push_back(task);
        handle
    }

    fn schedule_local(&self, task: LocalTask) {
        if task.state().transition_to_scheduled() {
            self.sched.queue.borrow_mut().push_back(task);
        }
    }

    /// Queues callback `f`, scheduled at `at` (what debug mode names when
    /// it is slow; [`debug::unnamed`](crate::debug::unnamed) for the loop's
    /// own, such as a task's done callbacks).
    pub(crate) fn call_soon(&self, f: Box<dyn FnOnce()>, at: &'static Location<'static>) -> Handle {
        let task = self.callback_cell(f, at);
        self.sched.queue.borrow_mut().push_back(task.clone());
        Handle { task }
    }

    /// The cell that runs callback `f`, not queued yet: a `call_later`
    /// timer holds it until it comes due (then `fire_timers` queues it).
    pub(crate) fn callback_cell(
        &self,
        f: Box<dyn FnOnce()>,
        at: &'static Location<'static>,
    ) -> LocalTask {
        // A callback cell is never listed or named, so its id is a
        // placeholder.
        LocalTask::new::<_, Scheduler>(
            || CallbackFn(Some(f)),
            &self.sched.token,
            Kind::Callback,
            0,
            at,
        )
    }

    pub(crate) fn current_task(&self) -> Option<TaskInfo> {
        self.sched.current.info()
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        self.sched
            .tasks
            .borrow()
            .iter()
            .filter(|t| !t.snapshot().is_complete())
            .map(LocalTask::info)
            .collect()
    }

    /// Runs turns (see the module doc), each ending with a look at foreign
    /// wakes, I/O and timers, until the root's turn comes (true) or a turn
    /// ends with nothing ready (false; with `park`, the loop has blocked
    /// until something was).
    pub(super) fn tick(&self, park: bool) -> bool {
        // Kept in locals while tasks run (they cannot touch them).
        let mut left = self.sched.turn_left.get();
        let mut since_poll = self.sched.since_poll.get();
        let root = loop {
            if left == 0 {
                // A new turn: what is ready now, nothing queued during it.
                left = self.sched.queue.borrow().len().min(EVENT_INTERVAL as usize) as u32;
            }
            let mut root = false;
            while left > 0 {
                left -= 1;
                since_poll += 1;
                let next = {
                    let mut q = self.sched.queue.borrow_mut();
                    let next = q.pop_front();
                    if let Some(later) = q.get(1) {
                        later.prefetch();
                    }
                    next
                };
                let Some(t) = next else {
                    left = 0;
                    break;
                };
                match t.snapshot().kind() {
                    Kind::Root => {
                        root = true;
                        break;
                    }
                    Kind::Callback => self.run_callback(t),
                    Kind::Task => self.run_task(t),
                }
            }
            if left > 0 {
                break true; // the root's turn, inside this turn
            }
            // The root is polled before the loop may block.
            let idle = self.maintain(park && !root, &mut since_poll);
            if root || idle {
                break root;
            }
        };
        self.sched.turn_left.set(left);
        self.sched.since_poll.set(since_poll);
        root
    }

    fn run_task(&self, task: LocalTask) {
        self.sched.budget.set(BUDGET);
        let start = self.debug.slow.map(|_| Instant::now());
        match task.run(&self.sched.current) {
            Ran::Skipped => return,
            Ran::Pending => {}
            Ran::Completed => self.completed(&task),
        }
        // Reported after completion, so the state shown is the one the
        // slow step left (asyncio shows `<Task finished ..>` likewise).
        if let (Some(start), Some(limit)) = (start, self.debug.slow) {
            let took = start.elapsed();
            if took >= limit {
                crate::debug::slow_task(&task.info(), took);
            }
        }
    }

    /// The loop's bookkeeping for a task that completed (the task core
    /// already woke its joiner, scheduled its callbacks, and dropped an
    /// output nobody can take).
    fn completed(&self, task: &LocalTask) {
        let owned = self.sched.tasks.borrow_mut().remove(task.slot());
        if self.debug.slow.is_some() && task.snapshot().is_panicked() {
            self.debug.panicked.borrow_mut().push(task.clone());
        }
        drop(owned);
    }

    fn run_callback(&self, task: LocalTask) {
        let start = self.debug.slow.map(|_| Instant::now());
        if !task.run_callback() {
            return; // cancelled through its Handle
        }
        if let (Some(start), Some(limit)) = (start, self.debug.slow) {
            let took = start.elapsed();
            if took >= limit {
                crate::debug::slow_callback(task.location(), took);
            }
        }
    }

    /// Foreign wakes, the poller, and timers, at the end of a turn. Returns
    /// whether nothing was ready. Inlined into `tick`: with no foreign
    /// wake, no timer and the poller not due, it is a few loads.
    #[inline]
    fn maintain(&self, park: bool, since_poll: &mut u32) -> bool {
        self.take_foreign();
        let idle = self.sched.queue.borrow().is_empty();
        if idle && park {
            *since_poll = 0;
            let next = self.timers.wheel.borrow().next_deadline();
            match next {
                Some(at)
                    if self.timers.clock.is_paused()
                        && self.pool.in_flight() + self.dns_pool.in_flight() == 0 =>
                {
                    // Virtual time jumps to the next timer once nothing can
                    // run: sockets (an idle listener, a connection waiting
                    // for its peer) are looked at without waiting, and only
                    // what is ready now holds the jump back. Waiting for
                    // them in real time would never move the clock.
                    if self.io.reactor.borrow().has_io() {
                        self.poll_io(Some(Duration::ZERO));
                    }
                    if self.sched.queue.borrow().is_empty() {
                        self.timers.clock.advance_to(at);
                    }
                }
                _ => {
                    let timeout =
                        next.map(|at| at.saturating_duration_since(self.timers.clock.now()));
                    self.poll_io(timeout);
                }
            }
        } else if *since_poll >= EVENT_INTERVAL {
            *since_poll = 0;
            if self.io.reactor.borrow().has_io() {
                self.poll_io(Some(Duration::ZERO));
            }
        }
        if !self.timers.wheel.borrow().is_empty() {
            self.fire_timers();
        }
        idle
    }

    fn poll_io(&self, timeout: Option<Duration>) {
        let mut wake = self.io.woken.take();
        self.io.reactor.borrow_mut().park(timeout, &mut wake);
        for w in wake.drain(..) {
            w.wake();
        }
        *self.io.woken.borrow_mut() = wake;
        self.take_foreign();
    }

    #[inline]
    fn take_foreign(&self) {
        if self.inbox.remote.has_pending() {
            self.drain_foreign();
        }
    }

    #[inline(never)]
    fn drain_foreign(&self) {
        let mut buf = self.inbox.foreign.take();
        if self.inbox.remote.drain(&mut buf) {
            self.sched
                .queue
                .borrow_mut()
                .push_back(self.sched.root_marker.clone());
        }
        for t in buf.drain(..) {
            // Only this loop's tasks are sent to its inbox, so the claim
            // succeeds; a stray one would just be dropped.
            if let Ok(t) = self.sched.token.claim(t) {
                self.schedule_local(t);
            }
        }
        *self.inbox.foreign.borrow_mut() = buf;
    }

    #[inline(never)]
    fn fire_timers(&self) {
        let now = self.timers.clock.now();
        let mut fired = self.timers.fired.take();
        self.timers.wheel.borrow_mut().advance(now, &mut fired);
        for f in fired.drain(..) {
            match f {
                Fired::Waker(w) => w.wake(),
                // Cancelled through its `TimerHandle` from here on, the
                // cell is skipped when popped.
                Fired::Callback(cell) => self.sched.queue.borrow_mut().push_back(cell),
            }
        }
        *self.timers.fired.borrow_mut() = fired;
    }

    /// Cancels every live task and runs the loop until they are gone.
    pub(super) fn shutdown(&self) {
        for _round in 0..1000 {
            let live = self
                .sched
                .tasks
                .borrow()
                .iter()
                .cloned()
                .collect::<Vec<_>>();
            if live.is_empty() && self.sched.queue.borrow().is_empty() {
                break;
            }
            for t in live {
                // Requested already: it may still be in the inbox (a
                // `cancel()` made outside the running loop), so queue it
                // here too; a second entry is not pushed.
                if t.state().request_cancel() != CancelRequest::TooLate {
                    self.schedule_local(t);
                }
            }
            while !self.sched.queue.borrow().is_empty() {
                self.tick(false);
            }
        }
        let leftover = self.sched.tasks.borrow().len();
        if leftover > 0 {
            tracing::error!(target: "solo", "{leftover} tasks kept respawning during shutdown");
        }
        self.sched.queue.borrow_mut().clear();
        let mut callbacks = Vec::new();
        self.timers.wheel.borrow_mut().clear(&mut callbacks);
        for cell in callbacks {
            // Drops the callback (and what it captured) now: its
            // `TimerHandle` shares the cell, and a callback that holds its
            // own handle would keep both alive.
            cell.cancel_callback();
        }
        self.take_foreign();
        self.sched.queue.borrow_mut().clear();
        self.lookups.clear();
        self.pool.shutdown();
        self.dns_pool.shutdown();
        for t in self.debug.panicked.take() {
            if t.snapshot().is_panic_unretrieved() {
                crate::debug::unretrieved_panic(&t.info());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Scheduler tests small enough for Miri: they exercise the task core
    //! through the real loop (spawn, wake, cancel, foreign wakes, close).

    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    #[test]
    fn spawn_wake_cancel_close() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        crate::run(async move {
            let a = crate::spawn({
                let l = l.clone();
                async move {
                    crate::yield_now().await;
                    l.borrow_mut().push("a");
                    1
                }
            });
            let b = crate::spawn(std::future::pending::<u32>());
            let c = crate::spawn(async { panic!("c") });
            let _detached = crate::spawn(crate::sleep(Duration::from_secs(60)));
            assert!(b.cancel());
            assert_eq!(a.await.unwrap(), 1);
            assert!(b.await.unwrap_err().is_cancelled());
            assert!(c.await.unwrap_err().is_panic());
            l.borrow_mut().push("main");
        });
        assert_eq!(*log.borrow(), ["a", "main"]);
    }

    #[test]
    fn foreign_thread_wake_and_to_thread() {
        let v = crate::run(async {
            let t = crate::spawn(async { crate::to_thread(|| 20).await + 1 });
            let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
            let h = std::thread::spawn(move || rx.recv().unwrap().wake());
            let mut sent = Some(tx);
            std::future::poll_fn(|cx| match sent.take() {
                Some(tx) => {
                    tx.send(cx.waker().clone()).unwrap();
                    std::task::Poll::Pending
                }
                None => std::task::Poll::Ready(()),
            })
            .await;
            h.join().unwrap();
            t.await.unwrap()
        });
        assert_eq!(v, 21);
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri has no sockets")]
    fn a_socket_keeps_only_the_reactor_alive() {
        // A socket that outlives its loop holds the reactor (to deregister
        // on drop), not the whole core with its tasks, timers and pool.
        let mut lp = crate::EventLoop::new().unwrap();
        let (core, socket) = lp.run_until_complete(async {
            let l = crate::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            (crate::runtime::with_core(|c| c.weak()), l)
        });
        drop(lp);
        assert!(
            core.upgrade().is_none(),
            "the socket kept the loop's core alive"
        );
        drop(socket);
    }
}
