//! Timers: sleep, timeout, interval, call_later, the paused clock.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::EventLoop;

/// An hour of timeouts on the paused clock runs in milliseconds of wall
/// time, in the order real time would give.
#[test]
fn paused_clock_jumps_and_keeps_order() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let wall = Instant::now();
    let virt = lp.run_until_complete(async move {
        let start = solo::time::now();
        let mut tasks = Vec::new();
        // 720 timeouts spread over an hour, spawned in scrambled order.
        for i in 0..720u64 {
            let secs = (i * 7919) % 3600 + 1;
            let o = o.clone();
            tasks.push(solo::spawn(async move {
                let r =
                    solo::timeout(Duration::from_secs(secs), std::future::pending::<()>()).await;
                assert!(r.is_err());
                o.borrow_mut().push((solo::time::now() - start, secs));
            }));
        }
        solo::gather(tasks).await;
        solo::time::now() - start
    });
    let order = order.borrow();
    let longest = order.iter().map(|(_, s)| *s).max().unwrap();
    assert!(longest > 3500);
    assert_eq!(virt, Duration::from_secs(longest));
    assert_eq!(order.len(), 720);
    for w in order.windows(2) {
        assert!(w[0].1 <= w[1].1, "fired out of deadline order: {:?}", w);
    }
    for (at, secs) in order.iter() {
        assert_eq!(
            *at,
            Duration::from_secs(*secs),
            "fired exactly at its deadline"
        );
    }
    // Generous: the point is "not an hour".
    assert!(wall.elapsed() < Duration::from_secs(30));
}

