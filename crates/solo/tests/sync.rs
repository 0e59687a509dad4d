//! solo::sync with the real loop: queues, locks, events, conditions,
//! semaphores, channels, cancellation through `timeout`, and the budget
//! that keeps an always-ready task from starving timers.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use solo::sync::{
    mpsc, oneshot, Barrier, Condition, Event, LifoQueue, Lock, Mutex, PriorityQueue, Queue,
    Semaphore,
};
use solo::EventLoop;

fn paused() -> EventLoop {
    EventLoop::builder().paused_clock().build().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn bounded_queue_applies_backpressure_to_the_producer() {
    paused().run_until_complete(async {
        let q = Rc::new(Queue::new(2));
        let puts = Rc::new(Cell::new(0));
        let saw_full = Rc::new(Cell::new(false));
        let (q2, p2, f2) = (q.clone(), puts.clone(), saw_full.clone());
        let producer = solo::spawn(async move {
            for i in 0..10 {
                f2.set(f2.get() || q2.full());
                q2.put(i).await;
                p2.set(p2.get() + 1);
                assert!(q2.qsize() <= 2, "never more than maxsize stored");
            }
        });
        let mut got = Vec::new();
        for k in 1..=10 {
            solo::sleep(ms(1)).await; // a slow consumer
            got.push(q.get().await);
            assert!(
                puts.get() <= k + 2,
                "producer ran ahead: {} puts after {k} gets",
                puts.get()
            );
        }
        producer.await.unwrap();
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        assert!(saw_full.get(), "the producer had to wait at least once");
    });
}

#[test]
fn join_returns_once_every_item_is_task_done() {
    paused().run_until_complete(async {
        let q = Rc::new(Queue::new(0));
        let processed = Rc::new(Cell::new(0));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let (q, processed) = (q.clone(), processed.clone());
                solo::spawn(async move {
                    loop {
                        let job: u64 = q.get().await;
                        solo::sleep(ms(job)).await;
                        processed.set(processed.get() + 1);
                        q.task_done();
                    }
                })
            })
            .collect();
        for job in 1..=9 {
            q.put(job).await;
        }
        q.join().await;
        assert_eq!(processed.get(), 9);
        assert!(q.empty());
        for w in workers {
            w.cancel();
        }
    });
}

#[test]
fn lifo_and_priority_queues_serve_waiting_getters_in_their_order() {
    solo::run(async {
        let lifo = Rc::new(LifoQueue::new(0));
        let prio = Rc::new(PriorityQueue::new(0));
        for n in [5, 1, 4, 2, 3] {
            lifo.put(n).await;
            prio.put((n, format!("job {n}"))).await;
        }
        let mut l = Vec::new();
        let mut p = Vec::new();
        for _ in 0..5 {
            l.push(lifo.get().await);
            p.push(prio.get().await.0);
        }
        assert_eq!(l, [3, 2, 4, 1, 5]);
        assert_eq!(p, [1, 2, 3, 4, 5]);

        // A getter that waits takes the item put for it.
        let p2 = prio.clone();
        let getter = solo::spawn(async move { p2.get().await });
        solo::yield_now().await;
        prio.put((9, "late".to_string())).await;
        assert_eq!(getter.await.unwrap(), (9, "late".to_string()));
    });
}

