//! gather, gather!, try_gather, wait, as_completed, TaskGroup.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use solo::{ChildError, EventLoop, ReturnWhen, TaskGroup};

fn paused() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

async fn after(ms: u64, v: u64) -> u64 {
    solo::sleep(Duration::from_millis(ms)).await;
    v
}

#[test]
fn gather_returns_input_order_and_runs_concurrently() {
    paused().run_until_complete(async {
        let start = solo::time::now();
        let out = solo::gather([after(30, 1), after(10, 2), after(20, 3)]).await;
        assert_eq!(out, [1, 2, 3]);
        assert_eq!(solo::time::now() - start, Duration::from_millis(30));
        assert!(solo::gather(Vec::<std::future::Ready<u8>>::new())
            .await
            .is_empty());
    });
}

#[test]
fn gather_starts_tasks_in_input_order_before_awaited() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    solo::run(async move {
        let g = solo::gather((0..4).map(|i| {
            let l = l.clone();
            async move { l.borrow_mut().push(i) }
        }));
        solo::yield_now().await;
        assert_eq!(
            *l.borrow(),
            [0, 1, 2, 3],
            "children run even before gather is awaited"
        );
        g.await;
    });
    assert_eq!(log.borrow().len(), 4);
}

#[test]
fn gather_panic_propagates_and_cancels_siblings() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let survived = Rc::new(Cell::new(false));
    let s = survived.clone();
    solo::run(async move {
        let g = solo::spawn(async move {
            solo::gather([
                Box::pin(async { panic!("child failed") })
                    as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
                Box::pin(async move {
                    solo::sleep(Duration::from_millis(50)).await;
                    s.set(true);
                }),
            ])
            .await
        });
        assert_eq!(g.await.unwrap_err().panic_message(), Some("child failed"));
        solo::sleep(Duration::from_millis(100)).await;
    });
    std::panic::set_hook(prev);
    assert!(!survived.get(), "the sibling was cancelled");
}

/// Runs `body` on a paused clock with the panic hook silenced.
fn quietly<T>(body: impl std::future::Future<Output = T>) -> T {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = paused().run_until_complete(body);
    std::panic::set_hook(prev);
    out
}

type BoxedUnit = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>>>>;

/// A slow first child and a second one that fails at 10 ms (by `Err` or
/// by panicking): the failure is seen at 10 ms, not when the first child
/// is done (asyncio raises at once too).
fn slow_then_failing(panic: bool) -> Vec<BoxedUnit> {
    vec![
        Box::pin(async {
            solo::sleep(Duration::from_millis(50)).await;
            Ok(())
        }),
        Box::pin(async move {
            solo::sleep(Duration::from_millis(10)).await;
            if panic {
                panic!("late argument failed");
            }
            Err("late argument failed".to_string())
        }),
    ]
}

#[test]
fn gather_panic_is_raised_when_it_happens_not_in_argument_order() {
    quietly(async {
        let start = solo::time::now();
        let g = solo::spawn(solo::gather(slow_then_failing(true)));
        let err = g.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("late argument failed"));
        assert_eq!(solo::time::now() - start, Duration::from_millis(10));
    });
}

#[test]
fn try_gather_fails_fast_on_a_panic_and_on_an_err() {
    quietly(async {
        let start = solo::time::now();
        let g = solo::spawn(solo::try_gather(slow_then_failing(true)));
        let err = g.await.unwrap_err();
        assert_eq!(err.panic_message(), Some("late argument failed"));
        assert_eq!(solo::time::now() - start, Duration::from_millis(10));

        let start = solo::time::now();
        let r = solo::try_gather(slow_then_failing(false)).await;
        assert_eq!(r.unwrap_err(), "late argument failed");
        assert_eq!(solo::time::now() - start, Duration::from_millis(10));
        solo::yield_now().await;
        assert!(solo::all_tasks().is_empty(), "the slow one was cancelled");
    });
}

