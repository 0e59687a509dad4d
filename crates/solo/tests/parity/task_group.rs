//! Twin of task_group.py: `TaskGroup::run` is `async with TaskGroup()`.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use solo::TaskGroup;

use crate::py;

async fn fail_after(ms: u64, msg: &'static str) -> Result<(), &'static str> {
    solo::sleep(Duration::from_millis(ms)).await;
    Err(msg)
}

/// Logs "body interrupted" if dropped before `finished` was set.
struct Body {
    log: Rc<RefCell<Vec<String>>>,
    finished: bool,
}

impl Drop for Body {
    fn drop(&mut self) {
        if !self.finished {
            self.log.borrow_mut().push("body interrupted".into());
        }
    }
}

fn errors(e: solo::TaskGroupError<&str>) -> String {
    let all: Vec<String> = e.errors().iter().map(|e| e.to_string()).collect();
    all.join(", ")
}

pub fn main() {
    std::panic::set_hook(Box::new(|_| {})); // the rejected spawn panics
    solo::run(async {
        let start = Instant::now();
        let log = Rc::new(RefCell::new(Vec::new()));
        let g = TaskGroup::new();
        let r = g
            .run(async {
                g.spawn(fail_after(50, "boom"));
                let mut body = Body {
                    log: log.clone(),
                    finished: false,
                };
                solo::sleep(Duration::from_secs(1)).await;
                body.finished = true;
                log.borrow_mut().push("body finished".into());
                Ok(())
            })
            .await;
        if let Err(e) = r {
            log.borrow_mut().push(format!("errors: {}", errors(e)));
        }
        let quick = start.elapsed() < Duration::from_millis(500);
        log.borrow_mut()
            .push(format!("ended before 0.5 s: {}", py(quick)));
        println!("interrupt: {}", log.borrow().join("; "));

        let g = TaskGroup::new();
        let mut sibling = None;
        let r = g
            .run(async {
                sibling = Some(g.spawn(async {
                    solo::sleep(Duration::from_secs(1)).await;
                    Ok(())
                }));
                g.spawn(fail_after(20, "first"));
                g.spawn(fail_after(20, "second"));
                Ok(())
            })
            .await;
        let cancelled = sibling.unwrap().is_cancelled();
        println!(
            "same turn: {} | sibling cancelled: {}",
            errors(r.unwrap_err()),
            py(cancelled)
        );

        let g = TaskGroup::<()>::new();
        g.run(async {
            g.spawn(async {
                solo::sleep(Duration::from_millis(10)).await;
                Ok(())
            });
            Ok(())
        })
        .await
        .unwrap();
        let spawned = catch_unwind(AssertUnwindSafe(|| {
            g.spawn(async { Ok(()) });
        }));
        let verdict = if spawned.is_ok() {
            "accepted"
        } else {
            "rejected"
        };
        println!("spawn after the group finished: {verdict}");
    });
}
