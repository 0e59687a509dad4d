//! The event loop.
//!
//! Owns: the ready queue, the table of live tasks, the timer wheel, the
//! poller and the blocking pool of one loop, and the order in which things
//! run. Must not: know what a task's future is (that is `task::raw`'s).
//!
//! # One turn of the loop
//!
//! ```text
//!   run the items that were ready when the turn began (tasks, callbacks,
//!   the root future), at most EVENT_INTERVAL, FIFO, in the order they
//!   were spawned, scheduled or woken
//!        |
//!        v
//!   take foreign wakes from the remote queue
//!   nothing ready?  block in the poller until the next timer (paused clock:
//!                   jump the clock instead)
//!   else, I/O registered and EVENT_INTERVAL items run since the poller
//!   was last asked?  poll it without blocking
//!   move expired timers into the ready queue, in deadline order
//! ```
//!
//! Like asyncio, everything that becomes ready goes to the back of one FIFO
//! queue, so the order is deterministic, and due timers are queued at every
//! turn (asyncio's `_run_once`). Unlike asyncio, the poller is not asked on
//! every turn when nothing can come from it, which keeps a system call off
//! the path of pure task switching: it is asked when the loop is idle and
//! at least every EVENT_INTERVAL items otherwise.
//!
//! The root future is one of the items: when its turn comes the loop
//! returns to `run_until_complete` to poll it, and the turn resumes after,
//! so a root that never stops yielding still lets the turn end and timers,
//! I/O and foreign wakes be processed.

mod context;
pub(crate) mod remote;
mod table;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

pub(crate) use context::{try_with_core, with_core};

use crate::blocking::Pool;
use crate::reactor::Reactor;
use crate::task::{
    new_task, CancelRequest, Current, Kind, LocalTask, LoopToken, Notified, Ran, Schedule, Task,
    TaskInfo,
};
use crate::time::clock::Clock;
use crate::time::wheel::{Fired, Wheel};
use remote::Remote;
use table::TaskTable;

/// The most ready items one turn runs, and how many may run between two
/// looks at the poller.
const EVENT_INTERVAL: u32 = 61;

/// How much a task may do in one poll before solo's own primitives make it
/// yield (see [`crate::coop`]).
pub(crate) const BUDGET: u32 = 128;

/// Default threshold of the debug mode's slow-callback warning.
const DEFAULT_SLOW: Duration = Duration::from_millis(100);

/// A `call_soon` callback, stored in a task cell (`Kind::Callback`) so
/// the ready queue holds one kind of 8-byte entry: tasks, callbacks and the
/// root marker alike. Polling it runs the callback once; a panic is logged
/// and never reaches the loop.
struct CallbackFn(Option<Box<dyn FnOnce()>>);

impl Future for CallbackFn {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if let Some(f) = self.0.take() {
            if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                tracing::error!(
                    target: "solo",
                    "callback panicked: {}",
                    crate::task::panic_message(&*p)
                );
            }
        }
        Poll::Ready(())
    }
}

/// The state of one loop. Lives in an `Rc` owned by [`EventLoop`]; the
/// running thread reaches it through `context`.
pub(crate) struct Core {
    pub(crate) id: u32,
    /// Proof that this is the loop's thread: turns wakes into local tasks.
    token: LoopToken,
    /// Ready tasks, callbacks and the root marker, in FIFO order.
    queue: RefCell<VecDeque<LocalTask>>,
    /// Items left to run in this turn (asyncio's `ntodo`), kept while the
    /// root is polled; only `tick` uses it.
    turn_left: Cell<u32>,
    /// Items run since the poller was last asked; only `tick` uses it.
    since_poll: Cell<u32>,
    /// Queued to mean "poll the root future" (`Kind::Root`).
    root_marker: LocalTask,
    tasks: RefCell<TaskTable>,
    next_task_id: Cell<u64>,
    pub(crate) timers: RefCell<Wheel>,
    pub(crate) clock: Clock,
    remote: Arc<Remote>,
    root: Arc<RootWaker>,
    pub(crate) reactor: RefCell<Reactor>,
    woken_io: RefCell<Vec<Waker>>,
    pool: Pool,
    slow: Option<Duration>,
    /// The task being polled, for `current_task()`.
    current: Current,
    pub(crate) budget: Cell<u32>,
    /// Panicked tasks, checked at close in debug mode.
    panicked: RefCell<Vec<LocalTask>>,
    fired: RefCell<Vec<Fired>>,
    foreign: RefCell<Vec<Notified>>,
    weak_self: RefCell<Weak<Core>>,
}

