//! Twin of done_callbacks.py.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

pub fn main() {
    solo::run(async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let t = Rc::new(RefCell::new(solo::spawn(solo::sleep(
            Duration::from_millis(10),
        ))));
        let l = log.clone();
        t.borrow()
            .add_done_callback(move |_| l.borrow_mut().push("cb1"));

        let (t2, l) = (t.clone(), log.clone());
        let w = solo::spawn(async move {
            // Awaits the shared handle, borrowing it only while polling.
            let _ = poll_fn(|cx| Pin::new(&mut *t2.borrow_mut()).poll(cx)).await;
            l.borrow_mut().push("awaiter");
        });
        solo::yield_now().await; // the awaiter is now waiting on t
        let l = log.clone();
        t.borrow()
            .add_done_callback(move |_| l.borrow_mut().push("cb2"));
        w.await.unwrap();
        solo::sleep(Duration::from_millis(10)).await;
        println!("order: {}", log.borrow().join(" "));
    });
}
