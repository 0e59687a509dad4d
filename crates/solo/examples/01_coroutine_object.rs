//! Ports the tutorial's first code block (section "协程函数 / async": calling
//! `get_request('www.b.com')` without `await`).
//!
//! Shows: calling an `async fn` does not run it. It returns a future (Python:
//! a coroutine object) and nothing is printed. Python warns at run time
//! ("coroutine 'get_request' was never awaited"); Rust warns at compile
//! time: "unused implementer of `Future` that must be used ... futures do
//! nothing unless you `.await` or poll them". The Python block prints
//! nothing; this port says so, then awaits the future to show the lines
//! it would have printed.
//!
//! Run: `cargo run -p solo --example 01_coroutine_object`

use std::time::Duration;

// An `async fn` is Python's `async def`: a coroutine function.
async fn get_request(url: &str) {
    println!("Requesting: {url}");
    solo::sleep(Duration::from_secs(1)).await;
    println!("Request finished: {url}");
}

fn main() {
    // The mistake the tutorial shows, made on purpose: the call builds the
    // future and drops it. `Requesting: www.b.com` is never printed.
    #[allow(unused_must_use)]
    {
        get_request("www.b.com");
    }
    println!("get_request(\"www.b.com\") was called, but nothing ran: nobody awaited the future");

    // What the tutorial goes on to say: await it on an event loop (or make
    // it a task with solo::spawn, asyncio's create_task / ensure_future).
    solo::run(get_request("www.b.com"));
}