/// 100,000 tasks each sleeping 1 s complete together on one thread.
#[test]
fn hundred_thousand_sleepers_finish_together() {
    let wall = Instant::now();
    let n = solo::run(async {
        let tasks: Vec<_> = (0..100_000u64)
            .map(|i| {
                solo::spawn(async move {
                    solo::sleep(Duration::from_secs(1)).await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for t in tasks {
            sum += t.await.unwrap();
        }
        sum
    });
    assert_eq!(n, 99_999 * 100_000 / 2);
    let took = wall.elapsed();
    // The bound: well under 2 s of wall time for 1 s of sleep.
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

#[test]
fn sleep_never_wakes_early() {
    solo::run(async {
        for ms in [1u64, 3, 10, 27] {
            let start = Instant::now();
            solo::sleep(Duration::from_millis(ms)).await;
            assert!(start.elapsed() >= Duration::from_millis(ms));
        }
    });
}

#[test]
fn timeout_cancels_inner_future_and_ready_future_wins() {
    struct Flag(Rc<RefCell<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.borrow_mut() = true;
        }
    }
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    lp.run_until_complete(async {
        let dropped = Rc::new(RefCell::new(false));
        let d = dropped.clone();
        let r = solo::timeout(Duration::from_secs(5), async move {
            let _f = Flag(d);
            solo::sleep(Duration::from_secs(10)).await;
        })
        .await;
        assert_eq!(r, Err(solo::Elapsed::clone(&r.unwrap_err())));
        assert!(*dropped.borrow(), "the timed-out future was dropped");
        assert_eq!(solo::timeout(Duration::ZERO, async { 1 }).await, Ok(1));
    });
}

/// Polls a pinned timeout until it is done or `at` comes, whichever is
/// first: `Some(result)`, or `None` at `at` with the timeout still running.
async fn run_until<F: std::future::Future>(
    t: &mut std::pin::Pin<&mut solo::time::Timeout<F>>,
    at: Instant,
) -> Option<Result<F::Output, solo::Elapsed>> {
    use std::future::Future;
    let mut stop = std::pin::pin!(solo::sleep_until(at));
    std::future::poll_fn(|cx| match t.as_mut().poll(cx) {
        std::task::Poll::Ready(r) => std::task::Poll::Ready(Some(r)),
        std::task::Poll::Pending => stop.as_mut().poll(cx).map(|()| None),
    })
    .await
}

#[test]
fn timeout_deadline_and_reschedule_while_running() {
    let ms = Duration::from_millis;
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    lp.run_until_complete(async move {
        let start = solo::time::now();
        assert_eq!(solo::timeout(ms(7), async {}).deadline(), start + ms(7));

        // Later: a 10 ms timeout pushed to 30 ms lets 20 ms of work finish.
        let mut t = std::pin::pin!(solo::timeout(ms(10), solo::sleep(ms(20))));
        assert!(run_until(&mut t, start + ms(5)).await.is_none());
        t.as_mut().reschedule(start + ms(30));
        assert_eq!(t.deadline(), start + ms(30));
        assert_eq!(run_until(&mut t, start + ms(60)).await, Some(Ok(())));
        assert_eq!(solo::time::now() - start, ms(20));

        // Earlier: an hour brought down to 5 ms from now expires then.
        let start = solo::time::now();
        let mut t = std::pin::pin!(solo::timeout(
            Duration::from_secs(3600),
            std::future::pending::<()>()
        ));
        assert!(run_until(&mut t, start + ms(1)).await.is_none());
        t.as_mut().reschedule(start + ms(5));
        assert!(run_until(&mut t, start + ms(60)).await.unwrap().is_err());
        assert_eq!(solo::time::now() - start, ms(5));

        // Past: expires at the next poll, without waiting.
        let start = solo::time::now();
        let mut t = std::pin::pin!(solo::timeout(ms(50), std::future::pending::<()>()));
        assert!(run_until(&mut t, start + ms(1)).await.is_none());
        t.as_mut().reschedule(start);
        assert!(t.as_mut().await.is_err());
        assert_eq!(solo::time::now() - start, ms(1));

        // ...but a ready inner future still wins, as with a zero timeout.
        let mut t = solo::timeout(ms(50), std::future::ready(3));
        std::pin::Pin::new(&mut t).reschedule(start);
        assert_eq!(t.await, Ok(3));
    });
}

#[test]
fn interval_ticks_on_schedule_on_paused_clock() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    lp.run_until_complete(async {
        let start = solo::time::now();
        let mut iv = solo::time::interval(Duration::from_millis(250));
        let mut ticks = Vec::new();
        for _ in 0..5 {
            ticks.push(iv.tick().await - start);
        }
        let want: Vec<_> = (0..5).map(|i| Duration::from_millis(250 * i)).collect();
        assert_eq!(ticks, want);
    });
}

#[test]
fn call_at_order_matches_deadlines() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    let out = Rc::new(RefCell::new(Vec::new()));
    let o = out.clone();
    lp.run_until_complete(async move {
        let now = solo::time::now();
        for ms in [50u64, 10, 30, 10, 20] {
            let o = o.clone();
            solo::call_at(now + Duration::from_millis(ms), move || {
                o.borrow_mut().push(ms)
            });
        }
        solo::sleep(Duration::from_millis(100)).await;
    });
    assert_eq!(*out.borrow(), [10, 10, 20, 30, 50]);
}

#[test]
fn dropped_sleep_removes_its_timer() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    lp.run_until_complete(async {
        let start = solo::time::now();
        // A pending 1-hour sleep that is dropped must not keep the paused
        // clock from stopping at the 1-second one.
        let long = solo::spawn(solo::sleep(Duration::from_secs(3600)));
        solo::yield_now().await;
        long.cancel();
        solo::sleep(Duration::from_secs(1)).await;
        assert_eq!(solo::time::now() - start, Duration::from_secs(1));
    });
}

/// A paused clock still jumps right after a `to_thread` job: the job no
/// longer counts as in flight once its task is woken, so the loop does not
/// park in the poller for the whole (virtual) sleep.
#[test]
fn paused_clock_jumps_after_to_thread() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    let wall = Instant::now();
    lp.run_until_complete(async {
        for i in 0..200 {
            assert_eq!(solo::to_thread(move || i).await, i);
            solo::sleep(Duration::from_secs(60)).await;
        }
    });
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "{:?}",
        wall.elapsed()
    );
}

/// An open socket does not freeze a paused clock: an idle listener, a
/// connection waiting for a reply that comes after a virtual second, and
/// a timeout that must fire while a read waits (it hung for good: the
/// loop waited on the poller in real time and never moved the clock).
#[test]
fn paused_clock_moves_while_sockets_are_open() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    let wall = Instant::now();
    lp.run_until_complete(async {
        let listener = solo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let t0 = solo::time::now();
        solo::sleep(Duration::from_secs(5)).await;
        assert_eq!(solo::time::now() - t0, Duration::from_secs(5));
        let server = solo::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            solo::sleep(Duration::from_secs(1)).await;
            s.write_all(b"late").await.unwrap();
            s
        });
        let c = solo::net::TcpStream::connect(addr).await.unwrap();
        let mut got = [0u8; 4];
        let t1 = solo::time::now();
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"late");
        assert_eq!(solo::time::now() - t1, Duration::from_secs(1));
        let _keep = server.await.unwrap();
        let mut one = [0u8; 1];
        let r = solo::timeout(Duration::from_secs(30), c.read(&mut one)).await;
        assert!(
            r.is_err(),
            "the read has nothing to read: the timeout ends it"
        );
    });
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "{:?}",
        wall.elapsed()
    );
}

