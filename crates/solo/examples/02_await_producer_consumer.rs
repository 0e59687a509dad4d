//! Ports the tutorial's second code block (section "await": `producer`
//! awaits `consumer(i)`, run with `asyncio.run(producer())`).
//!
//! Shows: `.await` on another `async fn` runs it to the end before going
//! on, so the lines alternate strictly; and `solo::run` is
//! `asyncio.run`: it makes an event loop, runs the top-level future on it
//! and closes the loop.
//!
//! Run: `cargo run -p solo --example 02_await_producer_consumer`

async fn producer() {
    for i in 1..6 {
        println!("Produce: {i}");
        consumer(i).await;
    }
}

async fn consumer(i: u32) {
    println!("Consume: {i}");
}

fn main() {
    // asyncio.run(producer())
    solo::run(producer());
}
