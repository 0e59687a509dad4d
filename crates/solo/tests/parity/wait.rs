//! Twin of wait.py.

use std::time::Duration;

use solo::ReturnWhen;

use crate::py;

async fn after(ms: u64, v: &'static str) -> &'static str {
    solo::sleep(Duration::from_millis(ms)).await;
    v
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
        let tasks = [(30, "t3"), (10, "t1"), (20, "t2")].map(|(ms, v)| solo::spawn(after(ms, v)));
        let (done, pending) = solo::wait(tasks, ReturnWhen::FirstCompleted, None).await;
        let first = results(done).await;
        println!(
            "first completed: {} pending: {}",
            pylist(&first),
            pending.len()
        );

        let slow = solo::spawn(after(200, "slow"));
        let slow_id = slow.id();
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
        println!("slow result later: {}", slow.await.unwrap());
    });
}
