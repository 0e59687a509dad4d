//! Twin of call_order.py.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use crate::py;

pub fn main() {
    solo::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let push = |what: &'static str| {
            let log = log.clone();
            move || log.borrow_mut().push(what)
        };
        solo::call_soon(push("soon1"));
        solo::call_later(Duration::from_millis(20), push("later20ms"));
        solo::call_later(Duration::from_millis(10), push("later10ms"));
        solo::call_later(Duration::ZERO, push("later0"));
        solo::call_soon(push("soon2"));
        solo::sleep(Duration::from_millis(50)).await;
        println!("order: {}", log.borrow().join(" "));

        // In a task: a spinning root future is root_spin's case.
        let soon = solo::spawn(async {
            let fired = Rc::new(Cell::new(false));
            let f = fired.clone();
            solo::call_later(Duration::ZERO, move || f.set(true));
            let mut turns = 0;
            while !fired.get() && turns < 100_000 {
                solo::yield_now().await;
                turns += 1;
            }
            turns <= 2
        });
        println!(
            "call_later(0) fired within 2 loop turns: {}",
            py(soon.await.unwrap())
        );

        log.borrow_mut().clear();
        solo::call_later(Duration::from_micros(800), push("0.8ms"));
        solo::call_later(Duration::from_micros(200), push("0.2ms"));
        solo::sleep(Duration::from_millis(10)).await;
        println!("deadlines under 1 ms apart: {}", log.borrow().join(" "));
    });
}
