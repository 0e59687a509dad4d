//! asyncio's cancellation of awaited tasks, asked for explicitly:
//! `Task::cancel_on_drop`, `wait_for`, `shield`; and the join-handle
//! default they opt out of.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use solo::EventLoop;

fn paused() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

type Log = Rc<RefCell<Vec<&'static str>>>;

/// Logs `what` when dropped: shows when a task's future was dropped.
struct OnDrop(Log, &'static str);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

/// A task that sleeps `ms` and logs "inner dropped" when its future goes.
fn inner(log: &Log, ms: u64) -> solo::Task<&'static str> {
    let guard = OnDrop(log.clone(), "inner dropped");
    solo::spawn(async move {
        let _guard = guard;
        solo::sleep(Duration::from_millis(ms)).await;
        "inner done"
    })
}

#[test]
fn cancelling_an_awaiter_leaves_a_plain_handle_running_but_not_a_guard() {
    paused().run_until_complete(async {
        let log = Log::default();
        let plain = inner(&log, 100);
        let outer = solo::spawn(plain);
        solo::yield_now().await;
        outer.cancel();
        solo::sleep(Duration::from_millis(200)).await;
        assert_eq!(*log.borrow(), ["inner dropped"], "ran to the end");
        assert!(solo::all_tasks().is_empty());

        log.borrow_mut().clear();
        let guarded = inner(&log, 100).cancel_on_drop();
        let outer = solo::spawn(guarded);
        solo::sleep(Duration::from_millis(10)).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        solo::yield_now().await;
        assert_eq!(*log.borrow(), ["inner dropped"]);
        assert!(solo::all_tasks().is_empty(), "inner was cancelled at 10 ms");
    });
}

#[test]
fn wait_for_cancels_the_task_on_expiry_and_waits_for_it() {
    paused().run_until_complete(async {
        let log = Log::default();
        let start = solo::time::now();
        let r = solo::wait_for(Duration::from_millis(10), inner(&log, 100)).await;
        assert!(r.is_err());
        assert_eq!(
            *log.borrow(),
            ["inner dropped"],
            "gone before wait_for returned"
        );
        assert_eq!(solo::time::now() - start, Duration::from_millis(10));

        // timeout() on a handle only stops waiting.
        log.borrow_mut().clear();
        let task = inner(&log, 100);
        let id = task.id();
        assert!(solo::timeout(Duration::from_millis(10), task)
            .await
            .is_err());
        solo::yield_now().await;
        assert!(log.borrow().is_empty());
        assert!(
            solo::all_tasks().iter().any(|t| t.id() == id),
            "still running"
        );
        solo::sleep(Duration::from_millis(200)).await;

        let r = solo::wait_for(Duration::from_secs(1), inner(&log, 10)).await;
        assert_eq!(r.unwrap().unwrap(), "inner done");
    });
}

#[test]
fn wait_for_zero_returns_a_finished_result_and_cancels_an_unfinished_task() {
    paused().run_until_complete(async {
        let done = solo::spawn(async { 7 });
        solo::yield_now().await;
        assert_eq!(
            solo::wait_for(Duration::ZERO, done).await.unwrap().unwrap(),
            7
        );

        // Spawned but not run yet: asyncio's wait_for(coro, 0) raises too.
        let not_started = solo::spawn(async { 7 });
        assert!(solo::wait_for(Duration::ZERO, not_started).await.is_err());

        // timeout() polls the future first: a ready future wins, as with
        // asyncio.timeout(0).
        assert_eq!(solo::timeout(Duration::ZERO, async { 7 }).await, Ok(7));
    });
}

#[test]
fn dropping_wait_for_cancels_the_task() {
    paused().run_until_complete(async {
        let log = Log::default();
        let task = inner(&log, 100);
        let outer = solo::spawn(solo::wait_for(Duration::from_secs(10), task));
        solo::sleep(Duration::from_millis(5)).await;
        outer.cancel();
        solo::sleep(Duration::from_millis(5)).await;
        assert_eq!(*log.borrow(), ["inner dropped"]);
        assert!(solo::all_tasks().is_empty());
    });
}

#[test]
fn shield_keeps_the_task_running_when_the_caller_is_cancelled() {
    paused().run_until_complete(async {
        let log = Log::default();
        let l = log.clone();
        let outer = solo::spawn(async move {
            solo::shield(async move {
                solo::sleep(Duration::from_millis(50)).await;
                l.borrow_mut().push("saved");
            })
            .await
        });
        solo::sleep(Duration::from_millis(5)).await;
        outer.cancel();
        solo::sleep(Duration::from_millis(100)).await;
        assert_eq!(*log.borrow(), ["saved"]);
    });
}
