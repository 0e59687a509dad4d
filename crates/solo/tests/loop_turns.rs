//! What one turn of the loop processes, held against asyncio's
//! `_run_once` (issue 17): timers, I/O and foreign wakes are processed at
//! a bounded interval whatever the root future does, and a due timer runs
//! after the items that were ready when it came due, not after a fixed
//! batch of ~60 items nor at the next whole millisecond.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Spins on `yield_now` (never awaiting anything else) until `flag` is
/// set; fails instead of hanging if it is never seen.
async fn spin_until(flag: &Cell<bool>, what: &str) {
    let give_up = Instant::now() + Duration::from_secs(5);
    while !flag.get() {
        assert!(
            Instant::now() < give_up,
            "{what}: never seen by a spinning root"
        );
        solo::yield_now().await;
    }
}

#[test]
fn a_root_spinning_on_yield_now_still_sees_timers() {
    solo::run(async {
        let by_callback = Rc::new(Cell::new(false));
        let f = by_callback.clone();
        solo::call_later(Duration::from_millis(5), move || f.set(true));
        spin_until(&by_callback, "a call_later callback").await;

        let by_sleeper = Rc::new(Cell::new(false));
        let f = by_sleeper.clone();
        solo::spawn(async move {
            solo::sleep(Duration::from_millis(5)).await;
            f.set(true);
        });
        spin_until(&by_sleeper, "a task waking from sleep").await;
    });
}

#[test]
fn a_root_spinning_on_yield_now_still_sees_to_thread_results() {
    solo::run(async {
        let done = Rc::new(Cell::new(false));
        let f = done.clone();
        solo::spawn(async move {
            solo::to_thread(|| std::thread::sleep(Duration::from_millis(5))).await;
            f.set(true);
        });
        spin_until(&done, "a to_thread result").await;
    });
}

#[test]
fn a_root_spinning_on_yield_now_still_sees_sockets() {
    solo::run(async {
        let sock = solo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        let got = Rc::new(Cell::new(false));
        let f = got.clone();
        solo::spawn(async move {
            sock.recv_from(&mut [0; 8]).await.unwrap();
            f.set(true);
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            tx.send_to(b"ping", addr).unwrap();
        });
        spin_until(&got, "a readable socket").await;
    });
}

/// Two tasks that count their turns; how many turns they took between
/// scheduling a callback with `schedule` and the callback running, over
/// 20 rounds (the largest).
fn turns_before_a_due_timer_runs(schedule: fn(Box<dyn FnOnce()>)) -> u64 {
    solo::run(async move {
        let turns = Rc::new(Cell::new(0u64));
        let stop = Rc::new(Cell::new(false));
        for _ in 0..2 {
            let (turns, stop) = (turns.clone(), stop.clone());
            solo::spawn(async move {
                while !stop.get() {
                    turns.set(turns.get() + 1);
                    solo::yield_now().await;
                }
            });
        }
        let mut worst = 0;
        for _ in 0..20 {
            solo::yield_now().await;
            let ran = Rc::new(solo::sync::Event::new());
            let at = Rc::new(Cell::new(0));
            let (r, a, t) = (ran.clone(), at.clone(), turns.clone());
            let before = turns.get();
            schedule(Box::new(move || {
                a.set(t.get());
                r.set();
            }));
            ran.wait().await;
            worst = worst.max(at.get() - before);
        }
        stop.set(true);
        worst
    })
}

#[test]
fn an_overdue_timer_runs_after_the_items_ready_now_not_after_sixty() {
    let worst = turns_before_a_due_timer_runs(|f| {
        let past = solo::time::now() - Duration::from_millis(1);
        solo::call_at(past, f);
    });
    // asyncio: the rest of this iteration (the two tasks), then the next
    // one's ready items queued before the callback: at most 4 turns.
    assert!(worst <= 4, "{worst} turns ran before an overdue timer");
}

#[test]
fn call_later_zero_runs_at_the_next_turn_not_the_next_millisecond() {
    let worst = turns_before_a_due_timer_runs(|f| {
        solo::call_later(Duration::ZERO, f);
    });
    assert!(worst <= 4, "{worst} turns ran before call_later(0)");
}

#[test]
fn timers_inside_one_millisecond_fire_in_deadline_order() {
    // A paused clock sits on a whole millisecond, so all three deadlines
    // fall inside the next one.
    let mut lp = solo::EventLoop::builder().paused_clock().build().unwrap();
    let order = lp.run_until_complete(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        for us in [800u64, 200, 500, 200] {
            let o = order.clone();
            solo::call_later(Duration::from_micros(us), move || o.borrow_mut().push(us));
        }
        solo::sleep(Duration::from_millis(2)).await;
        order.take()
    });
    assert_eq!(order, [200, 200, 500, 800]);
}
