//! Twin of sync_fairness.py.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use solo::sync::{Condition, Event, Lock, Mutex, Semaphore};

use crate::py;

type Log = Rc<RefCell<Vec<&'static str>>>;

async fn join_all(tasks: Vec<solo::Task<()>>) {
    for t in tasks {
        t.await.unwrap();
    }
}

pub fn main() {
    solo::run(async {
        let log = Log::default();
        let lock = Rc::new(Lock::new());
        let held = lock.lock().await;
        let tasks = ["a", "b", "c"]
            .map(|n| {
                let (lock, log) = (lock.clone(), log.clone());
                solo::spawn(async move {
                    let _g = lock.lock().await;
                    log.borrow_mut().push(n);
                    solo::sleep(Duration::from_millis(1)).await;
                })
            })
            .into();
        solo::sleep(Duration::from_millis(10)).await;
        drop(held);
        println!(
            "locked right after release (with waiters): {}",
            py(lock.locked())
        );
        join_all(tasks).await;
        println!("lock order: {}", log.borrow().join(" "));

        log.borrow_mut().clear();
        let ev = Rc::new(Event::new());
        let tasks = ["a", "b", "c"]
            .map(|n| {
                let (ev, log) = (ev.clone(), log.clone());
                solo::spawn(async move {
                    ev.wait().await;
                    log.borrow_mut().push(n);
                })
            })
            .into();
        solo::sleep(Duration::from_millis(10)).await;
        ev.set();
        join_all(tasks).await;
        println!("event order: {}", log.borrow().join(" "));

        log.borrow_mut().clear();
        let cond = Rc::new((Mutex::new(()), Condition::new()));
        let tasks = ["a", "b", "c"]
            .map(|n| {
                let (cond, log) = (cond.clone(), log.clone());
                solo::spawn(async move {
                    let (m, c) = &*cond;
                    let _g = c.wait(m.lock().await).await;
                    log.borrow_mut().push(n);
                })
            })
            .into();
        solo::sleep(Duration::from_millis(10)).await;
        {
            let _g = cond.0.lock().await;
            cond.1.notify(1);
        }
        solo::sleep(Duration::from_millis(10)).await;
        {
            let _g = cond.0.lock().await;
            cond.1.notify_all();
        }
        join_all(tasks).await;
        println!("condition order: {}", log.borrow().join(" "));

        log.borrow_mut().clear();
        let sem = Rc::new(Semaphore::new(2));
        solo::gather(["a", "b", "c", "d", "e"].map(|n| {
            let (sem, log) = (sem.clone(), log.clone());
            async move {
                let _p = sem.acquire().await.unwrap();
                log.borrow_mut().push(n);
                solo::sleep(Duration::from_millis(10)).await;
            }
        }))
        .await;
        println!("semaphore order: {}", log.borrow().join(" "));
    });
}
