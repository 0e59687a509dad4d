//! Twin of producer_consumer.py.

use std::cell::RefCell;
use std::rc::Rc;

use solo::sync::Queue;

pub fn main() {
    solo::run(async {
        let q = Rc::new(Queue::new(2));
        let log = Rc::new(RefCell::new(Vec::new()));
        let (q2, l) = (q.clone(), log.clone());
        let consumer = solo::spawn(async move {
            loop {
                let i: u32 = q2.get().await;
                l.borrow_mut().push(format!("got{i}"));
                solo::yield_now().await;
                q2.task_done();
            }
        });
        for i in 0..5 {
            q.put(i).await;
            log.borrow_mut().push(format!("put{i}"));
        }
        q.join().await;
        log.borrow_mut().push("joined".into());
        consumer.cancel();
        println!("order: {}", log.borrow().join(" "));
    });
}
