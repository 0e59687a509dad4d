//! The task core alone, on a test scheduler (no runtime): small enough
//! for Miri (`cargo +nightly miri test -p solo --lib task`).

use super::*;
use crate::task::{Kind, Task};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// Wakes from any thread land here, tagged with their loop's id.
static INBOX: Mutex<Vec<Notified>> = Mutex::new(Vec::new());

thread_local! {
    static SOON: RefCell<Vec<Box<dyn FnOnce()>>> = RefCell::new(Vec::new());
}

struct TestSched;

impl Schedule for TestSched {
    fn schedule(task: Notified) {
        INBOX.lock().unwrap().push(task);
    }
    fn is_open(_loop_id: u32) -> bool {
        true
    }
    fn call_soon(_loop_id: u32, f: Box<dyn FnOnce()>) {
        SOON.with(|s| s.borrow_mut().push(f));
    }
}

/// A minimal loop over the task core: a ready queue, wakes from the inbox,
/// and `call_soon` callbacks.
struct TestLoop {
    token: LoopToken,
    queue: VecDeque<LocalTask>,
    current: Current,
    next_id: u64,
}

impl TestLoop {
    fn new() -> TestLoop {
        TestLoop {
            token: LoopToken::new(),
            queue: VecDeque::new(),
            current: Current::default(),
            next_id: 1,
        }
    }

    fn spawn<F: Future + 'static>(&mut self, f: F) -> Task<F::Output> {
        let (handle, t) = crate::task::new_task::<F, TestSched>(
            || f,
            &self.token,
            self.next_id,
            Location::caller(),
        );
        self.next_id += 1;
        self.queue.push_back(t);
        handle
    }

    fn take_wakes(&mut self) {
        let mine: Vec<Notified> = {
            let mut inbox = INBOX.lock().unwrap();
            let (mine, others) = std::mem::take(&mut *inbox)
                .into_iter()
                .partition(|t| t.loop_id() == self.token.id());
            *inbox = others;
            mine
        };
        for t in mine {
            let t = self.token.claim(t).ok().unwrap();
            if t.state().transition_to_scheduled() {
                self.queue.push_back(t);
            }
        }
    }

    /// Runs until nothing is ready; returns how many task runs completed.
    fn run_until_idle(&mut self) -> usize {
        let mut completed = 0;
        loop {
            self.take_wakes();
            let soon = SOON.with(|s| std::mem::take(&mut *s.borrow_mut()));
            if self.queue.is_empty() && soon.is_empty() {
                return completed;
            }
            while let Some(t) = self.queue.pop_front() {
                if t.run(&self.current) == Ran::Completed {
                    completed += 1;
                }
            }
            for f in soon {
                f();
            }
        }
    }
}

fn poll_task<T>(t: &mut Task<T>) -> Poll<Result<T, TaskError>> {
    Pin::new(t).poll(&mut Context::from_waker(Waker::noop()))
}

/// The output of a task that completed with a value.
fn ready<T>(t: &mut Task<T>) -> T {
    match poll_task(t) {
        Poll::Ready(Ok(v)) => v,
        Poll::Ready(Err(e)) => panic!("task failed: {e}"),
        Poll::Pending => panic!("task not complete"),
    }
}

/// Pending once, waking itself.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Pending until woken through the stored waker.
fn parked(slot: Rc<RefCell<Option<Waker>>>) -> impl Future<Output = u32> {
    let mut polled = false;
    std::future::poll_fn(move |cx| {
        if polled {
            return Poll::Ready(5);
        }
        polled = true;
        *slot.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    })
}

/// Counts drops, and remembers the thread that dropped it last.
#[derive(Clone, Default)]
struct Drops(Rc<RefCell<Vec<std::thread::ThreadId>>>);
struct DropFlag(Drops);
impl Drop for DropFlag {
    fn drop(&mut self) {
        (self.0).0.borrow_mut().push(std::thread::current().id());
    }
}
impl Drops {
    fn flag(&self) -> DropFlag {
        DropFlag(self.clone())
    }
    fn count(&self) -> usize {
        self.0.borrow().len()
    }
}

