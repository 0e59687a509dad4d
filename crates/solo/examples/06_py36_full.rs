//! Ports the tutorial's sixth code block (section "编码流程": the complete
//! Python 3.6 program: coroutine function, coroutine objects, tasks with a
//! done callback `parse`, an event loop, `run_until_complete(wait(tasks))`).
//!
//! Shows: the whole flow on an explicit `solo::EventLoop`, and
//! `Task::add_done_callback`. A solo callback gets the task's result (a
//! `&Result<T, solo::TaskError>`) rather than the task, so Python's
//! `task.result()` is the argument itself. The three requests overlap:
//! about 1 s in all.
//!
//! The lines are the tutorial's, translated, in the tutorial's order: a
//! finishing task schedules its done callbacks (asyncio's `call_soon`), so
//! the three "Request finished" lines come first, then the three callbacks.
//!
//! Run: `cargo run -p solo --example 06_py36_full`

use std::time::{Duration, Instant};

use solo::{EventLoop, ReturnWhen, TaskError};

// Define the coroutine function.
async fn get_request(url: &str) -> &'static str {
    println!("Requesting: {url}");
    solo::sleep(Duration::from_secs(1)).await;
    println!("Request finished: {url}");
    "off to the callback!"
}

// Called with the result of the task it is bound to.
fn parse(result: &Result<&'static str, TaskError>) {
    println!("i am task callback() !!! {}", result.as_ref().unwrap());
}

fn main() {
    let urls = ["1.com", "2.com", "3.com"];
    let start = Instant::now();

    // Create the event loop.
    let mut event_loop = EventLoop::new().expect("an event loop");
    // The task list. Tasks are made on the loop (solo has no tasks outside
    // one); this future returns before they start, so this only registers
    // them.
    let tasks: Vec<_> = event_loop.run_until_complete(async {
        let mut tasks = Vec::new();
        for url in urls {
            // Create the coroutine object.
            let c = get_request(url);
            // Wrap it in a task.
            let task = solo::spawn(c);
            // Bind the callback.
            task.add_done_callback(parse);
            tasks.push(task);
        }
        tasks
    });
    // Run the loop until every task is done.
    event_loop.run_until_complete(solo::wait(tasks, ReturnWhen::AllCompleted, None));
    event_loop.close();

    println!("Total time: {:.4}", start.elapsed().as_secs_f64());
}