/// Wakes the root future. Same thread: a `Root` entry in the ready queue;
/// other threads: through the remote queue.
struct RootWaker {
    loop_id: u32,
    queued: AtomicBool,
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
                core.queue.borrow_mut().push_back(core.root_marker.clone());
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
                match core.token.claim(t) {
                    Ok(local) => core.schedule_local(local),
                    Err(t) => task = Some(t),
                }
            }
        });
        if let Some(t) = task {
            remote::send(t.loop_id(), t);
        }
    }

    fn call_soon(f: Box<dyn FnOnce()>) {
        with_core(|core| drop(core.call_soon(f)));
    }
}

impl Core {
    fn new(builder: &Builder) -> std::io::Result<Rc<Core>> {
        let (reactor, waker) = Reactor::new()?;
        let remote = Arc::new(Remote::new(waker));
        let token = LoopToken::new();
        let id = token.id();
        remote::register(id, &remote);
        let clock = Clock::new(builder.paused);
        let root_marker = LocalTask::new::<_, Scheduler>(
            std::future::pending::<()>(),
            &token,
            Kind::Root,
            0,
            Location::caller(),
        );
        let core = Rc::new(Core {
            id,
            token,
            queue: RefCell::new(VecDeque::new()),
            turn_left: Cell::new(0),
            since_poll: Cell::new(0),
            root_marker,
            tasks: RefCell::new(TaskTable::default()),
            next_task_id: Cell::new(1),
            timers: RefCell::new(Wheel::new(clock.base())),
            clock,
            root: Arc::new(RootWaker {
                loop_id: id,
                queued: AtomicBool::new(false),
                remote: remote.clone(),
            }),
            remote,
            reactor: RefCell::new(reactor),
            woken_io: RefCell::new(Vec::new()),
            pool: Pool::new(builder.max_blocking_threads),
            slow: builder.debug.then_some(builder.slow_callback),
            current: Current::default(),
            budget: Cell::new(BUDGET),
            panicked: RefCell::new(Vec::new()),
            fired: RefCell::new(Vec::new()),
            foreign: RefCell::new(Vec::new()),
            weak_self: RefCell::new(Weak::new()),
        });
        *core.weak_self.borrow_mut() = Rc::downgrade(&core);
        Ok(core)
    }

    pub(crate) fn weak(&self) -> Weak<Core> {
        self.weak_self.borrow().clone()
    }

