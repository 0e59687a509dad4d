//! Ports the tutorial's "small trap" (`sleep(1)  # 这里是个小坑` in the
//! coroutine-object and task-object blocks, and the note after the Python
//! 3.6 program: code that does not support async inside a coroutine ends the
//! concurrency).
//!
//! Shows, with the time each takes:
//! 1. `std::thread::sleep` (Python's `time.sleep`) inside the tasks: the
//!    thread, and so the whole loop, stops for 1 s in each task, one after
//!    the other: ~3 s instead of ~1 s. With debug mode on
//!    (`EventLoop::builder().debug(true)`, or `SOLO_DEBUG=1`), the loop
//!    warns through `tracing` (target `solo::debug`) and names each task
//!    that held it and where it was spawned.
//! 2. The fix: `solo::sleep(..).await`: ~1 s, no warnings.
//! 3. When the blocking call cannot be avoided (a blocking library, heavy
//!    CPU work): `solo::to_thread` runs it on the blocking pool: ~1 s.
//!
//! Run: `cargo run -p solo --example 08_blocking_pitfall`

use std::time::{Duration, Instant};

use solo::EventLoop;

/// The trap: a blocking sleep inside a coroutine.
async fn get_request_blocking(url: &str) {
    println!("Requesting: {url}");
    std::thread::sleep(Duration::from_secs(1)); // blocks the loop
    println!("Request finished: {url}");
}

async fn get_request(url: &str) {
    println!("Requesting: {url}");
    solo::sleep(Duration::from_secs(1)).await; // suspends; others run
    println!("Request finished: {url}");
}

async fn get_request_on_a_thread(url: &str) {
    println!("Requesting: {url}");
    solo::to_thread(|| std::thread::sleep(Duration::from_secs(1))).await;
    println!("Request finished: {url}");
}

const URLS: [&str; 3] = ["1.com", "2.com", "3.com"];

fn main() {
    // Print the debug mode's warnings (they go through `tracing`).
    tracing_subscriber::fmt()
        .without_time()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    let mut event_loop = EventLoop::builder()
        .debug(true)
        .build()
        .expect("an event loop");

    println!("-- std::thread::sleep inside the tasks (debug mode on)");
    let start = Instant::now();
    event_loop.run_until_complete(async {
        let tasks: Vec<_> = URLS
            .iter()
            .map(|url| {
                let task = solo::spawn(get_request_blocking(url));
                task.set_name(format!("get_request_blocking({url})"));
                task
            })
            .collect();
        solo::gather(tasks).await;
    });
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());

    println!("-- solo::sleep(..).await instead");
    let start = Instant::now();
    event_loop.run_until_complete(async {
        solo::gather(URLS.map(get_request)).await;
    });
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());

    println!("-- the blocking call moved to a thread with solo::to_thread");
    let start = Instant::now();
    event_loop.run_until_complete(async {
        solo::gather(URLS.map(get_request_on_a_thread)).await;
    });
    println!("Total time: {:.4}", start.elapsed().as_secs_f64());

    event_loop.close();
}