#[test]
fn spawn_run_join() {
    let mut lp = TestLoop::new();
    let mut t = lp.spawn(async { 7u32 });
    assert!(poll_task(&mut t).is_pending());
    assert_eq!(lp.run_until_idle(), 1);
    assert_eq!(t.state(), crate::TaskState::Finished);
    assert_eq!(ready(&mut t), 7);
}

#[test]
fn future_dropped_at_completion_output_kept_for_handle() {
    let mut lp = TestLoop::new();
    let drops = Drops::default();
    let out = Drops::default();
    let (f, o) = (drops.flag(), out.clone());
    let mut t = lp.spawn(async move {
        let _f = f;
        o.flag()
    });
    lp.run_until_idle();
    assert_eq!(drops.count(), 1, "future dropped when it completed");
    assert_eq!(out.count(), 0, "output kept for the handle");
    let Poll::Ready(Ok(flag)) = poll_task(&mut t) else {
        panic!("not ready")
    };
    drop(flag);
    assert_eq!(out.count(), 1);
}

#[test]
fn detached_output_dropped_at_completion_or_on_detach() {
    let mut lp = TestLoop::new();
    let out = Drops::default();
    let o = out.clone();
    drop(lp.spawn(async move { o.flag() }));
    lp.run_until_idle();
    assert_eq!(out.count(), 1, "dropped at completion: no handle");

    let o = out.clone();
    let t = lp.spawn(async move { o.flag() });
    lp.run_until_idle();
    assert_eq!(out.count(), 1);
    drop(t);
    assert_eq!(out.count(), 2, "dropped with the handle");
}

#[test]
fn woken_on_the_loop_thread() {
    let mut lp = TestLoop::new();
    let slot = Rc::new(RefCell::new(None));
    let mut t = lp.spawn(parked(slot.clone()));
    assert_eq!(lp.run_until_idle(), 0);
    assert_eq!(t.state(), crate::TaskState::Pending);
    let w: Waker = slot.borrow_mut().take().unwrap();
    w.wake_by_ref();
    w.wake(); // a second wake of a queued task is a no-op
    assert_eq!(t.state(), crate::TaskState::Pending, "queued by the loop");
    assert_eq!(lp.run_until_idle(), 1);
    assert_eq!(ready(&mut t), 5);
}

#[test]
fn woken_and_dropped_on_another_thread() {
    let mut lp = TestLoop::new();
    let slot = Rc::new(RefCell::new(None));
    let mut t = lp.spawn(parked(slot.clone()));
    lp.run_until_idle();
    let w: Waker = slot.borrow_mut().take().unwrap();
    let w2 = w.clone();
    std::thread::spawn(move || {
        w.wake();
        drop(w2);
    })
    .join()
    .unwrap();
    assert_eq!(lp.run_until_idle(), 1);
    assert_eq!(ready(&mut t), 5);
    assert_eq!(t.raw().refs(), 1, "only the handle is left");
}

#[test]
fn last_reference_freed_on_another_thread() {
    let mut lp = TestLoop::new();
    let drops = Drops::default();
    let slot = Rc::new(RefCell::new(None));
    let (f, s) = (drops.flag(), slot.clone());
    let t = lp.spawn(async move {
        let _f = f;
        parked(s).await
    });
    lp.run_until_idle();
    let w: Waker = slot.borrow_mut().take().unwrap();
    t.cancel();
    drop(t);
    lp.run_until_idle();
    assert_eq!(drops.count(), 1);
    assert_eq!(
        drops.0.borrow()[0],
        std::thread::current().id(),
        "the future is dropped on the loop thread"
    );
    // The waker holds the last reference; it frees plain memory there.
    std::thread::spawn(move || drop(w)).join().unwrap();
}

