//! Twin of gather.py. asyncio's exceptions are panics for `gather` and
//! `Err` values for `try_gather`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use crate::py;

async fn after(ms: u64, v: u64) -> u64 {
    solo::sleep(Duration::from_millis(ms)).await;
    v
}

type Boxed = Pin<Box<dyn Future<Output = ()>>>;

pub fn main() {
    std::panic::set_hook(Box::new(|_| {})); // the panics are expected
    solo::run(async {
        let out = solo::gather([after(30, 1), after(10, 2), after(20, 3)]).await;
        println!("results: {out:?}");

        let finished = Rc::new(Cell::new(false));
        let f = finished.clone();
        let slow: Boxed = Box::pin(async move {
            solo::sleep(Duration::from_millis(300)).await;
            f.set(true);
        });
        let failing: Boxed = Box::pin(async {
            solo::sleep(Duration::from_millis(20)).await;
            panic!("late argument failed");
        });
        let g = solo::spawn(solo::gather([slow, failing]));
        let err = g.await.unwrap_err();
        println!(
            "raised: {} | slow finished before: {}",
            err.panic_message().unwrap(),
            py(finished.get())
        );
        solo::sleep(Duration::from_millis(400)).await;
        println!(
            "slow ran to the end after the failure: {}",
            py(finished.get())
        );

        // return_exceptions=True: futures that return Result.
        let out = solo::gather((1..=3).map(|i| async move {
            solo::sleep(Duration::from_millis(10 * (i % 2 + 1))).await;
            if i == 2 {
                Err("bad")
            } else {
                Ok(i)
            }
        }))
        .await;
        let shown: Vec<String> = out
            .iter()
            .map(|r| match r {
                Ok(v) => v.to_string(),
                Err(e) => format!("error {e}"),
            })
            .collect();
        println!("as values: {}", shown.join(", "));
    });
}