/// `interval(Duration::MAX)` ticks once and then never (its second tick
/// panicked: the next deadline overflowed `Instant`).
#[test]
fn interval_of_duration_max_ticks_once_then_never() {
    let mut lp = EventLoop::builder().paused_clock().build().unwrap();
    lp.run_until_complete(async {
        let mut i = solo::time::interval(Duration::MAX);
        i.tick().await;
        let second = solo::timeout(Duration::from_secs(3600), i.tick()).await;
        assert!(second.is_err());
    });
}

/// A `Sleep` polled in one loop and then awaited in another registers in
/// the loop that polls it now. Its first loop's wheel key used to be used
/// against the second loop's wheel, where it matched an unrelated entry:
/// the sleep fired at that entry's deadline (early) and took its waker, so
/// the task behind it never woke.
#[test]
fn sleep_moved_to_another_loop_registers_there() {
    let mut first = EventLoop::new().unwrap();
    let mut second = EventLoop::new().unwrap();
    let start = Instant::now();
    #[allow(clippy::async_yields_async)] // the pending sleep is the point
    let mut moved = first.run_until_complete(async {
        let mut s = Box::pin(solo::sleep(Duration::from_millis(300)));
        assert!(futures::poll!(&mut s).is_pending());
        s
    });
    let (done_after, other_woke) = second.run_until_complete(async move {
        let other = solo::spawn(solo::sleep(Duration::from_millis(100)));
        solo::yield_now().await; // `other` registers its timer
        let r = solo::timeout(Duration::from_secs(2), &mut moved).await;
        assert!(r.is_ok(), "the moved sleep never completed");
        let done_after = start.elapsed();
        let other = solo::timeout(Duration::from_secs(1), other).await;
        (done_after, other.is_ok())
    });
    assert!(other_woke, "the other task's 100 ms sleep never woke");
    assert!(
        done_after >= Duration::from_millis(300),
        "the 300 ms sleep completed early, after {done_after:?}"
    );
    // The first loop still works: the entry the sleep left there only
    // wakes its old waker once, at its deadline.
    first.run_until_complete(async { solo::sleep(Duration::from_millis(20)).await });
}

/// An `Interval` kept in a struct across two `solo::run` calls (one loop
/// per command) ticks on its schedule in the second loop, and the second
/// loop's other timers keep working.
#[test]
fn interval_kept_across_two_runs_ticks_on_time() {
    let mut every = solo::run(async {
        let mut every = solo::time::interval(Duration::from_millis(200));
        every.tick().await;
        // Gives up on the next tick: its sleep stays registered here.
        let r = solo::timeout(Duration::from_millis(10), every.tick()).await;
        assert!(r.is_err());
        every
    });
    let start = Instant::now();
    let (tick_after, other_woke) = solo::run(async move {
        let other = solo::spawn(solo::sleep(Duration::from_millis(50)));
        solo::yield_now().await;
        let tick = solo::timeout(Duration::from_secs(2), every.tick()).await;
        assert!(tick.is_ok(), "the tick never came");
        let tick_after = start.elapsed();
        let other = solo::timeout(Duration::from_secs(1), other).await;
        (tick_after, other.is_ok())
    });
    assert!(other_woke, "the other task's 50 ms sleep never woke");
    assert!(
        tick_after >= Duration::from_millis(150),
        "the tick due ~190 ms later came after {tick_after:?}"
    );
}

/// asyncio's "let the others run" loop, ported with `sleep(Duration::ZERO)`
/// (or `sleep_until` of a past instant, as backoff code computes it): one
/// call completes at once, but a loop of them spends the task's budget and
/// yields, as solo's other primitives and tokio's `Sleep` do. It used to
/// spin forever without another task, timer or socket ever running.
#[test]
fn sleep_zero_in_a_loop_lets_other_tasks_run() {
    for past in [false, true] {
        let (ran, spins) = solo::run(async move {
            let flag = Rc::new(std::cell::Cell::new(false));
            let f = flag.clone();
            let _setter = solo::spawn(async move { f.set(true) });
            let mut spins = 0u32;
            // The cap only stops the old behaviour from spinning forever.
            while !flag.get() && spins < 1_000_000 {
                if past {
                    solo::sleep_until(solo::time::now()).await;
                } else {
                    solo::sleep(Duration::ZERO).await;
                }
                spins += 1;
            }
            (flag.get(), spins)
        });
        assert!(ran, "the other task never ran ({spins} spins, past={past})");
        assert!(spins > 0, "one call completes at once, without yielding");
    }
}