#[test]
fn dropping_gather_cancels_children() {
    paused().run_until_complete(async {
        let finished = Rc::new(Cell::new(0));
        let f = finished.clone();
        let g = solo::gather((0..3).map(move |_| {
            let f = f.clone();
            async move {
                solo::sleep(Duration::from_secs(1)).await;
                f.set(f.get() + 1);
            }
        }));
        assert!(solo::timeout(Duration::from_millis(10), g).await.is_err());
        solo::sleep(Duration::from_secs(5)).await;
        assert_eq!(finished.get(), 0);
        assert!(solo::all_tasks().is_empty());
    });
}

#[test]
fn gather_macro_mixes_types_and_borrows() {
    paused().run_until_complete(async {
        let text = String::from("abc");
        let start = solo::time::now();
        let (a, b, c) = solo::gather!(after(20, 1), async { text.len() }, async {
            solo::sleep(Duration::from_millis(20)).await;
            "x"
        });
        assert_eq!((a, b, c), (1, 3, "x"));
        assert_eq!(solo::time::now() - start, Duration::from_millis(20));
        let (one,) = solo::gather!(async { 1 });
        assert_eq!(one, 1);
    });
}

#[test]
fn try_gather_first_error_in_time_wins_and_cancels_rest() {
    paused().run_until_complete(async {
        let start = solo::time::now();
        let r: Result<Vec<u64>, String> = solo::try_gather((0..4u64).map(|i| async move {
            solo::sleep(Duration::from_millis(100 - i * 20)).await;
            if i >= 2 {
                Err(format!("failed {i}"))
            } else {
                Ok(i)
            }
        }))
        .await;
        assert_eq!(r.unwrap_err(), "failed 3");
        assert_eq!(solo::time::now() - start, Duration::from_millis(40));
        solo::yield_now().await;
        assert!(solo::all_tasks().is_empty(), "the rest were cancelled");
        let ok: Result<Vec<u64>, ()> =
            solo::try_gather((0..3).map(|i| async move { Ok(after(10 - i, i).await) })).await;
        assert_eq!(ok.unwrap(), [0, 1, 2]);
    });
}

#[test]
fn wait_modes_and_timeout() {
    paused().run_until_complete(async {
        let mk = || -> Vec<_> { [30, 10, 20].map(|ms| solo::spawn(after(ms, ms))).into() };

        let (done, pending) = solo::wait(mk(), ReturnWhen::FirstCompleted, None).await;
        assert_eq!(done.len(), 1);
        assert_eq!(pending.len(), 2);
        assert_eq!(done.into_iter().next().unwrap().await.unwrap(), 10);
        for t in pending {
            t.cancel();
        }

        let (done, pending) = solo::wait(
            mk(),
            ReturnWhen::AllCompleted,
            Some(Duration::from_millis(25)),
        )
        .await;
        assert_eq!((done.len(), pending.len()), (2, 1));
        assert!(pending[0].cancel() || pending[0].is_done());

        let (done, pending) = solo::wait(mk(), ReturnWhen::AllCompleted, None).await;
        assert_eq!((done.len(), pending.len()), (3, 0));
        let mut vals = Vec::new();
        for t in done {
            vals.push(t.await.unwrap());
        }
        assert_eq!(vals, [30, 10, 20], "AllCompleted keeps input order");
    });
}

#[test]
fn wait_first_exception_returns_on_panic() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    paused().run_until_complete(async {
        let tasks = vec![
            solo::spawn(after(1000, 1)),
            solo::spawn(async {
                solo::sleep(Duration::from_millis(10)).await;
                panic!("bad page")
            }),
            solo::spawn(after(5, 3)),
        ];
        let start = solo::time::now();
        let (done, pending) = solo::wait(tasks, ReturnWhen::FirstException, None).await;
        assert_eq!(solo::time::now() - start, Duration::from_millis(10));
        assert_eq!((done.len(), pending.len()), (2, 1));
        let (done, pending) = solo::wait(pending, ReturnWhen::FirstException, None).await;
        assert_eq!(
            (done.len(), pending.len()),
            (1, 0),
            "no exception: waits for all"
        );
    });
    std::panic::set_hook(prev);
}