#[test]
fn lock_is_exclusive_across_awaits_and_first_come_first_served() {
    paused().run_until_complete(async {
        let lock = Rc::new(Lock::new());
        let log = Rc::new(RefCell::new(Vec::new()));
        let inside = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..5)
            .map(|i| {
                let (lock, log, inside) = (lock.clone(), log.clone(), inside.clone());
                solo::spawn(async move {
                    // All call `lock` in spawn order; later ones sleep less
                    // inside, so any overlap or reordering shows in the log.
                    let _g = lock.lock().await;
                    inside.set(inside.get() + 1);
                    assert_eq!(inside.get(), 1, "two tasks inside the lock");
                    log.borrow_mut().push(format!("in {i}"));
                    solo::sleep(ms(5 - i)).await;
                    log.borrow_mut().push(format!("out {i}"));
                    inside.set(inside.get() - 1);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let want: Vec<String> = (0..5)
            .flat_map(|i| [format!("in {i}"), format!("out {i}")])
            .collect();
        assert_eq!(*log.borrow(), want);
        assert!(!lock.locked());
    });
}

#[test]
fn mutex_guards_data_shared_by_tasks() {
    paused().run_until_complete(async {
        let m = Rc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let m = m.clone();
                solo::spawn(async move {
                    let mut v = m.lock().await;
                    let len = v.len();
                    solo::sleep(ms(1)).await;
                    assert_eq!(v.len(), len, "nobody else touched it");
                    v.push(i);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*m.lock().await, [0, 1, 2, 3]);
    });
}

#[test]
fn event_set_wakes_all_waiters() {
    paused().run_until_complete(async {
        let ev = Rc::new(Event::new());
        let woken = Rc::new(Cell::new(0));
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let (ev, woken) = (ev.clone(), woken.clone());
                solo::spawn(async move {
                    ev.wait().await;
                    woken.set(woken.get() + 1);
                })
            })
            .collect();
        solo::sleep(ms(10)).await;
        assert_eq!(woken.get(), 0, "nobody passes before set");
        ev.set();
        ev.clear(); // does not take the wake-up back
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(woken.get(), 5);
        assert!(
            solo::timeout(ms(5), ev.wait()).await.is_err(),
            "cleared again"
        );
    });
}

#[test]
fn condition_notify_one_wakes_exactly_one() {
    paused().run_until_complete(async {
        let shared = Rc::new((Mutex::new(0u32), Condition::new()));
        let woken = Rc::new(RefCell::new(Vec::new()));
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let (shared, woken) = (shared.clone(), woken.clone());
                solo::spawn(async move {
                    let (m, cond) = &*shared;
                    let mut g = cond.wait(m.lock().await).await;
                    *g += 1;
                    woken.borrow_mut().push(i);
                })
            })
            .collect();
        solo::sleep(ms(1)).await;
        let (m, cond) = &*shared;
        cond.notify(1);
        solo::sleep(ms(10)).await;
        assert_eq!(*woken.borrow(), [0], "exactly one, the first");
        assert_eq!(*m.lock().await, 1);
        cond.notify_all();
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(*woken.borrow(), [0, 1, 2]);
        assert_eq!(*m.lock().await, 3);
    });
}

