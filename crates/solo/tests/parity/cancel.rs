//! Twin of cancel.py: a plain handle does not pass cancellation on; a
//! `cancel_on_drop` guard does (asyncio's behaviour).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::{py, Probe};

struct Cleanup(Rc<RefCell<Vec<&'static str>>>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.borrow_mut().push("sleeper cleaned up");
    }
}

pub fn main() {
    solo::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let cleanup = Cleanup(log.clone());
        let mut t = solo::spawn(async move {
            let _cleanup = cleanup;
            solo::sleep(Duration::from_secs(1)).await;
        });
        solo::sleep(Duration::from_millis(10)).await;
        t.cancel();
        if let Err(e) = (&mut t).await {
            if e.is_cancelled() {
                log.borrow_mut().push("await raised CancelledError");
            }
        }
        println!(
            "sleeping task: {} | cancelled: {}",
            log.borrow().join(", "),
            py(t.is_cancelled())
        );

        for how in ["a plain handle", "cancel_on_drop"] {
            let probe = Rc::new(Probe::default());
            let inner = solo::spawn(Probe::sleeper(&probe, 1000));
            let outer = if how == "cancel_on_drop" {
                solo::spawn(async move {
                    let _ = inner.cancel_on_drop().await;
                })
            } else {
                solo::spawn(async move {
                    let _ = inner.await;
                })
            };
            solo::sleep(Duration::from_millis(10)).await;
            outer.cancel();
            solo::sleep(Duration::from_millis(10)).await;
            println!(
                "outer awaiting {how} cancelled; inner cancelled too: {}",
                py(probe.cancelled())
            );
        }
    });
}