/// `TimerHandle::cancel` works until the callback runs, as asyncio's: a
/// timer cancelled by another timer due in the same turn (so already moved
/// to the ready queue) does not run. It used to return false and run.
#[test]
fn timer_cancelled_after_it_came_due_does_not_run() {
    use std::cell::Cell;
    let (cancelled, ran, again) = solo::run(async {
        let ran = Rc::new(Cell::new(false));
        let victim: Rc<RefCell<Option<solo::TimerHandle>>> = Rc::new(RefCell::new(None));
        let cancelled = Rc::new(Cell::new(None));
        let at = solo::time::now() + Duration::from_millis(20);
        let (v, c) = (victim.clone(), cancelled.clone());
        let _first = solo::call_at(at, move || {
            c.set(Some(v.borrow().as_ref().unwrap().cancel()));
        });
        let r = ran.clone();
        *victim.borrow_mut() = Some(solo::call_at(at, move || r.set(true)));
        solo::sleep(Duration::from_millis(60)).await;
        let again = victim.borrow().as_ref().unwrap().cancel();
        (cancelled.get(), ran.get(), again)
    });
    assert_eq!(cancelled, Some(true), "cancel() of a due timer");
    assert!(!ran, "the cancelled callback ran");
    assert!(!again, "a second cancel() returns false");
}

/// `cancel` of a callback that ran returns false; the handle outlives it.
#[test]
fn timer_cancel_after_the_callback_ran_returns_false() {
    solo::run(async {
        let h = solo::call_later(Duration::ZERO, || ());
        solo::sleep(Duration::from_millis(5)).await;
        assert!(!h.cancel());
    });
}

/// A timer still pending when its loop closes drops its callback then,
/// also when the callback holds its own `TimerHandle` (a self-rearming
/// timer keeps its handle where the callback can reach it): the handle
/// holds the callback's cell, so that cycle must not keep them alive.
#[test]
fn pending_timer_drops_its_callback_when_the_loop_closes() {
    let captured = Rc::new(());
    let weak = Rc::downgrade(&captured);
    solo::run(async move {
        let slot: Rc<RefCell<Option<solo::TimerHandle>>> = Rc::new(RefCell::new(None));
        let s = slot.clone();
        let h = solo::call_later(Duration::from_secs(3600), move || {
            let _keep = (&s, &captured);
        });
        *slot.borrow_mut() = Some(h);
    });
    assert!(
        weak.upgrade().is_none(),
        "the pending callback (and what it captured) outlived its loop"
    );
}

/// Runs `f` on a thread and fails if it takes more than `secs` of wall
/// time (the thread is left behind: the test process ends with the test).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("the paused-clock loop did not finish: it spins on a timer")
}

/// On the paused clock, a deadline past what the wheel can count (about
/// 584 years after the loop started) comes due at the wheel's end. Its
/// tick rounded up was one past the tick of "now" rounded down there, so
/// it was never due: the clock jumped to it and the loop spun at 100% CPU
/// forever. `sleep`, `timeout` and `call_later` all went through it.
#[test]
fn paused_clock_reaches_deadlines_centuries_away() {
    let year = 86400 * 365;
    let virt = within(20, move || {
        let mut lp = EventLoop::builder().paused_clock().build().unwrap();
        lp.run_until_complete(async move {
            let start = solo::time::now();
            let hit = Rc::new(std::cell::Cell::new(false));
            let h = hit.clone();
            solo::call_later(Duration::from_secs(1000 * year), move || h.set(true));
            let pending = std::future::pending::<()>();
            let r = solo::timeout(Duration::from_secs(634 * year), pending).await;
            assert!(r.is_err(), "the timeout elapsed");
            assert!(hit.get(), "the far callback ran first (inserted first)");
            solo::sleep(Duration::from_secs(1000 * year)).await;
            solo::sleep(Duration::from_secs(1 << 62)).await;
            solo::time::now() - start
        })
    });
    assert!(virt > Duration::from_secs(584 * year));
    assert!(virt < Duration::from_secs(585 * year));
}