#[test]
fn semaphore_limits_concurrency() {
    paused().run_until_complete(async {
        let sem = Rc::new(Semaphore::new(3));
        let now = Rc::new(Cell::new(0));
        let max = Rc::new(Cell::new(0));
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (sem, now, max) = (sem.clone(), now.clone(), max.clone());
                solo::spawn(async move {
                    let _p = sem.acquire().await.unwrap();
                    now.set(now.get() + 1);
                    max.set(max.get().max(now.get()));
                    solo::sleep(ms(1 + i % 3)).await;
                    now.set(now.get() - 1);
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max.get(), 3, "3 at a time, and never more");
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn timed_out_waiters_leave_primitives_consistent() {
    paused().run_until_complete(async {
        // Lock: a waiter times out; the next one still gets the lock.
        let lock = Rc::new(Lock::new());
        let held = lock.lock().await;
        assert!(solo::timeout(ms(5), lock.lock()).await.is_err());
        let l2 = lock.clone();
        let next = solo::spawn(async move { drop(l2.lock().await) });
        solo::sleep(ms(1)).await;
        drop(held);
        solo::timeout(ms(100), next).await.unwrap().unwrap();
        assert!(!lock.locked());

        // Semaphore: no permit leaks through the timed-out acquire.
        let sem = Semaphore::new(1);
        let p = sem.acquire().await.unwrap();
        assert!(solo::timeout(ms(5), sem.acquire_many(1)).await.is_err());
        drop(p);
        assert_eq!(sem.available_permits(), 1);

        // Queue: a timed-out get does not swallow the next item.
        let q = Queue::new(1);
        assert!(solo::timeout(ms(5), q.get()).await.is_err());
        q.put("kept").await;
        assert_eq!(q.get_nowait(), Ok("kept"));
        // ...and a timed-out put leaves no phantom item or slot.
        q.put("a").await;
        assert!(solo::timeout(ms(5), q.put("b")).await.is_err());
        assert_eq!(q.qsize(), 1);
        assert_eq!(q.get().await, "a");
        assert!(q.empty() && !q.full());

        // Condition: the timed-out waiter is gone; notify(1) reaches the next.
        let pair = Rc::new((Mutex::new(()), Condition::new()));
        let g = pair.0.lock().await;
        assert!(solo::timeout(ms(5), pair.1.wait(g)).await.is_err());
        let p2 = pair.clone();
        let waiter = solo::spawn(async move { drop(p2.1.wait(p2.0.lock().await).await) });
        solo::sleep(ms(1)).await;
        pair.1.notify(1);
        solo::timeout(ms(100), waiter).await.unwrap().unwrap();
    });
}

#[test]
fn cancelled_task_that_was_handed_the_lock_passes_it_on() {
    paused().run_until_complete(async {
        let lock = Rc::new(Lock::new());
        let got = Rc::new(RefCell::new(Vec::new()));
        let guard = lock.lock().await;
        let spawn_locker = |name: &'static str| {
            let (lock, got) = (lock.clone(), got.clone());
            solo::spawn(async move {
                let _g = lock.lock().await;
                got.borrow_mut().push(name);
            })
        };
        let a = spawn_locker("a");
        let b = spawn_locker("b");
        solo::sleep(ms(1)).await; // both wait, a first
        drop(guard); // handed to a...
        assert!(a.cancel()); // ...which is cancelled before it runs
        assert!(a.await.unwrap_err().is_cancelled());
        solo::timeout(ms(1000), b)
            .await
            .expect("b never got the lock: the cancelled a kept it")
            .unwrap();
        assert_eq!(*got.borrow(), ["b"]);
        assert!(!lock.locked());
    });
}

#[test]
fn barrier_rounds_with_a_timed_out_waiter_and_a_reset() {
    paused().run_until_complete(async {
        let barrier = Rc::new(Barrier::new(3));
        let log = Rc::new(RefCell::new(Vec::new()));
        let spawn_waiter = |name: &'static str| {
            let (b, log) = (barrier.clone(), log.clone());
            solo::spawn(async move {
                let r = b.wait().await;
                log.borrow_mut().push((name, r));
            })
        };
        // Round 1: one waiter gives up; the round needs three others.
        let a = spawn_waiter("a");
        let b2 = barrier.clone();
        let quitter = solo::spawn(async move { solo::timeout(ms(5), b2.wait()).await });
        solo::sleep(ms(1)).await;
        assert_eq!(barrier.n_waiting(), 2);
        assert!(quitter.await.unwrap().is_err(), "timed out");
        assert_eq!(barrier.n_waiting(), 1, "the quitter is not counted");
        let c = spawn_waiter("c");
        solo::sleep(ms(1)).await;
        assert!(log.borrow().is_empty(), "two of three");
        assert_eq!(barrier.wait().await, Ok(2));
        a.await.unwrap();
        c.await.unwrap();
        assert_eq!(*log.borrow(), [("a", Ok(0)), ("c", Ok(1))]);

        // Round 2 is reset while filling: its waiters break, the next
        // round works.
        log.borrow_mut().clear();
        let d = spawn_waiter("d");
        solo::sleep(ms(1)).await;
        barrier.reset();
        d.await.unwrap();
        assert!(log.borrow()[0].1.is_err());
        let waiters: Vec<_> = ["e", "f"].map(spawn_waiter).into();
        solo::sleep(ms(1)).await;
        assert_eq!(barrier.wait().await, Ok(2));
        for w in waiters {
            w.await.unwrap();
        }
        assert_eq!(log.borrow()[1..], [("e", Ok(0)), ("f", Ok(1))]);

        // Aborted: everyone fails until a reset.
        barrier.abort();
        assert!(barrier.wait().await.is_err());
        assert!(barrier.broken());
    });
}

#[test]
fn queue_shutdown_drains_then_stops_workers_and_fails_blocked_putters() {
    paused().run_until_complete(async {
        let q = Rc::new(Queue::new(2));
        let done = Rc::new(RefCell::new(Vec::new()));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let (q, done) = (q.clone(), done.clone());
                solo::spawn(async move {
                    while let Ok(job) = q.checked_get().await {
                        solo::sleep(ms(1)).await;
                        done.borrow_mut().push(job);
                        q.task_done();
                    }
                })
            })
            .collect();
        for job in 0..4 {
            q.put(job).await;
        }
        // Two stored, two in the workers' hands: a fifth put waits.
        let q2 = q.clone();
        let blocked = solo::spawn(async move { q2.checked_put(99).await });
        solo::yield_now().await;
        q.shutdown(false);
        assert_eq!(blocked.await.unwrap().unwrap_err().0, 99);
        for w in workers {
            solo::timeout(ms(100), w).await.unwrap().unwrap();
        }
        assert_eq!(*done.borrow(), [0, 1, 2, 3], "drained before stopping");
        q.join().await;

        // Immediate: what is stored is dropped, and join is released.
        let q = Rc::new(Queue::new(0));
        for job in 0..3 {
            q.put(job).await;
        }
        let q2 = q.clone();
        let joiner = solo::spawn(async move { q2.join().await });
        solo::yield_now().await;
        q.shutdown(true);
        solo::timeout(ms(100), joiner).await.unwrap().unwrap();
        assert!(q.checked_get().await.is_err());
    });
}