#[test]
fn as_completed_yields_in_completion_order_and_cancels_on_drop() {
    paused().run_until_complete(async {
        let mut s = solo::as_completed([after(30, 3), after(10, 1), after(20, 2)]);
        assert_eq!(s.next().await, Some(1));
        assert_eq!(s.remaining(), 2);
        assert_eq!(s.next().await, Some(2));
        drop(s);
        solo::yield_now().await;
        assert!(solo::all_tasks().is_empty());
        let all: Vec<_> = solo::as_completed((0..5).map(|i| after(50 - i * 10, i)))
            .collect()
            .await;
        assert_eq!(all, [4, 3, 2, 1, 0]);
    });
}

#[test]
fn task_group_success_failure_and_panic() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    paused().run_until_complete(async {
        let g = TaskGroup::<String>::new();
        let a = g.spawn(async { Ok(after(10, 1).await) });
        let b = g.spawn(async { Ok(after(20, 2).await) });
        g.join().await.unwrap();
        assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);

        let start = solo::time::now();
        let g = TaskGroup::<String>::new();
        let slow = g.spawn(async { Ok(after(10_000, 1).await) });
        g.spawn(async {
            solo::sleep(Duration::from_millis(5)).await;
            Err::<(), _>("boom".to_string())
        });
        g.spawn(async {
            solo::sleep(Duration::from_millis(6)).await;
            Err::<(), _>("second".to_string())
        });
        let err = g.join().await.unwrap_err();
        assert!(matches!(err.errors(), [ChildError::Failed(e)] if e == "boom"));
        assert_eq!(solo::time::now() - start, Duration::from_millis(5));
        assert!(slow.await.unwrap_err().is_cancelled());

        let g = TaskGroup::<String>::new();
        let other = g.spawn(async { Ok(after(1000, 1).await) });
        g.spawn(async {
            solo::yield_now().await;
            if true {
                panic!("task blew up");
            }
            Ok(())
        });
        let err = g.join().await.unwrap_err();
        assert!(err.to_string().contains("task blew up"));
        assert!(other.await.unwrap_err().is_cancelled());
    });
    std::panic::set_hook(prev);
}