    /// A strong handle to this core (it is always owned by an `Rc`).
    pub(crate) fn rc(&self) -> Rc<Core> {
        self.weak_self
            .borrow()
            .upgrade()
            .expect("core is alive while it runs")
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn spawn<F>(
        &self,
        future: F,
        location: &'static Location<'static>,
    ) -> Task<F::Output>
    where
        F: Future + 'static,
    {
        let id = self.next_task_id.get();
        self.next_task_id.set(id + 1);
        let (handle, task) = new_task::<_, Scheduler>(future, &self.token, id, location);
        self.tasks.borrow_mut().insert(task.clone());
        self.queue.borrow_mut().push_back(task);
        handle
    }

    fn schedule_local(&self, task: LocalTask) {
        if task.state().transition_to_scheduled() {
            self.queue.borrow_mut().push_back(task);
        }
    }

    pub(crate) fn call_soon(&self, f: Box<dyn FnOnce()>) -> Handle {
        // A callback cell is never listed or named, so its id and location
        // are placeholders (callers reach this through closures anyway).
        let task = LocalTask::new::<_, Scheduler>(
            CallbackFn(Some(f)),
            &self.token,
            Kind::Callback,
            0,
            Location::caller(),
        );
        self.queue.borrow_mut().push_back(task.clone());
        Handle { task }
    }

    pub(crate) fn current_task(&self) -> Option<TaskInfo> {
        self.current.info()
    }

    pub(crate) fn all_tasks(&self) -> Vec<TaskInfo> {
        self.tasks
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
    fn tick(&self, park: bool) -> bool {
        // Kept in locals while tasks run (they cannot touch them).
        let mut left = self.turn_left.get();
        let mut since_poll = self.since_poll.get();
        let root = loop {
            if left == 0 {
                // A new turn: what is ready now, nothing queued during it.
                left = self.queue.borrow().len().min(EVENT_INTERVAL as usize) as u32;
            }
            let mut root = false;
            while left > 0 {
                left -= 1;
                since_poll += 1;
                let next = {
                    let mut q = self.queue.borrow_mut();
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
        self.turn_left.set(left);
        self.since_poll.set(since_poll);
        root
    }

    fn run_task(&self, task: LocalTask) {
        self.budget.set(BUDGET);
        let start = self.slow.map(|_| Instant::now());
        match task.run(&self.current) {
            Ran::Skipped => return,
            Ran::Pending => {}
            Ran::Completed => self.completed(&task),
        }
        // Reported after completion, so the state shown is the one the
        // slow step left (asyncio shows `<Task finished ..>` likewise).
        if let (Some(start), Some(limit)) = (start, self.slow) {
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
        let owned = self.tasks.borrow_mut().remove(task.slot());
        if self.slow.is_some() && task.snapshot().is_panicked() {
            self.panicked.borrow_mut().push(task.clone());
        }
        drop(owned);
    }

    fn run_callback(&self, task: LocalTask) {
        let start = self.slow.map(|_| Instant::now());
        if !task.run_callback() {
            return; // cancelled through its Handle
        }
        if let (Some(start), Some(limit)) = (start, self.slow) {
            let took = start.elapsed();
            if took >= limit {
                crate::debug::slow_callback(took);
            }
        }
    }

    /// Foreign wakes, the poller, and timers, at the end of a turn. Returns
    /// whether nothing was ready. Inlined into `tick`: with no foreign
    /// wake, no timer and the poller not due, it is a few loads.
    #[inline]
    fn maintain(&self, park: bool, since_poll: &mut u32) -> bool {
        self.take_foreign();
        let idle = self.queue.borrow().is_empty();
        if idle && park {
            *since_poll = 0;
            let next = self.timers.borrow().next_deadline();
            let io_or_threads = self.reactor.borrow().has_io() || self.pool.in_flight() > 0;
            match next {
                Some(at) if self.clock.is_paused() && !io_or_threads => {
                    self.clock.advance_to(at);
                }
                _ => {
                    let timeout = next.map(|at| at.saturating_duration_since(self.clock.now()));
                    self.poll_io(timeout);
                }
            }
        } else if *since_poll >= EVENT_INTERVAL {
            *since_poll = 0;
            if self.reactor.borrow().has_io() {
                self.poll_io(Some(Duration::ZERO));
            }
        }
        if !self.timers.borrow().is_empty() {
            self.fire_timers();
        }
        idle
    }

    fn poll_io(&self, timeout: Option<Duration>) {
        let mut wake = self.woken_io.take();
        self.reactor.borrow_mut().park(timeout, &mut wake);
        for w in wake.drain(..) {
            w.wake();
        }
        *self.woken_io.borrow_mut() = wake;
        self.take_foreign();
    }

    #[inline]
    fn take_foreign(&self) {
        if self.remote.has_pending() {
            self.drain_foreign();
        }
    }

    #[inline(never)]
    fn drain_foreign(&self) {
        let mut buf = self.foreign.take();
        if self.remote.drain(&mut buf) {
            self.queue.borrow_mut().push_back(self.root_marker.clone());
        }
        for t in buf.drain(..) {
            // Only this loop's tasks are sent to its inbox, so the claim
            // succeeds; a stray one would just be dropped.
            if let Ok(t) = self.token.claim(t) {
                self.schedule_local(t);
            }
        }
        *self.foreign.borrow_mut() = buf;
    }

    #[inline(never)]
    fn fire_timers(&self) {
        let now = self.clock.now();
        let mut fired = self.fired.take();
        self.timers.borrow_mut().advance(now, &mut fired);
        for f in fired.drain(..) {
            match f {
                Fired::Waker(w) => w.wake(),
                Fired::Callback(f) => {
                    drop(self.call_soon(f));
                }
            }
        }
        *self.fired.borrow_mut() = fired;
    }

    /// Cancels every live task and runs the loop until they are gone.
    fn shutdown(&self) {
        for _round in 0..1000 {
            let live = self.tasks.borrow().iter().cloned().collect::<Vec<_>>();
            if live.is_empty() && self.queue.borrow().is_empty() {
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
            while !self.queue.borrow().is_empty() {
                self.tick(false);
            }
        }
        let leftover = self.tasks.borrow().len();
        if leftover > 0 {
            tracing::error!(target: "solo", "{leftover} tasks kept respawning during shutdown");
        }
        self.queue.borrow_mut().clear();
        self.timers.borrow_mut().clear();
        self.take_foreign();
        self.queue.borrow_mut().clear();
        self.pool.shutdown();
        for t in self.panicked.take() {
            if t.snapshot().is_panic_unretrieved() {
                crate::debug::unretrieved_panic(&t.info());
            }
        }
    }
}

/// An event loop: the scheduler, timers, poller and blocking pool of one
/// thread.
///
/// Most programs never name it: [`run`] makes one, runs a future on it and
/// closes it, like `asyncio.run`. Use `EventLoop` directly to keep a loop
/// across several `run_until_complete` calls, or to configure it.
///
/// ```
/// let mut lp = solo::EventLoop::new().unwrap();
/// let a = lp.run_until_complete(async { 1 });
/// let b = lp.run_until_complete(async { solo::sleep(std::time::Duration::from_millis(1)).await; 2 });
/// assert_eq!(a + b, 3);
/// lp.close();
/// ```
pub struct EventLoop {
    core: Rc<Core>,
    closed: bool,
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("id", &self.core.id)
            .field("tasks", &self.core.tasks.borrow().len())
            .field("closed", &self.closed)
            .finish()
    }
}

impl EventLoop {
    /// A loop with default settings (debug mode if `SOLO_DEBUG=1`).
    ///
    /// ```
    /// let lp = solo::EventLoop::new().unwrap();
    /// drop(lp);
    /// ```
    pub fn new() -> std::io::Result<EventLoop> {
        Builder::new().build()
    }

    /// Configure a loop: debug mode, paused clock, blocking pool size.
    ///
    /// ```
    /// let lp = solo::EventLoop::builder().debug(true).build().unwrap();
    /// assert!(lp.is_debug());
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// True when the loop reports slow callbacks (asyncio's debug mode).
    ///
    /// ```
    /// assert!(!solo::EventLoop::builder().debug(false).build().unwrap().is_debug());
    /// ```
    pub fn is_debug(&self) -> bool {
        self.core.slow.is_some()
    }

    /// Runs the loop until `future` completes and returns its output.
    /// Tasks spawned meanwhile keep their state between calls.
    ///
    /// Panics if a loop is already running on this thread, or if the loop
    /// was closed. A panic in `future` itself propagates to the caller.
    ///
    /// ```
    /// let mut lp = solo::EventLoop::new().unwrap();
    /// let t = lp.run_until_complete(async { solo::spawn(async { 40 + 2 }) });
    /// assert_eq!(lp.run_until_complete(t).unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn run_until_complete<F: Future>(&mut self, future: F) -> F::Output {
        assert!(!self.closed, "run_until_complete on a closed EventLoop");
        let core = &*self.core;
        let _enter = context::Enter::new(core);
        let mut future = pin!(future);
        let waker = Waker::from(core.root.clone());
        let mut cx = Context::from_waker(&waker);
        core.root.queued.store(true, Ordering::Release);
        core.queue.borrow_mut().push_back(core.root_marker.clone());
        loop {
            if core.tick(true) {
                core.root.queued.store(false, Ordering::Release);
                core.budget.set(BUDGET);
                let start = core.slow.map(|_| Instant::now());
                let r = future.as_mut().poll(&mut cx);
                if let (Some(start), Some(limit)) = (start, core.slow) {
                    let took = start.elapsed();
                    if took >= limit {
                        crate::debug::slow_callback(took);
                    }
                }
                if let Poll::Ready(v) = r {
                    // A stale Root entry may remain; it is harmless (the
                    // next run pushes its own) but drop it for tidiness.
                    core.queue
                        .borrow_mut()
                        .retain(|r| r.snapshot().kind() != Kind::Root);
                    return v;
                }
            }
        }
    }

    /// Cancels every task still alive, runs them until their futures are
    /// dropped, joins the blocking pool and closes the loop. Dropping the
    /// loop does the same.
    ///
    /// ```
    /// let mut lp = solo::EventLoop::new().unwrap();
    /// let t = lp.run_until_complete(async { solo::spawn(std::future::pending::<()>()) });
    /// lp.close();
    /// assert!(t.is_cancelled());
    /// ```
    pub fn close(mut self) {
        self.close_inner();
    }

    fn close_inner(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        {
            // `swap`, not `new`: a loop may be dropped inside a task of
            // another loop (or while unwinding from a nested `run`).
            let _enter = context::Enter::swap(&self.core);
            self.core.shutdown();
        }
        remote::unregister(self.core.id);
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        self.close_inner();
    }
}

/// Settings for an [`EventLoop`].
///
/// ```
/// use std::time::Duration;
/// let lp = solo::EventLoop::builder()
///     .debug(true)
///     .slow_callback_duration(Duration::from_millis(50))
///     .paused_clock()
///     .max_blocking_threads(4)
///     .build()
///     .unwrap();
/// drop(lp);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    debug: bool,
    slow_callback: Duration,
    paused: bool,
    max_blocking_threads: usize,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: debug mode from `SOLO_DEBUG`, 100 ms threshold, real
    /// clock, up to 64 blocking threads.
    ///
    /// ```
    /// let b = solo::Builder::new();
    /// drop(b.build().unwrap());
    /// ```
    pub fn new() -> Builder {
        let debug = std::env::var("SOLO_DEBUG")
            .map(|v| !v.is_empty() && v != "0")
            .unwrap_or(false);
        Builder {
            debug,
            slow_callback: DEFAULT_SLOW,
            paused: false,
            max_blocking_threads: 64,
        }
    }

    /// Debug mode: warn (through `tracing`, target `solo::debug`, or on
    /// stderr when no subscriber listens) when one poll or callback holds
    /// the loop longer than the threshold, naming the task and where it was
    /// spawned; at close, warn about panics nobody retrieved.
    ///
    /// ```
    /// assert!(solo::EventLoop::builder().debug(true).build().unwrap().is_debug());
    /// ```
    pub fn debug(mut self, on: bool) -> Builder {
        self.debug = on;
        self
    }

    /// The debug mode's threshold (asyncio's `slow_callback_duration`).
    ///
    /// ```
    /// let b = solo::Builder::new().slow_callback_duration(std::time::Duration::from_millis(10));
    /// drop(b);
    /// ```
    pub fn slow_callback_duration(mut self, d: Duration) -> Builder {
        self.slow_callback = d;
        self
    }

    /// A virtual clock that starts paused: when nothing is ready and no I/O
    /// or blocking work is pending, time jumps to the next timer. An hour
    /// of timeouts runs in milliseconds, in the order real time would give.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut lp = solo::EventLoop::builder().paused_clock().build().unwrap();
    /// let wall = std::time::Instant::now();
    /// lp.run_until_complete(async { solo::sleep(Duration::from_secs(3600)).await });
    /// assert!(wall.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn paused_clock(mut self) -> Builder {
        self.paused = true;
        self
    }

    /// Upper bound on threads of the blocking pool used by
    /// [`to_thread`](crate::to_thread) (at least 1).
    ///
    /// ```
    /// drop(solo::Builder::new().max_blocking_threads(2).build().unwrap());
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.max_blocking_threads = n.max(1);
        self
    }

    /// Makes the loop. Fails only if the OS poller cannot be created.
    ///
    /// ```
    /// let lp = solo::Builder::new().build().unwrap();
    /// drop(lp);
    /// ```
    pub fn build(&self) -> std::io::Result<EventLoop> {
        Ok(EventLoop {
            core: Core::new(self)?,
            closed: false,
        })
    }
}

/// Runs `future` on a new event loop and returns its output; then cancels
/// every task still alive, joins the blocking pool and closes the loop
/// (asyncio's `asyncio.run(main())`).
///
/// Panics if called while a loop is running on this thread.
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// let total = solo::run(async {
///     let a = solo::spawn(async { solo::sleep(Duration::from_millis(50)).await; 1 });
///     let b = solo::spawn(async { solo::sleep(Duration::from_millis(50)).await; 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(total, 3);
/// assert!(start.elapsed() < Duration::from_millis(95 * 2)); // concurrent, not 100 ms
/// ```
#[track_caller]
pub fn run<F: Future>(future: F) -> F::Output {
    let mut lp = EventLoop::new().expect("solo::run: cannot create the OS poller");
    let out = lp.run_until_complete(future);
    lp.close();
    out
}

/// Schedules `future` to run as a task on the running loop and returns its
/// handle (asyncio's `create_task` / `ensure_future`).
///
/// The task starts at the loop's next turn, after the tasks already ready,
/// and runs whether or not the handle is awaited; dropping the handle
/// detaches it. The future need not be `Send`.
///
/// Panics outside a running loop.
///
/// ```
/// solo::run(async {
///     let shared = std::rc::Rc::new(std::cell::Cell::new(0)); // !Send is fine
///     let s = shared.clone();
///     let task = solo::spawn(async move { s.set(5); "done" });
///     assert_eq!(task.await.unwrap(), "done");
///     assert_eq!(shared.get(), 5);
/// });
/// ```
#[doc(alias = "create_task")]
#[doc(alias = "ensure_future")]
#[track_caller]
pub fn spawn<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
{
    let location = Location::caller();
    with_core(|core| core.spawn(future, location))
}

/// Schedules `f` to run at the loop's next turn, after everything already
/// ready (asyncio's `loop.call_soon`). Panics outside a running loop.
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// solo::run(async {
///     let hit = Rc::new(Cell::new(false));
///     let h = hit.clone();
///     solo::call_soon(move || h.set(true));
///     solo::yield_now().await;
///     assert!(hit.get());
/// });
/// ```
#[track_caller]
pub fn call_soon(f: impl FnOnce() + 'static) -> Handle {
    with_core(|core| core.call_soon(Box::new(f)))
}

/// The handle of a callback scheduled with [`call_soon`].
///
/// ```
/// solo::run(async {
///     let h = solo::call_soon(|| unreachable!());
///     assert!(h.cancel());
///     solo::yield_now().await;
/// });
/// ```
pub struct Handle {
    task: LocalTask,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl Handle {
    /// Prevents the callback from running. Returns false if it already ran
    /// or was cancelled.
    ///
    /// ```
    /// solo::run(async {
    ///     let h = solo::call_soon(|| ());
    ///     assert!(h.cancel());
    ///     assert!(!h.cancel());
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        // Drops the callback (and what it captured) now, as asyncio does.
        self.task.cancel_callback()
    }

    /// True once [`cancel`](Handle::cancel) stopped the callback
    /// (asyncio's `Handle.cancelled()`); a callback that ran was not
    /// cancelled.
    ///
    /// ```
    /// solo::run(async {
    ///     let ran = solo::call_soon(|| ());
    ///     let stopped = solo::call_soon(|| ());
    ///     assert!(stopped.cancel());
    ///     solo::yield_now().await;
    ///     assert!(!ran.is_cancelled());
    ///     assert!(stopped.is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.task.snapshot().is_cancelled()
    }
}

/// The task running right now, if called from inside a task (asyncio's
/// `current_task()`).
///
/// ```
/// solo::run(async {
///     let t = solo::spawn(async { solo::current_task().unwrap().name().to_owned() });
///     assert!(t.await.unwrap().starts_with("Task-"));
/// });
/// ```
pub fn current_task() -> Option<TaskInfo> {
    with_core(|core| core.current_task())
}

/// Every task of the running loop that has not finished (asyncio's
/// `all_tasks()`), each with its name, id, state and spawn location.
///
/// ```
/// solo::run(async {
///     let _t = solo::spawn(std::future::pending::<()>());
///     let all = solo::all_tasks();
///     assert_eq!(all.len(), 1);
///     assert!(all[0].location().file().ends_with(".rs"));
/// });
/// ```
pub fn all_tasks() -> Vec<TaskInfo> {
    with_core(|core| core.all_tasks())
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
}