#[test]
fn mpsc_closing_semantics() {
    paused().run_until_complete(async {
        // All senders dropped: the receiver drains, then sees None.
        let (tx, mut rx) = mpsc::channel(4);
        for i in 0..3 {
            let tx = tx.clone();
            solo::spawn(async move {
                solo::sleep(ms(i)).await;
                tx.send(i).await.unwrap();
            });
        }
        drop(tx);
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(rx.recv().await, None, "stays ended");

        // Receiver dropped: a sender blocked on a full channel fails and
        // gets its value back.
        let (tx, rx) = mpsc::channel(1);
        tx.send("first").await.unwrap();
        let blocked = solo::spawn(async move { tx.send("second").await.map_err(|e| e.0) });
        solo::sleep(ms(1)).await;
        drop(rx);
        assert_eq!(blocked.await.unwrap(), Err("second"));

        // Receiver closed: buffered items still come out, new sends fail.
        let (tx, mut rx) = mpsc::unbounded();
        tx.send(1).await.unwrap();
        rx.close();
        assert!(tx.is_closed());
        assert!(tx.send(2).await.is_err());
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, None);

        // As a Stream.
        let (tx, rx) = mpsc::unbounded();
        solo::spawn(async move {
            for i in 0..3 {
                tx.send(i * 10).await.unwrap();
                solo::sleep(ms(1)).await;
            }
        });
        assert_eq!(rx.collect::<Vec<_>>().await, [0, 10, 20]);
    });
}

#[test]
fn oneshot_value_or_error() {
    paused().run_until_complete(async {
        let (tx, rx) = oneshot::channel();
        solo::spawn(async move {
            solo::sleep(ms(3)).await;
            tx.send(42).unwrap();
        });
        assert_eq!(rx.await, Ok(42));

        let (tx, rx) = oneshot::channel::<u32>();
        solo::spawn(async move {
            solo::sleep(ms(3)).await;
            drop(tx);
        });
        let err = rx.await.unwrap_err();
        assert_eq!(err.to_string(), "sender dropped without sending");
    });
}

/// Runs `spin` (a loop on an always-ready operation, with no other await,
/// that stops once the flag is set) next to a task whose 10 ms timer sets
/// the flag. Without the budget the spinner would never give the loop
/// back and the timer would never fire; `spin` panics after 20 s then.
fn timer_fires_while<Fut>(spin: impl FnOnce(Rc<Cell<bool>>) -> Fut)
where
    Fut: Future<Output = u64> + 'static,
{
    let iterations = solo::run(async move {
        let fired = Rc::new(Cell::new(false));
        let spinner = solo::spawn(spin(fired.clone()));
        let timer = solo::spawn(async move {
            solo::sleep(ms(10)).await;
            fired.set(true);
        });
        timer.await.unwrap();
        spinner.await.unwrap()
    });
    assert!(iterations > 0, "the spinner ran");
}

#[track_caller]
fn not_starved(start: Instant) {
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "the timer never fired: the spinner was never preempted"
    );
}

#[test]
fn budget_preempts_a_task_looping_on_an_unbounded_channel() {
    timer_fires_while(|fired| async move {
        let (tx, mut rx) = mpsc::unbounded();
        let (start, mut n) = (Instant::now(), 0);
        while !fired.get() {
            not_starved(start);
            tx.send(n).await.unwrap();
            assert_eq!(rx.recv().await, Some(n));
            n += 1;
        }
        n
    });
}

#[test]
fn budget_preempts_a_task_looping_on_ready_queue_lock_semaphore_event() {
    timer_fires_while(|fired| async move {
        let (q, lock, sem, ev) = (Queue::new(0), Lock::new(), Semaphore::new(1), Event::new());
        ev.set();
        let (start, mut n) = (Instant::now(), 0);
        while !fired.get() {
            not_starved(start);
            q.put(n).await;
            assert_eq!(q.get().await, n);
            drop(lock.lock().await);
            drop(sem.acquire().await.unwrap());
            ev.wait().await;
            n += 1;
        }
        n
    });
}