#[test]
fn waker_clones_count_references_across_threads() {
    let mut lp = TestLoop::new();
    let t = lp.spawn(async {});
    let w = t.raw().waker();
    let w2 = w.clone();
    let w3 = std::thread::spawn(move || {
        let w3 = w2.clone();
        drop(w2);
        w3
    })
    .join()
    .unwrap();
    // handle + queue entry + two wakers
    assert_eq!(t.raw().refs(), 4);
    drop((w, w3));
    assert_eq!(t.raw().refs(), 2);
    lp.run_until_idle();
    assert_eq!(t.raw().refs(), 1);
}

#[test]
fn cancel_idle_task_drops_future_in_place() {
    let mut lp = TestLoop::new();
    let drops = Drops::default();
    let f = drops.flag();
    let mut t = lp.spawn(async move {
        let _f = f;
        std::future::pending::<()>().await;
    });
    lp.run_until_idle();
    assert!(t.cancel());
    assert!(t.cancel(), "still pending: true again, scheduled once");
    assert_eq!(lp.run_until_idle(), 1);
    assert_eq!(drops.count(), 1);
    assert!(t.is_cancelled());
    let Poll::Ready(Err(e)) = poll_task(&mut t) else {
        panic!("not cancelled")
    };
    assert!(e.is_cancelled());
}

#[test]
fn cancel_while_running() {
    let mut lp = TestLoop::new();
    let me: Rc<RefCell<Option<LocalTask>>> = Rc::default();
    let m = me.clone();
    let mut t = lp.spawn(async move {
        let task = m.borrow().clone().unwrap();
        assert!(task.cancel());
        YieldOnce(false).await;
        unreachable!("cancelled at the yield");
    });
    *me.borrow_mut() = Some(t.raw().clone());
    lp.run_until_idle();
    me.borrow_mut().take();
    let Poll::Ready(Err(e)) = poll_task(&mut t) else {
        panic!("not cancelled")
    };
    assert!(e.is_cancelled());
}

#[test]
fn cancel_after_complete_is_refused() {
    let mut lp = TestLoop::new();
    let mut t = lp.spawn(async { 1 });
    lp.run_until_idle();
    assert!(!t.cancel());
    assert_eq!(ready(&mut t), 1);
}

#[test]
fn panic_is_caught_and_retrieved() {
    let mut lp = TestLoop::new();
    let mut t = lp.spawn(async {
        if true {
            panic!("boom");
        }
    });
    let prev = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    lp.run_until_idle();
    panic::set_hook(prev);
    assert!(t.raw().snapshot().is_panic_unretrieved());
    let Poll::Ready(Err(e)) = poll_task(&mut t) else {
        panic!("no error")
    };
    assert!(e.is_panic());
    assert_eq!(e.panic_message(), Some("boom"));
    assert!(!t.raw().snapshot().is_panic_unretrieved());
}

