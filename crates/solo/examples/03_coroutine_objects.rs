//! Ports the tutorial's third code block (section "协程对象": `c =
//! get_request('www.b.com')`, `print(c)`, then a list of three coroutine
//! objects).
//!
//! Shows: a call of an `async fn` is a value, a future (Python: a coroutine
//! object), that can be printed, stored in a list, and awaited later or
//! never. Rust futures do not implement `Debug`, so `describe` prints what
//! Python's repr would: the type (the compiler-made state machine of
//! `get_request`), its size and its address.
//!
//! Run: `cargo run -p solo --example 03_coroutine_objects`

use std::future::Future;
use std::time::Duration;

async fn get_request(url: &str) {
    println!("Requesting: {url}");
    // The tutorial calls the blocking `time.sleep(1)` here ("a small trap");
    // example 08 shows what that does. The async sleep is the right call.
    solo::sleep(Duration::from_secs(1)).await;
    println!("Request finished: {url}");
}

/// Like Python's `<coroutine object get_request at 0x...>`.
fn describe<F: Future>(f: &F) -> String {
    format!(
        "<future {} ({} bytes) at {:p}>",
        std::any::type_name::<F>(),
        std::mem::size_of::<F>(),
        f
    )
}

fn main() {
    // The function call returns a future (a coroutine object).
    let c = get_request("www.b.com");
    println!("{}", describe(&c));

    // Three futures.
    let urls = ["1.com", "2.com", "3.com"];
    let mut coroutine_list = Vec::new();
    for url in urls {
        let c = get_request(url);
        coroutine_list.push(c);
    }
    let shown: Vec<String> = coroutine_list.iter().map(describe).collect();
    println!("[{}]", shown.join(", "));

    // None of them ran: nothing above printed "Requesting". Dropping them
    // is silent; unlike Python there is no "never awaited" warning at run
    // time.
    drop(c);
    drop(coroutine_list);
}
