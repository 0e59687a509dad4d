//! Task behaviour: order, callbacks, cancellation, panics, foreign wakes.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use solo::{EventLoop, TaskState};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

/// The seed program: three `get_request` tasks that print, sleep 1 s, print.
/// "start" lines come in spawn order, and the whole thing takes 1 s of loop
/// time, not 3 (measured on the paused clock, so the test is exact).
#[test]
fn seed_program_runs_in_registration_order_and_concurrently() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    let out = log();
    let o = out.clone();
    let took = lp.run_until_complete(async move {
        let start = solo::time::now();
        let tasks: Vec<_> = ["1.com", "2.com", "3.com"]
            .into_iter()
            .map(|url| {
                let o = o.clone();
                solo::spawn(async move {
                    o.borrow_mut().push(format!("requesting {url}"));
                    solo::sleep(Duration::from_secs(1)).await;
                    o.borrow_mut().push(format!("done {url}"));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        solo::time::now() - start
    });
    assert_eq!(
        *out.borrow(),
        [
            "requesting 1.com",
            "requesting 2.com",
            "requesting 3.com",
            "done 1.com",
            "done 2.com",
            "done 3.com"
        ]
    );
    assert_eq!(took, Duration::from_secs(1));
}

/// A blocking call inside a task serialises everything: each task runs to
/// its end before the next one starts.
#[test]
fn blocking_call_serialises_tasks() {
    let out = log();
    let o = out.clone();
    solo::run(async move {
        let tasks: Vec<_> = (1..=3)
            .map(|i| {
                let o = o.clone();
                solo::spawn(async move {
                    o.borrow_mut().push(format!("start {i}"));
                    std::thread::sleep(Duration::from_millis(5)); // the pitfall
                    o.borrow_mut().push(format!("end {i}"));
                })
            })
            .collect();
        solo::gather(tasks).await;
    });
    assert_eq!(
        *out.borrow(),
        ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]
    );
}

#[test]
fn woken_tasks_run_fifo_in_wake_order() {
    let out = log();
    let o = out.clone();
    solo::run(async move {
        let (txs, tasks): (Vec<_>, Vec<_>) = (0..5)
            .map(|i| {
                let (tx, rx) = futures::channel::oneshot::channel::<()>();
                let o = o.clone();
                (
                    tx,
                    solo::spawn(async move {
                        rx.await.unwrap();
                        o.borrow_mut().push(i.to_string());
                    }),
                )
            })
            .unzip();
        solo::yield_now().await; // all five are now waiting
        let mut txs: Vec<_> = txs.into_iter().map(Some).collect();
        for i in [3, 0, 4, 1, 2] {
            txs[i].take().unwrap().send(()).unwrap();
        }
        solo::gather(tasks).await;
    });
    assert_eq!(*out.borrow(), ["3", "0", "4", "1", "2"]);
}

#[test]
fn done_callbacks_run_once_in_order_after_finish_and_see_result() {
    let out = log();
    let o = out.clone();
    solo::run(async move {
        let t = solo::spawn(async { 42 });
        for name in ["a", "b", "c"] {
            let o = o.clone();
            t.add_done_callback(move |r| {
                o.borrow_mut()
                    .push(format!("{name}:{}", r.as_ref().unwrap()))
            });
        }
        assert!(o.borrow().is_empty(), "not before the task finished");
        solo::yield_now().await;
        // As in asyncio, finishing the task schedules its callbacks: they
        // run after what was already queued (this task's own turn).
        assert!(t.is_done());
        assert!(o.borrow().is_empty(), "scheduled, not run inline");
        solo::yield_now().await;
        assert_eq!(*o.borrow(), ["a:42", "b:42", "c:42"]);
        // Added to a finished task: runs on the next loop turn, not now.
        let o2 = o.clone();
        t.add_done_callback(move |r| {
            o2.borrow_mut()
                .push(format!("late:{}", r.as_ref().unwrap()))
        });
        assert_eq!(o.borrow().len(), 3);
        solo::yield_now().await;
        assert_eq!(o.borrow().last().unwrap(), "late:42");
        assert_eq!(t.await.unwrap(), 42);
        assert_eq!(o.borrow().len(), 4, "each callback ran exactly once");
    });
}

#[test]
fn late_callback_runs_before_await_takes_the_output() {
    let seen = Rc::new(Cell::new(0));
    let s = seen.clone();
    solo::run(async move {
        let t = solo::spawn(async { 7 });
        solo::yield_now().await;
        assert!(t.is_done());
        t.add_done_callback(move |r| s.set(*r.as_ref().unwrap()));
        assert_eq!(t.await.unwrap(), 7);
    });
    assert_eq!(seen.get(), 7);
}

#[test]
fn callbacks_of_detached_task_still_run() {
    let seen = Rc::new(Cell::new(0));
    let s = seen.clone();
    solo::run(async move {
        let t = solo::spawn(async {
            solo::sleep(Duration::from_millis(1)).await;
            5
        });
        t.add_done_callback(move |r| s.set(*r.as_ref().unwrap()));
        drop(t);
        solo::sleep(Duration::from_millis(20)).await;
    });
    assert_eq!(seen.get(), 5);
}

struct Guard(Rc<Cell<bool>>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancel_drops_future_at_next_scheduling_point() {
    solo::run(async {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let t = solo::spawn(async move {
            let _g = Guard(d);
            solo::sleep(Duration::from_secs(3600)).await;
        });
        solo::yield_now().await;
        assert_eq!(t.state(), TaskState::Pending);
        assert!(t.cancel());
        assert!(
            !dropped.get(),
            "dropped at the next scheduling point, not inside cancel()"
        );
        solo::yield_now().await;
        assert!(dropped.get());
        assert!(t.is_cancelled());
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn cancel_before_first_poll_never_runs_the_future() {
    solo::run(async {
        let ran = Rc::new(Cell::new(false));
        let r = ran.clone();
        let t = solo::spawn(async move { r.set(true) });
        assert!(t.cancel());
        assert!(t.await.unwrap_err().is_cancelled());
        assert!(!ran.get());
    });
}

#[test]
fn cancel_finished_task_returns_false() {
    solo::run(async {
        let t = solo::spawn(async { 1 });
        solo::yield_now().await;
        assert!(!t.cancel());
        assert_eq!(t.await.unwrap(), 1);
    });
}

#[test]
fn task_can_cancel_itself_through_its_handle() {
    solo::run(async {
        let slot: Rc<RefCell<Option<solo::Task<()>>>> = Rc::new(RefCell::new(None));
        let s = slot.clone();
        let t = solo::spawn(async move {
            solo::yield_now().await;
            s.borrow().as_ref().unwrap().cancel();
            solo::sleep(Duration::from_secs(1)).await;
            unreachable!("cancelled at the await above");
        });
        *slot.borrow_mut() = Some(t);
        solo::sleep(Duration::from_millis(10)).await;
        let t = slot.borrow_mut().take().unwrap();
        assert!(t.is_cancelled());
    });
}

#[test]
fn panic_in_task_is_caught_and_loop_keeps_going() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = solo::run(async {
        let bad = solo::spawn(async {
            solo::yield_now().await;
            panic!("parse error on page 3");
        });
        let good = solo::spawn(async {
            solo::sleep(Duration::from_millis(5)).await;
            "fine"
        });
        let err = bad.await.unwrap_err();
        (err.panic_message().map(str::to_owned), good.await.unwrap())
    });
    std::panic::set_hook(prev);
    assert_eq!(r, (Some("parse error on page 3".to_owned()), "fine"));
}

#[test]
fn dropping_handle_detaches_task() {
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    solo::run(async move {
        drop(solo::spawn(async move {
            solo::sleep(Duration::from_millis(5)).await;
            d.set(true);
        }));
        solo::sleep(Duration::from_millis(30)).await;
    });
    assert!(done.get());
}

#[test]
fn run_cancels_leftover_tasks_and_drops_them() {
    let dropped = Rc::new(Cell::new(0));
    let d = dropped.clone();
    solo::run(async move {
        for _ in 0..10 {
            let g = Guard2(d.clone());
            drop(solo::spawn(async move {
                let _g = g;
                std::future::pending::<()>().await;
            }));
        }
        solo::yield_now().await;
    });
    assert_eq!(dropped.get(), 10);
}

struct Guard2(Rc<Cell<u32>>);
impl Drop for Guard2 {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn names_ids_states_and_introspection() {
    solo::run(async {
        let t = solo::spawn(async {
            let me = solo::current_task().unwrap();
            assert_eq!(me.state(), TaskState::Running);
            me.name().to_owned()
        });
        t.set_name("worker-1");
        let line = line!() - 6;
        let all = solo::all_tasks();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name(), "worker-1");
        assert_eq!(all[0].location().line(), line);
        assert!(all[0].location().file().ends_with("tasks.rs"));
        assert!(
            solo::current_task().is_none(),
            "the root future is not a task"
        );
        assert_eq!(t.await.unwrap(), "worker-1");
        assert!(solo::all_tasks().is_empty());
    });
}

#[test]
fn waker_sent_to_a_std_thread_wakes_the_loop() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let n = solo::run(async move {
        let t = solo::spawn(async move {
            std::future::poll_fn(|cx| {
                if f.load(Ordering::Acquire) {
                    return std::task::Poll::Ready(7);
                }
                let waker = cx.waker().clone();
                let f = f.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    f.store(true, Ordering::Release);
                    waker.wake();
                });
                std::task::Poll::Pending
            })
            .await
        });
        t.await.unwrap()
    });
    assert_eq!(n, 7);
    assert!(flag.load(Ordering::Relaxed));
}

#[test]
fn root_future_woken_from_another_thread() {
    let (tx, rx) = futures::channel::oneshot::channel();
    let h = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send(9).unwrap();
    });
    assert_eq!(solo::run(rx).unwrap(), 9);
    h.join().unwrap();
}

