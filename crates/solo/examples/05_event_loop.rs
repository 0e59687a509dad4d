//! Ports the tutorial's fifth code block (section "事件循环对象": three
//! `get_request` tasks run by `loop.run_until_complete(asyncio.wait(tasks))`,
//! plus the block's three commented-out Python 3.7 variants).
//!
//! Shows, with the time each takes:
//! 1. Python 3.6 style: an explicit event loop (`solo::EventLoop`),
//!    `run_until_complete` and `solo::wait`: ~1 s, the three requests
//!    overlap.
//! 2. A task awaited right after it is made, one at a time: ~3 s, "still
//!    synchronous, only one task at a time".
//! 3. Async, way one: make all tasks first, then await each: ~1 s.
//! 4. Async, way two (recommended): `solo::gather`: ~1 s.
//!
//! The block's `asyncio.sleep(1)` without `await` ("blocking 1 s did not
//! work") would not even get past `cargo clippy -D warnings` in Rust: an
//! unawaited future is an `unused_must_use` warning.
//!
//! Run: `cargo run -p solo --example 05_event_loop`

use std::time::{Duration, Instant};

use solo::{EventLoop, ReturnWhen};

async fn get_request(url: &str) {
    println!("Requesting: {url}");
    solo::sleep(Duration::from_secs(1)).await; // `await` here means "wait"
    println!("Request finished: {url}");
}

const URLS: [&str; 3] = ["1.com", "2.com", "3.com"];

/// Python 3.6: `ensure_future` each, then
/// `loop.run_until_complete(asyncio.wait(tasks))`.
fn py36() {
    let start = Instant::now();
    let mut event_loop = EventLoop::new().expect("an event loop");
    // A task can only be made on a running loop; this future does nothing
    // else, so it returns before the tasks take their first step: they are
    // registered, not started, as with `ensure_future` before the loop runs.
    let tasks: Vec<_> = event_loop.run_until_complete(async {
        URLS.iter()
            .map(|url| solo::spawn(get_request(url)))
            .collect()
    });
    // `wait` here means "suspend until they are all done".
    event_loop.run_until_complete(solo::wait(tasks, ReturnWhen::AllCompleted, None));
    event_loop.close();
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());
}

/// Still synchronous: each task is awaited before the next one is made,
/// so only one task exists at a time.
async fn one_at_a_time() {
    let start = Instant::now();
    for url in URLS {
        let task = solo::spawn(get_request(url));
        task.await.unwrap();
    }
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());
}

/// Async, way one: make every task, then await them one by one; while one
/// waits, the loop runs the others.
async fn await_each() {
    let start = Instant::now();
    let tasks: Vec<_> = URLS
        .iter()
        .map(|url| solo::spawn(get_request(url)))
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());
}

/// Async, way two (recommended): `gather` saves the loop over the tasks.
async fn with_gather() {
    let start = Instant::now();
    let tasks: Vec<_> = URLS
        .iter()
        .map(|url| solo::spawn(get_request(url)))
        .collect();
    solo::gather(tasks).await;
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());
}

fn main() {
    println!("-- py3.6: EventLoop::new + run_until_complete(wait(tasks))");
    py36();
    println!("-- py3.7: spawn then await, one task at a time (still synchronous)");
    solo::run(one_at_a_time());
    println!("-- py3.7: async, way one: spawn all, then await each");
    solo::run(await_each());
    println!("-- py3.7: async, way two (recommended): gather");
    solo::run(with_gather());
}