/// `F`, with a destructor that panics: a cleanup (asyncio's `finally`)
/// that fails. Hand-written, so it is dropped after its poll returned
/// (an async block's locals are dropped inside its last poll).
struct PanicOnDrop<F>(F, &'static str);

impl<F: Future + Unpin> Future for PanicOnDrop<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<F> Drop for PanicOnDrop<F> {
    fn drop(&mut self) {
        panic!("{}", self.1);
    }
}

/// Runs the loop until idle with the panic hook silenced.
fn run_quietly(lp: &mut TestLoop) {
    let prev = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    lp.run_until_idle();
    panic::set_hook(prev);
}

/// A cancelled task whose future's destructor panics ends with that
/// panic, as tokio's `JoinError::Panic` (asyncio: an exception raised in
/// `finally` replaces `CancelledError`). It ended "cancelled", the panic
/// only logged through `tracing`.
#[test]
fn cancelled_task_whose_cleanup_panics_ends_with_the_panic() {
    let mut lp = TestLoop::new();
    let mut t = lp.spawn(PanicOnDrop(std::future::pending::<()>(), "flush failed"));
    lp.run_until_idle();
    assert!(t.cancel());
    run_quietly(&mut lp);
    assert!(t.raw().snapshot().is_panicked());
    assert!(t.raw().snapshot().is_panic_unretrieved());
    let Poll::Ready(Err(e)) = poll_task(&mut t) else {
        panic!("no error")
    };
    assert!(e.is_panic() && !e.is_cancelled(), "{e}");
    assert_eq!(e.panic_message(), Some("flush failed"));
}

/// A future whose destructor panics after it returned its value: the
/// task ends with the panic, its value dropped, as in tokio.
#[test]
fn finished_task_whose_cleanup_panics_ends_with_the_panic() {
    let mut lp = TestLoop::new();
    let drops = Drops::default();
    let value = std::future::ready(drops.flag());
    let mut t = lp.spawn(PanicOnDrop(value, "late cleanup failed"));
    run_quietly(&mut lp);
    assert!(t.raw().snapshot().is_panicked());
    assert_eq!(drops.count(), 1, "the value was dropped");
    let Poll::Ready(Err(e)) = poll_task(&mut t) else {
        panic!("no error")
    };
    assert_eq!(e.panic_message(), Some("late cleanup failed"));
}

/// A future that panics and whose destructor panics too ends with the
/// first panic (the second is logged).
#[test]
fn poll_panic_wins_over_a_destructor_panic() {
    let mut lp = TestLoop::new();
    let first = std::future::poll_fn(|_| -> Poll<()> { panic!("first") });
    let mut t = lp.spawn(PanicOnDrop(first, "second"));
    run_quietly(&mut lp);
    let Poll::Ready(Err(e)) = poll_task(&mut t) else {
        panic!("no error")
    };
    assert_eq!(e.panic_message(), Some("first"));
}

#[test]
fn done_callbacks_before_and_after_completion() {
    let mut lp = TestLoop::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let mut t = lp.spawn(async { 3 });
    let s = seen.clone();
    t.add_done_callback(move |r| s.borrow_mut().push(("before", *r.as_ref().unwrap())));
    lp.run_until_idle();
    let s = seen.clone();
    t.add_done_callback(move |r| s.borrow_mut().push(("after", *r.as_ref().unwrap())));
    lp.run_until_idle();
    assert_eq!(*seen.borrow(), [("before", 3), ("after", 3)]);
    assert_eq!(ready(&mut t), 3);
    let s = seen.clone();
    t.add_done_callback(move |_| s.borrow_mut().push(("late", 0)));
    lp.run_until_idle();
    assert_eq!(seen.borrow().len(), 2, "dropped: the output was taken");
}

#[test]
fn callbacks_added_by_a_callback_run_too() {
    let mut lp = TestLoop::new();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let t = Rc::new(lp.spawn(async { 1 }));
    let (s, t2) = (seen.clone(), t.clone());
    t.add_done_callback(move |_| {
        s.borrow_mut().push("first");
        let s = s.clone();
        t2.add_done_callback(move |_| s.borrow_mut().push("second"));
    });
    lp.run_until_idle();
    assert_eq!(*seen.borrow(), ["first", "second"]);
}

#[test]
fn handle_dropped_inside_a_callback_keeps_the_output_alive() {
    let mut lp = TestLoop::new();
    let handle: Rc<RefCell<Option<Task<String>>>> = Rc::default();
    let got = Rc::new(RefCell::new(String::new()));
    let t = lp.spawn(async { String::from("page") });
    let (h, g) = (handle.clone(), got.clone());
    t.add_done_callback(move |r| {
        drop(h.borrow_mut().take()); // the last handle goes away
        g.borrow_mut().push_str(r.as_ref().unwrap()); // r is still valid
    });
    *handle.borrow_mut() = Some(t);
    lp.run_until_idle();
    assert_eq!(*got.borrow(), "page");
}

#[test]
fn handle_polled_inside_a_callback_waits_for_it() {
    let mut lp = TestLoop::new();
    let handle: Rc<RefCell<Option<Task<String>>>> = Rc::default();
    let t = lp.spawn(async { String::from("page") });
    let h = handle.clone();
    let inner = Rc::new(RefCell::new(None));
    let i = inner.clone();
    t.add_done_callback(move |r| {
        let p = poll_task(h.borrow_mut().as_mut().unwrap());
        *i.borrow_mut() = Some(p.is_pending());
        assert_eq!(r.as_deref().unwrap(), "page");
    });
    *handle.borrow_mut() = Some(t);
    lp.run_until_idle();
    assert_eq!(*inner.borrow(), Some(true));
    let p = poll_task(handle.borrow_mut().as_mut().unwrap());
    assert_eq!(p.map(|r| r.unwrap()), Poll::Ready(String::from("page")));
}

#[test]
fn detached_task_with_callbacks_drops_output_after_them() {
    let mut lp = TestLoop::new();
    let out = Drops::default();
    let o = out.clone();
    let t = lp.spawn(async move { o.flag() });
    let o = out.clone();
    t.add_done_callback(move |_| assert_eq!(o.count(), 0, "output alive in callback"));
    drop(t);
    lp.run_until_idle();
    assert_eq!(out.count(), 1);
}

#[test]
fn callback_cells_run_once_or_are_cancelled() {
    let lp = TestLoop::new();
    let hits = Rc::new(Cell::new(0));
    let cell = |h: Rc<Cell<u32>>| {
        LocalTask::new::<_, TestSched>(
            || async move { h.set(h.get() + 1) },
            &lp.token,
            Kind::Callback,
            0,
            Location::caller(),
        )
    };
    let a = cell(hits.clone());
    assert!(a.run_callback());
    assert!(!a.run_callback());
    assert!(!a.cancel_callback());
    let b = cell(hits.clone());
    assert!(b.cancel_callback());
    assert!(!b.run_callback());
    assert_eq!(hits.get(), 1);
}

#[test]
fn current_names_the_running_task() {
    let mut lp = TestLoop::new();
    let seen = Rc::new(RefCell::new(None));
    let cur = Rc::new(Current::default());
    let (s, c) = (seen.clone(), cur.clone());
    let t = lp.spawn(async move {
        *s.borrow_mut() = c.info().map(|i| i.name().to_owned());
    });
    t.set_name("crawler");
    let queued = lp.queue.pop_front().unwrap();
    assert_eq!(queued.run(&cur), Ran::Completed);
    assert_eq!(seen.borrow().as_deref(), Some("crawler"));
    assert!(cur.info().is_none(), "cleared after the run");
}

#[test]
fn claim_checks_the_loop() {
    let mut a = TestLoop::new();
    let b = LoopToken::new();
    let t = a.spawn(async {});
    let n = Notified::from_raw(t.raw().raw.clone());
    let n = b.claim(n).err().expect("another loop's task is refused");
    assert!(a.token.claim(n).is_ok());
    a.run_until_idle();
}

/// A task whose future is built in place: a builder that panics leaves
/// no task behind (the allocation is freed; Miri checks it leaks nothing)
/// and the next task is whole.
#[test]
fn a_task_built_in_place_runs_and_a_builder_that_panics_leaves_nothing() {
    let mut lp = TestLoop::new();
    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::task::new_task::<std::future::Ready<u32>, TestSched>(
            || panic!("no future"),
            &lp.token,
            1,
            Location::caller(),
        )
    }));
    assert!(made.is_err());
    let (mut t, raw) = crate::task::new_task::<_, TestSched>(
        || std::future::ready([7u64; 512]),
        &lp.token,
        2,
        Location::caller(),
    );
    lp.queue.push_back(raw);
    assert_eq!(lp.run_until_idle(), 1);
    assert_eq!(ready(&mut t)[511], 7);
}