#[test]
fn to_thread_runs_off_loop_and_resumes_panics_in_the_awaiter() {
    let loop_thread = std::thread::current().id();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    solo::run(async move {
        let other = solo::to_thread(|| std::thread::current().id()).await;
        assert_ne!(other, loop_thread);
        let t = solo::spawn(solo::to_thread(|| -> u8 { panic!("disk on fire") }));
        let err = t.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("disk on fire"));
        // Many at once: a bounded pool, all complete.
        let sum: u64 = solo::gather((0..200u64).map(|i| solo::to_thread(move || i)))
            .await
            .iter()
            .sum();
        assert_eq!(sum, 199 * 200 / 2);
    });
    std::panic::set_hook(prev);
}

#[test]
#[allow(clippy::async_yields_async)]
fn event_loop_keeps_tasks_between_runs() {
    let mut lp = EventLoop::new().unwrap();
    let t = lp.run_until_complete(async {
        solo::spawn(async {
            solo::sleep(Duration::from_millis(5)).await;
            3
        })
    });
    assert_eq!(lp.run_until_complete(t).unwrap(), 3);
    lp.close();
}

#[test]
fn spawn_outside_a_loop_panics_with_asyncio_message() {
    let err = std::panic::catch_unwind(|| drop(solo::spawn(async {}))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("no running event loop"), "{msg}");
    let err = std::panic::catch_unwind(|| drop(solo::sleep(Duration::from_secs(1)))).unwrap_err();
    assert!(err
        .downcast_ref::<String>()
        .unwrap()
        .contains("no running event loop"));
}