#[test]
fn dropping_task_group_cancels_members() {
    paused().run_until_complete(async {
        let g = TaskGroup::<()>::new();
        let t = g.spawn(async { Ok(after(1000, 1).await) });
        drop(g);
        assert!(t.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn task_group_reports_every_child_that_failed_in_the_same_turn() {
    quietly(async {
        let g = TaskGroup::<String>::new();
        let slow = g.spawn(async { Ok(after(1000, 1).await) });
        for name in ["first", "second"] {
            g.spawn(async move {
                solo::sleep(Duration::from_millis(10)).await;
                Err::<(), _>(name.to_string())
            });
        }
        g.spawn(async {
            solo::sleep(Duration::from_millis(10)).await;
            if true {
                panic!("third");
            }
            Ok(())
        });
        let err = g.join().await.unwrap_err();
        let seen: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(seen, ["first", "second", "a task panicked: third"]);
        assert_eq!(err.to_string(), "task group failed: first (and 2 more)");
        assert!(slow.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn task_group_run_interrupts_the_body_when_a_child_fails() {
    paused().run_until_complete(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let start = solo::time::now();
        let g = TaskGroup::<&str>::new();
        let l = log.clone();
        let r: Result<(), _> = g
            .run(async {
                g.spawn(async {
                    solo::sleep(Duration::from_millis(10)).await;
                    Err::<(), _>("child failed")
                });
                let _drop_logger = DropLog(l.clone(), "body dropped");
                solo::sleep(Duration::from_millis(100)).await;
                l.borrow_mut().push("body finished");
                Ok(())
            })
            .await;
        assert_eq!(r.unwrap_err().into_failed(), Some("child failed"));
        assert_eq!(*log.borrow(), ["body dropped"]);
        assert_eq!(solo::time::now() - start, Duration::from_millis(10));
        assert!(g.is_closed());

        // The body's own Err aborts the group and comes last.
        let g = TaskGroup::<&str>::new();
        let r: Result<(), _> = g
            .run(async {
                g.spawn(async { Ok(after(1000, 1).await) });
                g.spawn(async { Err::<(), _>("child") });
                Err("body")
            })
            .await;
        let all: Vec<_> = r
            .unwrap_err()
            .into_errors()
            .into_iter()
            .filter_map(ChildError::into_failed)
            .collect();
        assert_eq!(all, ["child", "body"]);
        assert_eq!(
            solo::time::now() - start,
            Duration::from_millis(10),
            "slow child cancelled"
        );

        let g = TaskGroup::<()>::new();
        let n = g
            .run(async { Ok(g.spawn(async { Ok(after(5, 21).await) }).await.unwrap() * 2) })
            .await;
        assert_eq!(n.unwrap(), 42);
    });
}

struct DropLog(Rc<RefCell<Vec<&'static str>>>, &'static str);

impl Drop for DropLog {
    fn drop(&mut self) {
        self.0.borrow_mut().push(self.1);
    }
}

#[test]
fn task_group_spawn_after_join_panics_and_into_a_failed_group_is_cancelled() {
    quietly(async {
        let g = TaskGroup::<()>::new();
        g.spawn(async { Err::<(), _>(()) });
        solo::yield_now().await;
        let late = g.spawn(async { Ok(1) });
        assert!(
            late.await.unwrap_err().is_cancelled(),
            "the group is aborting"
        );
        assert!(g.join().await.is_err());
        let g = Rc::new(g);
        let g2 = g.clone();
        let t = solo::spawn(async move {
            g2.spawn(async { Ok(()) });
        });
        let msg = t.await.unwrap_err().panic_message().map(str::to_owned);
        assert_eq!(
            msg.as_deref(),
            Some("TaskGroup::spawn after join returned: the group is finished; spawn into a new TaskGroup")
        );
    });
}

#[test]
fn task_group_wakes_every_joiner_and_every_join_sees_the_failure() {
    paused().run_until_complete(async {
        let g = Rc::new(TaskGroup::<&str>::new());
        g.spawn(async { Ok(after(20, 1).await) });
        let joiners: Vec<_> = (0..3)
            .map(|_| {
                let g = g.clone();
                solo::spawn(async move { g.join().await.is_ok() })
            })
            .collect();
        for j in joiners {
            let done = solo::timeout(Duration::from_secs(1), j).await;
            assert_eq!(done.map(|r| r.unwrap()), Ok(true), "every joiner is woken");
        }
        assert_eq!(g.join().await.map_err(|e| e.len()), Ok(()));
    });
    quietly(async {
        let g = Rc::new(TaskGroup::<&str>::new());
        g.spawn(async { Err::<(), _>("boom") });
        g.spawn(async { Err::<(), _>("bang") });
        let g2 = g.clone();
        let other = solo::spawn(async move { g2.join().await.map_err(|e| e.into_errors()) });
        let first = g.join().await.unwrap_err();
        let seen: Vec<String> = first.errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(seen, ["boom", "bang"], "the first join gets the failures");
        let later = other.await.unwrap().unwrap_err();
        assert_eq!(later.len(), 2, "a concurrent join sees the failure too");
        assert!(matches!(later[0], ChildError::ReportedToEarlierJoin));
        let again = g.join().await.unwrap_err();
        assert_eq!(again.len(), 2, "a later join sees the failure too");
        assert_eq!(
            again.to_string(),
            "task group failed: the failure was returned by an earlier join of this group (and 1 more)"
        );
    });
}

#[test]
fn gather_try_gather_and_as_completed_made_outside_the_loop_start_when_polled() {
    let mut event_loop = paused();
    let order = Rc::new(RefCell::new(Vec::new()));
    let log = |i: u64| {
        let order = order.clone();
        async move {
            order.borrow_mut().push(i);
            after(30 - 10 * i, i).await
        }
    };
    let all = event_loop.run_until_complete(solo::gather((0..3).map(log)));
    assert_eq!(all, [0, 1, 2]);
    assert_eq!(*order.borrow(), [0, 1, 2], "started in input order");
    let ok = event_loop.run_until_complete(solo::try_gather([async { Ok::<_, ()>(1) }]));
    assert_eq!(ok, Ok(vec![1]));
    let done =
        event_loop.run_until_complete(solo::as_completed((0..3).map(log)).collect::<Vec<_>>());
    assert_eq!(done, [2, 1, 0]);
    // Made outside a loop and dropped unpolled: nothing runs, nothing leaks.
    drop(solo::gather([log(9)]));
    event_loop.run_until_complete(after(50, 0));
    assert!(!order.borrow().contains(&9));
}
