//! Ports the tutorial's fourth code block (section "任务对象": wrapping
//! coroutine objects in tasks with `asyncio.ensure_future(c)`).
//!
//! Shows: `solo::spawn(future)` is `ensure_future` / `create_task`: it
//! wraps the future in a task scheduled on the running loop and returns a
//! handle (`solo::Task`). Like the tutorial's block, nothing here awaits
//! the tasks or keeps the loop running, so they never get to run: when the
//! top-level future returns, `solo::run` closes the loop and cancels them
//! (Python prints "Task was destroyed but it is pending!" for the same
//! program). Unlike asyncio, a task can only be made while a loop runs, so
//! the block's code goes inside `solo::run`. The Python block prints
//! nothing; this port prints each task (its `Debug` reads like asyncio's
//! task repr) before and after the loop closes.
//!
//! Run: `cargo run -p solo --example 04_task_objects`

use std::time::Duration;

async fn get_request(url: &str) {
    println!("Requesting: {url}");
    solo::sleep(Duration::from_secs(1)).await;
    println!("Request finished: {url}");
}

fn main() {
    let tasks = solo::run(async {
        // The function call returns a future (a coroutine object).
        let c = get_request("www.b.com");
        // A task made from it.
        let task = solo::spawn(c);
        println!("{task:?}");

        // Three tasks.
        let urls = ["1.com", "2.com", "3.com"];
        let mut task_list = vec![task]; // holds every task object
        for url in urls {
            let c = get_request(url);
            let task = solo::spawn(c);
            println!("{task:?}");
            task_list.push(task);
        }
        task_list
    });

    // The loop is closed: the tasks were cancelled before their first step,
    // so no "Requesting" line was printed.
    for task in &tasks {
        println!("after solo::run returned: {task:?}");
        assert!(task.is_cancelled());
    }
}