#[test]
fn nested_loop_on_same_thread_panics() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = solo::run(async {
        std::panic::catch_unwind(|| solo::run(async {})).map_err(|e| {
            e.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| e.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        })
    });
    std::panic::set_hook(prev);
    assert!(r.unwrap_err().contains("another loop is running"));
}

#[test]
fn call_soon_and_call_later_interleave_with_tasks_in_order() {
    let out = log();
    let o = out.clone();
    solo::run(async move {
        let o1 = o.clone();
        let t = solo::spawn(async move { o1.borrow_mut().push("task".into()) });
        let o2 = o.clone();
        solo::call_soon(move || o2.borrow_mut().push("soon".into()));
        let o3 = o.clone();
        let cancelled = solo::call_later(Duration::from_millis(1), move || {
            o3.borrow_mut().push("never".into())
        });
        let o4 = o.clone();
        solo::call_later(Duration::from_millis(2), move || {
            o4.borrow_mut().push("later".into())
        });
        assert!(cancelled.cancel());
        t.await.unwrap();
        solo::sleep(Duration::from_millis(10)).await;
    });
    assert_eq!(*out.borrow(), ["task", "soon", "later"]);
}

#[test]
fn panicking_callback_does_not_stop_the_loop() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let ok = solo::run(async {
        solo::call_soon(|| panic!("bad callback"));
        solo::yield_now().await;
        solo::yield_now().await;
        true
    });
    std::panic::set_hook(prev);
    assert!(ok);
}

