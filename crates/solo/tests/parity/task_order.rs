//! Twin of task_order.py.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

type Log = Rc<RefCell<Vec<String>>>;

fn worker(name: &'static str, log: Log) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        log.borrow_mut().push(format!("{name}1"));
        solo::yield_now().await;
        log.borrow_mut().push(format!("{name}2"));
        if name == "a" {
            solo::spawn(worker("d", log.clone()));
        }
        solo::yield_now().await;
        log.borrow_mut().push(format!("{name}3"));
    })
}

pub fn main() {
    solo::run(async {
        let log = Log::default();
        let tasks = ["a", "b", "c"].map(|n| solo::spawn(worker(n, log.clone())));
        log.borrow_mut().push("main".into());
        for t in tasks {
            t.await.unwrap();
        }
        solo::sleep(Duration::from_millis(10)).await;
        println!("order: {}", log.borrow().join(" "));
    });
}
