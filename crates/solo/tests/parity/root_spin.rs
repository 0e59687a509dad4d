//! Twin of root_spin.py: the root future spins on `yield_now`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::py;

async fn spin_until(pred: impl Fn() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while !pred() && start.elapsed() < limit {
        solo::yield_now().await;
    }
    pred()
}

pub fn main() {
    solo::run(async {
        let flag = Rc::new(Cell::new(false));
        let f = flag.clone();
        solo::call_later(Duration::from_millis(50), move || f.set(true));
        let seen = spin_until(|| flag.get(), Duration::from_millis(500)).await;
        println!("timer flag seen: {}", py(seen));

        let job = solo::spawn(solo::to_thread(|| {
            std::thread::sleep(Duration::from_millis(50))
        }));
        let seen = spin_until(|| job.is_done(), Duration::from_millis(500)).await;
        println!("to_thread result seen: {}", py(seen));
    });
}