#[test]
fn table_of_live_tasks_stays_right_after_a_burst_finishes() {
    solo::run(async {
        // 5,000 tasks; all but every 500th finish at once, which makes the
        // loop compact its table of live tasks.
        let tasks: Vec<_> = (0..5_000u32)
            .map(|i| {
                solo::spawn(async move {
                    if i % 500 == 0 {
                        solo::sleep(Duration::from_secs(3600)).await;
                    }
                    i
                })
            })
            .collect();
        solo::yield_now().await;
        solo::yield_now().await;
        let live: Vec<_> = solo::all_tasks()
            .into_iter()
            .filter(|t| t.state() != solo::TaskState::Finished)
            .collect();
        assert_eq!(live.len(), 10, "the ten sleepers, and nothing else");
        let mut sum = 0;
        for (i, t) in tasks.into_iter().enumerate() {
            if i % 500 == 0 {
                assert!(t.cancel());
                assert!(t.await.unwrap_err().is_cancelled());
            } else {
                sum += t.await.unwrap();
            }
        }
        assert_eq!(sum, (0..5_000u32).filter(|i| i % 500 != 0).sum::<u32>());
        assert!(solo::all_tasks().is_empty());
    });
}

#[test]
fn cancel_requested_outside_the_loop_is_carried_out_at_close() {
    let mut lp = EventLoop::new().unwrap();
    let (t,) = lp.run_until_complete(async {
        let t = solo::spawn(std::future::pending::<()>());
        solo::yield_now().await; // t ran once and waits
        (t,)
    });
    // No loop runs here: the request reaches the loop through its inbox.
    assert!(t.cancel());
    lp.close();
    assert!(t.is_cancelled());
}

#[test]
fn callback_handle_is_cancelled_only_after_cancel() {
    // asyncio's Handle.cancelled(): false for a callback that ran.
    solo::run(async {
        let hit = Rc::new(Cell::new(0));
        let h = hit.clone();
        let ran = solo::call_soon(move || h.set(h.get() + 1));
        let stopped = solo::call_soon(|| unreachable!());
        assert!(!ran.is_cancelled() && !stopped.is_cancelled());
        assert!(stopped.cancel());
        assert!(stopped.is_cancelled());
        solo::yield_now().await;
        assert_eq!(hit.get(), 1);
        assert!(!ran.is_cancelled(), "it ran; nobody cancelled it");
        assert!(!ran.cancel(), "too late to cancel");
        assert!(!ran.is_cancelled());
        assert!(stopped.is_cancelled());
    });
}

/// asyncio raises "Task got Future attached to a different loop" when a
/// task is awaited in another loop; solo's awaiting task waited until the
/// task's own loop ran again (for good, if it never did).
#[test]
fn a_task_awaited_in_another_loop_is_a_clear_panic_not_a_hang() {
    let mut first = EventLoop::new().unwrap();
    let (done, pending) = first.run_until_complete(async {
        let done = solo::spawn(async { 7 });
        solo::yield_now().await;
        let pending = solo::spawn(std::future::pending::<()>());
        pending.set_name("waits-for-ever");
        (done, pending)
    });
    let mut second = EventLoop::new().unwrap();
    // A finished task's output can be taken anywhere.
    assert_eq!(second.run_until_complete(done).unwrap(), 7);
    let awaited = second.run_until_complete(async move {
        let t = solo::spawn(pending);
        solo::timeout(Duration::from_secs(5), t).await
    });
    let err = awaited
        .expect("an error at once, not a wait")
        .expect_err("the awaiting task panics");
    let msg = err.panic_message().unwrap_or_default().to_string();
    assert!(
        msg.contains("another event loop") && msg.contains("waits-for-ever"),
        "{msg}"
    );
}

