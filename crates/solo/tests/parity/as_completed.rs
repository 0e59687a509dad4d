//! Twin of as_completed.py.

use std::time::Duration;

use futures::StreamExt;

async fn after(ms: u64, v: &'static str) -> &'static str {
    solo::sleep(Duration::from_millis(ms)).await;
    v
}

pub fn main() {
    solo::run(async {
        let order: Vec<_> = solo::as_completed([after(30, "a"), after(10, "b"), after(20, "c")])
            .collect()
            .await;
        println!("completion order: {}", order.join(" "));
    });
}
