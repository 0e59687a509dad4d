//! Twin of barrier.py.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use solo::sync::Barrier;

use crate::py;

type Got = Rc<RefCell<HashMap<&'static str, String>>>;

fn waiter(barrier: &Rc<Barrier>, got: &Got, name: &'static str) -> solo::Task<()> {
    let (barrier, got) = (barrier.clone(), got.clone());
    solo::spawn(async move {
        let r = match barrier.wait().await {
            Ok(i) => i.to_string(),
            Err(_) => "broken".to_string(),
        };
        got.borrow_mut().insert(name, r);
    })
}

pub fn main() {
    solo::run(async {
        let ms = Duration::from_millis(1);
        let barrier = Rc::new(Barrier::new(3));
        let got = Got::default();

        for t in ["a", "b", "c"].map(|n| waiter(&barrier, &got, n)) {
            t.await.unwrap();
        }
        let show = |names: &[&str]| {
            let g = got.borrow();
            let shown: Vec<_> = names.iter().map(|n| format!("{n}={}", g[n])).collect();
            shown.join(" ")
        };
        println!("round 1: {}", show(&["a", "b", "c"]));

        got.borrow_mut().clear();
        let a = waiter(&barrier, &got, "a");
        let q = waiter(&barrier, &got, "q");
        solo::sleep(ms).await;
        println!("n_waiting: {}", barrier.n_waiting());
        a.cancel();
        solo::sleep(ms).await;
        println!("n_waiting after a cancelled: {}", barrier.n_waiting());
        let c = waiter(&barrier, &got, "c");
        solo::sleep(ms).await;
        println!("last to arrive: {}", barrier.wait().await.unwrap());
        q.await.unwrap();
        c.await.unwrap();
        println!("indexes after a cancelled waiter: {}", show(&["q", "c"]));

        got.borrow_mut().clear();
        let d = waiter(&barrier, &got, "d");
        solo::sleep(ms).await;
        barrier.reset();
        d.await.unwrap();
        println!(
            "reset: d {} broken {}",
            got.borrow()["d"],
            py(barrier.broken())
        );

        let e = waiter(&barrier, &got, "e");
        solo::sleep(ms).await;
        barrier.abort();
        e.await.unwrap();
        let later = match barrier.wait().await {
            Ok(_) => "ok",
            Err(_) => "broken",
        };
        println!(
            "abort: e {} later {later} broken {}",
            got.borrow()["e"],
            py(barrier.broken())
        );
        barrier.reset();
        println!(
            "after reset: broken {} n_waiting {}",
            py(barrier.broken()),
            barrier.n_waiting()
        );
    });
}