/// Python 3.6 style: a done callback added between two
/// `run_until_complete` calls runs at the task's own loop's next turn,
/// whether the task finished or not; on a task of a closed loop it panics
/// at the caller.
#[test]
#[allow(clippy::async_yields_async)] // the runs return task handles
fn done_callback_added_outside_the_loop_runs_at_its_next_turn() {
    let mut lp = EventLoop::new().unwrap();
    let seen = log();
    let go = Rc::new(solo::sync::Event::new());
    let g = go.clone();
    let pending = lp.run_until_complete(async move {
        solo::spawn(async move {
            g.wait().await;
            2
        })
    });
    let done = lp.run_until_complete(async {
        let t = solo::spawn(async { 1 });
        solo::yield_now().await;
        t
    });
    assert!(done.is_done() && !pending.is_done());
    for t in [&pending, &done] {
        let s = seen.clone();
        t.add_done_callback(move |r| s.borrow_mut().push(format!("{}", r.as_ref().unwrap())));
    }
    // Another loop running in between does not run (or lose) them.
    EventLoop::new()
        .unwrap()
        .run_until_complete(solo::yield_now());
    assert!(seen.borrow().is_empty());
    lp.run_until_complete(async {
        go.set();
        for _ in 0..3 {
            solo::yield_now().await;
        }
    });
    assert_eq!(*seen.borrow(), ["1", "2"]);
    lp.close();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        done.add_done_callback(|_| ());
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("is closed"), "{msg}");
}

/// A cleanup (`Drop`) that panics: asyncio's `finally: flush()` whose
/// `flush()` raises.
struct FailingCleanup;
impl Drop for FailingCleanup {
    fn drop(&mut self) {
        panic!("could not flush the file");
    }
}

/// A panic in the cleanup of a cancelled task's future is what the task
/// ends with, as tokio's `JoinError::Panic` (asyncio: an exception raised
/// in `finally` replaces `CancelledError`): awaiting it, a done callback
/// and its state all see the panic. It ended plain "cancelled", the panic
/// only logged through `tracing` (invisible without a subscriber).
#[test]
fn panic_in_the_cleanup_of_a_cancelled_task_is_its_result() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    let (msg, state) = solo::run(async move {
        let t = solo::spawn(async {
            let _cleanup = FailingCleanup;
            std::future::pending::<()>().await;
        });
        t.add_done_callback(move |r| s.set(r.as_ref().is_err_and(|e| e.is_panic())));
        solo::yield_now().await;
        t.cancel();
        solo::yield_now().await;
        let state = t.state();
        let e = t.await.unwrap_err();
        assert!(e.is_panic() && !e.is_cancelled(), "{e}");
        (e.panic_message().map(str::to_owned), state)
    });
    std::panic::set_hook(prev);
    assert_eq!(msg.as_deref(), Some("could not flush the file"));
    assert_eq!(state, TaskState::Panicked);
    assert!(seen.get(), "the done callback saw the panic");
}

/// The same when the loop closes with the task pending: the kept handle
/// says the task panicked, not that it was cancelled.
#[test]
fn panic_in_the_cleanup_of_a_task_cancelled_at_close_is_its_result() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut lp = EventLoop::new().unwrap();
    let (t,) = lp.run_until_complete(async {
        let t = solo::spawn(async {
            let _cleanup = FailingCleanup;
            std::future::pending::<()>().await;
        });
        solo::yield_now().await;
        (t,)
    });
    lp.close();
    std::panic::set_hook(prev);
    assert!(t.is_done());
    assert!(!t.is_cancelled());
    assert_eq!(t.state(), TaskState::Panicked);
}

/// `spawn_with`'s builder runs inside `spawn_with`, with the loop at
/// hand: it may spawn tasks of its own (which get the earlier ids and run
/// first, in registration order), and one that panics spawns nothing and
/// leaves the loop running.
#[test]
fn spawn_with_builders_may_spawn_and_a_panicking_one_leaves_no_task() {
    let order = log();
    let o = order.clone();
    solo::run(async move {
        let inner = o.clone();
        let outer = solo::spawn_with(move || {
            let first = inner.clone();
            solo::spawn(async move { first.borrow_mut().push("inner".into()) });
            async move {
                inner.borrow_mut().push("outer".into());
                7
            }
        });
        let before = solo::all_tasks().len();
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            solo::spawn_with(|| -> std::future::Ready<()> { panic!("no future") })
        }));
        assert!(failed.is_err());
        assert_eq!(solo::all_tasks().len(), before);
        assert_eq!(outer.await.unwrap(), 7);
    });
    assert_eq!(*order.borrow(), ["inner", "outer"]);
}
