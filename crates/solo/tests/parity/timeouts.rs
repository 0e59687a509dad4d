//! Twin of timeouts.py: `solo::timeout` is asyncio's `timeout()` (and
//! `wait_for` on a coroutine); `solo::wait_for` is `wait_for` on a task.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::{py, Probe};

struct Cleanup(Rc<RefCell<Vec<&'static str>>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.borrow_mut().push("slow cleaned up");
    }
}

async fn ready() -> u32 {
    7
}

fn show(r: Result<u32, solo::Elapsed>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(_) => "TimeoutError".into(),
    }
}

pub fn main() {
    solo::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let cleanup = Cleanup(log.clone());
        let slow = async move {
            let _cleanup = cleanup;
            solo::sleep(Duration::from_secs(1)).await;
        };
        let r = solo::timeout(Duration::from_millis(20), slow).await;
        if r.is_err() {
            log.borrow_mut().push("timed out");
        }
        println!("coroutine: {}", log.borrow().join(", "));

        let probe = Rc::new(Probe::default());
        let mut task = solo::spawn(Probe::sleeper(&probe, 1000));
        let _ = solo::timeout(Duration::from_millis(20), &mut task).await;
        solo::yield_now().await;
        println!(
            "timeout on a task, task cancelled: {}",
            py(probe.cancelled())
        );
        task.cancel();

        let probe = Rc::new(Probe::default());
        let task = solo::spawn(Probe::sleeper(&probe, 1000));
        let _ = solo::wait_for(Duration::from_millis(20), task).await;
        println!(
            "wait_for on a task, task cancelled: {}",
            py(probe.cancelled())
        );

        println!(
            "wait_for(ready, 0): {}",
            show(solo::timeout(Duration::ZERO, ready()).await)
        );
        let r = solo::wait_for(Duration::ZERO, solo::spawn(ready())).await;
        println!("wait_for(new task, 0): {}", show(r.map(|r| r.unwrap())));
        let r = solo::timeout(Duration::ZERO, ready()).await;
        println!("timeout(0) around a ready coroutine: {}", show(r));
    });
}
