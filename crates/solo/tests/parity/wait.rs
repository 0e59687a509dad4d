//! Twin of wait.py.

use std::rc::Rc;
use std::time::Duration;

use solo::sync::Event;
use solo::ReturnWhen;

use crate::py;

fn when_set(ev: &Rc<Event>, v: &'static str) -> solo::Task<&'static str> {
    let ev = ev.clone();
    solo::spawn(async move {
        ev.wait().await;
        v
    })
}

fn pylist(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

async fn results(done: Vec<solo::Task<&'static str>>) -> Vec<&'static str> {
    let mut out = Vec::new();
    for t in done {
        out.push(t.await.unwrap());
    }
    out.sort();
    out
}

pub fn main() {
    solo::run(async {
        let [first, rest, never] = [(); 3].map(|()| Rc::new(Event::new()));
        let tasks = [
            when_set(&rest, "t3"),
            when_set(&first, "t1"),
            when_set(&rest, "t2"),
        ];
        first.set();
        let (done, pending) = solo::wait(tasks, ReturnWhen::FirstCompleted, None).await;
        let got = results(done).await;
        println!(
            "first completed: {} pending: {}",
            pylist(&got),
            pending.len()
        );

        let slow = when_set(&never, "slow");
        let slow_id = slow.id();
        rest.set();
        let mut all = pending;
        all.push(slow);
        let (done, mut pending) = solo::wait(
            all,
            ReturnWhen::AllCompleted,
            Some(Duration::from_millis(100)),
        )
        .await;
        let got = results(done).await;
        println!(
            "all completed within 0.1 s: {} pending: {}",
            pylist(&got),
            pending.len()
        );
        let slow = pending.pop().unwrap();
        assert_eq!(slow.id(), slow_id);
        println!("slow cancelled by the timeout: {}", py(slow.is_cancelled()));
        never.set();
        println!("slow result later: {}", slow.await.unwrap());
    });
}
