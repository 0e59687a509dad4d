//! Ports the tutorial's seventh code block (section "编码流程": the complete
//! Python 3.7 program: `async def main()` creates three tasks with
//! `create_task`, binds the `parse` callback, `await asyncio.gather(*tasks)`,
//! run with `asyncio.run(main())`).
//!
//! Shows: the recommended shape of a solo program. `#[solo::main]` is
//! `asyncio.run(main())`, `solo::spawn` is `create_task`,
//! `add_done_callback` binds the callback, `solo::gather` awaits the tasks
//! together. Three one-second requests (simulated with `solo::sleep`, as
//! the tutorial does; no network needed) take about 1 s, not 3.
//!
//! The lines are the tutorial's, translated, in the tutorial's order: a
//! finishing task schedules its done callbacks (asyncio's `call_soon`), so
//! the three "Request finished" lines come first, then the three callbacks.
//!
//! Run: `cargo run --release -p solo --example 07_py37_full`

use std::time::{Duration, Instant};

use solo::TaskError;

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

// The entry point of the program: asyncio.run(main()).
#[solo::main]
async fn main() {
    let urls = ["1.com", "2.com", "3.com"];
    let start = Instant::now();

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
    solo::gather(tasks).await;
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());
}
